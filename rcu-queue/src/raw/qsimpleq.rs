//! QSIMPLEQ: singly linked list with a tail pointer (QEMU `QSIMPLEQ_*_RCU`).
//!
//! Layout: the head holds the first pointer and the last element's link (null when empty; C points
//! `sqh_last` at the head's own first pointer). Elements have only `next`.

use super::{Adapter, Head, link_of, sealed::Sealed, sealed::SealedHead};
use crate::sync::{AtomicPtr, Ordering::Relaxed, Ordering::Release, loom_const_fn};
use core::{fmt, marker::PhantomData, ptr, ptr::NonNull};

/// The link a struct embeds to be on a [`QSimpleqHead`] (C: `QSIMPLEQ_ENTRY(T) field`).
///
/// # Example
///
/// ```
/// use rcu_queue::raw::QSimpleqLink;
/// struct Job { id: u32, link: QSimpleqLink }
/// let job = Job { id: 1, link: QSimpleqLink::new() };
/// # let _ = (job.id, job.link);
/// ```
pub struct QSimpleqLink {
    next: AtomicPtr<QSimpleqLink>,
}

impl QSimpleqLink {
    loom_const_fn! {
        /// An unlinked link.
        pub fn new() -> Self {
            QSimpleqLink { next: AtomicPtr::new(ptr::null_mut()) }
        }
    }
}

impl Default for QSimpleqLink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sealed for QSimpleqLink {
    #[inline(always)]
    fn next_field(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}
impl super::RcuLink for QSimpleqLink {}

impl fmt::Debug for QSimpleqLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QSimpleqLink")
            .field("next", &self.next.load(Relaxed))
            .finish()
    }
}

/// Head of an RCU-safe singly linked tail queue (C: `QSIMPLEQ_HEAD(, T)`), typed by its [`Adapter`].
///
/// The head holds no pointer into itself, so it may be moved at any time (writers still serialized).
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QSimpleqHead, QSimpleqLink};
///
/// struct Job { id: u32, link: QSimpleqLink }
/// rcu_queue::adapter!(Jobs = Job { link: QSimpleqLink });
///
/// let mut jobs = [1, 2, 3, 4].map(|id| Job { id, link: QSimpleqLink::new() });
/// let [a, b, c, d] = jobs.each_mut().map(NonNull::from);
/// let q = QSimpleqHead::<Jobs>::new();
/// // SAFETY: single writer; every element is linked once; `jobs` outlives `q`'s use.
/// unsafe {
///     q.insert_tail(b);                       // QSIMPLEQ_INSERT_TAIL_RCU  [2]
///     q.insert_head(a);                       // QSIMPLEQ_INSERT_HEAD_RCU  [1, 2]
///     q.insert_after(b, d);                   // QSIMPLEQ_INSERT_AFTER_RCU [1, 2, 4]
///     q.insert_after(b, c);                   //                           [1, 2, 3, 4]
///     assert_eq!(q.remove_head(), Some(a));   // QSIMPLEQ_REMOVE_HEAD_RCU  [2, 3, 4]
///     q.remove(d);                            // QSIMPLEQ_REMOVE_RCU       [2, 3]
/// }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: in a critical section; nothing is freed.
/// let ids: Vec<u32> = unsafe { q.iter() }.map(|p| unsafe { p.as_ref() }.id).collect();
/// assert_eq!(ids, [2, 3]);
/// ```
pub struct QSimpleqHead<A> {
    first: AtomicPtr<QSimpleqLink>,
    /// The last element's link, or null when empty (writer-only).
    last: AtomicPtr<QSimpleqLink>,
    _adapter: PhantomData<fn() -> A>,
}

impl<A> QSimpleqHead<A> {
    loom_const_fn! {
        /// An empty list (C: `QSIMPLEQ_HEAD_INITIALIZER`).
        pub fn new() -> Self {
            QSimpleqHead {
                first: AtomicPtr::new(ptr::null_mut()),
                last: AtomicPtr::new(ptr::null_mut()),
                _adapter: PhantomData,
            }
        }
    }

    /// The `next` field a tail insert stores into: the last element's, or the head's first pointer.
    ///
    /// # Safety
    ///
    /// The caller is the serialized writer (W1) and uses the field only while it stays so: anyone
    /// else may find the last element removed and freed meanwhile.
    unsafe fn tail_field(&self) -> &AtomicPtr<QSimpleqLink> {
        let last = self.last.load(Relaxed);
        if last.is_null() {
            &self.first
        } else {
            // SAFETY: the caller is the writer (contract), and only the writer unlinks: a non-null
            // `last` is linked, so live (W2), while the caller uses the field.
            unsafe { &(*last).next }
        }
    }
}

impl<A> Default for QSimpleqHead<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> fmt::Debug for QSimpleqHead<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QSimpleqHead")
            .field("first", &self.first.load(Relaxed))
            .field("last", &self.last.load(Relaxed))
            .finish()
    }
}

impl<A> SealedHead for QSimpleqHead<A> {
    type Link = QSimpleqLink;
    fn first_field(&self) -> &AtomicPtr<QSimpleqLink> {
        &self.first
    }
}

impl<A: Adapter<Link = QSimpleqLink>> Head for QSimpleqHead<A> {
    type Object = A::Object;
    type Adapter = A;
    const FAMILY: &'static str = "QSIMPLEQ";

    unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        let old_first = self.first.load(Relaxed);
        // SAFETY: as above.
        unsafe { link.as_ref() }.next.store(old_first, Relaxed);
        if old_first.is_null() {
            self.last.store(link.as_ptr(), Relaxed);
        }
        // Publish. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(link.as_ptr(), Release);
    }

    unsafe fn insert_tail(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(ptr::null_mut(), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of that `next` (or first) pointer.
        // SAFETY: we are the serialized writer (W1).
        unsafe { self.tail_field() }.store(link.as_ptr(), Release);
        self.last.store(link.as_ptr(), Relaxed);
    }

    unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5).
        let (le, link) = unsafe { (link_of::<A>(listelm), link_of::<A>(elm)) };
        // SAFETY: as above.
        let le = unsafe { le.as_ref() };
        let next = le.next.load(Relaxed);
        // SAFETY: as above; `elm` is not yet visible to readers (W3).
        unsafe { link.as_ref() }.next.store(next, Relaxed);
        if next.is_null() {
            self.last.store(link.as_ptr(), Relaxed);
        }
        // Publish. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(link.as_ptr(), Release);
    }

    unsafe fn remove_head(&self) -> Option<NonNull<A::Object>> {
        let first = NonNull::new(self.first.load(Relaxed))?;
        // SAFETY: `first` is a linked, live element (W2).
        let next = unsafe { first.as_ref() }.next.load(Relaxed);
        // Unlink. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(next, Release);
        if next.is_null() {
            self.last.store(ptr::null_mut(), Relaxed);
        }
        // SAFETY: `first` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { super::object_of::<A>(first) })
    }

    unsafe fn remove_after(&self, listelm: NonNull<A::Object>) -> Option<NonNull<A::Object>> {
        // SAFETY: `listelm` is live and linked (caller).
        let le = unsafe { link_of::<A>(listelm).as_ref() };
        let elm = NonNull::new(le.next.load(Relaxed))?;
        // SAFETY: `elm` is a linked, live element (W2).
        let next = unsafe { elm.as_ref() }.next.load(Relaxed);
        // Unlink. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(next, Release);
        if next.is_null() {
            self.last.store(ptr::from_ref(le).cast_mut(), Relaxed);
        }
        // SAFETY: `elm` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { super::object_of::<A>(elm) })
    }
}
