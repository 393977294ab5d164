//! [`RcuQueue`] and its four family aliases: construction, the readers' operations, and the
//! link/unlink bookkeeping that the writer and its cursors share (the invariants are in the
//! [parent module's docs](super)).

use super::iter::Iter;
use crate::family::Family;
use crate::lock::WriterLock;
use crate::node::{self, Node};
use crate::raw::Head;
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

/// How a list's writers are serialized.
pub(super) enum Serializer {
    /// The list's own lock.
    Own(WriterLock<()>),
    /// An external lock, by its id.
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
/// * **Writers** go through a [`ListWriter`](crate::ListWriter), from [`lock`](Self::lock) (the list's own lock) or from
///   [`writer`](Self::writer) (an external [`WriterLock`] shared by several lists, like QEMU's BQL).
/// * A removed value is dropped on the domain's callback thread after a grace period (`call_rcu1`,
///   no allocation on the removal path), so its `Drop` may do "object_unref"-style work. A value
///   without drop glue (`u64`, plain `Copy` data) runs no code when released, so its node goes to the
///   writer's free bag instead ([`rcu_core::defer_free`]) and the writer frees it itself a grace period
///   later. Dropping the list releases every remaining value at once.
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
    pub(super) domain: D,
    /// This list's identity, recorded in the nodes it links (invariant 5); never 0.
    id: u64,
    /// Number of linked nodes; only changed by writers (under the writer lock), so `Relaxed`.
    pub(super) len: AtomicUsize,
    pub(super) serializer: Serializer,
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
        Iter::new(raw)
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
}
