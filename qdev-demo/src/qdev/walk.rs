//! Readers of the device tree that run without the BQL, each under its own read guard (the
//! conversions of the seed commit): tree walks with pre/post callbacks, the reset child iteration,
//! `qdev_find_recursive`, and the bus unrealize iteration.

use std::sync::Arc;

use rcu_core::ReadGuard;

use crate::qdev::device::{BusState, DeviceState};

/// What a `pre_*` callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Visit the children, then call the `post_*` callback.
    Continue,
    /// Skip the children and the `post_*` callback (QEMU: a positive return value).
    SkipChildren,
}

/// Callbacks of [`qbus_walk_children`] / [`qdev_walk_children`] (QEMU's `pre_devfn`, `pre_busfn`,
/// `post_devfn`, `post_busfn` and `opaque`, as one trait). Returning `Err` stops the whole walk
/// (QEMU: a negative return value). Every method defaults to "continue".
pub trait QdevVisitor {
    /// Error type that aborts the walk.
    type Error;

    /// Called before a device's child buses.
    fn pre_device(&mut self, _dev: &DeviceState) -> Result<Walk, Self::Error> {
        Ok(Walk::Continue)
    }

    /// Called before a bus's children.
    fn pre_bus(&mut self, _bus: &BusState) -> Result<Walk, Self::Error> {
        Ok(Walk::Continue)
    }

    /// Called after a device's child buses.
    fn post_device(&mut self, _dev: &DeviceState) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Called after a bus's children.
    fn post_bus(&mut self, _bus: &BusState) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// `qbus_walk_children`: `pre_bus`, then every child device (newest first, under a read guard,
/// each subtree with [`qdev_walk_children`]), then `post_bus`. Stops at the first error.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::qdev::device::DeviceState;
/// use qdev_demo::qdev::walk::{QdevVisitor, Walk, qbus_walk_children};
/// struct Ids(Vec<String>);
/// impl QdevVisitor for Ids {
///     type Error = ();
///     fn pre_device(&mut self, dev: &DeviceState) -> Result<Walk, ()> {
///         self.0.push(dev.id().unwrap_or("?").to_owned());
///         Ok(Walk::Continue)
///     }
/// }
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
/// m.device_add_str("scsi-hd,id=b,drive=d1").unwrap();
/// let mut ids = Ids(Vec::new());
/// qbus_walk_children(m.sysbus(), &mut ids).unwrap();
/// assert_eq!(ids.0, ["scsi0", "b", "a"]);
/// ```
pub fn qbus_walk_children<V: QdevVisitor + ?Sized>(
    bus: &BusState,
    visitor: &mut V,
) -> Result<(), V::Error> {
    if visitor.pre_bus(bus)? == Walk::SkipChildren {
        return Ok(());
    }
    {
        let guard = rcu_core::read_lock();
        for kid in bus.children(&guard) {
            let result = qdev_walk_children(kid.device(), visitor);
            // The callbacks may have taken a while: is what we stand on still alive?
            kid.check_live();
            result?;
        }
    }
    visitor.post_bus(bus)
}

/// `qdev_walk_children`: `pre_device`, then every child bus with [`qbus_walk_children`], then
/// `post_device`. Stops at the first error.
pub fn qdev_walk_children<V: QdevVisitor + ?Sized>(
    dev: &DeviceState,
    visitor: &mut V,
) -> Result<(), V::Error> {
    if visitor.pre_device(dev)? == Walk::SkipChildren {
        return Ok(());
    }
    for bus in dev.child_buses() {
        qbus_walk_children(bus, visitor)?;
    }
    visitor.post_device(dev)
}

/// `bus_reset_child_foreach` (Resettable `child_foreach`): calls `cb` on every child device under
/// a read guard.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::qdev::walk::bus_reset_child_foreach;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
/// let mut n = 0;
/// bus_reset_child_foreach(m.scsi_bus(), |_dev| n += 1);
/// assert_eq!(n, 1);
/// ```
pub fn bus_reset_child_foreach(bus: &BusState, mut cb: impl FnMut(&DeviceState)) {
    let guard = rcu_core::read_lock();
    for kid in bus.children(&guard) {
        cb(kid.device());
        kid.check_live();
    }
}

struct Resetter;

impl QdevVisitor for Resetter {
    type Error = std::convert::Infallible;

    fn pre_device(&mut self, dev: &DeviceState) -> Result<Walk, Self::Error> {
        dev.reset();
        Ok(Walk::Continue)
    }
}

/// `qdev_reset_all`: resets `dev` and everything below it.
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::qdev::walk::qdev_reset_all;
/// let m = Machine::builder().build();
/// let disk = m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
/// qdev_reset_all(m.controller());
/// assert_eq!((m.controller().resets(), disk.resets()), (1, 1));
/// ```
pub fn qdev_reset_all(dev: &DeviceState) {
    let Ok(()) = qdev_walk_children(dev, &mut Resetter);
}

/// `qbus_reset_all`: resets every device below `bus`.
pub fn qbus_reset_all(bus: &BusState) {
    let Ok(()) = qbus_walk_children(bus, &mut Resetter);
}

/// `qdev_find_recursive`: the device with `id` on `bus` or below it, borrowed for the read-side
/// critical section (QEMU returns an unreferenced pointer and relies on the BQL; here the borrow
/// cannot outlive `guard`, clone the `Arc` to keep it).
///
/// ```
/// use qdev_demo::machine::Machine;
/// use qdev_demo::qdev::walk::qdev_find_recursive;
/// let m = Machine::builder().build();
/// m.device_add_str("scsi-hd,id=disk7,drive=d0").unwrap();
/// let guard = rcu_core::read_lock();
/// assert_eq!(qdev_find_recursive(m.sysbus(), &guard, "disk7").unwrap().type_name(), "scsi-hd");
/// assert!(qdev_find_recursive(m.sysbus(), &guard, "nope").is_none());
/// ```
pub fn qdev_find_recursive<'g>(
    bus: &'g BusState,
    guard: &'g ReadGuard,
    id: &str,
) -> Option<&'g Arc<DeviceState>> {
    for kid in bus.children(guard) {
        let dev = kid.device();
        if dev.id() == Some(id) {
            return Some(dev);
        }
        for child in dev.child_buses() {
            if let Some(found) = qdev_find_recursive(child, guard, id) {
                return Some(found);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::qdev::device::bus_set_realized;

    #[derive(Default)]
    struct Trace {
        log: Vec<String>,
        skip_bus: Option<String>,
        fail_at: Option<String>,
    }

    impl QdevVisitor for Trace {
        type Error = String;
        fn pre_device(&mut self, dev: &DeviceState) -> Result<Walk, String> {
            let id = dev.id().unwrap_or("?").to_owned();
            self.log.push(format!("pre {id}"));
            if self.fail_at.as_deref() == Some(id.as_str()) {
                return Err(id);
            }
            Ok(Walk::Continue)
        }
        fn pre_bus(&mut self, bus: &BusState) -> Result<Walk, String> {
            self.log.push(format!("pre bus {}", bus.name()));
            if self.skip_bus.as_deref() == Some(bus.name()) {
                return Ok(Walk::SkipChildren);
            }
            Ok(Walk::Continue)
        }
        fn post_device(&mut self, dev: &DeviceState) -> Result<(), String> {
            self.log.push(format!("post {}", dev.id().unwrap_or("?")));
            Ok(())
        }
        fn post_bus(&mut self, bus: &BusState) -> Result<(), String> {
            self.log.push(format!("post bus {}", bus.name()));
            Ok(())
        }
    }

    fn machine() -> Machine {
        let m = Machine::builder().build();
        m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
        m.device_add_str("scsi-hd,id=b,drive=d1").unwrap();
        m
    }

    #[test]
    fn walk_order_pre_and_post() {
        let m = machine();
        let mut t = Trace::default();
        qbus_walk_children(m.sysbus(), &mut t).unwrap();
        assert_eq!(
            t.log,
            [
                "pre bus main-system-bus",
                "pre scsi0",
                "pre bus scsi0.0",
                "pre b",
                "post b",
                "pre a",
                "post a",
                "post bus scsi0.0",
                "post scsi0",
                "post bus main-system-bus"
            ]
        );
    }

    #[test]
    fn skip_children_skips_post_too() {
        let m = machine();
        let mut t = Trace {
            skip_bus: Some("scsi0.0".into()),
            ..Trace::default()
        };
        qbus_walk_children(m.sysbus(), &mut t).unwrap();
        assert_eq!(
            t.log,
            [
                "pre bus main-system-bus",
                "pre scsi0",
                "pre bus scsi0.0",
                "post scsi0",
                "post bus main-system-bus"
            ]
        );
    }

    #[test]
    fn error_returns_early() {
        let m = machine();
        let mut t = Trace {
            fail_at: Some("b".into()),
            ..Trace::default()
        };
        assert_eq!(qbus_walk_children(m.sysbus(), &mut t), Err("b".to_owned()));
        assert_eq!(t.log.last().map(String::as_str), Some("pre b"));
        assert!(!t.log.iter().any(|l| l == "pre a"));
        let mut t = Trace {
            fail_at: Some("scsi0".into()),
            ..Trace::default()
        };
        assert_eq!(
            qdev_walk_children(m.controller(), &mut t),
            Err("scsi0".to_owned())
        );
    }

    #[test]
    fn reset_iterations() {
        let m = machine();
        qbus_reset_all(m.sysbus());
        let mut seen = Vec::new();
        bus_reset_child_foreach(m.scsi_bus(), |d| {
            seen.push((d.id().unwrap().to_owned(), d.resets()))
        });
        assert_eq!(seen, [("b".to_owned(), 1), ("a".to_owned(), 1)]);
        assert_eq!(m.controller().resets(), 1);
    }

    #[test]
    fn find_recursive_descends_into_child_buses() {
        let m = machine();
        let guard = rcu_core::read_lock();
        assert!(Arc::ptr_eq(
            qdev_find_recursive(m.sysbus(), &guard, "scsi0").unwrap(),
            m.controller()
        ));
        assert_eq!(
            qdev_find_recursive(m.sysbus(), &guard, "a").unwrap().id(),
            Some("a")
        );
        assert!(qdev_find_recursive(m.scsi_bus(), &guard, "scsi0").is_none());
    }

    #[test]
    fn bus_unrealize_unrealizes_children() {
        let m = machine();
        assert!(m.scsi_bus().is_realized());
        let bql = m.bql().lock();
        bus_set_realized(&bql, m.scsi_bus(), false);
        assert!(!m.scsi_bus().is_realized());
        let guard = rcu_core::read_lock();
        assert!(
            m.scsi_bus()
                .children(&guard)
                .all(|k| !k.device().is_realized())
        );
        // Unrealizing an unrealized bus is a no-op; realizing only sets the flag.
        bus_set_realized(&bql, m.scsi_bus(), false);
        bus_set_realized(&bql, m.scsi_bus(), true);
        assert!(m.scsi_bus().is_realized());
        assert!(
            m.scsi_bus()
                .children(&guard)
                .all(|k| !k.device().is_realized())
        );
    }
}
