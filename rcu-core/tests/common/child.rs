//! Re-running one test of the current test binary in a child process, with extra environment
//! variables set from the child's start (for settings that rcu-core reads once, at start-up) or with
//! its output captured.

use std::process::{Command, Output};

/// Runs test `name` of this test binary in a child process with `env` added to its environment, and
/// asserts that exactly that test ran and passed. Returns the child's output.
pub fn rerun_test(name: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("cannot locate the test binary");
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .output()
        .expect("cannot run the test binary in a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "child run of `{name}` with {env:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    output
}
