//! Stall warnings: a grace period blocked longer than the stall timeout prints one warning naming the
//! blocking reader thread, and counts it in `stats().stall_warnings` (Linux RCU CPU stall warnings).
//!
//! The test re-runs itself in a child process (marker `RCU_CORE_TEST_STALL_CHILD=1`) to capture the
//! warning from stderr.

#[path = "common/child.rs"]
mod child;
#[path = "common/reader.rs"]
mod reader;

use std::thread;
use std::time::{Duration, Instant};

use reader::HeldReader;

const CHILD: &str = "RCU_CORE_TEST_STALL_CHILD";
const READER_NAME: &str = "stalling-reader";

#[test]
fn stall_warning_names_the_blocking_reader() {
    if std::env::var_os(CHILD).is_none() {
        let output = child::rerun_test("stall_warning_names_the_blocking_reader", &[(CHILD, "1")]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(READER_NAME),
            "the stall warning does not name the blocking reader thread:\n{stderr}"
        );
        return;
    }
    rcu_core::set_stall_timeout(Some(Duration::from_millis(50)));
    let before = rcu_core::stats().stall_warnings;
    let reader = HeldReader::enter(READER_NAME);
    let writer = thread::spawn(rcu_core::synchronize_rcu);
    // Wait (bounded) for the warning; the polling interval is not what the result depends on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rcu_core::stats().stall_warnings == before {
        assert!(Instant::now() < deadline, "no stall warning within 20 s");
        thread::sleep(Duration::from_millis(5));
    }
    reader.leave();
    writer.join().unwrap();
    assert!(rcu_core::stats().stall_warnings > before);
    rcu_core::set_stall_timeout(None);
}
