//! The std-style list API, for every family: `remove(&handle)`, `pop_front`, `contains`, `Extend`
//! and `FromIterator` keep order and drop each value once; `len` needs no lock and stays within
//! bounds while a writer works; `Debug` prints the elements like std's `LinkedList`.
#![cfg(not(loom))]

use rcu_queue::RcuQueue;
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Relaxed);
    }
}

fn values<F: Family>(list: &RcuQueue<Counted, F>) -> Vec<u32> {
    list.lock().iter().map(|c| c.0).collect()
}

fn std_api<F: Family>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let make = |i| Counted(i, drops.clone());

    let mut list: RcuQueue<Counted, F> = (0..3).map(make).collect();
    list.extend((3..5).map(make));
    list.lock().extend((5..7).map(make));
    assert_eq!(values(&list), [0, 1, 2, 3, 4, 5, 6], "{}", F::NAME);
    assert_eq!(list.len(), 7);

    // Removal by handle, in the middle and at both ends.
    let (first, middle) = {
        let mut w = list.lock();
        let first = w.find(|c| c.0 == 0).unwrap().handle();
        let middle = w.find(|c| c.0 == 3).unwrap().handle();
        (first, middle)
    };
    let last = list.lock().find(|c| c.0 == 6).unwrap().handle();
    assert!(list.lock().remove(&middle), "{}", F::NAME);
    assert!(!list.lock().remove(&middle), "{}: removed twice", F::NAME);
    assert!(list.lock().remove(&last));
    let other: RcuQueue<Counted, F> = RcuQueue::new();
    assert!(!other.lock().remove(&first), "another list's element");
    assert_eq!(values(&list), [0, 1, 2, 4, 5]);

    // pop_front hands back the first element; `first` refers to it.
    let popped = list.lock().pop_front().unwrap();
    assert_eq!((popped.0, first.0), (0, 0));
    assert!(!list.lock().remove(&first), "popped already");
    assert_eq!(values(&list), [1, 2, 4, 5]);

    // contains, writer and reader side.
    assert!(list.lock().contains(&make(4)));
    assert!(!list.lock().contains(&make(3)));
    {
        let guard = rcu_core::read_lock();
        assert!(list.contains(&make(5), &guard));
        assert!(!list.contains(&make(0), &guard));
    }
    assert_eq!(list.len(), 4);

    // Debug: the elements only, like `LinkedList`.
    let small: RcuQueue<u8, F> = [1, 2].into_iter().collect();
    assert_eq!(format!("{small:?}"), "[1, 2]", "{}", F::NAME);
    assert_eq!(format!("{:?}", small.lock()), "[1, 2]");

    // Every value is dropped once: the 7 in the list, the 4 probes above.
    drop((first, middle, last, popped, list));
    rcu_core::rcu_barrier();
    assert_eq!(drops.load(Relaxed), 11, "{}", F::NAME);
}

#[test]
fn tailq() {
    std_api::<Tailq>();
}

#[test]
fn list() {
    std_api::<List>();
}

#[test]
fn simpleq() {
    std_api::<Simpleq>();
}

#[test]
fn slist() {
    std_api::<Slist>();
}

/// A reader's lock-free `len` always lies between the writer's bounds, and the reader really ran.
#[test]
fn len_without_the_lock_while_a_writer_works() {
    let list: RcuQueue<u32, Tailq> = (0..10).collect();
    let stop = AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0u64;
            while !stop.load(Relaxed) || reads == 0 {
                let len = list.len();
                assert!((10..=11).contains(&len), "len {len}");
                reads += 1;
            }
            reads
        });
        for i in 10..500 {
            let mut w = list.lock();
            let h = w.push_back(i).handle();
            assert!(w.pop_front().is_some());
            drop(h);
            std::thread::yield_now();
        }
        stop.store(true, Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 0);
    assert_eq!(list.len(), 10);
}
