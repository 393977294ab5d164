//! `RcuCell<T>`: readers see a consistent value under a guard, `replace` publishes the new value and
//! reclaims the old one (through `Drop`) only after a grace period, and the owned value is dropped
//! exactly once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;

use rcu_core::{RcuCell, rcu_barrier, read_lock};

/// A value that counts its drops and records whether it is still alive.
#[derive(Debug)]
struct Tracked {
    value: u64,
    alive: AtomicBool,
    drops: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(value: u64, drops: &Arc<AtomicUsize>) -> Self {
        Tracked {
            value,
            alive: AtomicBool::new(true),
            drops: Arc::clone(drops),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert!(
            self.alive.swap(false, SeqCst),
            "Tracked({}) dropped twice",
            self.value
        );
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn replace_reclaims_old_values_after_a_grace_period() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = RcuCell::new(Tracked::new(0, &drops));
    {
        let guard = read_lock();
        assert_eq!(cell.read(&guard).value, 0);
    }
    for i in 1..=100 {
        cell.replace(Tracked::new(i, &drops));
    }
    {
        let guard = read_lock();
        let current = cell.read(&guard);
        assert_eq!(current.value, 100);
        assert!(current.alive.load(SeqCst));
    }
    rcu_barrier();
    assert_eq!(
        drops.load(SeqCst),
        100,
        "every replaced value is dropped once after rcu_barrier"
    );
    drop(cell);
    assert_eq!(
        drops.load(SeqCst),
        101,
        "dropping the cell drops the current value"
    );
}

#[test]
fn old_value_survives_while_a_reader_holds_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = Arc::new(RcuCell::new(Tracked::new(1, &drops)));
    let (seen_tx, seen_rx) = mpsc::channel();
    let (replaced_tx, replaced_rx) = mpsc::channel::<()>();
    let reader = {
        let cell = Arc::clone(&cell);
        thread::spawn(move || {
            let guard = read_lock();
            let old = cell.read(&guard);
            seen_tx.send(old.value).unwrap();
            replaced_rx.recv().unwrap();
            // The writer replaced the value and may even be waiting in rcu_barrier: the value this
            // reader holds must still be intact.
            assert_eq!(old.value, 1);
            assert!(old.alive.load(SeqCst));
            // A new section sees the new value.
            drop(guard);
            let guard = read_lock();
            cell.read(&guard).value
        })
    };
    assert_eq!(seen_rx.recv().unwrap(), 1);
    cell.replace(Tracked::new(2, &drops));
    for _ in 0..1000 {
        assert_eq!(
            drops.load(SeqCst),
            0,
            "the old value was dropped during a reader's section"
        );
        thread::yield_now();
    }
    replaced_tx.send(()).unwrap();
    assert_eq!(reader.join().unwrap(), 2);
    rcu_barrier();
    assert_eq!(drops.load(SeqCst), 1);
    let cell = Arc::into_inner(cell).expect("the reader thread released its handle");
    let last = cell.into_inner();
    assert_eq!(last.value, 2);
    assert_eq!(drops.load(SeqCst), 1, "into_inner must not drop the value");
    drop(last);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn get_mut_changes_the_value_in_place() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut cell = RcuCell::new(Tracked::new(7, &drops));
    cell.get_mut().value = 8;
    {
        let guard = read_lock();
        assert_eq!(cell.read(&guard).value, 8);
    }
    drop(cell);
    assert_eq!(drops.load(SeqCst), 1);
}

/// `replace_sync` inside a read-side section panics (it would wait for its own section) *before*
/// publishing anything: the cell keeps its value, and nothing leaks.
#[test]
fn replace_sync_inside_a_section_panics_before_publishing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = RcuCell::new(Tracked::new(1, &drops));
    {
        let guard = read_lock();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cell.replace_sync(Tracked::new(2, &drops))
        }));
        assert!(
            result.is_err(),
            "replace_sync inside a section did not panic"
        );
        assert_eq!(
            cell.read(&guard).value,
            1,
            "the panicking replace_sync published its value"
        );
    }
    // The rejected value was dropped by the unwind; the cell's own value once, with the cell.
    assert_eq!(drops.load(SeqCst), 1, "the rejected value was not dropped");
    drop(cell);
    rcu_barrier();
    assert_eq!(drops.load(SeqCst), 2, "a value leaked or was dropped twice");
}

/// `update` from two threads at once (both cells share one read-copy-update loop): no increment is
/// lost, every value built by an attempt that lost the race is dropped at once, and every replaced
/// value after a grace period, so that each value `f` built is dropped exactly once.
#[test]
fn concurrent_updates_lose_no_increment_and_drop_every_attempt() {
    const PER_THREAD: u64 = 5_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let built = Arc::new(AtomicUsize::new(0));
    let cell = RcuCell::new(Tracked::new(0, &drops));
    let arc_cell = rcu_core::RcuArcCell::new(Arc::new(Tracked::new(0, &drops)));
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    let next = |t: &Tracked| {
                        built.fetch_add(1, SeqCst);
                        Tracked::new(t.value + 1, &drops)
                    };
                    cell.update(next);
                    arc_cell.update(next);
                }
            });
        }
    });
    assert_eq!(cell.read(&read_lock()).value, 2 * PER_THREAD);
    assert_eq!(arc_cell.load_full().value, 2 * PER_THREAD);
    drop((cell, arc_cell));
    rcu_barrier();
    // The two initial values and every value `f` built.
    assert_eq!(drops.load(SeqCst), 2 + built.load(SeqCst));
}
