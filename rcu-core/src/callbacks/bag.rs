//! Per-thread free bags: [`defer_free`](crate::defer_free) and [`free_rcu`](crate::free_rcu) let the
//! thread that retired an object free it itself once its grace period has elapsed, next to the
//! allocator cache it came from (Linux's `kfree_rcu` batching, QEMU's `g_free_rcu`,
//! crossbeam-epoch's thread-local bags). Callbacks never run here: an entry only releases memory.
//!
//! # One thread's bag in one domain
//! Held in the thread's entry of that domain (`domain/local.rs`) and touched only by its owner
//! thread, so nothing in it is atomic. Entries `(ptr, free)` go into an *open* segment; when it
//! holds [`SEGMENT`] entries it is *sealed* with a grace-period snapshot
//! ([`GpCore::poll_snapshot`], orderings O13 and O11 of `gp/mod.rs`), and a grace period is
//! requested the way `start_poll` does (an empty callback), once per distinct snapshot.
//! [`flush_frees`](crate::flush_frees) seals the open segment the same way however few entries it
//! holds (crossbeam-epoch's `Guard::flush`). On every retire and flush the owner frees, oldest
//! first, every sealed segment whose snapshot [`GpCore::poll_done`] reports elapsed.
//!
//! # The bound
//! A thread holds at most [`MAX_SEALED`] sealed segments per domain. Before a seal that would make
//! one more, the owner either waits for the oldest segment's grace period (expedited) and frees
//! it, where the thread may wait, or hands the oldest segment to the domain's callback thread as
//! one callback (it never holds more, not even while it waits).
//! A flush never waits: past the bound it hands the oldest segment over.
//! So a thread holds at most `MAX_SEALED * SEGMENT` = 1024 sealed objects plus `SEGMENT - 1` = 63
//! in its open segment per domain ([`Reclaim::MAX_HELD_PER_THREAD`] = 1087).
//!
//! # Why freeing is safe
//! Every entry's pointer was unpublished before its `defer_free` (its contract), and the segment's
//! snapshot is taken after its last entry was added, behind the O13 fence, so the grace period that
//! satisfies the snapshot follows every unpublish. The owner frees after an Acquire load of the
//! grace-period sequence that shows that grace period complete (O11), so every reader's exit
//! happens-before the free, as for [`poll_state_synchronize_rcu`](crate::poll_state_synchronize_rcu).
//! A segment handed to the callback thread is queued after its snapshot and freed by a batch whose
//! grace period starts after that, like any callback.

use std::collections::VecDeque;
use std::fmt;
use std::ptr::NonNull;
// Statistics and a setting, not state the algorithm synchronizes through: plain `std` atomics
// even under loom (as `callbacks/throttle.rs`).
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use crate::gp::GpCore;

/// Entries per segment (loom: 1, so that the models stay small).
pub(crate) const SEGMENT: usize = if cfg!(loom) { 1 } else { 64 };
/// Sealed segments a thread may hold per domain (loom: 1).
pub(crate) const MAX_SEALED: usize = if cfg!(loom) { 1 } else { 16 };

/// Where a domain frees the memory retired with [`defer_free`](crate::defer_free) and
/// [`free_rcu`](crate::free_rcu): set with [`set_reclaim`](crate::set_reclaim) for the default
/// domain or [`Domain::set_reclaim`](crate::Domain::set_reclaim).
///
/// Callbacks ([`call_rcu`](crate::call_rcu), [`call_rcu1`](crate::call_rcu1)) always run on the
/// callback thread, whatever this says: only plain frees move.
///
/// # Example
///
/// ```
/// use rcu_core::{Domain, Reclaim};
///
/// let domain = Domain::new();
/// assert_eq!(domain.reclaim(), Reclaim::Producers);
/// // QEMU's and liburcu's behaviour: everything is freed on the callback thread.
/// domain.set_reclaim(Reclaim::CallbackThread);
/// domain.free_rcu(Box::new([0u64; 8]));
/// domain.barrier();
/// assert_eq!(domain.stats().frees_by_producers, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reclaim {
    /// The default: a thread frees what it retired itself, in segments of [`Reclaim::SEGMENT`]
    /// once their grace period has elapsed (allocator-friendly: the memory goes back to the
    /// allocator cache of the thread that most likely allocated it). Linux's `kfree_rcu` batches
    /// per CPU the same way; liburcu has no counterpart. It holds at most
    /// [`Reclaim::MAX_HELD_PER_THREAD`] unfreed objects per thread and domain: beyond that it waits
    /// for the oldest segment's grace period where a `call_rcu` may wait, and otherwise hands that
    /// segment to the callback thread.
    #[default]
    Producers,
    /// Every free is a callback on the domain's callback thread (QEMU's `g_free_rcu` /
    /// `call_rcu`, liburcu's `call_rcu` + `free`), with `call_rcu`'s bound and waiting rules.
    CallbackThread,
}

impl Reclaim {
    /// Objects per segment of a thread's free bag: the unit that is sealed with a grace-period
    /// snapshot, freed, or handed to the callback thread (64).
    ///
    /// ```
    /// assert_eq!(rcu_core::Reclaim::SEGMENT, 64);
    /// ```
    pub const SEGMENT: usize = SEGMENT;

    /// The most objects a thread holds unfreed in its free bag of one domain (1087: 16 sealed
    /// segments of 64 and 63 in the open one). Retired objects of a domain not yet freed are at
    /// most this many per thread, plus those handed to the callback thread and not yet freed
    /// ([`Stats::frees_pending`](crate::Stats::frees_pending) counts both, less the open segments).
    ///
    /// ```
    /// assert_eq!(rcu_core::Reclaim::MAX_HELD_PER_THREAD, 16 * 64 + 63);
    /// ```
    pub const MAX_HELD_PER_THREAD: usize = MAX_SEALED * SEGMENT + SEGMENT - 1;
}

/// A pointer and the function that frees it.
pub(crate) struct FreeEntry {
    ptr: NonNull<u8>,
    free: unsafe fn(NonNull<u8>),
}

// SAFETY: `defer_free`'s contract: `free(ptr)` may run on any thread (the memory is the caller's
// to hand over, unpublished, and `free` only releases it).
unsafe impl Send for FreeEntry {}

impl FreeEntry {
    /// # Safety
    /// The contract of [`defer_free`](crate::defer_free): `free(ptr)` is sound once a grace
    /// period has elapsed, on any thread, exactly once.
    pub(crate) unsafe fn new(ptr: NonNull<u8>, free: unsafe fn(NonNull<u8>)) -> FreeEntry {
        FreeEntry { ptr, free }
    }

    /// Frees the entry. The caller has seen a grace period elapse since the entry was retired.
    pub(crate) fn free(self) {
        // SAFETY: `new`'s contract, and the caller's grace period.
        unsafe { (self.free)(self.ptr) };
    }
}

/// Frees every entry of `entries` (a grace period has elapsed since each was retired) and returns
/// how many.
pub(crate) fn free_all(entries: Vec<FreeEntry>) -> u64 {
    let n = entries.len() as u64;
    entries.into_iter().for_each(FreeEntry::free);
    n
}

/// A sealed segment: its entries and the snapshot that frees them.
struct Segment {
    entries: Vec<FreeEntry>,
    snap: u64,
}

/// One thread's free bag in one domain (module docs). Owner thread only.
#[derive(Default)]
pub(crate) struct FreeBag {
    open: Vec<FreeEntry>,
    /// Oldest first.
    sealed: VecDeque<Segment>,
    /// The last snapshot a grace period was requested for.
    requested: Option<u64>,
    /// A segment's storage kept for the next open one (no allocation per segment).
    spare: Vec<FreeEntry>,
}

impl fmt::Debug for FreeBag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreeBag")
            .field("open", &self.open.len())
            .field("sealed", &self.sealed.len())
            .finish_non_exhaustive()
    }
}

/// What a retire or flush may do besides touching the bag (the domain supplies it).
pub(crate) trait RetireOps {
    /// Makes sure a grace period will run (`start_poll`'s empty callback).
    fn request_gp(&self);
    /// Whether the thread may wait for a grace period here.
    fn may_wait(&self) -> bool;
    /// Waits until the grace period of a snapshot has elapsed.
    fn wait_for(&self, snap: u64);
    /// Queues entries on the callback thread, to be freed there after a grace period.
    fn hand_over(&self, entries: Vec<FreeEntry>);
}

impl FreeBag {
    /// Owner only: frees the elapsed sealed segments, adds `entry`, seals the open segment when
    /// it is full and keeps the bound (module docs).
    pub(crate) fn retire(
        &mut self,
        entry: FreeEntry,
        gp: &GpCore,
        frees: &Frees,
        ops: &impl RetireOps,
    ) {
        self.free_elapsed(gp, frees);
        if self.open.capacity() == 0 {
            self.open = std::mem::take(&mut self.spare);
            self.open.reserve_exact(SEGMENT);
        }
        self.open.push(entry);
        if self.open.len() == SEGMENT {
            self.seal(gp, frees, ops, true);
        }
    }

    /// Owner only ([`flush_frees`](crate::flush_frees), crossbeam-epoch's `Guard::flush`): frees
    /// the elapsed sealed segments and seals the open segment, however full, requesting its grace
    /// period. Never waits: past the bound it hands the oldest segment over, as a retire where the
    /// thread may not wait. Frees only what a retire would, so it is sound in a read-side section.
    pub(crate) fn flush(&mut self, gp: &GpCore, frees: &Frees, ops: &impl RetireOps) {
        self.free_elapsed(gp, frees);
        if !self.open.is_empty() {
            self.seal(gp, frees, ops, false);
        }
    }

    /// Owner only: seals the open segment (not empty) with a grace-period snapshot and requests its
    /// grace period, keeping the bound (module docs): past it, waits for the oldest segment if
    /// `may_wait` and the domain allows it here, else hands it over.
    fn seal(&mut self, gp: &GpCore, frees: &Frees, ops: &impl RetireOps, may_wait: bool) {
        // Make room first, so that the thread never holds more than `MAX_SEALED` sealed segments
        // (not even while it waits): the open segment is sealed after.
        if self.sealed.len() >= MAX_SEALED {
            if let Some(oldest) = self.sealed.pop_front() {
                if may_wait && ops.may_wait() {
                    frees.waits.fetch_add(1, Ordering::Relaxed);
                    ops.wait_for(oldest.snap);
                    self.free_segment(oldest, frees);
                } else {
                    ops.hand_over(oldest.entries);
                }
            }
        }
        let snap = gp.poll_snapshot();
        let entries = std::mem::take(&mut self.open);
        frees
            .deferred
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.sealed.push_back(Segment { entries, snap });
        if self.requested != Some(snap) {
            self.requested = Some(snap);
            ops.request_gp();
        }
    }

    /// Owner only: frees, oldest first, every sealed segment whose grace period has elapsed.
    fn free_elapsed(&mut self, gp: &GpCore, frees: &Frees) {
        while self.sealed.front().is_some_and(|s| gp.poll_done(s.snap)) {
            if let Some(segment) = self.sealed.pop_front() {
                self.free_segment(segment, frees);
            }
        }
    }

    /// Frees a segment whose grace period has elapsed, on the owner thread.
    fn free_segment(&mut self, segment: Segment, frees: &Frees) {
        let mut entries = segment.entries;
        let n = entries.len() as u64;
        entries.drain(..).for_each(FreeEntry::free);
        frees.by_producers.fetch_add(n, Ordering::Relaxed);
        if self.spare.capacity() == 0 {
            self.spare = entries;
        }
    }

    /// Owner only (or the exiting owner's destructor): takes every entry, sealed and open, oldest
    /// first, counting the open ones as deferred now. The caller hands them to the callback thread
    /// or, where no reader of the domain can exist any more, frees them.
    pub(crate) fn take_all(&mut self, frees: &Frees) -> Vec<FreeEntry> {
        frees
            .deferred
            .fetch_add(self.open.len() as u64, Ordering::Relaxed);
        let mut all = Vec::new();
        for segment in self.sealed.drain(..) {
            all.extend(segment.entries);
        }
        all.append(&mut self.open);
        all
    }

    /// Whether the bag holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty() && self.sealed.is_empty()
    }
}

/// A domain's reclamation setting and counters (in its callback half).
#[derive(Debug)]
pub(crate) struct Frees {
    reclaim: AtomicU8,
    /// Some thread has made a bag in this domain: until then a barrier looks for none (and touches
    /// no thread-local state).
    pub(crate) any_bag: AtomicBool,
    /// Objects that left their thread's open segment: sealed, handed over or freed at once.
    pub(crate) deferred: AtomicU64,
    pub(crate) by_producers: AtomicU64,
    pub(crate) by_callback_thread: AtomicU64,
    pub(crate) handed: AtomicU64,
    pub(crate) waits: AtomicU64,
}

impl Frees {
    pub(crate) const fn new() -> Frees {
        Frees {
            reclaim: AtomicU8::new(0),
            any_bag: AtomicBool::new(false),
            deferred: AtomicU64::new(0),
            by_producers: AtomicU64::new(0),
            by_callback_thread: AtomicU64::new(0),
            handed: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_reclaim(&self, reclaim: Reclaim) {
        self.reclaim.store(
            u8::from(reclaim == Reclaim::CallbackThread),
            Ordering::Relaxed,
        );
    }

    #[inline]
    pub(crate) fn reclaim(&self) -> Reclaim {
        if self.reclaim.load(Ordering::Relaxed) == 0 {
            Reclaim::Producers
        } else {
            Reclaim::CallbackThread
        }
    }
}
