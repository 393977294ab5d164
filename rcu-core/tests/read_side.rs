//! Read-side behaviour of the default domain: nesting, `read_ongoing`, panics inside a read-side
//! critical section, and the misuse panics of `synchronize_rcu` / `rcu_barrier` inside a section.

#[path = "common/payload.rs"]
mod payload;

use std::panic;
use std::sync::mpsc;
use std::thread;

use rcu_core::{rcu_barrier, read_lock, read_ongoing, synchronize_rcu};

/// Asserts that a misuse panic names the offending function and says that the call was made inside a
/// read-side critical section.
pub fn assert_explains_misuse(message: &str, function: &str) {
    let lower = message.to_lowercase();
    assert!(
        lower.contains(function),
        "the panic message should name `{function}`: {message:?}"
    );
    assert!(
        lower.contains("critical section")
            || lower.contains("read_lock")
            || lower.contains("guard"),
        "the panic message should say that the call was made inside a read-side critical section: \
         {message:?}"
    );
}

/// A grace period started by another thread completes (so this thread holds no section).
fn grace_period_from_other_thread() {
    thread::spawn(synchronize_rcu)
        .join()
        .expect("synchronize_rcu panicked in a thread outside any section");
}

#[test]
fn nested_guards_keep_the_section_open() {
    assert!(!read_ongoing());
    let outer = read_lock();
    assert!(read_ongoing());
    {
        let _inner = read_lock();
        let _innermost = read_lock();
        assert!(read_ongoing());
    }
    assert!(
        read_ongoing(),
        "dropping inner guards must not end the outer section"
    );
    drop(outer);
    assert!(!read_ongoing());
    synchronize_rcu();
}

#[test]
fn panic_inside_section_unlocks_during_unwind() {
    let result = panic::catch_unwind(|| {
        let _outer = read_lock();
        let _inner = read_lock();
        assert!(read_ongoing());
        panic!("deliberate panic inside a read-side critical section");
    });
    assert!(result.is_err());
    assert!(!read_ongoing(), "the guards must unlock during unwind");
    // Neither this thread nor another one is blocked by the unwound section.
    synchronize_rcu();
    grace_period_from_other_thread();
    // And this thread can read again.
    let guard = read_lock();
    assert!(read_ongoing());
    drop(guard);
    assert!(!read_ongoing());
}

#[test]
fn thread_dying_inside_section_does_not_block_grace_periods() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let dying = thread::spawn(move || {
        let _guard = read_lock();
        entered_tx.send(()).unwrap();
        panic!("deliberate panic: this thread dies inside a read-side critical section");
    });
    entered_rx.recv().unwrap();
    assert!(dying.join().is_err());
    synchronize_rcu();
    grace_period_from_other_thread();
}

#[test]
fn synchronize_rcu_inside_section_panics() {
    for depth in 1..=2 {
        let payload = panic::catch_unwind(|| {
            let _guards: Vec<_> = (0..depth).map(|_| read_lock()).collect();
            synchronize_rcu();
        })
        .expect_err("synchronize_rcu inside a read-side critical section must panic, not deadlock");
        assert_explains_misuse(&payload::message(&*payload), "synchronize_rcu");
        assert!(!read_ongoing());
    }
    // The failed call left nothing behind.
    synchronize_rcu();
    grace_period_from_other_thread();
}

#[test]
fn rcu_barrier_inside_section_panics() {
    let payload = panic::catch_unwind(|| {
        let _guard = read_lock();
        rcu_barrier();
    })
    .expect_err("rcu_barrier inside a read-side critical section must panic, not deadlock");
    assert_explains_misuse(&payload::message(&*payload), "rcu_barrier");
    assert!(!read_ongoing());
    rcu_barrier();
    synchronize_rcu();
}

#[test]
fn cond_synchronize_rcu_inside_section_panics() {
    let payload = panic::catch_unwind(|| {
        let _guard = read_lock();
        // This thread was inside a section when the state was taken, so its grace period cannot
        // complete before the section ends: waiting for it here would deadlock.
        let state = rcu_core::start_poll_synchronize_rcu();
        assert!(!rcu_core::poll_state_synchronize_rcu(state));
        rcu_core::cond_synchronize_rcu(state);
    })
    .expect_err(
        "cond_synchronize_rcu inside a read-side critical section must panic, not deadlock",
    );
    assert_explains_misuse(&payload::message(&*payload), "synchronize_rcu");
    assert!(!read_ongoing());
}
