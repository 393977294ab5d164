//! The `RcuHashMap` stress run (tests/map_common/stress.rs) as a binary for valgrind, run twice:
//! on an `RcuHashMap` (heap nodes) and on an `RcuFlatHashMap` (pairs stored in the table).
//!
//! Usage: `map_stress [SECONDS] [READERS]` (defaults 1.0 and 2; each map kind runs `SECONDS`).
//! Exits non-zero (panics) if a reader sees a torn or reclaimed value (for the flat map: a pair
//! read from a freed table), misses a present key during a resize, or `removed != reclaimed`.
//!
//! ```text
//! cargo build -p rcu-queue --release --example map_stress
//! RCU_TEST_ALLOC=system RCU_TEST_PERTURB=0 valgrind --error-exitcode=1 --leak-check=full \
//!     target/release/examples/map_stress 0.5 2
//! ```
//!
//! Runs under rcu-test-support's poisoning allocator with signal perturbation (freed blocks read as
//! poison; random threads paused at random points); `RCU_TEST_ALLOC=system` and
//! `RCU_TEST_PERTURB=0` turn them off, as the valgrind runs do. CI also runs it as a debug build
//! (`.ci/stress-debug.sh`) and under AddressSanitizer (`.ci/asan.sh`).

#[path = "../tests/map_common/stress.rs"]
#[allow(dead_code)]
mod map_stress;

use map_stress::{Config, Elem, FlatElem, OnDead, Report};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args
        .next()
        .map_or(1.0, |s| s.parse().expect("SECONDS must be a number"));
    let readers: usize = args
        .next()
        .map_or(2, |s| s.parse().expect("READERS must be an integer"));
    let run = |name: &str, stress: fn(Config) -> Report| {
        let r = stress(Config {
            duration: Duration::from_secs_f64(seconds),
            readers,
            on_dead: OnDead::Panic,
            reader_spin: 0,
        });
        println!(
            "{name}: {readers} readers; 1 updater; lookups: {}, values checked: {}, misses: {}, \
             inserted: {}, removed: {}, forced resizes: {}, key 0 moved: {}",
            r.lookups, r.values_checked, r.misses, r.inserted, r.removed, r.resizes, r.moves
        );
    };
    run("RcuHashMap", map_stress::stress::<Elem>);
    run("RcuFlatHashMap", map_stress::stress::<FlatElem>);
    // What the test support did: the allocator poisons (unless RCU_TEST_ALLOC=system) and the
    // perturber sent signals (unless RCU_TEST_PERTURB=0).
    println!(
        "{:?}\n{:?}",
        rcu_test_support::alloc::stats(),
        rcu_test_support::perturb::stats()
    );
}
