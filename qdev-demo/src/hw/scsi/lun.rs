//! SCSI logical unit number encodings: the 8-byte SAM LUN entries of REPORT LUNS and the virtio-scsi
//! request LUN field.

/// The largest LUN the flat addressing method can express (14 bits), QEMU's `MAX_SCSI_LUNS - 1`
/// for virtio-scsi (`VIRTIO_SCSI_MAX_LUN` is 16383).
pub const MAX_FLAT_LUN: u16 = 0x3fff;

/// Encodes `lun` as one 8-byte REPORT LUNS entry (QEMU `store_lun` in hw/scsi/scsi-bus.c).
///
/// LUNs below 256 use the peripheral device addressing method (byte 0 = 0, byte 1 = LUN); larger
/// LUNs use flat space addressing (byte 0 = `0x40 | (lun >> 8)`, byte 1 = `lun & 0xff`). Bytes 2-7
/// are zero.
///
/// # Panics
///
/// Panics if `lun > MAX_FLAT_LUN`: such a LUN cannot be addressed and never passes the SCSI bus's
/// address check, so reaching here means the caller skipped `scsi_bus_check_address`.
///
/// ```
/// use qdev_demo::hw::scsi::lun::encode_report_lun;
/// assert_eq!(encode_report_lun(5), [0, 5, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(encode_report_lun(300), [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
/// ```
pub fn encode_report_lun(lun: u16) -> [u8; 8] {
    assert!(
        lun <= MAX_FLAT_LUN,
        "LUN {lun} does not fit flat addressing (max {MAX_FLAT_LUN}); check the address with scsi_bus_check_address first"
    );
    let mut entry = [0u8; 8];
    if lun < 256 {
        entry[1] = lun as u8;
    } else {
        entry[0] = 0x40 | (lun >> 8) as u8;
        entry[1] = (lun & 0xff) as u8;
    }
    entry
}

/// Decodes one 8-byte REPORT LUNS entry produced by [`encode_report_lun`]; `None` for an addressing
/// method this emulation never produces. The inverse used by initiators (and by the demo's
/// consistency check).
///
/// ```
/// use qdev_demo::hw::scsi::lun::{decode_report_lun, encode_report_lun};
/// assert_eq!(decode_report_lun(&encode_report_lun(4000)), Some(4000));
/// assert_eq!(decode_report_lun(&[0x80, 0, 0, 0, 0, 0, 0, 0]), None);
/// ```
pub fn decode_report_lun(entry: &[u8; 8]) -> Option<u16> {
    if entry[2..].iter().any(|&b| b != 0) {
        return None;
    }
    match entry[0] >> 6 {
        0 if entry[0] == 0 => Some(u16::from(entry[1])),
        1 => Some((u16::from(entry[0] & 0x3f) << 8) | u16::from(entry[1])),
        _ => None,
    }
}

/// Builds the virtio-scsi request LUN field for `target`/`lun`, as the Linux virtio_scsi driver
/// does: byte 0 = 1, byte 1 = target, bytes 2-3 = `0x4000 | lun` (flat addressing), bytes 4-7 = 0.
///
/// ```
/// use qdev_demo::hw::scsi::lun::virtio_scsi_lun;
/// assert_eq!(virtio_scsi_lun(3, 2), [1, 3, 0x40, 2, 0, 0, 0, 0]);
/// ```
pub fn virtio_scsi_lun(target: u8, lun: u16) -> [u8; 8] {
    let lun = lun & MAX_FLAT_LUN;
    [
        1,
        target,
        0x40 | (lun >> 8) as u8,
        (lun & 0xff) as u8,
        0,
        0,
        0,
        0,
    ]
}

/// QEMU `virtio_scsi_get_lun`: the 14-bit LUN of a virtio-scsi LUN field,
/// `((lun[2] << 8) | lun[3]) & 0x3fff`.
///
/// ```
/// use qdev_demo::hw::scsi::lun::virtio_scsi_get_lun;
/// assert_eq!(virtio_scsi_get_lun(&[1, 0, 0x41, 0x2c, 0, 0, 0, 0]), 300);
/// ```
pub fn virtio_scsi_get_lun(lun: &[u8; 8]) -> u16 {
    ((u16::from(lun[2]) << 8) | u16::from(lun[3])) & MAX_FLAT_LUN
}

/// Decodes a virtio-scsi LUN field into `(target, lun)` following `virtio_scsi_device_get`'s
/// validity rules: `None` when byte 0 is not 1, or when byte 2 is neither 0 nor in `0x40..0x80`.
///
/// ```
/// use qdev_demo::hw::scsi::lun::decode_virtio_scsi_lun;
/// assert_eq!(decode_virtio_scsi_lun(&[1, 2, 0x40, 7, 0, 0, 0, 0]), Some((2, 7)));
/// assert_eq!(decode_virtio_scsi_lun(&[0, 2, 0x40, 7, 0, 0, 0, 0]), None);
/// assert_eq!(decode_virtio_scsi_lun(&[1, 2, 0x80, 7, 0, 0, 0, 0]), None);
/// ```
pub fn decode_virtio_scsi_lun(lun: &[u8; 8]) -> Option<(u8, u16)> {
    if lun[0] != 1 {
        return None;
    }
    if lun[2] != 0 && !(0x40..0x80).contains(&lun[2]) {
        return None;
    }
    Some((lun[1], virtio_scsi_get_lun(lun)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lun_peripheral_and_flat() {
        assert_eq!(encode_report_lun(0), [0; 8]);
        assert_eq!(encode_report_lun(255), [0, 255, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_report_lun(256), [0x41, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            encode_report_lun(MAX_FLAT_LUN),
            [0x7f, 0xff, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn report_lun_round_trips() {
        for lun in [0, 1, 100, 255, 256, 257, 1000, MAX_FLAT_LUN] {
            assert_eq!(decode_report_lun(&encode_report_lun(lun)), Some(lun));
        }
        assert_eq!(decode_report_lun(&[0, 1, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(decode_report_lun(&[0x01, 1, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    #[should_panic(expected = "does not fit flat addressing")]
    fn report_lun_rejects_oversized() {
        encode_report_lun(MAX_FLAT_LUN + 1);
    }

    #[test]
    fn virtio_lun_round_trips() {
        for (t, l) in [(0, 0), (1, 255), (7, 256), (255, MAX_FLAT_LUN)] {
            assert_eq!(decode_virtio_scsi_lun(&virtio_scsi_lun(t, l)), Some((t, l)));
        }
    }

    #[test]
    fn virtio_lun_validity_rules() {
        // byte 2 == 0 is accepted (peripheral form used by some initiators).
        assert_eq!(
            decode_virtio_scsi_lun(&[1, 4, 0, 9, 0, 0, 0, 0]),
            Some((4, 9))
        );
        assert_eq!(decode_virtio_scsi_lun(&[1, 4, 0x3f, 9, 0, 0, 0, 0]), None);
        assert_eq!(
            decode_virtio_scsi_lun(&[1, 4, 0x7f, 0xff, 0, 0, 0, 0]),
            Some((4, 0x3fff))
        );
        assert_eq!(decode_virtio_scsi_lun(&[2, 4, 0x40, 0, 0, 0, 0, 0]), None);
        assert_eq!(virtio_scsi_get_lun(&[1, 0, 0xff, 0xff, 0, 0, 0, 0]), 0x3fff);
    }
}
