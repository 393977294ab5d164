//! The entry API of [`RcuHashMap`]: a key's position with its stripe locked.

use super::hash_map::RcuHashMap;
use super::layout::{Boxed, Bucket, Layout};
use super::raw::{Node, Position};
use super::stripe::StripeGuard;
use core::hash::{BuildHasher, Hash};
use core::ptr::NonNull;
use rcu_core::{DefaultDomain, RcuDomain};
use std::fmt;

/// A key's place in an [`RcuHashMap`], from [`RcuHashMap::entry`] or
/// [`PinnedMap::entry`](super::PinnedMap::entry), with the key's writer stripe held until it is
/// dropped (liburcu's `cds_lfht_add_unique` / `cds_lfht_replace` decisions, made by the caller).
/// Readers are never blocked by it. The values it returns borrow the read guard it was made under
/// (`'a`), so they stay valid after the entry, and its stripe, are gone.
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// let guard = rcu_core::read_lock();
/// let one = match map.entry("id0", &guard) {
///     Entry::Occupied(_) => unreachable!(),
///     Entry::Vacant(v) => v.insert(1),
/// };
/// assert_eq!(map.entry("id0", &guard).or_insert_with(|| 2), &1); // already there: kept
/// assert_eq!((one, map.get("id0", &guard)), (&1, Some(&1)));
/// ```
///
/// What an entry returns cannot outlive the guard:
///
/// ```compile_fail
/// let map = rcu_queue::RcuHashMap::new();
/// let guard = rcu_core::read_lock();
/// let v = map.entry(1, &guard).or_insert(String::from("freed after a grace period"));
/// drop(guard); // error: cannot move out of `guard` because it is borrowed
/// println!("{v}");
/// ```
pub enum Entry<'a, K, V, S: BuildHasher, D: RcuDomain = DefaultDomain, L: Layout<K, V> = Boxed> {
    /// The key is present.
    Occupied(OccupiedEntry<'a, K, V, S, D, L>),
    /// The key is absent.
    Vacant(VacantEntry<'a, K, V, S, D, L>),
}

/// A present key with its stripe held; see [`Entry`].
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert(1, "one");
/// let guard = rcu_core::read_lock();
/// if let Entry::Occupied(e) = map.entry(1, &guard) {
///     assert_eq!((*e.key(), *e.get()), (1, "one"));
///     assert_eq!(e.remove(), &"one"); // readable until the guard is dropped
/// }
/// assert!(map.is_empty());
/// ```
pub struct OccupiedEntry<
    'a,
    K,
    V,
    S: BuildHasher,
    D: RcuDomain = DefaultDomain,
    L: Layout<K, V> = Boxed,
> {
    map: &'a RcuHashMap<K, V, S, D, L>,
    stripe: StripeGuard<'a>,
    pos: Position<K, V, L::Bucket>,
    key: K,
}

/// An absent key with its stripe held; see [`Entry`].
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// if let Entry::Vacant(e) = map.entry(5, &rcu_core::read_lock()) {
///     assert_eq!(*e.key(), 5);
///     e.insert("five");
/// }
/// assert_eq!(map.len(), 1);
/// ```
pub struct VacantEntry<
    'a,
    K,
    V,
    S: BuildHasher,
    D: RcuDomain = DefaultDomain,
    L: Layout<K, V> = Boxed,
> {
    map: &'a RcuHashMap<K, V, S, D, L>,
    stripe: StripeGuard<'a>,
    pos: Position<K, V, L::Bucket>,
    key: K,
}

impl<'a, K, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> OccupiedEntry<'a, K, V, S, D, L> {
    pub(super) fn new(
        map: &'a RcuHashMap<K, V, S, D, L>,
        stripe: StripeGuard<'a>,
        pos: Position<K, V, L::Bucket>,
        key: K,
    ) -> Self {
        OccupiedEntry {
            map,
            stripe,
            pos,
            key,
        }
    }

    fn node(&self) -> &Node<K, V> {
        let node = self
            .pos
            .found()
            .expect("an OccupiedEntry always holds a node");
        // SAFETY: the node is linked and its stripe is held by `self`, so no one can unlink (let alone
        // free) it while `self` is borrowed (raw W1, W3).
        unsafe { node.as_ref() }
    }

    /// The key as stored in the map.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert('a', 0);
    /// let guard = rcu_core::read_lock();
    /// let Entry::Occupied(e) = map.entry('a', &guard) else { unreachable!() };
    /// assert_eq!(e.key(), &'a');
    /// ```
    pub fn key(&self) -> &K {
        &self.node().key
    }

    /// The current value.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert('a', 10);
    /// let guard = rcu_core::read_lock();
    /// let Entry::Occupied(e) = map.entry('a', &guard) else { unreachable!() };
    /// assert_eq!(e.get(), &10);
    /// ```
    pub fn get(&self) -> &V {
        &self.node().value
    }
}

impl<'a, K, V, S, D: RcuDomain, L: Layout<K, V>> OccupiedEntry<'a, K, V, S, D, L>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Replaces the value (`cds_lfht_replace`): publishes a new node in place of the old one, whose
    /// value is dropped after a grace period; readers see either value, never a mix. Returns the new
    /// value, borrowed from the entry's guard.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("k", 1);
    /// let guard = rcu_core::read_lock();
    /// if let Entry::Occupied(e) = map.entry("k", &guard) { assert_eq!(e.insert(2), &2) }
    /// assert_eq!(map.get("k", &guard), Some(&2));
    /// ```
    pub fn insert(self, value: V) -> &'a V {
        let item = L::Bucket::item(self.key, value);
        // SAFETY: `pos` found an entry and its stripe is held (W1).
        let (old, new) = unsafe { self.map.raw().replace_at(&self.pos, item) };
        // SAFETY: `old` was just unlinked and is retired once; the entry holds the stripe.
        unsafe {
            self.map.retire(old);
            self.map.prune(&self.pos);
        }
        self.map.after_write(self.stripe, 0);
        // SAFETY: the new entry is linked now; once unlinked it is freed only a grace period later
        // (invariant 3), and the entry was made under a read guard of the map's domain that lives
        // for `'a` (`RcuHashMap::entry`), so that grace period cannot end within `'a`.
        unsafe { value_of(new) }
    }

    /// Removes the key (`qht_remove`); the value is dropped after a grace period, and is returned,
    /// borrowed from the entry's guard.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("k", 1);
    /// if let Entry::Occupied(e) = map.entry("k", &rcu_core::read_lock()) {
    ///     assert_eq!(e.remove(), &1);
    /// }
    /// assert!(map.is_empty());
    /// ```
    pub fn remove(self) -> &'a V {
        // SAFETY: `pos` found a node and its stripe is held (W1).
        let old = unsafe { self.map.raw().unlink_at(&self.pos) };
        // SAFETY: `old` was just unlinked and is retired once; the entry holds the stripe.
        unsafe {
            self.map.retire(old);
            self.map.prune(&self.pos);
        }
        self.map.after_write(self.stripe, -1);
        // SAFETY: `old` is freed only a grace period after its retirement above (invariant 3), and
        // the entry's read guard lives for `'a` (`RcuHashMap::entry`), so not within `'a`.
        unsafe { value_of(old) }
    }
}

/// The value of `node`, for `'a`.
///
/// # Safety
///
/// `node` is an entry of the map that stays allocated for `'a`: it is linked, or retired (a heap
/// node) or dead in its table (an inline pair), and a read-side critical section of the map's
/// domain that began before that lasts for `'a`.
pub(super) unsafe fn value_of<'a, K, V>(node: NonNull<Node<K, V>>) -> &'a V {
    // SAFETY: allocated for `'a` (contract); a node's value is never written after publication.
    unsafe { &(*node.as_ptr()).value }
}

impl<'a, K, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> VacantEntry<'a, K, V, S, D, L> {
    pub(super) fn new(
        map: &'a RcuHashMap<K, V, S, D, L>,
        stripe: StripeGuard<'a>,
        pos: Position<K, V, L::Bucket>,
        key: K,
    ) -> Self {
        VacantEntry {
            map,
            stripe,
            pos,
            key,
        }
    }

    /// The key that would be inserted.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// let guard = rcu_core::read_lock();
    /// let Entry::Vacant(e) = map.entry(9, &guard) else { unreachable!() };
    /// assert_eq!(e.key(), &9);
    /// ```
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<'a, K, V, S, D: RcuDomain, L: Layout<K, V>> VacantEntry<'a, K, V, S, D, L>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Inserts the key with `value` (`qht_insert`, `cds_lfht_add_unique`), publishing it with one
    /// `Release` store, and returns the value, borrowed from the entry's guard. May resize the table
    /// afterwards.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// if let Entry::Vacant(e) = map.entry(1, &rcu_core::read_lock()) {
    ///     assert_eq!(e.insert("one"), &"one");
    /// }
    /// assert!(map.contains_key(&1));
    /// ```
    pub fn insert(self, value: V) -> &'a V {
        let item = L::Bucket::item(self.key, value);
        // SAFETY: `pos` is this key's position with its stripe held (W1); the key is absent.
        let node = unsafe { self.map.raw().insert_at(&self.pos, item) };
        self.map.after_write(self.stripe, 1);
        // SAFETY: the node is linked now; once unlinked it is freed only a grace period later
        // (invariant 3), and the entry's read guard lives for `'a` (`RcuHashMap::entry`).
        unsafe { value_of(node) }
    }
}

impl<'a, K, V, S, D: RcuDomain, L: Layout<K, V>> Entry<'a, K, V, S, D, L>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// The entry's key.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// assert_eq!(map.entry(3, &rcu_core::read_lock()).key(), &3);
    /// ```
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(e) => e.key(),
            Entry::Vacant(e) => e.key(),
        }
    }

    /// The present value, or `make()` inserted if the key is absent (std's `or_insert_with`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(map.entry("a", &guard).or_insert_with(|| 1), &1);
    /// assert_eq!(map.entry("a", &guard).or_insert_with(|| 2), &1);
    /// ```
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a V {
        match self {
            Entry::Occupied(e) => {
                let node = e.pos.found().expect("an OccupiedEntry always holds a node");
                // SAFETY: the node is linked under the stripe `e` holds; once unlinked it is freed
                // only a grace period later (invariant 3), and the entry's read guard lives for `'a`.
                unsafe { value_of(node) }
            }
            Entry::Vacant(e) => e.insert(make()),
        }
    }

    /// The present value, or `value` inserted if the key is absent (std's `or_insert`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(map.entry('x', &guard).or_insert(5), &5);
    /// assert_eq!(map.entry('x', &guard).or_insert(6), &5);
    /// ```
    pub fn or_insert(self, value: V) -> &'a V {
        self.or_insert_with(|| value)
    }

    /// The present value, or `V::default()` inserted if the key is absent (std's `or_default`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::<u8, u32>::new();
    /// assert_eq!(map.entry(1, &rcu_core::read_lock()).or_default(), &0);
    /// ```
    pub fn or_default(self) -> &'a V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

macro_rules! entry_debug {
    ($($ty:ident),*) => {$(
        impl<K: fmt::Debug, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> fmt::Debug for $ty<'_, K, V, S, D, L> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("key", &self.key).finish_non_exhaustive()
            }
        }
    )*};
}
entry_debug!(OccupiedEntry, VacantEntry);

impl<K: fmt::Debug, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> fmt::Debug
    for Entry<'_, K, V, S, D, L>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Occupied(e) => e.fmt(f),
            Entry::Vacant(e) => e.fmt(f),
        }
    }
}
