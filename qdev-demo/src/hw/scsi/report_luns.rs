//! REPORT LUNS: the CDB, the single-pass response builder and a parser for initiators.
//!
//! The builder is QEMU's `scsi_target_emulate_report_luns` after commit 8cfe8013baec ("fix races in
//! REPORT LUNS"): one pass appends entries to a growable buffer, so a list that changes under the
//! reader can never make the header disagree with the entries (the old two-pass code could).

use super::lun::{decode_report_lun, encode_report_lun};
use super::sense::{INVALID_FIELD, ScsiSense};

/// The REPORT LUNS operation code.
pub const REPORT_LUNS: u8 = 0xa0;

/// Length of a REPORT LUNS CDB.
pub const REPORT_LUNS_CDB_LEN: usize = 12;

/// The smallest allocation length QEMU accepts: the header plus one entry.
pub const MIN_ALLOCATION_LEN: u32 = 16;

/// Builds a REPORT LUNS CDB: byte 2 = SELECT REPORT, bytes 6-9 = big-endian allocation length.
///
/// ```
/// use qdev_demo::hw::scsi::report_luns::report_luns_cdb;
/// let cdb = report_luns_cdb(0, 4096);
/// assert_eq!(cdb[0], 0xa0);
/// assert_eq!(&cdb[6..10], &[0, 0, 0x10, 0]);
/// ```
pub fn report_luns_cdb(select_report: u8, alloc_len: u32) -> [u8; REPORT_LUNS_CDB_LEN] {
    let mut cdb = [0u8; REPORT_LUNS_CDB_LEN];
    cdb[0] = REPORT_LUNS;
    cdb[2] = select_report;
    cdb[6..10].copy_from_slice(&alloc_len.to_be_bytes());
    cdb
}

/// Validates a REPORT LUNS CDB and returns its allocation length, failing with INVALID FIELD IN
/// CDB exactly where QEMU does: a CDB shorter than 12 bytes, an allocation length below 16 or a
/// SELECT REPORT above 2.
///
/// ```
/// use qdev_demo::hw::scsi::report_luns::{check_report_luns_cdb, report_luns_cdb};
/// assert_eq!(check_report_luns_cdb(&report_luns_cdb(2, 64)), Ok(64));
/// assert!(check_report_luns_cdb(&report_luns_cdb(3, 64)).is_err());
/// assert!(check_report_luns_cdb(&report_luns_cdb(0, 15)).is_err());
/// ```
pub fn check_report_luns_cdb(cdb: &[u8]) -> Result<u32, ScsiSense> {
    if cdb.len() < REPORT_LUNS_CDB_LEN || cdb[0] != REPORT_LUNS {
        return Err(INVALID_FIELD);
    }
    let alloc_len = u32::from_be_bytes([cdb[6], cdb[7], cdb[8], cdb[9]]);
    if alloc_len < MIN_ALLOCATION_LEN || cdb[2] > 2 {
        return Err(INVALID_FIELD);
    }
    Ok(alloc_len)
}

/// Builds the REPORT LUNS parameter data in a single pass over `luns` (the LUNs of the devices on
/// the target, in list order; LUN 0 entries are skipped because LUN 0 is always listed first).
///
/// Layout: bytes 0-3 = big-endian LUN list length in bytes (8 per entry), bytes 4-7 = 0, then one
/// 8-byte entry per LUN, see [`encode_report_lun`]. The result is truncated to
/// `min(full length, alloc_len & !7)`, as QEMU does; the header still gives the full list length so
/// the initiator can retry with a larger buffer.
///
/// ```
/// use qdev_demo::hw::scsi::report_luns::build_report_luns;
/// let data = build_report_luns(4096, [0, 3]);
/// assert_eq!(data, [0, 0, 0, 16, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 3, 0, 0, 0, 0, 0, 0]);
/// ```
pub fn build_report_luns(alloc_len: u32, luns: impl IntoIterator<Item = u16>) -> Vec<u8> {
    // 512 bytes: the header and 63 entries, QEMU's initial GByteArray size.
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(&[0u8; 8]); // header, patched below
    buf.extend_from_slice(&[0u8; 8]); // LUN 0 is always present
    for lun in luns {
        if lun != 0 {
            buf.extend_from_slice(&encode_report_lun(lun));
        }
    }
    let list_len = u32::try_from(buf.len() - 8).expect("REPORT LUNS list longer than 4 GiB");
    buf[0..4].copy_from_slice(&list_len.to_be_bytes());
    let alloc = usize::try_from(alloc_len & !7).unwrap_or(usize::MAX);
    buf.truncate(alloc);
    buf
}

/// A parsed REPORT LUNS response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLunsReply {
    /// The list length the header announces, in bytes (may exceed what was transferred).
    pub list_len: u32,
    /// The LUNs of the entries actually transferred, in order.
    pub luns: Vec<u16>,
}

/// Why a REPORT LUNS response is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLunsFormatError {
    /// Shorter than the 8-byte header, or not a whole number of 8-byte entries.
    BadLength(usize),
    /// Bytes 4-7 of the header are not zero.
    ReservedNotZero,
    /// The header's list length is not a multiple of 8 or is smaller than what was transferred.
    BadListLength(u32),
    /// An entry uses an addressing method the emulation never produces.
    BadEntry(usize),
}

impl std::fmt::Display for ReportLunsFormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadLength(n) => write!(
                f,
                "REPORT LUNS data of {n} bytes is not header + whole entries"
            ),
            Self::ReservedNotZero => f.write_str("REPORT LUNS header bytes 4-7 are not zero"),
            Self::BadListLength(n) => {
                write!(f, "REPORT LUNS list length {n} disagrees with the data")
            }
            Self::BadEntry(i) => {
                write!(f, "REPORT LUNS entry {i} has an unknown addressing method")
            }
        }
    }
}

impl std::error::Error for ReportLunsFormatError {}

/// Parses REPORT LUNS parameter data (possibly truncated by the allocation length).
///
/// ```
/// use qdev_demo::hw::scsi::report_luns::{build_report_luns, parse_report_luns};
/// let reply = parse_report_luns(&build_report_luns(4096, [7, 300])).unwrap();
/// assert_eq!(reply.luns, [0, 7, 300]);
/// assert_eq!(reply.list_len, 24);
/// ```
pub fn parse_report_luns(data: &[u8]) -> Result<ReportLunsReply, ReportLunsFormatError> {
    if data.len() < 8 || data.len() % 8 != 0 {
        return Err(ReportLunsFormatError::BadLength(data.len()));
    }
    if data[4..8] != [0, 0, 0, 0] {
        return Err(ReportLunsFormatError::ReservedNotZero);
    }
    let list_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let transferred = data.len() - 8;
    if list_len % 8 != 0 || (list_len as usize) < transferred {
        return Err(ReportLunsFormatError::BadListLength(list_len));
    }
    let luns = data[8..]
        .chunks_exact(8)
        .enumerate()
        .map(|(i, e)| {
            let entry: &[u8; 8] = e.try_into().expect("chunks_exact(8) yields 8 bytes");
            decode_report_lun(entry).ok_or(ReportLunsFormatError::BadEntry(i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportLunsReply { list_len, luns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_devices_still_lists_lun0() {
        let data = build_report_luns(4096, []);
        assert_eq!(data, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn one_device_at_lun0_is_not_listed_twice() {
        let data = build_report_luns(4096, [0]);
        assert_eq!(data.len(), 16);
        assert_eq!(&data[0..4], &[0, 0, 0, 8]);
    }

    #[test]
    fn one_device_at_nonzero_lun() {
        let data = build_report_luns(4096, [9]);
        assert_eq!(
            data,
            [
                0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn many_devices_keep_list_order_and_grow_past_512_bytes() {
        let luns: Vec<u16> = (1..=100).rev().collect();
        let data = build_report_luns(u32::MAX, luns.iter().copied());
        assert_eq!(data.len(), 8 + 8 * 101);
        assert_eq!(u32::from_be_bytes(data[0..4].try_into().unwrap()), 8 * 101);
        let reply = parse_report_luns(&data).unwrap();
        assert_eq!(reply.luns[0], 0);
        assert_eq!(&reply.luns[1..], &luns[..]);
    }

    #[test]
    fn lun_at_or_above_256_uses_flat_addressing() {
        let data = build_report_luns(4096, [256, 0x3fff]);
        assert_eq!(&data[16..24], &[0x41, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&data[24..32], &[0x7f, 0xff, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn truncation_to_allocation_length_keeps_full_header() {
        // 3 entries = 32 bytes in full; alloc 27 rounds down to 24.
        let data = build_report_luns(27, [1, 2]);
        assert_eq!(data.len(), 24);
        assert_eq!(&data[0..4], &[0, 0, 0, 24]);
        let reply = parse_report_luns(&data).unwrap();
        assert_eq!(reply.list_len, 24);
        assert_eq!(reply.luns, [0, 1]);
        // Exactly 16 (the minimum) transfers header + LUN 0 only.
        assert_eq!(build_report_luns(16, [1, 2, 3]).len(), 16);
        // A larger allocation than needed does not pad.
        assert_eq!(build_report_luns(1000, [1]).len(), 24);
    }

    #[test]
    fn cdb_checks() {
        assert_eq!(check_report_luns_cdb(&report_luns_cdb(0, 16)), Ok(16));
        assert_eq!(check_report_luns_cdb(&report_luns_cdb(1, 16)), Ok(16));
        assert_eq!(
            check_report_luns_cdb(&report_luns_cdb(0, 8)),
            Err(INVALID_FIELD)
        );
        assert_eq!(
            check_report_luns_cdb(&report_luns_cdb(3, 100)),
            Err(INVALID_FIELD)
        );
        assert_eq!(check_report_luns_cdb(&[REPORT_LUNS; 6]), Err(INVALID_FIELD));
        let mut wrong = report_luns_cdb(0, 100);
        wrong[0] = 0x12;
        assert_eq!(check_report_luns_cdb(&wrong), Err(INVALID_FIELD));
    }

    #[test]
    fn parser_rejects_malformed_data() {
        assert_eq!(
            parse_report_luns(&[0; 4]),
            Err(ReportLunsFormatError::BadLength(4))
        );
        assert_eq!(
            parse_report_luns(&[0; 12]),
            Err(ReportLunsFormatError::BadLength(12))
        );
        let mut bad = build_report_luns(100, [1]);
        bad[5] = 1;
        assert_eq!(
            parse_report_luns(&bad),
            Err(ReportLunsFormatError::ReservedNotZero)
        );
        let mut short = build_report_luns(100, [1]);
        short[3] = 8; // claims one entry but two were transferred
        assert_eq!(
            parse_report_luns(&short),
            Err(ReportLunsFormatError::BadListLength(8))
        );
        let mut entry = build_report_luns(100, [1]);
        entry[16] = 0xc0;
        assert_eq!(
            parse_report_luns(&entry),
            Err(ReportLunsFormatError::BadEntry(1))
        );
    }
}
