//! The qdev core (QEMU's `hw/core/qdev.c`, `bus.c` and the BQL): devices and buses
//! ([`device`]), the list writers ([`bus`]), the lock-free walks ([`walk`]), the big lock
//! ([`bql`]) and the readers' `--sync` switch ([`sync_mode`]), with the per-machine context
//! ([`context`]), QMP events ([`events`]) and errors ([`error`]). Nothing here names a SCSI
//! type; it imports only the `util` and `block` layers.

pub mod bql;
pub mod bus;
pub mod context;
pub mod device;
pub mod error;
pub mod events;
pub mod sync_mode;
pub mod walk;
