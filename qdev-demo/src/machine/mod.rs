//! The machine: a system bus with a virtio-scsi controller and its SCSI bus, the BQL, drives, and
//! the QMP-style hot-plug commands `device_add` / `device_del`; the interactive [`monitor`] that
//! issues them from stdin.

pub mod monitor;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use rcu_queue::RcuHashMap;

use crate::block::drive::Drive;
use crate::hw::scsi::bus::{ScsiAddress, ScsiBusInfo, ScsiDeviceExt, scsi_bus_allocate_address};
use crate::hw::scsi::virtio_scsi::VirtioScsi;
use crate::qdev::bql::{Bql, BqlGuard};
use crate::qdev::bus::{qdev_realize, qdev_unparent};
use crate::qdev::context::QdevContext;
use crate::qdev::device::{BusState, DeviceState, SystemBus};
use crate::qdev::error::QdevError;
use crate::qdev::sync_mode::SyncMode;
use crate::qdev::walk::{QdevVisitor, Walk, qbus_walk_children};

/// `device_add` options: `driver[,id=ID][,drive=NAME][,bus=NAME][,channel=N][,scsi-id=N][,lun=N]`.
///
/// ```
/// use qdev_demo::machine::DeviceAddOptions;
/// let o: DeviceAddOptions = "scsi-hd,id=disk1,drive=d1,lun=3".parse().unwrap();
/// assert_eq!((o.driver.as_str(), o.id.as_deref(), o.lun), ("scsi-hd", Some("disk1"), Some(3)));
/// assert!("scsi-hd,lun=x".parse::<DeviceAddOptions>().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceAddOptions {
    /// Device type; only `scsi-hd` is hot-pluggable here.
    pub driver: String,
    /// Device id.
    pub id: Option<String>,
    /// Drive name.
    pub drive: Option<String>,
    /// Bus name (default: the first SCSI bus).
    pub bus: Option<String>,
    /// SCSI channel (default 0).
    pub channel: Option<u32>,
    /// SCSI target (default: first free).
    pub scsi_id: Option<u32>,
    /// LUN (default: 0 with an automatic target, else the first free LUN).
    pub lun: Option<u32>,
}

impl std::str::FromStr for DeviceAddOptions {
    type Err = QdevError;

    fn from_str(s: &str) -> Result<Self, QdevError> {
        let mut parts = s.split(',');
        let driver = parts.next().unwrap_or_default().trim();
        if driver.is_empty() || driver.contains('=') {
            return Err(QdevError::MissingProperty("driver"));
        }
        let mut opts = DeviceAddOptions {
            driver: driver.to_owned(),
            ..Self::default()
        };
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| QdevError::BadProperty {
                name: part.to_owned(),
                value: String::new(),
            })?;
            let bad = || QdevError::BadProperty {
                name: key.to_owned(),
                value: value.to_owned(),
            };
            let number = || value.parse::<u32>().map_err(|_| bad());
            match key {
                "id" if !value.is_empty() => opts.id = Some(value.to_owned()),
                "drive" if !value.is_empty() => opts.drive = Some(value.to_owned()),
                "bus" if !value.is_empty() => opts.bus = Some(value.to_owned()),
                "channel" => opts.channel = Some(number()?),
                "scsi-id" => opts.scsi_id = Some(number()?),
                "lun" => opts.lun = Some(number()?),
                _ => return Err(bad()),
            }
        }
        Ok(opts)
    }
}

/// Builds a [`Machine`].
#[derive(Debug, Clone)]
pub struct MachineBuilder {
    sync: SyncMode,
    realize_cost: Duration,
    drives: usize,
    drive_blocks: u64,
    event_queue: bool,
}

impl MachineBuilder {
    /// Reader synchronization (default RCU).
    pub fn sync(mut self, mode: SyncMode) -> Self {
        self.sync = mode;
        self
    }

    /// Realize cost of a disk (default 0 here; the demo's default is 200 µs).
    pub fn realize_cost(mut self, cost: Duration) -> Self {
        self.realize_cost = cost;
        self
    }

    /// Number of drives `d0`, `d1`, ... to create (default 16).
    pub fn drives(mut self, n: usize) -> Self {
        self.drives = n;
        self
    }

    /// Queue events for [`Machine::ctx`]'s event channel (the monitor) instead of only counting.
    pub fn event_queue(mut self, on: bool) -> Self {
        self.event_queue = on;
        self
    }

    /// Creates the machine: `main-system-bus` ← `virtio-scsi-pci` (id `scsi0`) ← `scsi0.0`.
    pub fn build(self) -> Machine {
        let bql = Arc::new(Bql::new());
        let mut ctx = QdevContext::new(self.sync, self.realize_cost);
        if self.event_queue {
            ctx = ctx.with_event_queue();
        }
        let ctx = Arc::new(ctx);
        let sysbus = BusState::new(&bql, &ctx, "main-system-bus", SystemBus);
        sysbus.set_realized_flag(true);
        let scsi_bus = BusState::new(&bql, &ctx, "scsi0.0", ScsiBusInfo::VIRTIO_SCSI);
        let controller = Arc::new(
            DeviceState::new(&ctx, "virtio-scsi-pci", Some("scsi0".to_owned()))
                .with_child_bus(Arc::clone(&scsi_bus)),
        );
        let mut state = BqlState::default();
        qdev_realize(&mut bql.lock(), &controller, &sysbus)
            .expect("realizing the virtio-scsi controller cannot fail");
        let peripheral = RcuHashMap::new();
        peripheral.insert("scsi0".to_owned(), Arc::downgrade(&controller));
        for i in 0..self.drives {
            let name = format!("d{i}");
            state
                .drives
                .insert(name.clone(), Arc::new(Drive::new(name, self.drive_blocks)));
        }
        let virtio = VirtioScsi::new(Arc::clone(&bql), Arc::clone(&scsi_bus));
        Machine {
            bql,
            state: Mutex::new(state),
            peripheral,
            ctx,
            sysbus,
            controller,
            scsi_bus,
            virtio,
        }
    }
}

/// A machine with one virtio-scsi controller.
///
/// ```
/// use qdev_demo::machine::Machine;
/// let m = Machine::builder().build();
/// let disk = m.device_add_str("scsi-hd,id=disk0,drive=d0").unwrap();
/// assert!(disk.is_realized());
/// m.device_del("disk0").unwrap();
/// assert!(!disk.is_realized());
/// drop(disk);
/// rcu_core::rcu_barrier(); // the BusChild and its device reference go after a grace period
/// assert_eq!(m.ctx().events().emitted(), 1, "DEVICE_DELETED");
/// ```
#[derive(Debug)]
pub struct Machine {
    bql: Arc<Bql>,
    /// Guarded by the BQL: reached only through [`Machine::state`], which demands a guard. The
    /// mutex is never contended (every holder holds the BQL); it is there because this crate
    /// has no `unsafe` to express "guarded by another lock".
    state: Mutex<BqlState>,
    /// QEMU's `/machine/peripheral` container: user-created devices by id, written under the BQL
    /// and looked up lock-free (see [`Machine::find_peripheral`]). It holds weak references: a
    /// plugged device is kept alive by its BusChild, and a removed entry (dropped a grace period
    /// later, as anything an RCU reader may hold) must not delay the device's end (DEVICE_DELETED)
    /// past its BusChild's. An id is free again as soon as
    /// `device_del` unparents the device, even though the device itself lives until its last
    /// reference is dropped after a grace period.
    peripheral: RcuHashMap<String, Weak<DeviceState>>,
    ctx: Arc<QdevContext>,
    sysbus: Arc<BusState>,
    controller: Arc<DeviceState>,
    scsi_bus: Arc<BusState>,
    virtio: VirtioScsi,
}

/// Everything the BQL guards besides the children lists: what QEMU keeps in QOM containers.
/// Reached with [`Machine::state`].
#[derive(Debug, Default)]
pub struct BqlState {
    /// The block backends (`-drive id=...`) devices can attach to.
    pub drives: BTreeMap<String, Arc<Drive>>,
    /// Counter for `/machine/peripheral-anon/device[N]` paths of devices without an id.
    pub anon_devices: u64,
}

/// The drive size the builder gives every drive (1 GiB of 512-byte blocks).
pub const DEFAULT_DRIVE_BLOCKS: u64 = 2 * 1024 * 1024;

impl Machine {
    /// A builder with defaults: RCU, no realize cost, 16 drives, counted events.
    pub fn builder() -> MachineBuilder {
        MachineBuilder {
            sync: SyncMode::Rcu,
            realize_cost: Duration::ZERO,
            drives: 16,
            drive_blocks: DEFAULT_DRIVE_BLOCKS,
            event_queue: false,
        }
    }

    /// The BQL.
    pub fn bql(&self) -> &Bql {
        &self.bql
    }

    /// Machine-wide context (events, counters, safety checks).
    pub fn ctx(&self) -> &Arc<QdevContext> {
        &self.ctx
    }

    /// `main-system-bus`.
    pub fn sysbus(&self) -> &Arc<BusState> {
        &self.sysbus
    }

    /// The virtio-scsi controller device (`scsi0`).
    pub fn controller(&self) -> &Arc<DeviceState> {
        &self.controller
    }

    /// The controller's SCSI bus (`scsi0.0`).
    pub fn scsi_bus(&self) -> &Arc<BusState> {
        &self.scsi_bus
    }

    /// The controller's request handling (what I/O threads call).
    pub fn virtio_scsi(&self) -> &VirtioScsi {
        &self.virtio
    }

    /// Adds a drive (`drive_add`); `broken` drives fail to open in realize.
    ///
    /// ```
    /// let m = qdev_demo::machine::Machine::builder().drives(0).build();
    /// m.drive_add("bad", true).unwrap();
    /// assert!(m.drive_add("bad", false).is_err());
    /// ```
    pub fn drive_add(&self, name: &str, broken: bool) -> Result<(), String> {
        let bql = self.bql.lock();
        let mut state = self.state(&bql);
        if name.is_empty() || state.drives.contains_key(name) {
            return Err(format!("Duplicate or empty drive name '{name}'"));
        }
        let drive = if broken {
            Drive::broken(name)
        } else {
            Drive::new(name, DEFAULT_DRIVE_BLOCKS)
        };
        state.drives.insert(name.to_owned(), Arc::new(drive));
        Ok(())
    }

    /// The drive called `name`.
    pub fn drive(&self, name: &str) -> Option<Arc<Drive>> {
        self.state(&self.bql.lock()).drives.get(name).cloned()
    }

    /// Parses `opts` and runs [`Machine::device_add`].
    pub fn device_add_str(&self, opts: &str) -> Result<Arc<DeviceState>, QdevError> {
        self.device_add(&opts.parse()?)
    }

    /// `qmp_device_add`: takes the BQL and runs [`Machine::device_add_locked`].
    ///
    /// ```
    /// use qdev_demo::machine::Machine;
    /// let m = Machine::builder().build();
    /// m.drive_add("bad", true).unwrap();
    /// let err = m.device_add_str("scsi-hd,id=x,drive=bad").unwrap_err();
    /// assert!(err.to_string().contains("Could not open 'bad'"));
    /// assert!(!m.drive("bad").unwrap().is_attached(), "released before device_add returned");
    /// ```
    pub fn device_add(&self, opts: &DeviceAddOptions) -> Result<Arc<DeviceState>, QdevError> {
        let mut bql = self.bql.lock();
        self.device_add_locked(&mut bql, opts)
    }

    /// `qmp_device_add` as the main loop runs it, with the BQL already held for the whole
    /// command: creates a `scsi-hd`, checks its address, puts it on the bus and realizes it
    /// (spending the realize cost busy), with no re-locking between the steps. In the RwLock mode
    /// the command also holds the readers' lock exclusively from start to end. If anything fails,
    /// the half-plugged device is unplugged again and `rcu_barrier()` runs with the BQL released
    /// and re-taken (QEMU's `drain_call_rcu`, commit 7bed89958bfb), so a failed `device_add`
    /// leaves nothing behind (the drive is free again) when it returns.
    ///
    /// ```
    /// use qdev_demo::machine::Machine;
    /// let m = Machine::builder().build();
    /// let mut bql = m.bql().lock_main_loop();
    /// let disk = m.device_add_locked(&mut bql, &"scsi-hd,id=a,drive=d0".parse().unwrap()).unwrap();
    /// assert!(disk.is_realized());
    /// m.device_del_locked(&mut bql, "a").unwrap();
    /// assert!(m.find_peripheral("a").is_none());
    /// ```
    ///
    /// # Panics
    ///
    /// If `bql` guards another machine's BQL.
    pub fn device_add_locked(
        &self,
        bql: &mut BqlGuard<'_>,
        opts: &DeviceAddOptions,
    ) -> Result<Arc<DeviceState>, QdevError> {
        self.assert_own_bql(bql, "device_add_locked");
        let result = {
            let _writer = self.ctx.sync().writer(bql);
            self.create_and_realize(bql, opts)
        };
        if result.is_err() {
            bql.unlocked(rcu_core::rcu_barrier);
        }
        result
    }

    /// What the BQL guards besides the children lists (QEMU's QOM containers), for the holder of
    /// this machine's BQL.
    ///
    /// ```
    /// let m = qdev_demo::machine::Machine::builder().build();
    /// let bql = m.bql().lock();
    /// assert!(m.state(&bql).drives.contains_key("d0"));
    /// ```
    ///
    /// # Panics
    ///
    /// If `bql` guards another machine's BQL.
    #[track_caller]
    pub fn state(&self, bql: &BqlGuard<'_>) -> MutexGuard<'_, BqlState> {
        self.assert_own_bql(bql, "state");
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[track_caller]
    fn assert_own_bql(&self, bql: &BqlGuard<'_>, what: &str) {
        assert!(
            std::ptr::eq(bql.bql(), &*self.bql),
            "Machine::{what}: the guard holds another machine's BQL; pass a guard from this \
             machine's bql()"
        );
    }

    fn find_bus(&self, name: &str) -> Option<Arc<BusState>> {
        [&self.sysbus, &self.scsi_bus]
            .into_iter()
            .find(|b| b.name() == name)
            .cloned()
    }

    fn create_and_realize(
        &self,
        bql: &mut BqlGuard<'_>,
        opts: &DeviceAddOptions,
    ) -> Result<Arc<DeviceState>, QdevError> {
        if opts.driver != "scsi-hd" {
            return Err(QdevError::UnknownDriver(opts.driver.clone()));
        }
        if let Some(id) = &opts.id {
            if self.peripheral.contains_key(id) {
                return Err(QdevError::DuplicateId(id.clone()));
            }
        }
        let bus = match &opts.bus {
            Some(name) => self
                .find_bus(name)
                .ok_or_else(|| QdevError::BusNotFound(name.clone()))?,
            None => Arc::clone(&self.scsi_bus),
        };
        let Some(info) = bus.class_as::<ScsiBusInfo>().copied() else {
            return Err(QdevError::BusNotFound(format!(
                "{} (not a SCSI bus)",
                bus.name()
            )));
        };
        let drive_name = opts
            .drive
            .as_deref()
            .ok_or(QdevError::MissingProperty("drive"))?;
        let drive = self
            .state(bql)
            .drives
            .get(drive_name)
            .cloned()
            .ok_or_else(|| QdevError::DriveNotFound(drive_name.to_owned()))?;
        let addr: ScsiAddress = scsi_bus_allocate_address(
            &bus,
            &info,
            opts.channel.unwrap_or(0),
            opts.scsi_id,
            opts.lun,
        )?;
        if !drive.try_attach() {
            return Err(QdevError::DriveInUse(drive_name.to_owned()));
        }
        let mut dev = DeviceState::new(&self.ctx, "scsi-hd", opts.id.clone())
            .with_scsi_address(addr)
            .with_drive(drive);
        if opts.id.is_none() {
            let mut state = self.state(bql);
            state.anon_devices += 1;
            dev = dev.with_canonical_path(format!(
                "/machine/peripheral-anon/device[{}]",
                state.anon_devices - 1
            ));
        }
        let dev = Arc::new(dev);
        match qdev_realize(bql, &dev, &bus) {
            Ok(()) => {
                dev.set_hotplugged();
                if let Some(id) = &opts.id {
                    self.peripheral.insert(id.clone(), Arc::downgrade(&dev));
                }
                Ok(dev)
            }
            Err(e) => {
                qdev_unparent(bql, &dev);
                Err(e)
            }
        }
    }

    /// `qmp_device_del`: takes the BQL and runs [`Machine::device_del_locked`].
    ///
    /// ```
    /// let m = qdev_demo::machine::Machine::builder().build();
    /// assert_eq!(m.device_del("nope").unwrap_err().to_string(), "Device 'nope' not found");
    /// assert!(m.device_del("scsi0").is_err(), "the controller sits on the system bus");
    /// ```
    pub fn device_del(&self, id: &str) -> Result<(), QdevError> {
        let mut bql = self.bql.lock();
        self.device_del_locked(&mut bql, id)
    }

    /// `qmp_device_del` with the BQL already held for the whole command: unrealizes and
    /// unparents the device now (its id is free at once); its BusChild and bus reference go
    /// after a grace period, and DEVICE_DELETED follows when the last reference is dropped. In
    /// the RwLock mode the command holds the readers' lock exclusively from start to end.
    ///
    /// # Panics
    ///
    /// If `bql` guards another machine's BQL.
    pub fn device_del_locked(&self, bql: &mut BqlGuard<'_>, id: &str) -> Result<(), QdevError> {
        self.assert_own_bql(bql, "device_del_locked");
        let _writer = self.ctx.sync().writer(bql);
        let dev = self
            .find_peripheral(id)
            .ok_or_else(|| QdevError::DeviceNotFound(id.to_owned()))?;
        let bus = dev.parent_bus();
        if let Some(bus) = bus.filter(|b| b.class_as::<SystemBus>().is_some()) {
            return Err(QdevError::NotHotpluggable(bus.name().to_owned()));
        }
        qdev_unparent(bql, &dev);
        self.peripheral.remove(id);
        Ok(())
    }

    /// Resolves a user-created device by id, lock-free: QEMU's
    /// `object_resolve_path_component(container_get(qdev_get_machine(), "/peripheral"), id)`, as
    /// `device_del` and `qdev_find_recursive` do: the map lookup takes no lock, and the device is
    /// returned as a new reference (`None` if it is not there or already on its way out).
    ///
    /// ```
    /// let m = qdev_demo::machine::Machine::builder().build();
    /// assert_eq!(m.find_peripheral("scsi0").unwrap().type_name(), "virtio-scsi-pci");
    /// assert!(m.find_peripheral("disk9").is_none());
    /// ```
    pub fn find_peripheral(&self, id: &str) -> Option<Arc<DeviceState>> {
        self.peripheral.get(id, &rcu_core::read_lock())?.upgrade()
    }

    /// `info qtree`: the device tree, walked under the BQL.
    ///
    /// ```
    /// let m = qdev_demo::machine::Machine::builder().build();
    /// m.device_add_str("scsi-hd,id=disk0,drive=d0,scsi-id=1,lun=2").unwrap();
    /// let tree = m.info_qtree();
    /// assert!(tree.contains("dev: scsi-hd, id \"disk0\""));
    /// assert!(tree.contains("scsi-id = 1"));
    /// ```
    pub fn info_qtree(&self) -> String {
        let _bql = self.bql.lock();
        let mut printer = QtreePrinter {
            out: String::new(),
            depth: 0,
        };
        let Ok(()) = qbus_walk_children(&self.sysbus, &mut printer);
        printer.out
    }
}

struct QtreePrinter {
    out: String,
    depth: usize,
}

impl QtreePrinter {
    fn line(&mut self, extra: usize, text: std::fmt::Arguments<'_>) {
        let _ = writeln!(
            self.out,
            "{:width$}{text}",
            "",
            width = 2 * (self.depth + extra)
        );
    }
}

impl QdevVisitor for QtreePrinter {
    type Error = std::convert::Infallible;

    fn pre_bus(&mut self, bus: &BusState) -> Result<Walk, Self::Error> {
        self.line(0, format_args!("bus: {}", bus.name()));
        self.line(1, format_args!("type {}", bus.class().type_name()));
        self.depth += 1;
        Ok(Walk::Continue)
    }

    fn post_bus(&mut self, _bus: &BusState) -> Result<(), Self::Error> {
        self.depth -= 1;
        Ok(())
    }

    fn pre_device(&mut self, dev: &DeviceState) -> Result<Walk, Self::Error> {
        match dev.id() {
            Some(id) => self.line(0, format_args!("dev: {}, id \"{id}\"", dev.type_name())),
            None => self.line(
                0,
                format_args!(
                    "dev: {}, path \"{}\"",
                    dev.type_name(),
                    dev.canonical_path()
                ),
            ),
        }
        if let Some(drive) = dev.drive() {
            self.line(1, format_args!("drive = \"{}\"", drive.name()));
        }
        if let Some(a) = dev.scsi_address() {
            self.line(1, format_args!("channel = {}", a.channel));
            self.line(1, format_args!("scsi-id = {}", a.id));
            self.line(1, format_args!("lun = {}", a.lun));
        }
        self.line(1, format_args!("realized = {}", dev.is_realized()));
        self.depth += 1;
        Ok(Walk::Continue)
    }

    fn post_device(&mut self, _dev: &DeviceState) -> Result<(), Self::Error> {
        self.depth -= 1;
        Ok(())
    }
}

/// Runs rcu-core callbacks until none is pending (freeing a bus queues the frees of the buses
/// below it, so one barrier may not be enough); bounded to 16 rounds.
///
/// ```
/// qdev_demo::machine::drain_rcu_callbacks();
/// ```
pub fn drain_rcu_callbacks() {
    for _ in 0..16 {
        rcu_core::rcu_barrier();
        if rcu_core::stats().callbacks_pending() == 0 {
            break;
        }
    }
}
