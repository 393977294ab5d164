//! Writer-lock misuse across several `RcuHashMap`s panics or is made harmless instead of deadlocking
//! (issue 18, item 6):
//!
//! * the "already holds a writer lock of this map" check used to record one map per thread, so with
//!   entries of two maps alive a second write to the second map blocked on its own stripe for ever;
//! * an insert that grows the table takes every stripe of its map, so two threads that each held an
//!   entry of one map and inserted into the other waited for each other for ever.
//!
//! Each scenario runs on threads of its own; the test waits for them with a deadline, so a
//! regression fails (the hung threads are left behind and end with the process) instead of hanging.

use rcu_queue::RcuHashMap;
use rcu_queue::map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

/// How long a scenario may take before it counts as deadlocked (it needs milliseconds).
const DEADLINE: Duration = Duration::from_secs(20);

/// Hashes a `u64` key to itself, so a test picks stripes (the low 6 bits) and buckets exactly.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = RcuHashMap<u64, u64, BuildHasherDefault<Identity>>;

/// Runs `scenario` on a thread of its own and returns its result, or fails the test if it has not
/// finished by the deadline.
fn bounded<R: Send + 'static>(what: &str, scenario: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(scenario());
    });
    finished.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        panic!("{what}: deadlocked (not finished after {DEADLINE:?})");
    })
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn assert_names_the_misuse(msg: &str) {
    assert!(
        msg.contains("already holds a writer lock of this map") && msg.contains("drop the Entry"),
        "unexpected panic: {msg}"
    );
}

/// Entries of two maps are held (the one not written to dropped again if `drop_other`), then this thread
/// writes to the map named by `write_to_second` in its held entry's stripe: that must panic.
fn write_with_entries_of_two_maps(drop_other: bool, write_to_second: bool) -> String {
    let (first, second) = (Map::default(), Map::default());
    first.insert(1, 1);
    second.insert(1, 1);
    let guard = rcu_core::read_lock();
    let first_entry = first.entry(1, &guard);
    let second_entry = second.entry(1, &guard);
    let (target, _target_entry, other_entry) = if write_to_second {
        (&second, second_entry, first_entry)
    } else {
        (&first, first_entry, second_entry)
    };
    if drop_other {
        drop(other_entry);
    }
    // 65 shares key 1's stripe (and bucket): the write would wait for the held entry.
    panic_message(|| {
        target.insert(65, 0);
    })
}

#[test]
fn a_write_to_a_map_whose_entry_is_held_panics_whatever_other_maps_are_held() {
    for (drop_other, write_to_second) in
        [(false, true), (true, true), (false, false), (true, false)]
    {
        let what = format!(
            "entries of two maps{}, then an insert in the {} map's held stripe",
            if drop_other {
                " (the other one dropped again)"
            } else {
                ""
            },
            if write_to_second { "second" } else { "first" }
        );
        let msg = bounded(&what, move || {
            write_with_entries_of_two_maps(drop_other, write_to_second)
        });
        assert_names_the_misuse(&msg);
    }
    // The other writers too: `remove`, `entry` and `retain` of a map whose entry is held.
    let msg = bounded("remove/entry/retain with an entry held", || {
        let (a, b) = (Map::default(), Map::default());
        b.insert(2, 2);
        let guard = rcu_core::read_lock();
        let _ea = a.entry(1, &guard);
        let _eb = b.entry(2, &guard);
        [
            panic_message(|| {
                b.remove(&2);
            }),
            panic_message(|| drop(b.entry(3, &guard))),
            panic_message(|| b.retain(|_, _| true)),
        ]
    });
    for msg in msg {
        assert_names_the_misuse(&msg);
    }
}

#[test]
fn crossed_entries_and_inserts_that_would_grow_do_not_deadlock() {
    // Both maps hold FULL keys in 64 buckets, as many per stripe as the table is sized for: one more
    // key makes an insert grow the table, which takes every stripe of the map.
    const FULL: u64 = 4 * 64;
    let (a, b) = (Arc::new(Map::default()), Arc::new(Map::default()));
    for key in 0..FULL {
        a.insert(key, key);
        b.insert(key, key);
    }
    assert_eq!((a.buckets(), b.buckets()), (64, 64));
    let both_hold = Arc::new(Barrier::new(2));
    // Thread 1 holds a's stripe 0 and inserts into b's stripe 5; thread 2 holds b's stripe 7 and
    // inserts into a's stripe 9. Before the fix each insert's resize waited for the other thread's
    // stripe.
    let crossed = |held: Arc<Map>, held_key: u64, into: Arc<Map>, key: u64| {
        let both_hold = Arc::clone(&both_hold);
        move || {
            let guard = rcu_core::read_lock();
            let entry = held.entry(held_key, &guard);
            assert!(matches!(entry, Entry::Occupied(_)));
            both_hold.wait();
            into.insert(key, key);
            drop(entry);
        }
    };
    let one = crossed(Arc::clone(&a), 0, Arc::clone(&b), FULL + 5);
    let two = crossed(Arc::clone(&b), 7, Arc::clone(&a), FULL + 9);
    bounded(
        "two threads, each holding an entry of one map and inserting into the other",
        move || {
            let two = thread::spawn(two);
            one();
            two.join().unwrap();
        },
    );
    assert_eq!((a.len() as u64, b.len() as u64), (FULL + 1, FULL + 1));
    // The resize was postponed, not lost: the next insert without entries held grows the table.
    assert_eq!((a.buckets(), b.buckets()), (64, 64));
    a.insert(2 * FULL + 9, 0);
    b.insert(2 * FULL + 5, 0);
    assert!(
        a.buckets() > 64 && b.buckets() > 64,
        "no resize after the entries were dropped"
    );
    let guard = rcu_core::read_lock();
    for key in (0..FULL).chain([FULL + 5, FULL + 9]) {
        let in_a = key != FULL + 5;
        let in_b = key != FULL + 9;
        assert_eq!(a.get(&key, &guard).is_some(), in_a, "a: key {key}");
        assert_eq!(b.get(&key, &guard).is_some(), in_b, "b: key {key}");
    }
}
