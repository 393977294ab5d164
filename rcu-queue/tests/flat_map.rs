//! `RcuFlatHashMap` (the inline layout) against std's `HashMap` under churn: replacements append
//! and mark dead, removals mark dead, and the map rehashes when dead slots pile up.

use rcu_queue::RcuFlatHashMap;
use std::collections::HashMap;

#[test]
fn churn_matches_std_and_rehashes_dead_slots() {
    let map = RcuFlatHashMap::<u64, u64>::new();
    let mut model = HashMap::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut max_buckets = 0;
    for step in 0..200_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = x % 5_000;
        match x >> 62 {
            0 => assert_eq!(map.remove(&key), model.remove(&key).is_some()),
            _ => assert_eq!(map.insert(key, step), model.insert(key, step).is_none()),
        }
        max_buckets = max_buckets.max(map.buckets());
    }
    assert_eq!(map.len(), model.len());
    let guard = rcu_core::read_lock();
    for (k, v) in &model {
        assert_eq!(map.get(k, &guard), Some(v), "key {k}");
    }
    let mut seen: Vec<_> = map.iter(&guard).map(|(k, v)| (*k, *v)).collect();
    seen.sort_unstable();
    let mut want: Vec<_> = model.into_iter().collect();
    want.sort_unstable();
    assert_eq!(seen, want, "iter yields each present pair once");
    // 150k replacements and 50k removals each left a dead slot: without rehashing the chains would
    // hold 200k slots; the table stays sized for the live keys.
    assert!(max_buckets <= 8192, "buckets grew to {max_buckets}");
}

/// A key replaced over and over keeps a short chain even when no rehash can run: a bucket whose
/// slots are all dead is unlinked from its chain (`RawTable::prune`). Before, each three
/// replacements appended an overflow bucket until the next rehash, which waits for a grace period
/// (a reader sits in its section here): after 30,000 replacements a lookup of the key walked
/// 10,000 buckets, hundreds of times slower than a lookup of another key.
#[test]
fn a_key_replaced_over_and_over_keeps_a_short_chain() {
    let map = RcuFlatHashMap::<u64, u64>::new();
    for key in 0..100 {
        map.insert(key, 0);
    }
    let (entered, wait_entered) = std::sync::mpsc::channel();
    let (leave, wait_leave) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let _guard = rcu_core::read_lock();
        entered.send(()).unwrap();
        wait_leave.recv().unwrap();
    });
    wait_entered.recv().unwrap();
    for value in 0..30_000 {
        map.insert(7, value);
    }
    let guard = rcu_core::read_lock();
    let time = |keys: &mut dyn Iterator<Item = u64>| {
        let start = std::time::Instant::now();
        let found = keys.filter(|key| map.get(key, &guard).is_some()).count();
        (start.elapsed(), found)
    };
    let (hot, hot_found) = time(&mut std::iter::repeat_n(7, 2_000));
    let (cold, cold_found) = time(&mut (0..100).filter(|k| *k != 7).cycle().take(2_000));
    drop(guard);
    leave.send(()).unwrap();
    reader.join().unwrap();
    assert_eq!((hot_found, cold_found), (2_000, 2_000));
    assert_eq!(map.get(&7, &rcu_core::read_lock()), Some(&29_999));
    assert!(
        hot < cold * 20,
        "2,000 lookups of the replaced key took {hot:?}, of other keys {cold:?}"
    );
}
