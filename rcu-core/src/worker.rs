//! The callback thread: `call_rcu`, batching, one grace period per batch, `rcu_barrier`.
//!
//! Producers push onto the wait-free queue of `callback.rs`, then add 1 to `pending`, a 32-bit futex
//! word holding the number of queued, not yet invoked callbacks (low 29 bits), a `SLEEPING` bit that
//! the callback thread sets when it sleeps until the next enqueue, a `BATCHING` bit it sets while it
//! waits for a batch to fill (wake it only when the batch is full), and a `STOPPING` bit (a dropped
//! [`Domain`]). A producer issues a wake-up only if it sees `SLEEPING`, or `BATCHING` with the count
//! reaching [`BATCH_MAX`]; so under a steady stream of `call_rcu` the enqueue is three atomic
//! operations and no system call. Because the count and the bits share one word, the atomic add (or
//! the `STOPPING` or) and the thread's compare-and-swap into sleep are totally ordered and no wake-up
//! is lost (no fence is needed).
//!
//! [`Domain`]: crate::Domain
//!
//! The callback thread (QEMU's `call_rcu_thread`, liburcu's `call_rcu` worker) loops:
//! 1. sleep until `pending > 0`;
//! 2. batch: wait until [`BATCH_DELAY`] after the previous batch started, unless [`BATCH_MAX`]
//!    callbacks are pending or an `rcu_barrier` is waiting (then it goes on at once, so the barrier
//!    adds no batching latency); after an idle period the first callback starts a batch at once;
//! 3. read the count *n*, run one grace period, pop and invoke exactly *n* callbacks (every counted
//!    callback was queued before the grace period began), subtract *n*.
//!
//! A panicking callback is caught, reported on stderr and counted; the thread goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use crate::callback::{CallbackQueue, RcuCallback, RcuHead, invoke};
use crate::diag;
use crate::domain::{DomainInner, DomainRef};
use crate::sync::{
    Arc, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, CachePadded, Event, FutexWord, Mutex,
    Ordering, lock, maybe_const_fn, thread,
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

/// Whether an enqueue that found the word at `old` fills the batch the callback thread waits for.
#[cfg(not(loom))]
fn fills_batch(old: u32) -> bool {
    old & BATCHING != 0 && old & COUNT_MASK == BATCH_MAX - 1
}

/// Under loom the callback thread never waits for a batch (no clock).
#[cfg(loom)]
fn fills_batch(_old: u32) -> bool {
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
    /// Held while a batch runs (grace period plus callbacks); taken across `fork()`.
    pub(crate) batch_lock: Mutex<()>,
    pub(crate) handle: Mutex<Option<thread::JoinHandle<()>>>,
    pub(crate) started: AtomicBool,
}

struct ClosureNode<F> {
    head: RcuHead,
    f: F,
}

/// Trampoline for [`Callbacks::push_closure`].
///
/// # Safety
/// `head` is the `head` field of a leaked `Box<ClosureNode<F>>`, handed over exactly once.
unsafe fn run_closure<F: FnOnce()>(head: NonNull<RcuHead>) {
    // SAFETY: per the contract, the container is a live boxed ClosureNode<F> that we now own.
    let node = unsafe { Box::from_raw(crate::container_of!(head, ClosureNode<F>, head)) };
    let ClosureNode { f, .. } = *node;
    f();
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
                batch_lock: Mutex::new(()),
                handle: Mutex::new(None),
                started: AtomicBool::new(false),
            }
        }
    }

    /// Queues `func(head)`. Wait-free.
    ///
    /// # Safety
    /// The contract of [`crate::call_rcu1`].
    pub(crate) unsafe fn push(&self, head: NonNull<RcuHead>, func: RcuCallback) {
        // SAFETY: the caller owns the unqueued head; nobody else reads `func` before the push.
        unsafe { head.as_ref() }
            .func
            .with_mut(|f| unsafe { *f = Some(func) });
        // SAFETY: forwarded contract: live until invoked, not queued twice.
        unsafe { self.queue.push(head) };
        // Release pairs with the Acquire load in `pending_count`: the count never runs ahead of the
        // queue as seen by the callback thread.
        let old = self.pending.value.fetch_add(1, Ordering::Release);
        assert!(
            old & COUNT_MASK < COUNT_MASK - 1,
            "rcu-core: more than 2^29 callbacks pending; the callback thread cannot keep up"
        );
        if old & SLEEPING != 0 || fills_batch(old) {
            self.pending.wake_all();
        }
    }

    /// Wakes the callback thread if it sleeps or waits for a batch (used by `rcu_barrier` after
    /// queueing its marker, so the barrier adds no batching delay).
    pub(crate) fn kick(&self) {
        if self.pending.value.load(Ordering::Relaxed) & WAITING_BITS != 0 {
            self.pending.wake_all();
        }
    }

    /// Queues a closure (boxes it together with its head: one allocation).
    pub(crate) fn push_closure<F: FnOnce() + Send + 'static>(&self, f: F) {
        let node = Box::into_raw(Box::new(ClosureNode {
            head: RcuHead::new(),
            f,
        }));
        // SAFETY: `node` is a fresh leaked box; its head is live until `run_closure` frees it,
        // which happens exactly once, when the callback runs.
        unsafe {
            self.push(
                NonNull::new_unchecked(&raw mut (*node).head),
                run_closure::<F>,
            );
        }
    }

    /// Callbacks queued and not yet invoked.
    pub(crate) fn pending_count(&self) -> u32 {
        // Acquire pairs with the Release add in `push`.
        self.pending.value.load(Ordering::Acquire) & COUNT_MASK
    }

    /// If the word holds exactly `expected` (a count, no flags), sets `flag` (`SLEEPING` or
    /// `BATCHING`) and sleeps until woken, at most `timeout`.
    fn sleep(&self, expected: u32, flag: u32, #[cfg(not(loom))] timeout: Option<Duration>) {
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
            #[cfg(not(loom))]
            self.pending.wait(expected | flag, timeout);
            #[cfg(loom)]
            self.pending.wait(expected | flag, None);
        }
        self.pending.value.fetch_and(!flag, Ordering::Relaxed);
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
        // SAFETY: we are the single-threaded child, the callback thread is gone and the fork
        // handlers held the batch lock, so no pop was in progress.
        let queued = unsafe { self.queue.repair_after_fork() };
        // Keep a STOPPING flag (a dropped domain); drop SLEEPING; the count is what is reachable.
        let stopping = self.pending.value.load(Ordering::Relaxed) & STOPPING;
        // (SLEEPING and BATCHING are dropped: no callback thread waits.)
        self.pending
            .value
            .store(stopping | queued, Ordering::Relaxed);
        self.started.store(false, Ordering::Release);
    }
}

/// Starts the domain's callback thread if it is not running.
pub(crate) fn ensure_worker(domain: &DomainRef) {
    // Acquire pairs with the Release store below: a running worker is fully set up.
    if domain.callbacks.started.load(Ordering::Acquire) {
        return;
    }
    let mut handle = lock(&domain.callbacks.handle);
    if domain.callbacks.started.load(Ordering::Relaxed) {
        return;
    }
    let for_thread = domain.clone();
    let spawned = thread::Builder::new()
        .name("call_rcu".into())
        .spawn(move || worker_main(for_thread))
        .expect("rcu-core: cannot spawn the call_rcu callback thread");
    *handle = Some(spawned);
    // Release pairs with the Acquire load above.
    domain.callbacks.started.store(true, Ordering::Release);
}

/// At process exit: if the callback thread is idle (nothing pending), stop and join it, so that it
/// leaves nothing behind (valgrind reports no leak for it). A busy thread is left running: exit must
/// not wait for callbacks. After the join the domain is back to "no callback thread", so a
/// `call_rcu` or `rcu_barrier` that runs later in the exit sequence (a later `atexit` handler, a
/// static destructor) starts a new one instead of queueing callbacks that nobody runs.
#[cfg(not(loom))]
pub(crate) fn join_if_idle(domain: &DomainInner) {
    let cbs = &domain.callbacks;
    let mut handle = lock(&cbs.handle);
    if !cbs.started.load(Ordering::Acquire) || cbs.pending_count() != 0 {
        return;
    }
    cbs.stop();
    if let Some(thread) = handle.take() {
        let _ = thread.join();
    }
    cbs.pending.value.fetch_and(!STOPPING, Ordering::Relaxed);
    // Release pairs with the Acquire load in `ensure_worker` (as the store that set it).
    cbs.started.store(false, Ordering::Release);
}

#[cfg(not(loom))]
thread_local! {
    /// The domain whose callback thread this is, if any (for misuse checks).
    static WORKER_OF: std::cell::Cell<*const DomainInner> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Whether the calling thread is `domain`'s callback thread.
pub(crate) fn is_worker_of(domain: &DomainInner) -> bool {
    #[cfg(not(loom))]
    {
        WORKER_OF.with(|w| std::ptr::eq(w.get(), domain))
    }
    #[cfg(loom)]
    {
        let _ = domain;
        false
    }
}

fn worker_main(domain: DomainRef) {
    #[cfg(not(loom))]
    WORKER_OF.with(|w| w.set(&*domain));
    let cbs = &domain.callbacks;
    #[cfg(not(loom))]
    let mut last_batch: Option<Instant> = None;
    loop {
        let mut n = cbs.pending_count();
        if n == 0 {
            if cbs.stopping() {
                break;
            }
            #[cfg(not(loom))]
            cbs.sleep(0, SLEEPING, None);
            #[cfg(loom)]
            cbs.sleep(0, SLEEPING);
            continue;
        }
        #[cfg(not(loom))]
        if let Some(previous) = last_batch {
            let deadline = previous + BATCH_DELAY;
            while n < BATCH_MAX
                && cbs.barrier_waiters.load(Ordering::Relaxed) == 0
                && !cbs.stopping()
            {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                cbs.sleep(n, BATCHING, Some(deadline - now));
                n = cbs.pending_count();
            }
        }
        #[cfg(not(loom))]
        {
            last_batch = Some(Instant::now());
        }
        let _batch = lock(&cbs.batch_lock);
        // Everything counted now was queued before the grace period below begins.
        n = cbs.pending_count();
        domain.gp.synchronize();
        for done in 1..=n {
            // SAFETY: this is the domain's only consumer (Q1), and `n` callbacks were counted.
            let node = unsafe { cbs.queue.pop_blocking() };
            // Count before running (single writer: no read-modify-write on a shared line needed
            // beyond these uncontended ones).
            cbs.invoked.fetch_add(1, Ordering::Relaxed);
            cbs.batch_done.store(done, Ordering::Relaxed);
            // SAFETY: popped nodes carry the callback their producer set under call_rcu1's contract.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe { invoke(node) })) {
                cbs.panics.fetch_add(1, Ordering::Relaxed);
                diag::report(&format!(
                    "rcu-core: a call_rcu callback panicked ({}); the callback thread goes on with \
                     the next callback",
                    diag::payload_message(&*payload)
                ));
                diag::drop_payload(payload);
            }
        }
        cbs.pending.value.fetch_sub(n, Ordering::Relaxed);
        cbs.batch_done.store(0, Ordering::Relaxed);
    }
}

/// `rcu_barrier` / `drain_call_rcu`: waits until every callback queued before the call has run.
#[track_caller]
pub(crate) fn barrier(domain: &DomainRef) {
    assert!(
        !is_worker_of(domain),
        "rcu-core: rcu_barrier called from a call_rcu callback; the callback thread would wait for \
         itself forever. Queue the follow-up work with call_rcu instead."
    );
    let cbs = &domain.callbacks;
    cbs.barrier_waiters.fetch_add(1, Ordering::Relaxed);
    let done = Arc::new(Event::new(false));
    let signal = done.clone();
    ensure_worker(domain);
    cbs.push_closure(move || signal.set());
    cbs.kick();
    while !done.is_set() {
        done.wait(None);
    }
    cbs.barrier_waiters.fetch_sub(1, Ordering::Relaxed);
}
