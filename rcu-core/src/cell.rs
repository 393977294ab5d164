//! [`RcuCell`]: an RCU-protected owned pointer.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::callbacks::head::RcuHead;
use crate::domain::RcuDomain;
use crate::domain::default::DefaultDomain;
use crate::loaded::Loaded;
use crate::raw::{rcu_dereference, rcu_update_pointer, rcu_xchg_pointer};
use crate::sync::{AtomicPtr, Ordering};

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
    let node: *mut Node<T> = crate::container_of!(head, Node<T>, rcu);
    #[cfg(rcu_broken_gp)]
    if crate::testing::broken() {
        // Negative controls only: with grace periods switched off a reader may still be inside the
        // node. Drop the value (the write the checks observe) but never free the memory, so the
        // broken run is caught without a real use-after-free.
        // SAFETY: the node is ours; the value is dropped once and the node never freed.
        unsafe { std::ptr::drop_in_place(&raw mut (*node).value) };
        return;
    }
    // SAFETY: per the contract we own the node and no reader can still see it.
    drop(unsafe { Box::from_raw(node) });
}

/// Frees a retired node whose value has no drop glue: a plain deallocation, so it may go through
/// [`RcuDomain::defer_free`] and run on the retiring thread.
///
/// # Safety
/// `ptr` is a `Box<Node<T>>` leaked by `RcuCell`, `!needs_drop::<T>()`, unpublished at least one
/// grace period ago, handed over exactly once.
unsafe fn free_node<T>(ptr: NonNull<u8>) {
    let node = ptr.cast::<Node<T>>().as_ptr();
    #[cfg(rcu_broken_gp)]
    if crate::testing::broken() {
        // Negative controls only (as in `reclaim`): a reader may still be inside the node. Poison
        // the value with the test allocator's freed-byte pattern (the write the checks observe)
        // but never free the memory.
        // SAFETY: the node is ours and never freed; its value has no drop glue.
        unsafe {
            std::ptr::write_bytes((&raw mut (*node).value).cast::<u8>(), 0xDE, size_of::<T>())
        };
        return;
    }
    // SAFETY: per the contract we own the node and no reader can still see it; dropping it only
    // deallocates.
    drop(unsafe { Box::from_raw(node) });
}

/// An RCU-protected owned value: readers get `&T` for the length of a read-side critical section
/// with no atomic read-modify-write; writers publish a new value and the old one is dropped on the
/// callback thread after a grace period.
///
/// | you want | call | arc-swap | liburcu / Linux |
/// |---|---|---|---|
/// | a reference you can return from a function | [`load`](Self::load) → [`Loaded`] | `load` → `Guard` | — |
/// | `&T` under a guard you already hold | [`read`](Self::read) | — | `rcu_dereference` |
/// | publish, drop the old value later | [`replace`](Self::replace) | `store` | `rcu_assign_pointer` + `call_rcu` |
/// | publish, get the old value back | [`replace_sync`](Self::replace_sync) (waits for a grace period) | `swap` | `rcu_replace_pointer` + `synchronize_rcu` |
/// | read-copy-update loop | [`update`](Self::update) | `rcu` | `rcu_cmpxchg_pointer` loop |
///
/// Need the old value without waiting, or an owned snapshot that lives across `.await`? Use
/// [`RcuArcCell`](crate::RcuArcCell).
///
/// The cell lives in one RCU domain `D`: the default one ([`new`](Self::new)) or an independent
/// [`Domain`](crate::Domain) ([`new_in`](Self::new_in)). Readers present a guard of that domain;
/// a guard of another domain is rejected as described under [`RcuDomain`] (a compile error, or a
/// panic between two `Domain`s), and old values are reclaimed by that domain's callback thread.
///
/// This is the `rcu_assign_pointer` / `rcu_dereference` / `call_rcu(old, free)` pattern packaged as
/// a safe type (compare arc-swap's `ArcSwap` and crossbeam-epoch's `Atomic`). Each value lives in one
/// allocation together with its [`RcuHead`], so retiring it allocates nothing more.
///
/// `T: Send + Sync + 'static` because readers on any thread share `&T`, and the old value is dropped
/// on the callback thread at an unknown later time. A value without drop glue
/// (`!std::mem::needs_drop::<T>()`, such as `[u64; 8]`) runs no code when it goes, so its
/// allocation is retired with [`RcuDomain::defer_free`] instead and freed by the writer thread
/// itself once the grace period has elapsed (see [`Reclaim`](crate::Reclaim)).
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
///
/// In an independent domain (no thread registration to manage, no `unsafe`):
///
/// ```
/// use rcu_core::{Domain, RcuCell};
///
/// let domain = Domain::new();
/// let config = RcuCell::new_in(vec![1, 2, 3], &domain);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         let guard = domain.read_lock(); // registers this thread with `domain`
///         assert!(!config.read(&guard).is_empty());
///     });
///     config.replace(vec![4]); // the old vector is dropped by `domain`'s callback thread
/// });
/// domain.barrier();
/// ```
pub struct RcuCell<T: Send + Sync + 'static, D: RcuDomain = DefaultDomain> {
    ptr: AtomicPtr<Node<T>>,
    domain: D,
    _owns: PhantomData<Box<Node<T>>>,
}

impl<T: Send + Sync + 'static> RcuCell<T> {
    /// Creates a cell holding `value`, in the default domain (arc-swap's `from_pointee`).
    ///
    /// ```
    /// let cell = rcu_core::RcuCell::new(String::from("v1"));
    /// assert_eq!(*cell.load(), "v1");
    /// ```
    #[doc(alias = "from_pointee")]
    pub fn new(value: T) -> Self {
        Self::new_in(value, &DefaultDomain)
    }
}

impl<T: Send + Sync + 'static, D: RcuDomain> RcuCell<T, D> {
    /// Creates a cell holding `value` in `domain` (the cell keeps a handle to it): readers present
    /// guards of `domain`, and old values are reclaimed by its callback thread.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let cell = rcu_core::RcuCell::new_in(1u8, &domain);
    /// assert_eq!(*cell.read(&domain.read_lock()), 1);
    /// ```
    pub fn new_in(value: T, domain: &D) -> Self {
        RcuCell {
            ptr: AtomicPtr::new(Node::boxed(value)),
            domain: domain.clone(),
            _owns: PhantomData,
        }
    }

    /// The domain the cell lives in.
    pub fn domain(&self) -> &D {
        &self.domain
    }

    /// Reads the current value inside its own read-side critical section, returned together with
    /// it: a [`Loaded`] derefs to `&T` and may be returned from a function (arc-swap's `load`;
    /// `rcu_read_lock` + `rcu_dereference`). The section lasts until the `Loaded` is dropped, so
    /// keep it short, as you would a lock guard, and do not hold it across `.await`.
    ///
    /// ```
    /// use rcu_core::{Loaded, RcuCell};
    ///
    /// struct Routes { table: RcuCell<Vec<u16>> }
    /// impl Routes {
    ///     fn current(&self) -> Loaded<'_, Vec<u16>> { self.table.load() }
    /// }
    ///
    /// let routes = Routes { table: RcuCell::new(vec![80, 443]) };
    /// assert_eq!(routes.current().len(), 2);
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

    /// Reads the current value under a guard the caller holds (`rcu_dereference`). The reference
    /// lives as long as both the cell borrow and the read-side critical section; to return it from
    /// a function, use [`load`](Self::load).
    ///
    /// # Panics
    /// If `guard` is a section of another independent domain than the cell's (see [`RcuDomain`]).
    #[inline]
    #[track_caller]
    pub fn read<'g>(&'g self, guard: &'g D::Guard<'_>) -> &'g T {
        self.domain.check_guard(guard);
        let node = rcu_dereference(&self.ptr);
        // SAFETY: the pointer is always a live published node; a node unpublished by a writer is
        // freed only after a grace period of the cell's domain, which cannot end while `guard`'s
        // section of that domain (checked above) runs, and the returned lifetime is bounded by the
        // guard's.
        unsafe { &(*node).value }
    }

    /// Publishes `value` (`rcu_assign_pointer`, Release) and drops the old value on the callback
    /// thread after a grace period (`call_rcu`; a value without drop glue is freed by this thread
    /// instead, `kfree_rcu`: see the type docs): arc-swap's `store`. Like those it may wait, where
    /// that is safe: for the callback thread above the domain's
    /// [`CallbackLimit`](crate::CallbackLimit) ([`call_rcu`](crate::call_rcu)), or for a grace
    /// period past the writer's free-bag bound ([`defer_free`](crate::defer_free)); inside a
    /// [`NoWaitRegion`](crate::NoWaitRegion) or a read-side critical section it never waits. Readers that loaded the old
    /// value keep seeing it until their sections end; later reads see `value`.
    ///
    /// ```
    /// let cell = rcu_core::RcuCell::new(1);
    /// cell.replace(2);
    /// assert_eq!(*cell.load(), 2);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `value` is dropped
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "store", alias = "rcu_assign_pointer", alias = "set")]
    #[track_caller]
    pub fn replace(&self, value: T) {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let old = rcu_xchg_pointer(&self.ptr, Node::boxed(value));
        // SAFETY: `old` is unpublished now and owned by nobody else.
        unsafe { self.retire(old) };
    }

    /// Publishes `value`, waits for a grace period of the cell's domain (`synchronize_rcu`) and
    /// returns the old value (arc-swap's `swap`, which needs no wait because its values are
    /// `Arc`s: [`RcuArcCell::swap`](crate::RcuArcCell::swap) does not wait either).
    ///
    /// ```
    /// let cell = rcu_core::RcuCell::new(String::from("old"));
    /// assert_eq!(cell.replace_sync(String::from("new")), "old");
    /// ```
    ///
    /// # Panics
    /// Inside a read-side critical section of the cell's domain, like
    /// [`synchronize_rcu`](crate::synchronize_rcu), before anything changes.
    ///
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `value` is dropped
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(alias = "swap", alias = "rcu_replace_pointer")]
    #[track_caller]
    pub fn replace_sync(&self, value: T) -> T {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        // Check before publishing: panicking after the exchange would leave the new value
        // published and the old one owned by nobody.
        if self.domain.read_ongoing() {
            crate::gp::panic_in_section("RcuCell::replace_sync");
        }
        let old = rcu_xchg_pointer(&self.ptr, Node::boxed(value));
        self.domain.synchronize();
        // SAFETY: unpublished and a grace period has elapsed: no reader can hold it.
        let node = unsafe { Box::from_raw(old) };
        node.value
    }

    /// Replaces the value with `f(current)`, retrying if another writer got in between: the
    /// read-copy-update loop (arc-swap's `rcu`, built like it on a compare-and-swap). `f` may run
    /// several times. The old value is dropped after a grace period.
    ///
    /// ```
    /// let counter = rcu_core::RcuCell::new(0u64);
    /// counter.update(|n| n + 1);
    /// assert_eq!(*counter.read(&rcu_core::read_lock()), 1);
    /// ```
    ///
    /// # Panics
    /// In a child process after `fork()`, if the cell lives in an independent
    /// [`Domain`](crate::Domain) created before the fork (its callback thread stayed in the parent):
    /// before anything changes; the cell keeps its value and `f` is never called
    /// ([`RcuDomain::check_can_update`](crate::RcuDomain::check_can_update)).
    #[doc(
        alias = "rcu",
        alias = "compare_and_swap",
        alias = "rcu_cmpxchg_pointer"
    )]
    #[track_caller]
    pub fn update(&self, mut f: impl FnMut(&T) -> T) {
        // Fail before publishing anything (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        let guard = self.domain.read_lock();
        let old = rcu_update_pointer(
            &self.ptr,
            // SAFETY: the loop passes pointers loaded under `guard`: live until the guard drops.
            |current| Node::boxed(f(unsafe { &(*current).value })),
            // SAFETY: a node built above that was never published.
            |unpublished| drop(unsafe { Box::from_raw(unpublished) }),
        );
        drop(guard);
        // SAFETY: we unpublished `old`; it is ours to retire.
        unsafe { self.retire(old) };
    }

    /// Mutable access when no reader can exist (exclusive borrow).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes readers (they borrow the cell) and other writers.
        unsafe { &mut (*self.ptr.load(Ordering::Relaxed)).value }
    }

    /// Consumes the cell and returns the value.
    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we own the cell and its node; ManuallyDrop prevents the double free in Drop.
        let node = unsafe { Box::from_raw(this.ptr.load(Ordering::Relaxed)) };
        // SAFETY: read once and never touched again (the cell is not dropped).
        drop(unsafe { std::ptr::read(&this.domain) });
        node.value
    }

    /// Queues `old` for reclamation after a grace period of the cell's domain: a plain free
    /// through the writer's free bag (`defer_free`) when `T` has no drop glue, else a callback
    /// that drops it on the callback thread.
    ///
    /// # Safety
    /// `old` is a node leaked by `Node::boxed`, no longer published, and retired only once.
    unsafe fn retire(&self, old: *mut Node<T>) {
        if !std::mem::needs_drop::<T>() {
            // SAFETY: the node is unpublished and ours; `free_node::<T>` only deallocates it
            // (no drop glue), once, on any thread (`T: Send`).
            unsafe {
                self.domain
                    .defer_free(NonNull::new_unchecked(old).cast(), free_node::<T>)
            };
            return;
        }
        // SAFETY: the node stays allocated until `reclaim::<T>` frees it; its head is not queued
        // yet; `T: Send` lets the callback thread drop it.
        unsafe {
            self.domain
                .call_rcu1(NonNull::new_unchecked(&raw mut (*old).rcu), reclaim::<T>)
        };
    }
}

impl<T: Send + Sync + 'static, D: RcuDomain> Drop for RcuCell<T, D> {
    fn drop(&mut self) {
        // No reader can hold a reference: they borrow the cell. Retired nodes own themselves.
        // SAFETY: the current node is ours and published nowhere else.
        drop(unsafe { Box::from_raw(self.ptr.load(Ordering::Relaxed)) });
    }
}

impl<T: Send + Sync + Default + 'static> Default for RcuCell<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Send + Sync + fmt::Debug + 'static, D: RcuDomain> fmt::Debug for RcuCell<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = self.domain.read_lock();
        f.debug_tuple("RcuCell").field(self.read(&guard)).finish()
    }
}
