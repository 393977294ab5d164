//! Workload 4: deferred reclamation through `call_rcu`.
//!
//! Every contender queues callbacks that free one heap object (48 bytes of node plus
//! payload, allocated by the enqueuer, as a list removal would). [`drive_enqueue`]
//! measures the enqueue rate, [`drive_reclaim`] the end-to-end rate (enqueue then
//! `rcu_barrier`), [`drive_barrier`] the `rcu_barrier` latency with a small queue, and
//! [`flood`] what producers flooding the queue on a loaded machine ([`Flood`]) cost: the
//! backlog, the resident memory, the throughput and the retire-to-free latency.
//! [`drive_enqueue_prealloc`] measures the enqueue alone, on preallocated objects, and
//! [`callback_latency`] the time from retiring an object to its free, on an idle system or
//! under a flood. [`Crossbeam`] is crossbeam-epoch's counterpart (`defer_destroy` on the
//! same objects, no callback thread); [`RcuFree`] is rcu-core's `free_rcu` (Linux `kfree_rcu`),
//! which the producer frees itself.

use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_epoch::{self as epoch, Owned};

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

    /// The implementation's own exact record of the most callbacks queued at once,
    /// process-wide since start, if it keeps one.
    fn queued_peak(&self) -> Option<u64> {
        None
    }

    /// Enters a read-side section, spins for `hold`, leaves (the long reader of a [`Flood`]).
    fn hold_read_section(&self, hold: Duration);

    /// Called over and over by a thread waiting for a retired object to be freed: a scheme
    /// that frees only when threads pin (crossbeam-epoch) collects here; schemes with a
    /// callback thread do nothing.
    fn collect(&self) {}
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

/// The load a [`flood`] puts on the machine (and [`callback_latency`] measures under):
/// producers queuing callbacks as fast as they can, optionally one reader holding long
/// read-side sections back to back, and threads spinning outside any section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flood {
    /// Threads calling [`Reclaimer::enqueue`] in a loop.
    pub producers: usize,
    /// One reader thread holds read-side sections this long, back to back (`None`: no reader).
    pub reader_section: Option<Duration>,
    /// Threads spinning outside any read-side section, to load the machine.
    pub spinners: usize,
}

impl Flood {
    /// One producer and nothing else.
    pub const SINGLE: Flood = Flood {
        producers: 1,
        reader_section: None,
        spinners: 0,
    };

    /// A busy server: 4 producers, one reader holding 1-ms sections, 2 spinning threads
    /// (7 busy threads besides the scheme's own, more than a small machine has cores).
    pub const BUSY_SERVER: Flood = Flood {
        producers: 4,
        reader_section: Some(Duration::from_millis(1)),
        spinners: 2,
    };

    /// Threads the load runs.
    ///
    /// ```
    /// assert_eq!(benches::reclaim::Flood::BUSY_SERVER.threads(), 7);
    /// ```
    pub fn threads(&self) -> usize {
        self.producers + usize::from(self.reader_section.is_some()) + self.spinners
    }
}

/// Resident set size at which a [`flood`] stops early (a scheme that does not bound its
/// backlog would otherwise take the machine's memory): 1 GiB.
pub const RSS_CAP: u64 = 1 << 30;

/// What a [`flood`] observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloodStats {
    /// Callbacks queued by all producers.
    pub enqueued: u64,
    /// How long the producers ran.
    pub elapsed: Duration,
    /// Largest backlog seen (each producer samples it after every 1024 enqueues), if the
    /// implementation counts it.
    pub peak_pending: Option<u64>,
    /// The implementation's own exact peak of queued callbacks, process-wide since start
    /// ([`Reclaimer::queued_peak`]): meaningful in a fresh process.
    pub queued_peak: Option<u64>,
    /// Time from the end of the flood until the backlog was drained by `rcu_barrier`.
    pub drain: Duration,
    /// Largest growth of the resident set over its size at the start (sampled every
    /// millisecond), in bytes; `None` where `/proc/self/statm` is unreadable.
    pub rss_growth: Option<u64>,
    /// Whether the flood stopped early because the resident set passed [`RSS_CAP`].
    pub capped: bool,
    /// Retire-to-free latency during the flood, when asked for.
    pub latency: Option<Latency>,
    /// Wall-clock length of the reader's sections (each spins for
    /// [`Flood::reader_section`]; longer when the thread is preempted inside one), `None`
    /// without a reader. A grace period cannot end before the section it waits for does, so
    /// this bounds the retire-to-free latency from below.
    pub reader_sections: Option<Latency>,
}

impl FloodStats {
    /// Enqueues per second during the flood.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = benches::reclaim::FloodStats {
    ///     enqueued: 1000, elapsed: Duration::from_millis(1), peak_pending: None,
    ///     queued_peak: None, drain: Duration::ZERO, rss_growth: None, capped: false,
    ///     latency: None, reader_sections: None,
    /// };
    /// assert_eq!(s.rate(), 1.0e6);
    /// ```
    pub fn rate(&self) -> f64 {
        self.enqueued as f64 / self.elapsed.as_secs_f64()
    }
}

/// What the load threads of [`under_load`] did.
struct LoadTotals {
    enqueued: u64,
    elapsed: Duration,
    peak_pending: Option<u64>,
    reader_sections: Option<Latency>,
}

/// Sets the flag when dropped: the load threads stop even if the body panics (else the
/// scope would wait for them forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Spins (outside or inside a read-side section, as the caller holds one) for `hold`.
fn spin_for(hold: Duration) {
    let began = Instant::now();
    while began.elapsed() < hold {
        std::hint::spin_loop();
    }
}

/// Runs `body` on the calling thread while `load`'s threads run (they all start together on
/// a barrier and stop when `body` returns); returns `body`'s result and what the producers did.
fn under_load<R: Reclaimer, T>(
    reclaimer: &R,
    load: &Flood,
    body: impl FnOnce() -> T,
) -> (T, LoadTotals) {
    let stop = AtomicBool::new(false);
    let enqueued = AtomicU64::new(0);
    let peak = AtomicU64::new(0);
    let started = Barrier::new(load.threads() + 1);
    let (out, began, sections) = std::thread::scope(|scope| {
        for _ in 0..load.producers {
            scope.spawn(|| {
                reclaimer.register();
                started.wait();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1024 {
                        reclaimer.enqueue();
                    }
                    n += 1024;
                    if let Some(p) = reclaimer.pending() {
                        peak.fetch_max(p, Ordering::Relaxed);
                    }
                }
                enqueued.fetch_add(n, Ordering::Relaxed);
                reclaimer.unregister();
            });
        }
        let reader = load.reader_section.map(|section| {
            let (started, stop) = (&started, &stop);
            scope.spawn(move || {
                reclaimer.register();
                started.wait();
                let mut lengths = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let entered = Instant::now();
                    reclaimer.hold_read_section(section);
                    lengths.push(entered.elapsed().as_nanos() as u64);
                }
                reclaimer.unregister();
                lengths
            })
        });
        for _ in 0..load.spinners {
            scope.spawn(|| {
                started.wait();
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let stop_on_drop = StopOnDrop(&stop);
        started.wait();
        let began = Instant::now();
        let out = body();
        drop(stop_on_drop);
        let sections = reader.map(|r| r.join().expect("the flood's reader thread panicked"));
        (out, began, sections)
    });
    // Until every producer has stopped (joined by the scope).
    let totals = LoadTotals {
        enqueued: enqueued.into_inner(),
        elapsed: began.elapsed(),
        peak_pending: reclaimer.pending().map(|_| peak.into_inner()),
        reader_sections: sections.and_then(Latency::of),
    };
    (out, totals)
}

/// `load` runs for `duration` (or until the resident set passes [`RSS_CAP`]); then the
/// backlog is drained with `rcu_barrier`. The calling thread samples the resident set
/// every millisecond and, with `probe`, measures retire-to-free latency meanwhile (as
/// [`callback_latency`] does, for as many samples as fit in `duration`).
///
/// ```
/// use std::time::Duration;
/// use benches::reclaim::{flood, Flood, RcuIntrusive};
/// let s = flood(&RcuIntrusive, &Flood::SINGLE, Duration::from_millis(20), true);
/// assert!(s.enqueued > 0);
/// assert!(s.peak_pending.is_some());
/// assert!(s.latency.is_some());
/// ```
pub fn flood<R: Probe>(reclaimer: &R, load: &Flood, duration: Duration, probe: bool) -> FloodStats {
    let base = resident_bytes();
    let slot = AtomicU64::new(0);
    let ((samples, peak_rss, capped), totals) = under_load(reclaimer, load, || {
        let began = Instant::now();
        let mut peak = base;
        let mut capped = false;
        let mut last = began;
        let mut sample_rss = || {
            if last.elapsed() >= Duration::from_millis(1) {
                last = Instant::now();
                let rss = resident_bytes();
                peak = peak.max(rss);
                capped |= rss.is_some_and(|r| r > RSS_CAP);
            }
            capped || began.elapsed() >= duration
        };
        let samples = if probe {
            probe_until(reclaimer, &slot, |_| false, &mut sample_rss)
        } else {
            while !sample_rss() {
                // The sampling period, not synchronization.
                std::thread::sleep(Duration::from_millis(1));
            }
            Vec::new()
        };
        (samples, peak, capped)
    });
    let drain_began = Instant::now();
    // Also runs the callback of a probe cut short at the end (the slot outlives it).
    drain(reclaimer);
    FloodStats {
        enqueued: totals.enqueued,
        elapsed: totals.elapsed,
        peak_pending: totals.peak_pending,
        queued_peak: reclaimer.queued_peak(),
        drain: drain_began.elapsed(),
        rss_growth: peak_rss.zip(base).map(|(p, b)| p.saturating_sub(b)),
        capped,
        latency: Latency::of(samples),
        reader_sections: totals.reader_sections,
    }
}

/// The resident set size of this process, from `/proc/self/statm`.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
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

/// A contender whose retire-to-free latency (`call_rcu` to callback) can be measured.
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

impl Latency {
    /// The percentiles of `samples` (ns), `None` when there are none.
    ///
    /// ```
    /// use benches::reclaim::Latency;
    /// let l = Latency::of((1..=100).collect()).unwrap();
    /// assert_eq!((l.p50, l.p99, l.max), (51, 99, 100));
    /// assert_eq!(Latency::of(Vec::new()), None);
    /// ```
    pub fn of(mut samples: Vec<u64>) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Some(Latency {
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

/// Retires one probe object after another on the calling thread, waiting until each was
/// freed (polling every 20 µs, with [`Reclaimer::collect`]) and then staying idle for 0.2 to
/// 3 ms (so that a callback thread goes idle too), until `enough(samples so far)` or
/// `stop()` (asked at every poll) says so. A probe cut short by `stop` counts with the time
/// it waited so far (a lower bound); its callback may still run later, so `slot` must
/// outlive it (the caller drains). Returns the samples in ns.
fn probe_until<R: Probe>(
    reclaimer: &R,
    slot: &AtomicU64,
    mut enough: impl FnMut(usize) -> bool,
    mut stop: impl FnMut() -> bool,
) -> Vec<u64> {
    reclaimer.register();
    let mut samples = Vec::new();
    while !enough(samples.len()) && !stop() {
        slot.store(0, Ordering::Relaxed);
        let began = Instant::now();
        // SAFETY: every caller keeps `slot` alive until the callback ran: it waits below, or
        // drains the backlog before the slot goes away. The previous probe's callback has
        // run (its value was read), so nothing else stores into the slot.
        unsafe { reclaimer.probe(slot) };
        loop {
            // The sample itself is taken by the callback; this only waits for it.
            let ns = slot.load(Ordering::Acquire);
            if ns != 0 {
                samples.push(ns);
                break;
            }
            if stop() {
                samples.push(began.elapsed().as_nanos() as u64);
                reclaimer.unregister();
                return samples;
            }
            reclaimer.collect();
            std::thread::sleep(Duration::from_micros(20));
        }
        let idle_us = 200 + (samples.len() as u64 * 7919) % 2800;
        std::thread::sleep(Duration::from_micros(idle_us));
    }
    reclaimer.unregister();
    samples
}

/// `samples` retire-to-free latencies on an otherwise idle process, or while `load`'s threads
/// ([`Flood`]) run (the backlog they leave is drained before returning). One probe object at a
/// time is retired and waited for (polling every 20 µs, with [`Reclaimer::collect`]), then the
/// thread stays idle for 0.2 to 3 ms, so that a callback thread goes idle too.
///
/// ```
/// use benches::reclaim::{callback_latency, RcuIntrusive};
/// let l = callback_latency(&RcuIntrusive, 5, None);
/// assert!(l.p50 > 0 && l.p50 <= l.p99);
/// ```
#[track_caller]
pub fn callback_latency<R: Probe>(reclaimer: &R, samples: usize, load: Option<&Flood>) -> Latency {
    assert!(
        samples > 0,
        "callback_latency needs at least one sample: pass samples >= 1"
    );
    let slot = AtomicU64::new(0);
    let probe_all = || probe_until(reclaimer, &slot, |n| n >= samples, || false);
    let ns = match load {
        Some(load) => {
            let (ns, _) = under_load(reclaimer, load, probe_all);
            drain(reclaimer);
            ns
        }
        None => probe_all(),
    };
    Latency::of(ns).expect("probe_until takes every sample it is asked for")
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

    fn queued_peak(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_queued_peak)
    }

    fn hold_read_section(&self, hold: Duration) {
        let _guard = rcu_core::read_lock();
        spin_for(hold);
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

    fn hold_read_section(&self, hold: Duration) {
        let _guard = self.0.read_lock();
        spin_for(hold);
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

    fn queued_peak(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_queued_peak)
    }

    fn hold_read_section(&self, hold: Duration) {
        let _guard = rcu_core::read_lock();
        spin_for(hold);
    }
}

/// rcu-core's `free_rcu` (Linux `kfree_rcu`): 48 bytes without drop glue, as large as the other
/// contenders' node, go to the producer's free bag and are freed by the producer itself once
/// their grace period has elapsed (no callback per object); [`collect`](Reclaimer::collect) is
/// [`flush_frees`](rcu_core::flush_frees), as crossbeam-epoch's `Guard::flush`.
#[derive(Debug, Default)]
pub struct RcuFree;

impl Reclaimer for RcuFree {
    const NAME: &'static str = "rcu-core free_rcu (producer frees)";

    fn register(&self) {
        rcu_core::register_thread();
    }

    fn enqueue(&self) {
        rcu_core::free_rcu(Box::new(black_box([1u64; 6])));
    }

    fn barrier(&self) {
        rcu_core::rcu_barrier();
    }

    /// Callbacks not yet run plus objects retired and not yet freed (sealed in bags or handed
    /// over; each thread's open segment is not counted).
    fn pending(&self) -> Option<u64> {
        let stats = rcu_core::stats();
        Some(stats.callbacks_pending() + stats.frees_pending())
    }

    fn queued_peak(&self) -> Option<u64> {
        Some(rcu_core::stats().callbacks_queued_peak)
    }

    fn hold_read_section(&self, hold: Duration) {
        let _guard = rcu_core::read_lock();
        spin_for(hold);
    }

    fn collect(&self) {
        rcu_core::flush_frees();
    }
}

/// What an [`RcuFree`] probe retires: when it began and where to store the latency.
struct FreeProbe {
    began: Instant,
    slot: *const AtomicU64,
}

/// `defer_free`'s free function for a [`FreeProbe`]: stores the nanoseconds since `began` into
/// the slot, then frees the probe.
///
/// # Safety
/// `p` came from `Box::<FreeProbe>::into_raw` in [`RcuFree::probe`], is freed once, and the
/// probe's slot is still alive (`Probe::probe`'s contract).
unsafe fn free_probe(p: NonNull<u8>) {
    // SAFETY: by the contract `p` is the box's pointer and this is its only owner.
    let probe = unsafe { Box::from_raw(p.cast::<FreeProbe>().as_ptr()) };
    let ns = (probe.began.elapsed().as_nanos() as u64).max(1);
    // SAFETY: the slot outlives the probe: `probe_until`'s caller waits for this store or
    // drains (`rcu_barrier`, which hands the bag over and waits for it) before dropping it.
    unsafe { &*probe.slot }.store(ns, Ordering::Release);
}

impl Probe for RcuFree {
    unsafe fn probe(&self, slot: &AtomicU64) {
        let probe = Box::into_raw(Box::new(FreeProbe {
            began: Instant::now(),
            slot,
        }));
        // SAFETY: `defer_free`'s contract: the probe was never published; `free_probe` runs
        // once, after a grace period, and only reads the clock, stores into an atomic and
        // deallocates (no lock, no wait, no panic, no RCU call). It may run on any thread: the
        // slot is an atomic the caller keeps alive until then (this method's contract), and
        // `Instant` is plain data.
        unsafe { rcu_core::defer_free(NonNull::new_unchecked(probe).cast(), free_probe) };
    }
}

/// crossbeam-epoch on the same objects: each retire allocates the same 48-byte `Node` as
/// [`RcuIntrusive`] and hands it to `Guard::defer_destroy` under a fresh `pin()` (as a
/// `swap` + `defer_destroy` writer does). There is no callback thread: pinned threads free
/// garbage themselves, a few bags at a time.
#[derive(Debug, Default)]
pub struct Crossbeam;

/// `Guard::flush` calls that stand in for `rcu_barrier` (crossbeam-epoch has none): each
/// one seals the local bag, tries to advance the epoch and frees a few expired bags.
const CROSSBEAM_FLUSHES: usize = 1024;

impl Reclaimer for Crossbeam {
    const NAME: &'static str = "crossbeam-epoch defer_destroy";

    fn register(&self) {
        drop(epoch::pin());
    }

    fn enqueue(&self) {
        let guard = epoch::pin();
        let node = Owned::new(Node {
            head: RcuHead::new(),
            payload: [1; 4],
        })
        .into_shared(&guard);
        // SAFETY: `node` was never published, so no other thread can reach it, and it is
        // retired exactly once; the epoch frees it after every thread pinned now unpins.
        unsafe { guard.defer_destroy(node) };
    }

    /// Not a barrier: crossbeam-epoch cannot wait for its garbage. Flushes and collects
    /// 1024 times, which frees what no pinned thread holds back.
    fn barrier(&self) {
        for _ in 0..CROSSBEAM_FLUSHES {
            epoch::pin().flush();
        }
    }

    fn pending(&self) -> Option<u64> {
        None
    }

    fn hold_read_section(&self, hold: Duration) {
        let _guard = epoch::pin();
        spin_for(hold);
    }

    fn collect(&self) {
        epoch::pin().flush();
    }
}

impl Probe for Crossbeam {
    unsafe fn probe(&self, slot: &AtomicU64) {
        // The slot's address; the contract keeps it valid until the closure ran.
        let slot = slot as *const AtomicU64 as usize;
        let began = Instant::now();
        epoch::pin().defer(move || {
            let ns = (began.elapsed().as_nanos() as u64).max(1);
            // SAFETY: per `probe`'s contract the slot outlives this closure.
            unsafe { &*(slot as *const AtomicU64) }.store(ns, Ordering::Release);
        });
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
        assert!(drive_enqueue(&Crossbeam, 2, 2000) > Duration::ZERO);
        assert!(drive_enqueue(&RcuFree, 2, 2000) > Duration::ZERO);
        assert!(drive_reclaim(&RcuFree, 2000) > Duration::ZERO);
    }

    /// A short busy-server flood: every producer queued, the reader and spinners ran
    /// beside them, and rcu-core counted its backlog (crossbeam-epoch cannot).
    #[test]
    fn busy_server_flood_runs_every_thread() {
        let load = Flood::BUSY_SERVER;
        let s = flood(&RcuIntrusive, &load, Duration::from_millis(50), true);
        assert!(s.enqueued >= 1024 * load.producers as u64, "{s:?}");
        assert!(s.elapsed >= Duration::from_millis(50), "{s:?}");
        assert!(s.peak_pending.is_some_and(|p| p > 0), "{s:?}");
        assert!(s.queued_peak.is_some() && !s.capped, "{s:?}");
        assert!(s.latency.is_some_and(|l| l.p50 > 0), "{s:?}");
        let s = flood(&Crossbeam, &load, Duration::from_millis(50), false);
        assert!(s.enqueued >= 1024 * load.producers as u64, "{s:?}");
        assert_eq!(
            (s.peak_pending, s.queued_peak, s.latency),
            (None, None, None)
        );
    }

    #[test]
    fn retire_to_free_latency_idle_and_under_a_flood() {
        for load in [None, Some(&Flood::BUSY_SERVER)] {
            let l = callback_latency(&RcuIntrusive, 4, load);
            assert!(0 < l.p50 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
            let l = callback_latency(&Crossbeam, 4, load);
            assert!(0 < l.p50 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
            // Freed by the prober's own `flush_frees` (its `collect`): no barrier needed.
            let l = callback_latency(&RcuFree, 4, load);
            assert!(0 < l.p50 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
        }
    }

    #[test]
    fn a_panicking_measurement_still_stops_the_load() {
        let result = std::panic::catch_unwind(|| {
            under_load(&Crossbeam, &Flood::BUSY_SERVER, || panic!("body failed"))
        });
        assert!(result.is_err());
    }
}
