//! Workload 4: deferred reclamation.
//!
//! * `call_rcu_enqueue`: 1, 2, 4, ... threads (up to twice the cores) queue callbacks that free a 48-byte object
//!   (rcu-core intrusive `call_rcu1`, rcu-core closure `call_rcu`, rcu-core `free_rcu` whose
//!   producers free the objects themselves, liburcu memb with `--features liburcu`); throughput =
//!   enqueues/s.
//! * `call_rcu_reclaim`: one thread queues callbacks then waits in `rcu_barrier`: the
//!   end-to-end reclaim rate.
//! * `rcu_barrier`: latency of one `rcu_barrier` with a small queue (16 callbacks).
//!
//! The peak backlog under a short one-producer flood is printed to stderr (and, with `latency`
//! as a filter or no filter at all, retire-to-free latency idle and under that flood, for
//! rcu-core's `call_rcu` and `free_rcu`, crossbeam-epoch and liburcu); the report bin measures the busy-server flood
//! ([`benches::reclaim::Flood::BUSY_SERVER`]) in fresh processes.

mod common;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::reclaim::{
    Crossbeam, Flood, Preallocated, Probe, RcuClosure, RcuDomainIntrusive, RcuFree, RcuIntrusive,
    Reclaimer, callback_latency, drive_barrier, drive_enqueue, drive_enqueue_prealloc,
    drive_reclaim, flood,
};
use benches::tuning::{BARRIER_QUEUE, MEASUREMENT_SLOW};

/// One benchmark per thread count: `drive(reclaimer, threads, iters)` returns the time.
fn per_thread_count<R: Reclaimer>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    reclaimer: &R,
    drive: fn(&R, usize, u64) -> Duration,
) {
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(
            BenchmarkId::new(R::NAME, threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| drive(reclaimer, threads, iters));
            },
        );
    }
}

fn enqueue<R: Reclaimer>(group: &mut BenchmarkGroup<'_, WallTime>, reclaimer: &R) {
    per_thread_count(group, reclaimer, drive_enqueue::<R>);
}

fn enqueue_prealloc<R: Preallocated>(group: &mut BenchmarkGroup<'_, WallTime>, reclaimer: &R) {
    per_thread_count(group, reclaimer, drive_enqueue_prealloc::<R>);
}

fn reclaim<R: Reclaimer>(group: &mut BenchmarkGroup<'_, WallTime>, reclaimer: &R) {
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new(R::NAME, 1), |b| {
        b.iter_custom(|iters| drive_reclaim(reclaimer, iters));
    });
}

fn barrier<R: Reclaimer>(group: &mut BenchmarkGroup<'_, WallTime>, reclaimer: &R) {
    group.bench_function(
        BenchmarkId::new(R::NAME, format!("{BARRIER_QUEUE} queued")),
        |b| {
            b.iter_custom(|iters| drive_barrier(reclaimer, BARRIER_QUEUE, iters));
        },
    );
}

fn report_flood<R: Probe>(reclaimer: &R) {
    let stats = flood(reclaimer, &Flood::SINGLE, Duration::from_millis(500), false);
    let peak = stats
        .peak_pending
        .map_or_else(|| "not counted".to_owned(), |p| p.to_string());
    eprintln!(
        "{}: 0.5 s flood: {:.2} M enqueues/s, peak pending {peak}, peak RSS growth {}, drained \
         in {:.1} ms",
        R::NAME,
        stats.rate() / 1e6,
        stats.rss_growth.map_or_else(
            || "unknown".to_owned(),
            |b| format!("{:.1} MiB", b as f64 / f64::from(1 << 20))
        ),
        stats.drain.as_secs_f64() * 1e3
    );
}

fn report_latency<R: Probe>(reclaimer: &R) {
    for load in [None, Some(&Flood::SINGLE)] {
        let l = callback_latency(reclaimer, 300, load);
        eprintln!(
            "{}: retire to free, {}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            R::NAME,
            if load.is_some() {
                "under a one-producer flood"
            } else {
                "idle"
            },
            l.p50 as f64 / 1e6,
            l.p99 as f64 / 1e6,
            l.max as f64 / 1e6
        );
    }
}

fn call_rcu(c: &mut Criterion) {
    let mut group = common::group(c, "call_rcu_enqueue");
    enqueue(&mut group, &RcuIntrusive);
    enqueue(&mut group, &RcuDomainIntrusive::default());
    enqueue(&mut group, &RcuClosure);
    enqueue(&mut group, &RcuFree);
    #[cfg(feature = "liburcu")]
    enqueue(&mut group, &benches::liburcu::Liburcu);
    group.finish();

    let mut group = common::group(c, "call_rcu_enqueue_prealloc");
    enqueue_prealloc(&mut group, &RcuIntrusive);
    enqueue_prealloc(&mut group, &RcuDomainIntrusive::default());
    #[cfg(feature = "liburcu")]
    enqueue_prealloc(&mut group, &benches::liburcu::Liburcu);
    group.finish();

    let mut group = common::group(c, "call_rcu_reclaim");
    reclaim(&mut group, &RcuIntrusive);
    reclaim(&mut group, &RcuClosure);
    #[cfg(feature = "liburcu")]
    reclaim(&mut group, &benches::liburcu::Liburcu);
    group.finish();

    let mut group = common::group(c, "rcu_barrier");
    group.measurement_time(MEASUREMENT_SLOW);
    barrier(&mut group, &RcuIntrusive);
    #[cfg(feature = "liburcu")]
    barrier(&mut group, &benches::liburcu::Liburcu);
    group.finish();

    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--test" || a == "--list") {
        report_flood(&RcuIntrusive);
        #[cfg(feature = "liburcu")]
        report_flood(&benches::liburcu::Liburcu);
        // Latency runs take a few seconds: only when asked for (`-- latency` as a filter
        // or no filter at all).
        if args.iter().skip(1).all(|a| a.starts_with('-')) || args.iter().any(|a| a == "latency") {
            report_latency(&RcuIntrusive);
            report_latency(&RcuFree);
            report_latency(&Crossbeam);
            #[cfg(feature = "liburcu")]
            report_latency(&benches::liburcu::Liburcu);
        }
    }
}

criterion_group!(benches, call_rcu);
criterion_main!(benches);
