//! Every domain's grace-period and barrier futures are `'static`: they own what they need, so
//! `tokio::spawn(domain.synchronize_async())` and `tokio::spawn(domain.barrier_async())` compile
//! (with a borrowing future they failed with E0597, "`domain` does not live long enough"), and the
//! spawned futures still do their job after the caller's handle to the domain was dropped or moved
//! away: the future holds the domain's engine.
// Built on tokio and the default domain, which do not exist under loom.
#![cfg(not(loom))]

#[path = "common/reader.rs"]
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;

use rcu_core::{Domain, rcu_barrier_async, synchronize_rcu_async};
use reader::HeldReader;

/// A thread inside a read-side critical section of `domain` (through its own handle) until
/// released.
struct DomainReader {
    release: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl DomainReader {
    /// Returns once the thread is inside its section.
    fn enter(domain: Domain) -> Self {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let guard = domain.read_lock();
            entered_tx.send(()).unwrap();
            let _ = release_rx.recv();
            drop(guard);
            drop(domain);
        });
        entered_rx.recv().expect("the reader died before entering");
        DomainReader { release, thread }
    }

    /// Lets the reader leave its section; joins it (its handle to the domain goes with it).
    fn leave(self) {
        self.release.send(()).unwrap();
        self.thread.join().expect("the reader panicked");
    }
}

/// The caller drops its handle right after spawning; the reader's handle goes next (its drop runs
/// the domain's shutdown). The futures still wait for the reader, then complete, and the barrier
/// still finds the callback queued before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_futures_outlive_the_callers_handle() {
    let domain = Domain::new();
    let reader = DomainReader::enter(domain.clone());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    domain.call_rcu(move || r.store(true, Ordering::SeqCst));

    let grace_period = tokio::spawn(domain.synchronize_async());
    let barrier = tokio::spawn(domain.barrier_async());
    drop(domain);

    // The reader entered its section before both futures were created: neither can be done.
    assert!(
        !grace_period.is_finished(),
        "the grace period ended while a pre-existing reader is inside its section"
    );
    assert!(
        !barrier.is_finished(),
        "the barrier ended before the callback queued before it (which waits for the reader) ran"
    );
    assert!(!ran.load(Ordering::SeqCst));
    reader.leave();

    grace_period.await.expect("the grace-period task panicked");
    barrier.await.expect("the barrier task panicked");
    assert!(
        ran.load(Ordering::SeqCst),
        "the barrier completed before the callback queued before it"
    );
}

/// The futures are created, the handle is moved into another thread and dropped there, and only
/// then are the futures spawned: nothing in them borrows the handle.
#[tokio::test(flavor = "current_thread")]
async fn futures_outlive_a_moved_handle() {
    let domain = Domain::new();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    domain.call_rcu(move || r.store(true, Ordering::SeqCst));
    let grace_period = domain.synchronize_async();
    let barrier = domain.barrier_async();
    thread::spawn(move || drop(domain)).join().unwrap();

    tokio::spawn(grace_period)
        .await
        .expect("the grace-period task panicked");
    tokio::spawn(barrier)
        .await
        .expect("the barrier task panicked");
    assert!(ran.load(Ordering::SeqCst));
}

/// The domain's last handle goes while a future of it waits to be polled, and a cancelled barrier
/// future is dropped after it: the domain's shutdown ran the barrier's marker and a grace period,
/// and the spawned grace-period future completes.
#[tokio::test(flavor = "current_thread")]
async fn the_futures_may_outlive_every_handle() {
    let domain = Domain::new();
    let cancelled = domain.barrier_async();
    let grace_period = domain.synchronize_async();
    drop(domain);
    drop(cancelled);
    tokio::spawn(grace_period)
        .await
        .expect("the grace-period task panicked");
}

/// The default domain's futures, spawned the same way (they were `'static` already).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_domain_futures_spawn_too() {
    let reader = HeldReader::enter("held reader");
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    rcu_core::call_rcu(move || r.store(true, Ordering::SeqCst));
    let grace_period = tokio::spawn(synchronize_rcu_async());
    let barrier = tokio::spawn(rcu_barrier_async());
    assert!(!grace_period.is_finished());
    assert!(!barrier.is_finished());
    reader.leave();
    grace_period.await.expect("the grace-period task panicked");
    barrier.await.expect("the barrier task panicked");
    assert!(ran.load(Ordering::SeqCst));
}
