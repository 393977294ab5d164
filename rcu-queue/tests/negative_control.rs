//! Negative control for tests/stress.rs: with rcu-core's broken grace periods, the readers' alive
//! check must fire, for elements with drop glue (released by a callback) and without (`PlainElem`,
//! released by the updater's free bag, `defer_free`), and for an `RcuHashMap` pair without drop glue
//! (a reader holding its value while the writer's bag frees it). Reclaimed nodes are quarantined
//! (poisoned, never freed) until every reader has been joined, so the broken run has no real
//! use-after-free. Runs in its own process, compiled only
//! with the test-only cfg: `RUSTFLAGS="--cfg rcu_broken_gp" CARGO_TARGET_DIR=target/broken cargo test
//! -p rcu-queue --test negative_control` (as `.ci/run` does). Like the stress test, it runs under
//! `rcu_test_support::PoisonAlloc` with signal perturbation (tests/common/stress.rs).
#![cfg(all(rcu_broken_gp, not(loom)))]

mod common;

use common::stress::{Config, Elem, OnDead, Payload, PlainElem, initial_list, run_on};
use rcu_queue::RcuHashMap;
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_test_support::alive::PlainAliveWord;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

fn alive_check_fires<E: Payload, F: Family>() -> u64 {
    let counters = Arc::new(common::stress::Counters::default());
    let list = initial_list::<E, F>(&counters);
    let mut dead_seen = 0;
    for _round in 0..20 {
        let report = run_on(
            &list,
            &counters,
            Config {
                duration: Duration::from_millis(250),
                readers: 2,
                on_dead: OnDead::Count,
                reader_spin: 200,
            },
        );
        dead_seen += report.dead_seen;
        if dead_seen > 0 {
            break;
        }
    }
    drop(list);
    dead_seen
}

/// A reader holds a value of an `RcuHashMap<u64, PlainAliveWord>` (no drop glue: the writer's free
/// bag frees its pairs) in its section while this thread removes it and enough other pairs, with a
/// grace period after each bag segment, for the bag to free it: with grace periods broken, the
/// quarantine reaches the value under the reader's guard. Returns whether the reader saw it.
fn map_plain_value_freed_under_a_reader() -> bool {
    let segment = rcu_core::Reclaim::SEGMENT as u64;
    let map = RcuHashMap::<u64, PlainAliveWord>::new();
    for key in 0..3 * segment {
        map.insert(key, PlainAliveWord::new());
    }
    let (held_tx, held_rx) = mpsc::channel();
    let (checked_tx, checked_rx) = mpsc::channel::<()>();
    thread::scope(|s| {
        let map = &map;
        let reader = s.spawn(move || {
            let guard = rcu_core::read_lock();
            let value = map.get(&0, &guard).expect("key 0 was inserted");
            held_tx.send(()).unwrap();
            checked_rx.recv().unwrap();
            value.is_alive()
        });
        held_rx.recv().unwrap();
        for key in 0..3 * segment {
            assert!(map.remove(&key));
            if key % segment == segment - 1 {
                // Broken: returns without waiting for the reader.
                rcu_core::synchronize_rcu();
            }
        }
        checked_tx.send(()).unwrap();
        !reader.join().unwrap()
    })
}

#[test]
fn broken_grace_periods_are_detected() {
    rcu_queue::testing::enable_broken_grace_periods(|value| {
        if let Some(e) = value.downcast_ref::<Elem>() {
            e.alive.quarantine();
        } else if let Some(e) = value.downcast_ref::<PlainElem>() {
            e.alive.quarantine();
        } else if let Some(word) = value.downcast_ref::<PlainAliveWord>() {
            word.quarantine();
        }
    });
    // Elements with drop glue (released by a callback) and without (by the updater's free bag,
    // which must have been used: `frees_deferred`).
    let deferred_before = rcu_core::stats().frees_deferred;
    let mut seen = vec![
        (Tailq::NAME, alive_check_fires::<Elem, Tailq>()),
        (List::NAME, alive_check_fires::<Elem, List>()),
        (Simpleq::NAME, alive_check_fires::<Elem, Simpleq>()),
        (Slist::NAME, alive_check_fires::<Elem, Slist>()),
    ];
    assert_eq!(rcu_core::stats().frees_deferred, deferred_before);
    seen.extend([
        ("plain QTAILQ", alive_check_fires::<PlainElem, Tailq>()),
        ("plain QLIST", alive_check_fires::<PlainElem, List>()),
        ("plain QSIMPLEQ", alive_check_fires::<PlainElem, Simpleq>()),
        ("plain QSLIST", alive_check_fires::<PlainElem, Slist>()),
    ]);
    seen.push((
        "plain RcuHashMap",
        u64::from(map_plain_value_freed_under_a_reader()),
    ));
    let deferred = rcu_core::stats().frees_deferred - deferred_before;
    rcu_queue::testing::disable_broken_grace_periods();
    rcu_core::rcu_barrier();
    // SAFETY: every reader thread has been joined (`run_on` joins them before returning).
    let freed = unsafe { rcu_queue::testing::free_quarantine() };
    eprintln!(
        "dead elements seen by readers: {seen:?}; quarantined nodes freed: {freed}; \
         plain elements retired through the free bag: {deferred}"
    );
    assert!(
        deferred > 0,
        "the plain elements did not go through the free bag"
    );
    for (family, dead) in seen {
        assert!(
            dead > 0,
            "{family}: broken grace periods went unnoticed: the alive check cannot fail"
        );
    }
}
