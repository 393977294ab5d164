//! QSLIST: singly linked list (QEMU `QSLIST_*_RCU`). The smallest family: one pointer per element, no
//! tail, and a head that may be moved at any time.

use super::{Adapter, Head, link_of, object_of, sealed::Sealed, sealed::SealedHead};
use crate::sync::{AtomicPtr, Ordering::Relaxed, Ordering::Release, loom_const_fn};
use core::{fmt, marker::PhantomData, ptr, ptr::NonNull};

/// The link a struct embeds to be on a [`QSListHead`] (C: `QSLIST_ENTRY(T) field`).
///
/// # Example
///
/// ```
/// use rcu_queue::raw::QSListLink;
/// struct Timer { deadline: u64, link: QSListLink }
/// let t = Timer { deadline: 5, link: QSListLink::new() };
/// # let _ = (t.deadline, t.link);
/// ```
pub struct QSListLink {
    next: AtomicPtr<QSListLink>,
}

impl QSListLink {
    loom_const_fn! {
        /// An unlinked link.
        pub fn new() -> Self {
            QSListLink { next: AtomicPtr::new(ptr::null_mut()) }
        }
    }
}

impl Default for QSListLink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sealed for QSListLink {
    #[inline(always)]
    fn next_field(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}
impl super::RcuLink for QSListLink {}

impl fmt::Debug for QSListLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QSListLink")
            .field("next", &self.next.load(Relaxed))
            .finish()
    }
}

/// Head of an RCU-safe singly linked list (C: `QSLIST_HEAD(, T)`), typed by its [`Adapter`].
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QSListHead, QSListLink};
///
/// struct Timer { id: u32, link: QSListLink }
/// rcu_queue::adapter!(Timers = Timer { link: QSListLink });
///
/// let mut timers = [1, 2, 3].map(|id| Timer { id, link: QSListLink::new() });
/// let [a, b, c] = timers.each_mut().map(NonNull::from);
/// let list = QSListHead::<Timers>::new();
/// // SAFETY: single writer; every element is linked once; `timers` outlives `list`'s use.
/// unsafe {
///     list.insert_head(a);                       // QSLIST_INSERT_HEAD_RCU  [1]
///     list.insert_after(a, c);                   // QSLIST_INSERT_AFTER_RCU [1, 3]
///     list.insert_head(b);                       //                         [2, 1, 3]
///     assert_eq!(list.remove_head(), Some(b));   // QSLIST_REMOVE_HEAD_RCU  [1, 3]
///     list.remove(c);                            // QSLIST_REMOVE_RCU       [1]
/// }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: in a critical section; nothing is freed.
/// let ids: Vec<u32> = unsafe { list.iter() }.map(|p| unsafe { p.as_ref() }.id).collect();
/// assert_eq!(ids, [1]);
/// ```
pub struct QSListHead<A> {
    first: AtomicPtr<QSListLink>,
    _adapter: PhantomData<fn() -> A>,
}

impl<A> QSListHead<A> {
    loom_const_fn! {
        /// An empty list (C: `QSLIST_HEAD_INITIALIZER`).
        pub fn new() -> Self {
            QSListHead { first: AtomicPtr::new(ptr::null_mut()), _adapter: PhantomData }
        }
    }
}

impl<A> Default for QSListHead<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> fmt::Debug for QSListHead<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QSListHead")
            .field("first", &self.first.load(Relaxed))
            .finish()
    }
}

impl<A> SealedHead for QSListHead<A> {
    type Link = QSListLink;
    fn first_field(&self) -> &AtomicPtr<QSListLink> {
        &self.first
    }
}

impl<A: Adapter<Link = QSListLink>> Head for QSListHead<A> {
    type Object = A::Object;
    type Adapter = A;
    const FAMILY: &'static str = "QSLIST";

    unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(self.first.load(Relaxed), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(link.as_ptr(), Release);
    }

    unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5); `elm` is not yet visible to readers (W3).
        let (le, link) = unsafe { (link_of::<A>(listelm).as_ref(), link_of::<A>(elm)) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(le.next.load(Relaxed), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(link.as_ptr(), Release);
    }

    unsafe fn remove_head(&self) -> Option<NonNull<A::Object>> {
        let first = NonNull::new(self.first.load(Relaxed))?;
        // SAFETY: `first` is a linked, live element (W2).
        let next = unsafe { first.as_ref() }.next.load(Relaxed);
        // Unlink. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(next, Release);
        // SAFETY: `first` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { object_of::<A>(first) })
    }

    unsafe fn remove_after(&self, listelm: NonNull<A::Object>) -> Option<NonNull<A::Object>> {
        // SAFETY: `listelm` is live and linked (caller).
        let le = unsafe { link_of::<A>(listelm).as_ref() };
        let elm = NonNull::new(le.next.load(Relaxed))?;
        // SAFETY: `elm` is a linked, live element (W2).
        let next = unsafe { elm.as_ref() }.next.load(Relaxed);
        // Unlink. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(next, Release);
        // SAFETY: `elm` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { object_of::<A>(elm) })
    }
}
