//! Stress of `RcuHashMap`'s incremental migrations: two writers grow the map from 2,000 keys to
//! 34,000 and shrink it back, over and over, so that dozens of migrations run while they write
//! (each write copies a few groups); readers meanwhile look up the 2,000 fixed keys, which are
//! never removed, and iterate the map. A fixed key not found is a false negative; a key yielded
//! twice by `iter`, or a fixed key it skips, is an iteration error. The run proves its work: lookups
//! done, migrations started (each one only after the previous one completed) and reader passes that
//! overlapped a change of table.
//!
//! The same run drives `RcuFlatHashMap` (pairs stored in the buckets): its writers' replacements
//! and removals leave dead slots, and the map also rehashes at the same size; a fixed key's value,
//! copied by each migration, changes address then, which the run counts (`moves`: more moves than
//! bucket-count changes means same-size rehashes ran). Readers also check each value intact.
//!
//! Negative control: built with `--cfg rcu_broken_migration`, the migration marks a group moved
//! before it places the copies, and the readers of each map kind must be seen missing keys:
//! `RUSTFLAGS="--cfg rcu_broken_migration" cargo test -p rcu-queue --release --test map_migration`.
#![cfg(not(loom))]

use rcu_core::DefaultDomain;
use rcu_queue::map::Layout;
use rcu_queue::{RcuFlatHashMap, RcuHashMap};
use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Keys `0..FIXED` are present throughout.
const FIXED: u64 = 2_000;
/// Each writer inserts, then removes, this many keys of its own per round.
const CHURN: u64 = 16_000;

#[derive(Debug, Default)]
struct Report {
    lookups: u64,
    misses: u64,
    iterations: u64,
    iteration_errors: u64,
    migrations: u64,
    /// Changes of the address of key 0's value seen by writer 1 (each one a migration that copied
    /// it: flat maps only; a lower bound).
    moves: u64,
    overlapped: u64,
}

/// A map of either layout, as `run` drives it.
type Map<L> = RcuHashMap<u64, u64, RandomState, DefaultDomain, L>;

/// Runs [`run`] on a new `RcuHashMap` (`flat` false) or `RcuFlatHashMap`.
fn run_kind(flat: bool, min_migrations: u64, min_time: Duration, max_time: Duration) -> Report {
    if flat {
        run(&*RcuFlatHashMap::new(), min_migrations, min_time, max_time)
    } else {
        run(&RcuHashMap::new(), min_migrations, min_time, max_time)
    }
}

/// Runs rounds of growth and shrinkage until at least `min_migrations` migrations have started and
/// `min_time` has passed, never past `max_time`.
fn run<L: Layout<u64, u64>>(
    map: &Map<L>,
    min_migrations: u64,
    min_time: Duration,
    max_time: Duration,
) -> Report {
    for k in 0..FIXED {
        map.insert(k, k * 3);
    }
    let stop = AtomicBool::new(false);
    let readers_started = AtomicU64::new(0);
    let migrations = AtomicU64::new(0);
    let moves = AtomicU64::new(0);
    let totals = [(); 5].map(|()| AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for reader in 0..2 {
            let (stop, totals, migrations) = (&stop, &totals, &migrations);
            let readers_started = &readers_started;
            s.spawn(move || {
                readers_started.fetch_add(1, Relaxed);
                let mut counts = [0u64; 5]; // lookups, misses, iterations, errors, overlapped
                let mut seen = vec![0u8; FIXED as usize];
                let mut pass = 0u64;
                while !stop.load(Relaxed) {
                    let before = (migrations.load(Relaxed), map.buckets());
                    let guard = rcu_core::read_lock();
                    if (pass + reader) % 8 == 0 {
                        seen.fill(0);
                        // Churn keys come and go during the walk, so one removed and inserted again
                        // may be seen twice (as without migrations); fixed keys exactly once.
                        for (&k, &v) in map.iter(&guard) {
                            assert_eq!(v, k * 3, "iter: key {k} with value {v}");
                            if k < FIXED {
                                seen[k as usize] = seen[k as usize].saturating_add(1);
                            }
                        }
                        counts[3] += seen.iter().filter(|&&n| n != 1).count() as u64;
                        counts[2] += 1;
                    } else {
                        for k in 0..FIXED {
                            match map.get(&k, &guard) {
                                Some(&v) => assert_eq!(v, k * 3),
                                None => counts[1] += 1,
                            }
                        }
                        counts[0] += FIXED;
                    }
                    drop(guard);
                    if (migrations.load(Relaxed), map.buckets()) != before {
                        counts[4] += 1;
                    }
                    pass += 1;
                }
                for (total, n) in totals.iter().zip(counts) {
                    total.fetch_add(n, Relaxed);
                }
            });
        }
        while readers_started.load(Relaxed) < 2 {
            std::thread::yield_now();
        }
        let writers: Vec<_> = (1..=2u64)
            .map(|w| {
                let (stop, migrations, moves) = (&stop, &migrations, &moves);
                s.spawn(move || {
                    let keys = w * 1_000_000..w * 1_000_000 + CHURN;
                    let at = || {
                        let value = map.get(&0, &rcu_core::read_lock()).map(|v| v as *const u64);
                        value.expect("key 0 is fixed") as usize
                    };
                    let (mut buckets, mut addr) = (map.buckets(), at());
                    let mut note = || {
                        if w == 1 && map.buckets() != buckets {
                            buckets = map.buckets();
                            migrations.fetch_add(1, Relaxed);
                        }
                        if w == 1 && at() != addr {
                            addr = at();
                            moves.fetch_add(1, Relaxed);
                        }
                    };
                    loop {
                        for k in keys.clone() {
                            assert!(map.insert(k, k * 3));
                            note();
                            if k % 4 == 0 {
                                // A replacement: a dead slot in a flat map.
                                assert!(!map.insert(k, k * 3));
                                note();
                            }
                        }
                        for k in keys.clone() {
                            assert!(map.remove(&k));
                            note();
                        }
                        let elapsed = start.elapsed();
                        let enough =
                            migrations.load(Relaxed) >= min_migrations && elapsed >= min_time;
                        if enough || elapsed >= max_time || stop.load(Relaxed) {
                            break;
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        stop.store(true, Relaxed);
    });
    let [lookups, misses, iterations, iteration_errors, overlapped] =
        totals.map(AtomicU64::into_inner);
    Report {
        lookups,
        misses,
        iterations,
        iteration_errors,
        migrations: migrations.into_inner(),
        moves: moves.into_inner(),
        overlapped,
    }
}

/// The positive run of one map kind.
#[cfg(not(rcu_broken_migration))]
fn no_false_negatives(flat: bool) -> Report {
    let report = run_kind(
        flat,
        40,
        Duration::from_millis(500),
        Duration::from_secs(20),
    );
    eprintln!("flat {flat}: {report:?}");
    assert_eq!(report.misses, 0, "readers missed present keys: {report:?}");
    assert_eq!(
        report.iteration_errors, 0,
        "iter yielded a key twice or skipped one: {report:?}"
    );
    assert!(
        report.migrations >= 40
            && report.lookups > 100 * FIXED
            && report.iterations > 0
            && report.overlapped > 0,
        "not enough work done: {report:?}"
    );
    report
}

#[test]
#[cfg(not(rcu_broken_migration))]
fn no_false_negatives_while_writers_migrate() {
    let report = no_false_negatives(false);
    assert_eq!(report.moves, 0, "heap nodes never move: {report:?}");
}

#[test]
#[cfg(not(rcu_broken_migration))]
fn flat_no_false_negatives_while_writers_migrate_and_rehash() {
    let report = no_false_negatives(true);
    assert!(
        report.moves > report.migrations,
        "no same-size rehash ran (moves of key 0 not above the bucket-count changes): {report:?}"
    );
}

/// The negative control of one map kind: reruns until the readers miss a key (at most 60 s).
#[cfg(rcu_broken_migration)]
fn broken_migration_is_caught(flat: bool) {
    let (mut caught, mut lookups, mut migrations) = (0, 0, 0);
    let started = Instant::now();
    while caught == 0 && started.elapsed() < Duration::from_secs(60) {
        let report = run_kind(
            flat,
            10,
            Duration::from_millis(200),
            Duration::from_secs(10),
        );
        eprintln!("flat {flat}: {report:?}");
        caught += report.misses + report.iteration_errors;
        lookups += report.lookups + report.iterations;
        migrations += report.migrations + report.moves + report.overlapped;
    }
    assert!(
        caught > 0 && lookups > 0 && migrations > 0,
        "a migration that marks groups moved before copying them went unnoticed (flat {flat})"
    );
}

#[test]
#[cfg(rcu_broken_migration)]
fn marking_groups_moved_before_copying_is_caught() {
    broken_migration_is_caught(false);
}

#[test]
#[cfg(rcu_broken_migration)]
fn flat_marking_groups_moved_before_copying_is_caught() {
    broken_migration_is_caught(true);
}

/// A thread that writes two maps in turn, both migrating, completes both migrations: the stripes a
/// write helps are counted per map (a per-thread count shared by both maps left each map helping
/// only every other stripe, so neither migration ever completed and both tables stayed at 128
/// buckets with 20,000 keys).
#[test]
fn alternating_writes_to_two_maps_complete_both_migrations() {
    let a = RcuHashMap::new();
    let b = RcuHashMap::new();
    let fa = rcu_queue::RcuFlatHashMap::new();
    let fb = rcu_queue::RcuFlatHashMap::new();
    for key in 0..20_000u64 {
        a.insert(key, key);
        b.insert(key, key);
        fa.insert(key, key);
        fb.insert(key, key);
    }
    // Grown for the keys (5,000 buckets at four keys per bucket), give or take the migrations that
    // wait for a grace period.
    for (name, buckets) in [
        ("a", a.buckets()),
        ("b", b.buckets()),
        ("flat a", fa.buckets()),
        ("flat b", fb.buckets()),
    ] {
        assert!(buckets >= 2048, "map {name} stuck at {buckets} buckets");
    }
}

/// A burst of inserts leaves the table sized for its keys even if no write follows and no grace
/// period can end meanwhile: a grow does not wait for the grace period since the previous
/// migration. Before, the grows after the first one were postponed to a later write, and a map
/// filled with 1,000 keys while a reader sat in its section (or just faster than grace periods
/// end, in a release build) and then only read kept 128 buckets, eight keys per bucket.
#[test]
fn a_burst_of_inserts_grows_the_table_for_all_its_keys() {
    let (entered, wait_entered) = std::sync::mpsc::channel();
    let (leave, wait_leave) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let _guard = rcu_core::read_lock();
        entered.send(()).unwrap();
        wait_leave.recv().unwrap();
    });
    wait_entered.recv().unwrap();
    let boxed = RcuHashMap::new();
    let flat = rcu_queue::RcuFlatHashMap::new();
    for key in 0..1_000u64 {
        boxed.insert(key, key);
        flat.insert(key, key);
    }
    let sizes = (boxed.buckets(), flat.buckets());
    leave.send(()).unwrap();
    reader.join().unwrap();
    // Four keys per bucket for `RcuHashMap`, two for `RcuFlatHashMap`.
    assert!(sizes.0 >= 256, "RcuHashMap: {} buckets", sizes.0);
    assert!(sizes.1 >= 512, "RcuFlatHashMap: {} buckets", sizes.1);
}
