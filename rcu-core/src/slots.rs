//! The slot table of the async grace-period futures (`gp_async.rs`): for each `(domain, snapshot)`
//! pair with waiting futures, their wakers, and the callback that closes the slot and wakes them
//! one grace period later. A table of its own, below the fork handlers, which take its lock and, in
//! a child, queue the closing callbacks the child may have lost (`domain/fork.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::task::Waker;

use crate::engine::DomainInner;
use crate::sync::{Mutex, lock};

/// Identifies `domain` in the slot table: the address of its engine.
///
/// A domain's engine is not freed, so its address not reused, while a slot of it is open: the
/// future that opens a slot holds the engine (a `DomainRef`) until the slot's closing callback is
/// queued, and from then on the callback thread holds it too and runs every queued callback before
/// it exits (it exits only when the domain's last `Domain` handle stops it, after that handle's
/// barrier, or never). In a child of `fork()` a parent's domain is leaked, never freed. So a later
/// domain at the same address never finds, and joins, a slot that an earlier domain's grace period
/// closes.
pub(crate) fn key(domain: &DomainInner) -> usize {
    std::ptr::from_ref(domain) as usize
}

/// The wakers of every future waiting for one snapshot of one domain.
pub(crate) struct Slot {
    domain: usize,
    snap: u64,
    pub(crate) id: u64,
    /// `None` where a future left (dropped, or completed before the callback ran).
    pub(crate) wakers: Vec<Option<Waker>>,
    /// Indices of `None` entries, reused first.
    free: Vec<usize>,
}

impl Slot {
    pub(crate) fn insert(&mut self, waker: Waker) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.wakers[i] = Some(waker);
                i
            }
            None => {
                self.wakers.push(Some(waker));
                self.wakers.len() - 1
            }
        }
    }

    pub(crate) fn remove(&mut self, index: usize) {
        if self.wakers[index].take().is_some() {
            self.free.push(index);
        }
    }
}

/// The open slots of every domain: a handful at a time (one or two per domain with waiters).
pub(crate) struct Slots {
    open: Vec<Slot>,
    next_id: u64,
}

impl Slots {
    pub(crate) fn get(&mut self, id: u64) -> Option<&mut Slot> {
        self.open.iter_mut().find(|s| s.id == id)
    }

    /// The open slot for `(domain, snap)`, or a new one; `true` if it is new (its opener then
    /// queues its closing callback).
    pub(crate) fn find_or_open(&mut self, domain: usize, snap: u64) -> (&mut Slot, bool) {
        match self
            .open
            .iter()
            .position(|s| s.domain == domain && s.snap == snap)
        {
            Some(i) => (&mut self.open[i], false),
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.open.push(Slot {
                    domain,
                    snap,
                    id,
                    wakers: Vec::new(),
                    free: Vec::new(),
                });
                let last = self.open.len() - 1;
                (&mut self.open[last], true)
            }
        }
    }
}

/// The slot table: a process-wide lock, in `domain/fork.rs`'s list. Every barrier future's
/// `Marker::waker` lock is taken only inside it, so holding it also means no such lock is held.
/// Nothing rcu-core locks is taken under it (a slot's callback is queued after it is released).
#[cfg(not(loom))]
pub(crate) static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    open: Vec::new(),
    next_id: 0,
});

#[cfg(loom)]
loom::lazy_static! {
    /// Under loom a lazy static, rebuilt for every execution of a model (like the default domain).
    pub(crate) static ref SLOTS: Mutex<Slots> = Mutex::new(Slots {
        open: Vec::new(),
        next_id: 0,
    });
}

/// The callback of a slot: closes it and wakes its futures.
pub(crate) fn close_slot(id: u64) {
    let slot = {
        let mut slots = lock(&SLOTS);
        let Some(i) = slots.open.iter().position(|s| s.id == id) else {
            return;
        };
        slots.open.swap_remove(i)
    };
    wake_all(slot.wakers.into_iter().flatten());
}

/// In a child of `fork()` (from `domain/fork.rs`'s `child`, the forking thread alone): queues a fresh
/// closing callback for every open slot of the default domain. The child inherits the table but not
/// always the callbacks that close it: a future that opened a slot queues its callback after
/// releasing the table's lock, so `fork()` can fall between the two, and a callback caught inside
/// another thread's `call_rcu` is dropped in the child (`domain/fork.rs`). A slot left without its callback
/// would hang every future of the child that joins it (`tests/fork_async_slots.rs`). A slot whose
/// own callback did survive is closed by whichever runs first; the other finds it gone. Slots of
/// independent domains stay as they are: no future of a parent's `Domain` can be awaited in the
/// child (each such call panics there).
#[cfg(all(unix, not(loom)))]
pub(crate) fn close_slots_after_fork_child() {
    use crate::engine::{DEFAULT, DomainRef};
    let key = key(&DEFAULT);
    let ids: Vec<u64> = lock(&SLOTS)
        .open
        .iter()
        .filter(|s| s.domain == key)
        .map(|s| s.id)
        .collect();
    for id in ids {
        DEFAULT.defer(move || close_slot(id), || DomainRef::Static(&DEFAULT));
    }
}

/// Wakes every waker even if one of them panics; the first panic is then resumed, so the callback
/// thread reports it as a panicking callback and no other future is left asleep.
fn wake_all(wakers: impl Iterator<Item = Waker>) {
    let mut first_panic = None;
    for waker in wakers {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            if first_panic.is_none() {
                first_panic = Some(payload);
            } else {
                crate::diag::drop_payload(payload);
            }
        }
    }
    if let Some(payload) = first_panic {
        resume_unwind(payload);
    }
}
