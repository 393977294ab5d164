//! One read-side API over every domain: the [`RcuDomain`] trait, implemented by the default domain
//! ([`DefaultDomain`](crate::DefaultDomain), the free functions) and by every independent
//! [`Domain`](crate::Domain). Containers ([`RcuCell`](crate::RcuCell), `rcu-queue`'s lists and map)
//! are generic over it, as crossbeam-epoch's `default.rs` is a thin layer over `Collector` and seize's
//! `Guard` knows its collector.

pub(crate) mod default;
pub(crate) mod fork;
pub(crate) mod independent;
pub(crate) mod local;

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Duration;

use crate::callbacks::bag::{FreeBag, FreeEntry, Reclaim, RetireOps};
use crate::callbacks::head::{RcuCallback, RcuHead};
use crate::callbacks::throttle::CallbackLimit;
use crate::callbacks::worker::box_closure;
use crate::engine::{DomainInner, GpState};
use crate::gp::panic_in_section;
use crate::gp::reader::Reader;
use crate::gp_async::{RcuBarrierFuture, SynchronizeRcuFuture};
use crate::stats::Stats;

/// The reason a read-side guard is neither `Send` nor `Sync`: its critical section belongs to the
/// thread that entered it (the record it ends is that thread's). Guards hold a
/// `PhantomData<dyn GuardStaysOnItsThread>`, so the compiler's error for sending one to another
/// thread names this trait instead of an internal pointer type. Nothing implements it.
///
/// ```compile_fail,E0277
/// let guard = rcu_core::read_lock();
/// std::thread::scope(|s| { s.spawn(move || drop(guard)); }); // `dyn GuardStaysOnItsThread` cannot be sent
/// ```
///
/// The same holds for a guard, or a [`Loaded`](crate::Loaded), kept across an `.await` in a future
/// that must be `Send` (`tokio::spawn`): rustc reports it once, as "future cannot be sent between
/// threads safely ... the trait `Send` is not implemented for `dyn GuardStaysOnItsThread`", and
/// points at the variable (`has type ReadGuard which is not Send`) and at the `.await`. End the
/// section before the `.await` (a block around the read), or take an owned snapshot with
/// [`RcuArcCell::load_full`](crate::RcuArcCell::load_full):
///
/// ```compile_fail
/// # let cell = std::sync::Arc::new(rcu_core::RcuCell::new(1));
/// tokio::spawn(async move {
///     let current = cell.load();       // a read-side critical section...
///     tokio::task::yield_now().await;  // ...held across `.await`: the future is not `Send`
///     assert_eq!(*current, 1);
/// });
/// ```
///
/// ```
/// # let cell = std::sync::Arc::new(rcu_core::RcuCell::new(1));
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// tokio::spawn(async move {
///     let value = *cell.load();        // the section ends with this statement
///     tokio::task::yield_now().await;
///     assert_eq!(value, 1);
/// })
/// # .await.unwrap() });
/// ```
pub trait GuardStaysOnItsThread {}

/// The `!Send`, `!Sync` marker of every guard type (see [`GuardStaysOnItsThread`]).
pub(crate) type NotSend = dyn GuardStaysOnItsThread;

/// A guard's pointer to its thread's reader record. `Send` and `Sync` as far as the compiler is
/// concerned, so that a guard's only `!Send`/`!Sync` field is its [`NotSend`] marker: a guard held
/// across `.await` in a `tokio::spawn`ed future then gets one error, naming
/// [`GuardStaysOnItsThread`], instead of a second one naming this private pointer type. The guards
/// stay `!Send` and `!Sync` (the marker; `static_checks` in `lib.rs` asserts it), so the pointer
/// never leaves its thread.
#[derive(Clone, Copy)]
struct RecordPtr(*const Reader);

// SAFETY: only ever held by guards, which are `!Send` and `!Sync` through their `NotSend` marker:
// the pointer is dereferenced on the thread that owns the record (Invariant R1 of `gp/reader.rs`).
unsafe impl Send for RecordPtr {}
// SAFETY: as above.
unsafe impl Sync for RecordPtr {}

pub(crate) mod sealed {
    use crate::engine::{DomainInner, DomainRef};

    /// Only this crate implements [`RcuDomain`](super::RcuDomain): containers rely on its guards
    /// proving a read-side critical section of that very domain. Its items are the engine's hooks:
    /// everything else is written once, as provided methods of `RcuDomain`.
    pub trait Sealed {
        /// What a guard keeps of its domain: nothing for the default domain, a reference for a
        /// `Domain`.
        type Ref<'d>: EngineRef
        where
            Self: 'd;
        /// The default domain: its thread-local slot, its names in messages.
        const DEFAULT: bool;
        /// The engine's state.
        fn engine(&self) -> &DomainInner;
        /// What a guard keeps.
        fn engine_ref(&self) -> Self::Ref<'_>;
        /// The reference the callback thread and the futures own (made only when needed).
        fn owner(&self) -> DomainRef;
    }

    /// A guard's way back to its engine.
    pub trait EngineRef: Copy {
        /// The engine's state.
        fn engine(&self) -> &DomainInner;
    }

    impl EngineRef for &DomainInner {
        #[inline]
        fn engine(&self) -> &DomainInner {
            self
        }
    }
}

use sealed::EngineRef;

/// A read-side critical section of a domain `D`; dropping it is `rcu_read_unlock`. The one guard
/// type of every domain: [`ReadGuard`](crate::ReadGuard) is the default domain's (one pointer),
/// [`DomainGuard`](crate::DomainGuard) an independent [`Domain`](crate::Domain)'s.
///
/// `!Send` and `!Sync`: the section belongs to the thread that entered it (see
/// [`GuardStaysOnItsThread`]). References obtained under a guard (from
/// [`RcuCell::read`](crate::RcuCell::read) or an RCU list) borrow it, so they cannot outlive the
/// section. A guard of an independent domain borrows the domain (or its
/// [`ReaderHandle`](crate::ReaderHandle)), so the domain outlives it. The guard unlocks during a
/// panic unwind too.
///
/// ```
/// let guard: rcu_core::Guard<'_, rcu_core::DefaultDomain> = rcu_core::read_lock();
/// assert!(rcu_core::read_ongoing());
/// drop(guard);
/// assert!(!rcu_core::read_ongoing());
/// ```
///
/// A guard is `!Send`: moving one to another thread does not compile.
///
/// ```compile_fail
/// let domain = rcu_core::Domain::new();
/// let guard = domain.read_lock();
/// std::thread::scope(|s| { s.spawn(move || drop(guard)); });
/// ```
#[must_use = "the critical section ends when the guard is dropped"]
pub struct Guard<'d, D: RcuDomain> {
    reader: RecordPtr,
    domain: D::Ref<'d>,
    _not_send: PhantomData<NotSend>,
}

impl<'d, D: RcuDomain> Guard<'d, D> {
    /// Enters a section (`rcu_read_lock`) through `reader`.
    ///
    /// # Safety
    /// `reader` is the calling thread's live record in `domain`'s engine, kept alive until the
    /// guard's outermost unlock (by this thread's table entry, a `ReaderHandle` the guard borrows,
    /// or, once late, the guard chain: `domain/local.rs`).
    #[inline]
    pub(crate) unsafe fn enter(reader: *const Reader, domain: D::Ref<'d>) -> Self {
        // SAFETY: per the contract; used by its owner thread (Invariant R1 of `gp/reader.rs`).
        unsafe { (*reader).lock(&domain.engine().gp.ctr) };
        Guard {
            reader: RecordPtr(reader),
            domain,
            _not_send: PhantomData,
        }
    }

    /// The engine of the guard's domain (for the wrong-domain check).
    pub(crate) fn engine(&self) -> &DomainInner {
        self.domain.engine()
    }
}

/// `read_lock` of every domain: this thread's record (registered on first use), then its lock.
#[inline]
#[track_caller]
pub(crate) fn read_lock<D: RcuDomain>(domain: &D) -> Guard<'_, D> {
    let reader = crate::domain::local::record(domain.engine(), D::DEFAULT);
    // SAFETY: this thread's live record in the domain, owned as `domain/local.rs` describes.
    unsafe { Guard::enter(reader, domain.engine_ref()) }
}

impl<D: RcuDomain> fmt::Debug for Guard<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("domain", &self.engine().id)
            .finish_non_exhaustive()
    }
}

impl<D: RcuDomain> Drop for Guard<'_, D> {
    #[inline]
    fn drop(&mut self) {
        let engine = self.domain.engine();
        // SAFETY: the record outlives the guard (see `enter`); the guard is `!Send`, so this is the
        // owner thread (Invariant R1 of `gp/reader.rs`).
        if unsafe { (*self.reader.0).unlock(&engine.gp.event) } {
            // SAFETY: `unlock` reported the end of a late record's outermost section.
            unsafe { crate::domain::local::release_late(self.reader.0, engine) };
        }
    }
}

/// The name of an operation in messages: the default domain's free function or the `Domain`
/// method.
fn api<D: RcuDomain>(default: &'static str, domain: &'static str) -> &'static str {
    if D::DEFAULT { default } else { domain }
}

/// `synchronize` and `synchronize_expedited` of every domain.
#[track_caller]
fn grace_period<D: RcuDomain>(domain: &D, expedited: bool) {
    let engine = domain.engine();
    let (method, name) = if expedited {
        (
            "synchronize_expedited",
            api::<D>("synchronize_rcu_expedited", "Domain::synchronize_expedited"),
        )
    } else {
        (
            "synchronize",
            api::<D>("synchronize_rcu", "Domain::synchronize"),
        )
    };
    engine.assert_same_process(method);
    if domain.read_ongoing() {
        panic_in_section(name);
    }
    crate::domain::fork::init();
    if expedited {
        engine.gp.synchronize_expedited();
    } else {
        engine.gp.synchronize();
    }
}

/// Whether the calling thread may wait for a callback thread after queueing a callback above its
/// domain's [`CallbackLimit`] (`callbacks/throttle.rs`): it is in no read-side critical section of any domain
/// (where that cannot be ruled out cheaply it does not wait: `local::may_be_in_section`), it is no
/// domain's callback thread, and it has no [`NoWaitRegion`](crate::NoWaitRegion) open. Asked only
/// by the public `call_rcu`s, after their enqueue and only above the bound: rcu-core's own
/// callbacks (markers, polling, slots) never wait.
pub(crate) fn producer_may_wait() -> bool {
    !crate::callbacks::throttle::in_no_wait_region()
        && !crate::callbacks::worker::is_callback_thread()
        && !crate::domain::local::may_be_in_section()
}

/// Hands the calling thread's free bag of `domain` (`callbacks/bag.rs`) to its callback thread, so
/// that a barrier queued next waits for its objects too (`rcu_barrier`, `Domain`'s last drop).
#[track_caller]
pub(crate) fn hand_over_own_bag<D: RcuDomain>(domain: &D) {
    let Some(mut free_bag) = own_bag(domain) else {
        return;
    };
    if free_bag.is_empty() {
        return;
    }
    let engine = domain.engine();
    let all = free_bag.take_all(&engine.callbacks.frees);
    drop(free_bag);
    engine.hand_over(all, || domain.owner());
}

/// This thread's free bag of `domain`, borrowed, if it has one (none after thread exit, nor while
/// it is borrowed: re-entered from a `free`, against its contract). Makes none.
fn own_bag<D: RcuDomain>(domain: &D) -> Option<std::cell::RefMut<'_, FreeBag>> {
    let engine = domain.engine();
    // Relaxed: a bag this thread made was flagged by this thread before.
    if !engine
        .callbacks
        .frees
        .any_bag
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return None;
    }
    let bag = crate::domain::local::existing_bag(engine, D::DEFAULT);
    // SAFETY: this thread's bag of a live domain: its entry lives until the thread's table is
    // destroyed (which clears the cached slot first) or the domain is gone (`domain` is alive and
    // borrowed for as long as the result).
    let bag = unsafe { bag.as_ref() }?;
    bag.try_borrow_mut().ok()
}

/// What a retire or flush into this thread's bag of a domain may do (`callbacks/bag.rs`): request
/// a grace period with an empty callback, wait for a segment's grace period (expedited) where a
/// producer may wait, hand a segment to the callback thread.
struct DomainBagOps<'a, D>(&'a D);

impl<D: RcuDomain> RetireOps for DomainBagOps<'_, D> {
    fn request_gp(&self) {
        self.0.engine().defer(|| {}, || self.0.owner());
    }

    fn may_wait(&self) -> bool {
        self.0.engine().callbacks.throttle.get().producers_wait() && producer_may_wait()
    }

    fn wait_for(&self, snap: u64) {
        if !self.0.poll_state(GpState(snap)) {
            self.0.synchronize_expedited();
        }
    }

    fn hand_over(&self, entries: Vec<FreeEntry>) {
        self.0.engine().hand_over(entries, || self.0.owner());
    }
}

/// Frees a `Box<T>` leaked by [`RcuDomain::free_rcu`].
///
/// # Safety
/// `ptr` came from `Box::<T>::leak` and is freed once; `T` has no drop glue, so this only
/// deallocates.
unsafe fn free_box<T>(ptr: NonNull<u8>) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(ptr.cast::<T>().as_ptr()) });
}

/// An RCU domain: the default one ([`DefaultDomain`](crate::DefaultDomain)) or an independent
/// [`Domain`](crate::Domain). Sealed; the same engine runs both (the default domain only finds the
/// calling thread's record faster).
///
/// Containers are generic over it (`RcuCell<T, D = DefaultDomain>`): created in a domain
/// (`RcuCell::new` for the default one, `RcuCell::new_in(value, &domain)`), they reclaim through that
/// domain and their readers present a [`Guard`](Self::Guard) of it.
///
/// # A guard of another domain
///
/// * **Default vs. independent: a compile error.** Their guards are different types
///   ([`ReadGuard`](crate::ReadGuard) vs. [`DomainGuard`](crate::DomainGuard)):
///
/// ```compile_fail,E0308
/// let domain = rcu_core::Domain::new();
/// let cell = rcu_core::RcuCell::new_in(1, &domain);
/// let guard = rcu_core::read_lock(); // a section of the *default* domain
/// cell.read(&guard);                 // expected `&DomainGuard<'_>`, found `&ReadGuard`
/// ```
///
/// ```compile_fail,E0308
/// let domain = rcu_core::Domain::new();
/// let cell = rcu_core::RcuCell::new(1); // default domain
/// cell.read(&domain.read_lock());       // expected `&ReadGuard`, found `&DomainGuard<'_>`
/// ```
///
/// * **Two independent domains: a panic.** Two `Domain` values are one type, told apart only at
///   run time, so `read` (and every method taking a guard) checks the guard's domain (one pointer
///   comparison) and panics, naming both domains, at the caller's line (`#[track_caller]`):
///
/// ```should_panic
/// let (a, b) = (rcu_core::Domain::new(), rcu_core::Domain::new());
/// let cell = rcu_core::RcuCell::new_in(1, &a);
/// cell.read(&b.read_lock()); // panics: a guard of another domain
/// ```
pub trait RcuDomain: sealed::Sealed + Clone + Send + Sync + fmt::Debug + 'static {
    /// The read-side guard of this domain: [`Guard<'a, Self>`](Guard).
    type Guard<'a>: fmt::Debug
    where
        Self: 'a;

    /// Enters a read-side critical section (`rcu_read_lock`).
    fn read_lock(&self) -> Self::Guard<'_>;

    /// Panics (at the caller's line) unless `guard` is a section of this very domain. A no-op where
    /// the type already proves it (the default domain).
    fn check_guard(&self, guard: &Self::Guard<'_>);

    /// Whether the calling thread is inside a section of this domain (`rcu_read_ongoing`); see
    /// [`read_ongoing`](crate::read_ongoing), [`Domain::read_ongoing`](crate::Domain::read_ongoing).
    fn read_ongoing(&self) -> bool {
        crate::domain::local::in_section(self.engine(), Self::DEFAULT)
    }

    /// Waits for a grace period (`synchronize_rcu`); see [`synchronize_rcu`](crate::synchronize_rcu).
    ///
    /// # Panics
    /// Inside a section of this domain; for an independent domain, in a child after `fork()`.
    #[track_caller]
    fn synchronize(&self) {
        grace_period(self, false);
    }

    /// Waits for a grace period as soon as readers allow (`synchronize_rcu_expedited`); see
    /// [`synchronize_rcu_expedited`](crate::synchronize_rcu_expedited).
    ///
    /// # Panics
    /// As [`synchronize`](Self::synchronize).
    #[track_caller]
    fn synchronize_expedited(&self) {
        grace_period(self, true);
    }

    /// Runs `f` after a grace period on the domain's callback thread (`call_rcu`); see
    /// [`call_rcu`](crate::call_rcu) (FIFO per thread; may wait above the domain's
    /// [`CallbackLimit`]).
    ///
    /// # Panics
    /// As [`call_rcu`](crate::call_rcu); for an independent domain, in a child after `fork()`.
    #[track_caller]
    fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.engine().assert_same_process("call_rcu");
        let (head, func) = box_closure(f);
        // SAFETY: `box_closure` hands over a fresh head with the trampoline that frees it.
        unsafe { self.call_rcu1(head, func) };
    }

    /// `call_rcu1`: queues `func(head)` without allocating; see [`call_rcu1`](crate::call_rcu1).
    ///
    /// # Safety
    /// As [`call_rcu1`](crate::call_rcu1).
    #[track_caller]
    unsafe fn call_rcu1(&self, head: NonNull<RcuHead>, func: RcuCallback) {
        let engine = self.engine();
        engine.assert_same_process("call_rcu1");
        let buf = crate::domain::local::buffer(engine, Self::DEFAULT);
        // SAFETY: forwarded contract; `buf` is this thread's buffer of this domain, or null.
        let backlog = unsafe { engine.enqueue(head, func, buf, || self.owner()) };
        engine.callbacks.help(backlog, producer_may_wait);
    }

    /// Frees `ptr` with `free(ptr)` after a grace period (Linux's `kfree_rcu`, QEMU's
    /// `g_free_rcu`); see [`defer_free`](crate::defer_free).
    ///
    /// # Safety
    /// As [`defer_free`](crate::defer_free).
    ///
    /// # Panics
    /// For an independent domain, in a child after `fork()`.
    #[track_caller]
    unsafe fn defer_free(&self, ptr: NonNull<u8>, free: unsafe fn(NonNull<u8>)) {
        let engine = self.engine();
        engine.assert_same_process("defer_free");
        // SAFETY: forwarded contract.
        let entry = unsafe { FreeEntry::new(ptr, free) };
        let frees = &engine.callbacks.frees;
        if frees.reclaim() == Reclaim::CallbackThread {
            frees
                .deferred
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            frees
                .handed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.call_rcu(move || {
                entry.free();
                crate::callbacks::worker::count_frees(1);
            });
            return;
        }
        let bag = crate::domain::local::bag(engine, Self::DEFAULT, || self.owner());
        // SAFETY: as in `hand_over_own_bag`: this thread's bag of this live domain.
        let bag = unsafe { bag.as_ref() };
        let Some(mut free_bag) = bag.and_then(|b| b.try_borrow_mut().ok()) else {
            // After thread exit (or re-entered from a `free`, against the contract): one callback.
            frees
                .deferred
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            engine.hand_over(vec![entry], || self.owner());
            return;
        };
        free_bag.retire(entry, &engine.gp, frees, &DomainBagOps(self));
    }

    /// Drops `b` after a grace period, freeing it on this thread where possible (Linux's
    /// `kfree_rcu`); see [`free_rcu`](crate::free_rcu).
    ///
    /// # Panics
    /// For an independent domain, in a child after `fork()`.
    #[track_caller]
    fn free_rcu<T: Send + 'static>(&self, b: Box<T>) {
        if std::mem::needs_drop::<T>() {
            self.call_rcu(move || drop(b));
        } else if size_of::<T>() == 0 {
            drop(b); // nothing was allocated and nothing runs
        } else {
            let ptr = NonNull::from(Box::leak(b)).cast::<u8>();
            // SAFETY: the box was the caller's (so unpublished); `free_box::<T>` only deallocates
            // it (no drop glue), once, and may run on any thread (`T: Send`).
            unsafe { self.defer_free(ptr, free_box::<T>) };
        }
    }

    /// Pushes the calling thread's free bag along without waiting (crossbeam-epoch's
    /// `Guard::flush`); see [`flush_frees`](crate::flush_frees).
    ///
    /// # Panics
    /// For an independent domain, in a child after `fork()`.
    #[track_caller]
    fn flush_frees(&self) {
        let engine = self.engine();
        engine.assert_same_process("flush_frees");
        if let Some(mut free_bag) = own_bag(self) {
            free_bag.flush(&engine.gp, &engine.callbacks.frees, &DomainBagOps(self));
        }
    }

    /// Sets where this domain frees memory retired with `defer_free` / `free_rcu`; see [`Reclaim`].
    fn set_reclaim(&self, reclaim: Reclaim) {
        self.engine().callbacks.frees.set_reclaim(reclaim);
    }

    /// Where this domain frees memory retired with `defer_free` / `free_rcu`
    /// ([`Reclaim::Producers`] unless set).
    fn reclaim(&self) -> Reclaim {
        self.engine().callbacks.frees.reclaim()
    }

    /// Waits for every callback queued before the call (`rcu_barrier`); see
    /// [`rcu_barrier`](crate::rcu_barrier).
    ///
    /// # Panics
    /// Inside a section of this domain, on its callback thread; for an independent domain, in a
    /// child after `fork()`.
    #[track_caller]
    fn barrier(&self) {
        let engine = self.engine();
        engine.assert_same_process("barrier");
        if self.read_ongoing() {
            panic_in_section(api::<Self>("rcu_barrier", "Domain::barrier"));
        }
        hand_over_own_bag(self);
        engine.barrier(|| self.owner());
    }

    /// Snapshots the grace-period state and makes sure a grace period will run
    /// (`start_poll_synchronize_rcu`).
    ///
    /// # Panics
    /// For an independent domain, in a child after `fork()`.
    #[track_caller]
    fn start_poll(&self) -> GpState {
        let engine = self.engine();
        engine.assert_same_process("start_poll");
        engine.start_poll(|| self.owner())
    }

    /// Whether a grace period has elapsed since `state` (`poll_state_synchronize_rcu`).
    fn poll_state(&self, state: GpState) -> bool {
        self.engine().gp.poll_done(state.0)
    }

    /// Waits for a grace period unless one has elapsed since `state` (`cond_synchronize_rcu`).
    ///
    /// # Panics
    /// As [`synchronize`](Self::synchronize), when it has to wait.
    #[track_caller]
    fn cond_synchronize(&self, state: GpState) {
        if !self.poll_state(state) {
            self.synchronize();
        }
    }

    /// The async form of [`synchronize`](Self::synchronize): a `'static` future (see
    /// [`synchronize_rcu_async`](crate::synchronize_rcu_async)).
    fn synchronize_async(&self) -> SynchronizeRcuFuture {
        SynchronizeRcuFuture::new(self.owner())
    }

    /// The async form of [`barrier`](Self::barrier): a `'static` future (see
    /// [`rcu_barrier_async`](crate::rcu_barrier_async)).
    ///
    /// # Panics
    /// For an independent domain, in a child after `fork()`.
    #[track_caller]
    fn barrier_async(&self) -> RcuBarrierFuture {
        self.engine().assert_same_process("barrier_async");
        hand_over_own_bag(self);
        RcuBarrierFuture::new(self.owner())
    }

    /// Counters of this domain.
    fn stats(&self) -> Stats {
        self.engine().stats()
    }

    /// Sets the stall-warning timeout (`None` disables warnings); see
    /// [`set_stall_timeout`](crate::set_stall_timeout).
    fn set_stall_timeout(&self, timeout: Option<Duration>) {
        self.engine().gp.set_stall_timeout(timeout);
    }

    /// Sets the bound on pending callbacks; see [`CallbackLimit`].
    fn set_callback_limit(&self, limit: CallbackLimit) {
        self.engine().callbacks.throttle.set(limit);
    }

    /// The bound on pending callbacks ([`CallbackLimit::DEFAULT`] unless set).
    fn callback_limit(&self) -> CallbackLimit {
        self.engine().callbacks.throttle.get()
    }

    /// Panics (at the caller's line) if an update through this domain could not complete: in a
    /// child process after `fork()`, an independent [`Domain`](crate::Domain) created in the parent
    /// can neither wait for a grace period nor run callbacks (see "fork" in its docs). Containers
    /// call it before they change anything, so a writer that cannot finish fails with nothing
    /// published, unlinked or leaked. A no-op for the default domain, which works in a child.
    ///
    /// ```
    /// use rcu_core::RcuDomain;
    /// rcu_core::DefaultDomain.check_can_update();
    /// rcu_core::Domain::new().check_can_update(); // same process: fine
    /// ```
    #[track_caller]
    fn check_can_update(&self) {
        self.engine()
            .assert_same_process("update (a container's writer)");
    }
}
