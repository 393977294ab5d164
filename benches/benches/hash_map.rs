//! Workload 7: concurrent hash-map lookups (see `benches::hash_map`).
//!
//! * `hash_map_{read_heavy,read_mostly}_{1k,100k}`: 99/1 and 90/10 get vs insert+remove mixes at 1, 2
//!   and 4 threads over 1k and 100k keys: rcu-queue's `RcuHashMap` and `RcuFlatHashMap` (pairs in the
//!   buckets) vs dashmap, papaya, scc's
//!   `HashMap`, `std::sync::RwLock<HashMap>` and `parking_lot::RwLock<HashMap>`, all hashing with
//!   `std`'s `RandomState`. Throughput = operations/s across the threads.
//! * `hash_map_single_thread`: one thread's `get`s, `RcuHashMap` and `RcuFlatHashMap` vs an unsynchronized
//!   `std::collections::HashMap`, and the `RandomState` hash alone (the split: map cost = get - hash).
//! * `hash_map_resize`: `RcuHashMap` gets while another thread resizes the table in a loop, against
//!   the same gets with no resizer.
//!
//! * `hash_map_cmb_{read_heavy,exchange,rapid_grow}_{1k,100k,1m}`: conc-map-bench's mixes (read /
//!   insert / remove / update: 98/1/1/0, 10/40/40/10, 5/80/5/10; see `benches::hash_map::OpMix`)
//!   against the same contenders.
//! * `hash_map_footprint` (printed, not a criterion group; runs when the filter names it): bytes per
//!   entry of each map at 1k, 100k and 2^20 `u64 -> u64` keys, counted by this target's allocator
//!   (`benches::footprint`; the report measures rcu-queue's maps and std's the same way),
//!   and the slowest single insert while each map grows from empty to 2^20 keys.
//!
//! * `hash_map_interleaved` (printed; runs when the filter names it): the targets' comparisons
//!   (99% get and conc-map-bench read-heavy at 2 threads, single-thread get) with every contender
//!   run once per round, medians of 7 rounds: on a shared machine the load changes between
//!   criterion's one-contender-after-the-other measurements, not between these.
//!
//! Whole target: about 9 minutes on 2 cores (`cargo bench -p benches --bench hash_map`); one group:
//! `cargo bench -p benches --bench hash_map -- hash_map_read_heavy_100k`; the footprint and growth
//! table: `cargo bench -p benches --bench hash_map -- hash_map_footprint` (about 20 s).

mod common;

use std::collections::HashMap;
use std::collections::hash_map::RandomState;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

use benches::driver::thread_counts;
use benches::footprint::{Counting, bytes_per_entry};
use benches::hash_map::{
    BenchMap, CMB_EXCHANGE, CMB_RAPID_GROW, CMB_READ_HEAVY, READ_HEAVY, READ_MOSTLY, Rcu, RcuFlat,
    SIZES, StdRwLock, drive_gets_during_resize, drive_hash_only, drive_mix, drive_ops,
    drive_single, plain_map, prefilled, worst_insert,
};
use std::time::Duration;

/// Counts live bytes for [`bytes_per_entry`] (see `benches::footprint`).
#[global_allocator]
static ALLOC: Counting = Counting;

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

/// One contender over every thread count: `drive(map, threads, iters)` runs one sample.
fn sweep<M: BenchMap>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    keys: u64,
    drive: impl Fn(&M, usize, u64) -> Duration,
) {
    let map: M = prefilled(keys);
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(
            BenchmarkId::new(M::NAME, threads),
            &threads,
            |b, &threads| b.iter_custom(|iters| drive(&map, threads, iters)),
        );
    }
}

fn conc_map_bench(c: &mut Criterion) {
    for mix in [CMB_READ_HEAVY, CMB_EXCHANGE, CMB_RAPID_GROW] {
        for (keys, size) in SIZES {
            let mut group = common::group(c, &format!("hash_map_{}_{size}", mix.name));
            sweep::<Rcu>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            sweep::<RcuFlat>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            sweep::<Papaya>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            sweep::<DashMap>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            sweep::<Scc>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            sweep::<StdRwLock>(&mut group, keys, |m, t, i| drive_ops(m, t, keys, mix, i));
            group.finish();
        }
    }
}

fn footprint_row<M: BenchMap>(name: &str) {
    let sizes: Vec<String> = SIZES
        .iter()
        .map(|&(keys, _)| format!("{:>7.1}", bytes_per_entry(keys, || prefilled::<M>(keys))))
        .collect();
    let grow = M::with_capacity(0, RandomState::new());
    let (worst, total) = worst_insert(&grow, 1 << 20);
    println!(
        "{name:<28} {} B/entry | worst insert {:>9.1?}, mean {:>6.1?} (growing to 2^20)",
        sizes.join(" "),
        worst,
        total / (1 << 20)
    );
}

/// Bytes per entry and the slowest insert during growth, printed (criterion has no statistic for a
/// maximum); runs only when the filter names `hash_map_footprint`.
fn footprint(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("hash_map_footprint")) {
        return;
    }
    println!("hash_map_footprint: u64 -> u64, RandomState; sizes 1k 100k 2^20");
    footprint_row::<Rcu>("RcuHashMap");
    footprint_row::<RcuFlat>("RcuFlatHashMap");
    footprint_row::<Papaya>("papaya");
    footprint_row::<DashMap>("dashmap");
    footprint_row::<Scc>("scc HashMap");
    footprint_row::<StdRwLock>("std RwLock<HashMap>");
    let plain: Vec<String> = SIZES
        .iter()
        .map(|&(keys, _)| format!("{:>7.1}", bytes_per_entry(keys, || plain_map(keys))))
        .collect();
    println!(
        "{:<28} {} B/entry",
        "std HashMap (unsynchronized)",
        plain.join(" ")
    );
}

/// Rounds of [`interleaved`]: each contender runs once per round, and the table shows medians.
const ROUNDS: usize = 7;

/// Operations per thread in one run of [`interleaved`].
const ROUND_ITERS: u64 = 200_000;

/// The median of `ROUNDS` interleaved runs of each `(name, run)`, in ns per operation and thread.
fn medians(runs: &[(&str, &dyn Fn() -> Duration)]) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(ROUNDS); runs.len()];
    for _ in 0..ROUNDS {
        for ((_, run), samples) in runs.iter().zip(&mut samples) {
            samples.push(run().as_nanos() as f64 / ROUND_ITERS as f64);
        }
    }
    for samples in &mut samples {
        samples.sort_by(f64::total_cmp);
    }
    samples.iter().map(|s| s[ROUNDS / 2]).collect()
}

/// One printed row per contender: its median and how many times faster the first two (rcu-queue's
/// `RcuHashMap` and `RcuFlatHashMap`) are.
fn print_medians(title: &str, runs: &[(&str, &dyn Fn() -> Duration)]) {
    let ns = medians(runs);
    println!("{title}");
    for ((name, _), ns_each) in runs.iter().zip(&ns) {
        println!(
            "  {name:<28} {ns_each:>8.1} ns/op   {} is {:>5.2}x as fast, {} {:>5.2}x",
            runs[0].0,
            ns_each / ns[0],
            runs[1].0,
            ns_each / ns[1]
        );
    }
}

/// The targets' comparisons with every contender interleaved in one process: `ROUNDS` rounds, each
/// running every contender once, medians printed. Criterion's groups measure one contender after
/// the other, so on a shared machine a change of load between them shows up as a ratio; here every
/// round sees the same load. Runs only when the filter names `hash_map_interleaved` (about 2
/// minutes on 2 cores).
fn interleaved(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("hash_map_interleaved")) {
        return;
    }
    println!(
        "hash_map_interleaved: u64 -> u64, RandomState; medians of {ROUNDS} interleaved rounds"
    );
    for (keys, size) in SIZES {
        let rcu: Rcu = prefilled(keys);
        let flat: RcuFlat = prefilled(keys);
        let papaya: Papaya = prefilled(keys);
        let dashmap: DashMap = prefilled(keys);
        let scc: Scc = prefilled(keys);
        let rwlock: StdRwLock = prefilled(keys);
        let parking_lot: ParkingLotRwLock = prefilled(keys);
        let (n, mix) = (ROUND_ITERS, READ_HEAVY);
        print_medians(
            &format!("read_heavy (99% get), {size} keys, 2 threads"),
            &[
                (<Rcu>::NAME, &|| drive_mix(&rcu, 2, keys, mix, n)),
                (RcuFlat::NAME, &|| drive_mix(&flat, 2, keys, mix, n)),
                (Papaya::NAME, &|| drive_mix(&papaya, 2, keys, mix, n)),
                (DashMap::NAME, &|| drive_mix(&dashmap, 2, keys, mix, n)),
                (Scc::NAME, &|| drive_mix(&scc, 2, keys, mix, n)),
                (StdRwLock::NAME, &|| drive_mix(&rwlock, 2, keys, mix, n)),
                (ParkingLotRwLock::NAME, &|| {
                    drive_mix(&parking_lot, 2, keys, mix, n)
                }),
            ],
        );
        let mix = CMB_READ_HEAVY;
        print_medians(
            &format!("cmb_read_heavy (98/1/1), {size} keys, 2 threads"),
            &[
                (<Rcu>::NAME, &|| drive_ops(&rcu, 2, keys, mix, n)),
                (RcuFlat::NAME, &|| drive_ops(&flat, 2, keys, mix, n)),
                (Papaya::NAME, &|| drive_ops(&papaya, 2, keys, mix, n)),
                (DashMap::NAME, &|| drive_ops(&dashmap, 2, keys, mix, n)),
                (Scc::NAME, &|| drive_ops(&scc, 2, keys, mix, n)),
                (StdRwLock::NAME, &|| drive_ops(&rwlock, 2, keys, mix, n)),
            ],
        );
        let plain = plain_map(keys);
        rcu.register();
        print_medians(
            &format!("single-thread get, {size} keys"),
            &[
                ("RcuHashMap get", &|| drive_single(keys, n, |k| rcu.get(k))),
                ("RcuFlatHashMap get", &|| {
                    drive_single(keys, n, |k| flat.get(k))
                }),
                ("std HashMap get", &|| {
                    drive_single(keys, n, |k| plain.get(&k).copied())
                }),
                ("RandomState hash", &|| drive_hash_only(keys, n)),
            ],
        );
    }
}

fn mixes(c: &mut Criterion) {
    for mix in [READ_HEAVY, READ_MOSTLY] {
        for (keys, size) in SIZES {
            let mut group = common::group(c, &format!("hash_map_{}_{size}", mix.name));
            sweep::<Rcu>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<RcuFlat>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<Papaya>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<DashMap>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<Scc>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<StdRwLock>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
            sweep::<ParkingLotRwLock>(&mut group, keys, |m, t, i| drive_mix(m, t, keys, mix, i));
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
        let flat: RcuFlat = prefilled(keys);
        group.bench_function(BenchmarkId::new("RcuFlatHashMap get", size), |b| {
            b.iter_custom(|iters| drive_single(keys, iters, |k| flat.get(k)));
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

criterion_group!(
    benches,
    footprint,
    interleaved,
    mixes,
    conc_map_bench,
    single_thread,
    resize
);
criterion_main!(benches);
