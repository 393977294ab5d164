//! A list writer never waits for the callback thread while it holds its writer lock, even above
//! the domain's bound on pending callbacks (`rcu_core::CallbackLimit`): a callback may need the same
//! lock, so waiting there could deadlock; nor for a grace period past its free bag's bound (values
//! without drop glue). The writer lock holds an `rcu_core::NoWaitRegion`.
#![cfg(not(loom))]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{CallbackLimit, Domain};
use rcu_queue::RcuList;
use rcu_test_support::hold_callback_thread;

/// Clears a list of `n` elements `value(i)` while the domain's callback thread is held inside a
/// callback (so a writer that waited for it would never return); returns the domain's counters.
fn clear_while_callbacks_are_held<T: Send + Sync + 'static>(
    n: usize,
    value: impl Fn(usize) -> T,
) -> rcu_core::Stats {
    let domain = Domain::new();
    domain.set_callback_limit(CallbackLimit::new(4, 0));
    let list = std::sync::Arc::new(RcuList::new_in(&domain));
    for i in 0..n {
        list.lock().push_front(value(i));
    }
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
    gate.release();
    domain.barrier();
    stats
}

/// Values with drop glue: every removal is a callback, past the bound on pending callbacks.
#[test]
fn list_writer_does_not_wait_above_the_bound() {
    let stats = clear_while_callbacks_are_held(64, |i| i.to_string());
    assert_eq!(stats.callback_producer_waits, 0);
    assert!(
        stats.callbacks_over_limit_not_waited > 0,
        "the writer's retirements never passed the bound: the test checks nothing"
    );
}

/// Values without drop glue go to the writer's free bag (`defer_free`): past the bag's bound
/// (`Reclaim::MAX_HELD_PER_THREAD`) the writer hands segments to the held callback thread instead
/// of waiting for a grace period.
#[test]
fn list_writer_does_not_wait_above_the_free_bag_bound() {
    let n = 2 * rcu_core::Reclaim::MAX_HELD_PER_THREAD;
    let stats = clear_while_callbacks_are_held(n, |i| i as u64);
    assert_eq!(stats.free_producer_waits, 0);
    assert_eq!(stats.callback_producer_waits, 0);
    assert!(
        stats.frees_handed_to_callback_thread > 0,
        "the writer's free bag never passed its bound: the test checks nothing ({stats:?})"
    );
}
