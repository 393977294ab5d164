//! loom models of publication vs traversal for the intrusive layer (two threads, a few operations),
//! generic over `raw::Head`, so they run the very methods users call (QLIST's and QSLIST's
//! `insert_tail` is the trait's walk-then-`insert_after`).
//!
//! Run with: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test -p rcu-queue --release --test loom`.
//!
//! Each element's payload is a loom `UnsafeCell`, so loom reports any access not ordered by
//! happens-before: a reader seeing a half-initialized element (publication not Release/Acquire), or a
//! reclaimer writing an element a reader may still use. The removal models use rcu-core's real
//! grace period (`Domain::synchronize`, built with loom's primitives too), so they check the list
//! and the grace period together. The last model is the negative control: a reclaimer that does not
//! wait for a grace period must be caught.
#![cfg(loom)]

use core::ptr::NonNull;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use rcu_core::Domain;
use rcu_queue::raw::{
    Head, QListHead, QListLink, QSListHead, QSListLink, QSimpleqHead, QSimpleqLink, QTailqHead,
    QTailqLink,
};

struct Elem {
    val: UnsafeCell<u32>,
    tq: QTailqLink,
    l: QListLink,
    sq: QSimpleqLink,
    sl: QSListLink,
}

rcu_queue::adapter!(Tq = Elem { tq: QTailqLink });
rcu_queue::adapter!(Li = Elem { l: QListLink });
rcu_queue::adapter!(Sq = Elem { sq: QSimpleqLink });
rcu_queue::adapter!(Sl = Elem { sl: QSListLink });

/// A raw pointer the model threads may share (each model's own synchronization makes uses safe).
#[derive(Clone, Copy)]
struct P(NonNull<Elem>);
// SAFETY: see the type's doc; loom checks the accesses.
unsafe impl Send for P {}
// SAFETY: as above.
unsafe impl Sync for P {}

fn alloc(val: u32) -> P {
    let e = Box::new(Elem {
        val: UnsafeCell::new(0),
        tq: QTailqLink::new(),
        l: QListLink::new(),
        sq: QSimpleqLink::new(),
        sl: QSListLink::new(),
    });
    // An explicit write after construction: the store that publication must order.
    e.val.with_mut(|v| {
        // SAFETY: not shared yet.
        unsafe { *v = val }
    });
    P(NonNull::from(Box::leak(e)))
}

/// Frees elements once every thread is joined.
fn free(ps: &[P]) {
    for p in ps {
        // SAFETY: every thread that could see `p` has been joined; each is freed once.
        drop(unsafe { Box::from_raw(p.0.as_ptr()) });
    }
}

/// Reads the payload of every element a walk yields.
fn read_all(it: impl Iterator<Item = NonNull<Elem>>) -> Vec<u32> {
    // SAFETY: called inside the modelled critical section; elements are freed only after join.
    it.map(|p| unsafe { p.as_ref() }.val.with(|v| unsafe { *v }))
        .collect()
}

/// Publication: the writer initializes and inserts elements while a reader walks; the reader must see
/// a prefix-consistent list of fully initialized elements.
fn publish<H: Head<Object = Elem> + Send + Sync + 'static>() {
    loom::model(|| {
        let head = Arc::new(H::default());
        let a = alloc(1);
        // SAFETY: single writer (this thread), `a` is fresh.
        unsafe { head.insert_head(a.0) };
        let reader = {
            let head = head.clone();
            thread::spawn(move || {
                // SAFETY: elements are freed only after join (the modelled grace period).
                let seen = read_all(unsafe { head.iter() });
                assert!(
                    [&[0u32, 1][..], &[1], &[1, 2], &[0, 1, 2]].contains(&seen.as_slice()),
                    "reader saw {seen:?}"
                );
            })
        };
        let b = alloc(2);
        let z = alloc(0);
        // SAFETY: single writer; fresh elements.
        unsafe {
            head.insert_tail(b.0);
            head.insert_head(z.0);
        }
        reader.join().unwrap();
        free(&[a, b, z]);
    });
}

/// Removal and reclamation with rcu-core's real grace period (its loom build): a reader walks the
/// list inside a read-side critical section of a `Domain` while the writer unlinks the middle
/// element, waits for a grace period with `Domain::synchronize`, then the reclaimer overwrites the
/// element. With `grace_period = false` the reclaimer races the reader and loom must report it.
fn remove_then_reclaim<H: Head<Object = Elem> + Send + Sync + 'static>(grace_period: bool) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let head = Arc::new(H::default());
        let (a, b, c) = (alloc(1), alloc(2), alloc(3));
        // SAFETY: single writer; fresh elements.
        unsafe {
            head.insert_head(a.0);
            head.insert_tail(b.0);
            head.insert_tail(c.0);
        }
        let reader = {
            let (domain, head) = (domain.clone(), head.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                // SAFETY: inside a read-side critical section; the writer reclaims only after a
                // grace period (in the positive model).
                let seen = read_all(unsafe { head.iter() });
                assert!(seen == [1, 2, 3] || seen == [1, 3], "reader saw {seen:?}");
                drop(guard);
            })
        };
        // SAFETY: single writer; `b` is on the list, preceded by `a`.
        unsafe { head.unlink(Some(a.0), b.0) };
        if grace_period {
            domain.synchronize();
        }
        // The reclaimer poisons `b`.
        // SAFETY: loom checks that no reader access can race with this write.
        unsafe { b.0.as_ref() }
            .val
            .with_mut(|v| unsafe { *v = 0xdead });
        reader.join().unwrap();
        free(&[a, b, c]);
    });
}

#[test]
fn qtailq_publish() {
    publish::<QTailqHead<Tq>>();
}
#[test]
fn qlist_publish() {
    publish::<QListHead<Li>>();
}
#[test]
fn qsimpleq_publish() {
    publish::<QSimpleqHead<Sq>>();
}
#[test]
fn qslist_publish() {
    publish::<QSListHead<Sl>>();
}

#[test]
fn qtailq_remove_then_reclaim() {
    remove_then_reclaim::<QTailqHead<Tq>>(true);
}
#[test]
fn qlist_remove_then_reclaim() {
    remove_then_reclaim::<QListHead<Li>>(true);
}
#[test]
fn qsimpleq_remove_then_reclaim() {
    remove_then_reclaim::<QSimpleqHead<Sq>>(true);
}
#[test]
fn qslist_remove_then_reclaim() {
    remove_then_reclaim::<QSListHead<Sl>>(true);
}

/// Negative control: reclaiming without waiting for the reader is a race loom must catch.
#[test]
#[should_panic(expected = "Causality violation")]
fn reclaim_without_grace_period_is_caught() {
    remove_then_reclaim::<QTailqHead<Tq>>(false);
}
