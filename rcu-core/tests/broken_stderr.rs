//! Diagnostics never panic: with standard error broken (a closed pipe, so every write fails), a
//! panicking callback's report and a stall warning must neither kill the callback thread nor leave
//! the grace-period leader stuck. Each test re-runs itself in a child process whose stderr is a
//! closed pipe (marker `RCU_CORE_TEST_BROKEN_STDERR=1`).

#[path = "common/child.rs"]
mod child;
#[path = "common/reader.rs"]
mod reader;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use child::{Stderr, in_own_process};
use reader::HeldReader;

const CHILD: &str = "RCU_CORE_TEST_BROKEN_STDERR";

fn in_child(name: &str) -> bool {
    in_own_process(name, CHILD, 1, Stderr::Broken)
}

#[test]
fn panicking_callback_report_survives_broken_stderr() {
    if !in_child("panicking_callback_report_survives_broken_stderr") {
        return;
    }
    rcu_core::call_rcu(|| panic!("a callback panics while stderr is broken"));
    let (tx, rx) = mpsc::channel();
    rcu_core::call_rcu(move || tx.send(()).unwrap());
    // Hangs if the report killed the callback thread.
    rcu_core::rcu_barrier();
    rx.try_recv()
        .expect("the callback queued after the panicking one did not run");
    assert_eq!(rcu_core::stats().callback_panics, 1);
}

#[test]
fn stall_warning_survives_broken_stderr() {
    if !in_child("stall_warning_survives_broken_stderr") {
        return;
    }
    rcu_core::set_stall_timeout(Some(Duration::from_millis(10)));
    let before = rcu_core::stats().stall_warnings;
    let reader = HeldReader::enter("stalling-reader");
    let writer = thread::spawn(rcu_core::synchronize_rcu);
    // Wait (bounded) for the warning; the polling interval is not what the result depends on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rcu_core::stats().stall_warnings == before {
        assert!(Instant::now() < deadline, "no stall warning within 20 s");
        thread::sleep(Duration::from_millis(1));
    }
    reader.leave();
    assert!(
        writer.join().is_ok(),
        "synchronize_rcu panicked while printing the stall warning"
    );
    // The leader's state was released: later grace periods still complete.
    rcu_core::synchronize_rcu();
    rcu_core::set_stall_timeout(None);
}
