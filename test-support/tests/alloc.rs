//! The allocator's modes, each checked in a child process of this binary that starts with the
//! environment set (the mode and the budget are read at the first allocation).

use std::process::Command;

use rcu_test_support::PoisonAlloc;
use rcu_test_support::alloc::{self, ALLOC_ENV, QUARANTINE_ENV};

#[global_allocator]
static ALLOC: PoisonAlloc = PoisonAlloc::new();

const CHILD: &str = "RCU_TEST_SUPPORT_CHILD";

/// Runs `test` of this binary in a child with `env` set; true if it passed.
fn child(test: &str, env: &[(&str, &str)]) -> bool {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out.status.success()
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Frees 64 KiB in 1 KiB blocks.
fn churn() {
    for _ in 0..64 {
        drop(std::hint::black_box(vec![7u8; 1024]));
    }
}

#[test]
fn default_budget_keeps_every_freed_block() {
    let before = alloc::stats();
    churn();
    let after = alloc::stats();
    assert!(after.poisoning);
    assert!(after.freed_bytes >= before.freed_bytes + 64 * 1024);
    assert!(after.quarantined_bytes >= before.quarantined_bytes + 64 * 1024);
    assert!(after.allocated_bytes >= after.freed_bytes);
}

#[test]
fn small_budget_frees_the_oldest() {
    if !in_child() {
        assert!(child(
            "small_budget_frees_the_oldest",
            &[(QUARANTINE_ENV, "8192")]
        ));
        return;
    }
    churn();
    let s = alloc::stats();
    assert!(s.poisoning);
    assert!(s.quarantined_bytes <= 8192, "{s:?}");
    assert!(s.released_bytes >= 60 * 1024, "{s:?}");
}

#[test]
fn zero_budget_frees_at_once() {
    if !in_child() {
        assert!(child("zero_budget_frees_at_once", &[(QUARANTINE_ENV, "0")]));
        return;
    }
    churn();
    let s = alloc::stats();
    assert!(s.poisoning);
    assert_eq!(s.quarantined_bytes, 0, "{s:?}");
    assert_eq!(s.released_bytes, s.freed_bytes, "{s:?}");
}

#[test]
fn system_mode_forwards() {
    if !in_child() {
        assert!(child("system_mode_forwards", &[(ALLOC_ENV, "system")]));
        return;
    }
    churn();
    assert_eq!(alloc::stats(), alloc::AllocStats::default());
}
