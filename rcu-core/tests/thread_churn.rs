//! Thousands of short-lived reader threads during grace periods: no hang, threads can register and
//! exit while a grace period is blocked, and the reader registry returns to its size.
//!
//! One test in its own process, so that `stats().registered_readers` is not disturbed by other tests.

#[path = "common/reader.rs"]
mod reader;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use rcu_core::{call_rcu, read_lock, stats, synchronize_rcu};
use reader::HeldReader;

const THREADS: usize = 2000;
/// Threads alive at once: these machines have 2 cores.
const WAVE: usize = 32;

fn short_lived_reader() {
    let outer = read_lock();
    for i in 0..100u32 {
        let _inner = read_lock();
        black_box(i);
    }
    drop(outer);
}

/// Spawns `count` short-lived reader threads in waves and joins them all.
fn churn(count: usize) {
    for wave in 0..count.div_ceil(WAVE) {
        let n = WAVE.min(count - wave * WAVE);
        let threads: Vec<_> = (0..n).map(|_| thread::spawn(short_lived_reader)).collect();
        for t in threads {
            t.join().expect("a short-lived reader panicked");
        }
    }
}

/// Runs `f` on a helper thread and fails the test if it does not finish within `limit`.
fn bounded(what: &str, limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            worker.join().unwrap_or_else(|_| panic!("{what} panicked"));
            unreachable!("the worker dropped its channel without finishing or panicking");
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}: hang")
        }
    }
}

#[test]
fn thousands_of_short_lived_readers() {
    // Warm up (callback thread, lazily initialised state) before taking the baseline.
    call_rcu(|| ());
    rcu_core::rcu_barrier();
    synchronize_rcu();
    let registered_before = stats().registered_readers;

    // Phase 1: the churn runs while a writer keeps grace periods and callbacks going.
    let stop = Arc::new(AtomicBool::new(false));
    let grace_periods = Arc::new(AtomicU64::new(0));
    let writer = {
        let stop = Arc::clone(&stop);
        let grace_periods = Arc::clone(&grace_periods);
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                synchronize_rcu();
                call_rcu(|| ());
                grace_periods.fetch_add(1, SeqCst);
            }
        })
    };
    bounded(
        "churn during grace periods",
        Duration::from_secs(120),
        || churn(THREADS),
    );
    stop.store(true, SeqCst);
    writer.join().unwrap();
    assert!(grace_periods.load(SeqCst) > 0);

    // Phase 2: a grace period is blocked by a reader; threads must still register, read and exit
    // (the registry lock is not held while the writer waits).
    let blocker = HeldReader::enter("churn-blocker");
    let blocked_writer = thread::spawn(synchronize_rcu);
    bounded(
        "churn during a blocked grace period",
        Duration::from_secs(60),
        || churn(200),
    );
    blocker.leave();
    blocked_writer.join().unwrap();

    rcu_core::rcu_barrier();
    assert_eq!(
        stats().registered_readers,
        registered_before,
        "exited reader threads were not removed from the registry"
    );
}
