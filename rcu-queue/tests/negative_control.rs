//! Negative control for tests/stress.rs: with rcu-core's broken grace periods, the readers' alive
//! check must fire, for elements with drop glue (released by a callback) and without (`PlainElem`,
//! released by the updater's free bag, `defer_free`). Reclaimed nodes are quarantined (poisoned, never freed) until every reader has
//! been joined, so the broken run has no real use-after-free. Runs in its own process, compiled only
//! with the test-only cfg: `RUSTFLAGS="--cfg rcu_broken_gp" CARGO_TARGET_DIR=target/broken cargo test
//! -p rcu-queue --test negative_control` (as `.ci/run` does). Like the stress test, it runs under
//! `rcu_test_support::PoisonAlloc` with signal perturbation (tests/common/stress.rs).
#![cfg(all(rcu_broken_gp, not(loom)))]

mod common;

use common::stress::{Config, Elem, OnDead, Payload, PlainElem, initial_list, run_on};
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use std::sync::Arc;
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

#[test]
fn broken_grace_periods_are_detected() {
    rcu_queue::testing::enable_broken_grace_periods(|value| {
        if let Some(e) = value.downcast_ref::<Elem>() {
            e.alive.quarantine();
        } else if let Some(e) = value.downcast_ref::<PlainElem>() {
            e.alive.quarantine();
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
