//! QSLIST: singly linked list (QEMU `QSLIST_*_RCU`). The smallest family: one pointer per element, no
//! tail, and a head that may be moved at any time.

use super::{Adapter, Iter, IterSafe, link_of, load_object, object_of, sealed::Sealed};
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
/// use rcu_queue::raw::{QSListHead, QSListLink};
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

    /// `QSLIST_EMPTY_RCU`: a `Relaxed` check, only a hint to concurrent readers.
    pub fn is_empty(&self) -> bool {
        self.first.load(Relaxed).is_null()
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

forward_readers!(QSListHead, QSListLink, "QSLIST", first);

impl<A: Adapter<Link = QSListLink>> QSListHead<A> {
    /// `QSLIST_INSERT_HEAD_RCU`: links `elm` first.
    ///
    /// Publishing store: the `Release` store of the head's first pointer.
    ///
    /// # Safety
    ///
    /// Writer rules W1–W3 of the [module docs](crate::raw#safety-contracts).
    pub unsafe fn insert_head(&self, elm: NonNull<A::Object>) {
        // SAFETY: `elm` is live (W2) and not yet visible to readers (W3).
        let link = unsafe { link_of::<A>(elm) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(self.first.load(Relaxed), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of the first pointer.
        self.first.store(link.as_ptr(), Release);
    }

    /// `QSLIST_INSERT_AFTER_RCU`: links `elm` right after `listelm`.
    ///
    /// Publishing store: the `Release` store of `listelm`'s `next`.
    ///
    /// # Safety
    ///
    /// W1–W3, and W5: `listelm` is on this list.
    pub unsafe fn insert_after(&self, listelm: NonNull<A::Object>, elm: NonNull<A::Object>) {
        // SAFETY: both are live (W2, W5); `elm` is not yet visible to readers (W3).
        let (le, link) = unsafe { (link_of::<A>(listelm).as_ref(), link_of::<A>(elm)) };
        // SAFETY: as above.
        unsafe { link.as_ref() }
            .next
            .store(le.next.load(Relaxed), Relaxed);
        // Publish. Release pairs with the readers' Acquire load of `listelm`'s `next`.
        le.next.store(link.as_ptr(), Release);
    }

    /// `QSLIST_REMOVE_HEAD_RCU`: unlinks the first element and returns it (`None` if empty). Its `next`
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
        // SAFETY: `first` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { object_of::<A>(first) })
    }

    /// Unlinks the element after `listelm` and returns it (`None` if `listelm` is last): O(1), BSD's
    /// `SLIST_REMOVE_AFTER`.
    ///
    /// Unlinking store: a `Release` store of `listelm`'s `next`.
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
        // SAFETY: `elm` came from `link_of::<A>` when it was inserted (W2).
        Some(unsafe { object_of::<A>(elm) })
    }

    /// `QSLIST_REMOVE_RCU`: unlinks `elm`, found by walking from the head (O(n)). Its `next` is kept;
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
        panic!("QSListHead::remove: the element is not on this list");
    }
}
