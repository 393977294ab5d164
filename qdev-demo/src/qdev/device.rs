//! The qdev core objects (QEMU's `qdev-core.h`): `DeviceState`, a qdev device reference counted
//! with `Arc`, with a realized flag that lock-free readers may trust; `BusState` with its children
//! as an RCU list of `BusChild` (the seed commit); the `BusClass` trait through which bus types
//! (the SCSI bus, under `scsi/`) plug in their address check; and realize/unrealize of devices
//! and buses. Devices and buses refer to each other, so they are defined together, as in QEMU's
//! header; the list writers are in [`crate::qdev::bus`], the lock-free tree walks in [`crate::qdev::walk`].
//! Nothing here names a SCSI type: a bus class gives a device its address
//! ([`DeviceState::with_bus_address`]).
//!
//! Realize publishes `realized = true` with a store-release as its very last step; lock-free
//! readers acquire-load it (QEMU commit a23151e8cc8c, `qdev_is_realized`). Everything realize set
//! up before (here: the opened backend) is therefore visible to a reader that saw `true`.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, Weak};

use rcu_core::ReadGuard;
use rcu_queue::{Handle, RcuTailq};

use crate::block::drive::Drive;
use crate::qdev::bql::{Bql, BqlGuard};
use crate::qdev::context::{Liveness, QdevContext, spin_for};
use crate::qdev::error::QdevError;
use crate::qdev::events::QmpEvent;

/// A device's address on its bus (for a SCSI disk: channel, target, LUN), typed by the bus
/// class that gives it meaning. Any `Debug + Send + Sync` type is one.
pub trait BusAddress: Any + Send + Sync + fmt::Debug {
    /// The address as [`Any`], for [`DeviceState::bus_address`].
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + Send + Sync + fmt::Debug> BusAddress for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A device (QEMU `DeviceState`). Shared as `Arc<DeviceState>`: the bus child holds one
/// reference, `scsi_device_get` callers hold their own, and the device is freed (emitting
/// DEVICE_DELETED if it was unplugged) when the last one goes.
///
/// ```
/// use qdev_demo::qdev::context::QdevContext;
/// use qdev_demo::qdev::device::DeviceState;
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// use std::sync::Arc;
/// use std::time::Duration;
/// let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, Duration::ZERO));
/// let dev = DeviceState::new(&ctx, "virtio-scsi-pci", Some("scsi0".into()));
/// assert_eq!(dev.id(), Some("scsi0"));
/// assert!(!dev.is_realized());
/// ```
#[derive(Debug)]
pub struct DeviceState {
    type_name: &'static str,
    id: Option<String>,
    canonical_path: String,
    bus_address: Option<Box<dyn BusAddress>>,
    drive: Option<Arc<Drive>>,
    child_buses: Vec<Arc<BusState>>,
    /// Written under the BQL; read by lock-free readers with acquire.
    realized: AtomicBool,
    /// The opened backend (0 = not open). Set by realize before `realized` is published.
    backend: AtomicU64,
    pending_deleted_event: AtomicBool,
    finalized: AtomicBool,
    hotplugged: AtomicBool,
    parent_bus: Mutex<Option<Weak<BusState>>>,
    /// This device's BusChild on its parent bus (QEMU keeps the `BusChild *` in the bus walk;
    /// here the device keeps a handle): `bus_remove_child` unlinks it in O(1) with it. Taken out
    /// at removal, which also breaks the BusChild → device → handle → BusChild cycle.
    bus_child: Mutex<Option<Handle<BusChild>>>,
    liveness: Liveness,
    resets: AtomicU64,
    requests: AtomicU64,
    ctx: Arc<QdevContext>,
}

impl DeviceState {
    /// A new, unrealized device with no bus. The canonical path is `/machine/peripheral/<id>`, or
    /// `/machine/peripheral-anon/<type>` without an id.
    pub fn new(ctx: &Arc<QdevContext>, type_name: &'static str, id: Option<String>) -> Self {
        let canonical_path = match &id {
            Some(id) => format!("/machine/peripheral/{id}"),
            None => format!("/machine/peripheral-anon/{type_name}"),
        };
        Self {
            type_name,
            id,
            canonical_path,
            bus_address: None,
            drive: None,
            child_buses: Vec::new(),
            realized: AtomicBool::new(false),
            backend: AtomicU64::new(0),
            pending_deleted_event: AtomicBool::new(false),
            finalized: AtomicBool::new(false),
            hotplugged: AtomicBool::new(false),
            parent_bus: Mutex::new(None),
            bus_child: Mutex::new(None),
            liveness: Liveness::new(),
            resets: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            ctx: Arc::clone(ctx),
        }
    }

    /// Sets the canonical path (e.g. for anonymous devices numbered by the machine).
    pub fn with_canonical_path(mut self, path: String) -> Self {
        self.canonical_path = path;
        self
    }

    /// Gives the device its address on its bus, in the bus class's own type (for a SCSI disk,
    /// the `channel`, `scsi-id` and `lun` properties: `scsi::bus::ScsiDeviceExt`).
    ///
    /// ```
    /// use qdev_demo::qdev::context::QdevContext;
    /// use qdev_demo::qdev::device::DeviceState;
    /// use qdev_demo::qdev::sync_mode::SyncMode;
    /// use std::sync::Arc;
    /// let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, std::time::Duration::ZERO));
    /// let dev = DeviceState::new(&ctx, "isa-serial", None).with_bus_address(0x3f8_u16);
    /// assert_eq!(dev.bus_address::<u16>(), Some(&0x3f8));
    /// assert_eq!(dev.bus_address::<u32>(), None);
    /// ```
    pub fn with_bus_address<A: BusAddress>(mut self, addr: A) -> Self {
        self.bus_address = Some(Box::new(addr));
        self
    }

    /// Attaches a drive (the `drive` property); the caller must have claimed it with
    /// [`Drive::try_attach`]. The device detaches it when it is freed.
    pub fn with_drive(mut self, drive: Arc<Drive>) -> Self {
        self.drive = Some(drive);
        self
    }

    /// Adds a child bus (a controller's SCSI bus). Child buses are fixed for the device's life, so
    /// lock-free readers may follow them without the QLIST-under-BQL caveat QEMU has.
    pub fn with_child_bus(mut self, bus: Arc<BusState>) -> Self {
        self.child_buses.push(bus);
        self
    }

    /// QOM type name.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The `id` property.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// QOM canonical path (reported by DEVICE_DELETED).
    pub fn canonical_path(&self) -> &str {
        &self.canonical_path
    }

    /// The device's address on its bus, if it has one of type `A`.
    pub fn bus_address<A: BusAddress>(&self) -> Option<&A> {
        BusAddress::as_any(self.bus_address.as_deref()?).downcast_ref::<A>()
    }

    /// The attached drive.
    pub fn drive(&self) -> Option<&Arc<Drive>> {
        self.drive.as_ref()
    }

    /// Child buses.
    pub fn child_buses(&self) -> &[Arc<BusState>] {
        &self.child_buses
    }

    /// `qdev_is_realized`: safe without the BQL. Acquire pairs with the Release store at the end
    /// of [`device_set_realized`], so a `true` result also shows everything realize set up.
    pub fn is_realized(&self) -> bool {
        self.realized.load(Ordering::Acquire)
    }

    /// The backend token realize opened (0 if realize never completed).
    pub fn backend_token(&self) -> u64 {
        self.backend.load(Ordering::Relaxed)
    }

    /// Whether `device_del`/unrealize marked the device for DEVICE_DELETED.
    pub fn pending_deleted_event(&self) -> bool {
        self.pending_deleted_event.load(Ordering::Relaxed)
    }

    /// Whether the device was added by `device_add` (hot-plugged).
    pub fn is_hotplugged(&self) -> bool {
        self.hotplugged.load(Ordering::Relaxed)
    }

    pub(crate) fn set_hotplugged(&self) {
        self.hotplugged.store(true, Ordering::Relaxed);
    }

    /// The bus the device is on.
    pub fn parent_bus(&self) -> Option<Arc<BusState>> {
        self.parent_bus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(Weak::upgrade)
    }

    /// The handle slot of this device's BusChild (see the field); BQL holders only.
    pub(crate) fn bus_child(&self) -> std::sync::MutexGuard<'_, Option<Handle<BusChild>>> {
        self.bus_child.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_parent_bus(&self, bus: Option<&Arc<BusState>>) {
        *self.parent_bus.lock().unwrap_or_else(|e| e.into_inner()) = bus.map(Arc::downgrade);
    }

    /// The poison word readers check.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// Whether the device has not been freed (always true unless a grace period was broken).
    pub fn is_live(&self) -> bool {
        self.liveness.is_live()
    }

    /// How many times the device was reset.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    /// Device reset (`device_cold_reset` of one device; see `walk::qdev_reset_all` for a subtree).
    pub fn reset(&self) {
        self.resets.fetch_add(1, Ordering::Relaxed);
    }

    /// How many SCSI commands the device executed.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ctx(&self) -> &Arc<QdevContext> {
        &self.ctx
    }
}

/// `device_set_realized`: realize (`true`) or unrealize (`false`) a device, with the BQL held.
///
/// Realize opens the drive (spending the context's realize cost busy, under the BQL) and realizes
/// child buses; its last step is the Release store of `realized`. It fails, leaving the device
/// unrealized, if the drive cannot be opened. Unrealize first clears `realized` (then a release
/// fence, QEMU's `smp_wmb`), unrealizes child buses and their devices, and marks the device for
/// DEVICE_DELETED. Realizing a realized device, or unrealizing an unrealized one, does nothing.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::qdev::device::device_set_realized;
/// let m = Machine::builder().build();
/// let disk = m.device_add_str("scsi-hd,id=d0,drive=d0").unwrap();
/// assert!(disk.is_realized());
/// let bql = m.bql().lock();
/// device_set_realized(&bql, &disk, false).unwrap();
/// assert!(!disk.is_realized() && disk.pending_deleted_event());
/// ```
pub fn device_set_realized(
    bql: &BqlGuard<'_>,
    dev: &DeviceState,
    value: bool,
) -> Result<(), QdevError> {
    let currently = dev.realized.load(Ordering::Relaxed); // writers hold the BQL
    if value == currently {
        return Ok(());
    }
    if value {
        if let Some(drive) = &dev.drive {
            spin_for(dev.ctx.realize_cost());
            if drive.is_broken() {
                return Err(QdevError::Realize(format!(
                    "Could not open '{}': backend reports I/O error",
                    drive.name()
                )));
            }
            let token = 0x8000_0000_0000_0000 | (Arc::as_ptr(drive) as u64 >> 3);
            dev.backend.store(token, Ordering::Relaxed);
        }
        for bus in &dev.child_buses {
            bus_set_realized(bql, bus, true);
        }
        // Release pairs with the Acquire in `is_realized`: a lock-free reader that sees `true`
        // also sees the backend opened above.
        dev.realized.store(true, Ordering::Release);
    } else {
        dev.realized.store(false, Ordering::Relaxed);
        // QEMU's smp_wmb(): the cleared flag is ordered before the teardown stores below.
        fence(Ordering::Release);
        for bus in &dev.child_buses {
            bus_set_realized(bql, bus, false);
        }
        dev.pending_deleted_event.store(true, Ordering::Relaxed);
    }
    Ok(())
}

impl DeviceState {
    /// `device_finalize`: poisons the device, releases the drive and emits DEVICE_DELETED if the
    /// device was unplugged. Runs once: from `Drop`, or, in a negative control, from
    /// [`BusChild::poison_as_freed`].
    pub(crate) fn finalize(&self) {
        if self.finalized.swap(true, Ordering::Relaxed) {
            return;
        }
        self.liveness.mark_freed();
        self.ctx
            .counters()
            .devices_freed
            .fetch_add(1, Ordering::Relaxed);
        if let Some(drive) = &self.drive {
            drive.detach();
        }
        if self.pending_deleted_event.load(Ordering::Relaxed) {
            self.ctx.events().emit(QmpEvent::DeviceDeleted {
                device: self.id.clone(),
                path: self.canonical_path.clone(),
            });
        }
    }
}

impl Drop for DeviceState {
    /// Runs when the last reference goes, normally on rcu-core's callback thread a grace period
    /// after `device_del`.
    fn drop(&mut self) {
        self.finalize();
    }
}

/// A bus type (QEMU `BusClass`): its name and its `check_address` hook. The qdev core knows no
/// bus type but [`SystemBus`]; the SCSI bus's class (`scsi::bus::ScsiBusInfo`) lives under
/// `scsi/`, as `scsi_bus_check_address` does in QEMU's `hw/scsi/scsi-bus.c`.
///
/// ```
/// use qdev_demo::qdev::device::{BusClass, SystemBus};
/// assert_eq!(SystemBus.type_name(), "System");
/// ```
pub trait BusClass: Any + Send + Sync + fmt::Debug {
    /// The bus type's name as `info qtree` prints it (`type System`, `type SCSI`).
    fn type_name(&self) -> &'static str;

    /// The `check_address` hook (QEMU `BusClass.check_address`, commit bb755ba47f37): refuses a
    /// device whose address is invalid or taken, before it joins `bus`. The default accepts all.
    fn check_address(&self, bus: &BusState, dev: &DeviceState) -> Result<(), QdevError> {
        let _ = (bus, dev);
        Ok(())
    }

    /// The class as [`Any`], for [`BusState::class_as`].
    fn as_any(&self) -> &dyn Any;
}

/// QEMU's `TYPE_SYSTEM_BUS` (`main-system-bus`): no address check, no hot-plug.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemBus;

impl BusClass for SystemBus {
    fn type_name(&self) -> &'static str {
        "System"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One entry of a bus's children list (QEMU `BusChild`): a device reference and its index.
/// Freed, and its device reference dropped, one grace period after it was unlinked.
#[derive(Debug)]
pub struct BusChild {
    pub(crate) child: Arc<DeviceState>,
    pub(crate) index: u32,
    pub(crate) liveness: Liveness,
    pub(crate) ctx: Arc<QdevContext>,
}

impl BusChild {
    /// The device.
    pub fn device(&self) -> &Arc<DeviceState> {
        &self.child
    }

    /// The child's index (`child[N]` property name).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether this BusChild has not been freed (readers check it).
    pub fn is_live(&self) -> bool {
        self.liveness.is_live()
    }

    /// Negative-control support (for `rcu_queue::testing::enable_broken_grace_periods`'s poison
    /// hook, which parks reclaimed nodes instead of dropping them): poisons this BusChild as if it
    /// had been freed, and finalizes its device (poison, drive release, DEVICE_DELETED) if the
    /// BusChild holds its last reference, as the real unref would have freed it. Memory stays
    /// allocated, so readers that see the poison commit no real use-after-free.
    ///
    /// ```
    /// use qdev_demo::machine::Machine;
    /// let m = Machine::builder().build();
    /// let dev = m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
    /// let guard = rcu_core::read_lock();
    /// let kid = m.scsi_bus().children(&guard).next().unwrap();
    /// kid.poison_as_freed();
    /// assert!(!kid.is_live());
    /// assert!(kid.device().is_live(), "`dev` still holds the device");
    /// # drop(dev);
    /// ```
    pub fn poison_as_freed(&self) {
        self.liveness.mark_freed();
        if Arc::strong_count(&self.child) == 1 {
            self.child.finalize();
        }
    }

    /// Checks that this child and its device are live, counting a violation if not. Returns
    /// whether both were live.
    pub fn check_live(&self) -> bool {
        let ok = self.liveness.is_live() && self.child.is_live();
        if !ok {
            self.ctx.safety().record_freed_seen();
        }
        ok
    }
}

impl Drop for BusChild {
    /// `bus_free_bus_child`: runs on rcu-core's callback thread after the grace period.
    fn drop(&mut self) {
        self.liveness.mark_freed();
        self.ctx
            .counters()
            .children_freed
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// A bus (QEMU `BusState`).
///
/// ```
/// use qdev_demo::qdev::bql::Bql;
/// use qdev_demo::qdev::device::{BusState, SystemBus};
/// use qdev_demo::qdev::context::QdevContext;
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// use std::sync::Arc;
/// use std::time::Duration;
/// let bql = Bql::new();
/// let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, Duration::ZERO));
/// let bus = BusState::new(&bql, &ctx, "main-system-bus", SystemBus);
/// assert_eq!(bus.num_children(), 0);
/// let guard = rcu_core::read_lock();
/// assert_eq!(bus.children(&guard).count(), 0);
/// ```
pub struct BusState {
    name: String,
    class: Box<dyn BusClass>,
    /// RCU list: readers use a read guard, writers hold the BQL.
    pub(crate) children: RcuTailq<BusChild>,
    /// Written under the BQL only.
    pub(crate) max_index: AtomicU32,
    /// Written under the BQL only.
    pub(crate) num_children: AtomicU32,
    realized: AtomicBool,
    pub(crate) ctx: Arc<QdevContext>,
}

impl std::fmt::Debug for BusState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusState")
            .field("name", &self.name)
            .field("class", &self.class)
            .field("num_children", &self.num_children())
            .field("max_index", &self.max_index())
            .field("realized", &self.is_realized())
            .finish_non_exhaustive()
    }
}

impl Drop for BusState {
    /// A bus dropped with children still on it (the machine going away) lets go of the handles
    /// its children's devices keep: each handle keeps its BusChild, which keeps the device, which
    /// keeps the handle, so without this the cycle would outlive the bus.
    fn drop(&mut self) {
        let guard = rcu_core::read_lock();
        for kid in self.children.iter(&guard) {
            kid.child.bus_child().take();
        }
    }
}

impl BusState {
    /// A new empty bus whose children list is written under `bql`.
    pub fn new(
        bql: &Bql,
        ctx: &Arc<QdevContext>,
        name: impl Into<String>,
        class: impl BusClass,
    ) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            class: Box::new(class),
            children: RcuTailq::with_external_lock(bql.writer_lock()),
            max_index: AtomicU32::new(0),
            num_children: AtomicU32::new(0),
            realized: AtomicBool::new(false),
            ctx: Arc::clone(ctx),
        })
    }

    /// The bus name (e.g. `scsi0.0`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bus's class (QEMU `BUS_GET_CLASS`).
    pub fn class(&self) -> &dyn BusClass {
        &*self.class
    }

    /// The bus's class as the concrete type `C`, or `None` if the bus is of another type
    /// (QEMU's `object_dynamic_cast` on the bus).
    ///
    /// ```
    /// use qdev_demo::qdev::device::SystemBus;
    /// let m = qdev_demo::machine::Machine::builder().build();
    /// assert!(m.sysbus().class_as::<SystemBus>().is_some());
    /// assert!(m.scsi_bus().class_as::<SystemBus>().is_none());
    /// ```
    pub fn class_as<C: BusClass>(&self) -> Option<&C> {
        BusClass::as_any(&*self.class).downcast_ref::<C>()
    }

    /// The children, newest first (`QTAILQ_FOREACH_RCU`). Not a snapshot: children added after
    /// the walk passed the head are not seen, children removed meanwhile may still be.
    pub fn children<'g>(&'g self, guard: &'g ReadGuard) -> impl Iterator<Item = &'g BusChild> + 'g {
        self.children.iter(guard)
    }

    /// Number of children (QEMU reads it under the BQL).
    pub fn num_children(&self) -> u32 {
        self.num_children.load(Ordering::Relaxed)
    }

    /// The index the next child will get.
    pub fn max_index(&self) -> u32 {
        self.max_index.load(Ordering::Relaxed)
    }

    /// Whether the bus is realized.
    pub fn is_realized(&self) -> bool {
        self.realized.load(Ordering::Acquire)
    }

    pub(crate) fn set_realized_flag(&self, value: bool) {
        // Release pairs with the Acquire in `is_realized`.
        self.realized.store(value, Ordering::Release);
    }

    /// The machine context.
    pub fn ctx(&self) -> &Arc<QdevContext> {
        &self.ctx
    }

    /// The `check_address` hook (QEMU `BusClass.check_address`, commit bb755ba47f37): refuses a
    /// device whose address is invalid or taken, before it joins the list, with no side effects.
    pub fn check_address(&self, dev: &DeviceState) -> Result<(), QdevError> {
        self.class.check_address(self, dev)
    }
}

/// `bus_set_realized`: `true` only marks the bus realized (there is no recursive realization);
/// `false` unrealizes every child device under a read guard (a long critical section), then marks
/// the bus unrealized.
pub fn bus_set_realized(bql: &BqlGuard<'_>, bus: &BusState, value: bool) {
    if value {
        bus.set_realized_flag(true);
    } else if bus.is_realized() {
        {
            let guard = rcu_core::read_lock();
            for kid in bus.children(&guard) {
                // Unrealize cannot fail.
                let _ = device_set_realized(bql, kid.device(), false);
            }
        }
        bus.set_realized_flag(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdev::sync_mode::SyncMode;
    use std::time::Duration;

    fn ctx() -> Arc<QdevContext> {
        Arc::new(QdevContext::new(SyncMode::Rcu, Duration::ZERO).with_event_queue())
    }

    #[test]
    fn realize_opens_backend_before_publishing() {
        let ctx = ctx();
        let drive = Arc::new(Drive::new("d", 8));
        assert!(drive.try_attach());
        let dev = DeviceState::new(&ctx, "scsi-hd", Some("x".into())).with_drive(drive.clone());
        assert_eq!(dev.backend_token(), 0);
        let bql = Bql::new();
        let g = bql.lock();
        device_set_realized(&g, &dev, true).unwrap();
        assert!(dev.is_realized());
        assert_ne!(dev.backend_token(), 0);
        // idempotent
        device_set_realized(&g, &dev, true).unwrap();
        device_set_realized(&g, &dev, false).unwrap();
        assert!(!dev.is_realized());
        assert!(dev.pending_deleted_event());
        assert_ne!(
            dev.backend_token(),
            0,
            "unrealize keeps the backend until finalize"
        );
        drop(g);
        drop(dev);
        assert!(!drive.is_attached(), "finalize detaches the drive");
        match ctx.events().try_next().map(|r| r.event) {
            Some(QmpEvent::DeviceDeleted { device, path }) => {
                assert_eq!(device.as_deref(), Some("x"));
                assert_eq!(path, "/machine/peripheral/x");
            }
            other => panic!("expected DEVICE_DELETED, got {other:?}"),
        }
    }

    #[test]
    fn broken_drive_fails_realize() {
        let ctx = ctx();
        let dev = DeviceState::new(&ctx, "scsi-hd", None).with_drive(Arc::new(Drive::broken("b")));
        let bql = Bql::new();
        let err = device_set_realized(&bql.lock(), &dev, true).unwrap_err();
        assert!(err.to_string().contains("Could not open 'b'"));
        assert!(!dev.is_realized());
        assert_eq!(dev.canonical_path(), "/machine/peripheral-anon/scsi-hd");
        drop(dev);
        assert!(
            ctx.events().try_next().is_none(),
            "never realized: no DEVICE_DELETED"
        );
        assert_eq!(ctx.counters().devices_freed.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn accessors() {
        let ctx = ctx();
        let dev = DeviceState::new(&ctx, "t", None)
            .with_canonical_path("/p".into())
            .with_bus_address((1_u8, 2_u16));
        assert_eq!(dev.canonical_path(), "/p");
        assert_eq!(dev.bus_address::<(u8, u16)>(), Some(&(1, 2)));
        assert!(
            dev.drive().is_none() && dev.child_buses().is_empty() && dev.parent_bus().is_none()
        );
        assert!(!dev.is_hotplugged());
        dev.set_hotplugged();
        assert!(dev.is_hotplugged());
        dev.reset();
        dev.count_request();
        assert_eq!((dev.resets(), dev.requests(), dev.type_name()), (1, 1, "t"));
        assert!(dev.is_live() && dev.liveness().is_live());
    }
}
