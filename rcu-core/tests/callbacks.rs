//! `call_rcu`, the intrusive `call_rcu1` and `rcu_barrier` on the default domain: callbacks wait for
//! readers, `rcu_barrier` drains everything queued before it, and the callback thread survives
//! panicking callbacks, callbacks that queue callbacks, and an illegal `rcu_barrier` from a callback.

#[path = "common/payload.rs"]
mod payload;

use std::panic;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use rcu_core::{RcuHead, call_rcu, container_of, rcu_barrier, read_lock, stats};

/// `RcuHead::new` is usable in constant contexts.
const _: RcuHead = RcuHead::new();

/// Queues a callback that sets a flag, and returns the flag.
fn queue_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    call_rcu(move || set.store(true, SeqCst));
    flag
}

#[test]
fn callback_waits_for_preexisting_reader() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        let _guard = read_lock();
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    entered_rx.recv().unwrap();
    let ran = queue_flag();
    // However the callback thread is scheduled meanwhile, it cannot run the callback while the reader
    // that was inside at call_rcu time is still inside.
    for _ in 0..1000 {
        assert!(
            !ran.load(SeqCst),
            "call_rcu callback ran during a pre-existing reader's section"
        );
        thread::yield_now();
    }
    release_tx.send(()).unwrap();
    reader.join().unwrap();
    rcu_barrier();
    assert!(ran.load(SeqCst));
}

#[test]
fn rcu_barrier_runs_every_callback_queued_before_it() {
    const PER_THREAD: usize = 5000;
    let count = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let count = Arc::clone(&count);
            thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    let count = Arc::clone(&count);
                    call_rcu(move || {
                        count.fetch_add(1, SeqCst);
                    });
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    rcu_barrier();
    assert_eq!(count.load(SeqCst), 2 * PER_THREAD);
}

#[test]
fn callback_may_queue_callbacks() {
    // One level, checked with two barriers: after the first, the outer callback has run and so queued
    // the inner one, which the second barrier then waits for.
    let inner_ran = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&inner_ran);
    call_rcu(move || call_rcu(move || set.store(true, SeqCst)));
    rcu_barrier();
    rcu_barrier();
    assert!(inner_ran.load(SeqCst));

    // A chain of 100 callbacks, each queueing the next one.
    fn chain(remaining: u32, done: mpsc::Sender<()>) {
        call_rcu(move || {
            if remaining == 0 {
                done.send(()).unwrap();
            } else {
                chain(remaining - 1, done);
            }
        });
    }
    let (done_tx, done_rx) = mpsc::channel();
    chain(100, done_tx);
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a chain of self-requeueing callbacks did not finish");
}

#[test]
fn panicking_callback_does_not_stop_the_callback_thread() {
    let before = stats().callback_panics;
    for _ in 0..3 {
        call_rcu(|| panic!("deliberate panic in an RCU callback (test)"));
    }
    let ran = queue_flag();
    rcu_barrier();
    assert!(
        ran.load(SeqCst),
        "a callback queued after a panicking one did not run"
    );
    assert!(stats().callback_panics >= before + 3);
    // Still alive afterwards.
    let ran = queue_flag();
    rcu_barrier();
    assert!(ran.load(SeqCst));
}

#[test]
fn rcu_barrier_inside_callback_panics_with_clear_message() {
    let (tx, rx) = mpsc::channel();
    call_rcu(move || {
        let message = panic::catch_unwind(rcu_barrier)
            .err()
            .map(|p| payload::message(&*p));
        tx.send(message).unwrap();
    });
    rcu_barrier();
    let message = rx
        .try_recv()
        .expect("rcu_barrier returned before the callback queued before it ran")
        .expect("rcu_barrier called from an RCU callback must panic, not deadlock");
    let lower = message.to_lowercase();
    assert!(lower.contains("rcu_barrier"), "{message:?}");
    assert!(lower.contains("callback"), "{message:?}");
}

#[test]
fn rcu_barrier_inside_callback_is_reported_and_survived() {
    let before = stats().callback_panics;
    call_rcu(rcu_barrier);
    let ran = queue_flag();
    rcu_barrier();
    assert!(ran.load(SeqCst));
    assert!(stats().callback_panics > before);
}

/// A heap node freed through its embedded `RcuHead` (the QEMU `call_rcu(obj, func, field)` pattern).
struct Node<T> {
    value: T,
    check: u64,
    rcu: RcuHead,
    freed: Arc<AtomicUsize>,
}

/// # Safety
///
/// `head` is the `rcu` field of a `Node<T>` leaked with `Box::into_raw`, passed here exactly once.
unsafe fn free_node<T: PartialEq<String>>(head: NonNull<RcuHead>) {
    // SAFETY: by this function's contract the node is a leaked box nobody else owns any more.
    let node = unsafe { Box::from_raw(container_of!(head, Node<T>, rcu)) };
    if node.value == format!("node {}", node.check) {
        node.freed.fetch_add(1, SeqCst);
    }
}

#[test]
fn call_rcu1_recovers_the_containing_object() {
    const NODES: u64 = 500;
    let freed = Arc::new(AtomicUsize::new(0));
    for i in 0..NODES {
        let node = Box::into_raw(Box::new(Node {
            value: format!("node {i}"),
            check: i,
            rcu: RcuHead::default(),
            freed: Arc::clone(&freed),
        }));
        // SAFETY: `node` comes from `Box::into_raw`, so it is valid; `&raw mut` keeps the provenance of
        // the whole node for `container_of!`.
        let head = unsafe { NonNull::new_unchecked(&raw mut (*node).rcu) };
        // SAFETY: the node stays allocated until `free_node` frees it, its head is fresh (not queued
        // twice), and `free_node::<String>` matches its type.
        unsafe { rcu_core::call_rcu1(head, free_node::<String>) };
    }
    rcu_barrier();
    assert_eq!(
        freed.load(SeqCst),
        NODES as usize,
        "some node was lost or corrupted"
    );
}
