//! Forward iteration shared by the four families: `*_FOREACH_RCU` and `*_FOREACH_SAFE_RCU`.

use super::{Adapter, link_of, load_object, sealed::Sealed};
use crate::sync::AtomicPtr;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// `*_FOREACH_RCU`: walks a list forward, yielding element pointers.
///
/// The successor of an element is loaded when the iterator advances past it (after the loop body ran),
/// as in C. Each step is one `Acquire` load. The iterator is fused: once it has returned `None` it
/// never loads again, so an element a writer appends afterwards is not yielded. Created by [`Head::iter`](super::Head::iter).
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QSListHead, QSListLink};
///
/// struct Item { v: u8, link: QSListLink }
/// rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// let mut items = [1, 2].map(|v| Item { v, link: QSListLink::new() });
/// let head = QSListHead::<ByLink>::new();
/// for item in &mut items {
///     // SAFETY: single writer; each item is linked once and outlives the list use below.
///     unsafe { head.insert_head(NonNull::from(item)) };
/// }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section; the items outlive it.
/// let seen: Vec<u8> = unsafe { head.iter() }.map(|p| unsafe { p.as_ref() }.v).collect();
/// assert_eq!(seen, [2, 1]);
/// ```
pub struct Iter<'a, A: Adapter> {
    /// The forward pointer to load next: the head's first pointer, then each yielded element's `next`;
    /// null once the walk has ended (fused).
    next: *const AtomicPtr<A::Link>,
    _head: PhantomData<&'a ()>,
}

impl<A: Adapter> Iter<'_, A> {
    /// # Safety
    ///
    /// `first` is a head's first pointer, and the caller's contract (critical section or writer
    /// exclusivity) holds for the iterator's whole life.
    pub(crate) unsafe fn new(first: &AtomicPtr<A::Link>) -> Self {
        Iter {
            next: first,
            _head: PhantomData,
        }
    }
}

impl<A: Adapter> Iterator for Iter<'_, A> {
    type Item = NonNull<A::Object>;

    #[inline]
    fn next(&mut self) -> Option<NonNull<A::Object>> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: `self.next` is the head's first pointer or the `next` of an element this iterator
        // yielded; by the contract of the `iter()` that built us, that element is still allocated (it
        // can only be reclaimed after the caller's critical section), and so is everything it links to.
        let Some(obj) = (unsafe { load_object::<A>(&*self.next) }) else {
            self.next = core::ptr::null();
            return None;
        };
        // SAFETY: `obj` is a live element (see above).
        self.next = unsafe { link_of::<A>(obj).as_ref() }.next_field();
        Some(obj)
    }
}

impl<A: Adapter> core::iter::FusedIterator for Iter<'_, A> {}

impl<A: Adapter> fmt::Debug for Iter<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// `*_FOREACH_SAFE_RCU`: like [`Iter`], but loads the successor *before* yielding an element, so the
/// loop body may remove (and `call_rcu1`) the element it was given.
///
/// Created by [`Head::iter_safe`](super::Head::iter_safe).
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QListHead, QListLink};
///
/// struct Item { v: u8, link: QListLink }
/// rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// let head = QListHead::<ByLink>::new();
/// for item in &mut items {
///     // SAFETY: single writer; each item is linked once; `items` outlives `head`'s use.
///     unsafe { head.insert_head(NonNull::from(item)) };
/// }
/// // SAFETY: we are the only writer; removing the yielded element is what iter_safe allows.
/// for p in unsafe { head.iter_safe() } {
///     if unsafe { p.as_ref() }.v % 2 == 1 {
///         unsafe { head.remove(p) };                 // QLIST_REMOVE_RCU inside QLIST_FOREACH_SAFE_RCU
///     }
/// }
/// // SAFETY: sole writer, nothing freed.
/// let left: Vec<u8> = unsafe { head.iter() }.map(|p| unsafe { p.as_ref() }.v).collect();
/// assert_eq!(left, [2]);
/// ```
pub struct IterSafe<'a, A: Adapter> {
    next: Option<NonNull<A::Object>>,
    _head: PhantomData<&'a ()>,
}

impl<A: Adapter> IterSafe<'_, A> {
    /// # Safety
    ///
    /// As for [`Iter::new`].
    pub(crate) unsafe fn new(first: &AtomicPtr<A::Link>) -> Self {
        // SAFETY: the caller guarantees `first` only holds links of live objects during our life.
        let next = unsafe { load_object::<A>(first) };
        IterSafe {
            next,
            _head: PhantomData,
        }
    }
}

impl<A: Adapter> Iterator for IterSafe<'_, A> {
    type Item = NonNull<A::Object>;

    #[inline]
    fn next(&mut self) -> Option<NonNull<A::Object>> {
        let obj = self.next?;
        // SAFETY: `obj` was reachable inside the caller's critical section (or is linked and we are the
        // writer), so it is still allocated; removal keeps its `next`, which is what we load here.
        self.next = unsafe { load_object::<A>(link_of::<A>(obj).as_ref().next_field()) };
        Some(obj)
    }
}

// Once `self.next` is `None` it stays `None`.
impl<A: Adapter> core::iter::FusedIterator for IterSafe<'_, A> {}

impl<A: Adapter> fmt::Debug for IterSafe<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterSafe")
            .field("next", &self.next)
            .finish()
    }
}
