//! QTAILQ: doubly linked list with a tail pointer (QEMU `QTAILQ_*_RCU`, used by `bus->children`).
//!
//! Layout: the head embeds a [`QTailqLink`] (`circ`) whose `next` is the first element and whose `prev`
//! is the last element's link (null when empty; C points it at the head itself). Each element's `prev`
//! points at its predecessor's link or at the head's `circ`, and is null while the element is not on a
//! list (`QTAILQ_IN_USE`). Readers only ever load `next`.

use super::{Adapter, Head, link_of, sealed::Sealed, sealed::SealedHead};
use crate::sync::{AtomicPtr, Ordering::Relaxed, Ordering::Release, loom_const_fn};
use core::{fmt, marker::PhantomData, ptr, ptr::NonNull};

/// The link a struct embeds to be on a [`QTailqHead`] (C: `QTAILQ_ENTRY(T) field`).
///
/// # Example
///
/// ```
/// use rcu_queue::raw::QTailqLink;
/// struct BusChild { index: u32, sibling: QTailqLink }
/// let kid = BusChild { index: 0, sibling: QTailqLink::new() };
/// assert!(!kid.sibling.in_use()); // QTAILQ_IN_USE
/// # let _ = kid.index;
/// ```
pub struct QTailqLink {
    next: AtomicPtr<QTailqLink>,
    prev: AtomicPtr<QTailqLink>,
}

impl QTailqLink {
    loom_const_fn! {
        /// An unlinked link.
        pub fn new() -> Self {
            QTailqLink { next: AtomicPtr::new(ptr::null_mut()), prev: AtomicPtr::new(ptr::null_mut()) }
        }
    }

    /// `QTAILQ_IN_USE`: whether the element is on a list. Only meaningful to the (serialized) writer.
    pub fn in_use(&self) -> bool {
        !self.prev.load(Relaxed).is_null()
    }
}

impl Default for QTailqLink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sealed for QTailqLink {
    #[inline(always)]
    fn next_field(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}
impl super::RcuLink for QTailqLink {}

impl fmt::Debug for QTailqLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QTailqLink")
            .field("next", &self.next.load(Relaxed))
            .field("prev", &self.prev.load(Relaxed))
            .finish()
    }
}

/// Head of an RCU-safe doubly linked tail queue (C: `QTAILQ_HEAD(, T)`), typed by its [`Adapter`].
///
/// Every operation is a method of [`Head`]: readers [`first`](Head::first), [`next`](Head::next),
/// [`iter`](Head::iter), [`iter_safe`](Head::iter_safe), [`is_empty`](Head::is_empty); writers `insert_*` and
/// [`remove`](Head::remove), under the writer rules of the [module docs](crate::raw#safety-contracts).
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QTailqHead, QTailqLink};
///
/// struct Req { tag: u32, link: QTailqLink }
/// rcu_queue::adapter!(Queue = Req { link: QTailqLink });
///
/// let mut reqs = [1, 2, 3].map(|tag| Req { tag, link: QTailqLink::new() });
/// let [a, b, c] = reqs.each_mut().map(NonNull::from);
/// let q = QTailqHead::<Queue>::new();
/// // SAFETY: single writer; every element is linked once; `reqs` outlives `q`'s use.
/// unsafe {
///     q.insert_tail(b);          // QTAILQ_INSERT_TAIL_RCU   [2]
///     q.insert_head(a);          // QTAILQ_INSERT_HEAD_RCU   [1, 2]
///     q.insert_after(b, c);      // QTAILQ_INSERT_AFTER_RCU  [1, 2, 3]
///     q.remove(b);               // QTAILQ_REMOVE_RCU        [1, 3]
///     q.insert_before(c, b);     // QTAILQ_INSERT_BEFORE_RCU [1, 2, 3]
/// }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: in a critical section; nothing is freed.
/// let tags: Vec<u32> = unsafe { q.iter() }.map(|r| unsafe { r.as_ref() }.tag).collect();
/// assert_eq!(tags, [1, 2, 3]);
/// ```
pub struct QTailqHead<A> {
    /// `circ.next` = first element, `circ.prev` = last element's link or null when empty.
    circ: QTailqLink,
    _adapter: PhantomData<fn() -> A>,
}

impl<A> QTailqHead<A> {
    loom_const_fn! {
        /// An empty list (C: `QTAILQ_HEAD_INITIALIZER`).
        pub fn new() -> Self {
            QTailqHead { circ: QTailqLink::new(), _adapter: PhantomData }
        }
    }

    fn circ_ptr(&self) -> *mut QTailqLink {
        ptr::from_ref(&self.circ).cast_mut()
    }

    /// The link after which a tail insert goes: the last element's, or the head's own when empty.
    fn last_link(&self) -> *mut QTailqLink {
        let last = self.circ.prev.load(Relaxed);
        if last.is_null() {
            self.circ_ptr()
        } else {
            last
        }
    }

    fn set_last(&self, link: *mut QTailqLink) {
        let stored = if link == self.circ_ptr() {
            ptr::null_mut()
        } else {
            link
        };
        self.circ.prev.store(stored, Relaxed);
    }
}

impl<A> Default for QTailqHead<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> fmt::Debug for QTailqHead<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QTailqHead")
            .field("first", &self.circ.next.load(Relaxed))
            .field("last", &self.circ.prev.load(Relaxed))
            .finish()
    }
}

impl<A> SealedHead for QTailqHead<A> {
    type Link = QTailqLink;
    fn first_field(&self) -> &AtomicPtr<QTailqLink> {
        &self.circ.next
    }
}

impl<A: Adapter<Link = QTailqLink>> Head for QTailqHead<A> {
    type Object = A::Object;
    type Adapter = A;
    const FAMILY: &'static str = "QTAILQ";

    unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above; not yet visible to readers (W3), so plain writes are unobserved.
        let l = unsafe { link.as_ref() };
        let old_first = self.circ.next.load(Relaxed);
        l.next.store(old_first, Relaxed);
        if old_first.is_null() {
            self.set_last(link.as_ptr());
        } else {
            // SAFETY: `old_first` is a linked, live element (W2); `prev` is writer-only (W1).
            unsafe { (*old_first).prev.store(link.as_ptr(), Relaxed) };
        }
        // Publish. Release pairs with the readers' Acquire load of the first pointer (`first`, `iter`):
        // they see `elm`'s fields and `next` as written above.
        self.circ.next.store(link.as_ptr(), Release);
        l.prev.store(self.circ_ptr(), Relaxed);
    }

    unsafe fn insert_tail(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        let l = unsafe { link.as_ref() };
        let last = self.last_link();
        l.next.store(ptr::null_mut(), Relaxed);
        l.prev.store(last, Relaxed);
        // Publish. Release pairs with the readers' Acquire load of this `next` (or first) pointer.
        // SAFETY: `last` is the head's own link or a linked, live element (W2, W4).
        unsafe { (*last).next.store(link.as_ptr(), Release) };
        self.set_last(link.as_ptr());
    }

    unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5).
        let (le, link) = unsafe { (link_of::<A>(listelm), link_of::<A>(elm)) };
        // SAFETY: as above.
        let (le, l) = unsafe { (le.as_ref(), link.as_ref()) };
        let next = le.next.load(Relaxed);
        l.next.store(next, Relaxed);
        if next.is_null() {
            self.set_last(link.as_ptr());
        } else {
            // SAFETY: `next` is a linked, live element (W2).
            unsafe { (*next).prev.store(link.as_ptr(), Relaxed) };
        }
        // Publish. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(link.as_ptr(), Release);
        l.prev.store(ptr::from_ref(le).cast_mut(), Relaxed);
    }

    unsafe fn insert_before(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5).
        let (le, link) = unsafe { (link_of::<A>(listelm), link_of::<A>(elm)) };
        // SAFETY: as above.
        let (le, l) = unsafe { (le.as_ref(), link.as_ref()) };
        let prev = le.prev.load(Relaxed);
        assert!(
            !prev.is_null(),
            "QTailqHead::insert_before: `listelm` is not on a list"
        );
        l.prev.store(prev, Relaxed);
        l.next.store(ptr::from_ref(le).cast_mut(), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of the predecessor's `next`.
        // SAFETY: `prev` is the head's link or a linked, live element (W2, W4, W5).
        unsafe { (*prev).next.store(link.as_ptr(), Release) };
        le.prev.store(link.as_ptr(), Relaxed);
    }

    unsafe fn remove(&self, elm: NonNull<A::Object>) {
        // SAFETY: forwarded; a doubly linked element knows its predecessor.
        unsafe { self.unlink(None, elm) }
    }

    unsafe fn unlink(&self, _prev: Option<NonNull<A::Object>>, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live and linked (caller).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        let l = unsafe { link.as_ref() };
        let next = l.next.load(Relaxed);
        let prev = l.prev.load(Relaxed);
        assert!(
            !prev.is_null(),
            "QTailqHead::remove: the element is not on a list"
        );
        if next.is_null() {
            self.set_last(prev);
        } else {
            // SAFETY: `next` is a linked, live element (W2).
            unsafe { (*next).prev.store(prev, Relaxed) };
        }
        // Unlink. Release pairs with the readers' Acquire load of the predecessor's `next`: a reader that
        // meets `next` for the first time through this store also sees its initialization.
        // SAFETY: `prev` is the head's link or a linked, live element (W2, W4).
        unsafe { (*prev).next.store(next, Release) };
        l.prev.store(ptr::null_mut(), Relaxed);
    }
}
