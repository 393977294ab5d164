//! QLIST: doubly linked list without a tail (QEMU `QLIST_*_RCU`).
//!
//! Layout: the head holds the first pointer; each element's `prev` points at the `next` field of its
//! predecessor, or at the head's first pointer (C's `le_prev`, a pointer to a pointer). Readers only
//! ever load `next`.

use super::{Adapter, Head, link_of, sealed::Sealed, sealed::SealedHead};
use crate::sync::{AtomicPtr, Ordering::Relaxed, Ordering::Release, loom_const_fn};
use core::{fmt, marker::PhantomData, ptr, ptr::NonNull};

/// The link a struct embeds to be on a [`QListHead`] (C: `QLIST_ENTRY(T) field`).
///
/// # Example
///
/// ```
/// use rcu_queue::raw::QListLink;
/// struct Reader { id: u32, node: QListLink }
/// let r = Reader { id: 1, node: QListLink::new() };
/// # let _ = (r.id, r.node);
/// ```
pub struct QListLink {
    next: AtomicPtr<QListLink>,
    /// Address of the predecessor's `next`, or of the head's first pointer (writer-only).
    prev: AtomicPtr<AtomicPtr<QListLink>>,
}

impl QListLink {
    loom_const_fn! {
        /// An unlinked link.
        pub fn new() -> Self {
            QListLink { next: AtomicPtr::new(ptr::null_mut()), prev: AtomicPtr::new(ptr::null_mut()) }
        }
    }
}

impl Default for QListLink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sealed for QListLink {
    #[inline(always)]
    fn next_field(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}
impl super::RcuLink for QListLink {}

impl fmt::Debug for QListLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QListLink")
            .field("next", &self.next.load(Relaxed))
            .field("prev", &self.prev.load(Relaxed))
            .finish()
    }
}

/// Head of an RCU-safe doubly linked list (C: `QLIST_HEAD(, T)`), typed by its [`Adapter`].
///
/// Every operation is a method of [`Head`]: readers [`first`](Head::first), [`next`](Head::next),
/// [`iter`](Head::iter), [`iter_safe`](Head::iter_safe), [`is_empty`](Head::is_empty); writers `insert_*` and
/// [`remove`](Head::remove), under the writer rules of the [module docs](crate::raw#safety-contracts).
/// There is no tail insert.
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QListHead, QListLink};
///
/// struct Bh { id: u32, link: QListLink }
/// rcu_queue::adapter!(Bhs = Bh { link: QListLink });
///
/// let mut bhs = [1, 2, 3].map(|id| Bh { id, link: QListLink::new() });
/// let [a, b, c] = bhs.each_mut().map(NonNull::from);
/// let list = QListHead::<Bhs>::new();
/// // SAFETY: single writer; every element is linked once; `bhs` outlives `list`'s use.
/// unsafe {
///     list.insert_head(a);          // QLIST_INSERT_HEAD_RCU   [1]
///     list.insert_after(a, c);      // QLIST_INSERT_AFTER_RCU  [1, 3]
///     list.insert_before(c, b);     // QLIST_INSERT_BEFORE_RCU [1, 2, 3]
///     list.remove(a);               // QLIST_REMOVE_RCU        [2, 3]
/// }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: in a critical section; nothing is freed.
/// let ids: Vec<u32> = unsafe { list.iter() }.map(|p| unsafe { p.as_ref() }.id).collect();
/// assert_eq!(ids, [2, 3]);
/// ```
pub struct QListHead<A> {
    first: AtomicPtr<QListLink>,
    _adapter: PhantomData<fn() -> A>,
}

impl<A> QListHead<A> {
    loom_const_fn! {
        /// An empty list (C: `QLIST_HEAD_INITIALIZER`).
        pub fn new() -> Self {
            QListHead { first: AtomicPtr::new(ptr::null_mut()), _adapter: PhantomData }
        }
    }
}

impl<A> Default for QListHead<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> fmt::Debug for QListHead<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QListHead")
            .field("first", &self.first.load(Relaxed))
            .finish()
    }
}

impl<A> SealedHead for QListHead<A> {
    type Link = QListLink;
    fn first_field(&self) -> &AtomicPtr<QListLink> {
        &self.first
    }
}

impl<A: Adapter<Link = QListLink>> Head for QListHead<A> {
    type Object = A::Object;
    type Adapter = A;
    const FAMILY: &'static str = "QLIST";

    unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        let l = unsafe { link.as_ref() };
        let old_first = self.first.load(Relaxed);
        l.prev.store(ptr::from_ref(&self.first).cast_mut(), Relaxed);
        l.next.store(old_first, Relaxed);
        // Publish. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(link.as_ptr(), Release);
        if !old_first.is_null() {
            // SAFETY: `old_first` is a linked, live element (W2); `prev` is writer-only (W1).
            unsafe {
                (*old_first)
                    .prev
                    .store(ptr::from_ref(&l.next).cast_mut(), Relaxed)
            };
        }
    }

    unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5).
        let (le, link) = unsafe { (link_of::<A>(listelm), link_of::<A>(elm)) };
        // SAFETY: as above.
        let (le, l) = unsafe { (le.as_ref(), link.as_ref()) };
        let next = le.next.load(Relaxed);
        l.next.store(next, Relaxed);
        l.prev.store(ptr::from_ref(&le.next).cast_mut(), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(link.as_ptr(), Release);
        if !next.is_null() {
            // SAFETY: `next` is a linked, live element (W2).
            unsafe {
                (*next)
                    .prev
                    .store(ptr::from_ref(&l.next).cast_mut(), Relaxed)
            };
        }
    }

    unsafe fn insert_before(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5).
        let (le, link) = unsafe { (link_of::<A>(listelm), link_of::<A>(elm)) };
        // SAFETY: as above.
        let (le, l) = unsafe { (le.as_ref(), link.as_ref()) };
        let prev = le.prev.load(Relaxed);
        assert!(
            !prev.is_null(),
            "QListHead::insert_before: `listelm` is not on a list"
        );
        l.prev.store(prev, Relaxed);
        l.next.store(ptr::from_ref(le).cast_mut(), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of the predecessor's `next`.
        // SAFETY: `prev` points into the head or a linked, live element (W2, W4, W5).
        unsafe { (*prev).store(link.as_ptr(), Release) };
        le.prev.store(ptr::from_ref(&l.next).cast_mut(), Relaxed);
    }

    unsafe fn remove(&self, elm: NonNull<A::Object>) {
        // SAFETY: forwarded; a doubly linked element knows its predecessor.
        unsafe { self.unlink(None, elm) }
    }

    unsafe fn unlink(&self, _prev: Option<NonNull<A::Object>>, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live and linked (caller).
        let l = unsafe { link_of::<A>(elm).as_ref() };
        let next = l.next.load(Relaxed);
        let prev = l.prev.load(Relaxed);
        assert!(
            !prev.is_null(),
            "QListHead::remove: the element is not on a list"
        );
        if !next.is_null() {
            // SAFETY: `next` is a linked, live element (W2).
            unsafe { (*next).prev.store(prev, Relaxed) };
        }
        // Unlink. Release pairs with the readers' Acquire load of the predecessor's `next`.
        // SAFETY: `prev` points into the head or a linked, live element (W2, W4).
        unsafe { (*prev).store(next, Release) };
    }
}
