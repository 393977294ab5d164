//! The process-wide default domain and the free functions that use it.
//!
//! The domain is a `static`, and each thread finds its reader record through a `const`-initialized
//! thread-local pointer, so the read-side fast path is: one thread-local load, one load of the
//! counter, two plain stores and a compiler fence (lock); one store, a compiler fence and one load
//! (unlock). Registration is automatic on the first `read_lock`; a second thread-local with a
//! destructor unregisters the thread when it exits.
//!
//! Late sections: thread-local destructors run in reverse order of registration, so a destructor
//! can run after the registration's and still call `read_lock`. The record is then *late*
//! (`Reader::mark_late`): `LOCAL` keeps pointing at it (a `const` thread-local without destructor
//! stays usable to the end), and the outermost unlock of its current section unregisters and frees
//! it. A registration destroyed while a guard is alive hands its record over the same way. So a
//! late thread never leaks records and `read_ongoing` stays exact.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::callback::{RcuCallback, RcuHead};
use crate::engine::{DEFAULT, GpState};
use crate::gp::panic_in_section;
use crate::rcu_domain::{NotSend, RcuDomain, RecordPtr, sealed};
use crate::reader::Reader;
use crate::stats::Stats;
use crate::sync::Arc;
use crate::throttle::CallbackLimit;
use crate::worker::{self, DomainRef};

/// The reference the default domain's callback thread keeps; made when the thread is started,
/// which also installs the fork handlers and, the first time, arranges for the thread to be joined
/// at process exit when idle.
pub(crate) fn default_owner() -> DomainRef {
    crate::fork::init();
    #[cfg(not(loom))]
    {
        static AT_EXIT: std::sync::Once = std::sync::Once::new();
        AT_EXIT.call_once(|| {
            // SAFETY: `join_worker_at_exit` is an `extern "C"` function that does not unwind (it
            // catches panics).
            unsafe { libc::atexit(join_worker_at_exit) };
        });
    }
    DomainRef::Static(&DEFAULT)
}

#[cfg(not(loom))]
extern "C" fn join_worker_at_exit() {
    let _ = std::panic::catch_unwind(|| worker::join_if_idle(&DEFAULT));
}

crate::sync::thread_local_const! {
    /// Fast-path pointer to this thread's record in the default domain; null when unregistered. A
    /// late record (see the module docs) is owned through this pointer (`Arc::into_raw`).
    static LOCAL: Cell<*const Reader> = Cell::new(ptr::null());
}

crate::sync::thread_local_const! {
    /// Owns the registration; its destructor unregisters the thread.
    static REGISTRATION: RefCell<Option<Registration>> = RefCell::new(None);
}

struct Registration {
    reader: Arc<Reader>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.reader.nest() == 0 {
            LOCAL.with(|l| l.set(ptr::null()));
            DEFAULT.gp.unregister(&self.reader);
        } else {
            // A guard is still alive (owned by a thread-local destroyed later, or leaked with
            // mem::forget). Hand the record over to `LOCAL`, which already points at it: the
            // outermost unlock unregisters and frees it. Until then it blocks grace periods like an
            // open rcu_read_lock in C, and the stall warning names it.
            self.reader.mark_late();
            let _owned_by_local = Arc::into_raw(self.reader.clone());
        }
    }
}

/// Gives up a late record whose outermost section just ended (see the module docs).
///
/// # Safety
/// `reader` is this thread's late record, owned through `LOCAL` (`Arc::into_raw`), in no section.
#[cold]
unsafe fn release_late(reader: *const Reader) {
    LOCAL.with(|l| l.set(ptr::null()));
    // SAFETY: per the contract, `LOCAL` owned one strong count, handed back here exactly once.
    let reader = unsafe { Arc::from_raw(reader) };
    DEFAULT.gp.unregister(&reader);
}

/// Registers the calling thread; returns its record.
#[cold]
fn register_slow() -> *const Reader {
    crate::fork::init();
    let reader = DEFAULT.gp.register();
    let raw = Arc::as_ptr(&reader);
    let stored = REGISTRATION
        .try_with(|r| {
            *r.borrow_mut() = Some(Registration {
                reader: reader.clone(),
            })
        })
        .is_ok();
    if stored {
        drop(reader);
    } else {
        // The registration thread-local is already destroyed (we run in a later thread-local
        // destructor): a late record, owned through `LOCAL` until its section ends.
        reader.mark_late();
        let _owned_by_local = Arc::into_raw(reader);
    }
    LOCAL.with(|l| l.set(raw));
    raw
}

#[inline]
fn current_reader() -> *const Reader {
    let reader = LOCAL.with(Cell::get);
    if reader.is_null() {
        register_slow()
    } else {
        reader
    }
}

/// A read-side critical section of the default domain; dropping it is `rcu_read_unlock`.
///
/// Created by [`read_lock`]. `!Send` and `!Sync`: the section belongs to the thread that entered it.
/// References obtained under a guard (from [`RcuCell::read`](crate::RcuCell::read) or an RCU list)
/// borrow it, so they cannot outlive the section. The guard unlocks during a panic unwind too.
#[must_use = "the critical section ends when the guard is dropped"]
pub struct ReadGuard {
    reader: RecordPtr,
    _not_send: PhantomData<NotSend>,
}

impl fmt::Debug for ReadGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadGuard").finish_non_exhaustive()
    }
}

impl Drop for ReadGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the record outlives the guard: it is owned by this thread's registration, or,
        // once late, through `LOCAL` until the outermost unlock (see `Registration::drop`); the
        // guard is `!Send`, so this is the owner thread (Invariant R1 of `reader.rs`).
        if unsafe { (*self.reader.0).unlock(&DEFAULT.gp.event) } {
            // SAFETY: `unlock` reported the end of a late record's outermost section.
            unsafe { release_late(self.reader.0) };
        }
    }
}

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
    let reader = current_reader();
    // SAFETY: `reader` is this thread's live record (see `ReadGuard::drop`), used by its owner.
    unsafe { (*reader).lock(&DEFAULT.gp.ctr) };
    ReadGuard {
        reader: RecordPtr(reader),
        _not_send: PhantomData,
    }
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
    let reader = LOCAL.with(Cell::get);
    // SAFETY: a non-null LOCAL is this thread's live record.
    !reader.is_null() && unsafe { (*reader).nest() } > 0
}

/// Registers the calling thread as a reader (`rcu_register_thread`). Optional: [`read_lock`] does
/// it on first use, and the thread is unregistered when it exits. Calling it twice is harmless.
///
/// ```
/// rcu_core::register_thread();
/// assert!(rcu_core::stats().registered_readers >= 1);
/// ```
pub fn register_thread() {
    current_reader();
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
    // Nothing to do once the registration is destroyed (thread exit): late records unregister
    // themselves when their section ends.
    if let Ok(registration) = REGISTRATION.try_with(|r| r.borrow_mut().take()) {
        drop(registration);
    }
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
    if read_ongoing() {
        panic_in_section("synchronize_rcu");
    }
    crate::fork::init();
    DEFAULT.gp.synchronize();
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
    if read_ongoing() {
        panic_in_section("synchronize_rcu_expedited");
    }
    crate::fork::init();
    DEFAULT.gp.synchronize_expedited();
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
    DEFAULT.callbacks.throttle.set(limit);
}

/// The default domain's bound on pending callbacks ([`CallbackLimit::DEFAULT`] unless set).
///
/// ```
/// assert!(rcu_core::callback_limit().producers_wait());
/// ```
pub fn callback_limit() -> CallbackLimit {
    DEFAULT.callbacks.throttle.get()
}

/// Runs `f` on the background callback thread after a grace period: `call_rcu()` with a closure.
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
/// domain's [`CallbackLimit`] (default 262 144) waits until the callback thread has brought the
/// backlog down to the low watermark (default 65 536), so that producers cannot outrun reclamation
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
    worker::ensure_worker(&DEFAULT, default_owner);
    let (head, func) = worker::box_closure(f);
    // SAFETY: `box_closure` hands over a fresh head with the trampoline that frees it.
    let backlog = unsafe { DEFAULT.callbacks.push_buffered(head, func) };
    DEFAULT.callbacks.help(backlog, producer_may_wait);
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
    worker::ensure_worker(&DEFAULT, default_owner);
    // SAFETY: forwarded contract.
    let backlog = unsafe { DEFAULT.callbacks.push_buffered(head, func) };
    DEFAULT.callbacks.help(backlog, producer_may_wait);
}

/// Whether the calling thread may wait for a callback thread after queueing a callback above its
/// domain's [`CallbackLimit`] (`throttle.rs`): it is in no read-side critical section of any domain
/// (a section of an independent domain through a [`ReaderHandle`](crate::ReaderHandle), or after
/// the thread's record table is gone, cannot be ruled out cheaply: then it does not wait), it is no
/// domain's callback thread, and it has no [`NoWaitRegion`](crate::NoWaitRegion) open. Asked only
/// by the public `call_rcu`s (of every domain), after their enqueue and only above the bound:
/// rcu-core's own callbacks (slots, markers, polling) never wait.
pub(crate) fn producer_may_wait() -> bool {
    !crate::throttle::in_no_wait_region()
        && !worker::is_callback_thread()
        && !read_ongoing()
        && !crate::local::may_be_in_section()
}

/// Waits until every callback queued (by any thread) before the call has run: `rcu_barrier()`,
/// QEMU's `drain_call_rcu()`.
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
    if read_ongoing() {
        panic_in_section("rcu_barrier");
    }
    worker::barrier(&DEFAULT, default_owner);
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
    DEFAULT.start_poll(default_owner)
}

/// Whether a full grace period has elapsed since `state` was taken (`poll_state_synchronize_rcu`).
/// Never true while a reader that was inside a section when `state` was taken is still inside it.
pub fn poll_state_synchronize_rcu(state: GpState) -> bool {
    DEFAULT.poll_state(state)
}

/// Waits for a grace period unless one has elapsed since `state` was taken
/// (`cond_synchronize_rcu`).
///
/// # Panics
/// As [`synchronize_rcu`], when it has to wait.
#[track_caller]
pub fn cond_synchronize_rcu(state: GpState) {
    if !poll_state_synchronize_rcu(state) {
        synchronize_rcu();
    }
}

/// Counters of the default domain.
///
/// ```
/// rcu_core::synchronize_rcu();
/// assert!(rcu_core::stats().synchronize_calls >= 1);
/// ```
pub fn stats() -> Stats {
    DEFAULT.stats()
}

/// Sets the stall-warning timeout of the default domain: a grace period that waits longer prints
/// one warning on stderr naming each blocking reader thread. Default 21 s (Linux's
/// `CONFIG_RCU_CPU_STALL_TIMEOUT`); `None` disables the warning.
///
/// ```
/// rcu_core::set_stall_timeout(Some(std::time::Duration::from_secs(60)));
/// ```
pub fn set_stall_timeout(timeout: Option<Duration>) {
    DEFAULT.gp.set_stall_timeout(timeout);
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

impl sealed::Sealed for DefaultDomain {}

impl RcuDomain for DefaultDomain {
    type Guard<'a> = ReadGuard;

    #[inline]
    fn read_lock(&self) -> ReadGuard {
        read_lock()
    }

    #[inline]
    fn read_ongoing(&self) -> bool {
        read_ongoing()
    }

    #[track_caller]
    fn synchronize(&self) {
        synchronize_rcu();
    }

    fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F) {
        call_rcu(f);
    }

    unsafe fn call_rcu1(&self, head: NonNull<RcuHead>, func: RcuCallback) {
        // SAFETY: forwarded contract.
        unsafe { call_rcu1(head, func) };
    }

    #[track_caller]
    fn barrier(&self) {
        rcu_barrier();
    }

    fn start_poll(&self) -> GpState {
        start_poll_synchronize_rcu()
    }

    fn poll_state(&self, state: GpState) -> bool {
        poll_state_synchronize_rcu(state)
    }

    /// The type proves it: a [`ReadGuard`] is always a section of the default domain.
    #[inline]
    fn check_guard(&self, _guard: &ReadGuard) {}

    /// The default domain keeps working in a child after `fork()`: nothing to check.
    #[inline]
    fn check_can_update(&self) {}
}
