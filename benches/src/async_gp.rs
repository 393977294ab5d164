//! Workload 8: awaiting grace periods from async code.
//!
//! [`RcuCoreAsync`] is the [`GracePeriod`] contender whose `synchronize` is
//! `synchronize_rcu_async().await` on a current-thread tokio runtime, so that
//! [`grace_period::drive_synchronize`](crate::grace_period::drive_synchronize) times it next to
//! the blocking `synchronize_rcu` under the same reader setups. [`drive_concurrent_awaits`] has
//! many tasks await one grace period each at once and reports how many grace periods that cost
//! (from `rcu_core::stats()`): concurrent awaits share them.

use std::cell::OnceCell;
use std::time::{Duration, Instant};

use crate::driver::Stop;
use crate::grace_period::{GracePeriod, Readers};

thread_local! {
    /// One current-thread runtime per calling thread, built once (building it is not timed).
    static RUNTIME: OnceCell<tokio::runtime::Runtime> = const { OnceCell::new() };
}

/// Runs `fut` to completion on this thread's current-thread runtime.
///
/// ```
/// benches::async_gp::block_on(rcu_core::synchronize_rcu_async());
/// ```
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    RUNTIME.with(|rt| {
        rt.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("cannot build a tokio runtime")
        })
        .block_on(fut)
    })
}

/// rcu-core's default domain, grace periods awaited with `synchronize_rcu_async`.
#[derive(Debug, Default)]
pub struct RcuCoreAsync;

impl GracePeriod for RcuCoreAsync {
    const NAME: &'static str = "rcu-core async";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn unregister(&self) {
        rcu_core::unregister_thread();
    }

    fn synchronize(&self) {
        block_on(rcu_core::synchronize_rcu_async());
    }

    fn busy_read(&self, stop: &Stop) {
        crate::grace_period::RcuCore.busy_read(stop);
    }

    fn grace_periods(&self) -> Option<u64> {
        Some(rcu_core::stats().grace_periods)
    }
}

/// `rounds` times: `tasks` tasks on a current-thread runtime each await
/// `synchronize_rcu_async()` at once, with `readers` around (a busy reader is a thread looping over
/// short sections). Returns the wall time and the grace periods completed meanwhile.
///
/// ```
/// use benches::async_gp::drive_concurrent_awaits;
/// use benches::grace_period::Readers;
/// let (t, gps) = drive_concurrent_awaits(100, Readers::Busy, 2);
/// assert!(t.as_nanos() > 0 && gps >= 1);
/// ```
pub fn drive_concurrent_awaits(tasks: usize, readers: Readers, rounds: u64) -> (Duration, u64) {
    let stop = Stop::new();
    std::thread::scope(|s| {
        if readers != Readers::None {
            s.spawn(|| {
                rcu_core::register_thread();
                match readers {
                    Readers::Busy => crate::grace_period::RcuCore.busy_read(&stop),
                    Readers::Idle | Readers::None => stop.wait(),
                }
                rcu_core::unregister_thread();
            });
        }
        let before = rcu_core::stats().grace_periods;
        let start = Instant::now();
        block_on(async {
            for _ in 0..rounds {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| tokio::spawn(rcu_core::synchronize_rcu_async()))
                    .collect();
                for h in handles {
                    h.await.expect("an awaiting task panicked");
                }
            }
        });
        let elapsed = start.elapsed();
        let gps = rcu_core::stats().grace_periods - before;
        stop.set();
        (elapsed, gps)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_awaits_share_grace_periods() {
        let (_, gps) = drive_concurrent_awaits(1000, Readers::Busy, 3);
        assert!((1..=3 * 20).contains(&gps), "{gps} grace periods");
    }
}
