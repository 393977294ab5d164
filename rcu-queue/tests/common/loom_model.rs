//! The loom models' runners, shared by tests/loom_list.rs and tests/loom_list_plain.rs (included with
//! `#[path]`).
#![allow(dead_code)] // each test binary uses one of them

/// Runs `f` under loom at preemption bound 2; in the negative-control build (`--cfg rcu_broken_gp`),
/// with grace periods switched off.
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    #[cfg(rcu_broken_gp)]
    rcu_core::testing::set_broken_grace_periods(true);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}

/// Runs `f` with [`model`]; in the negative-control build, in a child process of this test binary
/// (the test `name`), which must fail with loom's report of the race. A child, because loom aborts
/// the process when the failing execution unwinds through a thread-local that holds loom objects
/// (a writer's free bag, once it has retired through `defer_free`).
pub fn check(name: &str, f: impl Fn() + Sync + Send + 'static) {
    #[cfg(not(rcu_broken_gp))]
    {
        let _ = name;
        model(f);
    }
    #[cfg(rcu_broken_gp)]
    {
        let Some((status, stderr)) =
            rcu_test_support::rerun::failing_child(name, "RCU_QUEUE_LOOM_CHILD")
        else {
            model(f);
            return;
        };
        assert!(
            !status.success() && stderr.contains("Causality violation"),
            "loom did not report the early free (status {status}); stderr:\n{stderr}"
        );
    }
}
