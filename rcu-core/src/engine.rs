//! The engine every domain runs: its state ([`DomainInner`]: the grace-period half `gp/mod.rs`, the
//! callback half `callbacks/worker.rs`), what starts and keeps its callback thread ([`DomainRef`]), the
//! operations that need both halves (enqueue, barrier, polling, statistics), the grace-period cookie
//! [`GpState`], the default domain's instance [`DEFAULT`]; and what independent domains add to it:
//! the fork generation they check, the list of live ones that the fork handlers lock (`domain/fork.rs`),
//! their liveness link. The API over it, the same for every domain, is the `RcuDomain` trait
//! (`domain/mod.rs`).

use std::ptr::NonNull;
use std::time::Duration;

use crate::callbacks::bag::{self, FreeEntry};
use crate::callbacks::buffer::LocalBuffer;
use crate::callbacks::head::{RcuCallback, RcuHead};
use crate::callbacks::worker::{self, Callbacks, box_closure, check_backlog};
use crate::gp::GpCore;
use crate::gp::reader::{Link, Reader};
use crate::stats::Stats;
#[cfg(all(unix, not(loom)))]
use crate::sync::Mutex;
use crate::sync::{Arc, AtomicUsize, Event, Ordering, lock, maybe_const_fn, thread};

/// The state of one RCU domain: grace periods plus callbacks.
#[derive(Debug)]
pub struct DomainInner {
    pub(crate) gp: GpCore,
    pub(crate) callbacks: Callbacks,
    /// Identity, never reused (0 is the default domain): keys the thread-local records and buffers
    /// (`domain/local.rs`), so a record can never be mistaken for a later domain's.
    pub(crate) id: u64,
    /// Number of [`Domain`](crate::Domain) values (clones) alive; the last one to go shuts the
    /// domain down.
    pub(crate) owners: AtomicUsize,
    /// The fork generation (`domain/fork.rs`) the domain was created in; another one means this is a
    /// child process, where an independent domain must not be used (see
    /// [`Domain`](crate::Domain)).
    pub(crate) fork_generation: u64,
    /// Independent domains: the liveness flag the thread-local entries check (`domain/local.rs`).
    pub(crate) link: Option<Arc<Link>>,
}

impl DomainInner {
    maybe_const_fn! {
        pub(crate) fn new(
            id: u64,
            fork_generation: u64,
            link: Option<Arc<Link>>,
        ) -> DomainInner {
            DomainInner {
                gp: GpCore::new(),
                callbacks: Callbacks::new(),
                id,
                owners: AtomicUsize::new(1),
                fork_generation,
                link,
            }
        }
    }
}

/// A reference to a domain that its callback thread and the async futures own: the `static`
/// default domain or a shared instance.
#[derive(Debug, Clone)]
pub enum DomainRef {
    /// The default domain.
    Static(&'static DomainInner),
    /// An independent domain.
    Shared(Arc<DomainInner>),
}

impl std::ops::Deref for DomainRef {
    type Target = DomainInner;
    fn deref(&self) -> &DomainInner {
        match self {
            DomainRef::Static(d) => d,
            DomainRef::Shared(d) => d,
        }
    }
}

/// The default domain.
#[cfg(not(loom))]
pub(crate) static DEFAULT: DomainInner = DomainInner::new(0, 0, None);

#[cfg(loom)]
loom::lazy_static! {
    /// The default domain; under loom a lazy static, rebuilt for every execution of a model.
    pub(crate) static ref DEFAULT: DomainInner = DomainInner::new(0, 0, None);
}

/// The reference the default domain's callback thread keeps; the first time, it also arranges for
/// the thread to be joined at process exit when idle.
pub(crate) fn default_ref() -> DomainRef {
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
    let _ = std::panic::catch_unwind(|| DEFAULT.callbacks.join_if_idle());
}

/// A grace-period cookie from [`start_poll_synchronize_rcu`](crate::start_poll_synchronize_rcu) or
/// [`Domain::start_poll`](crate::Domain::start_poll): liburcu's `struct urcu_gp_poll_state`,
/// Linux's `unsigned long` cookie.
///
/// Only meaningful for the domain that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GpState(pub(crate) u64);

impl DomainInner {
    /// Starts the domain's callback thread if it is not running. `owner` makes the reference the
    /// thread keeps; it is called only when the thread is spawned, so the fast path clones nothing.
    #[inline]
    pub(crate) fn ensure_worker(&self, owner: impl FnOnce() -> DomainRef) {
        // C13: Acquire pairs with the Release store in `spawn_worker` (C12): a running worker is
        // fully set up.
        if !self.callbacks.started.load(Ordering::Acquire) {
            self.spawn_worker(owner);
        }
    }

    #[cold]
    fn spawn_worker(&self, owner: impl FnOnce() -> DomainRef) {
        let mut handle = lock(&self.callbacks.handle);
        if self.callbacks.started.load(Ordering::Relaxed) {
            return;
        }
        let domain = owner();
        let spawned = thread::Builder::new()
            .name("call_rcu".into())
            .spawn(move || worker::run(&domain.gp, &domain.callbacks))
            .expect("rcu-core: cannot spawn the call_rcu callback thread");
        *handle = Some(spawned);
        // C12: Release pairs with the Acquire load in `ensure_worker` (C13).
        self.callbacks.started.store(true, Ordering::Release);
    }

    /// Queues `func(head)`: through `buf`, the calling thread's buffer of this domain, or, if it is
    /// null, on the shared queue; starts the callback thread first if needed. Panics after the
    /// enqueue when the backlog overflows ([`check_backlog`]); returns it otherwise.
    ///
    /// # Safety
    /// The contract of [`crate::call_rcu1`]; a non-null `buf` is registered with this domain and
    /// owned by the calling thread.
    #[inline]
    #[track_caller]
    pub(crate) unsafe fn enqueue(
        &self,
        head: NonNull<RcuHead>,
        func: RcuCallback,
        buf: *const LocalBuffer,
        owner: impl FnOnce() -> DomainRef,
    ) -> u32 {
        self.ensure_worker(owner);
        // SAFETY: forwarded contract.
        let backlog = unsafe {
            match buf.as_ref() {
                Some(buf) => self.callbacks.push_local(buf, head, func),
                None => self.callbacks.push(head, func),
            }
        };
        check_backlog(backlog);
        backlog
    }

    /// Queues rcu-core's own callback `f` (a polling request, an async slot's closing callback) on
    /// the shared queue. It never waits on the bound of pending callbacks (`callbacks/throttle.rs`; only the
    /// public `call_rcu`s help), so callers stay non-blocking.
    #[track_caller]
    pub(crate) fn defer(
        &self,
        f: impl FnOnce() + Send + 'static,
        owner: impl FnOnce() -> DomainRef,
    ) {
        self.ensure_worker(owner);
        self.queue_own(f);
    }

    /// [`defer`](Self::defer) for a domain whose callback thread runs (or has nobody to start it).
    #[track_caller]
    fn queue_own(&self, f: impl FnOnce() + Send + 'static) {
        let (head, func) = box_closure(f);
        // SAFETY: a fresh head with its trampoline.
        let backlog = unsafe { self.callbacks.push(head, func) };
        check_backlog(backlog);
    }

    /// Hands `entries` (retired with `defer_free`) to the callback thread as one callback that
    /// frees them after a grace period (`callbacks/bag.rs`): a thread's oldest segment where it may
    /// not wait, its whole bag at a barrier or at thread exit, a single entry after its bag is
    /// gone. Never waits. The caller counted the entries as deferred.
    #[track_caller]
    pub(crate) fn hand_over(&self, entries: Vec<FreeEntry>, owner: impl FnOnce() -> DomainRef) {
        if entries.is_empty() {
            return;
        }
        self.ensure_worker(owner);
        self.hand_over_started(entries);
    }

    /// [`hand_over`](Self::hand_over) without starting the callback thread: for a thread's
    /// destructor, which has no handle of an independent domain to start one with. Its callback
    /// thread runs: it was started when the thread's bag was made (`domain/local.rs`), and stops
    /// only after the domain's last handle closed the link the destructor checks first.
    #[track_caller]
    pub(crate) fn hand_over_started(&self, entries: Vec<FreeEntry>) {
        self.callbacks
            .frees
            .handed
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.queue_own(move || worker::count_frees(bag::free_all(entries)));
    }

    /// `rcu_barrier` / `drain_call_rcu`: waits until every callback queued before the call has run.
    ///
    /// Why per-thread buffers cannot hide a callback from it: a callback queued before the call is,
    /// when `collect` runs (under the registry lock), either in the shared queue already, or in the
    /// list of a registered buffer, which `collect` moves to the queue (a window in progress is
    /// waited for; the owner hands a full list over inside its window), or it was in the buffer of
    /// a thread that exited, whose destructor moved it to the queue under the same lock before
    /// unregistering. The marker is pushed after `collect` returns, and the queue is FIFO, so it
    /// runs after all of them.
    #[track_caller]
    pub(crate) fn barrier(&self, owner: impl FnOnce() -> DomainRef) {
        assert!(
            !worker::is_worker_of(&self.callbacks),
            "rcu-core: rcu_barrier called from a call_rcu callback; the callback thread would wait \
             for itself forever. Queue the follow-up work with call_rcu instead."
        );
        let cbs = &self.callbacks;
        cbs.barrier_waiters.fetch_add(1, Ordering::Relaxed);
        let done = Arc::new(Event::new(false));
        let signal = done.clone();
        self.ensure_worker(owner);
        cbs.push_marker(move || signal.set());
        while !done.is_set() {
            done.wait(None);
        }
        cbs.barrier_waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// `start_poll_synchronize_rcu`: the snapshot, and a callback that makes sure a grace period
    /// runs even if nobody else asks for one.
    pub(crate) fn start_poll(&self, owner: impl FnOnce() -> DomainRef) -> GpState {
        let state = GpState(self.gp.poll_snapshot());
        self.defer(|| {}, owner);
        state
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
        let throttle = &self.callbacks.throttle;
        let frees = &self.callbacks.frees;
        Stats {
            grace_periods: gp.grace_periods.load(Ordering::Relaxed),
            synchronize_calls: gp.synchronize_calls.load(Ordering::Relaxed),
            synchronize_expedited_calls: gp.expedited_calls.load(Ordering::Relaxed),
            callbacks_queued_peak: u64::from(throttle.peak.load(Ordering::Relaxed)),
            callback_producer_waits: throttle.waits.load(Ordering::Relaxed),
            callbacks_over_limit_not_waited: throttle.not_waited.load(Ordering::Relaxed),
            frees_deferred: frees.deferred.load(Ordering::Relaxed),
            frees_by_producers: frees.by_producers.load(Ordering::Relaxed),
            frees_by_callback_thread: frees.by_callback_thread.load(Ordering::Relaxed),
            frees_handed_to_callback_thread: frees.handed.load(Ordering::Relaxed),
            free_producer_waits: frees.waits.load(Ordering::Relaxed),
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

#[cold]
#[track_caller]
fn used_in_child(what: &str) -> ! {
    panic!(
        "rcu-core: Domain::{what} called in a child process on a Domain created before fork(); \
         its callback thread and readers stayed in the parent. Create a new Domain in the child \
         (the default domain keeps working there)"
    )
}

/// Children created by `fork()` so far along this process's ancestry: the fork handlers' `child`
/// advances it (`domain/fork.rs`).
pub(crate) static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current fork generation: changes in a child process.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

/// A live independent domain, in [`DOMAINS`].
#[cfg(all(unix, not(loom)))]
pub(crate) struct DomainPtr(pub(crate) *const DomainInner);

// SAFETY: only dereferenced by the fork handlers' `prepare`, under the `DOMAINS` lock, while the
// domain is alive (it leaves the list, under that lock, before its memory is freed:
// `forget_domain`).
#[cfg(all(unix, not(loom)))]
unsafe impl Send for DomainPtr {}

/// Every live independent domain (lock 8 of `domain/fork.rs`'s list): the fork handlers take their locks.
#[cfg(all(unix, not(loom)))]
pub(crate) static DOMAINS: Mutex<Vec<DomainPtr>> = Mutex::new(Vec::new());

/// Adds a new independent domain to [`DOMAINS`] (`Domain::new`).
pub(crate) fn track_domain(domain: &DomainInner) {
    #[cfg(all(unix, not(loom)))]
    lock(&DOMAINS).push(DomainPtr(domain));
    #[cfg(not(all(unix, not(loom))))]
    let _ = domain;
}

/// Removes an independent domain from [`DOMAINS`]; called from its `Drop`, before its memory goes.
pub(crate) fn forget_domain(domain: &DomainInner) {
    #[cfg(all(unix, not(loom)))]
    {
        let mut domains = lock(&DOMAINS);
        if let Some(i) = domains.iter().position(|d| std::ptr::eq(d.0, domain)) {
            domains.swap_remove(i);
        }
    }
    #[cfg(not(all(unix, not(loom))))]
    let _ = domain;
}

impl DomainInner {
    /// Panics if this is an independent domain and the calling process is a child of the one that
    /// created it (see "fork" in [`Domain`](crate::Domain)'s docs), before anything that would wait
    /// for a thread or lock of the parent. Never panics for the default domain, which works in a
    /// child.
    #[inline]
    #[track_caller]
    pub(crate) fn assert_same_process(&self, what: &str) {
        if self.link.is_some() && generation() != self.fork_generation {
            used_in_child(what);
        }
    }

    /// Registers the calling thread in the registry (the slow path of
    /// [`Domain::read_lock`](crate::Domain::read_lock)).
    #[track_caller]
    pub(crate) fn register_record(&self) -> Arc<Reader> {
        self.assert_same_process("read_lock (first on a thread) or register");
        self.gp.register()
    }

    /// Whether this is an independent domain whose last `Domain` handle was dropped: no thread can
    /// be in a read-side section of it any more (sections borrow a handle) and nothing can be
    /// queued on it, so every grace period it could be asked for has elapsed. The link's mutex
    /// orders the last owner's `close` (after every guard and handle was dropped) before a `true`.
    pub(crate) fn shut_down(&self) -> bool {
        self.link.as_ref().is_some_and(|link| !link.is_alive())
    }

    /// The liveness link of an independent domain.
    pub(crate) fn link(&self) -> &Arc<Link> {
        self.link
            .as_ref()
            .expect("rcu-core: only independent domains have thread-local records")
    }
}

impl Drop for DomainInner {
    /// An independent domain's state leaves [`DOMAINS`] before its memory goes.
    fn drop(&mut self) {
        if self.link.is_some() {
            forget_domain(self);
        }
    }
}
