//! SCSI status bytes and the sense data the emulation reports.

/// SAM status GOOD.
pub const STATUS_GOOD: u8 = 0x00;
/// SAM status CHECK CONDITION (sense data follows).
pub const STATUS_CHECK_CONDITION: u8 = 0x02;

/// A fixed-format sense triple (sense key, additional sense code, qualifier), QEMU's `SCSISense`.
///
/// ```
/// use qdev_demo::hw::scsi::sense::LUN_NOT_SUPPORTED;
/// assert_eq!(LUN_NOT_SUPPORTED.to_fixed_format()[2], 0x05);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiSense {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
}

/// ILLEGAL REQUEST, INVALID FIELD IN CDB (QEMU `SENSE_CODE(INVALID_FIELD)`).
pub const INVALID_FIELD: ScsiSense = ScsiSense {
    key: 0x05,
    asc: 0x24,
    ascq: 0x00,
};
/// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (`SENSE_CODE(INVALID_OPCODE)`).
pub const INVALID_OPCODE: ScsiSense = ScsiSense {
    key: 0x05,
    asc: 0x20,
    ascq: 0x00,
};
/// ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (`SENSE_CODE(LUN_NOT_SUPPORTED)`).
pub const LUN_NOT_SUPPORTED: ScsiSense = ScsiSense {
    key: 0x05,
    asc: 0x25,
    ascq: 0x00,
};
/// ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (`SENSE_CODE(LBA_OUT_OF_RANGE)`).
pub const LBA_OUT_OF_RANGE: ScsiSense = ScsiSense {
    key: 0x05,
    asc: 0x21,
    ascq: 0x00,
};

impl ScsiSense {
    /// The 18-byte fixed-format sense buffer (response code 0x70).
    ///
    /// ```
    /// use qdev_demo::hw::scsi::sense::INVALID_FIELD;
    /// let buf = INVALID_FIELD.to_fixed_format();
    /// assert_eq!((buf[0], buf[2], buf[12], buf[13]), (0x70, 0x05, 0x24, 0x00));
    /// ```
    pub fn to_fixed_format(self) -> [u8; 18] {
        let mut buf = [0u8; 18];
        buf[0] = 0x70;
        buf[2] = self.key;
        buf[7] = 10;
        buf[12] = self.asc;
        buf[13] = self.ascq;
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format_layout() {
        let buf = LBA_OUT_OF_RANGE.to_fixed_format();
        assert_eq!(buf[0], 0x70);
        assert_eq!(buf[2], 0x05);
        assert_eq!(buf[7], 10);
        assert_eq!((buf[12], buf[13]), (0x21, 0));
        assert_ne!(INVALID_OPCODE, INVALID_FIELD);
    }
}
