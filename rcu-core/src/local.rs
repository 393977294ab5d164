//! The thread-local reader records of independent domains, behind
//! [`Domain::read_lock`](crate::Domain::read_lock): a small per-thread table with one entry per
//! domain the thread has read in, filled on first use and emptied (each record unregistered) when
//! the thread exits.
//!
//! Lifetimes:
//! - A domain may be dropped before the threads that read in it. An entry therefore reaches its
//!   domain only through the domain's [`Link`]: a flag the domain's last owner clears, under the
//!   link's lock, before the domain's state can be freed. A thread that finds the flag set, under the
//!   lock, may unregister its record; one that finds it cleared just frees the record (the registry
//!   that held it is gone). Entries of dropped domains are purged at the thread's next registration
//!   with any domain, or at its exit, so nothing is left behind.
//! - A guard may outlive the table (a guard alive in a later thread-local destructor, or leaked):
//!   as in the default domain, the record is then *late* (`Reader::mark_late`), owned by the guard
//!   chain, and the outermost unlock unregisters and frees it ([`release_late`]); the guard borrows
//!   its domain, so the domain is alive then. A `read_lock` after the table was destroyed registers a
//!   late record of its own.

use std::cell::RefCell;

use crate::reader::{Link, Reader};
use crate::sync::Arc;
use crate::worker::DomainInner;

/// One thread's record in one domain.
struct Entry {
    id: u64,
    reader: Arc<Reader>,
    domain: *const DomainInner,
    link: Arc<Link>,
}

impl Entry {
    /// Unregisters the record if its domain is still alive (thread exit or purge).
    fn unregister(self) {
        let alive = self.link.lock();
        if *alive {
            // SAFETY: the link is alive and we hold its lock, so the domain's last owner has not
            // passed `Link::close` and the domain's state is not freed until we release the lock.
            unsafe { (*self.domain).gp.unregister(&self.reader) };
        }
    }
}

/// The calling thread's entries.
struct Table(Vec<Entry>);

impl Drop for Table {
    fn drop(&mut self) {
        for entry in self.0.drain(..) {
            if entry.reader.nest() > 0 {
                // A guard is still alive: hand the record over to it (see the module docs).
                entry.reader.mark_late();
                let _owned_by_guard = Arc::into_raw(entry.reader);
            } else {
                entry.unregister();
            }
        }
    }
}

crate::sync::thread_local_const! {
    static TABLE: RefCell<Table> = RefCell::new(Table(Vec::new()));
}

crate::sync::thread_local_const! {
    /// This thread's live [`ReaderHandle`](crate::ReaderHandle)s (their sections are not in the
    /// table).
    static HANDLES: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// A [`ReaderHandle`](crate::ReaderHandle) was created on this thread.
pub(crate) fn handle_opened() {
    let _ = HANDLES.try_with(|h| h.set(h.get() + 1));
}

/// A [`ReaderHandle`](crate::ReaderHandle) of this thread was dropped.
pub(crate) fn handle_closed() {
    let _ = HANDLES.try_with(|h| h.set(h.get().saturating_sub(1)));
}

/// Whether the calling thread may be inside a read-side critical section of an independent
/// domain, without taking a lock: true if one of its table's records is in a section, and also
/// when that cannot be told cheaply (a live `ReaderHandle`, whose record is not in the table; the
/// table destroyed or borrowed). For the bound on pending callbacks (`throttle.rs`), which then
/// does not wait.
pub(crate) fn may_be_in_section() -> bool {
    HANDLES.try_with(std::cell::Cell::get).unwrap_or(1) != 0
        || TABLE
            .try_with(|t| {
                t.try_borrow()
                    .map_or(true, |t| t.0.iter().any(|e| e.reader.nest() > 0))
            })
            .unwrap_or(true)
}

/// This thread's record in `domain`, registering it on first use.
#[inline]
#[track_caller]
pub(crate) fn reader(domain: &DomainInner) -> *const Reader {
    let id = domain.id;
    let found = TABLE.try_with(|t| {
        t.borrow()
            .0
            .iter()
            .find(|e| e.id == id)
            .map(|e| Arc::as_ptr(&e.reader))
    });
    match found {
        Ok(Some(reader)) => reader,
        Ok(None) => register(domain),
        Err(_) => register_late(domain),
    }
}

/// First `read_lock` of this thread in `domain`.
#[cold]
#[track_caller]
fn register(domain: &DomainInner) -> *const Reader {
    let reader = domain.register_record();
    let raw = Arc::as_ptr(&reader);
    let entry = Entry {
        id: domain.id,
        reader,
        domain,
        link: domain.link().clone(),
    };
    let stale = TABLE.with(|t| {
        let mut table = t.borrow_mut();
        // Purge the entries of dropped domains (their records are no longer registered anywhere).
        let (live, stale): (Vec<Entry>, Vec<Entry>) =
            table.0.drain(..).partition(|e| e.link.is_alive());
        table.0 = live;
        table.0.push(entry);
        stale
    });
    drop(stale);
    raw
}

/// A `read_lock` after this thread's table was destroyed (in a later thread-local destructor): a late
/// record, owned by the guard until its section ends.
#[cold]
#[track_caller]
fn register_late(domain: &DomainInner) -> *const Reader {
    let reader = domain.register_record();
    reader.mark_late();
    Arc::into_raw(reader)
}

/// Gives up a late record whose outermost section just ended.
///
/// # Safety
/// `reader` is a late record of `domain` owned by the guard chain (`Arc::into_raw` above or in
/// `Table::drop`), in no section, handed back exactly once.
#[cold]
pub(crate) unsafe fn release_late(reader: *const Reader, domain: &DomainInner) {
    // SAFETY: per the contract, one strong count is handed back here.
    let reader = unsafe { Arc::from_raw(reader) };
    domain.gp.unregister(&reader);
}
