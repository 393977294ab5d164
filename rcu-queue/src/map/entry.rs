//! The entry API of [`RcuHashMap`]: a key's position with its stripe locked.

use super::hash_map::RcuHashMap;
use super::raw::{Node, Position};
use super::stripe::StripeGuard;
use core::hash::{BuildHasher, Hash};
use rcu_core::{DefaultDomain, RcuDomain};
use std::fmt;

/// A key's place in an [`RcuHashMap`], from [`RcuHashMap::entry`], with the key's writer stripe held
/// until it is dropped (liburcu's `cds_lfht_add_unique` / `cds_lfht_replace` decisions, made by the
/// caller). Readers are never blocked by it.
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// match map.entry("id0") {
///     Entry::Occupied(_) => unreachable!(),
///     Entry::Vacant(v) => v.insert(1),
/// }
/// map.entry("id0").or_insert_with(|| 2); // already there: kept
/// assert_eq!(map.get("id0", &rcu_core::read_lock()), Some(&1));
/// ```
pub enum Entry<'a, K, V, S, D: RcuDomain = DefaultDomain> {
    /// The key is present.
    Occupied(OccupiedEntry<'a, K, V, S, D>),
    /// The key is absent.
    Vacant(VacantEntry<'a, K, V, S, D>),
}

/// A present key with its stripe held; see [`Entry`].
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert(1, "one");
/// if let Entry::Occupied(e) = map.entry(1) {
///     assert_eq!((*e.key(), *e.get()), (1, "one"));
///     e.remove();
/// }
/// assert!(map.is_empty());
/// ```
pub struct OccupiedEntry<'a, K, V, S, D: RcuDomain = DefaultDomain> {
    map: &'a RcuHashMap<K, V, S, D>,
    stripe: StripeGuard<'a>,
    pos: Position<K, V>,
    key: K,
}

/// An absent key with its stripe held; see [`Entry`].
///
/// # Example
///
/// ```
/// use rcu_queue::map::Entry;
/// let map = rcu_queue::RcuHashMap::new();
/// if let Entry::Vacant(e) = map.entry(5) {
///     assert_eq!(*e.key(), 5);
///     e.insert("five");
/// }
/// assert_eq!(map.len(), 1);
/// ```
pub struct VacantEntry<'a, K, V, S, D: RcuDomain = DefaultDomain> {
    map: &'a RcuHashMap<K, V, S, D>,
    stripe: StripeGuard<'a>,
    pos: Position<K, V>,
    hash: u64,
    key: K,
}

impl<'a, K, V, S, D: RcuDomain> OccupiedEntry<'a, K, V, S, D> {
    pub(super) fn new(
        map: &'a RcuHashMap<K, V, S, D>,
        stripe: StripeGuard<'a>,
        pos: Position<K, V>,
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
    /// let Entry::Occupied(e) = map.entry('a') else { unreachable!() };
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
    /// let Entry::Occupied(e) = map.entry('a') else { unreachable!() };
    /// assert_eq!(e.get(), &10);
    /// ```
    pub fn get(&self) -> &V {
        &self.node().value
    }
}

impl<K, V, S, D: RcuDomain> OccupiedEntry<'_, K, V, S, D>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Replaces the value (`cds_lfht_replace`): publishes a new node in place of the old one, whose
    /// value is dropped after a grace period; readers see either value, never a mix.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("k", 1);
    /// if let Entry::Occupied(e) = map.entry("k") { e.insert(2) }
    /// assert_eq!(map.get("k", &rcu_core::read_lock()), Some(&2));
    /// ```
    pub fn insert(self, value: V) {
        let node = Node::alloc(self.node().hash(), self.key, value);
        // SAFETY: `pos` found a node and its stripe is held (W1); `node` is fresh.
        let old = unsafe { self.map.raw().replace_at(&self.pos, node) };
        // SAFETY: `old` was just unlinked and is retired once.
        unsafe { self.map.retire(old) };
    }

    /// Removes the key (`qht_remove`); the value is dropped after a grace period.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("k", 1);
    /// if let Entry::Occupied(e) = map.entry("k") { e.remove() }
    /// assert!(map.is_empty());
    /// ```
    pub fn remove(self) {
        // SAFETY: `pos` found a node and its stripe is held (W1).
        let old = unsafe { self.map.raw().unlink_at(&self.pos) };
        // SAFETY: `old` was just unlinked and is retired once.
        unsafe { self.map.retire(old) };
        self.map.after_remove(self.stripe);
    }
}

impl<'a, K, V, S, D: RcuDomain> VacantEntry<'a, K, V, S, D> {
    pub(super) fn new(
        map: &'a RcuHashMap<K, V, S, D>,
        stripe: StripeGuard<'a>,
        pos: Position<K, V>,
        hash: u64,
        key: K,
    ) -> Self {
        VacantEntry {
            map,
            stripe,
            pos,
            hash,
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
    /// let Entry::Vacant(e) = map.entry(9) else { unreachable!() };
    /// assert_eq!(e.key(), &9);
    /// ```
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<K, V, S, D: RcuDomain> VacantEntry<'_, K, V, S, D>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Inserts the key with `value` (`qht_insert`, `cds_lfht_add_unique`), publishing it with one
    /// `Release` store. May resize the table afterwards.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::map::Entry;
    /// let map = rcu_queue::RcuHashMap::new();
    /// if let Entry::Vacant(e) = map.entry(1) { e.insert("one") }
    /// assert!(map.contains_key(&1));
    /// ```
    pub fn insert(self, value: V) {
        let node = Node::alloc(self.hash, self.key, value);
        // SAFETY: `pos` is this key's position with its stripe held (W1); the key is absent and
        // `node` fresh.
        unsafe { self.map.raw().insert_at(&self.pos, node) };
        self.map.after_insert(self.stripe);
    }
}

impl<K, V, S, D: RcuDomain> Entry<'_, K, V, S, D>
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
    /// assert_eq!(map.entry(3).key(), &3);
    /// ```
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(e) => e.key(),
            Entry::Vacant(e) => e.key(),
        }
    }

    /// Inserts `make()` if the key is absent; keeps the present value otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.entry("a").or_insert_with(|| 1);
    /// map.entry("a").or_insert_with(|| 2);
    /// assert_eq!(map.get("a", &rcu_core::read_lock()), Some(&1));
    /// ```
    pub fn or_insert_with(self, make: impl FnOnce() -> V) {
        if let Entry::Vacant(e) = self {
            e.insert(make());
        }
    }
}

macro_rules! entry_debug {
    ($($ty:ident),*) => {$(
        impl<K: fmt::Debug, V, S, D: RcuDomain> fmt::Debug for $ty<'_, K, V, S, D> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("key", &self.key).finish_non_exhaustive()
            }
        }
    )*};
}
entry_debug!(OccupiedEntry, VacantEntry);

impl<K: fmt::Debug, V, S, D: RcuDomain> fmt::Debug for Entry<'_, K, V, S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Occupied(e) => e.fmt(f),
            Entry::Vacant(e) => e.fmt(f),
        }
    }
}
