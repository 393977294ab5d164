//! `fork()` support for the default domain (QEMU's `rcu_init_lock` / `rcu_init_unlock` /
//! `rcu_init_child`, liburcu's `call_rcu_before_fork` family), installed with `pthread_atfork` when
//! the program is loaded (on Linux; elsewhere on first use), like QEMU's `rcu_init` constructor.
//!
//! - Before `fork()` the forking thread completes the one-time barrier set-up, then takes, in lock
//!   order, the callback-thread handle lock (no thread being spawned), the callback batch lock (the
//!   callback thread is between batches), the per-thread buffer registry lock (no buffer being
//!   collected), the grace-period run lock (no grace period in flight), the
//!   registry lock and the batching lock.
//! - In the parent, it releases them.
//! - In the child, which has only the forking thread, it releases them, drops every other thread's
//!   reader record from the registry, drops the list of a per-thread callback buffer whose owner
//!   was caught inside `call_rcu` (the other buffers keep their entries, like the queue), forgets the callback thread (a new one starts on the next
//!   `call_rcu`, or at once if callbacks were pending) and re-registers for membarrier.
//!
//! - In the child, it also advances the fork *generation*: an independent [`Domain`](crate::Domain)
//!   remembers the generation it was created in and, in a later one, refuses (with a panic) every
//!   call that would wait for its parent's callback thread or locks (see "fork" in its docs).
//!
//! Limitations (as in QEMU and liburcu): do not fork from inside a `call_rcu` callback or a
//! read-side critical section.
//! A `call_rcu` racing with `fork()` on another thread may be caught half-way through its
//! wait-free enqueue; the child then drops that callback and the ones queued after it (they still
//! run in the parent) instead of waiting forever. The child should exec or exit soon if other
//! threads held application locks. The standard library has locks of its own: a fork while another
//! thread is starting or exiting can leave the child unable to start threads (rcu-core's callback
//! thread included); fork while the program's threads are running, not while they come and go.

#[cfg(all(unix, not(loom)))]
use std::cell::RefCell;

#[cfg(all(unix, not(loom)))]
use crate::default::DEFAULT;
#[cfg(all(unix, not(loom)))]
use crate::sync::{MutexGuard, lock};

/// Children created by `fork()` so far along this process's ancestry (see the module docs).
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current fork generation: changes in a child process.
pub(crate) fn generation() -> u64 {
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

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

/// The default domain's locks, held from `prepare` to `parent` / `child` (in this field order, which
/// is also the drop order).
#[cfg(all(unix, not(loom)))]
struct ForkGuards {
    _handle: MutexGuard<'static, Option<crate::sync::thread::JoinHandle<()>>>,
    _batch_lock: MutexGuard<'static, ()>,
    _buffers: MutexGuard<'static, Vec<crate::sync::Arc<crate::buffer::LocalBuffer>>>,
    _run_lock: MutexGuard<'static, ()>,
    registry: MutexGuard<'static, Vec<crate::sync::Arc<crate::reader::Reader>>>,
    batch: MutexGuard<'static, crate::gp::BatchState>,
}

#[cfg(all(unix, not(loom)))]
thread_local! {
    static HELD: RefCell<Option<ForkGuards>> = const { RefCell::new(None) };
}

#[cfg(all(unix, not(loom)))]
extern "C" fn prepare() {
    // Finish the one-time barrier set-up first: a child must not inherit it half done.
    crate::barrier::init();
    let guards = ForkGuards {
        _handle: lock(&DEFAULT.callbacks.handle),
        _batch_lock: lock(&DEFAULT.callbacks.batch_lock),
        _buffers: lock(&DEFAULT.callbacks.buffers),
        _run_lock: lock(&DEFAULT.gp.run_lock),
        registry: lock(&DEFAULT.gp.registry),
        batch: lock(&DEFAULT.gp.batch),
    };
    HELD.with(|h| *h.borrow_mut() = Some(guards));
}

#[cfg(all(unix, not(loom)))]
extern "C" fn parent() {
    drop(HELD.with(|h| h.borrow_mut().take()));
}

#[cfg(all(unix, not(loom)))]
extern "C" fn child() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(mut guards) = HELD.with(|h| h.borrow_mut().take()) {
        DEFAULT
            .gp
            .after_fork_child(&mut guards.registry, &mut guards.batch);
        drop(guards);
    }
    #[cfg(target_os = "linux")]
    crate::barrier::after_fork_child();
    DEFAULT.callbacks.reset_after_fork();
    if DEFAULT.callbacks.pending_count() > 0 {
        crate::worker::ensure_worker(&DEFAULT, || crate::domain::DomainRef::Static(&DEFAULT));
    }
}
