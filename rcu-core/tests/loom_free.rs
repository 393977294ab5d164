//! loom models of the producer → free hand-off of `defer_free` (`callbacks/bag.rs`) through the
//! code users call, in an independent `Domain`: the calling thread's free bag found through its
//! thread-local entry, sealing a segment with a poll snapshot and requesting a grace period,
//! freeing the oldest segment on the producer after waiting for its grace period (past the bound),
//! or handing it to the callback thread (past the bound in a `NoWaitRegion`), and the domain's last
//! drop handing the rest over before its barrier. Under loom a segment holds one entry and a thread one sealed segment, so
//! the second `defer_free` already reaches the bound.
//!
//! The "free" writes to a loom cell the reader reads: loom reports it unless every reader that
//! could still see the object left its section first (`free` only releases memory; writing the
//! poison stands for that, as `rcu_test_support::PoisonAlloc` does).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 cargo test -p rcu-core --release --test
//! loom_free` (preemption bound 2, `common/loom_model.rs`). Built with `--cfg rcu_broken_gp` as
//! well, the first model is its own negative control (the second one's needs bound 3, see there): grace periods stop waiting and loom must report
//! the free racing the reader (or the reader must see the poison). loom then aborts the process
//! while it unwinds (the threads' thread-local entries hold loom objects that panic when dropped
//! outside the model), so there the model runs in a child process of the test binary, and the
//! test checks that the child failed with that report (as `tests/loom_negative.rs` does for the
//! lost wake-up).
#![cfg(loom)]

#[path = "common/loom_model.rs"]
mod loom_model;

use std::ptr::NonNull;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicPtr, Ordering};
use loom::thread;
use loom_model::model;
use rcu_core::Domain;

/// Runs `f` as a loom model; with `--cfg rcu_broken_gp`, in a child process that must report the
/// race (module docs). `name` is the test's name.
fn check(name: &str, f: fn()) {
    #[cfg(not(rcu_broken_gp))]
    {
        let _ = name;
        model(f);
    }
    #[cfg(rcu_broken_gp)]
    {
        let Some((status, stderr)) =
            rcu_test_support::rerun::failing_child(name, "RCU_CORE_LOOM_FREE_CHILD")
        else {
            model(f);
            return;
        };
        assert!(
            !status.success()
                && (stderr.contains("Causality violation")
                    || stderr.contains("reader saw a freed node")),
            "loom did not report the early free (status {status}); stderr:\n{stderr}"
        );
    }
}

/// An object readers may load; "freeing" it writes to `value`.
struct Node {
    value: UnsafeCell<u32>,
}

// SAFETY: accesses are checked by loom; an unordered pair of them is the bug under test.
unsafe impl Sync for Node {}
// SAFETY: as above.
unsafe impl Send for Node {}

/// The `free` function handed to `defer_free`: the poisoning write, no deallocation (the nodes
/// live in the model's arena, so a broken run reads no freed memory).
///
/// # Safety
/// `ptr` points to a `Node` of a live arena.
unsafe fn poison(ptr: NonNull<u8>) {
    // SAFETY: per the contract; loom checks the write against the reader's read.
    unsafe { (*ptr.cast::<Node>().as_ptr()).value.with_mut(|v| *v = 0) };
}

fn node_ptr(node: &Node) -> *mut Node {
    (node as *const Node).cast_mut()
}

/// A domain, three nodes, a slot publishing the first, and a reader thread that reads the
/// published node inside a section of the domain.
fn setup() -> (
    Domain,
    Arc<[Node; 3]>,
    Arc<AtomicPtr<Node>>,
    thread::JoinHandle<()>,
) {
    let domain = Domain::new();
    let nodes = Arc::new([1, 2, 3].map(|v| Node {
        value: UnsafeCell::new(v),
    }));
    let slot = Arc::new(AtomicPtr::new(node_ptr(&nodes[0])));
    let reader = {
        let (domain, nodes, slot) = (domain.clone(), nodes.clone(), slot.clone());
        thread::spawn(move || {
            let guard = domain.read_lock();
            let p = slot.load(Ordering::Acquire);
            // SAFETY: `p` is a node of the arena, which `nodes` keeps alive; loom checks the read.
            let v = unsafe { (*p).value.with(|v| *v) };
            assert!(v == 1 || v == 2, "reader saw a freed node");
            drop(guard);
            drop(nodes);
        })
    };
    (domain, nodes, slot, reader)
}

/// The writer unpublishes node 0 and retires it, then retires node 2 (never published): past the
/// bound, the writer waits for node 0's grace period and frees it itself, while the reader may
/// still be inside its section. Three threads: writer, reader, callback thread (started by the
/// grace-period request of the first seal).
#[test]
fn producer_frees_its_segment_after_the_grace_period() {
    check("producer_frees_its_segment_after_the_grace_period", || {
        let (domain, nodes, slot, reader) = setup();
        slot.store(node_ptr(&nodes[1]), Ordering::Release);
        // SAFETY: node 0 is unpublished; `poison` only writes to it; the arena outlives the model.
        unsafe { domain.defer_free(NonNull::from(&nodes[0]).cast(), poison) };
        // SAFETY: node 2 was never published.
        unsafe { domain.defer_free(NonNull::from(&nodes[2]).cast(), poison) };
        reader.join().unwrap();
        // The last handle: hands this thread's bag over, runs the pending callbacks (a barrier)
        // and joins the callback thread.
        drop(domain);
    });
}

/// The same inside a `NoWaitRegion`: past the bound the writer must not wait, so it hands node 0's
/// segment to the callback thread, which frees it after its own grace period.
///
/// Not a negative control at preemption bound 2: with grace periods broken, loom needs three
/// preemptions to run the callback thread's batch between the reader's load and its read (it then
/// reports the race: 245 s at bound 3, measured once). The callback thread's side of this path is
/// the one every `call_rcu` takes, whose negative controls are `tests/loom_cell.rs` and
/// `tests/loom_negative.rs`; the producer's side is the model above.
#[cfg(not(rcu_broken_gp))]
#[test]
fn segment_handed_to_the_callback_thread_is_freed_after_the_grace_period() {
    check(
        "segment_handed_to_the_callback_thread_is_freed_after_the_grace_period",
        || {
            let (domain, nodes, slot, reader) = setup();
            let no_wait = rcu_core::no_wait_region();
            slot.store(node_ptr(&nodes[1]), Ordering::Release);
            // SAFETY: as above.
            unsafe { domain.defer_free(NonNull::from(&nodes[0]).cast(), poison) };
            // SAFETY: as above.
            unsafe { domain.defer_free(NonNull::from(&nodes[2]).cast(), poison) };
            drop(no_wait);
            reader.join().unwrap();
            // The last handle: hands this thread's bag over, runs the pending callbacks (a barrier)
            // and joins the callback thread.
            drop(domain);
        },
    );
}
