//! Stress tests of `RcuHashMap`: readers check every value they see (checksum, key, alive at the end
//! of their critical section) while an updater replaces, removes and forces resizes; fixed keys must
//! never be missed; every removed value is reclaimed exactly once. The negative control is
//! tests/map_negative_control.rs; the loom models (tests/map_loom.rs) check the same properties
//! exhaustively on small tables, including a negative control for the miss check. Each test runs
//! `RcuHashMap` and `RcuFlatHashMap` (pairs stored in the table, dead slots and rehashes) alike.
#![cfg(not(loom))]

#[path = "map_common/stress.rs"]
#[allow(dead_code)]
mod map_stress;

use map_stress::{Config, Elem, FlatElem, OnDead, stress};
use rcu_core::DefaultDomain;
use rcu_queue::map::Layout;
use rcu_queue::{RcuFlatHashMap, RcuHashMap};
use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[test]
fn map_stress() {
    let report = stress::<Elem>(Config {
        duration: Duration::from_millis(1500),
        readers: 3,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

#[test]
#[ignore = "long run (20 s); `cargo test -p rcu-queue --release --test map_stress -- --ignored`"]
fn map_stress_long() {
    let report = stress::<Elem>(Config {
        duration: Duration::from_secs(20),
        readers: 5,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

#[test]
fn flat_map_stress() {
    let report = stress::<FlatElem>(Config {
        duration: Duration::from_millis(1500),
        readers: 3,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

/// The explicit check: a reader repeatedly looks up a fixed set of keys that are never
/// removed while a writer forces grows and shrinks (and inserts, replaces and removes other keys,
/// so automatic resizes, and a flat map's rehashes, happen too). Zero misses allowed; the reader
/// must have overlapped many resizes.
#[test]
fn no_false_negatives_during_resize() {
    resize_run(&RcuHashMap::new());
}

#[test]
fn flat_no_false_negatives_during_resize() {
    resize_run(&*RcuFlatHashMap::new());
}

/// [`no_false_negatives_during_resize`] on `map`, of either layout.
fn resize_run<L: Layout<u64, u64>>(map: &RcuHashMap<u64, u64, RandomState, DefaultDomain, L>) {
    const FIXED: u64 = 1000;
    for k in 0..FIXED {
        map.insert(k, k * 3);
    }
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    let (lookups, misses, resizes_seen) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let resizes = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            started.store(true, Relaxed);
            let (mut n, mut missed, mut overlapped) = (0, 0, 0);
            while !stop.load(Relaxed) {
                let before = resizes.load(Relaxed);
                let guard = rcu_core::read_lock();
                for k in 0..FIXED {
                    match map.get(&k, &guard) {
                        Some(&v) => assert_eq!(v, k * 3),
                        None => missed += 1,
                    }
                }
                drop(guard);
                n += FIXED;
                if resizes.load(Relaxed) != before {
                    overlapped += 1;
                }
            }
            lookups.store(n, Relaxed);
            misses.store(missed, Relaxed);
            resizes_seen.store(overlapped, Relaxed);
        });
        while !started.load(Relaxed) {
            std::thread::yield_now();
        }
        for round in 0..200u64 {
            // Forced grow and shrink...
            map.resize(if round % 2 == 0 { 1 << 16 } else { 0 });
            resizes.fetch_add(1, Relaxed);
            // ... and automatic ones: fill well past the load limit, then empty again.
            for k in FIXED..FIXED + 3000 {
                map.insert(k, k * 3);
                map.insert(k, k * 3);
            }
            for k in FIXED..FIXED + 3000 {
                map.remove(&k);
            }
            resizes.fetch_add(1, Relaxed);
        }
        stop.store(true, Relaxed);
    });
    let (lookups, misses, overlapped) = (
        lookups.into_inner(),
        misses.into_inner(),
        resizes_seen.into_inner(),
    );
    eprintln!(
        "lookups {lookups}, misses {misses}, reader passes overlapping a resize {overlapped}"
    );
    assert_eq!(misses, 0, "readers missed present keys during a resize");
    assert!(
        lookups > 0 && overlapped > 0,
        "the reader never overlapped a resize"
    );
}
