//! The node of the safe lists: one allocation holding the link, an `RcuHead` and the value.
//!
//! Removal hands the node to `rcu_core::call_rcu1` through its embedded `RcuHead`; the callback finds
//! the node again with `container_of!` and frees it. This is QEMU's
//! `call_rcu(kid, bus_free_bus_child, rcu)`: no allocation on the removal path.

use crate::family::sealed::FamilyOps;
use crate::raw::Adapter;
use core::ptr::NonNull;
use rcu_core::RcuHead;

/// One list element. `pub` only so the sealed family trait can name it; not reachable from outside.
pub struct Node<T, F: FamilyOps> {
    pub(crate) link: F::Link,
    rcu: RcuHead,
    pub(crate) value: T,
}

/// Maps a [`Node`] to its link, so the safe lists reuse the raw heads unchanged.
pub struct NodeAdapter<T, F>(core::marker::PhantomData<fn() -> (T, F)>);

// SAFETY: the offset is computed by `offset_of!` on the `link` field, whose type is `F::Link`.
unsafe impl<T, F: FamilyOps> Adapter for NodeAdapter<T, F> {
    type Object = Node<T, F>;
    type Link = F::Link;
    const LINK_OFFSET: usize = core::mem::offset_of!(Node<T, F>, link);
}

impl<T, F: FamilyOps> core::fmt::Debug for Node<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}

impl<T, F> core::fmt::Debug for NodeAdapter<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NodeAdapter")
    }
}

/// Allocates an unlinked node holding `value`.
pub(crate) fn alloc<T, F: FamilyOps>(value: T) -> NonNull<Node<T, F>> {
    let node = Box::new(Node {
        link: F::new_link(),
        rcu: RcuHead::new(),
        value,
    });
    // SAFETY: `Box::into_raw` never returns null.
    unsafe { NonNull::new_unchecked(Box::into_raw(node)) }
}

/// Queues `node` for reclamation after a grace period (`call_rcu1`); its value is dropped on
/// rcu-core's callback thread.
///
/// # Safety
///
/// 1. `node` came from [`alloc`] and has been unlinked (or its list is being dropped, so no new reader
///    can reach it).
/// 2. `node` is retired only once, and the caller does not touch it afterwards (it may be freed as soon
///    as a grace period elapses, even while this function returns).
pub(crate) unsafe fn retire<T: Send + 'static, F: FamilyOps>(node: NonNull<Node<T, F>>) {
    // SAFETY: `node` is live (1); `&raw mut` keeps the node's provenance for `container_of!`.
    let rcu = unsafe { NonNull::new_unchecked(&raw mut (*node.as_ptr()).rcu) };
    // SAFETY: the node stays allocated and unmoved until `reclaim` runs (it is leaked from its Box and
    // only `reclaim` frees it), and its head is queued once (2).
    unsafe { rcu_core::call_rcu1(rcu, reclaim::<T, F>) };
}

/// The `call_rcu1` callback: recovers the node and frees it (dropping the value).
///
/// # Safety
///
/// `head` is the `rcu` field of a node retired by [`retire`], and a grace period has elapsed.
unsafe fn reclaim<T: Send + 'static, F: FamilyOps>(head: NonNull<RcuHead>) {
    let node: *mut Node<T, F> = rcu_core::container_of!(head, Node<T, F>, rcu);
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = DIVERT.get() {
        // SAFETY: the node is retired and unlinked, still allocated, and `free::<T, F>` matches its
        // type; readers may still hold `&T`, so only a shared reference to the value is passed.
        if unsafe { divert(node.cast(), &(*node).value, free::<T, F>) } {
            return;
        }
    }
    // SAFETY: the node came from `alloc` with this type, and after the grace period no reader can
    // still hold a reference into it.
    unsafe { free::<T, F>(node.cast()) };
}

/// Frees a node of this type (dropping its value).
///
/// # Safety
///
/// `node` came from [`alloc::<T, F>`](alloc) (`Box::into_raw`), is not linked, and nothing refers to
/// it any more.
unsafe fn free<T, F: FamilyOps>(node: *mut u8) {
    // SAFETY: by the contract, `node` is an unreferenced `Box<Node<T, F>>` leaked by `alloc`.
    drop(unsafe { Box::from_raw(node.cast::<Node<T, F>>()) });
}

/// A reclamation detour for test builds: receives the (type-erased) node, its value and the
/// function that frees it; returns true if it took ownership of the node.
#[cfg(rcu_broken_gp)]
pub(crate) type Divert = unsafe fn(*mut u8, &dyn core::any::Any, unsafe fn(*mut u8)) -> bool;

/// Installed by `crate::testing` (only under `--cfg rcu_broken_gp`); normal builds have no detour.
#[cfg(rcu_broken_gp)]
pub(crate) static DIVERT: std::sync::OnceLock<Divert> = std::sync::OnceLock::new();
