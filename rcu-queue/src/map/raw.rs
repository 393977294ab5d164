//! The `unsafe` layer of [`RcuHashMap`](super::RcuHashMap): an array of cache-line buckets of
//! `(tag, entry pointer)` slots with overflow chains, rebuilt as a whole on resize (QEMU
//! `util/qht.c`'s `qht_map` and `qht_bucket`).
//!
//! Compiled under `--cfg loom` too (with loom's atomics from `crate::sync`), where it is exported as
//! `rcu_queue::map::raw` so that `tests/map_loom.rs` drives this very code.
//!
//! # Layout
//!
//! A [`Bucket`] is one 64-byte cache line (on 64-bit targets): [`SLOTS`] 16-bit *tags* (the top bits
//! of the key's hash), [`SLOTS`] pointers to immutable [`Node`]s and a pointer to an overflow bucket.
//! A lookup compares the tags of its hash's bucket and dereferences only the nodes whose tag
//! matches: a miss usually reads the bucket line alone, a hit one bucket line and one node. Nodes
//! never move between slots of a table, so a key present throughout a lookup is always found.
//! Overflow buckets are appended, never unlinked: they live as long as their table and are freed
//! with it.
//!
//! # Contracts
//!
//! * **R1 (readers)**: [`RawTable::find`] and [`RawTable::iter`] run inside a read-side critical
//!   section of the domain that reclaims this table's nodes and tables; what they return is valid until
//!   that section ends.
//! * **W1 (writers)**: [`RawTable::locate`] and the `*_at` operations run with the writer lock of the
//!   hash's bucket held; a [`Position`] is used only while that lock is held and no rebuild can run.
//! * **W2 (rebuild)**: [`RawTable::rebuild`] runs with every writer excluded. It builds a new table
//!   and leaves the old one untouched, so readers still walking the old table find every key it held.
//! * **W3 (reclamation)**: an unlinked node, and a table replaced by a rebuild, are freed only after a
//!   grace period ([`Node::reclaim`] runs in a `call_rcu` closure, [`Table::reclaim`] is a
//!   `call_rcu1` callback).

use crate::sync::{
    AtomicPtr, AtomicU16, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
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
/// compares the 16-bit tag in the bucket and then the key, and a rebuild hashes the keys again. An
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

/// One bucket array with its overflow buckets: the unit a rebuild publishes and retires (qht's
/// `struct qht_map`).
pub struct Table<K, V> {
    buckets: Box<[Bucket<K, V>]>,
    rcu: RcuHead,
}

impl<K, V> Table<K, V> {
    fn alloc(nbuckets: usize) -> NonNull<Self> {
        assert!(nbuckets.is_power_of_two());
        let buckets = (0..nbuckets).map(|_| Bucket::new()).collect();
        let table = Box::new(Table {
            buckets,
            rcu: RcuHead::new(),
        });
        NonNull::from(Box::leak(table))
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
    /// `table` was returned by [`RawTable::rebuild`] and is not yet reclaimed.
    pub unsafe fn rcu_head(table: NonNull<Self>) -> NonNull<RcuHead> {
        // SAFETY: live table (contract); `&raw mut` keeps its provenance for `container_of!`.
        unsafe { NonNull::new_unchecked(&raw mut (*table.as_ptr()).rcu) }
    }

    /// The table containing `head` (no access is made).
    pub fn from_rcu_head(head: NonNull<RcuHead>) -> *mut Self {
        rcu_core::container_of!(head, Table<K, V>, rcu)
    }

    /// Frees a table replaced by a rebuild and its overflow buckets (its nodes live on in the new
    /// table).
    ///
    /// # Safety
    ///
    /// `head` is the `rcu` field of a table returned by [`RawTable::rebuild`], and a grace period has
    /// elapsed since that rebuild (W3).
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

/// The current table of a map; owns every node linked in it.
pub struct RawTable<K, V> {
    /// Published with a `Release` store by [`rebuild`](Self::rebuild).
    current: AtomicPtr<Table<K, V>>,
    /// The current table's bucket count, kept beside it so that size queries never reach the table:
    /// a caller outside R1 and W1 may find it retired by a rebuild and freed a grace period later.
    /// Written only by [`rebuild`](Self::rebuild) (with every writer excluded, W2).
    nbuckets: AtomicUsize,
}

// SAFETY: the table owns `K`s and `V`s (dropped wherever the table or the reclaimer runs: `Send`)
// and hands out shared references to them across threads (`Sync`); its own state is atomics.
unsafe impl<K: Send + Sync, V: Send + Sync> Send for RawTable<K, V> {}
// SAFETY: as above.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for RawTable<K, V> {}

impl<K, V> RawTable<K, V> {
    /// An empty table of `nbuckets` buckets (a power of two).
    pub fn new(nbuckets: usize) -> Self {
        RawTable {
            current: AtomicPtr::new(Table::alloc(nbuckets).as_ptr()),
            nbuckets: AtomicUsize::new(nbuckets),
        }
    }

    /// The current table.
    ///
    /// # Safety
    ///
    /// The caller is in R1 (a read-side critical section of the domain that reclaims tables), holds
    /// the writer lock of a bucket (W1) or excludes every writer (W2), and uses the table only while
    /// that lasts: a rebuild needs every writer excluded, and frees the table it replaces only a grace
    /// period later (W3), so the table stays allocated for each of these callers. Anyone else may
    /// find it freed (use [`nbuckets`](Self::nbuckets) for its size).
    #[inline]
    unsafe fn table(&self) -> &Table<K, V> {
        // Acquire: pairs with the Release store in `rebuild` (or the table's creation), so the table
        // and the slots it was published with are visible.
        // SAFETY: `current` is never null, and the table is live while the caller's section or lock
        // lasts (contract).
        unsafe { &*self.current.load(Acquire) }
    }

    /// Number of buckets of the current table; callable anywhere, with no section or lock (a
    /// snapshot unless every writer is excluded). Reads no table.
    pub fn nbuckets(&self) -> usize {
        // Relaxed: a size hint for the resize policy and `buckets()`; W2's writer exclusion (a mutex)
        // orders it for the rebuild, which alone needs the exact value.
        self.nbuckets.load(Relaxed)
    }

    /// The node with this hash whose key satisfies `eq` (`qht_lookup`): the tags of the hash's bucket
    /// (and its overflow buckets), and only the nodes whose tag matches. Loads only.
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
        // SAFETY: R1 (contract): the caller's section keeps the table allocated.
        let table = unsafe { self.table() };
        let tag = tag_of(hash);
        let mut bucket = table.bucket(hash);
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

    /// Every node of the current table, bucket by bucket.
    ///
    /// # Safety
    ///
    /// R1: the iterator and the nodes it yields are used only inside the read-side critical section.
    pub unsafe fn iter(&self) -> RawIter<'_, K, V> {
        RawIter {
            // SAFETY: R1 (contract): the caller's section keeps the table allocated while the
            // iterator is used.
            table: unsafe { self.table() },
            bucket: 0,
            cur: None,
            slot: 0,
        }
    }

    /// Finds where the key with this hash satisfying `eq` is, or would be inserted.
    ///
    /// # Safety
    ///
    /// W1: the writer lock of `hash`'s bucket is held, and stays held while the position is used.
    pub unsafe fn locate(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Position<K, V> {
        // SAFETY: W1 (contract): the bucket's lock is held while the position is used, so no rebuild
        // can retire the table meanwhile, and no other writer changes the chain.
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

    /// Empties every slot of buckets `first, first + step, ...` whose node `keep` rejects, and hands
    /// the node to `retire`.
    ///
    /// # Safety
    ///
    /// W1 for each of those buckets (the caller holds their lock); `retire` defers freeing by a grace
    /// period (W3).
    pub unsafe fn retain_buckets(
        &self,
        first: usize,
        step: usize,
        mut keep: impl FnMut(&K, &V) -> bool,
        mut retire: impl FnMut(NonNull<Node<K, V>>),
    ) {
        // SAFETY: W1 (contract): those buckets' lock is held for the whole call, so no rebuild can
        // retire the table meanwhile.
        let table = unsafe { self.table() };
        for (slot, node) in table.slots(first, step) {
            // SAFETY: linked nodes of locked buckets are live (W1, W3).
            let pair = unsafe { node.as_ref() };
            if !keep(&pair.key, &pair.value) {
                // Relaxed: as in `unlink_at`.
                slot.store(ptr::null_mut(), Relaxed);
                retire(node);
            }
        }
    }

    /// Builds a table of `nbuckets` buckets holding every node, placed by `hash` of its key, and
    /// publishes it (`qht_resize`); returns the old table for the caller to retire with
    /// [`Table::reclaim`] after a grace period. The old table is not touched, so its readers keep
    /// finding every node it held. If `hash` panics, the new table is freed unpublished and the map
    /// is unchanged.
    ///
    /// # Safety
    ///
    /// W2: no writer runs.
    pub unsafe fn rebuild(
        &self,
        nbuckets: usize,
        mut hash: impl FnMut(&K) -> u64,
    ) -> NonNull<Table<K, V>> {
        let old_ptr = self.current.load(Relaxed);
        // SAFETY: `current` is live; writers are excluded (W2), so it cannot be retired meanwhile.
        let old = unsafe { &*old_ptr };
        /// Frees the new table (its bucket array and overflow buckets, not the nodes, which the
        /// current table still owns) if placing a node unwinds.
        struct Unpublished<K, V>(NonNull<Table<K, V>>);
        impl<K, V> Drop for Unpublished<K, V> {
            fn drop(&mut self) {
                // SAFETY: the table came from `Table::alloc` and was never published.
                drop(unsafe { Box::from_raw(self.0.as_ptr()) });
            }
        }
        let unpublished = Unpublished(Table::<K, V>::alloc(nbuckets));
        // SAFETY: fresh and not yet published.
        let new = unsafe { unpublished.0.as_ref() };
        // In batches of old buckets: first every node's address, with a prefetch of the node (the
        // independent cache misses overlap in that tight loop instead of one per hash computation),
        // then every key hashed, then the branchy placement.
        const BATCH: usize = 64;
        let mut batch = Vec::with_capacity(BATCH * SLOTS * 2);
        for heads in old.buckets.chunks(BATCH) {
            batch.clear();
            for (_, node) in heads.iter().flat_map(Bucket::chain).flat_map(Bucket::nodes) {
                prefetch(node.as_ptr());
                batch.push((node, 0));
            }
            for (node, hash_of_key) in &mut batch {
                // SAFETY: linked nodes are live while writers are excluded (W2).
                *hash_of_key = hash(&unsafe { node.as_ref() }.key);
            }
            for &(node, hash) in &batch {
                // SAFETY: the new table is ours until published, so no one else writes its chains,
                // and its nodes are live (W2); the node is in the new table at most once (keys are
                // unique in the old one), so `|_| false` finds no key and `place` gets the first
                // empty slot.
                unsafe {
                    let pos = new.locate(hash, |_| false);
                    Table::place(&pos, node);
                }
            }
        }
        let new_ptr = unpublished.0;
        core::mem::forget(unpublished);
        // Release: publishes the new table and its slots; pairs with the Acquire load in `table`.
        self.current.store(new_ptr.as_ptr(), Release);
        // Relaxed: see `nbuckets`.
        self.nbuckets.store(nbuckets, Relaxed);
        // SAFETY: `current` is never null.
        unsafe { NonNull::new_unchecked(old_ptr) }
    }
}

impl<K, V> Drop for RawTable<K, V> {
    fn drop(&mut self) {
        let table = self.current.load(Relaxed);
        // SAFETY: `&mut self`: no reader or writer can reach the table; each linked node is owned by
        // it and linked once, so freed once; the table's own `Drop` then frees its overflow buckets.
        unsafe {
            for (_, node) in (*table).slots(0, 1) {
                Node::<K, V>::reclaim(node);
            }
            Table::<K, V>::reclaim(Table::rcu_head(NonNull::new_unchecked(table)));
        }
    }
}

/// Iterator over the nodes of one table (see [`RawTable::iter`]).
pub struct RawIter<'a, K, V> {
    table: &'a Table<K, V>,
    /// Next bucket of the array to start.
    bucket: usize,
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
            } else {
                self.cur = Some(self.table.buckets.get(self.bucket)?);
                self.bucket += 1;
            }
            self.slot = 0;
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
opaque_debug!(Node, Table, Position, RawTable);

impl<K, V> core::fmt::Debug for RawIter<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawIter")
            .field("bucket", &self.bucket)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}
