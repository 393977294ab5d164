//! loom models of `RcuFlatHashMap`'s table: `rcu_queue::map::raw` over the [`Inline`] layout's
//! `InlineBucket` (pairs stored in the buckets, each slot written once), the code the safe map
//! calls. A reader's `find` and `iter` against a replacement (appended in the same bucket, and in a
//! new overflow bucket when the chain is full), a same-size rehash (start, then the copies) against
//! a reader and a removal, and a reader against insertions. Pairs sit in loom's `UnsafeCell` here
//! (`crate::sync`), so loom reports a pair's key read by `find` or copied by a migration that is not
//! ordered after the pair's write.
//!
//! Run with: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-queue --release --test
//! map_loom_inline`.
//!
//! No `Domain` is needed: inline pairs are freed only with their table, and the models free a
//! replaced table only once the reader is joined (W3's grace period is the safe map's business, and
//! `map_loom.rs`'s). The hash is the key: the models choose buckets (low bits) and tags (top 16 bits)
//! exactly.
//!
//! Negative control: built with `--cfg rcu_broken_inline` (a replacement marks the old pair dead
//! before it publishes the new one), the `find` model must report the missed key:
//! `RUSTFLAGS="--cfg loom --cfg rcu_broken_inline" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-queue
//! --release --test map_loom_inline`.
//!
//! [`Inline`]: rcu_queue::map::Inline
#![cfg(loom)]
// The negative-control build compiles only the `find` model's controls.
#![cfg_attr(rcu_broken_inline, allow(dead_code))]

use core::ptr::NonNull;
use loom::sync::Arc;
use loom::thread;
use rcu_queue::map::layout::InlineBucket;
use rcu_queue::map::raw::{Node, RawTable, Table};

/// The models' writer is one thread: every bucket has lock 0.
const LOCKS: usize = 1;

type Map = RawTable<u64, u64, InlineBucket<u64, u64>>;
type T = Table<u64, u64, InlineBucket<u64, u64>>;
type Bucket = InlineBucket<u64, u64>;

/// A key whose tag is `k` and whose bucket is 0 (of any size up to 2^48).
fn tagged(k: u64) -> u64 {
    k << 48
}

/// What `RcuHashMap::insert` does under the key's stripe: copy the key's group, locate, then
/// append or replace, and unlink the old pair's bucket if it is all dead now. Returns whether the
/// key was present (replaced), and the unlinked bucket, to be freed once no reader can be inside
/// it.
fn insert_pruning(map: &Map, key: u64, value: u64) -> (bool, Option<NonNull<Bucket>>) {
    // SAFETY: this model's only writer (raw W1).
    unsafe {
        let done = map.migrate(0, Some(key), 0, |k| *k);
        assert!(done.finished.is_none(), "budget 0 completes nothing");
        let pos = map.locate(key, |k| *k == key);
        let item = Node { key, value };
        if pos.found().is_some() {
            map.replace_at(&pos, item);
            (true, map.prune(&pos))
        } else {
            map.insert_at(&pos, item);
            (false, None)
        }
    }
}

/// [`insert_pruning`] where no bucket can be left all dead.
fn insert(map: &Map, key: u64, value: u64) -> bool {
    let (replaced, pruned) = insert_pruning(map, key, value);
    assert!(pruned.is_none(), "no overflow bucket is left all dead here");
    replaced
}

/// What `RcuHashMap::remove` does under the key's stripe (the key is present).
fn remove(map: &Map, key: u64) {
    // SAFETY: this model's only writer (raw W1); the key is present.
    unsafe {
        let done = map.migrate(0, Some(key), 0, |k| *k);
        assert!(done.finished.is_none(), "budget 0 completes nothing");
        let pos = map.locate(key, |k| *k == key);
        map.unlink_at(&pos);
        assert!(
            map.prune(&pos).is_none(),
            "no overflow bucket is left all dead here"
        );
    }
}

/// A table of `buckets` buckets holding `key -> value` for each pair, in order.
fn filled(buckets: usize, pairs: &[(u64, u64)]) -> Arc<Map> {
    let map = Map::new(buckets, LOCKS);
    for &(k, v) in pairs {
        assert!(!insert(&map, k, v));
    }
    Arc::new(map)
}

/// `get` as the safe map does it.
///
/// # Safety
///
/// R1: the table the pair lies in is not freed before the caller is done (the models free a
/// replaced table only after joining the reader).
unsafe fn get(map: &Map, key: u64) -> Option<u64> {
    // SAFETY: forwarded (raw R1); `find` reads the key through loom's cell.
    let pair = unsafe { map.find(key, |k| *k == key) }?;
    // SAFETY: a live pair, never written after its publication (R1 as above).
    Some(unsafe { pair.as_ref() }.value)
}

/// `iter` as the safe map does it: every pair, sorted.
///
/// # Safety
///
/// As [`get`].
unsafe fn pairs(map: &Map) -> Vec<(u64, u64)> {
    // SAFETY: forwarded (raw R1).
    let mut seen: Vec<_> = unsafe { map.iter() }
        // SAFETY: as in `get`.
        .map(|pair| unsafe { (pair.as_ref().key, pair.as_ref().value) })
        .collect();
    seen.sort_unstable();
    seen
}

/// Where a replacement's new pair goes.
#[derive(Clone, Copy, Debug)]
enum Chain {
    /// A free slot after the old pair, in the same bucket (key A alone in slot 0).
    Bucket,
    /// The first slot of a new overflow bucket: the bucket is full (keys A, B, C).
    Overflow,
}

/// Keys A, B, C: tags 1, 2, 3, all in bucket 0 of 1.
const A: u64 = 1 << 48;
const B: u64 = 2 << 48;
const C: u64 = 3 << 48;

/// The table before the replacement, for `chain`.
fn before(chain: Chain) -> Arc<Map> {
    match chain {
        Chain::Bucket => filled(1, &[(A, 10)]),
        Chain::Overflow => filled(1, &[(A, 10), (B, 20), (C, 30)]),
    }
}

/// (a) A reader's `find` of key A against the writer replacing A's value 10 with 11: the key is
/// present throughout, so the reader finds it, with the old value or the new one.
fn replace_vs_find(chain: Chain) {
    loom::model(move || {
        let map = before(chain);
        let reader = {
            let map = map.clone();
            // SAFETY: no table is freed while the reader runs (R1).
            thread::spawn(move || unsafe { get(&map, A) })
        };
        assert!(insert(&map, A, 11));
        let seen = reader.join().unwrap();
        assert!(
            seen == Some(10) || seen == Some(11),
            "key A missed during a replacement ({chain:?}): {seen:?}"
        );
        assert_eq!(map.dead(), 1, "the old pair is marked dead");
        // SAFETY: no other thread is left.
        assert_eq!(unsafe { get(&map, A) }, Some(11));
    });
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_replace_in_bucket_vs_find() {
    replace_vs_find(Chain::Bucket);
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_replace_into_overflow_vs_find() {
    replace_vs_find(Chain::Overflow);
}

/// Negative control (`--cfg rcu_broken_inline`: the old pair is marked dead before the new one is
/// published): loom must find the reader that sees neither.
#[test]
#[cfg(rcu_broken_inline)]
#[should_panic(expected = "key A missed during a replacement")]
fn inline_kill_before_publish_is_caught_in_bucket() {
    replace_vs_find(Chain::Bucket);
}

/// Negative control, as above, with the new pair in an overflow bucket.
#[test]
#[cfg(rcu_broken_inline)]
#[should_panic(expected = "key A missed during a replacement")]
fn inline_kill_before_publish_is_caught_in_overflow() {
    replace_vs_find(Chain::Overflow);
}

/// (b) A reader's `iter` against the same replacement: key A is yielded exactly once (a snapshot
/// that holds both the old pair and the new one keeps only the later, newer one), with either
/// value; the other keys once each.
fn replace_vs_iter(chain: Chain) {
    loom::model(move || {
        let map = before(chain);
        let reader = {
            let map = map.clone();
            // SAFETY: no table is freed while the reader runs (R1).
            thread::spawn(move || unsafe { pairs(&map) })
        };
        assert!(insert(&map, A, 11));
        let seen = reader.join().unwrap();
        let keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
        let want: &[u64] = match chain {
            Chain::Bucket => &[A],
            Chain::Overflow => &[A, B, C],
        };
        assert_eq!(
            keys, want,
            "iter during a replacement ({chain:?}): {seen:?}"
        );
        assert!(matches!(seen[0], (A, 10 | 11)), "key A: {:?}", seen[0]);
    });
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_replace_in_bucket_vs_iter() {
    replace_vs_iter(Chain::Bucket);
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_replace_into_overflow_vs_iter() {
    replace_vs_iter(Chain::Overflow);
}

/// What a reader does against a rehash (see [`rehash_vs_reader`]).
#[derive(Clone, Copy, Debug)]
enum Read {
    Get,
    Iter,
}

/// (c) A rehash at the same size (2 buckets, as the safe map does when dead slots pile up) carried
/// out as writers do: started, key 0's group copied, key 1 removed (which copies its own group
/// first, then marks the copy dead in the new table), then the rest. Before it, bucket 0 is full:
/// key 0's old pair (dead: replaced), key 2, key 0's new pair (value 100); bucket 1 holds key 1 (value 11).
/// Keys 0 and 2 are present throughout: `get` finds both, with their current values, and `iter`
/// yields each once; key 1 is seen with its value or not at all. The copies read the pairs through
/// loom's cells, after their publication.
fn rehash_vs_reader(read: Read) {
    loom::model(move || {
        let map = filled(2, &[(0, 10), (2, 12), (1, 11)]);
        assert!(insert(&map, 0, 100));
        assert_eq!(map.dead(), 1);
        let reader = {
            let map = map.clone();
            thread::spawn(move || match read {
                // SAFETY: the old table is freed only after the reader is joined (R1).
                Read::Get => [0, 1, 2].map(|k| (k, unsafe { get(&map, k) })).to_vec(),
                // SAFETY: as above.
                Read::Iter => unsafe { pairs(&map) }
                    .into_iter()
                    .map(|(k, v)| (k, Some(v)))
                    .collect(),
            })
        };
        // SAFETY: the only writer (W1, W2).
        let done = unsafe {
            map.start(2);
            map.migrate(0, Some(0), 0, |k| *k)
        };
        assert_eq!(done.buckets, 1, "key 0's group is one old bucket");
        remove(&map, 1);
        // SAFETY: as above.
        let done = unsafe { map.migrate(0, None, usize::MAX, |k| *k) };
        let old = done
            .finished
            .expect("the last copy completes the migration");
        let seen = reader.join().unwrap();
        // SAFETY: the migration completed and the only reader is joined.
        unsafe { T::reclaim(T::rcu_head(old)) };
        for &(k, v) in &seen {
            match k {
                0 => assert_eq!(v, Some(100), "key 0 missed during a rehash ({read:?})"),
                2 => assert_eq!(v, Some(12), "key 2 missed during a rehash ({read:?})"),
                _ => assert!(v.is_none() || v == Some(11), "key 1: {v:?}"),
            }
        }
        if let Read::Iter = read {
            let keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
            assert!(
                keys == [0, 2] || keys == [0, 1, 2],
                "iter during a rehash yielded {keys:?}"
            );
        }
        // The new table holds only the live pairs: its one dead slot is key 1's removal.
        assert_eq!(map.dead(), 1, "dead slots copied by the rehash");
        // SAFETY: no other thread is left.
        let after = unsafe { pairs(&map) };
        assert_eq!(after, [(0, 100), (2, 12)]);
    });
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_rehash_and_remove_vs_get() {
    rehash_vs_reader(Read::Get);
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_rehash_and_remove_vs_iter() {
    rehash_vs_reader(Read::Iter);
}

/// (d) A reader against insertions into a free slot of a bucket and into a new overflow bucket:
/// key A (tag 1) is present throughout; B and C fill the bucket, D goes to an overflow bucket. The
/// reader sees each new key absent or with its value; its `find` reads a pair's key through loom's
/// cell, so a pair read before the store that published it would be reported.
fn insert_vs_get() {
    loom::model(|| {
        let map = filled(1, &[(A, 10)]);
        let d = tagged(4);
        let reader = {
            let map = map.clone();
            // SAFETY: no table is freed (R1).
            thread::spawn(move || [A, C, d].map(|k| (k, unsafe { get(&map, k) })))
        };
        assert!(!insert(&map, B, 20));
        assert!(!insert(&map, C, 30));
        assert!(!insert(&map, d, 40));
        for (k, v) in reader.join().unwrap() {
            match k {
                A => assert_eq!(v, Some(10), "key A missed"),
                C => assert!(v.is_none() || v == Some(30), "key C: {v:?}"),
                _ => assert!(v.is_none() || v == Some(40), "key D: {v:?}"),
            }
        }
        // SAFETY: no other thread is left.
        assert_eq!(
            unsafe { get(&map, d) },
            Some(40),
            "key D in the overflow bucket"
        );
    });
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_insert_vs_get() {
    insert_vs_get();
}

/// Key D: tag 4, bucket 0, behind A, B, C.
const D: u64 = 4 << 48;

/// (e) A reader against the replacement that leaves an overflow bucket all dead, which the writer
/// then unlinks (`RawTable::prune`). Before it: bucket 0 holds A, B, C; its overflow bucket holds
/// two dead pairs of key D and D's current pair (value 3). The writer replaces D (value 4): the new
/// pair goes to a second overflow bucket, the first one's last pair is marked dead and the bucket
/// unlinked (bucket 0's `next` now names the second). A reader's `get` of D finds value 3 or 4,
/// and its `iter` yields every key once: a reader inside the unlinked bucket goes on through its
/// `next`, and one that loads bucket 0's new `next` sees the new pair (loom's cells check the
/// read). The unlinked bucket is freed once the reader is joined (the grace period).
fn prune_vs_reader(read: Read) {
    loom::model(move || {
        let map = filled(1, &[(A, 10), (B, 20), (C, 30), (D, 1)]);
        assert!(insert(&map, D, 2));
        assert!(insert(&map, D, 3));
        let reader = {
            let map = map.clone();
            thread::spawn(move || match read {
                // SAFETY: the pruned bucket is freed only after the reader is joined (R1).
                Read::Get => vec![(D, unsafe { get(&map, D) })],
                // SAFETY: as above.
                Read::Iter => unsafe { pairs(&map) }
                    .into_iter()
                    .map(|(k, v)| (k, Some(v)))
                    .collect(),
            })
        };
        let (replaced, pruned) = insert_pruning(&map, D, 4);
        assert!(replaced);
        let pruned = pruned.expect("the first overflow bucket is all dead and unlinked");
        let seen = reader.join().unwrap();
        // SAFETY: unlinked by `prune`, freed once, and the only reader is joined.
        unsafe { T::free_bucket(pruned) };
        match read {
            Read::Get => assert!(
                matches!(seen[..], [(D, Some(3 | 4))]),
                "key D during the replacement that unlinks its bucket: {seen:?}"
            ),
            Read::Iter => {
                let keys: Vec<u64> = seen.iter().map(|&(k, _)| k).collect();
                assert_eq!(keys, [A, B, C, D], "iter during a prune: {seen:?}");
            }
        }
        assert_eq!(map.dead(), 0, "the dead pairs left with their bucket");
        // SAFETY: no other thread is left.
        assert_eq!(unsafe { pairs(&map) }, [(A, 10), (B, 20), (C, 30), (D, 4)]);
    });
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_prune_vs_get() {
    prune_vs_reader(Read::Get);
}

#[test]
#[cfg(not(rcu_broken_inline))]
fn inline_prune_vs_iter() {
    prune_vs_reader(Read::Iter);
}
