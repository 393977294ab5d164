//! Misuse panics point at the caller's line (`#[track_caller]`), not at rcu-core's sources.
//! Its own test binary, because it installs a process-wide panic hook.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use rcu_core::{Domain, RcuArcCell, RcuCell, read_lock};

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

/// One misuse to check: its name and a call that must panic.
type Case<'a> = (&'static str, Box<dyn FnOnce() + 'a>);

#[test]
fn misuse_panics_name_the_callers_line() {
    let here = file!();
    let cell = RcuCell::new(0u32);
    let domain = Domain::new();
    let handle = domain.register();
    let other = Domain::new();
    let cell_in_domain = RcuCell::new_in(0u32, &domain);
    let arc_cell_in_domain = RcuArcCell::new_in(std::sync::Arc::new(0u32), &domain);
    let cases: [Case<'_>; 8] = [
        (
            "synchronize_rcu",
            Box::new(|| {
                let _g = read_lock();
                rcu_core::synchronize_rcu();
            }),
        ),
        (
            "rcu_barrier",
            Box::new(|| {
                let _g = read_lock();
                rcu_core::rcu_barrier();
            }),
        ),
        (
            "RcuCell::replace_sync",
            Box::new(|| {
                let _g = read_lock();
                cell.replace_sync(1);
            }),
        ),
        (
            "unregister_thread",
            Box::new(|| {
                let _g = read_lock();
                rcu_core::unregister_thread();
            }),
        ),
        (
            "Domain::synchronize",
            Box::new(|| {
                let _g = handle.read_lock();
                domain.synchronize();
            }),
        ),
        (
            "Domain::barrier",
            Box::new(|| {
                let _g = handle.read_lock();
                domain.barrier();
            }),
        ),
        (
            "RcuCell::read with another domain's guard",
            Box::new(|| {
                let _ = cell_in_domain.read(&other.read_lock());
            }),
        ),
        (
            "RcuArcCell::read with another domain's guard",
            Box::new(|| {
                let _ = arc_cell_in_domain.read(&other.read_lock());
            }),
        ),
    ];
    for (what, case) in cases {
        let file = panic_file(case);
        assert_eq!(
            file, here,
            "the panic of {what} inside a section points at {file}, not at the caller"
        );
    }
}
