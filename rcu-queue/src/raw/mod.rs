//! The intrusive, `unsafe` layer: QEMU's `rcu_queue.h` for Rust.
//!
//! A struct embeds a *link* ([`QTailqLink`], [`QListLink`], [`QSimpleqLink`], [`QSListLink`]) as a field,
//! the way a C struct embeds `QTAILQ_ENTRY(T)`. An [`Adapter`] (usually written with [`adapter!`](crate::adapter))
//! maps between the containing object and that field, and a *head* ([`QTailqHead`], [`QListHead`],
//! [`QSimpleqHead`], [`QSListHead`]) holds the list. Heads and links never own memory: allocating and
//! freeing elements (normally with `rcu_core::call_rcu1` after removal) is the caller's job.
//!
//! Thin macros named after the C ones (`qtailq_insert_head_rcu!(head, elm)`, ...) expand to these
//! methods; they hide no unsafety (see [`qtailq_insert_head_rcu!`](crate::qtailq_insert_head_rcu)).
//!
//! # The RCU list rules (the same as QEMU's)
//!
//! 1. **Writers are serialized** by the caller (QEMU uses the BQL). Every writer operation is an
//!    `unsafe fn` whose contract starts with this.
//! 2. **Exactly one store publishes** a new element: a `Release` store of the pointer that makes it
//!    reachable from the head. Each insert names it. All the element's own fields are written before it.
//! 3. **Readers follow forward pointers only**, with `Acquire` loads (QEMU's `qatomic_rcu_read`), inside an
//!    RCU read-side critical section. There are no RCU `prev`, `last` or reverse operations.
//! 4. **Removal keeps the removed element's `next`**, so a reader standing on it walks on into the list. The
//!    element may be freed only after a grace period (`synchronize_rcu` / `call_rcu1`).
//! 5. `*_EMPTY_RCU` ([`QTailqHead::is_empty`], ...) is a `Relaxed` load: a hint, not a snapshot.
//!
//! ## Differences from QEMU
//!
//! * QEMU unlinks with a relaxed store. Under the C++20/Rust memory model a relaxed store does not carry
//!   the successor's earlier publication to a reader that first reaches the successor through it, so the
//!   unlinking store here is `Release` too (free on x86, one `stlr` on Arm).
//! * An empty [`QTailqHead`] or [`QSimpleqHead`] stores a null `last` instead of pointing at itself, so a
//!   head can be moved while it is empty. A non-empty [`QTailqHead`] or [`QListHead`] must not move (its
//!   first element's back link points into it), exactly as in C.
//! * [`QSimpleqHead::remove_after`] and [`QSListHead::remove_after`] are O(1) removals given the
//!   predecessor (BSD's `SLIST_REMOVE_AFTER`); QEMU only has the O(n) `*_REMOVE_RCU`.
//!
//! # Safety contracts
//!
//! Every `unsafe fn` of the heads cites these numbered rules.
//!
//! **Readers**
//!
//! * **R1.** The caller is inside an RCU read-side critical section (`rcu_core::read_lock()`) from the
//!   call until its last use of any returned pointer or iterator; or it is the serialized writer and the
//!   elements it touches are still linked. Pointers obtained inside a critical section must not be used
//!   after it ends.
//!
//! **Writers**
//!
//! * **W1.** Writers are serialized: every writer operation on a head happens-before the next one (for
//!   example, all of them are made under one mutex). Readers may run concurrently at any time.
//! * **W2.** Every element on the list is a live `A::Object` that is neither moved nor freed while it
//!   is linked; after removal it is freed (or reused) only once a grace period has elapsed (after
//!   `synchronize_rcu()` returns, or from a `call_rcu1` callback).
//! * **W3.** The element being inserted is not on any list through this adapter's link.
//! * **W4.** (QTAILQ, QLIST) The head is not moved or dropped while it is non-empty: the first
//!   element's back link points into it.
//! * **W5.** The position argument (`listelm`) is on this list.
//!
//! # Example: QEMU's `BusChild` list
//!
//! ```
//! use core::ptr::NonNull;
//! use rcu_queue::raw::{QTailqHead, QTailqLink};
//!
//! struct BusChild { id: u32, sibling: QTailqLink }
//! rcu_queue::adapter!(Sibling = BusChild { sibling: QTailqLink });
//!
//! let children = QTailqHead::<Sibling>::new();
//! let kid = NonNull::from(Box::leak(Box::new(BusChild { id: 7, sibling: QTailqLink::new() })));
//! // SAFETY: this thread is the only writer and `kid` is not linked anywhere.
//! unsafe { children.insert_head(kid) };            // QTAILQ_INSERT_HEAD_RCU
//!
//! let guard = rcu_core::read_lock();
//! // SAFETY: we are in a read-side critical section for the whole walk.
//! let ids: Vec<u32> = unsafe { children.iter() }.map(|c| unsafe { c.as_ref() }.id).collect();
//! assert_eq!(ids, [7]);
//! drop(guard);
//!
//! // SAFETY: sole writer; `kid` is on this list.
//! unsafe { children.remove(kid) };                 // QTAILQ_REMOVE_RCU
//! rcu_core::synchronize_rcu();                     // no reader can still see `kid`
//! // SAFETY: unlinked, and a grace period has passed.
//! drop(unsafe { Box::from_raw(kid.as_ptr()) });
//! ```

/// The reader half of every family's head (first, next, FOREACH, FOREACH_SAFE): the same four
/// `Acquire`-load walks for all four families, which differ only in where the first pointer lives.
/// `$C` is the C family prefix for the docs (`"QTAILQ"`), `$first` the path of the head's first
/// pointer field.
macro_rules! forward_readers {
    ($Head:ident, $Link:ident, $C:literal, $($first:ident).+) => {
        impl<A: Adapter<Link = $Link>> $Head<A> {
            #[doc = concat!("`", $C, "_FIRST_RCU`: `Acquire`-loads the first element.")]
            ///
            /// # Safety
            ///
            /// Reader rule R1 of the [module docs](crate::raw#safety-contracts): the returned pointer
            /// may be dereferenced only inside the caller's read-side critical section (or by the
            /// serialized writer while the element is linked).
            pub unsafe fn first(&self) -> Option<NonNull<A::Object>> {
                // SAFETY: non-null first pointers are links of live elements (writer rule W2).
                unsafe { load_object::<A>(&self.$($first).+) }
            }

            #[doc = concat!("`", $C, "_NEXT_RCU`: `Acquire`-loads the successor of `elm`.")]
            ///
            /// # Safety
            ///
            /// R1, and `elm` was reached from this head within the same critical section (it may
            /// have been removed since: its `next` is kept).
            pub unsafe fn next(elm: NonNull<A::Object>) -> Option<NonNull<A::Object>> {
                // SAFETY: `elm` is still allocated (R1); its `next` only holds links of live
                // elements.
                unsafe { load_object::<A>(&link_of::<A>(elm).as_ref().next) }
            }

            #[doc = concat!("`", $C, "_FOREACH_RCU`: iterates forward; each step is one `Acquire` load.")]
            ///
            /// # Safety
            ///
            /// R1 for the iterator's whole life and for every yielded pointer.
            pub unsafe fn iter(&self) -> Iter<'_, A> {
                // SAFETY: forwarded to our caller.
                unsafe { Iter::new(&self.$($first).+) }
            }

            #[doc = concat!(
                "`", $C, "_FOREACH_SAFE_RCU`: like [`iter`](Self::iter) but reads each successor \
                 before yielding, so a writer's loop body may remove the yielded element."
            )]
            ///
            /// # Safety
            ///
            /// As for [`iter`](Self::iter).
            pub unsafe fn iter_safe(&self) -> IterSafe<'_, A> {
                // SAFETY: forwarded to our caller.
                unsafe { IterSafe::new(&self.$($first).+) }
            }
        }
    };
}

mod iter;
mod macros;
mod qlist;
mod qsimpleq;
mod qslist;
mod qtailq;

pub use iter::{Iter, IterSafe};
pub use qlist::{QListHead, QListLink};
pub use qsimpleq::{QSimpleqHead, QSimpleqLink};
pub use qslist::{QSListHead, QSListLink};
pub use qtailq::{QTailqHead, QTailqLink};

use crate::sync::AtomicPtr;
use core::ptr::NonNull;

/// Maps an object to the link field it embeds, and back: the Rust form of the `field` argument of
/// QEMU's `QTAILQ_INSERT_HEAD_RCU(head, elm, field)`.
///
/// Write implementations with [`adapter!`](crate::adapter), which checks the field's type and computes
/// the offset with [`core::mem::offset_of!`]. One object may embed several links (one per list it is on),
/// each with its own adapter.
///
/// # Safety
///
/// `LINK_OFFSET` must be the byte offset, inside `Object`, of a field whose type is `Link`.
///
/// # Example
///
/// ```
/// use rcu_queue::raw::{Adapter, QSListLink};
///
/// struct Timer { deadline: u64, next_timer: QSListLink }
/// struct ByDeadline;
/// // SAFETY: the offset is computed by `offset_of!` on a field of type `QSListLink`.
/// unsafe impl Adapter for ByDeadline {
///     type Object = Timer;
///     type Link = QSListLink;
///     const LINK_OFFSET: usize = core::mem::offset_of!(Timer, next_timer);
/// }
/// assert_eq!(ByDeadline::LINK_OFFSET, core::mem::offset_of!(Timer, next_timer));
/// ```
pub unsafe trait Adapter {
    /// The containing type (`BusChild` in QEMU's `QTAILQ_ENTRY(BusChild) sibling`).
    type Object;
    /// The embedded link type; it decides the list family.
    type Link: RcuLink;
    /// Byte offset of the link field inside `Object`.
    const LINK_OFFSET: usize;
}

/// A link type with a forward pointer that readers follow. Implemented by the four link types only.
///
/// # Example
///
/// ```
/// use rcu_queue::raw::{QListLink, RcuLink};
///
/// fn forward_only<L: RcuLink>() {}
/// forward_only::<QListLink>();
/// ```
pub trait RcuLink: sealed::Sealed + Sized {}

pub(crate) mod sealed {
    use crate::sync::AtomicPtr;

    /// Gives the generic iterators access to a link's forward pointer.
    pub trait Sealed {
        /// The field readers follow (`le_next`, `sqe_next`, `tqe_next`, `sle_next`).
        fn next_field(&self) -> &AtomicPtr<Self>
        where
            Self: Sized;
    }
}

/// Pointer to the link embedded in `obj` (C: `&(elm)->field`).
///
/// # Safety
///
/// `obj` points to a live `A::Object` (or at least to an allocation that contains one).
#[inline(always)]
pub unsafe fn link_of<A: Adapter>(obj: NonNull<A::Object>) -> NonNull<A::Link> {
    // SAFETY: by the `Adapter` contract the link field is `LINK_OFFSET` bytes into the object, which the
    // caller guarantees is inside a live allocation; the result keeps `obj`'s provenance.
    unsafe { obj.byte_add(A::LINK_OFFSET).cast() }
}

/// Pointer to the object that embeds `link` (QEMU/Linux `container_of`).
///
/// # Safety
///
/// `link` was obtained from [`link_of::<A>`](link_of) (so it carries the whole object's provenance), or
/// otherwise points to the `A::Link` field of a live `A::Object`.
#[inline(always)]
pub unsafe fn object_of<A: Adapter>(link: NonNull<A::Link>) -> NonNull<A::Object> {
    // SAFETY: by the caller's contract the link is the field `LINK_OFFSET` bytes into an `A::Object`, so
    // stepping back stays inside that object's allocation.
    unsafe { link.byte_sub(A::LINK_OFFSET).cast() }
}

/// `Acquire`-loads a forward pointer and maps it to its object (QEMU `qatomic_rcu_read` + container_of).
///
/// # Safety
///
/// Every non-null pointer stored in `field` is the `A::Link` of a live `A::Object` for as long as the
/// caller's critical section (or writer exclusivity) lasts.
#[inline(always)]
pub(crate) unsafe fn load_object<A: Adapter>(
    field: &AtomicPtr<A::Link>,
) -> Option<NonNull<A::Object>> {
    // Acquire pairs with the Release store that published (or unlinked to) the element, so its fields
    // (written before that store) are visible to us.
    let link = NonNull::new(field.load(crate::sync::Ordering::Acquire))?;
    // SAFETY: by this function's contract `link` is the link field of a live object.
    Some(unsafe { object_of::<A>(link) })
}

/// Declares an [`Adapter`] for one link field of a (non-generic) struct, checking the field's type.
///
/// `adapter!(Name = Object { field: LinkType })` declares `struct Name;` (with the given visibility and
/// attributes) and implements [`Adapter`] for it with `core::mem::offset_of!(Object, field)`. This is the
/// `field` argument of every QEMU list macro, resolved once at compile time.
///
/// # Example
///
/// ```
/// use rcu_queue::raw::{QListLink, QTailqLink};
///
/// pub struct Device { id: u32, bus_link: QTailqLink, hotplug_link: QListLink }
/// rcu_queue::adapter!(pub OnBus = Device { bus_link: QTailqLink });
/// rcu_queue::adapter!(
///     /// Devices waiting for hot-unplug.
///     pub PendingUnplug = Device { hotplug_link: QListLink }
/// );
/// # let _ = (OnBus, PendingUnplug);
/// ```
///
/// A field of the wrong type does not compile:
///
/// ```compile_fail
/// use rcu_queue::raw::{QListLink, QTailqLink};
/// struct Device { bus_link: QTailqLink }
/// rcu_queue::adapter!(Wrong = Device { bus_link: QListLink });
/// ```
#[macro_export]
macro_rules! adapter {
    ($(#[$meta:meta])* $vis:vis $name:ident = $object:ty { $field:ident : $link:ty }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        // SAFETY: `offset_of!` gives the offset of `$field`, and `check` below only compiles if that
        // field has type `$link`.
        unsafe impl $crate::raw::Adapter for $name {
            type Object = $object;
            type Link = $link;
            const LINK_OFFSET: usize = {
                #[allow(dead_code)]
                fn check(object: &$object) -> &$link {
                    &object.$field
                }
                ::core::mem::offset_of!($object, $field)
            };
        }
    };
}
