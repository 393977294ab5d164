//! The per-thread reader record (QEMU's `struct rcu_reader_data`) and the read-side fast path.
//!
//! The ordering argument for every access here is in the module doc of [`crate::gp`]; the tags
//! (`O1`, `O2`, ...) refer to it.

use std::cell::Cell;

use crate::barrier;
use crate::sync::{Arc, AtomicU8, AtomicUsize, Event, Mutex, MutexGuard, Ordering, fence, lock};

/// [`Reader::flags`] bit: a leader sleeps until this reader leaves its section.
const WAITING: u8 = 1;
/// [`Reader::flags`] bit: the record outlived its thread's registration.
const LATE: u8 = 2;

/// One thread's registration with one domain.
///
/// `ctr` is 0 outside a read-side critical section and otherwise the value of the domain's grace
/// period counter when the outermost section began. `nest` counts nested sections and is touched
/// only by the owning thread.
///
/// Aligned to its own cache lines: its owner writes `ctr` twice per section, so a neighbour on the
/// same line (another thread's record) would turn every section into cache-line ping-pong.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Reader {
    /// Counter snapshot: written by the owner, read by grace-period leaders.
    pub(crate) ctr: AtomicUsize,
    /// [`WAITING`]: set by a leader that sleeps until this reader leaves its section. [`LATE`]: set
    /// by the owner when the record outlives the thread's registration (thread-local destructors),
    /// so that the outermost unlock gives the record up. One word, so that the outermost unlock
    /// tests both with the single load it always did.
    flags: AtomicU8,
    /// Nesting depth: owner thread only (Invariant R1 below).
    nest: Cell<usize>,
    /// The owning thread, for misuse detection and stall warnings.
    pub(crate) owner: OwnerInfo,
}

// SAFETY: every field but `nest` is Sync. `nest` is only accessed by the thread that owns the record
// (Invariant R1): records are reached by their owner through `ReadGuard`/`ReaderHandle`, which are
// `!Send`, and by other threads only through `ctr`, `flags` and `owner`.
unsafe impl Sync for Reader {}

/// Who owns a reader record.
#[derive(Debug)]
pub(crate) struct OwnerInfo {
    #[cfg(not(loom))]
    pub(crate) id: std::thread::ThreadId,
    #[cfg(not(loom))]
    pub(crate) name: Option<String>,
    #[cfg(loom)]
    id: loom::thread::ThreadId,
}

impl OwnerInfo {
    pub(crate) fn current() -> Self {
        #[cfg(not(loom))]
        {
            let t = std::thread::current();
            OwnerInfo {
                id: t.id(),
                name: t.name().map(str::to_owned),
            }
        }
        #[cfg(loom)]
        OwnerInfo {
            id: loom::thread::current().id(),
        }
    }

    /// Whether the calling thread owns the record.
    pub(crate) fn is_current(&self) -> bool {
        #[cfg(not(loom))]
        {
            self.id == std::thread::current().id()
        }
        #[cfg(loom)]
        {
            self.id == loom::thread::current().id()
        }
    }
}

impl std::fmt::Display for OwnerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(not(loom))]
        match &self.name {
            Some(name) => write!(f, "thread '{name}' ({:?})", self.id),
            None => write!(f, "unnamed thread ({:?})", self.id),
        }
        #[cfg(loom)]
        f.write_str("loom thread")
    }
}

impl Reader {
    pub(crate) fn new() -> Self {
        Reader {
            ctr: AtomicUsize::new(0),
            flags: AtomicU8::new(0),
            nest: Cell::new(0),
            owner: OwnerInfo::current(),
        }
    }

    /// Nesting depth. Owner thread only.
    #[inline]
    pub(crate) fn nest(&self) -> usize {
        self.nest.get()
    }

    /// `rcu_read_lock`. Owner thread only.
    #[inline]
    pub(crate) fn lock(&self, gp_ctr: &AtomicUsize) {
        let nest = self.nest.get();
        self.nest.set(nest + 1);
        if nest == 0 {
            // O1: Acquire pairs with the leader's Release store of a new counter value.
            let ctr = gp_ctr.load(Ordering::Acquire);
            // O12: Release pairs with the leader's Acquire load (O6) when it reads this newer
            // snapshot: the sections this thread already ended happen-before that load. A plain
            // store on x86-64.
            self.ctr.store(ctr, Ordering::Release);
            // O2: orders the `ctr` store before the section's loads (pairs with the leader's heavy
            // barrier after the counter update).
            barrier::light();
        }
    }

    /// `rcu_read_unlock`. Owner thread only, with a matching `lock` before it. Returns `true` when
    /// this ended the outermost section of a [`LATE`] record, which the caller then gives up.
    #[inline]
    pub(crate) fn unlock(&self, gp_event: &Event) -> bool {
        let nest = self.nest.get();
        debug_assert!(nest > 0, "rcu-core: read unlock without a matching lock");
        self.nest.set(nest - 1);
        if nest == 1 {
            // O3: Release: the whole section happens-before a leader's Acquire load that sees 0.
            self.ctr.store(0, Ordering::Release);
            // O4: orders the `ctr` store before the `flags` load (Dekker with the leader's heavy
            // barrier between its setting of `WAITING` and its `ctr` load).
            barrier::light();
            let flags = self.flags.load(Ordering::Relaxed);
            if flags != 0 {
                return self.unlock_slow(flags, gp_event);
            }
        }
        false
    }

    /// The outermost unlock with a flag set: wakes a waiting leader; returns whether the record is
    /// [`LATE`].
    #[cold]
    fn unlock_slow(&self, flags: u8, gp_event: &Event) -> bool {
        if flags & WAITING != 0 {
            // O5: Acquire pairs with the leader's Release setting of `WAITING`, which follows its
            // `reset` of the event: our `set` below is ordered after that reset.
            fence(Ordering::Acquire);
            self.clear_waiting();
            gp_event.set();
        }
        flags & LATE != 0
    }

    /// Leader: asks the owner to wake it when its section ends. O10: Release pairs with O5.
    pub(crate) fn set_waiting(&self) {
        self.flags.fetch_or(WAITING, Ordering::Release);
    }

    /// Leader or owner: the leader no longer waits for this reader.
    pub(crate) fn clear_waiting(&self) {
        self.flags.fetch_and(!WAITING, Ordering::Relaxed);
    }

    /// Owner thread only: the record outlives the thread's registration; the next outermost unlock
    /// reports it (see [`unlock`](Self::unlock)).
    #[cfg_attr(loom, allow(dead_code))] // the default domain's thread-locals are not built under loom
    pub(crate) fn mark_late(&self) {
        self.flags.fetch_or(LATE, Ordering::Relaxed);
    }

    /// Whether this reader is in a section that began before counter value `current` was published.
    /// O6: Acquire pairs with O3, so a leader that sees 0 sees the section as finished.
    pub(crate) fn ongoing(&self, current: usize) -> bool {
        let v = self.ctr.load(Ordering::Acquire);
        v != 0 && v != current
    }

    /// Whether the reader is inside any section (any thread may ask; exact for the owner).
    pub(crate) fn in_section(&self) -> bool {
        self.ctr.load(Ordering::Relaxed) != 0
    }
}

/// An independent domain's liveness, shared with the thread-local entries that hold its threads'
/// records (`domain/local.rs`): such an entry reaches its domain only through it.
#[derive(Debug)]
pub(crate) struct Link {
    /// Whether the domain's state is alive; cleared by its last owner before it can be freed.
    alive: Mutex<bool>,
}

impl Link {
    pub(crate) fn new() -> Arc<Link> {
        Arc::new(Link {
            alive: Mutex::new(true),
        })
    }

    /// Called by the domain's last owner: from now on no entry touches the domain. Waits for an
    /// entry that is unregistering right now.
    pub(crate) fn close(&self) {
        *lock(&self.alive) = false;
    }

    pub(crate) fn is_alive(&self) -> bool {
        *lock(&self.alive)
    }

    /// Holds the flag: while the guard reads `true`, the domain's state is not freed (its last
    /// owner waits in [`close`](Self::close)). Taken by an entry that unregisters its record
    /// (`domain/local.rs`) and by the fork handlers (`domain/fork.rs`, lock 9 of its list).
    pub(crate) fn lock(&self) -> MutexGuard<'_, bool> {
        lock(&self.alive)
    }
}
