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

pub use super::layout::Node;
use super::layout::{Bucket, NodeBucket, Peek};
use crate::sync::{
    AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use core::ptr::{self, NonNull};
use rcu_core::RcuHead;

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

/// The operations on a chain of buckets (a bucket of the array and its overflow buckets) that are
/// the same for both bucket kinds.
trait Chain<K, V>: Bucket<K, V> {
    /// The overflow bucket, if any.
    #[inline]
    fn next_bucket(&self) -> Option<&Self> {
        // Acquire: pairs with the Release store in `Table::place` that published the bucket, so its
        // slots are visible.
        let next = self.next_ptr().load(Acquire);
        // SAFETY: an overflow bucket is owned by the table that owns `self` and is freed only by that
        // table's `Drop`, which cannot run while `self` (part of the table) is borrowed.
        unsafe { next.as_ref() }
    }

    /// This bucket and its overflow buckets. Each overflow pointer is loaded only when the next
    /// bucket is asked for, after the caller has read the bucket before it: a reader ([`RawIter`])
    /// that sees an [`Inline`](super::Inline) slot dead must then see the overflow bucket that a
    /// replacement appended before marking it (`core::iter::successors` would load the pointer
    /// first, when it yields the bucket, and miss it: the `map_loom_inline` iter model).
    fn chain(&self) -> impl Iterator<Item = &Self> {
        let mut first = Some(self);
        let mut last: Option<&Self> = None;
        core::iter::from_fn(move || {
            let bucket = match first.take() {
                Some(bucket) => bucket,
                None => last?.next_bucket()?,
            };
            last = Some(bucket);
            Some(bucket)
        })
    }

    /// The live slots of this bucket, with their entries. The caller owns the table or holds the
    /// bucket's writer lock (W1, W2), so no slot changes meanwhile.
    fn live(&self) -> impl Iterator<Item = (&Self, usize, NonNull<Node<K, V>>)> {
        (0..Self::SLOTS).filter_map(move |i| {
            // SAFETY: W1 or ownership (see above).
            match unsafe { self.peek(i) } {
                Peek::Live(_, entry) => Some((self, i, entry)),
                Peek::Free | Peek::Dead => None,
            }
        })
    }
}

impl<K, V, B: Bucket<K, V>> Chain<K, V> for B {}

/// One bucket array with its overflow buckets: the unit a migration publishes and retires (qht's
/// `struct qht_map`).
pub struct Table<K, V, B: Bucket<K, V> = NodeBucket<K, V>> {
    buckets: BucketArray<B>,
    rcu: RcuHead,
    _entries: core::marker::PhantomData<Node<K, V>>,
}

#[cfg(not(loom))]
type BucketArray<B> = ZeroedBuckets<B>;
#[cfg(loom)]
type BucketArray<B> = Box<[B]>;

/// A bucket array in zeroed memory from the allocator's `calloc` path: for a large table that is
/// fresh pages, which the kernel zeroes as they are first touched, so starting a migration to a big
/// table does not write the whole array (the writer that starts one would pay for it). The global
/// allocator zeroes with `calloc` only up to 16-byte alignment (above it, it writes the zeros
/// itself), so the block is allocated with that alignment and one bucket more, and the array
/// starts at its first 64-byte boundary.
#[cfg(not(loom))]
struct ZeroedBuckets<B> {
    first: NonNull<B>,
    len: usize,
    block: NonNull<u8>,
}

#[cfg(not(loom))]
impl<B> ZeroedBuckets<B> {
    /// The block's layout.
    fn layout(len: usize) -> std::alloc::Layout {
        let size = core::mem::size_of::<B>()
            .checked_mul(len + 1)
            .expect("table too large");
        std::alloc::Layout::from_size_align(size, 16).expect("table too large")
    }

    fn new(len: usize) -> Self {
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (at least one bucket).
        let block = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        let align = core::mem::align_of::<B>();
        let skip = block.as_ptr().align_offset(align);
        assert!(
            skip < align && align <= core::mem::size_of::<B>(),
            "a 16-byte aligned block reaches the bucket's alignment within one bucket"
        );
        // SAFETY: `skip` is below one bucket's size, and the block holds `len + 1` buckets' bytes.
        let first = unsafe { NonNull::new_unchecked(block.as_ptr().add(skip)) }.cast();
        ZeroedBuckets { first, len, block }
    }
}

#[cfg(not(loom))]
impl<B> core::ops::Deref for ZeroedBuckets<B> {
    type Target = [B];

    fn deref(&self) -> &[B] {
        // SAFETY: `first` is aligned for buckets and followed by `len` buckets' bytes of the block,
        // which lives as long as `self`; all-zero bytes are an empty bucket (the `Bucket` trait's
        // contract), and buckets are changed only through their atomics and cells.
        unsafe { core::slice::from_raw_parts(self.first.as_ptr(), self.len) }
    }
}

#[cfg(not(loom))]
impl<B> Drop for ZeroedBuckets<B> {
    fn drop(&mut self) {
        // SAFETY: the block came from `alloc_zeroed` with this layout; buckets need no drop (the
        // table frees its overflow buckets itself, and entries are the map's).
        unsafe { std::alloc::dealloc(self.block.as_ptr(), Self::layout(self.len)) };
    }
}

impl<K, V, B: Bucket<K, V>> Table<K, V, B> {
    fn alloc(nbuckets: usize) -> NonNull<Self> {
        assert!(nbuckets.is_power_of_two());
        let table = Box::new(Table {
            buckets: Self::empty_buckets(nbuckets),
            rcu: RcuHead::new(),
            _entries: core::marker::PhantomData,
        });
        NonNull::from(Box::leak(table))
    }

    /// `nbuckets` empty buckets, from zeroed memory (see [`ZeroedBuckets`]).
    #[cfg(not(loom))]
    fn empty_buckets(nbuckets: usize) -> BucketArray<B> {
        ZeroedBuckets::new(nbuckets)
    }

    /// `nbuckets` empty buckets (loom's atomics are not valid as zeroed memory).
    #[cfg(loom)]
    fn empty_buckets(nbuckets: usize) -> BucketArray<B> {
        (0..nbuckets).map(|_| B::empty()).collect()
    }

    #[inline]
    fn bucket(&self, hash: u64) -> &B {
        // Truncating the hash is intended: the low bits pick the bucket.
        &self.buckets[hash as usize & (self.buckets.len() - 1)]
    }

    /// Every live slot in buckets `first, first + step, ...` and their overflow buckets, with its
    /// bucket and its entry.
    fn slots(
        &self,
        first: usize,
        step: usize,
    ) -> impl Iterator<Item = (&B, usize, NonNull<Node<K, V>>)> {
        self.buckets
            .iter()
            .skip(first)
            .step_by(step)
            .flat_map(B::chain)
            .flat_map(B::live)
    }

    /// Finds where the key with this hash satisfying `eq` is, and the first free slot of its chain.
    ///
    /// # Safety
    ///
    /// No one else writes the chain of `hash` while this runs and while the position is used (the
    /// caller holds its writer lock, W1, or owns an unpublished table), and its entries are live.
    unsafe fn locate(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Position<K, V, B> {
        let tag = B::tag(hash);
        let mut pos = Position {
            found: None,
            pred: None,
            free: None,
            tail: NonNull::from(self.bucket(hash)),
            tag,
        };
        let mut pred = None;
        for bucket in self.bucket(hash).chain() {
            pos.tail = NonNull::from(bucket);
            for i in 0..B::SLOTS {
                // SAFETY: only the caller writes this chain (contract).
                match unsafe { bucket.peek(i) } {
                    Peek::Free => pos.free = pos.free.or(Some((NonNull::from(bucket), i))),
                    Peek::Dead => {}
                    Peek::Live(t, entry) => {
                        // SAFETY: a linked entry is live while its chain cannot change: only the
                        // chain's writer unlinks it, and it is freed a grace period after that
                        // (contract, W3).
                        if pos.found.is_none() && t == tag && eq(&unsafe { entry.as_ref() }.key) {
                            pos.found = Some((NonNull::from(bucket), i, entry));
                            pos.pred = pred;
                        }
                    }
                }
            }
            pred = Some(NonNull::from(bucket));
        }
        pos
    }

    /// Fills the free slot `pos` found with `fill`, or the first slot of a new overflow bucket
    /// appended to the chain if it found none (`qht_insert__locked`).
    ///
    /// # Safety
    ///
    /// `pos` came from [`locate`](Self::locate) on this table and its contract still holds; `fill`
    /// publishes an entry whose key is absent from the chain, or is being replaced.
    unsafe fn place(pos: &Position<K, V, B>, fill: impl FnOnce(&B, usize)) -> NonNull<Node<K, V>> {
        let (bucket, i) = match pos.free {
            Some((bucket, i)) => {
                // SAFETY: the bucket belongs to the table, which the caller's lock or ownership keeps
                // allocated while `pos` is used (contract).
                let bucket = unsafe { bucket.as_ref() };
                fill(bucket, i);
                (bucket, i)
            }
            None => {
                let fresh = Box::into_raw(Box::new(B::empty()));
                // SAFETY: the bucket is ours until the Release store below publishes it; from then on
                // it belongs to the table (freed by its `Drop`), which the caller keeps allocated.
                let bucket = unsafe { &*fresh };
                fill(bucket, 0);
                // SAFETY: as above, the tail bucket belongs to the table the caller keeps allocated.
                let tail = unsafe { pos.tail.as_ref() };
                // Release: publishes the bucket and the entry in it; pairs with the Acquire load in
                // `Chain::next_bucket`.
                tail.next_ptr().store(fresh, Release);
                (bucket, 0)
            }
        };
        // SAFETY: the caller's lock or ownership (contract).
        match unsafe { bucket.peek(i) } {
            Peek::Live(_, entry) => entry,
            Peek::Free | Peek::Dead => unreachable!("a slot just filled is live"),
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
        rcu_core::container_of!(head, Table<K, V, B>, rcu)
    }

    /// Frees a table whose migration completed, and its overflow buckets (its heap nodes live on in
    /// the new table; inline pairs were copied there).
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

impl<K, V, B: Bucket<K, V>> Table<K, V, B> {
    /// Frees an overflow bucket that [`RawTable::prune`] unlinked.
    ///
    /// # Safety
    ///
    /// `bucket` came from `prune`, is freed once, and a grace period has elapsed since (W3).
    pub unsafe fn free_bucket(bucket: NonNull<B>) {
        // SAFETY: overflow buckets come from `Box::into_raw` in `place`; an unlinked one is no
        // longer in its table's chains (so the table's `Drop` does not free it) and no reader can
        // still be inside it (contract).
        drop(unsafe { Box::from_raw(bucket.as_ptr()) });
    }
}

impl<K, V, B: Bucket<K, V>> Drop for Table<K, V, B> {
    /// Frees the overflow buckets (not the heap nodes: the map's `Drop` or the next table owns them).
    fn drop(&mut self) {
        for head in self.buckets.iter() {
            // Relaxed: `&mut self`, no one else can reach the table.
            let mut next = head.next_ptr().load(Relaxed);
            while !next.is_null() {
                // SAFETY: each overflow bucket came from `Box::into_raw` in `place` and is linked
                // once, in this table only; the next pointer is read before the bucket is freed.
                let bucket = unsafe { Box::from_raw(next) };
                next = bucket.next_ptr().load(Relaxed);
            }
        }
    }
}

/// A slot holding a key: its bucket, its index there, and its entry.
type FoundSlot<K, V, B> = (NonNull<B>, usize, NonNull<Node<K, V>>);

/// The current table and the one a migration copies from, if any ([`RawTable::tables`]).
type Tables<'a, K, V, B> = (&'a Table<K, V, B>, Option<&'a Table<K, V, B>>);

/// What [`RawTable::replace_at`] returns: the old entry, then the new one.
pub type Replaced<K, V> = (NonNull<Node<K, V>>, NonNull<Node<K, V>>);

/// Where a key is, or would go, in the current table; valid only under the writer lock (W1).
pub struct Position<K, V, B: Bucket<K, V> = NodeBucket<K, V>> {
    /// The slot holding the key, and its entry.
    found: Option<FoundSlot<K, V, B>>,
    /// The bucket before the found one in its chain (`None`: the found one is the array's).
    pred: Option<NonNull<B>>,
    /// The first free slot of the chain (`None`: all used).
    free: Option<(NonNull<B>, usize)>,
    /// The chain's last bucket (where a full chain grows).
    tail: NonNull<B>,
    /// The key's tag.
    tag: u16,
}

impl<K, V, B: Bucket<K, V>> Position<K, V, B> {
    /// The entry holding the key, if it is present.
    pub fn found(&self) -> Option<NonNull<Node<K, V>>> {
        self.found.map(|(_, _, entry)| entry)
    }

    /// The slot holding the found entry.
    fn found_slot(&self, what: &str) -> (&B, usize) {
        let (bucket, i, _) = self
            .found
            .unwrap_or_else(|| panic!("{what}: position holds no entry"));
        // SAFETY: the bucket belongs to the current table, which the bucket's lock (held while `self`
        // is used, W1) keeps from being retired.
        (unsafe { bucket.as_ref() }, i)
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
pub struct Migrated<K, V, B: Bucket<K, V> = NodeBucket<K, V>> {
    /// Buckets of the old table this call copied (a group counts all of its old buckets).
    pub buckets: usize,
    /// The old table, if this call completed the migration: unpublished now, to be freed with
    /// [`Table::reclaim`] after a grace period (W3).
    pub finished: Option<NonNull<Table<K, V, B>>>,
}

/// The table of a map, and the one it is migrating from; owns every entry linked in them.
///
/// `current` and `from` come first and together (`repr(C)`): a reader loads both, from one line.
#[repr(C)]
pub struct RawTable<K, V, B: Bucket<K, V> = NodeBucket<K, V>> {
    /// The table writers write: published with a `Release` store by [`start`](Self::start), with
    /// the [`MIGRATING`] mark, which the [`migrate`](Self::migrate) call that completes the
    /// migration clears (`Release`).
    current: AtomicPtr<Table<K, V, B>>,
    /// The table a migration copies into `current`, group by group; null when none runs. Stored
    /// with `Release` by [`start`](Self::start) (before `current`) and by the [`migrate`](Self::migrate)
    /// call that copies the last group (null).
    from: AtomicPtr<Table<K, V, B>>,
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
    /// Dead slots of the current table ([`Inline`](super::Inline) removals and replacements; always
    /// 0 for [`Boxed`](super::Boxed), whose slots are reused): a count for the rehash policy,
    /// changed under a writer lock (W1: an atomic read-modify-write, writers of different locks
    /// count here) and reset by [`start`](Self::start) (the new table has none). On a line of its
    /// own: the writers' increments must not evict the line of `current` from the readers' caches.
    dead: Apart<AtomicUsize>,
}

/// A value on cache lines of its own (128 bytes: adjacent-line prefetching pairs 64-byte lines).
#[repr(align(128))]
struct Apart<T>(T);

// SAFETY: the table owns `K`s and `V`s (dropped wherever the table or the reclaimer runs: `Send`)
// and hands out shared references to them across threads (`Sync`); its own state is atomics and
// cells written once before publication.
unsafe impl<K: Send + Sync, V: Send + Sync, B: Bucket<K, V>> Send for RawTable<K, V, B> {}
// SAFETY: as above.
unsafe impl<K: Send + Sync, V: Send + Sync, B: Bucket<K, V>> Sync for RawTable<K, V, B> {}

impl<K, V, B: Bucket<K, V>> RawTable<K, V, B> {
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
            dead: Apart(AtomicUsize::new(0)),
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
    unsafe fn table(&self) -> &Table<K, V, B> {
        // Acquire: pairs with the Release stores of `current` in `start` and `migrate` (or the
        // table's creation), so the table is visible; entries placed later are published by their
        // own Release stores.
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
    unsafe fn tables(&self) -> Tables<'_, K, V, B> {
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
    unsafe fn migrating_from<'a>(
        &'a self,
        table: &'a Table<K, V, B>,
    ) -> Option<&'a Table<K, V, B>> {
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

    /// Dead slots of the current table (0 for [`Boxed`](super::Boxed)); a snapshot for the rehash
    /// policy, callable anywhere.
    pub fn dead(&self) -> usize {
        // Relaxed: a hint, as `nbuckets`.
        self.dead.0.load(Relaxed)
    }

    /// Whether a migration runs: a hint, callable anywhere (exact while every lock is held).
    pub fn migrating(&self) -> bool {
        // Relaxed: a hint; the pointer is not followed.
        !self.from.load(Relaxed).is_null()
    }

    /// The entry with this hash whose key satisfies `eq` (`qht_lookup`): the tags of the hash's
    /// bucket (and its overflow buckets), and only the entries whose tag matches. Loads only. While a
    /// migration runs, the bucket is the old table's if its group is not copied yet, the new
    /// table's otherwise.
    ///
    /// # Safety
    ///
    /// R1: inside a read-side critical section; the entry stays valid until that section ends.
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
        let tag = B::tag(hash);
        loop {
            // SAFETY: R1 (contract).
            if let Some(entry) = unsafe { bucket.find(tag, &mut eq) } {
                return Some(entry);
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
    unsafe fn bucket_during_migration<'a>(&'a self, table: &'a Table<K, V, B>, hash: u64) -> &'a B {
        // SAFETY: R1 (contract).
        if let Some(from) = unsafe { self.migrating_from(table) } {
            let old = from.bucket(hash);
            // Both lines are fetched at once: the new bucket is read whenever the old one is
            // marked moved, and waiting for the old line before asking for the new one would add
            // a second cache miss to every such lookup.
            prefetch(table.bucket(hash));
            // Acquire: pairs with the Release store in `migrate` that marks the group copied, so
            // the copies in `table` are visible. Not copied: the old bucket still holds every key
            // of its group (writers copy a group before they change it).
            if old.moved().load(Acquire) == 0 {
                return old;
            }
        }
        table.bucket(hash)
    }

    /// Every entry, bucket by bucket; while a migration runs, group by group, each group from the
    /// table that holds it when the iterator reaches it, so no key is yielded twice and none present
    /// throughout is missed.
    ///
    /// # Safety
    ///
    /// R1: the iterator and the entries it yields are used only inside the read-side critical
    /// section.
    pub unsafe fn iter(&self) -> RawIter<'_, K, V, B> {
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
            chain: Vec::new(),
        }
    }

    /// Where the key with this hash satisfying `eq` is in the current table, or would go
    /// (`qht_insert__locked`'s search).
    ///
    /// # Safety
    ///
    /// W1 for `hash`'s lock, held while the position is used, and [`migrate`](Self::migrate) already
    /// copied `hash`'s group under it.
    pub unsafe fn locate(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Position<K, V, B> {
        // SAFETY: W1 (contract): no migration starts while the lock is held.
        let table = unsafe { self.table() };
        // SAFETY: W1: only the caller writes the chain, and the position is used under the lock.
        unsafe { table.locate(hash, eq) }
    }

    /// Publishes `item`, whose key is absent, where `pos` says (`qht_insert`), and returns the new
    /// entry. `pos` is not used again.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, and `pos.found()` is `None`.
    pub unsafe fn insert_at(&self, pos: &Position<K, V, B>, item: B::Item) -> NonNull<Node<K, V>> {
        assert!(
            pos.found.is_none(),
            "RawTable::insert_at: the key is present"
        );
        let tag = pos.tag;
        // SAFETY: W1 (contract); the key is absent.
        unsafe { Table::place(pos, |bucket, i| bucket.fill(i, tag, item)) }
    }

    /// Unlinks the entry `pos` found (`qht_remove`) and returns it: the caller retires a heap node
    /// (W3); an inline pair stays readable until its table is retired.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, and `pos.found()` is `Some`.
    pub unsafe fn unlink_at(&self, pos: &Position<K, V, B>) -> NonNull<Node<K, V>> {
        let (bucket, i) = pos.found_slot("unlink_at");
        // SAFETY: W1 and the slot is live (contract).
        unsafe { bucket.kill(i) };
        self.count_dead();
        pos.found().expect("found_slot checked it")
    }

    /// Replaces the entry `pos` found with `item` (same key) and returns the old entry, to retire as
    /// after [`unlink_at`](Self::unlink_at), and the new one: in place for heap nodes; for inline
    /// pairs the new pair is appended to the chain and only then the old one marked dead (see
    /// `map::layout`). `pos` is not used again.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, and `pos.found()` is `Some`.
    pub unsafe fn replace_at(&self, pos: &Position<K, V, B>, item: B::Item) -> Replaced<K, V> {
        let (bucket, i) = pos.found_slot("replace_at");
        let old = pos.found().expect("found_slot checked it");
        // SAFETY: W1 and the slot is live (contract).
        let new = match unsafe { bucket.swap(i, item) } {
            Ok(_) => {
                // SAFETY: W1 (contract): the slot just swapped is live.
                match unsafe { bucket.peek(i) } {
                    Peek::Live(_, entry) => entry,
                    Peek::Free | Peek::Dead => unreachable!("a slot just swapped is live"),
                }
            }
            Err(item) => {
                let tag = pos.tag;
                // The negative control `--cfg rcu_broken_inline` marks the old pair dead first: a
                // reader may then find neither (the loom model must see the key missed).
                #[cfg(rcu_broken_inline)]
                // SAFETY: W1, and the slot is live (contract).
                unsafe {
                    bucket.kill(i)
                };
                // SAFETY: W1 (contract); `pos.free` lies after the found slot (slots of a chain
                // that never reuses them are filled in chain order), so readers meet the new pair
                // after the old one.
                let new = unsafe { Table::place(pos, |bucket, j| bucket.fill(j, tag, item)) };
                #[cfg(not(rcu_broken_inline))]
                // SAFETY: as above; after the new pair's publication (layout docs).
                unsafe {
                    bucket.kill(i)
                };
                self.count_dead();
                new
            }
        };
        (old, new)
    }

    /// After [`unlink_at`](Self::unlink_at) or [`replace_at`](Self::replace_at): if the found
    /// entry's bucket is an overflow bucket whose slots are now all dead ([`Inline`](super::Inline)
    /// only), unlinks it from its chain (its predecessor's `next` takes its own, `Release`) and
    /// returns it, to be freed after a grace period with [`Table::free_bucket`] (W3). Without it, a
    /// key replaced over and over would grow its chain by a bucket every three replacements until
    /// the next rehash; with it, a chain holds at most one bucket per live key plus the array's
    /// bucket and the one being filled. A reader inside the bucket goes on through its `next`,
    /// which stays as it was; a dead bucket is never written again, so a reader skipping it misses
    /// nothing. `pos` is not used again.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, whose entry was just unlinked or replaced.
    pub unsafe fn prune(&self, pos: &Position<K, V, B>) -> Option<NonNull<B>> {
        if B::SEPARATE {
            return None;
        }
        let (bucket, _) = pos.found_slot("prune");
        // SAFETY: W1 (contract): the predecessor belongs to the chain the caller's lock keeps.
        let pred = unsafe { pos.pred?.as_ref() };
        // SAFETY: W1 (contract).
        if !(0..B::SLOTS).all(|i| matches!(unsafe { bucket.peek(i) }, Peek::Dead)) {
            return None;
        }
        // Relaxed: only the caller writes this chain (W1); the bucket after it, if any, was
        // published by its own Release store, which this thread's lock ordered before.
        let next = bucket.next_ptr().load(Relaxed);
        // Release: pairs with the Acquire load in `Chain::next_bucket`: a reader that reaches
        // `next` through `pred` sees its slots, as through `bucket` before.
        pred.next_ptr().store(next, Release);
        // Relaxed: a count for the policy (see `dead`); these slots no longer take room.
        self.dead.0.fetch_sub(B::SLOTS, Relaxed);
        Some(NonNull::from(bucket))
    }

    /// Counts a slot made dead (none for a layout whose slots are reused).
    fn count_dead(&self) {
        if !B::SEPARATE {
            // Relaxed: a count for the policy (see `dead`).
            self.dead.0.fetch_add(1, Relaxed);
        }
    }

    /// Unlinks every entry of the current table's buckets `lock, lock + locks, ...` that `keep`
    /// rejects, and hands it to `retire`.
    ///
    /// # Safety
    ///
    /// W1 for lock `lock` (held for the whole call), after a [`migrate`](Self::migrate) under it with
    /// an unlimited budget (so none of its groups is left in an old table); `retire` defers freeing
    /// a heap node by a grace period (W3).
    pub unsafe fn retain_buckets(
        &self,
        lock: usize,
        mut keep: impl FnMut(&K, &V) -> bool,
        mut retire: impl FnMut(NonNull<Node<K, V>>),
    ) {
        // SAFETY: W1 (contract): the lock is held for the whole call, so no migration can start and
        // retire the table meanwhile.
        let table = unsafe { self.table() };
        for (bucket, i, entry) in table.slots(lock, self.locks()) {
            // SAFETY: linked entries of locked buckets are live (W1, W3).
            let pair = unsafe { entry.as_ref() };
            if !keep(&pair.key, &pair.value) {
                // SAFETY: W1, and the slot is live.
                unsafe { bucket.kill(i) };
                self.count_dead();
                retire(entry);
            }
        }
    }

    /// Starts a migration to a new, empty table of `nbuckets` buckets (`qht_resize`, incremental):
    /// publishes it as the table writers write, and the current one as the table they copy from.
    /// Writers then copy it group by group with [`migrate`](Self::migrate): with `n` old and `m` new
    /// buckets and `g = min(n, m)` groups, group `k` is the old buckets `k, k + g, ...` and the new
    /// ones `k, k + g, ...` (one old bucket for a grow or a rehash, `n / m` for a shrink), all under
    /// lock `k % locks`. Readers keep reading each old bucket until its group is copied.
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
        // Relaxed (these six): read only under a lock, which orders them after this W2 section.
        self.per_lock.store(groups / self.locks(), Relaxed);
        for cursor in self.cursor.iter() {
            cursor.store(0, Relaxed);
        }
        self.locks_done.store(0, Relaxed);
        self.dead.0.store(0, Relaxed);
        let new = Table::<K, V, B>::alloc(nbuckets);
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
    /// each group's live entries are hashed, then placed, then its old buckets are marked copied.
    /// Returns what it did; the call that copies the last group completes the migration and hands
    /// the old table back for retirement.
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
    ) -> Migrated<K, V, B> {
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

impl<K, V, B: Bucket<K, V>> Table<K, V, B> {
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
        batch: &mut Vec<(NonNull<B>, usize, u64)>,
        hash_of: &mut impl FnMut(&K) -> u64,
    ) -> usize {
        let span = self.buckets.len() / groups;
        let olds = || self.buckets.iter().skip(group).step_by(groups).take(span);
        // Relaxed: `moved` is stored only under this group's lock, which the caller holds; the last
        // old bucket is marked last.
        if olds().last().is_some_and(|b| b.moved().load(Relaxed) != 0) {
            return 0;
        }
        // First every live slot, with a prefetch of its entry (the cache misses overlap instead of
        // one per hash computation), then every key hashed (a panic here changes nothing), then the
        // placement.
        batch.clear();
        for (bucket, i, entry) in olds().flat_map(B::chain).flat_map(B::live) {
            prefetch(entry.as_ptr());
            batch.push((NonNull::from(bucket), i, 0));
        }
        for (bucket, i, hash) in batch.iter_mut() {
            // SAFETY: live entries of a bucket whose lock is held are live (W1, W3); the bucket
            // belongs to `self`, which the migration keeps allocated.
            let live = unsafe { bucket.as_ref().peek(*i) };
            if let Peek::Live(_, entry) = live {
                // SAFETY: as above.
                *hash = hash_of(&unsafe { entry.as_ref() }.key);
            }
        }
        #[cfg(rcu_broken_migration)]
        Self::mark_moved(olds());
        for &(bucket, i, hash) in batch.iter() {
            // SAFETY: the group's new buckets are written only under its lock, which the caller
            // holds, and only after the group is marked copied (writers copy first), so they hold
            // none of these keys: `|_| false` finds no key, and `place` gets the first free slot;
            // the old bucket is `self`'s, live for the call.
            unsafe {
                let pos = new.locate(hash, |_| false);
                let tag = pos.tag;
                Table::place(&pos, |to, j| to.fill_from(j, tag, bucket.as_ref(), i));
            }
        }
        #[cfg(not(rcu_broken_migration))]
        Self::mark_moved(olds());
        span
    }

    /// Marks a group's old buckets copied (the negative control `--cfg rcu_broken_migration` does it
    /// before the copies are placed, which readers must be seen to suffer).
    fn mark_moved<'a>(olds: impl Iterator<Item = &'a B>)
    where
        B: 'a,
    {
        for bucket in olds {
            // Release: pairs with the Acquire loads in `find` and `RawIter`: a reader that sees the
            // group copied sees the copies in the new table.
            bucket.moved().store(1, Release);
        }
    }
}

impl<K, V, B: Bucket<K, V>> Drop for RawTable<K, V, B> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader or writer can reach the tables (a section of our own, R1,
        // is not needed); each entry is yielded once by `iter` (from the one table that holds it for
        // a group) and owned by the map, so released once; each table's own `Drop` then frees its
        // overflow buckets, not the heap nodes. The iterator reads only slots, never an entry it
        // has yielded (it snapshots a chain before yielding from it; with no writer, `dedupe` finds
        // nothing to compare), so each entry is released as soon as it is yielded.
        unsafe {
            for entry in self.iter() {
                B::release(entry);
            }
            let from = self.from.load(Relaxed);
            if let Some(from) = NonNull::new(from) {
                Table::<K, V, B>::reclaim(Table::rcu_head(from));
            }
            let (table, _) = untag(self.current.load(Relaxed));
            Table::<K, V, B>::reclaim(Table::rcu_head(NonNull::new_unchecked(table)));
        }
    }
}

/// Iterator over the entries of a map (see [`RawTable::iter`]).
pub struct RawIter<'a, K, V, B: Bucket<K, V> = NodeBucket<K, V>> {
    /// The current table.
    table: &'a Table<K, V, B>,
    /// The table a migration copies from, if one ran when the iterator was made.
    from: Option<&'a Table<K, V, B>>,
    /// Number of groups (the current table's buckets when no migration runs).
    groups: usize,
    /// Next group to start.
    group: usize,
    /// The table the current group is read from, its next bucket, the distance between its buckets
    /// and how many are left.
    src: &'a Table<K, V, B>,
    next: usize,
    step: usize,
    left: usize,
    /// The live entries of the chain being yielded, in reverse chain order (a snapshot, so that
    /// [`Bucket::dedupe`] can drop a replaced pair seen beside its replacement).
    chain: Vec<(u16, NonNull<Node<K, V>>)>,
}

impl<K, V, B: Bucket<K, V>> Iterator for RawIter<'_, K, V, B> {
    type Item = NonNull<Node<K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, entry)) = self.chain.pop() {
                return Some(entry);
            }
            if self.left > 0 {
                let head = &self.src.buckets[self.next];
                self.next += self.step;
                self.left -= 1;
                for bucket in head.chain() {
                    for i in 0..B::SLOTS {
                        // SAFETY: R1 (the iterator's contract, from `RawTable::iter`).
                        if let Some(live) = unsafe { bucket.load(i) } {
                            self.chain.push(live);
                        }
                    }
                }
                // SAFETY: R1, as above.
                unsafe { B::dedupe(&mut self.chain) };
                self.chain.reverse();
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
                    // Acquire: as in `bucket_during_migration`.
                    if last.moved().load(Acquire) == 0 {
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
        impl<K, V, B: Bucket<K, V>> core::fmt::Debug for $ty<K, V, B> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(Table, Position, RawTable, Migrated);

impl<K, V, B: Bucket<K, V>> core::fmt::Debug for RawIter<'_, K, V, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawIter")
            .field("group", &self.group)
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}
