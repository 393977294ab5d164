//! Read-side sections in thread-local destructors that run after rcu-core's own per-thread
//! registration has been destroyed (destructors run in reverse order of registration, so a
//! thread-local first touched before the thread's first `read_lock` is destroyed after it).
//!
//! Such a thread must neither leak reader records (every later grace period scans them) nor lose
//! track of its own section (`read_ongoing`, and the misuse panic of `synchronize_rcu` inside it).
//! Everything runs in one test, because it compares the registry size before and after.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{ReadGuard, read_lock, read_ongoing, stats, synchronize_rcu};

/// What a late destructor observed.
#[derive(Debug, Default)]
struct Report {
    /// Registered readers right after the destructor's many short sections.
    records_after_sections: usize,
    ongoing_inside: bool,
    synchronize_panicked: bool,
    ongoing_after: bool,
}

/// Runs read-side sections when the thread-local holding it is destroyed.
struct LateReader {
    sections: usize,
    report: mpsc::Sender<Report>,
}

impl Drop for LateReader {
    fn drop(&mut self) {
        for _ in 0..self.sections {
            let _guard = read_lock();
        }
        let records_after_sections = stats().registered_readers;
        let guard = read_lock();
        let ongoing_inside = read_ongoing();
        // Panicking out of a thread-local destructor aborts the process: catch it.
        let synchronize_panicked = catch_unwind(AssertUnwindSafe(synchronize_rcu)).is_err();
        drop(guard);
        let _ = self.report.send(Report {
            records_after_sections,
            ongoing_inside,
            synchronize_panicked,
            ongoing_after: read_ongoing(),
        });
    }
}

thread_local! {
    static LATE: RefCell<Option<LateReader>> = const { RefCell::new(None) };
    static HELD: RefCell<Option<ReadGuard>> = const { RefCell::new(None) };
}

#[test]
fn late_thread_local_destructors() {
    rcu_core::register_thread();
    rcu_core::unregister_thread();
    let baseline = stats().registered_readers;

    // 1. Sections in a destructor that runs after the registration is gone.
    let (tx, rx) = mpsc::channel();
    let late = thread::spawn(move || {
        // Touch LATE first, so that it is destroyed after rcu-core's registration.
        LATE.with(|l| {
            *l.borrow_mut() = Some(LateReader {
                sections: 1000,
                report: tx,
            })
        });
        drop(read_lock());
    });
    // Not joined before the report: on failure the destructor hangs in synchronize_rcu.
    let report = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the late destructor hung (synchronize_rcu inside its own section waited forever)");
    late.join().unwrap();
    assert!(
        report.records_after_sections <= baseline + 1,
        "1000 sections in a late destructor left {} reader records registered (baseline {baseline})",
        report.records_after_sections
    );
    assert!(
        report.ongoing_inside,
        "read_ongoing() was false inside a late section"
    );
    assert!(
        report.synchronize_panicked,
        "synchronize_rcu inside a late section did not panic"
    );
    assert!(!report.ongoing_after, "read_ongoing() stayed true");
    assert_eq!(
        stats().registered_readers,
        baseline,
        "late sections left reader records registered"
    );

    // 2. A guard still alive when the registration is destroyed (held by a thread-local destroyed
    //    later): the record stays valid while the guard lives and is unregistered when it drops.
    thread::spawn(|| {
        HELD.with(|h| {
            let _ = h.borrow();
        });
        HELD.with(|h| *h.borrow_mut() = Some(read_lock()));
    })
    .join()
    .unwrap();
    assert_eq!(
        stats().registered_readers,
        baseline,
        "a guard dropped after the registration left its record registered"
    );
    // No stale record blocks grace periods.
    synchronize_rcu();
}
