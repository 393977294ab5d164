//! Workload 7: concurrent hash-map lookups under a write mix, `u64 -> u64`.
//!
//! The map is prefilled with keys `0..keys`. Each measured thread runs `iters` operations: one in
//! `write_every` is a write (insert of a fresh key followed by its removal, so the size stays put),
//! the others are `get`s of uniformly random present keys, each under its own read-side section or
//! lock. Every contender hashes with `std`'s `RandomState` (SipHash-1-3). The contenders that only need
//! rcu-queue and `std` live here: rcu-queue's `RcuHashMap` and `RcuFlatHashMap` (one [`Rcu`] driver
//! over both, [`RcuTable`]) and `std::sync::RwLock<HashMap>`; dashmap,
//! papaya, scc and `parking_lot::RwLock<HashMap>` live next to the criterion target. Also here: the
//! single-thread floor (an unsynchronized `std::collections::HashMap::get`), the hashing cost alone,
//! and `RcuHashMap` lookups while another thread resizes the table in a loop.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use rcu_core::DefaultDomain;
use rcu_queue::map::{Boxed, Inline, Layout};
use rcu_queue::{RcuFlatHashMap, RcuHashMap};

use crate::driver::{time_once, timed_parallel};

/// A concurrent `u64 -> u64` map under test.
pub trait BenchMap: Sync + Send {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// An empty map sized for `capacity` keys, hashing with `hasher`.
    fn with_capacity(capacity: usize, hasher: RandomState) -> Self
    where
        Self: Sized;

    /// Per-thread set-up before the measured phase.
    fn register(&self) {}

    /// The value of `key` (one read-side section or read lock per call).
    fn get(&self, key: u64) -> Option<u64>;

    /// Inserts or replaces.
    fn insert(&self, key: u64, value: u64);

    /// Removes.
    fn remove(&self, key: u64);

    /// Reclaims what the writes left behind (after the clock stopped).
    fn quiesce(&self) {}
}

/// A read/write mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Group-name part: `read_heavy` or `read_mostly`.
    pub name: &'static str,
    /// One operation in this many is a write (an insert and a remove).
    pub write_every: u64,
}

/// 99% `get`, 1% insert + remove.
pub const READ_HEAVY: Mix = Mix {
    name: "read_heavy",
    write_every: 100,
};

/// 90% `get`, 10% insert + remove.
pub const READ_MOSTLY: Mix = Mix {
    name: "read_mostly",
    write_every: 10,
};

/// Map sizes of the sweep, with their group-name suffix: a table in L1/L2, one in the last-level
/// cache of most machines, and one (2^20 keys) that falls out of it.
pub const SIZES: [(u64, &str); 3] = [(1_000, "1k"), (100_000, "100k"), (1 << 20, "1m")];

/// A mix of conc-map-bench (xacrimon/conc-map-bench, after bustle): percentages of reads, inserts,
/// removes and updates, summing to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpMix {
    /// Group-name part.
    pub name: &'static str,
    /// `get` of a random prefilled key.
    pub read: u64,
    /// Insert of a fresh key of the thread's own window.
    pub insert: u64,
    /// Remove of the thread's oldest inserted key (of an absent key when it has none).
    pub remove: u64,
    /// Insert over a random prefilled key (a replace).
    pub update: u64,
}

/// conc-map-bench's read-heavy mix: 98% read, 1% insert, 1% remove.
pub const CMB_READ_HEAVY: OpMix = OpMix {
    name: "cmb_read_heavy",
    read: 98,
    insert: 1,
    remove: 1,
    update: 0,
};

/// conc-map-bench's exchange mix: 10% read, 40% insert, 40% remove, 10% update.
pub const CMB_EXCHANGE: OpMix = OpMix {
    name: "cmb_exchange",
    read: 10,
    insert: 40,
    remove: 40,
    update: 10,
};

/// conc-map-bench's rapid-grow mix: 5% read, 80% insert, 5% remove, 10% update.
pub const CMB_RAPID_GROW: OpMix = OpMix {
    name: "cmb_rapid_grow",
    read: 5,
    insert: 80,
    remove: 5,
    update: 10,
};

/// Keys each thread inserts before its inserts wrap around (and become replaces): bounds the growth
/// of the rapid-grow mix over criterion's many iterations to `threads * WINDOW` keys.
pub const WINDOW: u64 = 1 << 16;

/// `threads` threads each run `iters` operations of `mix` over a map prefilled with `keys` keys;
/// returns the wall time of the parallel phase. The operation is drawn per step from the same
/// xorshift stream for every contender (one draw for the kind, one for a key).
///
/// ```
/// use benches::hash_map::{BenchMap, CMB_EXCHANGE, Rcu, drive_ops, prefilled};
/// let map: Rcu = prefilled(1000);
/// assert!(drive_ops(&map, 2, 1000, CMB_EXCHANGE, 1000).as_nanos() > 0);
/// assert_eq!(map.get(999), Some(999)); // updates rewrite prefilled keys with themselves
/// ```
pub fn drive_ops<M: BenchMap>(
    map: &M,
    threads: usize,
    keys: u64,
    mix: OpMix,
    iters: u64,
) -> Duration {
    assert_eq!(
        mix.read + mix.insert + mix.remove + mix.update,
        100,
        "{mix:?}"
    );
    let elapsed = timed_parallel(
        map,
        threads,
        0,
        |m, _| m.register(),
        |m, index| {
            let mut rng = Keys::new(index as u64 + 1);
            let base = keys + ((index as u64 + 1) << 32);
            let (mut inserted, mut removed, mut found) = (0u64, 0u64, 0u64);
            for _ in 0..iters {
                let roll = rng.below(100);
                if roll < mix.read {
                    if let Some(v) = m.get(rng.below(keys)) {
                        found = found.wrapping_add(v);
                    }
                } else if roll < mix.read + mix.insert {
                    let k = base + inserted % WINDOW;
                    inserted += 1;
                    m.insert(k, k);
                } else if roll < mix.read + mix.insert + mix.remove {
                    // The oldest key still in the window; an absent one when none is left.
                    if removed < inserted && inserted - removed <= WINDOW {
                        m.remove(base + removed % WINDOW);
                        removed += 1;
                    } else {
                        removed = inserted.saturating_sub(WINDOW).max(removed);
                        m.remove(base + WINDOW);
                    }
                } else {
                    let k = rng.below(keys);
                    m.insert(k, k);
                }
            }
            black_box(found);
        },
        |_, _, _| {},
        |_, _| {},
    );
    map.quiesce();
    elapsed
}

/// Inserts `keys` fresh keys into `map` one by one and returns the slowest insert and the sum of
/// all (the growth pauses show up in the slowest: a whole-table rebuild, a lock held across a
/// rehash, or none for an incremental resize).
///
/// ```
/// use benches::hash_map::{BenchMap, Rcu, worst_insert};
/// let map: Rcu = Rcu::with_capacity(0, Default::default());
/// let (worst, total) = worst_insert(&map, 10_000);
/// assert!(worst <= total && map.get(9_999) == Some(9_999));
/// ```
pub fn worst_insert<M: BenchMap>(map: &M, keys: u64) -> (Duration, Duration) {
    map.register();
    let (mut worst, mut total) = (Duration::ZERO, Duration::ZERO);
    for k in 0..keys {
        let start = std::time::Instant::now();
        map.insert(k, k);
        let took = start.elapsed();
        worst = worst.max(took);
        total += took;
    }
    map.quiesce();
    (worst, total)
}

/// xorshift64 keys, mapped onto `0..n` by a multiply-shift (no division on the hot path).
#[derive(Debug, Clone)]
pub struct Keys(u64);

impl Keys {
    /// A key stream seeded by `seed`.
    ///
    /// ```
    /// let mut keys = benches::hash_map::Keys::new(1);
    /// assert!(keys.below(10) < 10);
    /// ```
    pub fn new(seed: u64) -> Self {
        Keys(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next key in `0..n`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((u128::from(self.0) * u128::from(n)) >> 64) as u64
    }
}

/// A map holding `key -> key` for `0..keys`.
///
/// ```
/// use benches::hash_map::{BenchMap, Rcu, prefilled};
/// let map: Rcu = prefilled(100);
/// assert_eq!(map.get(7), Some(7));
/// ```
pub fn prefilled<M: BenchMap>(keys: u64) -> M {
    let map = M::with_capacity(keys as usize, RandomState::new());
    for k in 0..keys {
        map.insert(k, k);
    }
    map
}

/// `threads` threads each run `iters` operations of `mix` over a map of `keys` keys; returns the wall
/// time of the parallel phase.
///
/// ```
/// use benches::hash_map::{READ_HEAVY, Rcu, drive_mix, prefilled};
/// let map: Rcu = prefilled(1000);
/// assert!(drive_mix(&map, 2, 1000, READ_HEAVY, 1000).as_nanos() > 0);
/// ```
pub fn drive_mix<M: BenchMap>(
    map: &M,
    threads: usize,
    keys: u64,
    mix: Mix,
    iters: u64,
) -> Duration {
    let elapsed = timed_parallel(
        map,
        threads,
        0,
        |m, _| m.register(),
        |m, index| {
            let mut rng = Keys::new(index as u64 + 1);
            // Fresh keys for this thread's writes, disjoint from the prefilled ones and from the
            // other threads'.
            let write_base = keys + ((index as u64 + 1) << 32);
            let mut found = 0u64;
            // A countdown rather than `i % write_every`: a division per operation would add the same
            // ~10 ns to every contender and hide the differences between them.
            let mut until_write = mix.write_every;
            let mut writes = 0u64;
            for _ in 0..iters {
                until_write -= 1;
                if until_write == 0 {
                    until_write = mix.write_every;
                    let k = write_base + (writes & 1023);
                    writes += 1;
                    m.insert(k, k);
                    m.remove(k);
                } else if let Some(v) = m.get(rng.below(keys)) {
                    found = found.wrapping_add(v);
                }
            }
            black_box(found);
        },
        |_, _, _| {},
        |_, _| {},
    );
    map.quiesce();
    elapsed
}

/// One of rcu-queue's maps, `u64 -> u64` with `RandomState` in the default domain: what [`Rcu`]
/// needs to build and reach it. Both are the same `RcuHashMap` code with a different layout, so
/// one [`BenchMap`] impl drives them.
pub trait RcuTable: Send + Sync {
    /// Where the pairs live: [`Boxed`] (a node each) or [`Inline`] (in the buckets).
    type Layout: Layout<u64, u64>;

    /// The contender's name.
    const NAME: &'static str;

    /// An empty map sized for `capacity` keys.
    fn build(capacity: usize, hasher: RandomState) -> Self;

    /// The map, as the `RcuHashMap` of its layout.
    fn table(&self) -> &RcuHashMap<u64, u64, RandomState, DefaultDomain, Self::Layout>;
}

impl RcuTable for RcuHashMap<u64, u64> {
    type Layout = Boxed;
    const NAME: &'static str = "RcuHashMap";

    fn build(capacity: usize, hasher: RandomState) -> Self {
        RcuHashMap::with_capacity_and_hasher(capacity, hasher)
    }

    fn table(&self) -> &Self {
        self
    }
}

impl RcuTable for RcuFlatHashMap<u64, u64> {
    type Layout = Inline;
    const NAME: &'static str = "RcuFlatHashMap";

    fn build(capacity: usize, hasher: RandomState) -> Self {
        RcuFlatHashMap::with_capacity_and_hasher(capacity, hasher)
    }

    fn table(&self) -> &RcuHashMap<u64, u64, RandomState, DefaultDomain, Inline> {
        self
    }
}

/// An rcu-queue map (`qht_lookup` under `rcu_read_lock`, one guard per `get`): `RcuHashMap` by
/// default, [`RcuFlat`] for `RcuFlatHashMap`.
#[derive(Debug)]
pub struct Rcu<M = RcuHashMap<u64, u64>>(pub M);

/// rcu-queue's `RcuFlatHashMap` (pairs stored in the buckets).
///
/// ```
/// use benches::hash_map::{BenchMap, RcuFlat, prefilled};
/// let map: RcuFlat = prefilled(100);
/// assert_eq!((map.get(7), RcuFlat::NAME), (Some(7), "RcuFlatHashMap"));
/// ```
pub type RcuFlat = Rcu<RcuFlatHashMap<u64, u64>>;

impl<M: RcuTable> BenchMap for Rcu<M> {
    const NAME: &'static str = M::NAME;

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        Rcu(M::build(capacity, hasher))
    }

    fn register(&self) {
        rcu_core::register_thread();
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        let guard = rcu_core::read_lock();
        self.0.table().get(&key, &guard).copied()
    }

    fn insert(&self, key: u64, value: u64) {
        self.0.table().insert(key, value);
    }

    fn remove(&self, key: u64) {
        self.0.table().remove(&key);
    }

    fn quiesce(&self) {
        rcu_core::rcu_barrier();
    }
}

/// `std::sync::RwLock<std::collections::HashMap>`.
#[derive(Debug)]
pub struct StdRwLock(pub RwLock<HashMap<u64, u64>>);

impl BenchMap for StdRwLock {
    const NAME: &'static str = "std RwLock<HashMap>";

    fn with_capacity(capacity: usize, hasher: RandomState) -> Self {
        StdRwLock(RwLock::new(HashMap::with_capacity_and_hasher(
            capacity, hasher,
        )))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&key).copied()
    }

    fn insert(&self, key: u64, value: u64) {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        map.insert(key, value);
    }

    fn remove(&self, key: u64) {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        map.remove(&key);
    }
}

/// Single thread, `iters` `get`s of random keys of `0..keys` through `get`; returns the time. The
/// floor and the contenders of the single-thread comparison all run through this loop.
///
/// ```
/// use std::collections::HashMap;
/// let map: HashMap<u64, u64> = (0..100).map(|k| (k, k)).collect();
/// let d = benches::hash_map::drive_single(100, 1000, |k| map.get(&k).copied());
/// assert!(d.as_nanos() > 0);
/// ```
pub fn drive_single(keys: u64, iters: u64, get: impl Fn(u64) -> Option<u64>) -> Duration {
    let mut rng = Keys::new(7);
    time_once(|| {
        let mut found = 0u64;
        for _ in 0..iters {
            if let Some(v) = get(rng.below(keys)) {
                found = found.wrapping_add(v);
            }
        }
        found
    })
}

/// An unsynchronized `std::collections::HashMap` of `0..keys` with `RandomState`: the
/// single-thread floor.
///
/// ```
/// assert_eq!(benches::hash_map::plain_map(10).len(), 10);
/// ```
pub fn plain_map(keys: u64) -> HashMap<u64, u64> {
    let mut map = HashMap::with_capacity_and_hasher(keys as usize, RandomState::new());
    map.extend((0..keys).map(|k| (k, k)));
    map
}

/// The hashing cost alone: `RandomState::hash_one` of the same keys, through [`drive_single`].
///
/// ```
/// assert!(benches::hash_map::drive_hash_only(1000, 1000).as_nanos() > 0);
/// ```
pub fn drive_hash_only(keys: u64, iters: u64) -> Duration {
    let hasher = RandomState::new();
    drive_single(keys, iters, |k| Some(hasher.hash_one(k)))
}

/// `readers` threads each do `iters` `get`s on an `RcuHashMap` of `keys` keys while, if `resizing`,
/// a background thread resizes it in a loop between its smallest table and 16 times its size.
///
/// ```
/// use benches::hash_map::{Rcu, drive_gets_during_resize, prefilled};
/// let map: Rcu = prefilled(1000);
/// assert!(drive_gets_during_resize(&map, 1, 1000, true, 1000).as_nanos() > 0);
/// ```
pub fn drive_gets_during_resize(
    map: &Rcu,
    readers: usize,
    keys: u64,
    resizing: bool,
    iters: u64,
) -> Duration {
    timed_parallel(
        map,
        readers,
        usize::from(resizing),
        |m, _| m.register(),
        |m, index| {
            let mut rng = Keys::new(index as u64 + 1);
            let mut found = 0u64;
            for _ in 0..iters {
                let v = m.get(rng.below(keys));
                assert!(v.is_some(), "a present key was missed during a resize");
                found = found.wrapping_add(v.unwrap_or_default());
            }
            black_box(found);
        },
        |m, _, stop| {
            let mut grow = true;
            while !stop.is_set() {
                m.0.resize(if grow { keys as usize * 16 } else { 0 });
                grow = !grow;
            }
        },
        |_, _| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_agrees_with_the_model() {
        fn check<M: BenchMap>() {
            let map: M = prefilled(500);
            drive_mix(&map, 2, 500, READ_MOSTLY, 2000);
            for k in 0..500 {
                assert_eq!(map.get(k), Some(k), "{}", M::NAME);
            }
            assert_eq!(map.get(10_000), None);
        }
        check::<Rcu>();
        check::<RcuFlat>();
        check::<StdRwLock>();
    }

    #[test]
    fn conc_map_bench_mixes_keep_prefilled_keys_and_bound_growth() {
        fn check<M: RcuTable>() {
            for mix in [CMB_READ_HEAVY, CMB_EXCHANGE, CMB_RAPID_GROW] {
                let map: Rcu<M> = prefilled(500);
                drive_ops(&map, 2, 500, mix, 3000);
                for k in 0..500 {
                    assert_eq!(map.get(k), Some(k), "{} {}", M::NAME, mix.name);
                }
                let len = map.0.table().len();
                assert!(len <= 500 + 2 * WINDOW as usize, "{} {}", M::NAME, mix.name);
            }
        }
        check::<RcuHashMap<u64, u64>>();
        check::<RcuFlatHashMap<u64, u64>>();
    }

    #[test]
    fn keys_stay_in_range_and_spread() {
        let mut keys = Keys::new(3);
        let mut seen = [false; 16];
        for _ in 0..1000 {
            seen[keys.below(16) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
