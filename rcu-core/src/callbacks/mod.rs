//! The callback half of a domain: heads and the wait-free queue (`head`), per-thread buffers
//! (`buffer`), the callback thread with its batching and barrier markers (`worker`), and the bound on
//! pending callbacks (`throttle`).

pub(crate) mod buffer;
pub(crate) mod head;
pub(crate) mod throttle;
pub(crate) mod worker;
