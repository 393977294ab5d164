//! `synchronize_rcu_async`, `rcu_barrier_async` and `RcuArcCell` under tokio, on both the
//! multi-thread and the current-thread runtime; the `Domain` forms; the async-aware misuse message.
//! Cancel safety: `async_cancel.rs`; grace-period sharing: `async_sharing.rs`.
// Built on the default domain, which does not exist under loom.
#![cfg(not(loom))]

#[path = "common/async_wait.rs"]
mod async_wait;
#[path = "common/payload.rs"]
mod payload;
#[path = "common/reader.rs"]
mod reader;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rcu_core::{Domain, RcuArcCell, RcuCell, rcu_barrier_async, read_lock, synchronize_rcu_async};

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

/// The future waits for a reader that was inside its section when the future was created, and
/// completes (woken by the callback thread, no polling) once the reader leaves.
fn waits_for_preexisting_reader(rt: &tokio::runtime::Runtime) {
    assert!(
        !async_wait::completed_while_reader_inside(rt, Duration::from_millis(100)),
        "completed while a pre-existing reader was inside its section"
    );
}

#[test]
fn waits_for_preexisting_reader_current_thread() {
    waits_for_preexisting_reader(&current_thread());
}

#[test]
fn waits_for_preexisting_reader_multi_thread() {
    waits_for_preexisting_reader(&multi_thread());
}

struct Config {
    version: u64,
    dropped: Arc<AtomicU64>,
}

impl Drop for Config {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// The crate docs' scenario: one task reloads a configuration, awaiting a grace period after each
/// reload, while request tasks read it (borrowed inside sections, owned snapshots across `.await`).
/// Every reader sees versions in order, each snapshot stays intact across `.await`, and every old
/// version is dropped exactly once.
async fn reload_while_reading() {
    const READERS: u64 = 8;
    const VERSIONS: u64 = 50;
    let dropped = Arc::new(AtomicU64::new(0));
    let config = Arc::new(RcuArcCell::new(Arc::new(Config {
        version: 0,
        dropped: dropped.clone(),
    })));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (config, stop, reads) = (config.clone(), stop.clone(), reads.clone());
            tokio::spawn(async move {
                let mut last = 0;
                while !stop.load(Ordering::SeqCst) {
                    let borrowed = {
                        let guard = read_lock();
                        config.read(&guard).version
                    };
                    assert!(
                        borrowed >= last,
                        "version went back from {last} to {borrowed}"
                    );
                    let snapshot = config.load_full();
                    tokio::task::yield_now().await;
                    assert!(snapshot.version >= borrowed);
                    last = snapshot.version;
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for version in 1..=VERSIONS {
        config.store(Arc::new(Config {
            version,
            dropped: dropped.clone(),
        }));
        synchronize_rcu_async().await;
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    rcu_barrier_async().await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        VERSIONS,
        "old versions dropped"
    );
    assert_eq!(config.load_full().version, VERSIONS);
    assert!(
        reads.load(Ordering::Relaxed) >= READERS,
        "the readers did no work"
    );
}

#[test]
fn reload_while_reading_current_thread() {
    current_thread().block_on(reload_while_reading());
}

#[test]
fn reload_while_reading_multi_thread() {
    multi_thread().block_on(reload_while_reading());
}

/// `rcu_barrier_async` completes only after every callback queued before it ran, on both runtimes.
fn barrier_runs_earlier_callbacks(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let ran = ran.clone();
            rcu_core::call_rcu(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        rcu_barrier_async().await;
        assert_eq!(ran.load(Ordering::SeqCst), 100);
    });
}

#[test]
fn barrier_runs_earlier_callbacks_current_thread() {
    barrier_runs_earlier_callbacks(&current_thread());
}

#[test]
fn barrier_runs_earlier_callbacks_multi_thread() {
    barrier_runs_earlier_callbacks(&multi_thread());
}

/// A future created and dropped without being polled costs nothing and changes nothing.
#[test]
fn unpolled_futures_are_inert() {
    for _ in 0..1000 {
        drop(synchronize_rcu_async());
    }
    current_thread().block_on(synchronize_rcu_async());
}

/// On a current-thread runtime a guard held across `.await` by one task makes another task's
/// `replace_sync` panic; the message explains the async case and the fix.
#[test]
fn guard_across_await_message_speaks_to_async_users() {
    let rt = current_thread();
    let local = tokio::task::LocalSet::new();
    let cell = Arc::new(RcuCell::new(1u32));
    let message = local.block_on(&rt, async {
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::task::spawn_local(async move {
            let guard = read_lock();
            entered_tx.send(()).unwrap();
            release_rx.await.unwrap(); // the anti-pattern: a guard across `.await`
            drop(guard);
        });
        entered_rx.await.unwrap();
        let writer_cell = cell.clone();
        let writer = tokio::task::spawn_local(async move {
            writer_cell.replace_sync(2);
        });
        let err = writer.await.expect_err("replace_sync did not panic");
        release_tx.send(()).unwrap();
        holder.await.unwrap();
        payload::message(&*err.into_panic())
    });
    for needle in [
        "RcuCell::replace_sync",
        "across an .await",
        "single-threaded runtime",
        "load_full",
        "synchronize_rcu_async",
    ] {
        assert!(
            message.contains(needle),
            "message lacks {needle:?}: {message}"
        );
    }
}

/// The `Domain` forms wait for that domain's readers and callbacks.
#[test]
fn domain_futures() {
    let domain = Domain::new();
    let rt = multi_thread();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let domain = &domain;
        s.spawn(move || {
            let handle = domain.register();
            let _guard = handle.read_lock();
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        entered_rx.recv().unwrap();
        rt.block_on(async {
            let mut fut = domain.synchronize_async();
            assert!(poll_once(&mut fut, Waker::noop()).is_pending());
            // The default domain's grace periods do not wait for the other domain's reader.
            synchronize_rcu_async().await;
            release_tx.send(()).unwrap();
            fut.await;
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            domain.call_rcu(move || r.store(true, Ordering::SeqCst));
            domain.barrier_async().await;
            assert!(ran.load(Ordering::SeqCst));
        });
    });
}
