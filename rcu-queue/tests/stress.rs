//! QEMU test-rcu-list for the four safe list families: readers check that nothing they saw was
//! reclaimed during their critical section, and every removed element is reclaimed exactly once.
//! The element has drop glue (a callback drops it) or none (`PlainElem`: the updater frees it
//! through its free bag, `defer_free`). The negative control (tests/negative_control.rs) shows the
//! alive check fires when grace periods are broken, for both.
#![cfg(not(loom))]

mod common;

use common::stress::{Config, Elem, OnDead, Payload, PlainElem, stress};
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use std::time::Duration;

fn quick<E: Payload, F: Family>() {
    let report = stress::<E, F>(Config {
        duration: Duration::from_millis(1500),
        readers: 3,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

fn long<F: Family>() {
    let report = stress::<Elem, F>(Config {
        duration: Duration::from_secs(10),
        readers: 5,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    });
    eprintln!("{report:?}");
}

#[test]
fn qtailq_stress() {
    quick::<Elem, Tailq>();
}

#[test]
fn qlist_stress() {
    quick::<Elem, List>();
}

#[test]
fn qsimpleq_stress() {
    quick::<Elem, Simpleq>();
}

#[test]
fn qslist_stress() {
    quick::<Elem, Slist>();
}

/// The four families with an element without drop glue, one after another: `stress` counts the
/// default domain's free-bag frees, which only this test of the binary moves.
#[test]
fn plain_elements_stress() {
    quick::<PlainElem, Tailq>();
    quick::<PlainElem, List>();
    quick::<PlainElem, Simpleq>();
    quick::<PlainElem, Slist>();
}

#[test]
#[ignore = "long run (40 s); `cargo test -p rcu-queue --release --test stress -- --ignored`"]
fn all_families_stress_long() {
    long::<Tailq>();
    long::<List>();
    long::<Simpleq>();
    long::<Slist>();
}
