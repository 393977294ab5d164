//! # qdev-demo: QEMU's bus children as an RCU list, under hot-plug and I/O-thread load
//!
//! QEMU commit 2d24a6466154 ("device-core: use RCU for list of children of a bus") made a bus's
//! children an RCU list so that virtio-scsi I/O threads can look up a SCSI disk, without the big
//! QEMU lock (BQL), while the main thread hot-plugs and unplugs disks. This crate models that
//! code and the rest of its series in Rust, on top of `rcu-core` and `rcu-queue`.
//!
//! The modules are in layers that import downward only, as QEMU's directories do
//! (`tests/module_graph.rs` checks the order and that there is no import cycle):
//!
//! 1. [`util`]: system calls, human units, the latency histogram, request pacing.
//! 2. [`block`]: the drives (block backends) disks open.
//! 3. [`qdev`]: the core objects ([`qdev::device`]: `DeviceState`, `BusState` with its children
//!    in an [`rcu_queue::RcuTailq`] whose writer lock is the [`qdev::bql::Bql`], `BusChild`, the
//!    `BusClass` trait), the writers `bus_add_child` / `bus_remove_child` ([`qdev::bus`]), the
//!    lock-free walks the seed converted ([`qdev::walk`]) and the readers' `--sync rcu|bql|rwlock`
//!    switch ([`qdev::sync_mode`]). It names no SCSI type, and the BQL depends on nothing.
//! 4. [`hw`]: the SCSI bus and disk, REPORT LUNS, and the virtio-scsi controller whose I/O
//!    threads look disks up ([`hw::scsi::virtio_scsi`]).
//! 5. [`machine`]: `device_add` (drain after failure) / `device_del` (DEVICE_DELETED only when
//!    the device is finally freed) and the interactive monitor.
//! 6. [`run`]: the stress scenario behind the `qdev-demo` binary ([`run::scenario::Scenario`]),
//!    its results ([`run::summary`], `--json` versioned by [`run::summary::SCHEMA_VERSION`]),
//!    the default comparison of the three modes ([`run::compare`]) and the command line.
//!
//! ```
//! use qdev_demo::machine::Machine;
//! use qdev_demo::hw::scsi::bus::scsi_device_get;
//! let m = Machine::builder().build();
//! m.device_add_str("scsi-hd,id=disk0,drive=d0,scsi-id=0,lun=0").unwrap();
//! let disk = scsi_device_get(m.scsi_bus(), 0, 0, 0).expect("realized disk");
//! m.device_del("disk0").unwrap();      // unlinked now, freed after a grace period
//! assert!(!disk.is_realized());        // our reference keeps the memory alive
//! drop(disk);
//! rcu_core::rcu_barrier();
//! assert_eq!(m.ctx().events().emitted(), 1); // DEVICE_DELETED
//! ```

// Unsafe code only in `util::os` (two system calls behind safe functions).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod block;
pub mod hw;
pub mod machine;
pub mod qdev;
pub mod run;
pub mod util;
