//! [`RcuArcCell`]: an RCU-protected `Arc`, for values that must outlive a read-side critical
//! section (across an `.await`, into another thread).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicPtr;

use crate::default::{ReadGuard, call_rcu, read_lock};
use crate::raw::{rcu_cmpxchg_pointer, rcu_dereference, rcu_xchg_pointer};

/// An RCU-protected `Arc<T>` in the default domain: borrow the current value for the length of a
/// read-side critical section ([`read`](Self::read), a plain load, like [`RcuCell`](crate::RcuCell)),
/// or take an owned snapshot ([`load_full`](Self::load_full)) that may live across an `.await`.
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
/// | borrow for a short section | [`read`](Self::read): one load under a ~1 ns guard; no atomic read-modify-write | `load()`: a debt slot per access (several `SeqCst` atomics), fallback to a count increment when the slots are full |
/// | owned snapshot | [`load_full`](Self::load_full): guard + one strong-count increment | `load_full()`: debt slot + strong-count increment, then paying the debt back |
/// | update | [`store`](Self::store): one exchange + one `call_rcu` (one allocation, the old count dropped after a grace period, in batches) | `store()`: one exchange + walking every thread's debt list, the old value dropped at once |
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
pub struct RcuArcCell<T: Send + Sync + 'static> {
    /// From `Arc::into_raw`; the cell owns one strong count.
    ptr: AtomicPtr<T>,
    _owns: PhantomData<Arc<T>>,
}

impl<T: Send + Sync + 'static> RcuArcCell<T> {
    /// Creates a cell publishing `value`.
    pub fn new(value: Arc<T>) -> Self {
        RcuArcCell {
            ptr: AtomicPtr::new(Arc::into_raw(value).cast_mut()),
            _owns: PhantomData,
        }
    }

    /// Borrows the current value (`rcu_dereference`) for as long as both the cell borrow and the
    /// read-side critical section last.
    ///
    /// ```
    /// let cell = rcu_core::RcuArcCell::new(std::sync::Arc::new(7));
    /// assert_eq!(*cell.read(&rcu_core::read_lock()), 7);
    /// ```
    #[inline]
    pub fn read<'g>(&'g self, _guard: &'g ReadGuard) -> &'g T {
        let ptr = rcu_dereference(&self.ptr);
        // SAFETY: the published pointer always carries the cell's strong count; once unpublished,
        // that count is dropped only after a grace period, which cannot end while `_guard`'s
        // section runs, and the returned lifetime is bounded by the guard's.
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
        let guard = read_lock();
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
    /// dropped on the callback thread after a grace period (`call_rcu`). Owned snapshots of the old
    /// value stay valid for as long as they are kept.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = rcu_core::RcuArcCell::new(Arc::new(1));
    /// cell.store(Arc::new(2));
    /// assert_eq!(*cell.load_full(), 2);
    /// ```
    pub fn store(&self, value: Arc<T>) {
        let old = rcu_xchg_pointer(&self.ptr, Arc::into_raw(value).cast_mut());
        // SAFETY: `old` was published, so it holds the cell's count, which is now ours.
        unsafe { retire(old) };
    }

    /// Replaces the value with `f(current)`, retrying if another writer got in between (arc-swap's
    /// `rcu`). `f` may run several times. The old value is released after a grace period.
    ///
    /// ```
    /// let hits = rcu_core::RcuArcCell::new(std::sync::Arc::new(0u64));
    /// hits.update(|n| n + 1);
    /// assert_eq!(*hits.load_full(), 1);
    /// ```
    pub fn update(&self, mut f: impl FnMut(&T) -> T) {
        let guard = read_lock();
        let mut current = rcu_dereference(&self.ptr);
        loop {
            // SAFETY: `current` was loaded under `guard` and is live until it drops (see `read`).
            let new = Arc::into_raw(Arc::new(f(unsafe { &*current }))).cast_mut();
            let found = rcu_cmpxchg_pointer(&self.ptr, current, new);
            if found == current {
                drop(guard);
                // SAFETY: we unpublished `current`; the cell's count of it is ours.
                unsafe { retire(current) };
                return;
            }
            // SAFETY: `new` was never published; this is the count `Arc::into_raw` gave us.
            drop(unsafe { Arc::from_raw(new) });
            current = found;
        }
    }

    /// Consumes the cell and returns its value.
    pub fn into_inner(self) -> Arc<T> {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we own the cell and its count; ManuallyDrop prevents the second drop in Drop.
        unsafe { Arc::from_raw(*this.ptr.get_mut()) }
    }
}

/// Gives the cell's count of an unpublished value back after a grace period.
///
/// # Safety
/// `old` came from `Arc::into_raw`, is no longer published, and its count is owned by the caller.
unsafe fn retire<T: Send + Sync + 'static>(old: *mut T) {
    // SAFETY: per the contract, this takes over the caller's count.
    let old = unsafe { Arc::from_raw(old) };
    call_rcu(move || drop(old));
}

impl<T: Send + Sync + 'static> Drop for RcuArcCell<T> {
    fn drop(&mut self) {
        // Readers borrow the cell, so none can be in `read` now; owned snapshots hold their own
        // counts.
        // SAFETY: the published pointer carries the cell's count.
        drop(unsafe { Arc::from_raw(*self.ptr.get_mut()) });
    }
}

impl<T: Send + Sync + 'static> From<T> for RcuArcCell<T> {
    fn from(value: T) -> Self {
        Self::new(Arc::new(value))
    }
}

impl<T: Send + Sync + Default + 'static> Default for RcuArcCell<T> {
    fn default() -> Self {
        Self::from(T::default())
    }
}

impl<T: Send + Sync + fmt::Debug + 'static> fmt::Debug for RcuArcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = read_lock();
        f.debug_tuple("RcuArcCell")
            .field(self.read(&guard))
            .finish()
    }
}
