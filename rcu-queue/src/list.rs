//! The safe, owning lists: [`RcuQueue<T, F>`] and its four aliases [`RcuTailq`], [`RcuList`],
//! [`RcuSimpleq`] and [`RcuSlist`].
//!
//! # Invariants
//!
//! 1. Every node reachable from `head` came from [`node::alloc`] and is owned by the list.
//! 2. Every writer operation runs with the list's writer lock held (its own, or the external lock it was
//!    created with), so writers are serialized (raw rule W1).
//! 3. A node leaves the list only by being unlinked and then [`node::retire`]d exactly once, so it is
//!    freed only after a grace period of the list's domain (W2), and readers holding a guard of that
//!    domain (checked by [`RcuDomain::check_guard`]) can keep using it.
//! 4. `head` is a heap allocation that never moves (W4) and is freed only when the list is dropped.
//! 5. A node's owner id is this list's `id` exactly while the node is linked on this list; the list
//!    holds one reference to each linked node (released by the `call_rcu1` callback), and each
//!    [`Handle`] holds one more, so a node outlives both its removal's grace period and its handles.
//! 6. Safe code never gets `&mut T` or `&mut Node` to a node that a reader may see (raw rule W6): values
//!    are only ever shared.

use crate::cursor::CursorMut;
use crate::family::{Family, Tailq};
use crate::handle::Handle;
use crate::lock::{WriterGuard, WriterLock};
use crate::node::{self, Node, NodeAdapter};
use crate::raw::{self, Head};
use crate::sync::{AtomicUsize, Ordering::Relaxed};
use core::{fmt, marker::PhantomData, ptr::NonNull};
use rcu_core::{DefaultDomain, RcuDomain};

/// RCU-safe doubly linked tail queue of `T` (QEMU `QTAILQ` + `*_RCU`): every operation.
///
/// # Example
///
/// ```
/// use rcu_queue::RcuTailq;
///
/// let children = RcuTailq::new();
/// children.lock().push_front("virtio-blk");            // QTAILQ_INSERT_HEAD_RCU
/// children.lock().push_back("scsi-hd");                // QTAILQ_INSERT_TAIL_RCU
///
/// let guard = rcu_core::read_lock();                    // RCU_READ_LOCK_GUARD()
/// let names: Vec<&str> = children.iter(&guard).copied().collect(); // QTAILQ_FOREACH_RCU
/// assert_eq!(names, ["virtio-blk", "scsi-hd"]);
/// ```
pub type RcuTailq<T, D = DefaultDomain> = RcuQueue<T, crate::family::Tailq, D>;
/// RCU-safe doubly linked list of `T` (QEMU `QLIST` + `*_RCU`): no `push_back`.
///
/// # Example
///
/// ```
/// let list = rcu_queue::RcuList::new();
/// list.lock().push_front(1);                           // QLIST_INSERT_HEAD_RCU
/// list.lock().insert_before(|&v| v == 1, 0).unwrap();  // QLIST_INSERT_BEFORE_RCU
/// let g = rcu_core::read_lock();
/// assert_eq!(list.iter(&g).copied().collect::<Vec<_>>(), [0, 1]);
/// ```
pub type RcuList<T, D = DefaultDomain> = RcuQueue<T, crate::family::List, D>;
/// RCU-safe singly linked tail queue of `T` (QEMU `QSIMPLEQ` + `*_RCU`): no `insert_before`.
///
/// # Example
///
/// ```
/// let q = rcu_queue::RcuSimpleq::new();
/// q.lock().push_back(1);                               // QSIMPLEQ_INSERT_TAIL_RCU
/// q.lock().push_back(2);
/// assert!(q.lock().remove_first(|&v| v == 1).is_some()); // QSIMPLEQ_REMOVE_HEAD_RCU + call_rcu1
/// let g = rcu_core::read_lock();
/// assert_eq!(q.first(&g), Some(&2));
/// ```
pub type RcuSimpleq<T, D = DefaultDomain> = RcuQueue<T, crate::family::Simpleq, D>;
/// RCU-safe singly linked list of `T` (QEMU `QSLIST` + `*_RCU`): no `push_back`, no `insert_before`.
///
/// # Example
///
/// ```
/// let s = rcu_queue::RcuSlist::new();
/// s.lock().push_front(2);                              // QSLIST_INSERT_HEAD_RCU
/// s.lock().insert_after(|&v| v == 2, 3).unwrap();      // QSLIST_INSERT_AFTER_RCU
/// let g = rcu_core::read_lock();
/// assert_eq!(s.iter(&g).copied().collect::<Vec<_>>(), [2, 3]);
/// ```
pub type RcuSlist<T, D = DefaultDomain> = RcuQueue<T, crate::family::Slist, D>;

enum Serializer {
    Own(WriterLock<()>),
    External(u64),
}

/// An owning RCU-protected list of `T` of family `F`; use it through the aliases [`RcuTailq`],
/// [`RcuList`], [`RcuSimpleq`] and [`RcuSlist`].
///
/// * **Readers** need only `&self` and a guard of the list's domain `D` ([`rcu_core::ReadGuard`] for
///   the default domain, [`rcu_core::DomainGuard`] for a list made with [`new_in`](Self::new_in)):
///   [`iter`](Self::iter) and [`first`](Self::first) hand out `&T` that live as long as the guard,
///   never longer. They never block and never write
///   shared memory; each step of an iteration is one `Acquire` load.
/// * **Writers** go through a [`ListWriter`], from [`lock`](Self::lock) (the list's own lock) or from
///   [`writer`](Self::writer) (an external [`WriterLock`] shared by several lists, like QEMU's BQL).
/// * A removed value is dropped on the domain's callback thread after a grace period (`call_rcu1`,
///   no allocation on the removal path), so its `Drop` may do "object_unref"-style work. Dropping the
///   list does the same for every remaining value.
/// * **Domains.** A guard of another domain is rejected as [`rcu_core::RcuDomain`] describes: a
///   compile error between the default domain and an independent one, a panic between two
///   independent [`rcu_core::Domain`]s.
///
/// # Example: readers and a writer at the same time
///
/// ```
/// use rcu_queue::RcuTailq;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let list = RcuTailq::new();
/// for i in 0..10 { list.lock().push_back(i); }
/// let stop = AtomicBool::new(false);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         while !stop.load(Ordering::Relaxed) {
///             let guard = rcu_core::read_lock();
///             // Never a torn or freed element, whatever the writer does meanwhile.
///             assert!(list.iter(&guard).all(|&v| v < 1000));
///         }
///     });
///     for i in 10..100 {
///         let mut w = list.lock();
///         w.push_back(i);
///         w.remove_first(|&v| v == i - 10);
///     }
///     stop.store(true, Ordering::Relaxed);
/// });
/// assert_eq!(list.lock().len(), 10);
/// ```
///
/// # References cannot outlive the read guard
///
/// ```compile_fail
/// let list = rcu_queue::RcuTailq::new();
/// list.lock().push_back(String::from("gone after the guard"));
/// let first = {
///     let guard = rcu_core::read_lock();
///     list.first(&guard).unwrap() // error: `guard` does not live long enough
/// };
/// println!("{first}");
/// ```
///
/// The compiling twin keeps the use inside the guard's scope:
///
/// ```
/// let list = rcu_queue::RcuTailq::new();
/// list.lock().push_back(String::from("fine inside the guard"));
/// let len = {
///     let guard = rcu_core::read_lock();
///     list.first(&guard).unwrap().len()
/// };
/// assert_eq!(len, 21);
/// ```
pub struct RcuQueue<T: Send + Sync + 'static, F: Family, D: RcuDomain = DefaultDomain> {
    head: NonNull<F::Head<T>>,
    /// The domain readers' sections and reclamation belong to.
    domain: D,
    /// This list's identity, recorded in the nodes it links (invariant 5); never 0.
    id: u64,
    /// Number of linked nodes; only changed by writers (under the writer lock), so `Relaxed`.
    len: AtomicUsize,
    serializer: Serializer,
    _owns: PhantomData<(T, F)>,
}

// SAFETY: the list owns `T`s (sent to rcu-core's callback thread to be dropped: `T: Send`) and hands out
// `&T` to reader threads (`T: Sync`); all shared list state is atomics and a mutex.
unsafe impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> Send for RcuQueue<T, F, D> {}
// SAFETY: as above; `&RcuQueue` only allows reads under a guard and writes under the writer lock.
unsafe impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> Sync for RcuQueue<T, F, D> {}

impl<T: Send + Sync + 'static, F: Family> RcuQueue<T, F> {
    /// An empty list that carries its own writer lock (use [`lock`](Self::lock) to write).
    ///
    /// # Example
    ///
    /// ```
    /// let list: rcu_queue::RcuSlist<u32> = rcu_queue::RcuSlist::new();
    /// assert!(list.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::new_in(&DefaultDomain)
    }

    /// An empty list whose writers are serialized by `lock`, which may guard other lists and state too
    /// (QEMU's BQL). Write with [`writer`](Self::writer) and a guard of that lock.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::{RcuTailq, WriterLock};
    /// let bql = WriterLock::new(());
    /// let list = RcuTailq::with_external_lock(&bql);
    /// list.writer(&mut bql.lock()).push_back(7);
    /// assert_eq!(list.first(&rcu_core::read_lock()), Some(&7));
    /// ```
    pub fn with_external_lock<S>(lock: &WriterLock<S>) -> Self {
        Self::with_external_lock_in(lock, &DefaultDomain)
    }
}

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> RcuQueue<T, F, D> {
    /// An empty list in `domain` (the list keeps a handle to it), with its own writer lock: readers
    /// present guards of `domain`, and removed values are dropped by its callback thread.
    ///
    /// # Example
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// let list = rcu_queue::RcuTailq::new_in(&domain);
    /// list.lock().push_back(1);
    /// assert_eq!(list.first(&domain.read_lock()), Some(&1));
    /// ```
    pub fn new_in(domain: &D) -> Self {
        Self::with_serializer(Serializer::Own(WriterLock::new(())), domain)
    }

    /// [`with_external_lock`](RcuQueue::with_external_lock) in `domain`.
    ///
    /// # Example
    ///
    /// ```
    /// use rcu_queue::{RcuList, WriterLock};
    /// let domain = rcu_core::Domain::new();
    /// let bql = WriterLock::new(());
    /// let list = RcuList::with_external_lock_in(&bql, &domain);
    /// list.writer(&mut bql.lock()).push_front(7);
    /// assert_eq!(list.first(&domain.read_lock()), Some(&7));
    /// ```
    pub fn with_external_lock_in<S>(lock: &WriterLock<S>, domain: &D) -> Self {
        Self::with_serializer(Serializer::External(lock.id()), domain)
    }

    fn with_serializer(serializer: Serializer, domain: &D) -> Self {
        let head = Box::new(F::Head::<T>::default());
        RcuQueue {
            // SAFETY: `Box::into_raw` never returns null.
            head: unsafe { NonNull::new_unchecked(Box::into_raw(head)) },
            domain: domain.clone(),
            id: crate::lock::fresh_id(),
            len: AtomicUsize::new(0),
            serializer,
            _owns: PhantomData,
        }
    }

    pub(crate) fn head(&self) -> &F::Head<T> {
        // SAFETY: `head` is live until `drop` (invariant 4).
        unsafe { self.head.as_ref() }
    }

    /// The domain the list lives in.
    pub fn domain(&self) -> &D {
        &self.domain
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Adds `delta` (+1 or -1) to the writer-maintained length.
    pub(crate) fn add_len(&self, delta: isize) {
        self.len
            .store(self.len.load(Relaxed).wrapping_add_signed(delta), Relaxed);
    }

    /// Iterates front to back under `guard` (`*_FOREACH_RCU`). The references live as long as the guard.
    ///
    /// The walk is not a snapshot: elements inserted or removed meanwhile may or may not be seen, but
    /// every element seen is fully initialized and stays alive until the guard is dropped.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuSimpleq::new();
    /// list.lock().push_back(1);
    /// list.lock().push_back(2);
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(list.iter(&guard).sum::<i32>(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the list's.
    #[doc(
        alias = "QTAILQ_FOREACH_RCU",
        alias = "QLIST_FOREACH_RCU",
        alias = "QSIMPLEQ_FOREACH_RCU",
        alias = "QSLIST_FOREACH_RCU"
    )]
    #[track_caller]
    pub fn iter<'g>(&'g self, guard: &'g D::Guard<'_>) -> Iter<'g, T, F> {
        self.domain.check_guard(guard);
        // SAFETY: `guard` keeps this thread in a read-side critical section of the list's domain
        // (checked above) for `'g`, which bounds the iterator and every reference it yields (R1);
        // nodes are freed only after a grace period of that domain (invariant 3).
        let raw = unsafe { self.head().iter() };
        Iter {
            raw,
            _values: PhantomData,
        }
    }

    /// The first element (`*_FIRST_RCU`), borrowed for as long as the guard.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuList::new();
    /// let guard = rcu_core::read_lock();
    /// assert_eq!(list.first(&guard), None);
    /// drop(guard);
    /// list.lock().push_front('a');
    /// assert_eq!(list.first(&rcu_core::read_lock()), Some(&'a'));
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the list's.
    #[doc(
        alias = "QTAILQ_FIRST_RCU",
        alias = "QLIST_FIRST_RCU",
        alias = "QSIMPLEQ_FIRST_RCU",
        alias = "QSLIST_FIRST_RCU"
    )]
    #[track_caller]
    pub fn first<'g>(&'g self, guard: &'g D::Guard<'_>) -> Option<&'g T> {
        self.iter(guard).next()
    }

    /// Whether the list is empty (`*_EMPTY_RCU`): a `Relaxed` check, only a hint if writers are active.
    ///
    /// # Example
    ///
    /// ```
    /// let list = rcu_queue::RcuTailq::<u8>::new();
    /// assert!(list.is_empty());
    /// ```
    #[doc(
        alias = "QTAILQ_EMPTY_RCU",
        alias = "QLIST_EMPTY_RCU",
        alias = "QSIMPLEQ_EMPTY_RCU",
        alias = "QSLIST_EMPTY_RCU"
    )]
    pub fn is_empty(&self) -> bool {
        self.head().is_empty()
    }

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
}

impl<T: Send + Sync + 'static, F: Family> Default for RcuQueue<T, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static + fmt::Debug, F: Family, D: RcuDomain> fmt::Debug
    for RcuQueue<T, F, D>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = self.domain.read_lock();
        f.debug_list().entries(self.iter(&guard)).finish()
    }
}

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> Drop for RcuQueue<T, F, D> {
    fn drop(&mut self) {
        // `&mut self`: no reader or writer can be using the list (readers borrow it, and so does
        // every reference they got from it), so the list's references are given up at once, with no
        // grace period: a value is dropped here unless a handle still holds it. Queueing them with
        // `call_rcu1` instead panicked inside `Drop` in a fork child, for a parent's `Domain`.
        // SAFETY: exclusive access; `iter_safe` reads each successor before we release the node, and
        // we never touch a node after releasing it (invariants 1 and 3).
        for node in unsafe { self.head().iter_safe() } {
            // SAFETY: the node is alive (the list's reference); handles now see it unlinked (inv. 5).
            unsafe { node.as_ref() }.set_owner(0);
            // SAFETY: the list's own reference, given up once; no reader can reach the node (the
            // list is exclusively borrowed and about to go), and handles hold counts of their own.
            unsafe { node::release(node) };
        }
        // SAFETY: the head came from `Box::into_raw` (invariant 4) and nothing refers to it any more.
        drop(unsafe { Box::from_raw(self.head.as_ptr()) });
    }
}

/// Iterator over a list's elements, front to back; see [`RcuQueue::iter`] and [`ListWriter::iter`].
///
/// # Example
///
/// ```
/// let list = rcu_queue::RcuTailq::new();
/// list.lock().push_back(5);
/// let guard = rcu_core::read_lock();
/// let mut it: rcu_queue::Iter<'_, i32> = list.iter(&guard);
/// assert_eq!(it.next(), Some(&5));
/// assert_eq!(it.next(), None);
/// ```
pub struct Iter<'g, T, F: Family = Tailq> {
    raw: raw::Iter<'g, NodeAdapter<T, F>>,
    _values: PhantomData<&'g T>,
}

impl<'g, T: 'g, F: Family> Iterator for Iter<'g, T, F> {
    type Item = &'g T;

    #[inline]
    fn next(&mut self) -> Option<&'g T> {
        let node = self.raw.next()?;
        // SAFETY: the node is alive for `'g` (a guard or the writer lock is held for `'g`, and nodes are
        // freed only after a grace period); the value is never mutated while shared.
        Some(unsafe { &(*node.as_ptr()).value })
    }
}

// Fused because `raw::Iter` is: after its first `None` it never loads a forward pointer again
// (tests/fused.rs).
impl<T, F: Family> core::iter::FusedIterator for Iter<'_, T, F> {}

impl<T, F: Family> fmt::Debug for Iter<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("family", &F::NAME)
            .finish_non_exhaustive()
    }
}

/// Exclusive writer access to one list; every mutation goes through it. Obtained from
/// [`RcuQueue::lock`] or [`RcuQueue::writer`]; dropping it releases the list's own lock (an external
/// lock stays held by its guard).
///
/// Insertions publish the new element with a single `Release` store; removals unlink at once and drop
/// the value after a grace period, on rcu-core's callback thread.
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
    /// the handle at once, as `let _ = ...` or `.is_some()` do. Readers already standing on the
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
        Iter {
            raw: self.raw_iter(),
            _values: PhantomData,
        }
    }
}

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> RcuQueue<T, F, D> {
    /// Bookkeeping after `node` was linked: its owner id (invariant 5) and the length.
    pub(crate) fn linked(&self, node: NonNull<Node<T, F>>) {
        // SAFETY: `node` was just linked by the writer; the list's reference keeps it alive.
        unsafe { node.as_ref() }.set_owner(self.id);
        self.add_len(1);
    }

    /// Unlinks `node` and retires the list's reference to it. `prev` is its predecessor if known
    /// (`Some(None)`: it is first); unknown costs a walk in the singly linked families.
    ///
    /// # Safety
    ///
    /// The caller is this list's writer, `node` is linked on this list and `prev`, if given, is its
    /// predecessor; the caller does not use `node` afterwards except through a reference it holds.
    pub(crate) unsafe fn unlink(
        &self,
        prev: Option<Option<NonNull<Node<T, F>>>>,
        node: NonNull<Node<T, F>>,
    ) {
        // SAFETY: writer lock held (W1); nodes come from `alloc` and are linked (W2); the head never
        // moves (W4); no `&mut` is made (W6); `prev` is the predecessor (caller).
        unsafe {
            match prev {
                Some(prev) => self.head().unlink(prev, node),
                None => self.head().remove(node),
            }
            node.as_ref().set_owner(0);
        }
        self.add_len(-1);
        // SAFETY: just unlinked, retired once; the list's reference is the one given up.
        unsafe { node::retire(node, &self.domain) };
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

impl<T: Send + Sync + 'static, F: Family, D: RcuDomain> RcuQueue<T, F, D> {
    /// Number of elements, without the writer lock: one `Relaxed` load of the count the writers
    /// keep. Exact when no writer is active; otherwise the length at some recent moment, which may
    /// differ from what an iteration started at the same time sees (the count changes just after
    /// the link or unlink that it counts), as for `papaya::HashMap::len`.
    ///
    /// # Example
    ///
    /// ```
    /// let list: rcu_queue::RcuTailq<u32> = (0..3).collect();
    /// assert_eq!(list.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Whether an element equals `value`, read under `guard` (O(n); QEMU code writes the
    /// `*_FOREACH_RCU` loop). Not a snapshot: concurrent inserts and removals may or may not be seen.
    ///
    /// # Panics
    ///
    /// If `guard` is a section of another independent domain than the list's.
    ///
    /// # Example
    ///
    /// ```
    /// let list: rcu_queue::RcuTailq<&str> = ["sda", "sdb"].into_iter().collect();
    /// let guard = rcu_core::read_lock();
    /// assert!(list.contains(&"sdb", &guard));
    /// ```
    #[track_caller]
    pub fn contains(&self, value: &T, guard: &D::Guard<'_>) -> bool
    where
        T: PartialEq,
    {
        self.iter(guard).any(|v| v == value)
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
