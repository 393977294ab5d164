//! Where `call_rcu` above the bound (`CallbackLimit`) waits and where it must not: it waits outside
//! every read-side section and is woken when the callback thread lowers the backlog; it returns
//! at once inside a section of the same domain, of another domain and of the default domain,
//! while a `ReaderHandle` is alive, in a `NoWaitRegion`, and inside a callback (its own domain's
//! or another's). Each case runs while the domain's callback thread is held inside a callback, so
//! a call that waited would never return: a watchdog turns that into a failure after 10 s.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rcu_core::{CallbackLimit, Domain};
use rcu_test_support::{CallbackGate, hold_callback_thread};

const HIGH: u32 = 4;
const WATCHDOG: Duration = Duration::from_secs(10);

/// A domain with a tiny bound whose callback thread is held inside a callback until the returned
/// sender is used (or dropped), with more than `HIGH` callbacks queued behind it.
fn over_limit_domain() -> (Domain, CallbackGate) {
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(HIGH, 0));
    let gate = hold_callback_thread(|f| domain.call_rcu(f));
    let _no_wait = rcu_core::no_wait_region();
    for _ in 0..2 * HIGH {
        domain.call_rcu(|| ());
    }
    (domain, gate)
}

/// Runs `f` on another thread and fails if it has not returned within the watchdog's time.
fn returns_promptly(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        f();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("call_rcu above the bound waited {what}"));
}

/// Checks that `call` (a `call_rcu` on `domain` in some context) does not wait and is counted.
fn no_wait_case(what: &str, call: impl FnOnce(&Domain) + Send + 'static) {
    let (domain, gate) = over_limit_domain();
    let before = domain.stats();
    let d = domain.clone();
    returns_promptly(what, move || call(&d));
    let after = domain.stats();
    assert_eq!(
        after.callback_producer_waits, before.callback_producer_waits,
        "{what}: counted as a wait"
    );
    assert!(
        after.callbacks_over_limit_not_waited > before.callbacks_over_limit_not_waited,
        "{what}: the enqueue above the bound was not counted as not waited"
    );
    drop(gate);
    domain.barrier();
}

/// Positive control: outside every section the producer waits, and the callback thread's batch
/// wakes it.
#[test]
fn waits_outside_sections_until_the_backlog_falls() {
    let (domain, gate) = over_limit_domain();
    let d = domain.clone();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        d.call_rcu(|| ());
        done_tx.send(()).unwrap();
    });
    let deadline = Instant::now() + WATCHDOG;
    while domain.stats().callback_producer_waits == 0 {
        assert!(
            Instant::now() < deadline,
            "the producer never started to wait"
        );
        thread::yield_now();
    }
    assert!(
        done_rx.try_recv().is_err(),
        "the producer returned while the callback thread was held"
    );
    gate.release();
    done_rx
        .recv_timeout(WATCHDOG)
        .expect("the waiting producer was not woken when the backlog fell");
    assert!(domain.stats().callbacks_pending() <= u64::from(HIGH));
}

#[test]
fn no_wait_inside_own_section() {
    no_wait_case("inside a section of its own domain", |d| {
        let _g = d.read_lock();
        d.call_rcu(|| ());
    });
}

#[test]
fn no_wait_inside_another_domains_section() {
    no_wait_case("inside a section of another Domain", |d| {
        let other = Domain::new();
        let _g = other.read_lock();
        d.call_rcu(|| ());
    });
}

#[test]
fn no_wait_inside_default_domain_section() {
    no_wait_case("inside a section of the default domain", |d| {
        let _g = rcu_core::read_lock();
        d.call_rcu(|| ());
    });
}

#[test]
fn no_wait_with_a_reader_handle() {
    no_wait_case("while a ReaderHandle is alive", |d| {
        let other = Domain::new();
        let handle = other.register();
        let _g = handle.read_lock();
        d.call_rcu(|| ());
    });
}

#[test]
fn no_wait_in_a_no_wait_region() {
    no_wait_case("inside a NoWaitRegion", |d| {
        let _region = rcu_core::no_wait_region();
        d.call_rcu(|| ());
    });
}

#[test]
fn no_wait_with_producers_never_wait() {
    no_wait_case("with producers_never_wait", |d| {
        d.set_callback_limit(CallbackLimit::new(HIGH, 0).producers_never_wait());
        d.call_rcu(|| ());
    });
}

/// A callback of another domain queues on the held domain above its bound: it must not wait (the
/// callback thread waiting for another callback thread could deadlock in a cycle).
#[test]
fn no_wait_inside_another_domains_callback() {
    no_wait_case("inside a callback of another domain", |d| {
        let other = Domain::new();
        let d = d.clone();
        other.call_rcu(move || d.call_rcu(|| ()));
        other.barrier();
    });
}

/// A callback that queues on its own domain above the bound must not wait for its own thread.
#[test]
fn no_wait_inside_own_callback() {
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(HIGH, 0));
    let d = domain.clone();
    returns_promptly("inside a callback of its own domain", move || {
        let inner = d.clone();
        d.call_rcu(move || {
            for _ in 0..4 * HIGH {
                inner.call_rcu(|| ());
            }
        });
        d.barrier();
        d.barrier();
    });
    let stats = domain.stats();
    assert_eq!(stats.callback_producer_waits, 0);
    assert!(stats.callbacks_over_limit_not_waited > 0);
}

/// The default domain: inside its own section, above its bound, `call_rcu` returns.
#[test]
fn default_domain_no_wait_inside_section() {
    rcu_core::set_callback_limit(CallbackLimit::new(HIGH, 0));
    let gate = hold_callback_thread(rcu_core::call_rcu);
    let before = rcu_core::stats();
    returns_promptly("inside a section of the default domain", || {
        let _g = rcu_core::read_lock();
        // More than a per-thread buffer, so that the queue itself passes the bound.
        for _ in 0..300 {
            rcu_core::call_rcu(|| ());
        }
    });
    let after = rcu_core::stats();
    drop(gate);
    rcu_core::rcu_barrier();
    rcu_core::set_callback_limit(CallbackLimit::DEFAULT);
    assert_eq!(
        after.callback_producer_waits,
        before.callback_producer_waits
    );
    assert!(after.callbacks_over_limit_not_waited > before.callbacks_over_limit_not_waited);
}

/// `synchronize_expedited` waits for a section in progress like `synchronize`, and is counted.
#[test]
fn expedited_grace_period_waits_for_readers() {
    let domain = Domain::new();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (leave_tx, leave_rx) = mpsc::channel::<()>();
    let d = domain.clone();
    let reader = thread::spawn(move || {
        let _g = d.read_lock();
        entered_tx.send(()).unwrap();
        leave_rx.recv().unwrap();
    });
    entered_rx.recv().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let d = domain.clone();
    thread::spawn(move || {
        d.synchronize_expedited();
        done_tx.send(()).unwrap();
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(50)).is_err(),
        "synchronize_expedited returned while a reader that began before it was in its section"
    );
    leave_tx.send(()).unwrap();
    done_rx
        .recv_timeout(WATCHDOG)
        .expect("synchronize_expedited did not return after the reader left");
    reader.join().unwrap();
    assert_eq!(domain.stats().synchronize_expedited_calls, 1);
    rcu_core::synchronize_rcu_expedited();
}
