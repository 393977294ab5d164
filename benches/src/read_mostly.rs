//! Workload 2: a read-mostly pointer to a small struct.
//!
//! Readers enter the read side, load the current [`Payload`] and fold its fields into
//! a digest; a writer publishes a fresh `Payload` and reclaims the old one the
//! contender's way (rcu-core `RcuCell::replace` → `call_rcu`, crossbeam-epoch
//! `swap` + `defer_destroy`, arc-swap `store`, a lock's write guard).
//! [`drive_reads`] measures reads with 0 or 1 background writer, [`drive_writes`]
//! measures writes with background readers.

use std::hint::black_box;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use rcu_core::RcuCell;

use crate::driver::timed_parallel;

/// The small struct behind the pointer: four words whose digest is zero whenever the
/// reader saw one consistent version (a torn or recycled read shows up as non-zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    seq: u64,
    a: u64,
    b: u64,
    check: u64,
}

impl Payload {
    /// The `seq`-th version.
    ///
    /// ```
    /// use benches::read_mostly::Payload;
    /// assert_eq!(Payload::new(7).digest(), 0);
    /// ```
    pub fn new(seq: u64) -> Self {
        let a = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let b = seq.rotate_left(17) ^ 0x5555;
        Self {
            seq,
            a,
            b,
            check: seq ^ a ^ b,
        }
    }

    /// Zero for a consistent version.
    #[inline]
    pub fn digest(&self) -> u64 {
        self.seq ^ self.a ^ self.b ^ self.check
    }
}

/// A pointer-like cell that many readers load and one writer replaces.
pub trait ReadMostly: Sync + Send {
    /// The contender's name in benchmark ids and in the report.
    const NAME: &'static str;

    /// A cell holding `initial`.
    fn new(initial: Payload) -> Self
    where
        Self: Sized;

    /// Per-thread set-up before the measured phase.
    fn register(&self) {}

    /// One read: enter, load, digest, leave. Returns the digest.
    fn read(&self) -> u64;

    /// One write: publish `next`, reclaim the previous version.
    fn write(&self, next: Payload);

    /// Reclaims garbage left by writes (after the clock stopped), so that one sample's
    /// backlog does not leak into the next.
    fn quiesce(&self) {}
}

fn read_loop<C: ReadMostly>(cell: &C, iters: u64) {
    let mut bad = 0;
    for _ in 0..iters {
        bad |= cell.read();
    }
    assert_eq!(bad, 0, "{}: a reader saw an inconsistent payload", C::NAME);
}

/// `readers` threads each perform `iters` reads, with one background writer replacing
/// the payload in a loop when `writer` is true. Returns the wall time of the reads.
///
/// ```
/// use benches::read_mostly::{drive_reads, Payload, ReadMostly, RcuCore};
/// let cell = RcuCore::new(Payload::new(0));
/// assert!(drive_reads(&cell, 2, true, 1000).as_nanos() > 0);
/// ```
pub fn drive_reads<C: ReadMostly>(cell: &C, readers: usize, writer: bool, iters: u64) -> Duration {
    let elapsed = timed_parallel(
        cell,
        readers,
        usize::from(writer),
        |c, _| c.register(),
        |c, _| read_loop(c, iters),
        |c, _, stop| {
            let mut seq = 1;
            while !stop.is_set() {
                c.write(Payload::new(seq));
                seq += 1;
            }
        },
        |_, _| {},
    );
    cell.quiesce();
    elapsed
}

/// One writer performs `iters` writes while `readers` background threads read in a loop.
/// Returns the wall time of the writes.
///
/// ```
/// use benches::read_mostly::{drive_writes, Payload, ReadMostly, StdRwLock};
/// let cell = StdRwLock::new(Payload::new(0));
/// assert!(drive_writes(&cell, 1, 1000).as_nanos() > 0);
/// ```
pub fn drive_writes<C: ReadMostly>(cell: &C, readers: usize, iters: u64) -> Duration {
    let elapsed = timed_parallel(
        cell,
        1,
        readers,
        |c, _| c.register(),
        |c, _| {
            for seq in 1..=iters {
                c.write(Payload::new(seq));
            }
        },
        |c, _, stop| {
            let mut bad = 0;
            while !stop.is_set() {
                bad |= c.read();
            }
            assert_eq!(bad, 0, "{}: a reader saw an inconsistent payload", C::NAME);
        },
        |_, _| {},
    );
    cell.quiesce();
    elapsed
}

/// rcu-core: `RcuCell<Payload>`; readers `read_lock()` + `RcuCell::read`, the writer
/// `RcuCell::replace` (old value freed by `call_rcu` after a grace period).
#[derive(Debug)]
pub struct RcuCore(RcuCell<Payload>);

impl ReadMostly for RcuCore {
    const NAME: &'static str = "rcu-core";

    fn new(initial: Payload) -> Self {
        Self(RcuCell::new(initial))
    }

    fn register(&self) {
        rcu_core::register_thread();
    }

    #[inline]
    fn read(&self) -> u64 {
        let guard = rcu_core::read_lock();
        black_box(self.0.read(&guard)).digest()
    }

    fn write(&self, next: Payload) {
        self.0.replace(next);
    }

    fn quiesce(&self) {
        rcu_core::rcu_barrier();
    }
}

/// `std::sync::RwLock<Payload>`: readers take the read lock, the writer overwrites the
/// payload in place under the write lock.
#[derive(Debug)]
pub struct StdRwLock(RwLock<Payload>);

impl ReadMostly for StdRwLock {
    const NAME: &'static str = "std RwLock";

    fn new(initial: Payload) -> Self {
        Self(RwLock::new(initial))
    }

    #[inline]
    fn read(&self) -> u64 {
        black_box(&*self.0.read().unwrap_or_else(PoisonError::into_inner)).digest()
    }

    fn write(&self, next: Payload) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = next;
    }
}

/// `std::sync::Mutex<Payload>`.
#[derive(Debug)]
pub struct StdMutex(Mutex<Payload>);

impl ReadMostly for StdMutex {
    const NAME: &'static str = "std Mutex";

    fn new(initial: Payload) -> Self {
        Self(Mutex::new(initial))
    }

    #[inline]
    fn read(&self) -> u64 {
        black_box(&*self.0.lock().unwrap_or_else(PoisonError::into_inner)).digest()
    }

    fn write(&self, next: Payload) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise<C: ReadMostly>() {
        let cell = C::new(Payload::new(0));
        assert!(drive_reads(&cell, 2, false, 500) > Duration::ZERO);
        assert!(drive_reads(&cell, 2, true, 500) > Duration::ZERO);
        assert!(drive_writes(&cell, 2, 200) > Duration::ZERO);
    }

    #[test]
    fn local_contenders_stay_consistent_under_a_writer() {
        exercise::<RcuCore>();
        exercise::<StdRwLock>();
        exercise::<StdMutex>();
    }

    #[test]
    fn digest_detects_a_torn_payload() {
        let mut p = Payload::new(3);
        p.b ^= 1;
        assert_ne!(p.digest(), 0);
    }
}
