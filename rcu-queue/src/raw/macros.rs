//! Thin `macro_rules!` sugar named after QEMU's `include/qemu/rcu_queue.h` macros, lower-cased:
//! `qtailq_insert_head_rcu!(head, elm)` for `QTAILQ_INSERT_HEAD_RCU(head, elm, field)`, and so on for the
//! four families.
//!
//! Each macro is exactly one call of the raw head method with the same name (or a `for` loop over its
//! `iter`/`iter_safe`): no new semantics, and no hidden unsafety. The expansions call the `unsafe`
//! methods **without** an `unsafe` block, so the caller writes `unsafe { ... }` and its `// SAFETY:`
//! comment, discharging the `# Safety` contract of the method each macro names. Only the `*_empty_rcu!`
//! macros, whose methods are safe, need no `unsafe` block.
//!
//! C's `field` argument is the head's [`Adapter`](crate::raw::Adapter) type parameter, so it is dropped,
//! except in `*_next_rcu!(elm, Adapter)` which has no head to take it from. Every other macro takes the
//! head first, also where C does not (`QLIST_INSERT_AFTER_RCU(listelm, elm, field)`), because the raw
//! methods need it. `*_foreach_safe_rcu!` has no `next_var`: the iterator keeps it. Operations without
//! a QEMU macro (`remove_after`) have no sugar.

// ---- QTAILQ ----

/// `QTAILQ_INSERT_HEAD_RCU(head, elm, field)`: links `elm` first.
///
/// `qtailq_insert_head_rcu!(head, elm)` expands to `QTailqHead::insert_head(&head, elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QTailqHead::insert_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, a) };
/// assert_eq!(ids(&head), [1]);
/// ```
///
/// Without an `unsafe` block it does not compile: the macro hides no unsafety.
///
/// ```compile_fail,E0133
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// rcu_queue::qtailq_insert_head_rcu!(head, a); // error[E0133]: call to unsafe function
/// ```
///
/// [`QTailqHead::insert_head`]: crate::raw::QTailqHead::insert_head
#[macro_export]
macro_rules! qtailq_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QTailqHead::insert_head(&$head, $elm)
    };
}

/// `QTAILQ_INSERT_TAIL_RCU(head, elm, field)`: links `elm` last.
///
/// `qtailq_insert_tail_rcu!(head, elm)` expands to `QTailqHead::insert_tail(&head, elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QTailqHead::insert_tail`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qtailq_insert_tail_rcu!(head, a);
///     rcu_queue::qtailq_insert_tail_rcu!(head, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QTailqHead::insert_tail`]: crate::raw::QTailqHead::insert_tail
#[macro_export]
macro_rules! qtailq_insert_tail_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QTailqHead::insert_tail(&$head, $elm)
    };
}

/// `QTAILQ_INSERT_AFTER_RCU(head, listelm, elm, field)`: links `elm` right after `listelm`.
///
/// `qtailq_insert_after_rcu!(head, listelm, elm)` expands to `QTailqHead::insert_after(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QTailqHead::insert_after`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qtailq_insert_head_rcu!(head, a);
///     rcu_queue::qtailq_insert_after_rcu!(head, a, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QTailqHead::insert_after`]: crate::raw::QTailqHead::insert_after
#[macro_export]
macro_rules! qtailq_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QTailqHead::insert_after(&$head, $listelm, $elm)
    };
}

/// `QTAILQ_INSERT_BEFORE_RCU(listelm, elm, field)`: links `elm` right before `listelm`.
///
/// `qtailq_insert_before_rcu!(head, listelm, elm)` expands to `QTailqHead::insert_before(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QTailqHead::insert_before`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_before_rcu!(head, b, a);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QTailqHead::insert_before`]: crate::raw::QTailqHead::insert_before
#[macro_export]
macro_rules! qtailq_insert_before_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QTailqHead::insert_before(&$head, $listelm, $elm)
    };
}

/// `QTAILQ_REMOVE_RCU(head, elm, field)`: unlinks `elm`, keeping its `next` for readers standing on it.
///
/// `qtailq_remove_rcu!(head, elm)` expands to `QTailqHead::remove(&head, elm)` without an `unsafe`
/// block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QTailqHead::remove`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_head_rcu!(head, a);
///     rcu_queue::qtailq_remove_rcu!(head, a);
/// }
/// assert_eq!(ids(&head), [2]);
/// rcu_core::synchronize_rcu(); // only now could `a` be freed
/// ```
///
/// [`QTailqHead::remove`]: crate::raw::QTailqHead::remove
#[macro_export]
macro_rules! qtailq_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QTailqHead::remove(&$head, $elm)
    };
}

/// `QTAILQ_FIRST_RCU(head)`: `Acquire`-loads the first element (`Option<NonNull<Object>>`).
///
/// `qtailq_first_rcu!(head)` expands to `QTailqHead::first(&head)` without an `unsafe` block: call
/// it inside your own `unsafe { }` and meet the `# Safety` contract of [`QTailqHead::first`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, a) };
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qtailq_first_rcu!(head) }, Some(a));
/// ```
///
/// [`QTailqHead::first`]: crate::raw::QTailqHead::first
#[macro_export]
macro_rules! qtailq_first_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QTailqHead::first(&$head)
    };
}

/// `QTAILQ_NEXT_RCU(elm, field)`: `Acquire`-loads the successor of `elm` (`Option<NonNull<Object>>`).
///
/// `qtailq_next_rcu!(elm, Adapter)` expands to `QTailqHead::<Adapter>::next(elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QTailqHead::next`]. `Adapter` stands in for C's `field`: it names the link `elm` is followed
/// through.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qtailq_next_rcu!(a, ByLink) }, Some(b));
/// assert_eq!(unsafe { rcu_queue::qtailq_next_rcu!(b, ByLink) }, None);
/// ```
///
/// [`QTailqHead::next`]: crate::raw::QTailqHead::next
#[macro_export]
macro_rules! qtailq_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        $crate::raw::QTailqHead::<$adapter>::next($elm)
    };
}

/// `QTAILQ_EMPTY_RCU(head)`: a `Relaxed` emptiness check, only a hint to concurrent readers.
///
/// `qtailq_empty_rcu!(head)` expands to `QTailqHead::is_empty(&head)`, which is safe
/// ([`QTailqHead::is_empty`]).
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// assert!(rcu_queue::qtailq_empty_rcu!(head)); // safe, like the method
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, a) };
/// assert!(!rcu_queue::qtailq_empty_rcu!(head));
/// ```
///
/// [`QTailqHead::is_empty`]: crate::raw::QTailqHead::is_empty
#[macro_export]
macro_rules! qtailq_empty_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QTailqHead::is_empty(&$head)
    };
}

/// `QTAILQ_FOREACH_RCU(var, head, field)`: a `for` loop over the list, one `Acquire` load per step.
///
/// `qtailq_foreach_rcu!(var in head => { body })` expands to `for var in QTailqHead::iter(&head) {
/// body }`, so `break` and `continue` work. The `# Safety` contract of [`QTailqHead::iter`] covers
/// the iterator's whole life and every yielded pointer, so the `unsafe` block you must write around
/// the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// let mut seen = Vec::new();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// unsafe { rcu_queue::qtailq_foreach_rcu!(p in head => { seen.push(p.as_ref().v); }) };
/// assert_eq!(seen, [1, 2]);
/// ```
///
/// Without an `unsafe` block it does not compile: the macro hides no unsafety.
///
/// ```compile_fail,E0133
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// rcu_queue::qtailq_foreach_rcu!(p in head => { let _ = p; }); // error[E0133]
/// ```
///
/// [`QTailqHead::iter`]: crate::raw::QTailqHead::iter
#[macro_export]
macro_rules! qtailq_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QTailqHead::iter(&$head) $body
    };
}

/// `QTAILQ_FOREACH_SAFE_RCU(var, head, field, next_var)`: a `for` loop that loads each successor before running the body, so a writer's body may remove the element it was given.
///
/// `qtailq_foreach_safe_rcu!(var in head => { body })` expands to `for var in
/// QTailqHead::iter_safe(&head) { body }`, so `break` and `continue` work. The `# Safety` contract
/// of [`QTailqHead::iter_safe`] covers the iterator's whole life and every yielded pointer, so the
/// `unsafe` block you must write around the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QTailqHead, QTailqLink};
/// # struct Item { v: u32, link: QTailqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QTailqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QTailqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QTailqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QTailqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qtailq_insert_head_rcu!(head, c);
///     rcu_queue::qtailq_insert_head_rcu!(head, b);
///     rcu_queue::qtailq_insert_head_rcu!(head, a);
///     // Removing the element the body was given is what the SAFE variant allows.
///     rcu_queue::qtailq_foreach_safe_rcu!(p in head => {
///         if p.as_ref().v != 2 {
///             rcu_queue::qtailq_remove_rcu!(head, p);
///         }
///     });
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QTailqHead::iter_safe`]: crate::raw::QTailqHead::iter_safe
#[macro_export]
macro_rules! qtailq_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QTailqHead::iter_safe(&$head) $body
    };
}

// ---- QLIST ----

/// `QLIST_INSERT_HEAD_RCU(head, elm, field)`: links `elm` first.
///
/// `qlist_insert_head_rcu!(head, elm)` expands to `QListHead::insert_head(&head, elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QListHead::insert_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qlist_insert_head_rcu!(head, a) };
/// assert_eq!(ids(&head), [1]);
/// ```
///
/// [`QListHead::insert_head`]: crate::raw::QListHead::insert_head
#[macro_export]
macro_rules! qlist_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QListHead::insert_head(&$head, $elm)
    };
}

/// `QLIST_INSERT_AFTER_RCU(listelm, elm, field)`: links `elm` right after `listelm`.
///
/// `qlist_insert_after_rcu!(head, listelm, elm)` expands to `QListHead::insert_after(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QListHead::insert_after`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qlist_insert_head_rcu!(head, a);
///     rcu_queue::qlist_insert_after_rcu!(head, a, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QListHead::insert_after`]: crate::raw::QListHead::insert_after
#[macro_export]
macro_rules! qlist_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QListHead::insert_after(&$head, $listelm, $elm)
    };
}

/// `QLIST_INSERT_BEFORE_RCU(listelm, elm, field)`: links `elm` right before `listelm`.
///
/// `qlist_insert_before_rcu!(head, listelm, elm)` expands to `QListHead::insert_before(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QListHead::insert_before`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qlist_insert_head_rcu!(head, b);
///     rcu_queue::qlist_insert_before_rcu!(head, b, a);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QListHead::insert_before`]: crate::raw::QListHead::insert_before
#[macro_export]
macro_rules! qlist_insert_before_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QListHead::insert_before(&$head, $listelm, $elm)
    };
}

/// `QLIST_REMOVE_RCU(elm, field)`: unlinks `elm`, keeping its `next` for readers standing on it.
///
/// `qlist_remove_rcu!(head, elm)` expands to `QListHead::remove(&head, elm)` without an `unsafe`
/// block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QListHead::remove`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qlist_insert_head_rcu!(head, b);
///     rcu_queue::qlist_insert_head_rcu!(head, a);
///     rcu_queue::qlist_remove_rcu!(head, a);
/// }
/// assert_eq!(ids(&head), [2]);
/// rcu_core::synchronize_rcu(); // only now could `a` be freed
/// ```
///
/// [`QListHead::remove`]: crate::raw::QListHead::remove
#[macro_export]
macro_rules! qlist_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QListHead::remove(&$head, $elm)
    };
}

/// `QLIST_FIRST_RCU(head)`: `Acquire`-loads the first element (`Option<NonNull<Object>>`).
///
/// `qlist_first_rcu!(head)` expands to `QListHead::first(&head)` without an `unsafe` block: call it
/// inside your own `unsafe { }` and meet the `# Safety` contract of [`QListHead::first`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qlist_insert_head_rcu!(head, a) };
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qlist_first_rcu!(head) }, Some(a));
/// ```
///
/// [`QListHead::first`]: crate::raw::QListHead::first
#[macro_export]
macro_rules! qlist_first_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QListHead::first(&$head)
    };
}

/// `QLIST_NEXT_RCU(elm, field)`: `Acquire`-loads the successor of `elm` (`Option<NonNull<Object>>`).
///
/// `qlist_next_rcu!(elm, Adapter)` expands to `QListHead::<Adapter>::next(elm)` without an `unsafe`
/// block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QListHead::next`]. `Adapter` stands in for C's `field`: it names the link `elm` is followed
/// through.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qlist_insert_head_rcu!(head, b);
///     rcu_queue::qlist_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qlist_next_rcu!(a, ByLink) }, Some(b));
/// assert_eq!(unsafe { rcu_queue::qlist_next_rcu!(b, ByLink) }, None);
/// ```
///
/// [`QListHead::next`]: crate::raw::QListHead::next
#[macro_export]
macro_rules! qlist_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        $crate::raw::QListHead::<$adapter>::next($elm)
    };
}

/// `QLIST_EMPTY_RCU(head)`: a `Relaxed` emptiness check, only a hint to concurrent readers.
///
/// `qlist_empty_rcu!(head)` expands to `QListHead::is_empty(&head)`, which is safe
/// ([`QListHead::is_empty`]).
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// assert!(rcu_queue::qlist_empty_rcu!(head)); // safe, like the method
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qlist_insert_head_rcu!(head, a) };
/// assert!(!rcu_queue::qlist_empty_rcu!(head));
/// ```
///
/// [`QListHead::is_empty`]: crate::raw::QListHead::is_empty
#[macro_export]
macro_rules! qlist_empty_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QListHead::is_empty(&$head)
    };
}

/// `QLIST_FOREACH_RCU(var, head, field)`: a `for` loop over the list, one `Acquire` load per step.
///
/// `qlist_foreach_rcu!(var in head => { body })` expands to `for var in QListHead::iter(&head) {
/// body }`, so `break` and `continue` work. The `# Safety` contract of [`QListHead::iter`] covers
/// the iterator's whole life and every yielded pointer, so the `unsafe` block you must write around
/// the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe { rcu_queue::qlist_insert_head_rcu!(head, b);
///     rcu_queue::qlist_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// let mut seen = Vec::new();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// unsafe { rcu_queue::qlist_foreach_rcu!(p in head => { seen.push(p.as_ref().v); }) };
/// assert_eq!(seen, [1, 2]);
/// ```
///
/// [`QListHead::iter`]: crate::raw::QListHead::iter
#[macro_export]
macro_rules! qlist_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QListHead::iter(&$head) $body
    };
}

/// `QLIST_FOREACH_SAFE_RCU(var, head, field, next_var)`: a `for` loop that loads each successor before running the body, so a writer's body may remove the element it was given.
///
/// `qlist_foreach_safe_rcu!(var in head => { body })` expands to `for var in
/// QListHead::iter_safe(&head) { body }`, so `break` and `continue` work. The `# Safety` contract
/// of [`QListHead::iter_safe`] covers the iterator's whole life and every yielded pointer, so the
/// `unsafe` block you must write around the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QListHead, QListLink};
/// # struct Item { v: u32, link: QListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3); `head` does not move (W4).
/// unsafe {
///     rcu_queue::qlist_insert_head_rcu!(head, c);
///     rcu_queue::qlist_insert_head_rcu!(head, b);
///     rcu_queue::qlist_insert_head_rcu!(head, a);
///     // Removing the element the body was given is what the SAFE variant allows.
///     rcu_queue::qlist_foreach_safe_rcu!(p in head => {
///         if p.as_ref().v != 2 {
///             rcu_queue::qlist_remove_rcu!(head, p);
///         }
///     });
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QListHead::iter_safe`]: crate::raw::QListHead::iter_safe
#[macro_export]
macro_rules! qlist_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QListHead::iter_safe(&$head) $body
    };
}

// ---- QSIMPLEQ ----

/// `QSIMPLEQ_INSERT_HEAD_RCU(head, elm, field)`: links `elm` first.
///
/// `qsimpleq_insert_head_rcu!(head, elm)` expands to `QSimpleqHead::insert_head(&head, elm)`
/// without an `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract
/// of [`QSimpleqHead::insert_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qsimpleq_insert_head_rcu!(head, a) };
/// assert_eq!(ids(&head), [1]);
/// ```
///
/// [`QSimpleqHead::insert_head`]: crate::raw::QSimpleqHead::insert_head
#[macro_export]
macro_rules! qsimpleq_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QSimpleqHead::insert_head(&$head, $elm)
    };
}

/// `QSIMPLEQ_INSERT_TAIL_RCU(head, elm, field)`: links `elm` last.
///
/// `qsimpleq_insert_tail_rcu!(head, elm)` expands to `QSimpleqHead::insert_tail(&head, elm)`
/// without an `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract
/// of [`QSimpleqHead::insert_tail`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qsimpleq_insert_tail_rcu!(head, a);
///     rcu_queue::qsimpleq_insert_tail_rcu!(head, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QSimpleqHead::insert_tail`]: crate::raw::QSimpleqHead::insert_tail
#[macro_export]
macro_rules! qsimpleq_insert_tail_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QSimpleqHead::insert_tail(&$head, $elm)
    };
}

/// `QSIMPLEQ_INSERT_AFTER_RCU(head, listelm, elm, field)`: links `elm` right after `listelm`.
///
/// `qsimpleq_insert_after_rcu!(head, listelm, elm)` expands to `QSimpleqHead::insert_after(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QSimpleqHead::insert_after`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a);
///     rcu_queue::qsimpleq_insert_after_rcu!(head, a, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QSimpleqHead::insert_after`]: crate::raw::QSimpleqHead::insert_after
#[macro_export]
macro_rules! qsimpleq_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QSimpleqHead::insert_after(&$head, $listelm, $elm)
    };
}

/// `QSIMPLEQ_REMOVE_HEAD_RCU(head, field)`: unlinks the first element and returns it (`Option<NonNull<Object>>`).
///
/// `qsimpleq_remove_head_rcu!(head)` expands to `QSimpleqHead::remove_head(&head)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSimpleqHead::remove_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qsimpleq_insert_head_rcu!(head, b);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a);
///     assert_eq!(rcu_queue::qsimpleq_remove_head_rcu!(head), Some(a));
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QSimpleqHead::remove_head`]: crate::raw::QSimpleqHead::remove_head
#[macro_export]
macro_rules! qsimpleq_remove_head_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSimpleqHead::remove_head(&$head)
    };
}

/// `QSIMPLEQ_REMOVE_RCU(head, elm, type, field)`: unlinks `elm`, keeping its `next` for readers standing on it.
///
/// `qsimpleq_remove_rcu!(head, elm)` expands to `QSimpleqHead::remove(&head, elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSimpleqHead::remove`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qsimpleq_insert_head_rcu!(head, b);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a);
///     rcu_queue::qsimpleq_remove_rcu!(head, a);
/// }
/// assert_eq!(ids(&head), [2]);
/// rcu_core::synchronize_rcu(); // only now could `a` be freed
/// ```
///
/// [`QSimpleqHead::remove`]: crate::raw::QSimpleqHead::remove
#[macro_export]
macro_rules! qsimpleq_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QSimpleqHead::remove(&$head, $elm)
    };
}

/// `QSIMPLEQ_FIRST_RCU(head)`: `Acquire`-loads the first element (`Option<NonNull<Object>>`).
///
/// `qsimpleq_first_rcu!(head)` expands to `QSimpleqHead::first(&head)` without an `unsafe` block:
/// call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSimpleqHead::first`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qsimpleq_insert_head_rcu!(head, a) };
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qsimpleq_first_rcu!(head) }, Some(a));
/// ```
///
/// [`QSimpleqHead::first`]: crate::raw::QSimpleqHead::first
#[macro_export]
macro_rules! qsimpleq_first_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSimpleqHead::first(&$head)
    };
}

/// `QSIMPLEQ_NEXT_RCU(elm, field)`: `Acquire`-loads the successor of `elm` (`Option<NonNull<Object>>`).
///
/// `qsimpleq_next_rcu!(elm, Adapter)` expands to `QSimpleqHead::<Adapter>::next(elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSimpleqHead::next`]. `Adapter` stands in for C's `field`: it names the link `elm` is followed
/// through.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qsimpleq_insert_head_rcu!(head, b);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qsimpleq_next_rcu!(a, ByLink) }, Some(b));
/// assert_eq!(unsafe { rcu_queue::qsimpleq_next_rcu!(b, ByLink) }, None);
/// ```
///
/// [`QSimpleqHead::next`]: crate::raw::QSimpleqHead::next
#[macro_export]
macro_rules! qsimpleq_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        $crate::raw::QSimpleqHead::<$adapter>::next($elm)
    };
}

/// `QSIMPLEQ_EMPTY_RCU(head)`: a `Relaxed` emptiness check, only a hint to concurrent readers.
///
/// `qsimpleq_empty_rcu!(head)` expands to `QSimpleqHead::is_empty(&head)`, which is safe
/// ([`QSimpleqHead::is_empty`]).
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// assert!(rcu_queue::qsimpleq_empty_rcu!(head)); // safe, like the method
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qsimpleq_insert_head_rcu!(head, a) };
/// assert!(!rcu_queue::qsimpleq_empty_rcu!(head));
/// ```
///
/// [`QSimpleqHead::is_empty`]: crate::raw::QSimpleqHead::is_empty
#[macro_export]
macro_rules! qsimpleq_empty_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSimpleqHead::is_empty(&$head)
    };
}

/// `QSIMPLEQ_FOREACH_RCU(var, head, field)`: a `for` loop over the list, one `Acquire` load per step.
///
/// `qsimpleq_foreach_rcu!(var in head => { body })` expands to `for var in
/// QSimpleqHead::iter(&head) { body }`, so `break` and `continue` work. The `# Safety` contract of
/// [`QSimpleqHead::iter`] covers the iterator's whole life and every yielded pointer, so the
/// `unsafe` block you must write around the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qsimpleq_insert_head_rcu!(head, b);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// let mut seen = Vec::new();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// unsafe { rcu_queue::qsimpleq_foreach_rcu!(p in head => { seen.push(p.as_ref().v); }) };
/// assert_eq!(seen, [1, 2]);
/// ```
///
/// [`QSimpleqHead::iter`]: crate::raw::QSimpleqHead::iter
#[macro_export]
macro_rules! qsimpleq_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QSimpleqHead::iter(&$head) $body
    };
}

/// `QSIMPLEQ_FOREACH_SAFE_RCU(var, head, field, next_var)`: a `for` loop that loads each successor before running the body, so a writer's body may remove the element it was given.
///
/// `qsimpleq_foreach_safe_rcu!(var in head => { body })` expands to `for var in
/// QSimpleqHead::iter_safe(&head) { body }`, so `break` and `continue` work. The `# Safety`
/// contract of [`QSimpleqHead::iter_safe`] covers the iterator's whole life and every yielded
/// pointer, so the `unsafe` block you must write around the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSimpleqHead, QSimpleqLink};
/// # struct Item { v: u32, link: QSimpleqLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSimpleqLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSimpleqLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSimpleqHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSimpleqHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qsimpleq_insert_head_rcu!(head, c);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, b);
///     rcu_queue::qsimpleq_insert_head_rcu!(head, a);
///     // Removing the element the body was given is what the SAFE variant allows.
///     rcu_queue::qsimpleq_foreach_safe_rcu!(p in head => {
///         if p.as_ref().v != 2 {
///             rcu_queue::qsimpleq_remove_rcu!(head, p);
///         }
///     });
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QSimpleqHead::iter_safe`]: crate::raw::QSimpleqHead::iter_safe
#[macro_export]
macro_rules! qsimpleq_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QSimpleqHead::iter_safe(&$head) $body
    };
}

// ---- QSLIST ----

/// `QSLIST_INSERT_HEAD_RCU(head, elm, field)`: links `elm` first.
///
/// `qslist_insert_head_rcu!(head, elm)` expands to `QSListHead::insert_head(&head, elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSListHead::insert_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qslist_insert_head_rcu!(head, a) };
/// assert_eq!(ids(&head), [1]);
/// ```
///
/// [`QSListHead::insert_head`]: crate::raw::QSListHead::insert_head
#[macro_export]
macro_rules! qslist_insert_head_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QSListHead::insert_head(&$head, $elm)
    };
}

/// `QSLIST_INSERT_AFTER_RCU(head, listelm, elm, field)`: links `elm` right after `listelm`.
///
/// `qslist_insert_after_rcu!(head, listelm, elm)` expands to `QSListHead::insert_after(&head,
/// listelm, elm)` without an `unsafe` block: call it inside your own `unsafe { }` and meet the `#
/// Safety` contract of [`QSListHead::insert_after`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qslist_insert_head_rcu!(head, a);
///     rcu_queue::qslist_insert_after_rcu!(head, a, b);
/// }
/// assert_eq!(ids(&head), [1, 2]);
/// ```
///
/// [`QSListHead::insert_after`]: crate::raw::QSListHead::insert_after
#[macro_export]
macro_rules! qslist_insert_after_rcu {
    ($head:expr, $listelm:expr, $elm:expr $(,)?) => {
        $crate::raw::QSListHead::insert_after(&$head, $listelm, $elm)
    };
}

/// `QSLIST_REMOVE_HEAD_RCU(head, field)`: unlinks the first element and returns it (`Option<NonNull<Object>>`).
///
/// `qslist_remove_head_rcu!(head)` expands to `QSListHead::remove_head(&head)` without an `unsafe`
/// block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSListHead::remove_head`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qslist_insert_head_rcu!(head, b);
///     rcu_queue::qslist_insert_head_rcu!(head, a);
///     assert_eq!(rcu_queue::qslist_remove_head_rcu!(head), Some(a));
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QSListHead::remove_head`]: crate::raw::QSListHead::remove_head
#[macro_export]
macro_rules! qslist_remove_head_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSListHead::remove_head(&$head)
    };
}

/// `QSLIST_REMOVE_RCU(head, elm, type, field)`: unlinks `elm`, keeping its `next` for readers standing on it.
///
/// `qslist_remove_rcu!(head, elm)` expands to `QSListHead::remove(&head, elm)` without an `unsafe`
/// block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSListHead::remove`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qslist_insert_head_rcu!(head, b);
///     rcu_queue::qslist_insert_head_rcu!(head, a);
///     rcu_queue::qslist_remove_rcu!(head, a);
/// }
/// assert_eq!(ids(&head), [2]);
/// rcu_core::synchronize_rcu(); // only now could `a` be freed
/// ```
///
/// [`QSListHead::remove`]: crate::raw::QSListHead::remove
#[macro_export]
macro_rules! qslist_remove_rcu {
    ($head:expr, $elm:expr $(,)?) => {
        $crate::raw::QSListHead::remove(&$head, $elm)
    };
}

/// `QSLIST_FIRST_RCU(head)`: `Acquire`-loads the first element (`Option<NonNull<Object>>`).
///
/// `qslist_first_rcu!(head)` expands to `QSListHead::first(&head)` without an `unsafe` block: call
/// it inside your own `unsafe { }` and meet the `# Safety` contract of [`QSListHead::first`].
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qslist_insert_head_rcu!(head, a) };
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qslist_first_rcu!(head) }, Some(a));
/// ```
///
/// [`QSListHead::first`]: crate::raw::QSListHead::first
#[macro_export]
macro_rules! qslist_first_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSListHead::first(&$head)
    };
}

/// `QSLIST_NEXT_RCU(elm, field)`: `Acquire`-loads the successor of `elm` (`Option<NonNull<Object>>`).
///
/// `qslist_next_rcu!(elm, Adapter)` expands to `QSListHead::<Adapter>::next(elm)` without an
/// `unsafe` block: call it inside your own `unsafe { }` and meet the `# Safety` contract of
/// [`QSListHead::next`]. `Adapter` stands in for C's `field`: it names the link `elm` is followed
/// through.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qslist_insert_head_rcu!(head, b);
///     rcu_queue::qslist_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// assert_eq!(unsafe { rcu_queue::qslist_next_rcu!(a, ByLink) }, Some(b));
/// assert_eq!(unsafe { rcu_queue::qslist_next_rcu!(b, ByLink) }, None);
/// ```
///
/// [`QSListHead::next`]: crate::raw::QSListHead::next
#[macro_export]
macro_rules! qslist_next_rcu {
    ($elm:expr, $adapter:ty $(,)?) => {
        $crate::raw::QSListHead::<$adapter>::next($elm)
    };
}

/// `QSLIST_EMPTY_RCU(head)`: a `Relaxed` emptiness check, only a hint to concurrent readers.
///
/// `qslist_empty_rcu!(head)` expands to `QSListHead::is_empty(&head)`, which is safe
/// ([`QSListHead::is_empty`]).
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// assert!(rcu_queue::qslist_empty_rcu!(head)); // safe, like the method
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qslist_insert_head_rcu!(head, a) };
/// assert!(!rcu_queue::qslist_empty_rcu!(head));
/// ```
///
/// [`QSListHead::is_empty`]: crate::raw::QSListHead::is_empty
#[macro_export]
macro_rules! qslist_empty_rcu {
    ($head:expr $(,)?) => {
        $crate::raw::QSListHead::is_empty(&$head)
    };
}

/// `QSLIST_FOREACH_RCU(var, head, field)`: a `for` loop over the list, one `Acquire` load per step.
///
/// `qslist_foreach_rcu!(var in head => { body })` expands to `for var in QSListHead::iter(&head) {
/// body }`, so `break` and `continue` work. The `# Safety` contract of [`QSListHead::iter`] covers
/// the iterator's whole life and every yielded pointer, so the `unsafe` block you must write around
/// the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe { rcu_queue::qslist_insert_head_rcu!(head, b);
///     rcu_queue::qslist_insert_head_rcu!(head, a); }
/// let _guard = rcu_core::read_lock();
/// let mut seen = Vec::new();
/// // SAFETY: inside a read-side critical section (R1); nothing is freed.
/// unsafe { rcu_queue::qslist_foreach_rcu!(p in head => { seen.push(p.as_ref().v); }) };
/// assert_eq!(seen, [1, 2]);
/// ```
///
/// [`QSListHead::iter`]: crate::raw::QSListHead::iter
#[macro_export]
macro_rules! qslist_foreach_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QSListHead::iter(&$head) $body
    };
}

/// `QSLIST_FOREACH_SAFE_RCU(var, head, field, next_var)`: a `for` loop that loads each successor before running the body, so a writer's body may remove the element it was given.
///
/// `qslist_foreach_safe_rcu!(var in head => { body })` expands to `for var in
/// QSListHead::iter_safe(&head) { body }`, so `break` and `continue` work. The `# Safety` contract
/// of [`QSListHead::iter_safe`] covers the iterator's whole life and every yielded pointer, so the
/// `unsafe` block you must write around the macro also covers the body, as in C.
///
/// # Example
///
/// ```
/// # use core::ptr::NonNull;
/// # use rcu_queue::raw::{QSListHead, QSListLink};
/// # struct Item { v: u32, link: QSListLink }
/// # rcu_queue::adapter!(ByLink = Item { link: QSListLink });
/// # let mut items = [1, 2, 3].map(|v| Item { v, link: QSListLink::new() });
/// # let [a, b, c] = items.each_mut().map(NonNull::from);
/// # let ids = |h: &QSListHead<ByLink>| -> Vec<u32> {
/// #     // SAFETY: single-threaded; the items outlive every use of the list.
/// #     unsafe { h.iter() }.map(|p| unsafe { p.as_ref() }.v).collect()
/// # };
/// let head = QSListHead::<ByLink>::new();
/// // SAFETY: this thread is the only writer (W1); `items` outlives `head`'s use and each item is
/// // linked at most once (W2, W3).
/// unsafe {
///     rcu_queue::qslist_insert_head_rcu!(head, c);
///     rcu_queue::qslist_insert_head_rcu!(head, b);
///     rcu_queue::qslist_insert_head_rcu!(head, a);
///     // Removing the element the body was given is what the SAFE variant allows.
///     rcu_queue::qslist_foreach_safe_rcu!(p in head => {
///         if p.as_ref().v != 2 {
///             rcu_queue::qslist_remove_rcu!(head, p);
///         }
///     });
/// }
/// assert_eq!(ids(&head), [2]);
/// ```
///
/// [`QSListHead::iter_safe`]: crate::raw::QSListHead::iter_safe
#[macro_export]
macro_rules! qslist_foreach_safe_rcu {
    ($var:pat in $head:expr => $body:block) => {
        for $var in $crate::raw::QSListHead::iter_safe(&$head) $body
    };
}
