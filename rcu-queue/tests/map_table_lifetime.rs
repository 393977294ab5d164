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
//! What catches a read of a freed table: the poisoning allocator, which fills a freed table with
//! `0xDE` bytes, so the length read from it is a bucket count that the checks below reject (not a
//! power of two); under AddressSanitizer (`RUSTFLAGS=-Zsanitizer=address cargo +nightly test -p
//! rcu-queue --target x86_64-unknown-linux-gnu --test map_table_lifetime`, with
//! `RCU_TEST_QUARANTINE_BYTES=0`) the read itself is reported. The signal perturber pauses threads
//! at random points, widening the window between the pointer load and the length read.

use rcu_queue::RcuHashMap;
use rcu_queue::map::Entry;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

/// The two sizes the resizer alternates between.
const SMALL: usize = 64;
const LARGE: usize = 4096;
#[global_allocator]
static ALLOC: rcu_test_support::PoisonAlloc = rcu_test_support::PoisonAlloc::new();

/// How long the writers run.
const RUN: Duration = Duration::from_secs(3);
/// Writer threads (more than this machine's CPUs, so that some are preempted mid-operation).
const WRITERS: usize = 6;

/// Stops every thread of the test when the thread holding it panics, so a failure ends the run.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Relaxed);
        }
    }
}

fn check_buckets(buckets: usize) {
    assert!(
        buckets.is_power_of_two() && (SMALL..=2 * LARGE).contains(&buckets),
        "bucket count {buckets:#x} read from a freed table"
    );
}

#[test]
fn writers_and_size_queries_never_read_a_retired_table() {
    let _perturb = rcu_test_support::perturb::start();
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
                let _stop = StopOnPanic(stop);
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
                            let guard = rcu_core::read_lock();
                            if let Entry::Vacant(e) = map.entry(key, &guard) {
                                e.insert(i);
                            }
                            if let Entry::Occupied(e) = map.entry(key, &guard) {
                                e.remove();
                            }
                        }
                        // The size query, in a tight loop: most of its time is spent between
                        // loading the table pointer and reading the length.
                        _ => check_buckets(map.buckets()),
                    }
                    i += 1;
                    ops.fetch_add(1, Relaxed);
                }
            });
        }
        let _stop = StopOnPanic(&stop);
        let start = Instant::now();
        while start.elapsed() < RUN && !stop.load(Relaxed) {
            // `Debug` walks the current table under a guard of its own (std's `{k: v, ...}`).
            let text = format!("{map:?}");
            assert!(text.starts_with('{') && text.ends_with('}'), "{text:?}");
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
