//! The bound on retired, unfreed objects with per-thread free bags (`Reclaim::Producers`): writers
//! flooding `RcuCell::<[u64; 8]>::replace` (retired through `defer_free`: no drop glue) while a
//! reader keeps entering sections it holds for a while and a thread spins, so the callback thread
//! gets only a share of the CPU. Passes on one core:
//! `taskset -c 0 cargo test -p rcu-core --test free_rcu_flood` (about 2 s).
//!
//! The bound checked (`Reclaim::MAX_HELD_PER_THREAD`, 1087): each writer holds at most 16 sealed
//! segments of 64 objects plus an open segment of at most 63, and a writer outside every section
//! hands nothing to the callback thread until it exits (its whole bag, at most 1087 objects), so
//! retired objects not yet freed never exceed `WRITERS * 1087`. Each writer samples
//! `Stats::frees_pending` (which counts open segments only once they are handed over) every 64
//! replaces. (A bound of `WRITERS * 1024` failed now and then with 2096: one writer's exit
//! hand-over, 1024 + 48 open, while the other still held 1024.)
//!
//! Negative control: the same flood with `Reclaim::CallbackThread` and producers that never wait
//! (QEMU's and liburcu's behaviour) must exceed the bound.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::{CallbackLimit, Domain, RcuCell, Reclaim};

const WRITERS: u64 = 2;
const REPLACES: u64 = 30_000;
/// Unfreed objects of a domain whose writers may all wait (module docs).
const BOUND: u64 = WRITERS * Reclaim::MAX_HELD_PER_THREAD as u64;
/// How long the reader stays in each section.
const SECTION: Duration = Duration::from_micros(500);

/// The tests share the CPU (one core under `taskset`): run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

struct Outcome {
    peak_pending: u64,
    replaces: u64,
    reads: u64,
    stats: rcu_core::Stats,
}

fn flood(domain: &Domain) -> Outcome {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cell = Arc::new(RcuCell::new_in([0u64; 8], domain));
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (domain, cell, stop, reads) =
            (domain.clone(), cell.clone(), stop.clone(), reads.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let guard = domain.read_lock();
                let start = Instant::now();
                let value = cell.read(&guard);
                while start.elapsed() < SECTION {
                    std::hint::spin_loop();
                }
                // The value read at the start is intact at the end of the section.
                assert!(value.iter().all(|&w| w == value[0] && w <= REPLACES));
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let spinner = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (domain, cell, peak) = (domain.clone(), cell.clone(), peak.clone());
            thread::spawn(move || {
                for i in 1..=REPLACES {
                    cell.replace([i; 8]);
                    if i % 64 == 0 {
                        peak.fetch_max(domain.stats().frees_pending(), Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    spinner.join().unwrap();
    let stats = domain.stats();
    Outcome {
        peak_pending: peak.load(Ordering::Relaxed),
        replaces: WRITERS * REPLACES,
        reads: reads.load(Ordering::Relaxed),
        stats,
    }
}

#[test]
fn unfreed_objects_stay_under_the_bound() {
    let domain = Domain::new();
    let out = flood(&domain);
    let stats = out.stats;
    println!(
        "peak frees_pending {} (bound {BOUND}), {} replaces, {} reads: {stats:?}",
        out.peak_pending, out.replaces, out.reads
    );
    assert!(
        out.peak_pending <= BOUND,
        "{} retired objects unfreed at once, bound {BOUND}: {stats:?}",
        out.peak_pending
    );
    // Real work: every replace retired an object, most were freed by the writers themselves,
    // and the reader's sections overlapped the flood.
    assert!(stats.frees_deferred >= out.replaces - WRITERS * Reclaim::SEGMENT as u64);
    assert!(
        stats.frees_by_producers >= out.replaces / 2,
        "writers freed too little themselves: {stats:?}"
    );
    assert!(out.reads > 0);
    // Only the writers' exits handed their bags over.
    assert!(
        stats.frees_handed_to_callback_thread <= WRITERS * Reclaim::MAX_HELD_PER_THREAD as u64,
        "{stats:?}"
    );
    drop(domain);
}

/// Negative control: every free a callback, producers never wait: the backlog of unfreed objects
/// outgrows the bound, so the check above can fail.
#[test]
fn without_producer_frees_the_bound_is_exceeded() {
    let domain = Domain::new();
    domain.set_reclaim(Reclaim::CallbackThread);
    domain.set_callback_limit(CallbackLimit::DEFAULT.producers_never_wait());
    let out = flood(&domain);
    let stats = out.stats;
    println!(
        "peak frees_pending {} (bound {BOUND}), {} replaces: {stats:?}",
        out.peak_pending, out.replaces
    );
    assert!(
        out.peak_pending > BOUND,
        "the negative control stayed under the bound ({} <= {BOUND}): {stats:?}",
        out.peak_pending
    );
    assert_eq!(stats.frees_by_producers, 0);
}
