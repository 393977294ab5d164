//! [`RcuHead`] and the wait-free multi-producer, single-consumer callback queue.
//!
//! The queue is the one of QEMU's `util/rcu.c` and liburcu's `wfqueue`: producers link a node with one
//! atomic exchange of the tail and one Release store into the old tail's `next`, so `call_rcu` never
//! waits and never allocates. The single consumer (the callback thread) walks from a stub node.
//! Between a producer's exchange and its store the chain is briefly broken; the consumer only takes
//! nodes that were counted after they were linked (see `callbacks/worker.rs`) and waits out such a gap.
//!
//! Two details differ from the C code: the stub lives inside the queue and a null `tail` / `head`
//! means "the stub", so that the queue (and the default domain) can be built in a `static`.

use std::fmt;
use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, Ordering, UnsafeCell};

/// The callback type of the intrusive form: it receives the head that was queued.
pub type RcuCallback = unsafe fn(NonNull<RcuHead>);

/// An intrusive callback node, QEMU's `struct rcu_head`: embed one in a struct to reclaim it with
/// [`call_rcu1`](crate::call_rcu1) without allocating.
///
/// # Example
///
/// ```
/// use std::ptr::NonNull;
/// use rcu_core::{RcuHead, call_rcu1, container_of, rcu_barrier};
///
/// struct Node {
///     value: u64,
///     rcu: RcuHead,
/// }
///
/// unsafe fn free_node(head: NonNull<RcuHead>) {
///     // SAFETY: the head was queued from a `Box<Node>` leaked below.
///     let node = unsafe { Box::from_raw(container_of!(head, Node, rcu)) };
///     assert_eq!(node.value, 42);
/// }
///
/// let node = Box::into_raw(Box::new(Node { value: 42, rcu: RcuHead::new() }));
/// // ... unlink `node` from every RCU-visible place, then:
/// // SAFETY: the node stays allocated until `free_node` runs and is not queued twice.
/// unsafe { call_rcu1(NonNull::new(&raw mut (*node).rcu).unwrap(), free_node) };
/// rcu_barrier();
/// ```
pub struct RcuHead {
    pub(crate) next: AtomicPtr<RcuHead>,
    pub(crate) func: UnsafeCell<Option<RcuCallback>>,
}

// SAFETY: `next` is atomic; `func` is written only by the one producer that owns the head before it
// publishes the head (Release store, pairs with the consumer's Acquire load), and read only by the
// consumer after that; the head is never queued twice at once (contract of `call_rcu1`).
unsafe impl Send for RcuHead {}
// SAFETY: as above.
unsafe impl Sync for RcuHead {}

impl RcuHead {
    crate::sync::maybe_const_fn! {
        /// A head that is not queued.
        pub fn new() -> RcuHead {
            RcuHead {
                next: AtomicPtr::new(ptr::null_mut()),
                func: UnsafeCell::new(None),
            }
        }
    }
}

impl Default for RcuHead {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RcuHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcuHead").finish_non_exhaustive()
    }
}

/// Recovers a pointer to the struct that contains an [`RcuHead`], QEMU's `container_of`.
///
/// `container_of!(head, Type, field)` takes a `NonNull<RcuHead>` (or `*mut RcuHead`) pointing at
/// `Type::field` and returns `*mut Type`, using [`core::mem::offset_of!`]. It works for generic types
/// too (`container_of!(head, Node<T>, rcu)` inside a generic function). Computing the pointer is safe;
/// using it is up to the caller. See [`RcuHead`] for an example.
#[macro_export]
macro_rules! container_of {
    ($head:expr, $Container:ty, $field:ident) => {{
        let head: *mut $crate::RcuHead = $crate::__private::into_head_ptr($head);
        head.wrapping_byte_sub(::core::mem::offset_of!($Container, $field))
            .cast::<$Container>()
    }};
}

/// Support for [`container_of!`]: accepts both pointer forms.
#[doc(hidden)]
pub trait IntoHeadPtr {
    fn into_head_ptr(self) -> *mut RcuHead;
}

impl IntoHeadPtr for NonNull<RcuHead> {
    fn into_head_ptr(self) -> *mut RcuHead {
        self.as_ptr()
    }
}

impl IntoHeadPtr for *mut RcuHead {
    fn into_head_ptr(self) -> *mut RcuHead {
        self
    }
}

#[doc(hidden)]
pub fn into_head_ptr(p: impl IntoHeadPtr) -> *mut RcuHead {
    p.into_head_ptr()
}

/// The MPSC queue of pending callbacks.
pub(crate) struct CallbackQueue {
    stub: RcuHead,
    /// Last node; null means the stub. Producers only.
    tail: AtomicPtr<RcuHead>,
    /// Next node to look at; null means the stub. Consumer only (Invariant Q1).
    head: UnsafeCell<*mut RcuHead>,
}

// SAFETY: `head` is only touched by the single consumer (Invariant Q1: only the domain's callback
// thread calls `pop`, and only one such thread exists at a time); everything else is atomic.
unsafe impl Sync for CallbackQueue {}
// SAFETY: as above; the raw pointers refer to nodes owned by the queue until popped.
unsafe impl Send for CallbackQueue {}

impl fmt::Debug for CallbackQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackQueue").finish_non_exhaustive()
    }
}

impl CallbackQueue {
    crate::sync::maybe_const_fn! {
        pub(crate) fn new() -> CallbackQueue {
            CallbackQueue {
                stub: RcuHead::new(),
                tail: AtomicPtr::new(ptr::null_mut()),
                head: UnsafeCell::new(ptr::null_mut()),
            }
        }
    }

    fn stub_ptr(&self) -> *mut RcuHead {
        (&raw const self.stub).cast_mut()
    }

    fn or_stub(&self, p: *mut RcuHead) -> *mut RcuHead {
        if p.is_null() { self.stub_ptr() } else { p }
    }

    /// Appends `node`. Wait-free: one exchange and one store.
    ///
    /// # Safety
    /// 1. `node` points to a live `RcuHead` that stays valid until it is popped and handed to its
    ///    callback, and is not in this (or another) queue.
    /// 2. Its `func` was set by the caller (or it is the stub).
    pub(crate) unsafe fn push(&self, node: NonNull<RcuHead>) {
        // SAFETY: by 1 the node is live and not shared yet.
        unsafe { node.as_ref() }
            .next
            .store(ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: a one-node chain whose `next` is null; forwarded contract.
        unsafe { self.push_chain(node.as_ptr(), node.as_ptr()) };
    }

    /// Appends the chain `first ..= last` (linked through `next`) in one step: a per-thread buffer's
    /// hand-off costs the same exchange and store as one node.
    ///
    /// # Safety
    /// 1. Every node of the chain is as in [`push`](Self::push) 1 and 2; following `next` from
    ///    `first` reaches `last`, whose `next` is null.
    /// 2. The chain's links were written by this thread or are visible to it (happen-before).
    pub(crate) unsafe fn push_chain(&self, first: *mut RcuHead, last: *mut RcuHead) {
        // C1: AcqRel: Release publishes our `last.next = null` (and the chain's links) to the producer
        // that links after us (it writes `last.next`), Acquire takes the previous producer's
        // initialization of `prev`.
        let prev = self.or_stub(self.tail.swap(last, Ordering::AcqRel));
        // Release pairs with the consumer's Acquire load of `prev.next` in `pop`: the consumer sees
        // the chain fully initialized (every `func` and `next`).
        // C2: Release pairs with the consumer's Acquire load of `next` (C3).
        // SAFETY: `prev` is the stub or a node still in the queue: the consumer cannot pop `prev`
        // before `prev.next` is non-null, which only this store makes it.
        unsafe { (*prev).next.store(first, Ordering::Release) };
    }

    /// Takes the oldest node, or `None` if the queue is empty or a producer is between its two steps.
    ///
    /// # Safety
    /// Only the single consumer calls it (Invariant Q1).
    pub(crate) unsafe fn pop(&self) -> Option<NonNull<RcuHead>> {
        loop {
            // SAFETY: Q1: the consumer is the only thread touching `head`.
            let node = self.or_stub(self.head.with(|h| unsafe { *h }));
            // C3: Acquire pairs with the Release store in `push_chain` (C2).
            // SAFETY: `node` is the stub or a queued node, live until popped.
            let next = unsafe { (*node).next.load(Ordering::Acquire) };
            if next.is_null() {
                return None;
            }
            // SAFETY: Q1.
            self.head.with_mut(|h| unsafe { *h = next });
            if node == self.stub_ptr() {
                // The stub reached the front: send it to the back so that the last real node always
                // has a successor and can be taken.
                // SAFETY: the stub is live as long as the queue and is no longer linked.
                unsafe { self.push(NonNull::new_unchecked(node)) };
                continue;
            }
            // SAFETY: non-null: it came from `next` of another node, or was the non-null head.
            return Some(unsafe { NonNull::new_unchecked(node) });
        }
    }

    /// Pops until a node is available; the caller knows (through the pending count) that one is
    /// queued or about to be linked.
    ///
    /// # Safety
    /// As [`pop`](Self::pop), and a node must have been counted as queued.
    pub(crate) unsafe fn pop_blocking(&self) -> NonNull<RcuHead> {
        let mut backoff = crate::sync::Backoff::new();
        loop {
            // SAFETY: forwarded contract.
            if let Some(node) = unsafe { self.pop() } {
                return node;
            }
            backoff.snooze();
        }
    }
}

impl CallbackQueue {
    /// In a child process after `fork()`: makes the queue consistent again and returns how many
    /// callbacks it holds.
    ///
    /// A producer thread of the parent may have been between its exchange of `tail` and its store of
    /// `prev.next`; it does not exist in the child, so the chain would stay broken forever. Keep the
    /// part reachable from `head` and leak the unreachable rest (those callbacks still run in the
    /// parent; the child only loses its copies). The kept nodes are relinked behind the stub, in
    /// order, as if just pushed: the stub itself may be out of reach (the consumer sends it behind
    /// the tail it finds, which may be the torn producer's node), and without the stub behind it the
    /// last kept node could never be popped (`pop` takes a node only once it has a successor), so
    /// the child's callback thread spun in `pop_blocking` forever (the unit test below).
    ///
    /// # Safety
    /// Only in the single-threaded child, while no callback thread exists, between batches (the
    /// fork handlers hold the batch lock, so no `pop` was in progress).
    #[cfg(not(loom))]
    pub(crate) unsafe fn repair_after_fork(&self) -> u32 {
        let stub = self.stub_ptr();
        // The stub's successor is read before the relinking overwrites it.
        let stub_next = self.stub.next.load(Ordering::Relaxed);
        // SAFETY: single-threaded child: nothing else touches `head` (Q1 holds trivially).
        let mut node = self.or_stub(self.head.with(|h| unsafe { *h }));
        let mut last = stub;
        let mut count = 0u32;
        loop {
            let next = if node == stub {
                stub_next
            } else {
                // Relink behind the previous kept node (or the stub); that node's own successor
                // was read in the previous round, before this store.
                // SAFETY: `last` is the stub or a node reachable from `head`; queued nodes stay
                // valid until popped, and no other thread exists to touch them.
                unsafe { (*last).next.store(node, Ordering::Relaxed) };
                last = node;
                count += 1;
                // SAFETY: as above, for `node`.
                unsafe { (*node).next.load(Ordering::Relaxed) }
            };
            if next.is_null() {
                break;
            }
            node = next;
        }
        // SAFETY: as above, for `last`.
        unsafe { (*last).next.store(ptr::null_mut(), Ordering::Relaxed) };
        // SAFETY: single-threaded child, as above.
        self.head.with_mut(|h| unsafe { *h = ptr::null_mut() });
        let tail = if last == stub { ptr::null_mut() } else { last };
        self.tail.store(tail, Ordering::Relaxed);
        count
    }
}

/// Runs a popped node's callback.
///
/// # Safety
/// `node` was popped from a queue, so its `func` was set before it was published and the callback's
/// own contract (from `call_rcu1`) holds.
pub(crate) unsafe fn invoke(node: NonNull<RcuHead>) {
    // SAFETY: the consumer owns the popped node; `func` was published by the producer's Release store.
    let func = unsafe { node.as_ref() }.func.with(|f| unsafe { *f });
    let func = func.expect("rcu-core: a queued RcuHead had no callback (internal error)");
    // SAFETY: the contract of `call_rcu1` makes this call valid.
    unsafe { func(node) }
}

/// The callback queue, exposed only to the loom models in `tests/loom.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_queue {
    use super::{CallbackQueue, RcuHead};
    use std::ptr::NonNull;

    /// Wrapper around the crate-private queue.
    #[derive(Debug)]
    pub struct Queue(CallbackQueue);

    impl Queue {
        /// An empty queue.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            Queue(CallbackQueue::new())
        }

        /// See `CallbackQueue::push`.
        ///
        /// # Safety
        /// As `CallbackQueue::push` (the node's `func` may stay unset: the model never invokes it).
        pub unsafe fn push(&self, node: NonNull<RcuHead>) {
            // SAFETY: forwarded contract.
            unsafe { self.0.push(node) }
        }

        /// See `CallbackQueue::pop`.
        ///
        /// # Safety
        /// Single consumer.
        pub unsafe fn pop(&self) -> Option<NonNull<RcuHead>> {
            // SAFETY: forwarded contract.
            unsafe { self.0.pop() }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A fresh head with a callback that never runs here (the test only pops).
    fn head() -> NonNull<RcuHead> {
        unsafe fn unused(_: NonNull<RcuHead>) {}
        let head = Box::leak(Box::new(RcuHead::new()));
        head.func.with_mut(|f| {
            // SAFETY: the head is not queued yet: this thread has it alone.
            unsafe { *f = Some(unused as RcuCallback) }
        });
        NonNull::from(head)
    }

    /// What a fork can catch: producer P has exchanged the tail (its node `x` is now the tail) but
    /// not yet linked the old tail `b` to it, and the consumer, between two batches, already sent
    /// the stub behind `x`. The child must still be able to pop every node it counts: `b`, the
    /// end of what is reachable, has no successor there and the stub is out of reach, so the old
    /// repair (which only moved `tail`) left `b` unpoppable and the child's callback thread spun
    /// in `pop_blocking` forever (seen as a hung `rcu_barrier_async` in
    /// `tests/fork_busy_locks.rs`).
    #[test]
    fn repair_after_a_torn_push_leaves_every_counted_node_poppable() {
        let queue = CallbackQueue::new();
        let (a, b, x) = (head(), head(), head());
        // SAFETY: this thread plays every producer and the consumer in turn;
        // the heads are leaked, so they stay valid; none is queued twice.
        unsafe {
            queue.push(a);
            queue.push(b);
            // P's first step only: the tail is `x`, `b.next` is still null.
            x.as_ref().next.store(ptr::null_mut(), Ordering::Relaxed);
            queue.tail.swap(x.as_ptr(), Ordering::AcqRel);
            // A batch of one: passes the stub (re-queued behind `x`), returns `a`.
            assert_eq!(queue.pop(), Some(a));
            // The fork: the child repairs the queue.
            assert_eq!(queue.repair_after_fork(), 1, "one node (`b`) is reachable");
            assert_eq!(
                queue.pop(),
                Some(b),
                "the counted node `b` cannot be popped"
            );
            assert_eq!(queue.pop(), None);
            // The repaired queue works on: a new push is popped in order.
            let c = head();
            queue.push(c);
            assert_eq!(queue.pop(), Some(c));
        }
    }

    /// The repair keeps the reachable nodes in order when the stub sits between them (the usual
    /// state between batches), and counts only real nodes.
    #[test]
    fn repair_keeps_order_around_the_stub() {
        let queue = CallbackQueue::new();
        let (a, b, c) = (head(), head(), head());
        // SAFETY: as in the test above.
        unsafe {
            queue.push(a);
            queue.push(b);
            assert_eq!(queue.pop(), Some(a)); // head = b -> stub
            queue.push(c); // b -> stub -> c
            assert_eq!(queue.repair_after_fork(), 2);
            assert_eq!(queue.pop(), Some(b));
            assert_eq!(queue.pop(), Some(c));
            assert_eq!(queue.pop(), None);
            assert_eq!(queue.repair_after_fork(), 0, "an empty queue stays empty");
            queue.push(a);
            assert_eq!(queue.pop(), Some(a));
        }
    }
}
