//! Where an [`RcuHashMap`](super::RcuHashMap)'s entries live: the two kinds of bucket of the raw
//! table ([`super::raw`]), behind one set of slot operations.
//!
//! The layouts and the protocol that makes [`Inline`] safe are described on [`Layout`].

use crate::sync::{
    AtomicPtr, AtomicU16, Ordering,
    Ordering::{Acquire, Relaxed, Release},
    UnsafeCell,
};
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

/// One key/value pair: a [`Boxed`] map's heap node (16 bytes for `u64 -> u64`), or an
/// [`Inline`] map's slot contents; immutable once published. Its hash is not kept: a
/// lookup compares the 16-bit tag in the bucket and then the key, and a migration hashes the keys
/// again. An unlinked heap node is retired with the domain's closure `call_rcu` or its free bag,
/// which carry the pointer (so the node needs no `RcuHead`).
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
    /// `node` came from [`Node::alloc`] (or a `Box` leaked into a [`Boxed`] slot), is
    /// freed once, and no thread can reach it any more: it was unlinked and a grace period has
    /// elapsed (raw W3), or it was never published.
    pub unsafe fn reclaim(node: NonNull<Self>) {
        // SAFETY: the node came from a leaked `Box` and is unreachable (contract).
        drop(unsafe { Box::from_raw(node.as_ptr()) });
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Where a map keeps its entries: [`Boxed`] (any types, the default) or [`Inline`] (`Copy` keys and
/// values, in the table itself). The last type parameter of [`RcuHashMap`](super::RcuHashMap);
/// sealed.
///
/// * [`Boxed`] (the default, any key and value types): a slot holds a pointer to a heap *node*
///   holding the pair. A removal empties the slot (which a later insert reuses) and retires the
///   node; a replacement swaps the pointer. A lookup that hits reads the bucket's line and the
///   node's.
/// * [`Inline`] (`Copy` keys and values: [`RcuFlatHashMap`](super::RcuFlatHashMap)): the pair is
///   stored in the bucket itself (three `u64 -> u64` pairs per 64-byte bucket), written once before
///   it is published and never changed after. A removal marks the slot *dead* (a tombstone: the
///   pair stays readable for readers that found it, until a grace period after its table, or its
///   overflow bucket, is retired); a replacement appends the new pair at the end of the key's chain and only then marks
///   the old one dead. A lookup that hits reads one cache line. Dead slots are never reused: the
///   map rehashes into a new table (the same incremental migration as a resize) when live and dead
///   pairs together pass the table's load by a quarter, and a migration copies only the live pairs.
///   An overflow bucket whose pairs are all dead is unlinked from its chain at once and freed after
///   a grace period, so a key replaced over and over does not grow its chain.
///
/// # Why a replacement never hides the key ([`Inline`])
///
/// Slots of a chain are filled in chain order and never emptied, so a pair appended by a
/// replacement lies after the one it replaces. The writer publishes the new pair (`Release` store
/// of its slot's state) before it marks the old one dead (`Release`). A reader walks the chain in
/// order and loads each state with `Acquire`: if it sees the old pair live it may return it (the
/// lookup overlapped the replacement); if it sees it dead, that load synchronizes with the marking,
/// so every later load of the walk sees the new pair published. A key present throughout a lookup
/// is therefore always found, with no per-bucket sequence lock and no retry. Unlinking an overflow
/// bucket whose pairs are all dead keeps this: a reader inside it goes on through its `next`,
/// which is not changed, and one that reaches the following bucket through the new link sees its
/// pairs (the link is stored with `Release`).
///
/// # Why only `Copy` types are stored inline
///
/// A migration copies a pair bitwise into the new table while readers may still hold references to
/// the old copy. For a `Copy` type that is the same value twice. A type with interior mutability
/// (an atomic, a `Mutex`, a `Cell`) would be changed through one copy and read through the other,
/// and an owning type (a `String`) would be dropped twice; `Copy` rules out both, and needs no drop
/// when a dead pair is left behind.
///
/// QEMU's qht always stores pointers (its [`Boxed`]); liburcu's rculfhash embeds its node in the
/// user's structure. [`Inline`] is hashbrown's and folly's flat layout, made RCU-safe by writing each
/// slot once.
///
/// ```
/// use rcu_queue::map::{Boxed, Inline};
/// let boxed: rcu_queue::RcuHashMap<u64, String, _, _, Boxed> = rcu_queue::RcuHashMap::new();
/// let flat = rcu_queue::RcuFlatHashMap::<u64, u64>::new();
/// boxed.insert(1, "one".into());
/// flat.insert(1, 1);
/// let _: &rcu_queue::RcuHashMap<u64, u64, _, _, Inline> = &flat;
/// ```
pub trait Layout<K, V>: sealed::Sealed + 'static {
    /// The bucket type of the raw table.
    #[doc(hidden)]
    type Bucket: Bucket<K, V>;
}

/// The default layout: each entry is its own heap node, the buckets hold pointers to them (QEMU
/// qht's layout). Works for any key and value types; see [`Layout`].
///
/// ```
/// let map: rcu_queue::RcuHashMap<u64, String> = rcu_queue::RcuHashMap::new();
/// map.insert(7, "seven".into());
/// assert_eq!(map.get(&7, &rcu_core::read_lock()).map(String::as_str), Some("seven"));
/// ```
#[derive(Debug)]
pub enum Boxed {}

/// The flat layout: entries stored in the buckets, written once, for `Copy` keys and values;
/// [`RcuFlatHashMap`](super::RcuFlatHashMap) is the map that uses it (its docs say how).
///
/// ```
/// let map = rcu_queue::RcuFlatHashMap::<u64, u64>::new();
/// map.insert(7, 49);
/// assert_eq!(map.get(&7, &rcu_core::read_lock()), Some(&49));
/// ```
#[derive(Debug)]
pub enum Inline {}

impl sealed::Sealed for Boxed {}
impl sealed::Sealed for Inline {}

impl<K, V> Layout<K, V> for Boxed {
    type Bucket = NodeBucket<K, V>;
}

impl<K: Copy + Eq, V: Copy> Layout<K, V> for Inline {
    type Bucket = InlineBucket<K, V>;
}

/// What a writer sees in a slot (under the bucket's writer lock, raw W1).
#[doc(hidden)]
pub enum Peek<K, V> {
    /// Never filled since its table was made ([`Inline`]), or emptied ([`Boxed`]).
    Free,
    /// Removed or replaced ([`Inline`] only): not reused while the table lives.
    Dead,
    /// A live entry, with its tag.
    Live(u16, NonNull<Node<K, V>>),
}

/// A bucket kind's slot operations, which the raw table's lookups, writes, migrations and iterators
/// are written against. Implemented by [`NodeBucket`] and [`InlineBucket`] only.
///
/// # Safety
///
/// An implementation keeps the contracts written on each method: what `find` and `load` return is
/// valid while the caller's read-side section keeps the table alive (and, for [`Boxed`], until the
/// node is retired), `fill` publishes with a `Release` store that the readers' `Acquire` loads pair
/// with, and all-zero bytes are an empty bucket (the raw table allocates zeroed arrays).
#[doc(hidden)]
pub unsafe trait Bucket<K, V>: Sized {
    /// Slots per bucket.
    const SLOTS: usize;
    /// Keys per bucket a table is sized for (live plus dead ones for [`Inline`]).
    const LOAD: usize;
    /// Whether an unlinked entry is its own allocation that the map must retire ([`Boxed`]); an
    /// [`Inline`] entry is freed with its table.
    const SEPARATE: bool;
    /// What a write stores: an owned node ([`Boxed`]) or the pair ([`Inline`]).
    type Item;

    /// An empty bucket.
    fn empty() -> Self;
    /// The item holding `key` and `value`.
    fn item(key: K, value: V) -> Self::Item;
    /// The key of an item.
    fn item_key(item: &Self::Item) -> &K;
    /// The slot tag of a hash (never the value of a free or dead slot).
    fn tag(hash: u64) -> u16;
    /// The bucket's *moved* flag (see [`super::raw`]).
    fn moved(&self) -> &AtomicU16;
    /// The overflow pointer (published with `Release`, owned by the table).
    fn next_ptr(&self) -> &AtomicPtr<Self>;

    /// The entry of this bucket (not its overflow buckets) whose tag is `tag` and key satisfies
    /// `eq`.
    ///
    /// # Safety
    ///
    /// R1 (raw): inside a read-side section that keeps the bucket's table and its entries alive.
    unsafe fn find(&self, tag: u16, eq: &mut impl FnMut(&K) -> bool)
    -> Option<NonNull<Node<K, V>>>;

    /// Slot `i`'s live entry and tag, as a reader sees it (`Acquire`).
    ///
    /// # Safety
    ///
    /// As [`find`](Self::find).
    unsafe fn load(&self, i: usize) -> Option<(u16, NonNull<Node<K, V>>)>;

    /// Slot `i` as its writer sees it.
    ///
    /// # Safety
    ///
    /// W1 (raw): the bucket's writer lock is held, or the caller owns the table.
    unsafe fn peek(&self, i: usize) -> Peek<K, V>;

    /// Stores `item` in free slot `i` and publishes it (`Release`).
    ///
    /// # Safety
    ///
    /// W1, and slot `i` is [`Peek::Free`].
    unsafe fn fill(&self, i: usize, tag: u16, item: Self::Item);

    /// Stores a copy of `src`'s live slot `j` in free slot `i` and publishes it (`Release`): the
    /// same node for [`Boxed`] (shared by both tables until the old one is retired), a bitwise copy
    /// of the pair for [`Inline`].
    ///
    /// # Safety
    ///
    /// W1 for both buckets (a migration copying one group), slot `i` is free, slot `j` is live.
    unsafe fn fill_from(&self, i: usize, tag: u16, src: &Self, j: usize);

    /// Replaces live slot `i`'s entry in place (the caller retires the old one, which it found), or
    /// hands `item` back if this layout never changes a published slot ([`Inline`]).
    ///
    /// # Safety
    ///
    /// W1, and slot `i` is live.
    unsafe fn swap(&self, i: usize, item: Self::Item) -> Result<(), Self::Item>;

    /// Unlinks live slot `i`'s entry: empties the slot ([`Boxed`]) or marks it dead with a
    /// `Release` store ([`Inline`], which orders a replacement appended before it).
    ///
    /// # Safety
    ///
    /// W1, and slot `i` is live.
    unsafe fn kill(&self, i: usize);

    /// Frees an entry owned by a table that is being dropped ([`Boxed`]: the node; [`Inline`]:
    /// nothing, the pair goes with the table).
    ///
    /// # Safety
    ///
    /// No one can reach the entry any more, and it is released once.
    unsafe fn release(entry: NonNull<Node<K, V>>);

    /// Drops from a snapshot of one chain's live entries (in chain order) each one whose key a
    /// later one repeats: a replacement in progress ([`Inline`]) shows a key twice, the later copy
    /// being the newer.
    ///
    /// # Safety
    ///
    /// R1, as for [`load`](Self::load).
    unsafe fn dedupe(_chain: &mut Vec<(u16, NonNull<Node<K, V>>)>) {}
}

/// The slots whose tag (or state) equals `tag`, in slot order: every tag is loaded first, in slot
/// order with `order`, into a bit mask (no branch per slot), then the mask's bits are yielded.
#[inline]
fn matching(tags: &[AtomicU16], tag: u16, order: Ordering) -> impl Iterator<Item = usize> {
    let mut mask = 0u32;
    for (i, t) in tags.iter().enumerate() {
        mask |= u32::from(t.load(order) == tag) << i;
    }
    core::iter::from_fn(move || {
        (mask != 0).then(|| {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            i
        })
    })
}

/// Slots per [`NodeBucket`]: five `(u16 tag, pointer)` pairs and the overflow pointer fill 64 bytes
/// on 64-bit targets (qht has four `(u32 hash, pointer)` pairs and a seqlock).
const NODE_SLOTS: usize = 5;

/// The tag of a hash: its top 16 bits (the low bits choose the bucket and the stripe).
#[inline]
fn tag_of(hash: u64) -> u16 {
    // Truncating is intended: the top 16 bits.
    (hash >> 48) as u16
}

/// A [`Boxed`] bucket: one cache line of `(tag, node pointer)` slots (qht's `struct qht_bucket`). A
/// slot is empty when its pointer is null; its tag is meaningful only while the pointer is not (a
/// reader that matches a stale tag loads the pointer and compares the node's key).
#[doc(hidden)]
#[repr(C, align(64))]
pub struct NodeBucket<K, V> {
    tags: [AtomicU16; NODE_SLOTS],
    /// See [`Bucket::moved`] (in the padding before `nodes`: the bucket stays one cache line).
    moved: AtomicU16,
    nodes: [AtomicPtr<Node<K, V>>; NODE_SLOTS],
    next: AtomicPtr<Self>,
}

#[cfg(all(not(loom), target_pointer_width = "64"))]
const _: () = assert!(core::mem::size_of::<NodeBucket<u64, u64>>() == 64);

// SAFETY: each method keeps its contract, as its comments say; all-zero bytes are null pointers and
// zero tags, an empty bucket.
unsafe impl<K, V> Bucket<K, V> for NodeBucket<K, V> {
    const SLOTS: usize = NODE_SLOTS;
    const LOAD: usize = 4;
    const SEPARATE: bool = true;
    type Item = Box<Node<K, V>>;

    fn empty() -> Self {
        NodeBucket {
            tags: core::array::from_fn(|_| AtomicU16::new(0)),
            moved: AtomicU16::new(0),
            nodes: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn item(key: K, value: V) -> Self::Item {
        Box::new(Node { key, value })
    }

    fn item_key(item: &Self::Item) -> &K {
        &item.key
    }

    #[inline]
    fn tag(hash: u64) -> u16 {
        tag_of(hash)
    }

    fn moved(&self) -> &AtomicU16 {
        &self.moved
    }

    fn next_ptr(&self) -> &AtomicPtr<Self> {
        &self.next
    }

    #[inline]
    unsafe fn find(
        &self,
        tag: u16,
        eq: &mut impl FnMut(&K) -> bool,
    ) -> Option<NonNull<Node<K, V>>> {
        // Relaxed: the tag only filters (see `fill`).
        for i in matching(&self.tags, tag, Relaxed) {
            // Acquire: pairs with the Release store that published the node (`fill`, `swap`,
            // `fill_from`).
            let cur = self.nodes[i].load(Acquire);
            // SAFETY: a node reachable from a table the reader holds is freed only a grace period
            // after it is unlinked (raw W3), which the caller's section delays (R1).
            if let Some(node) = unsafe { cur.as_ref() } {
                if eq(&node.key) {
                    return Some(NonNull::from(node));
                }
            }
        }
        None
    }

    #[inline]
    unsafe fn load(&self, i: usize) -> Option<(u16, NonNull<Node<K, V>>)> {
        // Acquire: as in `find`. Relaxed (the tag): `dedupe` does not use it for this layout.
        let node = NonNull::new(self.nodes[i].load(Acquire))?;
        Some((self.tags[i].load(Relaxed), node))
    }

    unsafe fn peek(&self, i: usize) -> Peek<K, V> {
        // Relaxed (both): only the caller writes this bucket (W1).
        match NonNull::new(self.nodes[i].load(Relaxed)) {
            Some(node) => Peek::Live(self.tags[i].load(Relaxed), node),
            None => Peek::Free,
        }
    }

    unsafe fn fill(&self, i: usize, tag: u16, item: Self::Item) {
        // Relaxed: the tag only filters; a reader that sees the slot's old tag skips the slot (the
        // key is being inserted: not yet present for it) or loads the pointer and compares the
        // node's key.
        self.tags[i].store(tag, Relaxed);
        // Release: publishes the node's key and value; pairs with the Acquire loads of `find` and
        // `load`.
        self.nodes[i].store(Box::into_raw(item), Release);
    }

    unsafe fn fill_from(&self, i: usize, tag: u16, src: &Self, j: usize) {
        // Relaxed: the caller holds the group's lock (W1), which orders the node's publication in
        // `src` before this load.
        let node = src.nodes[j].load(Relaxed);
        // Relaxed: as in `fill`.
        self.tags[i].store(tag, Relaxed);
        // Release: as in `fill` (the node is immutable and shared by both tables).
        self.nodes[i].store(node, Release);
    }

    unsafe fn swap(&self, i: usize, item: Self::Item) -> Result<(), Self::Item> {
        // Release: publishes the new node; pairs with the readers' Acquire loads of the slot. The
        // tag stays: the key is the same.
        self.nodes[i].store(Box::into_raw(item), Release);
        Ok(())
    }

    unsafe fn kill(&self, i: usize) {
        // Relaxed: an empty slot publishes nothing; readers that loaded the node keep it until their
        // section ends (the caller retires it, W3).
        self.nodes[i].store(ptr::null_mut(), Relaxed);
    }

    unsafe fn release(entry: NonNull<Node<K, V>>) {
        // SAFETY: the node came from `Box::into_raw` in `fill` and is released once (contract).
        unsafe { Node::reclaim(entry) };
    }
}

/// Slots per [`InlineBucket`]: three `u64 -> u64` pairs, their states and the overflow pointer fill
/// 64 bytes.
const INLINE_SLOTS: usize = 3;
/// An [`InlineBucket`] slot never filled.
const FREE: u16 = 0;
/// An [`InlineBucket`] slot whose pair was removed or replaced.
const DEAD: u16 = 1;
/// The bit every live [`InlineBucket`] slot's state has (with the top 15 bits of the hash).
const LIVE: u16 = 0x8000;

/// An [`Inline`] bucket: [`INLINE_SLOTS`] pairs stored in place, each with a 16-bit state (free,
/// dead, or live with a tag), the moved flag and the overflow pointer.
#[doc(hidden)]
#[repr(C, align(64))]
pub struct InlineBucket<K, V> {
    states: [AtomicU16; INLINE_SLOTS],
    moved: AtomicU16,
    next: AtomicPtr<Self>,
    pairs: [UnsafeCell<MaybeUninit<Node<K, V>>>; INLINE_SLOTS],
}

#[cfg(all(not(loom), target_pointer_width = "64"))]
const _: () = assert!(core::mem::size_of::<InlineBucket<u64, u64>>() == 64);

impl<K, V> InlineBucket<K, V> {
    /// A pointer to slot `i`'s pair (no access is made).
    fn pair(&self, i: usize) -> NonNull<Node<K, V>> {
        let p = self.pairs[i].with(|p| p.cast::<Node<K, V>>());
        NonNull::new(p.cast_mut()).expect("a slot is never at address 0")
    }
}

// SAFETY: each method keeps its contract, as its comments say; all-zero bytes are free states, a
// clear moved flag and a null overflow pointer (the pairs are `MaybeUninit`).
unsafe impl<K: Copy + Eq, V: Copy> Bucket<K, V> for InlineBucket<K, V> {
    const SLOTS: usize = INLINE_SLOTS;
    const LOAD: usize = 2;
    const SEPARATE: bool = false;
    type Item = Node<K, V>;

    fn empty() -> Self {
        InlineBucket {
            states: core::array::from_fn(|_| AtomicU16::new(FREE)),
            moved: AtomicU16::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
            pairs: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }
    }

    fn item(key: K, value: V) -> Self::Item {
        Node { key, value }
    }

    fn item_key(item: &Self::Item) -> &K {
        &item.key
    }

    #[inline]
    fn tag(hash: u64) -> u16 {
        tag_of(hash) | LIVE
    }

    fn moved(&self) -> &AtomicU16 {
        &self.moved
    }

    fn next_ptr(&self) -> &AtomicPtr<Self> {
        &self.next
    }

    #[inline]
    unsafe fn find(
        &self,
        tag: u16,
        eq: &mut impl FnMut(&K) -> bool,
    ) -> Option<NonNull<Node<K, V>>> {
        // Acquire, in slot order: pairs with the Release store of `fill` (the pair is visible) and
        // of `kill` (a dead slot's replacement, appended before, is visible to the loads that
        // follow: see [`Layout`]).
        for i in matching(&self.states, tag, Acquire) {
            // SAFETY: the slot was seen live, so its pair was written before its publication, which
            // the Acquire load above ordered before this read; it is never written again, and the
            // table holding it is freed only after the caller's section (R1).
            let hit = self.pairs[i].with(|p| eq(&unsafe { (*p).assume_init_ref() }.key));
            if hit {
                return Some(self.pair(i));
            }
        }
        None
    }

    #[inline]
    unsafe fn load(&self, i: usize) -> Option<(u16, NonNull<Node<K, V>>)> {
        // Acquire: as in `find`.
        let state = self.states[i].load(Acquire);
        (state & LIVE != 0).then(|| (state, self.pair(i)))
    }

    unsafe fn peek(&self, i: usize) -> Peek<K, V> {
        // Relaxed: only the caller writes this bucket (W1).
        match self.states[i].load(Relaxed) {
            FREE => Peek::Free,
            DEAD => Peek::Dead,
            tag => Peek::Live(tag, self.pair(i)),
        }
    }

    unsafe fn fill(&self, i: usize, tag: u16, item: Self::Item) {
        // SAFETY: the slot is free (contract): no reader reads its pair (readers read only live
        // slots) and it was never written in this table.
        self.pairs[i].with_mut(|p| unsafe { p.write(MaybeUninit::new(item)) });
        // Release: publishes the pair; pairs with the Acquire loads of `find` and `load`.
        self.states[i].store(tag, Release);
    }

    unsafe fn fill_from(&self, i: usize, tag: u16, src: &Self, j: usize) {
        // SAFETY: slot `j` is live and never written again; `K`, `V`: `Copy`, so the bitwise copy
        // is a second, independent value (see [`Layout`]).
        let pair = src.pairs[j].with(|p| unsafe { ptr::read(p) });
        // SAFETY: as in `fill`.
        self.pairs[i].with_mut(|p| unsafe { p.write(pair) });
        // Release: as in `fill`.
        self.states[i].store(tag, Release);
    }

    unsafe fn swap(&self, _i: usize, item: Self::Item) -> Result<(), Self::Item> {
        Err(item)
    }

    unsafe fn kill(&self, i: usize) {
        // Release: pairs with the readers' Acquire loads of the state; a replacement appended
        // before this store is visible to a reader that sees the slot dead (see [`Layout`]).
        self.states[i].store(DEAD, Release);
    }

    unsafe fn release(_entry: NonNull<Node<K, V>>) {}

    unsafe fn dedupe(chain: &mut Vec<(u16, NonNull<Node<K, V>>)>) {
        let mut i = 0;
        while i < chain.len() {
            let (tag, pair) = chain[i];
            // SAFETY: live pairs of a table the caller's section keeps alive (R1), never written
            // after publication.
            let newer = (chain[i + 1..].iter())
                .any(|&(t, p)| t == tag && unsafe { p.as_ref().key == pair.as_ref().key });
            if newer {
                chain.remove(i);
            } else {
                i += 1;
            }
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
opaque_debug!(Node, Peek, NodeBucket, InlineBucket);
