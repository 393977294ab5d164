//! Writer serialization for the safe lists: a mutex with an identity.
//!
//! QEMU serializes list writers with whatever lock guards the list (often the BQL, which guards many
//! lists at once). A [`WriterLock`] plays that role: a list either carries its own, or is tied to an
//! external one when it is created, and then only that lock's guard lets you write to it.

use crate::sync::{Mutex, MutexGuard};
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::{fmt, ops};

/// Source of lock identities and per-thread tags; 0 is never handed out.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Relaxed)
}

crate::sync::thread_local! {
    static THREAD_TAG: u64 = fresh_id();
}

/// A writer lock with an identity, optionally guarding extra state `S` (QEMU's BQL guards many lists).
///
/// Create lists tied to it with [`RcuQueue::with_external_lock`](crate::RcuQueue::with_external_lock)
/// and write to them with [`RcuQueue::writer`](crate::RcuQueue::writer). Locking it again on a thread
/// that already holds it panics instead of deadlocking. Poisoning is ignored (like `parking_lot`): the
/// lists stay consistent when a writer panics, because every list operation completes before user code
/// (a predicate) runs again.
///
/// # Example
///
/// ```
/// use rcu_queue::{RcuList, RcuTailq, WriterLock};
///
/// // One "big lock" serializing two lists and a counter, like QEMU's BQL.
/// let bql = WriterLock::new(0u32);
/// let buses: RcuTailq<&str> = RcuTailq::with_external_lock(&bql);
/// let timers: RcuList<u64> = RcuList::with_external_lock(&bql);
///
/// let mut guard = bql.lock();
/// buses.writer(&mut guard).push_front("pci.0");
/// timers.writer(&mut guard).push_front(100);
/// *guard += 1;
/// drop(guard);
///
/// let rcu = rcu_core::read_lock();
/// assert_eq!(buses.first(&rcu), Some(&"pci.0"));
/// assert_eq!(timers.iter(&rcu).count(), 1);
/// ```
pub struct WriterLock<S = ()> {
    id: u64,
    /// Tag of the thread holding the lock, 0 if none. Only compared against the caller's own tag, which
    /// only the caller writes, so `Relaxed` suffices.
    owner: AtomicU64,
    state: Mutex<S>,
}

impl<S> WriterLock<S> {
    /// A new, unlocked writer lock guarding `state`.
    ///
    /// # Example
    ///
    /// ```
    /// let lock = rcu_queue::WriterLock::new(Vec::<u8>::new());
    /// lock.lock().push(1);
    /// assert_eq!(*lock.lock(), [1]);
    /// ```
    pub fn new(state: S) -> Self {
        WriterLock {
            id: fresh_id(),
            owner: AtomicU64::new(0),
            state: Mutex::new(state),
        }
    }

    /// Locks, blocking until the lock is free (QEMU `bql_lock()`).
    ///
    /// # Panics
    ///
    /// If the calling thread already holds this lock (for example a `retain` predicate that tries to
    /// write to its own list): that would deadlock. Use the writer you already have instead.
    ///
    /// # Example
    ///
    /// ```
    /// let lock = rcu_queue::WriterLock::new(5);
    /// let mut g = lock.lock();
    /// *g += 1;
    /// assert_eq!(*g, 6);
    /// ```
    #[track_caller]
    pub fn lock(&self) -> WriterGuard<'_, S> {
        let me = THREAD_TAG.with(|tag| *tag);
        assert!(
            self.owner.load(Relaxed) != me,
            "rcu_queue::WriterLock::lock: this thread already holds the lock (re-entrant writer, e.g. \
             from a `retain` predicate or while a ListWriter is alive); use the existing guard or writer \
             instead of locking again, which would deadlock"
        );
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.owner.store(me, Relaxed);
        WriterGuard {
            lock: self,
            state,
            _no_wait: rcu_core::no_wait_region(),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

impl<S: Default> Default for WriterLock<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

impl<S> fmt::Debug for WriterLock<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterLock")
            .field("id", &self.id)
            .field("locked", &(self.owner.load(Relaxed) != 0))
            .finish_non_exhaustive()
    }
}

/// Proof that a [`WriterLock`] is held; derefs to the guarded state and unlocks on drop.
///
/// # Example
///
/// ```
/// let lock = rcu_queue::WriterLock::new(String::new());
/// let mut guard: rcu_queue::WriterGuard<'_, String> = lock.lock();
/// guard.push_str("held");
/// assert_eq!(guard.len(), 4);
/// ```
pub struct WriterGuard<'a, S> {
    lock: &'a WriterLock<S>,
    state: MutexGuard<'a, S>,
    /// While the lock is held, `call_rcu` on this thread never waits for a callback thread (see
    /// `rcu_core::NoWaitRegion`: a callback may take this lock). Dropped after the mutex.
    _no_wait: rcu_core::NoWaitRegion,
}

impl<S> WriterGuard<'_, S> {
    pub(crate) fn lock_id(&self) -> u64 {
        self.lock.id
    }
}

impl<S> Drop for WriterGuard<'_, S> {
    fn drop(&mut self) {
        // Runs before the `MutexGuard` field is dropped, i.e. while we still hold the mutex.
        self.lock.owner.store(0, Relaxed);
    }
}

impl<S> ops::Deref for WriterGuard<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.state
    }
}

impl<S> ops::DerefMut for WriterGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.state
    }
}

impl<S: fmt::Debug> fmt::Debug for WriterGuard<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterGuard")
            .field("lock_id", &self.lock.id)
            .field("state", &*self.state)
            .finish()
    }
}
