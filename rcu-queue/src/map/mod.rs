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
//! * **Layout.** The map points (one `AtomicPtr`) at a *table*: a power-of-two array of 64-byte
//!   *buckets*, each holding five slots of a 16-bit *tag* (the top bits of the key's hash) and a
//!   pointer to a *node*, plus a pointer to an overflow bucket where the five are full. A node is one
//!   heap allocation holding the key/value pair and nothing else (16 bytes for `u64 -> u64`); it is
//!   immutable once published. Tables are sized for up to four keys per bucket on average.
//! * **Readers** ([`get`](RcuHashMap::get), [`iter`](RcuHashMap::iter)) hash the key, load the table
//!   (`Acquire`), compare the bucket's tags (`Relaxed` loads) and load (`Acquire`) only the slots
//!   whose tag matches, comparing their key; then the overflow buckets
//!   (`Acquire`), if any. A miss usually reads one cache line and no node, a hit that line and one
//!   node. No lock, no atomic read-modify-write, no store (the guard only writes its own thread's
//!   reader record); the `&V` they return borrows the [`ReadGuard`](rcu_core::ReadGuard).
//! * **Writers** lock one of 64 *stripes* (a 4 KiB array of cache-line-sized mutexes and key counts)
//!   chosen by the low bits of the hash. A table never has fewer
//!   buckets than stripes, so a bucket's keys share a stripe, and writers to different stripes never
//!   contend. Insertion stores the tag, then publishes the fully built node with one `Release` store
//!   into the chain's first empty slot, or publishes a new overflow bucket holding it with one
//!   `Release` store of the last bucket's overflow pointer. Removal empties the slot and retires the
//!   node with a `call_rcu` closure that carries its pointer (the node has no `RcuHead`); replacing
//!   a value stores a new node in the same slot. No other key ever moves. Overflow buckets live as long as their table.
//! * **Resize** (grow past four keys per bucket, shrink below one per two buckets, or on demand with
//!   [`resize`](RcuHashMap::resize)): the resizer takes every stripe, so the current table is frozen,
//!   and places every node in a new table (hashing each key again: nodes keep no hash). The old table is not touched. It publishes the new table
//!   with one `Release` store, releases the stripes and retires the old table (bucket array and
//!   overflow buckets, not the nodes) with `call_rcu1`.
//!
//! # Why readers never miss a key during a resize
//!
//! A reader walks whichever table it loaded. If it is the new one, every node was placed in it
//! before it was published (`Release`/`Acquire`). If it is the old one, its slots are exactly what
//! they were when the resizer froze it, and writers after the resize only change the new table, so
//! every key present at the freeze is still in the old table; removed nodes are freed only after a
//! grace period, which this reader's section delays. Within one table a key stays in its slot until
//! it is removed (a replacement swaps the pointer in place), so a key present throughout a lookup is
//! always found. A tag only filters: a reader that sees a slot's stale tag either skips a key being
//! inserted or loads the pointer and compares the node's key. A resize still waits for a
//! grace period since the previous one (a polled `start_poll_synchronize_rcu` cookie), which keeps
//! at most two retired tables allocated during a run of resizes; an automatic resize that would have
//! to wait inside a read-side critical section is simply postponed to a later write.
//!
//! # Differences from QEMU and liburcu
//!
//! * qht buckets hold four `(32-bit hash, pointer)` pairs and readers use a per-bucket seqlock,
//!   because a qht removal moves the bucket's last entry into the hole; here a removal moves nothing,
//!   so readers never retry, and five `(16-bit tag, pointer)` pairs fit the line.
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
