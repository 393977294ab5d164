//! Cancel safety of `synchronize_rcu_async` and `rcu_barrier_async`: futures dropped mid-wait leave
//! nothing behind. Its own test binary because it reads the process-wide `stats()`.
// Built on the default domain, which does not exist under loom.
#![cfg(not(loom))]

#[path = "common/reader.rs"]
mod reader;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use rcu_core::{rcu_barrier, rcu_barrier_async, synchronize_rcu_async};
use reader::HeldReader;

/// The tests take turns: they read the process-wide `stats()`.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A waker that counts its wake-ups; `Arc::strong_count` tells whether anything still holds it.
#[derive(Default)]
struct CountingWaker {
    woken: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// Dropping futures mid-wait leaks nothing: their wakers are released (never woken), the futures
/// left waiting still complete, and after `rcu_barrier` no callback is pending.
#[test]
fn dropped_futures_leave_nothing_behind() {
    let _turn = turn();
    let held = HeldReader::enter("async-cancel-reader");
    let dropped_waker = Arc::new(CountingWaker::default());
    let kept_waker = Arc::new(CountingWaker::default());
    let (dropped_w, kept_w) = (
        Waker::from(dropped_waker.clone()),
        Waker::from(kept_waker.clone()),
    );
    let mut kept = Vec::new();
    for i in 0..1000 {
        let mut sync = synchronize_rcu_async();
        let mut barrier = rcu_barrier_async();
        let w = if i % 2 == 0 { &dropped_w } else { &kept_w };
        assert!(poll_once(&mut sync, w).is_pending());
        assert!(poll_once(&mut barrier, w).is_pending());
        if i % 2 != 0 {
            kept.push((sync, barrier));
        }
    }
    drop((dropped_w, kept_w));
    assert_eq!(
        Arc::strong_count(&dropped_waker),
        1,
        "a dropped future's waker is still held"
    );
    held.leave();
    rcu_barrier();
    assert_eq!(dropped_waker.woken.load(Ordering::SeqCst), 0);
    assert!(kept_waker.woken.load(Ordering::SeqCst) >= 1);
    for (sync, barrier) in &mut kept {
        assert!(poll_once(sync, Waker::noop()).is_ready());
        assert!(poll_once(barrier, Waker::noop()).is_ready());
    }
    drop(kept);
    assert_eq!(
        Arc::strong_count(&kept_waker),
        1,
        "a completed future's waker is still held"
    );
    // Every slot callback and marker has run: nothing is left queued.
    rcu_barrier();
    assert_eq!(rcu_core::stats().callbacks_pending(), 0);
}

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("deliberate panic in a waker (test)");
    }
}

/// A waker that panics does not strand the other futures of its slot: they are still woken, and the
/// panic is reported by the callback thread as a panicking callback.
#[test]
fn a_panicking_waker_strands_no_one() {
    let _turn = turn();
    let held = HeldReader::enter("async-panic-reader");
    let panicking = Waker::from(Arc::new(PanickingWaker));
    let counting = Arc::new(CountingWaker::default());
    let counting_w = Waker::from(counting.clone());
    let mut first = synchronize_rcu_async();
    let mut second = synchronize_rcu_async();
    let mut third = synchronize_rcu_async();
    assert!(poll_once(&mut first, &counting_w).is_pending());
    assert!(poll_once(&mut second, &panicking).is_pending());
    assert!(poll_once(&mut third, &counting_w).is_pending());
    let panics_before = rcu_core::stats().callback_panics;
    held.leave();
    rcu_barrier();
    assert_eq!(counting.woken.load(Ordering::SeqCst), 2);
    assert_eq!(rcu_core::stats().callback_panics, panics_before + 1);
    for fut in [&mut first, &mut second, &mut third] {
        assert!(poll_once(fut, Waker::noop()).is_ready());
    }
}
