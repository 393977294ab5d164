//! [`Head`]: the one trait that carries every list operation, implemented by the four raw heads.

use super::{Adapter, Iter, IterSafe, link_of, load_object, sealed};
use crate::sync::Ordering::Relaxed;
use core::ptr::NonNull;

/// The operations of an RCU list head, QEMU's `*_RCU` macros as methods: implemented by
/// [`QTailqHead`](super::QTailqHead), [`QListHead`](super::QListHead),
/// [`QSimpleqHead`](super::QSimpleqHead) and [`QSListHead`](super::QSListHead). Sealed.
///
/// Every operation exists for every family, so code generic over `H: Head` compiles; where QEMU has
/// no macro because the family cannot do it in O(1), the method walks the list:
///
/// | method | QTAILQ | QLIST | QSIMPLEQ | QSLIST |
/// |---|---|---|---|---|
/// | [`insert_head`](Self::insert_head), [`insert_after`](Self::insert_after), [`unlink`](Self::unlink), [`remove_head`](Self::remove_head), [`remove_after`](Self::remove_after) | O(1) | O(1) | O(1) | O(1) |
/// | [`insert_tail`](Self::insert_tail) | O(1) | O(n) | O(1) | O(n) |
/// | [`insert_before`](Self::insert_before) | O(1) | O(1) | O(n) | O(n) |
/// | [`remove`](Self::remove) | O(1) | O(1) | O(n) | O(n) |
///
/// The `unsafe` methods cite the numbered rules of the [module docs](crate::raw#safety-contracts).
/// Each insert publishes the element with exactly one `Release` store (of the predecessor's `next`,
/// or of the head's first pointer); each removal unlinks with one `Release` store and keeps the
/// removed element's `next`, so a reader standing on it walks on.
///
/// # Example
///
/// ```
/// use core::ptr::NonNull;
/// use rcu_queue::raw::{Head, QListHead, QListLink, QSListHead, QSListLink};
///
/// struct Item { v: u32, l: QListLink, s: QSListLink }
/// rcu_queue::adapter!(ByL = Item { l: QListLink });
/// rcu_queue::adapter!(ByS = Item { s: QSListLink });
///
/// /// Generic over the families: appends, then reads back under a guard.
/// fn fill<H: Head>(head: &H, items: &[NonNull<H::Object>]) -> usize {
///     for &item in items {
///         // SAFETY: single writer; each item is live, unmoved and linked once (W1-W5).
///         unsafe { head.insert_tail(item) };
///     }
///     let _guard = rcu_core::read_lock();
///     // SAFETY: inside a read-side critical section (R1).
///     unsafe { head.iter() }.count()
/// }
///
/// let mut items = [1, 2, 3].map(|v| Item { v, l: QListLink::new(), s: QSListLink::new() });
/// let ptrs = items.each_mut().map(NonNull::from);
/// let (list, slist) = (QListHead::<ByL>::new(), QSListHead::<ByS>::new());
/// assert_eq!(fill(&list, &ptrs), 3);
/// assert_eq!(fill(&slist, &ptrs), 3);
/// # let _ = items[0].v;
/// ```
pub trait Head: sealed::SealedHead + Default {
    /// The element type (`BusChild`).
    type Object;
    /// Maps the element type to the link field this head uses.
    type Adapter: Adapter<Object = Self::Object, Link = <Self as sealed::SealedHead>::Link>;
    /// The QEMU family name: `"QTAILQ"`, `"QLIST"`, `"QSIMPLEQ"` or `"QSLIST"`.
    const FAMILY: &'static str;

    /// `*_EMPTY_RCU`: a `Relaxed` check, only a hint to concurrent readers.
    #[doc(alias = "QTAILQ_EMPTY_RCU", alias = "QLIST_EMPTY_RCU")]
    #[doc(alias = "QSIMPLEQ_EMPTY_RCU", alias = "QSLIST_EMPTY_RCU")]
    fn is_empty(&self) -> bool {
        self.first_field().load(Relaxed).is_null()
    }

    /// `*_FIRST_RCU`: `Acquire`-loads the first element.
    ///
    /// # Safety
    ///
    /// Reader rule R1: the returned pointer may be dereferenced only inside the caller's read-side
    /// critical section (or by the serialized writer while the element is linked).
    #[doc(alias = "QTAILQ_FIRST_RCU", alias = "QLIST_FIRST_RCU")]
    #[doc(alias = "QSIMPLEQ_FIRST_RCU", alias = "QSLIST_FIRST_RCU")]
    unsafe fn first(&self) -> Option<NonNull<Self::Object>> {
        // SAFETY: non-null first pointers are links of live elements (writer rule W2).
        unsafe { load_object::<Self::Adapter>(self.first_field()) }
    }

    /// `*_NEXT_RCU`: `Acquire`-loads the successor of `elm`.
    ///
    /// # Safety
    ///
    /// R1, and `elm` was reached from this head within the same critical section (it may have been
    /// removed since: its `next` is kept).
    #[doc(alias = "QTAILQ_NEXT_RCU", alias = "QLIST_NEXT_RCU")]
    #[doc(alias = "QSIMPLEQ_NEXT_RCU", alias = "QSLIST_NEXT_RCU")]
    unsafe fn next(elm: NonNull<Self::Object>) -> Option<NonNull<Self::Object>> {
        // SAFETY: `elm` is still allocated (R1); its `next` only holds links of live elements.
        unsafe {
            let link = link_of::<Self::Adapter>(elm);
            load_object::<Self::Adapter>(sealed::Sealed::next_field(link.as_ref()))
        }
    }

    /// `*_FOREACH_RCU`: iterates forward; each step is one `Acquire` load.
    ///
    /// # Safety
    ///
    /// R1 for the iterator's whole life and for every yielded pointer.
    #[doc(alias = "QTAILQ_FOREACH_RCU", alias = "QLIST_FOREACH_RCU")]
    #[doc(alias = "QSIMPLEQ_FOREACH_RCU", alias = "QSLIST_FOREACH_RCU")]
    unsafe fn iter(&self) -> Iter<'_, Self::Adapter> {
        // SAFETY: forwarded to our caller.
        unsafe { Iter::new(self.first_field()) }
    }

    /// `*_FOREACH_SAFE_RCU`: like [`iter`](Self::iter) but reads each successor before yielding, so a
    /// writer's loop body may remove the yielded element.
    ///
    /// # Safety
    ///
    /// As for [`iter`](Self::iter).
    #[doc(alias = "QTAILQ_FOREACH_SAFE_RCU", alias = "QLIST_FOREACH_SAFE_RCU")]
    #[doc(alias = "QSIMPLEQ_FOREACH_SAFE_RCU", alias = "QSLIST_FOREACH_SAFE_RCU")]
    unsafe fn iter_safe(&self) -> IterSafe<'_, Self::Adapter> {
        // SAFETY: forwarded to our caller.
        unsafe { IterSafe::new(self.first_field()) }
    }

    /// `*_INSERT_HEAD_RCU`: links `elm` first. Publishing store: the head's first pointer.
    ///
    /// # Safety
    ///
    /// Writer rules W1–W4 and W6.
    #[doc(alias = "QTAILQ_INSERT_HEAD_RCU", alias = "QLIST_INSERT_HEAD_RCU")]
    #[doc(alias = "QSIMPLEQ_INSERT_HEAD_RCU", alias = "QSLIST_INSERT_HEAD_RCU")]
    unsafe fn insert_head(&self, elm: NonNull<Self::Object>);

    /// `*_INSERT_AFTER_RCU`: links `elm` right after `listelm`. Publishing store: `listelm`'s `next`.
    ///
    /// # Safety
    ///
    /// W1–W6.
    #[doc(alias = "QTAILQ_INSERT_AFTER_RCU", alias = "QLIST_INSERT_AFTER_RCU")]
    #[doc(alias = "QSIMPLEQ_INSERT_AFTER_RCU", alias = "QSLIST_INSERT_AFTER_RCU")]
    unsafe fn insert_after(&self, listelm: NonNull<Self::Object>, elm: NonNull<Self::Object>);

    /// `QTAILQ_INSERT_TAIL_RCU` / `QSIMPLEQ_INSERT_TAIL_RCU`: links `elm` last. O(1) with a tail
    /// pointer; QLIST and QSLIST walk to the last element. Publishing store: the last element's `next`
    /// (the head's first pointer if the list was empty).
    ///
    /// # Safety
    ///
    /// W1–W4 and W6.
    #[doc(alias = "QTAILQ_INSERT_TAIL_RCU", alias = "QSIMPLEQ_INSERT_TAIL_RCU")]
    unsafe fn insert_tail(&self, elm: NonNull<Self::Object>) {
        // SAFETY: a writer walk (W1); every element reached is linked and live (W2).
        match unsafe { self.iter() }.last() {
            // SAFETY: forwarded; `last` was just found on this list (W5).
            Some(last) => unsafe { self.insert_after(last, elm) },
            // SAFETY: forwarded.
            None => unsafe { self.insert_head(elm) },
        }
    }

    /// `QTAILQ_INSERT_BEFORE_RCU` / `QLIST_INSERT_BEFORE_RCU`: links `elm` right before `listelm`.
    /// O(1) for the doubly linked families; QSIMPLEQ and QSLIST walk to the predecessor. Publishing
    /// store: the predecessor's `next` (the head's first pointer if `listelm` is first).
    ///
    /// # Panics
    ///
    /// If `listelm` is not on a list (QTAILQ, QLIST) or not on this list (QSIMPLEQ, QSLIST).
    ///
    /// # Safety
    ///
    /// W1–W6.
    #[doc(alias = "QTAILQ_INSERT_BEFORE_RCU", alias = "QLIST_INSERT_BEFORE_RCU")]
    unsafe fn insert_before(&self, listelm: NonNull<Self::Object>, elm: NonNull<Self::Object>) {
        // SAFETY: forwarded (W1, W2).
        match unsafe { self.predecessor(listelm) } {
            // SAFETY: forwarded; `prev` is on this list (W5).
            Some(Some(prev)) => unsafe { self.insert_after(prev, elm) },
            // SAFETY: forwarded.
            Some(None) => unsafe { self.insert_head(elm) },
            None => panic!(
                "rcu_queue::raw::{}Head::insert_before: `listelm` is not on this list",
                Self::FAMILY
            ),
        }
    }

    /// Unlinks `elm`, whose predecessor is `prev` (`None` if `elm` is first): O(1) for every family
    /// (the doubly linked ones ignore `prev`). Its `next` is kept; free it only after a grace period.
    /// Unlinking store: a `Release` store of the predecessor's `next` (or of the head's first pointer).
    ///
    /// # Safety
    ///
    /// W1, W2, W4, W6; `elm` is on this list and `prev` is its predecessor.
    unsafe fn unlink(&self, prev: Option<NonNull<Self::Object>>, elm: NonNull<Self::Object>) {
        // The singly linked families implement `remove_head` and `remove_after` and take this; the
        // doubly linked ones implement `unlink` and take those two (each head overrides one side).
        // SAFETY: forwarded; `prev` is `elm`'s predecessor, so this unlinks exactly `elm`.
        let removed = unsafe {
            match prev {
                None => self.remove_head(),
                Some(prev) => self.remove_after(prev),
            }
        };
        debug_assert_eq!(removed, Some(elm));
    }

    /// `*_REMOVE_RCU`: unlinks `elm`. O(1) for the doubly linked families; QSIMPLEQ and QSLIST walk to
    /// its predecessor, as QEMU does. Free `elm` only after a grace period.
    ///
    /// # Panics
    ///
    /// If `elm` is not on a list (QTAILQ, QLIST) or not on this list (QSIMPLEQ, QSLIST).
    ///
    /// # Safety
    ///
    /// W1, W2, W4, W6, and `elm` is on this list.
    #[doc(alias = "QTAILQ_REMOVE_RCU", alias = "QLIST_REMOVE_RCU")]
    #[doc(alias = "QSIMPLEQ_REMOVE_RCU", alias = "QSLIST_REMOVE_RCU")]
    unsafe fn remove(&self, elm: NonNull<Self::Object>) {
        // SAFETY: forwarded (W1, W2).
        let Some(prev) = (unsafe { self.predecessor(elm) }) else {
            panic!(
                "rcu_queue::raw::{}Head::remove: the element is not on this list",
                Self::FAMILY
            );
        };
        // SAFETY: forwarded; `prev` was just found as `elm`'s predecessor.
        unsafe { self.unlink(prev, elm) }
    }

    /// `QSIMPLEQ_REMOVE_HEAD_RCU` / `QSLIST_REMOVE_HEAD_RCU`: unlinks the first element and returns it
    /// (`None` if empty). Free it only after a grace period.
    ///
    /// # Safety
    ///
    /// W1, W2, W4, W6.
    #[doc(alias = "QSIMPLEQ_REMOVE_HEAD_RCU", alias = "QSLIST_REMOVE_HEAD_RCU")]
    unsafe fn remove_head(&self) -> Option<NonNull<Self::Object>> {
        // SAFETY: the writer reads its own list (W1, W2).
        let first = unsafe { self.first() }?;
        // SAFETY: forwarded; `first` has no predecessor.
        unsafe { self.unlink(None, first) };
        Some(first)
    }

    /// Unlinks the element after `listelm` and returns it (`None` if `listelm` is last): O(1), BSD's
    /// `SLIST_REMOVE_AFTER`. Free it only after a grace period.
    ///
    /// # Safety
    ///
    /// W1, W2, W4, W6, and `listelm` is on this list.
    unsafe fn remove_after(&self, listelm: NonNull<Self::Object>) -> Option<NonNull<Self::Object>> {
        // SAFETY: the writer reads its own list (W1, W2).
        let elm = unsafe { Self::next(listelm) }?;
        // SAFETY: forwarded; `listelm` precedes `elm`.
        unsafe { self.unlink(Some(listelm), elm) };
        Some(elm)
    }

    /// The predecessor of `elm` found by walking from the head: `Some(None)` if `elm` is first,
    /// `None` if it is not on this list. O(n); the writer's helper for the singly linked families.
    ///
    /// # Safety
    ///
    /// W1, W2 (the caller is the serialized writer).
    #[doc(hidden)]
    unsafe fn predecessor(
        &self,
        elm: NonNull<Self::Object>,
    ) -> Option<Option<NonNull<Self::Object>>> {
        let mut prev = None;
        // SAFETY: a writer walk (W1); every element reached is linked and live (W2).
        for curr in unsafe { self.iter() } {
            if curr == elm {
                return Some(prev);
            }
            prev = Some(curr);
        }
        None
    }
}
