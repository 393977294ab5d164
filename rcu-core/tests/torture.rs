//! rcutorture-style pipeline torture of the default RCU domain (see `common/torture.rs`).
//!
//! `torture_pipeline` runs for 3 s in the default test run; `torture_pipeline_long` runs for
//! `RCU_TORTURE_SECS` seconds (default 60) and is `#[ignore]`d:
//! `cargo test -p rcu-core --release --test torture -- --ignored`.

#[path = "common/torture.rs"]
mod torture;

use std::time::Duration;

use torture::{Config, Outcome};

fn run_and_check(config: &Config) -> Outcome {
    let outcome = torture::run(config);
    println!("{outcome}");
    assert_eq!(
        outcome.violations(),
        0,
        "RCU grace-period violation (age >= 2, freed slot or broken nesting seen by a reader):\n{outcome}"
    );
    outcome
}

#[test]
fn torture_pipeline() {
    let outcome = run_and_check(&Config::default());
    // The run must have exercised something: every grace-period method several times, and many reads
    // that overlapped updates (bucket 1 is only reachable by a read racing an update).
    assert!(outcome.updates >= 100, "too few updates:\n{outcome}");
    assert!(
        outcome.updates_by_method.iter().all(|&n| n >= 10),
        "some grace-period method was hardly used:\n{outcome}"
    );
    assert!(outcome.reads >= 10_000, "too few reads:\n{outcome}");
    assert!(
        outcome.fake_syncs >= 100,
        "too few fake-writer grace periods:\n{outcome}"
    );
}

#[test]
#[ignore = "long torture; run with --ignored (RCU_TORTURE_SECS sets the duration, default 60)"]
fn torture_pipeline_long() {
    let secs = std::env::var("RCU_TORTURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let outcome = run_and_check(&Config {
        duration: Duration::from_secs(secs),
        readers: 4,
        fake_writers: 3,
        ..Config::default()
    });
    assert!(outcome.updates >= 10 * secs, "too few updates:\n{outcome}");
}
