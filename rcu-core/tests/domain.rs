//! Independent RCU domains (`Domain`, like Linux SRCU or crossbeam's `Collector`): a long reader of
//! one domain delays only that domain's grace periods, and each domain has its own registry,
//! callbacks, polling state and counters.

#[path = "common/payload.rs"]
mod payload;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::Domain;

#[test]
fn a_long_reader_delays_only_its_own_domain() {
    let a = Domain::new();
    let b = Domain::new();
    let a_done = AtomicBool::new(false);
    thread::scope(|s| {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (a, a_done) = (&a, &a_done);
        s.spawn(move || {
            let handle = a.register();
            let _guard = handle.read_lock();
            assert!(handle.read_ongoing());
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        entered_rx.recv().unwrap();
        // Neither another domain nor the default one waits for `a`'s reader.
        b.synchronize();
        rcu_core::synchronize_rcu();
        let state = b.start_poll();
        b.cond_synchronize(state);
        assert!(b.poll_state(state));
        // `a` does.
        let a_state = a.start_poll();
        let writer = s.spawn(move || {
            a.synchronize();
            a_done.store(true, SeqCst);
        });
        for _ in 0..1000 {
            assert!(
                !a_done.load(SeqCst),
                "a domain's grace period ended during its reader's section"
            );
            assert!(!a.poll_state(a_state));
            thread::yield_now();
        }
        release_tx.send(()).unwrap();
        writer.join().unwrap();
        assert!(a.poll_state(a_state));
    });
    assert!(a_done.load(SeqCst));
}

#[test]
fn registry_counts_this_domains_readers() {
    let domain = Domain::new();
    assert_eq!(domain.stats().registered_readers, 0);
    let handle = domain.register();
    assert_eq!(domain.stats().registered_readers, 1);
    thread::scope(|s| {
        s.spawn(|| {
            let other = domain.register();
            drop(other.read_lock());
            assert_eq!(domain.stats().registered_readers, 2);
        });
    });
    assert_eq!(domain.stats().registered_readers, 1);
    {
        let guard = handle.read_lock();
        let nested = handle.read_lock();
        assert!(handle.read_ongoing());
        drop(nested);
        assert!(handle.read_ongoing());
        drop(guard);
    }
    assert!(!handle.read_ongoing());
    drop(handle);
    assert_eq!(domain.stats().registered_readers, 0);
    domain.synchronize();
}

#[test]
fn synchronize_inside_own_section_panics_but_other_domains_are_fine() {
    let a = Domain::new();
    let b = Domain::new();
    let handle = a.register();
    {
        let _guard = handle.read_lock();
        // Other domains' grace periods do not wait for this section.
        b.synchronize();
        rcu_core::synchronize_rcu();
    }
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let _guard = handle.read_lock();
        a.synchronize();
    }))
    .expect_err("Domain::synchronize inside that domain's section must panic, not deadlock");
    let message = payload::message(&*payload);
    assert!(message.contains("synchronize"), "{message:?}");
    assert!(
        !handle.read_ongoing(),
        "the guard must unlock during unwind"
    );
    a.synchronize();
    {
        // The default domain's section does not block `a` either.
        let _guard = rcu_core::read_lock();
        a.synchronize();
    }
}

#[test]
fn callbacks_and_barrier_per_domain() {
    let domain = Domain::new();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let ran = Arc::clone(&ran);
        domain.call_rcu(move || {
            ran.fetch_add(1, SeqCst);
        });
    }
    domain.barrier();
    assert_eq!(ran.load(SeqCst), 100);
    let stats = domain.stats();
    assert!(stats.callbacks_invoked >= 100, "{stats:?}");
    // The callback thread updates its counters just after running a batch, so `pending` reaches 0
    // shortly after the barrier returns (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(10);
    while domain.stats().callbacks_pending() != 0 {
        assert!(Instant::now() < deadline, "{:?}", domain.stats());
        thread::yield_now();
    }

    // Dropping a domain runs the callbacks still queued on it.
    for _ in 0..50 {
        let ran = Arc::clone(&ran);
        domain.call_rcu(move || {
            ran.fetch_add(1, SeqCst);
        });
    }
    drop(domain);
    assert_eq!(ran.load(SeqCst), 150);
}

/// A callback that queues another one (through the callback thread's own per-thread buffer) and
/// then drops the domain's last handle: the detached callback thread must still run the queued one
/// before it exits. (Without the thread's last collection of its own buffer, the callback was left
/// in the buffer and never ran.)
#[test]
fn callback_queued_by_a_callback_that_drops_the_last_handle_runs() {
    let domain = Domain::new();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    let last = domain.clone();
    domain.call_rcu(move || {
        // Wait until the test has dropped its handle, so that `last` is the last one.
        go_rx.recv().unwrap();
        last.call_rcu(move || ran_tx.send(()).unwrap());
        drop(last);
    });
    drop(domain);
    go_tx.send(()).unwrap();
    ran_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the callback queued just before the last handle was dropped never ran");
}
