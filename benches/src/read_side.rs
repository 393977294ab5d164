//! Workload 1: the cost of entering and leaving a read-side critical section.
//!
//! Every contender implements [`ReadSide`]; [`drive`] runs `threads` copies of
//! [`ReadSide::read_pairs`] in parallel and times them. The contenders that need
//! the benchmark-only competitors (crossbeam-epoch, arc-swap, parking_lot) are
//! implemented next to the criterion target, `benches/read_side.rs`.

use std::hint::black_box;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::driver::timed_parallel;

/// A read-side primitive: something a reader enters and leaves.
pub trait ReadSide: Sync {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// Per-thread set-up before the measured phase (RCU thread registration).
    fn register(&self) {}

    /// Per-thread tear-down after the measured phase.
    fn unregister(&self) {}

    /// Enters and leaves the read side `n` times.
    fn read_pairs(&self, n: u64);
}

/// Runs [`ReadSide::read_pairs`]`(iters)` on `threads` threads at once and returns the
/// wall time of that parallel phase.
///
/// ```
/// use benches::read_side::{drive, RcuCore};
/// let t = drive(&RcuCore, 2, 1000);
/// assert!(t.as_nanos() > 0);
/// ```
pub fn drive<R: ReadSide>(contender: &R, threads: usize, iters: u64) -> Duration {
    timed_parallel(
        contender,
        threads,
        0,
        |c, _| c.register(),
        |c, _| c.read_pairs(iters),
        |_, _, _| {},
        |c, _| c.unregister(),
    )
}

/// rcu-core: `rcu_core::read_lock()` and dropping the guard (QEMU `RCU_READ_LOCK_GUARD`).
#[derive(Debug, Default)]
pub struct RcuCore;

impl ReadSide for RcuCore {
    const NAME: &'static str = "rcu-core";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = rcu_core::read_lock();
            black_box(&guard);
            drop(guard);
        }
    }
}

/// rcu-core, nested: an inner guard inside an outer one, so only the inner pair is
/// measured (the nesting fast path that never touches shared state).
#[derive(Debug, Default)]
pub struct RcuCoreNested;

impl ReadSide for RcuCoreNested {
    const NAME: &'static str = "rcu-core (nested)";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn read_pairs(&self, n: u64) {
        let outer = rcu_core::read_lock();
        for _ in 0..n {
            let guard = rcu_core::read_lock();
            black_box(&guard);
            drop(guard);
        }
        drop(outer);
    }
}

/// rcu-core, an independent domain: `Domain::read_lock()` (the thread-local record look-up, then the
/// same read side as the default domain) and dropping the guard.
#[derive(Debug, Default)]
pub struct RcuCoreDomain(rcu_core::Domain);

impl ReadSide for RcuCoreDomain {
    const NAME: &'static str = "rcu-core Domain";

    fn register(&self) {
        drop(self.0.read_lock());
    }

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = self.0.read_lock();
            black_box(&guard);
            drop(guard);
        }
    }
}

/// `std::sync::RwLock::read()` on an uncontended lock.
#[derive(Debug, Default)]
pub struct StdRwLock(RwLock<u64>);

impl ReadSide for StdRwLock {
    const NAME: &'static str = "std RwLock";

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = self.0.read().unwrap_or_else(PoisonError::into_inner);
            black_box(*guard);
        }
    }
}

/// `std::sync::Mutex::lock()`: every reader excludes every other reader.
#[derive(Debug, Default)]
pub struct StdMutex(Mutex<u64>);

impl ReadSide for StdMutex {
    const NAME: &'static str = "std Mutex";

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            black_box(*guard);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_local_contender_runs_in_parallel() {
        assert!(drive(&RcuCore, 2, 100) > Duration::ZERO);
        assert!(drive(&RcuCoreNested, 2, 100) > Duration::ZERO);
        assert!(drive(&RcuCoreDomain::default(), 2, 100) > Duration::ZERO);
        assert!(drive(&StdRwLock::default(), 2, 100) > Duration::ZERO);
        assert!(drive(&StdMutex::default(), 2, 100) > Duration::ZERO);
    }
}
