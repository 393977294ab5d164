//! loom models of the safe `RcuCell` and `RcuArcCell` in an independent `Domain`, through the code
//! users call: `Domain::read_lock` (thread-local registration on first use, unregistration at thread
//! exit), `RcuCell::read`, `RcuCell::replace` (retired with the domain's `call_rcu1`, dropped by its
//! callback thread after a grace period), `RcuArcCell::load_full` / `store` (the cell's count of the
//! old value released by a `call_rcu` closure) and dropping the domain (barrier, join).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-core --release --test
//! loom_cell`. Built with `--cfg rcu_broken_gp` as well, the same model is its own negative control:
//! grace periods stop waiting and loom must report the old value's drop racing the reader.
#![cfg(loom)]

#[path = "common/loom_model.rs"]
mod loom_model;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use loom_model::model;
use rcu_core::{Domain, RcuArcCell, RcuCell};

/// A loom cell threads may share: loom itself checks every access for races.
struct Shared(UnsafeCell<u32>);
// SAFETY: accesses are checked by loom; an unordered pair of them is the bug under test.
unsafe impl Sync for Shared {}
// SAFETY: as above.
unsafe impl Send for Shared {}

/// A value whose drop writes to a cell the readers read: loom reports the drop if it is not ordered
/// after every reader that could still see the value.
struct Probe {
    cell: Arc<Shared>,
}

impl Probe {
    fn new(v: u32) -> Self {
        Probe {
            cell: Arc::new(Shared(UnsafeCell::new(v))),
        }
    }

    fn get(&self) -> u32 {
        // SAFETY: loom checks the access; a racing drop is the bug under test.
        self.cell.0.with(|v| unsafe { *v })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // SAFETY: as above.
        self.cell.0.with_mut(|v| unsafe { *v = 0 });
    }
}

/// A reader thread reads the cell in a section of the domain, while the main thread replaces the
/// value; the old value must be dropped (by the domain's callback thread) only after the reader
/// left. Three threads: the updater, the reader and the callback thread.
#[test]
#[cfg_attr(rcu_broken_gp, should_panic(expected = "Causality violation"))]
fn replace_drops_the_old_value_after_the_reader_left() {
    model(|| {
        let domain = Domain::new();
        let cell = Arc::new(RcuCell::new_in(Probe::new(1), &domain));
        let reader = {
            let (domain, cell) = (domain.clone(), cell.clone());
            thread::spawn(move || {
                let guard = domain.read_lock();
                let seen = cell.read(&guard).get();
                assert!(seen == 1 || seen == 2, "reader saw a dropped value");
                drop(guard);
            })
        };
        cell.replace(Probe::new(2));
        reader.join().unwrap();
        drop(cell);
        // The last handle: runs the pending callbacks and joins the callback thread.
        drop(domain);
    });
}

/// `RcuArcCell`: a reader takes an owned snapshot (`load_full`: a count increment inside a section)
/// and reads it after leaving the section, while the main thread stores a new value. The old value
/// must be dropped only after both the grace period (the cell's count) and the snapshot (the
/// reader's count) are gone. Under loom the cell holds loom's `Arc`, so the count handoff is
/// checked too. Three threads: the updater, the reader and the callback thread.
#[test]
#[cfg_attr(rcu_broken_gp, should_panic(expected = "Causality violation"))]
fn arc_cell_store_keeps_a_snapshot_and_a_borrow_alive() {
    model(|| {
        let domain = Domain::new();
        let cell = Arc::new(RcuArcCell::new_in(Arc::new(Probe::new(1)), &domain));
        let reader = {
            let (domain, cell) = (domain.clone(), cell.clone());
            thread::spawn(move || {
                let guard = domain.read_lock();
                let borrowed = cell.read(&guard).get();
                drop(guard);
                let snapshot = cell.load_full();
                let owned = snapshot.get();
                assert!(borrowed == 1 || borrowed == 2, "reader saw a dropped value");
                assert!(owned == 1 || owned == 2, "snapshot saw a dropped value");
            })
        };
        cell.store(Arc::new(Probe::new(2)));
        reader.join().unwrap();
        drop(cell);
        drop(domain);
    });
}
