//! [`RcuFlatHashMap`]: the [`RcuHashMap`] whose `Copy` pairs are stored in the table itself
//! ([`Inline`] layout), with its constructors.

use super::hash_map::RcuHashMap;
use super::layout::Inline;
use core::hash::{BuildHasher, Hash};
use core::ops::Deref;
use rcu_core::{DefaultDomain, RcuDomain};
use std::collections::hash_map::RandomState;
use std::fmt;

/// An [`RcuHashMap`] for `Copy` keys and values that stores each pair in the table's buckets
/// instead of a heap node of its own (the [`Inline`] layout): a lookup reads one cache line, as
/// in hashbrown or folly's F14, and an insertion allocates nothing. Every method of
/// [`RcuHashMap`] is reached through `Deref` (the map is an `RcuHashMap<K, V, S, D, Inline>`), so
/// the two are used alike.
///
/// Pairs are written once: a replacement appends the new pair to the key's chain before it marks
/// the old one dead, a removal marks it dead, and the map rehashes into a new table when dead slots
/// pile up; see [`Layout`](super::Layout) for why readers never miss a key. Use it for maps of
/// plain data (ids, counters, offsets, small `Copy` structs); use [`RcuHashMap`] for owned or
/// interior-mutable values (`String`, `Arc`, atomics, mutexes).
///
/// The counterpart of QEMU's qht holding small values directly and of liburcu's rculfhash with
/// nodes embedded in the table.
///
/// # Example
///
/// ```
/// let map = rcu_queue::RcuFlatHashMap::<u64, u64>::new();
/// map.insert(1, 10);
/// map.insert(1, 11); // the old pair stays readable for readers that found it
/// let guard = rcu_core::read_lock();
/// assert_eq!(map.get(&1, &guard), Some(&11));
/// assert!(map.remove(&1));
/// assert_eq!(map.len(), 0);
/// ```
///
/// Only `Copy` types are stored inline; anything else does not type-check:
///
/// ```compile_fail
/// let map = rcu_queue::RcuFlatHashMap::<u64, String>::new(); // error: `String: Copy` is not satisfied
/// ```
pub struct RcuFlatHashMap<K, V, S: BuildHasher = RandomState, D: RcuDomain = DefaultDomain>(
    RcuHashMap<K, V, S, D, Inline>,
)
where
    K: Copy + Eq,
    V: Copy;

impl<K: Copy + Eq, V: Copy> RcuFlatHashMap<K, V, RandomState> {
    /// An empty map of the default domain (std's `HashMap::new`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuFlatHashMap::<u32, u32>::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty map of the default domain sized for `capacity` keys.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuFlatHashMap::<u32, u32>::with_capacity(1000);
    /// assert!(map.buckets() * 2 >= 1000);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K: Copy + Eq, V: Copy, D: RcuDomain> RcuFlatHashMap<K, V, RandomState, D> {
    /// An empty map whose readers and reclamation use `domain`.
    ///
    /// # Example
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let map = rcu_queue::RcuFlatHashMap::<u8, u8, _, _>::new_in(&domain);
    /// map.insert(1, 2);
    /// assert_eq!(map.get(&1, &domain.read_lock()), Some(&2));
    /// ```
    pub fn new_in(domain: &D) -> Self {
        Self::with_capacity_and_hasher_in(0, RandomState::new(), domain)
    }
}

impl<K: Copy + Eq, V: Copy, S: BuildHasher> RcuFlatHashMap<K, V, S> {
    /// An empty map of the default domain that hashes with `hasher`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::hash::BuildHasherDefault;
    /// use std::collections::hash_map::DefaultHasher;
    /// let map = rcu_queue::RcuFlatHashMap::<u8, u8, _>::with_hasher(
    ///     BuildHasherDefault::<DefaultHasher>::default(),
    /// );
    /// map.insert(1, 1);
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_capacity_and_hasher(0, hasher)
    }

    /// An empty map of the default domain sized for `capacity` keys that hashes with `hasher`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map = rcu_queue::RcuFlatHashMap::<u8, u8, _>::with_capacity_and_hasher(10, RandomState::new());
    /// assert!(map.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self::with_capacity_and_hasher_in(capacity, hasher, &DefaultDomain)
    }
}

impl<K: Copy + Eq, V: Copy, S: BuildHasher, D: RcuDomain> RcuFlatHashMap<K, V, S, D> {
    /// An empty map sized for `capacity` keys that hashes with `hasher`, in `domain`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let domain = rcu_core::Domain::new();
    /// let map = rcu_queue::RcuFlatHashMap::<u8, u8, _, _>::with_capacity_and_hasher_in(
    ///     10,
    ///     RandomState::new(),
    ///     &domain,
    /// );
    /// assert!(map.is_empty());
    /// ```
    pub fn with_capacity_and_hasher_in(capacity: usize, hasher: S, domain: &D) -> Self {
        RcuFlatHashMap(RcuHashMap::build(capacity, hasher, domain))
    }
}

impl<K: Copy + Eq, V: Copy, S: BuildHasher, D: RcuDomain> Deref for RcuFlatHashMap<K, V, S, D> {
    type Target = RcuHashMap<K, V, S, D, Inline>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<K: Copy + Eq, V: Copy, S: BuildHasher + Default> Default for RcuFlatHashMap<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

/// Prints the pairs like std's `HashMap` (`{k: v, ...}`).
impl<K, V, S, D> fmt::Debug for RcuFlatHashMap<K, V, S, D>
where
    K: Copy + Eq + fmt::Debug,
    V: Copy + fmt::Debug,
    S: BuildHasher,
    D: RcuDomain,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A map of the default domain holding the pairs; a later pair replaces an earlier one.
///
/// ```
/// let map: rcu_queue::RcuFlatHashMap<u8, u8> = [(1, 1), (2, 2), (1, 3)].into_iter().collect();
/// assert_eq!(map.len(), 2);
/// assert_eq!(map.pin().get(&1), Some(&3));
/// ```
impl<K, V, S> FromIterator<(K, V)> for RcuFlatHashMap<K, V, S>
where
    K: Copy + Hash + Eq + Send + Sync + 'static,
    V: Copy + Send + Sync + 'static,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = Self::with_capacity_and_hasher(iter.size_hint().0, S::default());
        (&*map).extend(iter);
        map
    }
}

/// Inserts every pair (std's `HashMap: Extend`).
///
/// ```
/// let mut map = rcu_queue::RcuFlatHashMap::new();
/// map.extend([(1, 'a'), (2, 'b')]);
/// assert_eq!(map.len(), 2);
/// ```
impl<K, V, S, D> Extend<(K, V)> for RcuFlatHashMap<K, V, S, D>
where
    K: Copy + Hash + Eq + Send + Sync + 'static,
    V: Copy + Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&self.0).extend(iter);
    }
}
