//! The one place that names the RCU domain of [`RcuHashMap`](super::RcuHashMap): rcu-core's default
//! domain. Making the map generic over independent domains replaces this module only.

use core::ptr::NonNull;
use rcu_core::{GpState, RcuCallback, RcuHead};

/// The read-side guard that map readers present.
pub(crate) type Guard = rcu_core::ReadGuard;

/// Queues `func(head)` after a grace period (`call_rcu1`).
///
/// # Safety
///
/// As [`rcu_core::call_rcu1`].
pub(super) unsafe fn retire(head: NonNull<RcuHead>, func: RcuCallback) {
    // SAFETY: forwarded contract.
    unsafe { rcu_core::call_rcu1(head, func) }
}

/// Snapshots the grace-period state and makes sure a grace period will run.
pub(super) fn start_grace_period() -> GpState {
    rcu_core::start_poll_synchronize_rcu()
}

/// Whether a grace period has elapsed since `state`.
pub(super) fn grace_period_elapsed(state: GpState) -> bool {
    rcu_core::poll_state_synchronize_rcu(state)
}

/// Waits for a grace period (panics inside a read-side critical section).
pub(super) fn synchronize() {
    rcu_core::synchronize_rcu();
}

/// Whether this thread is inside a read-side critical section (waiting would deadlock).
pub(super) fn in_read_section() -> bool {
    rcu_core::read_ongoing()
}
