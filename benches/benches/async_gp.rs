//! Workload 8: awaiting grace periods from async code, and owned snapshots.
//!
//! Group `synchronize_rcu_async`: the latency of `synchronize_rcu_async().await` (current-thread
//! tokio runtime) next to the blocking `synchronize_rcu`, with 0 readers and 1 busy reader; then
//! one round of 1,000 tasks awaiting a grace period at once, whose grace-period count (from
//! `rcu_core::stats()`) is printed to stderr as grace periods per 1,000 concurrent awaits.
//!
//! Group `snapshot`: `RcuArcCell` against arc-swap's `ArcSwap` on one thread: a borrow
//! (`read` under a fresh guard / `load`), an owned snapshot (`load_full` both) and an update
//! (`store` both; rcu-core's old value is released after a grace period on the callback thread).

mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;

use arc_swap::ArcSwap;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use benches::async_gp::{RcuCoreAsync, drive_concurrent_awaits};
use benches::grace_period::{RcuCore, Readers, drive_synchronize};
use benches::tuning::MEASUREMENT_SLOW;

/// Tasks awaiting at once in the sharing round.
const AWAITS: usize = 1000;

fn latency(c: &mut Criterion) {
    let mut group = common::group(c, "synchronize_rcu_async");
    group.measurement_time(MEASUREMENT_SLOW);
    for readers in [Readers::None, Readers::Busy] {
        group.bench_with_input(
            BenchmarkId::new("rcu-core synchronize_rcu", readers.label()),
            &readers,
            |b, &readers| b.iter_custom(|iters| drive_synchronize(&RcuCore, readers, iters)),
        );
        group.bench_with_input(
            BenchmarkId::new("rcu-core synchronize_rcu_async", readers.label()),
            &readers,
            |b, &readers| b.iter_custom(|iters| drive_synchronize(&RcuCoreAsync, readers, iters)),
        );
    }
    for readers in [Readers::None, Readers::Busy] {
        let label = format!("{AWAITS} concurrent awaits + {}", readers.label());
        let rounds = Cell::new(0u64);
        let grace_periods = Cell::new(0u64);
        group.bench_function(BenchmarkId::new("rcu-core async", &label), |b| {
            b.iter_custom(|iters| {
                let (elapsed, gps) = drive_concurrent_awaits(AWAITS, readers, iters);
                rounds.set(rounds.get() + iters);
                grace_periods.set(grace_periods.get() + gps);
                elapsed
            });
        });
        eprintln!(
            "rcu-core async: {label}: {:.2} grace periods per {AWAITS} concurrent awaits ({} grace \
             periods over {} rounds)",
            grace_periods.get() as f64 / rounds.get().max(1) as f64,
            grace_periods.get(),
            rounds.get()
        );
    }
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    let mut group = common::group(c, "snapshot");
    let rcu = rcu_core::RcuArcCell::new(Arc::new(42u64));
    let swap = ArcSwap::new(Arc::new(42u64));
    group.bench_function("rcu-core RcuArcCell::read", |b| {
        b.iter(|| {
            let guard = rcu_core::read_lock();
            black_box(*rcu.read(&guard))
        })
    });
    group.bench_function("arc-swap load", |b| b.iter(|| black_box(**swap.load())));
    group.bench_function("rcu-core RcuArcCell::load_full", |b| {
        b.iter(|| black_box(rcu.load_full()))
    });
    group.bench_function("arc-swap load_full", |b| {
        b.iter(|| black_box(swap.load_full()))
    });
    group.bench_function("rcu-core RcuArcCell::store", |b| {
        b.iter(|| rcu.store(Arc::new(black_box(7))))
    });
    group.bench_function("arc-swap store", |b| {
        b.iter(|| swap.store(Arc::new(black_box(7))))
    });
    group.finish();
    rcu_core::rcu_barrier();
}

criterion_group!(benches, latency, snapshot);
criterion_main!(benches);
