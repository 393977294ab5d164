//! Negative control for tests/map_stress.rs: with rcu-core's broken grace periods, the readers' alive
//! check must fire. Reclaimed map nodes are quarantined (poisoned, never freed) until every reader has
//! been joined, so the broken run has no real use-after-free. Runs in its own process.
//!
//! The flat map (`RcuFlatHashMap`, run by the same stress) is not observable here: its pairs live in
//! the tables, which the quarantine parks intact. Its negative control is tests/map_migration.rs
//! built with `--cfg rcu_broken_migration`, and tests/map_loom_inline.rs with `rcu_broken_inline`.
//!
//! Built only with `RUSTFLAGS="--cfg rcu_broken_gp"` (CI's negative-control step): it uses
//! `rcu_queue::testing`, whose quarantine serves the map's nodes as well as the lists'.
#![cfg(all(rcu_broken_gp, not(loom)))]

#[path = "map_common/stress.rs"]
#[allow(dead_code)]
mod map_stress;

use map_stress::{Config, Counters, Elem, OnDead, initial_map, run_on};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn broken_grace_periods_are_detected() {
    rcu_queue::testing::enable_broken_grace_periods(|value| {
        if let Some(e) = value.downcast_ref::<Elem>() {
            e.poison();
        }
    });
    let counters = Arc::new(Counters::default());
    let map = initial_map::<Elem>(&counters);
    let mut dead_seen = 0;
    for _round in 0..20 {
        let report = run_on(
            &map,
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
    drop(map);
    rcu_queue::testing::disable_broken_grace_periods();
    rcu_core::rcu_barrier();
    // SAFETY: every reader thread has been joined (`run_on` joins them before returning).
    let freed = unsafe { rcu_queue::testing::free_quarantine() };
    eprintln!("dead values seen by readers: {dead_seen}; quarantined nodes freed: {freed}");
    assert!(
        dead_seen > 0,
        "broken grace periods went unnoticed: the map stress test's alive check cannot fail"
    );
}
