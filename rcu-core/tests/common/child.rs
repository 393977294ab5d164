//! Re-running one test of the current test binary in a child process, with extra environment
//! variables set from the child's start (for settings that rcu-core reads once, at start-up), with
//! its output captured, or with a broken standard error.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a child may run before it counts as hung and is killed.
const CHILD_DEADLINE: Duration = Duration::from_secs(30);

/// What the child's standard error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each test binary uses the variants it needs
pub enum Stderr {
    /// A pipe the parent reads (returned in the output).
    Captured,
    /// A pipe whose read end is closed before the child starts writing: every write fails with
    /// `EPIPE` (Rust ignores `SIGPIPE`), like a daemon whose log reader went away.
    Broken,
}

/// The "in a process of its own" idiom. In the test harness's process: re-runs test `name` `runs`
/// times, each in a fresh child process with `marker` set and standard error set up as `stderr`
/// (each run must pass, see [`rerun_test_with`]), and returns `false`, so that the test returns.
/// In such a child: returns `true`, and the test does its work.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn in_own_process(name: &str, marker: &str, runs: usize, stderr: Stderr) -> bool {
    if std::env::var_os(marker).is_some() {
        return true;
    }
    for _ in 0..runs {
        rerun_test_with(name, &[(marker, "1")], stderr);
    }
    false
}

/// Runs test `name` of this test binary in a child process with `env` added to its environment, and
/// asserts that exactly that test ran and passed. Returns the child's output.
#[allow(dead_code)] // not every test binary that includes this module uses both entry points
pub fn rerun_test(name: &str, env: &[(&str, &str)]) -> Output {
    rerun_test_with(name, env, Stderr::Captured)
}

/// As [`rerun_test`], with the child's standard error set up as `stderr`. A child still running
/// after 30 s is killed and the test fails as hung.
pub fn rerun_test_with(name: &str, env: &[(&str, &str)], stderr: Stderr) -> Output {
    let exe = std::env::current_exe().expect("cannot locate the test binary");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the test binary in a child process");
    let err_pipe = child.stderr.take().expect("stderr is piped");
    let err_reader = match stderr {
        Stderr::Captured => Some(thread::spawn(move || drain(err_pipe))),
        Stderr::Broken => {
            drop(err_pipe);
            None
        }
    };
    let out_pipe = child.stdout.take().expect("stdout is piped");
    let out_reader = thread::spawn(move || drain(out_pipe));
    let deadline = Instant::now() + CHILD_DEADLINE;
    // The polling interval only sets how soon the exit is noticed.
    let (status, hung) = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for the child") {
            break (status, false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break (child.wait().expect("cannot reap the child"), true);
        }
        thread::sleep(Duration::from_millis(2));
    };
    let output = Output {
        status,
        stdout: out_reader.join().expect("stdout reader panicked"),
        stderr: err_reader.map_or_else(Vec::new, |r| r.join().expect("stderr reader panicked")),
    };
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !hung,
        "child run of `{name}` with {env:?} hung and was killed after {CHILD_DEADLINE:?}:\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        output.status.success() && out.contains("test result: ok. 1 passed"),
        "child run of `{name}` with {env:?} failed ({}):\n--- stdout\n{out}\n--- stderr\n{err}",
        output.status
    );
    output
}

fn drain(mut pipe: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    bytes
}
