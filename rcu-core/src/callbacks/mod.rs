//! The callback half of a domain: heads and the wait-free queue (`head`), per-thread buffers
//! (`buffer`), the callback thread with its batching and barrier markers (`worker`), the bound on
//! pending callbacks (`throttle`), and the per-thread free bags through which producers free the
//! memory they retired with `defer_free` / `free_rcu` themselves (`bag`; only plain frees, never
//! callbacks, leave the callback thread).

pub(crate) mod bag;
pub(crate) mod buffer;
pub(crate) mod head;
pub(crate) mod throttle;
pub(crate) mod worker;
