//! The rcutorture pipeline stress test as a stand-alone binary (QEMU `tests/unit/rcutorture.c
//! stress`, liburcu `rcutorture_urcu_* stress`), e.g. for running under valgrind:
//!
//! ```text
//! cargo run --release -p rcu-core --example torture -- [SECONDS] [READERS]
//! ```
//!
//! `SECONDS` defaults to 2 and `READERS` to 2. Prints the reader-pipe histogram (`rcu_stress_count`:
//! only the first two buckets may be non-zero) and exits with status 1 on a grace-period violation or
//! if the run made no progress, 2 on bad arguments. Set `RCU_CORE_FORCE_FALLBACK=1` to test the
//! fence-based barrier path instead of membarrier.
//!
//! Runs under rcu-test-support's poisoning allocator with signal perturbation (freed blocks read as
//! poison; random threads paused at random points); `RCU_TEST_ALLOC=system` and
//! `RCU_TEST_PERTURB=0` turn them off, as the valgrind runs do. CI also runs it as a debug build
//! (`.ci/stress-debug.sh`) and under AddressSanitizer (`.ci/asan.sh`).

#[path = "../tests/common/torture.rs"]
mod torture;

use std::process::ExitCode;
use std::time::Duration;

fn parse_arg(args: &[String], index: usize, default: u64) -> Result<u64, String> {
    args.get(index).map_or(Ok(default), |s| {
        s.parse()
            .map_err(|_| format!("expected a non-negative integer, got {s:?}"))
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (secs, readers) = match (parse_arg(&args, 0, 2), parse_arg(&args, 1, 2)) {
        (Ok(secs), Ok(readers)) if args.len() <= 2 => (secs, readers),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("torture: {e}\nusage: torture [SECONDS] [READERS]");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("usage: torture [SECONDS] [READERS]");
            return ExitCode::from(2);
        }
    };
    let config = torture::Config {
        duration: Duration::from_secs(secs),
        readers: usize::try_from(readers).unwrap_or(usize::MAX),
        ..torture::Config::default()
    };
    let outcome = torture::run(&config);
    println!("{outcome}");
    println!("{:?}", rcu_core::stats());
    // What the test support did: the allocator poisons (unless RCU_TEST_ALLOC=system) and the
    // perturber sent signals (unless RCU_TEST_PERTURB=0).
    println!(
        "{:?}\n{:?}",
        rcu_test_support::alloc::stats(),
        rcu_test_support::perturb::stats()
    );
    if outcome.violations() != 0 {
        eprintln!("torture: FAILURE (RCU grace-period violation)");
        ExitCode::FAILURE
    } else if outcome.updates == 0 || (config.readers > 0 && outcome.reads == 0) {
        eprintln!("torture: FAILURE (no progress)");
        ExitCode::FAILURE
    } else {
        println!("torture: SUCCESS");
        ExitCode::SUCCESS
    }
}
