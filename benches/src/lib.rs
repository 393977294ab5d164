//! The shared harness behind the workspace's comparative benchmarks.
//!
//! Every workload has one trait over its contenders and one driver that times only
//! the parallel phase (threads meet on a `Barrier` first, see [`driver`]):
//!
//! | workload | trait | driver(s) | criterion target |
//! |---|---|---|---|
//! | read-side enter/exit | [`read_side::ReadSide`] | [`read_side::drive`] | `benches/read_side.rs` |
//! | read-mostly pointer | [`read_mostly::ReadMostly`] | [`read_mostly::drive_reads`], [`read_mostly::drive_writes`] | `benches/read_mostly.rs` |
//! | `synchronize_rcu` latency | [`grace_period::GracePeriod`] | [`grace_period::drive_synchronize`], [`grace_period::drive_callers`] | `benches/grace_period.rs` |
//! | `call_rcu` / `rcu_barrier` | [`reclaim::Reclaimer`], [`reclaim::Probe`] | [`reclaim::drive_enqueue`], [`reclaim::drive_reclaim`], [`reclaim::drive_barrier`], [`reclaim::flood`], [`reclaim::callback_latency`] | `benches/call_rcu.rs`, the report bin (flood) |
//! | list traversal under churn | [`list::TraversalList`] (lists of [`slist::SList`] nodes and `Vec`s) | [`list::drive_traverse`] | `benches/list_traversal.rs` |
//! | polling API cost | – | [`polling::drive_start_poll`], [`polling::drive_poll_state`] | `benches/polling.rs` |
//! | hash-map get/write mixes | [`hash_map::BenchMap`] ([`hash_map::RcuTable`] for rcu-queue's two maps) | [`hash_map::drive_mix`], [`hash_map::drive_ops`], [`hash_map::drive_single`], [`hash_map::drive_gets_during_resize`], [`footprint::bytes_per_entry`] | `benches/hash_map.rs`, the report bin (bytes per entry) |
//! | awaiting grace periods | [`grace_period::GracePeriod`] ([`async_gp::RcuCoreAsync`]) | [`grace_period::drive_synchronize`], [`async_gp::drive_concurrent_awaits`] | `benches/async_gp.rs` |
//! | qdev-demo requests | the `--sync` mode ([`qdev::QdevBench`]) | [`qdev::drive_requests`], [`qdev::latency_run`] | `benches/qdev_lookup.rs` |
//!
//! The contenders that only need rcu-core, rcu-queue and `std` live here; those built
//! on arc-swap and parking_lot (dev-dependencies of this crate only) live next to their
//! criterion target. crossbeam-epoch's `call_rcu` counterpart, [`reclaim::Crossbeam`], lives
//! here too: the report bin floods it in a child process (a bin cannot use dev-dependencies). With the `liburcu` feature, the `liburcu` module adds
//! the system liburcu (memb flavor) through a small C shim.
//!
//! Run everything with `cargo bench -p benches`, a one-pass smoke run with
//! `cargo bench -p benches -- --test`, and write `BENCHMARKS.md` plus the plots with
//! `cargo run -p benches --release --bin report`.
//!
//! ```
//! use benches::read_side::{drive, RcuCore};
//! // Two threads, 10 000 read_lock/unlock pairs each; only the parallel phase is timed.
//! let elapsed = drive(&RcuCore, 2, 10_000);
//! assert!(elapsed.as_nanos() > 0);
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod async_gp;
pub mod driver;
pub mod footprint;
pub mod grace_period;
pub mod hash_map;
pub mod list;
pub mod polling;
pub mod qdev;
pub mod read_mostly;
pub mod read_side;
pub mod reclaim;
pub mod slist;
pub mod tuning;

#[cfg(feature = "liburcu")]
pub mod liburcu;
