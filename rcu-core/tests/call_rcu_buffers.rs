//! Per-thread callback buffers: `rcu_barrier` waits for callbacks still held in the buffers of
//! idle threads and of threads that exited, a callback left in an idle thread's buffer runs without
//! any barrier, and `call_rcu` from a late thread-local destructor (after the buffer's own) works.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{call_rcu, rcu_barrier};

/// Fewer than a buffer's capacity, so the callbacks stay in the thread's buffer.
const FEW: usize = 10;

/// Runs `f` while the callback thread is busy inside a callback (not asleep), so that `call_rcu`s
/// in `f` stay in their threads' buffers instead of being flushed to wake it.
fn with_callback_thread_busy(f: impl FnOnce()) {
    let (started_tx, started_rx) = mpsc::channel();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    call_rcu(move || {
        started_tx.send(()).unwrap();
        let _ = gate_rx.recv();
    });
    started_rx.recv().unwrap();
    f();
    gate_tx.send(()).unwrap();
}

fn counting(ran: &Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
    let ran = ran.clone();
    move || {
        ran.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn barrier_waits_for_exited_threads_buffers() {
    let ran = Arc::new(AtomicUsize::new(0));
    with_callback_thread_busy(|| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let ran = ran.clone();
                thread::spawn(move || {
                    for _ in 0..FEW {
                        call_rcu(counting(&ran));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
    rcu_barrier();
    assert_eq!(ran.load(Ordering::SeqCst), 8 * FEW);
}

#[test]
fn barrier_waits_for_idle_threads_buffers() {
    let ran = Arc::new(AtomicUsize::new(0));
    let (queued_tx, queued_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let idle = {
        let ran = ran.clone();
        thread::spawn(move || {
            for _ in 0..FEW {
                call_rcu(counting(&ran));
            }
            queued_tx.send(()).unwrap();
            // Stay alive (and idle) with the buffer registered until the main thread is done.
            let _ = release_rx.recv();
        })
    };
    with_callback_thread_busy(|| queued_rx.recv().unwrap());
    rcu_barrier();
    assert_eq!(ran.load(Ordering::SeqCst), FEW);
    release_tx.send(()).unwrap();
    idle.join().unwrap();
}

#[test]
fn idle_threads_callback_runs_without_barrier() {
    let (ran_tx, ran_rx) = mpsc::channel();
    let (queued_tx, queued_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let idle = thread::spawn(move || {
        call_rcu(move || ran_tx.send(()).unwrap());
        queued_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    with_callback_thread_busy(|| queued_rx.recv().unwrap());
    // Bounded: the callback thread collects idle buffers within a batch period; 30 s only guards
    // against a hang on a loaded machine.
    let ran = ran_rx.recv_timeout(Duration::from_secs(30));
    release_tx.send(()).unwrap();
    idle.join().unwrap();
    assert!(
        ran.is_ok(),
        "a callback left in an idle thread's buffer never ran"
    );
}

struct LateCallRcu(Arc<AtomicUsize>);

impl Drop for LateCallRcu {
    fn drop(&mut self) {
        call_rcu(counting(&self.0));
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Option<LateCallRcu>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn call_rcu_from_a_late_thread_local_destructor() {
    let ran = Arc::new(AtomicUsize::new(0));
    with_callback_thread_busy(|| {
        let ran = ran.clone();
        thread::spawn(move || {
            // Registered before the thread's callback buffer, so destroyed after it.
            LATE.with(|l| *l.borrow_mut() = Some(LateCallRcu(ran.clone())));
            call_rcu(counting(&ran));
        })
        .join()
        .unwrap();
    });
    rcu_barrier();
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}
