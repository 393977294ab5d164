//! Per-thread callback buffers: `call_rcu` appends to a list private to the calling thread, with no
//! atomic read-modify-write, and hands full lists to the shared queue in bulk (Linux's per-CPU
//! callback lists, liburcu's per-CPU `call_rcu_data`, crossbeam-epoch's local bags).
//!
//! # The hand-off
//! A buffer is owned by one thread, but the callback thread and `rcu_barrier` must be able to take
//! its entries (a thread that queued a callback and then went idle, or a barrier that must wait for
//! it). The owner and such a *collector* meet in an asymmetric Dekker handshake, the same one the
//! read side uses with the grace period (`barrier.rs`):
//!
//! - owner: `busy = true`; [`light`](crate::barrier::light); read `steal` (and the callback
//!   thread's `SLEEPING` bit); if `steal` is clear, touch the list; `busy = false` (Release). If
//!   `steal` is set, `busy = false` at once, wait *outside* the window until `steal` is clear again,
//!   and start over.
//! - collector, holding the callback half's buffer-registry lock: `steal = true` on every buffer;
//!   [`heavy`](crate::barrier::heavy); for each buffer wait until `busy` is false (Acquire), take
//!   its whole list, push it to the shared queue, `steal = false` (Release).
//!
//! By the barrier pair's contract, for every owner window either the owner's `busy = true` is visible
//! to the collector after its `heavy()` (the collector waits for the window to end and then sees the
//! list it left), or the collector's `steal = true` is visible to the owner after its `light()` (the
//! owner then leaves the list alone and waits). So a collector never races with the owner on the
//! list, and it sees every entry appended by a window that ended before it looked. No deadlock: a
//! collector waits only for a window to end, and an owner never waits inside one.
//!
//! # Order
//! One thread's callbacks reach the shared queue in the order it queued them (`call_rcu`'s FIFO
//! promise): the list only ever moves to the queue whole (the owner's hand-off inside its window, or
//! a collector's take), an entry the owner appends while a collector holds the list waits until that
//! list is in the queue (the owner waits for `steal` to clear, which the collector does only after
//! its push), and the owner appends nothing to the queue directly. Pushing to the queue before the
//! release matters as much as the wait: released first, the owner's next append and hand-off could
//! reach the queue before the entries the collector still held.
//!
//! Nothing may panic inside a window, the owner's (`busy` set) or a collector's (`steal` set): the
//! other side spins on the flag, and a flag left set by an unwinding thread would make it spin
//! forever. What runs there (the `flush` check, the hand-off to the shared queue) is panic-free; an
//! overflowing backlog is reported by the caller after the window (`Callbacks::count_queued`).
//!
//! The owner's steady state is two plain stores, one load of its own line and one load of
//! the read-mostly futex word: no atomic read-modify-write, no fence instruction under membarrier.

use std::fmt;
use std::ptr;

use crate::callbacks::head::RcuHead;
use crate::sync::{AtomicBool, AtomicU32, Backoff, Ordering, UnsafeCell};

/// A buffer hands its list to the shared queue when it holds this many callbacks.
pub(crate) const LOCAL_MAX: u32 = 128;

/// A singly linked list of heads through their `next` fields, oldest first.
#[derive(Clone, Copy)]
pub(crate) struct Chain {
    pub(crate) first: *mut RcuHead,
    pub(crate) last: *mut RcuHead,
    pub(crate) len: u32,
}

impl Chain {
    const EMPTY: Chain = Chain {
        first: ptr::null_mut(),
        last: ptr::null_mut(),
        len: 0,
    };
}

/// One thread's buffer of callbacks not yet in the shared queue.
pub(crate) struct LocalBuffer {
    /// The owner is inside a window (writes only by the owner).
    busy: AtomicBool,
    /// A collector owns the list (writes only under the registry lock).
    steal: AtomicBool,
    /// Touched by the owner inside a window while `steal` is clear, or by a collector that saw `busy`
    /// clear after setting `steal` (see the module docs).
    list: UnsafeCell<Chain>,
    /// A copy of the list's length for [`Stats`](crate::Stats), written by whoever holds the list.
    held: AtomicU32,
}

// SAFETY: `list` is only touched under the handshake above, which gives one thread at a time access;
// the heads it points to are queued callbacks, which are `Send` by `call_rcu1`'s contract.
unsafe impl Send for LocalBuffer {}
// SAFETY: as above.
unsafe impl Sync for LocalBuffer {}

impl fmt::Debug for LocalBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBuffer").finish_non_exhaustive()
    }
}

impl LocalBuffer {
    pub(crate) fn new() -> LocalBuffer {
        LocalBuffer {
            busy: AtomicBool::new(false),
            steal: AtomicBool::new(false),
            list: UnsafeCell::new(Chain::EMPTY),
            held: AtomicU32::new(0),
        }
    }

    /// Owner only: appends `head` (whose `func` is set). If a collector holds the buffer, it leaves
    /// its window, waits until the collector has queued what it took and released the buffer, and
    /// tries again (module docs, "Order"). `flush` is evaluated once, after the handshake's
    /// `light()`, with the list's length after the append: if it returns true (the callback thread
    /// sleeps and must see the entry, or the list would take the domain past its bound on pending
    /// callbacks), or the buffer is full, the whole list goes to `hand_off` *inside* the window, so
    /// that a collector waiting for the window finds it in the shared queue.
    ///
    /// # Safety
    /// 1. Only the buffer's owner thread calls it (never two at once).
    /// 2. `head` is live and in no queue or list.
    /// 3. `flush` and `hand_off` do not panic (they run inside the window, module docs).
    pub(crate) unsafe fn append(
        &self,
        head: *mut RcuHead,
        flush: impl FnOnce(u32) -> bool,
        hand_off: impl FnOnce(Chain),
    ) {
        loop {
            self.busy.store(true, Ordering::Relaxed);
            // C6: pairs with the collector's `heavy()` (C7).
            crate::barrier::light();
            // C11: Acquire pairs with the collector's Release `steal = false` (C10): the list it
            // emptied is seen, and so are its pushes to the shared queue.
            if !self.steal.load(Ordering::Acquire) {
                break;
            }
            // C8: Release pairs with the collector's Acquire load of `busy` (C9); nothing written.
            self.busy.store(false, Ordering::Release);
            self.wait_released();
        }
        // SAFETY: owner inside a window with `steal` clear: nobody else touches the list (module
        // docs). `head` is ours by 2.
        let full = self.list.with_mut(|list| unsafe {
            let list = &mut *list;
            (*head).next.store(ptr::null_mut(), Ordering::Relaxed);
            if list.len == 0 {
                list.first = head;
            } else {
                (*list.last).next.store(head, Ordering::Relaxed);
            }
            list.last = head;
            list.len += 1;
            // Evaluated on every append: it also reads the backlog for the caller.
            if flush(list.len) || list.len >= LOCAL_MAX {
                self.held.store(0, Ordering::Relaxed);
                Some(std::mem::replace(list, Chain::EMPTY))
            } else {
                self.held.store(list.len, Ordering::Relaxed);
                None
            }
        });
        if let Some(chain) = full {
            hand_off(chain);
        }
        // C8: Release pairs with the collector's Acquire load of `busy` (C9): it sees the list as
        // left here.
        self.busy.store(false, Ordering::Release);
    }

    /// Owner, outside its window: waits until the collector that claimed the buffer releases it.
    /// The collector waits for no owner window meanwhile (ours has ended), so it gets there.
    #[cold]
    fn wait_released(&self) {
        let mut backoff = Backoff::new();
        // Relaxed: only a hint to retry; the retried window's Acquire load is what synchronizes.
        while self.steal.load(Ordering::Relaxed) {
            backoff.snooze();
        }
    }

    /// Collector, step 1 (registry lock held): claims the buffer before the `heavy()` barrier.
    pub(crate) fn claim(&self) {
        self.steal.store(true, Ordering::Relaxed);
    }

    /// Collector, step 2 (after `heavy()`, registry lock held): waits for the owner's window to end,
    /// takes the list, passes it to `hand_off` (which queues it) and only then releases the buffer,
    /// so that nothing the owner queues later can overtake it (module docs, "Order"). Returns how
    /// many callbacks it took.
    ///
    /// # Safety
    /// `hand_off` does not panic (it runs while the owner may wait for the release).
    pub(crate) unsafe fn take_claimed(&self, hand_off: impl FnOnce(Chain)) -> u32 {
        let mut backoff = Backoff::new();
        // C9: Acquire pairs with the owner's Release `busy = false` (C8).
        while self.busy.load(Ordering::Acquire) {
            backoff.snooze();
        }
        // SAFETY: claimed, and the owner is outside its window: it will see `steal` and leave the
        // list alone until the Release store below.
        let chain = self
            .list
            .with_mut(|list| unsafe { std::mem::replace(&mut *list, Chain::EMPTY) });
        self.held.store(0, Ordering::Relaxed);
        hand_off(chain);
        // C10: Release pairs with the owner's Acquire load of `steal` (C11).
        self.steal.store(false, Ordering::Release);
        chain.len
    }

    /// The owner's own flush, outside any window, while it holds the registry lock (thread exit): no
    /// collector can run.
    ///
    /// # Safety
    /// Only the owner calls it, with the registry lock held.
    pub(crate) unsafe fn take_own(&self) -> Chain {
        self.held.store(0, Ordering::Relaxed);
        // SAFETY: per the contract nobody else can touch the list now.
        self.list
            .with_mut(|list| unsafe { std::mem::replace(&mut *list, Chain::EMPTY) })
    }

    /// How many callbacks the buffer holds (a snapshot, for statistics).
    pub(crate) fn held(&self) -> u32 {
        self.held.load(Ordering::Relaxed)
    }

    /// In the child after `fork()` (single-threaded, registry lock held by the fork handlers): a
    /// buffer whose owner was inside a window may be half updated; drop its list (the callbacks still
    /// run in the parent) and clear the flags of every buffer.
    #[cfg(not(loom))]
    pub(crate) fn reset_after_fork(&self) {
        if self.busy.load(Ordering::Relaxed) {
            // SAFETY: single-threaded child; the owner thread does not exist here.
            self.list.with_mut(|list| unsafe { *list = Chain::EMPTY });
            self.held.store(0, Ordering::Relaxed);
        }
        self.busy.store(false, Ordering::Relaxed);
        self.steal.store(false, Ordering::Relaxed);
    }
}
