//! Workload 4: deferred reclamation through `call_rcu`.
//!
//! Every contender queues callbacks that free one heap object (48 bytes of node plus
//! payload, allocated by the enqueuer, as a list removal would). [`drive_enqueue`]
//! measures the enqueue rate, [`drive_reclaim`] the end-to-end rate (enqueue then
//! `rcu_barrier`), [`drive_barrier`] the `rcu_barrier` latency with a small queue, and
//! [`flood`] the backlog a producer flooding the queue builds up.

use std::hint::black_box;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use rcu_core::{RcuHead, container_of};

use crate::driver::timed_parallel;

/// A `call_rcu` implementation.
pub trait Reclaimer: Sync {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// Per-thread set-up before the measured phase.
    fn register(&self) {}

    /// Per-thread tear-down after the measured phase.
    fn unregister(&self) {}

    /// Allocates one object and queues a callback that frees it after a grace period.
    fn enqueue(&self);

    /// Waits until every callback queued before the call has run (`rcu_barrier`).
    fn barrier(&self);

    /// Callbacks queued but not yet run, when the implementation counts them.
    fn pending(&self) -> Option<u64>;
}

/// `threads` threads each queue `iters` callbacks; returns the wall time of the
/// enqueues. The backlog is drained (untimed) before returning.
///
/// ```
/// use benches::reclaim::{drive_enqueue, RcuIntrusive};
/// assert!(drive_enqueue(&RcuIntrusive, 2, 1000).as_nanos() > 0);
/// ```
pub fn drive_enqueue<R: Reclaimer>(reclaimer: &R, threads: usize, iters: u64) -> Duration {
    let elapsed = timed_parallel(
        reclaimer,
        threads,
        0,
        |r, _| r.register(),
        |r, _| {
            for _ in 0..iters {
                r.enqueue();
            }
        },
        |_, _, _| {},
        |r, _| r.unregister(),
    );
    drain(reclaimer);
    elapsed
}

/// One thread queues `iters` callbacks and waits for all of them to run; returns the
/// time for both (end-to-end reclaim).
///
/// ```
/// use benches::reclaim::{drive_reclaim, RcuClosure};
/// assert!(drive_reclaim(&RcuClosure, 1000).as_nanos() > 0);
/// ```
pub fn drive_reclaim<R: Reclaimer>(reclaimer: &R, iters: u64) -> Duration {
    timed_parallel(
        reclaimer,
        1,
        0,
        |r, _| r.register(),
        |r, _| {
            for _ in 0..iters {
                r.enqueue();
            }
            r.barrier();
        },
        |_, _, _| {},
        |r, _| r.unregister(),
    )
}

/// `iters` times: queue `queue_len` callbacks (untimed), then time one `rcu_barrier`.
/// Returns the summed barrier time.
///
/// ```
/// use benches::reclaim::{drive_barrier, RcuIntrusive};
/// assert!(drive_barrier(&RcuIntrusive, 16, 3).as_nanos() > 0);
/// ```
pub fn drive_barrier<R: Reclaimer>(reclaimer: &R, queue_len: u64, iters: u64) -> Duration {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                reclaimer.register();
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for _ in 0..queue_len {
                        reclaimer.enqueue();
                    }
                    let began = Instant::now();
                    reclaimer.barrier();
                    total += began.elapsed();
                }
                reclaimer.unregister();
                total
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Waits for the backlog from a measurement on a registered helper thread.
fn drain<R: Reclaimer>(reclaimer: &R) {
    std::thread::scope(|scope| {
        scope.spawn(|| {
            reclaimer.register();
            reclaimer.barrier();
            reclaimer.unregister();
        });
    });
}

/// What a [`flood`] observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloodStats {
    /// Callbacks queued.
    pub enqueued: u64,
    /// How long the producer ran.
    pub elapsed: Duration,
    /// Largest backlog seen (sampled every 1024 enqueues), if the implementation counts it.
    pub peak_pending: Option<u64>,
    /// Time from the end of the flood until the backlog was drained by `rcu_barrier`.
    pub drain: Duration,
}

impl FloodStats {
    /// Enqueues per second during the flood.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = benches::reclaim::FloodStats {
    ///     enqueued: 1000, elapsed: Duration::from_millis(1), peak_pending: None, drain: Duration::ZERO,
    /// };
    /// assert_eq!(s.rate(), 1.0e6);
    /// ```
    pub fn rate(&self) -> f64 {
        self.enqueued as f64 / self.elapsed.as_secs_f64()
    }
}

/// One producer queues callbacks as fast as it can for `duration`, then drains.
///
/// ```
/// use std::time::Duration;
/// use benches::reclaim::{flood, RcuIntrusive};
/// let s = flood(&RcuIntrusive, Duration::from_millis(20));
/// assert!(s.enqueued > 0);
/// assert!(s.peak_pending.is_some());
/// ```
pub fn flood<R: Reclaimer>(reclaimer: &R, duration: Duration) -> FloodStats {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                reclaimer.register();
                let began = Instant::now();
                let mut enqueued = 0u64;
                let mut peak = reclaimer.pending();
                while began.elapsed() < duration {
                    for _ in 0..1024 {
                        reclaimer.enqueue();
                    }
                    enqueued += 1024;
                    peak = peak.max(reclaimer.pending());
                }
                let elapsed = began.elapsed();
                let drain_began = Instant::now();
                reclaimer.barrier();
                let drain = drain_began.elapsed();
                reclaimer.unregister();
                FloodStats {
                    enqueued,
                    elapsed,
                    peak_pending: peak,
                    drain,
                }
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// The object every contender allocates and frees: an intrusive head plus 32 bytes.
#[derive(Debug)]
struct Node {
    head: RcuHead,
    payload: [u64; 4],
}

/// Callback for [`RcuIntrusive`]: recovers the `Node` from its head and frees it.
///
/// # Safety
/// 1. `head` points to the `head` field of a `Node` leaked by `Box::into_raw` in
///    [`RcuIntrusive::enqueue`].
/// 2. The node is not used by anyone else any more (its callback runs once).
unsafe fn free_node(head: NonNull<RcuHead>) {
    let node: *mut Node = container_of!(head, Node, head);
    // SAFETY: by 1. `node` is the pointer `Box::into_raw` returned, and by 2. this is
    // the only owner, so rebuilding and dropping the box frees it exactly once.
    let node = unsafe { Box::from_raw(node) };
    black_box(node.payload[0]);
}

/// rcu-core's allocation-free intrusive form, `call_rcu1` (QEMU `call_rcu(obj, func, field)`);
/// the only allocation is the object itself.
#[derive(Debug, Default)]
pub struct RcuIntrusive;

impl Reclaimer for RcuIntrusive {
    const NAME: &'static str = "rcu-core call_rcu1 (intrusive)";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn enqueue(&self) {
        let node = Box::into_raw(Box::new(Node {
            head: RcuHead::new(),
            payload: [1; 4],
        }));
        // SAFETY: `node` comes from `Box::into_raw`, so it is non-null and valid; taking
        // the field address does not create a reference.
        let head = unsafe { NonNull::new_unchecked(&raw mut (*node).head) };
        // SAFETY: call_rcu1's contract: the node is leaked, so it stays valid and is not
        // moved until `free_node` runs; the head is fresh, so it is not queued twice;
        // `free_node`'s own contract (a `Node` from `Box::into_raw`, used by no one
        // else) holds because nothing else keeps the pointer.
        unsafe { rcu_core::call_rcu1(head, free_node) };
    }

    fn barrier(&self) {
        rcu_core::rcu_barrier();
    }

    fn pending(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_pending())
    }
}

/// rcu-core's closure form, `call_rcu(move || drop(object))`.
#[derive(Debug, Default)]
pub struct RcuClosure;

impl Reclaimer for RcuClosure {
    const NAME: &'static str = "rcu-core call_rcu (closure)";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn enqueue(&self) {
        let object = Box::new([1u64; 4]);
        rcu_core::call_rcu(move || drop(black_box(object)));
    }

    fn barrier(&self) {
        rcu_core::rcu_barrier();
    }

    fn pending(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrusive_and_closure_forms_reclaim_everything() {
        assert!(drive_enqueue(&RcuIntrusive, 2, 2000) > Duration::ZERO);
        assert!(drive_enqueue(&RcuClosure, 2, 2000) > Duration::ZERO);
        assert!(drive_reclaim(&RcuIntrusive, 2000) > Duration::ZERO);
        assert!(drive_barrier(&RcuClosure, 16, 3) > Duration::ZERO);
    }
}
