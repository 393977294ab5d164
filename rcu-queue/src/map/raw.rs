//! The `unsafe` layer of [`RcuHashMap`](super::RcuHashMap): an array of cache-line buckets of
//! `(tag, entry pointer)` slots with overflow chains, migrated to a new array group by group on
//! resize (QEMU `util/qht.c`'s `qht_map` and `qht_bucket`; the incremental migration is liburcu
//! rculfhash's idea of a resize that never stops writers for long, with a plain bucket array).
//!
//! Compiled under `--cfg loom` too (with loom's atomics from `crate::sync`), where it is exported as
//! `rcu_queue::map::raw` so that `tests/map_loom.rs` drives this very code.
//!
//! # Layout
//!
//! A [`Bucket`] is one 64-byte cache line (on 64-bit targets): [`SLOTS`] 16-bit *tags* (the top bits
//! of the key's hash), a *moved* flag, [`SLOTS`] pointers to immutable [`Node`]s and a pointer to an
//! overflow bucket. A lookup compares the tags of its hash's bucket and dereferences only the nodes
//! whose tag matches: a miss usually reads the bucket line alone, a hit one bucket line and one
//! node. Nodes never move between slots of a table, so a key present throughout a lookup is always
//! found. Overflow buckets are appended, never unlinked: they live as long as their table and are
//! freed with it.
//!
//! # Migration
//!
//! [`RawTable::start`] publishes an empty table as `current` and keeps the old one as `from`. A
//! *group* is the set of old buckets whose keys land in one set of new buckets (one old bucket for a
//! grow, several for a shrink); all its buckets share a writer lock. [`RawTable::migrate`] copies a
//! group: it hashes its nodes, places the same node pointers in the new table (nodes are immutable
//! and shared by both tables for as long as the migration runs), and only then marks the old buckets
//! *moved* (`Release`). A reader ([`RawTable::find`]) that sees its old bucket moved (`Acquire`)
//! reads the new table and finds the copies; one that does not reads the old bucket, which still
//! holds every key of its group, since writers copy a group under its lock before they change it
//! and change only the new table afterwards. The call that copies the last group stores null in
//! `from` and hands the old table back to be retired after a grace period.
//!
//! # Contracts
//!
//! * **R1 (readers)**: [`RawTable::find`] and [`RawTable::iter`] run inside a read-side critical
//!   section of the domain that reclaims this table's nodes and tables; what they return is valid until
//!   that section ends.
//! * **W1 (writers)**: [`RawTable::migrate`], [`RawTable::locate`] and the `*_at` operations run with
//!   the writer lock of the hash's bucket held (bucket `i`'s lock is `i % locks`); `locate` only
//!   after `migrate` copied the hash's group under that lock, so writers change the new table only.
//!   A [`Position`] is used only while that lock is held.
//! * **W2 (start)**: [`RawTable::start`] runs with every writer lock held and no migration running.
//!   It leaves the old table's buckets as they are, so readers still walking them find every key.
//! * **W3 (reclamation)**: an unlinked node, and a table whose migration completed, are freed only
//!   after a grace period ([`Node::reclaim`] runs in a `call_rcu` closure, [`Table::reclaim`] is a
//!   `call_rcu1` callback). Writers read the old table only under a lock whose groups are not all
//!   copied yet, so the migration cannot complete under them.

use crate::sync::{
    AtomicPtr, AtomicU16, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use core::ptr::{self, NonNull};
use rcu_core::RcuHead;

/// Slots per bucket: five `(u16 tag, pointer)` pairs and the overflow pointer fill 64 bytes on 64-bit
/// targets (qht has four `(u32 hash, pointer)` pairs and a seqlock).
pub const SLOTS: usize = 5;

/// The tag of a hash: its top 16 bits (the low bits choose the bucket and the stripe).
#[inline]
fn tag_of(hash: u64) -> u16 {
    // Truncating is intended: the top 16 bits.
    (hash >> 48) as u16
}

/// Asks the CPU to bring the cache line at `p` in (a hint: no effect on the program's meaning; a
/// no-op off x86-64 and under loom).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // `_mm_prefetch` is a safe function from Rust 1.87 on, an `unsafe` one in older compilers that
    // the crate's rust-version still accepts.
    #[allow(unused_unsafe)]
    // SAFETY: a prefetch never faults and changes no memory, whatever the address; `sse` is part
    // of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = p;
}

/// One key/value pair: one allocation holding the pair and nothing else (16 bytes for `u64 -> u64`),
/// immutable once published; the buckets hold the pointers to it. Its hash is not kept: a lookup
/// compares the 16-bit tag in the bucket and then the key, and a migration hashes the keys again. An
/// unlinked node is retired with the domain's closure `call_rcu`, which carries the pointer (so the
/// node needs no `RcuHead`).
#[repr(C)]
pub struct Node<K, V> {
    /// The key.
    pub key: K,
    /// The value.
    pub value: V,
}

impl<K, V> Node<K, V> {
    /// Allocates an unlinked node.
    pub fn alloc(key: K, value: V) -> NonNull<Self> {
        NonNull::from(Box::leak(Box::new(Node { key, value })))
    }

    /// Frees `node`, dropping its key and value (what the reclamation callback of an unlinked node
    /// runs).
    ///
    /// # Safety
    ///
    /// `node` came from [`Node::alloc`], is freed once, and no thread can reach it any more: it was
    /// unlinked and a grace period has elapsed (W3), or it was never published.
    pub unsafe fn reclaim(node: NonNull<Self>) {
        // SAFETY: the node came from `Box::leak` in `alloc` and is unreachable (contract).
        drop(unsafe { Box::from_raw(node.as_ptr()) });
    }
}

/// A slot's node pointer.
type Slot<K, V> = AtomicPtr<Node<K, V>>;

/// One cache line of slots (qht's `struct qht_bucket`). A slot is empty when its pointer is null;
/// its tag is meaningful only while the pointer is not (a reader that matches a stale tag loads the
/// pointer and compares the node's key).
#[repr(C, align(64))]
struct Bucket<K, V> {
    tags: [AtomicU16; SLOTS],
    /// Non-zero once a migration has copied this bucket's group into the next table (in the padding
    /// before `nodes`: the bucket stays one cache line). Stored with `Release` by
    /// [`RawTable::migrate`] after the copies; never cleared (the table is retired after its
    /// migration).
    moved: AtomicU16,
    nodes: [Slot<K, V>; SLOTS],
    /// The overflow bucket, published with a `Release` store by [`Table::place`]; owned by the table.
    next: AtomicPtr<Bucket<K, V>>,
}

#[cfg(all(not(loom), target_pointer_width = "64"))]
const _: () = assert!(core::mem::size_of::<Bucket<u64, u64>>() == 64);

impl<K, V> Bucket<K, V> {
    fn new() -> Self {
        Bucket {
            tags: core::array::from_fn(|_| AtomicU16::new(0)),
            moved: AtomicU16::new(0),
            nodes: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The non-empty slots of this bucket with their nodes. The caller owns the table or holds the
    /// bucket's writer lock (W1, W2), so no slot changes meanwhile.
    fn nodes(&self) -> impl Iterator<Item = (&Slot<K, V>, NonNull<Node<K, V>>)> {
        // Relaxed: no slot changes under the caller (see above).
        (self.nodes.iter())
            .filter_map(|slot| NonNull::new(slot.load(Relaxed)).map(|node| (slot, node)))
    }

    /// This bucket and its overflow buckets.
    fn chain(&self) -> impl Iterator<Item = &Self> {
        core::iter::successors(Some(self), |bucket| bucket.next_bucket())
    }

    /// The overflow bucket, if any.
    #[inline]
    fn next_bucket(&self) -> Option<&Self> {
        // Acquire: pairs with the Release store in `Table::place` that published the bucket, so its
        // slots are visible.
        let next = self.next.load(Acquire);
        // SAFETY: an overflow bucket is owned by the table that owns `self` and is freed only by that
        // table's `Drop`, which cannot run while `self` (part of the table) is borrowed.
        unsafe { next.as_ref() }
    }
}

/// One bucket array with its overflow buckets: the unit a migration publishes and retires (qht's
/// `struct qht_map`).
pub struct Table<K, V> {
    buckets: BucketArray<K, V>,
    rcu: RcuHead,
}

#[cfg(not(loom))]
type BucketArray<K, V> = ZeroedBuckets<K, V>;
#[cfg(loom)]
type BucketArray<K, V> = Box<[Bucket<K, V>]>;

/// A bucket array in zeroed memory from the allocator's `calloc` path: for a large table that is
/// fresh pages, which the kernel zeroes as they are first touched, so starting a migration to a big
/// table does not write the whole array (the writer that starts one would pay for it). The global
/// allocator zeroes with `calloc` only up to 16-byte alignment (above it, it writes the zeros
/// itself), so the block is allocated with that alignment and one bucket more, and the array
/// starts at its first 64-byte boundary.
#[cfg(not(loom))]
struct ZeroedBuckets<K, V> {
    first: NonNull<Bucket<K, V>>,
    len: usize,
    block: NonNull<u8>,
}

#[cfg(not(loom))]
impl<K, V> ZeroedBuckets<K, V> {
    /// The block's layout.
    fn layout(len: usize) -> std::alloc::Layout {
        let size = core::mem::size_of::<Bucket<K, V>>()
            .checked_mul(len + 1)
            .expect("table too large");
        std::alloc::Layout::from_size_align(size, 16).expect("table too large")
    }

    fn new(len: usize) -> Self {
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (at least one bucket).
        let block = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        let align = core::mem::align_of::<Bucket<K, V>>();
        let skip = block.as_ptr().align_offset(align);
        assert!(
            skip < align,
            "a 16-byte aligned block reaches a 64-byte boundary"
        );
        // SAFETY: `skip` is below one bucket's size, and the block holds `len + 1` buckets' bytes.
        let first = unsafe { NonNull::new_unchecked(block.as_ptr().add(skip)) }.cast();
        ZeroedBuckets { first, len, block }
    }
}

#[cfg(not(loom))]
impl<K, V> core::ops::Deref for ZeroedBuckets<K, V> {
    type Target = [Bucket<K, V>];

    fn deref(&self) -> &[Bucket<K, V>] {
        // SAFETY: `first` is aligned for buckets and followed by `len` buckets' bytes of the block,
        // which lives as long as `self`; all-zero bytes are an empty bucket (zero tags, `moved`
        // clear, atomics of null pointers), and buckets are changed only through their atomics.
        unsafe { core::slice::from_raw_parts(self.first.as_ptr(), self.len) }
    }
}

#[cfg(not(loom))]
impl<K, V> Drop for ZeroedBuckets<K, V> {
    fn drop(&mut self) {
        // SAFETY: the block came from `alloc_zeroed` with this layout; buckets need no drop (the
        // table frees its overflow buckets itself).
        unsafe { std::alloc::dealloc(self.block.as_ptr(), Self::layout(self.len)) };
    }
}

impl<K, V> Table<K, V> {
    fn alloc(nbuckets: usize) -> NonNull<Self> {
        assert!(nbuckets.is_power_of_two());
        let table = Box::new(Table {
            buckets: Self::empty_buckets(nbuckets),
            rcu: RcuHead::new(),
        });
        NonNull::from(Box::leak(table))
    }

    /// `nbuckets` empty buckets, from zeroed memory (see [`ZeroedBuckets`]).
    #[cfg(not(loom))]
    fn empty_buckets(nbuckets: usize) -> ZeroedBuckets<K, V> {
        ZeroedBuckets::new(nbuckets)
    }

    /// `nbuckets` empty buckets (loom's atomics are not valid as zeroed memory).
    #[cfg(loom)]
    fn empty_buckets(nbuckets: usize) -> BucketArray<K, V> {
        (0..nbuckets).map(|_| Bucket::new()).collect()
    }

    #[inline]
    fn bucket(&self, hash: u64) -> &Bucket<K, V> {
        // Truncating the hash is intended: the low bits pick the bucket.
        &self.buckets[hash as usize & (self.buckets.len() - 1)]
    }

    /// Every non-empty slot's node in buckets `first, first + step, ...` and their overflow buckets,
    /// with the slot holding it.
    fn slots(
        &self,
        first: usize,
        step: usize,
    ) -> impl Iterator<Item = (&Slot<K, V>, NonNull<Node<K, V>>)> {
        self.buckets
            .iter()
            .skip(first)
            .step_by(step)
            .flat_map(Bucket::chain)
            .flat_map(Bucket::nodes)
    }

    /// Finds where the key with this hash satisfying `eq` is, or the first empty slot of its chain.
    ///
    /// # Safety
    ///
    /// No one else writes the chain of `hash` while this runs and while the position is used (the
    /// caller holds its writer lock, W1, or owns an unpublished table), and its nodes are live.
    unsafe fn locate(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Position<K, V> {
        let tag = tag_of(hash);
        let mut free = None;
        let mut bucket = self.bucket(hash);
        loop {
            for (i, slot) in bucket.nodes.iter().enumerate() {
                // Relaxed (both loads): only the caller writes this chain (contract).
                let cur = slot.load(Relaxed);
                if cur.is_null() {
                    free = free.or(Some((NonNull::from(bucket), i)));
                    continue;
                }
                if bucket.tags[i].load(Relaxed) != tag {
                    continue;
                }
                // SAFETY: a linked node is live while its chain cannot change: only the chain's writer
                // unlinks it, and it is freed a grace period after that (contract, W3).
                let node = unsafe { &*cur };
                if eq(&node.key) {
                    return Position {
                        slot: Some((NonNull::from(bucket), i)),
                        tail: NonNull::from(bucket),
                        found: Some(NonNull::from(node)),
                        tag,
                    };
                }
            }
            match bucket.next_bucket() {
                Some(next) => bucket = next,
                None => {
                    return Position {
                        slot: free,
                        tail: NonNull::from(bucket),
                        found: None,
                        tag,
                    };
                }
            }
        }
    }

    /// Stores `node` in the empty slot `pos` found, or in a new overflow bucket appended to the chain
    /// if it found none (`qht_insert__locked`).
    ///
    /// # Safety
    ///
    /// `pos` came from [`locate`](Self::locate) on this table for a key that is absent, and its
    /// contract still holds; `node` is live and was never linked.
    unsafe fn place(pos: &Position<K, V>, node: NonNull<Node<K, V>>) {
        match pos.slot {
            Some((bucket, i)) => {
                // SAFETY: the bucket belongs to the table, which the caller's lock or ownership keeps
                // allocated while `pos` is used (contract).
                let bucket = unsafe { bucket.as_ref() };
                // Relaxed: the tag only filters; a reader that sees the slot's old tag skips the slot
                // (the key is being inserted: not yet present for it) or loads the pointer and
                // compares the node's key.
                bucket.tags[i].store(pos.tag, Relaxed);
                // Release: publishes the node's key and value; pairs with the Acquire loads of
                // `find` and `RawIter`.
                bucket.nodes[i].store(node.as_ptr(), Release);
            }
            None => {
                let fresh = Bucket::new();
                // Relaxed: the bucket is ours until the Release store below publishes it.
                fresh.tags[0].store(pos.tag, Relaxed);
                fresh.nodes[0].store(node.as_ptr(), Relaxed);
                let fresh = Box::leak(Box::new(fresh));
                // SAFETY: as above, the tail bucket belongs to the table the caller keeps allocated.
                let tail = unsafe { pos.tail.as_ref() };
                // Release: publishes the bucket and the node in it; pairs with the Acquire load in
                // `Bucket::next_bucket`.
                tail.next.store(fresh, Release);
            }
        }
    }

    /// The table's `RcuHead`, to queue it with `call_rcu1(head, Table::reclaim)` once replaced.
    ///
    /// # Safety
    ///
    /// `table` was handed back by [`RawTable::migrate`] (or is owned by a dropped map) and is not yet
    /// reclaimed.
    pub unsafe fn rcu_head(table: NonNull<Self>) -> NonNull<RcuHead> {
        // SAFETY: live table (contract); `&raw mut` keeps its provenance for `container_of!`.
        unsafe { NonNull::new_unchecked(&raw mut (*table.as_ptr()).rcu) }
    }

    /// The table containing `head` (no access is made).
    pub fn from_rcu_head(head: NonNull<RcuHead>) -> *mut Self {
        rcu_core::container_of!(head, Table<K, V>, rcu)
    }

    /// Frees a table whose migration completed, and its overflow buckets (its nodes live on in the new
    /// table).
    ///
    /// # Safety
    ///
    /// `head` is the `rcu` field of a table handed back by [`RawTable::migrate`], and a grace period
    /// has elapsed since (W3).
    pub unsafe fn reclaim(head: NonNull<RcuHead>) {
        let table: *mut Self = Self::from_rcu_head(head);
        // SAFETY: the table came from `Box::leak` in `alloc` and no reader can still hold it.
        drop(unsafe { Box::from_raw(table) });
    }
}

impl<K, V> Drop for Table<K, V> {
    /// Frees the overflow buckets (not the nodes: the map's `Drop` or the next table owns them).
    fn drop(&mut self) {
        for head in self.buckets.iter() {
            // Relaxed: `&mut self`, no one else can reach the table.
            let mut next = head.next.load(Relaxed);
            while !next.is_null() {
                // SAFETY: each overflow bucket came from `Box::leak` in `place` and is linked once,
                // in this table only; the next pointer is read before the bucket is freed.
                let bucket = unsafe { Box::from_raw(next) };
                next = bucket.next.load(Relaxed);
            }
        }
    }
}

/// Where a key is, or would go, in the current table; valid only under the writer lock (W1).
pub struct Position<K, V> {
    /// The slot holding the key, or else the first empty slot of the chain (`None`: all full).
    slot: Option<(NonNull<Bucket<K, V>>, usize)>,
    /// The chain's last bucket (where a full chain grows) when the key is absent.
    tail: NonNull<Bucket<K, V>>,
    /// The node holding the key, if any.
    found: Option<NonNull<Node<K, V>>>,
    /// The key's tag.
    tag: u16,
}

impl<K, V> Position<K, V> {
    /// The node holding the key, if it is present.
    pub fn found(&self) -> Option<NonNull<Node<K, V>>> {
        self.found
    }

    /// The slot holding the found node.
    fn found_slot(&self, what: &str) -> &AtomicPtr<Node<K, V>> {
        assert!(self.found.is_some(), "{what}: position holds no node");
        let (bucket, i) = self.slot.expect("a found node has a slot");
        // SAFETY: the bucket belongs to the current table, which the bucket's lock (held while `self`
        // is used, W1) keeps from being retired.
        unsafe { &(*bucket.as_ptr()).nodes[i] }
    }
}

/// The low bit of [`RawTable`]'s `current` while a migration runs (a table is 8-aligned): readers
/// test it, and load `from` only when it is set.
const MIGRATING: usize = 1;

/// A `current` value without its migration mark, and whether it had one.
#[inline]
fn untag<T>(table: *mut T) -> (*mut T, bool) {
    let mark = table as usize & MIGRATING;
    (table.wrapping_byte_sub(mark), mark != 0)
}

/// What one [`RawTable::migrate`] call did.
#[must_use = "a finished migration's old table must be retired"]
pub struct Migrated<K, V> {
    /// Buckets of the old table this call copied (a group counts all of its old buckets).
    pub buckets: usize,
    /// The old table, if this call completed the migration: unpublished now, to be freed with
    /// [`Table::reclaim`] after a grace period (W3).
    pub finished: Option<NonNull<Table<K, V>>>,
}

/// The table of a map, and the one it is migrating from; owns every node linked in them.
///
/// `current` and `from` come first and together (`repr(C)`): a reader loads both, from one line.
#[repr(C)]
pub struct RawTable<K, V> {
    /// The table writers write: published with a `Release` store by [`start`](Self::start), with
    /// the [`MIGRATING`] mark, which the [`migrate`](Self::migrate) call that completes the
    /// migration clears (`Release`).
    current: AtomicPtr<Table<K, V>>,
    /// The table a migration copies into `current`, group by group; null when none runs. Stored
    /// with `Release` by [`start`](Self::start) (before `current`) and by the [`migrate`](Self::migrate)
    /// call that copies the last group (null).
    from: AtomicPtr<Table<K, V>>,
    /// The current table's bucket count, kept beside it so that size queries never reach the table:
    /// a caller outside R1 and W1 may find it retired and freed. Written only by
    /// [`start`](Self::start) (W2).
    nbuckets: AtomicUsize,
    /// Groups per lock of the running migration (see [`RawTable::migrate`]); written by
    /// [`start`](Self::start) (W2).
    per_lock: AtomicUsize,
    /// Per lock: how many of its groups, in order, the migration has passed (each is copied, or
    /// was found copied); written under that lock (W1) and by [`start`](Self::start) (W2). A lock
    /// whose cursor is at `per_lock` never reads `from` again.
    cursor: Box<[AtomicUsize]>,
    /// Locks whose cursor reached `per_lock`; the migrator that brings it to `locks` completes the
    /// migration. Written under a lock (an atomic read-modify-write: writers of different locks
    /// count here) and by [`start`](Self::start).
    locks_done: AtomicUsize,
}

// SAFETY: the table owns `K`s and `V`s (dropped wherever the table or the reclaimer runs: `Send`)
// and hands out shared references to them across threads (`Sync`); its own state is atomics.
unsafe impl<K: Send + Sync, V: Send + Sync> Send for RawTable<K, V> {}
// SAFETY: as above.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for RawTable<K, V> {}

impl<K, V> RawTable<K, V> {
    /// An empty table of `nbuckets` buckets (a power of two), whose writers take one of `locks`
    /// locks (a power of two, at most `nbuckets`): the lock of bucket `i` is `i % locks` (W1).
    pub fn new(nbuckets: usize, locks: usize) -> Self {
        assert!(locks.is_power_of_two() && locks <= nbuckets);
        RawTable {
            current: AtomicPtr::new(Table::alloc(nbuckets).as_ptr()),
            from: AtomicPtr::new(ptr::null_mut()),
            nbuckets: AtomicUsize::new(nbuckets),
            per_lock: AtomicUsize::new(0),
            cursor: (0..locks).map(|_| AtomicUsize::new(0)).collect(),
            locks_done: AtomicUsize::new(0),
        }
    }

    /// The number of writer locks.
    fn locks(&self) -> usize {
        self.cursor.len()
    }

    /// The current table.
    ///
    /// # Safety
    ///
    /// The caller is in R1 (a read-side critical section of the domain that reclaims tables), holds
    /// a writer lock (W1) or every one (W2), and uses the table only while that lasts: a table stops
    /// being current only in [`start`](Self::start), which needs every lock, and is freed only a
    /// grace period after its migration completes (W3), which needs the lock of each of its buckets
    /// once more. Anyone else may find it freed (use [`nbuckets`](Self::nbuckets) for its size).
    #[inline]
    unsafe fn table(&self) -> &Table<K, V> {
        // Acquire: pairs with the Release stores of `current` in `start` and `migrate` (or the
        // table's creation), so the table is visible; nodes placed later are published by their own
        // Release stores.
        let (table, _) = untag(self.current.load(Acquire));
        // SAFETY: `current` is never null, and the table is live while the caller's section or lock
        // lasts (contract).
        unsafe { &*table }
    }

    /// The current table and, while a migration runs, the table it copies from (R1).
    ///
    /// # Safety
    ///
    /// R1, and both are used only inside the section.
    #[inline]
    unsafe fn tables(&self) -> (&Table<K, V>, Option<&Table<K, V>>) {
        // Acquire: as in `table`.
        let (table, migrating) = untag(self.current.load(Acquire));
        // SAFETY: R1 (contract): `current` is never null and the section keeps it allocated.
        let table = unsafe { &*table };
        if !migrating {
            // The fast path, one load: no migration, or one that completed (its last step clears
            // the mark with a Release store after every copy).
            return (table, None);
        }
        // SAFETY: R1 (contract).
        (table, unsafe { self.migrating_from(table) })
    }

    /// The table a migration into `table` (a `current` value loaded with the migration mark)
    /// copies from, unless it has completed.
    ///
    /// # Safety
    ///
    /// R1, and the table is used only inside the section.
    unsafe fn migrating_from<'a>(&'a self, table: &'a Table<K, V>) -> Option<&'a Table<K, V>> {
        // Acquire: pairs with the Release stores of `from`: in `start`, which precedes its store of
        // `current`, so a reader that loaded the new `current` finds the table it migrates from (or
        // null, later); and in the `migrate` call that completes the migration, so a reader that
        // finds null sees every group copied into `current`.
        let from = self.from.load(Acquire);
        // `from == table`: this reader loaded `current` before that migration completed and the
        // next one, from it, started; it reads that table alone, whose buckets stay complete until
        // they are copied.
        if from.is_null() || ptr::eq(from, table) {
            return None;
        }
        // SAFETY: R1: a table a reader may reach through `from` is freed only a grace period after
        // `from` stops naming it (W3), and this section started before that.
        Some(unsafe { &*from })
    }

    /// Number of buckets of the current table; callable anywhere, with no section or lock (a
    /// snapshot unless every lock is held). Reads no table.
    pub fn nbuckets(&self) -> usize {
        // Relaxed: a size hint for the resize policy and `buckets()`; W2's writer exclusion (a mutex)
        // orders it for `start`, which alone needs the exact value.
        self.nbuckets.load(Relaxed)
    }

    /// Whether a migration runs: a hint, callable anywhere (exact while every lock is held).
    pub fn migrating(&self) -> bool {
        // Relaxed: a hint; the pointer is not followed.
        !self.from.load(Relaxed).is_null()
    }

    /// The node with this hash whose key satisfies `eq` (`qht_lookup`): the tags of the hash's bucket
    /// (and its overflow buckets), and only the nodes whose tag matches. Loads only. While a
    /// migration runs, the bucket is the old table's if its group is not copied yet, the new
    /// table's otherwise.
    ///
    /// # Safety
    ///
    /// R1: inside a read-side critical section; the node stays valid until that section ends.
    #[inline]
    pub unsafe fn find(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
    ) -> Option<NonNull<Node<K, V>>> {
        // Acquire: as in `table`.
        let (table, migrating) = untag(self.current.load(Acquire));
        // SAFETY: R1 (contract): `current` is never null and the section keeps it allocated.
        let table = unsafe { &*table };
        let mut bucket = if migrating {
            // SAFETY: R1 (contract).
            unsafe { self.bucket_during_migration(table, hash) }
        } else {
            table.bucket(hash)
        };
        let tag = tag_of(hash);
        loop {
            // The slots whose tag matches, as a bit mask: no branch per slot.
            let mut matches = 0u32;
            for (i, t) in bucket.tags.iter().enumerate() {
                // Relaxed: the tag only filters (see `Table::place`).
                matches |= u32::from(t.load(Relaxed) == tag) << i;
            }
            while matches != 0 {
                let i = matches.trailing_zeros() as usize;
                matches &= matches - 1;
                // Acquire: pairs with the Release store that published the node (`Table::place`,
                // `replace_at`).
                let cur = bucket.nodes[i].load(Acquire);
                // SAFETY: nodes reachable from a table a reader holds are freed only a grace period
                // after they are unlinked (W3), which this reader's section delays.
                if let Some(node) = unsafe { cur.as_ref() } {
                    if eq(&node.key) {
                        return Some(NonNull::from(node));
                    }
                }
            }
            bucket = bucket.next_bucket()?;
        }
    }

    /// The bucket `find` reads for `hash` when `current` (`table`) carries the migration mark: the
    /// old table's, while its group is not copied yet; the new one's after. Out of line, so that
    /// `find` stays as small as without migrations.
    ///
    /// # Safety
    ///
    /// R1, and the bucket is used only inside the section.
    #[cold]
    #[inline(never)]
    unsafe fn bucket_during_migration<'a>(
        &'a self,
        table: &'a Table<K, V>,
        hash: u64,
    ) -> &'a Bucket<K, V> {
        // SAFETY: R1 (contract).
        if let Some(from) = unsafe { self.migrating_from(table) } {
            let old = from.bucket(hash);
            // Acquire: pairs with the Release store in `migrate` that marks the group copied, so
            // the copies in `table` are visible. Not copied: the old bucket still holds every key
            // of its group (writers copy a group before they change it).
            if old.moved.load(Acquire) == 0 {
                return old;
            }
        }
        table.bucket(hash)
    }

    /// Every node, bucket by bucket; while a migration runs, group by group, each group from the
    /// table that holds it when the iterator reaches it, so no key is yielded twice and none present
    /// throughout is missed.
    ///
    /// # Safety
    ///
    /// R1: the iterator and the nodes it yields are used only inside the read-side critical section.
    pub unsafe fn iter(&self) -> RawIter<'_, K, V> {
        // SAFETY: R1 (contract): the caller's section keeps both tables allocated while the
        // iterator is used.
        let (table, from) = unsafe { self.tables() };
        RawIter {
            table,
            from,
            groups: from.map_or(table.buckets.len(), |from| {
                table.buckets.len().min(from.buckets.len())
            }),
            group: 0,
            src: table,
            next: 0,
            step: 1,
            left: 0,
            cur: None,
            slot: 0,
        }
    }

    /// Finds where the key with this hash satisfying `eq` is, or would be inserted, in the current
    /// table.
    ///
    /// # Safety
    ///
    /// W1: the lock of `hash`'s bucket is held, and stays held while the position is used, and
    /// [`migrate`](Self::migrate) has copied `hash`'s group under it.
    pub unsafe fn locate(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Position<K, V> {
        // SAFETY: W1 (contract): the bucket's lock is held while the position is used, so no
        // migration can start and retire the table meanwhile, and no other writer changes the chain.
        unsafe { self.table().locate(hash, eq) }
    }

    /// Publishes a fresh node in `pos`'s chain (`qht_insert`): in its first empty slot, or in a new
    /// overflow bucket.
    ///
    /// # Safety
    ///
    /// W1 for `pos`; `node` came from [`Node::alloc`] and was never linked; the key is absent. `pos` is
    /// not used again.
    pub unsafe fn insert_at(&self, pos: &Position<K, V>, node: NonNull<Node<K, V>>) {
        // SAFETY: `pos` came from `locate` with the bucket's lock held (W1), which still holds; the
        // key is absent and `node` fresh (contract).
        unsafe { Table::place(pos, node) }
    }

    /// Empties the slot of the node `pos` found and returns the node; the caller retires it after a
    /// grace period. Other slots are untouched, so no other key moves.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, and `pos.found()` is `Some`.
    pub unsafe fn unlink_at(&self, pos: &Position<K, V>) -> NonNull<Node<K, V>> {
        let slot = pos.found_slot("unlink_at");
        // Relaxed: a null pointer publishes nothing; readers that loaded the node before are covered
        // by the grace period its retirement waits for (W3).
        slot.store(ptr::null_mut(), Relaxed);
        pos.found.expect("found_slot checked it")
    }

    /// Replaces the node `pos` found by `new` in the same slot (same hash, so same tag); returns the
    /// old node, which the caller retires after a grace period.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, `pos.found()` is `Some`, and `new` came from [`Node::alloc`] and was never linked.
    pub unsafe fn replace_at(
        &self,
        pos: &Position<K, V>,
        new: NonNull<Node<K, V>>,
    ) -> NonNull<Node<K, V>> {
        let slot = pos.found_slot("replace_at");
        // Release: publishes `new`; pairs with the readers' Acquire loads of the slot.
        slot.store(new.as_ptr(), Release);
        pos.found.expect("found_slot checked it")
    }

    /// Empties every slot of the current table's buckets `lock, lock + locks, ...` whose node `keep`
    /// rejects, and hands the node to `retire`.
    ///
    /// # Safety
    ///
    /// W1 for lock `lock` (held for the whole call), after a [`migrate`](Self::migrate) under it with
    /// an unlimited budget (so none of its groups is left in an old table); `retire` defers freeing
    /// by a grace period (W3).
    pub unsafe fn retain_buckets(
        &self,
        lock: usize,
        mut keep: impl FnMut(&K, &V) -> bool,
        mut retire: impl FnMut(NonNull<Node<K, V>>),
    ) {
        // SAFETY: W1 (contract): the lock is held for the whole call, so no migration can start and
        // retire the table meanwhile.
        let table = unsafe { self.table() };
        for (slot, node) in table.slots(lock, self.locks()) {
            // SAFETY: linked nodes of locked buckets are live (W1, W3).
            let pair = unsafe { node.as_ref() };
            if !keep(&pair.key, &pair.value) {
                // Relaxed: as in `unlink_at`.
                slot.store(ptr::null_mut(), Relaxed);
                retire(node);
            }
        }
    }

    /// Starts a migration to a new, empty table of `nbuckets` buckets (`qht_resize`, incremental):
    /// publishes it as the table writers write, and the current one as the table they copy from.
    /// Writers then copy it group by group with [`migrate`](Self::migrate): with `n` old and `m` new
    /// buckets and `g = min(n, m)` groups, group `k` is the old buckets `k, k + g, ...` and the new
    /// ones `k, k + g, ...` (one old bucket for a grow, `n / m` for a shrink), all under lock
    /// `k % locks`. Readers keep reading each old bucket until its group is copied.
    ///
    /// # Safety
    ///
    /// W2: every lock is held; no migration runs ([`migrating`](Self::migrating) is false), and
    /// `nbuckets` (a power of two) is at least the lock count.
    pub unsafe fn start(&self, nbuckets: usize) {
        assert!(
            !self.migrating(),
            "RawTable::start: a migration is still running"
        );
        assert!(nbuckets.is_power_of_two() && nbuckets >= self.locks());
        // Relaxed: every lock is held (W2), so no other writer stores `current`; no migration runs,
        // so it carries no mark.
        let old = self.current.load(Relaxed);
        // SAFETY: the current table is live while every lock is held (W2).
        let groups = unsafe { &*old }.buckets.len().min(nbuckets);
        // Relaxed (these five): read only under a lock, which orders them after this W2 section.
        self.per_lock.store(groups / self.locks(), Relaxed);
        for cursor in self.cursor.iter() {
            cursor.store(0, Relaxed);
        }
        self.locks_done.store(0, Relaxed);
        let new = Table::<K, V>::alloc(nbuckets);
        // Release (both): pairs with the Acquire loads in `tables`; `from` first, so a reader that
        // sees the new `current` also sees the table it must consult. `current` carries the
        // migration mark (its low bit: tables are 8-aligned) until the migration completes.
        self.from.store(old, Release);
        self.current
            .store(new.as_ptr().wrapping_byte_add(MIGRATING), Release);
        self.nbuckets.store(nbuckets, Relaxed);
    }

    /// Copies the group of `hash`, if given and not copied yet, then up to `budget` more groups of
    /// lock `lock` that are not (`budget` counts the groups looked at), into the current table:
    /// each group's nodes are hashed, then placed, then its old buckets are marked copied. Returns
    /// what it did; the call that copies the last group completes the migration and hands the old
    /// table back for retirement.
    ///
    /// If `hash_of` panics, the group being copied is left as it was (nothing of it is placed yet)
    /// and the panic propagates: the map stays consistent, and a later call copies the group.
    ///
    /// # Safety
    ///
    /// W1: lock `lock` is held for the whole call, and `hash` (if given) maps to it.
    pub unsafe fn migrate(
        &self,
        lock: usize,
        hash: Option<u64>,
        budget: usize,
        mut hash_of: impl FnMut(&K) -> u64,
    ) -> Migrated<K, V> {
        let mut done = Migrated {
            buckets: 0,
            finished: None,
        };
        // Relaxed: `from` is followed only if this lock's cursor says the migration still needs it;
        // the lock orders this thread after `start` and after every change to the cursor.
        let from = self.from.load(Relaxed);
        if from.is_null() {
            return done;
        }
        let per_lock = self.per_lock.load(Relaxed);
        let cursor = &self.cursor[lock];
        // Relaxed: written only under this lock (or W2).
        let mut at = cursor.load(Relaxed);
        if at == per_lock {
            // None of the migration's groups is left under this lock: `from` may be retired already
            // (a stale non-null load) and is not read.
            return done;
        }
        // SAFETY: a group of this lock is not copied yet and its lock is held, so the migration
        // cannot complete, and `from` cannot be retired, during this call.
        let old = unsafe { &*from };
        // SAFETY: W1: no migration can start, so `current` stays the table being filled.
        let new = unsafe { self.table() };
        let groups = per_lock * self.locks();
        let mut batch = Vec::new();
        if let Some(hash) = hash {
            // Truncating is intended: the low bits pick the group.
            let group = hash as usize & (groups - 1);
            debug_assert_eq!(group % self.locks(), lock);
            // SAFETY: W1 for the group's lock (contract).
            done.buckets += unsafe { old.copy_group(new, group, groups, &mut batch, &mut hash_of) };
        }
        let end = per_lock.min(at.saturating_add(budget));
        while at < end {
            // SAFETY: as above: group `lock + at * locks` belongs to this lock.
            done.buckets += unsafe {
                old.copy_group(
                    new,
                    lock + at * self.locks(),
                    groups,
                    &mut batch,
                    &mut hash_of,
                )
            };
            at += 1;
            // Relaxed: as above; stored after each group so that a panic keeps the progress made.
            cursor.store(at, Relaxed);
        }
        // AcqRel: the counter chains every lock's completion (Release) to the call that completes
        // the last one (Acquire), so its Release store of `from` below covers every group's copy.
        // (`at` was below `per_lock` on entry: this call completed the lock.)
        if at == per_lock && self.locks_done.fetch_add(1, AcqRel) + 1 == self.locks() {
            // Release (both): pair with the Acquire loads in `tables`: a reader that finds no
            // migration mark, or no table to migrate from, sees every group in `current`.
            // Relaxed: `current` changes only in `start`, which this lock excludes.
            let (table, _) = untag(self.current.load(Relaxed));
            self.current.store(table, Release);
            self.from.store(ptr::null_mut(), Release);
            // SAFETY: `from` is never null here.
            done.finished = Some(unsafe { NonNull::new_unchecked(from) });
        }
        done
    }
}

impl<K, V> Table<K, V> {
    /// Copies group `group` of `groups` (see [`RawTable::start`]) from `self` into `new`, unless it
    /// is copied already; returns the number of old buckets copied (0 if none).
    ///
    /// # Safety
    ///
    /// `self` is the table a migration into `new` copies from, and the group's writer lock is held
    /// (W1), so no one else changes the group in either table.
    unsafe fn copy_group(
        &self,
        new: &Self,
        group: usize,
        groups: usize,
        batch: &mut Vec<(NonNull<Node<K, V>>, u64)>,
        hash_of: &mut impl FnMut(&K) -> u64,
    ) -> usize {
        let span = self.buckets.len() / groups;
        let olds = || self.buckets.iter().skip(group).step_by(groups).take(span);
        // Relaxed: `moved` is stored only under this group's lock, which the caller holds; the last
        // old bucket is marked last.
        if olds().last().is_some_and(|b| b.moved.load(Relaxed) != 0) {
            return 0;
        }
        // First every node's address, with a prefetch of the node (the cache misses overlap instead
        // of one per hash computation), then every key hashed (a panic here changes nothing), then
        // the placement.
        batch.clear();
        for (_, node) in olds().flat_map(Bucket::chain).flat_map(Bucket::nodes) {
            prefetch(node.as_ptr());
            batch.push((node, 0));
        }
        for (node, hash) in batch.iter_mut() {
            // SAFETY: nodes linked in a bucket whose lock is held are live (W1, W3).
            *hash = hash_of(&unsafe { node.as_ref() }.key);
        }
        #[cfg(rcu_broken_migration)]
        Self::mark_moved(olds());
        for &(node, hash) in batch.iter() {
            // SAFETY: the group's new buckets are written only under its lock, which the caller
            // holds, and only after the group is marked copied (writers copy first), so they hold
            // none of these keys: `|_| false` finds no key, and `place` gets the first empty slot.
            unsafe {
                let pos = new.locate(hash, |_| false);
                Table::place(&pos, node);
            }
        }
        #[cfg(not(rcu_broken_migration))]
        Self::mark_moved(olds());
        span
    }

    /// Marks a group's old buckets copied (the negative control `--cfg rcu_broken_migration` does it
    /// before the copies are placed, which readers must be seen to suffer).
    fn mark_moved<'a>(olds: impl Iterator<Item = &'a Bucket<K, V>>)
    where
        K: 'a,
        V: 'a,
    {
        for bucket in olds {
            // Release: pairs with the Acquire loads in `find` and `RawIter`: a reader that sees the
            // group copied sees the copies in the new table.
            bucket.moved.store(1, Release);
        }
    }
}

impl<K, V> Drop for RawTable<K, V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader or writer can reach the tables (a section of our own, R1,
        // is not needed); each node is yielded once by `iter` (from the one table that holds it for
        // a group) and owned by the map, so freed once; each table's own `Drop` then frees its
        // overflow buckets, not the nodes. The iterator reads only slots, never a node it has
        // yielded, so each node is freed as soon as it is yielded.
        unsafe {
            for node in self.iter() {
                Node::<K, V>::reclaim(node);
            }
            let from = self.from.load(Relaxed);
            if let Some(from) = NonNull::new(from) {
                Table::<K, V>::reclaim(Table::rcu_head(from));
            }
            let (table, _) = untag(self.current.load(Relaxed));
            Table::<K, V>::reclaim(Table::rcu_head(NonNull::new_unchecked(table)));
        }
    }
}

/// Iterator over the nodes of a map (see [`RawTable::iter`]).
pub struct RawIter<'a, K, V> {
    /// The current table.
    table: &'a Table<K, V>,
    /// The table a migration copies from, if one ran when the iterator was made.
    from: Option<&'a Table<K, V>>,
    /// Number of groups (the current table's buckets when no migration runs).
    groups: usize,
    /// Next group to start.
    group: usize,
    /// The table the current group is read from, its next bucket, the distance between its buckets
    /// and how many are left.
    src: &'a Table<K, V>,
    next: usize,
    step: usize,
    left: usize,
    /// The bucket (of the array or an overflow one) being walked.
    cur: Option<&'a Bucket<K, V>>,
    /// Next slot of `cur`.
    slot: usize,
}

impl<K, V> Iterator for RawIter<'_, K, V> {
    type Item = NonNull<Node<K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(bucket) = self.cur {
                if let Some(slot) = bucket.nodes.get(self.slot) {
                    self.slot += 1;
                    // Acquire: as in `find`.
                    if let Some(node) = NonNull::new(slot.load(Acquire)) {
                        return Some(node);
                    }
                    continue;
                }
                self.cur = bucket.next_bucket();
                self.slot = 0;
                continue;
            }
            if self.left > 0 {
                self.cur = Some(&self.src.buckets[self.next]);
                self.next += self.step;
                self.left -= 1;
                self.slot = 0;
                continue;
            }
            if self.group == self.groups {
                return None;
            }
            // A group comes whole from one table: the old one until its last old bucket (the one
            // marked last) is marked copied, the new one after.
            self.src = match self.from {
                Some(from) => {
                    let span = from.buckets.len() / self.groups;
                    let last = &from.buckets[self.group + (span - 1) * self.groups];
                    // Acquire: as in `find`.
                    if last.moved.load(Acquire) == 0 {
                        from
                    } else {
                        self.table
                    }
                }
                None => self.table,
            };
            self.next = self.group;
            self.step = self.groups;
            self.left = self.src.buckets.len() / self.groups;
            self.group += 1;
        }
    }
}

macro_rules! opaque_debug {
    ($($ty:ident),*) => {$(
        impl<K, V> core::fmt::Debug for $ty<K, V> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(Node, Table, Position, RawTable, Migrated);

impl<K, V> core::fmt::Debug for RawIter<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawIter")
            .field("group", &self.group)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}
