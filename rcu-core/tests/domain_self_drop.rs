//! A `Domain` whose last reference is dropped inside one of its own callbacks: the drop runs on the
//! domain's callback thread, which cannot wait for itself. The callbacks queued before the drop must
//! still run, and the thread must exit and free the domain. Its own test binary, because it counts
//! the process's callback threads.
#![cfg(target_os = "linux")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::Domain;

/// Threads of this process named like rcu-core's callback threads.
fn callback_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("cannot list /proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "call_rcu")
        .count()
}

#[test]
fn domain_dropped_inside_its_own_callback() {
    let before = callback_threads();
    let domain = Arc::new(Domain::new());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    {
        let last = Arc::clone(&domain);
        domain.call_rcu(move || {
            // Wait until the test has dropped its reference, so that this one is the last.
            go_rx.recv().unwrap();
            drop(last);
            dropped_tx.send(()).unwrap();
        });
    }
    let later_ran = Arc::new(AtomicBool::new(false));
    {
        let later_ran = Arc::clone(&later_ran);
        domain.call_rcu(move || later_ran.store(true, SeqCst));
    }
    drop(domain);
    go_tx.send(()).unwrap();
    dropped_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the self-dropping callback did not finish");
    // The thread finishes the callbacks queued before the drop, then exits. The polling interval
    // only sets how soon that is noticed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while callback_threads() > before {
        assert!(
            Instant::now() < deadline,
            "the callback thread of a domain dropped in its own callback never exited"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert!(
        later_ran.load(SeqCst),
        "a callback queued before the drop never ran"
    );
}
