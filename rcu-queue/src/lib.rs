//! RCU-protected linked lists in the style of QEMU's `QTAILQ`/`QLIST`/`QSIMPLEQ`/`QSLIST` `*_RCU`
//! macros (`include/qemu/rcu_queue.h`), on top of [`rcu_core`].
//!
//! Two layers of lists, and the maps:
//!
//! * [`raw`]: the intrusive, `unsafe` layer, for C programmers and for building data structures. A struct
//!   embeds a link ([`raw::QTailqLink`], ...), an [`adapter!`] maps object ↔ link with
//!   `core::mem::offset_of!`, and the four heads ([`raw::QTailqHead`], ...) implement one sealed trait,
//!   [`raw::Head`], whose methods are QEMU's RCU list macros (searchable by their C names), each with its
//!   numbered `# Safety` contract and the single `Release` store that publishes. Lower-case C-named
//!   macros (`qtailq_insert_head_rcu!`, ...) are thin sugar over them, listed in one
//!   [table](raw#the-c-named-macros).
//! * The safe, owning lists [`RcuTailq`], [`RcuList`], [`RcuSimpleq`] and [`RcuSlist`] (one generic
//!   [`RcuQueue<T, F, D>`] over a [`family`], in an rcu-core domain `D`). Readers need `&self` and a
//!   guard of the list's domain ([`rcu_core::ReadGuard`] for the default one) and get `&T` bounded by
//!   the guard; writers are serialized by a [`WriterLock`] (the list's own, or an external
//!   one shared by many lists, like QEMU's BQL). Each node is one allocation holding link, `RcuHead` and
//!   value, so removal defers the drop with `call_rcu1` and no extra allocation (a value without drop
//!   glue is freed by the writer itself, from its free bag: [`rcu_core::defer_free`]). A writer's
//!   [`CursorMut`] sits on one element (from an insert, a search, or a [`Handle`] kept from earlier)
//!   and removes or inserts next to it in O(1): QEMU's `bus_remove_child` without a scan. Every
//!   operation exists for every [`family`]; the capability traits [`family::WithTail`] and
//!   [`family::WithPrev`] mark where it is O(1) rather than a walk.
//! * The hash maps of [`map`]: [`RcuHashMap`] (QEMU's qht: lock-free lookups, striped writers,
//!   incremental resizes; one heap node per pair, any types) and [`RcuFlatHashMap`] (the same map
//!   with `Copy` pairs stored in the table itself: one cache line per lookup).
//!
//! # Example: QEMU's `bus->children`, the safe way
//!
//! ```
//! use rcu_queue::RcuTailq;
//! use std::sync::Arc;
//!
//! struct Device { id: &'static str }
//! struct BusChild { index: u32, child: Arc<Device> }  // dropping it is QEMU's object_unref
//!
//! let children = RcuTailq::new();
//! let disk = Arc::new(Device { id: "scsi-hd0" });
//! children.lock().push_front(BusChild { index: 0, child: disk.clone() }); // bus_add_child
//!
//! // An iothread looks a device up without the writer lock (scsi_device_find).
//! let found = {
//!     let guard = rcu_core::read_lock();                                  // RCU_READ_LOCK_GUARD()
//!     children.iter(&guard).find(|kid| kid.index == 0).map(|kid| kid.child.clone()) // object_ref
//! };
//! assert_eq!(found.unwrap().id, "scsi-hd0");
//!
//! // Unplug: unlink now, drop the BusChild (and its reference) after a grace period.
//! assert!(children.lock().remove_first(|kid| kid.index == 0).is_some());        // bus_remove_child
//! rcu_core::rcu_barrier();                                                      // drain_call_rcu
//! assert_eq!(Arc::strong_count(&disk), 1);
//!
//! // O(1) unplug: keep a handle when plugging, unlink through it later.
//! let kid = children.lock().push_back(BusChild { index: 1, child: disk.clone() }).handle();
//! let removed = children.lock().cursor(&kid).map(|c| c.remove());                // QTAILQ_REMOVE_RCU
//! assert_eq!(removed.map(|k| k.index), Some(1));
//! drop(kid);
//! rcu_core::rcu_barrier();
//! assert_eq!(Arc::strong_count(&disk), 1);
//! ```
//!
//! # Domains: a subsystem with its own grace periods, no `unsafe`
//!
//! Every safe container takes an rcu-core domain as a type parameter that defaults to the default
//! domain: `RcuTailq::new()` and `RcuTailq::new_in(&domain)` (likewise [`RcuHashMap::new_in`]).
//! In an independent [`rcu_core::Domain`] its readers delay only that domain's grace periods, and
//! its removed elements are dropped by that domain's callback thread (or freed from that domain's
//! free bag of the writer, for elements without drop glue). Readers present that domain's
//! guard (`domain.read_lock()`, which registers the thread on first use); the default domain's guard
//! does not compile there, and another `Domain`'s guard panics (see [`rcu_core::RcuDomain`]).
//!
//! ```
//! use rcu_core::{Domain, RcuCell};
//! use rcu_queue::RcuTailq;
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! struct Disk { name: String }
//! struct Policy { max_inflight: u32 }
//!
//! // The block layer's readers may hold sections across slow requests: give it a private domain.
//! let block = Domain::new();
//! let disks: RcuTailq<Disk, Domain> = RcuTailq::new_in(&block);
//! let policy: RcuCell<Policy, Domain> = RcuCell::new_in(Policy { max_inflight: 8 }, &block);
//! disks.lock().push_back(Disk { name: "sda".into() });
//!
//! let stop = AtomicBool::new(false);
//! std::thread::scope(|s| {
//!     // An I/O thread: no handle to carry, no unsafe.
//!     s.spawn(|| {
//!         while !stop.load(Ordering::Relaxed) {
//!             let guard = block.read_lock();
//!             let limit = policy.read(&guard).max_inflight;
//!             assert!(disks.iter(&guard).all(|d| !d.name.is_empty()) && limit >= 8);
//!         }
//!     });
//!     // Hot-plug and reconfigure meanwhile.
//!     disks.lock().push_back(Disk { name: "sdb".into() });
//!     assert!(disks.lock().remove_first(|d| d.name == "sda").is_some());
//!     policy.replace(Policy { max_inflight: 16 });
//!     stop.store(true, Ordering::Relaxed);
//! });
//!
//! // Wait for the block layer's readers and callbacks only.
//! block.barrier();
//! let guard = block.read_lock();
//! assert_eq!(disks.first(&guard).map(|d| d.name.as_str()), Some("sdb"));
//! assert_eq!(policy.read(&guard).max_inflight, 16);
//! ```
//!
//! # Differences from QEMU
//!
//! See [`raw`](raw#differences-from-qemu): unlinks are `Release` stores, empty heads hold no
//! self-pointers, and O(1) `remove_after`/`unlink` exist for every family. The safe lists add
//! ownership, lifetimes, a writer lock and checked handles that C leaves to convention.
//!
//! # Test builds
//!
//! No Cargo feature of this crate or of `rcu-core` can switch grace periods off. The negative controls
//! build with `RUSTFLAGS="--cfg rcu_broken_gp"`, which adds `rcu_queue::testing` (and
//! `rcu_core::testing`): grace periods that do not wait, and a quarantine for reclaimed nodes.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod sync;

pub mod raw;

pub mod family;
mod list;
mod lock;
mod node;
#[cfg(rcu_broken_gp)]
pub mod testing;

pub mod map;

pub use list::{
    CursorMut, Handle, Iter, ListWriter, RcuList, RcuQueue, RcuSimpleq, RcuSlist, RcuTailq,
};
pub use lock::{WriterGuard, WriterLock};
pub use map::{RcuFlatHashMap, RcuHashMap};
