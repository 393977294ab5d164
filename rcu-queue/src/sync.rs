//! The one place that names the atomics: `std` normally, `loom` under `--cfg loom`.
//!
//! Every pointer a reader follows is an [`AtomicPtr`] from here, so the loom models in `tests/loom.rs`
//! exercise exactly the loads and stores of the real code.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, Ordering};

/// Declares a constructor that is `const` with std atomics and a plain `fn` under loom (whose atomics
/// cannot be built in a constant context).
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident() -> Self $body:block) => {
        #[cfg(not(loom))]
        $(#[$meta])*
        $vis const fn $name() -> Self $body
        #[cfg(loom)]
        $(#[$meta])*
        $vis fn $name() -> Self $body
    };
}
pub(crate) use loom_const_fn;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU16;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU16;

/// The reference count of a safe list's node ([`crate::node`]): a handle's release and the callback's
/// release after the grace period are ordered only by this count, so loom has to see its atomics
/// (with std's `Arc`, loom saw the last release unordered after a reader's access and reported a race
/// that cannot happen). The loom negative controls (`--cfg rcu_broken_gp`) keep std's: they leak the
/// list's reference on purpose (`node::reclaim`), which loom's leak check would stop at first.
#[cfg(all(loom, not(rcu_broken_gp)))]
pub(crate) use loom::sync::Arc;
#[cfg(any(not(loom), rcu_broken_gp))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;

/// The safe lists' writer lock ([`crate::lock`]) and the map's stripes (`map::stripe`): they order
/// one writer's updates before the next writer's, so loom has to see them (with std's mutex, loom let
/// the second writer read the list's links as they were before the first writer's update, and lost
/// it).
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// The writer lock's per-thread tag: loom's threads share one OS thread, so they need loom's
/// thread-locals to get a tag each. (The map's record of held stripes picks its macro itself: std's
/// takes a `const` initializer, loom's does not.)
#[cfg(loom)]
pub(crate) use loom::thread_local;
#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's closure-based access API, so that the same code compiles
/// against both (loom's checks that every access to an inline map entry is ordered after its
/// initialization). `repr(transparent)`: all-zero bytes are valid wherever they are for `T`.
#[cfg(not(loom))]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
