//! RCU domains: the instance type that holds a grace-period engine and a callback thread, and the
//! public [`Domain`] API for independent domains (like Linux SRCU or crossbeam's `Collector`).

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Duration;

use crate::callback::{RcuCallback, RcuHead};
use crate::gp::GpCore;
use crate::reader::Reader;
use crate::stats::Stats;
use crate::sync::{Arc, Ordering, maybe_const_fn};
use crate::worker::{self, Callbacks};

/// The state of one RCU domain: grace periods plus callbacks.
#[derive(Debug)]
pub(crate) struct DomainInner {
    pub(crate) gp: GpCore,
    pub(crate) callbacks: Callbacks,
}

impl DomainInner {
    maybe_const_fn! {
        pub(crate) fn new() -> DomainInner {
            DomainInner { gp: GpCore::new(), callbacks: Callbacks::new() }
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        // The barrier mode is chosen when the first reader registers; choose it now if needed so
        // that `membarrier` reports what readers will use.
        #[cfg(not(loom))]
        crate::barrier::init();
        let gp = &self.gp.stats;
        // Snapshot, not atomic as a whole: `pending` still includes the part of the running batch
        // that was already invoked (`batch_done`) until the batch ends.
        let pending = self.callbacks.pending_count();
        let done = self.callbacks.batch_done.load(Ordering::Relaxed);
        let invoked = self.callbacks.invoked.load(Ordering::Relaxed);
        let pending = u64::from(pending.saturating_sub(done));
        Stats {
            grace_periods: gp.grace_periods.load(Ordering::Relaxed),
            synchronize_calls: gp.synchronize_calls.load(Ordering::Relaxed),
            callbacks_queued: invoked + pending,
            callbacks_invoked: invoked,
            callback_panics: self.callbacks.panics.load(Ordering::Relaxed),
            longest_grace_period: Duration::from_nanos(gp.longest_ns.load(Ordering::Relaxed)),
            stall_warnings: gp.stall_warnings.load(Ordering::Relaxed),
            registered_readers: self.gp.registered(),
            membarrier: crate::barrier::uses_membarrier(),
        }
    }
}

/// A handle to a domain that the callback thread can own: the `static` default domain or a shared
/// instance.
#[derive(Debug, Clone)]
pub(crate) enum DomainRef {
    #[cfg(not(loom))]
    Static(&'static DomainInner),
    Shared(Arc<DomainInner>),
}

impl std::ops::Deref for DomainRef {
    type Target = DomainInner;
    fn deref(&self) -> &DomainInner {
        match self {
            #[cfg(not(loom))]
            DomainRef::Static(d) => d,
            DomainRef::Shared(d) => d,
        }
    }
}

/// A grace-period cookie from [`start_poll_synchronize_rcu`](crate::start_poll_synchronize_rcu) or
/// [`Domain::start_poll`]: liburcu's `struct urcu_gp_poll_state`, Linux's `unsigned long` cookie.
///
/// Only meaningful for the domain that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GpState(pub(crate) u64);

/// An independent RCU domain: its own grace periods, reader registry and callback thread, so that
/// one subsystem's long readers never delay another subsystem's grace periods (Linux's SRCU).
///
/// Threads take part by [`register`](Domain::register)ing, which returns a [`ReaderHandle`]; read-side
/// critical sections are [`ReaderHandle::read_lock`]. The process-wide default domain behind the free
/// functions ([`read_lock`](crate::read_lock), [`synchronize_rcu`](crate::synchronize_rcu), ...) is a
/// separate, faster path with the same algorithm. Dropping a `Domain` runs its pending callbacks
/// (`rcu_barrier`) and joins its callback thread; dropping it inside one of its own callbacks is
/// allowed too (the callback thread then finishes the queued callbacks and exits by itself).
///
/// # Example
///
/// ```
/// use rcu_core::Domain;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let domain = Domain::new();
/// let reader = domain.register();
/// {
///     let _guard = reader.read_lock();
///     // ... read data published under `domain` ...
/// }
/// domain.synchronize(); // no section of `reader` is running: returns promptly
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
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for Domain {
    fn default() -> Self {
        Self::new()
    }
}

impl Domain {
    /// Creates a domain. Its callback thread starts on the first `call_rcu`.
    pub fn new() -> Self {
        Domain {
            inner: Arc::new(DomainInner::new()),
        }
    }

    fn as_ref(&self) -> DomainRef {
        DomainRef::Shared(self.inner.clone())
    }

    /// Registers the calling thread as a reader of this domain (`rcu_register_thread`). The handle
    /// unregisters on drop.
    pub fn register(&self) -> ReaderHandle<'_> {
        ReaderHandle {
            domain: &self.inner,
            reader: self.inner.gp.register(),
            _not_send: PhantomData,
        }
    }

    /// Waits for a grace period of this domain (`synchronize_rcu`).
    ///
    /// # Panics
    /// If the calling thread is inside a read-side critical section of this domain.
    #[track_caller]
    pub fn synchronize(&self) {
        self.inner
            .gp
            .assert_not_in_own_section("Domain::synchronize");
        self.inner.gp.synchronize();
    }

    /// Runs `f` on this domain's callback thread after a grace period (`call_rcu`).
    pub fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F) {
        worker::ensure_worker(&self.as_ref());
        self.inner.callbacks.push_closure(f);
    }

    /// Allocation-free form of [`call_rcu`](Self::call_rcu) (`call_rcu1`).
    ///
    /// # Safety
    /// As for [`call_rcu1`](crate::call_rcu1).
    pub unsafe fn call_rcu1(&self, head: NonNull<RcuHead>, func: RcuCallback) {
        worker::ensure_worker(&self.as_ref());
        // SAFETY: forwarded contract.
        unsafe { self.inner.callbacks.push(head, func) };
    }

    /// Waits until every callback queued on this domain before the call has run (`rcu_barrier`).
    ///
    /// # Panics
    /// Inside a read-side critical section of this domain, or on its callback thread.
    #[track_caller]
    pub fn barrier(&self) {
        self.inner.gp.assert_not_in_own_section("Domain::barrier");
        worker::barrier(&self.as_ref());
    }

    /// Starts a grace-period poll (`start_poll_synchronize_rcu`).
    pub fn start_poll(&self) -> GpState {
        let state = GpState(self.inner.gp.poll_snapshot());
        // Make sure a grace period will run even if nobody else asks for one.
        self.call_rcu(|| {});
        state
    }

    /// Whether a full grace period has elapsed since `state` was taken (`poll_state_synchronize_rcu`).
    pub fn poll_state(&self, state: GpState) -> bool {
        self.inner.gp.poll_done(state.0)
    }

    /// Waits for a grace period unless one has elapsed since `state` (`cond_synchronize_rcu`).
    #[track_caller]
    pub fn cond_synchronize(&self, state: GpState) {
        if !self.poll_state(state) {
            self.synchronize();
        }
    }

    /// Sets the stall-warning timeout of this domain (`None` disables warnings).
    pub fn set_stall_timeout(&self, timeout: Option<Duration>) {
        self.inner.gp.set_stall_timeout(timeout);
    }

    /// Counters of this domain.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        if worker::is_worker_of(&self.inner) {
            // The last reference was dropped inside one of this domain's own callbacks: the callback
            // thread cannot wait for itself. Ask it to exit once every callback queued so far has
            // run, and detach it; it owns a reference to the domain, which is freed when it exits.
            self.inner.callbacks.stop();
            drop(crate::sync::lock(&self.inner.callbacks.handle).take());
            return;
        }
        if self.inner.callbacks.started.load(Ordering::Acquire) {
            let domain = self.as_ref();
            worker::barrier(&domain);
            self.inner.callbacks.stop();
            let handle = crate::sync::lock(&self.inner.callbacks.handle).take();
            if let Some(handle) = handle {
                let _ = handle.join();
            }
        }
    }
}

/// A thread's registration with a [`Domain`] (`rcu_register_thread` until drop).
///
/// `!Send`: the registration belongs to the thread that created it.
pub struct ReaderHandle<'d> {
    domain: &'d DomainInner,
    reader: Arc<Reader>,
    _not_send: PhantomData<*mut ()>,
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
    #[inline]
    pub fn read_lock(&self) -> DomainGuard<'_> {
        self.reader.lock(&self.domain.gp.ctr);
        DomainGuard {
            reader: &self.reader,
            domain: self.domain,
            _not_send: PhantomData,
        }
    }

    /// Whether this thread is inside a section of the handle's domain (`rcu_read_ongoing`).
    pub fn read_ongoing(&self) -> bool {
        self.reader.nest() > 0
    }
}

impl Drop for ReaderHandle<'_> {
    fn drop(&mut self) {
        // No guard can be alive: guards borrow the handle.
        self.domain.gp.unregister(&self.reader);
    }
}

/// A read-side critical section of a [`Domain`]; dropping it is `rcu_read_unlock`.
pub struct DomainGuard<'h> {
    reader: &'h Reader,
    domain: &'h DomainInner,
    _not_send: PhantomData<*mut ()>,
}

impl fmt::Debug for DomainGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DomainGuard").finish_non_exhaustive()
    }
}

impl Drop for DomainGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.reader.unlock(&self.domain.gp.event);
    }
}
