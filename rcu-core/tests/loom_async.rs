//! loom model of the async grace period through the code users call: `Domain::synchronize_async`
//! (the poll snapshot, the waker slot, the slot's `call_rcu` callback that wakes it on the domain's
//! callback thread) awaited with loom's `block_on`, against a reader of the same domain.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-core --release --test
//! loom_async`. Built with `--cfg rcu_broken_gp` as well, the model is its own negative control:
//! grace periods stop waiting and loom must report the free racing the reader. A lost wake-up would
//! show as a loom deadlock ("a thread is blocked forever").
#![cfg(loom)]

#[path = "common/loom_model.rs"]
mod loom_model;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::AtomicPtr;
use loom::thread;
use loom_model::model;
use rcu_core::Domain;
use rcu_core::raw::{rcu_dereference, rcu_xchg_pointer};

/// A value whose drop writes a loom cell that readers read: loom reports the drop if it is not
/// ordered after every reader that could still see the value.
struct Probe(UnsafeCell<u32>);

impl Probe {
    fn boxed(v: u32) -> *mut Probe {
        Box::into_raw(Box::new(Probe(UnsafeCell::new(v))))
    }

    fn get(&self) -> u32 {
        // SAFETY: loom checks the access; a racing write is the bug under test.
        self.0.with(|v| unsafe { *v })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.with_mut(|v| {
            // SAFETY: as above.
            unsafe { *v = 0 }
        });
    }
}

/// A shared published pointer (loom's `AtomicPtr` is not `Sync`-wrapped for raw pointers).
struct Published(AtomicPtr<Probe>);
// SAFETY: the pointer is only dereferenced under the protocol under test; loom checks the accesses.
unsafe impl Send for Published {}
// SAFETY: as above.
unsafe impl Sync for Published {}

/// A reader dereferences the published pointer in a section of the domain while the updater
/// unpublishes it, awaits `synchronize_async` and frees it. Three threads: the updater, the reader
/// and the domain's callback thread (started by the future's slot callback).
#[test]
#[cfg_attr(rcu_broken_gp, should_panic(expected = "Causality violation"))]
fn synchronize_async_waits_for_a_reader_of_the_old_value() {
    model(|| {
        let domain = Domain::new();
        let published = Arc::new(Published(AtomicPtr::new(Probe::boxed(1))));
        let reader = {
            let (domain, published) = (domain.clone(), published.clone());
            thread::spawn(move || {
                let guard = domain.read_lock();
                let p = rcu_dereference(&published.0);
                // SAFETY: `p` was published and is freed only after a grace period of `domain`,
                // which cannot end while `guard`'s section runs.
                let seen = unsafe { (*p).get() };
                assert!(seen == 1 || seen == 2, "reader saw a freed value");
                drop(guard);
            })
        };
        let old = rcu_xchg_pointer(&published.0, Probe::boxed(2));
        loom::future::block_on(domain.synchronize_async());
        // SAFETY: unpublished above, and a grace period has elapsed since.
        drop(unsafe { Box::from_raw(old) });
        reader.join().unwrap();
        // SAFETY: the reader is gone; the last value is ours.
        drop(unsafe { Box::from_raw(published.0.load(loom::sync::atomic::Ordering::Relaxed)) });
        drop(domain);
    });
}
