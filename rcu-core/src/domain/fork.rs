//! `fork()` support (QEMU's `rcu_init_lock` / `rcu_init_unlock` / `rcu_init_child`, liburcu's
//! `call_rcu_before_fork` family), installed with `pthread_atfork` when the program is loaded (on
//! Linux; elsewhere on first use), like QEMU's `rcu_init` constructor.
//!
//! - Before `fork()` the forking thread completes the one-time barrier set-up, then takes every
//!   process-wide lock of rcu-core in the order of the list below, so that no other thread holds
//!   one when the process is copied.
//! - In the parent, it releases them.
//! - In the child, which has only the forking thread, it releases them, drops every other thread's
//!   reader record from the default domain's registry, drops the list of a per-thread callback
//!   buffer whose owner was caught inside `call_rcu` (the other buffers keep their entries, like the
//!   queue), queues a fresh closing callback for each open grace-period slot of the async futures,
//!   forgets the callback thread (a new one starts on the next `call_rcu`, or at once if callbacks
//!   were pending) and re-registers for membarrier.
//! - In the child, it also advances the fork *generation*: an independent [`Domain`](crate::Domain)
//!   remembers the generation it was created in and, in a later one, refuses (with a panic) every
//!   call that would wait for its parent's callback thread or queue work for it (see "fork" in its
//!   docs). What it still allows there (`read_ongoing`, `stats`, guards, dropping it) takes only
//!   locks from the list, which the child finds free.
//!
//! # Every process-wide lock of rcu-core
//! In the order `prepare` takes them. A thread that holds one of them only ever takes locks further
//! down the list (or none), so `prepare` cannot deadlock with it. `child` releases each one after
//! the step named.
//!
//! 1. The default domain's callback-thread handle (`Callbacks::handle`): spawning or joining its
//!    callback thread; `default_owner`'s at-exit `Once` runs only under it. Child: the handle is
//!    forgotten (`Callbacks::reset_after_fork`).
//! 2. The default domain's `Callbacks::batch_lock`: one batch (grace period plus callbacks); a
//!    callback may take any lock below (the async slot table's `close_slot` takes 7). Child: no
//!    batch was running.
//! 3. The default domain's buffer registry (`Callbacks::buffers`): collecting or (un)registering
//!    per-thread callback buffers. Child: every buffer's flags are cleared, the list of one caught
//!    inside its owner's window dropped (`LocalBuffer::reset_after_fork`).
//! 4. The default domain's grace-period run lock (`GpCore::run_lock`): one grace period.
//! 5. The default domain's reader registry (`GpCore::registry`). Child: only the forking thread's
//!    records are kept (`GpCore::after_fork_child`).
//! 6. The default domain's grace-period batching state (`GpCore::batch`). Child: no leader, the
//!    sequence rolled back to the last completed grace period (`GpCore::after_fork_child`).
//! 7. The async futures' slot table (`slots::SLOTS`), and with it every barrier future's waker
//!    lock (`Marker::waker`), which is only ever taken inside it. Child: open slots stay open, and
//!    each of the default domain's gets a fresh closing callback
//!    (`slots::close_slots_after_fork_child`): its own may not be in the inherited queue.
//! 8. The list of live independent domains (`engine::DOMAINS`).
//! 9. For every live independent [`Domain`](crate::Domain), in the list's order: its liveness link
//!    (`Link::lock`, `gp/reader.rs`; a thread unregisters its record and buffer under it,
//!    `domain/local.rs`), its reader registry and its buffer registry. Child: nothing changes; the domain's state
//!    is only read there (`read_ongoing`, `stats`), or leaked when it is dropped.
//!
//! Not taken: an independent domain's handle, batch lock, run lock and batching state. No call on a
//! parent's `Domain` reaches them in the child (each such call panics first, and dropping it there
//! leaks its state), and taking them would make every `fork()` wait for that domain's grace period
//! and callbacks. Outside Linux, each futex word (`sync::FutexWord`) is a mutex and a condition
//! variable held for a wake-up or the start of a wait; they are not taken here (on Linux they are
//! futexes and hold no lock).
//!
//! Per-thread free bags of `defer_free` / `free_rcu` (`callbacks/bag.rs`) are owned by their thread
//! and take no lock: the child's copy of the forking thread's bags is valid, and their snapshots
//! stay sound after the default domain's sequence is rolled back (`GpCore::after_fork_child`: a
//! snapshot only names a later grace period). A segment whose grace-period request was dropped with
//! the queue is freed when the thread next reaches its bound (it then waits for a grace period
//! itself) or hands its bag over (barrier, exit). Other threads' bags do not exist in the child.
//!
//! Limitations (as in QEMU and liburcu): do not fork from inside a `call_rcu` callback or a
//! read-side critical section of the default domain.
//! A `call_rcu` racing with `fork()` on another thread may be caught half-way through its
//! wait-free enqueue; the child then drops that callback and the ones queued after it (they still
//! run in the parent) instead of waiting forever. The child should exec or exit soon if other
//! threads held application locks. The standard library has locks of its own: a fork while another
//! thread is starting or exiting can leave the child unable to start threads (rcu-core's callback
//! thread included); fork while the program's threads are running, not while they come and go.

#[cfg(all(unix, not(loom)))]
use std::cell::RefCell;

#[cfg(all(unix, not(loom)))]
use crate::engine::{DEFAULT, DOMAINS, DomainPtr};
#[cfg(all(unix, not(loom)))]
use crate::sync::{MutexGuard, lock};

/// Installs the fork handlers once per process (nothing to do under loom, which cannot fork).
///
/// On Linux this first runs when the program is loaded, before `main` and before any thread exists
/// ([`INSTALL_AT_LOAD`], QEMU's `rcu_init` constructor). Installing them lazily, on first use,
/// raced with `fork()` on another thread: a fork while the installing `Once` ran left the child a
/// `Once` that stays "running" forever, and the child hung on its first rcu-core call
/// (`tests/fork_first_use.rs`). Every path that first touches the default domain, or creates a
/// domain, still calls this (a no-op by then), which installs the handlers on other Unix systems
/// and keeps the load-time entry linked into every program that uses the crate.
pub(crate) fn init() {
    #[cfg(all(unix, not(loom)))]
    {
        #[cfg(target_os = "linux")]
        std::hint::black_box(&INSTALL_AT_LOAD);
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: the three handlers are `extern "C"` functions that never unwind (they only
            // lock and unlock mutexes and reset counters).
            let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
            if rc != 0 {
                // This may run before `main`, where a panic would abort: report and go on.
                crate::diag::report(&format!(
                    "rcu-core: pthread_atfork failed (error {rc}); a child created by fork() while \
                     other threads use RCU may hang or see inconsistent grace-period state"
                ));
            }
        });
    }
}

/// The load-time entry of [`init`]: the dynamic loader runs every function in `.init_array` before
/// `main` (and when a shared library is loaded), as it does C's `__attribute__((constructor))`.
#[cfg(all(target_os = "linux", not(loom)))]
#[used]
// SAFETY: `.init_array` holds pointers to functions taking no arguments the loader may rely on
// (it passes argc/argv/envp, which a function of no parameters ignores under the C ABI); the
// entry is one such pointer.
#[unsafe(link_section = ".init_array")]
static INSTALL_AT_LOAD: extern "C" fn() = install_at_load;

/// Runs [`init`] at load time; never unwinds (a failure is reported, not raised).
#[cfg(all(target_os = "linux", not(loom)))]
extern "C" fn install_at_load() {
    init();
}

/// Lock 9 of the module docs' list, for one independent domain (fields in locking order).
#[cfg(all(unix, not(loom)))]
struct DomainGuards {
    _link: MutexGuard<'static, bool>,
    _registry: MutexGuard<'static, Vec<crate::sync::Arc<crate::gp::reader::Reader>>>,
    _buffers: MutexGuard<'static, Vec<crate::sync::Arc<crate::callbacks::buffer::LocalBuffer>>>,
}

/// The locks of the module docs' list, held from `prepare` to `parent` / `child`, in this field
/// order (the locking order). `domains` is emptied first (`Drop`), while `domain_list` still keeps
/// those domains alive.
#[cfg(all(unix, not(loom)))]
struct ForkGuards {
    _handle: MutexGuard<'static, Option<crate::sync::thread::JoinHandle<()>>>,
    _batch_lock: MutexGuard<'static, ()>,
    _buffers: MutexGuard<'static, Vec<crate::sync::Arc<crate::callbacks::buffer::LocalBuffer>>>,
    _run_lock: MutexGuard<'static, ()>,
    registry: MutexGuard<'static, Vec<crate::sync::Arc<crate::gp::reader::Reader>>>,
    batch: MutexGuard<'static, crate::gp::BatchState>,
    _slots: MutexGuard<'static, crate::slots::Slots>,
    domain_list: MutexGuard<'static, Vec<DomainPtr>>,
    domains: Vec<DomainGuards>,
}

#[cfg(all(unix, not(loom)))]
impl Drop for ForkGuards {
    fn drop(&mut self) {
        // Before the fields: the domains' guards need the list lock, which keeps them alive.
        self.domains.clear();
    }
}

#[cfg(all(unix, not(loom)))]
thread_local! {
    static HELD: RefCell<Option<ForkGuards>> = const { RefCell::new(None) };
}

#[cfg(all(unix, not(loom)))]
extern "C" fn prepare() {
    // Finish the one-time barrier set-up first: a child must not inherit it half done.
    crate::barrier::init();
    let mut guards = ForkGuards {
        _handle: lock(&DEFAULT.callbacks.handle),
        _batch_lock: lock(&DEFAULT.callbacks.batch_lock),
        _buffers: lock(&DEFAULT.callbacks.buffers),
        _run_lock: lock(&DEFAULT.gp.run_lock),
        registry: lock(&DEFAULT.gp.registry),
        batch: lock(&DEFAULT.gp.batch),
        _slots: lock(&crate::slots::SLOTS),
        domain_list: lock(&DOMAINS),
        domains: Vec::new(),
    };
    let live: Vec<*const crate::engine::DomainInner> =
        guards.domain_list.iter().map(|d| d.0).collect();
    guards.domains.reserve_exact(live.len());
    for domain in live {
        // SAFETY: the domain is in `DOMAINS`, whose lock `guards` holds until after these guards
        // are dropped (`ForkGuards::drop`); a domain leaves the list under that lock before its
        // memory is freed, so it outlives the references made here.
        let domain: &'static crate::engine::DomainInner = unsafe { &*domain };
        guards.domains.push(DomainGuards {
            _link: domain.link().lock(),
            _registry: lock(&domain.gp.registry),
            _buffers: lock(&domain.callbacks.buffers),
        });
    }
    HELD.with(|h| *h.borrow_mut() = Some(guards));
}

#[cfg(all(unix, not(loom)))]
extern "C" fn parent() {
    drop(HELD.with(|h| h.borrow_mut().take()));
}

#[cfg(all(unix, not(loom)))]
extern "C" fn child() {
    crate::engine::GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(mut guards) = HELD.with(|h| h.borrow_mut().take()) {
        DEFAULT
            .gp
            .after_fork_child(&mut guards.registry, &mut guards.batch);
        drop(guards);
    }
    #[cfg(target_os = "linux")]
    crate::barrier::after_fork_child();
    DEFAULT.callbacks.reset_after_fork();
    // Before the callback thread starts: the slots' new callbacks go behind the inherited queue.
    // `call_rcu` panics only if no callback thread can be started; this handler must not unwind.
    let requeued = std::panic::catch_unwind(crate::slots::close_slots_after_fork_child);
    if let Err(payload) = requeued {
        crate::diag::drop_payload(payload);
        crate::diag::report(
            "rcu-core: fork child: cannot queue the callbacks that complete inherited grace-period \
             futures; awaiting synchronize_rcu_async in this child may hang",
        );
    }
    if DEFAULT.callbacks.pending_count() > 0 {
        DEFAULT.ensure_worker(|| crate::engine::DomainRef::Static(&DEFAULT));
    }
}
