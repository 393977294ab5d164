//! Striped writer locks of [`RcuHashMap`](super::RcuHashMap): writers to different stripes never
//! contend, and starting a migration takes every stripe for a moment (QEMU qht locks each bucket;
//! `qht_map_lock_buckets` takes them all for a resize).
//!
//! The stripe of a key is the low bits of its hash, and a table never has fewer buckets than there are
//! stripes, so every key of a bucket maps to the same stripe: holding a stripe serializes all writers
//! of its buckets. Each stripe also counts its keys, so `len` and the resize policy need no shared,
//! contended counter.
//!
//! A thread may hold stripes of several maps at once (entries of different maps), but of each map
//! only one stripe (a write or an `Entry`; before taking its own, a write may take another one for a
//! moment, without waiting for it, to help a migration) or all of them (the start of a migration).
//! Each thread records which maps it holds stripes of, so that taking another stripe of a map it
//! already holds panics instead of deadlocking (against itself, or against a migration's start that
//! takes the stripes in order), and so that an automatic resize, which takes every stripe of its
//! map, is postponed while the thread holds a stripe of any map: two threads that each hold an
//! entry of one map and insert into the other would otherwise each wait for the other's stripe (see
//! `RcuHashMap::auto_resize`).

use crate::sync::{Mutex, MutexGuard};
use std::cell::RefCell;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Number of stripes; also the smallest table size.
pub(super) const STRIPES: usize = 64;

#[cfg(not(loom))]
std::thread_local! {
    /// Identities of the [`Stripes`] this thread holds a lock of: one entry per live [`StripeGuard`]
    /// or [`AllStripes`], so no identity appears twice.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

// Under loom, one record per loom thread (they share an OS thread); loom's macro takes no `const`.
#[cfg(loom)]
loom::thread_local! {
    static HELD: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

/// Whether this thread holds a stripe of any map. Also true where the thread's record is gone (in a
/// thread-local destructor at thread exit): callers use it only to postpone optional work.
pub(super) fn held_any() -> bool {
    HELD.try_with(|held| !held.borrow().is_empty())
        .unwrap_or(true)
}

/// One lock stripe, on its own cache line.
#[repr(align(64))]
struct Stripe {
    mutex: Mutex<()>,
    /// Keys in this stripe's buckets. Written only under the lock (a load and a store: no atomic
    /// read-modify-write), read by `len` with `Relaxed`.
    count: AtomicUsize,
}

/// A map's stripes, and the count behind [`next_help`](Stripes::next_help).
pub(super) struct Stripes {
    stripes: Box<[Stripe]>,
    /// The next stripe a write helps migrate, on a line of its own (written by writers, only
    /// while a migration runs).
    help: Box<Help>,
}

/// See [`Stripes::help`].
#[repr(align(64))]
struct Help(AtomicUsize);

impl Stripes {
    pub(super) fn new() -> Self {
        Stripes {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    mutex: Mutex::new(()),
                    count: AtomicUsize::new(0),
                })
                .collect(),
            help: Box::new(Help(AtomicUsize::new(0))),
        }
    }

    /// A stripe for a write to help migrate: each call the next one, whichever thread makes it, so
    /// that every stripe's part of a migration progresses even when all writes go to one key. The
    /// count is the map's own: with a count per thread, a thread writing two migrating maps in turn
    /// helped each map with every other stripe only, and neither migration ever completed.
    pub(super) fn next_help(&self) -> usize {
        // Relaxed: only spreads the help; no memory is published through it.
        self.help.0.fetch_add(1, Relaxed) % STRIPES
    }

    /// Identity of these stripes for the per-thread `HELD` record (the slice never moves).
    fn id(&self) -> usize {
        self.stripes.as_ptr() as usize
    }

    /// Whether this thread holds any of these stripes (false where the thread's record is gone, in a
    /// thread-local destructor at thread exit).
    fn held_by_me(&self) -> bool {
        HELD.try_with(|held| held.borrow().contains(&self.id()))
            .unwrap_or(false)
    }

    /// Records that this thread takes a lock of these stripes; the record goes with the returned
    /// [`Held`].
    #[track_caller]
    fn enter(&self) -> Held {
        assert!(
            !self.held_by_me(),
            "rcu_queue::RcuHashMap: this thread already holds a writer lock of this map (an Entry of \
             this map is still alive, or a `retain` predicate writes to its own map), which would \
             deadlock; drop the Entry first, or collect the changes and apply them after `retain` \
             returns"
        );
        let id = self.id();
        // Where the record is gone (in a thread-local destructor at thread exit) the lock is taken
        // unrecorded; `held_by_me` finds nothing there anyway.
        let recorded = HELD.try_with(|held| held.borrow_mut().push(id)).is_ok();
        Held(recorded.then_some(id))
    }

    /// Locks stripe `index`. Poisoning is ignored: every table operation completes before user code
    /// (a `retain` predicate, an `Entry` holder) runs, so a panic leaves the table consistent.
    ///
    /// # Panics
    ///
    /// If this thread already holds a stripe of this map.
    #[track_caller]
    pub(super) fn lock(&self, index: usize) -> StripeGuard<'_> {
        let held = self.enter();
        let stripe = &self.stripes[index];
        StripeGuard {
            count: &stripe.count,
            _mutex: stripe.mutex.lock().unwrap_or_else(PoisonError::into_inner),
            _held: held,
            _no_wait: rcu_core::no_wait_region(),
        }
    }

    /// Locks stripe `index` if it is free and this thread holds no stripe of this map (for a
    /// migration step a writer takes on besides its own write: it never waits for it).
    pub(super) fn try_lock(&self, index: usize) -> Option<StripeGuard<'_>> {
        if self.held_by_me() {
            return None;
        }
        let stripe = &self.stripes[index];
        let mutex = match stripe.mutex.try_lock() {
            Ok(mutex) => mutex,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(StripeGuard {
            count: &stripe.count,
            _mutex: mutex,
            _held: self.enter(),
            _no_wait: rcu_core::no_wait_region(),
        })
    }

    /// Locks every stripe, in order (to start a migration).
    ///
    /// # Panics
    ///
    /// If this thread already holds a stripe of this map.
    #[track_caller]
    pub(super) fn lock_all(&self) -> AllStripes<'_> {
        let held = self.enter();
        AllStripes {
            _mutexes: self
                .stripes
                .iter()
                .map(|s| s.mutex.lock().unwrap_or_else(PoisonError::into_inner))
                .collect(),
            _held: held,
            _no_wait: rcu_core::no_wait_region(),
        }
    }

    /// Number of keys (exact while every stripe is held, a snapshot otherwise).
    pub(super) fn len(&self) -> usize {
        self.stripes.iter().map(|s| s.count.load(Relaxed)).sum()
    }
}

/// Removes its map's identity from the thread's `HELD` record on drop (after the mutexes it travels
/// with are unlocked: it is their struct's last field).
struct Held(Option<usize>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            // `try_with`: a guard dropped during thread exit may outlive the record; nothing to clear.
            let _ = HELD.try_with(|held| {
                let mut held = held.borrow_mut();
                if let Some(at) = held.iter().position(|&h| h == id) {
                    held.swap_remove(at);
                }
            });
        }
    }
}

/// Proof that one stripe is held; unlocks on drop (also during unwinding).
pub(super) struct StripeGuard<'a> {
    count: &'a AtomicUsize,
    _mutex: MutexGuard<'a, ()>,
    _held: Held,
    /// `call_rcu` never waits for the callback thread while a stripe is held (a callback may take
    /// it); dropped after the mutex.
    _no_wait: rcu_core::NoWaitRegion,
}

impl StripeGuard<'_> {
    /// Adds `delta` to the stripe's key count; returns the new count.
    pub(super) fn add_count(&self, delta: isize) -> usize {
        let count = self.count.load(Relaxed).wrapping_add_signed(delta);
        self.count.store(count, Relaxed);
        count
    }
}

/// Proof that every stripe is held; unlocks on drop.
pub(super) struct AllStripes<'a> {
    _mutexes: Vec<MutexGuard<'a, ()>>,
    _held: Held,
    /// As in [`StripeGuard`].
    _no_wait: rcu_core::NoWaitRegion,
}
