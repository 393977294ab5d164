//! [`ListWriter`]: exclusive writer access to one list, how to get one ([`RcuQueue::lock`],
//! [`RcuQueue::writer`]), every mutation, and the std-style `Extend` / `FromIterator`.

use super::cursor::CursorMut;
use super::handle::Handle;
use super::iter::Iter;
use super::queue::{RcuQueue, Serializer};
use crate::family::{Family, Tailq};
use crate::lock::WriterGuard;
use crate::node::{self, Node, NodeAdapter};
use crate::raw::{self, Head};
use crate::sync::Ordering::Relaxed;
use core::{fmt, marker::PhantomData, ptr::NonNull};
use rcu_core::{DefaultDomain, RcuDomain};

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> RcuQueue<T, F, D> {
    /// Locks the list's own writer lock and returns a writer.
    ///
    /// # Panics
    ///
    /// If the list was created with [`with_external_lock`](Self::with_external_lock) (use
    /// [`writer`](Self::writer) with that lock's guard), if this thread already holds this list's
    /// writer (that would deadlock), or for a list of an independent [`Domain`](rcu_core::Domain)
    /// created before `fork()`, in the child process (nothing is changed: its removals could never
    /// be reclaimed there; see [`RcuDomain::check_can_update`]).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// let mut w = list.lock();
    /// w.push_back(1);
    /// assert_eq!(w.len(), 1);
    /// ```
    #[track_caller]
    pub fn lock(&self) -> ListWriter<'_, T, F, D> {
        // Every mutation goes through a `ListWriter`: fail here, before anything changes, if it
        // could not complete (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        match &self.serializer {
            Serializer::Own(lock) => ListWriter {
                list: self,
                _own: Some(lock.lock()),
                _exclusive: PhantomData,
            },
            Serializer::External(_) => panic!(
                "rcu_queue: {}::lock() called on a list created with with_external_lock(); lock that \
                 WriterLock and call list.writer(&mut guard) instead",
                F::NAME
            ),
        }
    }

    /// A writer for a list created with [`with_external_lock`](Self::with_external_lock), authorized by
    /// a guard of that lock. Borrowing the guard mutably means one writer at a time per guard.
    ///
    /// # Panics
    ///
    /// If `guard` is not a guard of the lock this list was created with (including lists that carry
    /// their own lock: use [`lock`](Self::lock) for those), or as [`lock`](Self::lock) in a fork
    /// child.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::{RcuList, WriterLock};
    /// let bql = WriterLock::new(());
    /// let a = RcuList::with_external_lock(&bql);
    /// let b = RcuList::with_external_lock(&bql);
    /// let mut guard = bql.lock();
    /// a.writer(&mut guard).push_front(1);
    /// b.writer(&mut guard).push_front(2);
    /// ```
    #[track_caller]
    pub fn writer<'a, S>(&'a self, guard: &'a mut WriterGuard<'_, S>) -> ListWriter<'a, T, F, D> {
        // As in `lock`.
        self.domain.check_can_update();
        match self.serializer {
            Serializer::External(id) if id == guard.lock_id() => ListWriter {
                list: self,
                _own: None,
                _exclusive: PhantomData,
            },
            Serializer::External(_) => panic!(
                "rcu_queue: {}::writer() was given a guard of a different WriterLock than the one \
                 passed to with_external_lock(); lock the list's own external lock",
                F::NAME
            ),
            Serializer::Own(_) => panic!(
                "rcu_queue: {}::writer() called on a list that carries its own lock (created with \
                 new()); use list.lock() instead",
                F::NAME
            ),
        }
    }

    /// A writer for `&mut self`: the exclusive borrow already keeps every other writer (and reader)
    /// out, so no lock is taken, whether the list has its own lock or an external one.
    #[track_caller]
    fn exclusive_writer(&mut self) -> ListWriter<'_, T, F, D> {
        // As in `lock`: fail before anything changes (a parent's `Domain` in a fork child).
        self.domain.check_can_update();
        ListWriter {
            list: self,
            _own: None,
            _exclusive: PhantomData,
        }
    }
}

/// Exclusive writer access to one list; every mutation goes through it. Obtained from
/// [`RcuQueue::lock`] or [`RcuQueue::writer`]; dropping it releases the list's own lock (an external
/// lock stays held by its guard).
///
/// Insertions publish the new element with a single `Release` store; removals unlink at once and drop
/// the value after a grace period, on rcu-core's callback thread (a value without drop glue is freed
/// by the writer itself, through its free bag: [`rcu_core::defer_free`]).
///
/// # Example
///
/// ```
/// let list = rcu_queue::RcuTailq::new();
/// let mut w = list.lock();
/// w.push_back(2);
/// w.push_front(1);
/// w.insert_after(|&v| v == 2, 4).unwrap();
/// w.insert_before(|&v| v == 4, 3).unwrap();
/// w.retain(|&v| v != 1);
/// assert_eq!(w.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
/// ```
pub struct ListWriter<'a, T: Send + Sync + 'static, F: Family = Tailq, D: RcuDomain = DefaultDomain>
{
    list: &'a RcuQueue<T, F, D>,
    _own: Option<WriterGuard<'a, ()>>,
    /// Holds the external guard's `&mut` borrow (one writer per guard at a time).
    _exclusive: PhantomData<&'a mut ()>,
}

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> ListWriter<'_, T, F, D> {
    fn head(&self) -> &F::Head<T> {
        self.list.head()
    }

    fn raw_iter(&self) -> raw::Iter<'_, NodeAdapter<T, F>> {
        // SAFETY: we hold the writer lock (invariant 2), so every node reached is linked and alive
        // while `self` is borrowed.
        unsafe { self.head().iter() }
    }

    /// A cursor on `node`, which is linked on this list; `prev` is its predecessor if known.
    pub(crate) fn cursor_at(
        &mut self,
        node: NonNull<Node<T, F>>,
        prev: Option<Option<NonNull<Node<T, F>>>>,
    ) -> CursorMut<'_, T, F, D> {
        // SAFETY: `node` is linked on this list and we lend the writer's exclusivity to the cursor.
        unsafe { CursorMut::new(self.list, node, prev) }
    }

    /// Inserts `value` first (`*_INSERT_HEAD_RCU`) and returns a cursor on it (keep a
    /// [`Handle`] with [`CursorMut::handle`]).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSlist::new();
    /// list.lock().push_front(1);
    /// let zero = list.lock().push_front(0).handle();
    /// assert_eq!(*zero, 0);
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [0, 1]);
    /// ```
    #[doc(
        alias = "QTAILQ_INSERT_HEAD_RCU",
        alias = "QLIST_INSERT_HEAD_RCU",
        alias = "QSIMPLEQ_INSERT_HEAD_RCU",
        alias = "QSLIST_INSERT_HEAD_RCU"
    )]
    pub fn push_front(&mut self, value: T) -> CursorMut<'_, T, F, D> {
        let node = node::alloc(value);
        // SAFETY: writer lock held (W1); a fresh node (W2, W3); the head never moves (W4).
        unsafe { self.head().insert_head(node) };
        self.list.linked(node);
        self.cursor_at(node, Some(None))
    }

    /// Inserts `value` last (`QTAILQ_INSERT_TAIL_RCU` / `QSIMPLEQ_INSERT_TAIL_RCU`) and returns a cursor
    /// on it: O(1) for [`WithTail`](crate::family::WithTail) families, a walk for QLIST and QSLIST.
    ///
    /// # Example
    ///
    /// ```
    /// let q = rcu_queue::RcuTailq::new();
    /// q.lock().push_back(1);
    /// q.lock().push_back(2);
    /// assert_eq!(q.lock().iter().copied().collect::<Vec<_>>(), [1, 2]);
    /// ```
    #[doc(alias = "QTAILQ_INSERT_TAIL_RCU", alias = "QSIMPLEQ_INSERT_TAIL_RCU")]
    pub fn push_back(&mut self, value: T) -> CursorMut<'_, T, F, D> {
        let node = node::alloc(value);
        // SAFETY: writer lock held (W1); a fresh node (W2, W3); the head never moves (W4).
        unsafe { self.head().insert_tail(node) };
        self.list.linked(node);
        self.cursor_at(node, None)
    }

    /// A cursor on the first element matching `pred` (a writer-side search, O(n)).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSimpleq::new();
    /// for i in 0..4 { list.lock().push_back(i); }
    /// let mut w = list.lock();
    /// let two = w.find(|&v| v == 2).unwrap().handle();
    /// assert!(w.find(|&v| v == 9).is_none());
    /// w.cursor(&two).unwrap().remove();
    /// assert_eq!(w.iter().copied().collect::<Vec<_>>(), [0, 1, 3]);
    /// ```
    pub fn find(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<CursorMut<'_, T, F, D>> {
        let mut prev = None;
        let node = self.raw_iter().find(|node| {
            // SAFETY: nodes yielded by `raw_iter` are alive while `self` is borrowed.
            let hit = pred(unsafe { &node.as_ref().value });
            if !hit {
                prev = Some(*node);
            }
            hit
        })?;
        Some(self.cursor_at(node, Some(prev)))
    }

    /// A cursor on the element `handle` refers to, in O(1) (intrusive-rs's `cursor_mut_from_ptr`), or
    /// `None` if that element is no longer (or never was) on this list.
    ///
    /// # Example
    ///
    /// ```
    /// let (a, b) = (rcu_queue::RcuTailq::new(), rcu_queue::RcuTailq::new());
    /// let h = a.lock().push_back(1).handle();
    /// assert!(b.lock().cursor(&h).is_none()); // another list's element
    /// a.lock().cursor(&h).unwrap().remove();
    /// assert!(a.lock().cursor(&h).is_none()); // removed: the handle still reads the value
    /// assert_eq!(*h, 1);
    /// ```
    pub fn cursor(&mut self, handle: &Handle<T, F>) -> Option<CursorMut<'_, T, F, D>> {
        let node = handle.node();
        // SAFETY: the handle holds a reference, so the node is allocated; `owner` equals our id only
        // while it is linked on this list, which only we (the writer) can change (invariant 5).
        if !unsafe { node.as_ref() }.linked_on(self.list.id()) {
            return None;
        }
        Some(self.cursor_at(node, None))
    }

    /// Inserts `value` right after the first element matching `pred` (`*_INSERT_AFTER_RCU`) and
    /// returns a cursor on it, or gives `value` back if none matches.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// assert_eq!(list.lock().insert_after(|_| true, 1).err(), Some(1)); // empty: nothing matches
    /// list.lock().push_front(0);
    /// assert!(list.lock().insert_after(|&v| v == 0, 1).is_ok());
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [0, 1]);
    /// ```
    #[doc(
        alias = "QTAILQ_INSERT_AFTER_RCU",
        alias = "QLIST_INSERT_AFTER_RCU",
        alias = "QSIMPLEQ_INSERT_AFTER_RCU",
        alias = "QSLIST_INSERT_AFTER_RCU"
    )]
    pub fn insert_after(
        &mut self,
        pred: impl FnMut(&T) -> bool,
        value: T,
    ) -> Result<CursorMut<'_, T, F, D>, T> {
        match self.find(pred) {
            Some(at) => Ok(at.insert_after(value)),
            None => Err(value),
        }
    }

    /// Inserts `value` right before the first element matching `pred` (`QTAILQ_INSERT_BEFORE_RCU` /
    /// `QLIST_INSERT_BEFORE_RCU`) and returns a cursor on it, or gives `value` back if none matches.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// list.lock().push_back(2);
    /// assert!(list.lock().insert_before(|&v| v == 2, 1).is_ok());
    /// assert_eq!(list.lock().insert_before(|&v| v == 9, 0).err(), Some(0));
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [1, 2]);
    /// ```
    #[doc(alias = "QTAILQ_INSERT_BEFORE_RCU", alias = "QLIST_INSERT_BEFORE_RCU")]
    pub fn insert_before(
        &mut self,
        pred: impl FnMut(&T) -> bool,
        value: T,
    ) -> Result<CursorMut<'_, T, F, D>, T> {
        match self.find(pred) {
            Some(at) => Ok(at.insert_before(value)),
            None => Err(value),
        }
    }

    /// Unlinks the first element matching `pred` (`*_REMOVE_RCU` + `call_rcu1`) and returns a
    /// [`Handle`] to it, or `None` if nothing matched.
    ///
    /// The handle still reads the removed value; the value is dropped once a grace period has
    /// elapsed **and** the handle (with its clones) is gone: on rcu-core's callback thread if you drop
    /// the handle at once, as `let _ = ...` or `.is_some()` do (by this writer thread, from its free
    /// bag, when `T` has no drop glue). Readers already standing on the
    /// element keep a valid reference and walk on into the list.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// list.lock().push_back(String::from("scsi-hd0"));
    /// let gone = list.lock().remove_first(|v| v.starts_with("scsi")).unwrap();
    /// assert_eq!(*gone, "scsi-hd0"); // e.g. send DEVICE_DELETED with its id
    /// assert!(list.lock().remove_first(|v| v.starts_with("scsi")).is_none());
    /// ```
    #[doc(
        alias = "QTAILQ_REMOVE_RCU",
        alias = "QLIST_REMOVE_RCU",
        alias = "QSIMPLEQ_REMOVE_RCU",
        alias = "QSLIST_REMOVE_RCU"
    )]
    pub fn remove_first(&mut self, pred: impl FnMut(&T) -> bool) -> Option<Handle<T, F>> {
        self.find(pred).map(CursorMut::remove)
    }

    /// Keeps only the elements for which `pred` returns true (`*_FOREACH_SAFE_RCU` + `*_REMOVE_RCU`);
    /// the others are dropped after a grace period (or when their last handle goes).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSimpleq::new();
    /// for i in 0..6 { list.lock().push_back(i); }
    /// list.lock().retain(|&v| v % 2 == 0);
    /// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [0, 2, 4]);
    /// ```
    #[doc(
        alias = "QTAILQ_FOREACH_SAFE_RCU",
        alias = "QLIST_FOREACH_SAFE_RCU",
        alias = "QSIMPLEQ_FOREACH_SAFE_RCU",
        alias = "QSLIST_FOREACH_SAFE_RCU"
    )]
    pub fn retain(&mut self, mut pred: impl FnMut(&T) -> bool) {
        let mut prev = None;
        // SAFETY: writer lock held; `iter_safe` loads each successor before yielding, so retiring the
        // yielded node (which may then be freed at any time) does not affect the walk.
        for node in unsafe { self.head().iter_safe() } {
            // SAFETY: `node` is linked and alive: only we unlink, and we have not retired it yet.
            if pred(unsafe { &node.as_ref().value }) {
                prev = Some(node);
            } else {
                // SAFETY: `node` is on the list; `prev` is the last node we kept, its predecessor.
                unsafe { self.list.unlink(Some(prev), node) };
            }
        }
    }

    /// Removes every element (each dropped after a grace period, or when its last handle goes).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// list.lock().push_front(1);
    /// list.lock().clear();
    /// assert!(list.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.retain(|_| false);
    }

    /// Number of elements (kept by the writers, O(1)).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSlist::new();
    /// list.lock().push_front(());
    /// assert_eq!(list.lock().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.list.len.load(Relaxed)
    }

    /// Whether the list is empty (exact for the writer).
    ///
    /// # Example
    ///
    /// ```
    /// assert!(rcu_queue::RcuTailq::<u8>::new().lock().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The writer's view, front to back; no read guard needed while the writer lock is held.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::new();
    /// let mut w = list.lock();
    /// w.push_back('x');
    /// assert_eq!(w.iter().next(), Some(&'x'));
    /// ```
    pub fn iter(&self) -> Iter<'_, T, F> {
        Iter::new(self.raw_iter())
    }
}

impl<T: Send + Sync + 'static + fmt::Debug, F: Family, D: RcuDomain> fmt::Debug
    for ListWriter<'_, T, F, D>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// std-style conveniences (`LinkedList`, `HashSet`, `Vec`) on top of the QEMU-named operations.
impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> ListWriter<'_, T, F, D> {
    /// Removes the element `handle` refers to and returns whether it was on this list: `false` if it
    /// was already removed, or belongs to another list (`QTAILQ_REMOVE_RCU` + `call_rcu1`; the
    /// shorthand of `self.cursor(handle).map(CursorMut::remove)`).
    ///
    /// O(1) for the doubly linked families ([`WithPrev`](crate::family::WithPrev)); a walk to find
    /// the predecessor for QSIMPLEQ and QSLIST. The value is dropped after a grace period once
    /// `handle` and its clones are gone, as with [`remove_first`](Self::remove_first).
    ///
    /// # Example
    ///
    /// ```
    /// let connections = rcu_queue::RcuTailq::new();
    /// let conn = connections.lock().push_back("10.0.0.7:443").handle();
    /// assert!(connections.lock().remove(&conn));
    /// assert!(!connections.lock().remove(&conn)); // already gone
    /// assert!(connections.is_empty());
    /// ```
    #[doc(alias = "QTAILQ_REMOVE_RCU", alias = "QLIST_REMOVE_RCU")]
    pub fn remove(&mut self, handle: &Handle<T, F>) -> bool {
        self.cursor(handle).map(CursorMut::remove).is_some()
    }

    /// Unlinks the first element in O(1) and returns a [`Handle`] to it (std's
    /// `LinkedList::pop_front`, except that the value cannot be moved out: readers may still be
    /// looking at it; it is dropped after a grace period once the handle is gone).
    ///
    /// # Example
    ///
    /// ```
    /// let queue = rcu_queue::RcuSimpleq::new();
    /// queue.lock().extend(["a", "b"]);
    /// assert_eq!(queue.lock().pop_front().as_deref(), Some(&"a"));
    /// assert_eq!(queue.lock().pop_front().as_deref(), Some(&"b"));
    /// assert!(queue.lock().pop_front().is_none());
    /// ```
    #[doc(alias = "QSIMPLEQ_REMOVE_HEAD_RCU", alias = "QSLIST_REMOVE_HEAD_RCU")]
    pub fn pop_front(&mut self) -> Option<Handle<T, F>> {
        self.remove_first(|_| true)
    }

    /// Whether an element equals `value` (writer side, O(n)).
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// list.lock().push_front(3);
    /// assert!(list.lock().contains(&3));
    /// assert!(!list.lock().contains(&4));
    /// ```
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialEq,
    {
        self.iter().any(|v| v == value)
    }
}

/// Appends in order (`Vec::extend`): one [`push_back`](ListWriter::push_back), then an O(1)
/// insertion after the previous element for each further one, so it is O(n) for every family.
///
/// ```
/// let list = rcu_queue::RcuSlist::new();
/// let mut w = list.lock();
/// w.extend([1, 2]);
/// w.extend(vec![3, 4]);
/// assert_eq!(w.iter().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
/// ```
impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> Extend<T> for ListWriter<'_, T, F, D> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mut iter = iter.into_iter();
        let Some(first) = iter.next() else { return };
        let mut last = self.push_back(first);
        for value in iter {
            last = last.insert_after(value);
        }
    }
}

/// Appends in order, like [`ListWriter`]'s `extend`, with no lock to take (`&mut self`), for lists
/// with their own lock or an external one. Panics as [`RcuQueue::lock`] does in a fork child.
///
/// ```
/// let mut list = rcu_queue::RcuTailq::new();
/// list.extend(["a", "b"]);
/// assert_eq!(list.len(), 2);
/// ```
impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> Extend<T> for RcuQueue<T, F, D> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.exclusive_writer().extend(iter);
    }
}

/// Collects into a list of the default domain with its own writer lock, in iteration order.
///
/// ```
/// use rcu_queue::RcuList;
/// let list: RcuList<u8> = (1..=3).collect();
/// assert_eq!(format!("{list:?}"), "[1, 2, 3]");
/// ```
impl<T: Send + Sync + 'static, F: Family> FromIterator<T> for RcuQueue<T, F> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = Self::new();
        list.extend(iter);
        list
    }
}
