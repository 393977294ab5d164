//! [`Handle`]: a counted reference to one element of a safe list, kept by its owner for O(1)
//! removal later (the `BusChild *` that QEMU's `bus_remove_child` unlinks with `QTAILQ_REMOVE_RCU`).

use crate::family::{Family, Tailq};
use crate::node::{self, Node};
use core::{fmt, ops::Deref, ptr::NonNull};

/// A counted reference to one list element: reads its value at any time and, given the list's
/// writer, finds the element again in O(1) with [`ListWriter::cursor`](crate::ListWriter::cursor).
///
/// Get one from a [`CursorMut`](crate::CursorMut) ([`handle`](crate::CursorMut::handle), e.g. right
/// after `push_back`), or from [`remove_first`](crate::ListWriter::remove_first) /
/// [`CursorMut::remove`](crate::CursorMut::remove), which hand back the removed element.
///
/// **Soundness.** A handle keeps its element's memory alive (the node is reference-counted; the
/// list's own reference is released only by the `call_rcu1` callback after removal), so a handle
/// never dangles, whatever happens to the list. It gives only `&T`, like a reader, so the value is
/// never mutated under readers. It grants no writer access by itself: every list operation needs the
/// list's writer, whose `cursor` checks, under that writer's lock, that the element is still linked
/// on *that* list (each node records the id of the list it is linked on, cleared on removal and when
/// the list is dropped). A stale handle (element removed, list dropped, or another list's element)
/// thus yields `None`, never a use-after-free or a corrupted list.
///
/// **Drop.** The value is dropped when the grace period after its removal has elapsed and every
/// handle to it is gone; with live handles that is when the last one is dropped, on that thread. A
/// handle stored inside the value it refers to (directly or through an `Arc` cycle) keeps it alive
/// forever: take handles out (`Option::take`) when you remove the element.
///
/// # Example: O(1) `bus_remove_child`
///
/// ```
/// use rcu_queue::{Handle, RcuTailq};
///
/// struct BusChild { index: u32 }
/// let children = RcuTailq::new();
/// // bus_add_child: keep the handle with the device.
/// let kid: Handle<BusChild> = children.lock().push_front(BusChild { index: 0 }).handle();
/// children.lock().push_front(BusChild { index: 1 });
///
/// // bus_remove_child: no scan, no pointer comparison.
/// let mut w = children.lock();
/// let removed = w.cursor(&kid).map(|c| c.remove());
/// assert_eq!(removed.map(|h| h.index), Some(0));
/// assert!(w.cursor(&kid).is_none(), "already unplugged");
/// assert_eq!(kid.index, 0); // the value stays readable through the handle
/// ```
pub struct Handle<T: Send + Sync + 'static, F: Family = Tailq> {
    node: NonNull<Node<T, F>>,
}

// SAFETY: a handle gives `&T` on any thread (`T: Sync`) and may drop the value on its thread
// (`T: Send`); the node's other fields are atomics or written only by the list's writer.
unsafe impl<T: Send + Sync + 'static, F: Family> Send for Handle<T, F> {}
// SAFETY: as above; `&Handle` only gives `&T`.
unsafe impl<T: Send + Sync + 'static, F: Family> Sync for Handle<T, F> {}

impl<T: Send + Sync + 'static, F: Family> Handle<T, F> {
    /// A new handle to `node`.
    ///
    /// # Safety
    ///
    /// `node` came from `node::alloc` and is kept alive by a reference for the duration of the call.
    pub(crate) unsafe fn new(node: NonNull<Node<T, F>>) -> Self {
        // SAFETY: forwarded.
        unsafe { node::acquire(node) };
        Handle { node }
    }

    pub(crate) fn node(&self) -> NonNull<Node<T, F>> {
        self.node
    }
}

impl<T: Send + Sync + 'static, F: Family> Deref for Handle<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: our reference keeps the node alive; values are only ever shared (list invariant 6).
        unsafe { &self.node.as_ref().value }
    }
}

impl<T: Send + Sync + 'static, F: Family> Clone for Handle<T, F> {
    fn clone(&self) -> Self {
        // SAFETY: our reference keeps the node alive during the call.
        unsafe { Handle::new(self.node) }
    }
}

impl<T: Send + Sync + 'static, F: Family> Drop for Handle<T, F> {
    fn drop(&mut self) {
        // SAFETY: we give up our own reference. While the node is linked, or within the grace period
        // after its removal, the list still holds its reference, so ours is the last one only after
        // that grace period, when no reader can reach the node.
        unsafe { node::release(self.node) };
    }
}

impl<T: Send + Sync + 'static + fmt::Debug, F: Family> fmt::Debug for Handle<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&**self).finish()
    }
}
