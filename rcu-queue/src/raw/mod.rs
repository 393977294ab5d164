//! The intrusive, `unsafe` layer: QEMU's `rcu_queue.h` for Rust.
//!
//! A struct embeds a *link* ([`QTailqLink`], [`QListLink`], [`QSimpleqLink`], [`QSListLink`]) as a field,
//! the way a C struct embeds `QTAILQ_ENTRY(T)`. An [`Adapter`] (usually written with [`adapter!`](crate::adapter))
//! maps between the containing object and that field, and a *head* ([`QTailqHead`], [`QListHead`],
//! [`QSimpleqHead`], [`QSListHead`]) holds the list. Heads and links never own memory: allocating and
//! freeing elements (normally with `rcu_core::call_rcu1` after removal) is the caller's job.
//!
//! Every operation is a method of one sealed trait, [`Head`], which the four heads implement; code
//! generic over the families is generic over `H: Head`. Each operation exists for every family
//! (QEMU lacks some: see the table at [`Head`] for which ones are O(n) where), is defined once per
//! family, and carries `#[doc(alias)]`es for its QEMU names, so rustdoc search finds
//! `QTAILQ_INSERT_HEAD_RCU`. The C-named macros are thin sugar over these methods, listed once in the
//! [table below](#the-c-named-macros).
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
//! * [`Head::remove_after`] (BSD's `SLIST_REMOVE_AFTER`) and [`Head::unlink`] remove in O(1) given
//!   the predecessor, for every family; QEMU only has the O(n) `QSIMPLEQ_REMOVE_RCU`/`QSLIST_REMOVE_RCU`.
//! * Every operation exists for every family (QLIST's `insert_tail` walks the list, for example), so
//!   code generic over [`Head`] compiles; the table at [`Head`] gives each one's cost.
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
//! * **W6.** No `&mut` to an element, or to anything inside it, is created while it is linked, nor
//!   after its removal until a grace period has elapsed: readers may be reading it at any time, and a
//!   `&mut` asserts that nobody else is (the hazard tokio's intrusive list documents too). Mutate a
//!   linked element only through interior mutability (atomics, locks), and take `&mut` or ownership
//!   back only when `W2` lets you free it.
//!
//! # Example: QEMU's `BusChild` list
//!
//! ```
//! use core::ptr::NonNull;
//! use rcu_queue::raw::{Head, QTailqHead, QTailqLink};
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
//!
//! # The C-named macros
//!
//! For code ported from C, each QEMU macro has a lower-case `macro_rules!` twin, exported at the
//! crate root (`rcu_queue::qtailq_insert_head_rcu!`). Each expands to exactly one call of the [`Head`]
//! method in the last column on the family's head type (so a `QLIST` head given to a `qtailq_` macro
//! does not compile), **without** an `unsafe` block: you write `unsafe { ... }` and its `// SAFETY:`
//! comment yourself, discharging that method's contract. Only `*_empty_rcu!` is safe. C's `field`
//! argument is the head's [`Adapter`] type parameter, so it is dropped except in `*_next_rcu!`, which
//! has no head to take it from; the head comes first also where C omits it, and
//! `*_foreach_safe_rcu!` needs no `next_var`. `f` is one of `qtailq`, `qlist`, `qsimpleq`, `qslist`.
//!
//! | QEMU (`F` = `QTAILQ`, `QLIST`, `QSIMPLEQ`, `QSLIST`) | Rust sugar | expands to | families |
//! |---|---|---|---|
//! | `F_INSERT_HEAD_RCU(head, elm, field)` | `f_insert_head_rcu!(head, elm)` | [`Head::insert_head`] | all |
//! | `F_INSERT_TAIL_RCU(head, elm, field)` | `f_insert_tail_rcu!(head, elm)` | [`Head::insert_tail`] | QTAILQ, QSIMPLEQ |
//! | `F_INSERT_AFTER_RCU([head,] listelm, elm, field)` | `f_insert_after_rcu!(head, listelm, elm)` | [`Head::insert_after`] | all |
//! | `F_INSERT_BEFORE_RCU(listelm, elm, field)` | `f_insert_before_rcu!(head, listelm, elm)` | [`Head::insert_before`] | QTAILQ, QLIST |
//! | `F_REMOVE_RCU([head,] elm, field)` | `f_remove_rcu!(head, elm)` | [`Head::remove`] | all |
//! | `F_REMOVE_HEAD_RCU(head, field)` | `f_remove_head_rcu!(head)` | [`Head::remove_head`] | QSIMPLEQ, QSLIST |
//! | `F_FIRST_RCU(head)` | `f_first_rcu!(head)` | [`Head::first`] | all |
//! | `F_NEXT_RCU(elm, field)` | `f_next_rcu!(elm, Adapter)` | [`Head::next`] | all |
//! | `F_EMPTY_RCU(head)` | `f_empty_rcu!(head)` (safe) | [`Head::is_empty`] | all |
//! | `F_FOREACH_RCU(var, head, field) { ... }` | `f_foreach_rcu!(var in head => { ... })` | `for var in` [`Head::iter`] | all |
//! | `F_FOREACH_SAFE_RCU(var, head, field, next_var) { ... }` | `f_foreach_safe_rcu!(var in head => { ... })` | `for var in` [`Head::iter_safe`] | all |
//!
//! Operations without a QEMU macro ([`Head::unlink`], [`Head::remove_after`]) have no sugar.
//! `tests/macros.rs` checks every macro against the method it names.
//!
//! ```
//! use core::ptr::NonNull;
//! use rcu_queue::raw::{QSListHead, QSListLink};
//! use rcu_queue::{qslist_empty_rcu, qslist_foreach_rcu, qslist_insert_head_rcu, qslist_remove_head_rcu};
//!
//! struct Timer { id: u32, link: QSListLink }
//! rcu_queue::adapter!(Timers = Timer { link: QSListLink });
//! let mut timers = [1, 2].map(|id| Timer { id, link: QSListLink::new() });
//! let [a, b] = timers.each_mut().map(NonNull::from);
//! let head = QSListHead::<Timers>::new();
//! // SAFETY: single writer (W1); `timers` outlives the list and each is linked once (W2, W3).
//! unsafe {
//!     qslist_insert_head_rcu!(head, a);
//!     qslist_insert_head_rcu!(head, b);
//! }
//! let mut ids = Vec::new();
//! let guard = rcu_core::read_lock();
//! // SAFETY: inside a read-side critical section (R1).
//! unsafe { qslist_foreach_rcu!(t in head => { ids.push(t.as_ref().id); }) };
//! drop(guard);
//! assert_eq!(ids, [2, 1]);
//! // SAFETY: single writer; nothing is freed.
//! assert_eq!(unsafe { qslist_remove_head_rcu!(head) }, Some(b));
//! assert!(!qslist_empty_rcu!(head));
//! ```
//!
//! The sugar hides no unsafety: without an `unsafe` block it does not compile.
//!
//! ```compile_fail,E0133
//! use rcu_queue::raw::{QTailqHead, QTailqLink};
//! struct Item { link: QTailqLink }
//! rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
//! let mut item = Item { link: QTailqLink::new() };
//! let head = QTailqHead::<ByLink>::new();
//! rcu_queue::qtailq_insert_head_rcu!(head, core::ptr::NonNull::from(&mut item));
//! ```

mod head;
mod iter;
mod macros;
mod qlist;
mod qsimpleq;
mod qslist;
mod qtailq;

pub use head::Head;
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

    /// Gives [`Head`](super::Head)'s provided methods the head's first pointer.
    pub trait SealedHead {
        /// The family's link type.
        type Link: super::RcuLink;
        /// The head's first pointer (`tqh_first`, `lh_first`, ...).
        fn first_field(&self) -> &AtomicPtr<Self::Link>;
    }

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
