//! Test-only switches, compiled only with `RUSTFLAGS="--cfg rcu_broken_gp"` (a compiler flag, like
//! crossbeam's `crossbeam_loom`, not a Cargo feature: no dependency can switch grace periods off in
//! someone else's build). Never set it outside the negative-control test runs.

use std::sync::atomic::{AtomicBool, Ordering};

static BROKEN: AtomicBool = AtomicBool::new(false);

/// While `on`, every grace period (of every domain) returns at once **without waiting for
/// readers**, so `synchronize_rcu` and callback reclamation become unsafe. This is the negative
/// control that proves a torture or stress check can fail. Use it only in a test process of its own
/// and make sure the broken run cannot cause real undefined behaviour (for example, quarantine
/// reclaimed objects instead of freeing them).
///
/// # Example
///
/// ```
/// rcu_core::testing::set_broken_grace_periods(true);
/// rcu_core::synchronize_rcu(); // returns without waiting for readers
/// rcu_core::testing::set_broken_grace_periods(false);
/// ```
pub fn set_broken_grace_periods(on: bool) {
    BROKEN.store(on, Ordering::SeqCst);
}

static BROKEN_THROTTLE_WAKEUP: AtomicBool = AtomicBool::new(false);

/// While `on`, a callback thread that finishes a batch does not wake the producers waiting for the
/// backlog to fall (see [`CallbackLimit`](crate::CallbackLimit)): the lost wake-up that the loom
/// model of that hand-off must catch (its negative control).
///
/// ```
/// rcu_core::testing::set_broken_throttle_wakeup(true);
/// assert!(rcu_core::testing::broken_throttle_wakeup());
/// rcu_core::testing::set_broken_throttle_wakeup(false);
/// ```
pub fn set_broken_throttle_wakeup(on: bool) {
    BROKEN_THROTTLE_WAKEUP.store(on, Ordering::SeqCst);
}

/// Whether [`set_broken_throttle_wakeup`] is on.
///
/// ```
/// assert!(!rcu_core::testing::broken_throttle_wakeup());
/// ```
pub fn broken_throttle_wakeup() -> bool {
    BROKEN_THROTTLE_WAKEUP.load(Ordering::SeqCst)
}

/// Whether [`set_broken_grace_periods`] switched grace periods off (for reclaimers in test builds
/// that must then quarantine instead of free).
///
/// ```
/// assert!(!rcu_core::testing::broken());
/// ```
pub fn broken() -> bool {
    BROKEN.load(Ordering::SeqCst)
}
