//! The `RcuHashMap` stress run shared by tests/map_stress.rs, tests/map_negative_control.rs and
//! examples/map_stress.rs (included with `#[path]`).
//!
//! `FIXED` keys are inserted first and never removed; `CHURN` keys are replaced and removed at random
//! by one updater while a second writer thread forces a grow or a shrink, over and over. Readers look
//! keys up under a guard and check, for every value seen, its alive word, checksum and key, and that
//! it is still alive at the end of their critical section; a fixed key that is not found is a false
//! negative. Both writers and two prober threads check every `buckets()` answer (a power of two, not
//! above [`MAX_BUCKETS`]): outside a read-side critical section, a read of a bucket array that a
//! concurrent resize retired and freed returns PoisonAlloc's poison, `0xdede_dede_dede_dede`. At the
//! end every value ever created must be reclaimed exactly once (`removed == reclaimed`).
//!
//! Runs under `rcu_test_support::PoisonAlloc` and with signal perturbation (see
//! tests/common/stress.rs).
//!
//! Generic over the map kind ([`Value`]): [`Elem`] in an `RcuHashMap` (heap nodes, each reclaimed
//! and counted) and [`FlatElem`] in an `RcuFlatHashMap` (`Copy` pairs stored in the table: a
//! replacement or removal leaves a dead slot, and the map rehashes; a pair read from a freed table
//! reads PoisonAlloc's poison, which fails its checksum). For the flat map the updater also counts
//! the migrations that copied fixed key 0 (its value's address changes: `Report::moves`).
//!
//! Generic over the map kind ([`Value`]): [`Elem`] in an `RcuHashMap` (heap nodes, each reclaimed
//! and counted) and [`FlatElem`] in an `RcuFlatHashMap` (`Copy` pairs stored in the table: a
//! replacement or removal leaves a dead slot, and the map rehashes; a pair read from a freed table
//! reads PoisonAlloc's poison, which fails its checksum). For the flat map the updater also counts
//! the migrations that copied fixed key 0 (its value's address changes: `Report::moves`).

#[path = "../common/stress.rs"]
mod list_stress;

pub use list_stress::{Config, Counters, OnDead, Rng, StopOnUnwind};

use rcu_core::DefaultDomain;
use rcu_queue::map::{Boxed, Inline, Layout};
use rcu_queue::{RcuFlatHashMap, RcuHashMap};
use std::collections::hash_map::RandomState;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The updater goes on past the configured duration until it has forced this many resizes...
const MIN_RESIZES: u64 = 4;
/// ... and inserted this many values ...
const MIN_INSERTS: u64 = 200;
/// ... or until this much extra time has passed.
const MAX_OVERTIME: Duration = Duration::from_secs(30);

/// Keys `0..FIXED` are never removed.
pub const FIXED: u64 = 64;
/// Keys `FIXED..FIXED + CHURN` come and go.
pub const CHURN: u64 = 448;
/// The resizer's forced grows ask for this many keys: 2048 buckets (of up to four keys each), about
/// ten times what the keys need, so that the map also shrinks itself on the next removals. Small
/// enough to rebuild quickly: the more bucket arrays are retired, the more chances a writer has to
/// read one that was freed.
pub const FORCED_GROW: usize = 1 << 13;
/// More buckets than any table of this run has.
pub const MAX_BUCKETS: usize = 1 << 20;

/// A map value: the list stress test's element (alive word written only by its `Drop` or the poison
/// hook, reclamation counters) plus a checksum of its id, whose low 32 bits are the key.
#[derive(Debug)]
pub struct Elem {
    pub elem: list_stress::Elem,
    pub check: u64,
}

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5EED
}

impl Elem {
    pub fn new(key: u64, generation: u64, counters: &Arc<Counters>) -> Self {
        let id = (generation << 32) | key;
        Elem {
            elem: list_stress::Elem::new(id, counters),
            check: checksum(id),
        }
    }

    pub fn alive(&self) -> bool {
        self.elem.alive()
    }

    /// Whether the value is intact and belongs to `key`.
    pub fn intact(&self, key: u64) -> bool {
        self.check == checksum(self.elem.id) && self.elem.id & 0xFFFF_FFFF == key
    }

    /// Marks the value as quarantined (the negative control's poison hook).
    pub fn poison(&self) {
        self.elem.alive.quarantine();
    }
}

/// A value type of the run, with its map kind.
pub trait Value: Sized + Send + Sync + std::fmt::Debug + 'static {
    /// The map's layout.
    type L: Layout<u64, Self>;
    /// The owned map.
    type Owned: Deref<Target = Map<Self>> + Sync;
    /// Whether each value is counted in [`Counters`] (made and reclaimed).
    const COUNTED: bool;
    /// A new, empty map.
    fn new_map() -> Self::Owned;
    /// Value `generation` of `key`.
    fn new(key: u64, generation: u64, counters: &Arc<Counters>) -> Self;
    /// Whether the value is intact and belongs to `key`.
    fn intact(&self, key: u64) -> bool;
    /// What a reader does with a value it holds: whether it is still alive (`on_dead` says what to
    /// do if not).
    fn visit(&self, on_dead: OnDead) -> bool;
}

/// The map of value type `V`.
pub type Map<V> = RcuHashMap<u64, V, RandomState, DefaultDomain, <V as Value>::L>;

impl Value for Elem {
    type L = Boxed;
    type Owned = Box<RcuHashMap<u64, Elem>>;
    const COUNTED: bool = true;

    fn new_map() -> Self::Owned {
        Box::new(RcuHashMap::new())
    }

    fn new(key: u64, generation: u64, counters: &Arc<Counters>) -> Self {
        Elem::new(key, generation, counters)
    }

    fn intact(&self, key: u64) -> bool {
        Elem::intact(self, key)
    }

    fn visit(&self, on_dead: OnDead) -> bool {
        self.elem.visit(on_dead)
    }
}

/// A flat map's value: an id (the key in its low 32 bits) and its checksum, stored in the table.
#[derive(Debug, Clone, Copy)]
pub struct FlatElem {
    pub id: u64,
    pub check: u64,
}

impl Value for FlatElem {
    type L = Inline;
    type Owned = RcuFlatHashMap<u64, FlatElem>;
    const COUNTED: bool = false;

    fn new_map() -> Self::Owned {
        RcuFlatHashMap::new()
    }

    fn new(key: u64, generation: u64, _: &Arc<Counters>) -> Self {
        let id = (generation << 32) | key;
        FlatElem {
            id,
            check: checksum(id),
        }
    }

    fn intact(&self, key: u64) -> bool {
        self.check == checksum(self.id) && self.id & 0xFFFF_FFFF == key
    }

    /// Alive while its table is: a pair read from a freed table is poison, whose checksum fails.
    #[track_caller]
    fn visit(&self, on_dead: OnDead) -> bool {
        let alive = self.check == checksum(self.id);
        assert!(
            alive || on_dead == OnDead::Count,
            "a reader read a pair from a freed table: {self:x?} (PoisonAlloc's poison is {:#x})",
            rcu_test_support::alloc::FREED_WORD
        );
        alive
    }
}

/// The map's bucket count, checked: a writer's `buckets()` that read a freed bucket array returns
/// PoisonAlloc's poison.
#[track_caller]
pub fn checked_buckets<V: Value>(map: &Map<V>) -> usize {
    let buckets = map.buckets();
    assert!(
        buckets.is_power_of_two() && buckets <= MAX_BUCKETS,
        "RcuHashMap::buckets() returned {buckets:#x}, not a bucket count: it read a bucket array \
         that was freed ({:#x} is PoisonAlloc's poison)",
        rcu_test_support::alloc::FREED_WORD
    );
    buckets
}

#[derive(Debug, Default)]
pub struct Report {
    /// Lookups done by readers.
    pub lookups: u64,
    /// Values found and checked.
    pub values_checked: u64,
    /// Fixed keys not found (false negatives).
    pub misses: u64,
    pub dead_seen: u64,
    pub removed: u64,
    pub inserted: u64,
    pub resizes: u64,
    /// Changes of the address of fixed key 0's value seen by the updater: migrations that copied it
    /// (flat maps only; a lower bound).
    pub moves: u64,
}

/// A map holding every fixed key and half the churn keys.
pub fn initial_map<V: Value>(counters: &Arc<Counters>) -> V::Owned {
    let map = V::new_map();
    for key in (0..FIXED).chain((FIXED..FIXED + CHURN).step_by(2)) {
        map.insert(key, V::new(key, 0, counters));
    }
    map
}

/// Runs the readers, the updater and the resizer until the deadline; returns after joining every
/// thread.
pub fn run_on<V: Value>(map: &Map<V>, counters: &Arc<Counters>, cfg: Config) -> Report {
    let stop = AtomicBool::new(false);
    let started = AtomicU64::new(0);
    let totals = [(); 4].map(|()| AtomicU64::new(0)); // lookups, checked, misses, dead
    let resizes = AtomicU64::new(0);
    let mut report = Report::default();
    let _perturb = rcu_test_support::perturb::start();
    std::thread::scope(|s| {
        for _ in 0..cfg.readers {
            let (stop, started, totals) = (&stop, &started, &totals);
            s.spawn(move || {
                let _stop = StopOnUnwind(stop);
                started.fetch_add(1, Relaxed);
                let mut rng = Rng::from_clock();
                let (mut lookups, mut checked, mut misses, mut dead) = (0, 0, 0, 0);
                while !stop.load(Relaxed) {
                    let guard = rcu_core::read_lock();
                    let mut seen = Vec::with_capacity(32);
                    for _ in 0..32 {
                        let key = rng.below(FIXED + CHURN);
                        lookups += 1;
                        match map.get(&key, &guard) {
                            Some(e) => {
                                // Alive when reached (a freed value's checksum is poison too) ...
                                if !e.visit(cfg.on_dead) {
                                    dead += 1;
                                    continue;
                                }
                                assert!(
                                    e.intact(key),
                                    "torn or misplaced value {e:?} for key {key}"
                                );
                                for _ in 0..cfg.reader_spin {
                                    std::hint::spin_loop();
                                }
                                seen.push(e);
                            }
                            None if key < FIXED => misses += 1,
                            None => {}
                        }
                    }
                    // ... and everything seen in this critical section still alive at its end.
                    for e in &seen {
                        if !e.visit(cfg.on_dead) {
                            dead += 1;
                        }
                    }
                    checked += seen.len() as u64;
                }
                for (total, n) in totals.iter().zip([lookups, checked, misses, dead]) {
                    total.fetch_add(n, Relaxed);
                }
            });
        }
        // The resizer: forces a grow, or a shrink if the table is large (the map also shrinks
        // itself after a forced grow, on the next removals), concurrently with the updater's
        // inserts and removals (whose automatic resizes it races with too).
        {
            let (stop, started, resizes) = (&stop, &started, &resizes);
            s.spawn(move || {
                let _stop = StopOnUnwind(stop);
                started.fetch_add(1, Relaxed);
                while !stop.load(Relaxed) {
                    let capacity = if 4 * checked_buckets(map) >= FORCED_GROW {
                        0
                    } else {
                        FORCED_GROW
                    };
                    if map.resize(capacity) {
                        resizes.fetch_add(1, Relaxed);
                    }
                    checked_buckets(map);
                }
            });
        }
        // Two probers: ask for the bucket count over and over, outside any read-side critical
        // section, as a monitoring thread would. They and the updater, the threads that read the
        // map outside a read-side critical section, get most of the perturbation signals.
        for _ in 0..2 {
            let (stop, started) = (&stop, &started);
            s.spawn(move || {
                let _stop = StopOnUnwind(stop);
                rcu_test_support::perturb::favour_current_thread();
                started.fetch_add(1, Relaxed);
                while !stop.load(Relaxed) {
                    checked_buckets(map);
                }
            });
        }
        while started.load(Relaxed) < cfg.readers as u64 + 3 {
            std::thread::yield_now();
        }
        // The updater (this thread).
        let _stop = StopOnUnwind(&stop);
        rcu_test_support::perturb::favour_current_thread();
        // Run for the configured time, and on until a minimum of work is done (a slow machine or
        // valgrind stretches each forced resize's grace period), but never past a hard cap.
        let start = Instant::now();
        let (deadline, cap) = (start + cfg.duration, start + cfg.duration + MAX_OVERTIME);
        let mut rng = Rng::from_clock();
        let mut generation = 1;
        let at = || {
            map.get(&0, &rcu_core::read_lock())
                .map(|v| v as *const V as usize)
        };
        let mut addr = at();
        loop {
            let now = Instant::now();
            let enough = resizes.load(Relaxed) >= MIN_RESIZES && report.inserted >= MIN_INSERTS;
            // A thread that failed a check raised the flag (`StopOnUnwind`).
            if stop.load(Relaxed) || now >= cap || (now >= deadline && enough) {
                break;
            }
            let key = FIXED + rng.below(CHURN);
            if rng.below(2) == 0 {
                if !map.insert(key, V::new(key, generation, counters)) {
                    report.removed += 1; // the replaced value
                }
                report.inserted += 1;
                generation += 1;
            } else if map.remove(&key) {
                report.removed += 1;
            }
            checked_buckets(map);
            if at() != addr {
                addr = at();
                report.moves += 1;
            }
        }
        stop.store(true, Relaxed);
    });
    let [lookups, checked, misses, dead] = totals.map(AtomicU64::into_inner);
    report.lookups = lookups;
    report.values_checked = checked;
    report.misses = misses;
    report.dead_seen = dead;
    report.resizes = resizes.into_inner();
    report
}

/// The positive stress test: runs, tears down, and checks `removed == reclaimed`, no false negative,
/// no reclaimed value seen, and that the run did real work.
pub fn stress<V: Value>(cfg: Config) -> Report {
    let counters = Arc::new(Counters::default());
    let map = initial_map::<V>(&counters);
    let mut report = run_on(&map, &counters, cfg);
    report.removed += map.len() as u64; // teardown removes the rest
    drop(map);
    rcu_core::rcu_barrier();
    let created = counters.created.load(Relaxed);
    let reclaimed = counters.reclaimed.load(Relaxed);
    if V::COUNTED {
        assert_eq!(
            report.removed, reclaimed,
            "removed != reclaimed ({report:?})"
        );
        assert_eq!(created, reclaimed, "created != reclaimed ({report:?})");
    } else {
        // Pairs stored in the table are made and freed with it; migrations copied key 0's.
        assert!(report.moves > 0, "no migration copied key 0: {report:?}");
    }
    assert_eq!(
        counters.double_drops.load(Relaxed),
        0,
        "a value was reclaimed twice"
    );
    assert_eq!(
        report.misses, 0,
        "readers missed present keys during resizes: {report:?}"
    );
    assert_eq!(report.dead_seen, 0);
    assert!(
        report.values_checked > 0
            && report.inserted >= MIN_INSERTS
            && report.resizes >= MIN_RESIZES,
        "the run did no work: {report:?}"
    );
    report
}
