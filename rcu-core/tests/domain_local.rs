//! Independent domains through the one read-side API: `Domain::read_lock` registers the thread on
//! first use and unregisters it at exit (also when the domain is dropped first, and from thread-local
//! destructors that run after the thread's record table is gone); containers reclaim through their
//! own domain and reject another domain's guard; a forked child refuses to wait on a parent's domain.

#[cfg(unix)]
#[path = "common/child.rs"]
mod child;
use rcu_test_support::fork;

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;

use rcu_core::{Domain, DomainGuard, RcuArcCell, RcuCell};

/// Counts drops, to see when (and by whom) a value is reclaimed.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn read_lock_registers_on_first_use_and_unregisters_at_exit() {
    let domain = Domain::new();
    let cell = RcuCell::new_in(7u32, &domain);
    thread::scope(|s| {
        let (inside_tx, inside_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (domain, cell) = (&domain, &cell);
        let reader = s.spawn(move || {
            for _ in 0..3 {
                let guard = domain.read_lock();
                let nested = domain.read_lock();
                assert_eq!(*cell.read(&nested), 7);
                drop(nested);
                assert!(domain.read_ongoing());
                drop(guard);
            }
            inside_tx.send(domain.stats().registered_readers).unwrap();
            done_rx.recv().unwrap();
        });
        assert_eq!(
            inside_rx.recv().unwrap(),
            1,
            "one record per thread and domain"
        );
        done_tx.send(()).unwrap();
        reader.join().unwrap();
    });
    assert_eq!(
        domain.stats().registered_readers,
        0,
        "the exiting thread did not unregister"
    );
    domain.synchronize();
}

#[test]
fn a_domain_dropped_before_its_readers_leaves_them_working() {
    let (registered_tx, registered_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
    let first = Domain::new();
    let for_thread = first.clone();
    let reader = thread::spawn(move || {
        drop(for_thread.read_lock());
        drop(for_thread);
        registered_tx.send(()).unwrap();
        dropped_rx.recv().unwrap();
        // The first domain is gone: registering with another one purges its stale record.
        let second = Domain::new();
        let cell = RcuCell::new_in(1u8, &second);
        assert_eq!(*cell.read(&second.read_lock()), 1);
        assert_eq!(second.stats().registered_readers, 1);
    });
    registered_rx.recv().unwrap();
    assert_eq!(first.stats().registered_readers, 1);
    drop(first); // the last handle: the domain shuts down while the thread still has a record
    dropped_tx.send(()).unwrap();
    reader.join().unwrap();
}

/// Runs `inside` on this thread while another thread sits in a read-side section of `domain`,
/// having called `read` with its guard; the reader leaves after `inside` returns.
fn while_a_reader_is_inside(
    domain: &Domain,
    read: impl FnOnce(&DomainGuard<'_>) + Send,
    inside: impl FnOnce(),
) {
    let (inside_tx, inside_rx) = mpsc::channel();
    let (leave_tx, leave_rx) = mpsc::channel::<()>();
    thread::scope(|s| {
        s.spawn(move || {
            let guard = domain.read_lock();
            read(&guard);
            inside_tx.send(()).unwrap();
            leave_rx.recv().unwrap();
        });
        inside_rx.recv().unwrap();
        inside();
        leave_tx.send(()).unwrap();
    });
}

#[test]
fn containers_reclaim_through_their_own_domain() {
    let domain = Domain::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = RcuCell::new_in(Counted(drops.clone()), &domain);
    while_a_reader_is_inside(
        &domain,
        |guard| {
            std::hint::black_box(cell.read(guard));
        },
        || {
            cell.replace(Counted(drops.clone()));
            // The default domain knows nothing of this cell: its barrier neither waits for the
            // reader nor reclaims the old value.
            rcu_core::rcu_barrier();
            assert_eq!(drops.load(SeqCst), 0);
            let state = domain.start_poll();
            assert!(
                !domain.poll_state(state),
                "a grace period ended during the reader's section"
            );
        },
    );
    domain.barrier();
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the domain's callback thread reclaimed the old value"
    );
    drop(cell);
    drop(domain); // the last handle runs the pending callbacks
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn a_handles_guard_reads_its_domains_containers() {
    let domain = Domain::new();
    let cell = RcuCell::new_in(String::from("x"), &domain);
    let handle = domain.register();
    assert_eq!(cell.read(&handle.read_lock()), "x");
    cell.update(|s| format!("{s}y"));
    assert_eq!(cell.replace_sync(String::from("z")), "xy");
}

#[test]
#[should_panic(expected = "a guard of domain")]
fn a_guard_of_another_domain_panics() {
    let (a, b) = (Domain::new(), Domain::new());
    let cell = RcuCell::new_in(1u32, &a);
    let guard = b.read_lock();
    let _ = cell.read(&guard);
}

#[test]
fn an_arc_cell_releases_old_values_through_its_own_domain() {
    let domain = Domain::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = RcuArcCell::new_in(Arc::new(Counted(drops.clone())), &domain);
    let snapshot = cell.load_full();
    while_a_reader_is_inside(
        &domain,
        |guard| {
            std::hint::black_box(cell.read(guard));
        },
        || {
            cell.store(Arc::new(Counted(drops.clone())));
            // Neither the default domain's barrier nor a poll of the domain may release the old
            // value while the reader is inside.
            rcu_core::rcu_barrier();
            assert!(!domain.poll_state(domain.start_poll()));
            assert_eq!(
                Arc::strong_count(&snapshot),
                2,
                "the cell's count was released early"
            );
        },
    );
    domain.barrier();
    assert_eq!(
        Arc::strong_count(&snapshot),
        1,
        "the domain's callback thread released the cell's count"
    );
    assert_eq!(drops.load(SeqCst), 0, "the snapshot keeps the old value");
    drop(snapshot);
    assert_eq!(drops.load(SeqCst), 1);
    let inner = cell.into_inner();
    assert_eq!(Arc::strong_count(&inner), 1);
    drop(inner);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
#[should_panic(expected = "a guard of domain")]
fn an_arc_cell_rejects_a_guard_of_another_domain() {
    let (a, b) = (Domain::new(), Domain::new());
    let cell = RcuArcCell::new_in(Arc::new(1u32), &a);
    let guard = b.read_lock();
    let _ = cell.read(&guard);
}

thread_local! {
    /// Initialized before the thread's first `read_lock`, so destroyed after the record table.
    static HELD: RefCell<Option<DomainGuard<'static>>> = const { RefCell::new(None) };
    static LATE: RefCell<Option<LateReader>> = const { RefCell::new(None) };
}

/// Reads in its domain when destroyed, after the thread's record table is gone.
struct LateReader {
    domain: &'static Domain,
    cell: &'static RcuCell<u32, Domain>,
    report: mpsc::Sender<(bool, bool)>,
}

impl Drop for LateReader {
    fn drop(&mut self) {
        for _ in 0..100 {
            let guard = self.domain.read_lock();
            assert_eq!(*self.cell.read(&guard), 5);
        }
        let guard = self.domain.read_lock();
        let ongoing_inside = self.domain.read_ongoing();
        drop(guard);
        let _ = self
            .report
            .send((ongoing_inside, self.domain.read_ongoing()));
    }
}

#[test]
fn late_sections_in_thread_local_destructors_leave_no_records() {
    let domain: &'static Domain = Box::leak(Box::new(Domain::new()));
    let cell: &'static RcuCell<u32, Domain> = Box::leak(Box::new(RcuCell::new_in(5, domain)));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // Both thread-locals first, then the record table (first read_lock): the table is destroyed
        // first, while `HELD` still holds a guard, and `LATE` reads after that.
        LATE.with(|l| {
            *l.borrow_mut() = Some(LateReader {
                domain,
                cell,
                report: tx,
            })
        });
        HELD.with(|_| {});
        let guard = domain.read_lock();
        HELD.with(|h| *h.borrow_mut() = Some(guard));
    })
    .join()
    .unwrap();
    let (ongoing_inside, ongoing_after) = rx.recv().unwrap();
    assert!(ongoing_inside, "a late section is not seen as ongoing");
    assert!(!ongoing_after);
    assert_eq!(
        domain.stats().registered_readers,
        0,
        "late records were left registered"
    );
    domain.synchronize(); // no stuck record blocks grace periods
}

/// Runs in a process of its own (this test binary again, this test only): the other tests of this
/// binary start and end threads all the time, and a fork while the standard library starts or ends
/// a thread leaves the child unable to start the callback thread it needs.
#[cfg(unix)]
#[test]
fn a_forked_child_refuses_to_wait_on_a_parents_domain() {
    if !child::in_own_process(
        "a_forked_child_refuses_to_wait_on_a_parents_domain",
        "RCU_CORE_DOMAIN_FORK_ALONE",
        1,
        child::Stderr::Captured,
    ) {
        return;
    }
    let domain = Domain::new();
    let cell = RcuCell::new_in(3u32, &domain);
    domain.call_rcu(|| ()); // a callback thread that the child will not have
    domain.barrier();
    drop(domain.read_lock()); // this thread's record exists in the child too
    let status = fork::fork_with(|| {
        // Reading still works.
        assert_eq!(*cell.read(&domain.read_lock()), 3);
        assert!(!domain.read_ongoing());
        // Waiting does not: a clear panic instead of a hang.
        let err = std::panic::catch_unwind(AssertUnwindSafe(|| domain.synchronize())).unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("child process"), "unexpected panic: {msg}");
        assert!(std::panic::catch_unwind(AssertUnwindSafe(|| domain.call_rcu(|| ()))).is_err());
        // A new domain works, and dropping the parent's one does not hang.
        let fresh = Domain::new();
        fresh.call_rcu(|| ());
        fresh.barrier();
        drop(cell);
        0
    });
    assert!(
        fork::exited_ok(status),
        "child failed: {}",
        fork::describe(status)
    );
}
