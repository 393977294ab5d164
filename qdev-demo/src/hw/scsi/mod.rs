//! SCSI emulation (QEMU's `hw/scsi/`): LUN encodings, sense data, REPORT LUNS, the SCSI bus and
//! the disk, and the virtio-scsi controller whose I/O threads look the disks up.

pub mod bus;
pub mod disk;
pub mod lun;
pub mod report_luns;
pub mod sense;
pub mod virtio_scsi;
