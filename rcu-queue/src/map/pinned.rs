//! [`PinnedMap`]: an [`RcuHashMap`] with a read guard of its domain held, whose methods return
//! references bound to that guard (papaya's `HashMapRef`).

use super::entry::{Entry, value_of};
use super::hash_map::{Iter, Keys, RcuHashMap, Values};
use super::layout::{Boxed, Layout};
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use rcu_core::{DefaultDomain, RcuDomain};
use std::fmt;

/// A map with a read-side critical section of its domain held, from [`RcuHashMap::pin`] (papaya's
/// `HashMap::pin`, QEMU's `RCU_READ_LOCK_GUARD()` around a run of `qht_*` calls).
///
/// Every method returns references that live as long as the pin: [`get`](Self::get) as on the map,
/// and the writers' old values, which the map retires but cannot free before the pin is dropped
/// ([`insert`](Self::insert) returns the replaced value, [`remove`](Self::remove) the removed one).
/// The writers take the key's stripe exactly as the map's own do; readers are never blocked.
///
/// Keep pins short, as any read-side critical section: a pin delays every grace period of its
/// domain, so values removed meanwhile (by any thread) are dropped only after it ends, and the map
/// starts at most one more migration while this thread holds one (a migration starts only a grace
/// period after the previous one completed, and a write postpones it rather than wait for that).
///
/// # Example
///
/// ```
/// let map = rcu_queue::RcuHashMap::new();
/// let m = map.pin();
/// assert_eq!(m.insert("a", 1), None);
/// assert_eq!(m.insert("a", 2), Some(&1)); // the old value, still readable under the pin
/// assert_eq!(m.get("a"), Some(&2));
/// assert_eq!(m.get_or_insert_with("b", || 3), &3);
/// assert_eq!(m.update("b", |v| v + 1), Some(&4));
/// assert_eq!(m.remove("a"), Some(&2));
/// assert_eq!(m.len(), 1);
/// ```
///
/// # References cannot outlive the pin
///
/// ```compile_fail
/// let map = rcu_queue::RcuHashMap::new();
/// map.insert(1, String::from("gone after the pin"));
/// let v = map.pin().get(&1).unwrap(); // error: temporary value dropped while borrowed
/// println!("{v}");
/// ```
pub struct PinnedMap<
    'm,
    K,
    V,
    S: BuildHasher,
    D: RcuDomain = DefaultDomain,
    L: Layout<K, V> = Boxed,
> {
    map: &'m RcuHashMap<K, V, S, D, L>,
    guard: D::Guard<'m>,
}

impl<'m, K, V, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> PinnedMap<'m, K, V, S, D, L> {
    pub(super) fn new(map: &'m RcuHashMap<K, V, S, D, L>, guard: D::Guard<'m>) -> Self {
        PinnedMap { map, guard }
    }

    /// The map.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::<u8, u8>::new();
    /// assert!(std::ptr::eq(map.pin().map(), &map));
    /// ```
    pub fn map(&self) -> &'m RcuHashMap<K, V, S, D, L> {
        self.map
    }

    /// The read guard the pin holds, for the map's guard-taking methods and other structures of the
    /// same domain.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(1, 'a');
    /// let m = map.pin();
    /// assert_eq!(map.get(&1, m.guard()), Some(&'a'));
    /// ```
    pub fn guard(&self) -> &D::Guard<'m> {
        &self.guard
    }

    /// As [`RcuHashMap::len`].
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(1, 1);
    /// assert_eq!(map.pin().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// As [`RcuHashMap::is_empty`].
    ///
    /// # Example
    ///
    /// ```
    /// assert!(rcu_queue::RcuHashMap::<u8, u8>::new().pin().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every pair, as [`RcuHashMap::iter`] under the pin's guard.
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (1..=3).map(|i| (i, i * 10)).collect();
    /// let m = map.pin();
    /// assert_eq!(m.iter().map(|(k, v)| k + v).sum::<u32>(), 66);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V, L> {
        self.map.iter(&self.guard)
    }

    /// Every key, as [`RcuHashMap::keys`] under the pin's guard.
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, ()> = (0..4).map(|i| (i, ())).collect();
    /// assert_eq!(map.pin().keys().sum::<u32>(), 6);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, V, L> {
        self.map.keys(&self.guard)
    }

    /// Every value, as [`RcuHashMap::values`] under the pin's guard.
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (0..4).map(|i| (i, 1)).collect();
    /// assert_eq!(map.pin().values().sum::<u32>(), 4);
    /// ```
    pub fn values(&self) -> Values<'_, K, V, L> {
        self.map.values(&self.guard)
    }
}

impl<K, V, S, D, L: Layout<K, V>> PinnedMap<'_, K, V, S, D, L>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
    D: RcuDomain,
{
    /// The value of `key` (`qht_lookup`): as [`RcuHashMap::get`] under the pin's guard.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(String::from("scsi0"), 7);
    /// assert_eq!(map.pin().get("scsi0"), Some(&7));
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key, &self.guard)
    }

    /// The stored key and value of `key` (std's `get_key_value`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(String::from("k"), 1);
    /// assert_eq!(map.pin().get_key_value("k"), Some((&String::from("k"), &1)));
    /// ```
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_key_value(key, &self.guard)
    }

    /// Whether `key` is present.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(1, ());
    /// assert!(map.pin().contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts or replaces (`qht_insert`, `cds_lfht_add_replace`); returns the replaced value, which
    /// the map drops only after the pin is gone (papaya's `insert`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.insert(1, "a"), None);
    /// assert_eq!(m.insert(1, "b"), Some(&"a"));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::insert`].
    #[track_caller]
    pub fn insert(&self, key: K, value: V) -> Option<&V> {
        let old = self.map.insert_node(key, value)?;
        // SAFETY: `insert_node` retired `old` during the pin's read-side critical section, which
        // lasts as long as the borrow of `self`: the node is freed only a grace period later.
        Some(unsafe { value_of(old) })
    }

    /// Removes `key` (`qht_remove`, `cds_lfht_del`); returns the removed value, which the map drops
    /// only after the pin is gone (papaya's `remove`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert(1, String::from("x"));
    /// let m = map.pin();
    /// assert_eq!(m.remove(&1).map(String::as_str), Some("x"));
    /// assert_eq!(m.remove(&1), None);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::insert`].
    #[track_caller]
    pub fn remove<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_if(key, |_, _| true).map(|(_, v)| v)
    }

    /// Removes `key` if `pred` accepts its pair, with the key's stripe held (dashmap's and papaya's
    /// `remove_if`); returns the removed pair.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// map.insert("a", 1);
    /// let m = map.pin();
    /// assert_eq!(m.remove_if("a", |_, v| *v > 1), None);
    /// assert_eq!(m.remove_if("a", |_, v| *v == 1), Some((&"a", &1)));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::remove_if`].
    #[track_caller]
    pub fn remove_if<Q>(&self, key: &Q, pred: impl FnOnce(&K, &V) -> bool) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let old = self.map.remove_node(key, pred)?;
        // SAFETY: `remove_node` retired `old` during the pin's read-side critical section, which
        // lasts as long as the borrow of `self`: the node is freed only a grace period later.
        let old = unsafe { old.as_ref() };
        Some((&old.key, &old.value))
    }

    /// The entry of `key` (as [`RcuHashMap::entry`] under the pin's guard): its values borrow the pin.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.entry("a").or_insert(1), &1);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::entry`].
    #[track_caller]
    pub fn entry(&self, key: K) -> Entry<'_, K, V, S, D, L> {
        self.map.entry(key, &self.guard)
    }

    /// The value of `key`, or `make()` inserted if it is absent (papaya's `get_or_insert_with`,
    /// dashmap's `entry(..).or_insert_with`). A present key is found without taking a lock.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.get_or_insert_with(1, || "one"), &"one");
    /// assert_eq!(m.get_or_insert_with(1, || unreachable!()), &"one");
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::entry`], and if `make` writes to this map (it would deadlock).
    #[track_caller]
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> &V {
        match self.get(&key) {
            Some(value) => value,
            None => self.entry(key).or_insert_with(make),
        }
    }

    /// The value of `key`, or `value` inserted if it is absent (papaya's `get_or_insert`).
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.get_or_insert('k', 1), &1);
    /// assert_eq!(m.get_or_insert('k', 2), &1);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::entry`].
    #[track_caller]
    pub fn get_or_insert(&self, key: K, value: V) -> &V {
        self.get_or_insert_with(key, || value)
    }

    /// Replaces the value of a present `key` by `f(old)` with the key's stripe held, so concurrent
    /// updates of one key are never lost (papaya's `update`, dashmap's `alter`); returns the new
    /// value, or `None` if the key is absent. Readers see the old or the new value, never a mix.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// m.insert("hits", 1);
    /// assert_eq!(m.update("hits", |n| n + 1), Some(&2));
    /// assert_eq!(m.update("misses", |n| n + 1), None);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::entry`], and if `f` writes to this map (it would deadlock).
    #[track_caller]
    pub fn update(&self, key: K, f: impl FnOnce(&V) -> V) -> Option<&V> {
        match self.entry(key) {
            Entry::Occupied(e) => {
                let new = f(e.get());
                Some(e.insert(new))
            }
            Entry::Vacant(_) => None,
        }
    }

    /// Sets `key` to `f(current value)` with the key's stripe held: `Some(v)` inserts or replaces,
    /// `None` removes (papaya's `compute`, Java's `Map.compute`). Returns the value the key now has.
    ///
    /// # Example
    ///
    /// ```
    /// let map = rcu_queue::RcuHashMap::new();
    /// let m = map.pin();
    /// // A reference count: +1, creating the key at 1.
    /// assert_eq!(m.compute("obj", |n| Some(n.map_or(1, |n| n + 1))), Some(&1));
    /// assert_eq!(m.compute("obj", |n| Some(n.map_or(1, |n| n + 1))), Some(&2));
    /// // -1, removing the key at 0.
    /// let unref = |n: Option<&u32>| n.and_then(|&n| (n > 1).then(|| n - 1));
    /// assert_eq!(m.compute("obj", unref), Some(&1));
    /// assert_eq!(m.compute("obj", unref), None);
    /// assert!(m.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::entry`], and if `f` writes to this map (it would deadlock).
    #[track_caller]
    pub fn compute(&self, key: K, f: impl FnOnce(Option<&V>) -> Option<V>) -> Option<&V> {
        match self.entry(key) {
            Entry::Occupied(e) => match f(Some(e.get())) {
                Some(new) => Some(e.insert(new)),
                None => {
                    e.remove();
                    None
                }
            },
            Entry::Vacant(e) => f(None).map(|new| e.insert(new)),
        }
    }

    /// As [`RcuHashMap::retain`].
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// let m = map.pin();
    /// m.retain(|k, _| k % 2 == 0);
    /// assert_eq!(m.len(), 5);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::retain`].
    #[track_caller]
    pub fn retain(&self, keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(keep);
    }

    /// As [`RcuHashMap::clear`].
    ///
    /// # Example
    ///
    /// ```
    /// let map: rcu_queue::RcuHashMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// let m = map.pin();
    /// let five = m.get(&5).unwrap();
    /// m.clear();
    /// assert!(m.is_empty());
    /// assert_eq!(five, &5); // still readable: dropped after the pin
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RcuHashMap::retain`].
    #[track_caller]
    pub fn clear(&self) {
        self.map.clear();
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S: BuildHasher, D: RcuDomain, L: Layout<K, V>> fmt::Debug
    for PinnedMap<'_, K, V, S, D, L>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
