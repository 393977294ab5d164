//! Misuse panics of the writer locks point at the caller's line (`#[track_caller]`), not at
//! rcu-queue's sources. Its own test binary, because it installs a process-wide panic hook.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use rcu_queue::{RcuTailq, WriterLock};

/// Runs `f`, which must panic, and returns the file the panic was reported at.
fn panic_file(f: impl FnOnce()) -> String {
    let file = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&file);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            *seen.lock().unwrap() = location.file().to_owned();
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    assert!(result.is_err(), "no panic");
    file.lock().unwrap().clone()
}

#[test]
fn writer_lock_misuse_panics_name_the_callers_line() {
    let here = file!();
    let bql = WriterLock::new(());
    let other = WriterLock::new(());
    let external = RcuTailq::<u32>::with_external_lock(&bql);
    let own = RcuTailq::<u32>::new();
    let reentrant = panic_file(|| {
        let _held = bql.lock();
        let _again = bql.lock();
    });
    assert_eq!(reentrant, here, "WriterLock::lock re-entry");
    let wrong_lock = panic_file(|| {
        let mut guard = other.lock();
        let _w = external.writer(&mut guard);
    });
    assert_eq!(wrong_lock, here, "writer() with another lock's guard");
    let own_lock = panic_file(|| {
        let mut guard = bql.lock();
        let _w = own.writer(&mut guard);
    });
    assert_eq!(own_lock, here, "writer() on a list with its own lock");
    let external_lock = panic_file(|| {
        let _w = external.lock();
    });
    assert_eq!(
        external_lock, here,
        "lock() on a list with an external lock"
    );
    another_domains_guard_panics_name_the_callers_line();
}

/// Part of the test above (one test per binary: the panic hook is process-wide).
fn another_domains_guard_panics_name_the_callers_line() {
    let here = file!();
    let (a, b) = (rcu_core::Domain::new(), rcu_core::Domain::new());
    let list = RcuTailq::new_in(&a);
    list.lock().push_back(1u32);
    let map = rcu_queue::RcuHashMap::new_in(&a);
    map.insert(1u32, 1u32);
    let iter = panic_file(|| {
        let guard = b.read_lock();
        let _ = list.iter(&guard).count();
    });
    assert_eq!(iter, here, "RcuQueue::iter with another domain's guard");
    let first = panic_file(|| {
        let _ = list.first(&b.read_lock()).is_some();
    });
    assert_eq!(first, here, "RcuQueue::first with another domain's guard");
    let get = panic_file(|| {
        let _ = map.get(&1, &b.read_lock()).is_some();
    });
    assert_eq!(get, here, "RcuHashMap::get with another domain's guard");
    // The right domain's guard reads.
    assert_eq!(list.first(&a.read_lock()), Some(&1));
    assert_eq!(map.get(&1, &a.read_lock()), Some(&1));
}
