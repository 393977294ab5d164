//! QEMU test-rcu-list for the four safe list families: readers check that nothing they saw was
//! reclaimed during their critical section, and every removed element is reclaimed exactly once.
//! The negative control (tests/negative_control.rs) shows the alive check fires when grace periods
//! are broken.
#![cfg(not(loom))]

mod common;

use common::stress::{Config, OnDead, stress};
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use std::time::Duration;

fn quick<F: Family>() {
    let report = stress::<F>(Config {
        duration: Duration::from_millis(1500),
        readers: 3,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

fn long<F: Family>() {
    let report = stress::<F>(Config {
        duration: Duration::from_secs(10),
        readers: 5,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

#[test]
fn qtailq_stress() {
    quick::<Tailq>();
}

#[test]
fn qlist_stress() {
    quick::<List>();
}

#[test]
fn qsimpleq_stress() {
    quick::<Simpleq>();
}

#[test]
fn qslist_stress() {
    quick::<Slist>();
}

#[test]
#[ignore = "long run (40 s); `cargo test -p rcu-queue --release --test stress -- --ignored`"]
fn all_families_stress_long() {
    long::<Tailq>();
    long::<List>();
    long::<Simpleq>();
    long::<Slist>();
}
