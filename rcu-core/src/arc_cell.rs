//! [`RcuArcCell`]: an RCU-protected `Arc`, for values that must outlive a read-side critical
//! section (across an `.await`, into another thread).

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::domain::RcuDomain;
use crate::domain::default::DefaultDomain;
use crate::loaded::Loaded;
use crate::raw::{rcu_cmpxchg_pointer, rcu_dereference, rcu_update_pointer, rcu_xchg_pointer};
use crate::sync::{Arc, AtomicPtr, Ordering};

/// An RCU-protected `Arc<T>`: borrow the current value for the length of a read-side critical
/// section ([`read`](Self::read), a plain load, like [`RcuCell`](crate::RcuCell)), or take an owned
/// snapshot ([`load_full`](Self::load_full)) that may live across an `.await`.
///
/// Like [`RcuCell`](crate::RcuCell), the cell lives in a domain: the default one
/// ([`new`](Self::new)) or an independent [`Domain`](crate::Domain)
/// ([`new_in`](Self::new_in)), whose guards its [`read`](Self::read) takes and whose callback
/// thread releases old values.
///
/// The cell owns one strong count of the published `Arc`. [`load_full`](Self::load_full) increments
/// the count *inside* a read-side critical section, while the pointer is protected: a writer that
/// unpublished it gives the cell's count back only after a grace period (`call_rcu`), so the count
/// cannot reach zero under the reader. This is arc-swap's `ArcSwap` with RCU doing the protection
/// instead of arc-swap's per-thread debt slots.
///
/// Compared with arc-swap's `ArcSwap` (numbers: `cargo bench -p benches --bench async_gp`, group
/// `snapshot`, and BENCHMARKS.md's read-mostly workload):
///
/// | operation | `RcuArcCell` | `ArcSwap` |
/// |---|---|---|
/// | borrow for a short section | [`load`](Self::load) → [`Loaded`] (derefs to `&T`), or [`read`](Self::read) under a guard you hold: one load under a ~1 ns guard; no atomic read-modify-write | `load()` → `Guard` (derefs to `Arc<T>`): a debt slot per access (several `SeqCst` atomics), fallback to a count increment when the slots are full |
/// | owned snapshot | [`load_full`](Self::load_full): guard + one strong-count increment | `load_full()`: debt slot + strong-count increment, then paying the debt back |
/// | update | [`store`](Self::store): one exchange + one `call_rcu` (one allocation, the old count dropped after a grace period, in batches) | `store()`: one exchange + walking every thread's debt list, the old value dropped at once |
/// | update, old value back | [`swap`](Self::swap): as `store`, plus a count increment for the returned `Arc` | `swap()` |
/// | conditional update | [`compare_and_swap`](Self::compare_and_swap) | `compare_and_swap()` |
/// | read-copy-update loop | [`update`](Self::update) | `rcu()` |
/// | construct | [`new`](Self::new)`(arc)`, [`from_pointee`](Self::from_pointee)`(value)`, `From<Arc<T>>` | same names |
///
/// Measured on one thread on the project's 2-core machine (one run, both contenders): `read` 2.4 ns
/// against `load` 26 ns, `load_full` 23 ns against 41 ns, `store` 218 ns against 100 ns (the
/// `call_rcu` closure allocation; the old value is freed later, in a batch).
///
/// Both contend on the `Arc`'s count when many threads take owned snapshots of one value; use
/// [`read`](Self::read) where the value need not outlive the section. The old value lives one
/// grace period longer than with arc-swap.
///
/// # Example: a snapshot across `.await`
///
/// ```
/// use std::sync::Arc;
/// use rcu_core::RcuArcCell;
///
/// struct Config { timeout_ms: u64 }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let config = RcuArcCell::new(Arc::new(Config { timeout_ms: 50 }));
/// let snapshot: Arc<Config> = config.load_full(); // no guard is held across the await
/// tokio::task::yield_now().await;
/// config.store(Arc::new(Config { timeout_ms: 80 }));
/// assert_eq!(snapshot.timeout_ms, 50); // still the value it took
/// assert_eq!(config.load_full().timeout_ms, 80);
/// # });
/// ```
pub struct RcuArcCell<T: Send + Sync + 'static, D: RcuDomain = DefaultDomain> {
    /// From `Arc::into_raw`; the cell owns one strong count.
    ptr: AtomicPtr<T>,
    domain: D,
    _owns: PhantomData<Arc<T>>,
}

impl<T: Send + Sync + 'static> RcuArcCell<T> {
    /// Creates a cell publishing `value`, in the default domain.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let shared = Arc::new(7);
    /// let cell = rcu_core::RcuArcCell::new(shared.clone());
    /// assert!(Arc::ptr_eq(&cell.load_full(), &shared));
    /// ```
    pub fn new(value: Arc<T>) -> Self {
        Self::new_in(value, &DefaultDomain)
    }

    /// Creates a cell publishing `Arc::new(value)`, in the default domain (arc-swap's
    /// `from_pointee`).
    ///
    /// ```
    /// let cell = rcu_core::RcuArcCell::from_pointee(String::from("v1"));
    /// assert_eq!(*cell.load(), "v1");
    /// ```
    pub fn from_pointee(value: T) -> Self {
        Self::new(Arc::new(value))
    }
}

impl<T: Send + Sync + 'static, D: RcuDomain> RcuArcCell<T, D> {
    /// Creates a cell publishing `value` in `domain` (the cell keeps a handle to it): readers
    /// present guards of `domain`, and the cell's counts of old values are released by its
    /// callback thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let domain = rcu_core::Domain::new();
    /// let cell = rcu_core::RcuArcCell::new_in(Arc::new(1u8), &domain);
    /// assert_eq!(*cell.read(&domain.read_lock()), 1);
    /// ```
    pub fn new_in(value: Arc<T>, domain: &D) -> Self {
        RcuArcCell {
            ptr: AtomicPtr::new(Arc::into_raw(value).cast_mut()),
            domain: domain.clone(),
            _owns: PhantomData,
        }
    }

    /// The domain the cell lives in.
    pub fn domain(&self) -> &D {
        &self.domain
    }

    /// Reads the current value inside its own read-side critical section, returned together with
    /// it: a [`Loaded`] derefs to `&T` and may be returned from a function (arc-swap's `load`,
    /// whose `Guard` derefs to `Arc<T>`; here the `Arc`'s count is not touched). The section lasts
    /// until the `Loaded` is dropped: keep it short and never across `.await`; for an owned value
    /// that may live long, take [`load_full`](Self::load_full).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use rcu_core::{Loaded, RcuArcCell};
    ///
    /// struct Config { workers: usize }
    /// struct Server { config: RcuArcCell<Config> }
    /// impl Server {
    ///     fn config(&self) -> Loaded<'_, Config> { self.config.load() }
    /// }
    ///
    /// let server = Server { config: RcuArcCell::from_pointee(Config { workers: 4 }) };
    /// assert_eq!(server.config().workers, 4);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, for a cell of an independent [`Domain`](crate::Domain)
    /// that was created in the parent and never read on this thread there (see
    /// [`Domain::read_lock`](crate::Domain::read_lock)).
    #[doc(alias = "rcu_dereference", alias = "rcu_read_lock")]
    #[track_caller]
    pub fn load(&self) -> Loaded<'_, T, D> {
        let guard = self.domain.read_lock();
        let value = NonNull::from(self.read(&guard));
        // SAFETY: `read` loaded `value` under `guard`'s section of the cell's domain: valid while
        // that section runs and the cell (borrowed for the `Loaded`'s lifetime) lives.
        unsafe { Loaded::new(guard, value) }
    }

    /// Borrows the current value under a guard the caller holds (`rcu_dereference`) for as long as
    /// both the cell borrow and the read-side critical section last; to return it from a function,
    /// use [`load`](Self::load).
    ///
    /// # Panics
    /// If `guard` is a section of another independent domain than the cell's (see [`RcuDomain`]).
    ///
    /// ```
    /// let cell = rcu_core::RcuArcCell::new(std::sync::Arc::new(7));
    /// assert_eq!(*cell.read(&rcu_core::read_lock()), 7);
    /// ```
    #[inline]
    #[track_caller]
    pub fn read<'g>(&'g self, guard: &'g D::Guard<'_>) -> &'g T {
        self.domain.check_guard(guard);
        let ptr = rcu_dereference(&self.ptr);
        // SAFETY: the published pointer always carries the cell's strong count; once unpublished,
        // that count is dropped only after a grace period of the cell's domain, which cannot end
        // while `guard`'s section of that domain (checked above) runs, and the returned lifetime is
        // bounded by the guard's.
        unsafe { &*ptr }
    }

    /// Returns an owned snapshot of the current value (arc-swap's `load_full`), taken inside a
    /// short read-side critical section. The `Arc` may be kept across `.await` and sent to other
    /// threads; later updates do not change it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = rcu_core::RcuArcCell::new(Arc::new(String::from("v1")));
    /// let snapshot = cell.load_full();
    /// cell.store(Arc::new(String::from("v2")));
    /// assert_eq!(*snapshot, "v1");
    /// ```
    pub fn load_full(&self) -> Arc<T> {
        let guard = self.domain.read_lock();
        let ptr = rcu_dereference(&self.ptr);
        // SAFETY: `ptr` came from `Arc::into_raw` and its strong count is at least the cell's one
        // while `guard`'s section runs (see `read`); the increment gives the new `Arc` its own.
        let snapshot = unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        };
        drop(guard);
        snapshot
    }

    /// Publishes `value` (`rcu_assign_pointer`, Release); the cell's count of the old value is
    /// dropped on the domain's callback thread after a grace period (`call_rcu`). Owned snapshots
    /// of the old value stay valid for as long as they are kept.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = rcu_core::RcuArcCell::new(Arc::new(1));
    /// cell.store(Arc::new(2));
    /// assert_eq!(*cell.load_full(), 2);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `value` is dropped
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "rcu_assign_pointer", alias = "replace", alias = "set")]
    #[track_caller]
    pub fn store(&self, value: Arc<T>) {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let old = rcu_xchg_pointer(&self.ptr, Arc::into_raw(value).cast_mut());
        // SAFETY: `old` was published, so it holds the cell's count, which is now ours.
        unsafe { self.retire(old) };
    }

    /// Publishes `value` and returns the value it replaced (arc-swap's `swap`), without waiting.
    ///
    /// The returned `Arc` holds a count of its own, taken while the cell's count still keeps the
    /// value alive; the cell's count is released after a grace period as with
    /// [`store`](Self::store), because readers may still borrow the old value under their guards.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = rcu_core::RcuArcCell::from_pointee(1);
    /// let old: Arc<i32> = cell.swap(Arc::new(2));
    /// assert_eq!((*old, *cell.load()), (1, 2));
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `value` is dropped
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "rcu_xchg_pointer", alias = "exchange")]
    #[track_caller]
    pub fn swap(&self, value: Arc<T>) -> Arc<T> {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let old = rcu_xchg_pointer(&self.ptr, Arc::into_raw(value).cast_mut());
        // SAFETY: `old` was published, so it holds the cell's count, which is now ours.
        unsafe { self.hand_out_and_retire(old) }
    }

    /// Publishes `new` if the cell still holds `current` (the same allocation, `Arc::ptr_eq`), and
    /// returns the value found in the cell either way (arc-swap's `compare_and_swap`): it
    /// succeeded if that is `current`. On failure `new` is dropped.
    ///
    /// No ABA: `current` is an `Arc` the caller holds, so its allocation cannot be freed and
    /// reused by another value while the comparison runs. For "apply `f` to whatever is there,
    /// retrying on a race", [`update`](Self::update) runs the loop for you.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = rcu_core::RcuArcCell::from_pointee(1);
    /// let seen = cell.load_full();
    /// let found = cell.compare_and_swap(&seen, Arc::new(2));
    /// assert!(Arc::ptr_eq(&found, &seen)); // it was still `seen`: 2 is published
    /// let found = cell.compare_and_swap(&seen, Arc::new(3));
    /// assert_eq!(*found, 2); // someone (we) changed it: nothing published
    /// assert_eq!(*cell.load(), 2);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `new` is dropped
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "rcu_cmpxchg_pointer", alias = "compare_exchange")]
    #[track_caller]
    pub fn compare_and_swap(&self, current: &Arc<T>, new: Arc<T>) -> Arc<T> {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let expected = Arc::as_ptr(current).cast_mut();
        let new = Arc::into_raw(new).cast_mut();
        let guard = self.domain.read_lock();
        let found = rcu_cmpxchg_pointer(&self.ptr, expected, new);
        if found == expected {
            drop(guard);
            // SAFETY: we unpublished `found`; the cell's count of it is ours.
            unsafe { self.hand_out_and_retire(found) }
        } else {
            // SAFETY: `new` was never published; this is the count `Arc::into_raw` gave us.
            drop(unsafe { Arc::from_raw(new) });
            // SAFETY: `found` was published when the exchange failed, and `guard`'s section keeps
            // the cell's count of it (see `read`); the increment gives the new `Arc` its own.
            let found = unsafe {
                Arc::increment_strong_count(found);
                Arc::from_raw(found)
            };
            drop(guard);
            found
        }
    }

    /// Replaces the value with `f(current)`, retrying if another writer got in between (arc-swap's
    /// `rcu`). `f` may run several times. The old value is released after a grace period.
    ///
    /// ```
    /// let hits = rcu_core::RcuArcCell::new(std::sync::Arc::new(0u64));
    /// hits.update(|n| n + 1);
    /// assert_eq!(*hits.load_full(), 1);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `f` is never called
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "rcu")]
    #[track_caller]
    pub fn update(&self, mut f: impl FnMut(&T) -> T) {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let guard = self.domain.read_lock();
        let old = rcu_update_pointer(
            &self.ptr,
            // SAFETY: the loop passes pointers loaded under `guard`: live until it drops (see `read`).
            |current| Arc::into_raw(Arc::new(f(unsafe { &*current }))).cast_mut(),
            // SAFETY: built above and never published; this is the count `Arc::into_raw` gave us.
            |unpublished| drop(unsafe { Arc::from_raw(unpublished) }),
        );
        drop(guard);
        // SAFETY: we unpublished `old`; the cell's count of it is ours.
        unsafe { self.retire(old) };
    }

    /// Consumes the cell and returns its value.
    ///
    /// ```
    /// let cell = rcu_core::RcuArcCell::from_pointee(5);
    /// assert_eq!(*cell.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> Arc<T> {
        // Relaxed: we own the cell; no other thread can access it.
        let ptr = self.ptr.load(Ordering::Relaxed);
        // SAFETY: the published pointer carries the cell's count, which lasts until `self` drops at
        // the end of this function; the new `Arc` takes a count of its own first.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// Returns an `Arc` of its own for an unpublished value and gives the cell's count back after
    /// a grace period of its domain.
    ///
    /// # Safety
    /// As [`retire`](Self::retire).
    unsafe fn hand_out_and_retire(&self, old: *mut T) -> Arc<T> {
        // SAFETY: the caller owns the cell's count of `old`, so the count is at least one while we
        // take another for the caller.
        let caller = unsafe {
            Arc::increment_strong_count(old);
            Arc::from_raw(old)
        };
        // SAFETY: forwarded: the caller's count (the cell's) is released after a grace period.
        unsafe { self.retire(old) };
        caller
    }

    /// Gives the cell's count of an unpublished value back after a grace period of its domain.
    ///
    /// # Safety
    /// `old` came from `Arc::into_raw`, is no longer published, and its count is owned by the
    /// caller.
    unsafe fn retire(&self, old: *mut T) {
        // SAFETY: per the contract, this takes over the caller's count.
        let old = unsafe { Arc::from_raw(old) };
        self.domain.call_rcu(move || drop(old));
    }
}

impl<T: Send + Sync + 'static, D: RcuDomain> Drop for RcuArcCell<T, D> {
    fn drop(&mut self) {
        // Readers borrow the cell, so none can be in `read` now; owned snapshots hold their own
        // counts.
        // Relaxed: `&mut self` excludes every other access.
        let ptr = self.ptr.load(Ordering::Relaxed);
        // SAFETY: the published pointer carries the cell's count.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}

/// Publishes the `Arc` itself, as [`RcuArcCell::new`] does: `RcuArcCell::from(arc)` is an
/// `RcuArcCell<T>`, never a cell of `Arc<Arc<T>>`.
///
/// ```
/// use std::sync::Arc;
/// use rcu_core::RcuArcCell;
/// let shared = Arc::new(String::from("eth0"));
/// let cell: RcuArcCell<String> = RcuArcCell::from(shared.clone());
/// assert!(Arc::ptr_eq(&cell.load_full(), &shared));
/// let cell: RcuArcCell<String> = Arc::new(String::from("eth1")).into();
/// assert_eq!(*cell.load(), "eth1");
/// ```
///
/// There is no `From<T>` (it made `RcuArcCell::from(Arc::new(x))` a cell of `Arc<Arc<T>>`); wrap
/// a plain value with [`from_pointee`](RcuArcCell::from_pointee):
///
/// ```compile_fail,E0277
/// let cell = rcu_core::RcuArcCell::from(5); // use RcuArcCell::from_pointee(5)
/// ```
///
/// ```compile_fail,E0308
/// use std::sync::Arc;
/// let cell: rcu_core::RcuArcCell<Arc<i32>> = rcu_core::RcuArcCell::from(Arc::new(5));
/// ```
impl<T: Send + Sync + 'static> From<Arc<T>> for RcuArcCell<T> {
    fn from(value: Arc<T>) -> Self {
        Self::new(value)
    }
}

impl<T: Send + Sync + Default + 'static> Default for RcuArcCell<T> {
    fn default() -> Self {
        Self::from_pointee(T::default())
    }
}

impl<T: Send + Sync + fmt::Debug + 'static, D: RcuDomain> fmt::Debug for RcuArcCell<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = self.domain.read_lock();
        f.debug_tuple("RcuArcCell")
            .field(self.read(&guard))
            .finish()
    }
}
