//! `Iter` claims `FusedIterator`: once it has returned `None` it must keep returning `None`, even if a
//! writer links a new element behind it (issue 8, item 10).
#![cfg(not(loom))]

use rcu_queue::RcuQueue;
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};

/// Exhausts a reader's iterator, appends after the element it stopped at, and steps it again.
fn stays_exhausted<F: Family>() {
    let list: RcuQueue<u32, F> = RcuQueue::new();
    list.lock().push_front(1);
    let guard = rcu_core::read_lock();
    let mut it = list.iter(&guard);
    assert_eq!(it.next(), Some(&1));
    assert_eq!(it.next(), None);
    // A concurrent writer (here the same thread: the reader holds no writer lock) appends.
    list.lock().insert_after(|&v| v == 1, 2).unwrap();
    assert_eq!(
        it.next(),
        None,
        "{}: Iter is FusedIterator but yielded again after None",
        F::NAME
    );
    // On an empty list too: the head's first pointer is the one that changes.
    let empty: RcuQueue<u32, F> = RcuQueue::new();
    let mut it = empty.iter(&guard);
    assert_eq!(it.next(), None);
    empty.lock().push_front(3);
    assert_eq!(it.next(), None, "{}: empty-list Iter revived", F::NAME);
}

#[test]
fn qtailq_iter_is_fused() {
    stays_exhausted::<Tailq>();
}

#[test]
fn qlist_iter_is_fused() {
    stays_exhausted::<List>();
}

#[test]
fn qsimpleq_iter_is_fused() {
    stays_exhausted::<Simpleq>();
}

#[test]
fn qslist_iter_is_fused() {
    stays_exhausted::<Slist>();
}
