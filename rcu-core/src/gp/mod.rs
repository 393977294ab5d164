//! The grace-period algorithm: reader registry, grace-period counter, `synchronize_rcu`.
//!
//! # Algorithm
//!
//! This is the "memb" flavour of userspace RCU (Desnoyers, McKenney, Stern, Dagenais and Walpole,
//! *User-Level Implementations of Read-Copy Update*, IEEE TPDS 23(2), 2012; liburcu `src/urcu.c`),
//! in the single-phase form QEMU uses on 64-bit hosts (`util/rcu.c`):
//!
//! - The domain has a counter `gp_ctr`, always odd (bit 0 set), advanced by 2 per grace period.
//!   Only one phase is needed (no liburcu-style parity flip): once a reader has stored a snapshot,
//!   the counter advances at most once before the reader leaves (the next grace period waits for
//!   it), so a stale snapshot can only look current after wrap-around if 2^63 grace periods pass
//!   while one reader is stopped between the counter load and the snapshot store, two adjacent
//!   instructions of `read_lock`. 64-bit targets only (see "Counter width" below).
//! - Each registered thread has a record with `ctr`: 0 outside a read-side critical section, else
//!   the value `gp_ctr` had when its outermost section began; and `nest`, the nesting depth. Only the
//!   outermost `read_lock`/unlock touch `ctr` (see `gp/reader.rs`).
//! - A reader *blocks* the current grace period when its `ctr` is non-zero and differs from the
//!   current `gp_ctr`: it entered before the counter advanced.
//! - `synchronize_rcu` (the *leader*, see batching below): advance `gp_ctr`, issue the heavy barrier,
//!   collect the blocking readers, spin briefly re-checking them, then sleep on the domain's event,
//!   after setting each remaining reader's `WAITING` flag, until the last of them wakes it from
//!   `read_unlock`. The registry lock is held only while the readers are collected, never while
//!   waiting, so threads can register and exit during a long grace period (blocking readers are
//!   kept alive by `Arc` references the leader holds).
//! - **Batching** (liburcu's waiter queue): concurrent callers share grace periods. A caller
//!   snapshots the sequence number of the grace period that must complete for it (`seq_snap`, as
//!   Linux's `rcu_seq`); if a leader is already running, it waits on a condition variable and, when
//!   woken, either finds its grace period done or becomes the next leader. One grace period thus
//!   serves every caller that arrived before it started. When callers arrived while the previous
//!   grace period ran, the next leader yields the CPU once before starting, so that callers that are
//!   runnable but not running (more threads than CPUs) join it instead of needing one more.
//! - **Expedited** (`synchronize_expedited`, Linux's `synchronize_rcu_expedited`): the same
//!   protocol without that yield, for the caller and for any leader it waits behind (`expedited`
//!   counts the expedited callers waiting, and a leader that sees one starts at once). It still
//!   joins a grace period that starts after its call, since grace periods run one at a time
//!   (`run_lock`) and waiting for that one is as fast as anything it could start itself; what it
//!   gives up is the yield that lets late callers share, so under contention it costs more grace
//!   periods (each one `heavy()` barrier, an IPI to every CPU running the process with membarrier).
//! - **Polling** (liburcu 0.14 / Linux): `start_poll_synchronize_rcu` returns the same snapshot;
//!   `poll_state_synchronize_rcu` compares it with the completed sequence, so any grace period
//!   satisfies it, whoever ran it.
//! - An empty registry means no reader can be in a section: the grace period completes at once,
//!   without touching the counter or issuing a barrier (QEMU does the same).
//! - **Stall warning** (Linux `stallwarn.rst`): if a grace period waits longer than the domain's stall
//!   timeout (default 21 s), one warning naming each blocking reader thread goes to stderr.
//!
//! # Orderings
//!
//! `light` / `heavy` are the asymmetric barrier pair of [`crate::barrier`]: a compiler fence and
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, or a `SeqCst` fence on both sides. Tags are
//! referenced from the code.
//!
//! | tag | operation | pairs with | why |
//! |---|---|---|---|
//! | O1 | reader: `gp_ctr.load(Acquire)` on outermost lock | O7 | a reader that sees the new counter also sees everything the updater did before the grace period (the unpublishing store), so reporting it as not blocking is safe |
//! | O2 | reader: `light()` after storing `ctr` | O8 | either the leader's scan sees the `ctr` store, or the section's loads see the updater's unpublish |
//! | O3 | reader: `ctr.store(0, Release)` on outermost unlock | O6 | the section's loads happen-before the leader observing 0, hence before any reclamation |
//! | O4 | reader: `light()` between the `ctr` store and the `flags` load | O9 | Dekker: either the reader sees `WAITING` and wakes the leader, or the leader's re-check sees `ctr` = 0; no lost wake-up |
//! | O5 | reader: `fence(Acquire)` after seeing `WAITING` | O10 | the reader's `set` of the event comes after the leader's `reset` |
//! | O6 | leader: `ctr.load(Acquire)` | O3 | see O3 |
//! | O7 | leader: `gp_ctr.store(Release)` | O1 | see O1; the updater's stores happen-before the leader's via the batching mutex |
//! | O8 | leader: `heavy()` after advancing `gp_ctr`, before reading any `ctr` | O2 | see O2 |
//! | O9 | leader: `heavy()` after setting `WAITING` flags, before re-reading `ctr` | O4 | see O4 |
//! | O10 | leader: sets `WAITING` in the reader's `flags` (`fetch_or`, Release) after `event.reset()` | O5 | see O5 |
//! | O11 | leader: `seq.store(Release)` at grace-period start *and* end; pollers `seq.load(Acquire)` | each other | a poller that sees the grace period done also sees the readers' exits (O3/O6 chain). The start store is Release too: a poller that reads an odd (running) value treats every earlier grace period as complete, so reading it must synchronize with the previous completion, which the leader's batching mutex orders before the start |
//! | O12 | reader: `ctr.store(snapshot, Release)` on outermost lock | O6 | a leader whose scan reads a *newer* section's snapshot (equal to the current counter) does not wait; the Release makes the reader's earlier sections, already ended, happen-before that load, so they still happen-before reclamation (see below) |
//! | O13 | poller: `fence(SeqCst)` before `seq.load` in `start_poll` (`get_state_synchronize_rcu`), and in a free bag's seal (`callbacks/bag.rs`: the entries' unpublish precedes the snapshot) | O8 | the caller's unpublish precedes the snapshot; the grace period that satisfies it may be led by another thread that never synchronized with the caller, so only the fence pair orders the unpublish before that grace period's counter update (Linux has a full barrier here; liburcu takes a mutex) |
//!
//! The callback half of the engine (`crate::callbacks`) has its own tags, also referenced from the
//! code: the shared queue (`head.rs`), the per-thread buffers (`buffer.rs`), the pending word and
//! the callback thread's start (`worker.rs`, `engine.rs`), and the bound on pending callbacks
//! (`throttle.rs`, whose module docs prove T1/T2 free of lost wake-ups).
//!
//! | tag | operation | pairs with | why |
//! |---|---|---|---|
//! | C1 | producer: `tail.swap(last, AcqRel)` in `CallbackQueue::push_chain` | C1 of the next and previous producers | Release hands this producer's initialized nodes to the producer that links behind them; Acquire takes the previous producer's initialization of the node it links to |
//! | C2 | producer: `prev.next.store(first, Release)` | C3 | the consumer that follows the link sees the callbacks' contents (function, head) |
//! | C3 | consumer: `next.load(Acquire)` in `pop` | C2 | see C2 |
//! | C4 | producer: `pending.fetch_add(n, Release)` after linking (`count_queued`) | C5 | the count never runs ahead of the queue: every callback the callback thread counts is reachable when it pops that many |
//! | C5 | callback thread: `pending.load(Acquire)` (`queued_count`) | C4 | see C4. `SLEEPING`, `BATCHING` and `STOPPING` share the word with the count, so the thread's compare-and-swap into sleep and every add are totally ordered: no lost wake-up, no fence (the enqueue that clears `SLEEPING` is the one that wakes) |
//! | C6 | buffer owner: `light()` between `busy = true` and the `steal` / `SLEEPING` load | C7 | Dekker: either the collector sees the window (`busy`) and waits for it, or the owner sees `steal` and backs off, or (before a sleep) `SLEEPING` and flushes |
//! | C7 | collector: `heavy()` after setting `steal` on every buffer (`collect`) | C6 | see C6 |
//! | C8 | buffer owner: `busy.store(false, Release)` | C9 | the collector sees the list as the owner left it |
//! | C9 | collector: `busy.load(Acquire)` wait (`take_claimed`) | C8 | see C8 |
//! | C10 | collector: `steal.store(false, Release)` | C11 | the owner sees the emptied list and the collector's pushes to the shared queue |
//! | C11 | buffer owner: `steal.load(Acquire)` | C10 | see C10 |
//! | C12 | `started.store(true, Release)` once the callback thread is spawned (`spawn_worker`); `started.store(false, Release)` when it is joined or lost to `fork()` | C13 | a producer that sees the thread running sees it fully set up (its handle stored) |
//! | C13 | producer: `started.load(Acquire)` (`ensure_worker`, `join_if_idle`, `Domain`'s drop) | C12 | see C12 |
//! | T1 | waiting producer: `drained.fetch_or(WAITER, Acquire)` | T2 | a batch end that T1 follows is seen by the count load after it |
//! | T2 | callback thread: `drained.fetch_add(GENERATION, Release)` after lowering the count | T1 | see T1 |
//!
//! With membarrier there is exactly one `heavy()` per grace period when the blocking readers leave
//! within the spin window, and one more per sleep round otherwise; the read side has no fence and no
//! read-modify-write.
//!
//! Why one phase is enough: let the updater unpublish pointer *p* (W1) before the leader advances the
//! counter (O7) and issues O8. Take a reader that loads *p*. If its `light()` (O2) is ordered before
//! O8, the leader's scan sees its `ctr`: either the old value (it blocks, and the leader waits for
//! O3) or the new one, which it could only have read through O1, after W1, so it cannot load *p*.
//! If O2 is ordered after O8, its loads come after W1 and cannot see *p*.
//!
//! Why a leader may skip a reader whose `ctr` equals the current counter (O3, O6, O12): the value was
//! stored by the reader's *next* outermost `read_lock`, after the counter update (it was loaded through
//! O1), so the section it belongs to began after the grace period did, and only its own loads could
//! still see the unpublished pointer, which O1 and O2 exclude as above. Every earlier section of that
//! reader ended with O3, sequenced before that `read_lock`; the leader's Acquire load (O6) reads the
//! Release store O12 and so synchronizes with it, which makes those earlier sections happen-before the
//! end of the grace period exactly as if the leader had read the 0 of O3 (in the fence fallback, the
//! `SeqCst` fence of O4 would give the same edge). Without O12 the chain from the earlier section to
//! the reclaimer would rest on the relaxed store alone, which synchronizes with nothing.
//!
//! Counter width: the single-phase argument needs a counter that cannot wrap while one reader is
//! stopped between two instructions, so the crate refuses to build where `usize` is narrower than 64
//! bits (QEMU switches to two phases there; see the `compile_error!` in `lib.rs`).
//!
//! References: QEMU `util/rcu.c` and `include/qemu/rcu.h`; liburcu `src/urcu.c`,
//! `include/urcu/static/urcu-memb.h` and `src/urcu-wait.h`; the TPDS 2012 paper above; Linux
//! `Documentation/RCU/whatisRCU.rst` and `stallwarn.rst`.

pub(crate) mod reader;

#[cfg(not(loom))]
use std::fmt::Write as _;
use std::time::Duration;
#[cfg(not(loom))]
use std::time::Instant;

use crate::barrier;
use crate::gp::reader::Reader;
use crate::sync::{
    Arc, AtomicU64, AtomicUsize, CachePadded, Condvar, Event, Mutex, Ordering, fence, lock,
    maybe_const_fn, spin, yield_now,
};

/// Bit 0 of the counter is always set, so a reader's snapshot is never 0 ("not in a section").
const GP_LOCKED: usize = 1;
/// Per-grace-period increment of the counter.
const GP_INCREMENT: usize = 2;

/// How many times the leader re-checks blocking readers before it sleeps.
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 200;
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 1;

/// Default stall-warning timeout, Linux's `CONFIG_RCU_CPU_STALL_TIMEOUT`.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(21);

/// Grace-period sequence numbers in the style of Linux's `rcu_seq`: even when idle, odd while a grace
/// period runs; one grace period adds 2.
pub(crate) fn seq_snap(seq: u64) -> u64 {
    (seq + 3) & !1
}

/// Whether the grace period a snapshot asked for has completed (wrap-safe).
pub(crate) fn seq_done(current: u64, snap: u64) -> bool {
    current.wrapping_sub(snap) as i64 >= 0
}

/// Batching state, under `GpCore::batch`.
#[derive(Debug)]
pub(crate) struct BatchState {
    /// The sequence number (see [`seq_snap`]).
    pub(crate) seq: u64,
    /// Whether a leader is running grace periods.
    pub(crate) leader: bool,
    /// Calls to `synchronize` so far (wrapping), to detect callers arriving during a grace period.
    arrivals: u64,
    /// The thread that called `synchronize` last (see [`caller_token`]).
    last_caller: usize,
    /// Whether another thread than the previous caller called since the last grace period started.
    other_caller: bool,
    /// Whether other callers were active around the last grace period: then the next leader yields
    /// once before starting, letting callers that are about to arrive join its grace period.
    contended: bool,
    /// Expedited callers waiting for a grace period: while non-zero, leaders do not yield.
    expedited: usize,
}

/// A number identifying the calling thread while it lives (the address of a thread-local).
fn caller_token() -> usize {
    #[cfg(not(loom))]
    {
        thread_local!(static TOKEN: u8 = const { 0 });
        TOKEN.with(|t| t as *const u8 as usize)
    }
    #[cfg(loom)]
    {
        0
    }
}

/// Counters kept by the grace-period code.
#[derive(Debug)]
pub(crate) struct GpStats {
    pub(crate) grace_periods: AtomicU64,
    pub(crate) synchronize_calls: AtomicU64,
    pub(crate) expedited_calls: AtomicU64,
    pub(crate) longest_ns: AtomicU64,
    pub(crate) stall_warnings: AtomicU64,
}

/// The grace-period half of a domain.
#[derive(Debug)]
pub(crate) struct GpCore {
    /// The counter readers copy (on its own cache line: every reader loads it).
    pub(crate) ctr: CachePadded<AtomicUsize>,
    /// Event blocking readers set on unlock when `WAITING` is set (QEMU's `rcu_gp_event`).
    pub(crate) event: Event,
    /// Registered readers (QEMU's `registry` under `rcu_registry_lock`).
    pub(crate) registry: Mutex<Vec<Arc<Reader>>>,
    /// `registry.len()`, readable without the lock.
    readers: AtomicUsize,
    pub(crate) batch: Mutex<BatchState>,
    batch_cond: Condvar,
    /// Held by the leader for the duration of one grace period (QEMU's `rcu_sync_lock`); also
    /// taken across `fork()`.
    pub(crate) run_lock: Mutex<()>,
    /// Mirror of `BatchState::seq` for lock-free polling (O11).
    seq: AtomicU64,
    /// Stall-warning timeout in nanoseconds, 0 = disabled.
    stall_timeout_ns: AtomicU64,
    pub(crate) stats: GpStats,
}

impl GpCore {
    maybe_const_fn! {
        pub(crate) fn new() -> GpCore {
            GpCore {
                ctr: CachePadded(AtomicUsize::new(GP_LOCKED)),
                event: Event::new(true),
                registry: Mutex::new(Vec::new()),
                readers: AtomicUsize::new(0),
                batch: Mutex::new(BatchState {
                    seq: 0,
                    leader: false,
                    arrivals: 0,
                    last_caller: 0,
                    other_caller: false,
                    contended: false,
                    expedited: 0,
                }),
                batch_cond: Condvar::new(),
                run_lock: Mutex::new(()),
                seq: AtomicU64::new(0),
                stall_timeout_ns: AtomicU64::new(DEFAULT_STALL_TIMEOUT.as_nanos() as u64),
                stats: GpStats {
                    grace_periods: AtomicU64::new(0),
                    synchronize_calls: AtomicU64::new(0),
                    expedited_calls: AtomicU64::new(0),
                    longest_ns: AtomicU64::new(0),
                    stall_warnings: AtomicU64::new(0),
                },
            }
        }
    }

    /// Adds a reader record (`rcu_register_thread`).
    pub(crate) fn register(&self) -> Arc<Reader> {
        #[cfg(not(loom))]
        barrier::init();
        let reader = Arc::new(Reader::new());
        let mut registry = lock(&self.registry);
        registry.push(reader.clone());
        self.readers.store(registry.len(), Ordering::Relaxed);
        drop(registry);
        reader
    }

    /// Removes a reader record (`rcu_unregister_thread`). The reader must not be in a section.
    pub(crate) fn unregister(&self, reader: &Arc<Reader>) {
        let mut registry = lock(&self.registry);
        if let Some(i) = registry.iter().position(|r| Arc::ptr_eq(r, reader)) {
            registry.swap_remove(i);
        }
        self.readers.store(registry.len(), Ordering::Relaxed);
    }

    /// In the child after `fork()`, with the registry and batching locks inherited held: keeps only
    /// the forking thread's reader record and returns to a consistent, completed state.
    ///
    /// The parent may have forked while a leader had started a grace period (`seq` odd) but not run
    /// it: the atfork handler takes `run_lock` before `batch`, and a leader makes `seq` odd under
    /// `batch` before it takes `run_lock`. No leader exists in the child, so an odd `seq` would stay
    /// inverted for the child's whole life: every "running" value would read as "idle" and a snapshot
    /// taken while a grace period runs would be satisfied at the *start* of the next one. The start
    /// is rolled back instead: `seq` returns to the last completed value, which is conservative
    /// whether or not the parent's grace period had finished (snapshots only ever wait longer).
    #[cfg(not(loom))]
    pub(crate) fn after_fork_child(&self, registry: &mut Vec<Arc<Reader>>, batch: &mut BatchState) {
        registry.retain(|r| r.owner.is_current());
        self.readers.store(registry.len(), Ordering::Relaxed);
        batch.leader = false;
        batch.expedited = 0;
        batch.seq &= !1;
        self.seq.store(batch.seq, Ordering::Relaxed);
    }

    /// Number of registered readers.
    pub(crate) fn registered(&self) -> usize {
        self.readers.load(Ordering::Relaxed)
    }

    /// Whether the calling thread is inside a read-side critical section of this domain, through
    /// any of its records (exact: takes the registry lock).
    pub(crate) fn in_own_section(&self) -> bool {
        lock(&self.registry)
            .iter()
            .any(|r| r.owner.is_current() && r.in_section())
    }

    /// Snapshot for the polling API (Linux's `get_state_synchronize_rcu`).
    pub(crate) fn poll_snapshot(&self) -> u64 {
        // O13: orders the caller's earlier stores (the unpublish) before the `seq` load, pairing with
        // the heavy barrier (O8) of the grace period that will satisfy the snapshot, whoever leads it.
        fence(Ordering::SeqCst);
        // O11.
        seq_snap(self.seq.load(Ordering::Acquire))
    }

    /// Whether the grace period named by `snap` has completed.
    pub(crate) fn poll_done(&self, snap: u64) -> bool {
        // O11.
        seq_done(self.seq.load(Ordering::Acquire), snap)
    }

    pub(crate) fn set_stall_timeout(&self, timeout: Option<Duration>) {
        let ns = timeout.map_or(0, |t| t.as_nanos().clamp(1, u64::MAX as u128) as u64);
        self.stall_timeout_ns.store(ns, Ordering::Relaxed);
    }

    /// `synchronize_rcu`: returns after every read-side critical section that began before the call
    /// has ended. The caller has already checked it is not inside one.
    pub(crate) fn synchronize(&self) {
        self.synchronize_as(false);
    }

    /// `synchronize_rcu_expedited`: as [`synchronize`](Self::synchronize), but neither this caller
    /// nor a leader it waits behind yields to let later callers share the grace period (see
    /// "Expedited" in the module docs).
    pub(crate) fn synchronize_expedited(&self) {
        self.synchronize_as(true);
    }

    fn synchronize_as(&self, expedited: bool) {
        self.stats.synchronize_calls.fetch_add(1, Ordering::Relaxed);
        if expedited {
            self.stats.expedited_calls.fetch_add(1, Ordering::Relaxed);
        }
        let mut state = lock(&self.batch);
        state.arrivals = state.arrivals.wrapping_add(1);
        let me = caller_token();
        if state.last_caller != me {
            state.other_caller = true;
            state.last_caller = me;
        }
        let snap = seq_snap(state.seq);
        loop {
            if seq_done(state.seq, snap) {
                return;
            }
            if !state.leader {
                state.leader = true;
                break;
            }
            // An expedited caller is counted while it waits (never across a panic: `wait` only
            // returns or, if the mutex is poisoned, hands the guard back).
            state.expedited += usize::from(expedited);
            state = self
                .batch_cond
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.expedited -= usize::from(expedited);
        }
        // We lead. Our snapshot asked for a grace period that starts after our call; if another
        // leader's grace period was running then, it did not count, so loop until ours is done.
        // `batch` is never held across anything that can panic here; `run_grace_period` (stall
        // warnings, locks) runs without it, and `leadership` cleans up if it unwinds.
        let leadership = Leadership { core: self };
        while !seq_done(state.seq, snap) {
            if !expedited
                && state.expedited == 0
                && state.contended
                && self.readers.load(Ordering::Relaxed) > 0
            {
                // Other callers are active and grace periods cost a barrier: give callers that are
                // runnable but not running (more threads than CPUs) a chance to call in before the
                // grace period starts, so that one grace period serves them all. A lone caller never
                // gets here.
                drop(state);
                yield_now();
                state = lock(&self.batch);
            }
            let arrivals = state.arrivals;
            let other_caller = std::mem::take(&mut state.other_caller);
            state.seq += 1;
            // O11: Release, like the store at the end: a poller that reads this odd value treats the
            // previous grace period as complete, so it must synchronize with that completion.
            self.seq.store(state.seq, Ordering::Release);
            drop(state);
            {
                let _run = lock(&self.run_lock);
                self.run_grace_period();
            }
            state = lock(&self.batch);
            state.seq += 1;
            state.contended = other_caller || state.arrivals != arrivals;
            // O11: Release publishes the completed grace period to lock-free pollers.
            self.seq.store(state.seq, Ordering::Release);
            self.stats.grace_periods.fetch_add(1, Ordering::Relaxed);
        }
        state.leader = false;
        drop(state);
        leadership.completed();
    }

    /// One grace period. Called by the leader with `run_lock` held.
    fn run_grace_period(&self) {
        #[cfg(test)]
        if tests::PANIC_IN_GRACE_PERIOD.with(std::cell::Cell::get) {
            panic!("injected panic in a grace period (unit test)");
        }
        #[cfg(rcu_broken_gp)]
        if crate::testing::broken() {
            return;
        }
        #[cfg(not(loom))]
        let start = Instant::now();
        let (current, mut blocking) = {
            let registry = lock(&self.registry);
            if registry.is_empty() {
                return;
            }
            // Only the leader writes the counter (it holds `run_lock`).
            let current = self.ctr.load(Ordering::Relaxed).wrapping_add(GP_INCREMENT);
            // O7: Release pairs with O1.
            self.ctr.store(current, Ordering::Release);
            // O8: pairs with O2.
            barrier::heavy();
            let blocking: Vec<Arc<Reader>> = registry
                .iter()
                .filter(|r| r.ongoing(current))
                .cloned()
                .collect();
            (current, blocking)
        };

        let mut rounds = 0;
        while !blocking.is_empty() && rounds < SPIN_ROUNDS {
            spin();
            blocking.retain(|r| r.ongoing(current));
            rounds += 1;
        }

        #[cfg(not(loom))]
        let mut warned = false;
        while !blocking.is_empty() {
            self.event.reset();
            for r in &blocking {
                // O10: Release pairs with O5 (orders the `reset` above before the reader's `set`).
                r.set_waiting();
            }
            // O9: pairs with O4.
            barrier::heavy();
            blocking.retain(|r| {
                let ongoing = r.ongoing(current);
                if !ongoing {
                    r.clear_waiting();
                }
                ongoing
            });
            if blocking.is_empty() {
                break;
            }
            #[cfg(loom)]
            self.event.wait(None);
            #[cfg(not(loom))]
            {
                let timeout = self.stall_timeout_ns.load(Ordering::Relaxed);
                if timeout == 0 || warned {
                    self.event.wait(None);
                } else {
                    let limit = Duration::from_nanos(timeout);
                    let elapsed = start.elapsed();
                    if elapsed >= limit {
                        self.stall_warning(&blocking, elapsed);
                        warned = true;
                    } else {
                        self.event.wait(Some(limit - elapsed));
                    }
                }
            }
        }
        for r in &blocking {
            r.clear_waiting();
        }
        #[cfg(not(loom))]
        {
            let ns = start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            self.stats.longest_ns.fetch_max(ns, Ordering::Relaxed);
        }
    }

    /// Prints one stall warning naming every reader blocking the grace period.
    #[cfg(not(loom))]
    fn stall_warning(&self, blocking: &[Arc<Reader>], elapsed: Duration) {
        self.stats.stall_warnings.fetch_add(1, Ordering::Relaxed);
        let mut msg = format!(
            "rcu-core: stall warning: a grace period has waited {:.3} s for {} reader(s) still in a \
             read-side critical section that began before it:",
            elapsed.as_secs_f64(),
            blocking.len()
        );
        for r in blocking {
            let _ = write!(
                msg,
                "\n  - {} (blocking for {:.3} s)",
                r.owner,
                elapsed.as_secs_f64()
            );
        }
        msg.push_str(
            "\n  A read-side critical section must not block or loop for long; drop the guard first.",
        );
        crate::diag::report(&msg);
    }
}

/// The leadership of the batching protocol (`BatchState::leader`). If the leader unwinds out of a
/// grace period, dropping this gives leadership up: the started grace period's `seq` step is rolled
/// back (it never completed; rolling back only makes snapshots wait longer, as after `fork`) and the
/// waiting callers are woken, so one of them leads next. Without it the flag would stay set and
/// every later `synchronize` would sleep forever.
struct Leadership<'a> {
    core: &'a GpCore,
}

impl Leadership<'_> {
    /// The normal end: the caller has cleared `leader` itself; wake the waiting callers.
    fn completed(self) {
        let core = self.core;
        std::mem::forget(self);
        core.batch_cond.notify_all();
    }
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.core.batch);
        if state.seq & 1 != 0 {
            state.seq -= 1;
            // O11.
            self.core.seq.store(state.seq, Ordering::Release);
        }
        state.leader = false;
        drop(state);
        self.core.batch_cond.notify_all();
    }
}

/// The panic for waiting on a grace period from inside a read-side critical section.
#[track_caller]
pub(crate) fn panic_in_section(what: &str) -> ! {
    panic!(
        "rcu-core: {what} called inside a read-side critical section on the same thread; it would \
         wait for this thread's own section and deadlock. Drop every ReadGuard on this thread first \
         (or use call_rcu to defer the work instead of waiting). In async code on a \
         single-threaded runtime (tokio's current_thread, a LocalSet), the section may belong to \
         another task on this thread that holds a ReadGuard across an .await: never keep a guard \
         across .await (copy what you need out of the section first, or take an owned snapshot \
         with RcuArcCell::load_full), and from async code await synchronize_rcu_async() or \
         rcu_barrier_async() instead of blocking the executor thread."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Makes `run_grace_period` panic on this thread (a unit-test hook for unwind safety).
        pub(super) static PANIC_IN_GRACE_PERIOD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// A leader that unwinds out of a grace period must give up leadership, leave the sequence in a
    /// completed state and wake waiting callers; otherwise every later `synchronize` hangs.
    #[test]
    fn leader_state_survives_a_panicking_grace_period() {
        let core = Arc::new(GpCore::new());
        let _reader = core.register();
        PANIC_IN_GRACE_PERIOD.with(|p| p.set(true));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| core.synchronize()));
        PANIC_IN_GRACE_PERIOD.with(|p| p.set(false));
        assert!(caught.is_err(), "the injected panic did not happen");
        let state = lock(&core.batch);
        assert!(
            !state.leader,
            "the leader flag stayed set after the leader unwound"
        );
        assert_eq!(state.seq % 2, 0, "the sequence was left in a running state");
        drop(state);
        let (tx, rx) = std::sync::mpsc::channel();
        let other = Arc::clone(&core);
        std::thread::spawn(move || {
            other.synchronize();
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("synchronize hung after a leader unwound");
    }

    #[test]
    fn seq_snapshots() {
        // Idle at 4: the next full grace period ends at 6.
        assert_eq!(seq_snap(4), 6);
        // Running at 5 (started before us): we need the one after it, ending at 8.
        assert_eq!(seq_snap(5), 8);
        assert!(!seq_done(5, 6));
        assert!(seq_done(6, 6));
        assert!(seq_done(7, 6));
        // Wrap-safe.
        assert!(seq_done(2, u64::MAX - 1));
        assert!(!seq_done(u64::MAX - 3, u64::MAX - 1));
    }
}
