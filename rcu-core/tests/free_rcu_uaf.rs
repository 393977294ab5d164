//! No use after free with producer frees: readers hold references to `RcuCell<[u64; 8]>` values
//! (retired with `defer_free`, freed by the writers themselves) across a spin while writers
//! replace them, under `rcu_test_support::PoisonAlloc`, which fills every freed block with `0xDE`
//! and never reuses it. A reader that sees a word change under its guard, or the poison, read
//! freed memory.
//!
//! Negative control (the same file, built with `RUSTFLAGS="--cfg rcu_broken_gp"`, as `.ci/run`'s
//! negative-control step): grace periods return at once, the writers' bags free segments early,
//! and the check must fire. In that build `RcuCell` poisons retired values in place instead of
//! freeing them, so the broken run reads no freed memory.
//!
//! `cargo test -p rcu-core --test free_rcu_uaf` (about 1 s; passes under `taskset -c 0`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::{Domain, RcuCell};
use rcu_test_support::PoisonAlloc;
use rcu_test_support::alloc::FREED_WORD;

#[global_allocator]
static ALLOC: PoisonAlloc = PoisonAlloc::new();

const READERS: usize = 2;
const WRITERS: usize = 2;
/// How long a reader holds a value before checking it again.
const HOLD: Duration = Duration::from_micros(300);

struct Outcome {
    reads: u64,
    replaces: u64,
    violations: u64,
    stats: rcu_core::Stats,
}

/// Runs readers and writers for at most `run_for`, stopping early at the first violation when
/// `stop_at_violation`.
fn run(run_for: Duration, stop_at_violation: bool) -> Outcome {
    let domain = Domain::new();
    let cell = Arc::new(RcuCell::new_in([1u64; 8], &domain));
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, replaces, violations) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut threads = Vec::new();
    for _ in 0..READERS {
        let (domain, cell, stop, reads, violations) = (
            domain.clone(),
            cell.clone(),
            stop.clone(),
            reads.clone(),
            violations.clone(),
        );
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let guard = domain.read_lock();
                let value = cell.read(&guard);
                let first = value[0];
                let start = Instant::now();
                while start.elapsed() < HOLD {
                    std::hint::spin_loop();
                }
                // Volatile: the words may really change under a broken grace period.
                let intact = (0..8).all(|i| {
                    // SAFETY: `value` is valid for the guard's section (that is what is checked).
                    let w = unsafe { std::ptr::read_volatile(&value[i]) };
                    w == first && w != FREED_WORD
                });
                drop(guard);
                if !intact || first == FREED_WORD {
                    violations.fetch_add(1, Ordering::Relaxed);
                    if stop_at_violation {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in 0..WRITERS as u64 {
        let (cell, stop, replaces) = (cell.clone(), stop.clone(), replaces.clone());
        threads.push(thread::spawn(move || {
            let mut i = 2 + w;
            while !stop.load(Ordering::Relaxed) {
                cell.replace([i; 8]);
                i += WRITERS as u64;
                replaces.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < run_for {
        thread::park_timeout(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    domain.barrier();
    Outcome {
        reads: reads.load(Ordering::Relaxed),
        replaces: replaces.load(Ordering::Relaxed),
        violations: violations.load(Ordering::Relaxed),
        stats: domain.stats(),
    }
}

#[cfg(not(rcu_broken_gp))]
#[test]
fn readers_never_see_a_value_freed_by_a_writer() {
    let out = run(Duration::from_secs(1), false);
    let stats = out.stats;
    println!(
        "{} reads, {} replaces, {} violations: {stats:?}",
        out.reads, out.replaces, out.violations
    );
    assert_eq!(out.violations, 0, "a reader read freed memory: {stats:?}");
    // Real work: readers held values while writers freed thousands of them themselves.
    assert!(out.reads >= 100, "too few reads: {}", out.reads);
    assert!(out.replaces >= 10_000, "too few replaces: {}", out.replaces);
    assert!(stats.frees_by_producers >= 1_000, "{stats:?}");
    assert_eq!(stats.frees_pending(), 0, "{stats:?}");
}

#[cfg(rcu_broken_gp)]
#[test]
fn broken_grace_periods_are_caught() {
    rcu_core::testing::set_broken_grace_periods(true);
    let out = run(Duration::from_secs(20), true);
    rcu_core::testing::set_broken_grace_periods(false);
    let stats = out.stats;
    println!(
        "{} reads, {} replaces, {} violations: {stats:?}",
        out.reads, out.replaces, out.violations
    );
    assert!(
        out.violations > 0,
        "the use-after-free check did not fire although grace periods were broken: {stats:?}"
    );
}
