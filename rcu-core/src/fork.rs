//! `fork()` support for the default domain (QEMU's `rcu_init_lock` / `rcu_init_unlock` /
//! `rcu_init_child`, liburcu's `call_rcu_before_fork` family), installed with `pthread_atfork`.
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
//! threads held application locks.

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
pub(crate) fn init() {
    #[cfg(all(unix, not(loom)))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: the three handlers are `extern "C"` functions that never unwind (they only
            // lock and unlock mutexes and reset counters).
            let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
            assert_eq!(rc, 0, "rcu-core: pthread_atfork failed");
        });
    }
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
