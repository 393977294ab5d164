//! The unsafe layer, for building RCU data structures by hand: the publication primitives
//! `rcu_dereference`, `rcu_assign_pointer` and friends, on [`AtomicPtr`], whose pointers are only
//! safe to use inside a read-side critical section; and the intrusive, allocation-free callbacks
//! ([`call_rcu1`], [`RcuHead`], [`RcuCallback`], [`container_of!`](crate::container_of)), also
//! exported at the crate root. The safe layer on top is [`RcuCell`](crate::RcuCell),
//! [`RcuArcCell`](crate::RcuArcCell) and `rcu-queue`'s containers.
//!
//! The publication primitives only choose the memory ordering; they neither dereference nor free anything. The pointer a
//! reader loads is valid while the reader stays inside the read-side critical section it loaded it
//! in, provided writers unpublish a node before reclaiming it after a grace period.
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::AtomicPtr;
//! use rcu_core::raw::{rcu_assign_pointer, rcu_dereference};
//!
//! let slot = AtomicPtr::new(std::ptr::null_mut());
//! let node = Box::into_raw(Box::new(7u32));
//! rcu_assign_pointer(&slot, node); // publish a fully initialized node
//! {
//!     let _guard = rcu_core::read_lock();
//!     let p = rcu_dereference(&slot);
//!     // SAFETY: published above and not reclaimed while we are in the section.
//!     assert_eq!(unsafe { *p }, 7);
//! }
//! rcu_assign_pointer(&slot, std::ptr::null_mut()); // unpublish
//! rcu_core::synchronize_rcu();                      // wait for readers
//! // SAFETY: unpublished and a grace period has elapsed.
//! drop(unsafe { Box::from_raw(node) });
//! ```

// The crate's atomics: loom's under `--cfg loom`, so that the loom models check the containers' own
// loads and stores.
use crate::sync::{AtomicPtr, Ordering};

pub use crate::callbacks::head::{RcuCallback, RcuHead};
pub use crate::domain::default::call_rcu1;

/// Loads an RCU-protected pointer (`rcu_dereference`, QEMU's `qatomic_rcu_read`).
///
/// Acquire: pairs with the Release store of [`rcu_assign_pointer`] (or [`rcu_xchg_pointer`]), so the
/// pointee's initialization is visible.
#[inline]
pub fn rcu_dereference<T>(p: &AtomicPtr<T>) -> *mut T {
    p.load(Ordering::Acquire)
}

/// Publishes a pointer (`rcu_assign_pointer`, QEMU's `qatomic_rcu_set`).
///
/// Release: pairs with the Acquire load of [`rcu_dereference`]. Initialize the pointee completely
/// before publishing it.
#[inline]
pub fn rcu_assign_pointer<T>(p: &AtomicPtr<T>, v: *mut T) {
    p.store(v, Ordering::Release);
}

/// Publishes `v` and returns the previous pointer (`rcu_xchg_pointer`).
///
/// AcqRel: Release pairs with readers' [`rcu_dereference`]; Acquire pairs with the previous
/// publisher's Release, so the caller may inspect the old pointee (it still must wait for a grace
/// period before reclaiming it).
#[inline]
pub fn rcu_xchg_pointer<T>(p: &AtomicPtr<T>, v: *mut T) -> *mut T {
    p.swap(v, Ordering::AcqRel)
}

/// Publishes `new` if the pointer is still `current` (`rcu_cmpxchg_pointer`); returns the value
/// found. Orderings as [`rcu_xchg_pointer`] on success, Acquire on failure.
#[inline]
pub fn rcu_cmpxchg_pointer<T>(p: &AtomicPtr<T>, current: *mut T, new: *mut T) -> *mut T {
    match p.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(v) | Err(v) => v,
    }
}

/// The read-copy-update loop of the safe cells (arc-swap's `rcu`): publishes `make(current)` in
/// place of `current` with [`rcu_cmpxchg_pointer`], and, when another writer got in between, hands
/// the unpublished attempt to `discard` and tries again on what it found. Returns the pointer it
/// unpublished. Call it inside a read-side critical section that keeps every pointer published in
/// `p` valid while `make` looks at it; the caller retires the returned pointer.
pub(crate) fn rcu_update_pointer<T>(
    p: &AtomicPtr<T>,
    mut make: impl FnMut(*mut T) -> *mut T,
    mut discard: impl FnMut(*mut T),
) -> *mut T {
    let mut current = rcu_dereference(p);
    loop {
        let new = make(current);
        let found = rcu_cmpxchg_pointer(p, current, new);
        if found == current {
            return current;
        }
        discard(new);
        current = found;
    }
}
