//! The node of the safe lists: one allocation holding the link, an `RcuHead`, the owning list's id and
//! the value, reference-counted so that [`Handle`](crate::Handle)s can outlive their element's removal.
//!
//! The list owns one reference to each node it links. Removal hands the node to
//! `rcu_core::call_rcu1` through its embedded `RcuHead`; the callback finds the node again with
//! `container_of!` and drops the list's reference. This is QEMU's
//! `call_rcu(kid, bus_free_bus_child, rcu)`: no allocation on the removal path. The value is dropped
//! when the last reference goes: at that callback, or later when the last handle is dropped.
//!
//! When the value has no drop glue, giving up the list's reference runs no user code (a count
//! decrement, perhaps a deallocation), so removal hands the node to the writer's free bag instead
//! (`RcuDomain::defer_free`): the writer frees it itself once its grace period has elapsed, and the
//! memory goes back to the allocator cache of the thread that allocated it ([`retire_by_drop_glue`],
//! which the map uses for its nodes too). Values with drop glue stay on the callback thread.

use crate::raw::Adapter;
use crate::sync::Ordering::Relaxed;
use crate::sync::{Arc, AtomicU64};
use core::ptr::NonNull;
use rcu_core::{RcuDomain, RcuHead};
use sealed::Sealed;

/// The sealed half of [`Family`](crate::family::Family), here beside the node it names (the family
/// module implements it for each family).
pub(crate) mod sealed {
    use super::{Node, NodeAdapter};
    use crate::raw;

    /// The raw head and link behind a family; the safe list calls [`raw::Head`] on `Head<T>`
    /// directly.
    pub trait Sealed: Sized {
        type Link: raw::RcuLink + Default + Send + Sync;
        type Head<T>: raw::Head<Object = Node<T, Self>, Adapter = NodeAdapter<T, Self>>;
    }
}

/// One list element. `pub` only so the sealed family trait can name it; not reachable from outside.
pub struct Node<T, F: Sealed> {
    pub(crate) link: F::Link,
    rcu: RcuHead,
    /// Id of the list the node is linked on, 0 once unlinked (and before). Written only by that
    /// list's serialized writer (or its `Drop`), read by writers checking a handle: `Relaxed`, since a
    /// node is only ever linked on one list, so another list's writer can only read 0 or that list's
    /// id, never its own.
    owner: AtomicU64,
    pub(crate) value: T,
}

impl<T, F: Sealed> Node<T, F> {
    /// Whether the node is linked on the list with id `list`. Exact for that list's writer.
    pub(crate) fn linked_on(&self, list: u64) -> bool {
        self.owner.load(Relaxed) == list
    }

    /// Records that the node was linked on (`list`) or unlinked from (0) a list.
    pub(crate) fn set_owner(&self, list: u64) {
        self.owner.store(list, Relaxed);
    }
}

/// Maps a [`Node`] to its link, so the safe lists reuse the raw heads unchanged.
pub struct NodeAdapter<T, F>(core::marker::PhantomData<fn() -> (T, F)>);

// SAFETY: the offset is computed by `offset_of!` on the `link` field, whose type is `F::Link`.
unsafe impl<T, F: Sealed> Adapter for NodeAdapter<T, F> {
    type Object = Node<T, F>;
    type Link = F::Link;
    const LINK_OFFSET: usize = core::mem::offset_of!(Node<T, F>, link);
}

impl<T, F: Sealed> core::fmt::Debug for Node<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}

impl<T, F> core::fmt::Debug for NodeAdapter<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NodeAdapter")
    }
}

/// Allocates an unlinked node holding `value`; the returned pointer owns one reference.
pub(crate) fn alloc<T, F: Sealed>(value: T) -> NonNull<Node<T, F>> {
    let node = Arc::new(Node {
        link: F::Link::default(),
        rcu: RcuHead::new(),
        owner: AtomicU64::new(0),
        value,
    });
    // SAFETY: `Arc::into_raw` never returns null.
    unsafe { NonNull::new_unchecked(Arc::into_raw(node).cast_mut()) }
}

/// Takes one more reference to `node` (for a handle).
///
/// # Safety
///
/// `node` came from [`alloc`] and the caller holds a reference to it for the duration of the call.
pub(crate) unsafe fn acquire<T, F: Sealed>(node: NonNull<Node<T, F>>) {
    // SAFETY: `node` is an `Arc` pointer with a live reference (contract).
    unsafe { Arc::increment_strong_count(node.as_ptr()) };
}

/// Drops one reference to `node`; the last one drops the value and frees the node.
///
/// # Safety
///
/// `node` came from [`alloc`], the caller owns the reference it gives up, and if that may be the
/// last one, no reader can still reach the node (it was unlinked a grace period ago, or never linked).
pub(crate) unsafe fn release<T, F: Sealed>(node: NonNull<Node<T, F>>) {
    // SAFETY: by the contract, one reference is ours to give up.
    drop(unsafe { Arc::from_raw(node.as_ptr()) });
}

/// Queues the list's reference to `node` for release after a grace period of `domain`. When `T` has
/// no drop glue that release runs no user code (a count decrement, perhaps a deallocation), so it goes
/// through the calling thread's free bag (`defer_free`: freed by this thread once the grace period
/// has elapsed); otherwise through the node's `RcuHead` (`call_rcu1`), and if it is the last
/// reference, the value is dropped on that domain's callback thread ([`retire_by_drop_glue`]).
///
/// # Safety
///
/// 1. `node` came from [`alloc`] and has been unlinked (or its list is being dropped, so no new reader
///    can reach it); the list's reference is the one being given up.
/// 2. `node` is retired only once, and the caller does not touch it afterwards through the list's
///    reference (it may be freed as soon as a grace period elapses, even while this function returns).
pub(crate) unsafe fn retire<T: Send + Sync + 'static, F: Sealed, D: RcuDomain>(
    node: NonNull<Node<T, F>>,
    domain: &D,
) {
    let on_callback_thread = || {
        // SAFETY: `node` is live (1); `&raw mut` keeps the node's provenance for `container_of!`.
        let rcu = unsafe { NonNull::new_unchecked(&raw mut (*node.as_ptr()).rcu) };
        // SAFETY: the node stays allocated and unmoved until `reclaim` runs (the list's reference
        // keeps it), and its head is queued once (2).
        unsafe { domain.call_rcu1(rcu, reclaim::<T, F>) };
    };
    // SAFETY: (for `defer_free`) the node is unlinked (1) and its list's reference is handed over
    // once (2); `free_deferred::<T, F>` gives up only that reference, once, and runs no user code
    // when `T` has no drop glue (a count decrement, perhaps a deallocation), on any thread (`T` is
    // `Send + Sync`, as for the handles that already move references between threads).
    unsafe {
        retire_by_drop_glue::<T, D>(
            domain,
            node.cast(),
            free_deferred::<T, F>,
            on_callback_thread,
        )
    };
}

/// Where the safe lists and the map retire what they unlinked, decided by drop glue alone: when
/// `V` (what the release drops) has none, the release runs no user code, so `(ptr, free)` goes to
/// the calling thread's free bag ([`RcuDomain::defer_free`]: freed by this thread a grace period
/// later, back into its allocator cache, or by the callback thread under
/// [`Reclaim::CallbackThread`](rcu_core::Reclaim::CallbackThread)); otherwise `on_callback_thread`
/// queues a callback (`call_rcu` / `call_rcu1`), so a user's `Drop` runs only on the domain's
/// callback thread, never on a writer.
///
/// # Safety
///
/// When `V` has no drop glue, `(ptr, free)` meets the contract of [`RcuDomain::defer_free`] (`free`
/// drops nothing of the user's).
pub(crate) unsafe fn retire_by_drop_glue<V, D: RcuDomain>(
    domain: &D,
    ptr: NonNull<u8>,
    free: unsafe fn(NonNull<u8>),
    on_callback_thread: impl FnOnce(),
) {
    if core::mem::needs_drop::<V>() {
        on_callback_thread();
    } else {
        // SAFETY: the caller's contract.
        unsafe { domain.defer_free(ptr, free) };
    }
}

/// The `call_rcu1` callback: recovers the node and drops the list's reference.
///
/// # Safety
///
/// `head` is the `rcu` field of a node retired by [`retire`], and a grace period has elapsed.
unsafe fn reclaim<T: Send + 'static, F: Sealed>(head: NonNull<RcuHead>) {
    let node: *mut Node<T, F> = rcu_core::container_of!(head, Node<T, F>, rcu);
    // SAFETY: forwarded contract.
    unsafe { release_retired::<T, F>(node) };
}

/// The `defer_free` function of a node whose `T` has no drop glue ([`retire`]).
///
/// # Safety
///
/// `ptr` is a node retired by [`retire`] through `defer_free`, and a grace period has elapsed.
unsafe fn free_deferred<T: Send + 'static, F: Sealed>(ptr: NonNull<u8>) {
    // SAFETY: forwarded contract.
    unsafe { release_retired::<T, F>(ptr.cast().as_ptr()) };
}

/// Gives up the list's reference to a retired node, a grace period after [`retire`] (from its
/// callback or its free bag), or hands it to the negative controls' detours in test builds.
///
/// # Safety
///
/// `node` was retired by [`retire`], a grace period ago, and this is its only release by `retire`.
unsafe fn release_retired<T: Send + 'static, F: Sealed>(node: *mut Node<T, F>) {
    #[cfg(rcu_broken_gp)]
    if let Some(divert) = DIVERT.get() {
        // SAFETY: the node is retired and unlinked, still allocated, and `free::<T, F>` matches its
        // type; readers may still hold `&T`, so only a shared reference to the value is passed.
        // Test builds only: the quarantine takes its own leaf locks, which no RCU call nests in.
        if unsafe { divert(node.cast(), &(*node).value, free::<T, F>) } {
            return;
        }
    }
    #[cfg(all(rcu_broken_gp, loom))]
    if rcu_core::testing::broken() {
        // The loom negative controls (no quarantine under loom): with grace periods switched off a
        // reader may still be on the node. Drop the value (the write the models observe) and leak
        // the node, so the broken run is caught without a real use-after-free.
        // SAFETY: test builds only; the value is dropped once and the node is never freed.
        unsafe { core::ptr::drop_in_place(&raw mut (*node).value) };
        return;
    }
    // SAFETY: the list's reference, given up after the grace period: no reader can still hold a
    // reference into the node.
    unsafe { free::<T, F>(node.cast()) };
}

/// Drops the list's reference to a node of this type.
///
/// # Safety
///
/// As for [`release`], with `node` a `*mut Node<T, F>` cast to bytes.
unsafe fn free<T, F: Sealed>(node: *mut u8) {
    // SAFETY: forwarded; `node` is non-null (it came from `alloc`).
    unsafe { release(NonNull::new_unchecked(node.cast::<Node<T, F>>())) };
}

/// A reclamation detour for test builds: receives the (type-erased) node, its value and the
/// function that drops the list's reference; returns true if it took over that reference.
#[cfg(rcu_broken_gp)]
pub(crate) type Divert = unsafe fn(*mut u8, &dyn core::any::Any, unsafe fn(*mut u8)) -> bool;

/// Installed by `crate::testing` (only under `--cfg rcu_broken_gp`); normal builds have no detour.
#[cfg(rcu_broken_gp)]
pub(crate) static DIVERT: std::sync::OnceLock<Divert> = std::sync::OnceLock::new();
