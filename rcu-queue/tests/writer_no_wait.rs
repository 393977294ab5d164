//! A list writer never waits for the callback thread while it holds its writer lock, even above
//! the domain's bound on pending callbacks (`rcu_core::CallbackLimit`): a callback may need the same
//! lock, so waiting there could deadlock. The writer lock holds an `rcu_core::NoWaitRegion`.
#![cfg(not(loom))]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{CallbackLimit, Domain};
use rcu_queue::RcuList;
use rcu_test_support::hold_callback_thread;

#[test]
fn list_writer_does_not_wait_above_the_bound() {
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(4, 0));
    let list = std::sync::Arc::new(RcuList::new_in(&domain));
    for i in 0..64 {
        list.lock().push_front(i);
    }
    // Hold the callback thread inside a callback, so that a writer that waited would never return.
    let gate = hold_callback_thread(|f| domain.call_rcu(f));
    let (done_tx, done_rx) = mpsc::channel();
    let l = list.clone();
    thread::spawn(move || {
        l.lock().clear();
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a list writer waited for the callback thread while holding its writer lock");
    let stats = domain.stats();
    assert_eq!(stats.callback_producer_waits, 0);
    assert!(
        stats.callbacks_over_limit_not_waited > 0,
        "the writer's retirements never passed the bound: the test checks nothing"
    );
    gate.release();
    domain.barrier();
}
