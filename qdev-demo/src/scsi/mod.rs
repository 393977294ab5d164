//! SCSI emulation: LUN encodings, sense data, REPORT LUNS, the SCSI bus and the disk.

pub mod bus;
pub mod disk;
pub mod lun;
pub mod report_luns;
pub mod sense;
