//! The system liburcu (memb flavor) as a contender, behind the `liburcu` feature.
//!
//! `build.rs` compiles `csrc/urcu_shim.c` against liburcu's headers with
//! `_LGPL_SOURCE`, so `rcu_read_lock`/`rcu_read_unlock` are inlined into the C loops
//! that measure them, as in a C program; the rest forwards to `liburcu-memb`.
//! Install the library with `apt-get install -y liburcu-dev`.

use std::sync::atomic::AtomicI32;

use crate::driver::Stop;
use crate::grace_period::GracePeriod;
use crate::read_side::ReadSide;
use crate::reclaim::{PreNode, Preallocated, Probe, Reclaimer};

mod ffi {
    unsafe extern "C" {
        pub(super) safe fn bench_urcu_register();
        pub(super) safe fn bench_urcu_unregister();
        pub(super) safe fn bench_urcu_read_pairs(n: u64);
        pub(super) unsafe fn bench_urcu_busy_read(stop: *const i32);
        pub(super) safe fn bench_urcu_synchronize();
        pub(super) safe fn bench_urcu_enqueue();
        pub(super) safe fn bench_urcu_barrier();
        pub(super) unsafe fn bench_urcu_enqueue_prealloc(nodes: *const u8, n: u64, size: u64);
        pub(super) unsafe fn bench_urcu_latency_probe(slot: *const u64);
        pub(super) safe fn bench_urcu_hold_read(ns: u64);
    }
}

/// liburcu's memb flavor (`urcu_memb_*`), the library QEMU's RCU descends from.
///
/// ```
/// use benches::liburcu::Liburcu;
/// use benches::read_side::{drive, ReadSide};
/// assert!(drive(&Liburcu, 1, 100).as_nanos() > 0);
/// ```
#[derive(Debug, Default)]
pub struct Liburcu;

impl ReadSide for Liburcu {
    const NAME: &'static str = "liburcu memb";

    fn register(&self) {
        ffi::bench_urcu_register();
    }

    fn unregister(&self) {
        ffi::bench_urcu_unregister();
    }

    fn read_pairs(&self, n: u64) {
        ffi::bench_urcu_read_pairs(n);
    }
}

impl GracePeriod for Liburcu {
    const NAME: &'static str = "liburcu memb";

    fn register(&self) {
        ffi::bench_urcu_register();
    }

    fn unregister(&self) {
        ffi::bench_urcu_unregister();
    }

    fn synchronize(&self) {
        ffi::bench_urcu_synchronize();
    }

    fn busy_read(&self, stop: &Stop) {
        // The C loop polls an int; a helper thread blocked in `stop.wait()` (no CPU
        // while it waits) flips that int when the measured phase ends.
        let flag = AtomicI32::new(0);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                stop.wait();
                flag.store(1, std::sync::atomic::Ordering::Relaxed);
            });
            // SAFETY: `flag` outlives the call (the scope joins the setter only after the
            // C loop returned, and the loop returns only once it read 1); the C side only
            // performs relaxed atomic loads on it, matching the Rust-side atomic store.
            unsafe { ffi::bench_urcu_busy_read(flag.as_ptr()) };
        });
    }

    fn grace_periods(&self) -> Option<u64> {
        None
    }
}

impl Reclaimer for Liburcu {
    const NAME: &'static str = "liburcu memb call_rcu";

    fn register(&self) {
        ffi::bench_urcu_register();
    }

    fn unregister(&self) {
        ffi::bench_urcu_unregister();
    }

    fn enqueue(&self) {
        ffi::bench_urcu_enqueue();
    }

    fn barrier(&self) {
        ffi::bench_urcu_barrier();
    }

    fn pending(&self) -> Option<u64> {
        None
    }

    fn hold_read_section(&self, hold: std::time::Duration) {
        ffi::bench_urcu_hold_read(u64::try_from(hold.as_nanos()).unwrap_or(u64::MAX));
    }
}

impl Preallocated for Liburcu {
    unsafe fn enqueue_prealloc(&self, nodes: &[PreNode]) {
        // SAFETY: `PreNode` is repr(C) and starts with two pointer-sized fields, the layout
        // of `struct rcu_head`; per the contract the nodes are unqueued and outlive the
        // (no-op) callbacks.
        unsafe {
            ffi::bench_urcu_enqueue_prealloc(
                nodes.as_ptr().cast(),
                nodes.len() as u64,
                std::mem::size_of::<PreNode>() as u64,
            );
        }
    }
}

impl Probe for Liburcu {
    unsafe fn probe(&self, slot: &std::sync::atomic::AtomicU64) {
        // SAFETY: the C side stores into the slot once, atomically, before the slot's
        // owner stops waiting for it (the contract).
        unsafe { ffi::bench_urcu_latency_probe(slot.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grace_period::{Readers, drive_synchronize};
    use crate::reclaim::{Flood, drive_barrier, drive_enqueue, flood};
    use std::time::Duration;

    #[test]
    fn liburcu_runs_every_workload() {
        assert!(crate::read_side::drive(&Liburcu, 2, 1000).as_nanos() > 0);
        for readers in [Readers::None, Readers::Idle, Readers::Busy] {
            assert!(drive_synchronize(&Liburcu, readers, 3).as_nanos() > 0);
        }
        assert!(drive_enqueue(&Liburcu, 1, 1000).as_nanos() > 0);
        assert!(drive_barrier(&Liburcu, 16, 2).as_nanos() > 0);
        let s = flood(
            &Liburcu,
            &Flood::BUSY_SERVER,
            Duration::from_millis(50),
            false,
        );
        assert!(s.enqueued > 0 && s.peak_pending.is_none(), "{s:?}");
    }
}
