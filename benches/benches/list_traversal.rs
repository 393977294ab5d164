//! Workload 5: traversal of a 64-element list under churn.
//!
//! rcu-queue `RcuTailq<u64>` (one read guard per traversal) vs a `Vec<u64>` behind
//! `std::sync::RwLock` and `parking_lot::RwLock` (one read lock per traversal) and the same
//! `Vec<u64>` in an rcu-core `RcuCell` (copy-update-publish writer), with 1
//! and 2 reader threads, without a writer (`list_traversal`), with a background writer
//! that removes the oldest element and appends a new one in a tight loop
//! (`list_traversal_writer`), and with the same writer pausing 50 µs between updates
//! (`list_traversal_paced_writer`, a read-mostly list). The plain
//! `Box`-linked list walk is the unsynchronized floor (no writer). Throughput =
//! traversals/s across the readers.

mod common;

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::list::{
    PlainList, RcuCellVec, RcuQueue, StdRwLockVec, TraversalList, WRITER_PAUSE, Writer,
    drive_traverse, new_list,
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

const READERS: [usize; 2] = [1, 2];

fn sweep<L: TraversalList>(group: &mut BenchmarkGroup<'_, WallTime>, writer: Writer) {
    let list: L = new_list();
    for readers in READERS {
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
    let mut group = common::group(c, "list_traversal");
    sweep::<RcuQueue>(&mut group, Writer::None);
    sweep::<RcuCellVec>(&mut group, Writer::None);
    sweep::<StdRwLockVec>(&mut group, Writer::None);
    sweep::<ParkingLotRwLockVec>(&mut group, Writer::None);
    sweep::<PlainList>(&mut group, Writer::None);
    group.finish();

    for (name, writer) in [
        ("list_traversal_writer", Writer::Churn),
        ("list_traversal_paced_writer", Writer::Paced(WRITER_PAUSE)),
    ] {
        let mut group = common::group(c, name);
        sweep::<RcuQueue>(&mut group, writer);
        sweep::<RcuCellVec>(&mut group, writer);
        sweep::<StdRwLockVec>(&mut group, writer);
        sweep::<ParkingLotRwLockVec>(&mut group, writer);
        group.finish();
    }
}

criterion_group!(benches, list_traversal);
criterion_main!(benches);
