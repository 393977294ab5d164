//! A hard bound on pending callbacks, per domain: Linux's `qhimark` / `qlowmark` answer to a
//! callback flood, with producers that help.
//!
//! Every domain has a [`CallbackLimit`]: a high watermark *H* and a low watermark *L* on the
//! callbacks waiting in its shared queue (the count word of `callbacks/worker.rs`; per-thread buffers hold at
//! most [`LOCAL_MAX`](crate::callbacks::buffer::LOCAL_MAX)` - 1` more each, and hand their list over as soon as
//! it would take the queue past *H*, so that buffering never hides callbacks from the bound).
//!
//! - **Callback thread.** When more than *H* callbacks are queued it starts its next batch at once
//!   (no batching delay; a producer whose enqueue crosses *H* wakes it, as one that fills
//!   `BATCH_MAX` does) and runs that batch's grace period expedited
//!   ([`GpCore::synchronize_expedited`](crate::gp::GpCore::synchronize_expedited)).
//! - **Producers.** After its enqueue, a `call_rcu` / `call_rcu1` (and every container writer that
//!   retires through them) that finds more than *H* queued waits until the callback thread has
//!   brought the queue down to *L*, or down to *H* with every callback queued before the wait
//!   invoked (so a steady stream from threads that may not wait cannot hold it forever). It waits
//!   only where that is safe (the API layer's `default::producer_may_wait`, asked only by the
//!   public `call_rcu`s: rcu-core's own callbacks never wait); elsewhere the enqueue succeeds and
//!   is counted in `Stats::callbacks_over_limit_not_waited`.
//!   [`CallbackLimit::producers_never_wait`] gives QEMU's and liburcu's behaviour: producers never
//!   wait (the callback thread still expedites).
//!
//! **The bound.** With *P* threads calling `call_rcu` on a domain, all of them allowed to wait,
//! the callbacks pending (queued plus buffered, [`Stats::callbacks_pending`](crate::Stats)) never
//! exceed *H* + *P* × `LOCAL_MAX` (`LOCAL_MAX` = 128), in every domain. Take a moment *t* with more than *H* queued and the last moment
//! *s* < *t* with at most *H* queued. Every producer check that reads the count in (*s*, *t*] sees
//! more than *H* and waits past *t* (it leaves only at *H* or below), so each producer queues at
//! most one callback in (*s*, *t*] (the one whose check is still ahead). Hence pending(*t*) is at
//! most pending(*s*) plus *P*, which is at most *H* + *P* × (`LOCAL_MAX` − 1) + *P*. Threads that
//! may not wait (inside a read-side section, callbacks, [`NoWaitRegion`]s) add to that what they
//! queue. `tests/callback_flood.rs` checks the bound on one core.
//!
//! **No lost wake-up.** `drained` is one futex word: a generation the callback thread advances
//! after every batch and a `WAITER` bit. A waiting producer sets `WAITER` with a read-modify-write
//! (T1, Acquire), then loads the queue count, and sleeps on `drained` only while it still holds the
//! value T1 left. The callback thread lowers the count, then advances the generation (T2, a
//! Release read-modify-write) and, if T2 found `WAITER`, clears it and wakes every sleeper. T1 and
//! T2 act on one word, so they are totally ordered: if T2 comes first, T1 reads its value and
//! synchronizes with it, so the count load after T1 sees the lowered count; otherwise T2 sees
//! `WAITER` and wakes the producer (the futex compares the word first, so a wake-up before the
//! sleep only makes the sleep return at once, as does a `WAITER` cleared by an earlier batch's
//! callback thread after T1, which changes the word). `tests/loom.rs` checks this code, and
//! `tests/loom_negative.rs` that the model catches a missing wake-up. (A first version with a
//! separate sleeper count and `SeqCst` accesses deadlocked under loom, which models `SeqCst`
//! accesses as `AcqRel`.)
//!
//! [`Domain`]: crate::Domain

use std::fmt;
use std::marker::PhantomData;

// The limit and the counters are plain `std` atomics even under loom: settings and statistics,
// not state the hand-off synchronizes through (the count word, `drained` and `sleepers` are), so
// the models do not spend schedules on them.
use std::sync::atomic::{AtomicBool, AtomicU32 as StdAtomicU32, AtomicU64};

use crate::sync::{FutexWord, Ordering};

/// `drained`: a producer may be asleep on the word.
const WAITER: u32 = 1;
/// `drained`: one batch completed.
const GENERATION: u32 = 2;

/// Default high watermark: callbacks queued in a domain above which its callback thread expedites
/// and producers wait (Linux's `qhimark` is 10 000 per CPU). It bounds the backlog at about 4 MiB
/// of 64-byte objects, and the time a callback waits behind it. Under the busy-server flood of
/// `benches` (4 producers, a reader in 1-ms sections, 2 spinners on 2 cores), 2^16 gave a
/// retire-to-free p99 of 12.7 to 14 ms (the reader's own preempted sections reached 10 ms at p99),
/// a peak RSS of 20 MiB and 11 M enqueues/s; 2^18 gave 49 to 63 ms, 50 MiB and 9.3 M/s; 2^14 gave
/// 7.6 to 12.7 ms and 8 MiB but only 4.3 to 7.6 M/s, and a burst of preallocated `call_rcu1`s past
/// it runs at the callback thread's pace (41 M/s against 100 M/s at 2^16).
pub(crate) const DEFAULT_HIGH: u32 = 1 << 16;
/// Default low watermark: a waiting producer goes on once the queue is down to this (Linux's
/// `qlowmark` is 100; a high value lets producers resume as soon as a batch has been invoked).
pub(crate) const DEFAULT_LOW: u32 = 1 << 14;
/// The largest high watermark: half of the count's range below the backlog panic of `call_rcu`.
const MAX_HIGH: u32 = 1 << 27;

/// The bound on a domain's pending callbacks (Linux's `rcutree.qhimark` / `qlowmark`), set with
/// [`set_callback_limit`](crate::set_callback_limit) for the default domain or
/// [`Domain::set_callback_limit`](crate::Domain::set_callback_limit).
///
/// Above [`high`](Self::high) queued callbacks the callback thread runs its next batch at once with
/// an expedited grace period, and `call_rcu` / `call_rcu1` (and container writers such as
/// [`RcuCell::replace`](crate::RcuCell::replace)) wait, where waiting is safe, until the backlog is
/// down to [`low`](Self::low): see [`call_rcu`](crate::call_rcu) for when a caller may wait. liburcu
/// and QEMU have no such bound (their producers never wait, [`producers_never_wait`](Self::producers_never_wait)).
///
/// # Example
///
/// ```
/// use rcu_core::{CallbackLimit, Domain};
///
/// let domain = Domain::new();
/// domain.set_callback_limit(CallbackLimit::new(10_000, 100));
/// assert_eq!(domain.callback_limit().high(), 10_000);
/// // QEMU / liburcu behaviour: producers never wait, however long the backlog.
/// domain.set_callback_limit(CallbackLimit::DEFAULT.producers_never_wait());
/// assert!(!domain.callback_limit().producers_wait());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackLimit {
    high: u32,
    low: u32,
    producers_wait: bool,
}

impl Default for CallbackLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl CallbackLimit {
    /// High watermark 65 536 (2^16), low watermark 16 384 (2^14), producers wait (see
    /// [`call_rcu`](crate::call_rcu) for why these values).
    pub const DEFAULT: CallbackLimit = CallbackLimit {
        high: DEFAULT_HIGH,
        low: DEFAULT_LOW,
        producers_wait: true,
    };

    /// A limit with high watermark `high` and low watermark `low` (callbacks queued); producers wait.
    ///
    /// # Panics
    /// If `low > high`, or `high` is 0 or above 2^27.
    ///
    /// ```
    /// let limit = rcu_core::CallbackLimit::new(1000, 10);
    /// assert_eq!((limit.high(), limit.low()), (1000, 10));
    /// ```
    #[track_caller]
    pub fn new(high: u32, low: u32) -> CallbackLimit {
        assert!(
            low <= high && high > 0 && high <= MAX_HIGH,
            "rcu-core: CallbackLimit::new({high}, {low}): the high watermark must be between 1 and \
             {MAX_HIGH} and the low watermark at most the high one; pass them in that order"
        );
        CallbackLimit {
            high,
            low,
            producers_wait: true,
        }
    }

    /// The same watermarks, but producers never wait (QEMU's and liburcu's behaviour): the callback
    /// thread still starts batches at once with expedited grace periods above the high watermark,
    /// but nothing bounds the backlog when it cannot keep up.
    ///
    /// ```
    /// let limit = rcu_core::CallbackLimit::DEFAULT.producers_never_wait();
    /// assert!(!limit.producers_wait());
    /// ```
    pub const fn producers_never_wait(self) -> CallbackLimit {
        CallbackLimit {
            producers_wait: false,
            ..self
        }
    }

    /// The high watermark.
    ///
    /// ```
    /// assert_eq!(rcu_core::CallbackLimit::DEFAULT.high(), 1 << 16);
    /// ```
    pub const fn high(&self) -> u32 {
        self.high
    }

    /// The low watermark.
    ///
    /// ```
    /// assert_eq!(rcu_core::CallbackLimit::DEFAULT.low(), 1 << 14);
    /// ```
    pub const fn low(&self) -> u32 {
        self.low
    }

    /// Whether producers above the high watermark wait.
    ///
    /// ```
    /// assert!(rcu_core::CallbackLimit::DEFAULT.producers_wait());
    /// ```
    pub const fn producers_wait(&self) -> bool {
        self.producers_wait
    }
}

/// A domain's limit and the producers' side of the hand-off with its callback thread.
#[derive(Debug)]
pub(crate) struct Throttle {
    high: StdAtomicU32,
    low: StdAtomicU32,
    producers_wait: AtomicBool,
    /// Batches completed (wrapping, in steps of [`GENERATION`]) and the [`WAITER`] bit: waiting
    /// producers sleep on it.
    drained: FutexWord,
    /// Producers that waited.
    pub(crate) waits: AtomicU64,
    /// Enqueues above the high watermark whose producer did not wait.
    pub(crate) not_waited: AtomicU64,
    /// The most callbacks ever queued at once.
    pub(crate) peak: StdAtomicU32,
}

impl Throttle {
    crate::sync::maybe_const_fn! {
        pub(crate) fn new() -> Throttle {
            Throttle {
                high: StdAtomicU32::new(DEFAULT_HIGH),
                low: StdAtomicU32::new(DEFAULT_LOW),
                producers_wait: AtomicBool::new(true),
                drained: FutexWord::new(0),
                waits: AtomicU64::new(0),
                not_waited: AtomicU64::new(0),
                peak: StdAtomicU32::new(0),
            }
        }
    }

    pub(crate) fn set(&self, limit: CallbackLimit) {
        self.producers_wait
            .store(limit.producers_wait, Ordering::Relaxed);
        // Lower the low watermark first, so that a reader of both never sees low > high for long;
        // each waiter re-reads them on every round, so a torn pair only delays or hurries one round.
        self.low.store(0, Ordering::Relaxed);
        self.high.store(limit.high, Ordering::Relaxed);
        self.low.store(limit.low, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> CallbackLimit {
        CallbackLimit {
            high: self.high(),
            low: self.low.load(Ordering::Relaxed),
            producers_wait: self.producers_wait.load(Ordering::Relaxed),
        }
    }

    /// The high watermark.
    #[inline]
    pub(crate) fn high(&self) -> u32 {
        self.high.load(Ordering::Relaxed)
    }

    /// Records that `queued` callbacks are queued (for `Stats::callbacks_queued_peak`). Panic-free:
    /// it runs inside buffer windows.
    #[inline]
    pub(crate) fn note_queued(&self, queued: u32) {
        if queued > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(queued, Ordering::Relaxed);
        }
    }

    /// The callback thread lowered the count (end of a batch): wake the producers waiting for it.
    pub(crate) fn batch_done(&self) {
        // T2: Release pairs with T1's Acquire (module docs, "No lost wake-up").
        let old = self.drained.value.fetch_add(GENERATION, Ordering::Release);
        if old & WAITER != 0 {
            #[cfg(rcu_broken_gp)]
            if crate::testing::broken_throttle_wakeup() {
                return;
            }
            self.drained.value.fetch_and(!WAITER, Ordering::Relaxed);
            self.drained.wake_all();
        }
    }

    /// A producer found `queued` > high after its enqueue. Waits, if the domain's limit says so and
    /// `may_wait` (the caller's answer to "may this thread wait here?",
    /// `default::producer_may_wait`) allows, until `queued()` is at most the low watermark, or at most the high one
    /// with `invoked()` past every callback queued now. `kick` wakes the callback thread.
    #[cold]
    pub(crate) fn help(
        &self,
        may_wait: bool,
        queued: u32,
        invoked_now: u64,
        count: impl Fn() -> (u32, u64),
        kick: impl FnOnce(),
    ) {
        if !self.producers_wait.load(Ordering::Relaxed) || !may_wait {
            self.not_waited.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        let target = invoked_now + u64::from(queued);
        kick();
        loop {
            // T1: Acquire pairs with T2's Release: a batch end this read-modify-write follows is
            // seen by `count` below (module docs, "No lost wake-up").
            let seen = self.drained.value.fetch_or(WAITER, Ordering::Acquire) | WAITER;
            let (queued, invoked) = count();
            let high = self.high();
            if queued <= self.low.load(Ordering::Relaxed) || (queued <= high && invoked >= target) {
                break;
            }
            self.drained.wait(seen, None);
        }
    }
}

crate::sync::thread_local_const! {
    /// Open [`NoWaitRegion`]s of this thread.
    static NO_WAIT: std::cell::Cell<u32> = std::cell::Cell::new(0);
}

/// While alive, `call_rcu` and `call_rcu1` on this thread never wait for the callback thread, of
/// any domain, whatever the backlog ([`CallbackLimit`]): the enqueue succeeds and is counted in
/// [`Stats::callbacks_over_limit_not_waited`](crate::Stats). Take one while holding a lock that a
/// callback may take (a producer waiting for the callback thread while holding it would deadlock
/// with that callback). `rcu-queue`'s writer locks hold one. Nestable; `!Send`. No counterpart in
/// liburcu or QEMU (their producers never wait); in Linux, `call_rcu` never sleeps either.
///
/// ```
/// let region = rcu_core::no_wait_region();
/// rcu_core::call_rcu(|| ()); // never waits here
/// drop(region);
/// ```
#[must_use = "the region ends when the value is dropped"]
pub struct NoWaitRegion {
    /// `!Send` (the count is the thread's) but `Sync` (it has no methods), like a `MutexGuard`, so
    /// that holding one keeps a guard type such as `rcu-queue`'s `WriterGuard` `Sync`.
    _not_send: PhantomData<std::sync::MutexGuard<'static, ()>>,
}

impl fmt::Debug for NoWaitRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoWaitRegion").finish_non_exhaustive()
    }
}

/// Opens a [`NoWaitRegion`] on the calling thread.
///
/// ```
/// let _no_wait = rcu_core::no_wait_region();
/// ```
pub fn no_wait_region() -> NoWaitRegion {
    NO_WAIT.with(|n| n.set(n.get() + 1));
    NoWaitRegion {
        _not_send: PhantomData,
    }
}

impl Drop for NoWaitRegion {
    fn drop(&mut self) {
        NO_WAIT.with(|n| n.set(n.get() - 1));
    }
}

/// Whether the calling thread has a [`NoWaitRegion`] open (one input of
/// `default::producer_may_wait`).
pub(crate) fn in_no_wait_region() -> bool {
    NO_WAIT.with(std::cell::Cell::get) != 0
}
