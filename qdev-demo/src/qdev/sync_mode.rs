//! How lock-free readers synchronize with the hot-plug writer: the scenario's `--sync` switch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::qdev::bql::{Bql, BqlGuard};

/// How readers (I/O threads) are synchronized with writers (the main thread, under the BQL).
///
/// ```
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// assert_eq!("rcu".parse::<SyncMode>(), Ok(SyncMode::Rcu));
/// assert_eq!(SyncMode::RwLock.to_string(), "rwlock");
/// assert!("mutex".parse::<SyncMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// QEMU after commit 2d24a6466154: readers only enter an RCU read-side critical section.
    #[default]
    Rcu,
    /// QEMU without dataplane: readers take the big lock, so they wait out every hot-plug
    /// (including the device's realize cost).
    Bql,
    /// A reader-writer lock around the device tree: readers share it, the main thread takes it
    /// exclusively for each whole hot-plug operation (`device_add` including realize,
    /// `device_del`), as it holds the BQL.
    RwLock,
}

impl SyncMode {
    /// Every mode, in the order the summary reports them.
    pub const ALL: [SyncMode; 3] = [SyncMode::Rcu, SyncMode::Bql, SyncMode::RwLock];

    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Rcu => "rcu",
            SyncMode::Bql => "bql",
            SyncMode::RwLock => "rwlock",
        }
    }
}

impl std::fmt::Display for SyncMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SyncMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rcu" => Ok(SyncMode::Rcu),
            "bql" => Ok(SyncMode::Bql),
            "rwlock" => Ok(SyncMode::RwLock),
            other => Err(format!(
                "unknown sync mode '{other}' (expected rcu, bql or rwlock)"
            )),
        }
    }
}

/// The reader/writer synchronization a machine uses, shared by all its buses.
///
/// In every mode the list stays an RCU list and removed children are still freed after a grace
/// period (the list's API needs a read guard, which costs a few nanoseconds); the lock modes add
/// the lock on top, which is what they measure.
///
/// ```
/// use qdev_demo::qdev::bql::Bql;
/// use qdev_demo::qdev::sync_mode::{SyncMode, SyncPolicy};
/// let bql = Bql::new();
/// let policy = SyncPolicy::new(SyncMode::RwLock);
/// let (section, _) = policy.reader(&bql); // shares the rwlock
/// drop(section);
/// let held = bql.lock();
/// let w = policy.writer(&held); // exclusive
/// assert!(w.is_exclusive());
/// assert!(!policy.writer(&held).is_exclusive(), "nested: the outer section already excludes readers");
/// ```
#[derive(Debug, Default)]
pub struct SyncPolicy {
    mode: SyncMode,
    list_lock: RwLock<()>,
    /// Whether a [`WriterSection`] holds `list_lock` for writing. Read and written only by BQL
    /// holders, so the BQL orders every access (`Relaxed` suffices).
    write_held: AtomicBool,
}

/// What a reader holds besides its RCU read guard; drop it to leave the section.
#[derive(Debug)]
pub enum ReaderSection<'a> {
    /// RCU mode: nothing.
    Rcu,
    /// BQL mode: the big lock.
    Bql(BqlGuard<'a>),
    /// RwLock mode: the shared list lock.
    RwLock(RwLockReadGuard<'a, ()>),
}

/// A writer's exclusion of readers beyond the BQL: in the RwLock mode the write lock (taken by
/// the outermost section only), nothing in the other modes. Drop it to let readers in again.
#[derive(Debug)]
pub struct WriterSection<'a> {
    /// Declared first so that the flag is cleared before the lock is released (both happen under
    /// the BQL, so the order is not observable; it just reads naturally).
    owner: Option<&'a AtomicBool>,
    guard: Option<RwLockWriteGuard<'a, ()>>,
}

impl WriterSection<'_> {
    /// Whether this section took the write lock (the outermost section of the RwLock mode).
    pub fn is_exclusive(&self) -> bool {
        self.guard.is_some()
    }
}

impl Drop for WriterSection<'_> {
    fn drop(&mut self) {
        if let Some(flag) = self.owner {
            flag.store(false, Ordering::Relaxed);
        }
    }
}

impl SyncPolicy {
    /// A policy for `mode`.
    pub fn new(mode: SyncMode) -> Self {
        Self {
            mode,
            list_lock: RwLock::new(()),
            write_held: AtomicBool::new(false),
        }
    }

    /// The mode.
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Enters the reader-side lock of the mode (none for RCU) and says whether and how long the
    /// reader waited for it: `None` if it got the lock at once, else the time from asking to
    /// holding it (BQL: see [`Bql::lock_measured`]; rwlock: a `try_read` that would block, then
    /// the blocking `read`). In RCU mode there is no lock, so never a wait. Take the RCU read
    /// guard after it.
    ///
    /// ```
    /// use qdev_demo::qdev::bql::Bql;
    /// use qdev_demo::qdev::sync_mode::{SyncMode, SyncPolicy};
    /// let bql = Bql::new();
    /// let policy = SyncPolicy::new(SyncMode::Bql);
    /// let (section, waited) = policy.reader(&bql);
    /// assert!(bql.is_locked() && waited.is_none());
    /// drop(section);
    /// ```
    pub fn reader<'a>(&'a self, bql: &'a Bql) -> (ReaderSection<'a>, Option<Duration>) {
        match self.mode {
            SyncMode::Rcu => (ReaderSection::Rcu, None),
            SyncMode::Bql => {
                let (guard, waited) = bql.lock_measured();
                (ReaderSection::Bql(guard), waited)
            }
            SyncMode::RwLock => {
                let (guard, waited) = match self.list_lock.try_read() {
                    Ok(guard) => (guard, None),
                    Err(TryLockError::Poisoned(e)) => (e.into_inner(), None),
                    Err(TryLockError::WouldBlock) => {
                        let asked = Instant::now();
                        let guard = self.list_lock.read().unwrap_or_else(|e| e.into_inner());
                        (guard, Some(asked.elapsed()))
                    }
                };
                (ReaderSection::RwLock(guard), waited)
            }
        }
    }

    /// Enters the writer side, with the BQL held (`_bql` proves it): in the RwLock mode the first
    /// (outermost) section takes the write lock and nested ones (e.g. `bus_add_child` inside a
    /// whole `device_add`) do nothing; the RCU and BQL modes need nothing beyond the BQL.
    /// Release the section before releasing the BQL.
    pub fn writer<'a>(&'a self, _bql: &BqlGuard<'_>) -> WriterSection<'a> {
        let none = WriterSection {
            owner: None,
            guard: None,
        };
        if self.mode != SyncMode::RwLock || self.write_held.load(Ordering::Relaxed) {
            return none;
        }
        let guard = self.list_lock.write().unwrap_or_else(|e| e.into_inner());
        self.write_held.store(true, Ordering::Relaxed);
        WriterSection {
            owner: Some(&self.write_held),
            guard: Some(guard),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for m in SyncMode::ALL {
            assert_eq!(m.to_string().parse::<SyncMode>(), Ok(m));
        }
        assert!(
            "RCU"
                .parse::<SyncMode>()
                .unwrap_err()
                .contains("unknown sync mode")
        );
        assert_eq!(SyncMode::default(), SyncMode::Rcu);
    }

    #[test]
    fn reader_sections_take_the_right_lock() {
        let bql = Bql::new();
        let rcu = SyncPolicy::new(SyncMode::Rcu);
        assert!(matches!(rcu.reader(&bql), (ReaderSection::Rcu, None)));
        assert!(!rcu.writer(&bql.lock()).is_exclusive());

        let big = SyncPolicy::new(SyncMode::Bql);
        let (section, waited) = big.reader(&bql);
        assert!(matches!(section, ReaderSection::Bql(_)) && waited.is_none());
        assert!(bql.is_locked(), "the BQL reader section holds the BQL");
        drop(section);
        assert!(!bql.is_locked());

        let rw = SyncPolicy::new(SyncMode::RwLock);
        let ((a, wa), (b, wb)) = (rw.reader(&bql), rw.reader(&bql));
        assert!(
            wa.is_none() && wb.is_none(),
            "readers share the lock without waiting"
        );
        assert!(matches!(
            (&a, &b),
            (ReaderSection::RwLock(_), ReaderSection::RwLock(_))
        ));
        assert!(rw.list_lock.try_write().is_err());
        drop((a, b));
        let held = bql.lock();
        let outer = rw.writer(&held);
        assert!(outer.is_exclusive() && rw.list_lock.try_read().is_err());
        let inner = rw.writer(&held);
        assert!(!inner.is_exclusive(), "nested sections do not relock");
        drop(inner);
        assert!(
            rw.list_lock.try_read().is_err(),
            "still excluded by the outer section"
        );
        drop(outer);
        assert!(rw.list_lock.try_read().is_ok());
        assert!(rw.writer(&held).is_exclusive(), "the flag was cleared");
    }
}
