//! Device models (QEMU's `hw/`), on top of the qdev core: the SCSI bus, its disk and the
//! virtio-scsi controller ([`scsi`]).

pub mod scsi;
