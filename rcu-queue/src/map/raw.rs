//! The `unsafe` layer of [`RcuHashMap`](super::RcuHashMap): a bucket array of singly linked chains
//! with two link slots per node, rebuilt as a whole on resize (QEMU `util/qht.c`'s `qht_map`).
//!
//! Compiled under `--cfg loom` too (with loom's atomics from `crate::sync`), where it is exported as
//! `rcu_queue::map::raw` so that `tests/map_loom.rs` drives this very code.
//!
//! # Contracts
//!
//! * **R1 (readers)**: [`RawTable::find`] and [`RawTable::iter`] run inside a read-side critical
//!   section of the domain that reclaims this table's nodes and tables; what they return is valid until
//!   that section ends.
//! * **W1 (writers)**: [`RawTable::locate`] and the `*_at` operations run with the writer lock of the
//!   hash's bucket held; a [`Position`] is used only while that lock is held and no rebuild can run.
//! * **W2 (rebuild)**: [`RawTable::rebuild`] runs with every writer excluded, and a grace period has
//!   elapsed since the previous rebuild published its table (so no reader still walks the link slot
//!   the rebuild rewrites).
//! * **W3 (reclamation)**: an unlinked node, and a table replaced by a rebuild, are freed only after a
//!   grace period ([`Node::reclaim`], [`Table::reclaim`] are the `call_rcu1` callbacks).

use crate::sync::{
    AtomicPtr, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use core::ptr::{self, NonNull};
use rcu_core::RcuHead;

/// One key/value pair: a single allocation holding both chain links, the hash, the pair and the
/// `RcuHead` that retires it (QEMU's qht stores `(hash, pointer)` pairs in bucket arrays instead).
///
/// `repr(C)` in the order a lookup reads: the hash, then the key and (on a hit) the value, then the
/// links (followed only past a non-matching node), and last the `RcuHead`, which only the reclaimer
/// uses. With `u64` keys and values a hit reads bytes 0..24, which share a cache line for three of the
/// four 16-byte alignments a 64-byte allocation can have.
#[repr(C)]
pub struct Node<K, V> {
    hash: u64,
    /// The key.
    pub key: K,
    /// The value.
    pub value: V,
    /// `next[t.slot]` links this node in the chains of table `t`. Two slots let a rebuild build the new
    /// table's chains while readers still walk the old table's (contract W2).
    next: [AtomicPtr<Node<K, V>>; 2],
    rcu: RcuHead,
}

impl<K, V> Node<K, V> {
    /// Allocates an unlinked node.
    pub fn alloc(hash: u64, key: K, value: V) -> NonNull<Self> {
        let node = Box::new(Node {
            next: [
                AtomicPtr::new(ptr::null_mut()),
                AtomicPtr::new(ptr::null_mut()),
            ],
            hash,
            key,
            value,
            rcu: RcuHead::new(),
        });
        NonNull::from(Box::leak(node))
    }

    /// The key's hash.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The node's `RcuHead`, to queue it with `call_rcu1(head, Node::reclaim)`.
    ///
    /// # Safety
    ///
    /// `node` came from [`Node::alloc`] and is live.
    pub unsafe fn rcu_head(node: NonNull<Self>) -> NonNull<RcuHead> {
        // SAFETY: live node (contract); `&raw mut` keeps its provenance for `container_of!`.
        unsafe { NonNull::new_unchecked(&raw mut (*node.as_ptr()).rcu) }
    }

    /// The node whose `rcu` field `head` is.
    pub fn from_rcu_head(head: NonNull<RcuHead>) -> NonNull<Self> {
        let node: *mut Self = rcu_core::container_of!(head, Node<K, V>, rcu);
        // SAFETY: `head` is non-null and inside a node, so the node's address is non-null too.
        unsafe { NonNull::new_unchecked(node) }
    }

    /// Frees `node`, dropping its key and value (the `call_rcu1` callback for unlinked nodes).
    ///
    /// # Safety
    ///
    /// `head` is the `rcu` field of a node from [`Node::alloc`] that no thread can reach any more: it
    /// was unlinked and a grace period has elapsed (W3), or it was never published.
    pub unsafe fn reclaim(head: NonNull<RcuHead>) {
        // SAFETY: the node came from `Box::leak` in `alloc` and is unreachable (contract).
        drop(unsafe { Box::from_raw(Self::from_rcu_head(head).as_ptr()) });
    }
}

/// One bucket array: the unit a rebuild publishes and retires (qht's `struct qht_map`).
pub struct Table<K, V> {
    buckets: Box<[AtomicPtr<Node<K, V>>]>,
    /// Which `Node::next` slot this table's chains use.
    slot: usize,
    rcu: RcuHead,
}

impl<K, V> Table<K, V> {
    fn alloc(nbuckets: usize, slot: usize) -> NonNull<Self> {
        assert!(nbuckets.is_power_of_two());
        let buckets = (0..nbuckets)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect();
        let table = Box::new(Table {
            buckets,
            slot,
            rcu: RcuHead::new(),
        });
        NonNull::from(Box::leak(table))
    }

    #[inline]
    fn bucket(&self, hash: u64) -> &AtomicPtr<Node<K, V>> {
        // Truncating the hash is intended: the low bits pick the bucket.
        &self.buckets[hash as usize & (self.buckets.len() - 1)]
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

    /// Frees a table replaced by a rebuild (its nodes live on in the new table).
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

/// Where a key is, or would go, in the current table; valid only under the writer lock (W1).
pub struct Position<K, V> {
    /// The bucket head of the key's hash.
    bucket: NonNull<AtomicPtr<Node<K, V>>>,
    /// The link pointing at `found` (`bucket` itself or a predecessor's `next[slot]`).
    link: NonNull<AtomicPtr<Node<K, V>>>,
    /// The node holding the key, if any.
    found: Option<NonNull<Node<K, V>>>,
    slot: usize,
}

impl<K, V> Position<K, V> {
    /// The node holding the key, if it is present.
    pub fn found(&self) -> Option<NonNull<Node<K, V>>> {
        self.found
    }
}

/// The current bucket array of a map; owns every node linked in it.
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
            current: AtomicPtr::new(Table::alloc(nbuckets, 0).as_ptr()),
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
        // and the chains it was published with are visible.
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

    /// The node with this hash whose key satisfies `eq` (`qht_lookup`): one `Acquire` load per step.
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
        // Acquire (here and below): pairs with the Release store that published the node (`insert_at`,
        // `replace_at`) or relinked the chain (`unlink_at`).
        let mut cur = table.bucket(hash).load(Acquire);
        // SAFETY: nodes reachable from a table a reader holds are freed only after its section (W3).
        while let Some(node) = unsafe { cur.as_ref() } {
            if node.hash == hash && eq(&node.key) {
                return Some(NonNull::from(node));
            }
            cur = node.next[table.slot & 1].load(Acquire);
        }
        None
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
            cur: ptr::null_mut(),
        }
    }

    /// Finds where the key with this hash satisfying `eq` is, or would be inserted.
    ///
    /// # Safety
    ///
    /// W1: the writer lock of `hash`'s bucket is held, and stays held while the position is used.
    pub unsafe fn locate(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Position<K, V> {
        // SAFETY: W1 (contract): the bucket's lock is held while the position is used, so no rebuild
        // can retire the table meanwhile.
        let table = unsafe { self.table() };
        let bucket = table.bucket(hash);
        let mut link = bucket;
        loop {
            // Relaxed: links of this bucket are written only under the lock we hold (W1).
            let cur = link.load(Relaxed);
            // SAFETY: a linked node is live while its bucket's lock is held: only that lock's holder
            // unlinks it, and it is freed a grace period later (W3).
            match unsafe { cur.as_ref() } {
                Some(node) if node.hash == hash && eq(&node.key) => {
                    return Position {
                        bucket: NonNull::from(bucket),
                        link: NonNull::from(link),
                        found: Some(NonNull::from(node)),
                        slot: table.slot,
                    };
                }
                Some(node) => link = &node.next[table.slot],
                None => {
                    return Position {
                        bucket: NonNull::from(bucket),
                        link: NonNull::from(link),
                        found: None,
                        slot: table.slot,
                    };
                }
            }
        }
    }

    /// Links a fresh node at the head of `pos`'s bucket (`qht_insert`).
    ///
    /// # Safety
    ///
    /// W1 for `pos`; `node` came from [`Node::alloc`] and was never linked; the key is absent.
    pub unsafe fn insert_at(&self, pos: &Position<K, V>, node: NonNull<Node<K, V>>) {
        // SAFETY: the bucket is in the current table, which the bucket's lock (held while `pos` is
        // used, W1) keeps from being retired; `node` is ours (never linked) until published.
        let (bucket, node_ref) = unsafe { (pos.bucket.as_ref(), node.as_ref()) };
        node_ref.next[pos.slot].store(bucket.load(Relaxed), Relaxed);
        // Release: publishes the node's key, value and link; pairs with the Acquire loads of `find`,
        // `iter` and `table`-then-bucket in readers.
        bucket.store(node.as_ptr(), Release);
    }

    /// Unlinks the node `pos` found and returns it; the caller retires it after a grace period.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, and `pos.found()` is `Some`.
    pub unsafe fn unlink_at(&self, pos: &Position<K, V>) -> NonNull<Node<K, V>> {
        let found = pos.found.expect("unlink_at: position holds no node");
        // SAFETY: the bucket's lock is held while `pos` is used (W1): no rebuild can retire the
        // table holding the link, and only that lock's holder unlinks (let alone retires) the node.
        let (link, node) = unsafe { (pos.link.as_ref(), found.as_ref()) };
        // Release (as the lists' unlinks): a reader that first meets the successor through this store
        // must also see its initialization; pairs with the readers' Acquire loads.
        link.store(node.next[pos.slot].load(Relaxed), Release);
        found
    }

    /// Replaces the node `pos` found by `new` at the same place in its chain; returns the old node,
    /// which the caller retires after a grace period.
    ///
    /// # Safety
    ///
    /// W1 for `pos`, `pos.found()` is `Some`, and `new` came from [`Node::alloc`] and was never linked.
    pub unsafe fn replace_at(
        &self,
        pos: &Position<K, V>,
        new: NonNull<Node<K, V>>,
    ) -> NonNull<Node<K, V>> {
        let found = pos.found.expect("replace_at: position holds no node");
        // SAFETY: as in `unlink_at`, the bucket's lock (W1) keeps the link and the old node live;
        // `new` is ours (never linked) until published.
        let (link, old, new_ref) = unsafe { (pos.link.as_ref(), found.as_ref(), new.as_ref()) };
        new_ref.next[pos.slot].store(old.next[pos.slot].load(Relaxed), Relaxed);
        // Release: publishes `new`; pairs with the readers' Acquire loads.
        link.store(new.as_ptr(), Release);
        found
    }

    /// Unlinks every node of buckets `first, first + step, ...` for which `keep` returns false and
    /// hands it to `retire`.
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
        for bucket in table.buckets.iter().skip(first).step_by(step) {
            let mut link = bucket;
            // SAFETY: linked nodes of locked buckets are live (W1, W3).
            while let Some(node) = unsafe { link.load(Relaxed).as_ref() } {
                if keep(&node.key, &node.value) {
                    link = &node.next[table.slot];
                } else {
                    // Release: as in `unlink_at`.
                    link.store(node.next[table.slot].load(Relaxed), Release);
                    retire(NonNull::from(node));
                }
            }
        }
    }

    /// Builds a table of `nbuckets` buckets holding every node, chained through the other link slot,
    /// and publishes it (`qht_resize`); returns the old table for the caller to retire with
    /// [`Table::reclaim`] after a grace period. Readers of the old table keep finding every node: its
    /// chains are not touched.
    ///
    /// # Safety
    ///
    /// W2: no writer runs, and a grace period has elapsed since the previous rebuild returned.
    pub unsafe fn rebuild(&self, nbuckets: usize) -> NonNull<Table<K, V>> {
        let old_ptr = self.current.load(Relaxed);
        // SAFETY: `current` is live; writers are excluded (W2), so we own it.
        let old = unsafe { &*old_ptr };
        let slot = 1 - old.slot;
        let new_ptr = Table::<K, V>::alloc(nbuckets, slot);
        // SAFETY: fresh and not yet published.
        let new = unsafe { new_ptr.as_ref() };
        for bucket in old.buckets.iter() {
            let mut cur = bucket.load(Relaxed);
            // SAFETY: linked nodes are live; writers are excluded (W2).
            while let Some(node) = unsafe { cur.as_ref() } {
                cur = node.next[old.slot].load(Relaxed);
                let dst = new.bucket(node.hash);
                // Relaxed: no reader walks `slot` now (W2); the table's Release store below
                // publishes these links.
                node.next[slot].store(dst.load(Relaxed), Relaxed);
                dst.store(ptr::from_ref(node).cast_mut(), Relaxed);
            }
        }
        // Release: publishes the new table and its chains; pairs with the Acquire load in `table`.
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
        // it, and freed once (the next link is read before the node is freed).
        unsafe {
            let slot = (*table).slot;
            for bucket in (*table).buckets.iter() {
                let mut cur = bucket.load(Relaxed);
                while let Some(node) = NonNull::new(cur) {
                    cur = node.as_ref().next[slot].load(Relaxed);
                    Node::<K, V>::reclaim(Node::rcu_head(node));
                }
            }
            Table::<K, V>::reclaim(Table::rcu_head(NonNull::new_unchecked(table)));
        }
    }
}

/// Iterator over the nodes of one table (see [`RawTable::iter`]).
pub struct RawIter<'a, K, V> {
    table: &'a Table<K, V>,
    /// Next bucket to start.
    bucket: usize,
    cur: *mut Node<K, V>,
}

impl<K, V> Iterator for RawIter<'_, K, V> {
    type Item = NonNull<Node<K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // SAFETY: R1 (contract of `RawTable::iter`).
            if let Some(node) = unsafe { self.cur.as_ref() } {
                // Acquire: as in `find`.
                self.cur = node.next[self.table.slot].load(Acquire);
                return Some(NonNull::from(node));
            }
            let bucket = self.table.buckets.get(self.bucket)?;
            self.bucket += 1;
            // Acquire: as in `find`.
            self.cur = bucket.load(Acquire);
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
            .finish_non_exhaustive()
    }
}
