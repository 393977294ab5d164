//! A migration hashes every key again (nodes keep no hash): a key whose `Hash` panics during a
//! resize stops the migration at that key's group with nothing of the group changed, and the panic
//! reaches the caller of `resize`. The migration then stays half done, which the map handles as any
//! migration in progress: every key is found once (by `get` and by `iter`), writes work, and a later
//! `resize` completes it.

use rcu_queue::RcuHashMap;
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// While set, hashing key 77 panics.
static FAIL: AtomicBool = AtomicBool::new(false);

#[derive(PartialEq, Eq, Debug, Clone, Copy)]
struct Key(u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(
            !(self.0 == 77 && FAIL.load(Relaxed)),
            "hashing key 77 failed"
        );
        self.0.hash(state);
    }
}

#[test]
fn a_hash_that_panics_during_a_resize_leaves_the_map_unchanged() {
    let map: RcuHashMap<Key, u64> = (0..1000).map(|k| (Key(k), k)).collect();
    let buckets = map.buckets();
    FAIL.store(true, Relaxed);
    let err = panic::catch_unwind(AssertUnwindSafe(|| map.resize(64 * 1000)))
        .expect_err("the resize must report the hasher's panic");
    FAIL.store(false, Relaxed);
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("hashing key 77 failed")
    );
    assert!(
        map.buckets() > buckets,
        "the resize started a migration before it failed"
    );
    assert_eq!(map.len(), 1000);
    let guard = rcu_core::read_lock();
    for k in 0..1000 {
        assert_eq!(map.get(&Key(k), &guard), Some(&k), "key {k} lost");
    }
    let mut seen: Vec<u64> = map.keys(&guard).map(|k| k.0).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..1000).collect::<Vec<_>>(),
        "iter during the half-done migration"
    );
    drop(guard);
    // Still usable: writes, and a resize that succeeds.
    assert!(map.insert(Key(5000), 1));
    assert!(map.remove(&Key(3)));
    assert!(
        map.resize(64 * 1000),
        "the half-done migration was completed"
    );
    assert!(!map.resize(64 * 1000), "nothing left to do");
    let guard = rcu_core::read_lock();
    assert_eq!(map.get(&Key(5000), &guard), Some(&1));
    assert_eq!(map.get(&Key(3), &guard), None);
    assert_eq!(map.get(&Key(999), &guard), Some(&999));
}
