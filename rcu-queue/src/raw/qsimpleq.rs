//! QSIMPLEQ: singly linked list with a tail pointer (QEMU `QSIMPLEQ_*_RCU`).
//!
//! Layout: the head holds the first pointer and the last element's link (null when empty; C points
//! `sqh_last` at the head's own first pointer). Elements have only `next`.

use super::{Adapter, Iter, IterSafe, link_of, load_object, sealed::Sealed};
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
/// use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
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

    /// `QSIMPLEQ_EMPTY_RCU`: a `Relaxed` check, only a hint to concurrent readers.
    pub fn is_empty(&self) -> bool {
        self.first.load(Relaxed).is_null()
    }

    /// The `next` field a tail insert stores into: the last element's, or the head's first pointer.
    fn tail_field(&self) -> &AtomicPtr<QSimpleqLink> {
        let last = self.last.load(Relaxed);
        if last.is_null() {
            &self.first
        } else {
            // SAFETY: a non-null `last` is a linked, live element (W2).
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

forward_readers!(QSimpleqHead, QSimpleqLink, "QSIMPLEQ", first);

impl<A: Adapter<Link = QSimpleqLink>> QSimpleqHead<A> {
    /// `QSIMPLEQ_INSERT_HEAD_RCU`: links `elm` first.
    ///
    /// Publishing store: the `Release` store of the head's first pointer.
    ///
    /// # Safety
    ///
    /// Writer rules W1–W3 of the [module docs](crate::raw#safety-contracts).
    pub unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
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

    /// `QSIMPLEQ_INSERT_TAIL_RCU`: links `elm` last.
    ///
    /// Publishing store: the `Release` store of the old last element's `next` (of the head's first
    /// pointer if the list was empty).
    ///
    /// # Safety
    ///
    /// W1–W3.
    pub unsafe fn insert_tail(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(ptr::null_mut(), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of that `next` (or first) pointer.
        self.tail_field().store(link.as_ptr(), Release);
        self.last.store(link.as_ptr(), Relaxed);
    }

    /// `QSIMPLEQ_INSERT_AFTER_RCU`: links `elm` right after `listelm`.
    ///
    /// Publishing store: the `Release` store of `listelm`'s `next`.
    ///
    /// # Safety
    ///
    /// W1–W3, and W5: `listelm` is on this list.
    pub unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
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

    /// `QSIMPLEQ_REMOVE_HEAD_RCU`: unlinks the first element and returns it (`None` if empty). Its `next`
    /// is kept; free it only after a grace period.
    ///
    /// Unlinking store: a `Release` store of the head's first pointer.
    ///
    /// # Safety
    ///
    /// W1, W2.
    pub unsafe fn remove_head(&self) -> Option<NonNull<A::Object>> {
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

    /// Unlinks the element after `listelm` and returns it (`None` if `listelm` is last): O(1), BSD's
    /// `SIMPLEQ_REMOVE_AFTER`. Same publication rules as [`remove`](Self::remove).
    ///
    /// # Safety
    ///
    /// W1, W2, and `listelm` is on this list.
    pub unsafe fn remove_after(&self, listelm: NonNull<A::Object>) -> Option<NonNull<A::Object>> {
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

    /// `QSIMPLEQ_REMOVE_RCU`: unlinks `elm`, found by walking from the head (O(n)). Its `next` is kept;
    /// free it only after a grace period.
    ///
    /// Unlinking store: a `Release` store of the predecessor's `next` (or the head's first pointer).
    ///
    /// # Panics
    ///
    /// If `elm` is not on this list.
    ///
    /// # Safety
    ///
    /// W1, W2.
    pub unsafe fn remove(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2); we only compare addresses.
        let target = unsafe { link_of::<A>(elm) }.as_ptr();
        if self.first.load(Relaxed) == target {
            // SAFETY: forwarded (W1, W2).
            unsafe { self.remove_head() };
            return;
        }
        // SAFETY: writer walk (W1); every element reached is linked and live (W2).
        for curr in unsafe { self.iter() } {
            // SAFETY: as above.
            let c = unsafe { link_of::<A>(curr).as_ref() };
            if c.next.load(Relaxed) == target {
                // SAFETY: `curr` is on this list (W1, W2).
                unsafe { self.remove_after(curr) };
                return;
            }
        }
        panic!("QSimpleqHead::remove: the element is not on this list");
    }
}
