//! Awaiting grace periods and callbacks from async code: [`synchronize_rcu_async`](crate::synchronize_rcu_async),
//! [`rcu_barrier_async`](crate::rcu_barrier_async) and their [`Domain`](crate::Domain) forms.
//!
//! The futures are runtime-agnostic (std [`Future`] and [`Waker`] only) and are completed by the
//! grace-period machinery itself: nothing polls with sleeps and no executor thread ever blocks.
//!
//! # Grace periods
//!
//! A [`SynchronizeRcuFuture`] takes a polling snapshot when it is created (`poll_snapshot`, the
//! snapshot of [`start_poll_synchronize_rcu`](crate::start_poll_synchronize_rcu), ordering O13 of
//! `gp/mod.rs`) and is complete once `poll_done` says so (O11), whoever ran the grace period. Every
//! poll re-checks that first, without a lock.
//!
//! When it has to wait, the future parks its [`Waker`] in a *slot*: a list of wakers for one
//! `(domain, snapshot)` pair, kept in a process-wide table (`slots.rs`). The future that opens a
//! slot queues one callback on the domain's callback thread (`call_rcu`) that closes the slot and
//! wakes every waker in it. Every later future with the same snapshot joins that slot instead of
//! queueing its own callback. The callback runs after a grace period that began after it was queued, hence after the
//! snapshot was taken, so that grace period satisfies every future in the slot. Snapshots only
//! change when a grace period starts or ends, so thousands of futures created together share one or
//! two slots, one callback each, and the callback thread runs those few callbacks in one batch, one
//! grace period per batch.
//!
//! Cancel safety: a dropped future removes its waker from its slot (the entry is reused by the next
//! future that joins). The slot itself is freed by its callback, which always runs (one grace period
//! later) and then finds fewer or no wakers; it holds nothing else, so nothing leaks, and no other
//! future waits for a dropped one.
//!
//! # Barriers
//!
//! A [`RcuBarrierFuture`] queues a marker callback when it is created, through `rcu_barrier`'s own
//! code: every thread's callback buffer is collected into the shared queue first, then the marker
//! goes in behind them; the callback thread runs the queue in order, so once the marker ran, every
//! callback queued before it (by any thread) has. The marker sets a flag and wakes the waker the future last registered. A dropped future only
//! drops its reference to the marker's state; the marker still runs, finds no waker and frees it.
//!
//! The table and the markers use short `std` mutex sections (a marker's only inside the table's, so
//! that the fork handlers, which take the table's, cover both: `domain/fork.rs`); wakers are woken after
//! the lock is released (only cloning or dropping a waker happens under it), and every state they
//! leave is consistent before anything that can panic, so a panicking waker leaves no future
//! stranded.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::engine::DomainRef;
use crate::slots::{SLOTS, close_slot, key};
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, lock};

/// Queues the barrier marker `f` the way `rcu_barrier` queues its own (`Callbacks::push_marker`:
/// behind every callback queued before, by any thread, including those still in other threads'
/// buffers), and lets the callback thread skip its batching delay while the marker is pending, so
/// an awaited barrier costs what `rcu_barrier` costs, not a millisecond more.
///
/// # Panics
/// For an independent domain, in a child of `fork()` (see "fork" in [`Domain`](crate::Domain)'s
/// docs).
#[track_caller]
fn push_barrier_marker<F: FnOnce() + Send + 'static>(domain: &DomainRef, f: F) {
    domain.assert_same_process("barrier_async");
    let cbs = &domain.callbacks;
    cbs.barrier_waiters.fetch_add(1, Ordering::Relaxed);
    let for_callback = domain.clone();
    let marker = move || {
        for_callback
            .callbacks
            .barrier_waiters
            .fetch_sub(1, Ordering::Relaxed);
        f();
    };
    let queued = catch_unwind(AssertUnwindSafe(|| {
        domain.ensure_worker(|| domain.clone());
        cbs.push_marker(marker);
    }));
    if let Err(payload) = queued {
        // Not queued (no callback thread could be spawned): the callback will never undo it.
        cbs.barrier_waiters.fetch_sub(1, Ordering::Relaxed);
        resume_unwind(payload);
    }
}

/// Stores `waker` in `slot`, unless the same task's waker is already there.
fn update_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// The future of [`synchronize_rcu_async`](crate::synchronize_rcu_async) and [`Domain::synchronize_async`](crate::Domain::synchronize_async): completes once every
/// read-side critical section that was running when it was created has ended.
///
/// `'static`: it holds the domain's engine (an `Arc` for an independent domain), so it can be
/// handed to `tokio::spawn` on its own.
///
/// Cancel-safe: dropping it at any point leaks nothing and delays no one. See
/// [`synchronize_rcu_async`](crate::synchronize_rcu_async).
#[must_use = "futures do nothing unless polled; the grace period is only awaited by `.await`"]
pub struct SynchronizeRcuFuture {
    domain: DomainRef,
    snap: u64,
    /// Where our waker is parked: the slot id and our index in it.
    parked: Option<(u64, usize)>,
}

impl SynchronizeRcuFuture {
    /// The future of `domain` (`RcuDomain::synchronize_async`): it owns `domain`, so it borrows
    /// nothing and keeps the engine's memory alive (not the domain's `Domain` handles, whose last
    /// drop still shuts the domain down: see [`Domain::synchronize_async`](crate::Domain)).
    pub(crate) fn new(domain: DomainRef) -> Self {
        SynchronizeRcuFuture {
            snap: domain.gp.poll_snapshot(),
            domain,
            parked: None,
        }
    }

    fn done(&self) -> bool {
        self.domain.gp.poll_done(self.snap)
    }

    /// Takes our waker out of its slot, if it is still open.
    fn unpark(&mut self) {
        if let Some((id, index)) = self.parked.take() {
            if let Some(slot) = lock(&SLOTS).get(id) {
                slot.remove(index);
            }
        }
    }
}

impl Future for SynchronizeRcuFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // A shut-down domain has no reader left to wait for, and queueing the slot's callback would
        // start a callback thread that nobody stops (tests/async_after_shutdown.rs).
        if this.done() || this.domain.shut_down() {
            this.unpark();
            return Poll::Ready(());
        }
        let mut slots = lock(&SLOTS);
        if let Some((id, index)) = this.parked {
            if let Some(slot) = slots.get(id) {
                // The slot's callback has not taken the table lock yet: it will wake this waker.
                update_waker(&mut slot.wakers[index], cx.waker());
                return Poll::Pending;
            }
            this.parked = None;
        }
        // The grace period may have ended since the check above: a slot's callback closes the slot
        // after its grace period completed, under this lock.
        if this.done() {
            return Poll::Ready(());
        }
        let (slot, opened) = slots.find_or_open(key(&this.domain), this.snap);
        let id = slot.id;
        let index = slot.insert(cx.waker().clone());
        this.parked = Some((id, index));
        drop(slots);
        if opened {
            // Queued after the table lock is released: queueing may start the callback thread or
            // register a callback buffer, and the table lock is taken under no other rcu-core lock
            // and holds none (its place in `domain/fork.rs`'s list). The slot exists already, so the
            // callback, queued after every waiter's snapshot was taken, closes it one grace period
            // later. Not expedited (unlike the barrier's marker): the callback thread's batching
            // delay (at most 1 ms) gathers the waiters that keep arriving into this slot. Waiving it
            // made bursts cost one grace period per few waiters (tests/async_sharing.rs).
            let domain = &this.domain;
            let queued = catch_unwind(AssertUnwindSafe(|| {
                domain.assert_same_process("synchronize_async (awaited)");
                domain.defer(move || close_slot(id), || domain.clone());
            }));
            if let Err(payload) = queued {
                // Not queued (no callback thread could be spawned): nobody would close the slot.
                // Close it now; the futures that joined it meanwhile are woken and try again.
                this.parked = None;
                close_slot(id);
                resume_unwind(payload);
            }
        }
        Poll::Pending
    }
}

impl Drop for SynchronizeRcuFuture {
    fn drop(&mut self) {
        self.unpark();
    }
}

impl fmt::Debug for SynchronizeRcuFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynchronizeRcuFuture")
            .field("domain_id", &self.domain.id)
            .field("done", &self.done())
            .finish_non_exhaustive()
    }
}

/// The state a barrier marker shares with its future.
struct Marker {
    done: AtomicBool,
    /// Locked only inside the slot table's lock (through `Marker::waker`), which `domain/fork.rs` takes.
    waker: Mutex<Option<Waker>>,
}

impl Marker {
    /// Runs `f` on the waker, holding the slot table's lock around the marker's own: a per-future
    /// lock that `fork()` could catch held would hang the child's callback thread when the marker
    /// runs there; held only under the table's lock, it is free whenever the fork handlers hold that.
    fn waker<R>(&self, f: impl FnOnce(&mut Option<Waker>) -> R) -> R {
        let _table = lock(&SLOTS);
        f(&mut lock(&self.waker))
    }
}

/// The future of [`rcu_barrier_async`](crate::rcu_barrier_async) and [`Domain::barrier_async`](crate::Domain::barrier_async): completes once every callback
/// queued before it was created has run.
///
/// `'static`, like [`SynchronizeRcuFuture`]: it can be handed to `tokio::spawn` on its own.
///
/// Cancel-safe: dropping it leaves only the queued marker, which runs and frees itself.
#[must_use = "futures do nothing unless polled; the barrier is only awaited by `.await`"]
pub struct RcuBarrierFuture {
    domain: DomainRef,
    marker: Arc<Marker>,
}

impl RcuBarrierFuture {
    /// The future of `domain` (`RcuDomain::barrier_async`), owning it like
    /// [`SynchronizeRcuFuture::new`].
    #[track_caller]
    pub(crate) fn new(domain: DomainRef) -> Self {
        let marker = Arc::new(Marker {
            done: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let shared = marker.clone();
        push_barrier_marker(&domain, move || {
            // Release pairs with the Acquire loads in `poll`: the callbacks that ran before the
            // marker happen-before the awaiting task resumes.
            shared.done.store(true, Ordering::Release);
            let waker = shared.waker(Option::take);
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        RcuBarrierFuture { domain, marker }
    }
}

impl Future for RcuBarrierFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let marker = &self.marker;
        // Acquire: see the marker's Release store.
        if marker.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        marker.waker(|waker| {
            // The marker stores `done` before it takes the waker under this lock: either it takes
            // the waker stored below, or this load sees `done`.
            if marker.done.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            update_waker(waker, cx.waker());
            Poll::Pending
        })
    }
}

impl Drop for RcuBarrierFuture {
    fn drop(&mut self) {
        // The marker may run much later (a long reader delays its grace period): release the task's
        // waker now rather than keep it alive until then.
        let waker = self.marker.waker(Option::take);
        drop(waker);
    }
}

impl fmt::Debug for RcuBarrierFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcuBarrierFuture")
            .field("domain_id", &self.domain.id)
            .field("done", &self.marker.done.load(Ordering::Relaxed))
            .finish()
    }
}
