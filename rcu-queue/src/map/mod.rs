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
//!   [`resize`](RcuHashMap::resize)) is an incremental *migration*. Starting one takes every stripe
//!   for a moment, publishes an empty table of the new size with one `Release` store and keeps the
//!   old one beside it. The keys of old bucket `i` land in a fixed set of new buckets (its *group*:
//!   one old bucket for a grow, up to eight for a shrink, which is done in steps of at most 8x),
//!   all under one stripe. Writers then copy the groups: each write first copies its own key's
//!   group under its stripe (if not copied yet), and, before that, up to 64 groups of another
//!   stripe if that stripe is free, so no write copies more than 520 old buckets however large the
//!   table. Copying a group hashes its keys, stores the same node pointers in the new table (nodes
//!   are immutable and shared by both tables), and only then marks the old buckets *moved* with a
//!   `Release` store. After that, writes of the group change the new table only. The write that
//!   copies the last group unpublishes the old table and retires it (bucket array and overflow
//!   buckets, not the nodes) with `call_rcu1`. An explicit [`resize`](RcuHashMap::resize) copies
//!   every group itself before it returns.
//!
//! * **Layouts.** The above is the default [`Boxed`] layout. [`RcuFlatHashMap`] uses the
//!   [`Inline`] one (the map's last type parameter, [`Layout`]): `Copy` pairs are stored in the
//!   buckets themselves (three `u64 -> u64` pairs per 64-byte bucket, each slot's 16-bit state
//!   holding its tag), written once and never changed while the table lives. A removal marks the
//!   slot dead; a replacement appends the new pair to the chain and then marks the old one dead; a
//!   migration copies the live pairs only, and writers start one (a *rehash*, possibly to the same
//!   size) when live plus dead slots pass the table's load by a quarter. Dead pairs are freed with
//!   their table, or earlier with their overflow bucket: a bucket whose pairs are all dead is
//!   unlinked from its chain at once (`RawTable::prune`) and freed after a grace period. The raw
//!   table, the migration and the iterator are written once against the two bucket kinds' slot
//!   operations (`map/layout.rs`).
//!
//! # Why readers never miss a key during a migration
//!
//! A reader loads the table (`Acquire`), then the table being migrated from, if any (`Acquire`;
//! null, one pointer test, when no migration runs). During a migration it reads its old bucket's
//! *moved* flag (`Acquire`): if set, every copy of the group is visible in the new table, which
//! holds every key of the group from then on; if not, the old bucket still holds every key of its
//! group, because no writer changes a group before copying it. Old buckets are never changed after
//! their copy, and a node unlinked from the new table is freed only after a grace period, which this
//! reader's section delays. Within one table a key stays in its slot until it is removed (a
//! replacement swaps the pointer in place), so a key present throughout a lookup is always found.
//! A tag only filters: a reader that sees a slot's stale tag either skips a key being inserted or
//! loads the pointer and compares the node's key. In the [`Inline`] layout a key does move within
//! its chain when it is replaced, but only forward, and the new pair is published before the old
//! one is marked dead: a reader walking the chain in order finds one of them (see [`Layout`]). [`iter`](RcuHashMap::iter) takes each group whole
//! from one table (the old one until its last old bucket is marked moved), so it yields each
//! present key once. A migration starts only when none runs. A shrink or a rehash also waits until a grace period
//! has passed since the previous migration completed (a polled `start_poll_synchronize_rcu`
//! cookie), which keeps at most two retired tables allocated during a run of them; an automatic one
//! that would have to wait is postponed to a later write (a write never waits for a grace period).
//! A grow never waits: the tables a run of grows retires add up to less than the current one.
//!
//! # Differences from QEMU and liburcu
//!
//! * qht buckets hold four `(32-bit hash, pointer)` pairs and readers use a per-bucket seqlock,
//!   because a qht removal moves the bucket's last entry into the hole; here a removal moves nothing,
//!   so readers never retry, and five `(16-bit tag, pointer)` pairs fit the line.
//! * rculfhash resizes incrementally with split-ordered lists; here a plain bucket array is
//!   migrated group by group by the writers (a bounded amount per write), with readers choosing
//!   the old or the new bucket by its moved flag.
//! * Values are immutable once published: updating a value publishes a new node.

mod entry;
mod flat;
mod hash_map;
#[cfg(not(loom))]
mod layout;
#[cfg(loom)]
#[doc(hidden)]
pub mod layout;
mod pinned;
#[cfg(not(loom))]
mod raw;
#[cfg(loom)]
#[doc(hidden)]
pub mod raw;
mod stripe;

pub use entry::{Entry, OccupiedEntry, VacantEntry};
pub use flat::RcuFlatHashMap;
pub use hash_map::{Iter, Keys, RcuHashMap, Values};
pub use layout::{Boxed, Inline, Layout};
pub use pinned::PinnedMap;
