//! Writers and the map's size queries never read a bucket array that a concurrent resize retired
//! (issue 18, item 1): `insert`, `remove`, the entry API, `buckets()` and `Debug` used to read the
//! current table's length with no read-side section and no stripe held, so a resize could retire the
//! table, a grace period pass and the callback thread free it before the length was read.
//!
//! One thread resizes the map back and forth (each resize retires a table, freed a grace period
//! later); the other threads, never inside a read-side section, insert, remove, use entries, ask for
//! `buckets()` and format the map. There are more threads than CPUs, so some are preempted right
//! between loading the table pointer and reading its length, and the table is freed meanwhile.
//!
//! What catches a read of a freed table: AddressSanitizer (`RUSTFLAGS=-Zsanitizer=address cargo
//! +nightly test -p rcu-queue --target x86_64-unknown-linux-gnu --test map_table_lifetime`) at
//! once; without it, the length read from a freed block is usually the allocator's free-list data,
//! which the checks below see as a bucket count that is not a power of two or out of range.

use rcu_queue::RcuHashMap;
use rcu_queue::map::Entry;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// The two sizes the resizer alternates between.
const SMALL: usize = 64;
const LARGE: usize = 4096;
/// How long the writers run.
const RUN: Duration = Duration::from_secs(2);
/// Writer threads (more than this machine's CPUs, so that some are preempted mid-operation).
const WRITERS: usize = 6;

fn check_buckets(buckets: usize) {
    assert!(
        buckets.is_power_of_two() && (SMALL..=2 * LARGE).contains(&buckets),
        "bucket count {buckets:#x} read from a freed table"
    );
}

#[test]
fn writers_and_size_queries_never_read_a_retired_table() {
    let map: RcuHashMap<u64, u64> = RcuHashMap::new();
    let stop = AtomicBool::new(false);
    let resizes = AtomicUsize::new(0);
    let ops = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Relaxed) {
                map.resize(LARGE);
                map.resize(SMALL);
                resizes.fetch_add(2, Relaxed);
            }
        });
        for w in 0..WRITERS as u64 {
            let (map, stop, ops) = (&map, &stop, &ops);
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Relaxed) {
                    let key = w << 32 | (i % 16);
                    match w % 3 {
                        // insert / remove: `after_insert` / `after_remove` read the size.
                        0 => {
                            map.insert(key, i);
                            map.remove(&key);
                        }
                        // The entry API: `VacantEntry::insert`, `OccupiedEntry::remove`.
                        1 => {
                            if let Entry::Vacant(e) = map.entry(key) {
                                e.insert(i);
                            }
                            if let Entry::Occupied(e) = map.entry(key) {
                                e.remove();
                            }
                        }
                        // The size queries.
                        _ => {
                            check_buckets(map.buckets());
                            let text = format!("{map:?}");
                            assert!(text.starts_with("RcuHashMap"), "{text}");
                        }
                    }
                    i += 1;
                    ops.fetch_add(1, Relaxed);
                }
            });
        }
        let start = Instant::now();
        while start.elapsed() < RUN {
            check_buckets(map.buckets());
            thread::yield_now();
        }
        stop.store(true, Relaxed);
    });
    // Real work was done: the writers ran, and tables were retired while they did.
    let (resizes, ops) = (resizes.load(Relaxed), ops.load(Relaxed));
    assert!(
        resizes >= 10 && ops >= 1000,
        "too little work: {resizes} resizes, {ops} operations"
    );
    assert!(map.is_empty());
    println!("{resizes} resizes, {ops} writer operations");
}
