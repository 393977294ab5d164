//! Test support for negative controls, compiled only with `RUSTFLAGS="--cfg rcu_broken_gp"` (a
//! compiler flag, not a Cargo feature, so no dependency can turn it on in a production build).
//!
//! [`enable_broken_grace_periods`] turns on rcu-core's broken grace periods (`synchronize_rcu` and
//! `call_rcu` stop waiting for readers) **and** switches the safe lists' reclamation to a quarantine:
//! instead of freeing a removed node, the callback calls your poison hook on the value (through a shared
//! reference, so readers may still be looking at it) and parks the node. A stress test can then observe
//! "a reader saw a reclaimed element" without any real use-after-free. Call [`free_quarantine`] once
//! every reader thread has been joined; it drops the parked values and frees their nodes.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

type PoisonHook = Box<dyn Fn(&dyn Any) + Send + Sync>;

/// Fast check on the reclamation path; the hook itself lives in `HOOK`.
static BROKEN: AtomicBool = AtomicBool::new(false);
static HOOK: Mutex<Option<PoisonHook>> = Mutex::new(None);
static QUARANTINE: Mutex<Vec<Parked>> = Mutex::new(Vec::new());

/// A quarantined node and the function that frees it (dropping its value).
struct Parked {
    node: *mut u8,
    free: unsafe fn(*mut u8),
}

// SAFETY: a parked node is owned by the quarantine alone (it was retired), and its value is `Send`.
unsafe impl Send for Parked {}

/// Breaks grace periods (see the [module docs](self)) and poisons reclaimed values with `poison`, which
/// receives each value as `&dyn Any` (downcast it to your type) and must only use shared access.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// struct Elem { alive: AtomicU32 }
/// rcu_queue::testing::enable_broken_grace_periods(|v| {
///     if let Some(e) = v.downcast_ref::<Elem>() { e.alive.store(0, Ordering::Relaxed); }
/// });
/// rcu_queue::testing::disable_broken_grace_periods();
/// ```
pub fn enable_broken_grace_periods(poison: impl Fn(&dyn Any) + Send + Sync + 'static) {
    *HOOK.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(poison));
    // Already installed by an earlier call: the same function, so the error is moot.
    let _ = crate::node::DIVERT.set(quarantine);
    BROKEN.store(true, Relaxed);
    rcu_core::testing::set_broken_grace_periods(true);
}

/// Restores real grace periods and normal reclamation. Already quarantined nodes stay parked until
/// [`free_quarantine`].
///
/// # Example
///
/// ```
/// rcu_queue::testing::disable_broken_grace_periods();
/// ```
pub fn disable_broken_grace_periods() {
    rcu_core::testing::set_broken_grace_periods(false);
    BROKEN.store(false, Relaxed);
    *HOOK.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Drops the values of, and frees, every quarantined node; returns how many there were.
///
/// # Safety
///
/// No thread may still hold a reference into a quarantined node: every reader that ran while grace
/// periods were broken has been joined (or has left all its critical sections and dropped what it read).
///
/// # Example
///
/// ```
/// // SAFETY: no reader threads exist in this example.
/// let freed = unsafe { rcu_queue::testing::free_quarantine() };
/// assert_eq!(freed, 0);
/// ```
pub unsafe fn free_quarantine() -> usize {
    let parked = std::mem::take(&mut *QUARANTINE.lock().unwrap_or_else(PoisonError::into_inner));
    let n = parked.len();
    for p in parked {
        // SAFETY: `free` matches the node's type (set in `quarantine`); no one else references the
        // node (our caller's contract).
        unsafe { (p.free)(p.node) };
    }
    n
}

/// The reclamation detour ([`crate::node::DIVERT`]): in broken mode, poisons the value and parks the
/// node, returning true; otherwise returns false and the caller frees the node normally.
///
/// # Safety
///
/// `node` is a retired node whose reclamation callback is running, `value` is its value, and `free`
/// frees it.
unsafe fn quarantine(node: *mut u8, value: &dyn Any, free: unsafe fn(*mut u8)) -> bool {
    if !BROKEN.load(Relaxed) {
        return false;
    }
    let hook = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(poison) = hook.as_ref() else {
        return false;
    };
    poison(value);
    drop(hook);
    QUARANTINE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Parked { node, free });
    true
}
