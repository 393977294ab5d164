//! The writers of a bus's children list (the seed commit): the list is an RCU list written under
//! the BQL and read lock-free; its types, `BusState` and `BusChild`, are in [`crate::qdev::device`].
//!
//! Writers: [`bus_add_child`] (insert at the head, newest first), [`bus_remove_child`] (unlink now,
//! drop the device reference and free the BusChild after a grace period), [`qdev_set_parent_bus`]
//! (with the bus's `check_address` hook), [`qdev_realize`] and [`qdev_unparent`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::qdev::bql::BqlGuard;
use crate::qdev::context::Liveness;
use crate::qdev::device::{BusChild, BusState, DeviceState, device_set_realized};
use crate::qdev::error::QdevError;

/// `bus_add_child`: links `child` at the head of the bus's list (newest first) with the next
/// index; the BusChild holds a reference to the device.
///
/// ```
/// use qdev_demo::qdev::bus::bus_add_child;
/// use qdev_demo::qdev::device::DeviceState;
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
    let handle = bus
        .children
        .writer(bql.writer_guard())
        .push_front(kid)
        .handle();
    // A device sits on one bus at a time (`qdev_set_parent_bus` moves it), as in QEMU.
    *child.bus_child() = Some(handle);
    bus.ctx
        .counters()
        .children_added
        .fetch_add(1, Ordering::Relaxed);
}

/// `bus_remove_child`: unlinks `child`'s BusChild now, in O(1) through the handle the device
/// kept when it was added (QEMU's `QTAILQ_REMOVE_RCU(&bus->children, kid, sibling)`); the
/// BusChild is freed and its device reference dropped after a grace period (QEMU:
/// `call_rcu(kid, bus_free_bus_child, rcu)`). Returns whether the device was on the bus.
pub fn bus_remove_child(bql: &mut BqlGuard<'_>, bus: &BusState, child: &DeviceState) -> bool {
    let removed = {
        let _list_lock = bus.ctx.sync().writer(bql);
        let mut slot = child.bus_child();
        let removed = slot.as_ref().is_some_and(|handle| {
            bus.children
                .writer(bql.writer_guard())
                .cursor(handle)
                .map(|kid| kid.remove())
                .is_some()
        });
        if removed {
            // The last handle: the BusChild goes once the grace period has passed.
            *slot = None;
        }
        removed
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
