//! RCU-protected linked lists in the style of QEMU's `QTAILQ`/`QLIST`/`QSIMPLEQ`/`QSLIST` `*_RCU`
//! macros (`include/qemu/rcu_queue.h`), on top of [`rcu_core`].
//!
//! Two layers:
//!
//! * [`raw`]: the intrusive, `unsafe` layer, for C programmers and for building data structures. A struct
//!   embeds a link ([`raw::QTailqLink`], ...), an [`adapter!`] maps object ↔ link with
//!   `core::mem::offset_of!`, and a head ([`raw::QTailqHead`], ...) offers every QEMU RCU list macro as a
//!   method, each with its numbered `# Safety` contract and the single `Release` store that publishes.
//! * The safe, owning lists [`RcuTailq`], [`RcuList`], [`RcuSimpleq`] and [`RcuSlist`] (one generic
//!   [`RcuQueue<T, F>`] over a [`family`]). Readers need `&self` and an [`rcu_core::ReadGuard`] and get
//!   `&T` bounded by the guard; writers are serialized by a [`WriterLock`] (the list's own, or an external
//!   one shared by many lists, like QEMU's BQL). Each node is one allocation holding link, `RcuHead` and
//!   value, so removal defers the drop with `call_rcu1` and no extra allocation.
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
//! assert!(children.lock().remove_first(|kid| kid.index == 0));                  // bus_remove_child
//! rcu_core::rcu_barrier();                                                      // drain_call_rcu
//! assert_eq!(Arc::strong_count(&disk), 1);
//! ```
//!
//! # Differences from QEMU
//!
//! See [`raw`](raw#differences-from-qemu): unlinks are `Release` stores, empty heads hold no
//! self-pointers, and O(1) `remove_after` exists for the singly linked families. The safe lists add
//! ownership, lifetimes and a writer lock that C leaves to convention.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod sync;

pub mod raw;

#[cfg(not(loom))]
pub mod family;
#[cfg(not(loom))]
mod list;
#[cfg(not(loom))]
mod lock;
#[cfg(not(loom))]
mod node;
#[cfg(all(feature = "broken-gp", not(loom)))]
pub mod testing;

pub mod map;

#[cfg(not(loom))]
pub use list::{Iter, ListWriter, RcuList, RcuQueue, RcuSimpleq, RcuSlist, RcuTailq};
#[cfg(not(loom))]
pub use lock::{WriterGuard, WriterLock};
#[cfg(not(loom))]
pub use map::RcuHashMap;
