//! Negative control of `tests/stress.rs`: with grace periods broken (returning without waiting for
//! readers), the freed-object check must fire. Runs in its own process because the switch is
//! global. rcu-queue's test mode parks reclaimed list nodes in a quarantine instead of freeing them
//! and calls our poison hook, which marks the BusChild (and, if it held the last reference, its
//! device) as freed: readers see the poison, never freed memory.
//! Compiled only with `RUSTFLAGS="--cfg rcu_broken_gp"` (see `.ci/run`). Like the stress test, it
//! runs under `rcu_test_support::PoisonAlloc`, perturbed.
#![cfg(rcu_broken_gp)]

use std::time::Duration;

use qdev_demo::qdev::device::BusChild;
use qdev_demo::qdev::sync_mode::SyncMode;
use qdev_demo::run::config::ScenarioConfig;
use qdev_demo::run::scenario::run_scenario;

#[global_allocator]
static ALLOC: rcu_test_support::PoisonAlloc = rcu_test_support::PoisonAlloc::new();

#[test]
fn broken_grace_periods_are_detected() {
    let _perturb = rcu_test_support::perturb::start();
    rcu_queue::testing::enable_broken_grace_periods(|value| {
        if let Some(kid) = value.downcast_ref::<BusChild>() {
            kid.poison_as_freed();
        }
    });
    let config = ScenarioConfig {
        duration: Duration::from_millis(1500),
        iothreads: 1,
        disks: 8,
        hotplug_interval: Duration::from_micros(100),
        realize_cost: Duration::from_micros(10),
        sync: SyncMode::Rcu,
        // A slow reader: it stands on each device for 20 ms inside its critical section, while
        // the main thread unplugs devices and (brokenly) frees them right away.
        walker_interval: Duration::ZERO,
        walker_dwell: Duration::from_millis(20),
        ..ScenarioConfig::default()
    };
    let s = run_scenario(&config, |_| {});
    rcu_queue::testing::disable_broken_grace_periods();
    // SAFETY: run_scenario joined every reader thread it started, and this test has no others.
    let parked = unsafe { rcu_queue::testing::free_quarantine() };
    assert!(parked > 0);
    eprintln!("{}", s.to_text());
    assert!(s.hotplug.dels > 0);
    assert!(
        s.safety.freed_object_seen > 0,
        "the freed-object check did not fire with broken grace periods: it cannot detect anything"
    );
}
