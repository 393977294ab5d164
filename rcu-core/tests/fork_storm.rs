//! A fork storm: `fork()` while other threads run grace periods back to back, so that forks land at
//! every point of a grace period. Its own test binary: forking waits for a running grace period (as
//! in QEMU), so it must not share a process with tests that hold readers across a fork.

#![cfg(unix)]

use rcu_test_support::fork;
#[path = "common/reader.rs"]
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use fork::{describe, exited_ok, fork_with};
use rcu_core::synchronize_rcu;
use reader::HeldReader;

/// Exit codes of [`child_grace_periods_wait`].
const POLL_DONE_TOO_EARLY: i32 = 2;
const SYNCHRONIZE_RETURNED_TOO_EARLY: i32 = 3;
const POLL_NEVER_DONE: i32 = 4;
const NO_STALL_SEEN: i32 = 5;

/// Waits (bounded) until the default domain has printed more than `before` stall warnings: the only
/// outside sign that a grace period has advanced the reader counter and is waiting for a reader. The
/// polling interval only sets how soon that is noticed.
fn stall_seen(before: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while rcu_core::stats().stall_warnings <= before {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_micros(200));
    }
    true
}

/// In a child: a poll state taken, and a `synchronize_rcu` called, while a grace period G1 runs must
/// both wait for a reader R that entered after G1 began (G1 does not wait for R, so only a grace
/// period that starts after the call may satisfy it). Returns 0 or one of the codes above.
fn child_grace_periods_wait() -> i32 {
    rcu_core::set_stall_timeout(Some(Duration::from_millis(1)));
    let r0 = HeldReader::enter("r0");
    let warnings = rcu_core::stats().stall_warnings;
    let g1 = thread::spawn(synchronize_rcu);
    if !stall_seen(warnings) {
        return NO_STALL_SEEN;
    }
    // G1 has advanced the counter and waits for r0: R gets the new counter, so G1 ignores it.
    let r = HeldReader::enter("r");
    let state = rcu_core::start_poll_synchronize_rcu();
    let w_done = Arc::new(AtomicBool::new(false));
    let w = {
        let done = Arc::clone(&w_done);
        thread::spawn(move || {
            synchronize_rcu();
            done.store(true, SeqCst);
        })
    };
    let warnings = rcu_core::stats().stall_warnings;
    r0.leave();
    // G1 ends; a later grace period, which must wait for R, stalls on it.
    if !stall_seen(warnings) {
        return NO_STALL_SEEN;
    }
    if rcu_core::poll_state_synchronize_rcu(state) {
        return POLL_DONE_TOO_EARLY;
    }
    if w_done.load(SeqCst) {
        return SYNCHRONIZE_RETURNED_TOO_EARLY;
    }
    r.leave();
    g1.join().unwrap();
    w.join().unwrap();
    if !rcu_core::poll_state_synchronize_rcu(state) {
        return POLL_NEVER_DONE;
    }
    0
}

/// Forks repeatedly while three threads call `synchronize_rcu` in a loop, so that forks land at
/// every point of a grace period (in particular between the start of a grace period and its leader
/// taking the run lock). Each child checks that polling and `synchronize_rcu` still wait for readers
/// (see [`child_grace_periods_wait`]).
#[test]
fn fork_storm_children_wait_for_preexisting_readers() {
    const MAX_FORKS: u32 = 3000;
    const MAX_TIME: Duration = Duration::from_secs(3);
    const CALLERS: usize = 3;
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (stop, running) = (Arc::clone(&stop), Arc::clone(&running));
            thread::spawn(move || {
                rcu_core::register_thread();
                running.fetch_add(1, SeqCst);
                while !stop.load(SeqCst) {
                    synchronize_rcu();
                }
            })
        })
        .collect();
    // Fork only once every caller runs: a fork while the standard library is still starting a thread
    // leaves its thread-bookkeeping lock held in the child, whose own threads then never start (the
    // first CI run of this test hung that way, or in rcu-core's then lazily installed fork handlers,
    // see tests/fork_first_use.rs).
    while running.load(SeqCst) < CALLERS {
        thread::yield_now();
    }
    let start = Instant::now();
    let mut forks = 0;
    let mut failure = None;
    while forks < MAX_FORKS && start.elapsed() < MAX_TIME {
        let status = fork_with(child_grace_periods_wait);
        forks += 1;
        if !exited_ok(status) {
            failure = Some(status);
            break;
        }
    }
    stop.store(true, SeqCst);
    for caller in callers {
        caller.join().unwrap();
    }
    if let Some(status) = failure {
        let what = match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
            Some(POLL_DONE_TOO_EARLY) => "poll_state_synchronize_rcu returned true",
            Some(SYNCHRONIZE_RETURNED_TOO_EARLY) => "synchronize_rcu returned",
            _ => "",
        };
        panic!(
            "fork {forks}: child failed ({}){}",
            describe(status),
            if what.is_empty() {
                String::new()
            } else {
                format!(": {what} while a pre-existing reader was still inside")
            }
        );
    }
    eprintln!(
        "fork storm: {forks} children checked in {:?}",
        start.elapsed()
    );
    assert!(
        forks >= 50,
        "only {forks} forks ran: the storm did no real work"
    );
}
