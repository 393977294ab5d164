//! `BusState` and `BusChild`: a bus's children as an RCU list (the seed commit), written under the
//! BQL and read lock-free.
//!
//! Writers: [`bus_add_child`] (insert at the head, newest first), [`bus_remove_child`] (unlink now,
//! drop the device reference and free the BusChild after a grace period), [`qdev_set_parent_bus`]
//! (with the bus's `check_address` hook), [`qdev_realize`] and [`qdev_unparent`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use rcu_core::ReadGuard;
use rcu_queue::RcuTailq;

use crate::bql::{Bql, BqlGuard};
use crate::context::{Liveness, QdevContext};
use crate::device::{DeviceState, device_set_realized};
use crate::error::QdevError;
use crate::scsi::bus::{ScsiBusInfo, scsi_bus_check_address};

/// The bus type (QEMU `BusClass`), which decides the `check_address` hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    /// `main-system-bus`: no addresses to check.
    System,
    /// A SCSI bus with its limits.
    Scsi(ScsiBusInfo),
}

/// One entry of a bus's children list (QEMU `BusChild`): a device reference and its index.
/// Freed, and its device reference dropped, one grace period after it was unlinked.
#[derive(Debug)]
pub struct BusChild {
    child: Arc<DeviceState>,
    index: u32,
    liveness: Liveness,
    ctx: Arc<QdevContext>,
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
    /// m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
    /// let guard = rcu_core::read_lock();
    /// let kid = m.scsi_bus().children(&guard).next().unwrap();
    /// kid.poison_as_freed();
    /// assert!(!kid.is_live());
    /// assert!(kid.device().is_live(), "the peripheral container still holds the device");
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
/// use qdev_demo::bql::Bql;
/// use qdev_demo::bus::{BusKind, BusState};
/// use qdev_demo::context::QdevContext;
/// use qdev_demo::sync_mode::SyncMode;
/// use std::sync::Arc;
/// use std::time::Duration;
/// let bql = Bql::new();
/// let ctx = Arc::new(QdevContext::new(SyncMode::Rcu, Duration::ZERO));
/// let bus = BusState::new(&bql, &ctx, "main-system-bus", BusKind::System);
/// assert_eq!(bus.num_children(), 0);
/// let guard = rcu_core::read_lock();
/// assert_eq!(bus.children(&guard).count(), 0);
/// ```
pub struct BusState {
    name: String,
    kind: BusKind,
    /// RCU list: readers use a read guard, writers hold the BQL.
    children: RcuTailq<BusChild>,
    /// Written under the BQL only.
    max_index: AtomicU32,
    /// Written under the BQL only.
    num_children: AtomicU32,
    realized: AtomicBool,
    ctx: Arc<QdevContext>,
}

impl std::fmt::Debug for BusState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusState")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("num_children", &self.num_children())
            .field("max_index", &self.max_index())
            .field("realized", &self.is_realized())
            .finish_non_exhaustive()
    }
}

impl BusState {
    /// A new empty bus whose children list is written under `bql`.
    pub fn new(
        bql: &Bql,
        ctx: &Arc<QdevContext>,
        name: impl Into<String>,
        kind: BusKind,
    ) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            kind,
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

    /// The bus type.
    pub fn kind(&self) -> BusKind {
        self.kind
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
        match self.kind {
            BusKind::System => Ok(()),
            BusKind::Scsi(info) => Ok(scsi_bus_check_address(self, &info, dev)?),
        }
    }
}

/// `bus_add_child`: links `child` at the head of the bus's list (newest first) with the next
/// index; the BusChild holds a reference to the device.
///
/// ```
/// use qdev_demo::bus::bus_add_child;
/// use qdev_demo::device::DeviceState;
/// use qdev_demo::machine::Machine;
/// use std::sync::Arc;
/// let m = Machine::builder().build();
/// let dev = Arc::new(DeviceState::new(m.ctx(), "test-device", None));
/// bus_add_child(&mut m.bql().lock(), m.sysbus(), &dev);
/// let guard = rcu_core::read_lock();
/// let newest = m.sysbus().children(&guard).next().unwrap();
/// assert!(Arc::ptr_eq(newest.device(), &dev));
/// ```
pub fn bus_add_child(bql: &mut BqlGuard<'_>, bus: &BusState, child: &Arc<DeviceState>) {
    bus.num_children.fetch_add(1, Ordering::Relaxed);
    let index = bus.max_index.fetch_add(1, Ordering::Relaxed);
    let kid = BusChild {
        child: Arc::clone(child),
        index,
        liveness: Liveness::new(),
        ctx: Arc::clone(&bus.ctx),
    };
    let _list_lock = bus.ctx.sync().writer(bql);
    bus.children.writer(bql.writer_guard()).push_front(kid);
    bus.ctx
        .counters()
        .children_added
        .fetch_add(1, Ordering::Relaxed);
}

/// `bus_remove_child`: unlinks `child`'s BusChild now; the BusChild is freed and its device
/// reference dropped after a grace period (QEMU: `call_rcu(kid, bus_free_bus_child, rcu)`).
/// Returns whether the device was on the bus.
pub fn bus_remove_child(bql: &mut BqlGuard<'_>, bus: &BusState, child: &DeviceState) -> bool {
    let removed = {
        let _list_lock = bus.ctx.sync().writer(bql);
        bus.children
            .writer(bql.writer_guard())
            .remove_first(|kid| std::ptr::eq(Arc::as_ptr(&kid.child), child))
            .is_some()
    };
    if removed {
        bus.num_children.fetch_sub(1, Ordering::Relaxed);
        bus.ctx
            .counters()
            .children_removed
            .fetch_add(1, Ordering::Relaxed);
    }
    removed
}

/// `qdev_set_parent_bus`: runs the bus's `check_address` hook (failing early, with no side
/// effects, so duplicate addresses never reach the list), then moves the device from its old bus,
/// if any, to `bus`.
pub fn qdev_set_parent_bus(
    bql: &mut BqlGuard<'_>,
    dev: &Arc<DeviceState>,
    bus: &Arc<BusState>,
) -> Result<(), QdevError> {
    bus.check_address(dev)?;
    if let Some(old) = dev.parent_bus() {
        bus_remove_child(bql, &old, dev);
    }
    dev.set_parent_bus(Some(bus));
    bus_add_child(bql, bus, dev);
    Ok(())
}

/// `qdev_realize`: puts the device on `bus`, then realizes it. As in QEMU the device is on the
/// list *before* it is realized; lock-free readers must not use it until `is_realized()`.
/// On a realize error the device stays on the bus; the caller unplugs it with [`qdev_unparent`].
///
/// # Panics
///
/// If the device is already realized or already on a bus (QEMU asserts both).
pub fn qdev_realize(
    bql: &mut BqlGuard<'_>,
    dev: &Arc<DeviceState>,
    bus: &Arc<BusState>,
) -> Result<(), QdevError> {
    assert!(
        !dev.is_realized() && dev.parent_bus().is_none(),
        "qdev_realize: device {:?} is already realized or on a bus; create a new device instead",
        dev.id()
    );
    qdev_set_parent_bus(bql, dev, bus)?;
    device_set_realized(bql, dev, true)
}

/// `device_unparent`: unrealizes the device if needed, unparents its child buses' devices, and
/// removes it from its bus (its BusChild goes away after a grace period).
pub fn qdev_unparent(bql: &mut BqlGuard<'_>, dev: &Arc<DeviceState>) {
    if dev.is_realized() {
        // Unrealize cannot fail.
        let _ = device_set_realized(bql, dev, false);
    }
    for bus in dev.child_buses() {
        bus_unparent(bql, bus);
    }
    if let Some(bus) = dev.parent_bus() {
        bus_remove_child(bql, &bus, dev);
        dev.set_parent_bus(None);
    }
}

/// `bus_unparent`: unparents every child of the bus. A write path under the BQL, so it reads the
/// list through the writer's view, not under a read guard (as Stefan Hajnoczi pointed out in
/// review of the series).
pub fn bus_unparent(bql: &mut BqlGuard<'_>, bus: &BusState) {
    loop {
        let first = bus
            .children
            .writer(bql.writer_guard())
            .iter()
            .next()
            .map(|kid| Arc::clone(&kid.child));
        match first {
            Some(dev) => {
                qdev_unparent(bql, &dev);
                // A device linked with plain `bus_add_child` has no parent bus pointer.
                bus_remove_child(bql, bus, &dev);
            }
            None => break,
        }
    }
}
