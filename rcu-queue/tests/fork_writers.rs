//! In a child process after `fork()`, every writer of a list or map of an independent `Domain`
//! created in the parent fails *before* it changes anything (issue 18, item 5): the domain's
//! callback thread stayed in the parent, so a removal could never be reclaimed there. Before the fix
//! insertions went through (nothing of theirs needs the callback thread), and removals unlinked the
//! element and then panicked in `call_rcu1`, leaving the container changed and the element leaked.
//!
//! Readers keep working in the child: each container is read before and after every failed write,
//! and must be unchanged. One test in this binary, so that no other test thread runs while it forks.
#![cfg(unix)]

use rcu_test_support::fork;

use rcu_core::Domain;
use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_queue::map::Entry;
use rcu_queue::{RcuHashMap, RcuQueue, WriterLock};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

type Map = RcuHashMap<u32, u32, std::collections::hash_map::RandomState, Domain>;

/// Runs the write `what`, which must panic with rcu-core's fork message, and checks with `read` that
/// it changed nothing.
fn refused<S: PartialEq + std::fmt::Debug>(what: &str, read: impl Fn() -> S, write: impl FnOnce()) {
    let before = read();
    let result = panic::catch_unwind(AssertUnwindSafe(write));
    let after = read();
    assert_eq!(
        before, after,
        "{what} in a fork child changed the container"
    );
    let err = match result {
        Ok(()) => panic!("{what} in a fork child did not panic (and changed nothing)"),
        Err(err) => err,
    };
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains("child process"),
        "{what} in a fork child: unexpected panic: {msg}"
    );
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A list of family `F` holding three [`Counted`] values.
fn counted<F: Family>(domain: &Domain, drops: &Arc<AtomicUsize>) -> RcuQueue<Counted, F, Domain> {
    let list = RcuQueue::new_in(domain);
    let mut w = list.lock();
    for _ in 0..3 {
        w.push_back(Counted(drops.clone()));
    }
    drop(w);
    list
}

/// A list of family `F` holding 1, 2, 3.
fn list<F: Family>(domain: &Domain) -> RcuQueue<u32, F, Domain> {
    let list = RcuQueue::new_in(domain);
    {
        let mut w = list.lock();
        for v in 1..=3 {
            w.push_back(v);
        }
    }
    list
}

fn check_list<F: Family>(list: &RcuQueue<u32, F, Domain>, domain: &Domain) {
    let read = || list.iter(&domain.read_lock()).copied().collect::<Vec<_>>();
    assert_eq!(read(), [1, 2, 3]);
    let name = F::NAME;
    refused(&format!("{name} push_front"), read, || {
        list.lock().push_front(0);
    });
    refused(&format!("{name} push_back"), read, || {
        list.lock().push_back(4);
    });
    refused(&format!("{name} insert_after"), read, || {
        let _ = list.lock().insert_after(|&v| v == 1, 9);
    });
    refused(&format!("{name} remove_first"), read, || {
        list.lock().remove_first(|&v| v == 2);
    });
    refused(&format!("{name} retain"), read, || {
        list.lock().retain(|&v| v == 2)
    });
    refused(&format!("{name} clear"), read, || list.lock().clear());
}

fn check_external_list(list: &RcuQueue<u32, Tailq, Domain>, lock: &WriterLock, domain: &Domain) {
    let read = || list.iter(&domain.read_lock()).copied().collect::<Vec<_>>();
    assert_eq!(read(), [7]);
    refused("QTAILQ (external lock) push_back", read, || {
        list.writer(&mut lock.lock()).push_back(8);
    });
    refused("QTAILQ (external lock) remove_first", read, || {
        list.writer(&mut lock.lock()).remove_first(|_| true);
    });
}

fn check_map(map: &Map, domain: &Domain) {
    let read = || {
        let mut pairs: Vec<(u32, u32)> = map
            .iter(&domain.read_lock())
            .map(|(&k, &v)| (k, v))
            .collect();
        pairs.sort_unstable();
        (pairs, map.len(), map.buckets())
    };
    let (pairs, _, _) = read();
    assert_eq!(pairs, (0..100).map(|k| (k, k)).collect::<Vec<_>>());
    refused("RcuHashMap insert (new key)", read, || {
        map.insert(1000, 0);
    });
    refused("RcuHashMap insert (replace)", read, || {
        map.insert(5, 0);
    });
    refused("RcuHashMap remove", read, || {
        map.remove(&5);
    });
    refused("RcuHashMap entry + remove", read, || {
        if let Entry::Occupied(e) = map.entry(6, &domain.read_lock()) {
            e.remove();
        }
    });
    refused("RcuHashMap entry + insert", read, || {
        if let Entry::Vacant(e) = map.entry(2000, &domain.read_lock()) {
            e.insert(1);
        }
    });
    refused("RcuHashMap retain", read, || map.retain(|&k, _| k < 50));
    refused("RcuHashMap resize", read, || {
        map.resize(10_000);
    });
}

#[test]
fn writers_of_a_parents_domain_fail_in_a_fork_child_before_changing_anything() {
    let domain = Domain::new();
    let tailq = list::<Tailq>(&domain);
    let qlist = list::<List>(&domain);
    let simpleq = list::<Simpleq>(&domain);
    let slist = list::<Slist>(&domain);
    let lock = WriterLock::new(());
    let external = RcuQueue::<u32, Tailq, Domain>::with_external_lock_in(&lock, &domain);
    external.writer(&mut lock.lock()).push_back(7);
    let map = Map::new_in(&domain);
    for k in 0..100 {
        map.insert(k, k);
    }
    // Removals before the fork: the domain's callback thread exists (in the parent only).
    map.insert(100, 100);
    map.remove(&100);
    domain.barrier();
    drop(domain.read_lock()); // this thread's reader record exists in the child too

    let mut owned = list::<Tailq>(&domain);
    let drops = Arc::new(AtomicUsize::new(0));
    let doomed = (
        counted::<Tailq>(&domain, &drops),
        counted::<List>(&domain, &drops),
        counted::<Simpleq>(&domain, &drops),
        counted::<Slist>(&domain, &drops),
    );
    let status = fork::fork_with(|| {
        // Dropping a list frees its elements at once (nothing can borrow it any more): it needs no
        // grace period, so it works in the child too. It used to queue them with `call_rcu1`, which
        // panicked inside `Drop`.
        let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(doomed)));
        assert!(
            dropped.is_ok(),
            "dropping a list of a parent's Domain in a fork child panicked"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            12,
            "dropping the lists in a fork child did not drop their elements"
        );
        // `Extend for RcuQueue` writes through `&mut self`, with no lock to take.
        let before: Vec<u32> = owned.iter(&domain.read_lock()).copied().collect();
        let extended = panic::catch_unwind(AssertUnwindSafe(|| owned.extend([8, 9])));
        let after: Vec<u32> = owned.iter(&domain.read_lock()).copied().collect();
        assert_eq!(
            before, after,
            "RcuQueue::extend in a fork child changed the list"
        );
        assert!(
            extended.is_err(),
            "RcuQueue::extend in a fork child did not panic"
        );
        check_list(&tailq, &domain);
        check_list(&qlist, &domain);
        check_list(&simpleq, &domain);
        check_list(&slist, &domain);
        check_external_list(&external, &lock, &domain);
        check_map(&map, &domain);
        0
    });
    assert!(
        fork::exited_ok(status),
        "child failed: {}",
        fork::describe(status)
    );
    // The parent's containers still take writes.
    tailq.lock().push_back(4);
    assert!(map.remove(&5));
    assert_eq!(map.len(), 99);
}
