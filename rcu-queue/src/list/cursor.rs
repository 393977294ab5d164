//! [`CursorMut`]: a writer's position on one element of a safe list.

use super::handle::Handle;
use super::queue::RcuQueue;
use crate::family::{Family, Tailq};
use crate::node::{self, Node};
use crate::raw::Head;
use core::{fmt, marker::PhantomData, ptr::NonNull};
use rcu_core::{DefaultDomain, RcuDomain};

/// A writer's cursor on one linked element (intrusive-rs's `CursorMut`): it borrows the
/// [`ListWriter`](crate::ListWriter) mutably, so the element stays linked while the cursor lives.
///
/// Made by the writer's inserts (`push_front`, `push_back`, `insert_*`), by
/// [`find`](crate::ListWriter::find) and by [`cursor`](crate::ListWriter::cursor) from a
/// [`Handle`]. [`remove`](Self::remove) is O(1) for the doubly linked families, and for the singly
/// linked ones when the cursor knows its predecessor (it came from `find`, `push_front`,
/// `insert_after` or `move_next`); otherwise it walks the list once, like QEMU's
/// `QSLIST_REMOVE_RCU`.
///
/// # Example
///
/// ```
/// let list = rcu_queue::RcuSlist::new();
/// let mut w = list.lock();
/// let one = w.push_front(1).insert_after(3).handle();     // [1, 3]
/// w.cursor(&one).unwrap().insert_before(2);               // [1, 2, 3]
/// let c = w.find(|&v| v == 1).unwrap().move_next().unwrap();
/// assert_eq!(*c.get(), 2);
/// let removed = c.remove();                               // [1, 3]
/// assert_eq!(*removed, 2);
/// assert_eq!(w.iter().copied().collect::<Vec<_>>(), [1, 3]);
/// ```
pub struct CursorMut<'w, T: Send + Sync + 'static, F: Family = Tailq, D: RcuDomain = DefaultDomain>
{
    list: &'w RcuQueue<T, F, D>,
    node: NonNull<Node<T, F>>,
    /// The predecessor if known: `Some(None)` when `node` is first, `None` when unknown.
    prev: Option<Option<NonNull<Node<T, F>>>>,
    /// The writer's exclusive borrow.
    _writer: PhantomData<&'w mut ()>,
}

impl<'w, T: Send + Sync + 'static, F: Family, D: RcuDomain> CursorMut<'w, T, F, D> {
    /// # Safety
    ///
    /// The caller lends `list`'s writer exclusively for `'w`; `node` is linked on `list`, and `prev`,
    /// if known, is its predecessor.
    pub(crate) unsafe fn new(
        list: &'w RcuQueue<T, F, D>,
        node: NonNull<Node<T, F>>,
        prev: Option<Option<NonNull<Node<T, F>>>>,
    ) -> Self {
        CursorMut {
            list,
            node,
            prev,
            _writer: PhantomData,
        }
    }

    /// The element's value.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// assert_eq!(*list.lock().push_back(7).get(), 7);
    /// ```
    pub fn get(&self) -> &T {
        // SAFETY: the node is linked (so alive) while we hold the writer; values are only shared.
        unsafe { &self.node.as_ref().value }
    }

    /// A [`Handle`] to the element, to find it again in O(1) in a later writer session.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// let h = list.lock().push_front("sda").handle();
    /// assert_eq!(*list.lock().cursor(&h).unwrap().get(), "sda");
    /// ```
    pub fn handle(&self) -> Handle<T, F> {
        // SAFETY: the node came from `alloc` and the list's reference keeps it alive.
        unsafe { Handle::new(self.node) }
    }

    /// Moves to the next element, or returns `None` at the end (`*_NEXT_RCU`, writer side).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSimpleq::new();
    /// list.lock().push_back(1);
    /// list.lock().push_back(2);
    /// let mut w = list.lock();
    /// let c = w.find(|_| true).unwrap().move_next().unwrap();
    /// assert_eq!(*c.get(), 2);
    /// assert!(c.move_next().is_none());
    /// ```
    pub fn move_next(self) -> Option<Self> {
        // SAFETY: we are the writer and `node` is linked (R1's writer case).
        let next = unsafe { F::Head::<T>::next(self.node) }?;
        Some(CursorMut {
            prev: Some(Some(self.node)),
            node: next,
            ..self
        })
    }

    /// Links `value` right after this element (`*_INSERT_AFTER_RCU`, O(1)) and returns a cursor on it.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSlist::new();
    /// list.lock().push_front(1).insert_after(2).insert_after(3);
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn insert_after(self, value: T) -> Self {
        let new = node::alloc(value);
        // SAFETY: writer held (W1); a fresh node (W2, W3); the head never moves (W4); `self.node` is on
        // this list (W5); no `&mut` is made (W6).
        unsafe { self.list.head().insert_after(self.node, new) };
        self.list.linked(new);
        CursorMut {
            prev: Some(Some(self.node)),
            node: new,
            ..self
        }
    }

    /// Links `value` right before this element (`*_INSERT_BEFORE_RCU`) and returns a cursor on it:
    /// O(1) for [`WithPrev`](crate::family::WithPrev) families, a walk otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// list.lock().push_back(3).insert_before(2).insert_before(1);
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn insert_before(self, value: T) -> Self {
        let new = node::alloc(value);
        // SAFETY: as for `insert_after`, with `self.node` on this list (W5).
        unsafe {
            match self.prev {
                Some(Some(prev)) => self.list.head().insert_after(prev, new),
                Some(None) => self.list.head().insert_head(new),
                None => self.list.head().insert_before(self.node, new),
            }
        }
        self.list.linked(new);
        CursorMut { node: new, ..self }
    }

    /// Unlinks the element (`*_REMOVE_RCU` + `call_rcu1`) and returns a [`Handle`] to it; see
    /// [`ListWriter::remove_first`](crate::ListWriter::remove_first) for when the value is dropped.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// let mut w = list.lock();
    /// w.push_front(1);
    /// let gone = w.find(|&v| v == 1).unwrap().remove();
    /// assert_eq!(*gone, 1);
    /// assert!(w.is_empty());
    /// ```
    pub fn remove(self) -> Handle<T, F> {
        let handle = self.handle();
        // SAFETY: we are the writer, `node` is linked on this list and `prev` is its predecessor if
        // known; afterwards we only use the node through `handle`'s reference.
        unsafe { self.list.unlink(self.prev, self.node) };
        handle
    }
}

impl<T: Send + Sync + 'static + fmt::Debug, F: Family, D: RcuDomain> fmt::Debug
    for CursorMut<'_, T, F, D>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CursorMut").field(self.get()).finish()
    }
}
