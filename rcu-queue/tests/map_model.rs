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
                match map.entry(k) {
                    Entry::Occupied(e) => {
                        let next = e.get().v.wrapping_add(1);
                        e.insert(make(next));
                    }
                    Entry::Vacant(e) => e.insert(make(0)),
                }
                model
                    .entry(k)
                    .and_modify(|v| *v = v.wrapping_add(1))
                    .or_insert(0);
            }
            Op::EntryRemove(k) => {
                if let Entry::Occupied(e) = map.entry(k) {
                    assert_eq!(*e.key(), k);
                    e.remove();
                }
                model.remove(&k);
            }
            Op::OrInsert(k, v) => {
                let mut made = None;
                map.entry(k).or_insert_with(|| {
                    made = Some(());
                    make(v)
                });
                assert_eq!(made.is_some(), !model.contains_key(&k));
                model.entry(k).or_insert(v);
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
                assert!(map.buckets() >= 2 * model.len());
            }
            Op::Fill(n) => {
                for k in KEYS..KEYS + n {
                    assert!(map.insert(k, make(k)));
                    model.insert(k, k);
                }
                // Growth is checked on the inserting key's stripe, so the load may pass 1 for a
                // while, but never 2 (see `after_insert`).
                assert!(2 * map.buckets() >= model.len(), "the map did not grow");
                for k in KEYS..KEYS + n {
                    assert!(map.remove(&k));
                    model.remove(&k);
                }
            }
            Op::Clear => {
                map.retain(|_, _| false);
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

#[test]
fn grows_and_shrinks_by_itself() {
    let map = RcuHashMap::new();
    let small = map.buckets();
    for k in 0..10_000u64 {
        map.insert(k, k);
    }
    assert!(2 * map.buckets() >= 10_000, "buckets: {}", map.buckets());
    for k in 0..10_000u64 {
        assert!(map.remove(&k));
    }
    // Shrinking waits for grace periods only outside read-side sections; here it always can.
    assert_eq!(map.buckets(), small);
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
    // A postponed resize happens at the next write outside the section.
    map.insert(5_000, 5_000);
    assert!(map.buckets() >= 5_001);
}

#[test]
#[should_panic(expected = "already holds a writer lock of this map")]
fn writing_while_holding_an_entry_panics() {
    let map = RcuHashMap::new();
    let _entry = map.entry(1u32);
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
