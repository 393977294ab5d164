//! loom models of `RcuHashMap`'s table (`rcu_queue::map::raw`, the code the safe map calls): insert
//! and remove against `get` and `iter`; a reader against an insert into a reused slot, an insert that
//! appends an overflow bucket and a remove that empties a slot; a grow and a shrink against `get`;
//! a reader's `get` and `iter` against a migration copied group by group, with an insert between
//! the copies; and a migration against a writer it does not exclude.
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
//! value after publishing it (in a reused slot, and in an overflow bucket), and a migration that does
//! not exclude writers must be caught; built with `--cfg rcu_broken_migration` (which marks a group
//! moved before its copies are placed), the migration model must report a missed key:
//! `RUSTFLAGS="--cfg loom --cfg rcu_broken_migration" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-queue
//! --release --test map_loom -- migration`.
#![cfg(loom)]

use core::ptr::NonNull;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use rcu_core::Domain;
use rcu_queue::map::raw::{Node, RawTable, Table};

/// The models' writers are one thread at a time (or take one lock): every bucket has lock 0.
const LOCKS: usize = 1;

type Map = RawTable<u64, UnsafeCell<u64>>;
type N = Node<u64, UnsafeCell<u64>>;
type T = Table<u64, UnsafeCell<u64>>;

/// A node whose value is written after allocation: the store that publication must order.
fn node(key: u64, value: u64) -> NonNull<N> {
    // The hash is the key (every `locate`, `find` and `migrate` here hashes with `|k| *k`): the
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

/// Migrates the whole table to `nbuckets` buckets, as the safe map's explicit `resize` does; returns
/// the old table, to be reclaimed after a grace period.
///
/// # Safety
///
/// The caller is the only writer (raw W1, W2).
unsafe fn resize(map: &Map, nbuckets: usize) -> NonNull<T> {
    // SAFETY: forwarded.
    unsafe {
        map.start(nbuckets);
        let done = map.migrate(0, None, usize::MAX, |k| *k);
        done.finished.expect("one call copies every group")
    }
}

/// What `RcuHashMap::insert` does under the key's stripe: copy the key's group, locate, then link
/// or replace.
fn insert(map: &Map, key: u64, value: u64) -> Option<NonNull<N>> {
    insert_node(map, node(key, value))
}

/// A domain and a map of `buckets` buckets holding `key(k) -> 10 + k` for each `k` (each new).
fn filled(
    buckets: usize,
    ks: impl IntoIterator<Item = u64>,
    key: fn(u64) -> u64,
) -> (Arc<Domain>, Arc<Map>) {
    let map = Map::new(buckets, LOCKS);
    for k in ks {
        assert!(insert(&map, key(k), 10 + k).is_none());
    }
    (Arc::new(Domain::new()), Arc::new(map))
}

/// `insert` of a node made by the caller.
fn insert_node(map: &Map, n: NonNull<N>) -> Option<NonNull<N>> {
    // SAFETY: not shared yet.
    let key = unsafe { n.as_ref() }.key;
    // SAFETY: this model's only writer (raw W1); `n` is fresh, from `Node::alloc` (a leaked `Box`),
    // and the table takes it back as the `Box` it stores.
    unsafe {
        let done = map.migrate(0, Some(key), 0, |k| *k);
        assert!(done.finished.is_none(), "budget 0 completes nothing");
        let pos = map.locate(key, |k| *k == key);
        let item = Box::from_raw(n.as_ptr());
        if pos.found().is_some() {
            Some(map.replace_at(&pos, item).0)
        } else {
            map.insert_at(&pos, item);
            None
        }
    }
}

/// What `RcuHashMap::remove` does under the key's stripe.
fn remove(map: &Map, key: u64) -> NonNull<N> {
    // SAFETY: this model's only writer (raw W1); the key is present.
    unsafe {
        let done = map.migrate(0, Some(key), 0, |k| *k);
        assert!(done.finished.is_none(), "budget 0 completes nothing");
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
        let map = Arc::new(Map::new(2, LOCKS));
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
/// be missed. Keys 0, 2, 4 share bucket 0 of 2. Each migration builds a new table and leaves the old
/// buckets a reader may still read untouched.
fn resize_vs_get() {
    loom::model(move || {
        let (domain, map) = filled(2, [0, 2, 4], |k| k);
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
        // SAFETY: the only writer (W1, W2).
        let old = unsafe { [resize(&map, 4), resize(&map, 2)] };
        let seen = reader.join().unwrap();
        // SAFETY: both migrations completed and the only reader is joined (the tables are plain
        // allocations, which loom does not track: W3's grace period is the safe map's business).
        old.into_iter()
            .for_each(|t| unsafe { T::reclaim(T::rcu_head(t)) });
        for (k, v) in seen {
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
        let (domain, map) = filled(1, 0..5, tagged);
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

/// A migration (2 -> 4 buckets: start, then the copy of each group) and an insert of key 3, each
/// step under a lock (what the stripes do) or, in the negative control, without it: then the insert
/// can land in the old table after its group was copied, and the key is lost. After both, the key
/// must be found.
fn migration_vs_insert(exclude: bool) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let map = Arc::new(Map::new(2, LOCKS));
        let lock = Arc::new(loom::sync::Mutex::new(()));
        assert!(insert(&map, 1, 11).is_none());
        let writer = {
            let (map, lock) = (map.clone(), lock.clone());
            thread::spawn(move || {
                let _held = exclude.then(|| lock.lock().unwrap());
                assert!(insert(&map, 3, 13).is_none());
            })
        };
        {
            let _held = exclude.then(|| lock.lock().unwrap());
            // SAFETY: W2 holds when `exclude` is set (the negative control breaks it on purpose).
            unsafe { map.start(4) };
        }
        let old = {
            let _held = exclude.then(|| lock.lock().unwrap());
            // SAFETY: W1 holds when `exclude` is set (as above).
            let done = unsafe { map.migrate(0, None, usize::MAX, |k| *k) };
            done.finished.expect("one call copies every group")
        };
        writer.join().unwrap();
        domain.synchronize();
        // SAFETY: a grace period has elapsed since the migration completed, and no thread is left.
        unsafe { T::reclaim(T::rcu_head(old)) };
        let handle = domain.register();
        let guard = handle.read_lock();
        // SAFETY: inside a read-side critical section of `domain` (R1).
        let (one, three) = unsafe { (get(&map, 1), get(&map, 3)) };
        drop(guard);
        assert_eq!(one, Some(11));
        assert_eq!(three, Some(13), "key 3 lost by a migration");
    });
}

#[test]
fn map_migration_excluding_writers_keeps_every_key() {
    migration_vs_insert(true);
}

/// Negative control: without the writer exclusion (W1, W2), loom must find the lost key.
#[test]
#[should_panic(expected = "key 3 lost by a migration")]
fn map_migration_racing_a_writer_is_caught() {
    migration_vs_insert(false);
}

/// What a reader does against a migration (see [`migration_vs_reader`]).
#[derive(Clone, Copy)]
enum Read {
    /// `get` of keys 0 (its group copied first), 1 (copied last) and 4 (inserted in between).
    Get,
    /// `iter`, collecting the keys.
    Iter,
}

/// A reader against a migration from 2 to 4 buckets carried out as writers do: started, then key
/// 0's group copied (keys 0 and 2, bucket 0 of 2), then key 4 inserted into the copied group (in the
/// new table only), then the rest (key 1's group). Keys 0, 1 and 2 are present throughout: `get`
/// must find each, and `iter` must yield each once; key 4 is seen with its value or not at all.
/// Every value read is initialized and not reclaimed (loom checks the cells). The old table is
/// freed once the reader is joined (a plain allocation: loom does not track it; W3's grace period
/// is `resize_vs_get`'s and the safe map's business).
fn migration_vs_reader(read: Read) {
    loom::model(move || {
        let (domain, map) = filled(2, [0, 1, 2], |k| k);
        let reader = {
            let (domain, map) = (domain.clone(), map.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                let mut seen = Vec::new();
                match read {
                    // SAFETY: inside a read-side critical section of `domain` (R1).
                    Read::Get => seen.extend([0, 1, 4].map(|k| (k, unsafe { get(&map, k) }))),
                    // SAFETY: as above.
                    Read::Iter => seen.extend(unsafe { map.iter() }.map(|n| {
                        // SAFETY: the node is live until the section ends; loom checks the value.
                        let n = unsafe { n.as_ref() };
                        (n.key, Some(n.value.with(|v| unsafe { *v })))
                    })),
                }
                drop(guard);
                seen
            })
        };
        // SAFETY: the only writer (W1, W2).
        let done = unsafe {
            map.start(4);
            map.migrate(0, Some(0), 0, |k| *k)
        };
        assert_eq!(done.buckets, 1, "key 0's group is one old bucket");
        assert!(insert(&map, 4, 14).is_none());
        // SAFETY: as above.
        let done = unsafe { map.migrate(0, None, usize::MAX, |k| *k) };
        let old = done
            .finished
            .expect("the last copy completes the migration");
        let mut seen = reader.join().unwrap();
        // SAFETY: the migration completed and the only reader is joined.
        unsafe { T::reclaim(T::rcu_head(old)) };
        for &(k, v) in &seen {
            match k {
                4 => assert!(v.is_none() || v == Some(14), "key 4: {v:?}"),
                _ => assert_eq!(v, Some(10 + k), "key {k} missed during a migration"),
            }
        }
        if let Read::Iter = read {
            seen.sort_unstable();
            let keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
            assert!(
                keys == [0, 1, 2] || keys == [0, 1, 2, 4],
                "iter during a migration yielded {keys:?}"
            );
        }
    });
}

#[test]
#[cfg(not(rcu_broken_migration))]
fn map_migration_vs_get() {
    migration_vs_reader(Read::Get);
}

#[test]
#[cfg(not(rcu_broken_migration))]
fn map_migration_vs_iter() {
    migration_vs_reader(Read::Iter);
}

/// Negative control (`--cfg rcu_broken_migration`: a group is marked moved before its copies are
/// placed): loom must find a reader that follows the mark to the new table and misses a key.
#[test]
#[cfg(rcu_broken_migration)]
#[should_panic(expected = "missed during a migration")]
fn map_migration_marking_before_copying_is_caught() {
    migration_vs_reader(Read::Get);
}
