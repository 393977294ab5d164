//! `fork()` from a multi-threaded process: the child (and its own child) keeps using RCU — a fresh
//! callback thread, a registry holding only itself — even if the parent was in the middle of grace
//! periods, or had a reader inside a section, when it forked (QEMU `rcu_init_child`, liburcu
//! `test_urcu_fork`).
//!
//! The children only run the checks below and leave with `_exit`, never returning into the test
//! harness; a hung child is killed (its own `alarm`, or the parent after a deadline), and the parent
//! checks the exit status with `waitpid`.

#![cfg(unix)]

use rcu_test_support::fork;
#[path = "common/reader.rs"]
mod reader;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;

use fork::{describe, exited_ok, fork_with};
use rcu_core::{call_rcu, rcu_barrier, read_lock, read_ongoing, synchronize_rcu};
use reader::HeldReader;

/// Everything a child checks; panics on failure.
fn child_checks() {
    assert!(!read_ongoing());
    {
        let _outer = read_lock();
        let _inner = read_lock();
        assert!(read_ongoing());
    }
    assert!(!read_ongoing());
    // The parent's readers do not exist here, so this must not wait for them.
    synchronize_rcu();
    let (tx, rx) = mpsc::channel();
    call_rcu(move || tx.send(()).unwrap());
    rcu_barrier();
    rx.try_recv()
        .expect("rcu_barrier returned before the child's callback ran");
    let state = rcu_core::start_poll_synchronize_rcu();
    rcu_core::cond_synchronize_rcu(state);
    assert!(rcu_core::poll_state_synchronize_rcu(state));
}

/// Forks; the child runs `child_checks`, forks `depth - 1` levels further, and exits 0 on success.
/// Returns the child's wait status in the parent.
fn fork_and_check(depth: u32) -> libc::c_int {
    fork_with(|| {
        child_checks();
        if depth > 1 {
            let status = fork_and_check(depth - 1);
            assert!(exited_ok(status), "grandchild failed: {}", describe(status));
        }
        0
    })
}

#[test]
fn fork_child_keeps_using_rcu() {
    // Phase 1: fork repeatedly while another thread keeps grace periods and callbacks going, so that
    // forks land while rcu-core's locks are taken.
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(false));
    let busy = {
        let (stop, running) = (Arc::clone(&stop), Arc::clone(&running));
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                synchronize_rcu();
                call_rcu(|| ());
                let _guard = read_lock();
                running.store(true, SeqCst);
            }
        })
    };
    // Fork only once the busy thread runs (see tests/fork_storm.rs: a fork while the standard
    // library starts a thread leaves the child unable to start its own).
    while !running.load(SeqCst) {
        thread::yield_now();
    }
    for _ in 0..10 {
        let status = fork_and_check(3);
        assert!(exited_ok(status), "child failed: {}", describe(status));
    }
    stop.store(true, SeqCst);
    busy.join().unwrap();
    // Phase 2 needs no grace period in flight: let the callback thread finish the batches of
    // phase 1 (the busy thread's last callbacks reach it from its buffer only when it exits).
    rcu_barrier();

    // Phase 2: fork while a reader thread is inside a section. The child's grace periods must not
    // wait for it (it does not exist there). (Forking while a grace period waits is not supported:
    // fork waits for the grace period, as in QEMU.)
    // Drain phase 1's callbacks first: a batch the callback thread started after the reader entered
    // would wait for the reader while holding the batch lock that `fork()` takes (seen hanging
    // under `taskset -c 0` on a loaded machine).
    rcu_barrier();
    let reader = HeldReader::enter("fork-reader");
    let status = fork_and_check(2);
    assert!(exited_ok(status), "child failed: {}", describe(status));
    let writer_done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = Arc::clone(&writer_done);
        thread::spawn(move || {
            synchronize_rcu();
            done.store(true, SeqCst);
        })
    };
    // In the parent, the reader still blocks grace periods.
    for _ in 0..1000 {
        assert!(!writer_done.load(SeqCst));
        thread::yield_now();
    }
    reader.leave();
    writer.join().unwrap();

    // The parent is unaffected.
    child_checks();
}
