//! loom model of the safe `RcuHashMap` in an independent `Domain`, through the code users call:
//! two writers on two threads (the map's stripes order them), a reader's `get` in a section of the
//! domain, and removal with reclamation on the domain's callback thread. `map_loom.rs` models the
//! table's slot protocol underneath in more detail.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-queue --release --test
//! map_loom_safe` (about 1.5 min). Its control is the code before the stripes went through the loom
//! switch: there loom's threads shared one record of held stripes, and the second writer panicked
//! with "this thread already holds a writer lock of this map". The broken-grace-period controls of
//! the map are `map_loom.rs`'s: built with `--cfg rcu_broken_gp`, this model does report the removed
//! value's drop racing the reader ("Causality violation"), but loom then aborts while the map's
//! destructors unwind, so it is ignored there.
#![cfg(loom)]

use std::hash::{BuildHasherDefault, Hasher};

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use rcu_core::Domain;
use rcu_queue::RcuHashMap;

/// A value whose drop writes to it: loom reports the drop if it is not ordered after every reader
/// that could still see it.
struct Val(UnsafeCell<u64>);

// SAFETY: accesses are checked by loom; an unordered pair of them is the bug under test.
unsafe impl Sync for Val {}

impl Val {
    fn read(&self) -> u64 {
        // SAFETY: loom checks the access.
        self.0.with(|v| unsafe { *v })
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        // SAFETY: as above.
        self.0.with_mut(|v| unsafe { *v = 0 });
    }
}

/// Hashes every key to 0: every key falls in one bucket and one stripe, so the two writers contend
/// for the same lock and update the same bucket.
#[derive(Default)]
struct Collide;

impl Hasher for Collide {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, _: &[u8]) {}
}

type Map = RcuHashMap<u64, Val, BuildHasherDefault<Collide>, Domain>;

/// Writer A removes key 1 and writer B inserts key 2 into the same bucket on two threads while a
/// reader looks key 1 up; afterwards both updates are there (the stripe ordered the writers) and
/// the removed value was dropped only after the reader left. With std's mutex as the stripe lock
/// (before), loom could not see that order.
#[test]
#[cfg_attr(
    rcu_broken_gp,
    ignore = "loom aborts while unwinding through the map's destructors; see the module doc"
)]
fn two_writers_and_a_reader() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    // The smallest table has 64 buckets (one per stripe): its scans are long, not branchy.
    builder.max_branches = 100_000;
    builder.check(|| {
        let domain = Domain::new();
        let map: Arc<Map> = Arc::new(RcuHashMap::with_capacity_and_hasher_in(
            4,
            BuildHasherDefault::default(),
            &domain,
        ));
        assert!(map.insert(1, Val(UnsafeCell::new(11))));
        let reader = {
            let (domain, map) = (domain.clone(), map.clone());
            thread::spawn(move || {
                let guard = domain.read_lock();
                if let Some(v) = map.get(&1, &guard) {
                    assert_eq!(v.read(), 11);
                }
                drop(guard);
            })
        };
        let other = {
            let map = map.clone();
            thread::spawn(move || assert!(map.remove(&1)))
        };
        assert!(map.insert(2, Val(UnsafeCell::new(22))));
        other.join().unwrap();
        reader.join().unwrap();
        let guard = domain.read_lock();
        assert!(map.get(&1, &guard).is_none());
        assert_eq!(map.get(&2, &guard).map(Val::read), Some(22));
        drop(guard);
        drop(map);
        drop(domain);
    });
}
