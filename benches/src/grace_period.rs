//! Workload 3: `synchronize_rcu` latency.
//!
//! [`drive_synchronize`] times one caller with no other registered thread, with one
//! registered but idle reader, or with one reader looping over short read-side
//! sections. [`drive_callers`] runs several callers at once (with or without a busy
//! reader); because concurrent callers share grace periods, it also reports how many
//! grace periods one "round" (every caller completing one call) cost, from the engine's
//! own counters. With no registered reader a grace period is nearly free, so sharing
//! only shows (and only matters) with a reader around.

use std::hint::black_box;
use std::time::Duration;

use crate::driver::{Stop, timed_parallel};

/// An RCU flavor whose grace periods are measured.
pub trait GracePeriod: Sync {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// Registers the calling thread as a reader.
    fn register(&self);

    /// Unregisters the calling thread.
    fn unregister(&self);

    /// Waits for a grace period (`synchronize_rcu`).
    fn synchronize(&self);

    /// Enters and leaves short read-side sections until `stop` is set (a busy reader).
    fn busy_read(&self, stop: &Stop);

    /// Grace periods completed so far, when the flavor counts them.
    fn grace_periods(&self) -> Option<u64>;
}

/// Who else is around while `synchronize_rcu` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readers {
    /// No registered reader thread.
    None,
    /// One registered reader that is blocked outside any read-side section.
    Idle,
    /// One reader looping over short read-side sections.
    Busy,
}

impl Readers {
    /// The label used in benchmark ids.
    ///
    /// ```
    /// assert_eq!(benches::grace_period::Readers::Busy.label(), "1 busy reader");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Readers::None => "0 readers",
            Readers::Idle => "1 idle reader",
            Readers::Busy => "1 busy reader",
        }
    }
}

/// One unregistered caller performs `iters` `synchronize_rcu` calls with `readers`
/// around; returns their total wall time.
///
/// ```
/// use benches::grace_period::{drive_synchronize, Readers, RcuCore};
/// assert!(drive_synchronize(&RcuCore, Readers::Busy, 10).as_nanos() > 0);
/// ```
pub fn drive_synchronize<G: GracePeriod>(flavor: &G, readers: Readers, iters: u64) -> Duration {
    let background = usize::from(readers != Readers::None);
    timed_parallel(
        flavor,
        1,
        background,
        // Only the background reader registers: the caller stays unregistered, as a
        // pure updater would.
        |g, index| {
            if index > 0 {
                g.register();
            }
        },
        |g, _| {
            for _ in 0..iters {
                g.synchronize();
            }
        },
        |g, _, stop| match readers {
            Readers::Busy => g.busy_read(stop),
            Readers::Idle | Readers::None => stop.wait(),
        },
        |g, index| {
            if index > 0 {
                g.unregister();
            }
        },
    )
}

/// `callers` threads each call `synchronize_rcu` `rounds` times at once, with `readers`
/// around. Returns the wall time and the grace periods the engine completed meanwhile
/// (if it counts them).
///
/// ```
/// use benches::grace_period::{drive_callers, RcuCore, Readers};
/// let (t, gps) = drive_callers(&RcuCore, 4, Readers::Busy, 20);
/// assert!(t.as_nanos() > 0);
/// assert!(gps.unwrap() >= 1);
/// ```
pub fn drive_callers<G: GracePeriod>(
    flavor: &G,
    callers: usize,
    readers: Readers,
    rounds: u64,
) -> (Duration, Option<u64>) {
    let before = flavor.grace_periods();
    let elapsed = timed_parallel(
        flavor,
        callers,
        usize::from(readers != Readers::None),
        |g, index| {
            if index >= callers {
                g.register();
            }
        },
        |g, _| {
            for _ in 0..rounds {
                g.synchronize();
            }
        },
        |g, _, stop| match readers {
            Readers::Busy => g.busy_read(stop),
            Readers::Idle | Readers::None => stop.wait(),
        },
        |g, index| {
            if index >= callers {
                g.unregister();
            }
        },
    );
    let after = flavor.grace_periods();
    (elapsed, before.zip(after).map(|(b, a)| a - b))
}

/// Grace periods per round with `callers` concurrent callers and `readers` around, over
/// `rounds` rounds: 1.0 would mean every round was served by a single shared grace
/// period.
///
/// ```
/// use benches::grace_period::{grace_periods_per_round, RcuCore, Readers};
/// let per_round = grace_periods_per_round(&RcuCore, 4, Readers::Busy, 50);
/// assert!(per_round.unwrap() > 0.0);
/// ```
pub fn grace_periods_per_round<G: GracePeriod>(
    flavor: &G,
    callers: usize,
    readers: Readers,
    rounds: u64,
) -> Option<f64> {
    let (_, gps) = drive_callers(flavor, callers, readers, rounds);
    gps.map(|g| g as f64 / rounds as f64)
}

/// rcu-core's default domain.
#[derive(Debug, Default)]
pub struct RcuCore;

impl GracePeriod for RcuCore {
    const NAME: &'static str = "rcu-core";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn unregister(&self) {
        rcu_core::unregister_thread();
    }

    fn synchronize(&self) {
        rcu_core::synchronize_rcu();
    }

    fn busy_read(&self, stop: &Stop) {
        while !stop.is_set() {
            let guard = rcu_core::read_lock();
            black_box(&guard);
            drop(guard);
        }
    }

    fn grace_periods(&self) -> Option<u64> {
        Some(rcu_core::stats().grace_periods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_mode_completes() {
        for readers in [Readers::None, Readers::Idle, Readers::Busy] {
            assert!(drive_synchronize(&RcuCore, readers, 5) > Duration::ZERO);
        }
    }

    #[test]
    fn concurrent_callers_complete_grace_periods() {
        for readers in [Readers::None, Readers::Busy] {
            let (_, gps) = drive_callers(&RcuCore, 4, readers, 10);
            assert!(gps.unwrap() >= 1);
        }
    }
}
