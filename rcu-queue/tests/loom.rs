//! loom models of publication vs traversal for the intrusive layer (two threads, a few operations).
//!
//! Run with: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p rcu-queue --release --test loom`.
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
    QListHead, QListLink, QSListHead, QSListLink, QSimpleqHead, QSimpleqLink, QTailqHead,
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

/// One family's head with a uniform set of operations for the models.
trait Fam: Send + Sync + 'static {
    fn new() -> Self;
    /// # Safety
    /// Raw writer rules W1–W5.
    unsafe fn push_front(&self, e: P);
    /// Tail insert where the family has one, otherwise insert after `last`.
    ///
    /// # Safety
    /// W1–W5.
    unsafe fn push_back_or_after(&self, last: P, e: P);
    /// # Safety
    /// W1, W2; `e` is on the list and `prev` precedes it.
    unsafe fn remove(&self, prev: Option<P>, e: P);
    /// # Safety
    /// Reader rule R1.
    unsafe fn walk(&self) -> Vec<u32>;
}

macro_rules! fam {
    ($head:ty, tail: $tail:ident, remove: |$s:ident, $prev:ident, $e:ident| $remove:expr) => {
        impl Fam for $head {
            fn new() -> Self {
                <$head>::new()
            }
            unsafe fn push_front(&self, e: P) {
                // SAFETY: forwarded.
                unsafe { self.insert_head(e.0) }
            }
            unsafe fn push_back_or_after(&self, last: P, e: P) {
                // SAFETY: forwarded.
                unsafe { fam!(@tail $tail, self, last, e) }
            }
            unsafe fn remove(&self, $prev: Option<P>, $e: P) {
                let $s = self;
                // SAFETY: forwarded.
                unsafe { $remove }
            }
            unsafe fn walk(&self) -> Vec<u32> {
                // SAFETY: forwarded.
                read_all(unsafe { self.iter() })
            }
        }
    };
    (@tail yes, $s:ident, $last:ident, $e:ident) => { { let _ = $last; $s.insert_tail($e.0) } };
    (@tail no, $s:ident, $last:ident, $e:ident) => { $s.insert_after($last.0, $e.0) };
}

fam!(QTailqHead<Tq>, tail: yes, remove: |s, _prev, e| s.remove(e.0));
fam!(QListHead<Li>, tail: no, remove: |s, _prev, e| s.remove(e.0));
fam!(QSimpleqHead<Sq>, tail: yes, remove: |s, prev, e| {
    match prev {
        None => assert_eq!(s.remove_head(), Some(e.0)),
        Some(p) => assert_eq!(s.remove_after(p.0), Some(e.0)),
    }
});
fam!(QSListHead<Sl>, tail: no, remove: |s, prev, e| {
    match prev {
        None => assert_eq!(s.remove_head(), Some(e.0)),
        Some(p) => assert_eq!(s.remove_after(p.0), Some(e.0)),
    }
});

/// Publication: the writer initializes and inserts elements while a reader walks; the reader must see
/// a prefix-consistent list of fully initialized elements.
fn publish<H: Fam>() {
    loom::model(|| {
        let head = Arc::new(H::new());
        let a = alloc(1);
        // SAFETY: single writer (this thread), `a` is fresh.
        unsafe { head.push_front(a) };
        let reader = {
            let head = head.clone();
            thread::spawn(move || {
                // SAFETY: elements are freed only after join (the modelled grace period).
                let seen = unsafe { head.walk() };
                assert!(
                    [&[0u32, 1][..], &[1], &[1, 2], &[0, 1, 2]].contains(&seen.as_slice()),
                    "reader saw {seen:?}"
                );
            })
        };
        let b = alloc(2);
        let z = alloc(0);
        // SAFETY: single writer; fresh elements; `a` is on the list.
        unsafe {
            head.push_back_or_after(a, b);
            head.push_front(z);
        }
        reader.join().unwrap();
        free(&[a, b, z]);
    });
}

/// Removal and reclamation with rcu-core's real grace period (its loom build): a reader walks the
/// list inside a read-side critical section of a `Domain` while the writer unlinks the middle
/// element, waits for a grace period with `Domain::synchronize`, then the reclaimer overwrites the
/// element. With `grace_period = false` the reclaimer races the reader and loom must report it.
fn remove_then_reclaim<H: Fam>(grace_period: bool) {
    loom::model(move || {
        let domain = Arc::new(Domain::new());
        let head = Arc::new(H::new());
        let (a, b, c) = (alloc(1), alloc(2), alloc(3));
        // SAFETY: single writer; fresh elements; `a` and `b` are on the list when used as positions.
        unsafe {
            head.push_front(a);
            head.push_back_or_after(a, b);
            head.push_back_or_after(b, c);
        }
        let reader = {
            let (domain, head) = (domain.clone(), head.clone());
            thread::spawn(move || {
                let handle = domain.register();
                let guard = handle.read_lock();
                // SAFETY: inside a read-side critical section; the writer reclaims only after a
                // grace period (in the positive model).
                let seen = unsafe { head.walk() };
                assert!(seen == [1, 2, 3] || seen == [1, 3], "reader saw {seen:?}");
                drop(guard);
            })
        };
        // SAFETY: single writer; `b` is on the list, preceded by `a`.
        unsafe { head.remove(Some(a), b) };
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
