//! loom model of a safe list (`RcuTailq`) of elements without drop glue, in an independent
//! `Domain`: removal retires the list's reference through the writer's free bag (`defer_free`,
//! rcu-core's `callbacks/bag.rs`) instead of a callback, and the free runs on the writer or the
//! domain's callback thread after a grace period.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-queue --release --test
//! loom_list_plain`. Built with `--cfg rcu_broken_gp` as well, the model is its own negative control:
//! grace periods stop waiting and loom must report the free (the quarantine's poison write) racing
//! the reader; the model then runs in a child process (`common/loom_model.rs`: loom aborts while the
//! writer's free bag, a thread-local, unwinds). That build installs `rcu_queue::testing`'s
//! process-wide quarantine, hence a test binary of its own (tests/loom_list.rs's models observe
//! their element's `Drop` instead).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use rcu_core::Domain;
use rcu_queue::RcuTailq;

#[path = "common/loom_model.rs"]
mod loom_model;
use loom_model::check;

/// An element without drop glue: the list's release of it goes through the writer's free bag
/// (`defer_free`), not a callback. Freeing it writes nothing loom can see, so the negative control
/// (`--cfg rcu_broken_gp`) installs the quarantine of `rcu_queue::testing`, whose poison hook writes
/// the payload where the free would have happened.
struct PlainElem {
    id: u32,
    payload: UnsafeCell<u32>,
}

const _: () = assert!(!std::mem::needs_drop::<PlainElem>());

// SAFETY: accesses to `payload` are checked by loom; an unordered pair of them is the bug under test.
unsafe impl Sync for PlainElem {}

impl PlainElem {
    fn read(&self) -> u32 {
        // SAFETY: loom checks the access.
        self.payload.with(|v| unsafe { *v })
    }
}

/// A reader iterates [1, 2, 3] while the writer removes 2, waits for a grace period and removes 3:
/// under loom a free bag holds one sealed segment of one object, so the second removal reaches the
/// bound and the writer frees element 2 itself, its grace period having elapsed, while the reader
/// may still be inside its section only if that grace period did not wait for it. Three threads:
/// the writer, the reader and the callback thread.
#[test]
fn plain_removal_waits_for_an_iterating_reader() {
    check("plain_removal_waits_for_an_iterating_reader", || {
        #[cfg(rcu_broken_gp)]
        rcu_queue::testing::enable_broken_grace_periods(|v| {
            if let Some(e) = v.downcast_ref::<PlainElem>() {
                // SAFETY: loom checks the write against the reader's read (the bug under test).
                e.payload.with_mut(|p| unsafe { *p = 0 });
            }
        });
        let domain = Domain::new();
        let list = Arc::new(RcuTailq::new_in(&domain));
        {
            let mut w = list.lock();
            for id in [1, 2, 3] {
                w.push_back(PlainElem {
                    id,
                    payload: UnsafeCell::new(id),
                });
            }
        }
        let reader = {
            let (domain, list) = (domain.clone(), list.clone());
            thread::spawn(move || {
                let guard = domain.read_lock();
                let seen: Vec<u32> = list.iter(&guard).map(PlainElem::read).collect();
                assert!(
                    [&[1, 2, 3][..], &[1, 3], &[1]].contains(&&seen[..]),
                    "reader saw {seen:?}"
                );
                drop(guard);
            })
        };
        assert!(list.lock().remove_first(|e| e.id == 2).is_some());
        domain.synchronize();
        assert!(list.lock().remove_first(|e| e.id == 3).is_some());
        reader.join().unwrap();
        drop(list);
        drop(domain);
        #[cfg(rcu_broken_gp)]
        // SAFETY: the reader was joined and the domain's last drop ran every pending free.
        unsafe {
            rcu_queue::testing::free_quarantine()
        };
    });
}
