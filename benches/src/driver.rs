//! The timing core shared by every workload driver.
//!
//! [`timed_parallel`] spawns the measured worker threads plus optional background
//! threads (writers, busy readers), lines them all up on a [`Barrier`], and times only
//! the phase between the workers' start barrier and their end barrier. Thread spawning,
//! per-thread setup (RCU registration, warm caches) and tear-down stay outside the
//! measured interval, as in haphazard's `benches/folly.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The cores this process may run on (`std::thread::available_parallelism`, 1 if unknown).
///
/// ```
/// assert!(benches::driver::cores() >= 1);
/// ```
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread counts every scaling workload sweeps: 1, 2, 4, ... up to twice the
/// machine's [`cores`], decided at run time (1, 2, 4 on a 2-core machine; 1 to 32 on
/// 16 cores). Points above [`cores`] are oversubscribed: they show how a scheme degrades
/// when threads are preempted, not parallel speed-up.
///
/// ```
/// use benches::driver::{cores, sweep_up_to, thread_counts};
/// assert_eq!(thread_counts(), sweep_up_to(cores()));
/// ```
pub fn thread_counts() -> Vec<usize> {
    sweep_up_to(cores())
}

/// Powers of two from 1 up to `2 * cores`, plus `2 * cores` itself when that is not a
/// power of two (so a 6-core machine sweeps 1, 2, 4, 8, 12).
///
/// ```
/// use benches::driver::sweep_up_to;
/// assert_eq!(sweep_up_to(2), [1, 2, 4]);
/// assert_eq!(sweep_up_to(6), [1, 2, 4, 8, 12]);
/// ```
pub fn sweep_up_to(cores: usize) -> Vec<usize> {
    let limit = 2 * cores.max(1);
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |n| n.checked_mul(2))
        .take_while(|&n| n <= limit)
        .collect();
    if counts.last() != Some(&limit) {
        counts.push(limit);
    }
    counts
}

/// The stop signal handed to background threads.
///
/// Busy background threads poll [`Stop::is_set`]; idle ones block in [`Stop::wait`]
/// (a condition variable, so an idle thread costs no CPU while it waits).
#[derive(Debug, Default)]
pub struct Stop {
    flag: AtomicBool,
    lock: Mutex<bool>,
    cond: Condvar,
}

impl Stop {
    /// A signal that is not set yet.
    ///
    /// ```
    /// let stop = benches::driver::Stop::new();
    /// assert!(!stop.is_set());
    /// stop.set();
    /// assert!(stop.is_set());
    /// stop.wait(); // returns at once: already set
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the measured phase is over (cheap; poll it in loops).
    #[inline]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Ends the measured phase and wakes every thread blocked in [`Stop::wait`].
    pub fn set(&self) {
        self.flag.store(true, Ordering::Relaxed);
        *self.lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cond.notify_all();
    }

    /// Waits up to `timeout` for [`Stop::set`] (pacing for background threads that act
    /// periodically, like a main loop); returns whether the stop signal is set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let stop = benches::driver::Stop::new();
    /// assert!(!stop.wait_for(Duration::from_micros(10)));
    /// stop.set();
    /// assert!(stop.wait_for(Duration::from_secs(60)));
    /// ```
    pub fn wait_for(&self, timeout: Duration) -> bool {
        let set = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, _) = self
            .cond
            .wait_timeout_while(set, timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *set
    }

    /// Blocks until [`Stop::set`] was called.
    pub fn wait(&self) {
        let mut set = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !*set {
            set = self.cond.wait(set).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Runs `workers` measured threads and `background` unmeasured threads over `shared`
/// and returns the wall time of the parallel phase.
///
/// * `setup(shared, index)` runs on every thread (worker indexes `0..workers`, then
///   background indexes) before the start barrier: register with the RCU domain here.
/// * `work(shared, index)` is the measured body of worker `index`.
/// * `bg(shared, index, stop)` is the body of background thread `index`; it runs from
///   before the start barrier until `stop` is set, which happens right after the clock
///   stops.
/// * `teardown(shared, index)` runs on every thread after its body (unregister here).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let counter = AtomicU64::new(0);
/// let elapsed = benches::driver::timed_parallel(
///     &counter,
///     2,
///     1,
///     |_, _| {},
///     |c, _| {
///         for _ in 0..1000 {
///             c.fetch_add(1, Ordering::Relaxed);
///         }
///     },
///     |_, _, stop| stop.wait(),
///     |_, _| {},
/// );
/// assert_eq!(counter.load(Ordering::Relaxed), 2000);
/// assert!(elapsed.as_nanos() > 0);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn timed_parallel<S, Setup, Work, Bg, Teardown>(
    shared: &S,
    workers: usize,
    background: usize,
    setup: Setup,
    work: Work,
    bg: Bg,
    teardown: Teardown,
) -> Duration
where
    S: Sync + ?Sized,
    Setup: Fn(&S, usize) + Sync,
    Work: Fn(&S, usize) + Sync,
    Bg: Fn(&S, usize, &Stop) + Sync,
    Teardown: Fn(&S, usize) + Sync,
{
    assert!(
        workers > 0,
        "timed_parallel needs at least one measured worker thread"
    );
    // Everyone (workers, background threads, the timing thread) meets at `start`;
    // workers and the timing thread meet again at `end`.
    let start = Barrier::new(workers + background + 1);
    let end = Barrier::new(workers + 1);
    let stop = Stop::new();
    thread::scope(|scope| {
        for index in 0..workers {
            let (start, end, setup, work, teardown) = (&start, &end, &setup, &work, &teardown);
            scope.spawn(move || {
                setup(shared, index);
                start.wait();
                work(shared, index);
                end.wait();
                teardown(shared, index);
            });
        }
        for index in workers..workers + background {
            let (start, stop, setup, bg, teardown) = (&start, &stop, &setup, &bg, &teardown);
            scope.spawn(move || {
                setup(shared, index);
                start.wait();
                bg(shared, index, stop);
                teardown(shared, index);
            });
        }
        start.wait();
        let began = Instant::now();
        end.wait();
        let elapsed = began.elapsed();
        stop.set();
        elapsed
    })
}

/// Times `work` on the calling thread; a convenience for single-threaded latency
/// workloads that still want [`timed_parallel`]'s "only the body is timed" contract.
///
/// ```
/// let d = benches::driver::time_once(|| std::hint::black_box(2 + 2));
/// assert!(d.as_secs() < 1);
/// ```
pub fn time_once<R>(work: impl FnOnce() -> R) -> Duration {
    let began = Instant::now();
    std::hint::black_box(work());
    began.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn background_threads_run_until_stop_and_setup_runs_everywhere() {
        let setups = AtomicUsize::new(0);
        let teardowns = AtomicUsize::new(0);
        let spins = AtomicUsize::new(0);
        let shared = (&setups, &teardowns, &spins);
        timed_parallel(
            &shared,
            3,
            2,
            |s, _| {
                s.0.fetch_add(1, Ordering::Relaxed);
            },
            |_, _| {},
            |s, index, stop| {
                if index == 3 {
                    while !stop.is_set() {
                        s.2.fetch_add(1, Ordering::Relaxed);
                        std::hint::spin_loop();
                    }
                } else {
                    stop.wait();
                }
            },
            |s, _| {
                s.1.fetch_add(1, Ordering::Relaxed);
            },
        );
        assert_eq!(setups.load(Ordering::Relaxed), 5);
        assert_eq!(teardowns.load(Ordering::Relaxed), 5);
    }

    #[test]
    #[should_panic(expected = "at least one measured worker")]
    fn zero_workers_is_rejected() {
        timed_parallel(&(), 0, 0, |_, _| {}, |_, _| {}, |_, _, _| {}, |_, _| {});
    }
}
