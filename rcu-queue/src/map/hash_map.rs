//! The safe map: [`RcuHashMap`] over the raw table, the stripes and its RCU domain `D`.
//!
//! # Invariants
//!
//! 1. Every node linked in `raw` came from [`Node::alloc`] and is owned by the map.
//! 2. Every change to a bucket's chain happens with that bucket's stripe held (raw W1); a rebuild
//!    happens with every stripe held and the `resize` mutex held, after a grace period since the
//!    previous rebuild's publication, whose cookie `resize` stores (raw W2).
//! 3. An unlinked node is retired exactly once with `call_rcu1` ([`reclaim_node`]), a replaced table
//!    with `call_rcu1` ([`Table::reclaim`]) (raw W3).
//! 4. A table always has at least [`STRIPES`] buckets, so each bucket belongs to one stripe.

use super::entry::{Entry, OccupiedEntry, VacantEntry};
use super::raw::{Node, RawIter, RawTable, Table};
use super::stripe::{self, STRIPES, StripeGuard, Stripes};
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::marker::PhantomData;
use core::ptr::NonNull;
use rcu_core::{DefaultDomain, GpState, RcuDomain, RcuHead};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::sync::{Mutex, PoisonError, TryLockError};

/// Smallest table (see invariant 4).
const MIN_BUCKETS: usize = STRIPES;
/// Shrink when there are fewer keys than one per `SHRINK_RATIO` buckets.
const SHRINK_RATIO: usize = 8;

/// A concurrent hash map whose readers take no lock and do no atomic read-modify-write: QEMU's `qht`,
/// liburcu's `rculfhash`.
///
/// * **Readers** need `&self` and a guard of the map's domain `D` ([`rcu_core::ReadGuard`] for the
///   default domain; `domain.read_lock()` for a map made with [`new_in`](Self::new_in), whose
///   removed values are then dropped by that domain's callback thread); [`get`](Self::get) and
///   [`iter`](Self::iter) return references that live as long as the guard, never longer. Another
///   domain's guard is rejected as [`rcu_core::RcuDomain`] describes.
/// * **Writers** ([`insert`](Self::insert), [`remove`](Self::remove), [`entry`](Self::entry),
///   [`retain`](Self::retain)) take `&self` and lock one of 64 stripes, so writers of different keys
///   rarely contend. A removed or replaced value is dropped on rcu-core's callback thread after a grace
///   period (`call_rcu1`, no allocation); its `Drop` may do `object_unref`-style work. A thread may
///   hold [`Entry`]s of several maps at once, but one of each map: a second write to a map while
///   holding its entry panics instead of deadlocking.
/// * The table **resizes itself** (or on [`resize`](Self::resize)) without ever blocking readers, and
///   readers never miss a key that is present during a resize. An automatic resize is postponed
///   while the writing thread holds an entry of any map, so it never waits for another map's entry
///   holder. See the [module docs](crate::map) for the design.
///
/// # Example: QEMU's `/machine/peripheral` container, looked up by id
///
/// ```
/// use rcu_queue::RcuHashMap;
/// use std::sync::Arc;
///
/// struct Device { id: String }
/// let peripheral: RcuHashMap<String, Arc<Device>> = RcuHashMap::new();
/// peripheral.insert("disk0".into(), Arc::new(Device { id: "disk0".into() })); // qht_insert
///
/// // An iothread resolves an id without any lock (qht_lookup).
/// let dev = {
///     let guard = rcu_core::read_lock();
///     peripheral.get("disk0", &guard).cloned()
/// };
/// assert_eq!(dev.unwrap().id, "disk0");
///
/// assert!(peripheral.remove("disk0"));  // device_del: qht_remove + call_rcu1
/// rcu_core::rcu_barrier();              // the Arc is dropped after a grace period
/// ```
///
/// # References cannot outlive the read guard
///
/// ```compile_fail
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert(1, String::from("gone after the guard"));
/// let v = {
///     let guard = rcu_core::read_lock();
///     map.get(&1, &guard).unwrap() // error: `guard` does not live long enough
/// };
/// println!("{v}");
/// ```
pub struct RcuHashMap<K, V, S = RandomState, D: RcuDomain = DefaultDomain> {
    raw: RawTable<K, V>,
    /// The domain of readers' sections and of reclamation.
    domain: D,
    stripes: Stripes,
    /// Serializes resizes; holds the grace-period cookie of the last publication (invariant 2).
    resize: Mutex<Option<GpState>>,
    hasher: S,
}

impl<K, V> RcuHashMap<K, V, RandomState> {
    /// An empty map with the default hasher (`qht_init`, `cds_lfht_new`).
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u64, u64> = rcu_queue::RcuHashMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_capacity_and_hasher(0, RandomState::new())
    }

    /// An empty map sized for `capacity` keys (qht_init's `n_elems`).
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u64, u64> = rcu_queue::RcuHashMap::with_capacity(1000);
    /// assert!(map.buckets() >= 1000);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, D: RcuDomain> RcuHashMap<K, V, RandomState, D> {
    /// An empty map with the default hasher in `domain` (the map keeps a handle to it): readers
    /// present guards of `domain`, and removed pairs are dropped by its callback thread.
    ///
    /// # Example
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let map = rcu_queue::RcuHashMap::new_in(&domain);
    /// map.insert(1, "one");
    /// assert_eq!(map.get(&1, &domain.read_lock()), Some(&"one"));
    /// ```
    pub fn new_in(domain: &D) -> Self {
        Self::with_capacity_and_hasher_in(0, RandomState::new(), domain)
    }
}

impl<K, V, S> RcuHashMap<K, V, S> {
    /// An empty map that hashes with `hasher`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::hash::BuildHasherDefault;
    /// use std::collections::hash_map::DefaultHasher;
    /// let map = rcu_queue::RcuHashMap::with_hasher(BuildHasherDefault::<DefaultHasher>::default());
    /// map.insert(1u8, 'a');
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_capacity_and_hasher(0, hasher)
    }

    /// An empty map sized for `capacity` keys that hashes with `hasher`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: rcu_queue::RcuHashMap<u32, u32> =
    ///     rcu_queue::RcuHashMap::with_capacity_and_hasher(100, RandomState::new());
    /// assert!(map.buckets() >= 100);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self::with_capacity_and_hasher_in(capacity, hasher, &DefaultDomain)
    }
}

impl<K, V, S, D: RcuDomain> RcuHashMap<K, V, S, D> {
    /// An empty map sized for `capacity` keys that hashes with `hasher`, in `domain`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let domain = rcu_core::Domain::new();
    /// let map: rcu_queue::RcuHashMap<u32, u32, _, _> =
    ///     rcu_queue::RcuHashMap::with_capacity_and_hasher_in(100, RandomState::new(), &domain);
    /// assert!(map.buckets() >= 100);
    /// ```
    pub fn with_capacity_and_hasher_in(capacity: usize, hasher: S, domain: &D) -> Self {
        RcuHashMap {
            raw: RawTable::new(buckets_for(capacity)),
            domain: domain.clone(),
            stripes: Stripes::new(),
            resize: Mutex::new(None),
            hasher,
        }
    }

    /// Number of keys (qht's entry count, `cds_lfht_count_nodes`): exact when no writer is active,
    /// a snapshot otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("a", 1);
    /// map.insert("b", 2);
    /// assert_eq!(map.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.stripes.len()
    }

    /// Whether the map has no keys (a snapshot if writers are active).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of buckets of the current table (qht's `n_buckets`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// assert!(map.buckets().is_power_of_two());
    /// ```
    pub fn buckets(&self) -> usize {
        self.raw.nbuckets()
    }

    /// The map's hasher.
    ///
    /// # Example
    ///
    /// ```
    /// use std::hash::BuildHasher;
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// let _h = map.hasher().hash_one(1u8);
    /// ```
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Iterates over every pair under `guard` (`qht_iter`, `cds_lfht_for_each_entry`), in no
    /// particular order. Not a snapshot: pairs inserted or removed meanwhile may or may not be seen,
    /// but each present key is seen once, and every pair seen stays alive until the guard is dropped.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// for i in 0..10u32 { map.insert(i, i * i); }
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(map.iter(&guard).map(|(_, v)| v).sum::<u32>(), 285);
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the map's.
    #[track_caller]
    pub fn iter<'g>(&'g self, guard: &'g D::Guard<'_>) -> Iter<'g, K, V> {
        self.domain.check_guard(guard);
        Iter {
            // SAFETY: `guard` keeps this thread in a read-side critical section of the map's domain
            // (checked above) for `'g`, which bounds the iterator and what it yields (raw R1;
            // invariant 3).
            raw: unsafe { self.raw.iter() },
            _pairs: PhantomData,
        }
    }
}

impl<K, V, S, D> RcuHashMap<K, V, S, D>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    pub(super) fn raw(&self) -> &RawTable<K, V> {
        &self.raw
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Locks the stripe of `hash`.
    #[track_caller]
    fn lock_stripe(&self, hash: u64) -> StripeGuard<'_> {
        // Truncating is intended: the low bits pick the stripe (and the bucket, invariant 4).
        self.lock_stripe_at(hash as usize & (STRIPES - 1))
    }

    /// Locks stripe `index`: where every write to the table but a rebuild ([`rebuild_with`]) starts,
    /// so it first makes sure the write can complete (a map of a parent's `Domain` in a fork child
    /// panics here, with nothing changed).
    ///
    /// [`rebuild_with`]: Self::rebuild_with
    #[track_caller]
    fn lock_stripe_at(&self, index: usize) -> StripeGuard<'_> {
        self.domain.check_can_update();
        self.stripes.lock(index)
    }

    /// The value of `key`, borrowed for as long as the guard (`qht_lookup`, `cds_lfht_lookup`).
    ///
    /// One hash, then `Acquire` loads only: no lock, no atomic read-modify-write, never blocked by
    /// writers or resizes.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(String::from("scsi0"), 7);
    /// let guard = rcu_core::read_lock();          // RCU_READ_LOCK_GUARD()
    /// assert_eq!(map.get("scsi0", &guard), Some(&7));
    /// assert_eq!(map.get("scsi1", &guard), None);
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the map's.
    #[inline]
    #[track_caller]
    pub fn get<'g, Q>(&'g self, key: &Q, guard: &'g D::Guard<'_>) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.domain.check_guard(guard);
        let hash = self.hash(key);
        // SAFETY: `guard` keeps this thread in a read-side critical section of the map's domain
        // (checked above) for `'g` (raw R1), and nodes are freed only a grace period of that domain
        // after they are unlinked (invariant 3).
        let node = unsafe { self.raw.find(hash, |k| k.borrow() == key) }?;
        // SAFETY: as above: the node outlives `'g`.
        Some(unsafe { &node.as_ref().value })
    }

    /// Whether `key` is present (a [`get`](Self::get) under its own guard).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(3, "three");
    /// assert!(map.contains_key(&3));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key, &self.domain.read_lock()).is_some()
    }

    /// Inserts or replaces (`qht_insert`, `cds_lfht_add_replace`); returns true if the key was new.
    /// A replaced value is dropped after a grace period, so readers holding it stay safe.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// assert!(map.insert(1, "a"));
    /// assert!(!map.insert(1, "b"));             // replaced
    /// assert_eq!(map.get(&1, &rcu_core::read_lock()), Some(&"b"));
    /// ```
    ///
    /// # Panics
    ///
    /// If this thread already holds an [`Entry`] of this map (that would deadlock: drop it first), or
    /// for a map of an independent [`Domain`](rcu_core::Domain) created before `fork()`, in the child process
    /// (nothing is changed; see [`RcuDomain::check_can_update`]).
    #[track_caller]
    pub fn insert(&self, key: K, value: V) -> bool {
        let hash = self.hash(&key);
        // Allocated before the stripe is locked, to keep the critical section short; freed again if
        // locking or the key comparison panics.
        let node = Unpublished(Node::alloc(hash, key, value));
        let stripe = self.lock_stripe(hash);
        // SAFETY: the node is ours until published.
        let key = unsafe { &node.0.as_ref().key };
        // SAFETY: the key's stripe is held (raw W1).
        let pos = unsafe { self.raw.locate(hash, |k| k == key) };
        let node = node.publish();
        if pos.found().is_some() {
            // SAFETY: W1, the position holds a node, and `node` was never linked.
            let old = unsafe { self.raw.replace_at(&pos, node) };
            // SAFETY: `old` was just unlinked and is retired once.
            unsafe { self.retire(old) };
            false
        } else {
            // SAFETY: W1, the key is absent, and `node` was never linked.
            unsafe { self.raw.insert_at(&pos, node) };
            self.after_insert(stripe);
            true
        }
    }

    /// Removes `key` (`qht_remove`, `cds_lfht_del`); returns true if it was present. The value is
    /// dropped on rcu-core's callback thread after a grace period (`call_rcu1`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(1, String::from("x"));
    /// assert!(map.remove(&1));
    /// assert!(!map.remove(&1));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    #[track_caller]
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let stripe = self.lock_stripe(hash);
        // SAFETY: the key's stripe is held (raw W1).
        let pos = unsafe { self.raw.locate(hash, |k| k.borrow() == key) };
        if pos.found().is_none() {
            return false;
        }
        // SAFETY: W1 and the position holds a node.
        let node = unsafe { self.raw.unlink_at(&pos) };
        // SAFETY: just unlinked, retired once (invariant 3).
        unsafe { self.retire(node) };
        self.after_remove(stripe);
        true
    }

    /// The entry of `key`, with the key's stripe locked until the entry is dropped: look at the
    /// current value, then insert, replace or remove atomically with respect to other writers
    /// (`cds_lfht_add_unique`, `cds_lfht_replace`). Readers are never blocked.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert): if this thread already holds an entry of this map (that would
    /// deadlock: drop it first; entries of other maps are fine), or for a map of an independent [`Domain`](rcu_core::Domain) created before `fork()`, in the child process
    /// (nothing is changed; see [`RcuDomain::check_can_update`]).
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let counters = rcu_queue::RcuHashMap::new();
    /// for word in ["a", "b", "a"] {
    ///     match counters.entry(word) {
    ///         Entry::Occupied(e) => { let n = *e.get(); e.insert(n + 1) }
    ///         Entry::Vacant(e) => e.insert(1),
    ///     }
    /// }
    /// assert_eq!(counters.get("a", &rcu_core::read_lock()), Some(&2));
    /// ```
    #[track_caller]
    pub fn entry(&self, key: K) -> Entry<'_, K, V, S, D> {
        let hash = self.hash(&key);
        let stripe = self.lock_stripe(hash);
        // SAFETY: the key's stripe is held (raw W1) and travels with the position in the entry.
        let pos = unsafe { self.raw.locate(hash, |k| *k == key) };
        if pos.found().is_some() {
            Entry::Occupied(OccupiedEntry::new(self, stripe, pos, key))
        } else {
            Entry::Vacant(VacantEntry::new(self, stripe, pos, hash, key))
        }
    }

    /// Removes every pair for which `keep` returns false (`qht_iter_remove`). Each stripe is locked
    /// in turn while `keep` runs on its pairs; removed values are dropped after a grace period.
    ///
    /// # Panics
    ///
    /// If `keep` writes to this map (it would deadlock on its own stripe), or if `keep` panics (the
    /// map stays consistent: pairs not yet visited are kept); as [`insert`](Self::insert) otherwise.
    /// Each stripe is taken in turn, so `retain` waits for every entry of this map that other threads
    /// hold.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// for i in 0..100 { map.insert(i, i); }
    /// map.retain(|_, v| v % 2 == 0);
    /// assert_eq!(map.len(), 50);
    /// ```
    #[track_caller]
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        for index in 0..STRIPES {
            let guard = self.lock_stripe_at(index);
            // SAFETY: the buckets `index, index + STRIPES, ...` are exactly this stripe's (invariant
            // 4), and it is held (W1); each unlinked node is retired once, after a grace period (W3).
            // The count is kept exact even if `keep` panics half-way.
            unsafe {
                self.raw.retain_buckets(index, STRIPES, &mut keep, |node| {
                    guard.add_count(-1);
                    self.retire(node);
                })
            };
        }
        self.auto_resize();
    }

    /// Resizes the table for `capacity` keys (at least the current count), publishing a new bucket
    /// array while readers go on (`qht_resize`, `cds_lfht_resize`). Returns whether the table changed.
    /// Writers wait while the pairs are relinked. The map also resizes itself as it grows and shrinks.
    ///
    /// # Panics
    ///
    /// Inside a read-side critical section (it may wait for a grace period), while this thread
    /// holds an [`Entry`] of this map, or for a map of an independent [`Domain`](rcu_core::Domain) created before `fork()`, in the child process
    /// (nothing is changed; see [`RcuDomain::check_can_update`]).
    ///
    /// A resize takes every stripe of this map: calling it while this thread holds an entry of
    /// another map can deadlock against a thread that holds an entry of this map and resizes that
    /// one (two locks taken in opposite orders). Automatic resizes never do this: they are postponed
    /// while the thread holds an entry of any map.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// for i in 0..10 { map.insert(i, i); }
    /// assert!(map.resize(4096));
    /// assert!(map.buckets() >= 4096);
    /// assert_eq!(map.get(&7, &rcu_core::read_lock()), Some(&7));
    /// ```
    #[track_caller]
    pub fn resize(&self, capacity: usize) -> bool {
        assert!(
            !self.domain.read_ongoing(),
            "rcu_queue::RcuHashMap::resize: called inside a read-side critical section, but a resize \
             may wait for a grace period; drop the ReadGuard first"
        );
        let mut last = self.resize.lock().unwrap_or_else(PoisonError::into_inner);
        self.rebuild_with(&mut last, |len, _| Some(buckets_for(capacity.max(len))))
    }

    /// Retires an unlinked node.
    ///
    /// # Safety
    ///
    /// `node` was unlinked (or never linked) and is retired only once.
    pub(super) unsafe fn retire(&self, node: NonNull<Node<K, V>>) {
        // SAFETY: the node stays allocated until `reclaim_node` runs (only it frees the node), and is
        // queued once (contract).
        unsafe {
            self.domain
                .call_rcu1(Node::rcu_head(node), reclaim_node::<K, V>)
        }
    }

    /// Resize check after an insertion; `stripe` is the key's stripe, still held.
    pub(super) fn after_insert(&self, stripe: StripeGuard<'_>) {
        let count = stripe.add_count(1);
        drop(stripe);
        // Cheap estimate first (this stripe's count times the stripes), the exact sum only if needed.
        // While every stripe holds at most `buckets / STRIPES` keys the total is at most `buckets`;
        // a stripe above that re-checks the total on each of its inserts, so the load stays below 2
        // (below 1 up to the spread between stripes).
        let buckets = self.raw.nbuckets();
        if count * STRIPES > buckets && self.len() > buckets {
            self.auto_resize();
        }
    }

    /// Resize check after a removal; `stripe` is the key's stripe, still held.
    pub(super) fn after_remove(&self, stripe: StripeGuard<'_>) {
        let count = stripe.add_count(-1);
        drop(stripe);
        let buckets = self.raw.nbuckets();
        if buckets > MIN_BUCKETS
            && count * STRIPES * SHRINK_RATIO < buckets
            && self.len() * SHRINK_RATIO < buckets
        {
            self.auto_resize();
        }
    }

    /// Resizes if the load calls for it, unless that would have to wait inside a read-side critical
    /// section, another resize is running, or this thread holds a stripe of any map: then a later
    /// write retries.
    ///
    /// A resize takes every stripe of this map, so while this thread holds a stripe (an `Entry`) of
    /// another map, a thread holding an entry of this map and inserting into that one could wait
    /// for this thread while this thread waits for it. Postponing makes that deadlock impossible: a
    /// write then takes only its key's stripe, as the caller expects.
    fn auto_resize(&self) {
        if stripe::held_any() {
            return;
        }
        let mut last = match self.resize.try_lock() {
            Ok(last) => last,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if last.is_some_and(|state| !self.domain.poll_state(state)) && self.domain.read_ongoing() {
            return;
        }
        self.rebuild_with(&mut last, |len, buckets| {
            let grow = len > buckets;
            let shrink = buckets > MIN_BUCKETS && len * SHRINK_RATIO < buckets;
            (grow || shrink).then(|| buckets_for(len))
        });
    }

    /// Waits out the grace period since the last rebuild, locks every stripe, asks `size(len,
    /// buckets)` for the new bucket count and rebuilds. `last` is the held `resize` mutex's cookie.
    #[track_caller]
    fn rebuild_with(
        &self,
        last: &mut Option<GpState>,
        size: impl FnOnce(usize, usize) -> Option<usize>,
    ) -> bool {
        // Before anything changes: the retired table's callback must be queued at the end.
        self.domain.check_can_update();
        if last.is_some_and(|state| !self.domain.poll_state(state)) {
            self.domain.synchronize();
        }
        let guards = self.stripes.lock_all();
        let buckets = self.raw.nbuckets();
        let len = self.len();
        let Some(want) = size(len, buckets).filter(|&want| want != buckets) else {
            return false;
        };
        // SAFETY: every stripe is held, so no writer runs, and a grace period has elapsed since the
        // previous rebuild's publication (`last`, checked above under the `resize` mutex): raw W2.
        let old = unsafe { self.raw.rebuild(want) };
        drop(guards);
        *last = Some(self.domain.start_poll());
        // SAFETY: `old` was just replaced; it stays allocated until `Table::reclaim` runs, queued once.
        unsafe {
            self.domain
                .call_rcu1(Table::rcu_head(old), reclaim_table::<K, V>)
        };
        true
    }
}

/// A node not yet linked: freed (with its key and value) if dropped, e.g. while unwinding.
struct Unpublished<K, V>(NonNull<Node<K, V>>);

impl<K, V> Unpublished<K, V> {
    /// Hands the node over for linking.
    fn publish(self) -> NonNull<Node<K, V>> {
        let node = self.0;
        core::mem::forget(self);
        node
    }
}

impl<K, V> Drop for Unpublished<K, V> {
    fn drop(&mut self) {
        // SAFETY: the node came from `Node::alloc` and was never published.
        unsafe { Node::<K, V>::reclaim(Node::rcu_head(self.0)) };
    }
}

/// Bucket count for `keys` keys: a load of at most 1/2 right after a resize, at least `MIN_BUCKETS`.
fn buckets_for(keys: usize) -> usize {
    keys.saturating_mul(2)
        .checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
        .max(MIN_BUCKETS)
}

/// The `call_rcu1` callback of unlinked nodes (quarantined instead of freed by negative controls).
///
/// # Safety
///
/// As [`Node::reclaim`].
unsafe fn reclaim_node<K: Send + 'static, V: Send + 'static>(head: NonNull<RcuHead>) {
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = crate::node::DIVERT.get() {
        let node = Node::<K, V>::from_rcu_head(head).as_ptr();
        // SAFETY: the node is unlinked and still allocated, `free_node::<K, V>` matches its type, and
        // readers may still hold `&V`, so only a shared reference to the value is passed.
        if unsafe { divert(node.cast(), &(*node).value, free_node::<K, V>) } {
            return;
        }
    }
    // SAFETY: forwarded contract.
    unsafe { Node::<K, V>::reclaim(head) }
}

/// The `call_rcu1` callback of replaced tables (parked instead of freed by negative controls, whose
/// broken grace periods would otherwise free a bucket array under its readers: a real
/// use-after-free instead of an observable one).
///
/// # Safety
///
/// As [`Table::reclaim`].
unsafe fn reclaim_table<K: Send + 'static, V: Send + 'static>(head: NonNull<RcuHead>) {
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = crate::node::DIVERT.get() {
        let table = Table::<K, V>::from_rcu_head(head);
        // SAFETY: the table is replaced and still allocated, `free_table::<K, V>` matches its type;
        // it has no value of the user's to poison, so the hook sees `()`.
        if unsafe { divert(table.cast(), &(), free_table::<K, V>) } {
            return;
        }
    }
    // SAFETY: forwarded contract.
    unsafe { Table::<K, V>::reclaim(head) }
}

/// Frees a table parked by the negative controls' quarantine.
///
/// # Safety
/// `table` is a replaced `Table<K, V>` leaked by `Table::alloc`, freed once.
#[cfg(rcu_broken_gp)]
unsafe fn free_table<K, V>(table: *mut u8) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(table.cast::<Table<K, V>>()) });
}

/// Frees a node parked by the negative controls' quarantine.
///
/// # Safety
/// `node` is an unreachable `Node<K, V>` leaked by `Node::alloc`, freed once.
#[cfg(rcu_broken_gp)]
unsafe fn free_node<K, V>(node: *mut u8) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(node.cast::<Node<K, V>>()) });
}

impl<K, V, S: Default> Default for RcuHashMap<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K, V, S, D: RcuDomain> fmt::Debug for RcuHashMap<K, V, S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcuHashMap")
            .field("len", &self.len())
            .field("buckets", &self.buckets())
            .finish_non_exhaustive()
    }
}

/// Iterator over a map's pairs under a guard; see [`RcuHashMap::iter`].
///
/// # Example
///
/// ```
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert('k', 1);
/// let guard = rcu_core::read_lock();
/// let it: rcu_queue::map::Iter<'_, char, i32> = map.iter(&guard);
/// assert_eq!(it.collect::<Vec<_>>(), [(&'k', &1)]);
/// ```
pub struct Iter<'g, K, V> {
    raw: RawIter<'g, K, V>,
    _pairs: PhantomData<&'g (K, V)>,
}

impl<'g, K, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.raw.next()?;
        // SAFETY: the node lives until the guard `'g` is dropped (see `RcuHashMap::iter`).
        let node = unsafe { node.as_ref() };
        Some((&node.key, &node.value))
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}
