//! loom models of `RcuHashMap`'s table (`rcu_queue::map::raw`, the code the safe map calls): insert
//! and remove against `get` and `iter`; a reader against an insert into a reused slot, an insert that
//! appends an overflow bucket and a remove that empties a slot; a grow and a shrink against `get`;
//! and a rebuild against a writer it does not exclude.
//!
//! Run with: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-queue --release --test map_loom`.
//!
//! Under loom, rcu-core builds only its `Domain` (the default domain behind `read_lock` and `call_rcu1`
//! is compiled out), so the models take the safe map's place for the parts that name the default
//! domain: a reader's `ReadGuard` is a `Domain` read-side section, and the `call_rcu` /
//! `call_rcu1` retirement is `Domain::synchronize` followed by the same `Node::reclaim` /
//! `Table::reclaim` the callbacks run. Values are
//! loom `UnsafeCell`s, so loom reports any read of a value not ordered after its initialization, or
//! racing with its reclamation. Negative controls: reclaiming without a grace period, initializing a
//! value after publishing it (in a reused slot, and in an overflow bucket), and a rebuild that does
//! not exclude writers must be caught.
#![cfg(loom)]

use core::ptr::NonNull;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use rcu_core::Domain;
use rcu_queue::map::raw::{Node, RawTable, Table};

type Map = RawTable<u64, UnsafeCell<u64>>;
type N = Node<u64, UnsafeCell<u64>>;
type T = Table<u64, UnsafeCell<u64>>;

/// A node whose value is written after allocation: the store that publication must order.
fn node(key: u64, value: u64) -> NonNull<N> {
    // The hash is the key (every `locate`, `find` and `rebuild` here hashes with `|k| *k`): the
    // models choose buckets, tags (the top 16 bits) and slots exactly.
    let n = N::alloc(key, UnsafeCell::new(0));
    set(n, value);
    n
}

/// Writes a node's value (before publication, or, in negative controls, after it).
fn set(n: NonNull<N>, value: u64) {
    // SAFETY: the node is live; loom checks that no reader access races with this write.
    unsafe { n.as_ref() }
        .value
        .with_mut(|v| unsafe { *v = value });
}

/// `get` as the safe map does it, reading the value.
///
/// # Safety
///
/// Inside a read-side critical section of the model's domain.
unsafe fn get(map: &Map, key: u64) -> Option<u64> {
    // SAFETY: forwarded (raw R1).
    let n = unsafe { map.find(key, |k| *k == key) }?;
    // SAFETY: the node is live until the section ends; loom checks the value's accesses.
    Some(unsafe { n.as_ref() }.value.with(|v| unsafe { *v }))
}

/// What `RcuHashMap::insert` does under the key's stripe: locate, then link or replace.
fn insert(map: &Map, key: u64, value: u64) -> Option<NonNull<N>> {
    insert_node(map, node(key, value))
}

/// `insert` of a node made by the caller.
fn insert_node(map: &Map, n: NonNull<N>) -> Option<NonNull<N>> {
    // SAFETY: not shared yet.
    let key = unsafe { n.as_ref() }.key;
    // SAFETY: this model's only writer (raw W1); `n` is fresh.
    unsafe {
        let pos = map.locate(key, |k| *k == key);
        if pos.found().is_some() {
            Some(map.replace_at(&pos, n))
        } else {
            map.insert_at(&pos, n);
            None
        }
    }
}

/// What `RcuHashMap::remove` does under the key's stripe.
fn remove(map: &Map, key: u64) -> NonNull<N> {
    // SAFETY: this model's only writer (raw W1); the key is present.
    unsafe {
        let pos = map.locate(key, |k| *k == key);
        map.unlink_at(&pos)
    }
}

/// Poisons an unlinked node's value, as its `Drop` would when the reclamation callback runs.
fn poison(n: NonNull<N>) {
    // SAFETY: unlinked; loom checks that no reader access races with this write.
    unsafe { n.as_ref() }
        .value
        .with_mut(|v| unsafe { *v = 0xdead });
}

/// The real reclamation callback of an unlinked node.
///
/// # Safety
///
/// A grace period has elapsed since `n` was unlinked (or every reader has been joined).
unsafe fn reclaim(n: NonNull<N>) {
    // SAFETY: forwarded.
    unsafe { N::reclaim(n) };
}

/// Insert (new key and replacement) and remove against a reader's `get`s. Keys 0 and 2 share bucket 0
/// of 2, so removal unlinks from the middle of a chain.
fn insert_remove_vs_get(grace_period: bool) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let map = Arc::new(Map::new(2));
        assert!(insert(&map, 0, 10).is_none());
        assert!(insert(&map, 2, 20).is_none());
        let reader = {
            let (domain, map) = (domain.clone(), map.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                // SAFETY: inside a read-side critical section of `domain` (R1).
                let (a, b, c) = unsafe { (get(&map, 0), get(&map, 2), get(&map, 4)) };
                assert!(a == Some(10) || a == Some(11), "key 0: {a:?}");
                assert!(b == Some(20) || b.is_none(), "key 2: {b:?}");
                assert!(c == Some(40) || c.is_none(), "key 4: {c:?}");
                // `iter` (the safe map's `iter`) walks the same chains: every value it yields is
                // initialized and not yet reclaimed.
                // SAFETY: as above.
                for n in unsafe { map.iter() } {
                    // SAFETY: the node is live until the section ends; loom checks the access.
                    let v = unsafe { n.as_ref() }.value.with(|v| unsafe { *v });
                    assert!([10, 11, 20, 40].contains(&v), "iter saw {v}");
                }
                drop(guard);
            })
        };
        assert!(insert(&map, 4, 40).is_none());
        let replaced = insert(&map, 0, 11).expect("key 0 was present");
        let removed = remove(&map, 2);
        if grace_period {
            domain.synchronize();
        }
        poison(replaced);
        poison(removed);
        if grace_period {
            // SAFETY: a grace period has elapsed since both were unlinked.
            unsafe { [replaced, removed].into_iter().for_each(|n| reclaim(n)) };
        }
        reader.join().unwrap();
        if !grace_period {
            // SAFETY: the reader has been joined (the negative model frees only now, so that the race
            // loom reports is on the value, not a use after free).
            unsafe { [replaced, removed].into_iter().for_each(|n| reclaim(n)) };
        }
    });
}

#[test]
fn map_insert_remove_vs_get() {
    insert_remove_vs_get(true);
}

/// Negative control: reclaiming without waiting for the reader is a race loom must catch.
#[test]
#[should_panic(expected = "Causality violation")]
fn map_reclaim_without_grace_period_is_caught() {
    insert_remove_vs_get(false);
}

/// A grow (2 -> 4 buckets) and a shrink (4 -> 2) against a reader that looks up every key: none may
/// be missed. Keys 0, 2, 4 share bucket 0 of 2. Each rebuild builds a new table and leaves the one a
/// reader may hold untouched; each old table is reclaimed a grace period after its replacement.
fn resize_vs_get() {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let map = Arc::new(Map::new(2));
        for k in [0, 2, 4] {
            assert!(insert(&map, k, 10 + k).is_none());
        }
        let reader = {
            let (domain, map) = (domain.clone(), map.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                // SAFETY: inside a read-side critical section of `domain` (R1).
                let seen = [2, 0, 4].map(|k| (k, unsafe { get(&map, k) }));
                drop(guard);
                seen
            })
        };
        // SAFETY: the only writer (W2); old tables are reclaimed after a grace period (W3).
        unsafe {
            let old = map.rebuild(4, |k| *k);
            let old2 = map.rebuild(2, |k| *k);
            domain.synchronize();
            T::reclaim(T::rcu_head(old));
            T::reclaim(T::rcu_head(old2));
        }
        for (k, v) in reader.join().unwrap() {
            assert_eq!(v, Some(10 + k), "key {k} missed during a resize");
        }
    });
}

#[test]
fn map_resize_vs_get() {
    resize_vs_get();
}

/// A key whose tag (top 16 bits of its hash, which is the key) is `k` and whose bucket is 0 of 1.
fn tagged(k: u64) -> u64 {
    k << 48
}

/// Which publication a slot model initializes too late (negative controls).
#[derive(Clone, Copy, PartialEq)]
enum Late {
    Nothing,
    /// The node put in a slot that a removal emptied.
    ReusedSlot,
    /// The node put in a fresh overflow bucket.
    Overflow,
}

/// One bucket (of one) full with keys tagged 0..5; the writer appends key 5 in an overflow bucket,
/// removes key 1 (emptying slot 1), and inserts key 6 into that slot (a new tag, then the pointer).
/// The reader, concurrently, must find keys 0 and 4 (present throughout), and see each of keys 1, 5
/// and 6 absent or with its value, never a value not yet initialized nor one reclaimed.
fn slots_vs_get(late: Late) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let map = Arc::new(Map::new(1));
        for k in 0..5 {
            assert!(insert(&map, tagged(k), 10 + k).is_none());
        }
        let reader = {
            let (domain, map) = (domain.clone(), map.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                // SAFETY: inside a read-side critical section of `domain` (R1).
                let seen = [0, 1, 4, 5, 6].map(|k| (k, unsafe { get(&map, tagged(k)) }));
                drop(guard);
                seen
            })
        };
        let overflow = node(tagged(5), if late == Late::Overflow { 0 } else { 15 });
        assert!(insert_node(&map, overflow).is_none());
        if late == Late::Overflow {
            set(overflow, 15);
        }
        let removed = remove(&map, tagged(1));
        let reused = node(tagged(6), if late == Late::ReusedSlot { 0 } else { 16 });
        assert!(insert_node(&map, reused).is_none());
        if late == Late::ReusedSlot {
            set(reused, 16);
        }
        domain.synchronize();
        poison(removed);
        // SAFETY: a grace period has elapsed since `removed` was unlinked.
        unsafe { reclaim(removed) };
        for (k, v) in reader.join().unwrap() {
            match k {
                0 | 4 => assert_eq!(v, Some(10 + k), "key {k} missed"),
                _ => assert!(v.is_none() || v == Some(10 + k), "key {k}: {v:?}"),
            }
        }
        // Every key where it should be once the writer is done: the overflow bucket and the reused
        // slot are found by a later reader.
        let handle = domain.register();
        let guard = handle.read_lock();
        for (k, want) in [
            (0, Some(10)),
            (1, None),
            (4, Some(14)),
            (5, Some(15)),
            (6, Some(16)),
        ] {
            // SAFETY: inside a read-side critical section of `domain` (R1).
            let got = unsafe { get(&map, tagged(k)) };
            assert_eq!(got, want, "key {k} after the writes");
        }
        drop(guard);
    });
}

#[test]
fn map_slot_reuse_and_overflow_vs_get() {
    slots_vs_get(Late::Nothing);
}

/// Negative control: a node published in a reused slot before its value is written; loom must report
/// the reader's read of the value.
#[test]
#[should_panic(expected = "Causality violation")]
fn map_reused_slot_published_before_init_is_caught() {
    slots_vs_get(Late::ReusedSlot);
}

/// Negative control: as above, in an overflow bucket.
#[test]
#[should_panic(expected = "Causality violation")]
fn map_overflow_published_before_init_is_caught() {
    slots_vs_get(Late::Overflow);
}

/// A rebuild (2 -> 4 buckets) and an insert of key 3, serialized by a lock (what the stripes do) or,
/// in the negative control, concurrent: then the insert can land in the old table after the rebuild
/// copied it, and the key is lost. After both, the key must be found.
fn rebuild_vs_insert(exclude: bool) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let map = Arc::new(Map::new(2));
        let lock = Arc::new(loom::sync::Mutex::new(()));
        assert!(insert(&map, 1, 11).is_none());
        let writer = {
            let (map, lock) = (map.clone(), lock.clone());
            thread::spawn(move || {
                let _held = exclude.then(|| lock.lock().unwrap());
                assert!(insert(&map, 3, 13).is_none());
            })
        };
        let old = {
            let _held = exclude.then(|| lock.lock().unwrap());
            // SAFETY: W2 holds when `exclude` is set (the negative control breaks it on purpose).
            unsafe { map.rebuild(4, |k| *k) }
        };
        writer.join().unwrap();
        domain.synchronize();
        // SAFETY: a grace period has elapsed since the rebuild, and no thread is left.
        unsafe { T::reclaim(T::rcu_head(old)) };
        let handle = domain.register();
        let guard = handle.read_lock();
        // SAFETY: inside a read-side critical section of `domain` (R1).
        let (one, three) = unsafe { (get(&map, 1), get(&map, 3)) };
        drop(guard);
        assert_eq!(one, Some(11));
        assert_eq!(three, Some(13), "key 3 lost by a rebuild");
    });
}

#[test]
fn map_rebuild_excluding_writers_keeps_every_key() {
    rebuild_vs_insert(true);
}

/// Negative control: without the writer exclusion (W2), loom must find the lost key.
#[test]
#[should_panic(expected = "key 3 lost by a rebuild")]
fn map_rebuild_racing_a_writer_is_caught() {
    rebuild_vs_insert(false);
}
