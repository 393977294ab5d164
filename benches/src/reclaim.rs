//! Workload 4: deferred reclamation through `call_rcu`.
//!
//! Every contender queues callbacks that free one heap object (48 bytes of node plus
//! payload, allocated by the enqueuer, as a list removal would). [`drive_enqueue`]
//! measures the enqueue rate, [`drive_reclaim`] the end-to-end rate (enqueue then
//! `rcu_barrier`), [`drive_barrier`] the `rcu_barrier` latency with a small queue, and
//! [`flood`] the backlog a producer flooding the queue builds up (and, with
//! [`flood_rss`], the resident memory it costs). [`drive_enqueue_prealloc`] measures the
//! enqueue alone, on preallocated objects, and [`callback_latency`] the time from
//! `call_rcu` to the callback, on an idle system or under a flood.

use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rcu_core::{DefaultDomain, RcuDomain, RcuHead, container_of};

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
    flood_sampled(reclaimer, duration, || {})
}

/// [`flood`], also sampling the resident set every 16 Ki enqueues; returns the stats
/// and the largest growth of the resident set over its size at the start, in bytes
/// (`None` where `/proc/self/statm` is unreadable). In-process: run it first, or in a
/// fresh process, for a clean figure.
///
/// ```
/// use std::time::Duration;
/// use benches::reclaim::{flood_rss, RcuIntrusive};
/// let (s, _growth) = flood_rss(&RcuIntrusive, Duration::from_millis(20));
/// assert!(s.enqueued > 0);
/// ```
pub fn flood_rss<R: Reclaimer>(reclaimer: &R, duration: Duration) -> (FloodStats, Option<u64>) {
    let base = resident_bytes();
    let mut peak = base;
    let mut round = 0u32;
    let stats = flood_sampled(reclaimer, duration, || {
        round += 1;
        if round % 16 == 0 {
            peak = peak.max(resident_bytes());
        }
    });
    let growth = peak.zip(base).map(|(p, b)| p.saturating_sub(b));
    (stats, growth)
}

/// The resident set size of this process, from `/proc/self/statm`.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// [`flood`]'s loop; `sample` runs after every 1024 enqueues.
fn flood_sampled<R: Reclaimer>(
    reclaimer: &R,
    duration: Duration,
    mut sample: impl FnMut() + Send,
) -> FloodStats {
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
                    sample();
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

/// A contender that can queue callbacks on objects allocated beforehand (no allocation
/// and no free in the measured loop: the enqueue alone).
pub trait Preallocated: Reclaimer {
    /// Queues a callback on each of `nodes` that leaves it allocated.
    ///
    /// # Safety
    /// No node of `nodes` is queued already; the slice outlives the callbacks (the caller
    /// waits with [`Reclaimer::barrier`] before reusing or freeing it).
    unsafe fn enqueue_prealloc(&self, nodes: &[PreNode]);
}

/// A preallocated object: a head (layout-compatible with liburcu's `struct rcu_head`:
/// two pointers) plus the same 32-byte payload as the freed objects.
#[repr(C)]
#[derive(Debug, Default)]
pub struct PreNode {
    head: RcuHead,
    payload: [u64; 4],
}

/// Callback for [`PreNode`]s: leaves the node allocated.
///
/// # Safety
/// None needed: it touches nothing.
unsafe fn keep_node(head: NonNull<RcuHead>) {
    black_box(head);
}

/// `threads` threads each queue `iters` callbacks on preallocated nodes (a pool of at
/// most 64 Ki nodes, reused after a barrier); returns the slowest thread's time spent
/// enqueueing (the barriers are not timed).
///
/// ```
/// use benches::reclaim::{drive_enqueue_prealloc, RcuIntrusive};
/// assert!(drive_enqueue_prealloc(&RcuIntrusive, 2, 1000).as_nanos() > 0);
/// ```
pub fn drive_enqueue_prealloc<R: Preallocated>(
    reclaimer: &R,
    threads: usize,
    iters: u64,
) -> Duration {
    const POOL: u64 = 1 << 16;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    reclaimer.register();
                    let pool: Vec<PreNode> =
                        (0..iters.min(POOL)).map(|_| PreNode::default()).collect();
                    let mut left = iters;
                    let mut timed = Duration::ZERO;
                    while left > 0 {
                        let chunk = &pool[..left.min(POOL) as usize];
                        let began = Instant::now();
                        // SAFETY: the pool's nodes are not queued (the barrier below ran
                        // their previous callbacks) and the pool outlives that barrier.
                        unsafe { reclaimer.enqueue_prealloc(chunk) };
                        timed += began.elapsed();
                        reclaimer.barrier();
                        left -= chunk.len() as u64;
                    }
                    reclaimer.unregister();
                    timed
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .max()
            .unwrap_or_default()
    })
}

/// A contender whose `call_rcu` to callback latency can be measured.
pub trait Probe: Reclaimer {
    /// Queues a callback that stores into `slot` the nanoseconds (at least 1) from this
    /// call until it runs.
    ///
    /// # Safety
    /// `slot` outlives the callback (the caller waits for it to be set, or barriers).
    unsafe fn probe(&self, slot: &AtomicU64);
}

/// Latency percentiles of [`callback_latency`], in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest sample.
    pub max: u64,
}

/// `samples` times: queue one probe callback, wait until it ran, then stay idle for
/// 0.2 to 3 ms (so that the callback thread goes idle too). With `flood`, a second
/// thread queues callbacks non-stop meanwhile (the contender's `enqueue`).
///
/// ```
/// use benches::reclaim::{callback_latency, RcuIntrusive};
/// let l = callback_latency(&RcuIntrusive, 5, false);
/// assert!(l.p50 > 0 && l.p50 <= l.p99);
/// ```
pub fn callback_latency<R: Probe>(reclaimer: &R, samples: usize, flood: bool) -> Latency {
    let slots: Vec<AtomicU64> = (0..samples).map(|_| AtomicU64::new(0)).collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if flood {
            scope.spawn(|| {
                reclaimer.register();
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        reclaimer.enqueue();
                    }
                }
                reclaimer.barrier();
                reclaimer.unregister();
            });
        }
        reclaimer.register();
        for (i, slot) in slots.iter().enumerate() {
            // SAFETY: `slot` lives until the scope ends, after the barrier below.
            unsafe { reclaimer.probe(slot) };
            // Polling the result (the sample itself is taken by the callback).
            while slot.load(Ordering::Acquire) == 0 {
                std::thread::sleep(Duration::from_micros(20));
            }
            let idle_us = 200 + (i as u64 * 7919) % 2800;
            std::thread::sleep(Duration::from_micros(idle_us));
        }
        stop.store(true, Ordering::Relaxed);
        reclaimer.barrier();
        reclaimer.unregister();
    });
    let mut ns: Vec<u64> = slots.iter().map(|s| s.load(Ordering::Relaxed)).collect();
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
    Latency {
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
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
        enqueue_node(&DefaultDomain);
    }

    fn barrier(&self) {
        rcu_core::rcu_barrier();
    }

    fn pending(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_pending())
    }
}

impl Preallocated for RcuIntrusive {
    unsafe fn enqueue_prealloc(&self, nodes: &[PreNode]) {
        // SAFETY: forwarded contract.
        unsafe { enqueue_prealloc_in(&DefaultDomain, nodes) };
    }
}

/// `call_rcu1` in `domain` on a fresh boxed [`Node`] that the callback frees.
fn enqueue_node(domain: &impl RcuDomain) {
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
    unsafe { domain.call_rcu1(head, free_node) };
}

/// `call_rcu1` in `domain` on each preallocated node.
///
/// # Safety
/// As [`Preallocated::enqueue_prealloc`].
unsafe fn enqueue_prealloc_in(domain: &impl RcuDomain, nodes: &[PreNode]) {
    for node in nodes {
        // SAFETY: per this function's contract the node is not queued and outlives the
        // callback, which touches nothing.
        unsafe { domain.call_rcu1(NonNull::from(&node.head), keep_node) };
    }
}

/// `call_rcu1` in an independent [`Domain`](rcu_core::Domain): the same engine as
/// [`RcuIntrusive`], through the domain's own thread-local slot and callback thread.
#[derive(Debug, Default)]
pub struct RcuDomainIntrusive(pub rcu_core::Domain);

impl Reclaimer for RcuDomainIntrusive {
    const NAME: &'static str = "rcu-core Domain call_rcu1 (intrusive)";

    fn register(&self) {
        drop(self.0.read_lock());
    }

    fn enqueue(&self) {
        enqueue_node(&self.0);
    }

    fn barrier(&self) {
        self.0.barrier();
    }

    fn pending(&self) -> Option<u64> {
        Some(self.0.stats().callbacks_pending())
    }
}

impl Preallocated for RcuDomainIntrusive {
    unsafe fn enqueue_prealloc(&self, nodes: &[PreNode]) {
        // SAFETY: forwarded contract.
        unsafe { enqueue_prealloc_in(&self.0, nodes) };
    }
}

impl Probe for RcuIntrusive {
    unsafe fn probe(&self, slot: &AtomicU64) {
        // The slot's address; the contract keeps it valid until the callback ran.
        let slot = slot as *const AtomicU64 as usize;
        let began = Instant::now();
        rcu_core::call_rcu(move || {
            let ns = (began.elapsed().as_nanos() as u64).max(1);
            // SAFETY: per `probe`'s contract the slot outlives this callback.
            unsafe { &*(slot as *const AtomicU64) }.store(ns, Ordering::Release);
        });
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
