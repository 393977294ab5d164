//! `rcu_barrier_async` must complete only after every callback queued before it, by any thread, has
//! run, also while those callbacks still sit in another thread's per-thread buffer. The barrier
//! future used to queue its marker with plain `call_rcu`, into the calling thread's buffer; the
//! callback thread collects the buffers in registration order, so a marker in a buffer registered
//! before the other thread's ran first, and the future completed early (CI saw 88 of 100 earlier
//! callbacks run in `async_gp::barrier_runs_earlier_callbacks_multi_thread`).
//!
//! Deterministic: a parked reader keeps the callback thread inside a grace period (awake, so other
//! threads' callbacks stay in their buffers), and the future's waker, woken by the marker on the
//! callback thread itself, records how many earlier callbacks had run at that instant. Runs in a
//! process of its own: the stall warnings that show the callback thread waiting go to its stderr.
#![cfg(not(loom))]

#[path = "common/child.rs"]
mod child;
#[path = "common/reader.rs"]
mod reader;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use reader::HeldReader;

/// Callbacks the other thread queues before the barrier.
const EARLIER: usize = 10;

/// Records, when woken, how many earlier callbacks had run.
struct RecordingWaker {
    ran: Arc<AtomicUsize>,
    seen: mpsc::Sender<usize>,
}

impl Wake for RecordingWaker {
    fn wake(self: Arc<Self>) {
        let _ = self.seen.send(self.ran.load(SeqCst));
    }
}

/// Waits (bounded) until the callback thread has warned about a stalled grace period.
fn wait_for_stall_warning(before: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while rcu_core::stats().stall_warnings <= before {
        assert!(
            Instant::now() < deadline,
            "the callback thread never waited"
        );
        thread::yield_now();
    }
}

#[test]
fn barrier_future_waits_for_callbacks_in_other_threads_buffers() {
    if !child::in_own_process(
        "barrier_future_waits_for_callbacks_in_other_threads_buffers",
        "RCU_CORE_ASYNC_BARRIER_ORDER",
        1,
        child::Stderr::Captured,
    ) {
        return;
    }
    rcu_core::set_stall_timeout(Some(Duration::from_millis(1)));
    let parked = HeldReader::enter("parked-reader");
    // This thread's buffer is registered first; the callback thread starts a batch and its grace
    // period waits for the parked reader.
    let warnings = rcu_core::stats().stall_warnings;
    rcu_core::call_rcu(|| {});
    wait_for_stall_warning(warnings);

    // Another thread queues callbacks: they stay in its buffer (the callback thread is awake).
    let ran = Arc::new(AtomicUsize::new(0));
    let (queued_tx, queued_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel::<()>();
    let other = {
        let ran = ran.clone();
        thread::spawn(move || {
            for _ in 0..EARLIER {
                let ran = ran.clone();
                rcu_core::call_rcu(move || {
                    ran.fetch_add(1, SeqCst);
                });
            }
            queued_tx.send(()).unwrap();
            // Stay alive: an exiting thread hands its buffer over.
            let _ = exit_rx.recv();
        })
    };
    queued_rx.recv().unwrap();

    let (seen_tx, seen_rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(RecordingWaker {
        ran: ran.clone(),
        seen: seen_tx,
    }));
    let mut barrier = pin!(rcu_core::rcu_barrier_async());
    assert!(
        barrier
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending(),
        "the barrier completed while a grace period was blocked"
    );
    parked.leave();
    let ran_when_woken = seen_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the barrier's marker never ran");
    assert_eq!(
        ran_when_woken, EARLIER,
        "the barrier future completed before callbacks queued earlier by another thread ran"
    );
    exit_tx.send(()).unwrap();
    other.join().unwrap();
}
