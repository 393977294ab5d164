//! The calling thread's state in every domain: one entry per domain the thread has used, holding
//! its reader record (registered by its first `read_lock`), its callback buffer (by its first
//! `call_rcu`) and its free bag (by its first `defer_free`, `callbacks/bag.rs`), in one table per
//! thread; and, for the fast paths, two cached slots in a `const`
//! thread-local without destructor: slot 0 for the default domain, slot 1 for the independent
//! domain the thread used last. The default domain's `read_lock` is thus one thread-local load and
//! a null test before the record's own code, and a `Domain`'s one more comparison of its id.
//!
//! Lifetimes:
//! - A domain may be dropped before the threads that used it. An entry therefore reaches an
//!   independent domain only through the domain's [`Link`]: a flag the domain's last owner clears,
//!   under the link's lock, before the domain's state can be freed. A thread that finds the flag
//!   set, under the lock, may unregister its record and buffer; one that finds it cleared just frees
//!   them (the registries that held them are gone). Entries of dropped domains are purged at the
//!   thread's next new entry, or at its exit. Ids are never reused, so a slot left pointing into a
//!   purged entry is never matched again.
//! - At thread exit the table's destructor hands each free bag (sealed and open segments) to its
//!   domain's callback thread as one callback (or, if the domain is gone, frees it at once: no
//!   reader of a dropped domain exists), moves each buffer's callbacks to its domain's shared
//!   queue and unregisters the buffer (so one thread's callbacks stay in order) and unregisters each
//!   record. Thread-local destructors run in reverse order of registration, so a later one may still
//!   call `read_lock` or `call_rcu`: the slots stay usable (no destructor), `call_rcu` then goes to
//!   the shared queue (and so does `defer_free`, one callback per object), and a record still in a section, or registered after the table is gone, is
//!   *late* (`Reader::mark_late`): owned by the guard chain and found through its slot, and the
//!   outermost unlock unregisters and frees it ([`release_late`]). So a late thread never leaks
//!   records and `read_ongoing` stays exact.

use std::cell::{Cell, RefCell};
use std::ptr;

use crate::callbacks::bag::FreeBag;
use crate::callbacks::buffer::LocalBuffer;
use crate::engine::{DomainInner, DomainRef};
use crate::gp::reader::{Link, Reader};
use crate::sync::Arc;

/// A cached pointer to one domain's entry (id 0 in slot 1: empty).
struct Slot {
    id: Cell<u64>,
    reader: Cell<*const Reader>,
    buf: Cell<*const LocalBuffer>,
    bag: Cell<*const Bag>,
}

impl Slot {
    const fn empty() -> Slot {
        Slot {
            id: Cell::new(0),
            reader: Cell::new(ptr::null()),
            buf: Cell::new(ptr::null()),
            bag: Cell::new(ptr::null()),
        }
    }

    fn set(&self, id: u64, reader: *const Reader, buf: *const LocalBuffer, bag: *const Bag) {
        self.id.set(id);
        self.reader.set(reader);
        self.buf.set(buf);
        self.bag.set(bag);
    }
}

/// The destructor-free half of the thread's state.
struct Fast {
    /// Slot 0: the default domain; slot 1: the last independent domain used.
    slots: [Slot; 2],
    /// This thread's live [`ReaderHandle`](crate::ReaderHandle)s (their records are not here).
    handles: Cell<usize>,
}

crate::sync::thread_local_const! {
    static FAST: Fast = Fast { slots: [Slot::empty(), Slot::empty()], handles: Cell::new(0) };
}

/// One thread's free bag in one domain (owner thread only).
pub(crate) type Bag = RefCell<FreeBag>;

/// One thread's state in one domain.
struct Entry {
    id: u64,
    domain: *const DomainInner,
    /// `None` for the default domain, which is never freed.
    link: Option<Arc<Link>>,
    reader: Option<Arc<Reader>>,
    buf: Option<Arc<LocalBuffer>>,
    /// Boxed: the cached slot points at it while the table's vector moves.
    bag: Option<Box<Bag>>,
}

fn ptr_of<T>(v: &Option<Arc<T>>) -> *const T {
    v.as_ref().map_or(ptr::null(), Arc::as_ptr)
}

impl Entry {
    /// Runs `f` on the entry's domain if it is still alive, holding its link's lock meanwhile.
    fn with_domain(&self, f: impl FnOnce(&DomainInner)) {
        let alive = self.link.as_ref().map(|l| l.lock());
        if alive.as_deref().is_none_or(|alive| *alive) {
            // SAFETY: the default domain is a static; an independent one is alive and cannot be
            // freed while we hold its link's lock (its last owner passes `Link::close` first).
            f(unsafe { &*self.domain });
        }
    }
}

/// The calling thread's entries.
struct Table(Vec<Entry>);

impl Drop for Table {
    fn drop(&mut self) {
        let _ = FAST.try_with(|f| {
            for slot in &f.slots {
                slot.set(0, ptr::null(), ptr::null(), ptr::null());
            }
        });
        for mut entry in self.0.drain(..) {
            if let Some(bag) = entry.bag.take() {
                let mut bag = bag.into_inner();
                let mut handed = false;
                entry.with_domain(|d| {
                    let all = bag.take_all(&d.callbacks.frees);
                    if d.link.is_none() {
                        // The default domain's callback thread may have been joined at process
                        // exit (`join_if_idle`): start it again, as a late `call_rcu` does.
                        d.hand_over(all, crate::engine::default_ref);
                    } else {
                        d.hand_over_started(all);
                    }
                    handed = true;
                });
                if !handed {
                    // The domain was dropped: its last handle outlived every guard and handle, so
                    // no reader can see these objects any more.
                    let all = bag.take_all(&crate::callbacks::bag::Frees::new());
                    crate::callbacks::bag::free_all(all);
                }
            }
            if let Some(buf) = &entry.buf {
                entry.with_domain(|d| d.callbacks.unregister_buffer(buf));
            }
            let Some(reader) = &entry.reader else {
                continue;
            };
            if reader.nest() == 0 {
                entry.with_domain(|d| d.gp.unregister(reader));
                continue;
            }
            // A guard is still alive: hand the record over to it (see the module docs). Its domain
            // is alive (the guard borrows it).
            reader.mark_late();
            let raw = Arc::into_raw(reader.clone());
            let _ = FAST.try_with(|f| {
                f.slots[usize::from(entry.link.is_some())].set(
                    entry.id,
                    raw,
                    ptr::null(),
                    ptr::null(),
                )
            });
        }
    }
}

crate::sync::thread_local_const! {
    static TABLE: RefCell<Table> = RefCell::new(Table(Vec::new()));
}

/// The slot of `domain` if it is cached (`default`: `domain` is the default domain).
#[inline(always)]
fn cached<T>(domain: &DomainInner, default: bool, get: impl FnOnce(&Slot) -> *const T) -> *const T {
    FAST.with(|f| {
        let slot = &f.slots[usize::from(!default)];
        if default || slot.id.get() == domain.id {
            get(slot)
        } else {
            ptr::null()
        }
    })
}

/// Runs `f` on this thread's entry for `domain` (created if missing), then caches the entry in the
/// domain's slot. `None` once the table is destroyed (thread exit).
#[track_caller]
fn with_entry<R>(
    domain: &DomainInner,
    default: bool,
    f: impl FnOnce(&mut Entry) -> R,
) -> Option<R> {
    TABLE
        .try_with(|t| {
            let mut table = t.borrow_mut();
            let i = match table.0.iter().position(|e| e.id == domain.id) {
                Some(i) => i,
                None => {
                    // Purge the entries of dropped domains (nothing of them is registered anywhere).
                    // Their bags' objects are freed now: no reader of a dropped domain exists.
                    table.0.retain_mut(|e| {
                        let alive = e.link.as_ref().is_none_or(|l| l.is_alive());
                        if let (false, Some(bag)) = (alive, e.bag.as_mut()) {
                            let all = bag.get_mut().take_all(&crate::callbacks::bag::Frees::new());
                            crate::callbacks::bag::free_all(all);
                        }
                        alive
                    });
                    table.0.push(Entry {
                        id: domain.id,
                        domain,
                        link: domain.link.clone(),
                        reader: None,
                        buf: None,
                        bag: None,
                    });
                    table.0.len() - 1
                }
            };
            let entry = &mut table.0[i];
            let result = f(entry);
            let (reader, buf) = (ptr_of(&entry.reader), ptr_of(&entry.buf));
            let bag = entry.bag.as_deref().map_or(ptr::null(), ptr::from_ref);
            FAST.with(|fast| fast.slots[usize::from(!default)].set(domain.id, reader, buf, bag));
            result
        })
        .ok()
}

/// This thread's record in `domain`, registering it on first use.
#[inline]
#[track_caller]
pub(crate) fn record(domain: &DomainInner, default: bool) -> *const Reader {
    let reader = cached(domain, default, |s| s.reader.get());
    if reader.is_null() {
        register(domain, default)
    } else {
        reader
    }
}

#[cold]
#[track_caller]
fn register(domain: &DomainInner, default: bool) -> *const Reader {
    if let Some(Some(reader)) = with_entry(domain, default, |e| e.reader.as_ref().map(Arc::as_ptr))
    {
        return reader; // registered, only not cached
    }
    crate::domain::fork::init();
    let mut reader = Some(domain.register_record());
    let raw = ptr_of(&reader);
    with_entry(domain, default, |e| e.reader = reader.take());
    if let Some(late) = reader {
        // The table is destroyed (a later thread-local destructor): a late record, owned by the
        // guard chain until its section ends and found through the slot meanwhile.
        late.mark_late();
        let _owned_by_guards = Arc::into_raw(late);
        FAST.with(|f| f.slots[usize::from(!default)].set(domain.id, raw, ptr::null(), ptr::null()));
    }
    raw
}

/// This thread's callback buffer in `domain`, registering it on first use; null where callbacks go
/// to the shared queue: after the table is destroyed, and under loom (the models drive buffers
/// explicitly, through `loom_buffer`).
#[inline]
pub(crate) fn buffer(domain: &DomainInner, default: bool) -> *const LocalBuffer {
    if cfg!(loom) {
        return ptr::null();
    }
    let buf = cached(domain, default, |s| s.buf.get());
    if buf.is_null() {
        buffer_slow(domain, default)
    } else {
        buf
    }
}

#[cold]
fn buffer_slow(domain: &DomainInner, default: bool) -> *const LocalBuffer {
    with_entry(domain, default, |e| {
        Arc::as_ptr(
            e.buf
                .get_or_insert_with(|| domain.callbacks.register_buffer()),
        )
    })
    .unwrap_or(ptr::null())
}

/// This thread's free bag in `domain` (`callbacks/bag.rs`), made on first use, when the domain's
/// callback thread is started too (with `owner`), so that the thread's destructor can hand the bag
/// over without a handle; null after the table is destroyed (thread exit: `defer_free` then hands
/// each object over).
#[inline]
pub(crate) fn bag(
    domain: &DomainInner,
    default: bool,
    owner: impl FnOnce() -> DomainRef,
) -> *const Bag {
    let bag = cached(domain, default, |s| s.bag.get());
    if bag.is_null() {
        bag_slow(domain, default, owner)
    } else {
        bag
    }
}

#[cold]
fn bag_slow(domain: &DomainInner, default: bool, owner: impl FnOnce() -> DomainRef) -> *const Bag {
    domain.ensure_worker(owner);
    // Relaxed: only this thread's own later barriers need to see it (program order).
    domain
        .callbacks
        .frees
        .any_bag
        .store(true, std::sync::atomic::Ordering::Relaxed);
    with_entry(domain, default, |e| {
        ptr::from_ref(&**e.bag.get_or_insert_with(Box::default))
    })
    .unwrap_or(ptr::null())
}

/// This thread's free bag in `domain` if it has one (null otherwise, or after thread exit). Makes
/// no entry.
pub(crate) fn existing_bag(domain: &DomainInner, default: bool) -> *const Bag {
    let bag = cached(domain, default, |s| s.bag.get());
    if !bag.is_null() {
        return bag;
    }
    TABLE
        .try_with(|t| {
            t.try_borrow().ok().and_then(|t| {
                let entry = t.0.iter().find(|e| e.id == domain.id)?;
                entry.bag.as_deref().map(ptr::from_ref)
            })
        })
        .ok()
        .flatten()
        .unwrap_or(ptr::null())
}

/// Unregisters this thread's record in `domain`, if any (`rcu_unregister_thread`); the caller
/// checked that it is in no section.
pub(crate) fn unregister(domain: &DomainInner, default: bool) {
    if let Some(Some(reader)) = with_entry(domain, default, |e| e.reader.take()) {
        domain.gp.unregister(&reader);
    }
}

/// Whether the calling thread is inside a read-side critical section of `domain`: exact, through
/// its record, and for an independent domain also through its [`ReaderHandle`](crate::ReaderHandle)s
/// (then it takes the registry lock).
#[inline]
pub(crate) fn in_section(domain: &DomainInner, default: bool) -> bool {
    let reader = cached(domain, default, |s| s.reader.get());
    // SAFETY: a cached record is this thread's and alive (module docs).
    if !reader.is_null() && unsafe { (*reader).nest() } > 0 {
        return true;
    }
    // The default domain's slot is always in step with its entry; handles are independent only.
    !default
        && (reader.is_null() || FAST.with(|f| f.handles.get()) != 0)
        && domain.gp.in_own_section()
}

/// A [`ReaderHandle`](crate::ReaderHandle) was created (`+1`) or dropped (`-1`) on this thread.
pub(crate) fn count_handle(delta: isize) {
    let _ = FAST.try_with(|f| f.handles.set(f.handles.get().wrapping_add_signed(delta)));
}

/// Whether the calling thread may be inside a read-side critical section of any domain, without
/// taking a lock: true if one of its records is in a section, and also when that cannot be told
/// cheaply (a live `ReaderHandle`, whose record is not in the table; the table destroyed or
/// borrowed). For the bound on pending callbacks (`callbacks/throttle.rs`), which then does not wait.
pub(crate) fn may_be_in_section() -> bool {
    FAST.with(|f| f.handles.get()) != 0
        || TABLE
            .try_with(|t| {
                t.try_borrow().map_or(true, |t| {
                    t.0.iter()
                        .any(|e| e.reader.as_ref().is_some_and(|r| r.nest() > 0))
                })
            })
            .unwrap_or(true)
}

/// Gives up a late record whose outermost section just ended.
///
/// # Safety
/// `reader` is a late record of `domain` owned by the guard chain (`Arc::into_raw` above or in
/// `Table::drop`), in no section, handed back exactly once.
#[cold]
pub(crate) unsafe fn release_late(reader: *const Reader, domain: &DomainInner) {
    let _ = FAST.try_with(|f| {
        for slot in f.slots.iter().filter(|s| s.reader.get() == reader) {
            slot.set(0, ptr::null(), ptr::null(), ptr::null());
        }
    });
    // SAFETY: per the contract, one strong count is handed back here.
    let reader = unsafe { Arc::from_raw(reader) };
    domain.gp.unregister(&reader);
}
