//! Counters a domain keeps, for monitoring and tests.

use std::time::Duration;

/// A snapshot of a domain's counters, from [`stats`](crate::stats) or
/// [`Domain::stats`](crate::Domain::stats).
///
/// The fields are read one by one, not atomically together: under load they are approximate. A
/// callback is counted as invoked just before it runs, so once [`rcu_barrier`](crate::rcu_barrier)
/// returns, every callback queued before it is counted in `callbacks_invoked`.
///
/// # Example
///
/// ```
/// let before = rcu_core::stats();
/// rcu_core::synchronize_rcu();
/// let after = rcu_core::stats();
/// assert!(after.synchronize_calls > before.synchronize_calls);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Grace periods completed. Concurrent `synchronize_rcu` callers share grace periods, so this
    /// grows more slowly than `synchronize_calls` under contention.
    pub grace_periods: u64,
    /// Calls to `synchronize_rcu` (including the callback thread's, one per batch, and expedited
    /// ones).
    pub synchronize_calls: u64,
    /// Expedited grace-period requests among `synchronize_calls`:
    /// [`synchronize_rcu_expedited`](crate::synchronize_rcu_expedited) and the callback thread's
    /// batches above the high watermark ([`CallbackLimit`](crate::CallbackLimit)).
    pub synchronize_expedited_calls: u64,
    /// Callbacks queued with `call_rcu` / `call_rcu1` (including `rcu_barrier` markers, polling
    /// requests, the grace-period requests of free bags and the segments they hand over: see
    /// [`Reclaim`](crate::Reclaim)).
    pub callbacks_queued: u64,
    /// Callbacks that have run (including those that panicked).
    pub callbacks_invoked: u64,
    /// Callbacks that panicked; the callback thread reported them on stderr and went on.
    pub callback_panics: u64,
    /// The most callbacks that were ever queued at once in the domain's shared queue (per-thread
    /// buffers, at most 127 callbacks per thread, not included).
    pub callbacks_queued_peak: u64,
    /// `call_rcu` / `call_rcu1` calls that found the backlog above the high watermark of the
    /// domain's [`CallbackLimit`](crate::CallbackLimit) and waited for the callback thread.
    pub callback_producer_waits: u64,
    /// Calls that found the backlog above the high watermark but did not wait: inside a read-side
    /// critical section, on a callback thread, in a [`NoWaitRegion`](crate::NoWaitRegion), or with
    /// [`CallbackLimit::producers_never_wait`](crate::CallbackLimit::producers_never_wait). Their
    /// callbacks were queued.
    pub callbacks_over_limit_not_waited: u64,
    /// Objects retired with [`defer_free`](crate::defer_free) / [`free_rcu`](crate::free_rcu)
    /// (and by [`RcuCell`](crate::RcuCell) for values without drop glue), counted when they leave
    /// their thread's open segment of [`Reclaim::SEGMENT`](crate::Reclaim::SEGMENT) (sealed when
    /// full or by [`flush_frees`](crate::flush_frees), handed to the callback thread at a barrier or thread exit) or, with
    /// [`Reclaim::CallbackThread`](crate::Reclaim::CallbackThread), one by one.
    pub frees_deferred: u64,
    /// Of those, objects freed by the thread that retired them, after their grace period
    /// ([`Reclaim::Producers`](crate::Reclaim::Producers)).
    pub frees_by_producers: u64,
    /// Of those, objects freed on the domain's callback thread.
    pub frees_by_callback_thread: u64,
    /// Objects handed to the callback thread for freeing: with
    /// [`Reclaim::CallbackThread`](crate::Reclaim::CallbackThread); a thread's oldest segment when
    /// its bag was full where it may not wait (in a read-side critical section, a
    /// [`NoWaitRegion`](crate::NoWaitRegion), a callback, or with
    /// [`CallbackLimit::producers_never_wait`](crate::CallbackLimit::producers_never_wait)); its
    /// whole bag at its `rcu_barrier` or exit.
    pub frees_handed_to_callback_thread: u64,
    /// Times a producer whose bag was full waited for its oldest segment's grace period (expedited)
    /// and freed it.
    pub free_producer_waits: u64,
    /// The longest grace period so far.
    pub longest_grace_period: Duration,
    /// Stall warnings printed (see [`set_stall_timeout`](crate::set_stall_timeout)).
    pub stall_warnings: u64,
    /// Reader threads currently registered.
    pub registered_readers: usize,
    /// Whether the process uses `membarrier(2)` (`true`) or the `SeqCst` fence fallback (`false`)
    /// for the read-side barrier.
    pub membarrier: bool,
}

impl Stats {
    /// Callbacks queued and not yet run.
    pub fn callbacks_pending(&self) -> u64 {
        self.callbacks_queued.saturating_sub(self.callbacks_invoked)
    }

    /// Retired objects counted in [`frees_deferred`](Self::frees_deferred) and not yet freed: in
    /// sealed segments of threads' bags, or handed to the callback thread. Each thread's open
    /// segment (at most [`Reclaim::SEGMENT`](crate::Reclaim::SEGMENT)` - 1` objects) is not
    /// included until it is sealed ([`flush_frees`](crate::flush_frees)) or the bag is handed
    /// over. With [`Reclaim::Producers`](crate::Reclaim::Producers),
    /// each thread that may wait adds at most 1024 while it runs, and at most
    /// [`Reclaim::MAX_HELD_PER_THREAD`](crate::Reclaim::MAX_HELD_PER_THREAD) (1087) once it handed
    /// its bag over at a barrier or its exit, until the callback thread has freed it.
    ///
    /// ```
    /// let domain = rcu_core::Domain::new();
    /// domain.free_rcu(Box::new(7u64));
    /// domain.barrier(); // hands this thread's bag over and waits for it
    /// assert_eq!(domain.stats().frees_pending(), 0);
    /// ```
    pub fn frees_pending(&self) -> u64 {
        self.frees_deferred
            .saturating_sub(self.frees_by_producers + self.frees_by_callback_thread)
    }
}
