//! `fork()` while other threads use rcu-core for the first time. rcu-core's fork handlers used to be
//! installed lazily, inside a `std::sync::Once`, by the first thread to use the crate: a fork that
//! landed while that `Once` ran gave the child a `Once` stuck "running" forever, and the child's
//! first read-side section hung (CI saw `fork_storm`'s first child hang this way). The handlers are
//! now installed when the program is loaded, before `main`, like QEMU's `rcu_init` constructor.
//!
//! The window is a few hundred nanoseconds once per process, so the test runs many fresh processes
//! (this test binary again, one race each): in each, threads make their first rcu-core call at the
//! moment the main thread forks several times; every child must get through a read-side section,
//! a grace period and a callback.

#![cfg(target_os = "linux")]

#[path = "common/child.rs"]
mod child;
use rcu_test_support::fork;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;

use fork::{describe, exited_ok, wait_bounded};

/// Set in the processes that run one race.
const ROLE: &str = "RCU_CORE_FORK_FIRST_USE_RACE";
/// Fresh processes (one race each).
const PROCESSES: usize = 200;
/// Threads making their first rcu-core call, and forks made meanwhile, per process.
const FIRST_USERS: usize = 3;
const FORKS: usize = 8;

/// In a child: the first rcu-core calls of this process image.
fn child_uses_rcu() -> i32 {
    drop(rcu_core::read_lock());
    rcu_core::synchronize_rcu();
    let (tx, rx) = std::sync::mpsc::channel();
    rcu_core::call_rcu(move || tx.send(()).unwrap());
    rcu_core::rcu_barrier();
    rx.try_recv().map_or(1, |()| 0)
}

/// One race: `FIRST_USERS` threads start their first rcu-core call together while this thread forks
/// `FORKS` times in a row; then every child's status is checked.
fn race() {
    let go = Arc::new(AtomicBool::new(false));
    let forked = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let users: Vec<_> = (0..FIRST_USERS)
        .map(|_| {
            let (go, forked, started) = (go.clone(), forked.clone(), started.clone());
            thread::spawn(move || {
                started.fetch_add(1, SeqCst);
                while !go.load(SeqCst) {
                    thread::yield_now();
                }
                rcu_core::register_thread();
                while !forked.load(SeqCst) {
                    thread::yield_now();
                }
            })
        })
        .collect();
    // Fork only while every user thread runs (started, and not exiting before the forks are done):
    // a fork while the standard library starts or ends a thread leaves its thread-bookkeeping lock
    // held in the child, where spawning any thread then hangs (a limit of forking a multithreaded
    // process that rcu-core cannot lift; its own callback thread is never caught that way).
    while started.load(SeqCst) < FIRST_USERS {
        thread::yield_now();
    }
    go.store(true, SeqCst);
    let mut children = Vec::with_capacity(FORKS);
    for _ in 0..FORKS {
        // SAFETY: the child only runs `child_uses_rcu` (rcu-core's own fork handlers, when
        // installed, and glibc's make that safe) and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: alarm arms a timer for this process; _exit leaves without running the
            // parent's exit handlers.
            unsafe {
                libc::alarm(fork::CHILD_TIMEOUT_SECS);
                libc::_exit(child_uses_rcu());
            }
        }
        children.push(pid);
    }
    forked.store(true, SeqCst);
    for user in users {
        user.join().unwrap();
    }
    for (i, pid) in children.into_iter().enumerate() {
        let status = wait_bounded(pid);
        assert!(
            exited_ok(status),
            "child {i} of a fork racing with the first rcu-core calls failed ({})",
            describe(status)
        );
    }
}

#[test]
fn forks_racing_with_the_first_use_give_working_children() {
    if child::in_own_process(
        "forks_racing_with_the_first_use_give_working_children",
        ROLE,
        PROCESSES,
        child::Stderr::Captured,
    ) {
        race();
    }
}
