//! [`RcuCell`]: an RCU-protected owned pointer.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::AtomicPtr;

use crate::callback::RcuHead;
use crate::default::ReadGuard;
use crate::raw::{rcu_cmpxchg_pointer, rcu_dereference, rcu_xchg_pointer};

/// One allocation: the value and the head that reclaims it.
struct Node<T> {
    rcu: RcuHead,
    value: T,
}

impl<T> Node<T> {
    fn boxed(value: T) -> *mut Node<T> {
        Box::into_raw(Box::new(Node {
            rcu: RcuHead::new(),
            value,
        }))
    }
}

/// Callback that frees a retired node.
///
/// # Safety
/// `head` is the `rcu` field of a `Box<Node<T>>` leaked by `RcuCell` and unpublished at least one grace
/// period ago, handed over exactly once.
unsafe fn reclaim<T>(head: NonNull<RcuHead>) {
    // SAFETY: per the contract we own the node and no reader can still see it.
    drop(unsafe { Box::from_raw(crate::container_of!(head, Node<T>, rcu)) });
}

/// An RCU-protected owned value in the default domain: readers get `&T` for the length of a
/// read-side critical section with no atomic read-modify-write; writers publish a new value and the
/// old one is dropped on the callback thread after a grace period.
///
/// This is the `rcu_assign_pointer` / `rcu_dereference` / `call_rcu(old, free)` pattern packaged as
/// a safe type (compare arc-swap's `ArcSwap` and crossbeam-epoch's `Atomic`). Each value lives in one
/// allocation together with its [`RcuHead`], so retiring it allocates nothing more.
///
/// `T: Send + Sync + 'static` because readers on any thread share `&T`, and the old value is dropped
/// on the callback thread at an unknown later time.
///
/// # Example
///
/// ```
/// use rcu_core::{RcuCell, read_lock, rcu_barrier};
///
/// let config = RcuCell::new(vec![1, 2, 3]);
/// {
///     let guard = read_lock();
///     let v = config.read(&guard);
///     assert_eq!(v.len(), 3);
///     config.replace(vec![4]); // `v` stays valid until the guard is dropped
///     assert_eq!(v[0], 1);
/// }
/// assert_eq!(*config.read(&read_lock()), vec![4]);
/// rcu_barrier(); // the old vector has been dropped
/// ```
///
/// A reference cannot outlive the guard it was read under:
///
/// ```compile_fail,E0597
/// let cell = rcu_core::RcuCell::new(5);
/// let leaked: &i32 = {
///     let guard = rcu_core::read_lock();
///     cell.read(&guard)
/// };
/// println!("{leaked}");
/// ```
///
/// while using it inside the section compiles:
///
/// ```
/// let cell = rcu_core::RcuCell::new(5);
/// let copied: i32 = {
///     let guard = rcu_core::read_lock();
///     *cell.read(&guard)
/// };
/// assert_eq!(copied, 5);
/// ```
pub struct RcuCell<T: Send + Sync + 'static> {
    ptr: AtomicPtr<Node<T>>,
    _owns: PhantomData<Box<Node<T>>>,
}

impl<T: Send + Sync + 'static> RcuCell<T> {
    /// Creates a cell holding `value`.
    pub fn new(value: T) -> Self {
        RcuCell {
            ptr: AtomicPtr::new(Node::boxed(value)),
            _owns: PhantomData,
        }
    }

    /// Reads the current value (`rcu_dereference`). The reference lives as long as both the cell
    /// borrow and the read-side critical section.
    #[inline]
    pub fn read<'g>(&'g self, _guard: &'g ReadGuard) -> &'g T {
        let node = rcu_dereference(&self.ptr);
        // SAFETY: the pointer is always a live published node; a node unpublished by a writer is
        // freed only after a grace period, which cannot end while `_guard`'s section runs, and the
        // returned lifetime is bounded by the guard's.
        unsafe { &(*node).value }
    }

    /// Publishes `value` (`rcu_assign_pointer`, Release) and drops the old value on the callback
    /// thread after a grace period (`call_rcu`).
    pub fn replace(&self, value: T) {
        let old = rcu_xchg_pointer(&self.ptr, Node::boxed(value));
        // SAFETY: `old` is unpublished now and owned by nobody else.
        unsafe { retire(old) };
    }

    /// Publishes `value`, waits for a grace period (`synchronize_rcu`) and returns the old value.
    ///
    /// # Panics
    /// Inside a read-side critical section, like [`synchronize_rcu`](crate::synchronize_rcu).
    #[track_caller]
    pub fn replace_sync(&self, value: T) -> T {
        // Check before publishing: panicking after the exchange would leave the new value
        // published and the old one owned by nobody.
        if crate::read_ongoing() {
            crate::gp::panic_in_section("RcuCell::replace_sync");
        }
        let old = rcu_xchg_pointer(&self.ptr, Node::boxed(value));
        crate::synchronize_rcu();
        // SAFETY: unpublished and a grace period has elapsed: no reader can hold it.
        let node = unsafe { Box::from_raw(old) };
        node.value
    }

    /// Replaces the value with `f(current)`, retrying if another writer got in between: the
    /// read-copy-update loop (arc-swap's `rcu`). `f` may run several times. The old value is dropped
    /// after a grace period.
    ///
    /// ```
    /// let counter = rcu_core::RcuCell::new(0u64);
    /// counter.update(|n| n + 1);
    /// assert_eq!(*counter.read(&rcu_core::read_lock()), 1);
    /// ```
    pub fn update(&self, mut f: impl FnMut(&T) -> T) {
        let guard = crate::read_lock();
        let mut current = rcu_dereference(&self.ptr);
        loop {
            // SAFETY: `current` was loaded under `guard`, so it is live until the guard drops.
            let new = Node::boxed(f(unsafe { &(*current).value }));
            let found = rcu_cmpxchg_pointer(&self.ptr, current, new);
            if found == current {
                drop(guard);
                // SAFETY: we unpublished `current`; it is ours to retire.
                unsafe { retire(current) };
                return;
            }
            // SAFETY: `new` was never published.
            drop(unsafe { Box::from_raw(new) });
            current = found;
        }
    }

    /// Mutable access when no reader can exist (exclusive borrow).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes readers (they borrow the cell) and other writers.
        unsafe { &mut (**self.ptr.get_mut()).value }
    }

    /// Consumes the cell and returns the value.
    pub fn into_inner(self) -> T {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we own the cell and its node; ManuallyDrop prevents the double free in Drop.
        let node = unsafe { Box::from_raw(*this.ptr.get_mut()) };
        node.value
    }
}

/// Queues `old` for reclamation after a grace period.
///
/// # Safety
/// `old` is a node leaked by `Node::boxed`, no longer published, and retired only once.
unsafe fn retire<T: Send + Sync + 'static>(old: *mut Node<T>) {
    // SAFETY: the node stays allocated until `reclaim::<T>` frees it; its head is not queued yet;
    // `T: Send` lets the callback thread drop it.
    unsafe { crate::call_rcu1(NonNull::new_unchecked(&raw mut (*old).rcu), reclaim::<T>) };
}

impl<T: Send + Sync + 'static> Drop for RcuCell<T> {
    fn drop(&mut self) {
        // No reader can hold a reference: they borrow the cell. Retired nodes own themselves.
        // SAFETY: the current node is ours and published nowhere else.
        drop(unsafe { Box::from_raw(*self.ptr.get_mut()) });
    }
}

impl<T: Send + Sync + Default + 'static> Default for RcuCell<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Send + Sync + fmt::Debug + 'static> fmt::Debug for RcuCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = crate::read_lock();
        f.debug_tuple("RcuCell").field(self.read(&guard)).finish()
    }
}
