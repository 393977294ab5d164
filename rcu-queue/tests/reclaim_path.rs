//! Where the safe lists and the map reclaim what a writer removed (issue 20): an element type without
//! drop glue (`u64`) goes through the writer's free bag (`defer_free`), so the writer frees it itself
//! once its grace period has elapsed (`Stats::frees_by_producers`); a type with drop glue (`String`)
//! stays a callback, so user `Drop` code runs only on the domain's callback thread
//! (`Stats::frees_deferred` does not move). Each test uses its own `Domain`, so the counters are the
//! test's alone.
#![cfg(not(loom))]

use rcu_core::{Domain, Stats};
use rcu_queue::RcuQueue;
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_queue::map::RcuHashMap;

/// Enough retires to seal two segments of the free bag, then a third's worth after a grace period,
/// so the writer frees the sealed ones itself.
const N: u64 = 3 * rcu_core::Reclaim::SEGMENT as u64;

/// Runs `retire(i)` for `0..N` on this thread with a grace period after the first two thirds (so
/// the writer's later retires find sealed segments whose grace period elapsed), then a barrier;
/// returns the domain's counters before and after.
fn churn(domain: &Domain, mut retire: impl FnMut(u64)) -> (Stats, Stats) {
    let before = domain.stats();
    for i in 0..N {
        if i == 2 * N / 3 {
            domain.synchronize();
        }
        retire(i);
    }
    domain.barrier();
    (before, domain.stats())
}

/// Asserts that `n` objects went through the free bag and that the writer freed some of them.
#[track_caller]
fn assert_freed_by_writer(before: &Stats, after: &Stats, n: u64) {
    let deferred = after.frees_deferred - before.frees_deferred;
    let by_producers = after.frees_by_producers - before.frees_by_producers;
    let by_callback = after.frees_by_callback_thread - before.frees_by_callback_thread;
    assert_eq!(
        deferred, n,
        "not every removal used the free bag: {after:?}"
    );
    assert_eq!(
        by_producers + by_callback,
        n,
        "a retired object was not freed: {after:?}"
    );
    assert!(
        by_producers > 0,
        "the writer freed nothing itself: {after:?}"
    );
}

/// Asserts that nothing went through the free bag (and so every release was a callback).
#[track_caller]
fn assert_callbacks_only(before: &Stats, after: &Stats, n: u64) {
    assert_eq!(after.frees_deferred, before.frees_deferred, "{after:?}");
    assert!(
        after.callbacks_invoked - before.callbacks_invoked >= n,
        "fewer callbacks than removals: {after:?}"
    );
}

fn list_of<T: Send + Sync + 'static, F: Family>(
    domain: &Domain,
    value: impl Fn(u64) -> T,
) -> RcuQueue<T, F, Domain> {
    let list = RcuQueue::new_in(domain);
    let mut w = list.lock();
    for i in 0..N {
        w.push_back(value(i));
    }
    drop(w);
    list
}

fn plain_list_elements_are_freed_by_the_writer<F: Family>() {
    let domain = Domain::new();
    let list = list_of::<u64, F>(&domain, |i| i);
    let (before, after) = churn(&domain, |_| {
        // The handle is dropped at once: the list's reference, retired here, is the last one.
        assert!(list.lock().pop_front().is_some());
    });
    assert_freed_by_writer(&before, &after, N);
    assert!(list.is_empty());
}

#[test]
fn plain_list_elements_are_freed_by_the_writer_in_every_family() {
    plain_list_elements_are_freed_by_the_writer::<Tailq>();
    plain_list_elements_are_freed_by_the_writer::<List>();
    plain_list_elements_are_freed_by_the_writer::<Simpleq>();
    plain_list_elements_are_freed_by_the_writer::<Slist>();
}

/// A handle that outlives the removal keeps the element: the writer's free gives up only the list's
/// reference.
#[test]
fn a_handle_outlives_the_writers_free() {
    let domain = Domain::new();
    let list = list_of::<u64, Tailq>(&domain, |i| i);
    let mut handles = Vec::new();
    let (before, after) = churn(&domain, |_| handles.push(list.lock().pop_front().unwrap()));
    assert_freed_by_writer(&before, &after, N);
    let sum: u64 = handles.iter().map(|h| **h).sum();
    assert_eq!(sum, (0..N).sum::<u64>());
}

#[test]
fn list_elements_with_drop_glue_stay_on_the_callback_thread() {
    let domain = Domain::new();
    let list = list_of::<String, Tailq>(&domain, |i| i.to_string());
    let (before, after) = churn(&domain, |_| {
        assert!(list.lock().pop_front().is_some());
    });
    assert_callbacks_only(&before, &after, N);
}

#[test]
fn plain_map_pairs_are_freed_by_the_writer() {
    let domain = Domain::new();
    let map = RcuHashMap::<u64, u64, _, _>::new_in(&domain);
    for i in 0..N {
        map.insert(i, i);
    }
    let (before, after) = churn(&domain, |i| assert!(map.remove(&i)));
    assert_freed_by_writer(&before, &after, N);
}

#[test]
fn map_values_with_drop_glue_stay_on_the_callback_thread() {
    let domain = Domain::new();
    let map = RcuHashMap::<u64, String, _, _>::new_in(&domain);
    for i in 0..N {
        map.insert(i, i.to_string());
    }
    let (before, after) = churn(&domain, |i| assert!(map.remove(&i)));
    assert_callbacks_only(&before, &after, N);
}

/// `Reclaim::CallbackThread` still applies: the same removals go through the bag's counters, but
/// every free runs on the callback thread.
#[test]
fn reclaim_callback_thread_keeps_frees_off_the_writer() {
    let domain = Domain::new();
    domain.set_reclaim(rcu_core::Reclaim::CallbackThread);
    let list = list_of::<u64, Tailq>(&domain, |i| i);
    let (before, after) = churn(&domain, |_| {
        assert!(list.lock().pop_front().is_some());
    });
    assert_eq!(after.frees_deferred - before.frees_deferred, N, "{after:?}");
    assert_eq!(
        after.frees_by_producers, before.frees_by_producers,
        "{after:?}"
    );
    assert_eq!(
        after.frees_by_callback_thread - before.frees_by_callback_thread,
        N,
        "{after:?}"
    );
}
