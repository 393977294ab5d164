//! Workload 3: `synchronize_rcu` latency.
//!
//! One unregistered caller with 0 readers, 1 registered idle reader, or 1 busy reader
//! looping over short read-side sections; then 4 concurrent callers, alone and with a
//! busy reader (criterion time = one round, i.e. every caller completing one call; the
//! grace periods each round cost come from `rcu_core::stats()` and are printed to
//! stderr).
//! With `--features liburcu` the same for liburcu memb.

mod common;

use std::cell::Cell;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};

use benches::grace_period::{GracePeriod, RcuCore, Readers, drive_callers, drive_synchronize};
use benches::tuning::{CALLERS, MEASUREMENT_SLOW};

fn sweep<G: GracePeriod>(group: &mut BenchmarkGroup<'_, WallTime>, flavor: &G) {
    for readers in [Readers::None, Readers::Idle, Readers::Busy] {
        group.bench_with_input(
            BenchmarkId::new(G::NAME, readers.label()),
            &readers,
            |b, &readers| {
                b.iter_custom(|iters| drive_synchronize(flavor, readers, iters));
            },
        );
    }
    for readers in [Readers::None, Readers::Busy] {
        let label = match readers {
            Readers::None => format!("{CALLERS} callers"),
            _ => format!("{CALLERS} callers + {}", readers.label()),
        };
        let rounds = Cell::new(0u64);
        let grace_periods = Cell::new(Some(0u64));
        group.bench_function(BenchmarkId::new(G::NAME, &label), |b| {
            b.iter_custom(|iters| {
                let (elapsed, gps) = drive_callers(flavor, CALLERS, readers, iters);
                rounds.set(rounds.get() + iters);
                grace_periods.set(grace_periods.get().zip(gps).map(|(a, b)| a + b));
                elapsed
            });
        });
        if let Some(gps) = grace_periods.get() {
            eprintln!(
                "{}: {label}: {:.2} grace periods per round ({gps} grace periods over {} rounds)",
                G::NAME,
                gps as f64 / rounds.get().max(1) as f64,
                rounds.get()
            );
        }
    }
}

fn grace_period(c: &mut Criterion) {
    let mut group = common::group(c, "synchronize_rcu");
    group.measurement_time(MEASUREMENT_SLOW);
    sweep(&mut group, &RcuCore);
    #[cfg(feature = "liburcu")]
    sweep(&mut group, &benches::liburcu::Liburcu);
    group.finish();
}

criterion_group!(benches, grace_period);
criterion_main!(benches);
