//! The four list families as type parameters of the safe [`RcuQueue`](crate::RcuQueue).
//!
//! [`Tailq`], [`List`], [`Simpleq`] and [`Slist`] pick the raw head and link behind a safe list. The
//! family decides which writer operations exist: [`WithTail`] families have `push_back`, [`WithPrev`]
//! families have `insert_before`. The traits are sealed.

use crate::node::{Node, NodeAdapter};
use crate::raw::{self, Iter, IterSafe};
use core::ptr::NonNull;

/// A list family: [`Tailq`], [`List`], [`Simpleq`] or [`Slist`]. Sealed.
///
/// # Example
///
/// ```
/// use rcu_queue::family::{Family, Slist};
/// fn name<F: Family>() -> &'static str { F::NAME }
/// assert_eq!(name::<Slist>(), "QSLIST");
/// ```
pub trait Family: sealed::FamilyOps {
    /// The QEMU name of the family (`"QTAILQ"`, ...).
    const NAME: &'static str;
}

/// Families with a tail pointer, so `push_back` is O(1): [`Tailq`] and [`Simpleq`].
///
/// # Example
///
/// ```
/// use rcu_queue::{RcuSimpleq, family::WithTail};
/// fn tail_capable<F: WithTail>() {}
/// tail_capable::<rcu_queue::family::Simpleq>();
/// let q = RcuSimpleq::new();
/// q.lock().push_back(1);
/// ```
pub trait WithTail: Family + sealed::TailOps {}

/// Doubly linked families, which can insert before an element: [`Tailq`] and [`List`].
///
/// # Example
///
/// ```
/// use rcu_queue::RcuList;
/// let list = RcuList::new();
/// let mut w = list.lock();
/// w.push_front(3);
/// w.insert_before(|&v| v == 3, 2).unwrap();
/// assert_eq!(w.iter().copied().collect::<Vec<_>>(), [2, 3]);
/// ```
pub trait WithPrev: Family + sealed::BeforeOps {}

/// QTAILQ: doubly linked with a tail ([`raw::QTailqHead`]). Every writer operation is available.
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

/// QLIST: doubly linked without a tail ([`raw::QListHead`]). No `push_back`.
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

/// QSIMPLEQ: singly linked with a tail ([`raw::QSimpleqHead`]). No `insert_before`.
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

/// QSLIST: singly linked ([`raw::QSListHead`]). No `push_back`, no `insert_before`.
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

pub(crate) mod sealed {
    use super::*;

    /// The raw operations a safe list needs, implemented once per family.
    ///
    /// Every `unsafe fn` here has the contract of the raw operation it forwards to (writer rules W1–W5
    /// or reader rule R1 of [`crate::raw`]), with `node`/`at`/`prev` being nodes from
    /// [`crate::node::alloc`].
    pub trait FamilyOps: Sized + 'static {
        type Link: raw::RcuLink + Send + Sync;
        type Head<T>;
        fn new_link() -> Self::Link;
        fn new_head<T>() -> Self::Head<T>;
        fn is_empty<T>(head: &Self::Head<T>) -> bool;
        /// # Safety
        /// R1 (or writer exclusivity) for the iterator's life.
        unsafe fn iter<T>(head: &Self::Head<T>) -> Iter<'_, NodeAdapter<T, Self>>;
        /// # Safety
        /// R1 (or writer exclusivity) for the iterator's life.
        unsafe fn iter_safe<T>(head: &Self::Head<T>) -> IterSafe<'_, NodeAdapter<T, Self>>;
        /// # Safety
        /// W1–W4.
        unsafe fn push_front<T>(head: &Self::Head<T>, node: NonNull<Node<T, Self>>);
        /// # Safety
        /// W1–W5 (`at` is on the list).
        unsafe fn insert_after<T>(
            head: &Self::Head<T>,
            at: NonNull<Node<T, Self>>,
            node: NonNull<Node<T, Self>>,
        );
        /// Unlinks `node`, whose predecessor is `prev` (`None` if `node` is first).
        ///
        /// # Safety
        /// W1, W2, W4; `node` is on the list and `prev` is its predecessor.
        unsafe fn remove<T>(
            head: &Self::Head<T>,
            prev: Option<NonNull<Node<T, Self>>>,
            node: NonNull<Node<T, Self>>,
        );
    }

    /// `push_back` for families with a tail.
    pub trait TailOps: FamilyOps {
        /// # Safety
        /// W1–W4.
        unsafe fn push_back<T>(head: &Self::Head<T>, node: NonNull<Node<T, Self>>);
    }

    /// `insert_before` for doubly linked families.
    pub trait BeforeOps: FamilyOps {
        /// # Safety
        /// W1–W5 (`at` is on the list).
        unsafe fn insert_before<T>(
            head: &Self::Head<T>,
            at: NonNull<Node<T, Self>>,
            node: NonNull<Node<T, Self>>,
        );
    }
}

use sealed::{BeforeOps, FamilyOps, TailOps};

/// Implements the common part of [`FamilyOps`] for one family.
macro_rules! family_ops {
    ($family:ty, $name:literal, $head:ident, $link:ident, |$h:ident, $prev:ident, $node:ident| $remove:block) => {
        impl Family for $family {
            const NAME: &'static str = $name;
        }

        impl FamilyOps for $family {
            type Link = raw::$link;
            type Head<T> = raw::$head<NodeAdapter<T, Self>>;

            fn new_link() -> Self::Link {
                raw::$link::new()
            }
            fn new_head<T>() -> Self::Head<T> {
                raw::$head::new()
            }
            fn is_empty<T>(head: &Self::Head<T>) -> bool {
                head.is_empty()
            }
            unsafe fn iter<T>(head: &Self::Head<T>) -> Iter<'_, NodeAdapter<T, Self>> {
                // SAFETY: same contract.
                unsafe { head.iter() }
            }
            unsafe fn iter_safe<T>(head: &Self::Head<T>) -> IterSafe<'_, NodeAdapter<T, Self>> {
                // SAFETY: same contract.
                unsafe { head.iter_safe() }
            }
            unsafe fn push_front<T>(head: &Self::Head<T>, node: NonNull<Node<T, Self>>) {
                // SAFETY: same contract.
                unsafe { head.insert_head(node) }
            }
            unsafe fn insert_after<T>(
                head: &Self::Head<T>,
                at: NonNull<Node<T, Self>>,
                node: NonNull<Node<T, Self>>,
            ) {
                // SAFETY: same contract.
                unsafe { head.insert_after(at, node) }
            }
            unsafe fn remove<T>(
                $h: &Self::Head<T>,
                $prev: Option<NonNull<Node<T, Self>>>,
                $node: NonNull<Node<T, Self>>,
            ) {
                $remove
            }
        }
    };
}

family_ops!(
    Tailq,
    "QTAILQ",
    QTailqHead,
    QTailqLink,
    |head, _prev, node| {
        // SAFETY: same contract; a doubly linked list needs no predecessor.
        unsafe { head.remove(node) }
    }
);
family_ops!(List, "QLIST", QListHead, QListLink, |head, _prev, node| {
    // SAFETY: same contract; a doubly linked list needs no predecessor.
    unsafe { head.remove(node) }
});
family_ops!(
    Simpleq,
    "QSIMPLEQ",
    QSimpleqHead,
    QSimpleqLink,
    |head, prev, node| {
        // SAFETY: same contract; `prev` is `node`'s predecessor, so this unlinks exactly `node`.
        let removed = unsafe {
            match prev {
                None => head.remove_head(),
                Some(prev) => head.remove_after(prev),
            }
        };
        debug_assert_eq!(removed, Some(node));
    }
);
family_ops!(
    Slist,
    "QSLIST",
    QSListHead,
    QSListLink,
    |head, prev, node| {
        // SAFETY: same contract; `prev` is `node`'s predecessor, so this unlinks exactly `node`.
        let removed = unsafe {
            match prev {
                None => head.remove_head(),
                Some(prev) => head.remove_after(prev),
            }
        };
        debug_assert_eq!(removed, Some(node));
    }
);

impl TailOps for Tailq {
    unsafe fn push_back<T>(head: &Self::Head<T>, node: NonNull<Node<T, Self>>) {
        // SAFETY: same contract.
        unsafe { head.insert_tail(node) }
    }
}
impl TailOps for Simpleq {
    unsafe fn push_back<T>(head: &Self::Head<T>, node: NonNull<Node<T, Self>>) {
        // SAFETY: same contract.
        unsafe { head.insert_tail(node) }
    }
}
impl WithTail for Tailq {}
impl WithTail for Simpleq {}

impl BeforeOps for Tailq {
    unsafe fn insert_before<T>(
        head: &Self::Head<T>,
        at: NonNull<Node<T, Self>>,
        node: NonNull<Node<T, Self>>,
    ) {
        // SAFETY: same contract.
        unsafe { head.insert_before(at, node) }
    }
}
impl BeforeOps for List {
    unsafe fn insert_before<T>(
        head: &Self::Head<T>,
        at: NonNull<Node<T, Self>>,
        node: NonNull<Node<T, Self>>,
    ) {
        // SAFETY: same contract.
        unsafe { head.insert_before(at, node) }
    }
}
impl WithPrev for Tailq {}
impl WithPrev for List {}
