//! `scsi-hd` command emulation: the work an I/O thread does once it found the device.

use super::sense::{
    INVALID_OPCODE, LBA_OUT_OF_RANGE, STATUS_CHECK_CONDITION, STATUS_GOOD, ScsiSense,
};
use crate::block::drive::BLOCK_SIZE;
use crate::qdev::device::DeviceState;

/// TEST UNIT READY.
pub const TEST_UNIT_READY: u8 = 0x00;
/// INQUIRY.
pub const INQUIRY: u8 = 0x12;
/// READ CAPACITY(10).
pub const READ_CAPACITY_10: u8 = 0x25;
/// READ(10).
pub const READ_10: u8 = 0x28;

/// The status of a completed command; data went to the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandStatus {
    /// SAM status byte.
    pub status: u8,
    /// Sense data when `status` is CHECK CONDITION.
    pub sense: Option<ScsiSense>,
}

impl CommandStatus {
    /// GOOD.
    pub const GOOD: CommandStatus = CommandStatus {
        status: STATUS_GOOD,
        sense: None,
    };

    /// CHECK CONDITION with `sense`.
    pub fn check_condition(sense: ScsiSense) -> Self {
        Self {
            status: STATUS_CHECK_CONDITION,
            sense: Some(sense),
        }
    }
}

/// Builds a READ(10) CDB.
///
/// ```
/// let cdb = qdev_demo::hw::scsi::disk::read10_cdb(0x01020304, 2);
/// assert_eq!(cdb, [0x28, 0, 1, 2, 3, 4, 0, 0, 2, 0]);
/// ```
pub fn read10_cdb(lba: u32, blocks: u16) -> [u8; 10] {
    let mut cdb = [0u8; 10];
    cdb[0] = READ_10;
    cdb[2..6].copy_from_slice(&lba.to_be_bytes());
    cdb[7..9].copy_from_slice(&blocks.to_be_bytes());
    cdb
}

/// Executes `cdb` on the disk `dev`, writing the data-in bytes to `data` (cleared first).
/// Supports TEST UNIT READY, INQUIRY, READ CAPACITY(10) and READ(10); anything else is INVALID
/// COMMAND OPERATION CODE.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::disk::{CommandStatus, execute, read10_cdb};
/// let m = Machine::builder().build();
/// let disk = m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
/// let mut data = Vec::new();
/// assert_eq!(execute(&disk, &read10_cdb(0, 1), &mut data), CommandStatus::GOOD);
/// assert_eq!(data.len(), 512);
/// ```
pub fn execute(dev: &DeviceState, cdb: &[u8], data: &mut Vec<u8>) -> CommandStatus {
    data.clear();
    dev.count_request();
    let blocks = dev.drive().map_or(0, |d| d.blocks());
    match cdb.first().copied() {
        Some(TEST_UNIT_READY) => CommandStatus::GOOD,
        Some(INQUIRY) if cdb.len() >= 6 => {
            let alloc = usize::from(u16::from_be_bytes([cdb[3], cdb[4]]));
            data.extend_from_slice(&[0x00, 0x00, 0x05, 0x02, 31, 0, 0, 0x02]);
            data.extend_from_slice(b"QEMU    QEMU HARDDISK   2.5+");
            data.truncate(alloc);
            CommandStatus::GOOD
        }
        Some(READ_CAPACITY_10) => {
            let last = u32::try_from(blocks.saturating_sub(1)).unwrap_or(u32::MAX);
            data.extend_from_slice(&last.to_be_bytes());
            data.extend_from_slice(&(BLOCK_SIZE as u32).to_be_bytes());
            CommandStatus::GOOD
        }
        Some(READ_10) if cdb.len() >= 10 => {
            let lba = u64::from(u32::from_be_bytes([cdb[2], cdb[3], cdb[4], cdb[5]]));
            let count = u64::from(u16::from_be_bytes([cdb[7], cdb[8]]));
            if lba + count > blocks {
                return CommandStatus::check_condition(LBA_OUT_OF_RANGE);
            }
            data.resize(count as usize * BLOCK_SIZE, 0);
            if let Some(drive) = dev.drive() {
                drive.read_blocks(lba, data);
            }
            CommandStatus::GOOD
        }
        _ => CommandStatus::check_condition(INVALID_OPCODE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::drive::Drive;
    use crate::qdev::context::QdevContext;
    use crate::qdev::sync_mode::SyncMode;
    use std::sync::Arc;
    use std::time::Duration;

    fn disk(blocks: u64) -> DeviceState {
        let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, Duration::ZERO));
        DeviceState::new(&ctx, "scsi-hd", None).with_drive(Arc::new(Drive::new("d", blocks)))
    }

    #[test]
    fn commands() {
        let d = disk(16);
        let mut data = vec![1, 2, 3];
        assert_eq!(
            execute(&d, &[TEST_UNIT_READY; 6], &mut data),
            CommandStatus::GOOD
        );
        assert!(data.is_empty());
        assert_eq!(
            execute(&d, &[INQUIRY, 0, 0, 0, 36, 0], &mut data),
            CommandStatus::GOOD
        );
        assert_eq!(data.len(), 36);
        assert_eq!(&data[8..12], b"QEMU");
        assert_eq!(
            execute(&d, &[INQUIRY, 0, 0, 0, 5, 0], &mut data),
            CommandStatus::GOOD
        );
        assert_eq!(data.len(), 5);
        assert_eq!(
            execute(&d, &[READ_CAPACITY_10; 10], &mut data),
            CommandStatus::GOOD
        );
        assert_eq!(data, [0, 0, 0, 15, 0, 0, 2, 0]);
        assert_eq!(
            execute(&d, &read10_cdb(14, 2), &mut data),
            CommandStatus::GOOD
        );
        assert_eq!(data.len(), 1024);
        assert_eq!(
            execute(&d, &read10_cdb(15, 2), &mut data),
            CommandStatus::check_condition(LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            execute(&d, &[0xff], &mut data),
            CommandStatus::check_condition(INVALID_OPCODE)
        );
        assert_eq!(
            execute(&d, &[], &mut data),
            CommandStatus::check_condition(INVALID_OPCODE)
        );
        assert_eq!(d.requests(), 8);
    }
}
