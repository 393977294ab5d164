//! Handles outliving their element, their list and their grace period: never a dangling read, never
//! writer access to an element that is not on the writer's list, and the value is dropped exactly once,
//! after both the grace period and the last handle.
#![cfg(not(loom))]

use rcu_queue::family::{Family, List, Simpleq, Slist, Tailq};
use rcu_queue::{Handle, RcuQueue};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Relaxed);
    }
}

fn lifecycle<F: Family>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let list: RcuQueue<Counted, F> = RcuQueue::new();
    let other: RcuQueue<Counted, F> = RcuQueue::new();
    let a: Handle<Counted, F> = list.lock().push_back(Counted(1, drops.clone())).handle();
    let b = list.lock().push_back(Counted(2, drops.clone())).handle();
    let b2 = b.clone();

    // Another list's writer cannot reach `a`, even though the types match.
    assert!(other.lock().cursor(&a).is_none(), "{}", F::NAME);

    // Removed through one handle: the others go stale for writers but still read the value, after
    // the grace period too.
    let removed = list.lock().cursor(&b).unwrap().remove();
    assert!(list.lock().cursor(&b2).is_none(), "{}", F::NAME);
    rcu_core::rcu_barrier();
    assert_eq!((removed.0, b.0, b2.0), (2, 2, 2));
    assert_eq!(
        drops.load(Relaxed),
        0,
        "{}: dropped under a live handle",
        F::NAME
    );
    drop((removed, b));
    assert_eq!(drops.load(Relaxed), 0, "{}", F::NAME);
    drop(b2);
    assert_eq!(
        drops.load(Relaxed),
        1,
        "{}: last handle drops the value",
        F::NAME
    );

    // The list goes away: `a` stays readable and stale; a new list never accepts it.
    drop(list);
    rcu_core::rcu_barrier();
    assert_eq!(a.0, 1);
    let fresh: RcuQueue<Counted, F> = RcuQueue::new();
    assert!(fresh.lock().cursor(&a).is_none(), "{}", F::NAME);
    assert_eq!(drops.load(Relaxed), 1);
    drop(a);
    assert_eq!(drops.load(Relaxed), 2, "{}", F::NAME);

    // Without handles the value is still dropped after the grace period, on the callback thread.
    other.lock().push_front(Counted(3, drops.clone()));
    assert!(other.lock().remove_first(|c| c.0 == 3).is_some());
    rcu_core::rcu_barrier();
    assert_eq!(drops.load(Relaxed), 3, "{}", F::NAME);
}

#[test]
fn qtailq_handle_lifecycle() {
    lifecycle::<Tailq>();
}

#[test]
fn qlist_handle_lifecycle() {
    lifecycle::<List>();
}

#[test]
fn qsimpleq_handle_lifecycle() {
    lifecycle::<Simpleq>();
}

#[test]
fn qslist_handle_lifecycle() {
    lifecycle::<Slist>();
}

/// A reader keeps walking while the writer unplugs elements by handle (QEMU's bus_remove_child on a
/// bus whose children an iothread is reading), and every value is dropped exactly once.
#[test]
fn unplug_by_handle_under_readers() {
    let drops = Arc::new(AtomicUsize::new(0));
    let list: RcuQueue<Counted, Tailq> = RcuQueue::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let visited = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Relaxed) {
                let guard = rcu_core::read_lock();
                let n = list.iter(&guard).filter(|c| c.0 < 1_000_000).count();
                visited.fetch_add(n, Relaxed);
            }
        });
        let mut kept: Vec<Handle<Counted>> = Vec::new();
        for i in 0..2_000u32 {
            kept.push(list.lock().push_back(Counted(i, drops.clone())).handle());
            if kept.len() > 16 {
                let victim = kept.swap_remove((i as usize * 7) % kept.len());
                assert_eq!(
                    list.lock().cursor(&victim).map(|c| c.remove().0),
                    Some(victim.0)
                );
            }
        }
        // Let the reader see the populated list at least once before stopping.
        while visited.load(Relaxed) == 0 {
            std::thread::yield_now();
        }
        stop.store(true, Relaxed);
    });
    drop(list);
    rcu_core::rcu_barrier();
    assert_eq!(drops.load(Relaxed), 2_000);
    assert!(visited.load(Relaxed) > 0);
}

static_assertions::assert_impl_all!(Handle<String>: Send, Sync, Clone);
static_assertions::assert_not_impl_any!(rcu_queue::CursorMut<'static, u8>: Send, Sync);
