//! The QEMU terms the output and `--help` use, one line each (at most 80 columns).

/// The glossary printed after the comparison and in `--help`.
///
/// ```
/// assert!(qdev_demo::run::glossary::TERMS.lines().all(|l| l.chars().count() <= 80));
/// ```
pub const TERMS: &str = "\
Terms:
  BQL             QEMU's big lock; the main loop holds it to change the devices
  hot-plug        adding (device_add) or removing (device_del) a disk, live
  realize         a device's set-up (opening its disk) before I/O may use it
  LUN             logical unit number: a disk's address behind a SCSI target
  REPORT LUNS     the SCSI command that lists the LUNs of a target
  I_T nexus       the guest-to-target connection; a reset of it resets all LUNs
  BusChild        an entry of a bus's device list, freed after a grace period
  DEVICE_DELETED  the event QEMU sends when an unplugged device is finally freed
  RCU             readers take no lock; writers free memory after a grace period
";
