//! Forking from a test: the child runs a check and leaves with `_exit`, never returning into the
//! test harness; a hung child is killed (its own `alarm`, or the parent after a deadline), and the
//! parent reads the exit status with `waitpid`. Used by every fork test of the workspace (rcu-core's
//! `tests/fork*.rs` and `domain_local.rs`, rcu-queue's `tests/fork_writers.rs`).
//!
//! # Example
//!
//! ```
//! use rcu_test_support::fork::{describe, exited_ok, fork_with};
//!
//! let status = fork_with(|| if 2 + 2 == 4 { 0 } else { 1 });
//! assert!(exited_ok(status), "child failed: {}", describe(status));
//! ```

use std::panic;
use std::thread;
use std::time::{Duration, Instant};

/// Seconds after which a hung child is killed (by its own `alarm`, or by the parent).
pub const CHILD_TIMEOUT_SECS: u32 = 30;

/// Forks; the child runs `check` and leaves with its exit code (1 if it panicked), never returning
/// into the test harness. Returns the child's wait status in the parent.
pub fn fork_with(check: impl FnOnce() -> i32) -> libc::c_int {
    // SAFETY: fork has no memory-safety preconditions; the child only runs Rust code that is safe after
    // fork in practice (glibc's malloc has fork handlers, rcu-core has its own), and never returns.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: alarm only arms a timer for this process.
        unsafe { libc::alarm(CHILD_TIMEOUT_SECS) };
        let code = panic::catch_unwind(panic::AssertUnwindSafe(check)).unwrap_or(1);
        // SAFETY: _exit ends the child at once, without running the parent's atexit handlers or
        // returning into the test harness.
        unsafe { libc::_exit(code) };
    }
    wait_bounded(pid)
}

/// Waits for child `pid`, killing it if it has not exited after `CHILD_TIMEOUT_SECS` (a child can
/// hang inside `fork()` itself, in an atfork handler, before its `alarm` is armed). The 1 ms polling
/// interval only sets how soon the exit is noticed.
pub fn wait_bounded(pid: libc::pid_t) -> libc::c_int {
    let deadline = Instant::now() + Duration::from_secs(CHILD_TIMEOUT_SECS.into());
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child and `status` is a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if waited == pid {
            return status;
        }
        assert_eq!(
            waited,
            0,
            "waitpid failed: {}",
            std::io::Error::last_os_error()
        );
        if Instant::now() >= deadline {
            // SAFETY: kill and waitpid on our own, still unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return status;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Whether a wait status says the child exited with code 0.
pub fn exited_ok(status: libc::c_int) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// A wait status in words, for a failure message ("hung, killed after 30 s" for a killed child).
pub fn describe(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status)
        && matches!(libc::WTERMSIG(status), libc::SIGALRM | libc::SIGKILL)
    {
        format!("hung, killed after {CHILD_TIMEOUT_SECS} s")
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    }
}
