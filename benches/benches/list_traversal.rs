//! Workload 5: traversal of a 64-element list under churn.
//!
//! Two data layouts, each with RCU and lock-based synchronization:
//!
//! * linked list of boxed nodes: rcu-queue `RcuTailq<u64>` (one read guard per traversal)
//!   vs the same layout behind `std::sync::RwLock` and `std::sync::Mutex` (one lock per
//!   traversal); the plain list walked with no synchronization is the floor (no writer);
//! * contiguous `Vec<u64>`: in an rcu-core `RcuCell` (copy-update-publish writer) vs behind
//!   `std::sync::RwLock`, `parking_lot::RwLock` and `std::sync::Mutex`.
//!
//! 1, 2, 4, ... reader threads up to twice the cores, without a writer (`list_traversal`),
//! with a background writer that removes the oldest element and appends a new one in a
//! tight loop (`list_traversal_writer`), and with the same writer pausing 50 µs between
//! updates (`list_traversal_paced_writer`, a read-mostly list). Throughput = traversals/s
//! across the readers.

mod common;

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::list::{
    PlainList, RcuCellVec, RcuQueue, StdMutexList, StdMutexVec, StdRwLockList, StdRwLockVec,
    TraversalList, WRITER_PAUSE, Writer, drive_traverse, new_list,
};

/// A `Vec<u64>` behind `parking_lot::RwLock`.
struct ParkingLotRwLockVec(parking_lot::RwLock<Vec<u64>>);

impl TraversalList for ParkingLotRwLockVec {
    const NAME: &'static str = "parking_lot RwLock<Vec>";

    fn from_values(values: impl Iterator<Item = u64>) -> Self {
        Self(parking_lot::RwLock::new(values.collect()))
    }

    fn sum(&self) -> u64 {
        let vec = self.0.read();
        black_box(&*vec)
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(*v))
    }

    fn churn(&self, next: u64) {
        let mut vec = self.0.write();
        vec.remove(0);
        vec.push(next);
    }
}

fn sweep<L: TraversalList>(group: &mut BenchmarkGroup<'_, WallTime>, writer: Writer) {
    let list: L = new_list();
    for readers in thread_counts() {
        group.throughput(Throughput::Elements(readers as u64));
        group.bench_with_input(
            BenchmarkId::new(L::NAME, readers),
            &readers,
            |b, &readers| {
                b.iter_custom(|iters| drive_traverse(&list, readers, writer, iters));
            },
        );
    }
}

fn list_traversal(c: &mut Criterion) {
    for (name, writer) in [
        ("list_traversal", Writer::None),
        ("list_traversal_writer", Writer::Churn),
        ("list_traversal_paced_writer", Writer::Paced(WRITER_PAUSE)),
    ] {
        let mut group = common::group(c, name);
        // Linked lists of boxed nodes.
        sweep::<RcuQueue>(&mut group, writer);
        sweep::<StdRwLockList>(&mut group, writer);
        sweep::<StdMutexList>(&mut group, writer);
        if writer == Writer::None {
            sweep::<PlainList>(&mut group, writer);
        }
        // Contiguous vectors.
        sweep::<RcuCellVec>(&mut group, writer);
        sweep::<StdRwLockVec>(&mut group, writer);
        sweep::<ParkingLotRwLockVec>(&mut group, writer);
        sweep::<StdMutexVec>(&mut group, writer);
        group.finish();
    }
}

criterion_group!(benches, list_traversal);
criterion_main!(benches);
