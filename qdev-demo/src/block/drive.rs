//! Block backends (`-drive`): what a SCSI disk opens in realize and keeps until it is freed.
//!
//! A drive stays attached until the device that uses it is *finally freed*, i.e. after the grace
//! period that follows `device_del`. Re-adding a disk on the same drive before DEVICE_DELETED
//! therefore fails with "is already in use", exactly the fallout QEMU's tests saw after the seed
//! commit (iotest 240, "Node hd0 is in use").

use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes per logical block.
pub const BLOCK_SIZE: usize = 512;

/// A block backend.
///
/// ```
/// use qdev_demo::block::drive::Drive;
/// let d = Drive::new("d0", 1024);
/// assert!(d.try_attach());
/// assert!(!d.try_attach(), "one device at a time");
/// d.detach();
/// assert!(!d.is_attached());
/// ```
#[derive(Debug)]
pub struct Drive {
    name: String,
    blocks: u64,
    broken: bool,
    attached: AtomicBool,
}

impl Drive {
    /// A working drive of `blocks` blocks.
    pub fn new(name: impl Into<String>, blocks: u64) -> Self {
        Self {
            name: name.into(),
            blocks,
            broken: false,
            attached: AtomicBool::new(false),
        }
    }

    /// A drive whose open fails, so realizing a disk on it fails after the disk joined its bus
    /// (the failed `device_add` path).
    ///
    /// ```
    /// assert!(qdev_demo::block::drive::Drive::broken("bad").is_broken());
    /// ```
    pub fn broken(name: impl Into<String>) -> Self {
        Self {
            broken: true,
            ..Self::new(name, 0)
        }
    }

    /// The drive's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Capacity in blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Whether opening it fails.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Claims the drive for a device (`blk_attach_dev`); false if another device holds it.
    pub fn try_attach(&self) -> bool {
        // Acquire pairs with the Release in `detach`: the new user sees everything the previous
        // user did with the drive.
        self.attached
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases the drive (`blk_detach_dev`), when its device is freed.
    pub fn detach(&self) {
        // Release pairs with the Acquire of the next `try_attach`.
        self.attached.store(false, Ordering::Release);
    }

    /// Whether a device holds the drive.
    pub fn is_attached(&self) -> bool {
        self.attached.load(Ordering::Relaxed)
    }

    /// Fills `buf` (a whole number of blocks) with the deterministic content of the blocks that
    /// start at `lba`: every 8-byte word holds `lba_of_block ^ word_index`.
    ///
    /// ```
    /// use qdev_demo::block::drive::{Drive, BLOCK_SIZE};
    /// let mut buf = vec![0; BLOCK_SIZE];
    /// Drive::new("d", 8).read_blocks(3, &mut buf);
    /// assert_eq!(u64::from_le_bytes(buf[8..16].try_into().unwrap()), 3 ^ 1);
    /// ```
    pub fn read_blocks(&self, lba: u64, buf: &mut [u8]) {
        for (b, block) in buf.chunks_mut(BLOCK_SIZE).enumerate() {
            let base = lba + b as u64;
            for (w, word) in block.chunks_mut(8).enumerate() {
                let v = (base ^ w as u64).to_le_bytes();
                word.copy_from_slice(&v[..word.len()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_detach_cycle() {
        let d = Drive::new("x", 4);
        assert_eq!((d.name(), d.blocks(), d.is_broken()), ("x", 4, false));
        assert!(d.try_attach());
        assert!(d.is_attached());
        d.detach();
        assert!(d.try_attach());
    }

    #[test]
    fn read_pattern() {
        let d = Drive::new("x", 4);
        let mut buf = vec![0u8; 2 * BLOCK_SIZE];
        d.read_blocks(10, &mut buf);
        assert_eq!(u64::from_le_bytes(buf[0..8].try_into().unwrap()), 10);
        assert_eq!(
            u64::from_le_bytes(buf[BLOCK_SIZE..BLOCK_SIZE + 8].try_into().unwrap()),
            11
        );
    }
}
