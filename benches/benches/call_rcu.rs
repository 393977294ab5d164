//! Workload 4: deferred reclamation.
//!
//! * `call_rcu_enqueue`: 1, 2, 4, ... threads (up to twice the cores) queue callbacks that free a 48-byte object
//!   (rcu-core intrusive `call_rcu1`, rcu-core closure `call_rcu`, liburcu memb with
//!   `--features liburcu`); throughput = enqueues/s.
//! * `call_rcu_reclaim`: one thread queues callbacks then waits in `rcu_barrier`: the
//!   end-to-end reclaim rate.
//! * `rcu_barrier`: latency of one `rcu_barrier` with a small queue (16 callbacks).
//!
//! The peak backlog under a short flood is printed to stderr; the report bin measures
//! the flood's peak memory in a fresh process.

mod common;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::reclaim::{
    RcuClosure, RcuIntrusive, Reclaimer, drive_barrier, drive_enqueue, drive_reclaim, flood,
};
use benches::tuning::{BARRIER_QUEUE, MEASUREMENT_SLOW};

fn enqueue<R: Reclaimer>(group: &mut BenchmarkGroup<'_, WallTime>, reclaimer: &R) {
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(
            BenchmarkId::new(R::NAME, threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| drive_enqueue(reclaimer, threads, iters));
            },
        );
    }
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

fn report_flood<R: Reclaimer>(reclaimer: &R) {
    let stats = flood(reclaimer, Duration::from_millis(500));
    let peak = stats
        .peak_pending
        .map_or_else(|| "not counted".to_owned(), |p| p.to_string());
    eprintln!(
        "{}: 0.5 s flood: {:.2} M enqueues/s, peak pending {peak}, drained in {:.1} ms",
        R::NAME,
        stats.rate() / 1e6,
        stats.drain.as_secs_f64() * 1e3
    );
}

fn call_rcu(c: &mut Criterion) {
    let mut group = common::group(c, "call_rcu_enqueue");
    enqueue(&mut group, &RcuIntrusive);
    enqueue(&mut group, &RcuClosure);
    #[cfg(feature = "liburcu")]
    enqueue(&mut group, &benches::liburcu::Liburcu);
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

    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report_flood(&RcuIntrusive);
        #[cfg(feature = "liburcu")]
        report_flood(&benches::liburcu::Liburcu);
    }
}

criterion_group!(benches, call_rcu);
criterion_main!(benches);
