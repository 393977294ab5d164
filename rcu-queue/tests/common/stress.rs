//! The list stress test of QEMU's tests/unit/test-rcu-list.c, for any family of safe list.
//!
//! 100 initial elements; `readers` threads walk the list under a read guard and check that every
//! element they saw is still alive at the end of their critical section; one updater removes a random
//! element (by index, or through a handle every other time), inserts a new one after a random element
//! (so the list keeps 99 or 100 elements) and calls
//! `synchronize_rcu`, until the deadline. At the end every element ever created must have been
//! reclaimed exactly once, the list must still be populated and every reader must have visited at
//! least half a list per traversal.
//!
//! The element is [`Elem`] (drop glue: the list's release is a callback that drops it on rcu-core's
//! callback thread) or [`PlainElem`] (none: the updater's free bag frees it, `defer_free`); both
//! carry an alive word that reads as poison once freed.
//!
//! Every binary that includes this file (tests/stress.rs, tests/negative_control.rs,
//! examples/list_stress.rs, and the map's through tests/map_common/stress.rs) runs under
//! `rcu_test_support::PoisonAlloc`: a freed element is poisoned and never reused, so a reader that
//! reaches one fails its alive-word check. Each run is perturbed (`rcu_test_support::perturb`):
//! signals pause random threads at random points, the library's included.

use rcu_queue::RcuQueue;
use rcu_queue::family::Family;
use rcu_test_support::alive::{DEAD, PlainAliveWord};
use rcu_test_support::{AliveWord, PoisonAlloc};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: PoisonAlloc = PoisonAlloc::new();

/// Initial list length (QEMU's `RCU_Q_LEN`).
pub const INITIAL: u64 = 100;
/// The updater goes on past the configured duration until it has made this many updates (a slow
/// machine or valgrind's scheduler can starve it for a while) ...
const MIN_UPDATES: u64 = 16;
/// ... or until this much extra time has passed.
const MAX_OVERTIME: Duration = Duration::from_secs(30);

/// Per-run counters, shared by every element of the run.
#[derive(Debug, Default)]
pub struct Counters {
    pub created: AtomicU64,
    pub reclaimed: AtomicU64,
    pub double_drops: AtomicU64,
}

/// A list element whose alive word is written only by the reclaimer (Drop) or the negative
/// control's poison hook (`alive.quarantine()`).
#[derive(Debug)]
pub struct Elem {
    pub alive: AliveWord,
    pub id: u64,
    pub counters: Arc<Counters>,
}

impl Elem {
    pub fn new(id: u64, counters: &Arc<Counters>) -> Self {
        counters.created.fetch_add(1, Relaxed);
        Elem {
            alive: AliveWord::new(),
            id,
            counters: counters.clone(),
        }
    }

    pub fn alive(&self) -> bool {
        self.alive.is_alive()
    }

    /// What a reader does with every element it visits ([`visit`]).
    #[track_caller]
    pub fn visit(&self, on_dead: OnDead) -> bool {
        visit(&self.alive, on_dead)
    }
}

/// What a reader does with every element it visits: panics (with what it read instead of the alive
/// word) in the stress test, counts in the negative control. Returns whether it was alive.
#[track_caller]
pub fn visit(word: &PlainAliveWord, on_dead: OnDead) -> bool {
    if on_dead == OnDead::Panic {
        word.check();
    }
    word.is_alive()
}

/// A list element without drop glue (`needs_drop` is false): the list frees it through the
/// updater's free bag, running no code of its own, so only the allocator's poison (or the negative
/// control's quarantine) turns its alive word.
#[derive(Debug)]
pub struct PlainElem {
    pub alive: PlainAliveWord,
    pub id: u64,
}

const _: () = assert!(!std::mem::needs_drop::<PlainElem>());

/// What the stress lists hold.
pub trait Payload: Send + Sync + 'static {
    /// A new element, counted in `counters.created`.
    fn new(id: u64, counters: &Arc<Counters>) -> Self;
    /// Its alive word.
    fn alive_word(&self) -> &PlainAliveWord;
    /// How many elements were reclaimed, given `freed_plainly`: the objects freed with no drop
    /// (through free bags, or released by the list's teardown) since the run began.
    fn reclaimed(counters: &Counters, freed_plainly: u64) -> u64;
}

impl Payload for Elem {
    fn new(id: u64, counters: &Arc<Counters>) -> Self {
        Elem::new(id, counters)
    }
    fn alive_word(&self) -> &PlainAliveWord {
        &self.alive
    }
    fn reclaimed(counters: &Counters, _: u64) -> u64 {
        counters.reclaimed.load(Relaxed)
    }
}

impl Payload for PlainElem {
    fn new(id: u64, counters: &Arc<Counters>) -> Self {
        counters.created.fetch_add(1, Relaxed);
        PlainElem {
            alive: PlainAliveWord::new(),
            id,
        }
    }
    fn alive_word(&self) -> &PlainAliveWord {
        &self.alive
    }
    fn reclaimed(_: &Counters, freed_plainly: u64) -> u64 {
        freed_plainly
    }
}

impl Drop for Elem {
    fn drop(&mut self) {
        if self.alive.kill() == DEAD {
            self.counters.double_drops.fetch_add(1, Relaxed);
        }
        self.counters.reclaimed.fetch_add(1, Relaxed);
    }
}

/// Raises the run's stop flag if the thread that holds it unwinds, so that a failed check ends the
/// run at once instead of leaving the other threads looping until the deadline (or forever, when
/// the updater, which ends the run, is the one that failed).
pub struct StopOnUnwind<'a>(pub &'a AtomicBool);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Relaxed);
        }
    }
}

/// What readers do when they see a reclaimed element.
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
    /// Busy-wait iterations per element a reader visits, to widen its critical section.
    pub reader_spin: u32,
}

#[derive(Debug)]
pub struct Report {
    pub family: &'static str,
    pub nodes_read: u64,
    pub traversals: u64,
    /// The fewest elements any one reader visited over the run.
    pub min_reader_nodes: u64,
    /// That reader's traversal count.
    pub min_reader_traversals: u64,
    /// List length when the updater stopped.
    pub final_len: u64,
    pub removed: u64,
    pub inserted: u64,
    pub dead_seen: u64,
    pub updates: u64,
}

/// xorshift64*: a dependency-free RNG, seeded from the clock.
pub struct Rng(u64);

impl Rng {
    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Rng((nanos as u64) | 1)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Runs readers and one updater on `list` until the deadline; returns after joining every thread.
pub fn run_on<E: Payload, F: Family>(
    list: &RcuQueue<E, F>,
    counters: &Arc<Counters>,
    cfg: Config,
) -> Report {
    let stop = AtomicBool::new(false);
    let started = AtomicU64::new(0);
    let nodes_read = AtomicU64::new(0);
    let traversals = AtomicU64::new(0);
    let dead_seen = AtomicU64::new(0);
    let min_reader = std::sync::Mutex::new((u64::MAX, 0u64));
    let (mut removed, mut inserted, mut updates) = (0, 0, 0);
    let _perturb = rcu_test_support::perturb::start();
    std::thread::scope(|s| {
        for _ in 0..cfg.readers {
            s.spawn(|| {
                let _stop = StopOnUnwind(&stop);
                started.fetch_add(1, Relaxed);
                let (mut reads, mut walks, mut dead) = (0, 0, 0);
                while !stop.load(Relaxed) {
                    let guard = rcu_core::read_lock();
                    let mut seen = Vec::with_capacity(2 * INITIAL as usize);
                    for e in list.iter(&guard) {
                        // Alive when reached ...
                        if !visit(e.alive_word(), cfg.on_dead) {
                            dead += 1;
                        }
                        for _ in 0..cfg.reader_spin {
                            std::hint::spin_loop();
                        }
                        seen.push(e);
                    }
                    // ... and everything seen in this critical section still alive at its end.
                    for e in &seen {
                        if !visit(e.alive_word(), cfg.on_dead) {
                            dead += 1;
                        }
                    }
                    reads += seen.len() as u64;
                    walks += 1;
                }
                nodes_read.fetch_add(reads, Relaxed);
                traversals.fetch_add(walks, Relaxed);
                let mut min = min_reader.lock().unwrap();
                if reads < min.0 {
                    *min = (reads, walks);
                }
                dead_seen.fetch_add(dead, Relaxed);
            });
        }
        // The updater (this thread): QEMU's rcu_q_updater.
        let _stop = StopOnUnwind(&stop);
        while started.load(Relaxed) < cfg.readers as u64 {
            std::thread::yield_now();
        }
        let start = Instant::now();
        let (deadline, cap) = (start + cfg.duration, start + cfg.duration + MAX_OVERTIME);
        let mut rng = Rng::from_clock();
        let mut next_id = INITIAL;
        loop {
            let now = Instant::now();
            // A thread that failed a check raised the flag (`StopOnUnwind`).
            if stop.load(Relaxed) || now >= cap || (now >= deadline && updates >= MIN_UPDATES) {
                break;
            }
            // Balanced updates keep the list at INITIAL - 1 or INITIAL elements, so readers always walk
            // a populated list (issue 8, item 11: the old random-index updater let it drain to empty).
            let mut w = list.lock();
            let len = w.len() as u64;
            if len > 0 {
                let target = rng.below(len);
                let mut i = 0;
                let nth = |_: &E| {
                    i += 1;
                    i - 1 == target
                };
                // Every other update removes through a handle (the O(1) `bus_remove_child` path, whose
                // cursor does not know the predecessor), the others with `remove_first`.
                let gone = if updates % 4 == 0 {
                    let kid = w.find(nth).map(|c| c.handle());
                    kid.and_then(|kid| w.cursor(&kid).map(|c| c.remove()))
                } else {
                    w.remove_first(nth)
                };
                assert!(
                    gone.is_some(),
                    "{}: index {target} < len {len} not found",
                    F::NAME
                );
                removed += 1;
            }
            let value = E::new(next_id, counters);
            next_id += 1;
            let len = w.len() as u64;
            if len == 0 {
                w.push_front(value);
            } else {
                let after = rng.below(len);
                let mut j = 0;
                let linked = w.insert_after(
                    |_| {
                        j += 1;
                        j - 1 == after
                    },
                    value,
                );
                assert!(
                    linked.is_ok(),
                    "{}: index {after} < len {len} not found",
                    F::NAME
                );
            }
            inserted += 1;
            updates += 2;
            drop(w);
            rcu_core::synchronize_rcu();
        }
        stop.store(true, Relaxed);
    });
    let (min_reader_nodes, min_reader_traversals) = min_reader.into_inner().unwrap();
    Report {
        family: F::NAME,
        nodes_read: nodes_read.into_inner(),
        traversals: traversals.into_inner(),
        min_reader_nodes,
        min_reader_traversals,
        final_len: list.lock().len() as u64,
        removed,
        inserted,
        dead_seen: dead_seen.into_inner(),
        updates,
    }
}

/// Builds the initial list (INSERT_HEAD of 100 elements).
pub fn initial_list<E: Payload, F: Family>(counters: &Arc<Counters>) -> RcuQueue<E, F> {
    let list = RcuQueue::new();
    let mut w = list.lock();
    for id in 0..INITIAL {
        w.push_front(E::new(id, counters));
    }
    drop(w);
    list
}

/// The positive stress test: runs, tears down, and checks `removed == reclaimed`. With
/// [`PlainElem`], the reclaimed count is what the default domain freed through free bags during the
/// run (only this thread, the updater, retires, and its barrier flushes its bag), so no other test of
/// the same binary may retire through free bags meanwhile.
pub fn stress<E: Payload, F: Family>(cfg: Config) -> Report {
    let bag_frees = || {
        let stats = rcu_core::stats();
        stats.frees_by_producers + stats.frees_by_callback_thread
    };
    let counters = Arc::new(Counters::default());
    let list = initial_list::<E, F>(&counters);
    let bag_frees_before = bag_frees();
    let mut report = run_on(&list, &counters, cfg);
    let torn_down = list.lock().len() as u64;
    report.removed += torn_down; // teardown releases the rest, without a grace period
    drop(list);
    rcu_core::rcu_barrier();
    let created = counters.created.load(Relaxed);
    let reclaimed = E::reclaimed(&counters, bag_frees() - bag_frees_before + torn_down);
    assert_eq!(
        report.removed,
        reclaimed,
        "{}: removed != reclaimed ({report:?})",
        F::NAME
    );
    assert_eq!(
        created,
        reclaimed,
        "{}: created != reclaimed ({report:?})",
        F::NAME
    );
    assert_eq!(
        counters.double_drops.load(Relaxed),
        0,
        "{}: an element was reclaimed twice",
        F::NAME
    );
    assert_eq!(report.dead_seen, 0);
    assert!(
        report.traversals > 0 && report.removed > INITIAL && report.inserted > 0,
        "{}: the run did no work: {report:?}",
        F::NAME
    );
    // Real work: the list stayed populated and every reader walked it (not an empty list in a loop).
    assert!(
        report.final_len >= INITIAL / 2,
        "{}: the list drained to {} elements: {report:?}",
        F::NAME,
        report.final_len
    );
    assert!(
        report.min_reader_nodes >= INITIAL
            && report.min_reader_nodes >= report.min_reader_traversals * (INITIAL / 2),
        "{}: a reader visited only {} elements in {} traversals: {report:?}",
        F::NAME,
        report.min_reader_nodes,
        report.min_reader_traversals
    );
    report
}
