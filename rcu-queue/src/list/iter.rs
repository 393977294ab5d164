//! [`Iter`]: the walk over a list's elements, for readers (under a guard) and for the writer.

use crate::family::{Family, Tailq};
use crate::node::NodeAdapter;
use crate::raw;
use core::{fmt, marker::PhantomData};

/// Iterator over a list's elements, front to back; see [`RcuQueue::iter`](crate::RcuQueue::iter) and
/// [`ListWriter::iter`](crate::ListWriter::iter).
///
/// # Example
///
/// ```
/// let list = rcu_queue::RcuTailq::new();
/// list.lock().push_back(5);
/// let guard = rcu_core::read_lock();
/// let mut it: rcu_queue::Iter<'_, i32> = list.iter(&guard);
/// assert_eq!(it.next(), Some(&5));
/// assert_eq!(it.next(), None);
/// ```
pub struct Iter<'g, T, F: Family = Tailq> {
    raw: raw::Iter<'g, NodeAdapter<T, F>>,
    _values: PhantomData<&'g T>,
}

impl<'g, T: 'g, F: Family> Iterator for Iter<'g, T, F> {
    type Item = &'g T;

    #[inline]
    fn next(&mut self) -> Option<&'g T> {
        let node = self.raw.next()?;
        // SAFETY: the node is alive for `'g` (a guard or the writer lock is held for `'g`, and nodes are
        // freed only after a grace period); the value is never mutated while shared.
        Some(unsafe { &(*node.as_ptr()).value })
    }
}

// Fused because `raw::Iter` is: after its first `None` it never loads a forward pointer again
// (tests/fused.rs).
impl<T, F: Family> core::iter::FusedIterator for Iter<'_, T, F> {}

impl<T, F: Family> fmt::Debug for Iter<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("family", &F::NAME)
            .finish_non_exhaustive()
    }
}

impl<'g, T, F: Family> Iter<'g, T, F> {
    /// Wraps a raw walk whose nodes stay alive for `'g` (a guard or the writer lock, held by the
    /// caller for `'g`).
    pub(super) fn new(raw: raw::Iter<'g, NodeAdapter<T, F>>) -> Self {
        Iter {
            raw,
            _values: PhantomData,
        }
    }
}
