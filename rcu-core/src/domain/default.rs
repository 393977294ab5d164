//! The process-wide default domain, [`DefaultDomain`], and the free functions that use it: each
//! one a provided method of [`RcuDomain`] (the engine, written once for every domain).
//!
//! The domain is a `static`, and each thread finds its reader record and callback buffer through
//! slot 0 of its `const`-initialized thread-local state (`domain/local.rs`), so the read-side fast path
//! is: one thread-local load, one load of the counter, two plain stores and a compiler fence
//! (lock); one store, a compiler fence and one load (unlock).

use std::ptr::NonNull;
use std::time::Duration;

use crate::callbacks::bag::Reclaim;
use crate::callbacks::head::{RcuCallback, RcuHead};
use crate::callbacks::throttle::CallbackLimit;
use crate::domain::{Guard, RcuDomain, sealed};
use crate::engine::{DEFAULT, DomainInner, DomainRef, GpState};
use crate::gp_async::{RcuBarrierFuture, SynchronizeRcuFuture};
use crate::stats::Stats;

/// A read-side critical section of the default domain ([`Guard`] of [`DefaultDomain`]; one
/// pointer); dropping it is `rcu_read_unlock`. Created by [`read_lock`].
pub type ReadGuard = Guard<'static, DefaultDomain>;

/// Enters a read-side critical section of the default domain: `rcu_read_lock()`, QEMU's
/// `RCU_READ_LOCK_GUARD()` / `WITH_RCU_READ_LOCK_GUARD()`.
///
/// Sections nest; only the outermost guard touches shared state. The first call on a thread
/// registers it ([`register_thread`]). The section ends when the guard is dropped.
///
/// # Example
///
/// ```
/// let cell = rcu_core::RcuCell::new(String::from("v1"));
/// let guard = rcu_core::read_lock();
/// let value: &String = cell.read(&guard);
/// assert_eq!(value, "v1");
/// assert!(rcu_core::read_ongoing());
/// drop(guard);
/// assert!(!rcu_core::read_ongoing());
/// ```
#[inline]
pub fn read_lock() -> ReadGuard {
    crate::domain::read_lock(&DefaultDomain)
}

/// Whether the calling thread is inside a read-side critical section of the default domain
/// (`rcu_read_ongoing`).
///
/// ```
/// assert!(!rcu_core::read_ongoing());
/// let _g = rcu_core::read_lock();
/// assert!(rcu_core::read_ongoing());
/// ```
pub fn read_ongoing() -> bool {
    DefaultDomain.read_ongoing()
}

/// Registers the calling thread as a reader (`rcu_register_thread`). Optional: [`read_lock`] does
/// it on first use, and the thread is unregistered when it exits. Calling it twice is harmless.
///
/// ```
/// rcu_core::register_thread();
/// assert!(rcu_core::stats().registered_readers >= 1);
/// ```
pub fn register_thread() {
    crate::domain::local::record(&DEFAULT, true);
}

/// Unregisters the calling thread (`rcu_unregister_thread`); it is registered again by its next
/// [`read_lock`].
///
/// # Panics
/// Inside a read-side critical section.
///
/// ```
/// rcu_core::register_thread();
/// rcu_core::unregister_thread();
/// ```
#[track_caller]
pub fn unregister_thread() {
    if read_ongoing() {
        panic!(
            "rcu-core: unregister_thread called inside a read-side critical section; drop every \
             ReadGuard on this thread first"
        );
    }
    crate::domain::local::unregister(&DEFAULT, true);
}

/// Waits until every read-side critical section that was running when it was called has ended:
/// `synchronize_rcu()`.
///
/// Concurrent callers share grace periods. With no registered readers it returns at once.
///
/// # Panics
/// Inside a read-side critical section on the same thread (it would wait for itself forever).
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicPtr, Ordering};
/// use rcu_core::raw::{rcu_assign_pointer, rcu_dereference};
///
/// let slot = AtomicPtr::new(Box::into_raw(Box::new(1u32)));
/// let old = rcu_dereference(&slot);
/// rcu_assign_pointer(&slot, Box::into_raw(Box::new(2u32)));
/// rcu_core::synchronize_rcu();
/// // SAFETY: `old` was unpublished before the grace period; no reader can still hold it.
/// drop(unsafe { Box::from_raw(old) });
/// # drop(unsafe { Box::from_raw(slot.load(Ordering::Relaxed)) });
/// ```
#[track_caller]
pub fn synchronize_rcu() {
    DefaultDomain.synchronize();
}

/// Waits for a grace period like [`synchronize_rcu`], as soon as readers allow: Linux's
/// `synchronize_rcu_expedited()` (liburcu and QEMU have none).
///
/// [`synchronize_rcu`] lets callers that arrive while another thread's grace period is about to
/// start share it: under contention the next leader yields the CPU once first. This one never
/// yields and makes a leader it waits behind skip that yield too; it still joins a grace period
/// that starts after its call, since grace periods run one at a time and waiting for that one is
/// as fast as starting its own. Its latency is the readers' (sections in progress must end) plus
/// at most one grace period already running. **Cost**: less sharing between concurrent callers,
/// so more grace periods, each one system-wide barrier (`membarrier`, an IPI to every CPU running
/// the process's threads) or a `SeqCst` fence per reader. It does not touch the callback thread:
/// callbacks still wait for its next batch (see [`CallbackLimit`] for what expedites them).
///
/// # Panics
/// Inside a read-side critical section on the same thread, as [`synchronize_rcu`].
///
/// # Example
///
/// ```
/// let before = rcu_core::stats().synchronize_expedited_calls;
/// rcu_core::synchronize_rcu_expedited();
/// assert!(rcu_core::stats().synchronize_expedited_calls > before);
/// ```
#[track_caller]
pub fn synchronize_rcu_expedited() {
    DefaultDomain.synchronize_expedited();
}

/// Sets the default domain's bound on pending callbacks ([`CallbackLimit`], Linux's
/// `rcutree.qhimark` / `qlowmark` boot parameters), process-wide. Takes effect at once.
///
/// ```
/// rcu_core::set_callback_limit(rcu_core::CallbackLimit::new(100_000, 1_000));
/// assert_eq!(rcu_core::callback_limit().high(), 100_000);
/// # rcu_core::set_callback_limit(rcu_core::CallbackLimit::DEFAULT);
/// ```
pub fn set_callback_limit(limit: CallbackLimit) {
    DefaultDomain.set_callback_limit(limit);
}

/// The default domain's bound on pending callbacks ([`CallbackLimit::DEFAULT`] unless set).
///
/// ```
/// assert!(rcu_core::callback_limit().producers_wait());
/// ```
pub fn callback_limit() -> CallbackLimit {
    DefaultDomain.callback_limit()
}

/// Runs `f` on the background callback thread after a grace period: `call_rcu()` with a closure.
///
/// Callbacks always run on the callback thread (as in liburcu and QEMU), never on the thread that
/// queued them. Only plain frees may happen on the producing thread: [`defer_free`], [`free_rcu`]
/// and the containers that use them ([`RcuCell`] for values without drop glue) free memory on the
/// thread that retired it once its grace period has elapsed, unless the domain's [`Reclaim`] is
/// [`Reclaim::CallbackThread`]. To free a plain allocation after a grace period, prefer
/// [`free_rcu`]: it is cheaper and keeps the memory with its allocator cache.
///
/// One thread's callbacks run in the order that thread queued them (FIFO); callbacks queued by
/// different threads are not ordered with each other (each thread's go through its own buffer;
/// [`rcu_barrier`] waits for all of them). A callback may call `call_rcu` itself. A callback that
/// panics is reported on stderr and counted in [`Stats::callback_panics`]; later callbacks still
/// run.
///
/// # Cost
/// One allocation: the closure is boxed together with the [`RcuHead`] that queues it, even when it
/// captures nothing, because both must outlive the caller's frame until the callback runs on
/// another thread after a grace period. The enqueue itself appends to a buffer private to the
/// calling thread (no atomic read-modify-write on shared memory); full buffers move to the
/// callback thread in bulk, and the callback thread collects idle threads' buffers within about
/// one batch period (1 ms), so a callback is not held back by an idle producer. For retiring
/// objects without allocating, embed an `RcuHead` and use [`call_rcu1`] (what [`RcuCell`] does).
///
/// [`RcuCell`]: crate::RcuCell
///
/// # At process exit
/// Exit does not wait for callbacks: those still pending when the process exits never run (as in
/// liburcu and QEMU), so values they would drop are not dropped. Call [`rcu_barrier`] before
/// leaving `main` when their effects matter (flushing, closing, `Drop` side effects). `call_rcu` and
/// `rcu_barrier` keep working during exit, from `atexit` handlers and static destructors too: the
/// idle callback thread is joined at exit and started again on demand.
///
/// # May wait: the bound on pending callbacks
/// After queueing `f`, a call that finds more callbacks queued than the high watermark of the
/// domain's [`CallbackLimit`] (default 65 536) waits until the callback thread has brought the
/// backlog down to the low watermark (default 16 384), so that producers cannot outrun reclamation
/// without bound (Linux's `qhimark`; liburcu and QEMU never wait). That happens only under a flood
/// the callback thread cannot keep up with (it starts batches at once and expedites their grace
/// periods above the high watermark first), and only where waiting is safe; the call never waits:
/// - inside a read-side critical section of any domain (this thread's section would hold up the
///   grace period it waits for), nor where that cannot be ruled out cheaply (this thread holds a
///   [`ReaderHandle`](crate::ReaderHandle), or runs a thread-local destructor after its reader
///   table's);
/// - on a callback thread (from a callback);
/// - inside a [`NoWaitRegion`](crate::NoWaitRegion), which `rcu-queue`'s writer locks open;
/// - with [`CallbackLimit::producers_never_wait`].
///
/// There the callback is queued and counted in
/// [`Stats::callbacks_over_limit_not_waited`]. **Do not hold a lock that a callback takes** while
/// calling `call_rcu` (or a container writer that retires values, such as
/// [`RcuCell::replace`](crate::RcuCell::replace)) unless inside a [`NoWaitRegion`]: the callback
/// thread would block on it while this thread waits for the callback thread. On an async executor
/// thread the wait blocks the thread like any blocking call.
///
/// [`NoWaitRegion`]: crate::NoWaitRegion
///
/// # Panics
/// When 2^28 callbacks are already waiting for the callback thread (it cannot keep up): `f` is
/// queued and will run, then the call panics.
///
/// # Example
///
/// ```
/// let old = Box::new([0u8; 64]);
/// rcu_core::call_rcu(move || drop(old));
/// rcu_core::rcu_barrier();
/// ```
#[track_caller]
pub fn call_rcu<F: FnOnce() + Send + 'static>(f: F) {
    DefaultDomain.call_rcu(f);
}

/// Queues `func(head)` to run on the callback thread after a grace period, without allocating:
/// QEMU's `call_rcu1()` (and, with [`container_of!`](crate::container_of), `call_rcu(obj, func,
/// field)`).
///
/// # Safety
/// 1. `head` points to an [`RcuHead`] inside a live object that stays valid, and is not moved or
///    reused, until `func` has been called with it.
/// 2. The head is not already queued.
/// 3. Calling `func(head)` on the callback thread, after a grace period, is sound (in particular the
///    object must be `Send` if `func` touches it).
///
/// Not async-signal-safe: the per-thread buffer must not be re-entered by a signal handler that
/// interrupts a `call_rcu` / `call_rcu1` on the same thread.
///
/// # Panics
/// As [`call_rcu`], when the callback thread cannot keep up.
///
/// # May wait
/// As [`call_rcu`], above the domain's [`CallbackLimit`].
///
/// See [`RcuHead`] for an example.
#[track_caller]
pub unsafe fn call_rcu1(head: NonNull<RcuHead>, func: RcuCallback) {
    // SAFETY: forwarded contract.
    unsafe { DefaultDomain.call_rcu1(head, func) };
}

/// Frees `ptr` by calling `free(ptr)` after a grace period: Linux's `kfree_rcu` / `kvfree_rcu`,
/// QEMU's `g_free_rcu` (liburcu has none: `call_rcu` with a callback that calls `free`).
///
/// With the default [`Reclaim::Producers`] the calling thread keeps `(ptr, free)` in its free bag
/// and frees it itself, in segments of [`Reclaim::SEGMENT`], on a later `defer_free` (or
/// [`free_rcu`], [`RcuCell::replace`](crate::RcuCell::replace)) once the segment's grace period
/// has elapsed: the memory goes back to the allocator cache of the thread that retired it, and no
/// callback is queued per object. A thread holds at most [`Reclaim::MAX_HELD_PER_THREAD`] unfreed
/// objects per domain; beyond that it waits for its oldest segment's grace period (expedited) and
/// frees it, where a [`call_rcu`] may wait (not in a read-side critical section, a
/// [`NoWaitRegion`](crate::NoWaitRegion), a callback, nor with
/// [`CallbackLimit::producers_never_wait`]), and otherwise hands that segment to the callback
/// thread as one callback, without waiting. [`rcu_barrier`] hands the calling thread's bag to the
/// callback thread first, so it waits for the caller's own `defer_free`s; other threads' bags are
/// freed by those threads (within [`Reclaim::MAX_HELD_PER_THREAD`] of their retires, as soon as a
/// grace period has elapsed), at their exit, or at their next `rcu_barrier`, like crossbeam-epoch's
/// thread-local bags. With [`Reclaim::CallbackThread`] every object is one callback (as
/// [`call_rcu`]).
///
/// **May wait for a grace period**, past the bound, where allowed (see above): so, as with
/// [`synchronize_rcu`], do not call it (nor [`free_rcu`], nor a container writer such as
/// [`RcuCell::replace`](crate::RcuCell::replace)) while holding a lock that a reader takes inside
/// its read-side critical section, or that a callback takes, unless inside a
/// [`NoWaitRegion`](crate::NoWaitRegion): the grace period would wait for that reader, which
/// waits for the lock. Linux's `kfree_rcu` never sleeps; its single-argument form may.
///
/// # Safety
/// 1. `ptr` is unpublished: no reader can find it any more, though readers inside sections that
///    began earlier may still use it.
/// 2. `free(ptr)` is sound once, on any thread, after a grace period, and nothing else frees
///    `ptr` (the memory is `Send`).
/// 3. `free` only releases memory (Linux's `kfree_rcu` contract): it takes no locks, never waits,
///    never panics and never calls into RCU. It may run on the calling thread during a later
///    `defer_free` (inside the caller's locks and critical sections), on the callback thread, or in
///    a thread-local destructor.
///
/// # Panics
/// As [`call_rcu`], with [`Reclaim::CallbackThread`], when the callback thread cannot keep up.
///
/// # Example
///
/// ```
/// use std::ptr::NonNull;
/// use std::sync::atomic::{AtomicPtr, Ordering};
///
/// unsafe fn free_u64(p: NonNull<u8>) {
///     // SAFETY: `p` came from `Box::<u64>::into_raw` below and is freed once.
///     drop(unsafe { Box::from_raw(p.cast::<u64>().as_ptr()) });
/// }
///
/// let slot = AtomicPtr::new(Box::into_raw(Box::new(1u64)));
/// let old = slot.swap(Box::into_raw(Box::new(2u64)), Ordering::AcqRel);
/// // SAFETY: `old` is unpublished; `free_u64` only deallocates it.
/// unsafe { rcu_core::defer_free(NonNull::new(old).unwrap().cast(), free_u64) };
/// rcu_core::rcu_barrier(); // hands this thread's bag over: `old` is freed now
/// # drop(unsafe { Box::from_raw(slot.load(Ordering::Relaxed)) });
/// ```
#[track_caller]
pub unsafe fn defer_free(ptr: NonNull<u8>, free: unsafe fn(NonNull<u8>)) {
    // SAFETY: forwarded contract.
    unsafe { DefaultDomain.defer_free(ptr, free) };
}

/// Drops `b` after a grace period: Linux's `kfree_rcu`, QEMU's `g_free_rcu` (liburcu has none).
///
/// When `T` has no drop glue (`!std::mem::needs_drop::<T>()`), freeing `b` runs no user code, so
/// it goes through [`defer_free`] and is freed on this thread where possible (see there; it never
/// waits while the caller holds its own locks in a [`NoWaitRegion`](crate::NoWaitRegion) or is
/// in a read-side critical section). Otherwise it is exactly `call_rcu(move || drop(b))`: `T`'s
/// `Drop` always runs on the callback thread. A zero-sized `T` without drop glue allocated
/// nothing: it is dropped at once.
///
/// # Panics
/// As [`call_rcu`], when the callback thread cannot keep up.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicPtr, Ordering};
///
/// let slot = AtomicPtr::new(Box::into_raw(Box::new([0u64; 8])));
/// let old = slot.swap(Box::into_raw(Box::new([1u64; 8])), Ordering::AcqRel);
/// // SAFETY: `old` came from `Box::into_raw` and is unpublished now; readers that still hold it
/// // are inside sections that the grace period waits for.
/// rcu_core::free_rcu(unsafe { Box::from_raw(old) });
/// rcu_core::rcu_barrier();
/// # drop(unsafe { Box::from_raw(slot.load(Ordering::Relaxed)) });
/// ```
#[track_caller]
pub fn free_rcu<T: Send + 'static>(b: Box<T>) {
    DefaultDomain.free_rcu(b);
}

/// Pushes the calling thread's free bag of the default domain along without waiting:
/// crossbeam-epoch's `Guard::flush`; Linux's `kvfree_rcu` drains its per-CPU batches from a timer
/// the same way (liburcu and QEMU have no free bags).
///
/// A thread that retired a few objects with [`defer_free`] / [`free_rcu`] and then went idle
/// keeps them in its open segment until it retires [`Reclaim::SEGMENT`] more, calls
/// [`rcu_barrier`] or exits. `flush_frees` seals the open segment, however few objects it holds,
/// with a grace-period snapshot and makes sure that grace period will run (as a full segment's
/// seal does), and frees, on this thread, every sealed segment whose grace period has already
/// elapsed. So a flush, a grace period, and a second flush free everything retired before the
/// first flush. It never waits and never runs callbacks (past the bag's bound it hands the oldest
/// segment to the callback thread, as a `defer_free` in a read-side section does), so it may be
/// called anywhere, in a read-side critical section or a [`NoWaitRegion`](crate::NoWaitRegion)
/// too: it frees only segments whose grace period has elapsed, never anything retired inside the
/// caller's section. A no-op for a thread without a bag, and for objects already handed over
/// ([`Reclaim::CallbackThread`]).
///
/// # Panics
/// Never for the default domain (see [`Domain::flush_frees`](crate::Domain::flush_frees)).
///
/// # Example
///
/// ```
/// use std::ptr::NonNull;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// static FREED: AtomicU64 = AtomicU64::new(0);
/// unsafe fn free_u64(p: NonNull<u8>) {
///     // SAFETY: `p` came from `Box::<u64>::into_raw` below and is freed once.
///     drop(unsafe { Box::from_raw(p.cast::<u64>().as_ptr()) });
///     FREED.fetch_add(1, Ordering::Relaxed);
/// }
///
/// for i in 0..3u64 {
///     let p = NonNull::new(Box::into_raw(Box::new(i))).unwrap().cast();
///     // SAFETY: never published; `free_u64` only deallocates it.
///     unsafe { rcu_core::defer_free(p, free_u64) };
/// }
/// rcu_core::flush_frees(); // seals the three, requests their grace period
/// rcu_core::synchronize_rcu();
/// rcu_core::flush_frees(); // their grace period has elapsed: freed here, on this thread
/// assert_eq!(FREED.load(Ordering::Relaxed), 3);
/// ```
#[track_caller]
pub fn flush_frees() {
    DefaultDomain.flush_frees();
}

/// Sets where the default domain frees memory retired with [`defer_free`] and [`free_rcu`]
/// ([`Reclaim`]); takes effect at once for later calls (what a thread's bag already holds is still
/// freed by that thread, or handed over at its next `rcu_barrier` or exit). Linux and QEMU have no such switch
/// (`kfree_rcu` batches per CPU, `g_free_rcu` frees on the callback thread).
///
/// ```
/// rcu_core::set_reclaim(rcu_core::Reclaim::CallbackThread); // QEMU / liburcu behaviour
/// assert_eq!(rcu_core::reclaim(), rcu_core::Reclaim::CallbackThread);
/// # rcu_core::set_reclaim(rcu_core::Reclaim::Producers);
/// ```
pub fn set_reclaim(reclaim: Reclaim) {
    DefaultDomain.set_reclaim(reclaim);
}

/// Where the default domain frees memory retired with [`defer_free`] and [`free_rcu`]
/// ([`Reclaim::Producers`] unless set).
///
/// ```
/// assert_eq!(rcu_core::reclaim(), rcu_core::Reclaim::Producers);
/// ```
pub fn reclaim() -> Reclaim {
    DefaultDomain.reclaim()
}

/// Waits until every callback queued (by any thread) before the call has run: `rcu_barrier()`,
/// QEMU's `drain_call_rcu()`.
///
/// The calling thread's [`defer_free`]s and [`free_rcu`]s are handed to the callback thread first,
/// so they are freed when it returns; other threads' are freed by those threads (see
/// [`defer_free`]).
///
/// # Panics
/// Inside a read-side critical section, or on the callback thread (from a callback).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// let done = Arc::new(AtomicBool::new(false));
/// let d = done.clone();
/// rcu_core::call_rcu(move || d.store(true, Ordering::SeqCst));
/// rcu_core::rcu_barrier();
/// assert!(done.load(Ordering::SeqCst));
/// ```
#[track_caller]
pub fn rcu_barrier() {
    DefaultDomain.barrier();
}

/// Snapshots the grace-period state (`start_poll_synchronize_rcu`) and makes sure a grace period
/// will start. Pass the result to [`poll_state_synchronize_rcu`] or [`cond_synchronize_rcu`].
///
/// ```
/// let state = rcu_core::start_poll_synchronize_rcu();
/// rcu_core::synchronize_rcu(); // any grace period counts, whoever runs it
/// assert!(rcu_core::poll_state_synchronize_rcu(state));
/// ```
pub fn start_poll_synchronize_rcu() -> GpState {
    DefaultDomain.start_poll()
}

/// Whether a full grace period has elapsed since `state` was taken (`poll_state_synchronize_rcu`).
/// Never true while a reader that was inside a section when `state` was taken is still inside it.
pub fn poll_state_synchronize_rcu(state: GpState) -> bool {
    DefaultDomain.poll_state(state)
}

/// Waits for a grace period unless one has elapsed since `state` was taken
/// (`cond_synchronize_rcu`).
///
/// # Panics
/// As [`synchronize_rcu`], when it has to wait.
#[track_caller]
pub fn cond_synchronize_rcu(state: GpState) {
    DefaultDomain.cond_synchronize(state);
}

/// Counters of the default domain.
///
/// ```
/// rcu_core::synchronize_rcu();
/// assert!(rcu_core::stats().synchronize_calls >= 1);
/// ```
pub fn stats() -> Stats {
    DefaultDomain.stats()
}

/// Sets the stall-warning timeout of the default domain: a grace period that waits longer prints
/// one warning on stderr naming each blocking reader thread. Default 21 s (Linux's
/// `CONFIG_RCU_CPU_STALL_TIMEOUT`); `None` disables the warning.
///
/// ```
/// rcu_core::set_stall_timeout(Some(std::time::Duration::from_secs(60)));
/// ```
pub fn set_stall_timeout(timeout: Option<Duration>) {
    DefaultDomain.set_stall_timeout(timeout);
}

/// The process-wide default domain as a value: what the free functions ([`read_lock`],
/// [`synchronize_rcu`], [`call_rcu`], ...) use, and the default domain parameter of the containers
/// (`RcuCell<T, D = DefaultDomain>`). Zero-sized: a container in the default domain stores nothing
/// for it, and its methods compile to the free functions.
///
/// ```
/// use rcu_core::{DefaultDomain, RcuDomain};
/// let guard = DefaultDomain.read_lock(); // the same as rcu_core::read_lock()
/// assert!(DefaultDomain.read_ongoing());
/// drop(guard);
/// DefaultDomain.synchronize();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DefaultDomain;

impl sealed::Sealed for DefaultDomain {
    type Ref<'d> = DefaultDomain;
    const DEFAULT: bool = true;

    #[inline]
    fn engine(&self) -> &DomainInner {
        &DEFAULT
    }

    #[inline]
    fn engine_ref(&self) -> DefaultDomain {
        DefaultDomain
    }

    /// Also installs the fork handlers (a no-op where the loader did) and, once, the exit-time join
    /// of the callback thread (`engine::default_ref`).
    fn owner(&self) -> DomainRef {
        crate::domain::fork::init();
        crate::engine::default_ref()
    }
}

impl sealed::EngineRef for DefaultDomain {
    #[inline]
    fn engine(&self) -> &DomainInner {
        &DEFAULT
    }
}

impl RcuDomain for DefaultDomain {
    type Guard<'a> = ReadGuard;

    #[inline]
    fn read_lock(&self) -> ReadGuard {
        read_lock()
    }

    /// The type proves it: a [`ReadGuard`] is always a section of the default domain.
    #[inline]
    fn check_guard(&self, _guard: &ReadGuard) {}
}

/// Waits for a grace period without blocking the thread: the async form of
/// [`synchronize_rcu`](crate::synchronize_rcu) (Linux's `start_poll_synchronize_rcu` plus a
/// completion, liburcu's `call_rcu` + wait). Runtime-agnostic: it needs no particular executor.
///
/// The future completes once every read-side critical section that was running **when the future
/// was created** (not when it is first polled) has ended. Concurrent awaits share grace periods:
/// thousands of tasks awaiting at once cost a few grace periods, run by the callback thread, which
/// also wakes the tasks. The price is latency: an await costs about one callback batch, up to 1 ms
/// of batching delay plus one grace period (about 1.2 ms in `cargo bench -p benches --bench
/// async_gp`, where the blocking call takes under 2 µs), because that delay is what gathers a burst
/// of waiters onto one grace period. A task that needs microseconds and may block a thread can run
/// `synchronize_rcu` in `spawn_blocking` instead.
///
/// Unlike `synchronize_rcu` it may be called inside a read-side critical section (the snapshot then
/// waits for that section too), but a task must not **await** it while it holds a
/// [`ReadGuard`](crate::ReadGuard): the grace period would wait for the task's own section forever.
///
/// Cancel-safe: a future dropped before it completes leaves nothing behind and delays no other.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use rcu_core::RcuArcCell;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let routes = RcuArcCell::new(Arc::new(vec!["/a"]));
/// routes.store(Arc::new(vec!["/a", "/b"]));
/// // Every reader that could still see the old routes has left its section.
/// rcu_core::synchronize_rcu_async().await;
/// # });
/// ```
pub fn synchronize_rcu_async() -> SynchronizeRcuFuture {
    crate::DefaultDomain.synchronize_async()
}

/// Waits, without blocking the thread, until every callback queued (by any thread) before the call
/// has run: the async form of [`rcu_barrier`](crate::rcu_barrier).
///
/// The marker callback is queued when the future is created. Cancel-safe.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flushed = Arc::new(AtomicBool::new(false));
/// let f = flushed.clone();
/// rcu_core::call_rcu(move || f.store(true, Ordering::SeqCst));
/// rcu_core::rcu_barrier_async().await;
/// assert!(flushed.load(Ordering::SeqCst));
/// # });
/// ```
pub fn rcu_barrier_async() -> RcuBarrierFuture {
    crate::DefaultDomain.barrier_async()
}
