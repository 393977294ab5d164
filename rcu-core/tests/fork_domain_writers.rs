//! In a child process after `fork()`, every writer of an `RcuCell` or `RcuArcCell` that lives in an
//! independent `Domain` created before the fork panics *before* it changes anything: the cell keeps
//! its value, and no value is leaked or dropped early (`RcuDomain::check_can_update`). The
//! domain's callback thread stayed in the parent, so a writer that published first and then found
//! out (in `call_rcu` or `synchronize`) used to leave the new value published and the old one
//! leaked. Its own test binary: it forks while no thread of its own starts or exits.

#![cfg(all(unix, not(loom)))]

use rcu_test_support::fork;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};

use rcu_core::{Domain, RcuArcCell, RcuCell};

/// Values alive.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// A value that counts itself in [`LIVE`].
#[derive(Debug)]
struct Counted(u32);

impl Counted {
    fn new(n: u32) -> Counted {
        LIVE.fetch_add(1, SeqCst);
        Counted(n)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, SeqCst);
    }
}

/// The cells under test, both holding 1.
struct Cells {
    domain: Domain,
    cell: RcuCell<Counted, Domain>,
    arc: RcuArcCell<Counted, Domain>,
}

/// A writer, trying to publish 2.
type Writer = fn(&Cells);

/// Every writer, by name.
const WRITERS: &[(&str, Writer)] = &[
    ("RcuCell::replace", |c| c.cell.replace(Counted::new(2))),
    ("RcuCell::replace_sync", |c| {
        drop(c.cell.replace_sync(Counted::new(2)));
    }),
    ("RcuCell::update", |c| c.cell.update(|_| Counted::new(2))),
    ("RcuArcCell::store", |c| {
        c.arc.store(Arc::new(Counted::new(2)));
    }),
    ("RcuArcCell::swap", |c| {
        drop(c.arc.swap(Arc::new(Counted::new(2))));
    }),
    ("RcuArcCell::compare_and_swap", |c| {
        let current = c.arc.load_full();
        drop(c.arc.compare_and_swap(&current, Arc::new(Counted::new(2))));
    }),
    ("RcuArcCell::update", |c| c.arc.update(|_| Counted::new(2))),
];

/// In the child: runs every writer; returns the exit code, bit `i + 1` set if writer `i` did not
/// panic with the fork message, changed a cell, or changed the number of live values.
fn child(cells: &Cells) -> i32 {
    let mut failed = 0;
    for (i, (_, writer)) in WRITERS.iter().enumerate() {
        let live = LIVE.load(SeqCst);
        let outcome = catch_unwind(AssertUnwindSafe(|| writer(cells)));
        let panicked_first = outcome.is_err_and(|payload| {
            payload
                .downcast_ref::<String>()
                .is_some_and(|m| m.contains("child process"))
        });
        let guard = cells.domain.read_lock();
        let unchanged = cells.cell.read(&guard).0 == 1 && cells.arc.read(&guard).0 == 1;
        drop(guard);
        if !(panicked_first && unchanged && LIVE.load(SeqCst) == live) {
            failed |= 1 << (i + 1);
        }
    }
    failed
}

#[test]
fn writers_of_a_parents_domain_fail_before_changing_anything_in_a_child() {
    let domain = Domain::new();
    let cells = Cells {
        cell: RcuCell::new_in(Counted::new(1), &domain),
        arc: RcuArcCell::new_in(Arc::new(Counted::new(1)), &domain),
        domain,
    };
    cells.domain.call_rcu(|| ()); // a callback thread, which the child will not have
    cells.domain.barrier();
    drop(cells.domain.read_lock()); // this thread's record, which the child inherits
    let status = fork::fork_with(|| child(&cells));
    let failed: Vec<&str> = WRITERS
        .iter()
        .enumerate()
        .filter(|(i, _)| libc::WIFEXITED(status) && libc::WEXITSTATUS(status) & (1 << (i + 1)) != 0)
        .map(|(_, (name, _))| *name)
        .collect();
    assert!(
        fork::exited_ok(status),
        "child: {} (these writers did not panic before changing anything, or changed a cell, or \
         leaked or dropped a value: {failed:?})",
        fork::describe(status)
    );
    // The parent's cells still work.
    cells.cell.replace(Counted::new(3));
    cells.domain.barrier();
    assert_eq!(LIVE.load(SeqCst), 2);
}
