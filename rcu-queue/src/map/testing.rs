//! Negative-control support for the map (cargo feature `broken-gp`; never enable it in production).
//!
//! [`rcu_queue::testing`](crate::testing) quarantines the lists' nodes; this module adds the map's
//! nodes to the same scheme: [`enable_broken_grace_periods`] breaks rcu-core's grace periods through
//! [`crate::testing::enable_broken_grace_periods`] and, while on, a reclaimed map node is poisoned
//! (the hook sees its value as `&dyn Any`) and parked instead of freed. [`free_quarantine`] frees the
//! parked nodes of both.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

type PoisonHook = Arc<dyn Fn(&dyn Any) + Send + Sync>;

static BROKEN: AtomicBool = AtomicBool::new(false);
static HOOK: Mutex<Option<PoisonHook>> = Mutex::new(None);
/// Parked nodes; dropping one frees the node and its key and value.
static PARKED: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

/// Breaks grace periods and quarantines reclaimed list **and map** nodes, poisoning each value with
/// `poison` (see [`crate::testing::enable_broken_grace_periods`]).
///
/// # Example
///
/// ```
/// rcu_queue::map::testing::enable_broken_grace_periods(|_value| {});
/// rcu_queue::map::testing::disable_broken_grace_periods();
/// ```
pub fn enable_broken_grace_periods(poison: impl Fn(&dyn Any) + Send + Sync + 'static) {
    let poison: PoisonHook = Arc::new(poison);
    let lists = poison.clone();
    *HOOK.lock().unwrap_or_else(PoisonError::into_inner) = Some(poison);
    BROKEN.store(true, Relaxed);
    crate::testing::enable_broken_grace_periods(move |value| lists(value));
}

/// Restores real grace periods; parked nodes stay parked until [`free_quarantine`].
///
/// # Example
///
/// ```
/// rcu_queue::map::testing::disable_broken_grace_periods();
/// ```
pub fn disable_broken_grace_periods() {
    crate::testing::disable_broken_grace_periods();
    BROKEN.store(false, Relaxed);
    *HOOK.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Frees every quarantined list and map node; returns how many there were.
///
/// # Safety
///
/// As [`crate::testing::free_quarantine`]: no thread still holds a reference into a parked node.
///
/// # Example
///
/// ```
/// // SAFETY: no reader threads exist in this example.
/// assert_eq!(unsafe { rcu_queue::map::testing::free_quarantine() }, 0);
/// ```
pub unsafe fn free_quarantine() -> usize {
    let parked = std::mem::take(&mut *PARKED.lock().unwrap_or_else(PoisonError::into_inner));
    // SAFETY: forwarded contract.
    parked.len() + unsafe { crate::testing::free_quarantine() }
}

/// Called by the map's reclamation callback: in broken mode, poisons `node`'s value and parks the
/// node; otherwise hands it back (`Err`) for the caller to free.
pub(super) fn quarantine<K: Send + 'static, V: Send + 'static>(
    node: Box<super::raw::Node<K, V>>,
) -> Result<(), Box<super::raw::Node<K, V>>> {
    if !BROKEN.load(Relaxed) {
        return Err(node);
    }
    let Some(poison) = HOOK.lock().unwrap_or_else(PoisonError::into_inner).clone() else {
        return Err(node);
    };
    poison(&node.value as &dyn Any);
    PARKED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(node);
    Ok(())
}
