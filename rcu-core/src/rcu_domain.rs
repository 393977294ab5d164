//! One read-side API over every domain: the [`RcuDomain`] trait, implemented by the default domain
//! ([`DefaultDomain`](crate::DefaultDomain), the free functions) and by every independent
//! [`Domain`](crate::Domain). Containers ([`RcuCell`](crate::RcuCell), `rcu-queue`'s lists and map)
//! are generic over it, as crossbeam-epoch's `default.rs` is a thin layer over `Collector` and seize's
//! `Guard` knows its collector.

use std::fmt;
use std::ptr::NonNull;

use crate::callback::{RcuCallback, RcuHead};
use crate::engine::GpState;

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
pub(crate) struct RecordPtr(pub(crate) *const crate::reader::Reader);

// SAFETY: only ever held by guards, which are `!Send` and `!Sync` through their `NotSend` marker:
// the pointer is dereferenced on the thread that owns the record (Invariant R1 of `reader.rs`).
unsafe impl Send for RecordPtr {}
// SAFETY: as above.
unsafe impl Sync for RecordPtr {}

pub(crate) mod sealed {
    /// Only this crate implements [`RcuDomain`](super::RcuDomain): containers rely on its guards
    /// proving a read-side critical section of that very domain.
    pub trait Sealed {}
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
    /// The read-side guard of this domain.
    type Guard<'a>: fmt::Debug
    where
        Self: 'a;

    /// Enters a read-side critical section (`rcu_read_lock`).
    fn read_lock(&self) -> Self::Guard<'_>;

    /// Whether the calling thread is inside a section of this domain (`rcu_read_ongoing`).
    fn read_ongoing(&self) -> bool;

    /// Waits for a grace period (`synchronize_rcu`); panics inside a section of this domain.
    fn synchronize(&self);

    /// Runs `f` after a grace period on the domain's callback thread (`call_rcu`).
    fn call_rcu<F: FnOnce() + Send + 'static>(&self, f: F);

    /// `call_rcu1`.
    ///
    /// # Safety
    /// As [`call_rcu1`](crate::call_rcu1).
    unsafe fn call_rcu1(&self, head: NonNull<RcuHead>, func: RcuCallback);

    /// Waits for every callback queued before the call (`rcu_barrier`).
    fn barrier(&self);

    /// Snapshots the grace-period state and makes sure a grace period will run
    /// (`start_poll_synchronize_rcu`).
    fn start_poll(&self) -> GpState;

    /// Whether a grace period has elapsed since `state` (`poll_state_synchronize_rcu`).
    fn poll_state(&self, state: GpState) -> bool;

    /// Panics (at the caller's line) unless `guard` is a section of this very domain. A no-op where
    /// the type already proves it (the default domain).
    fn check_guard(&self, guard: &Self::Guard<'_>);

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
    fn check_can_update(&self);
}
