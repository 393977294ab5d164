//! loom models of `RcuHashMap`'s table (`rcu_queue::map::raw`, the code the safe map calls): insert
//! and remove against `get` and `iter`, and a grow and a shrink against `get`.
//!
//! Run with: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-queue --release --test map_loom`.
//!
//! Under loom, rcu-core builds only its `Domain` (the default domain behind `read_lock` and `call_rcu1`
//! is compiled out), so the models take the safe map's place for the parts that name the default
//! domain: a reader's `ReadGuard` is a `Domain` read-side section, and `call_rcu1(head, reclaim)` is
//! `Domain::synchronize` followed by the same `Node::reclaim` / `Table::reclaim` callbacks. Values are
//! loom `UnsafeCell`s, so loom reports any read of a value not ordered after its initialization, or
//! racing with its reclamation. Negative controls: reclaiming without a grace period, and rebuilding
//! twice without one, must be caught.
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
    // The hash is the key: the models choose buckets and chains exactly.
    let n = N::alloc(key, key, UnsafeCell::new(0));
    // SAFETY: not shared yet.
    unsafe { n.as_ref() }
        .value
        .with_mut(|v| unsafe { *v = value });
    n
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
    let n = node(key, value);
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
    unsafe { N::reclaim(N::rcu_head(n)) };
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

/// A grow (2 -> 4 buckets) and a shrink (4 -> 2, the slot of the first table again) against a reader
/// that looks up every key: none may be missed. Keys 0, 2, 4 share bucket 0 of 2 (chain 4, 2, 0); the
/// shrink relinks them as 2, 4, 0, so a reader of the first table that is not protected by a grace
/// period can step from 4 to 0 and miss 2. Between the rebuilds, the grace period the safe map
/// waits for; each old table is reclaimed after one.
fn resize_vs_get(grace_period_between: bool) {
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
        // SAFETY: the only writer (W2); the grace periods of W2/W3 as the safe map does them.
        unsafe {
            let old = map.rebuild(4);
            if grace_period_between {
                domain.synchronize();
                T::reclaim(T::rcu_head(old));
            }
            let old2 = map.rebuild(2);
            domain.synchronize();
            if !grace_period_between {
                T::reclaim(T::rcu_head(old));
            }
            T::reclaim(T::rcu_head(old2));
        }
        for (k, v) in reader.join().unwrap() {
            assert_eq!(v, Some(10 + k), "key {k} missed during a resize");
        }
    });
}

#[test]
fn map_resize_vs_get() {
    resize_vs_get(true);
}

/// Negative control: the second rebuild relinks the slot the first table's readers still walk; loom
/// must find a reader that misses a present key, or one that cycles forever (it can see the new
/// `2 -> 4` link before the new `4 -> 0` one and walk the loop `4 -> 2 -> 4`, which loom reports as
/// exceeding its branch limit).
#[test]
fn map_rebuild_without_grace_period_is_caught() {
    let panic = std::panic::catch_unwind(|| resize_vs_get(false))
        .expect_err("a rebuild without a grace period went unnoticed");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("missed during a resize")
            || message.contains("maximum number of branches"),
        "unexpected failure: {message}"
    );
}
