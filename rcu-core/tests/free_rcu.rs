//! `defer_free` / `free_rcu` (Linux's `kfree_rcu`): where retired memory is freed and that none of
//! it is lost.
//!
//! - With the default `Reclaim::Producers`, a thread's `free_rcu`s are freed on that thread (a
//!   global allocator that records, for a marked allocation size, whether the freeing thread is
//!   the producer), and with `Reclaim::CallbackThread` none is (the negative control of the first).
//! - A thread's bag is handed over at its exit: after the join and a barrier every object is freed.
//! - `rcu_barrier` / `Domain::barrier` hand the caller's own bag over first.
//! - Inside a read-side section (and a `NoWaitRegion`) a bag past its bound hands segments over and
//!   never waits; a watchdog turns a wait into a failure.
//! - `free_rcu` of a type with drop glue runs its `Drop` on the callback thread (`call_rcu`).
//!
//! Passes on one core: `taskset -c 0 cargo test -p rcu-core --test free_rcu` (well under 1 s).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{Domain, Reclaim};

/// Counts, for a few marked sizes, frees on a thread marked as the producer and elsewhere.
struct MarkingAlloc;

/// Marked sizes, one per test (the tests run in parallel in one process).
const SIZES: [usize; 5] = [3001, 3002, 3003, 3004, 3005];
static ON_PRODUCER: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static ELSEWHERE: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

thread_local! {
    /// This thread is a test's producer (no destructor: usable inside the allocator).
    static PRODUCER: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to `System`; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for MarkingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(i) = SIZES.iter().position(|&s| s == layout.size()) {
            let producer = PRODUCER.try_with(Cell::get).unwrap_or(false);
            let counter = if producer {
                &ON_PRODUCER[i]
            } else {
                &ELSEWHERE[i]
            };
            counter.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: MarkingAlloc = MarkingAlloc;

/// A payload of marked size `SIZES[I]` without drop glue.
fn payload<const N: usize>() -> Box<[u8; N]> {
    Box::new([7u8; N])
}

const OBJECTS: u64 = 5_000;

/// Frees `OBJECTS` payloads of marked size `SIZES[i]` through `domain` on a producer thread, then
/// waits for them (barrier on that thread).
fn produce<const N: usize>(domain: &Domain) {
    thread::scope(|s| {
        s.spawn(|| {
            PRODUCER.with(|p| p.set(true));
            for _ in 0..OBJECTS {
                domain.free_rcu(payload::<N>());
            }
            domain.barrier();
        });
    });
}

#[test]
fn free_rcu_frees_on_the_producing_thread() {
    let domain = Domain::new();
    produce::<3001>(&domain);
    let (mine, other) = (
        ON_PRODUCER[0].load(Ordering::SeqCst),
        ELSEWHERE[0].load(Ordering::SeqCst),
    );
    let stats = domain.stats();
    assert_eq!(mine + other, OBJECTS, "every object freed once: {stats:?}");
    // The bag holds at most 1087; beyond that the producer waits for a grace period and frees
    // its oldest segment itself, so most of the objects are freed on the producer.
    assert!(
        mine >= OBJECTS - Reclaim::MAX_HELD_PER_THREAD as u64,
        "only {mine} of {OBJECTS} freed on the producer ({other} elsewhere): {stats:?}"
    );
    assert_eq!(stats.frees_deferred, OBJECTS);
    assert_eq!(stats.frees_by_producers, mine);
    assert_eq!(stats.frees_by_callback_thread, other);
    assert_eq!(stats.frees_pending(), 0);
}

/// Negative control of the test above: QEMU's and liburcu's behaviour frees nothing on the
/// producer.
#[test]
fn with_reclaim_callback_thread_nothing_is_freed_on_the_producer() {
    let domain = Domain::new();
    domain.set_reclaim(Reclaim::CallbackThread);
    produce::<3002>(&domain);
    let stats = domain.stats();
    assert_eq!(ON_PRODUCER[1].load(Ordering::SeqCst), 0, "{stats:?}");
    assert_eq!(ELSEWHERE[1].load(Ordering::SeqCst), OBJECTS, "{stats:?}");
    assert_eq!(stats.frees_by_producers, 0);
    assert_eq!(stats.frees_by_callback_thread, OBJECTS);
    assert_eq!(stats.frees_handed_to_callback_thread, OBJECTS);
}

/// A thread that exits with objects in its bag (sealed and open segments) hands them over: after
/// the join and a barrier on another thread, every one is freed.
#[test]
fn thread_exit_hands_the_bag_over() {
    let domain = Domain::new();
    // One sealed segment and 36 entries in the open one: nothing is freed before the exit.
    let objects = Reclaim::SEGMENT as u64 + 36;
    let d = domain.clone();
    // A joined `JoinHandle` (not a scope, whose end does not wait for thread-local destructors).
    thread::spawn(move || {
        for _ in 0..objects {
            d.free_rcu(payload::<3003>());
        }
    })
    .join()
    .unwrap();
    domain.barrier();
    let freed = ON_PRODUCER[2].load(Ordering::SeqCst) + ELSEWHERE[2].load(Ordering::SeqCst);
    let stats = domain.stats();
    assert_eq!(freed, objects, "objects freed after the exit: {stats:?}");
    assert_eq!(stats.frees_deferred, objects);
    assert_eq!(stats.frees_pending(), 0);
    assert!(stats.frees_handed_to_callback_thread >= objects - Reclaim::SEGMENT as u64);
}

/// `barrier` waits for the calling thread's own `free_rcu`s, open segment included; so does the
/// default domain's `rcu_barrier`.
#[test]
fn barrier_hands_the_callers_bag_over() {
    let domain = Domain::new();
    for _ in 0..3 {
        domain.free_rcu(payload::<3004>());
    }
    domain.barrier();
    assert_eq!(ELSEWHERE[3].load(Ordering::SeqCst), 3);
    let stats = domain.stats();
    assert_eq!((stats.frees_deferred, stats.frees_pending()), (3, 0));

    let before = rcu_core::stats().frees_by_callback_thread;
    for _ in 0..3 {
        rcu_core::free_rcu(Box::new([1u64; 4]));
    }
    rcu_core::rcu_barrier();
    assert!(rcu_core::stats().frees_by_callback_thread >= before + 3);
}

/// Runs `f` on another thread and fails if it has not returned within 10 s; then joins it.
fn returns_promptly(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "{what}: free_rcu past the bound waited (or failed)"
    );
    // Its bag is handed over at its exit.
    thread.join().unwrap();
}

/// Past the bound, inside a read-side critical section (of the same domain, of the default
/// domain) or a `NoWaitRegion`, `free_rcu` hands the oldest segment over and never waits: a wait
/// for a grace period inside the thread's own section would never end.
#[test]
fn past_the_bound_in_a_section_free_rcu_hands_over_and_never_waits() {
    let past_bound = 3 * Reclaim::MAX_HELD_PER_THREAD;
    type Case = (&'static str, fn(&Domain, usize));
    let cases: [Case; 3] = [
        ("in a section of the domain", |d, n| {
            let _guard = d.read_lock();
            (0..n).for_each(|_| d.free_rcu(Box::new([0u64; 8])));
        }),
        ("in a section of the default domain", |d, n| {
            let _guard = rcu_core::read_lock();
            (0..n).for_each(|_| d.free_rcu(Box::new([0u64; 8])));
        }),
        ("in a NoWaitRegion", |d, n| {
            let _no_wait = rcu_core::no_wait_region();
            (0..n).for_each(|_| d.free_rcu(Box::new([0u64; 8])));
        }),
    ];
    for (what, case) in cases {
        let domain = Domain::new();
        let d = domain.clone();
        returns_promptly(what, move || case(&d, past_bound));
        let stats = domain.stats();
        assert_eq!(stats.free_producer_waits, 0, "{what}: {stats:?}");
        assert!(
            stats.frees_handed_to_callback_thread >= Reclaim::SEGMENT as u64,
            "{what}: nothing handed over: {stats:?}"
        );
        domain.barrier();
        let stats = domain.stats();
        assert_eq!(stats.frees_pending(), 0, "{what}: {stats:?}");
        assert_eq!(stats.frees_deferred, past_bound as u64, "{what}: {stats:?}");
    }
}

/// A type with drop glue is dropped by `call_rcu`, on the callback thread, after a grace period.
#[test]
fn free_rcu_with_drop_glue_runs_drop_on_the_callback_thread() {
    struct Marked(Box<[u8; 3005]>);
    impl Drop for Marked {
        fn drop(&mut self) {
            assert!(!PRODUCER.with(Cell::get), "Drop ran on the producer");
            assert_eq!(self.0[0], 7);
        }
    }
    let domain = Domain::new();
    thread::scope(|s| {
        s.spawn(|| {
            PRODUCER.with(|p| p.set(true));
            for _ in 0..200 {
                domain.free_rcu(Box::new(Marked(payload::<3005>())));
            }
            domain.barrier();
        });
    });
    let stats = domain.stats();
    assert_eq!(ELSEWHERE[4].load(Ordering::SeqCst), 200);
    assert_eq!((stats.frees_deferred, stats.callback_panics), (0, 0));
    // Zero-sized values without drop glue cost nothing.
    domain.free_rcu(Box::new(()));
    assert_eq!(domain.stats().frees_deferred, 0);
}
