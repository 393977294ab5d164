//! Model-based tests of `RcuHashMap`: random operation sequences checked against
//! `std::collections::HashMap` after every step (len, `get` of every key of the key space, the
//! iteration's contents), with the default hasher and with a colliding one (long chains, equal hashes
//! of different keys); every value ever created is dropped exactly once after the grace periods.
//! The same driver runs `RcuFlatHashMap` (`u16` and `u8` keys, self-checking `u64` values), with
//! churn on few keys that makes it rehash its dead slots.
//! Plus the API's misuse panics and ownership checks.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rcu_core::DefaultDomain;
use rcu_queue::map::{Boxed, Entry, Inline, Layout};
use rcu_queue::{RcuFlatHashMap, RcuHashMap};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// A value that counts its drops.
#[derive(Debug)]
struct Tracked {
    v: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

/// Hashes every `u32` key to one of four hashes: many keys per bucket and per hash.
#[derive(Default)]
struct Colliding(u64);

impl Hasher for Colliding {
    fn finish(&self) -> u64 {
        self.0 & 3
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(b));
        }
    }
}

const KEYS: u32 = 48;

#[derive(Debug, Clone)]
enum Op {
    Insert(u32, u32),
    Remove(u32),
    /// Entry: increment if present, insert 0 if absent.
    Upsert(u32),
    /// Entry: remove if present.
    EntryRemove(u32),
    OrInsert(u32, u32),
    RetainMultiplesOf(u32),
    Resize(usize),
    /// Many inserts at once, to force automatic growth.
    Fill(u32),
    Clear,
    /// `map.pin().insert`: the replaced value comes back.
    PinInsert(u32, u32),
    /// `map.pin().remove`: the removed value comes back.
    PinRemove(u32),
    /// `remove_if` (pin and map alternately): remove if the value is even.
    RemoveIfEven(u32, bool),
    /// `map.pin().get_or_insert_with`.
    GetOrInsertWith(u32, u32),
    /// `map.pin().update(k, v + 1)`.
    Update(u32),
    /// `map.pin().compute`: +1 below 3 (inserting 0 when absent), removed at 3.
    Compute(u32),
    /// `extend` with pairs, then `clear` or not.
    Extend(Vec<(u32, u32)>),
    /// Replaces one key's value this many times, removing it every 16th (dead slots pile up in a
    /// flat map until it rehashes).
    Churn(u32, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => (0..KEYS).prop_map(Op::Remove),
        3 => (0..KEYS).prop_map(Op::Upsert),
        2 => (0..KEYS).prop_map(Op::EntryRemove),
        2 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::OrInsert(k, v)),
        1 => (2u32..5).prop_map(Op::RetainMultiplesOf),
        1 => (0usize..600).prop_map(Op::Resize),
        1 => (100u32..300).prop_map(Op::Fill),
        1 => Just(Op::Clear),
        4 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::PinInsert(k, v)),
        3 => (0..KEYS).prop_map(Op::PinRemove),
        2 => (0..KEYS, any::<bool>()).prop_map(|(k, pin)| Op::RemoveIfEven(k, pin)),
        2 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::GetOrInsertWith(k, v)),
        2 => (0..KEYS).prop_map(Op::Update),
        3 => (0..KEYS).prop_map(Op::Compute),
        1 => proptest::collection::vec((0..KEYS, any::<u32>()), 0..8).prop_map(Op::Extend),
        1 => (0..KEYS, 50u32..400).prop_map(|(k, n)| Op::Churn(k, n)),
    ]
}

/// A key type of the maps under test: the model's `u32` keys, converted.
trait Key: Copy + Ord + Hash + Debug + Send + Sync + 'static {
    /// The largest key the type holds.
    const MAX: u32;
    /// The key `k` (at most `MAX`).
    fn of(k: u32) -> Self;
    /// The model's key.
    fn id(self) -> u32;
}

macro_rules! key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            const MAX: u32 = <$t>::MAX as u32;
            fn of(k: u32) -> Self {
                <$t>::try_from(k).expect("a key of the model's range")
            }
            fn id(self) -> u32 {
                u32::from(self)
            }
        }
    )*};
}
key!(u8, u16, u32);

/// A map kind under test: its key, value and layout types, how its values are made and read, and
/// the checks after the map is dropped. One driver ([`drive`]) runs every kind.
trait Kind: Default {
    type K: Key;
    type V: Send + Sync + 'static;
    type L: Layout<Self::K, Self::V>;
    /// Keys per bucket a table is sized for.
    const LOAD: usize;
    /// A value standing for `v`.
    fn make(&mut self, v: u32) -> Self::V;
    /// The `v` a value stands for (checking it is intact).
    fn v(value: &Self::V) -> u32;
    /// Runs `f` on a new, empty map of this kind, and drops the map.
    fn with_new_map<S: BuildHasher + Default>(
        &mut self,
        f: impl FnOnce(&RcuHashMap<Self::K, Self::V, S, DefaultDomain, Self::L>, &mut Self),
    );
    /// Checks once the map is dropped.
    fn finish(self) {}
}

/// `RcuHashMap<u32, Tracked>` (heap nodes, the `Boxed` layout): every value made is dropped
/// exactly once after the grace periods.
#[derive(Default)]
struct BoxedTracked {
    created: usize,
    drops: Arc<AtomicUsize>,
}

impl Kind for BoxedTracked {
    type K = u32;
    type V = Tracked;
    type L = Boxed;
    const LOAD: usize = 4;

    fn make(&mut self, v: u32) -> Tracked {
        self.created += 1;
        Tracked {
            v,
            drops: self.drops.clone(),
        }
    }

    fn v(value: &Tracked) -> u32 {
        value.v
    }

    fn with_new_map<S: BuildHasher + Default>(
        &mut self,
        f: impl FnOnce(&RcuHashMap<u32, Tracked, S>, &mut Self),
    ) {
        f(&RcuHashMap::default(), self);
    }

    fn finish(self) {
        rcu_core::rcu_barrier();
        assert_eq!(
            self.drops.load(Relaxed),
            self.created,
            "a value was leaked or dropped twice"
        );
    }
}

/// `RcuFlatHashMap<K, u64>` (pairs stored in the buckets, the `Inline` layout). A value carries a
/// check of itself in its high half: a torn or misplaced copy (a migration, a replacement appended
/// beside its old pair) fails the read.
struct Flat<K>(PhantomData<K>);

impl<K> Default for Flat<K> {
    fn default() -> Self {
        Flat(PhantomData)
    }
}

/// The check half of a [`Flat`] value.
fn seal(v: u32) -> u32 {
    v.wrapping_mul(0x9E37_79B9) ^ 0x5EED_5EED
}

impl<K: Key> Kind for Flat<K> {
    type K = K;
    type V = u64;
    type L = Inline;
    const LOAD: usize = 2;

    fn make(&mut self, v: u32) -> u64 {
        u64::from(v) | u64::from(seal(v)) << 32
    }

    fn v(value: &u64) -> u32 {
        // Truncating is intended: the low half is the value.
        let v = *value as u32;
        assert_eq!(seal(v), (*value >> 32) as u32, "torn value {value:#x}");
        v
    }

    fn with_new_map<S: BuildHasher + Default>(
        &mut self,
        f: impl FnOnce(&RcuHashMap<K, u64, S, DefaultDomain, Inline>, &mut Self),
    ) {
        f(&RcuFlatHashMap::<K, u64, S>::default(), self);
    }
}

/// Runs `ops` on a new map of kind `Kd`, checking it against std's `HashMap` after every step.
fn run<Kd: Kind, S: BuildHasher + Default>(ops: &[Op]) {
    let mut kind = Kd::default();
    kind.with_new_map::<S>(|map, kind| drive(map, kind, ops));
    kind.finish();
}

/// The one driver of every map kind.
fn drive<Kd: Kind, S: BuildHasher>(
    map: &RcuHashMap<Kd::K, Kd::V, S, DefaultDomain, Kd::L>,
    kind: &mut Kd,
    ops: &[Op],
) {
    let key = <Kd::K as Key>::of;
    let v = Kd::v;
    let mut make = |v: u32| kind.make(v);
    let mut model: HashMap<u32, u32> = HashMap::new();
    for op in ops {
        match *op {
            Op::Insert(k, v) => {
                assert_eq!(map.insert(key(k), make(v)), model.insert(k, v).is_none());
            }
            Op::Remove(k) => assert_eq!(map.remove(&key(k)), model.remove(&k).is_some()),
            Op::Upsert(k) => {
                let guard = rcu_core::read_lock();
                let now = match map.entry(key(k), &guard) {
                    Entry::Occupied(e) => {
                        let next = v(e.get()).wrapping_add(1);
                        e.insert(make(next))
                    }
                    Entry::Vacant(e) => e.insert(make(0)),
                };
                let want = model
                    .entry(k)
                    .and_modify(|v| *v = v.wrapping_add(1))
                    .or_insert(0);
                assert_eq!(v(now), *want);
            }
            Op::EntryRemove(k) => {
                if let Entry::Occupied(e) = map.entry(key(k), &rcu_core::read_lock()) {
                    assert_eq!(*e.key(), key(k));
                    assert_eq!(Some(v(e.remove())), model.get(&k).copied());
                }
                model.remove(&k);
            }
            Op::OrInsert(k, val) => {
                let mut made = None;
                let guard = rcu_core::read_lock();
                let got = map.entry(key(k), &guard).or_insert_with(|| {
                    made = Some(());
                    make(val)
                });
                assert_eq!(made.is_some(), !model.contains_key(&k));
                assert_eq!(v(got), *model.entry(k).or_insert(val));
            }
            Op::PinInsert(k, val) => {
                let m = map.pin();
                let old = m.insert(key(k), make(val));
                assert_eq!(old.map(v), model.insert(k, val));
                assert_eq!(m.get(&key(k)).map(v), Some(val));
            }
            Op::PinRemove(k) => {
                let m = map.pin();
                assert_eq!(m.remove(&key(k)).map(v), model.remove(&k));
            }
            Op::RemoveIfEven(k, pin) => {
                let even = |_: &Kd::K, t: &Kd::V| v(t) % 2 == 0;
                let removed = if pin {
                    let m = map.pin();
                    let removed = m.remove_if(&key(k), even).map(|(k, t)| (*k, v(t)));
                    removed.is_some()
                } else {
                    map.remove_if(&key(k), even)
                };
                let want = model.get(&k).is_some_and(|v| v % 2 == 0);
                if want {
                    model.remove(&k);
                }
                assert_eq!(removed, want);
            }
            Op::GetOrInsertWith(k, val) => {
                let m = map.pin();
                let got = v(m.get_or_insert_with(key(k), || make(val)));
                assert_eq!(got, *model.entry(k).or_insert(val));
            }
            Op::Update(k) => {
                let m = map.pin();
                let got = m.update(key(k), |t| make(v(t).wrapping_add(1))).map(v);
                let want = model.get_mut(&k).map(|v| {
                    *v = v.wrapping_add(1);
                    *v
                });
                assert_eq!(got, want);
            }
            Op::Compute(k) => {
                let m = map.pin();
                let got = m
                    .compute(key(k), |t| match t.map(v) {
                        None => Some(make(0)),
                        Some(3) => None,
                        Some(v) => Some(make(v.wrapping_add(1) % 4)),
                    })
                    .map(v);
                let want = match model.get(&k).copied() {
                    None => Some(0),
                    Some(3) => None,
                    Some(v) => Some(v.wrapping_add(1) % 4),
                };
                match want {
                    Some(v) => model.insert(k, v),
                    None => model.remove(&k),
                };
                assert_eq!(got, want);
            }
            Op::Extend(ref pairs) => {
                (&*map).extend(pairs.iter().map(|&(k, v)| (key(k), make(v))));
                model.extend(pairs.iter().copied());
            }
            Op::RetainMultiplesOf(m) => {
                map.retain(|k, t| {
                    assert_eq!(model[&k.id()], v(t));
                    v(t) % m == 0
                });
                model.retain(|_, v| *v % m == 0);
            }
            Op::Resize(cap) => {
                map.resize(cap);
                // Sized for up to `LOAD` keys per bucket.
                assert!(Kd::LOAD * map.buckets() >= model.len());
            }
            Op::Fill(n) => {
                let n = n.min(<Kd::K as Key>::MAX - KEYS);
                for k in KEYS..KEYS + n {
                    assert!(map.insert(key(k), make(k)));
                    model.insert(k, k);
                }
                // Growth is checked on the inserting key's stripe, so the load may pass `LOAD`
                // keys per bucket for a while, but not twice that once the writes have had their
                // chance to migrate (see `after_write`: a write that finds the grace period since
                // the last migration, a flat map's rehash among them, not yet elapsed postpones a
                // resize to a later write).
                if n > 0 {
                    settle(
                        || assert!(!map.insert(key(KEYS), make(KEYS))),
                        || 2 * Kd::LOAD * map.buckets() >= model.len(),
                    );
                }
                for k in KEYS..KEYS + n {
                    assert!(map.remove(&key(k)));
                    model.remove(&k);
                }
            }
            Op::Churn(k, n) => {
                // Each replacement leaves a dead slot in a flat map: enough of them rehash it.
                for i in 0..n {
                    map.insert(key(k), make(i));
                    if i % 16 == 15 {
                        assert!(map.remove(&key(k)));
                    }
                }
                model.insert(k, n - 1);
                if n % 16 == 0 {
                    model.remove(&k);
                }
            }
            Op::Clear => {
                map.clear();
                model.clear();
            }
        }
        check::<Kd, S>(map, &model);
    }
}

fn check<Kd: Kind, S: BuildHasher>(
    map: &RcuHashMap<Kd::K, Kd::V, S, DefaultDomain, Kd::L>,
    model: &HashMap<u32, u32>,
) {
    let key = <Kd::K as Key>::of;
    let v = Kd::v;
    assert_eq!(map.len(), model.len());
    assert_eq!(map.is_empty(), model.is_empty());
    let guard = rcu_core::read_lock();
    for k in 0..KEYS {
        assert_eq!(
            map.get(&key(k), &guard).map(v),
            model.get(&k).copied(),
            "key {k}"
        );
    }
    let mut seen: Vec<(u32, u32)> = map.iter(&guard).map(|(k, t)| (k.id(), v(t))).collect();
    seen.sort_unstable();
    let mut want: Vec<(u32, u32)> = model.iter().map(|(k, v)| (*k, *v)).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
    // The other views agree with `iter`.
    let mut keys: Vec<u32> = map.keys(&guard).map(|k| k.id()).collect();
    keys.sort_unstable();
    assert_eq!(keys, want.iter().map(|&(k, _)| k).collect::<Vec<_>>());
    let mut values: Vec<u32> = map.values(&guard).map(v).collect();
    values.sort_unstable();
    let mut want_values: Vec<u32> = model.values().copied().collect();
    want_values.sort_unstable();
    assert_eq!(values, want_values);
    for k in 0..KEYS {
        assert_eq!(
            map.get_key_value(&key(k), &guard).map(|(k, t)| (*k, v(t))),
            model.get_key_value(&k).map(|(k, v)| (key(*k), *v)),
            "key {k}"
        );
    }
    let pinned = map.pin();
    assert_eq!(pinned.len(), model.len());
    assert_eq!(pinned.iter().count(), model.len());
}

fn proptest_with<Kd: Kind, S: BuildHasher + Default>() {
    let mut runner = TestRunner::new(Config {
        cases: 128,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..60), |ops| {
            run::<Kd, S>(&ops);
            Ok(())
        })
        .unwrap();
}

#[test]
fn model_random_state() {
    proptest_with::<BoxedTracked, RandomState>();
}

#[test]
fn model_colliding_hasher() {
    proptest_with::<BoxedTracked, BuildHasherDefault<Colliding>>();
}

#[test]
fn flat_model_random_state() {
    proptest_with::<Flat<u16>, RandomState>();
}

#[test]
fn flat_model_colliding_hasher() {
    proptest_with::<Flat<u8>, BuildHasherDefault<Colliding>>();
}

/// Repeats `write` (a few hundred times per round, with a grace period between rounds) until
/// `done`: a write starts a migration only once a grace period has passed since the previous one
/// completed, and never waits for it, so a resize the load calls for happens at a later write.
fn settle(mut write: impl FnMut(), done: impl Fn() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        rcu_core::synchronize_rcu();
        for _ in 0..200 {
            write();
        }
    }
    panic!("the map never resized itself");
}

#[test]
fn grows_and_shrinks_by_itself() {
    let map = RcuHashMap::new();
    let small = map.buckets();
    for k in 0..10_000u64 {
        map.insert(k, k);
    }
    assert!(map.buckets() > small, "buckets: {}", map.buckets());
    let churn = || {
        map.insert(u64::MAX, 0);
        map.remove(&u64::MAX);
    };
    settle(churn, || 8 * map.buckets() >= 10_000);
    for k in 0..10_000u64 {
        assert!(map.remove(&k));
    }
    // A shrink divides the bucket count by at most 8 per migration.
    settle(churn, || map.buckets() == small);
    assert!(map.is_empty());
}

#[test]
fn borrowed_lookups() {
    let map = RcuHashMap::new();
    map.insert(String::from("disk0"), 1);
    let guard = rcu_core::read_lock();
    assert_eq!(map.get("disk0", &guard), Some(&1));
    assert!(map.contains_key("disk0"));
    drop(guard);
    assert!(map.remove("disk0"));
}

#[test]
fn replaced_and_removed_values_wait_for_readers() {
    let value = Arc::new(());
    let map = RcuHashMap::new();
    map.insert(1, value.clone());
    let guard = rcu_core::read_lock();
    let seen = map.get(&1, &guard).unwrap();
    assert!(map.remove(&1));
    // Still referenced by the reader: the drop is deferred past its section.
    assert_eq!(Arc::strong_count(seen), 2);
    drop(guard);
    rcu_core::rcu_barrier();
    assert_eq!(Arc::strong_count(&value), 1);
}

#[test]
fn insert_inside_a_read_section_never_blocks() {
    let map = RcuHashMap::new();
    let guard = rcu_core::read_lock();
    for k in 0..5_000u32 {
        map.insert(k, k);
        assert_eq!(map.get(&k, &guard), Some(&k));
    }
    drop(guard);
    assert_eq!(map.len(), 5_000);
    // A postponed resize happens at a later write outside the section.
    settle(
        || {
            map.insert(5_000, 5_000);
            map.remove(&5_000);
        },
        || 4 * map.buckets() >= 5_001,
    );
}

#[test]
#[should_panic(expected = "already holds a writer lock of this map")]
fn writing_while_holding_an_entry_panics() {
    let map = RcuHashMap::new();
    let guard = rcu_core::read_lock();
    let _entry = map.entry(1u32, &guard);
    map.insert(2, ());
}

#[test]
#[should_panic(expected = "inside a read-side critical section")]
fn resize_inside_a_read_section_panics() {
    let map = RcuHashMap::<u8, u8>::new();
    let _guard = rcu_core::read_lock();
    map.resize(1000);
}

#[test]
fn a_panicking_retain_leaves_the_map_consistent() {
    let map = RcuHashMap::new();
    for k in 0..200u32 {
        map.insert(k, k);
    }
    let mut calls = 0;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        map.retain(|_, _| {
            calls += 1;
            assert!(calls < 100, "predicate gives up");
            false
        })
    }));
    assert!(result.is_err());
    // 99 removed, the rest intact, the count exact, and the map usable.
    assert_eq!(map.len(), 101);
    let guard = rcu_core::read_lock();
    assert_eq!(map.iter(&guard).count(), 101);
    drop(guard);
    map.insert(1000, 1000);
    map.retain(|_, _| false);
    assert!(map.is_empty());
}

#[test]
fn send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RcuHashMap<String, Vec<u8>>>();
}

/// A key whose comparison panics on demand; every key hashes alike, so inserts compare keys.
#[derive(Debug)]
struct Touchy(u32, bool);

impl std::hash::Hash for Touchy {
    fn hash<H: Hasher>(&self, _state: &mut H) {}
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        assert!(!(self.1 || other.1), "Touchy::eq panics");
        self.0 == other.0
    }
}
impl Eq for Touchy {}

#[test]
fn a_panicking_key_comparison_leaks_nothing_and_unlocks() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = RcuHashMap::with_hasher(BuildHasherDefault::<Colliding>::default());
    map.insert(
        Touchy(1, false),
        Tracked {
            v: 1,
            drops: drops.clone(),
        },
    );
    // Same hash, so `insert` compares keys and the comparison panics.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        map.insert(
            Touchy(5, true),
            Tracked {
                v: 5,
                drops: drops.clone(),
            },
        )
    }));
    assert!(result.is_err());
    // The unpublished value was dropped at once, and its stripe is free again.
    assert_eq!(drops.load(Relaxed), 1);
    assert!(map.insert(
        Touchy(2, false),
        Tracked {
            v: 2,
            drops: drops.clone(),
        }
    ));
    assert_eq!(map.len(), 2);
    drop(map);
    rcu_core::rcu_barrier();
    assert_eq!(drops.load(Relaxed), 3);
}

#[test]
fn debug_prints_the_pairs_like_std() {
    let map = RcuHashMap::new();
    let mut std_map = HashMap::new();
    assert_eq!(format!("{map:?}"), format!("{std_map:?}"));
    map.insert("one", 1);
    std_map.insert("one", 1);
    assert_eq!(format!("{map:?}"), format!("{std_map:?}"));
    assert_eq!(format!("{:?}", map.pin()), r#"{"one": 1}"#);
    // Several pairs: the same pairs, in the map's own order.
    for k in 0..20u32 {
        map.insert("k", k);
    }
    let printed = format!("{map:#?}");
    assert!(
        printed.contains(r#""one": 1,"#) && printed.contains(r#""k": 19,"#),
        "{printed}"
    );
}

#[test]
fn collect_and_extend() {
    let map: RcuHashMap<u32, u32> = (0..100).map(|k| (k, k * 2)).collect();
    assert_eq!(map.len(), 100);
    assert!(4 * map.buckets() >= 100, "sized from the iterator's hint");
    let mut map = map;
    map.extend((100..150).map(|k| (k, k * 2)));
    (&map).extend([(0, 7)]);
    let m = map.pin();
    assert_eq!(
        (m.len(), m.get(&0), m.get(&149)),
        (150, Some(&7), Some(&298))
    );
}

#[test]
fn values_returned_by_a_pin_outlive_their_removal_until_the_pin_ends() {
    let value = Arc::new(());
    let map = RcuHashMap::new();
    map.insert(1, value.clone());
    let m = map.pin();
    let old = m.insert(1, Arc::new(())).unwrap();
    let removed = m.remove(&1).unwrap();
    assert_eq!(
        Arc::strong_count(old),
        2,
        "the replaced value is alive under the pin"
    );
    assert_eq!(Arc::strong_count(removed), 1);
    assert!(m.is_empty());
    drop(m);
    rcu_core::rcu_barrier();
    assert_eq!(Arc::strong_count(&value), 1, "dropped after the pin ended");
}

#[test]
fn a_pinned_insert_loop_grows_the_map_once_the_pin_is_dropped() {
    let map = RcuHashMap::new();
    {
        let m = map.pin();
        for k in 0..2_000u32 {
            m.insert(k, k);
        }
        assert_eq!(m.len(), 2_000);
    }
    settle(
        || {
            map.insert(2_000, 2_000);
            map.remove(&2_000);
        },
        || 4 * map.buckets() >= 2_001,
    );
}
