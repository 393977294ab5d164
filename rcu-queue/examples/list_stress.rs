//! The QEMU test-rcu-list stress run for all four safe list families, as a binary for valgrind.
//!
//! Usage: `list_stress [SECONDS_PER_FAMILY] [READERS]` (defaults 1.0 and 2): each family with an
//! element with drop glue, then with one without (freed by the updater's free bag). Exits non-zero
//! (panics) if a reader sees a reclaimed element or `removed != reclaimed`.
//!
//! ```text
//! cargo build -p rcu-queue --release --example list_stress
//! RCU_TEST_ALLOC=system RCU_TEST_PERTURB=0 valgrind --error-exitcode=1 --leak-check=full \
//!     target/release/examples/list_stress 0.25 2
//! ```
//!
//! Runs under rcu-test-support's poisoning allocator with signal perturbation (freed blocks read as
//! poison; random threads paused at random points); `RCU_TEST_ALLOC=system` and
//! `RCU_TEST_PERTURB=0` turn them off, as the valgrind runs do. CI also runs it as a debug build
//! (`.ci/stress-debug.sh`) and under AddressSanitizer (`.ci/asan.sh`).

#[path = "../tests/common/stress.rs"]
#[allow(dead_code)]
mod stress;

use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use std::time::Duration;
use stress::{Config, Elem, OnDead, Payload, PlainElem};

fn run<E: Payload, F: Family>(cfg: Config) {
    let r = stress::stress::<E, F>(cfg);
    println!(
        "{} ({}): {} readers; 1 updater; nodes read: {}, traversals: {}, nodes removed: {}, inserted: {}, updates: {}",
        r.family,
        std::any::type_name::<E>().rsplit("::").next().unwrap(),
        cfg.readers,
        r.nodes_read,
        r.traversals,
        r.removed,
        r.inserted,
        r.updates
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(1.0, |s| {
        s.parse().expect("SECONDS_PER_FAMILY must be a number")
    });
    let readers: usize = args
        .next()
        .map_or(2, |s| s.parse().expect("READERS must be an integer"));
    let cfg = Config {
        duration: Duration::from_secs_f64(seconds),
        readers,
        on_dead: OnDead::Panic,
        reader_spin: 0,
    };
    run::<Elem, Tailq>(cfg);
    run::<Elem, List>(cfg);
    run::<Elem, Simpleq>(cfg);
    run::<Elem, Slist>(cfg);
    // An element without drop glue: the updater frees it through its free bag (`defer_free`).
    run::<PlainElem, Tailq>(cfg);
    run::<PlainElem, List>(cfg);
    run::<PlainElem, Simpleq>(cfg);
    run::<PlainElem, Slist>(cfg);
    // What the test support did: the allocator poisons (unless RCU_TEST_ALLOC=system) and the
    // perturber sent signals (unless RCU_TEST_PERTURB=0).
    println!(
        "{:?}\n{:?}",
        rcu_test_support::alloc::stats(),
        rcu_test_support::perturb::stats()
    );
}
