//! Re-running one test of the current test binary in a child process that is expected to fail: the
//! loom negative controls whose failing model makes loom abort the whole process while it unwinds
//! (thread-locals or blocked threads holding loom objects), so the failure can only be observed
//! from outside.

use std::process::{Command, ExitStatus};

/// In the test harness's process: runs test `test` of this binary again in a child process with
/// the environment variable `marker` set, and returns the child's exit status and standard error
/// for the caller to check. In that child (`marker` set): returns `None`, and the caller runs the
/// check that must fail.
///
/// # Example
///
/// ```no_run
/// fn my_negative_control() {
///     let Some((status, stderr)) =
///         rcu_test_support::rerun::failing_child("my_negative_control", "MY_CHILD")
///     else {
///         panic!("the failure the parent expects");
///     };
///     assert!(!status.success() && stderr.contains("the failure the parent expects"));
/// }
/// ```
///
/// # Panics
///
/// If the test binary cannot be found or started.
#[track_caller]
pub fn failing_child(test: &str, marker: &str) -> Option<(ExitStatus, String)> {
    if std::env::var_os(marker).is_some() {
        return None;
    }
    let exe = std::env::current_exe().expect("cannot locate the test binary to re-run it");
    let out = Command::new(exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(marker, "1")
        .output()
        .expect("cannot start the test binary again in a child process");
    Some((
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}
