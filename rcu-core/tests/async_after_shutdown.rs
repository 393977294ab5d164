//! A grace-period future of an independent domain that is first polled after the domain's last
//! `Domain` handle was dropped (its shutdown joined the callback thread) completes at once and
//! starts no callback thread: with no handle left, no reader can be in a section of the domain and
//! nothing can be queued on it. Before the fix the poll queued the future's wake-up callback, which
//! started a new callback thread that nobody would ever stop (it owns a reference to the domain):
//! one leaked thread per such future.
//!
//! Its own test binary: it counts the process's `call_rcu` threads, which other tests would start
//! and stop concurrently.
// Built on tokio, which does not exist under loom.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use rcu_core::Domain;

/// The threads of this process named `call_rcu` (rcu-core's callback threads).
fn callback_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable on Linux")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "call_rcu")
        .count()
}

/// Polls `callback_threads` until it is `want` or 5 s have passed; returns the last count. (A
/// thread that was asked to stop needs a moment to exit: this waits for an observable outcome,
/// bounded, and is not synchronization.)
fn settle_at(want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = callback_threads();
        if n == want || Instant::now() > deadline {
            return n;
        }
        std::thread::yield_now();
    }
}

#[test]
fn a_future_first_polled_after_shutdown_starts_no_callback_thread() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    // A domain whose callback thread ran (and was joined by its shutdown) ...
    let domain = Domain::new();
    domain.call_rcu(|| {});
    domain.barrier();
    let synchronize = domain.synchronize_async();
    drop(domain);
    assert_eq!(settle_at(0), 0, "the shutdown joined the callback thread");
    // ... and one that never started one.
    let fresh = Domain::new();
    let never_started = fresh.synchronize_async();
    drop(fresh);

    runtime.block_on(synchronize);
    runtime.block_on(never_started);
    assert_eq!(
        settle_at(0),
        0,
        "a future polled after its domain's shutdown left a callback thread running"
    );
}
