//! The one place that names the concurrency primitives the algorithm uses.
//!
//! Under `--cfg loom` every atomic, lock, condition variable, cell and thread comes from
//! [loom](https://docs.rs/loom), so the loom models in `tests/loom.rs` check the very code that ships;
//! otherwise they come from `std`. No other module of the crate names `std::sync::atomic`,
//! `std::sync::Mutex` or `std::thread` for state the algorithm shares between threads.
//!
//! Besides the re-exports this module holds [`FutexWord`], a 32-bit word a thread can sleep on until
//! it changes: a real `futex(2)` on Linux, a mutex and condition variable elsewhere and under loom.

#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::{
        Arc, Condvar, Mutex, MutexGuard,
        atomic::{
            AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        },
    },
    thread,
};

#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{
        Arc, Condvar, Mutex, MutexGuard,
        atomic::{
            AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        },
    },
    thread,
};

use std::time::Duration;

/// Defines a constructor that is `const` with `std` primitives and a plain `fn` under loom (whose
/// primitives cannot be built in constant context). The body is written once.
macro_rules! maybe_const_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($args:tt)*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$m])* $vis const fn $name($($args)*) -> $ret $body
        #[cfg(loom)]
        $(#[$m])* $vis fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use maybe_const_fn;

/// Declares a thread-local: `const`-initialized with `std` (no lazy-initialization check on access),
/// loom's model-checked thread-local under loom (which has no `const` form).
macro_rules! thread_local_const {
    ($(#[$m:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        std::thread_local! { $(#[$m])* $vis static $name: $t = const { $init }; }
        #[cfg(loom)]
        loom::thread_local! { $(#[$m])* $vis static $name: $t = $init; }
    };
}
pub(crate) use thread_local_const;

/// `std::cell::UnsafeCell` with loom's closure-based access API, so that the same code compiles
/// against both.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section of this crate leaves its data
/// consistent before anything that can panic, so a poisoned lock holds valid data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Pads and aligns a value to its own cache lines (128 bytes covers adjacent-line prefetching on
/// x86-64 and the 128-byte lines of some ARM cores), so that a word every reader loads does not
/// share a line with words that writers hammer.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Yields to the scheduler in a wait loop that expects progress from another thread. Under loom a
/// spin loop must yield so the model checker can run the other threads.
pub(crate) fn yield_now() {
    thread::yield_now();
}

/// Busy-wait hint for short spin loops (see [`yield_now`] for loom).
pub(crate) fn spin() {
    #[cfg(loom)]
    thread::yield_now();
    #[cfg(not(loom))]
    spin_loop();
}

/// The wait of a loop that expects another thread to finish something short (a window, a link):
/// spins for a while, then yields (one core: the other thread must get to run).
pub(crate) struct Backoff(u32);

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff(0)
    }

    /// One round of waiting.
    pub(crate) fn snooze(&mut self) {
        self.0 = self.0.saturating_add(1);
        if self.0 < 64 {
            spin();
        } else {
            yield_now();
        }
    }
}

/// A 32-bit atomic word that threads can sleep on until its value changes (a futex).
#[derive(Debug)]
pub(crate) struct FutexWord {
    pub(crate) value: AtomicU32,
    #[cfg(any(loom, not(target_os = "linux")))]
    lock: Mutex<()>,
    #[cfg(any(loom, not(target_os = "linux")))]
    cond: Condvar,
}

impl FutexWord {
    maybe_const_fn! {
        pub(crate) fn new(value: u32) -> FutexWord {
            FutexWord {
                value: AtomicU32::new(value),
                #[cfg(any(loom, not(target_os = "linux")))]
                lock: Mutex::new(()),
                #[cfg(any(loom, not(target_os = "linux")))]
                cond: Condvar::new(),
            }
        }
    }

    /// Sleeps while the word holds `expected`, for at most `timeout`. May return spuriously: callers
    /// re-check their condition in a loop. Under loom the timeout is ignored (loom has no clock),
    /// which only matters for the stall warning, compiled out there.
    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) {
        #[cfg(all(target_os = "linux", not(loom)))]
        crate::sys::futex_wait(&self.value, expected, timeout);
        #[cfg(any(loom, not(target_os = "linux")))]
        {
            let guard = lock(&self.lock);
            // The waker changes the value before taking the lock (see `wake_all`), so checking it
            // under the lock cannot miss a wake-up.
            if self.value.load(Ordering::Acquire) != expected {
                return;
            }
            #[cfg(loom)]
            {
                let _ = timeout;
                drop(self.cond.wait(guard));
            }
            #[cfg(not(loom))]
            match timeout {
                Some(t) => drop(self.cond.wait_timeout(guard, t)),
                None => drop(self.cond.wait(guard)),
            }
        }
    }

    /// Wakes every thread sleeping in [`wait`](Self::wait). Call it after changing the value.
    pub(crate) fn wake_all(&self) {
        #[cfg(all(target_os = "linux", not(loom)))]
        crate::sys::futex_wake_all(&self.value);
        #[cfg(any(loom, not(target_os = "linux")))]
        {
            drop(lock(&self.lock));
            self.cond.notify_all();
        }
    }
}

/// A one-shot-or-resettable event, QEMU's `QemuEvent`: `set` wakes every waiter, `reset` re-arms it.
///
/// States: `SET` (waiters return at once), `FREE` (not set, nobody sleeping) and `BUSY` (not set,
/// somebody may be sleeping, so `set` must issue a wake-up).
#[derive(Debug)]
pub(crate) struct Event {
    word: FutexWord,
}

const EV_SET: u32 = 0;
const EV_FREE: u32 = 1;
const EV_BUSY: u32 = 2;

impl Event {
    maybe_const_fn! {
        /// A new event, set or not.
        pub(crate) fn new(set: bool) -> Event {
            Event { word: FutexWord::new(if set { EV_SET } else { EV_FREE }) }
        }
    }

    /// Sets the event, waking every thread blocked in [`wait`](Self::wait).
    pub(crate) fn set(&self) {
        // Acquire pairs with the Release of a concurrent `set`: nothing to publish if already set.
        if self.word.value.load(Ordering::Acquire) != EV_SET {
            // Release pairs with the Acquire loads in `wait`: what the setter did before setting is
            // visible to the waiter it wakes.
            if self.word.value.swap(EV_SET, Ordering::Release) == EV_BUSY {
                self.word.wake_all();
            }
        }
    }

    /// Re-arms the event. Callers order it before the store that lets others call `set` (the
    /// grace-period code does it with the Release setting of the reader's `WAITING` flag).
    pub(crate) fn reset(&self) {
        let _ =
            self.word
                .value
                .compare_exchange(EV_SET, EV_FREE, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Waits until the event is set, or `timeout` passes, or spuriously.
    pub(crate) fn wait(&self, timeout: Option<Duration>) {
        // Acquire pairs with the Release swap in `set`.
        let value = self.word.value.load(Ordering::Acquire);
        if value == EV_SET {
            return;
        }
        if value == EV_FREE {
            // Acquire as above when the CAS finds the event set meanwhile.
            if let Err(EV_SET) = self.word.value.compare_exchange(
                EV_FREE,
                EV_BUSY,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                return;
            }
        }
        self.word.wait(EV_BUSY, timeout);
    }

    /// Whether the event is set (Acquire, pairs with `set`).
    pub(crate) fn is_set(&self) -> bool {
        self.word.value.load(Ordering::Acquire) == EV_SET
    }
}
