//! The safe map: [`RcuHashMap`] over the raw table, the stripes and its RCU domain `D`.
//!
//! # Invariants
//!
//! 1. Every entry linked in `raw` is owned by the map: a heap node made by [`Bucket::item`] for
//!    the [`Boxed`] layout, a pair written into its slot for the [`Inline`](super::Inline) one.
//! 2. Every change to a bucket's chain happens with that bucket's stripe held, after the stripe's
//!    writer copied the key's group into the current table (raw W1, in [`lock_stripe`]); a
//!    migration starts with every stripe held and the `resize` mutex held (raw W2), when none runs.
//!    A shrink or a rehash also waits for a grace period since the previous migration completed,
//!    whose cookie `completed` stores: the table that migration retired is then freed or about to
//!    be, so a run of them keeps at most two old tables allocated instead of one per migration
//!    waiting for the callback thread. A grow does not wait: the tables a run of grows retires add
//!    up to less than the current table.
//! 3. An unlinked heap node is retired exactly once ([`reclaim_node`] after a grace period): through
//!    the writer's free bag (`defer_free`) when neither `K` nor `V` has drop glue, else with a
//!    `call_rcu` closure; an unlinked inline pair stays in its table (dead) until the table is
//!    retired; the old table of a completed migration is retired with `call_rcu1`
//!    ([`Table::reclaim`]) (raw W3).
//! 4. A table always has at least [`STRIPES`] buckets, so each bucket, and each migration group,
//!    belongs to one stripe.
//! 5. Each write copies at most `1 + HELP_GROUPS` groups (in [`lock_stripe`]), and a group has at
//!    most `SHRINK_STEP` old buckets: the pause a migration imposes on a writer is bounded.
//!
//! [`lock_stripe`]: RcuHashMap::lock_stripe

use super::entry::{Entry, OccupiedEntry, VacantEntry};
use super::layout::{Boxed, Bucket, Layout};
use super::pinned::PinnedMap;
use super::raw::{Migrated, Node, Position, RawIter, RawTable, Table};
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
/// Shrink when the load falls below `LOAD / SHRINK_RATIO` keys per bucket, `LOAD` being the keys per
/// bucket a table is sized for ([`Bucket::LOAD`]: it grows past this average load, and a resize
/// leaves at most this load).
const SHRINK_RATIO: usize = 8;
/// A migration shrinks the table by at most this factor, so a group has at most this many old
/// buckets (invariant 5); a larger shrink takes several migrations.
const SHRINK_STEP: usize = 8;
/// Groups a write copies for the migration besides its own key's (invariant 5).
const HELP_GROUPS: usize = 64;

/// A concurrent hash map whose readers take no lock and do no atomic read-modify-write: QEMU's `qht`,
/// liburcu's `rculfhash`.
///
/// * **Readers** need `&self` and a guard of the map's domain `D` ([`rcu_core::ReadGuard`] for the
///   default domain; `domain.read_lock()` for a map made with [`new_in`](Self::new_in), whose
///   removed values are then dropped by that domain's callback thread); [`get`](Self::get) and
///   [`iter`](Self::iter) return references that live as long as the guard, never longer. Another
///   domain's guard is rejected as [`rcu_core::RcuDomain`] describes. [`pin`](Self::pin) holds a
///   guard for you (papaya's `pin`): see [`PinnedMap`].
/// * **Writers** ([`insert`](Self::insert), [`remove`](Self::remove), [`entry`](Self::entry),
///   [`retain`](Self::retain)) take `&self` and lock one of 64 stripes, so writers of different keys
///   rarely contend. A removed or replaced value is dropped on rcu-core's callback thread after a grace
///   period (`call_rcu`); its `Drop` may do `object_unref`-style work. A pair without drop glue
///   (`u64 -> u64`) is freed by the writer itself instead, from its free bag, a grace period later
///   ([`rcu_core::defer_free`]). A thread may
///   hold [`Entry`]s of several maps at once, but one of each map: a second write to a map while
///   holding its entry panics instead of deadlocking.
/// * The table **resizes itself** (or on [`resize`](Self::resize)) without ever blocking readers, and
///   readers never miss a key that is present during a resize. An automatic resize is incremental:
///   the writers that follow copy the old table a few buckets each (at most 520 old buckets per
///   write), so no write pauses for a whole rebuild. Starting one is postponed while the writing
///   thread holds an entry of any map, so it never waits for another map's entry holder. See the
///   [module docs](crate::map) for the design.
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
/// assert!(peripheral.remove("disk0"));  // device_del: qht_remove + call_rcu
/// rcu_core::rcu_barrier();              // the Arc is dropped after a grace period
/// ```
///
/// # Type parameters
///
/// `RcuHashMap<K, V, S = RandomState, D = DefaultDomain, L = Boxed>`: the hasher comes third, as
/// in std's `HashMap<K, V, S>`, dashmap and papaya, then the [`RcuDomain`], then the [`Layout`]
/// (heap nodes by default; `Copy` pairs stored in the table for [`RcuFlatHashMap`](super::RcuFlatHashMap),
/// which is made with its own constructors). The struct requires
/// `S: BuildHasher`, so putting a domain in the hasher's place fails where the type is written
/// (spell a map of an independent domain `RcuHashMap<K, V, RandomState, Domain>`, or let
/// [`new_in`](Self::new_in) infer it):
///
/// ```compile_fail
/// // error[E0277]: the trait bound `Domain: BuildHasher` is not satisfied
/// let map: rcu_queue::RcuHashMap<String, u32, rcu_core::Domain>;
/// ```
///
/// ```
/// use std::collections::hash_map::RandomState;
/// let domain = rcu_core::Domain::new();
/// let map: rcu_queue::RcuHashMap<String, u32, RandomState, rcu_core::Domain> =
///     rcu_queue::RcuHashMap::new_in(&domain);
/// map.insert("a".into(), 1);
/// assert_eq!(map.get("a", &domain.read_lock()), Some(&1));
/// ```
///
/// # Migrating from dashmap / papaya
///
/// Values are immutable once published (readers may hold them while a writer replaces them), so
/// there are no `get_mut`/`RefMut`s: a change is a new value, made under the key's stripe by
/// [`PinnedMap::update`] or [`PinnedMap::compute`], or through an [`Entry`]. References borrow a
/// read guard (a [`pin`](Self::pin), or a guard passed to the map's methods) instead of a shard lock,
/// so holding one never blocks a writer.
///
/// | dashmap | papaya | `RcuHashMap` |
/// |---|---|---|
/// | `map.get(&k)` → `Ref` (shard read lock) | `map.pin().get(&k)` → `&V` | `map.pin().get(&k)` → `&V`, or `map.get(&k, &guard)` |
/// | `map.insert(k, v)` → `Option<V>` | `m.insert(k, v)` → `Option<&V>` | `m.insert(k, v)` → `Option<&V>` (on a pin); `map.insert(k, v)` → `bool` (new key) |
/// | `map.remove(&k)` → `Option<(K, V)>` | `m.remove(&k)` → `Option<&V>` | `m.remove(&k)` → `Option<&V>`; `map.remove(&k)` → `bool` |
/// | `map.remove_if(&k, f)` | `m.remove_if(&k, f)` | `m.remove_if(&k, f)` → `Option<(&K, &V)>`; `map.remove_if(&k, f)` → `bool` |
/// | `map.entry(k).or_insert_with(f)` → `RefMut` | `m.get_or_insert_with(k, f)` → `&V` | `m.get_or_insert_with(k, f)` → `&V`; `m.entry(k).or_insert_with(f)` → `&V` |
/// | `*map.get_mut(&k).unwrap() += 1` / `map.alter(&k, f)` | `m.update(k, f)` → `Option<&V>` | `m.update(k, f)` → `Option<&V>` |
/// | `map.entry(k)` + match | `m.compute(k, f)` | `m.compute(k, f)` (`f: Option<&V> → Option<V>`) or `m.entry(k)` + match |
/// | `map.contains_key(&k)` | `m.contains_key(&k)` | `map.contains_key(&k)`, `m.contains_key(&k)` |
/// | `map.iter()` (locks shards in turn) | `m.iter()`, `m.keys()`, `m.values()` | `m.iter()`, `m.keys()`, `m.values()` (lock-free, not a snapshot) |
/// | `map.retain(f)`, `map.clear()` | `m.retain(f)`, `m.clear()` | `map.retain(f)`, `map.clear()` (or on a pin) |
/// | `map.len()` | `m.len()` | `map.len()` |
/// | `DashMap::with_hasher(s)` | `HashMap::with_hasher(s)` | `RcuHashMap::with_hasher(s)` |
/// | `collect()`, `extend` | `collect()`, `(&map).extend` | `collect()`, `extend`, `(&map).extend` |
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
pub struct RcuHashMap<
    K,
    V,
    S: BuildHasher = RandomState,
    D: RcuDomain = DefaultDomain,
    L: Layout<K, V> = Boxed,
> {
    raw: RawTable<K, V, L::Bucket>,
    /// The domain of readers' sections and of reclamation.
    domain: D,
    stripes: Stripes,
    /// Serializes the starts of migrations (and explicit resizes).
    resize: Mutex<()>,
    /// The grace-period cookie of the last completed migration (invariant 2): locked briefly, never
    /// across a wait, also by the writer that completes a migration.
    completed: Mutex<Option<GpState>>,
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
    /// assert!(map.buckets() * 4 >= 1000); // up to four keys per bucket
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

impl<K, V, S: BuildHasher> RcuHashMap<K, V, S> {
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
    /// assert!(map.buckets() * 4 >= 100);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self::with_capacity_and_hasher_in(capacity, hasher, &DefaultDomain)
    }
}

impl<K, V, S: BuildHasher, D: RcuDomain> RcuHashMap<K, V, S, D> {
    /// An empty map sized for `capacity` keys that hashes with `hasher`, in `domain`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let domain = rcu_core::Domain::new();
    /// let map: rcu_queue::RcuHashMap<u32, u32, _, _> =
    ///     rcu_queue::RcuHashMap::with_capacity_and_hasher_in(100, RandomState::new(), &domain);
    /// assert!(map.buckets() * 4 >= 100);
    /// ```
    pub fn with_capacity_and_hasher_in(capacity: usize, hasher: S, domain: &D) -> Self {
        Self::build(capacity, hasher, domain)
    }
}

impl<K, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> RcuHashMap<K, V, S, D, L> {
    /// An empty map of either layout (what every constructor calls).
    pub(super) fn build(capacity: usize, hasher: S, domain: &D) -> Self {
        RcuHashMap {
            raw: RawTable::new(buckets_for::<K, V, L::Bucket>(capacity), STRIPES),
            domain: domain.clone(),
            stripes: Stripes::new(),
            resize: Mutex::new(()),
            completed: Mutex::new(None),
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

    /// Number of buckets of the current table (qht's `n_buckets`). A bucket is one cache line of five
    /// slots; the table is sized for up to four keys per bucket on average.
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
    pub fn iter<'g>(&'g self, guard: &'g D::Guard<'_>) -> Iter<'g, K, V, L> {
        self.domain.check_guard(guard);
        Iter {
            // SAFETY: `guard` keeps this thread in a read-side critical section of the map's domain
            // (checked above) for `'g`, which bounds the iterator and what it yields (raw R1;
            // invariant 3).
            raw: unsafe { self.raw.iter() },
            _pairs: PhantomData,
        }
    }

    /// Iterates over every key under `guard`, as [`iter`](Self::iter) (std's `keys`).
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, ()> = (0..4).map(|i| (i, ())).collect();
    /// assert_eq!(map.keys(&rcu_core::read_lock()).sum::<u32>(), 6);
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the map's.
    #[track_caller]
    pub fn keys<'g>(&'g self, guard: &'g D::Guard<'_>) -> Keys<'g, K, V, L> {
        Keys(self.iter(guard))
    }

    /// Iterates over every value under `guard`, as [`iter`](Self::iter) (std's `values`).
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (0..4).map(|i| (i, 1)).collect();
    /// assert_eq!(map.values(&rcu_core::read_lock()).sum::<u32>(), 4);
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the map's.
    #[track_caller]
    pub fn values<'g>(&'g self, guard: &'g D::Guard<'_>) -> Values<'g, K, V, L> {
        Values(self.iter(guard))
    }

    /// The map with a read guard of its domain held (papaya's `pin`): its methods need no guard
    /// argument and return references that live as long as it, including the old values of
    /// `insert` and `remove`. See [`PinnedMap`].
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// m.insert(1, "one");
    /// assert_eq!(m.get(&1), Some(&"one"));
    /// ```
    pub fn pin(&self) -> PinnedMap<'_, K, V, S, D, L> {
        PinnedMap::new(self, self.domain.read_lock())
    }
}

impl<K, V, S, D, L> RcuHashMap<K, V, S, D, L>
where
    L: Layout<K, V>,
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    pub(super) fn raw(&self) -> &RawTable<K, V, L::Bucket> {
        &self.raw
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Locks the stripe of `hash`, where every write of a key starts. While a migration runs, first
    /// copies up to [`HELP_GROUPS`] groups of another stripe if that one is free, then, under the
    /// key's stripe, the key's group (invariants 2 and 5). If hashing a copied key panics, the
    /// panic propagates with nothing changed.
    #[track_caller]
    fn lock_stripe(&self, hash: u64) -> StripeGuard<'_> {
        // Truncating is intended: the low bits pick the stripe (and the bucket, invariant 4).
        let index = hash as usize & (STRIPES - 1);
        self.domain.check_can_update();
        if self.raw.migrating() {
            let other = self.stripes.next_help();
            if let Some(guard) = self.stripes.try_lock(other) {
                // SAFETY: stripe `other` is held for the call (raw W1).
                let done = unsafe { self.raw.migrate(other, None, HELP_GROUPS, |k| self.hash(k)) };
                self.migrated(done);
                drop(guard);
            }
        }
        let guard = self.stripes.lock(index);
        // SAFETY: the key's stripe is held for the call (raw W1), and `hash` maps to it.
        let done = unsafe { self.raw.migrate(index, Some(hash), 0, |k| self.hash(k)) };
        self.migrated(done);
        guard
    }

    /// Retires the old table of a migration that `done` completed, and counts the work for the
    /// unit tests.
    fn migrated(&self, done: Migrated<K, V, L::Bucket>) {
        #[cfg(test)]
        tests::WORK.with(|work| {
            let (buckets, completed) = work.get();
            work.set((
                buckets + done.buckets,
                completed + usize::from(done.finished.is_some()),
            ));
        });
        let Some(old) = done.finished else { return };
        // Before the old table is queued: the next migration waits for this grace period.
        *self
            .completed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(self.domain.start_poll());
        // SAFETY: `old` was just unpublished by the migration's last step, which hands it out once;
        // it stays allocated until `Table::reclaim` runs, a grace period later (invariant 3).
        unsafe {
            self.domain
                .call_rcu1(Table::rcu_head(old), reclaim_table::<K, V, L::Bucket>)
        };
    }

    /// Locks stripe `index` and copies every group of it that a running migration has not copied
    /// yet (for writes that touch a whole stripe: `retain`, and explicit resizes), so it first makes
    /// sure the write can complete (a map of a parent's `Domain` in a fork child panics here, with
    /// nothing changed).
    #[track_caller]
    fn lock_whole_stripe(&self, index: usize) -> StripeGuard<'_> {
        self.domain.check_can_update();
        let guard = self.stripes.lock(index);
        // SAFETY: the stripe is held for the call (raw W1).
        let done = unsafe { self.raw.migrate(index, None, usize::MAX, |k| self.hash(k)) };
        self.migrated(done);
        guard
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
        self.get_key_value(key, guard).map(|(_, v)| v)
    }

    /// The stored key and the value of `key`, borrowed for as long as the guard (std's
    /// `get_key_value`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(String::from("k"), 1);
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(map.get_key_value("k", &guard), Some((&String::from("k"), &1)));
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the map's.
    #[track_caller]
    pub fn get_key_value<'g, Q>(
        &'g self,
        key: &Q,
        guard: &'g D::Guard<'_>,
    ) -> Option<(&'g K, &'g V)>
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
        let node = unsafe { node.as_ref() };
        Some((&node.key, &node.value))
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
        self.insert_node(key, value).is_none()
    }

    /// Inserts or replaces; returns the replaced node, already retired: it stays allocated until a
    /// grace period after this call, so a caller inside a read-side critical section of the map's
    /// domain may read it until that section ends (what [`PinnedMap::insert`] returns).
    #[track_caller]
    pub(super) fn insert_node(&self, key: K, value: V) -> Option<NonNull<Node<K, V>>> {
        let hash = self.hash(&key);
        // Made (for a heap node, allocated) before the stripe is locked, to keep the critical section
        // short; dropped again if locking or the key comparison panics.
        let item = L::Bucket::item(key, value);
        let stripe = self.lock_stripe(hash);
        let key = L::Bucket::item_key(&item);
        // SAFETY: the key's stripe is held (raw W1).
        let pos = unsafe { self.raw.locate(hash, |k| k == key) };
        if pos.found().is_some() {
            // SAFETY: W1, and the position holds an entry.
            let (old, _) = unsafe { self.raw.replace_at(&pos, item) };
            // SAFETY: `old` was just unlinked and is retired once; the stripe is still held.
            unsafe {
                self.retire(old);
                self.prune(&pos);
            }
            self.after_write(stripe, 0);
            Some(old)
        } else {
            // SAFETY: W1, and the key is absent.
            unsafe { self.raw.insert_at(&pos, item) };
            self.after_write(stripe, 1);
            None
        }
    }

    /// Removes `key` (`qht_remove`, `cds_lfht_del`); returns true if it was present. The value is
    /// dropped on rcu-core's callback thread after a grace period (`call_rcu`), or freed by this
    /// thread from its free bag when neither `K` nor `V` has drop glue (`defer_free`).
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
        self.remove_node(key, |_, _| true).is_some()
    }

    /// Removes `key` if it is present and `pred` returns true for its pair (dashmap's `remove_if`,
    /// papaya's `remove_if`); returns whether it was removed. `pred` runs with the key's stripe
    /// held, so no other writer changes the key in between; it must not write to this map.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("a", 1);
    /// assert!(!map.remove_if("a", |_, v| *v > 1));
    /// assert!(map.remove_if("a", |_, v| *v == 1));
    /// assert!(map.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert), and if `pred` writes to this map (it would deadlock).
    #[track_caller]
    pub fn remove_if<Q>(&self, key: &Q, pred: impl FnOnce(&K, &V) -> bool) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_node(key, pred).is_some()
    }

    /// Removes `key` if `pred` accepts its pair; returns the unlinked node, already retired: it stays
    /// allocated until a grace period after this call, so a caller inside a read-side critical
    /// section of the map's domain may read it until that section ends.
    #[track_caller]
    pub(super) fn remove_node<Q>(
        &self,
        key: &Q,
        pred: impl FnOnce(&K, &V) -> bool,
    ) -> Option<NonNull<Node<K, V>>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let stripe = self.lock_stripe(hash);
        // SAFETY: the key's stripe is held (raw W1).
        let pos = unsafe { self.raw.locate(hash, |k| k.borrow() == key) };
        // SAFETY: a node found under the held stripe stays linked and allocated while the stripe is
        // held (raw W1, W3).
        let found = unsafe { pos.found()?.as_ref() };
        if !pred(&found.key, &found.value) {
            return None;
        }
        // SAFETY: W1 and the position holds a node.
        let node = unsafe { self.raw.unlink_at(&pos) };
        // SAFETY: just unlinked, retired once (invariant 3); the stripe is still held.
        unsafe {
            self.retire(node);
            self.prune(&pos);
        }
        self.after_write(stripe, -1);
        Some(node)
    }

    /// Removes every key (`qht_reset`): [`retain`](Self::retain) keeping nothing. Values are dropped
    /// after a grace period; readers see each key either present or absent.
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// map.clear();
    /// assert!(map.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`retain`](Self::retain).
    #[track_caller]
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// The entry of `key`, with the key's stripe locked until the entry is dropped: look at the
    /// current value, then insert, replace or remove atomically with respect to other writers
    /// (`cds_lfht_add_unique`, `cds_lfht_replace`). Readers are never blocked. The values the entry
    /// hands out borrow `guard`, as [`get`](Self::get)'s do; [`PinnedMap::entry`] passes its own.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert): if this thread already holds an entry of this map (that would
    /// deadlock: drop it first; entries of other maps are fine), for a map of an independent
    /// [`Domain`](rcu_core::Domain) created before `fork()`, in the child process (nothing is
    /// changed; see [`RcuDomain::check_can_update`]), or if `guard` is a section of another
    /// independent domain than the map's.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let counters = rcu_queue::RcuHashMap::new();
    /// let guard = rcu_core::read_lock();
    /// for word in ["a", "b", "a"] {
    ///     match counters.entry(word, &guard) {
    ///         Entry::Occupied(e) => { let n = *e.get(); e.insert(n + 1); }
    ///         Entry::Vacant(e) => { e.insert(1); }
    ///     }
    /// }
    /// assert_eq!(counters.get("a", &guard), Some(&2));
    /// // Or with the returned references (what `*map.entry(k).or_insert(0) += 1` is elsewhere):
    /// let n = *counters.entry("b", &guard).or_insert(0);
    /// counters.insert("b", n + 1);
    /// assert_eq!(counters.get("b", &guard), Some(&2));
    /// ```
    #[track_caller]
    pub fn entry<'g>(&'g self, key: K, guard: &'g D::Guard<'_>) -> Entry<'g, K, V, S, D, L> {
        self.domain.check_guard(guard);
        let hash = self.hash(&key);
        let stripe = self.lock_stripe(hash);
        // SAFETY: the key's stripe is held (raw W1) and travels with the position in the entry.
        let pos = unsafe { self.raw.locate(hash, |k| *k == key) };
        if pos.found().is_some() {
            Entry::Occupied(OccupiedEntry::new(self, stripe, pos, key))
        } else {
            Entry::Vacant(VacantEntry::new(self, stripe, pos, key))
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
            let guard = self.lock_whole_stripe(index);
            // SAFETY: the buckets `index, index + STRIPES, ...` are exactly this stripe's (invariant
            // 4), it is held (W1), and none of its groups is left to copy; each unlinked node is
            // retired once, after a grace period (W3). The count is kept exact even if `keep` panics
            // half-way.
            unsafe {
                self.raw.retain_buckets(index, &mut keep, |node| {
                    guard.add_count(-1);
                    self.retire(node);
                })
            };
        }
        self.auto_resize();
    }

    /// Resizes the table for `capacity` keys (at least the current count), migrating the pairs to a
    /// new bucket array while readers go on (`qht_resize`, `cds_lfht_resize`). Returns whether the
    /// table changed (a migration already running counts). Unlike the automatic resizes, which
    /// writers carry out a few buckets at a time, this call completes the migration itself before it
    /// returns; meanwhile other writers wait only for the stripe it is copying. A shrink by more
    /// than a factor of 8 takes several migrations, with a grace period between them.
    ///
    /// # Panics
    ///
    /// Inside a read-side critical section (it may wait for a grace period), while this thread
    /// holds an [`Entry`] of this map, or for a map of an independent [`Domain`](rcu_core::Domain) created before `fork()`, in the child process
    /// (nothing is changed; see [`RcuDomain::check_can_update`]). If hashing a key panics, the panic
    /// propagates and the migration stays half done, which the map handles as any migration in
    /// progress: every key is still found, and later writes (or resizes) complete it.
    ///
    /// Starting a migration takes every stripe of this map for a moment: calling this while this
    /// thread holds an entry of another map can deadlock against a thread that holds an entry of
    /// this map and resizes that one (two locks taken in opposite orders). Automatic resizes never
    /// do this: they are postponed while the thread holds an entry of any map.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// for i in 0..10 { map.insert(i, i); }
    /// assert!(map.resize(4096));
    /// assert!(map.buckets() * 4 >= 4096);
    /// assert_eq!(map.get(&7, &rcu_core::read_lock()), Some(&7));
    /// ```
    #[track_caller]
    pub fn resize(&self, capacity: usize) -> bool {
        assert!(
            !self.domain.read_ongoing(),
            "rcu_queue::RcuHashMap::resize: called inside a read-side critical section, but a resize \
             may wait for a grace period; drop the ReadGuard first"
        );
        let _serial = self.resize.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = self.complete_migration();
        while self.start_migration(true, |len, dead, buckets| {
            let want = buckets_for::<K, V, L::Bucket>(capacity.max(len));
            (want != buckets || dead > buckets).then_some(want)
        }) {
            self.complete_migration();
            changed = true;
        }
        changed
    }

    /// Copies every group a running migration has left, stripe by stripe; returns whether one ran.
    #[track_caller]
    fn complete_migration(&self) -> bool {
        if !self.raw.migrating() {
            return false;
        }
        for index in 0..STRIPES {
            drop(self.lock_whole_stripe(index));
        }
        true
    }

    /// Unlinks the bucket of the entry just unlinked or replaced at `pos` if all its slots are dead
    /// ([`RawTable::prune`]), and frees it after a grace period, from this thread's free bag (a
    /// bucket has no drop glue).
    ///
    /// # Safety
    ///
    /// `pos` is the position of that entry, and its stripe is still held (raw W1).
    pub(super) unsafe fn prune(&self, pos: &Position<K, V, L::Bucket>) {
        // SAFETY: W1 (the caller's contract).
        let Some(bucket) = (unsafe { self.raw.prune(pos) }) else {
            return;
        };
        const { assert!(!core::mem::needs_drop::<L::Bucket>()) };
        // SAFETY: the bucket is unlinked now and handed over once; `free_bucket` frees it once, a
        // grace period later, and runs no user code (no drop glue: a deallocation), on any thread.
        unsafe {
            self.domain
                .defer_free(bucket.cast(), free_bucket::<K, V, L::Bucket>)
        };
    }

    /// Retires an unlinked entry: a heap node after a grace period; nothing for an inline pair,
    /// which is freed with its table.
    ///
    /// # Safety
    ///
    /// `node` was unlinked (or never linked) and is retired only once.
    pub(super) unsafe fn retire(&self, node: NonNull<Node<K, V>>) {
        if !L::Bucket::SEPARATE {
            return;
        }
        let on_callback_thread = || {
            let node = Retired(node);
            self.domain.call_rcu(move || {
                // SAFETY: the closure runs once, a grace period after the node was unlinked (the
                // caller's contract: unlinked now, retired only here), and nothing else frees it.
                unsafe { node.reclaim() }
            });
        };
        // SAFETY: (for `defer_free`) the node is unlinked and handed over once (the caller's
        // contract); `free_deferred::<K, V>` frees it once and runs no user code when `(K, V)` has
        // no drop glue (a deallocation), on any thread (`K`, `V`: `Send`).
        unsafe {
            crate::node::retire_by_drop_glue::<(K, V), D>(
                &self.domain,
                node.cast(),
                free_deferred::<K, V>,
                on_callback_thread,
            )
        };
    }

    /// Resize check after a write; `stripe` is the key's stripe, still held, and `delta` the change
    /// in its keys (1 for an insertion, -1 for a removal, 0 for a replacement).
    ///
    /// Grows (or, for an [`Inline`](super::Inline) map, rehashes away dead slots) when the keys
    /// plus the dead slots pass the table's load: the cheap estimate first (this stripe's count
    /// times the stripes), the exact sum only if needed. While every stripe holds at most `capacity
    /// / STRIPES` keys the total is at most `capacity`; a stripe above that re-checks the total on
    /// each of its writes, so the load stays below twice the design load. Shrinks, after a removal,
    /// when the keys fall below `1 / SHRINK_RATIO` of it.
    pub(super) fn after_write(&self, stripe: StripeGuard<'_>, delta: isize) {
        let count = stripe.add_count(delta);
        drop(stripe);
        let buckets = self.raw.nbuckets();
        let capacity = buckets * L::Bucket::LOAD;
        let dead = self.raw.dead();
        let full =
            over_load(count * STRIPES, dead, capacity) && over_load(self.len(), dead, capacity);
        let sparse = delta < 0
            && buckets > MIN_BUCKETS
            && count * STRIPES * SHRINK_RATIO < capacity
            && self.len() * SHRINK_RATIO < capacity;
        if full || sparse {
            self.auto_resize();
        }
    }

    /// Starts a migration if the load calls for it, unless one is running, the grace period since
    /// the last one completed has not elapsed (a write never waits for one), another thread is
    /// starting one, or this thread holds a stripe of any map: then a later write retries. Writers
    /// then carry the migration out a few groups at a time (invariant 5).
    ///
    /// Starting takes every stripe of this map, so while this thread holds a stripe (an `Entry`) of
    /// another map, a thread holding an entry of this map and inserting into that one could wait
    /// for this thread while this thread waits for it. Postponing makes that deadlock impossible: a
    /// write then takes only its key's stripe, as the caller expects.
    fn auto_resize(&self) {
        if stripe::held_any() || self.raw.migrating() {
            return;
        }
        let _serial = match self.resize.try_lock() {
            Ok(serial) => serial,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        self.start_migration(false, |len, dead, buckets| {
            let capacity = buckets * L::Bucket::LOAD;
            let full = over_load(len, dead, capacity);
            let shrink = buckets > MIN_BUCKETS && len * SHRINK_RATIO < capacity;
            // A full table whose keys alone fit it is rehashed at the same size (its dead slots
            // are not copied).
            (full || shrink).then(|| buckets_for::<K, V, L::Bucket>(len))
        });
    }

    /// With the `resize` mutex held: locks every stripe, asks `size(len, dead, buckets)` for the
    /// bucket count (`None`: leave the table), shrinks by at most [`SHRINK_STEP`], and starts a
    /// migration if none runs. Returns whether it started one.
    ///
    /// A shrink or a rehash first waits out (or, unless `wait`, gives up on) the grace period since
    /// the last migration completed (invariant 2). A grow does not: the tables a run of grows
    /// retires add up to less than the current one whatever the grace periods do, and a burst of
    /// inserts followed by reads only must not leave the table sized for the keys it had at the
    /// burst's start (the map grows only on writes).
    #[track_caller]
    fn start_migration(
        &self,
        wait: bool,
        size: impl Fn(usize, usize, usize) -> Option<usize>,
    ) -> bool {
        // Before anything changes: the old table's callback must be queued when the migration ends.
        self.domain.check_can_update();
        let want = |buckets| {
            let want = size(self.len(), self.raw.dead(), buckets)?;
            Some(want.max(buckets / SHRINK_STEP))
        };
        let last = *self
            .completed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut pending = last.is_some_and(|state| !self.domain.poll_state(state));
        // A snapshot outside the stripes (a grace period must not be waited for while they are
        // held: a writer holding an `Entry` is inside a read-side section); checked again below.
        let buckets = self.raw.nbuckets();
        if pending && want(buckets).is_none_or(|want| want <= buckets) {
            if !wait {
                // A write never waits for a grace period: a later one starts the migration.
                return false;
            }
            self.domain.synchronize();
            pending = false;
        }
        let guards = self.stripes.lock_all();
        if self.raw.migrating() {
            return false;
        }
        let buckets = self.raw.nbuckets();
        let Some(want) = want(buckets) else {
            return false;
        };
        if pending && want <= buckets {
            // The load changed since the snapshot: no longer a grow.
            return false;
        }
        // SAFETY: every stripe is held and no migration runs (raw W2); `want` is a power of two of
        // at least `MIN_BUCKETS` = `STRIPES` (`buckets_for`, and `buckets / SHRINK_STEP` for a
        // table above `MIN_BUCKETS`, the only kind that shrinks).
        unsafe { self.raw.start(want) };
        drop(guards);
        true
    }
}

/// Whether a table sized for `capacity` keys needs a migration: a grow past its keys, or a rehash
/// (to the size its keys call for) once dead [`Inline`](super::Inline) slots add a quarter of it. The
/// slack keeps a map held at its size, with keys removed and inserted, from rehashing on every
/// removal.
fn over_load(keys: usize, dead: usize, capacity: usize) -> bool {
    keys > capacity || keys + dead > capacity + capacity / 4
}

/// Bucket count for `keys` keys: a load of at most the layout's [`Bucket::LOAD`] right after a
/// resize, at least `MIN_BUCKETS`.
fn buckets_for<K, V, B: Bucket<K, V>>(keys: usize) -> usize {
    const { assert!(B::LOAD < B::SLOTS) };
    keys.div_ceil(B::LOAD)
        .checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
        .max(MIN_BUCKETS)
}

/// An unlinked node on its way to [`reclaim_node`] in a `call_rcu` closure.
struct Retired<K, V>(NonNull<Node<K, V>>);

// SAFETY: only the reclamation closure uses the pointer, to drop the node's key and value on the
// callback thread (`K`, `V`: `Send`); no reader's `&V` outlives the grace period before that.
unsafe impl<K: Send, V: Send> Send for Retired<K, V> {}

impl<K: Send + 'static, V: Send + 'static> Retired<K, V> {
    /// Frees the node (the closure calls this method, so it captures the whole `Retired`).
    ///
    /// # Safety
    ///
    /// As [`Node::reclaim`].
    unsafe fn reclaim(self) {
        // SAFETY: forwarded contract.
        unsafe { reclaim_node(self.0) }
    }
}

/// What the `call_rcu` closure of an unlinked node runs (the node is quarantined instead of freed by
/// negative controls).
///
/// # Safety
///
/// As [`Node::reclaim`].
unsafe fn reclaim_node<K: Send + 'static, V: Send + 'static>(node: NonNull<Node<K, V>>) {
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = crate::node::DIVERT.get() {
        let node = node.as_ptr();
        // SAFETY: the node is unlinked and still allocated, `free_node::<K, V>` matches its type, and
        // readers may still hold `&V`, so only a shared reference to the value is passed.
        if unsafe { divert(node.cast(), &(*node).value, free_node::<K, V>) } {
            return;
        }
    }
    // SAFETY: forwarded contract.
    unsafe { Node::<K, V>::reclaim(node) }
}

/// The `defer_free` function of an overflow bucket that [`RawTable::prune`] unlinked.
///
/// # Safety
///
/// As [`Table::free_bucket`], with `ptr` the bucket.
unsafe fn free_bucket<K, V, B: Bucket<K, V>>(ptr: NonNull<u8>) {
    // SAFETY: forwarded contract.
    unsafe { Table::<K, V, B>::free_bucket(ptr.cast()) }
}

/// The `defer_free` function of an unlinked node whose key and value have no drop glue
/// ([`RcuHashMap::retire`]).
///
/// # Safety
///
/// As [`Node::reclaim`], with `ptr` the node.
unsafe fn free_deferred<K: Send + 'static, V: Send + 'static>(ptr: NonNull<u8>) {
    // SAFETY: forwarded contract.
    unsafe { reclaim_node(ptr.cast::<Node<K, V>>()) }
}

/// The `call_rcu1` callback of replaced tables (parked instead of freed by negative controls, whose
/// broken grace periods would otherwise free a bucket array under its readers: a real
/// use-after-free instead of an observable one).
///
/// # Safety
///
/// As [`Table::reclaim`].
unsafe fn reclaim_table<K: Send + 'static, V: Send + 'static, B: Bucket<K, V>>(
    head: NonNull<RcuHead>,
) {
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = crate::node::DIVERT.get() {
        let table = Table::<K, V, B>::from_rcu_head(head);
        // SAFETY: the table is replaced and still allocated, `free_table::<K, V, B>` matches its type;
        // it has no value of the user's to poison, so the hook sees `()`.
        if unsafe { divert(table.cast(), &(), free_table::<K, V, B>) } {
            return;
        }
    }
    // SAFETY: forwarded contract.
    unsafe { Table::<K, V, B>::reclaim(head) }
}

/// Frees a table parked by the negative controls' quarantine.
///
/// # Safety
/// `table` is a replaced `Table<K, V>` leaked by `Table::alloc`, freed once.
#[cfg(rcu_broken_gp)]
unsafe fn free_table<K, V, B: Bucket<K, V>>(table: *mut u8) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(table.cast::<Table<K, V, B>>()) });
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

impl<K, V, S: BuildHasher + Default> Default for RcuHashMap<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

/// Prints the pairs like std's `HashMap` (`{k: v, ...}`), read under a guard of the map's domain.
impl<K: fmt::Debug, V: fmt::Debug, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> fmt::Debug
    for RcuHashMap<K, V, S, D, L>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter(&self.domain.read_lock()))
            .finish()
    }
}

/// A map of the default domain holding the pairs (std's `collect::<HashMap<_, _>>()`); a later pair
/// replaces an earlier one with the same key.
///
/// ```
/// let map: rcu_queue::RcuHashMap<&str, u32> = [("a", 1), ("b", 2), ("a", 3)].into_iter().collect();
/// assert_eq!(map.len(), 2);
/// assert_eq!(map.pin().get("a"), Some(&3));
/// ```
impl<K, V, S> FromIterator<(K, V)> for RcuHashMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = Self::with_capacity_and_hasher(iter.size_hint().0, S::default());
        (&map).extend(iter);
        map
    }
}

/// Inserts every pair (std's `HashMap: Extend`), through a shared reference as papaya's `&HashMap`.
///
/// ```
/// let map = rcu_queue::RcuHashMap::new();
/// (&map).extend([(1, 'a'), (2, 'b')]);
/// assert_eq!(map.len(), 2);
/// ```
impl<K, V, S, D, L> Extend<(K, V)> for &RcuHashMap<K, V, S, D, L>
where
    L: Layout<K, V>,
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

/// Inserts every pair (std's `HashMap: Extend`).
///
/// ```
/// let mut map = rcu_queue::RcuHashMap::new();
/// map.extend([(1, 'a'), (2, 'b')]);
/// assert_eq!(map.len(), 2);
/// ```
impl<K, V, S, D, L> Extend<(K, V)> for RcuHashMap<K, V, S, D, L>
where
    L: Layout<K, V>,
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&*self).extend(iter);
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
pub struct Iter<'g, K, V, L: Layout<K, V> = Boxed> {
    raw: RawIter<'g, K, V, L::Bucket>,
    _pairs: PhantomData<&'g (K, V)>,
}

impl<'g, K, V, L: Layout<K, V>> Iterator for Iter<'g, K, V, L> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.raw.next()?;
        // SAFETY: the node lives until the guard `'g` is dropped (see `RcuHashMap::iter`).
        let node = unsafe { node.as_ref() };
        Some((&node.key, &node.value))
    }
}

impl<K, V, L: Layout<K, V>> fmt::Debug for Iter<'_, K, V, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// Iterator over a map's keys under a guard; see [`RcuHashMap::keys`].
///
/// # Example
///
/// ```
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert('k', 1);
/// let guard = rcu_core::read_lock();
/// let keys: rcu_queue::map::Keys<'_, char, i32> = map.keys(&guard);
/// assert_eq!(keys.collect::<Vec<_>>(), [&'k']);
/// ```
pub struct Keys<'g, K, V, L: Layout<K, V> = Boxed>(Iter<'g, K, V, L>);

impl<'g, K, V, L: Layout<K, V>> Iterator for Keys<'g, K, V, L> {
    type Item = &'g K;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, _)| k)
    }
}

/// Iterator over a map's values under a guard; see [`RcuHashMap::values`].
///
/// # Example
///
/// ```
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert('k', 1);
/// let guard = rcu_core::read_lock();
/// let values: rcu_queue::map::Values<'_, char, i32> = map.values(&guard);
/// assert_eq!(values.collect::<Vec<_>>(), [&1]);
/// ```
pub struct Values<'g, K, V, L: Layout<K, V> = Boxed>(Iter<'g, K, V, L>);

impl<'g, K, V, L: Layout<K, V>> Iterator for Values<'g, K, V, L> {
    type Item = &'g V;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(_, v)| v)
    }
}

impl<K, V, L: Layout<K, V>> fmt::Debug for Keys<'_, K, V, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keys").field(&self.0).finish()
    }
}

impl<K, V, L: Layout<K, V>> fmt::Debug for Values<'_, K, V, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Values").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{HELP_GROUPS, RcuHashMap, SHRINK_STEP};
    use std::cell::Cell;

    std::thread_local! {
        /// Old buckets this thread copied, and migrations it completed (counted in `migrated`).
        pub(super) static WORK: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    /// The most old buckets one write may copy (invariant 5).
    const BOUND: usize = (1 + HELP_GROUPS) * SHRINK_STEP;

    /// Runs `op` and returns the old buckets it copied and the migrations it completed.
    fn work(op: impl FnOnce()) -> (usize, usize) {
        let before = WORK.get();
        op();
        let after = WORK.get();
        (after.0 - before.0, after.1 - before.1)
    }

    /// Growing to 2^17 keys and shrinking back, one key at a time: no insert or remove copies more
    /// than `BOUND` old buckets, although the migrations, all completed by writes, copy whole tables
    /// of up to 2^15 buckets. Negative control: an explicit resize, which completes a migration in
    /// one call, is seen copying far more than the bound (so the counter would catch a write that
    /// rebuilt a table).
    #[test]
    fn each_write_copies_a_bounded_number_of_buckets() {
        const KEYS: u64 = 1 << 17;
        let map = RcuHashMap::new();
        let (mut worst, mut copied, mut completed, mut started) = (0, 0, 0, 0);
        let mut buckets = map.buckets();
        let mut step = |op: &dyn Fn()| {
            let (b, c) = work(op);
            worst = worst.max(b);
            copied += b;
            completed += c;
            if map.buckets() != buckets {
                buckets = map.buckets();
                started += 1;
            }
        };
        for k in 0..KEYS {
            step(&|| assert!(map.insert(k, k)));
        }
        for k in 0..KEYS {
            step(&|| assert!(map.remove(&k)));
        }
        eprintln!(
            "worst write copied {worst} old buckets (bound {BOUND}); {copied} copied in all; \
             {started} migrations started, {completed} completed by writes"
        );
        assert!(worst <= BOUND, "a write copied {worst} old buckets");
        assert!(
            worst > 0 && copied > 1 << 14,
            "the writes did no migration work"
        );
        assert!(
            started >= 3 && completed + 1 >= started,
            "{started} started, {completed} done"
        );

        for k in 0..KEYS {
            map.insert(k, k);
        }
        let before = map.buckets();
        let (resize, _) = work(|| assert!(map.resize(4 * KEYS as usize)));
        assert!(
            resize >= before && resize > 10 * BOUND,
            "the counter missed an explicit resize's copies: {resize} of {before} buckets"
        );
    }
}
