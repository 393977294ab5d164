//! The four list families as type parameters of the safe [`RcuQueue`](crate::RcuQueue).
//!
//! [`Tailq`], [`List`], [`Simpleq`] and [`Slist`] pick the raw head and link behind a safe list. Every
//! writer operation exists for every family, so code generic over `F: Family` compiles; the
//! capability traits say where an operation is O(1) rather than a walk, for code that needs the
//! guarantee:
//!
//! | operation | [`Tailq`] | [`List`] | [`Simpleq`] | [`Slist`] | O(1) for |
//! |---|---|---|---|---|---|
//! | `push_front`, `insert_after`, cursor `remove` after a walk | O(1) | O(1) | O(1) | O(1) | [`Family`] |
//! | `push_back` | O(1) | O(n) | O(1) | O(n) | [`WithTail`] |
//! | `insert_before`; `remove` from a [`Handle`](crate::Handle) | O(1) | O(1) | O(n) | O(n) | [`WithPrev`] |
//!
//! The traits are sealed.

use crate::node::{NodeAdapter, sealed};
use crate::raw;

/// A list family: [`Tailq`], [`List`], [`Simpleq`] or [`Slist`]. Sealed.
///
/// # Example
///
/// ```
/// use rcu_queue::{RcuQueue, family::{Family, Slist}};
/// // Generic over all four families: every writer operation exists for each.
/// fn fill<F: Family>(list: &RcuQueue<u32, F>) {
///     let mut w = list.lock();
///     w.push_back(2);
///     w.push_front(1);
/// }
/// let list = RcuQueue::<u32, Slist>::new();
/// fill(&list);
/// assert_eq!(list.lock().iter().copied().collect::<Vec<_>>(), [1, 2]);
/// ```
pub trait Family: sealed::Sealed + Sized + 'static {
    /// The QEMU name of the family (`"QTAILQ"`, ...).
    const NAME: &'static str;
}

/// Families with a tail pointer, whose `push_back` is O(1) (`*_INSERT_TAIL_RCU`): [`Tailq`] and
/// [`Simpleq`].
///
/// # Example
///
/// ```
/// use rcu_queue::{RcuQueue, family::WithTail};
/// // A FIFO that must not walk the list to append.
/// fn enqueue<F: WithTail>(q: &RcuQueue<u32, F>, v: u32) {
///     q.lock().push_back(v);
/// }
/// let q = rcu_queue::RcuSimpleq::new();
/// enqueue(&q, 1);
/// ```
pub trait WithTail: Family {}

/// Doubly linked families, whose `insert_before` and removal by [`Handle`](crate::Handle) are O(1)
/// (`*_INSERT_BEFORE_RCU`, `*_REMOVE_RCU`): [`Tailq`] and [`List`].
///
/// # Example
///
/// ```
/// use rcu_queue::{Handle, RcuQueue, family::WithPrev};
/// // O(1) unplug given the handle kept at plug time (QEMU's bus_remove_child).
/// fn unplug<F: WithPrev>(list: &RcuQueue<u32, F>, kid: &Handle<u32, F>) -> bool {
///     let mut w = list.lock();
///     w.cursor(kid).map(|c| c.remove()).is_some()
/// }
/// let list = rcu_queue::RcuList::new();
/// let kid = list.lock().push_front(3).handle();
/// assert!(unplug(&list, &kid));
/// assert!(!unplug(&list, &kid));
/// ```
pub trait WithPrev: Family {}

/// QTAILQ: doubly linked with a tail ([`raw::QTailqHead`]). Every writer operation is O(1).
///
/// # Example
///
/// ```
/// let q = rcu_queue::RcuTailq::new();
/// q.lock().push_back("scsi-hd");
/// assert!(!q.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Tailq {}

/// QLIST: doubly linked without a tail ([`raw::QListHead`]). `push_back` walks the list.
///
/// # Example
///
/// ```
/// let l = rcu_queue::RcuList::new();
/// l.lock().push_front(1);
/// assert!(!l.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub enum List {}

/// QSIMPLEQ: singly linked with a tail ([`raw::QSimpleqHead`]). `insert_before` and removal by handle
/// walk the list.
///
/// # Example
///
/// ```
/// let q = rcu_queue::RcuSimpleq::new();
/// q.lock().push_back(1);
/// assert!(!q.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Simpleq {}

/// QSLIST: singly linked ([`raw::QSListHead`]). `push_back`, `insert_before` and removal by handle
/// walk the list.
///
/// # Example
///
/// ```
/// let l = rcu_queue::RcuSlist::new();
/// l.lock().push_front(1);
/// assert!(!l.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Slist {}

/// Implements [`Family`] and its sealed half for one family.
macro_rules! family {
    ($family:ident, $name:literal, $head:ident, $link:ident) => {
        impl Family for $family {
            const NAME: &'static str = $name;
        }
        impl sealed::Sealed for $family {
            type Link = raw::$link;
            type Head<T> = raw::$head<NodeAdapter<T, Self>>;
        }
    };
}

family!(Tailq, "QTAILQ", QTailqHead, QTailqLink);
family!(List, "QLIST", QListHead, QListLink);
family!(Simpleq, "QSIMPLEQ", QSimpleqHead, QSimpleqLink);
family!(Slist, "QSLIST", QSListHead, QSListLink);
impl WithTail for Tailq {}
impl WithTail for Simpleq {}
impl WithPrev for Tailq {}
impl WithPrev for List {}
