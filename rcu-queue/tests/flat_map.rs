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
