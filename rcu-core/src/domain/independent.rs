//! Independent RCU domains, [`Domain`](crate::Domain) (like Linux SRCU or crossbeam's `Collector`): handles,
//! explicit reader registration and the shutdown of a domain. Every operation is a provided method
//! of [`RcuDomain`] (the engine, written once for every domain); a `Domain` supplies its hooks (its
//! state, shared through an `Arc`, and its thread-local slot) and names the methods for users who
//! do not import the trait.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Duration;

use crate::callbacks::bag::Reclaim;
use crate::callbacks::head::{RcuCallback, RcuHead};
use crate::callbacks::throttle::CallbackLimit;
use crate::domain::{Guard, NotSend, RcuDomain, sealed};
use crate::engine::{DomainInner, DomainRef, GpState};
use crate::gp::reader::{Link, Reader};
use crate::gp_async::{RcuBarrierFuture, SynchronizeRcuFuture};
use crate::stats::Stats;
use crate::sync::{Arc, Ordering};

/// A read-side critical section of a [`Domain`](crate::Domain) ([`Guard`] of [`Domain`](crate::Domain)); dropping it is
/// `rcu_read_unlock`. From [`Domain::read_lock`] or [`ReaderHandle::read_lock`]; it borrows the
/// domain (or handle), so the domain outlives it.
pub type DomainGuard<'d> = Guard<'d, Domain>;

/// Source of [`DomainInner::id`] for independent domains (a plain `std` counter even under loom:
/// identities, not state the algorithm synchronizes through).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An independent RCU domain: its own grace periods, reader registry and callback thread, so that
/// one subsystem's long readers never delay another subsystem's grace periods (Linux's SRCU,
/// crossbeam-epoch's `Collector`).
///
/// It has the whole API of the default domain, with the same semantics, as methods:
///
/// | default domain | `Domain` |
/// |---|---|
/// | [`read_lock`](crate::read_lock) → [`ReadGuard`](crate::ReadGuard) | [`read_lock`](Self::read_lock) → [`DomainGuard`] |
/// | [`read_ongoing`](crate::read_ongoing) | [`read_ongoing`](Self::read_ongoing) |
/// | [`synchronize_rcu`](crate::synchronize_rcu) | [`synchronize`](Self::synchronize) |
/// | [`synchronize_rcu_expedited`](crate::synchronize_rcu_expedited) | [`synchronize_expedited`](Self::synchronize_expedited) |
/// | [`set_callback_limit`](crate::set_callback_limit), [`callback_limit`](crate::callback_limit) | [`set_callback_limit`](Self::set_callback_limit), [`callback_limit`](Self::callback_limit) |
/// | [`call_rcu`](crate::call_rcu), [`call_rcu1`](crate::call_rcu1) | [`call_rcu`](Self::call_rcu), [`call_rcu1`](Self::call_rcu1) |
/// | [`defer_free`](crate::defer_free), [`free_rcu`](crate::free_rcu), [`flush_frees`](crate::flush_frees), [`set_reclaim`](crate::set_reclaim), [`reclaim`](crate::reclaim) | [`defer_free`](Self::defer_free), [`free_rcu`](Self::free_rcu), [`flush_frees`](Self::flush_frees), [`set_reclaim`](Self::set_reclaim), [`reclaim`](Self::reclaim) |
/// | [`rcu_barrier`](crate::rcu_barrier) | [`barrier`](Self::barrier) |
/// | [`start_poll_synchronize_rcu`](crate::start_poll_synchronize_rcu), ... | [`start_poll`](Self::start_poll), [`poll_state`](Self::poll_state), [`cond_synchronize`](Self::cond_synchronize) |
/// | [`stats`](crate::stats), [`set_stall_timeout`](crate::set_stall_timeout) | [`stats`](Self::stats), [`set_stall_timeout`](Self::set_stall_timeout) |
///
/// [`RcuCell`](crate::RcuCell) (and `rcu-queue`'s lists and map) can live in a domain:
/// `RcuCell::new_in(value, &domain)`; they then reclaim through it and accept only its guards (see
/// [`RcuDomain`](crate::RcuDomain) for how a guard of another domain is rejected).
///
/// `Domain` is a cheap handle (`Clone` shares the domain). When the last clone is dropped (containers
/// created in the domain hold one), the domain runs its pending callbacks (`rcu_barrier`) and joins
/// its callback thread; dropping it inside one of its own callbacks is allowed too (the callback
/// thread then finishes the queued callbacks and exits by itself).
///
/// **Readers.** [`read_lock`](Self::read_lock) registers the calling thread with the domain on first
/// use (a thread-local record per domain) and unregisters it when the thread exits; a domain dropped
/// first leaves nothing behind on other threads (their stale records are freed at their next
/// registration with any domain, or at their exit). [`register`](Self::register) gives an explicit
/// [`ReaderHandle`] instead (liburcu's `rcu_register_thread`), for threads that want to control
/// registration.
///
/// **`fork()`.** The child has only the forking thread, and the parent's callback threads and locks
/// of independent domains are not carried over. In the child, a `Domain` created before the fork
/// supports `read_lock` (and guards), `read_ongoing`, `poll_state`, `stats` and being dropped (which
/// then skips the barrier and leaks the domain's state instead of waiting for a thread that does not
/// exist). These take only locks that the fork handlers hold across `fork()`, so a parent thread
/// that was using the domain at that moment does not make them hang. Every call that waits for or
/// queues work (`synchronize`, `call_rcu`, `call_rcu1`, `barrier`, `start_poll`,
/// `cond_synchronize`, `register`, a first `read_lock` on the thread, `barrier_async`, awaiting
/// `synchronize_async`) panics with a message saying so, and so does every writer of a container in
/// the domain ([`RcuCell::replace`](crate::RcuCell::replace) and the others, `rcu-queue`'s lists and
/// map), before it changes anything. Create a new `Domain` in the child instead. The default domain
/// is fully usable in the child (see the crate docs).
///
/// # Example
///
/// ```
/// use rcu_core::{Domain, RcuCell};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let domain = Domain::new();
/// let cell = RcuCell::new_in(String::from("v1"), &domain);
/// {
///     let guard = domain.read_lock(); // registers this thread on first use
///     assert_eq!(cell.read(&guard), "v1");
/// }
/// cell.replace(String::from("v2")); // the old value is dropped by `domain`'s callback thread
/// domain.synchronize();              // no section of `domain` is running: returns promptly
///
/// let ran = Arc::new(AtomicUsize::new(0));
/// let r = ran.clone();
/// domain.call_rcu(move || { r.fetch_add(1, Ordering::SeqCst); });
/// domain.barrier();
/// assert_eq!(ran.load(Ordering::SeqCst), 1);
/// ```
pub struct Domain {
    pub(crate) inner: Arc<DomainInner>,
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domain")
            .field("id", &self.inner.id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for Domain {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for Domain {
    /// Another handle to the same domain.
    fn clone(&self) -> Self {
        self.inner.owners.fetch_add(1, Ordering::Relaxed);
        Domain {
            inner: self.inner.clone(),
        }
    }
}

impl Domain {
    /// Creates a domain. Its callback thread starts on the first `call_rcu`.
    pub fn new() -> Self {
        crate::domain::fork::init();
        let inner = Arc::new(DomainInner::new(
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            crate::engine::generation(),
            Some(Link::new()),
        ));
        // Its locks are taken across `fork()` from now on (`domain/fork.rs`).
        crate::engine::track_domain(&inner);
        Domain { inner }
    }

    /// Enters a read-side critical section of this domain (`rcu_read_lock`), registering the
    /// calling thread with the domain on its first call. Nestable; the section ends when the guard
    /// is dropped.
    ///
    /// The first call on a thread takes the registry lock; later ones find the thread's record in a
    /// thread-local slot that caches the last independent domain the thread used (else in a small
    /// per-thread table, one entry per domain) and then run the same code as
    /// [`read_lock`](crate::read_lock).
    ///
    /// # Panics
    /// The first call on a thread, in a child process after `fork()` (see the type docs).
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let guard = domain.read_lock();
    /// assert!(domain.read_ongoing());
    /// drop(guard);
    /// assert!(!domain.read_ongoing());
    /// ```
    #[inline]
    #[track_caller]
    pub fn read_lock(&self) -> DomainGuard<'_> {
        crate::domain::read_lock(self)
    }

    /// Whether the calling thread is inside a read-side critical section of this domain
    /// (`rcu_read_ongoing`), through [`read_lock`](Self::read_lock) or a [`ReaderHandle`]. Takes the
    /// registry lock unless the thread's record is cached and it holds no `ReaderHandle`.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// assert!(!domain.read_ongoing());
    /// let _g = domain.read_lock();
    /// assert!(domain.read_ongoing());
    /// assert!(!rcu_core::read_ongoing()); // the default domain is another domain
    /// ```
    pub fn read_ongoing(&self) -> bool {
        RcuDomain::read_ongoing(self)
    }

    /// Registers the calling thread as a reader of this domain (`rcu_register_thread`) with an
    /// explicit handle, which unregisters on drop. [`read_lock`](Self::read_lock) needs no handle;
    /// this is for threads that want to control when they are registered.
    ///
    /// # Panics
    /// In a child process after `fork()` (see the type docs).
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let reader = domain.register();
    /// let cell = rcu_core::RcuCell::new_in(3, &domain);
    /// assert_eq!(*cell.read(&reader.read_lock()), 3);
    /// ```
    #[track_caller]
    pub fn register(&self) -> ReaderHandle<'_> {
        let reader = self.inner.register_record();
        crate::domain::local::count_handle(1);
        ReaderHandle {
            domain: &self.inner,
            reader,
            _not_send: PhantomData,
        }
    }

    /// Waits for a grace period of this domain (`synchronize_rcu`).
    ///
    /// # Panics
    /// If the calling thread is inside a read-side critical section of this domain, or in a child
    /// process after `fork()`.
    ///
    /// ```
    /// rcu_core::Domain::new().synchronize();
    /// ```
    #[track_caller]
    pub fn synchronize(&self) {
        RcuDomain::synchronize(self);
    }

    /// Waits for a grace period of this domain without waiting for late callers to share it
    /// (`synchronize_rcu_expedited`); as [`synchronize_rcu_expedited`](crate::synchronize_rcu_expedited).
    ///
    /// # Panics
    /// As [`synchronize`](Self::synchronize).
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.synchronize_expedited();
    /// assert_eq!(domain.stats().synchronize_expedited_calls, 1);
    /// ```
    #[track_caller]
    pub fn synchronize_expedited(&self) {
        RcuDomain::synchronize_expedited(self);
    }

    /// Sets this domain's bound on pending callbacks; see [`CallbackLimit`] and
    /// [`call_rcu`](crate::call_rcu) for when producers wait. Takes effect at once, also for
    /// producers already waiting (at their next wake-up).
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.set_callback_limit(rcu_core::CallbackLimit::new(1000, 100));
    /// domain.call_rcu(|| ()); // waits only when more than 1000 callbacks are queued
    /// ```
    pub fn set_callback_limit(&self, limit: CallbackLimit) {
        RcuDomain::set_callback_limit(self, limit);
    }

    /// This domain's bound on pending callbacks ([`CallbackLimit::DEFAULT`] unless set).
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// assert_eq!(domain.callback_limit(), rcu_core::CallbackLimit::DEFAULT);
    /// ```
    pub fn callback_limit(&self) -> CallbackLimit {
        RcuDomain::callback_limit(self)
    }

    /// Runs `f` on this domain's callback thread after a grace period (`call_rcu`); as
    /// [`call_rcu`](crate::call_rcu) (FIFO, panics caught and counted; may wait when the domain's
    /// [`CallbackLimit`] is exceeded).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.call_rcu(|| println!("after a grace period"));
    /// domain.barrier();
    /// ```
    #[track_caller]
    pub fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F) {
        RcuDomain::call_rcu(self, f);
    }

    /// Allocation-free form of [`call_rcu`](Self::call_rcu) (`call_rcu1`).
    ///
    /// # Safety
    /// As for [`call_rcu1`](crate::call_rcu1).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    #[track_caller]
    pub unsafe fn call_rcu1(&self, head: NonNull<RcuHead>, func: RcuCallback) {
        // SAFETY: forwarded contract.
        unsafe { RcuDomain::call_rcu1(self, head, func) };
    }

    /// Frees `ptr` with `free(ptr)` after a grace period of this domain (Linux's `kfree_rcu`,
    /// QEMU's `g_free_rcu`); as [`defer_free`](crate::defer_free).
    ///
    /// # Safety
    /// As for [`defer_free`](crate::defer_free).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    ///
    /// ```
    /// use std::ptr::NonNull;
    ///
    /// unsafe fn free_page(p: NonNull<u8>) {
    ///     // SAFETY: from `Box::<[u8; 4096]>::into_raw` below, freed once.
    ///     drop(unsafe { Box::from_raw(p.cast::<[u8; 4096]>().as_ptr()) });
    /// }
    ///
    /// let domain = rcu_core::Domain::new();
    /// let page = Box::into_raw(Box::new([0u8; 4096]));
    /// // SAFETY: never published; `free_page` only deallocates.
    /// unsafe { domain.defer_free(NonNull::new(page).unwrap().cast(), free_page) };
    /// domain.barrier();
    /// assert_eq!(domain.stats().frees_pending(), 0);
    /// ```
    #[track_caller]
    pub unsafe fn defer_free(&self, ptr: NonNull<u8>, free: unsafe fn(NonNull<u8>)) {
        // SAFETY: forwarded contract.
        unsafe { RcuDomain::defer_free(self, ptr, free) };
    }

    /// Drops `b` after a grace period of this domain, on this thread where possible (Linux's
    /// `kfree_rcu`, QEMU's `g_free_rcu`); as [`free_rcu`](crate::free_rcu).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.free_rcu(Box::new([0u64; 8]));
    /// domain.barrier();
    /// assert_eq!(domain.stats().frees_deferred, 1);
    /// ```
    #[track_caller]
    pub fn free_rcu<T: Send + 'static>(&self, b: Box<T>) {
        RcuDomain::free_rcu(self, b);
    }

    /// Pushes the calling thread's free bag of this domain along without waiting (crossbeam-epoch's
    /// `Guard::flush`, Linux's `kvfree_rcu` drain); as [`flush_frees`](crate::flush_frees).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.free_rcu(Box::new([0u64; 8]));
    /// domain.flush_frees(); // sealed: its grace period is requested
    /// domain.synchronize();
    /// domain.flush_frees(); // elapsed: freed on this thread
    /// assert_eq!(domain.stats().frees_by_producers, 1);
    /// ```
    #[track_caller]
    pub fn flush_frees(&self) {
        RcuDomain::flush_frees(self);
    }

    /// Sets where this domain frees memory retired with [`defer_free`](Self::defer_free) and
    /// [`free_rcu`](Self::free_rcu); see [`Reclaim`].
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.set_reclaim(rcu_core::Reclaim::CallbackThread);
    /// assert_eq!(domain.reclaim(), rcu_core::Reclaim::CallbackThread);
    /// ```
    pub fn set_reclaim(&self, reclaim: Reclaim) {
        RcuDomain::set_reclaim(self, reclaim);
    }

    /// Where this domain frees memory retired with [`defer_free`](Self::defer_free) and
    /// [`free_rcu`](Self::free_rcu) ([`Reclaim::Producers`] unless set).
    ///
    /// ```
    /// assert_eq!(rcu_core::Domain::new().reclaim(), rcu_core::Reclaim::Producers);
    /// ```
    pub fn reclaim(&self) -> Reclaim {
        RcuDomain::reclaim(self)
    }

    /// Waits until every callback queued on this domain before the call has run (`rcu_barrier`).
    /// The calling thread's [`defer_free`](Self::defer_free)s are handed over first (see
    /// [`rcu_barrier`](crate::rcu_barrier)).
    ///
    /// # Panics
    /// Inside a read-side critical section of this domain, on its callback thread, or in a child
    /// process after `fork()`.
    #[track_caller]
    pub fn barrier(&self) {
        RcuDomain::barrier(self);
    }

    /// Starts a grace-period poll (`start_poll_synchronize_rcu`).
    ///
    /// # Panics
    /// In a child process after `fork()`.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let state = domain.start_poll();
    /// domain.synchronize();
    /// assert!(domain.poll_state(state));
    /// ```
    #[track_caller]
    pub fn start_poll(&self) -> GpState {
        RcuDomain::start_poll(self)
    }

    /// Whether a full grace period has elapsed since `state` was taken (`poll_state_synchronize_rcu`).
    pub fn poll_state(&self, state: GpState) -> bool {
        RcuDomain::poll_state(self, state)
    }

    /// Waits for a grace period unless one has elapsed since `state` (`cond_synchronize_rcu`).
    ///
    /// # Panics
    /// As [`synchronize`](Self::synchronize), when it has to wait.
    #[track_caller]
    pub fn cond_synchronize(&self, state: GpState) {
        RcuDomain::cond_synchronize(self, state);
    }

    /// Sets the stall-warning timeout of this domain (`None` disables warnings); as
    /// [`set_stall_timeout`](crate::set_stall_timeout).
    pub fn set_stall_timeout(&self, timeout: Option<Duration>) {
        RcuDomain::set_stall_timeout(self, timeout);
    }

    /// Counters of this domain.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// drop(domain.read_lock());
    /// assert_eq!(domain.stats().registered_readers, 1);
    /// ```
    pub fn stats(&self) -> Stats {
        RcuDomain::stats(self)
    }
}

impl Domain {
    /// The async form of [`synchronize`](Domain::synchronize); see [`synchronize_rcu_async`](crate::synchronize_rcu_async).
    ///
    /// The future does not borrow the domain: it holds the domain's engine (shared state), so it can
    /// be spawned as a task of its own, and the caller's handle may be dropped or moved meanwhile.
    /// It still completes when the domain's last `Domain` handle is dropped before it does: that
    /// drop runs every queued callback (a waiting future's too) and a grace period that satisfies
    /// every future created before it. A future first polled after that drop completes at once: no
    /// reader of the domain can be left, and it starts no callback thread.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// domain.synchronize_async().await;
    ///
    /// // `'static`: a task of its own, outliving the caller's handle.
    /// let grace_period = tokio::spawn(domain.synchronize_async());
    /// drop(domain);
    /// grace_period.await.unwrap();
    /// # });
    /// ```
    pub fn synchronize_async(&self) -> SynchronizeRcuFuture {
        RcuDomain::synchronize_async(self)
    }

    /// The async form of [`barrier`](Domain::barrier); see [`rcu_barrier_async`](crate::rcu_barrier_async). `'static`, like
    /// [`synchronize_async`](Domain::synchronize_async)'s future.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.call_rcu(|| {});
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// domain.barrier_async().await;
    /// # });
    /// assert_eq!(domain.stats().callbacks_pending(), 0);
    /// ```
    #[track_caller]
    pub fn barrier_async(&self) -> RcuBarrierFuture {
        RcuDomain::barrier_async(self)
    }
}

#[cold]
#[track_caller]
fn wrong_domain(expected: u64, found: u64) -> ! {
    panic!(
        "rcu-core: a guard of domain #{found} was passed to a container created in domain \
         #{expected}; it does not protect the container's data. Take the guard from the \
         container's own domain (the Domain it was created with: domain.read_lock())"
    )
}

#[cfg(loom)]
impl Domain {
    /// The loom models' handle on this domain ([`loom_buffer`]).
    pub(crate) fn loom_ref(&self) -> DomainRef {
        sealed::Sealed::owner(self)
    }
}

/// Explicit per-thread buffers of a [`Domain`](crate::Domain), exposed only to the loom models in
/// `tests/loom.rs`: outside loom the default domain finds the calling thread's buffer through a
/// thread-local; the models hold it in a variable instead and go through the same `push_local`,
/// collection and unregistration code.
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_buffer {
    use crate::callbacks::buffer::LocalBuffer;
    use crate::callbacks::worker::{box_closure, check_backlog};
    use crate::engine::DomainRef;
    use crate::sync::Arc;

    /// One thread's buffer of a domain.
    #[derive(Debug)]
    pub struct Buffer {
        domain: DomainRef,
        buf: Arc<LocalBuffer>,
    }

    impl Buffer {
        /// Registers a buffer with `domain` (and starts its callback thread).
        pub fn register(domain: &crate::Domain) -> Buffer {
            let domain = domain.loom_ref();
            domain.ensure_worker(|| domain.clone());
            let buf = domain.callbacks.register_buffer();
            Buffer { domain, buf }
        }

        /// `call_rcu` through this buffer; only the thread that owns it may call it.
        pub fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F) {
            let (head, func) = box_closure(f);
            // SAFETY: a fresh head with its trampoline; the buffer is registered with this
            // domain, and the model calls this from one thread at a time (the owner).
            let backlog = unsafe { self.domain.callbacks.push_local(&self.buf, head, func) };
            check_backlog(backlog);
            self.domain
                .callbacks
                .help(backlog, crate::domain::producer_may_wait);
        }

        /// The owner thread exits: its callbacks go to the shared queue, the buffer is unregistered.
        pub fn unregister(self) {
            self.domain.callbacks.unregister_buffer(&self.buf);
        }
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        // AcqRel: the last owner sees everything the others did before dropping their handles.
        if self.inner.owners.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // No guard is alive (guards borrow a `Domain`); threads that still have a record stop
        // touching the domain (`domain/local.rs`).
        self.inner.link().close();
        if crate::callbacks::worker::is_worker_of(&self.inner.callbacks) {
            // The last reference was dropped inside one of this domain's own callbacks: the callback
            // thread cannot wait for itself. Ask it to exit once every callback queued so far has
            // run, and detach it; it owns a reference to the domain, which is freed when it exits.
            self.inner.callbacks.stop();
            drop(crate::sync::lock(&self.inner.callbacks.handle).take());
            return;
        }
        if crate::engine::generation() != self.inner.fork_generation {
            // A child process: the callback thread (if any) stayed in the parent, and the domain's
            // locks may have been held by threads that do not exist here. Leak the state.
            std::mem::forget(self.inner.clone());
            return;
        }
        // This thread's free bag first (other threads free theirs at their next new table entry
        // or exit: no reader of the domain is left).
        crate::domain::hand_over_own_bag(self);
        // C13.
        if self.inner.callbacks.started.load(Ordering::Acquire) {
            self.inner.barrier(|| sealed::Sealed::owner(self));
            self.inner.callbacks.stop();
            let handle = crate::sync::lock(&self.inner.callbacks.handle).take();
            if let Some(handle) = handle {
                let _ = handle.join();
            }
        }
    }
}

/// A thread's explicit registration with a [`Domain`](crate::Domain) (`rcu_register_thread` until drop).
///
/// `!Send`: the registration belongs to the thread that created it.
pub struct ReaderHandle<'d> {
    domain: &'d DomainInner,
    reader: Arc<Reader>,
    _not_send: PhantomData<NotSend>,
}

impl fmt::Debug for ReaderHandle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderHandle")
            .field("in_section", &self.read_ongoing())
            .finish()
    }
}

impl ReaderHandle<'_> {
    /// Enters a read-side critical section of the handle's domain (`rcu_read_lock`). Nestable.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let handle = domain.register();
    /// let _guard = handle.read_lock();
    /// assert!(handle.read_ongoing());
    /// ```
    #[inline]
    pub fn read_lock(&self) -> DomainGuard<'_> {
        // SAFETY: the handle's own record, which it keeps registered while the guard borrows it.
        unsafe { Guard::enter(Arc::as_ptr(&self.reader), self.domain) }
    }

    /// Whether this thread is inside a section of the handle's record (`rcu_read_ongoing`).
    pub fn read_ongoing(&self) -> bool {
        self.reader.nest() > 0
    }
}

impl Drop for ReaderHandle<'_> {
    fn drop(&mut self) {
        // No guard can be alive: guards borrow the handle.
        self.domain.gp.unregister(&self.reader);
        crate::domain::local::count_handle(-1);
    }
}

impl sealed::Sealed for Domain {
    type Ref<'d> = &'d DomainInner;
    const DEFAULT: bool = false;

    #[inline]
    fn engine(&self) -> &DomainInner {
        &self.inner
    }

    #[inline]
    fn engine_ref(&self) -> &DomainInner {
        &self.inner
    }

    fn owner(&self) -> DomainRef {
        DomainRef::Shared(self.inner.clone())
    }
}

impl RcuDomain for Domain {
    type Guard<'a> = DomainGuard<'a>;

    #[inline]
    #[track_caller]
    fn read_lock(&self) -> DomainGuard<'_> {
        crate::domain::read_lock(self)
    }

    /// Whether `guard` is a section of this domain; panics otherwise (the runtime half of the
    /// wrong-domain check, see [`RcuDomain`]).
    #[inline]
    #[track_caller]
    fn check_guard(&self, guard: &DomainGuard<'_>) {
        if !std::ptr::eq(guard.engine(), &*self.inner) {
            wrong_domain(self.inner.id, guard.engine().id);
        }
    }
}
