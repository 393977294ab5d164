//! Bytes a structure keeps allocated, counted by the allocator: [`Counting`] forwards to
//! `System` and, while a [`bytes_per_entry`] measurement runs, adds up the live bytes. A binary
//! that measures footprints installs it as its `#[global_allocator]` (the hash-map criterion
//! target and the report bin do); the timed code pays one relaxed load of a flag nobody writes.
//!
//! ```
//! // Without `Counting` installed nothing is counted, and the measurement says so.
//! let counted = std::panic::catch_unwind(|| {
//!     benches::footprint::bytes_per_entry(10, || vec![0u64; 10])
//! });
//! assert!(counted.is_err());
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The system allocator, counting live bytes while [`bytes_per_entry`] measures.
#[derive(Debug)]
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; the counter has no effect on the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: the caller's contract, forwarded. (Forwarded as such, not left to the default
        // `alloc` + memset: `System` zeroes with `calloc`, which a large table gets as fresh pages.)
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live bytes `make` leaves allocated, per key (`keys` of them), after the grace periods of the
/// default domain have freed what it retired (the tables a resize replaced).
///
/// # Panics
///
/// If nothing was counted: [`Counting`] is not the binary's `#[global_allocator]`.
#[track_caller]
pub fn bytes_per_entry<T>(keys: u64, make: impl FnOnce() -> T) -> f64 {
    rcu_core::rcu_barrier();
    COUNTING.store(true, Relaxed);
    let before = LIVE.load(Relaxed);
    let built = make();
    // Tables a resize retired are freed by the callback thread.
    rcu_core::rcu_barrier();
    let after = LIVE.load(Relaxed);
    COUNTING.store(false, Relaxed);
    drop(built);
    assert!(
        after != before,
        "bytes_per_entry counted no allocation: install `static A: benches::footprint::Counting = \
         Counting;` as the binary's #[global_allocator]"
    );
    (after - before) as f64 / keys as f64
}
