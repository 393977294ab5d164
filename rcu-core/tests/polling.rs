//! The grace-period polling API (`start_poll_synchronize_rcu`, `poll_state_synchronize_rcu`,
//! `cond_synchronize_rcu`; liburcu 0.14, Linux): a state completes after any full grace period,
//! including one driven by another thread, and never while a reader that was inside a section when
//! the state was taken is still inside.

#[path = "common/reader.rs"]
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;

use rcu_core::{
    GpState, cond_synchronize_rcu, poll_state_synchronize_rcu, start_poll_synchronize_rcu,
    synchronize_rcu,
};
use reader::HeldReader;

#[test]
fn state_completes_after_another_threads_synchronize_rcu() {
    let state: GpState = start_poll_synchronize_rcu();
    let copy = state; // GpState is Copy
    assert!(!format!("{state:?}").is_empty());
    thread::spawn(synchronize_rcu).join().unwrap();
    assert!(poll_state_synchronize_rcu(state));
    assert!(poll_state_synchronize_rcu(copy));
    // Once complete, a state stays complete, and waiting for it returns at once.
    synchronize_rcu();
    assert!(poll_state_synchronize_rcu(state));
    cond_synchronize_rcu(state);
}

#[test]
fn poll_is_false_while_a_preexisting_reader_is_inside() {
    let reader = HeldReader::enter("poll-reader");
    let state = start_poll_synchronize_rcu();
    // A concurrent synchronize_rcu cannot complete a grace period for `state` either.
    let writer_done = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&writer_done);
    let writer = thread::spawn(move || {
        synchronize_rcu();
        done.store(true, SeqCst);
    });
    for _ in 0..2000 {
        assert!(
            !poll_state_synchronize_rcu(state),
            "poll_state_synchronize_rcu returned true while a pre-existing reader was inside"
        );
        assert!(
            !writer_done.load(SeqCst),
            "synchronize_rcu returned during a pre-existing reader's section"
        );
        thread::yield_now();
    }
    reader.leave();
    writer.join().unwrap();
    assert!(poll_state_synchronize_rcu(state));
}

#[test]
fn cond_synchronize_rcu_completes_the_state() {
    for _ in 0..100 {
        let state = start_poll_synchronize_rcu();
        cond_synchronize_rcu(state);
        assert!(poll_state_synchronize_rcu(state));
    }
}
