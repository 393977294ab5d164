//! Process exit: rcu-core joins its idle callback thread from an `atexit` handler; `call_rcu` and
//! `rcu_barrier` called after that (from a later `atexit` handler or a static destructor) must still
//! work instead of blocking forever. The test re-runs itself in a child process (marker
//! `RCU_CORE_TEST_EXIT_CHILD=1`) so that the process really exits.

#[path = "common/child.rs"]
mod child;

use std::io::Write;
use std::sync::mpsc;

const CHILD: &str = "RCU_CORE_TEST_EXIT_CHILD";
const MARKER: &str = "late rcu_barrier ran the late callback";

/// Runs at exit after rcu-core's own handler (handlers run in reverse order of registration, and
/// this one is registered before rcu-core's).
extern "C" fn late_user_handler() {
    let ok = std::panic::catch_unwind(|| {
        let (tx, rx) = mpsc::channel();
        rcu_core::call_rcu(move || tx.send(()).unwrap());
        rcu_core::rcu_barrier();
        rx.try_recv().is_ok()
    });
    if matches!(ok, Ok(true)) {
        let _ = writeln!(std::io::stdout(), "{MARKER}");
        let _ = std::io::stdout().flush();
    }
}

#[test]
fn call_rcu_and_barrier_work_after_the_exit_handler() {
    if std::env::var_os(CHILD).is_none() {
        let output = child::rerun_test(
            "call_rcu_and_barrier_work_after_the_exit_handler",
            &[(CHILD, "1")],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(MARKER),
            "the late rcu_barrier did not run the late callback:\n{stdout}"
        );
        return;
    }
    // SAFETY: `late_user_handler` is an `extern "C"` function that does not unwind.
    assert_eq!(unsafe { libc::atexit(late_user_handler) }, 0);
    // Starts the callback thread, which registers rcu-core's exit handler after ours.
    rcu_core::call_rcu(|| {});
    rcu_core::rcu_barrier();
}
