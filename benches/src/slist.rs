//! A plain singly linked list of boxed nodes with O(1) `push_back` and `pop_front`: the
//! data layout the RCU lists use (one heap node per element, readers chase `next`
//! pointers), without any synchronization. The list benchmarks walk it bare (the floor)
//! and behind a `RwLock` or a `Mutex` (the locked lists with the same layout as the RCU
//! list), so that the comparison isolates synchronization from data layout.

use std::ptr::NonNull;

/// One element.
#[derive(Debug)]
struct Node {
    value: u64,
    next: Option<Box<Node>>,
}

/// A FIFO singly linked list of `u64`s (QEMU's `QSIMPLEQ` without RCU).
///
/// ```
/// use benches::slist::SList;
/// let mut list: SList = (1..=3).collect();
/// list.push_back(4);
/// assert_eq!(list.pop_front(), Some(1));
/// assert_eq!(list.sum(), 2 + 3 + 4);
/// ```
#[derive(Debug, Default)]
pub struct SList {
    head: Option<Box<Node>>,
    /// The last node of the chain owned by `head`, `None` when the list is empty.
    tail: Option<NonNull<Node>>,
}

// SAFETY: `tail` only ever points into the chain owned by `head`, so the list owns all the
// nodes it points to, exactly like a `Box` chain: moving the list to another thread moves
// that ownership with it.
unsafe impl Send for SList {}
// SAFETY: `&SList` only reads (`sum` walks `head`); `tail` is dereferenced only through
// `&mut self`, so shared references never race with a write.
unsafe impl Sync for SList {}

impl SList {
    /// Appends `value` at the tail in O(1).
    pub fn push_back(&mut self, value: u64) {
        let mut node = Box::new(Node { value, next: None });
        let new_tail = NonNull::from(&mut *node);
        match self.tail {
            // SAFETY: `tail` points to the last node of the chain we own (see the field), and
            // `&mut self` gives us exclusive access to it; moving `node` into its `next` does
            // not move the heap allocation `new_tail` points to.
            Some(mut tail) => unsafe { tail.as_mut().next = Some(node) },
            None => self.head = Some(node),
        }
        self.tail = Some(new_tail);
    }

    /// Removes and returns the head element in O(1).
    pub fn pop_front(&mut self) -> Option<u64> {
        let mut node = self.head.take()?;
        self.head = node.next.take();
        if self.head.is_none() {
            self.tail = None;
        }
        Some(node.value)
    }

    /// Walks the whole list and returns the wrapping sum of its elements.
    #[inline]
    pub fn sum(&self) -> u64 {
        let mut acc = 0u64;
        let mut cursor = std::hint::black_box(self.head.as_deref());
        while let Some(node) = cursor {
            acc = acc.wrapping_add(node.value);
            cursor = node.next.as_deref();
        }
        acc
    }
}

impl FromIterator<u64> for SList {
    fn from_iter<I: IntoIterator<Item = u64>>(values: I) -> Self {
        let mut list = SList::default();
        for value in values {
            list.push_back(value);
        }
        list
    }
}

impl Drop for SList {
    fn drop(&mut self) {
        // Iterative drop: no recursion over the chain.
        while self.pop_front().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_tail_survive_emptying() {
        let mut list: SList = (0..4).collect();
        for expected in 0..4 {
            assert_eq!(list.pop_front(), Some(expected));
        }
        assert_eq!(list.pop_front(), None);
        list.push_back(7);
        list.push_back(8);
        assert_eq!(list.sum(), 15);
        assert_eq!(list.pop_front(), Some(7));
        list.push_back(9);
        assert_eq!(list.pop_front(), Some(8));
        assert_eq!(list.pop_front(), Some(9));
        assert_eq!(list.pop_front(), None);
    }

    #[test]
    fn a_long_list_drops_without_recursion() {
        let list: SList = (0..1_000_000).collect();
        assert_eq!(list.sum(), (0..1_000_000u64).sum::<u64>());
    }
}
