//! Workload 5: traversing a 64-element list while a writer churns it.
//!
//! Readers sum every element under one read-side section (one guard, one read lock);
//! the optional background writer removes the oldest element and appends a new one
//! in a loop, so the length stays [`LIST_LEN`]. The contenders come in two data layouts:
//!
//! * a linked list of boxed nodes: rcu-queue's `RcuTailq`, the plain [`SList`] behind
//!   `std::sync::RwLock` and `std::sync::Mutex`, and, as the single-threaded floor, the
//!   same plain list walked with no synchronization at all;
//! * a contiguous `Vec<u64>`: behind `std::sync::RwLock` and `std::sync::Mutex`
//!   (parking_lot's `RwLock` lives next to the criterion target) and behind an rcu-core
//!   `RcuCell` (copy-update-publish writer).
//!
//! Comparing within a layout isolates the cost of the synchronization; comparing across
//! layouts shows what the data structure itself costs.

use std::hint::black_box;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use rcu_queue::RcuTailq;

use crate::driver::timed_parallel;
use crate::slist::SList;

/// Elements in every list.
pub const LIST_LEN: usize = 64;

/// A list that readers traverse and one writer churns.
pub trait TraversalList: Sync + Send {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// A list holding `values` in order.
    fn from_values(values: impl Iterator<Item = u64>) -> Self
    where
        Self: Sized;

    /// Per-thread set-up before the measured phase.
    fn register(&self) {}

    /// One full traversal under one read-side section; returns the sum of the elements.
    fn sum(&self) -> u64;

    /// Removes the oldest element and appends `next`.
    fn churn(&self, next: u64);

    /// Reclaims what churning left behind (after the clock stopped).
    fn quiesce(&self) {}
}

/// A list of `0..LIST_LEN`.
///
/// ```
/// use benches::list::{new_list, RcuQueue, TraversalList, LIST_LEN};
/// let list: RcuQueue = new_list();
/// assert_eq!(list.sum(), (0..LIST_LEN as u64).sum::<u64>());
/// ```
pub fn new_list<L: TraversalList>() -> L {
    L::from_values(0..LIST_LEN as u64)
}

/// What the background writer does while the readers traverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// No writer.
    None,
    /// One update (remove the oldest, append a new element) after another, as fast as it can:
    /// the worst case, where the list's nodes are replaced faster than readers can keep them cached.
    Churn,
    /// One update, then a pause of this long outside any lock (a read-mostly list, such as a bus's
    /// children under hot-plug): the same update rate for every contender.
    Paced(Duration),
}

/// Pause of the paced writer between updates.
pub const WRITER_PAUSE: Duration = Duration::from_micros(50);

/// `readers` threads each traverse the list `iters` times, with a background writer as given by
/// `writer`. Returns the wall time of the traversals.
///
/// ```
/// use benches::list::{drive_traverse, new_list, StdRwLockVec, Writer};
/// let list: StdRwLockVec = new_list();
/// assert!(drive_traverse(&list, 2, Writer::Churn, 100).as_nanos() > 0);
/// ```
pub fn drive_traverse<L: TraversalList>(
    list: &L,
    readers: usize,
    writer: Writer,
    iters: u64,
) -> Duration {
    let elapsed = timed_parallel(
        list,
        readers,
        usize::from(writer != Writer::None),
        |l, _| l.register(),
        |l, _| {
            let mut acc = 0u64;
            for _ in 0..iters {
                acc = acc.wrapping_add(l.sum());
            }
            black_box(acc);
        },
        |l, _, stop| {
            let mut next = LIST_LEN as u64;
            while !stop.is_set() {
                l.churn(next);
                next += 1;
                if let Writer::Paced(pause) = writer {
                    // Pacing of the update rate, not synchronization.
                    std::thread::sleep(pause);
                }
            }
        },
        |_, _| {},
    );
    list.quiesce();
    elapsed
}

/// rcu-queue's `RcuTailq<u64>` (QEMU `QTAILQ_FOREACH_RCU` readers, `QTAILQ_REMOVE_RCU` +
/// `QTAILQ_INSERT_TAIL_RCU` writer under the list's own writer lock).
#[derive(Debug)]
pub struct RcuQueue(RcuTailq<u64>);

impl TraversalList for RcuQueue {
    const NAME: &'static str = "rcu-queue RcuTailq";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        let list = RcuTailq::new();
        {
            let mut writer = list.lock();
            for v in values {
                writer.push_back(v);
            }
        }
        Self(list)
    }

    fn register(&self) {
        rcu_core::register_thread();
    }

    #[inline]
    fn sum(&self) -> u64 {
        let guard = rcu_core::read_lock();
        self.0
            .iter(&guard)
            .fold(0u64, |acc, v| acc.wrapping_add(*v))
    }

    fn churn(&self, next: u64) {
        let mut writer = self.0.lock();
        writer.remove_first(|_| true);
        writer.push_back(next);
    }

    fn quiesce(&self) {
        rcu_core::rcu_barrier();
    }
}

/// A `Vec<u64>` behind `std::sync::RwLock`.
#[derive(Debug)]
pub struct StdRwLockVec(RwLock<Vec<u64>>);

impl TraversalList for StdRwLockVec {
    const NAME: &'static str = "std RwLock<Vec>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(RwLock::new(values.collect()))
    }

    #[inline]
    fn sum(&self) -> u64 {
        let vec = self.0.read().unwrap_or_else(PoisonError::into_inner);
        black_box(&*vec)
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(*v))
    }

    fn churn(&self, next: u64) {
        let mut vec = self.0.write().unwrap_or_else(PoisonError::into_inner);
        vec.remove(0);
        vec.push(next);
    }
}

/// The same `Vec<u64>` published through an `rcu_core::RcuCell`: readers sum it under a read
/// guard, the writer copies it, updates the copy and publishes it (`RcuCell::update`; the old
/// vector is dropped after a grace period). Same data layout as the `RwLock<Vec>` contenders,
/// so it isolates the cost of the synchronization from that of the data structure.
#[derive(Debug)]
pub struct RcuCellVec(rcu_core::RcuCell<Vec<u64>>);

impl TraversalList for RcuCellVec {
    const NAME: &'static str = "rcu-core RcuCell<Vec>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(rcu_core::RcuCell::new(values.collect()))
    }

    fn register(&self) {
        rcu_core::register_thread();
    }

    #[inline]
    fn sum(&self) -> u64 {
        let guard = rcu_core::read_lock();
        black_box(self.0.read(&guard))
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(*v))
    }

    fn churn(&self, next: u64) {
        self.0.update(|old| {
            let mut new = Vec::with_capacity(old.len());
            new.extend_from_slice(&old[1..]);
            new.push(next);
            new
        });
    }

    fn quiesce(&self) {
        rcu_core::rcu_barrier();
    }
}

/// A `Vec<u64>` behind `std::sync::Mutex`: every reader excludes every other reader.
#[derive(Debug)]
pub struct StdMutexVec(Mutex<Vec<u64>>);

impl TraversalList for StdMutexVec {
    const NAME: &'static str = "std Mutex<Vec>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(Mutex::new(values.collect()))
    }

    #[inline]
    fn sum(&self) -> u64 {
        let vec = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        black_box(&*vec)
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(*v))
    }

    fn churn(&self, next: u64) {
        let mut vec = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        vec.remove(0);
        vec.push(next);
    }
}

/// The RCU list's data layout (one boxed node per element) behind `std::sync::RwLock`:
/// readers walk the chain under one read lock, the writer pops the head and appends a node
/// under the write lock.
#[derive(Debug)]
pub struct StdRwLockList(RwLock<SList>);

impl TraversalList for StdRwLockList {
    const NAME: &'static str = "std RwLock<linked list>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(RwLock::new(values.collect()))
    }

    #[inline]
    fn sum(&self) -> u64 {
        self.0.read().unwrap_or_else(PoisonError::into_inner).sum()
    }

    fn churn(&self, next: u64) {
        let mut list = self.0.write().unwrap_or_else(PoisonError::into_inner);
        list.pop_front();
        list.push_back(next);
    }
}

/// The same linked list behind `std::sync::Mutex`.
#[derive(Debug)]
pub struct StdMutexList(Mutex<SList>);

impl TraversalList for StdMutexList {
    const NAME: &'static str = "std Mutex<linked list>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(Mutex::new(values.collect()))
    }

    #[inline]
    fn sum(&self) -> u64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).sum()
    }

    fn churn(&self, next: u64) {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.pop_front();
        list.push_back(next);
    }
}

/// The floor: the same linked list walked with no synchronization at all.
/// It can only be read; [`TraversalList::churn`] panics.
#[derive(Debug)]
pub struct PlainList(SList);

impl TraversalList for PlainList {
    const NAME: &'static str = "plain linked list";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(values.collect())
    }

    #[inline]
    fn sum(&self) -> u64 {
        self.0.sum()
    }

    fn churn(&self, _next: u64) {
        panic!(
            "PlainList is the unsynchronized single-threaded baseline: it cannot be churned; \
             benchmark it with `Writer::None` only"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise<L: TraversalList>(writer: Writer) {
        let list: L = new_list();
        let expected: u64 = (0..LIST_LEN as u64).sum();
        assert_eq!(list.sum(), expected);
        assert!(drive_traverse(&list, 2, writer, 50) > Duration::ZERO);
        if writer == Writer::None {
            assert_eq!(list.sum(), expected);
        }
    }

    #[test]
    fn contenders_traverse_with_and_without_a_writer() {
        for writer in [Writer::Churn, Writer::Paced(WRITER_PAUSE)] {
            exercise::<RcuQueue>(writer);
            exercise::<RcuCellVec>(writer);
            exercise::<StdRwLockVec>(writer);
            exercise::<StdMutexVec>(writer);
            exercise::<StdRwLockList>(writer);
            exercise::<StdMutexList>(writer);
        }
        exercise::<PlainList>(Writer::None);
    }

    #[test]
    fn churn_keeps_the_length() {
        let list: RcuQueue = new_list();
        list.churn(100);
        assert_eq!(list.sum(), (1..LIST_LEN as u64).sum::<u64>() + 100);
        let vec: StdRwLockVec = new_list();
        vec.churn(100);
        assert_eq!(vec.sum(), (1..LIST_LEN as u64).sum::<u64>() + 100);
        let cell: RcuCellVec = new_list();
        cell.churn(100);
        assert_eq!(cell.sum(), (1..LIST_LEN as u64).sum::<u64>() + 100);
        let locked: StdRwLockList = new_list();
        locked.churn(100);
        assert_eq!(locked.sum(), (1..LIST_LEN as u64).sum::<u64>() + 100);
        let locked: StdMutexList = new_list();
        locked.churn(100);
        assert_eq!(locked.sum(), (1..LIST_LEN as u64).sum::<u64>() + 100);
    }

    #[test]
    #[should_panic(expected = "cannot be churned")]
    fn plain_list_refuses_a_writer() {
        new_list::<PlainList>().churn(1);
    }
}
