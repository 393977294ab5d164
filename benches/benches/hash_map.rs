//! Workload 7: concurrent hash-map lookups (see `benches::hash_map`).
//!
//! * `hash_map_{read_heavy,read_mostly}_{1k,100k}`: 99/1 and 90/10 get vs insert+remove mixes at 1, 2
//!   and 4 threads over 1k and 100k keys: rcu-queue's `RcuHashMap` vs dashmap, papaya, scc's
//!   `HashMap`, `std::sync::RwLock<HashMap>` and `parking_lot::RwLock<HashMap>`, all hashing with
//!   `std`'s `RandomState`. Throughput = operations/s across the threads.
//! * `hash_map_single_thread`: one thread's `get`s, `RcuHashMap` vs an unsynchronized
//!   `std::collections::HashMap`, and the `RandomState` hash alone (the split: map cost = get - hash).
//! * `hash_map_resize`: `RcuHashMap` gets while another thread resizes the table in a loop, against
//!   the same gets with no resizer.
//!
//! Whole target: about 2.5 minutes on 2 cores (`cargo bench -p benches --bench hash_map`).

mod common;

use std::collections::HashMap;
use std::collections::hash_map::RandomState;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::hash_map::{
    BenchMap, Mix, READ_HEAVY, READ_MOSTLY, Rcu, SIZES, StdRwLock, drive_gets_during_resize,
    drive_hash_only, drive_mix, drive_single, plain_map, prefilled,
};

/// `dashmap::DashMap` (sharded `RwLock<HashMap>`s).
struct DashMap(dashmap::DashMap<u64, u64, RandomState>);

impl BenchMap for DashMap {
    const NAME: &'static str = "dashmap";

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        Self(dashmap::DashMap::with_capacity_and_hasher(capacity, hasher))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key).map(|v| *v)
    }

    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }

    fn remove(&self, key: u64) {
        self.0.remove(&key);
    }
}

/// `papaya::HashMap` (lock-free, seize reclamation), one `pin()` per call.
struct Papaya(papaya::HashMap<u64, u64, RandomState>);

impl BenchMap for Papaya {
    const NAME: &'static str = "papaya";

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        Self(papaya::HashMap::with_capacity_and_hasher(capacity, hasher))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.pin().get(&key).copied()
    }

    fn insert(&self, key: u64, value: u64) {
        self.0.pin().insert(key, value);
    }

    fn remove(&self, key: u64) {
        self.0.pin().remove(&key);
    }
}

/// `scc::HashMap` (`read_sync` lookups).
struct Scc(scc::HashMap<u64, u64, RandomState>);

impl BenchMap for Scc {
    const NAME: &'static str = "scc HashMap";

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        Self(scc::HashMap::with_capacity_and_hasher(capacity, hasher))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.read_sync(&key, |_, v| *v)
    }

    fn insert(&self, key: u64, value: u64) {
        let _ = self.0.insert_sync(key, value);
    }

    fn remove(&self, key: u64) {
        self.0.remove_sync(&key);
    }
}

/// `parking_lot::RwLock<HashMap>`.
struct ParkingLotRwLock(parking_lot::RwLock<HashMap<u64, u64, RandomState>>);

impl BenchMap for ParkingLotRwLock {
    const NAME: &'static str = "parking_lot RwLock<HashMap>";

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        Self(parking_lot::RwLock::new(HashMap::with_capacity_and_hasher(
            capacity, hasher,
        )))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.read().get(&key).copied()
    }

    fn insert(&self, key: u64, value: u64) {
        self.0.write().insert(key, value);
    }

    fn remove(&self, key: u64) {
        self.0.write().remove(&key);
    }
}

fn sweep<M: BenchMap>(group: &mut BenchmarkGroup<'_, WallTime>, keys: u64, mix: Mix) {
    let map: M = prefilled(keys);
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(
            BenchmarkId::new(M::NAME, threads),
            &threads,
            |b, &threads| b.iter_custom(|iters| drive_mix(&map, threads, keys, mix, iters)),
        );
    }
}

fn mixes(c: &mut Criterion) {
    for mix in [READ_HEAVY, READ_MOSTLY] {
        for (keys, size) in SIZES {
            let mut group = common::group(c, &format!("hash_map_{}_{size}", mix.name));
            sweep::<Rcu>(&mut group, keys, mix);
            sweep::<Papaya>(&mut group, keys, mix);
            sweep::<DashMap>(&mut group, keys, mix);
            sweep::<Scc>(&mut group, keys, mix);
            sweep::<StdRwLock>(&mut group, keys, mix);
            sweep::<ParkingLotRwLock>(&mut group, keys, mix);
            group.finish();
        }
    }
}

fn single_thread(c: &mut Criterion) {
    let mut group = common::group(c, "hash_map_single_thread");
    group.throughput(Throughput::Elements(1));
    for (keys, size) in SIZES {
        let rcu: Rcu = prefilled(keys);
        rcu_core::register_thread();
        group.bench_function(BenchmarkId::new("RcuHashMap get", size), |b| {
            b.iter_custom(|iters| drive_single(keys, iters, |k| rcu.get(k)));
        });
        let plain = plain_map(keys);
        group.bench_function(BenchmarkId::new("std HashMap get", size), |b| {
            b.iter_custom(|iters| drive_single(keys, iters, |k| plain.get(&k).copied()));
        });
        group.bench_function(BenchmarkId::new("RandomState hash", size), |b| {
            b.iter_custom(|iters| drive_hash_only(keys, iters));
        });
    }
    group.finish();
}

fn resize(c: &mut Criterion) {
    const KEYS: u64 = 10_000;
    let mut group = common::group(c, "hash_map_resize");
    let map: Rcu = prefilled(KEYS);
    for readers in [1, 2] {
        group.throughput(Throughput::Elements(readers as u64));
        for (name, resizing) in [
            ("RcuHashMap get, resizing", true),
            ("RcuHashMap get", false),
        ] {
            group.bench_with_input(BenchmarkId::new(name, readers), &readers, |b, &readers| {
                b.iter_custom(|iters| {
                    drive_gets_during_resize(&map, readers, KEYS, resizing, iters)
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, mixes, single_thread, resize);
criterion_main!(benches);
