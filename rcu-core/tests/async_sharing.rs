//! Concurrent awaits share grace periods: 10,000 tasks awaiting `synchronize_rcu_async` at once cost
//! a handful of grace periods, on both runtimes, while awaits made one after another cost at least
//! one each (the control that shows the counter measures what we claim). "At once" is made
//! deterministic: a reader parked in its section keeps every grace period from ending until all the
//! futures have been polled, however slowly a loaded machine creates them.
//! Its own test binary because it reads the process-wide `stats()`; the tests take turns.
// Built on the default domain, which does not exist under loom.
#![cfg(not(loom))]

#[path = "common/reader.rs"]
mod reader;

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use rcu_core::{read_lock, stats, synchronize_rcu_async};
use reader::HeldReader;

const TASKS: u64 = 10_000;
/// "A handful": the grace period that was waiting for the parked reader, one that serves every
/// future polled while it waited, and one of slack for a grace period already running when the
/// count was read. Without sharing it would be one per task.
const MAX_GRACE_PERIODS: u64 = 4;

static TURN: Mutex<()> = Mutex::new(());

/// A thread looping over short read-side sections, so that grace periods do real work.
struct BusyReader {
    stop: Arc<AtomicBool>,
    sections: Arc<AtomicU64>,
    thread: thread::JoinHandle<()>,
}

impl BusyReader {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sections = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), sections.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let _guard = read_lock();
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
        BusyReader {
            stop,
            sections,
            thread,
        }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.sections.load(Ordering::Relaxed)
    }
}

/// Spawns `TASKS` tasks that all await one grace period each, and returns the grace periods the
/// whole run cost. A parked reader holds every grace period back until each task has polled its
/// future once (and found it pending), so all the futures overlap whatever the scheduling.
fn concurrent_awaits(rt: &tokio::runtime::Runtime) -> u64 {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let reader = BusyReader::start();
    let done = Arc::new(AtomicU64::new(0));
    let polled = Arc::new(AtomicU64::new(0));
    let before = stats().grace_periods;
    let parked = HeldReader::enter("parked-reader");
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (polled, done) = (polled.clone(), done.clone());
                tokio::spawn(async move {
                    let mut wait = pin!(synchronize_rcu_async());
                    let first = poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
                    assert!(
                        first.is_pending(),
                        "a grace period ended while a reader was parked in its section"
                    );
                    polled.fetch_add(1, Ordering::SeqCst);
                    wait.await;
                    done.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        while polled.load(Ordering::SeqCst) < TASKS {
            tokio::task::yield_now().await;
        }
        parked.leave();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let gps = stats().grace_periods - before;
    assert!(reader.stop() > 0, "the busy reader never ran");
    assert_eq!(done.load(Ordering::Relaxed), TASKS);
    println!("{TASKS} concurrent awaits: {gps} grace periods");
    gps
}

fn assert_shared(rt: &tokio::runtime::Runtime) {
    let gps = concurrent_awaits(rt);
    assert!(
        (1..=MAX_GRACE_PERIODS).contains(&gps),
        "{TASKS} concurrent awaits cost {gps} grace periods"
    );
}

#[test]
fn concurrent_awaits_share_grace_periods_multi_thread() {
    assert_shared(
        &tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    );
}

#[test]
fn concurrent_awaits_share_grace_periods_current_thread() {
    assert_shared(
        &tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    );
}

/// The control: awaits that cannot overlap need one grace period each, so a counter that failed to
/// count (or futures that completed without a grace period) would show here.
#[test]
fn sequential_awaits_need_one_grace_period_each() {
    const SEQUENTIAL: u64 = 20;
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let before = stats().grace_periods;
    rt.block_on(async {
        for _ in 0..SEQUENTIAL {
            synchronize_rcu_async().await;
        }
    });
    let gps = stats().grace_periods - before;
    assert!(
        gps >= SEQUENTIAL,
        "{SEQUENTIAL} sequential awaits cost only {gps} grace periods"
    );
}
