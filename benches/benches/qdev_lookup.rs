//! Workload 6: qdev-demo's virtio-scsi request path in the three `--sync` modes.
//!
//! 1 and 2 I/O threads issue requests (decode, look the disk up on the bus, READ(10)
//! one block, respond) against 8 disks, without (`qdev_lookup`) and with
//! (`qdev_lookup_hotplug`) a main loop that hot-plugs/unplugs a disk every millisecond,
//! holding the BQL for a 200 µs realize. Contenders are the reader modes: `rcu` (RCU
//! read-side section only), `bql` (big lock), `rwlock`. Throughput = requests/s.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use benches::qdev::{QdevBench, drive_requests};
use qdev_demo::qdev::sync_mode::SyncMode;

const IOTHREADS: [usize; 2] = [1, 2];

fn qdev_lookup(c: &mut Criterion) {
    for (name, hotplug) in [("qdev_lookup", false), ("qdev_lookup_hotplug", true)] {
        let mut group = common::group(c, name);
        for mode in SyncMode::ALL {
            let bench = QdevBench::new(mode);
            for iothreads in IOTHREADS {
                group.throughput(Throughput::Elements(iothreads as u64));
                group.bench_with_input(
                    BenchmarkId::new(mode.as_str(), iothreads),
                    &iothreads,
                    |b, &t| {
                        b.iter_custom(|iters| drive_requests(&bench, t, hotplug, iters));
                    },
                );
            }
        }
        group.finish();
    }
}

criterion_group!(benches, qdev_lookup);
criterion_main!(benches);
