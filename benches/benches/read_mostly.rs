//! Workload 2: a read-mostly pointer to a small struct.
//!
//! Readers load and read a 32-byte struct while 0 or 1 background writer replaces it
//! (rcu-core `RcuCell::replace` vs crossbeam-epoch `swap` + `defer_destroy` vs arc-swap
//! `store` vs a lock's write guard), and a writer replaces it while readers run.
//!
//! Groups: `read_mostly_reads` (1, 2, 4, ... readers up to twice the cores, no writer),
//! `read_mostly_reads_writer` (the same readers + 1 writer; throughput = reads/s),
//! `read_mostly_writes` (1 writer with 0, 1, 2, 4, ... background readers, fewer than twice
//! the cores in all; throughput = writes/s).

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use crossbeam_epoch::{self as epoch, Atomic, Owned};

use benches::driver::{cores, thread_counts};
use benches::read_mostly::{
    Payload, RcuCore, ReadMostly, StdMutex, StdRwLock, drive_reads, drive_writes,
};

/// crossbeam-epoch: `Atomic<Payload>`; readers `pin()` + `load`, the writer `swap` +
/// `defer_destroy`.
struct Crossbeam(Atomic<Payload>);

impl ReadMostly for Crossbeam {
    const NAME: &'static str = "crossbeam-epoch";

    fn new(initial: Payload) -> Self {
        Self(Atomic::new(initial))
    }

    fn register(&self) {
        drop(epoch::pin());
    }

    fn read(&self) -> u64 {
        let guard = epoch::pin();
        // Acquire pairs with the AcqRel swap in `write`, so the payload's fields are
        // visible once its pointer is.
        let shared = self.0.load(Ordering::Acquire, &guard);
        // SAFETY: the cell never holds null (`new` and `write` store real payloads), and
        // the payload cannot be destroyed while `guard` pins the epoch in which it was
        // loaded (writers retire it with `defer_destroy`).
        black_box(unsafe { shared.deref() }).digest()
    }

    fn write(&self, next: Payload) {
        let guard = epoch::pin();
        // AcqRel: Release publishes `next` to readers' Acquire loads; Acquire orders our
        // later destruction of `old` after whoever published it.
        let old = self.0.swap(Owned::new(next), Ordering::AcqRel, &guard);
        // SAFETY: `old` was unlinked by the swap, so no new reader can reach it, and
        // existing readers are pinned; the epoch defers the free until they unpin.
        unsafe { guard.defer_destroy(old) };
    }

    fn quiesce(&self) {
        for _ in 0..4 {
            epoch::pin().flush();
        }
    }
}

impl Drop for Crossbeam {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can access the cell any more, so the
        // unprotected guard is sound for this final load.
        let guard = unsafe { epoch::unprotected() };
        let current = self.0.swap(epoch::Shared::null(), Ordering::Relaxed, guard);
        if !current.is_null() {
            // SAFETY: `current` came from `Owned::new` and is reachable by nobody else.
            drop(unsafe { current.into_owned() });
        }
    }
}

/// arc-swap: `ArcSwap<Payload>`; readers `load()`, the writer `store(Arc::new(..))`.
struct ArcSwapCell(ArcSwap<Payload>);

impl ReadMostly for ArcSwapCell {
    const NAME: &'static str = "arc-swap";

    fn new(initial: Payload) -> Self {
        Self(ArcSwap::from_pointee(initial))
    }

    fn read(&self) -> u64 {
        black_box(&**self.0.load()).digest()
    }

    fn write(&self, next: Payload) {
        self.0.store(Arc::new(next));
    }
}

/// `parking_lot::RwLock<Payload>`, overwritten in place by the writer.
struct ParkingLotRwLock(parking_lot::RwLock<Payload>);

impl ReadMostly for ParkingLotRwLock {
    const NAME: &'static str = "parking_lot RwLock";

    fn new(initial: Payload) -> Self {
        Self(parking_lot::RwLock::new(initial))
    }

    fn read(&self) -> u64 {
        black_box(&*self.0.read()).digest()
    }

    fn write(&self, next: Payload) {
        *self.0.write() = next;
    }
}

fn reads<C: ReadMostly>(group: &mut BenchmarkGroup<'_, WallTime>, writer: bool) {
    let cell = C::new(Payload::new(0));
    for readers in thread_counts() {
        group.throughput(Throughput::Elements(readers as u64));
        group.bench_with_input(
            BenchmarkId::new(C::NAME, readers),
            &readers,
            |b, &readers| {
                b.iter_custom(|iters| drive_reads(&cell, readers, writer, iters));
            },
        );
    }
}

fn writes<C: ReadMostly>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let cell = C::new(Payload::new(0));
    group.throughput(Throughput::Elements(1));
    let limit = 2 * cores();
    let background = std::iter::once(0).chain(thread_counts().into_iter().filter(|&n| n < limit));
    for readers in background {
        group.bench_with_input(
            BenchmarkId::new(C::NAME, readers),
            &readers,
            |b, &readers| {
                b.iter_custom(|iters| drive_writes(&cell, readers, iters));
            },
        );
    }
}

macro_rules! for_each_contender {
    ($f:ident, $group:expr $(, $arg:expr)*) => {
        $f::<RcuCore>($group $(, $arg)*);
        $f::<Crossbeam>($group $(, $arg)*);
        $f::<ArcSwapCell>($group $(, $arg)*);
        $f::<StdRwLock>($group $(, $arg)*);
        $f::<ParkingLotRwLock>($group $(, $arg)*);
        $f::<StdMutex>($group $(, $arg)*);
    };
}

fn read_mostly(c: &mut Criterion) {
    let mut group = common::group(c, "read_mostly_reads");
    for_each_contender!(reads, &mut group, false);
    group.finish();

    let mut group = common::group(c, "read_mostly_reads_writer");
    for_each_contender!(reads, &mut group, true);
    group.finish();

    let mut group = common::group(c, "read_mostly_writes");
    for_each_contender!(writes, &mut group);
    group.finish();
}

criterion_group!(benches, read_mostly);
criterion_main!(benches);
