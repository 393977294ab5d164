//! Block backends (QEMU's `block/`): the drives a disk opens in realize. Imports no other layer.

pub mod drive;
