//! Negative control for `async_gp.rs`'s "waits for a pre-existing reader" check: with grace periods
//! switched off (`rcu_core::testing::set_broken_grace_periods`), `synchronize_rcu_async` completes
//! while the reader is still inside, and the check must see it. If this test fails, that check
//! cannot fail either.
//!
//! Compiled only with the test-only cfg: `RUSTFLAGS="--cfg rcu_broken_gp"
//! CARGO_TARGET_DIR=target/broken cargo test -p rcu-core --test async_negative_control`.
#![cfg(all(rcu_broken_gp, not(loom)))]

#[path = "common/async_wait.rs"]
mod async_wait;
#[path = "common/reader.rs"]
mod reader;

use std::time::Duration;

#[test]
fn async_wait_check_detects_broken_grace_periods() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rcu_core::testing::set_broken_grace_periods(true);
    // The broken future completes one callback batch later (about a millisecond); the long window
    // only keeps a loaded machine from hiding it.
    let early = async_wait::completed_while_reader_inside(&rt, Duration::from_secs(10));
    rcu_core::testing::set_broken_grace_periods(false);
    assert!(
        early,
        "the check did not see the future complete although grace periods were broken"
    );
}
