//! Model-based tests of `RcuHashMap`: random operation sequences checked against
//! `std::collections::HashMap` after every step (len, `get` of every key of the key space, the
//! iteration's contents), with the default hasher and with a colliding one (long chains, equal hashes
//! of different keys); every value ever created is dropped exactly once after the grace periods.
//! Plus the API's misuse panics and ownership checks.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rcu_queue::RcuHashMap;
use rcu_queue::map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
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
    ]
}

fn run<S: BuildHasher + Default>(ops: &[Op]) {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut created = 0usize;
    let mut make = |v: u32| {
        created += 1;
        Tracked {
            v,
            drops: drops.clone(),
        }
    };
    let map: RcuHashMap<u32, Tracked, S> = RcuHashMap::default();
    let mut model: HashMap<u32, u32> = HashMap::new();
    for op in ops {
        match *op {
            Op::Insert(k, v) => {
                assert_eq!(map.insert(k, make(v)), model.insert(k, v).is_none());
            }
            Op::Remove(k) => assert_eq!(map.remove(&k), model.remove(&k).is_some()),
            Op::Upsert(k) => {
                let guard = rcu_core::read_lock();
                let now = match map.entry(k, &guard) {
                    Entry::Occupied(e) => {
                        let next = e.get().v.wrapping_add(1);
                        e.insert(make(next))
                    }
                    Entry::Vacant(e) => e.insert(make(0)),
                };
                let want = model
                    .entry(k)
                    .and_modify(|v| *v = v.wrapping_add(1))
                    .or_insert(0);
                assert_eq!(now.v, *want);
            }
            Op::EntryRemove(k) => {
                if let Entry::Occupied(e) = map.entry(k, &rcu_core::read_lock()) {
                    assert_eq!(*e.key(), k);
                    assert_eq!(Some(e.remove().v), model.get(&k).copied());
                }
                model.remove(&k);
            }
            Op::OrInsert(k, v) => {
                let mut made = None;
                let guard = rcu_core::read_lock();
                let got = map.entry(k, &guard).or_insert_with(|| {
                    made = Some(());
                    make(v)
                });
                assert_eq!(made.is_some(), !model.contains_key(&k));
                assert_eq!(got.v, *model.entry(k).or_insert(v));
            }
            Op::PinInsert(k, v) => {
                let m = map.pin();
                let old = m.insert(k, make(v));
                assert_eq!(old.map(|t| t.v), model.insert(k, v));
                assert_eq!(m.get(&k).map(|t| t.v), Some(v));
            }
            Op::PinRemove(k) => {
                let m = map.pin();
                assert_eq!(m.remove(&k).map(|t| t.v), model.remove(&k));
            }
            Op::RemoveIfEven(k, pin) => {
                let even = |_: &u32, t: &Tracked| t.v % 2 == 0;
                let removed = if pin {
                    let m = map.pin();
                    let removed = m.remove_if(&k, even).map(|(k, t)| (*k, t.v));
                    removed.is_some()
                } else {
                    map.remove_if(&k, even)
                };
                let want = model.get(&k).is_some_and(|v| v % 2 == 0);
                if want {
                    model.remove(&k);
                }
                assert_eq!(removed, want);
            }
            Op::GetOrInsertWith(k, v) => {
                let m = map.pin();
                let got = m.get_or_insert_with(k, || make(v)).v;
                assert_eq!(got, *model.entry(k).or_insert(v));
            }
            Op::Update(k) => {
                let m = map.pin();
                let got = m.update(k, |t| make(t.v.wrapping_add(1))).map(|t| t.v);
                let want = model.get_mut(&k).map(|v| {
                    *v = v.wrapping_add(1);
                    *v
                });
                assert_eq!(got, want);
            }
            Op::Compute(k) => {
                let m = map.pin();
                let got = m
                    .compute(k, |t| match t.map(|t| t.v) {
                        None => Some(make(0)),
                        Some(3) => None,
                        Some(v) => Some(make(v.wrapping_add(1) % 4)),
                    })
                    .map(|t| t.v);
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
                (&map).extend(pairs.iter().map(|&(k, v)| (k, make(v))));
                model.extend(pairs.iter().copied());
            }
            Op::RetainMultiplesOf(m) => {
                map.retain(|k, t| {
                    assert_eq!(model[k], t.v);
                    t.v % m == 0
                });
                model.retain(|_, v| *v % m == 0);
            }
            Op::Resize(cap) => {
                map.resize(cap);
                // Sized for up to four keys per bucket (of five slots).
                assert!(4 * map.buckets() >= model.len());
            }
            Op::Fill(n) => {
                for k in KEYS..KEYS + n {
                    assert!(map.insert(k, make(k)));
                    model.insert(k, k);
                }
                // Growth is checked on the inserting key's stripe, so the load may pass four keys
                // per bucket for a while, but never eight (see `after_insert`).
                assert!(8 * map.buckets() >= model.len(), "the map did not grow");
                for k in KEYS..KEYS + n {
                    assert!(map.remove(&k));
                    model.remove(&k);
                }
            }
            Op::Clear => {
                map.clear();
                model.clear();
            }
        }
        check(&map, &model);
    }
    drop(map);
    rcu_core::rcu_barrier();
    assert_eq!(
        drops.load(Relaxed),
        created,
        "a value was leaked or dropped twice"
    );
}

fn check<S: BuildHasher>(map: &RcuHashMap<u32, Tracked, S>, model: &HashMap<u32, u32>) {
    assert_eq!(map.len(), model.len());
    assert_eq!(map.is_empty(), model.is_empty());
    let guard = rcu_core::read_lock();
    for k in 0..KEYS {
        assert_eq!(
            map.get(&k, &guard).map(|t| t.v),
            model.get(&k).copied(),
            "key {k}"
        );
    }
    let mut seen: Vec<(u32, u32)> = map.iter(&guard).map(|(k, t)| (*k, t.v)).collect();
    seen.sort_unstable();
    let mut want: Vec<(u32, u32)> = model.iter().map(|(k, v)| (*k, *v)).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
    // The other views agree with `iter`.
    let mut keys: Vec<u32> = map.keys(&guard).copied().collect();
    keys.sort_unstable();
    assert_eq!(keys, want.iter().map(|&(k, _)| k).collect::<Vec<_>>());
    let mut values: Vec<u32> = map.values(&guard).map(|t| t.v).collect();
    values.sort_unstable();
    let mut want_values: Vec<u32> = model.values().copied().collect();
    want_values.sort_unstable();
    assert_eq!(values, want_values);
    for k in 0..KEYS {
        assert_eq!(
            map.get_key_value(&k, &guard).map(|(k, t)| (*k, t.v)),
            model.get_key_value(&k).map(|(k, v)| (*k, *v)),
            "key {k}"
        );
    }
    let pinned = map.pin();
    assert_eq!(pinned.len(), model.len());
    assert_eq!(pinned.iter().count(), model.len());
}

fn proptest_with<S: BuildHasher + Default>() {
    let mut runner = TestRunner::new(Config {
        cases: 128,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..60), |ops| {
            run::<S>(&ops);
            Ok(())
        })
        .unwrap();
}

#[test]
fn model_random_state() {
    proptest_with::<std::collections::hash_map::RandomState>();
}

#[test]
fn model_colliding_hasher() {
    proptest_with::<BuildHasherDefault<Colliding>>();
}

/// Repeats `write` (a few hundred times per round, with a grace period between rounds) until
/// `done`: a write starts a migration only once a grace period has passed since the previous one
/// completed, and never waits for it, so a resize the load calls for happens at a later write.
fn settle(write: impl Fn(), done: impl Fn() -> bool) {
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
