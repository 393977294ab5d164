//! Negative control for the loom models: with rcu-core's test-only broken grace periods, the model
//! of `tests/loom.rs` must find the reader/reclaimer race. Its own test binary (process), because the
//! switch is process-wide.
//!
//! Run with `RUSTFLAGS="--cfg loom --cfg rcu_broken_gp" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-core --release --test loom_negative`.
#![cfg(all(loom, rcu_broken_gp))]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicPtr, Ordering};
use loom::thread;
use rcu_core::Domain;

#[test]
#[should_panic(expected = "Causality violation")]
fn broken_grace_period_is_caught() {
    rcu_core::testing::set_broken_grace_periods(true);
    loom::model(|| {
        let domain = Arc::new(Domain::new());
        let nodes = Arc::new([UnsafeCell::new(1u32), UnsafeCell::new(2u32)]);
        let slot = Arc::new(AtomicPtr::new(
            (&nodes[0] as *const UnsafeCell<u32>).cast_mut(),
        ));

        let reader = {
            let (domain, nodes, slot) = (domain.clone(), nodes.clone(), slot.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                let p = slot.load(Ordering::Acquire);
                // SAFETY: `p` points at one of the two live cells; loom checks the access.
                let _ = unsafe { (*p).with(|v| *v) };
                drop(guard);
                drop(nodes);
            })
        };

        slot.store(
            (&nodes[1] as *const UnsafeCell<u32>).cast_mut(),
            Ordering::Release,
        );
        domain.synchronize();
        // SAFETY: none with broken grace periods: this is the race loom must report.
        nodes[0].with_mut(|v| unsafe { *v = 0 });
        reader.join().unwrap();
    });
}

/// Negative control of `producer_waits_for_the_callback_thread` (`tests/loom.rs`): a callback
/// thread that does not wake the producers waiting for the backlog to fall leaves one asleep, and
/// loom reports the deadlock. loom then aborts the process while it unwinds the blocked threads
/// (their loom objects panic on drop), so the model runs in a child process of this test binary
/// and the test checks that the child failed with loom's deadlock report.
#[test]
fn lost_throttle_wakeup_is_caught() {
    let Some((status, stderr)) = rcu_test_support::rerun::failing_child(
        "lost_throttle_wakeup_is_caught",
        "RCU_CORE_LOOM_THROTTLE_CHILD",
    ) else {
        rcu_core::testing::set_broken_throttle_wakeup(true);
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(|| {
            let domain = Domain::new();
            domain.set_callback_limit(rcu_core::CallbackLimit::new(1, 0));
            domain.call_rcu(|| ());
            domain.call_rcu(|| ());
            domain.barrier();
        });
        return;
    };
    assert!(
        !status.success() && stderr.contains("deadlock; threads"),
        "loom did not report the lost wake-up (status {status}); stderr:\n{stderr}"
    );
}
