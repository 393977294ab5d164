//! `load()` on both cells returns a `Loaded` that can be returned from a helper and keeps the value it
//! read alive until it is dropped; `RcuArcCell::swap` and `compare_and_swap` hand back the old value
//! while readers may still borrow it; `From<Arc<T>>` publishes the `Arc` itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use rcu_core::{Domain, Loaded, RcuArcCell, RcuCell, rcu_barrier, read_lock};

/// Counts its drops.
struct Counted {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

struct Config {
    name: String,
    limit: u32,
}

/// The helper of issue 22: `fn current(&self) -> &Config` did not compile (E0515).
struct Service {
    config: RcuCell<Config>,
    shared: RcuArcCell<Config>,
}

impl Service {
    fn current(&self) -> Loaded<'_, Config> {
        self.config.load()
    }

    fn shared(&self) -> Loaded<'_, Config> {
        self.shared.load()
    }

    fn name(&self) -> Loaded<'_, str> {
        Loaded::map(self.current(), |c| c.name.as_str())
    }
}

#[test]
fn a_helper_returns_a_loaded_value_of_either_cell() {
    let service = Service {
        config: RcuCell::new(Config {
            name: "a".into(),
            limit: 1,
        }),
        shared: RcuArcCell::from_pointee(Config {
            name: "s".into(),
            limit: 10,
        }),
    };
    let (current, shared, name) = (service.current(), service.shared(), service.name());
    assert_eq!((current.limit, shared.limit, &*name), (1, 10, "a"));
    assert!(rcu_core::read_ongoing());
    drop((current, shared, name));
    assert!(!rcu_core::read_ongoing(), "every Loaded ended its section");
    service.config.replace(Config {
        name: "b".into(),
        limit: 2,
    });
    assert_eq!((service.current().limit, &*service.name()), (2, "b"));
}

#[test]
fn loaded_keeps_the_value_it_read_until_dropped() {
    let drops = Arc::new(AtomicUsize::new(0));
    let make = |id| Counted {
        id,
        drops: drops.clone(),
    };
    let cell = RcuCell::new(make(0));
    let arc_cell = RcuArcCell::from_pointee(make(10));

    let (old, old_arc) = (cell.load(), arc_cell.load());
    cell.replace(make(1));
    arc_cell.store(Arc::new(make(11)));
    // Neither old value can be reclaimed while this thread's sections (the two `Loaded`s) run: the
    // grace period that frees them waits for them.
    assert_eq!((old.id, old_arc.id), (0, 10));
    assert_eq!((cell.load().id, arc_cell.load().id), (1, 11));
    assert_eq!(drops.load(SeqCst), 0);
    drop((old, old_arc));
    rcu_barrier();
    assert_eq!(drops.load(SeqCst), 2, "both old values dropped once");
}

#[test]
fn load_works_in_an_independent_domain() {
    let domain = Domain::new();
    let cell = RcuCell::new_in(5u32, &domain);
    let arc_cell = RcuArcCell::new_in(Arc::new(6u32), &domain);
    let (a, b): (Loaded<'_, u32, Domain>, Loaded<'_, u32, Domain>) = (cell.load(), arc_cell.load());
    assert!(domain.read_ongoing());
    // Another read of the same domain under the section a `Loaded` holds.
    assert_eq!(*arc_cell.read(Loaded::guard(&a)), 6);
    assert_eq!(*a + *b, 11);
    drop((a, b));
    assert!(!domain.read_ongoing());
}

#[test]
fn swap_returns_the_old_arc_and_releases_the_cells_count_after_a_grace_period() {
    let first = Arc::new(1);
    let cell = RcuArcCell::new(first.clone());
    let reader = read_lock();
    let borrowed = cell.read(&reader);
    let old = cell.swap(Arc::new(2));
    assert!(Arc::ptr_eq(&old, &first));
    // Ours, the caller's, and the cell's, which waits for the grace period `reader` holds up.
    assert_eq!(Arc::strong_count(&first), 3);
    drop(old);
    assert_eq!(*borrowed, 1, "the borrowed value is still alive");
    drop(reader);
    rcu_barrier();
    assert_eq!(
        Arc::strong_count(&first),
        1,
        "the cell's count was released"
    );
    assert_eq!(*cell.load(), 2);
}

#[test]
fn compare_and_swap_publishes_only_over_the_expected_value() {
    let cell = RcuArcCell::from_pointee(String::from("v1"));
    let v1 = cell.load_full();
    let found = cell.compare_and_swap(&v1, Arc::new(String::from("v2")));
    assert!(Arc::ptr_eq(&found, &v1));
    assert_eq!(*cell.load(), "v2");

    // `v1` is stale now: nothing is published, the current value comes back, `new` is dropped.
    let rejected = Arc::new(String::from("v3"));
    let found = cell.compare_and_swap(&v1, rejected.clone());
    assert_eq!(*found, "v2");
    assert_eq!(*cell.load(), "v2");
    assert_eq!(
        Arc::strong_count(&rejected),
        1,
        "the rejected value was dropped"
    );
    drop((found, v1));
    rcu_barrier();
    let current = cell.load_full();
    // The caller's and the cell's: no count leaked by either outcome.
    assert_eq!(Arc::strong_count(&current), 2);
}

#[test]
fn from_arc_publishes_the_arc_itself() {
    let shared = Arc::new(vec![1, 2]);
    let cell: RcuArcCell<Vec<i32>> = RcuArcCell::from(shared.clone());
    assert!(Arc::ptr_eq(&cell.load_full(), &shared));
    let cell: RcuArcCell<Vec<i32>> = shared.clone().into();
    assert_eq!(cell.load().len(), 2);
    let cell: RcuArcCell<Vec<i32>> = RcuArcCell::default();
    assert!(cell.load().is_empty());
}
