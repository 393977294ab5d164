//! Userspace read-copy-update (RCU) for Rust, in the tradition of liburcu and QEMU's `util/rcu.c`.
//!
//! RCU lets many threads read shared data with no locks, no atomic read-modify-write and (with
//! `membarrier(2)`) no memory fence, while writers publish new versions and reclaim old ones only
//! after a *grace period*: once every read-side critical section that could still see the old
//! version has ended.
//!
//! | this crate | liburcu | QEMU | Linux |
//! |---|---|---|---|
//! | [`read_lock`] → [`ReadGuard`] | `rcu_read_lock` / `rcu_read_unlock` | `RCU_READ_LOCK_GUARD()` | `rcu_read_lock` |
//! | [`read_ongoing`] | `rcu_read_ongoing` | `rcu_read_lock` depth | `rcu_read_lock_held` |
//! | [`synchronize_rcu`] | `synchronize_rcu` | `synchronize_rcu` | `synchronize_rcu` |
//! | [`call_rcu`], [`call_rcu1`] + [`RcuHead`] + [`container_of!`] | `call_rcu` | `call_rcu1`, `call_rcu` | `call_rcu` |
//! | [`rcu_barrier`] | `rcu_barrier` | `drain_call_rcu` | `rcu_barrier` |
//! | [`free_rcu`], [`defer_free`] (freed by the retiring thread, [`Reclaim`]) | — (`call_rcu` + `free`) | `g_free_rcu` | `kfree_rcu`, `kvfree_rcu` |
//! | [`start_poll_synchronize_rcu`], [`poll_state_synchronize_rcu`], [`cond_synchronize_rcu`] | same names | — | same names |
//! | [`register_thread`], [`unregister_thread`] | `rcu_register_thread`, ... | same | — |
//! | [`raw::rcu_dereference`], [`raw::rcu_assign_pointer`] | same names | `qatomic_rcu_read` / `_set` | same names |
//! | [`RcuCell`]: [`load`](RcuCell::load) → [`Loaded`], [`read`](RcuCell::read) | `rcu_read_lock` + `rcu_dereference` | `RCU_READ_LOCK_GUARD` + `qatomic_rcu_read` | `rcu_dereference` |
//! | [`RcuCell::replace`], [`replace_sync`](RcuCell::replace_sync), [`update`](RcuCell::update) | `rcu_xchg_pointer` + `call_rcu`; + `synchronize_rcu`; `rcu_cmpxchg_pointer` loop | `qatomic_rcu_set` + `call_rcu1` (`g_free_rcu` for plain data) | `rcu_replace_pointer` + `kfree_rcu` |
//! | [`RcuArcCell`]: `load`, `load_full`, `store`, `swap`, `compare_and_swap`, `update` | — | — | — (arc-swap's `ArcSwap`: `load`, `load_full`, `store`, `swap`, `compare_and_swap`, `rcu`) |
//! | [`synchronize_rcu_async`], [`rcu_barrier_async`] | — | — | `start_poll_synchronize_rcu` + completion |
//! | [`Domain`], [`RcuDomain`], [`DefaultDomain`] | — | — | SRCU (independent domains) |
//!
//! # Example: the whole life cycle
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use rcu_core::{RcuCell, call_rcu, rcu_barrier, read_lock, synchronize_rcu};
//!
//! struct Config { limit: u32, dropped: Arc<AtomicUsize> }
//! impl Drop for Config {
//!     fn drop(&mut self) { self.dropped.fetch_add(1, Ordering::SeqCst); }
//! }
//!
//! let dropped = Arc::new(AtomicUsize::new(0));
//! let config = Arc::new(RcuCell::new(Config { limit: 1, dropped: dropped.clone() }));
//!
//! // Readers: no locks; the reference cannot outlive the guard.
//! let reader = {
//!     let config = config.clone();
//!     std::thread::spawn(move || {
//!         for _ in 0..1000 {
//!             let guard = read_lock();
//!             assert!(config.read(&guard).limit >= 1);
//!         }
//!     })
//! };
//!
//! // Writer: publish a new version; the old one is dropped after a grace period.
//! config.replace(Config { limit: 2, dropped: dropped.clone() });
//! reader.join().unwrap();
//!
//! synchronize_rcu();       // wait for pre-existing readers
//! call_rcu(|| {});         // run a closure after a grace period
//! rcu_barrier();           // wait for every queued callback
//! assert_eq!(dropped.load(Ordering::SeqCst), 1);
//! ```
//!
//! # Domains
//!
//! Everything above uses the process-wide *default domain*: one grace-period engine and one callback
//! thread that every user of the free functions shares. An independent [`Domain`] is the same engine
//! with its own reader registry, grace periods and callback thread, like Linux's SRCU or
//! crossbeam-epoch's `Collector`. Use one when
//!
//! - a subsystem's readers may stay inside sections for long (blocking I/O, a slow device): in
//!   their own domain they delay only that domain's grace periods and reclamation, not everyone's;
//! - a subsystem must be able to wait for *its* readers ([`Domain::synchronize`], [`Domain::barrier`])
//!   without waiting for unrelated ones, or drain and shut down its callbacks on its own (dropping
//!   the last `Domain` handle runs its pending callbacks and joins its thread);
//! - a library wants its reclamation isolated from its host program's.
//!
//! Otherwise stay with the default domain: its read side is the fastest (a `const` thread-local
//! pointer, no table look-up), and it is the one that keeps working in a child after `fork()`.
//!
//! Both are one API: the [`RcuDomain`] trait, implemented by [`DefaultDomain`] and [`Domain`].
//! [`RcuCell`] (and `rcu-queue`'s lists and hash map) take the domain as a type parameter that
//! defaults to the default one: `RcuCell::new(v)` lives in the default domain,
//! `RcuCell::new_in(v, &domain)` in `domain`. A container reclaims through its domain and reads only
//! under a guard of it: a guard of the default domain for a container of an independent one (or the
//! reverse) does not compile, and a guard of another independent `Domain` panics (see
//! [`RcuDomain`]). [`Domain::read_lock`] registers the calling thread on first use and unregisters
//! it at thread exit, so no thread has to carry a handle.
//!
//! ```
//! use rcu_core::{Domain, RcuCell};
//!
//! // The storage subsystem's readers may block; give them their own domain.
//! let storage = Domain::new();
//! let queue_depth = RcuCell::new_in(32u32, &storage);
//!
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         let guard = storage.read_lock(); // registers this thread with `storage`
//!         assert!(*queue_depth.read(&guard) >= 32);
//!     });
//!     queue_depth.replace(64); // the old value is dropped by `storage`'s callback thread
//! });
//!
//! // Waiting for the storage readers does not wait for the default domain's, and vice versa.
//! let _other = rcu_core::read_lock();
//! storage.synchronize();
//! ```
//!
//! # Async
//!
//! Async services keep read-mostly state (configuration, routing tables, connection registries)
//! under RCU like threads do, with three rules:
//!
//! - **Never hold a [`ReadGuard`] across `.await`.** A read-side critical section belongs to a
//!   thread, and a task may resume on another thread or share its thread with other tasks. The guard
//!   is `!Send`, so `tokio::spawn` rejects such a future; on a current-thread runtime or a `LocalSet`
//!   it compiles, and then the section blocks every grace period (and a `synchronize_rcu` on that
//!   thread panics) until the task resumes. Copy what you need out of the section, or take an owned
//!   snapshot with [`RcuArcCell::load_full`], which may live across `.await`.
//! - **Await grace periods, do not block on them.** [`synchronize_rcu`] and [`rcu_barrier`] block
//!   the executor thread; [`synchronize_rcu_async`] and [`rcu_barrier_async`] do not. They work with
//!   any executor (std `Future` and `Waker` only; this crate depends on no runtime), are woken by the
//!   callback thread when the grace period is over (no polling, no timers), are cancel-safe, and
//!   share grace periods: 10,000 tasks awaiting at once cost a handful of grace periods.
//! - **Or do not wait at all**: [`RcuArcCell::store`] and [`RcuCell::replace`] release the old value
//!   after a grace period on the callback thread.
//!
//! One task reloads a configuration while request tasks read it:
//!
//! ```
//! use std::sync::Arc;
//! use rcu_core::{RcuArcCell, read_lock, synchronize_rcu_async};
//!
//! struct Config { version: u32, backends: Vec<String> }
//!
//! #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! async fn main() {
//!     let config = Arc::new(RcuArcCell::new(Arc::new(Config {
//!         version: 1,
//!         backends: vec!["10.0.0.1".into()],
//!     })));
//!
//!     let requests: Vec<_> = (0..16u32)
//!         .map(|i| {
//!             let config = config.clone();
//!             tokio::spawn(async move {
//!                 // Short read: borrow inside a section that ends before any `.await`.
//!                 let backend = {
//!                     let guard = read_lock();
//!                     let c = config.read(&guard);
//!                     c.backends[i as usize % c.backends.len()].clone()
//!                 };
//!                 // Long read: an owned snapshot that may live across `.await`.
//!                 let snapshot = config.load_full();
//!                 tokio::task::yield_now().await;
//!                 assert!(snapshot.version >= 1 && !backend.is_empty());
//!             })
//!         })
//!         .collect();
//!
//!     let reloader = {
//!         let config = config.clone();
//!         tokio::spawn(async move {
//!             for version in 2..=5 {
//!                 config.store(Arc::new(Config { version, backends: vec!["10.0.0.2".into()] }));
//!                 // Not needed to free the old value (the callback thread does that); awaited
//!                 // here so that "every reader now sees version N" is true when we go on.
//!                 synchronize_rcu_async().await;
//!             }
//!         })
//!     };
//!
//!     for request in requests {
//!         request.await.unwrap();
//!     }
//!     reloader.await.unwrap();
//!     assert_eq!(config.load_full().version, 5);
//! }
//! ```
//!
//! # How it works
//!
//! See the `gp` module (source: `src/gp/mod.rs`) for the algorithm and a table of every memory
//! ordering and what it pairs with. In short: the read side stores a copy of a global counter into a
//! per-thread record on entry and 0 on exit; `synchronize_rcu` advances the counter, issues one
//! process-wide barrier (`membarrier`) and waits, spinning and then sleeping on a futex, for the
//! readers that entered before. Concurrent callers share grace periods. A background thread runs
//! `call_rcu` callbacks in batches, one grace period per batch; `call_rcu` appends to a per-thread
//! buffer (like Linux's per-CPU callback lists) that reaches it in bulk. Plain frees
//! ([`free_rcu`], [`defer_free`], [`RcuCell`] values without drop glue) go to a per-thread free bag
//! instead, which the retiring thread frees itself once a grace period has elapsed (Linux's
//! `kfree_rcu` batching), so that memory goes back to the allocator cache it came from; see
//! [`Reclaim`]. A thread that went idle pushes its bag along with [`flush_frees`] (never waits).
//!
//! # Design: one engine behind every domain
//!
//! Every operation is written once, as a provided method of [`RcuDomain`] over three private hooks
//! (the domain's engine state, what its guards keep of it, the reference its callback thread
//! owns); the free functions are [`DefaultDomain`]'s methods and [`Domain`]'s methods forward to the
//! same ones. The modules, bottom up (`tests/module_graph.rs` asserts the layers):
//!
//! | module | what it does |
//! |---|---|
//! | `sync`, `sys`, `barrier`, `diag`, `stats` | std/loom switch, futex and membarrier, the asymmetric barrier pair, diagnostics, counters |
//! | `gp/` | the grace-period core (`mod.rs`: counter, registry, batching of `synchronize` callers, polling, stall warnings) and the reader records (`reader.rs`) |
//! | `callbacks/` | [`RcuHead`] and the wait-free queue (`head.rs`), per-thread buffers (`buffer.rs`), the callback thread with its batches and barrier markers (`worker.rs`), the bound on pending callbacks (`throttle.rs`), per-thread free bags of `defer_free` / `free_rcu` with their bound and [`Reclaim`] (`bag.rs`) |
//! | `engine` | a domain's state (`DomainInner`: one `gp` half, one `callbacks` half), enqueue, `rcu_barrier`, polling, stats; the default domain's `static` instance |
//! | `slots`, `gp_async` | the async futures and their shared waker slots |
//! | `domain/` | the trait and [`Guard`] (`mod.rs`), every thread's records, buffers and free bags in every domain (`local.rs`), fork handlers (`fork.rs`), [`DefaultDomain`] and the free functions (`default.rs`), [`Domain`] (`independent.rs`) |
//! | `raw`, `cell`, `arc_cell`, `loaded` | the unsafe layer; the safe containers |
//!
//! A `call_rcu` on any domain:
//!
//! ```text
//!  call_rcu(f) / domain.call_rcu(f)          read_lock() / domain.read_lock()
//!        |  RcuDomain::call_rcu1                   |  domain::read_lock -> Guard
//!        v                                         v
//!  domain/local: this thread's slot ----------> its Reader (gp/reader) <-- leader scans (gp)
//!        |  (buffer, registered on first use)
//!        v
//!  engine: DomainInner::enqueue --> callbacks/buffer (per thread, no RMW)
//!        |                               | full, callback thread asleep, collected
//!        v                               v
//!  callbacks/throttle (help above H)   callbacks/head: shared wait-free queue
//!                                        |
//!                                        v
//!                 callbacks/worker: batch -> gp::synchronize -> invoke f
//! ```
//!
//! # Differences from QEMU and liburcu
//!
//! - Registration is automatic on first use and undone at thread exit (liburcu's "bp" flavour
//!   convenience, with the memb fast path).
//! - Misuse that would deadlock (`synchronize_rcu` or `rcu_barrier` inside a read-side critical
//!   section, `rcu_barrier` from a callback) panics with an explanation instead of hanging.
//! - References are tied to the guard by lifetimes, so using data after the section ended does not
//!   compile.
//! - A panicking callback is caught and reported; the callback thread goes on.
//! - The barrier mode (membarrier or `SeqCst` fences) is chosen once at start-up; set
//!   `RCU_CORE_FORCE_FALLBACK=1` in the environment to force the fence fallback.
//! - Fork: see the `fork` module docs; the default domain survives `fork()` in the child; an
//!   independent [`Domain`] created before the fork only reads there (see its docs).
//! - Exit: callbacks still pending when the process exits are not run; call [`rcu_barrier`] before
//!   leaving `main` if their effects matter (see [`call_rcu`]).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The grace-period counter has one phase (QEMU's 64-bit scheme, see `gp/mod.rs`): sound only when it
// cannot wrap while a reader is preempted between two instructions. QEMU uses two phases for 32-bit
// counters; rather than ship a weaker variant, refuse to build.
#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "rcu-core needs a 64-bit target: its single-phase grace-period counter is a usize and is only \
     wrap-safe with 64 bits (QEMU uses a two-phase counter on 32-bit hosts; rcu-core does not)"
);

mod arc_cell;
mod barrier;
mod callbacks;
mod cell;
// Under loom only the parts the async futures use are reached.
#[cfg_attr(loom, allow(dead_code))]
mod diag;
mod domain;
mod engine;
mod gp;
mod gp_async;
mod loaded;
pub mod raw;
mod slots;
mod stats;
mod sync;
#[cfg(all(target_os = "linux", not(loom)))]
mod sys;
#[cfg(rcu_broken_gp)]
pub mod testing;

pub use arc_cell::RcuArcCell;
pub use barrier::FORCE_FALLBACK_ENV;
pub use callbacks::bag::Reclaim;
#[cfg(loom)]
#[doc(hidden)]
pub use callbacks::head::loom_queue;
pub use callbacks::head::{RcuCallback, RcuHead};
pub use callbacks::throttle::{CallbackLimit, NoWaitRegion, no_wait_region};
pub use cell::RcuCell;
pub use domain::default::{
    DefaultDomain, ReadGuard, call_rcu, call_rcu1, cond_synchronize_rcu,
    poll_state_synchronize_rcu, rcu_barrier, rcu_barrier_async, read_lock, read_ongoing,
    register_thread, set_stall_timeout, start_poll_synchronize_rcu, stats, synchronize_rcu,
    synchronize_rcu_async, unregister_thread,
};
pub use domain::default::{callback_limit, set_callback_limit, synchronize_rcu_expedited};
pub use domain::default::{defer_free, flush_frees, free_rcu, reclaim, set_reclaim};
#[cfg(loom)]
#[doc(hidden)]
pub use domain::independent::loom_buffer;
pub use domain::independent::{Domain, DomainGuard, ReaderHandle};
pub use domain::{Guard, GuardStaysOnItsThread, RcuDomain};
pub use engine::GpState;
pub use gp_async::{RcuBarrierFuture, SynchronizeRcuFuture};
pub use loaded::Loaded;
pub use stats::Stats;

#[doc(hidden)]
pub mod __private {
    pub use crate::callbacks::head::{IntoHeadPtr, into_head_ptr};
}

#[cfg(all(test, not(loom)))]
mod static_checks {
    use static_assertions::{assert_eq_size, assert_impl_all, assert_not_impl_any};

    // The default domain costs a container nothing: a cell is one pointer, a guard one pointer.
    assert_eq_size!(crate::DefaultDomain, ());
    assert_eq_size!(crate::RcuCell<u64>, usize);
    assert_eq_size!(crate::ReadGuard, usize);

    assert_not_impl_any!(crate::ReadGuard: Send, Sync);
    assert_not_impl_any!(crate::DomainGuard<'static>: Send, Sync);
    assert_not_impl_any!(crate::ReaderHandle<'static>: Send, Sync);
    assert_impl_all!(crate::RcuHead: Send, Sync);
    assert_impl_all!(crate::RcuCell<String>: Send, Sync);
    assert_impl_all!(crate::RcuCell<String, crate::Domain>: Send, Sync);
    assert_impl_all!(crate::Domain: Send, Sync);
    assert_eq_size!(crate::RcuArcCell<u64>, usize);
    assert_impl_all!(crate::RcuArcCell<String>: Send, Sync);
    assert_impl_all!(crate::RcuArcCell<String, crate::Domain>: Send, Sync);
    assert_impl_all!(crate::SynchronizeRcuFuture: Send, Sync, Unpin);
    assert_impl_all!(crate::RcuBarrierFuture: Send, Sync, Unpin);
    // The thread's no-wait count: never moves to another thread; `Sync` like a `MutexGuard`.
    assert_not_impl_any!(crate::NoWaitRegion: Send);
    assert_impl_all!(crate::NoWaitRegion: Sync);
}
