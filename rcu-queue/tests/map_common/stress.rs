//! The `RcuHashMap` stress run shared by tests/map_stress.rs, tests/map_negative_control.rs and
//! examples/map_stress.rs (included with `#[path]`).
//!
//! `FIXED` keys are inserted first and never removed; `CHURN` keys are replaced and removed at random
//! by one updater, which also forces a grow or a shrink every few operations. Readers look keys up
//! under a guard and check, for every value seen, its checksum and key, and that it is still alive at
//! the end of their critical section; a fixed key that is not found is a false negative. At the end
//! every value ever created must be reclaimed exactly once (`removed == reclaimed`).

use rcu_queue::RcuHashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// State of a value that has not been reclaimed.
pub const ALIVE: u64 = 0xA11C_E000_A11C_E000;
/// Written by `Drop` (the reclaimer).
pub const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;
/// Written by the negative control's poison hook when a node is quarantined.
pub const POISONED: u64 = 0x9015_0000_9015_0000;

/// Keys `0..FIXED` are never removed.
pub const FIXED: u64 = 64;
/// Keys `FIXED..FIXED + CHURN` come and go.
pub const CHURN: u64 = 448;

/// Per-run counters, shared by every value of the run.
#[derive(Debug, Default)]
pub struct Counters {
    pub created: AtomicU64,
    pub reclaimed: AtomicU64,
    pub double_drops: AtomicU64,
}

/// A map value: `state` is written only by the reclaimer (Drop) or the poison hook; `check` is a
/// checksum of `id`, whose low 32 bits are the key.
#[derive(Debug)]
pub struct Elem {
    pub state: AtomicU64,
    pub id: u64,
    pub check: u64,
    pub counters: Arc<Counters>,
}

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5EED
}

impl Elem {
    pub fn new(key: u64, generation: u64, counters: &Arc<Counters>) -> Self {
        counters.created.fetch_add(1, Relaxed);
        let id = (generation << 32) | key;
        Elem {
            state: AtomicU64::new(ALIVE),
            id,
            check: checksum(id),
            counters: counters.clone(),
        }
    }

    pub fn alive(&self) -> bool {
        self.state.load(Relaxed) == ALIVE
    }

    /// Whether the value is intact and belongs to `key`.
    pub fn intact(&self, key: u64) -> bool {
        self.check == checksum(self.id) && self.id & 0xFFFF_FFFF == key
    }
}

impl Drop for Elem {
    fn drop(&mut self) {
        if self.state.swap(DEAD, Relaxed) == DEAD {
            self.counters.double_drops.fetch_add(1, Relaxed);
        }
        self.counters.reclaimed.fetch_add(1, Relaxed);
    }
}

/// What readers do when they see a reclaimed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDead {
    /// Panic (the normal stress test).
    Panic,
    /// Count it (the negative control).
    Count,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub duration: Duration,
    pub readers: usize,
    pub on_dead: OnDead,
    /// Busy-wait iterations per value a reader sees, to widen its critical section.
    pub reader_spin: u32,
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
}

/// xorshift64*: a dependency-free RNG.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// A map holding every fixed key and half the churn keys.
pub fn initial_map(counters: &Arc<Counters>) -> RcuHashMap<u64, Elem> {
    let map = RcuHashMap::new();
    for key in (0..FIXED).chain((FIXED..FIXED + CHURN).step_by(2)) {
        map.insert(key, Elem::new(key, 0, counters));
    }
    map
}

/// Runs the readers and the updater until the deadline; returns after joining every thread.
pub fn run_on(map: &RcuHashMap<u64, Elem>, counters: &Arc<Counters>, cfg: Config) -> Report {
    let stop = AtomicBool::new(false);
    let started = AtomicU64::new(0);
    let totals = [(); 4].map(|()| AtomicU64::new(0)); // lookups, checked, misses, dead
    let mut report = Report::default();
    std::thread::scope(|s| {
        for r in 0..cfg.readers {
            let (stop, started, totals) = (&stop, &started, &totals);
            s.spawn(move || {
                started.fetch_add(1, Relaxed);
                let mut rng = Rng::new(0x1234_5678 + r as u64);
                let (mut lookups, mut checked, mut misses, mut dead) = (0, 0, 0, 0);
                while !stop.load(Relaxed) {
                    let guard = rcu_core::read_lock();
                    let mut seen = Vec::with_capacity(32);
                    for _ in 0..32 {
                        let key = rng.below(FIXED + CHURN);
                        lookups += 1;
                        match map.get(&key, &guard) {
                            Some(e) => {
                                assert!(e.intact(key), "torn or misplaced value {e:?} for key {key}");
                                for _ in 0..cfg.reader_spin {
                                    std::hint::spin_loop();
                                }
                                seen.push(e);
                            }
                            None if key < FIXED => misses += 1,
                            None => {}
                        }
                    }
                    // Everything seen in this critical section must still be alive at its end.
                    for e in &seen {
                        if !e.alive() {
                            assert!(
                                cfg.on_dead == OnDead::Count,
                                "reader saw reclaimed value {:#x} (state {:#x}) inside its critical section",
                                e.id,
                                e.state.load(Relaxed)
                            );
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
        while started.load(Relaxed) < cfg.readers as u64 {
            std::thread::yield_now();
        }
        // The updater (this thread).
        let deadline = Instant::now() + cfg.duration;
        let mut rng = Rng::new(0xC0FFEE);
        let mut generation = 1;
        let mut ops = 0u64;
        while Instant::now() < deadline {
            let key = FIXED + rng.below(CHURN);
            if rng.below(2) == 0 {
                if !map.insert(key, Elem::new(key, generation, counters)) {
                    report.removed += 1; // the replaced value
                }
                report.inserted += 1;
                generation += 1;
            } else if map.remove(&key) {
                report.removed += 1;
            }
            ops += 1;
            if ops % 128 == 0 {
                // Force a grow, or a shrink if the table is still large (the map also shrinks
                // itself after a forced grow, on the next removals).
                let capacity = if map.buckets() >= 1 << 14 { 0 } else { 1 << 14 };
                if map.resize(capacity) {
                    report.resizes += 1;
                }
            }
        }
        stop.store(true, Relaxed);
    });
    let [lookups, checked, misses, dead] = totals.map(AtomicU64::into_inner);
    report.lookups = lookups;
    report.values_checked = checked;
    report.misses = misses;
    report.dead_seen = dead;
    report
}

/// The positive stress test: runs, tears down, and checks `removed == reclaimed`, no false negative,
/// no reclaimed value seen, and that the run did real work.
pub fn stress(cfg: Config) -> Report {
    let counters = Arc::new(Counters::default());
    let map = initial_map(&counters);
    let mut report = run_on(&map, &counters, cfg);
    report.removed += map.len() as u64; // teardown removes the rest
    drop(map);
    rcu_core::rcu_barrier();
    let created = counters.created.load(Relaxed);
    let reclaimed = counters.reclaimed.load(Relaxed);
    assert_eq!(
        report.removed, reclaimed,
        "removed != reclaimed ({report:?})"
    );
    assert_eq!(created, reclaimed, "created != reclaimed ({report:?})");
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
        report.values_checked > 0 && report.inserted >= 100 && report.resizes >= 2,
        "the run did no work: {report:?}"
    );
    report
}
