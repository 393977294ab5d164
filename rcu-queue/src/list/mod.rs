//! The safe, owning lists: [`RcuQueue<T, F>`] and its four aliases [`RcuTailq`], [`RcuList`],
//! [`RcuSimpleq`] and [`RcuSlist`].
//!
//! # Invariants
//!
//! 1. Every node reachable from `head` came from [`node::alloc`] and is owned by the list.
//! 2. Every writer operation runs with the list's writer lock held (its own, or the external lock it was
//!    created with), so writers are serialized (raw rule W1).
//! 3. A node leaves the list only by being unlinked and then [`node::retire`]d exactly once, so it is
//!    freed only after a grace period of the list's domain (W2), and readers holding a guard of that
//!    domain (checked by [`RcuDomain::check_guard`]) can keep using it.
//! 4. `head` is a heap allocation that never moves (W4) and is freed only when the list is dropped.
//! 5. A node's owner id is this list's `id` exactly while the node is linked on this list; the list
//!    holds one reference to each linked node (released by the `call_rcu1` callback), and each
//!    [`Handle`] holds one more, so a node outlives both its removal's grace period and its handles.
//! 6. Safe code never gets `&mut T` or `&mut Node` to a node that a reader may see (raw rule W6): values
//!    are only ever shared.
//!
//! # Layout
//!
//! One file per job, each importing only the ones before it:
//!
//! 1. `handle`: [`Handle`], a counted reference to one element;
//! 2. `iter`: [`Iter`], the walk that readers (and the writer) use;
//! 3. `queue`: the [`RcuQueue`] type and its aliases, construction, the readers' operations and the
//!    link/unlink bookkeeping that the writer and its cursors share;
//! 4. `cursor`: [`CursorMut`], a writer's position on one element;
//! 5. `writer`: [`ListWriter`] (every mutation, `lock`/`writer` to get one) and the std-style
//!    `Extend` / `FromIterator`.

mod cursor;
mod handle;
mod iter;
mod queue;
mod writer;

pub use cursor::CursorMut;
pub use handle::Handle;
pub use iter::Iter;
pub use queue::{RcuList, RcuQueue, RcuSimpleq, RcuSlist, RcuTailq};
pub use writer::ListWriter;
