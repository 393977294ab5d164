//! The engine every domain runs: the operations on a domain's state ([`DomainInner`], defined in
//! `worker.rs` beside the callback half it embeds), the grace-period cookie [`GpState`], and the
//! default domain's instance, [`DEFAULT`]; and what independent domains add to it: the fork
//! generation they check, the list of live ones that the fork handlers lock (`fork.rs`), their
//! liveness link. The default domain (`default.rs`) and every independent
//! [`Domain`](crate::Domain) (`domain.rs`) call into this code; they differ only in how a thread
//! finds its reader record and in who owns the state.

use std::ptr::NonNull;
use std::time::Duration;

use crate::callback::{RcuCallback, RcuHead};
use crate::reader::{Link, Reader};
use crate::stats::Stats;
use crate::sync::{Arc, Ordering};
#[cfg(all(unix, not(loom)))]
use crate::sync::{Mutex, lock};
use crate::worker::{self, DomainInner, DomainRef};

/// The default domain.
#[cfg(not(loom))]
pub(crate) static DEFAULT: DomainInner = DomainInner::new(0, 0, None);

#[cfg(loom)]
loom::lazy_static! {
    /// The default domain; under loom a lazy static, rebuilt for every execution of a model.
    pub(crate) static ref DEFAULT: DomainInner = DomainInner::new(0, 0, None);
}

/// A grace-period cookie from [`start_poll_synchronize_rcu`](crate::start_poll_synchronize_rcu) or
/// [`Domain::start_poll`](crate::Domain::start_poll): liburcu's `struct urcu_gp_poll_state`,
/// Linux's `unsigned long` cookie.
///
/// Only meaningful for the domain that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GpState(pub(crate) u64);

impl DomainInner {
    /// `call_rcu` with a closure. `owner` makes the reference the callback thread keeps, if it must
    /// be started.
    #[track_caller]
    pub(crate) fn call_rcu<F: FnOnce() + Send + 'static>(
        &self,
        f: F,
        owner: impl FnOnce() -> DomainRef,
    ) -> u32 {
        worker::ensure_worker(self, owner);
        let backlog = self.callbacks.push_closure(f);
        worker::check_backlog(backlog);
        backlog
    }

    /// `call_rcu1`.
    ///
    /// # Safety
    /// The contract of [`crate::call_rcu1`].
    #[track_caller]
    pub(crate) unsafe fn call_rcu1(
        &self,
        head: NonNull<RcuHead>,
        func: RcuCallback,
        owner: impl FnOnce() -> DomainRef,
    ) -> u32 {
        worker::ensure_worker(self, owner);
        // SAFETY: forwarded contract.
        let backlog = unsafe { self.callbacks.push(head, func) };
        worker::check_backlog(backlog);
        backlog
    }

    /// `start_poll_synchronize_rcu`: the snapshot, and a callback that makes sure a grace period
    /// runs even if nobody else asks for one.
    pub(crate) fn start_poll(&self, owner: impl FnOnce() -> DomainRef) -> GpState {
        let state = GpState(self.gp.poll_snapshot());
        // rcu-core's own callback, like a barrier's marker: it never waits on the bound of pending
        // callbacks (`throttle.rs`; only the public `call_rcu`s help), so polling stays
        // non-blocking.
        self.call_rcu(|| {}, owner);
        state
    }

    /// `poll_state_synchronize_rcu`.
    pub(crate) fn poll_state(&self, state: GpState) -> bool {
        self.gp.poll_done(state.0)
    }

    pub(crate) fn stats(&self) -> Stats {
        // The barrier mode is chosen when the first reader registers; choose it now if needed so
        // that `membarrier` reports what readers will use.
        #[cfg(not(loom))]
        crate::barrier::init();
        let gp = &self.gp.stats;
        // Snapshot, not atomic as a whole: `pending` still includes the part of the running batch
        // that was already invoked (`batch_done`) until the batch ends.
        let pending = self.callbacks.pending_count();
        let done = self.callbacks.batch_done.load(Ordering::Relaxed);
        let invoked = self.callbacks.invoked.load(Ordering::Relaxed);
        let pending = u64::from(pending.saturating_sub(done));
        Stats {
            grace_periods: gp.grace_periods.load(Ordering::Relaxed),
            synchronize_calls: gp.synchronize_calls.load(Ordering::Relaxed),
            synchronize_expedited_calls: gp.expedited_calls.load(Ordering::Relaxed),
            callbacks_queued_peak: u64::from(self.callbacks.throttle.peak.load(Ordering::Relaxed)),
            callback_producer_waits: self.callbacks.throttle.waits.load(Ordering::Relaxed),
            callbacks_over_limit_not_waited: self
                .callbacks
                .throttle
                .not_waited
                .load(Ordering::Relaxed),
            callbacks_queued: invoked + pending,
            callbacks_invoked: invoked,
            callback_panics: self.callbacks.panics.load(Ordering::Relaxed),
            longest_grace_period: Duration::from_nanos(gp.longest_ns.load(Ordering::Relaxed)),
            stall_warnings: gp.stall_warnings.load(Ordering::Relaxed),
            registered_readers: self.gp.registered(),
            membarrier: crate::barrier::uses_membarrier(),
        }
    }
}

/// Children created by `fork()` so far along this process's ancestry: the fork handlers' `child`
/// advances it (`fork.rs`).
pub(crate) static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current fork generation: changes in a child process.
pub(crate) fn generation() -> u64 {
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

/// A live independent domain, in [`DOMAINS`].
#[cfg(all(unix, not(loom)))]
pub(crate) struct DomainPtr(pub(crate) *const DomainInner);

// SAFETY: only dereferenced by the fork handlers' `prepare`, under the `DOMAINS` lock, while the
// domain is alive (it leaves the list, under that lock, before its memory is freed:
// `forget_domain`).
#[cfg(all(unix, not(loom)))]
unsafe impl Send for DomainPtr {}

/// Every live independent domain (lock 8 of `fork.rs`'s list): the fork handlers take their locks.
#[cfg(all(unix, not(loom)))]
pub(crate) static DOMAINS: Mutex<Vec<DomainPtr>> = Mutex::new(Vec::new());

/// Adds a new independent domain to [`DOMAINS`] (`Domain::new`).
pub(crate) fn track_domain(domain: &DomainInner) {
    #[cfg(all(unix, not(loom)))]
    lock(&DOMAINS).push(DomainPtr(domain));
    #[cfg(not(all(unix, not(loom))))]
    let _ = domain;
}

/// Removes an independent domain from [`DOMAINS`]; called from its `Drop`, before its memory goes.
pub(crate) fn forget_domain(domain: &DomainInner) {
    #[cfg(all(unix, not(loom)))]
    {
        let mut domains = lock(&DOMAINS);
        if let Some(i) = domains.iter().position(|d| std::ptr::eq(d.0, domain)) {
            domains.swap_remove(i);
        }
    }
    #[cfg(not(all(unix, not(loom))))]
    let _ = domain;
}

impl DomainInner {
    /// Panics if this is an independent domain and the calling process is a child of the one that
    /// created it (see "fork" in [`Domain`](crate::Domain)'s docs), before anything that would wait
    /// for a thread or lock of the parent. Never panics for the default domain, which works in a
    /// child.
    #[track_caller]
    pub(crate) fn assert_same_process(&self, what: &str) {
        if self.link.is_some() && generation() != self.fork_generation {
            panic!(
                "rcu-core: Domain::{what} called in a child process on a Domain created before \
                 fork(); its callback thread and readers stayed in the parent. Create a new Domain \
                 in the child (the default domain keeps working there)"
            );
        }
    }

    /// Registers the calling thread in the registry (the slow path of
    /// [`Domain::read_lock`](crate::Domain::read_lock)).
    #[track_caller]
    pub(crate) fn register_record(&self) -> Arc<Reader> {
        self.assert_same_process("read_lock (first on a thread) or register");
        self.gp.register()
    }

    /// The liveness link of an independent domain.
    pub(crate) fn link(&self) -> &Arc<Link> {
        self.link
            .as_ref()
            .expect("rcu-core: only independent domains have thread-local records")
    }
}

impl Drop for DomainInner {
    /// An independent domain's state leaves [`DOMAINS`] before its memory goes.
    fn drop(&mut self) {
        if self.link.is_some() {
            forget_domain(self);
        }
    }
}
