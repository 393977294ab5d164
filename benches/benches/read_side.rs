//! Workload 1: read-side enter/exit cost, 1, 2, 4, ... threads up to twice the cores.
//!
//! rcu-core `read_lock()` (and an independent `Domain::read_lock()`) vs crossbeam-epoch `pin()`, arc-swap `load()`, std and
//! parking_lot `RwLock::read()`, std `Mutex::lock()` (and liburcu memb with
//! `--features liburcu`). Criterion time = wall time per pair per thread; throughput =
//! pairs/s across all threads.

mod common;

use std::hint::black_box;

use arc_swap::ArcSwap;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::read_side::{
    RcuCore, RcuCoreDomain, RcuCoreNested, ReadSide, StdMutex, StdRwLock, drive,
};

/// crossbeam-epoch: `pin()` and dropping the guard.
struct CrossbeamPin;

impl ReadSide for CrossbeamPin {
    const NAME: &'static str = "crossbeam-epoch";

    fn register(&self) {
        drop(crossbeam_epoch::pin());
    }

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = crossbeam_epoch::pin();
            black_box(&guard);
            drop(guard);
        }
    }
}

/// arc-swap: `load()` of a shared `ArcSwap` (the borrowed, debt-slot fast path).
struct ArcSwapLoad(ArcSwap<u64>);

impl ReadSide for ArcSwapLoad {
    const NAME: &'static str = "arc-swap";

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = self.0.load();
            black_box(&guard);
            drop(guard);
        }
    }
}

/// `parking_lot::RwLock::read()`.
struct ParkingLotRwLock(parking_lot::RwLock<u64>);

impl ReadSide for ParkingLotRwLock {
    const NAME: &'static str = "parking_lot RwLock";

    fn read_pairs(&self, n: u64) {
        for _ in 0..n {
            let guard = self.0.read();
            black_box(*guard);
        }
    }
}

fn sweep<R: ReadSide>(group: &mut BenchmarkGroup<'_, WallTime>, contender: &R) {
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(
            BenchmarkId::new(R::NAME, threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| drive(contender, threads, iters));
            },
        );
    }
}

fn read_side(c: &mut Criterion) {
    let mut group = common::group(c, "read_side");
    sweep(&mut group, &RcuCore);
    sweep(&mut group, &RcuCoreNested);
    sweep(&mut group, &RcuCoreDomain::default());
    #[cfg(feature = "liburcu")]
    sweep(&mut group, &benches::liburcu::Liburcu);
    sweep(&mut group, &CrossbeamPin);
    sweep(&mut group, &ArcSwapLoad(ArcSwap::from_pointee(0)));
    sweep(&mut group, &StdRwLock::default());
    sweep(&mut group, &ParkingLotRwLock(parking_lot::RwLock::new(0)));
    sweep(&mut group, &StdMutex::default());
    group.finish();
}

criterion_group!(benches, read_side);
criterion_main!(benches);
