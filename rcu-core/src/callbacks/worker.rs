//! The callback thread: `call_rcu`, batching, one grace period per batch, `rcu_barrier`.
//!
//! Every domain's `call_rcu` / `call_rcu1` first append to the calling thread's buffer
//! (`callbacks/buffer.rs`), which reaches the shared queue in bulk: when it is full ([`LOCAL_MAX`]), when the
//! owner finds the callback thread asleep, when the callback thread collects every buffer (at the
//! start of each batch, before it goes to sleep and before it exits), when `rcu_barrier` collects
//! them, and when the owner thread exits. rcu-core's own callbacks (barrier markers, polling, the
//! async futures' slots) go to the shared queue directly.
//!
//! [`LOCAL_MAX`]: crate::callbacks::buffer::LOCAL_MAX
//!
//! Producers push onto the wait-free queue of `callbacks/head.rs`, then add 1 to `pending`, a 32-bit futex
//! word holding the number of queued, not yet invoked callbacks (low 29 bits), a `SLEEPING` bit that
//! the callback thread sets when it sleeps until the next enqueue, a `BATCHING` bit it sets while it
//! waits for a batch to fill (wake it only when the batch is full), and a `STOPPING` bit (a dropped
//! [`Domain`]). A producer issues a wake-up only if it sees `SLEEPING` (and clears it, so that one
//! enqueue per sleep wakes the thread), or `BATCHING` with the count reaching [`BATCH_MAX`]; so under
//! a steady stream of `call_rcu` the enqueue is three atomic operations and no system call. Because the count and the bits share one word, the atomic add (or
//! the `STOPPING` or) and the thread's compare-and-swap into sleep are totally ordered and no wake-up
//! is lost (no fence is needed).
//!
//! [`Domain`]: crate::Domain
//!
//! The callback thread (QEMU's `call_rcu_thread`, liburcu's `call_rcu` worker) loops:
//! 1. sleep until `pending > 0`;
//! 2. batch: wait until [`BATCH_DELAY`] after the previous batch started, unless [`BATCH_MAX`]
//!    callbacks are pending, more than the domain's high watermark are (`callbacks/throttle.rs`), or an
//!    `rcu_barrier` is waiting (then it goes on at once, so the barrier adds no batching latency);
//!    after an idle period the first callback starts a batch at once;
//! 3. read the count *n*, run one grace period (expedited when *n* is above the high watermark),
//!    pop and invoke exactly *n* callbacks (every counted callback was queued before the grace
//!    period began), subtract *n*, and wake the producers waiting for the backlog to fall
//!    (`callbacks/throttle.rs`).
//!
//! A panicking callback is caught, reported on stderr and counted; the thread goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use crate::callbacks::bag::Frees;
use crate::callbacks::buffer::{Chain, LocalBuffer};
use crate::callbacks::head::{CallbackQueue, RcuCallback, RcuHead, invoke};
use crate::callbacks::throttle::Throttle;
#[cfg(not(loom))]
use crate::diag;
use crate::gp::GpCore;
use crate::sync::{
    Arc, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, CachePadded, FutexWord, Mutex, Ordering,
    lock, maybe_const_fn, thread,
};

/// The callback thread sleeps until the next enqueue.
const SLEEPING: u32 = 1 << 31;
/// The domain is being dropped: the callback thread exits once the queue is empty.
const STOPPING: u32 = 1 << 30;
/// The callback thread waits for the next batch time: wake it only when the count reaches
/// [`BATCH_MAX`] (or an `rcu_barrier` is waiting), not on every enqueue.
#[cfg(not(loom))]
const BATCHING: u32 = 1 << 29;
const COUNT_MASK: u32 = (1 << 29) - 1;
/// A `call_rcu` that finds this many callbacks waiting in the shared queue panics, after queueing
/// its own ([`check_backlog`]). Half the count's range: the callbacks that other threads may add
/// before they see it (each at most a buffer's [`LOCAL_MAX`](crate::callbacks::buffer::LOCAL_MAX) per
/// window) cannot carry the count into the flag bits.
const BACKLOG_MAX: u32 = 1 << 28;

/// Panics if `backlog` (what an enqueue found in the shared queue) reached [`BACKLOG_MAX`]. Called
/// after the enqueue, outside every buffer window (module `buffer`): the callback is queued and
/// will run; the panic reports that the producers outrun the callback thread.
#[inline]
#[track_caller]
pub(crate) fn check_backlog(backlog: u32) {
    if backlog >= BACKLOG_MAX {
        backlog_overflow(backlog);
    }
}

#[cold]
#[track_caller]
fn backlog_overflow(backlog: u32) -> ! {
    panic!(
        "rcu-core: {backlog} callbacks are waiting for the callback thread (the limit is \
         {BACKLOG_MAX}); it cannot keep up with call_rcu. This callback was queued and will run. \
         Queue fewer callbacks (retire objects in batches), or let producers wait now and then with \
         rcu_barrier / synchronize_rcu so that the callback thread catches up"
    )
}
/// The bits that mean "the callback thread waits in a futex and needs a wake-up to see news".
#[cfg(not(loom))]
const WAITING_BITS: u32 = SLEEPING | BATCHING;
#[cfg(loom)]
const WAITING_BITS: u32 = SLEEPING;

/// Batches start at most once per [`BATCH_DELAY`], except that this many pending callbacks start one
/// at once, which bounds the backlog (and memory) under a `call_rcu` flood.
#[cfg(not(loom))]
pub(crate) const BATCH_MAX: u32 = 1 << 16;
/// Shortest time between the starts of two batches (liburcu's worker sleeps 10 ms after each batch;
/// QEMU waits up to 50 ms for 30 callbacks). Batching amortizes the grace period over many callbacks
/// and keeps the callback thread from freeing memory in lock-step with the producers' allocations.
/// An `rcu_barrier` never waits for it.
#[cfg(not(loom))]
pub(crate) const BATCH_DELAY: Duration = Duration::from_millis(1);

/// Whether an enqueue of `n` callbacks that found the word at `old` fills the batch the callback
/// thread waits for: the count reaches [`BATCH_MAX`] or passes the high watermark `high`.
#[cfg(not(loom))]
fn fills_batch(old: u32, n: u32, high: u32) -> bool {
    let count = old & COUNT_MASK;
    let full = BATCH_MAX.min(high.saturating_add(1));
    old & BATCHING != 0 && count < full && count + n >= full
}

/// Under loom the callback thread never waits for a batch (no clock).
#[cfg(loom)]
fn fills_batch(_old: u32, _n: u32, _high: u32) -> bool {
    false
}

/// The callback half of a domain.
#[derive(Debug)]
pub(crate) struct Callbacks {
    queue: CachePadded<CallbackQueue>,
    pending: CachePadded<FutexWord>,
    /// Callbacks invoked so far; counted just before each runs, so that a callback (such as
    /// `rcu_barrier`'s marker) sees itself and everything before it counted.
    pub(crate) invoked: AtomicU64,
    /// Callbacks of the current batch already counted in `invoked` but not yet subtracted from
    /// `pending` (which happens once per batch). Callback thread only writes it.
    pub(crate) batch_done: AtomicU32,
    pub(crate) panics: AtomicU64,
    /// Waiters that waive the batching delay: `rcu_barrier` and `rcu_barrier_async` (gp_async.rs).
    pub(crate) barrier_waiters: AtomicUsize,
    /// Every thread's [`LocalBuffer`] of this domain; held by collectors (module `buffer`).
    pub(crate) buffers: Mutex<Vec<Arc<LocalBuffer>>>,
    /// Held while a batch runs (grace period plus callbacks); taken across `fork()`.
    pub(crate) batch_lock: Mutex<()>,
    pub(crate) handle: Mutex<Option<thread::JoinHandle<()>>>,
    pub(crate) started: AtomicBool,
    /// The bound on pending callbacks (`callbacks/throttle.rs`).
    pub(crate) throttle: Throttle,
    /// Where `defer_free` frees, and its counters (`callbacks/bag.rs`).
    pub(crate) frees: Frees,
}

struct ClosureNode<F> {
    head: RcuHead,
    f: F,
}

/// Trampoline for [`box_closure`].
///
/// # Safety
/// `head` is the `head` field of a leaked `Box<ClosureNode<F>>`, handed over exactly once.
unsafe fn run_closure<F: FnOnce()>(head: NonNull<RcuHead>) {
    // SAFETY: per the contract, the container is a live boxed ClosureNode<F> that we now own.
    let node = unsafe { Box::from_raw(crate::container_of!(head, ClosureNode<F>, head)) };
    let ClosureNode { f, .. } = *node;
    f();
}

/// Boxes `f` together with its head (one allocation) and returns the head and the trampoline that
/// runs and frees it: queueing the pair satisfies `call_rcu1`'s contract.
///
/// Why a box even for small closures: the head must stay at a fixed address until the callback
/// runs, on another thread, after a grace period; the caller's stack frame is gone by then, so the
/// head and the closure's captures need storage that outlives it. Capture-free closures still need
/// the 16-byte head. The box is that storage, shared by head and closure (liburcu and QEMU ask the
/// caller for it instead: use [`call_rcu1`](crate::call_rcu1) with a head embedded in the object
/// being retired to queue without allocating).
pub(crate) fn box_closure<F: FnOnce() + Send + 'static>(f: F) -> (NonNull<RcuHead>, RcuCallback) {
    let node = Box::into_raw(Box::new(ClosureNode {
        head: RcuHead::new(),
        f,
    }));
    // SAFETY: `node` is a fresh leaked box, non-null; its head is live until `run_closure` frees it,
    // which happens exactly once, when the callback runs.
    let head = unsafe { NonNull::new_unchecked(&raw mut (*node).head) };
    (head, run_closure::<F>)
}

/// Sets the callback of an unqueued head.
///
/// # Safety
/// The caller owns the head (not queued); nobody else reads `func` before it is published.
unsafe fn set_func(head: NonNull<RcuHead>, func: RcuCallback) {
    // SAFETY: per the contract.
    unsafe { head.as_ref() }
        .func
        .with_mut(|f| unsafe { *f = Some(func) });
}

impl Callbacks {
    maybe_const_fn! {
        pub(crate) fn new() -> Callbacks {
            Callbacks {
                queue: CachePadded(CallbackQueue::new()),
                pending: CachePadded(FutexWord::new(0)),
                invoked: AtomicU64::new(0),
                batch_done: AtomicU32::new(0),
                panics: AtomicU64::new(0),
                barrier_waiters: AtomicUsize::new(0),
                buffers: Mutex::new(Vec::new()),
                batch_lock: Mutex::new(()),
                handle: Mutex::new(None),
                started: AtomicBool::new(false),
                throttle: Throttle::new(),
                frees: Frees::new(),
            }
        }
    }

    /// Queues `func(head)` on the shared queue. Wait-free. Returns the backlog it found, for
    /// [`check_backlog`].
    ///
    /// # Safety
    /// The contract of [`crate::call_rcu1`].
    #[must_use = "a user's callback is followed by check_backlog"]
    pub(crate) unsafe fn push(&self, head: NonNull<RcuHead>, func: RcuCallback) -> u32 {
        // SAFETY: forwarded contract.
        unsafe { set_func(head, func) };
        // SAFETY: forwarded contract: live until invoked, not queued twice.
        unsafe { self.queue.push(head) };
        self.count_queued(1)
    }

    /// Moves a chain taken from a per-thread buffer to the shared queue. Wait-free and panic-free
    /// (it runs inside buffer windows, module `buffer`).
    ///
    /// # Safety
    /// The chain came from a [`LocalBuffer`] of this domain (so every head obeys `call_rcu1`'s
    /// contract and has its `func` set) and is visible to this thread.
    unsafe fn push_chain(&self, chain: Chain) {
        if chain.len == 0 {
            return;
        }
        // SAFETY: forwarded contract; the buffer keeps the chain linked and null-terminated.
        unsafe { self.queue.push_chain(chain.first, chain.last) };
        self.count_queued(chain.len);
    }

    /// Counts `n` callbacks just linked into the shared queue and wakes the callback thread if it
    /// needs to see them. Returns the count it found (the backlog).
    ///
    /// Panic-free: it runs inside buffer windows (module `buffer`), where an unwinding thread would
    /// leave a flag set that others spin on. The backlog limit is enforced by the callers of the
    /// user-facing paths, after their windows ([`check_backlog`]).
    fn count_queued(&self, n: u32) -> u32 {
        // C4: Release pairs with the Acquire load in `queued_count` (C5): the count never runs ahead
        // of the queue as seen by the callback thread.
        let old = self.pending.value.fetch_add(n, Ordering::Release);
        let high = self.throttle.high();
        if old & SLEEPING != 0 {
            // One wake-up per sleep: the enqueue that clears `SLEEPING` wakes the thread, and later
            // ones (which no longer see the bit) neither flush their buffers nor wake it again.
            // The callback thread sleeps only while the word is exactly `SLEEPING` (count 0), so
            // whoever clears the bit has also made the count non-zero, and the thread, asleep or
            // about to sleep, sees a changed word (`sleep_idle`). Without this, every buffered
            // `call_rcu` during the thread's `collect()` before sleeping (a `membarrier`) and
            // until it cleared the bit itself flushed one callback and issued a futex wake-up.
            if self.pending.value.fetch_and(!SLEEPING, Ordering::Relaxed) & SLEEPING != 0 {
                self.pending.wake_all();
            }
        } else if fills_batch(old, n, high) {
            self.pending.wake_all();
        }
        self.throttle.note_queued((old & COUNT_MASK) + n);
        old & COUNT_MASK
    }

    /// The producers' half of the bound on pending callbacks (`callbacks/throttle.rs`): called after every
    /// user enqueue, outside every buffer window, with the backlog that enqueue saw (the count
    /// before it, as [`check_backlog`] gets it). Only when that backlog reached the high watermark
    /// does it read the count again, and wait where that is safe until the callback thread has
    /// lowered it: below the watermark it touches no shared memory. (A version that loaded the
    /// count after every enqueue made loom's `loom_list` model report a reclaimed element still
    /// read, see CHANGELOG.)
    #[inline]
    pub(crate) fn help(&self, backlog: u32, may_wait: impl FnOnce() -> bool) {
        if backlog < self.throttle.high() {
            return;
        }
        let queued = self.queued_count();
        if queued > self.throttle.high() {
            self.throttle.help(
                may_wait(),
                queued,
                self.invoked.load(Ordering::Relaxed),
                || {
                    // Relaxed: ordered after the `drained` read-modify-write by its Acquire
                    // (`callbacks/throttle.rs`, "No lost wake-up").
                    let word = self.pending.value.load(Ordering::Relaxed);
                    (word & COUNT_MASK, self.invoked.load(Ordering::Relaxed))
                },
                || self.kick(),
            );
        }
    }

    /// Queues `func(head)` in the calling thread's buffer `buf` (no atomic read-modify-write unless
    /// the buffer is full or the callback thread sleeps; a collector holding the buffer is waited
    /// for, module `buffer`). Returns the backlog of the shared queue as the append saw it, for
    /// [`check_backlog`].
    ///
    /// # Safety
    /// The contract of [`crate::call_rcu1`]; `buf` is registered in `self.buffers` and owned by the
    /// calling thread.
    #[inline]
    #[must_use = "a user's callback is followed by check_backlog"]
    pub(crate) unsafe fn push_local(
        &self,
        buf: &LocalBuffer,
        head: NonNull<RcuHead>,
        func: RcuCallback,
    ) -> u32 {
        // SAFETY: forwarded contract.
        unsafe { set_func(head, func) };
        let mut backlog = 0;
        // The callback thread about to sleep collects every buffer after its `heavy()`; a window
        // that misses that collection sees `SLEEPING` here (module `buffer`) and flushes at once,
        // unless an earlier flush already cleared the bit: that flush made the count non-zero, so
        // the thread does not sleep and collects again at its next batch (`count_queued`).
        // The same load gives the backlog, checked after the window (nothing panics inside it). A
        // list that would take the backlog past the high watermark goes to the shared queue too,
        // so that buffering never hides callbacks from the bound (`callbacks/throttle.rs`).
        let flush = |len: u32| {
            let word = self.pending.value.load(Ordering::Relaxed);
            backlog = word & COUNT_MASK;
            word & SLEEPING != 0 || backlog + len > self.throttle.high()
        };
        // SAFETY: the chain came from our own buffer.
        let hand_off = |chain| unsafe { self.push_chain(chain) };
        // SAFETY: we are the owner; the head is unqueued (contract of call_rcu1); the two closures
        // are panic-free (`count_queued` is).
        unsafe { buf.append(head.as_ptr(), flush, hand_off) };
        backlog
    }

    /// Registers a new per-thread buffer.
    pub(crate) fn register_buffer(&self) -> Arc<LocalBuffer> {
        // The owner's `light()` must match the collectors' `heavy()`: settle the barrier mode first
        // (collectors read it after taking the registry lock we take below).
        #[cfg(not(loom))]
        crate::barrier::init();
        let buf = Arc::new(LocalBuffer::new());
        lock(&self.buffers).push(buf.clone());
        buf
    }

    /// The owner of `buf` leaves (thread exit): its callbacks go to the shared queue and the buffer
    /// is unregistered, both under the registry lock, so a concurrent `rcu_barrier` either collected
    /// them already or finds them in the shared queue.
    pub(crate) fn unregister_buffer(&self, buf: &Arc<LocalBuffer>) {
        let mut buffers = lock(&self.buffers);
        // SAFETY: we are the owner and hold the registry lock: no collector runs.
        let chain = unsafe { buf.take_own() };
        // SAFETY: the chain came from our own buffer.
        unsafe { self.push_chain(chain) };
        if let Some(i) = buffers.iter().position(|b| Arc::ptr_eq(b, buf)) {
            buffers.swap_remove(i);
        }
    }

    /// Moves every buffered callback of every thread to the shared queue (module `buffer`: the
    /// collector's side of the hand-off). Returns how many it moved.
    fn collect(&self) -> u32 {
        let buffers = lock(&self.buffers);
        if buffers.is_empty() {
            return 0;
        }
        for buf in buffers.iter() {
            buf.claim();
        }
        // C7: pairs with every owner's `light()` (C6).
        crate::barrier::heavy();
        let mut moved = 0;
        for buf in buffers.iter() {
            // SAFETY: the chain came from a buffer of this domain and was made visible by
            // `take_claimed`'s Acquire.
            let hand_off = |chain| unsafe { self.push_chain(chain) };
            // SAFETY: `push_chain` is panic-free.
            moved += unsafe { buf.take_claimed(hand_off) };
        }
        moved
    }

    /// Wakes the callback thread if it sleeps or waits for a batch (used by `rcu_barrier` after
    /// queueing its marker, so the barrier adds no batching delay).
    pub(crate) fn kick(&self) {
        if self.pending.value.load(Ordering::Relaxed) & WAITING_BITS != 0 {
            self.pending.wake_all();
        }
    }

    /// Callbacks queued and not yet invoked: in the shared queue or in a per-thread buffer.
    pub(crate) fn pending_count(&self) -> u32 {
        let buffered: u32 = lock(&self.buffers).iter().map(|b| b.held()).sum();
        self.queued_count() + buffered
    }

    /// Callbacks in the shared queue and not yet invoked.
    fn queued_count(&self) -> u32 {
        // C5: Acquire pairs with the Release add in `count_queued` (C4).
        self.pending.value.load(Ordering::Acquire) & COUNT_MASK
    }

    /// If the word holds exactly `expected` (a count, no flags), sets `flag` (`SLEEPING` or
    /// `BATCHING`) and sleeps until woken, at most `timeout`.
    #[cfg(not(loom))]
    fn sleep(&self, expected: u32, flag: u32, timeout: Option<Duration>) {
        if self
            .pending
            .value
            .compare_exchange(
                expected,
                expected | flag,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            self.pending.wait(expected | flag, timeout);
        }
        self.pending.value.fetch_and(!flag, Ordering::Relaxed);
    }

    /// Sleeps until the next enqueue, after collecting the per-thread buffers: `SLEEPING` is set
    /// before the collection's `heavy()`, so an owner window that the collection misses sees it and
    /// flushes (module `buffer`). The futex wait needs the word to be exactly `SLEEPING`: an
    /// enqueue that cleared the bit (`count_queued`) also raised the count, so it cannot be missed.
    fn sleep_idle(&self) {
        if self
            .pending
            .value
            .compare_exchange(0, SLEEPING, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
            && self.collect() == 0
        {
            self.pending.wait(SLEEPING, None);
        }
        self.pending.value.fetch_and(!SLEEPING, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called.
    fn stopping(&self) -> bool {
        self.pending.value.load(Ordering::Relaxed) & STOPPING != 0
    }

    /// Tells the callback thread to exit once the queue is empty.
    pub(crate) fn stop(&self) {
        if self.pending.value.fetch_or(STOPPING, Ordering::Relaxed) & WAITING_BITS != 0 {
            self.pending.wake_all();
        }
    }

    /// After `fork()` in the child: no callback thread exists any more.
    #[cfg(not(loom))]
    pub(crate) fn reset_after_fork(&self) {
        if let Some(handle) = lock(&self.handle).take() {
            // The thread does not exist in the child; joining or detaching it would touch a dead
            // thread's bookkeeping, so leak the handle.
            std::mem::forget(handle);
        }
        for buf in lock(&self.buffers).iter() {
            buf.reset_after_fork();
        }
        // SAFETY: we are the single-threaded child, the callback thread is gone and the fork
        // handlers held the batch lock, so no pop was in progress.
        let queued = unsafe { self.queue.repair_after_fork() };
        // Keep a STOPPING flag (a dropped domain); drop SLEEPING; the count is what is reachable.
        let stopping = self.pending.value.load(Ordering::Relaxed) & STOPPING;
        // (SLEEPING and BATCHING are dropped: no callback thread waits.)
        self.pending
            .value
            .store(stopping | queued, Ordering::Relaxed);
        // C12.
        self.started.store(false, Ordering::Release);
    }
}
/// At process exit: if the callback thread is idle (nothing pending), stop and join it, so that it
/// leaves nothing behind (valgrind reports no leak for it). A busy thread is left running: exit must
/// not wait for callbacks. After the join the domain is back to "no callback thread", so a
/// `call_rcu` or `rcu_barrier` that runs later in the exit sequence (a later `atexit` handler, a
/// static destructor) starts a new one instead of queueing callbacks that nobody runs.
#[cfg(not(loom))]
impl Callbacks {
    pub(crate) fn join_if_idle(&self) {
        let mut handle = lock(&self.handle);
        // C13.
        if !self.started.load(Ordering::Acquire) || self.pending_count() != 0 {
            return;
        }
        self.stop();
        if let Some(thread) = handle.take() {
            let _ = thread.join();
        }
        self.pending.value.fetch_and(!STOPPING, Ordering::Relaxed);
        // C12: Release pairs with the Acquire load in `DomainInner::ensure_worker` (C13), as the
        // store that set it.
        self.started.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The callback half whose callback thread this is, if any (for misuse checks).
    static WORKER_OF: std::cell::Cell<*const Callbacks> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Counts `n` objects of `defer_free` freed by the calling thread, a callback thread (for
/// [`Stats::frees_by_callback_thread`](crate::Stats::frees_by_callback_thread); not counted under
/// loom, whose models read no statistics).
pub(crate) fn count_frees(n: u64) {
    #[cfg(not(loom))]
    WORKER_OF.with(|w| {
        // SAFETY: set by `run` for the life of the callback thread, whose domain its caller keeps
        // alive meanwhile; this runs inside one of its callbacks.
        if let Some(cbs) = unsafe { w.get().as_ref() } {
            cbs.frees.by_callback_thread.fetch_add(n, Ordering::Relaxed);
        }
    });
    #[cfg(loom)]
    let _ = n;
}

/// Whether the calling thread is the callback thread of some domain.
pub(crate) fn is_callback_thread() -> bool {
    #[cfg(not(loom))]
    {
        WORKER_OF.with(|w| !w.get().is_null())
    }
    #[cfg(loom)]
    {
        false
    }
}

/// Whether the calling thread is the callback thread of `cbs`.
pub(crate) fn is_worker_of(cbs: &Callbacks) -> bool {
    #[cfg(not(loom))]
    {
        WORKER_OF.with(|w| std::ptr::eq(w.get(), cbs))
    }
    #[cfg(loom)]
    {
        let _ = cbs;
        false
    }
}

/// The callback thread's loop (QEMU's `call_rcu_thread`) over a domain's two halves; the caller
/// keeps the domain alive (`engine.rs`'s `DomainInner::ensure_worker`).
pub(crate) fn run(gp: &GpCore, cbs: &Callbacks) {
    #[cfg(not(loom))]
    WORKER_OF.with(|w| w.set(cbs));
    #[cfg(not(loom))]
    let mut last_batch: Option<Instant> = None;
    loop {
        let mut n = cbs.queued_count();
        if n == 0 {
            if !cbs.stopping() {
                cbs.sleep_idle();
            } else if cbs.collect() == 0 {
                // Stopping, and no buffer (this thread's own included: a callback may have queued
                // through it) holds anything more.
                break;
            }
            continue;
        }
        #[cfg(not(loom))]
        if let Some(previous) = last_batch {
            let deadline = previous + BATCH_DELAY;
            while n < BATCH_MAX
                && n <= cbs.throttle.high()
                && cbs.barrier_waiters.load(Ordering::Relaxed) == 0
                && !cbs.stopping()
            {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                cbs.sleep(n, BATCHING, Some(deadline - now));
                n = cbs.queued_count();
            }
        }
        #[cfg(not(loom))]
        {
            last_batch = Some(Instant::now());
        }
        let _batch = lock(&cbs.batch_lock);
        cbs.collect();
        // Everything counted now was queued before the grace period below begins.
        n = cbs.queued_count();
        if n > cbs.throttle.high() {
            gp.synchronize_expedited();
        } else {
            gp.synchronize();
        }
        for done in 1..=n {
            // SAFETY: this is the domain's only consumer (Q1), and `n` callbacks were counted.
            let node = unsafe { cbs.queue.pop_blocking() };
            // Count before running (single writer: no read-modify-write on a shared line needed
            // beyond these uncontended ones).
            cbs.invoked.fetch_add(1, Ordering::Relaxed);
            cbs.batch_done.store(done, Ordering::Relaxed);
            // SAFETY: popped nodes carry the callback their producer set under call_rcu1's contract.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe { invoke(node) })) {
                // Under loom a panicking callback is a failed model (a race loom found in a value's
                // drop, for instance): let it end the model instead of reporting and going on.
                #[cfg(loom)]
                std::panic::resume_unwind(payload);
                #[cfg(not(loom))]
                {
                    cbs.panics.fetch_add(1, Ordering::Relaxed);
                    diag::report(&format!(
                        "rcu-core: a call_rcu callback panicked ({}); the callback thread goes on \
                         with the next callback",
                        diag::payload_message(&*payload)
                    ));
                    diag::drop_payload(payload);
                }
            }
        }
        cbs.pending.value.fetch_sub(n, Ordering::Relaxed);
        cbs.batch_done.store(0, Ordering::Relaxed);
        cbs.throttle.batch_done();
    }
}

impl Callbacks {
    /// Queues `marker` behind every callback queued before the call, by any thread, and wakes the
    /// callback thread: the queueing half of `rcu_barrier` (`DomainInner::barrier`) and of the
    /// barrier future.
    ///
    /// Every such callback is in the shared queue or in a registered per-thread buffer (an exiting
    /// thread moves its buffer to the queue before unregistering it, under the same lock), so the
    /// buffers are collected first and the marker goes straight to the shared queue behind them. A
    /// marker queued through the caller's own buffer could be collected before another thread's
    /// buffer (or taken after an append that found it claimed went straight to the queue): it could
    /// run before earlier callbacks (`tests/async_barrier_order.rs`).
    pub(crate) fn push_marker(&self, marker: impl FnOnce() + Send + 'static) {
        self.collect();
        // No backlog check: the marker is rcu-core's own, and a panic here would leave it queued
        // while the caller (`gp_async`) undoes its bookkeeping.
        let (head, func) = box_closure(marker);
        // SAFETY: `box_closure` hands over a fresh head with a matching trampoline.
        let _backlog = unsafe { self.push(head, func) };
        self.kick();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The backlog limit must not panic inside the owner's buffer window: an unwinding `append`
    /// used to leave `busy` set (the overflow `assert!` was in `count_queued`, reached from the
    /// hand-off inside the window), and every later collector spun on it forever.
    #[test]
    fn backlog_panic_leaves_no_window_open() {
        let cbs: &'static Callbacks = Box::leak(Box::new(Callbacks::new()));
        let buf = cbs.register_buffer();
        // The callback thread "sleeps" (so the append hands its list over inside the window) and
        // the count is at the top of its range.
        cbs.pending
            .value
            .store(SLEEPING | (COUNT_MASK - 1), Ordering::Relaxed);
        let (head, func) = box_closure(|| {});
        let caught = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: a fresh head with its trampoline; `buf` is registered with `cbs` and used by
            // this thread only.
            check_backlog(unsafe { cbs.push_local(&buf, head, func) });
        }));
        let payload = caught.expect_err("a call_rcu over the backlog limit did not panic");
        let message = crate::diag::payload_message(&*payload);
        assert!(
            message.contains("cannot keep up"),
            "unexpected panic message: {message}"
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            cbs.collect();
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(10)).expect(
            "a collector still waits for the owner's window after 10 s: the panic left `busy` set",
        );
    }
}
