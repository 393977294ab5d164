//! `fork()` while every process-wide lock of rcu-core is busy (the list in `src/fork.rs`): threads
//! keep the default domain's locks, the async futures' slot table and barrier markers, and an
//! independent domain's registry, buffers and liveness link taken, and the main thread forks. Each
//! child then runs one operation that needs one of those locks: the default domain's callbacks
//! and futures (which the child's new callback thread runs through the inherited queue) and what
//! an independent `Domain` of the parent documents as working in a child (`read_ongoing`, `stats`,
//! guards, `poll_state`, dropping it). A lock that `fork()` caught held hangs the child (killed by
//! its alarm). Its own test binary: it forks only while its own threads run (none starts or exits).

#![cfg(unix)]

use rcu_test_support::fork;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};

use fork::{describe, exited_ok, fork_with};
use rcu_core::{Domain, RcuCell};
use rcu_test_support::block_on;

/// Polls `future` once and drops it (opens, joins or leaves a slot of the table; queues a marker).
fn poll_once<F: Future>(future: F) {
    let mut future = pin!(future);
    let _ = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
}

/// What the children use: an independent domain of the parent, a cell in it, a grace-period
/// cookie of it.
struct Setup {
    domain: Domain,
    cell: RcuCell<u64, Domain>,
    state: rcu_core::GpState,
}

/// One child's operation.
type Op = fn(&Setup);

/// The operations, each run by its own series of children.
const OPS: &[(&str, Op)] = &[
    ("call_rcu and rcu_barrier (default domain)", |_| {
        rcu_core::call_rcu(|| {});
        rcu_core::rcu_barrier();
    }),
    ("rcu_barrier_async", |_| {
        block_on(rcu_core::rcu_barrier_async())
    }),
    ("synchronize_rcu_async", |_| {
        block_on(rcu_core::synchronize_rcu_async());
    }),
    ("Domain::read_ongoing", |s| {
        assert!(!s.domain.read_ongoing())
    }),
    ("Domain::stats", |s| {
        let _ = s.domain.stats();
    }),
    ("a guard of the parent's Domain, and poll_state", |s| {
        // This thread's record was registered before the fork.
        assert_eq!(*s.cell.read(&s.domain.read_lock()), 7);
        let _ = s.domain.poll_state(s.state);
    }),
    ("dropping the parent's Domain (its last handle)", |s| {
        // SAFETY: the child is a copy of the process in which no other thread exists and which
        // leaves with `_exit`: these are the only drops of the child's copies of the cell and the
        // domain (the busy threads that borrow them stayed in the parent).
        let (cell, domain) = unsafe { (std::ptr::read(&s.cell), std::ptr::read(&s.domain)) };
        drop(cell);
        drop(domain);
    }),
];

/// Forks while threads keep every lock of `src/fork.rs`'s list busy; for each operation of
/// [`OPS`], forks children that run it until a bound of forks or time, and fails on the first child
/// that does not exit cleanly (a hang is killed after `fork::CHILD_TIMEOUT_SECS`).
#[test]
fn children_forked_while_every_lock_is_busy_do_not_hang() {
    const BUSY: usize = 5;
    const MAX_FORKS_PER_OP: u32 = 200;
    const MAX_TIME_PER_OP: Duration = Duration::from_millis(700);
    let domain = Domain::new();
    let setup = Setup {
        cell: RcuCell::new_in(7, &domain),
        state: domain.start_poll(),
        domain,
    };
    drop(setup.domain.read_lock()); // this thread's record, which the child inherits
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(0);
    let busy = AtomicUsize::new(0);
    thread::scope(|s| {
        let (setup, stop, running, busy) = (&setup, &stop, &running, &busy);
        let spawn = |work: &'static (dyn Fn(&Setup) + Sync)| {
            s.spawn(move || {
                running.fetch_add(1, SeqCst);
                while !stop.load(SeqCst) {
                    work(setup);
                    busy.fetch_add(1, SeqCst);
                }
            })
        };
        // The default domain's registry, run lock, batching state, buffers and batch lock.
        spawn(&|_| {
            rcu_core::call_rcu(|| {});
            rcu_core::synchronize_rcu();
        });
        // The slot table, from both kinds of domain.
        spawn(&|s| {
            poll_once(rcu_core::synchronize_rcu_async());
            poll_once(s.domain.synchronize_async());
        });
        // Barrier futures: their markers' waker locks (and the buffer registry, collected).
        spawn(&|_| poll_once(rcu_core::rcu_barrier_async()));
        // The independent domain's registry and buffer registry.
        spawn(&|s| {
            let _ = s.domain.read_ongoing();
            let _ = s.domain.stats();
            drop(s.domain.read_lock());
        });
        // The independent domain's liveness link (a registration with another domain purges the
        // thread's records of dropped domains, checking every record's link), and the list of
        // live domains.
        spawn(&|s| {
            drop(s.domain.read_lock());
            let other = Domain::new();
            drop(other.read_lock());
        });
        while running.load(SeqCst) < BUSY {
            thread::yield_now();
        }
        let mut report = Vec::new();
        for (name, op) in OPS {
            let start = Instant::now();
            let mut forks = 0;
            while forks < MAX_FORKS_PER_OP && start.elapsed() < MAX_TIME_PER_OP {
                let status = fork_with(|| {
                    op(setup);
                    0
                });
                forks += 1;
                if !exited_ok(status) {
                    stop.store(true, SeqCst);
                    panic!(
                        "fork {forks} for `{name}`: child failed ({}) after the busy threads ran \
                         {} rounds",
                        describe(status),
                        busy.load(SeqCst)
                    );
                }
            }
            report.push(format!("{name}: {forks}"));
        }
        stop.store(true, SeqCst);
        eprintln!(
            "children forked while the locks were busy ({} busy rounds): {}",
            busy.load(SeqCst),
            report.join(", ")
        );
        assert!(
            busy.load(SeqCst) >= 100,
            "the busy threads did almost nothing: the forks did not race with them"
        );
    });
}
