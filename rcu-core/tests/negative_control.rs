//! Negative control for the torture check: with `rcu_core::testing::set_broken_grace_periods(true)`,
//! `synchronize_rcu` (and so every other grace-period API) returns without waiting for readers, and the
//! pipeline check in `common/torture.rs` must notice. If this test fails, the torture cannot fail either.
//!
//! Runs in its own process (own test binary) because the toggle is process-wide. The torture never
//! frees a slot, and under this cfg it parks the tags it retires instead of freeing them, so the
//! broken run is observed, not turned into undefined behaviour. Like the torture test, it runs under
//! `rcu_test_support::PoisonAlloc` with signal perturbation (`common/torture.rs`).
//!
//! Compiled only with the test-only cfg: `RUSTFLAGS="--cfg rcu_broken_gp" CARGO_TARGET_DIR=target/broken
//! cargo test -p rcu-core --test negative_control` (as `.ci/run` does).
#![cfg(rcu_broken_gp)]

#[path = "common/torture.rs"]
mod torture;

use std::time::Duration;

use torture::Config;

#[test]
fn torture_detects_broken_grace_periods() {
    rcu_core::testing::set_broken_grace_periods(true);
    // Long reader sections (the spin runs inside the nested section) so that a reader spans several
    // writer updates whenever it is preempted or merely slow; the run stops at the first violation,
    // which in practice comes within milliseconds. The bound is only a safety net.
    let outcome = torture::run(&Config {
        duration: Duration::from_secs(20),
        readers: 2,
        fake_writers: 1,
        reader_spin: 20_000,
    });
    rcu_core::testing::set_broken_grace_periods(false);
    println!("{outcome}");
    assert!(
        outcome.violations() > 0,
        "the torture check did not fire although grace periods were broken:\n{outcome}"
    );
    // The heap tags' alive-word check fires too (the tags are parked, marked dead, not freed).
    assert!(
        outcome.dead_tags > 0,
        "the tags' alive-word check did not fire although grace periods were broken:\n{outcome}"
    );
}
