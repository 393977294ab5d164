//! The SCSI bus: device lookup (`scsi_device_find`, `scsi_device_get`), address checks and
//! allocation, and the REPORT LUNS emulation of a target.

use std::sync::Arc;

use rcu_core::ReadGuard;

use super::lun::MAX_FLAT_LUN;
use super::report_luns::{build_report_luns, check_report_luns_cdb};
use super::sense::ScsiSense;
use crate::qdev::device::{BusClass, BusState, DeviceState};
use crate::qdev::error::QdevError;

/// Limits of a SCSI bus (QEMU `SCSIBusInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiBusInfo {
    /// Highest channel number.
    pub max_channel: u32,
    /// Highest target (`scsi-id`).
    pub max_target: u32,
    /// Highest LUN.
    pub max_lun: u32,
}

impl ScsiBusInfo {
    /// virtio-scsi's limits: channel 0, targets 0-255, LUNs 0-16383.
    pub const VIRTIO_SCSI: ScsiBusInfo = ScsiBusInfo {
        max_channel: 0,
        max_target: 255,
        max_lun: 16383,
    };
}

/// A SCSI device address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScsiAddress {
    /// Channel.
    pub channel: u32,
    /// Target (`scsi-id`).
    pub id: u32,
    /// Logical unit.
    pub lun: u32,
}

/// Why a SCSI address was refused, with QEMU's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScsiAddressError {
    /// Channel above `max_channel`.
    BadChannel(u32),
    /// Target above `max_target`.
    BadId(u32),
    /// LUN above `max_lun`.
    BadLun(u32),
    /// Another device (realized or not) already has this channel, target and LUN.
    LunInUse {
        /// The id (or path) of the device there.
        by: String,
    },
    /// Automatic target selection found every target's LUN taken.
    NoFreeTarget,
    /// Automatic LUN selection found every LUN of the target taken.
    NoFreeLun,
}

impl std::fmt::Display for ScsiAddressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadChannel(c) => write!(f, "bad scsi channel id: {c}"),
            Self::BadId(i) => write!(f, "bad scsi device id: {i}"),
            Self::BadLun(l) => write!(f, "bad scsi device lun: {l}"),
            Self::LunInUse { by } => write!(f, "lun already used by '{by}'"),
            Self::NoFreeTarget => f.write_str("no free target"),
            Self::NoFreeLun => f.write_str("no free lun"),
        }
    }
}

impl std::error::Error for ScsiAddressError {}

impl From<ScsiAddressError> for QdevError {
    fn from(e: ScsiAddressError) -> Self {
        Self::Address(e.to_string())
    }
}

/// The SCSI bus class (QEMU `TYPE_SCSI_BUS`): its `check_address` hook is
/// [`scsi_bus_check_address`].
///
/// ```
/// use qdev_demo::qdev::device::BusClass;
/// use qdev_demo::hw::scsi::bus::ScsiBusInfo;
/// assert_eq!(ScsiBusInfo::VIRTIO_SCSI.type_name(), "SCSI");
/// ```
impl BusClass for ScsiBusInfo {
    fn type_name(&self) -> &'static str {
        "SCSI"
    }

    fn check_address(&self, bus: &BusState, dev: &DeviceState) -> Result<(), QdevError> {
        Ok(scsi_bus_check_address(bus, self, dev)?)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A SCSI device's address properties (QEMU `SCSIDevice`'s `channel`, `scsi-id`, `lun`, reached
/// with `SCSI_DEVICE(dev)`), stored as the device's bus address.
///
/// ```
/// use qdev_demo::qdev::context::QdevContext;
/// use qdev_demo::qdev::device::DeviceState;
/// use qdev_demo::hw::scsi::bus::{ScsiAddress, ScsiDeviceExt};
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// use std::sync::Arc;
/// let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, std::time::Duration::ZERO));
/// let addr = ScsiAddress { channel: 0, id: 1, lun: 2 };
/// let dev = DeviceState::new(&ctx, "scsi-hd", None).with_scsi_address(addr);
/// assert_eq!(dev.scsi_address(), Some(addr));
/// ```
pub trait ScsiDeviceExt {
    /// Gives the device its SCSI address.
    fn with_scsi_address(self, addr: ScsiAddress) -> Self;
    /// The device's SCSI address, if it is a SCSI device.
    fn scsi_address(&self) -> Option<ScsiAddress>;
}

impl ScsiDeviceExt for DeviceState {
    fn with_scsi_address(self, addr: ScsiAddress) -> Self {
        self.with_bus_address(addr)
    }

    fn scsi_address(&self) -> Option<ScsiAddress> {
        self.bus_address::<ScsiAddress>().copied()
    }
}

/// `do_scsi_device_find`: walks the list from the head (newest first) and returns the first
/// device at exactly `channel`/`id`/`lun`; failing that, the first (newest) device on that
/// `channel`/`id`. Unless `include_unrealized`, returns `None` if the chosen device is not
/// realized — even when another, realized device sits on the same target.
///
/// The result borrows from the read-side critical section: it cannot outlive `guard` (take a
/// reference with [`scsi_device_get`] to keep the device longer). Every BusChild the walk visits
/// is checked for liveness.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::bus::do_scsi_device_find;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=1,lun=0").unwrap();
/// let guard = rcu_core::read_lock();
/// let found = do_scsi_device_find(m.scsi_bus(), &guard, 0, 1, 7, false).unwrap();
/// assert_eq!(found.id(), Some("a"), "falls back to the target's device");
/// ```
pub fn do_scsi_device_find<'g>(
    bus: &'g BusState,
    guard: &'g ReadGuard,
    channel: u32,
    id: u32,
    lun: u32,
    include_unrealized: bool,
) -> Option<&'g Arc<DeviceState>> {
    let mut target_dev: Option<&'g Arc<DeviceState>> = None;
    for kid in bus.children(guard) {
        kid.check_live();
        let dev = kid.device();
        let Some(addr) = dev.scsi_address() else {
            continue;
        };
        if addr.channel == channel && addr.id == id {
            if addr.lun == lun {
                target_dev = Some(dev);
                break;
            }
            if target_dev.is_none() {
                target_dev = Some(dev);
            }
        }
    }
    match target_dev {
        Some(dev) if !include_unrealized && !dev.is_realized() => None,
        other => other,
    }
}

/// The "unrealized device returned by find" safety check: a device handed out by a lookup must
/// show everything its realize set up (its opened backend). Returns whether it did.
pub fn check_lookup_result(dev: &DeviceState) -> bool {
    let ok = dev.drive().is_none() || dev.backend_token() != 0;
    if !ok {
        dev.ctx().safety().record_unrealized_returned();
    }
    ok
}

/// `scsi_device_find`: the realized device at `channel`/`id`/`lun` (or the target's fallback, see
/// [`do_scsi_device_find`]), borrowed for the read-side critical section.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::bus::scsi_device_find;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=0,lun=3").unwrap();
/// let guard = rcu_core::read_lock();
/// assert_eq!(scsi_device_find(m.scsi_bus(), &guard, 0, 0, 3).unwrap().id(), Some("a"));
/// assert!(scsi_device_find(m.scsi_bus(), &guard, 0, 1, 3).is_none());
/// ```
pub fn scsi_device_find<'g>(
    bus: &'g BusState,
    guard: &'g ReadGuard,
    channel: u32,
    id: u32,
    lun: u32,
) -> Option<&'g Arc<DeviceState>> {
    let dev = do_scsi_device_find(bus, guard, channel, id, lun, false)?;
    check_lookup_result(dev);
    Some(dev)
}

/// `scsi_device_get`: like [`scsi_device_find`], but takes a reference inside the read-side
/// critical section (commit 8ff344956010), so the device cannot be freed while the caller uses it.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::bus::scsi_device_get;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=0,lun=0").unwrap();
/// let dev = scsi_device_get(m.scsi_bus(), 0, 0, 0).unwrap();
/// m.device_del("a").unwrap();
/// assert_eq!(dev.id(), Some("a"), "our reference keeps it alive");
/// ```
pub fn scsi_device_get(
    bus: &BusState,
    channel: u32,
    id: u32,
    lun: u32,
) -> Option<Arc<DeviceState>> {
    let guard = rcu_core::read_lock();
    scsi_device_find(bus, &guard, channel, id, lun).map(Arc::clone)
}

/// `scsi_bus_is_address_free`: `Err(device)` if a device, realized or not (a device being
/// realized must still occupy its address), sits at exactly `channel`/`id`/`lun`.
pub fn scsi_bus_is_address_free<'g>(
    bus: &'g BusState,
    guard: &'g ReadGuard,
    channel: u32,
    id: u32,
    lun: u32,
) -> Result<(), &'g Arc<DeviceState>> {
    match do_scsi_device_find(bus, guard, channel, id, lun, true) {
        Some(d) if d.scsi_address().is_some_and(|a| a.lun == lun) => Err(d),
        _ => Ok(()),
    }
}

fn describe(dev: &DeviceState) -> String {
    dev.id()
        .map_or_else(|| dev.canonical_path().to_owned(), str::to_owned)
}

fn check_ranges(
    info: &ScsiBusInfo,
    channel: u32,
    id: Option<u32>,
    lun: Option<u32>,
) -> Result<(), ScsiAddressError> {
    if channel > info.max_channel {
        return Err(ScsiAddressError::BadChannel(channel));
    }
    if let Some(id) = id.filter(|&id| id > info.max_target) {
        return Err(ScsiAddressError::BadId(id));
    }
    if let Some(lun) = lun.filter(|&lun| lun > info.max_lun.min(u32::from(MAX_FLAT_LUN))) {
        return Err(ScsiAddressError::BadLun(lun));
    }
    Ok(())
}

/// `scsi_bus_check_address`, the SCSI bus's `check_address` hook: range checks, then "lun already
/// used". Devices without a SCSI address pass.
///
/// ```
/// use qdev_demo::machine::Machine;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=0,lun=0").unwrap();
/// let err = m.device_add_str("scsi-hd,id=b,drive=d1,scsi-id=0,lun=0").unwrap_err();
/// assert_eq!(err.to_string(), "lun already used by 'a'");
/// ```
pub fn scsi_bus_check_address(
    bus: &BusState,
    info: &ScsiBusInfo,
    dev: &DeviceState,
) -> Result<(), ScsiAddressError> {
    let Some(addr) = dev.scsi_address() else {
        return Ok(());
    };
    check_ranges(info, addr.channel, Some(addr.id), Some(addr.lun))?;
    let guard = rcu_core::read_lock();
    scsi_bus_is_address_free(bus, &guard, addr.channel, addr.id, addr.lun)
        .map_err(|d| ScsiAddressError::LunInUse { by: describe(d) })
}

/// Address auto-assignment of `scsi_qdev_realize`: with no target, LUN defaults to 0 and the
/// first target whose LUN is free is taken ("no free target"); with a target but no LUN, the first
/// free LUN of the target ("no free lun"). Call with the BQL held so the answer stays valid.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::bus::{ScsiAddress, ScsiBusInfo, scsi_bus_allocate_address};
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=0,lun=0").unwrap();
/// let info = ScsiBusInfo::VIRTIO_SCSI;
/// assert_eq!(scsi_bus_allocate_address(m.scsi_bus(), &info, 0, None, None).unwrap(),
///            ScsiAddress { channel: 0, id: 1, lun: 0 });
/// assert_eq!(scsi_bus_allocate_address(m.scsi_bus(), &info, 0, Some(0), None).unwrap(),
///            ScsiAddress { channel: 0, id: 0, lun: 1 });
/// ```
pub fn scsi_bus_allocate_address(
    bus: &BusState,
    info: &ScsiBusInfo,
    channel: u32,
    id: Option<u32>,
    lun: Option<u32>,
) -> Result<ScsiAddress, ScsiAddressError> {
    check_ranges(info, channel, id, lun)?;
    let guard = rcu_core::read_lock();
    let free = |id: u32, lun: u32| scsi_bus_is_address_free(bus, &guard, channel, id, lun).is_ok();
    match (id, lun) {
        (Some(id), Some(lun)) => Ok(ScsiAddress { channel, id, lun }),
        (None, lun) => {
            let lun = lun.unwrap_or(0);
            (0..=info.max_target)
                .find(|&id| free(id, lun))
                .map(|id| ScsiAddress { channel, id, lun })
                .ok_or(ScsiAddressError::NoFreeTarget)
        }
        (Some(id), None) => (0..=info.max_lun)
            .find(|&lun| free(id, lun))
            .map(|lun| ScsiAddress { channel, id, lun })
            .ok_or(ScsiAddressError::NoFreeLun),
    }
}

/// `scsi_target_emulate_report_luns` (single pass, commit 8cfe8013baec): the REPORT LUNS data for
/// target `channel`/`id`, from one walk of the children inside the caller's read-side critical
/// section. LUN 0 is always listed; unrealized devices are listed too (as in QEMU).
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::hw::scsi::bus::scsi_target_emulate_report_luns;
/// use qdev_demo::hw::scsi::report_luns::{parse_report_luns, report_luns_cdb};
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=2,lun=300").unwrap();
/// let guard = rcu_core::read_lock();
/// let data = scsi_target_emulate_report_luns(m.scsi_bus(), &guard, 0, 2, &report_luns_cdb(0, 4096)).unwrap();
/// assert_eq!(parse_report_luns(&data).unwrap().luns, [0, 300]);
/// ```
pub fn scsi_target_emulate_report_luns(
    bus: &BusState,
    guard: &ReadGuard,
    channel: u32,
    id: u32,
    cdb: &[u8],
) -> Result<Vec<u8>, ScsiSense> {
    let alloc_len = check_report_luns_cdb(cdb)?;
    let luns = bus.children(guard).filter_map(|kid| {
        kid.check_live();
        let addr = kid.device().scsi_address()?;
        (addr.channel == channel && addr.id == id).then(|| {
            u16::try_from(addr.lun).expect("LUN above 16383 passed scsi_bus_check_address")
        })
    });
    Ok(build_report_luns(alloc_len, luns))
}
