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
//! Limitations (as in QEMU and liburcu): do not fork from inside a `call_rcu` callback or a
//! read-side critical section, and do not use independent [`Domain`](crate::Domain)s in the child.
//! A `call_rcu` racing with `fork()` on another thread may be caught half-way through its
//! wait-free enqueue; the child then drops that callback and the ones queued after it (they still
//! run in the parent) instead of waiting forever. The child should exec or exit soon if other
//! threads held application locks.

#[cfg(unix)]
use std::cell::RefCell;

#[cfg(unix)]
use crate::default::DEFAULT;
#[cfg(unix)]
use crate::sync::{MutexGuard, lock};

/// Installs the fork handlers once per process.
pub(crate) fn init() {
    #[cfg(unix)]
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
#[cfg(unix)]
struct ForkGuards {
    _handle: MutexGuard<'static, Option<crate::sync::thread::JoinHandle<()>>>,
    _batch_lock: MutexGuard<'static, ()>,
    _buffers: MutexGuard<'static, Vec<crate::sync::Arc<crate::buffer::LocalBuffer>>>,
    _run_lock: MutexGuard<'static, ()>,
    registry: MutexGuard<'static, Vec<crate::sync::Arc<crate::reader::Reader>>>,
    batch: MutexGuard<'static, crate::gp::BatchState>,
}

#[cfg(unix)]
thread_local! {
    static HELD: RefCell<Option<ForkGuards>> = const { RefCell::new(None) };
}

#[cfg(unix)]
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

#[cfg(unix)]
extern "C" fn parent() {
    drop(HELD.with(|h| h.borrow_mut().take()));
}

#[cfg(unix)]
extern "C" fn child() {
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
        crate::worker::ensure_worker(&crate::domain::DomainRef::Static(&DEFAULT));
    }
}
