//! [`RcuHashMap`]: a resizable RCU hash table in the spirit of QEMU's `util/qht.c` and liburcu's
//! `rculfhash`, in any rcu-core domain (the default one unless made with
//! [`RcuHashMap::new_in`]).
//!
//! | this crate | QEMU qht | liburcu rculfhash |
//! |---|---|---|
//! | [`RcuHashMap::get`] | `qht_lookup` | `cds_lfht_lookup` |
//! | [`RcuHashMap::insert`] | `qht_insert` | `cds_lfht_add_replace` |
//! | [`RcuHashMap::remove`] | `qht_remove` | `cds_lfht_del` |
//! | [`RcuHashMap::entry`] | — | `cds_lfht_add_unique` / `cds_lfht_replace` |
//! | [`RcuHashMap::retain`] | `qht_iter_remove` | `cds_lfht_for_each` + `cds_lfht_del` |
//! | [`RcuHashMap::iter`] | `qht_iter` | `cds_lfht_for_each_entry` |
//! | [`RcuHashMap::resize`] | `qht_resize` | `cds_lfht_resize` |
//! | [`RcuHashMap::len`] | `qht_statistics_init` (entries) | `cds_lfht_count_nodes` |
//! | [`RcuHashMap::clear`] | `qht_reset` | — |
//! | [`RcuHashMap::pin`] ([`PinnedMap`]) | `RCU_READ_LOCK_GUARD()` + `qht_*` | `rcu_read_lock()` + `cds_lfht_*` |
//!
//! Users of papaya and dashmap: see [`RcuHashMap`'s migration table](RcuHashMap#migrating-from-dashmap--papaya).
//!
//! # Design
//!
//! * **Layout.** The map points (one `AtomicPtr`) at a *table*: a power-of-two array of bucket heads.
//!   Each key/value pair is one heap *node* holding the hash, the pair, an [`rcu_core::RcuHead`] and
//!   **two** chain links, `next[0]` and `next[1]`; a table's chains all use one of the two slots.
//! * **Readers** ([`get`](RcuHashMap::get), [`iter`](RcuHashMap::iter)) hash the key, load the table
//!   (`Acquire`), the bucket head and each node's `next[slot]` (`Acquire`), and compare hashes before
//!   keys. No lock, no atomic read-modify-write, no store (the guard only writes its own thread's
//!   reader record); the `&V` they return borrows the [`ReadGuard`](rcu_core::ReadGuard).
//! * **Writers** lock one of 64 *stripes* (a 4 KiB array of cache-line-sized mutexes and key counts)
//!   chosen by the low bits of the hash. A table never has fewer
//!   buckets than stripes, so a bucket's keys share a stripe, and writers to different stripes never
//!   contend. Insertion publishes a fully built node with one `Release` store at the bucket head;
//!   removal unlinks with one `Release` store and retires the node with `call_rcu1` through its
//!   embedded `RcuHead` (no allocation); replacing a value swaps in a new node the same way.
//! * **Resize** (grow when there are more keys than buckets, shrink below one key per eight buckets,
//!   or on demand with [`resize`](RcuHashMap::resize)): the resizer takes every stripe, so the current
//!   table is frozen, and links every node into a new table through the *other* `next` slot. The old
//!   table's chains are not touched. It publishes the new table with one `Release` store, releases the
//!   stripes and retires the old bucket array with `call_rcu1`.
//!
//! # Why readers never miss a key during a resize
//!
//! A reader walks whichever table it loaded. If it is the new one, every node was linked into it
//! before it was published (`Release`/`Acquire`). If it is the old one, its chains are exactly what
//! they were when the resizer froze it, and writers after the resize only change the new table's
//! slot, so every key present at the freeze is still reachable through the old slot; removed nodes
//! are freed only after a grace period, which this reader's section delays. A key present throughout
//! a lookup is therefore always found. The next resize rewrites the old slot, so it first makes sure a
//! grace period has passed since the previous publication (a polled `start_poll_synchronize_rcu`
//! cookie): by then no reader still walks the table that used that slot. An automatic resize that
//! would have to wait inside a read-side critical section is simply postponed to a later write.
//!
//! # Differences from QEMU and liburcu
//!
//! * qht buckets hold four `(hash, pointer)` pairs and readers use a per-bucket seqlock; here readers
//!   never retry, at the price of one node allocation per key (which also carries the `RcuHead`).
//! * rculfhash resizes incrementally with split-ordered lists; here a resize rebuilds the whole bucket
//!   array under every stripe, which pauses writers (never readers) for O(n).
//! * Values are immutable once published: updating a value publishes a new node.

mod entry;
mod hash_map;
mod pinned;
#[cfg(not(loom))]
mod raw;
#[cfg(loom)]
#[doc(hidden)]
pub mod raw;
mod stripe;

pub use entry::{Entry, OccupiedEntry, VacantEntry};
pub use hash_map::{Iter, Keys, RcuHashMap, Values};
pub use pinned::PinnedMap;
