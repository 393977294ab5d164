//! Workload 7: the cost of rcu-core's polling API, the non-blocking alternative to
//! `synchronize_rcu` (Linux `start_poll_synchronize_rcu` / `poll_state_synchronize_rcu`).
//!
//! [`drive_start_poll`] times `start_poll_synchronize_rcu()` (a snapshot of the grace-period
//! state plus queueing the empty callback that makes sure a grace period will run);
//! [`drive_poll_state`] times `poll_state_synchronize_rcu(state)` on a state whose grace
//! period has elapsed (the call a user makes on every pass of a polling loop).
//! The system liburcu of Debian 12 (0.13) has no polling API, so there is no C side-by-side.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// `iters` calls of `rcu_core::start_poll_synchronize_rcu()`, timed; the callbacks they
/// queued are drained (untimed) before returning.
///
/// ```
/// assert!(benches::polling::drive_start_poll(100).as_nanos() > 0);
/// ```
pub fn drive_start_poll(iters: u64) -> Duration {
    let began = Instant::now();
    for _ in 0..iters {
        black_box(rcu_core::start_poll_synchronize_rcu());
    }
    let elapsed = began.elapsed();
    rcu_core::rcu_barrier();
    elapsed
}

/// `iters` calls of `rcu_core::poll_state_synchronize_rcu(state)` on one state whose grace
/// period has elapsed, timed.
///
/// # Panics
/// If a poll says the grace period has not elapsed although `synchronize_rcu` returned
/// after the state was taken (a bug in the polling API).
///
/// ```
/// assert!(benches::polling::drive_poll_state(100).as_nanos() > 0);
/// ```
#[track_caller]
pub fn drive_poll_state(iters: u64) -> Duration {
    let state = rcu_core::start_poll_synchronize_rcu();
    rcu_core::synchronize_rcu();
    let mut elapsed_polls = 0u64;
    let began = Instant::now();
    for _ in 0..iters {
        elapsed_polls += u64::from(rcu_core::poll_state_synchronize_rcu(black_box(state)));
    }
    let elapsed = began.elapsed();
    assert_eq!(
        elapsed_polls, iters,
        "poll_state_synchronize_rcu said a grace period had not elapsed after synchronize_rcu \
         returned; the polling API is broken"
    );
    elapsed
}
