//! # qdev-demo: QEMU's bus children as an RCU list, under hot-plug and I/O-thread load
//!
//! QEMU commit 2d24a6466154 ("device-core: use RCU for list of children of a bus") made a bus's
//! children an RCU list so that virtio-scsi I/O threads can look up a SCSI disk, without the big
//! QEMU lock (BQL), while the main thread hot-plugs and unplugs disks. This crate models that
//! code and the rest of its series in Rust, on top of `rcu-core` and `rcu-queue`:
//!
//! - [`qdev`]: the core objects, `DeviceState` (reference counted with `Arc`, realized flag
//!   published with release and read with acquire), `BusState` with its children in an
//!   [`rcu_queue::RcuTailq`] whose writer lock is the [`bql::Bql`], `BusChild`, and the
//!   `BusClass` trait through which a bus type (the SCSI bus, in [`scsi::bus`]) plugs in its
//!   `check_address` hook; [`bus`]: the writers `bus_add_child` (newest first),
//!   `bus_remove_child` (free after a grace period), `qdev_set_parent_bus`, realize and unparent.
//!
//! Modules import each other in one direction only, as QEMU's layers do: [`bql`] depends on no
//! other module, the qdev core ([`qdev`], [`bus`], [`walk`]) names no SCSI type, and
//! `tests/module_graph.rs` fails on any import cycle.
//! - [`walk`]: the lock-free readers the seed converted: tree walks with pre/post callbacks,
//!   reset iteration, `qdev_find_recursive`, bus unrealize.
//! - [`machine`]: `device_add` (drain after failure) / `device_del` (DEVICE_DELETED only when the
//!   device is finally freed, see [`events`]).
//! - [`scsi`]: `scsi_device_find` / `scsi_device_get`, address checks and allocation, REPORT LUNS
//!   bytes; [`virtio_scsi`]: the controller's request path run by I/O threads.
//! - [`scenario`] (parameters in [`config`], results in [`summary`]): the stress scenario behind
//!   the `qdev-demo` binary, with safety checks that
//!   must stay zero ([`context::SafetyCounters`]) and a `--sync rcu|bql|rwlock` switch
//!   ([`sync_mode`]). Its main thread is modelled on QEMU's main loop: it holds the [`bql::Bql`]
//!   except around its poll ([`os::poll_timeout`]) and runs each hot-plug command whole under it.
//! - [`histogram`], [`pacing`]: lookup latency, raw and corrected for coordinated omission
//!   against each I/O thread's recent median request interval.
//! - [`compare`]: the binary's default run, every mode back to back with a side-by-side table,
//!   a verdict and the [`glossary`]; [`cli`]: its command line (clap); [`units`]: numbers in
//!   human units for the text output (`--json` keeps raw numbers, versioned by
//!   [`summary::SCHEMA_VERSION`]).
//!
//! ```
//! use qdev_demo::machine::Machine;
//! use qdev_demo::scsi::bus::scsi_device_get;
//! let m = Machine::builder().build();
//! m.device_add_str("scsi-hd,id=disk0,drive=d0,scsi-id=0,lun=0").unwrap();
//! let disk = scsi_device_get(m.scsi_bus(), 0, 0, 0).expect("realized disk");
//! m.device_del("disk0").unwrap();      // unlinked now, freed after a grace period
//! assert!(!disk.is_realized());        // our reference keeps the memory alive
//! drop(disk);
//! rcu_core::rcu_barrier();
//! assert_eq!(m.ctx().events().emitted(), 1); // DEVICE_DELETED
//! ```

// Unsafe code only in `os` (two system calls behind safe functions).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod bql;
pub mod bus;
pub mod cli;
pub mod compare;
pub mod config;
pub mod context;
pub mod drive;
pub mod error;
pub mod events;
pub mod glossary;
pub mod histogram;
pub mod machine;
pub mod monitor;
pub mod os;
pub mod pacing;
pub mod qdev;
pub mod scenario;
pub mod scsi;
pub mod summary;
pub mod sync_mode;
pub mod units;
pub mod virtio_scsi;
pub mod walk;
