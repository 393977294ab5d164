//! The fence-based fallback barrier path (used where `membarrier(2)` is unavailable: old kernels,
//! valgrind), forced with `RCU_CORE_FORCE_FALLBACK=1`, which rcu-core reads once at start-up.
//!
//! Each test re-runs itself in a child process with the variable set from the start (unless it is
//! already set to `1`, as in `RCU_CORE_FORCE_FALLBACK=1 cargo test --test fallback`).

#[path = "common/child.rs"]
mod child;
#[path = "common/torture.rs"]
mod torture;

use std::time::Duration;

const FORCE: &str = rcu_core::FORCE_FALLBACK_ENV;

fn forced() -> bool {
    std::env::var(FORCE).is_ok_and(|v| v == "1")
}

/// Whether the kernel offers private expedited membarrier (what rcu-core uses when it may).
fn kernel_has_private_expedited_membarrier() -> bool {
    // SAFETY: MEMBARRIER_CMD_QUERY has no side effects and takes no pointers.
    let supported =
        unsafe { libc::syscall(libc::SYS_membarrier, libc::MEMBARRIER_CMD_QUERY, 0, 0) };
    supported > 0 && supported & libc::c_long::from(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
}

#[test]
fn forced_fallback_runs_the_torture() {
    if !forced() {
        child::rerun_test("forced_fallback_runs_the_torture", &[(FORCE, "1")]);
        return;
    }
    // The barrier mode is chosen when the first reader registers.
    drop(rcu_core::read_lock());
    assert!(
        !rcu_core::stats().membarrier,
        "{FORCE}=1 did not select the fallback path"
    );
    let outcome = torture::run(&torture::Config {
        duration: Duration::from_secs(1),
        ..torture::Config::default()
    });
    println!("{outcome}");
    assert_eq!(
        outcome.violations(),
        0,
        "violation on the fallback path:\n{outcome}"
    );
    assert!(
        outcome.updates >= 10 && outcome.reads >= 1000,
        "too little progress:\n{outcome}"
    );
}

#[test]
fn membarrier_is_used_when_available() {
    // The barrier mode is chosen when the first reader registers.
    drop(rcu_core::read_lock());
    let membarrier = rcu_core::stats().membarrier;
    if forced() {
        assert!(!membarrier);
    } else {
        assert_eq!(
            membarrier,
            kernel_has_private_expedited_membarrier(),
            "rcu-core's barrier choice does not match what the kernel offers"
        );
    }
}
