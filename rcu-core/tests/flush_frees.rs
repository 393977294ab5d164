//! `flush_frees` (crossbeam-epoch's `Guard::flush`): a thread that retired a few objects and then
//! went idle can push its free bag along without waiting.
//!
//! - A few `defer_free`s, a flush, a grace period and a second flush free them on this thread
//!   (for an independent domain and for the default one); the first flush frees nothing (its
//!   snapshot is fresh). Without the seal (a flush that only frees elapsed segments) the objects
//!   stay in the open segment: the negative control this test caught during development.
//! - Inside a read-side section a flush frees what was sealed and elapsed before the section,
//!   never what was retired inside it, and past the bag's bound it hands segments over instead of
//!   waiting (a wait would be for this very reader: a watchdog turns it into a failure).
//!
//! Passes on one core: `taskset -c 0 cargo test -p rcu-core --test flush_frees` (well under 1 s).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rcu_core::{Domain, Reclaim};

/// Objects freed, one counter per test (the tests run in parallel in one process).
static FREED: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Frees a `Box<u64>` retired by [`retire`] and counts it in `FREED[I]`.
///
/// # Safety
/// `p` came from `Box::<u64>::into_raw` in [`retire`] and is freed once.
unsafe fn free_counting<const I: usize>(p: NonNull<u8>) {
    // SAFETY: the contract above.
    drop(unsafe { Box::from_raw(p.cast::<u64>().as_ptr()) });
    FREED[I].fetch_add(1, Ordering::SeqCst);
}

/// Retires a fresh, never published `Box<u64>` through `domain` (the default one if `None`),
/// counted in `FREED[I]` when freed.
fn retire<const I: usize>(domain: Option<&Domain>) {
    let p = NonNull::from(Box::leak(Box::new(I as u64))).cast::<u8>();
    // SAFETY: never published; `free_counting` only deallocates it, once, on any thread.
    unsafe {
        match domain {
            Some(d) => d.defer_free(p, free_counting::<I>),
            None => rcu_core::defer_free(p, free_counting::<I>),
        }
    }
}

fn freed(i: usize) -> u64 {
    FREED[i].load(Ordering::SeqCst)
}

/// Asserts that `domain` freed `n` objects, all on their producers; returns its stats.
#[track_caller]
fn freed_by_producers_only(domain: &Domain, n: u64) -> rcu_core::Stats {
    let stats = domain.stats();
    assert_eq!(stats.frees_by_producers, n, "{stats:?}");
    assert_eq!(stats.frees_by_callback_thread, 0, "{stats:?}");
    stats
}

#[test]
fn flush_then_a_grace_period_frees_a_few_objects_on_this_thread() {
    let domain = Domain::new();
    assert_eq!(domain.reclaim(), Reclaim::Producers);
    for _ in 0..5 {
        retire::<0>(Some(&domain));
    }
    domain.flush_frees();
    assert_eq!(freed(0), 0, "the flush's own snapshot cannot have elapsed");
    assert_eq!(
        domain.stats().frees_pending(),
        5,
        "the flush sealed the open segment"
    );
    domain.synchronize();
    domain.flush_frees();
    assert_eq!(
        freed(0),
        5,
        "the flush after a grace period frees the sealed segment"
    );
    let stats = freed_by_producers_only(&domain, 5);
    assert_eq!(stats.frees_handed_to_callback_thread, 0, "{stats:?}");
    // Nothing left: a flush of an empty bag seals nothing.
    domain.flush_frees();
    assert_eq!(domain.stats().frees_deferred, 5);
}

#[test]
fn the_default_domains_flush_frees_on_this_thread() {
    // The default domain is shared with the other tests: only this test's counter is checked.
    for _ in 0..3 {
        retire::<1>(None);
    }
    rcu_core::flush_frees();
    rcu_core::synchronize_rcu();
    rcu_core::flush_frees();
    assert_eq!(freed(1), 3);
}

/// Runs `f` on a thread and fails if it has not returned within a few seconds (a wait for a grace
/// period inside the caller's own section would never return).
fn returns_promptly(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: report its panic.
            worker.join().unwrap();
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: flush_frees waited"),
    }
}

#[test]
fn flush_in_a_section_frees_nothing_retired_after_it_began_and_never_waits() {
    returns_promptly("in a read-side section", || {
        let domain = Domain::new();
        // Sealed and elapsed before the section: a flush inside it may free these.
        for _ in 0..4 {
            retire::<2>(Some(&domain));
        }
        domain.flush_frees();
        domain.synchronize();
        {
            let _guard = domain.read_lock();
            // More flushes than the bag holds sealed segments: past the bound it hands the oldest
            // over (to be freed after a grace period that waits for this section) and never waits.
            const ROUNDS: u64 = 40;
            for _ in 0..ROUNDS {
                retire::<3>(Some(&domain));
                domain.flush_frees();
            }
            assert_eq!(
                freed(2),
                4,
                "sealed before the section, elapsed: freed by the flush"
            );
            assert_eq!(
                freed(3),
                0,
                "retired inside the section: its grace period waits for it"
            );
            let stats = freed_by_producers_only(&domain, 4);
            assert!(
                stats.frees_handed_to_callback_thread >= ROUNDS - 16,
                "{stats:?}"
            );
        }
        domain.barrier();
        assert_eq!(
            freed(3),
            40,
            "every object retired in the section is freed after it"
        );
    });
}
