//! Striped writer locks of [`RcuHashMap`](super::RcuHashMap): writers to different stripes never
//! contend, and a resize takes every stripe (QEMU qht locks each bucket; `qht_map_lock_buckets` takes
//! them all for a resize).
//!
//! The stripe of a key is the low bits of its hash, and a table never has fewer buckets than there are
//! stripes, so every key of a bucket maps to the same stripe: holding a stripe serializes all writers
//! of its buckets. Each stripe also counts its keys, so `len` and the resize policy need no shared,
//! contended counter.
//!
//! A thread holds stripes of one map at a time: one (a write or an `Entry`) or all (a resize). Taking
//! another stripe of the same map while holding one panics instead of deadlocking (against itself, or
//! against a resize that takes the stripes in order).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Number of stripes; also the smallest table size.
pub(super) const STRIPES: usize = 64;

std::thread_local! {
    /// Address of the [`Stripes`] whose lock(s) this thread holds; 0 if none.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// One lock stripe, on its own cache line.
#[repr(align(64))]
struct Stripe {
    mutex: Mutex<()>,
    /// Keys in this stripe's buckets. Written only under the lock (a load and a store: no atomic
    /// read-modify-write), read by `len` with `Relaxed`.
    count: AtomicUsize,
}

/// A map's stripes.
pub(super) struct Stripes {
    stripes: Box<[Stripe]>,
}

impl Stripes {
    pub(super) fn new() -> Self {
        Stripes {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    mutex: Mutex::new(()),
                    count: AtomicUsize::new(0),
                })
                .collect(),
        }
    }

    /// Identity of these stripes for the per-thread `HELD` record (the slice never moves).
    fn id(&self) -> usize {
        self.stripes.as_ptr() as usize
    }

    /// Whether this thread holds any of these stripes.
    pub(super) fn held_by_me(&self) -> bool {
        HELD.with(Cell::get) == self.id()
    }

    #[track_caller]
    fn enter(&self) -> bool {
        assert!(
            !self.held_by_me(),
            "rcu_queue::RcuHashMap: this thread already holds a writer lock of this map (an Entry is \
             still alive, or a `retain` predicate writes to its own map), which could deadlock; drop \
             the Entry first, or collect the changes and apply them after `retain` returns"
        );
        HELD.with(|held| {
            if held.get() == 0 {
                held.set(self.id());
                true
            } else {
                false // holding another map's stripe: leave that record alone
            }
        })
    }

    /// Locks stripe `index`. Poisoning is ignored: every table operation completes before user code
    /// (a `retain` predicate, an `Entry` holder) runs, so a panic leaves the table consistent.
    ///
    /// # Panics
    ///
    /// If this thread already holds a stripe of this map.
    #[track_caller]
    pub(super) fn lock(&self, index: usize) -> StripeGuard<'_> {
        let recorded = self.enter();
        let stripe = &self.stripes[index];
        StripeGuard {
            count: &stripe.count,
            _mutex: stripe.mutex.lock().unwrap_or_else(PoisonError::into_inner),
            _held: Held(recorded),
        }
    }

    /// Locks every stripe, in order (for a resize).
    ///
    /// # Panics
    ///
    /// If this thread already holds a stripe of this map.
    #[track_caller]
    pub(super) fn lock_all(&self) -> AllStripes<'_> {
        let recorded = self.enter();
        AllStripes {
            _mutexes: self
                .stripes
                .iter()
                .map(|s| s.mutex.lock().unwrap_or_else(PoisonError::into_inner))
                .collect(),
            _held: Held(recorded),
        }
    }

    /// Number of keys (exact while every stripe is held, a snapshot otherwise).
    pub(super) fn len(&self) -> usize {
        self.stripes.iter().map(|s| s.count.load(Relaxed)).sum()
    }
}

/// Clears the thread's `HELD` record on drop if it set it.
struct Held(bool);

impl Drop for Held {
    fn drop(&mut self) {
        if self.0 {
            HELD.with(|held| held.set(0));
        }
    }
}

/// Proof that one stripe is held; unlocks on drop (also during unwinding).
pub(super) struct StripeGuard<'a> {
    count: &'a AtomicUsize,
    _mutex: MutexGuard<'a, ()>,
    _held: Held,
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
}
