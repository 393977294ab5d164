//! The qdev writers and the hot-plug path: newest-first insertion, deferred frees, DEVICE_DELETED
//! only when the device is finally freed, drain after a failed `device_add`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier, mpsc};

use qdev_demo::hw::scsi::bus::scsi_device_get;
use qdev_demo::machine::{DeviceAddOptions, Machine};
use qdev_demo::qdev::bus::{
    bus_add_child, bus_remove_child, qdev_realize, qdev_set_parent_bus, qdev_unparent,
};
use qdev_demo::qdev::device::{BusState, DeviceState, SystemBus};
use qdev_demo::qdev::error::QdevError;
use qdev_demo::qdev::events::QmpEvent;

fn ids(bus: &BusState) -> Vec<String> {
    let guard = rcu_core::read_lock();
    bus.children(&guard)
        .map(|k| k.device().id().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn bus_add_child_inserts_newest_first_with_increasing_index() {
    let m = Machine::builder().build();
    let bus = BusState::new(m.bql(), m.ctx(), "test.0", SystemBus);
    for id in ["a", "b", "c"] {
        let dev = Arc::new(DeviceState::new(m.ctx(), "t", Some(id.into())));
        bus_add_child(&mut m.bql().lock(), &bus, &dev);
    }
    assert_eq!(ids(&bus), ["c", "b", "a"]);
    let guard = rcu_core::read_lock();
    let indexes: Vec<u32> = bus.children(&guard).map(|k| k.index()).collect();
    assert_eq!(indexes, [2, 1, 0]);
    assert_eq!((bus.num_children(), bus.max_index()), (3, 3));
    assert!(format!("{bus:?}").contains("num_children: 3"));
}

#[test]
fn bus_remove_child_defers_the_free_by_a_grace_period() {
    let m = Machine::builder().build();
    let bus = BusState::new(m.bql(), m.ctx(), "test.0", SystemBus);
    let dev = Arc::new(DeviceState::new(m.ctx(), "t", Some("x".into())));
    bus_add_child(&mut m.bql().lock(), &bus, &dev);
    let freed = || m.ctx().counters().children_freed.load(Ordering::Relaxed);
    let freed_before = freed();

    let in_section = Barrier::new(2);
    let (removed_tx, removed_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        let (reader_bus, reader_barrier) = (&bus, &in_section);
        s.spawn(move || {
            let guard = rcu_core::read_lock();
            let kid = reader_bus.children(&guard).next().expect("the child");
            reader_barrier.wait();
            removed_rx.recv().unwrap();
            // Unlinked meanwhile, but this reader's critical section holds off the free.
            assert!(kid.is_live() && kid.device().is_live());
            assert_eq!(kid.device().id(), Some("x"));
        });
        in_section.wait();
        assert!(bus_remove_child(&mut m.bql().lock(), &bus, &dev));
        assert!(
            !bus_remove_child(&mut m.bql().lock(), &bus, &dev),
            "already removed"
        );
        assert_eq!(bus.num_children(), 0);
        assert!(ids(&bus).is_empty(), "new readers do not see it");
        removed_tx.send(()).unwrap();
    });
    rcu_core::rcu_barrier();
    assert!(freed() > freed_before);
    assert_eq!(
        Arc::strong_count(&dev),
        1,
        "the BusChild dropped its reference"
    );
}

#[test]
fn set_parent_bus_moves_between_buses() {
    let m = Machine::builder().build();
    let a = BusState::new(m.bql(), m.ctx(), "a.0", SystemBus);
    let b = BusState::new(m.bql(), m.ctx(), "b.0", SystemBus);
    let dev = Arc::new(DeviceState::new(m.ctx(), "t", Some("d".into())));
    qdev_set_parent_bus(&mut m.bql().lock(), &dev, &a).unwrap();
    assert_eq!(ids(&a), ["d"]);
    qdev_set_parent_bus(&mut m.bql().lock(), &dev, &b).unwrap();
    assert!(ids(&a).is_empty());
    assert_eq!(ids(&b), ["d"]);
    assert!(Arc::ptr_eq(&dev.parent_bus().unwrap(), &b));
    qdev_unparent(&mut m.bql().lock(), &dev);
    assert!(ids(&b).is_empty() && dev.parent_bus().is_none());
}

#[test]
#[should_panic(expected = "already realized or on a bus")]
fn realizing_twice_panics_with_a_clear_message() {
    let m = Machine::builder().build();
    let dev = m.device_add_str("scsi-hd,id=x,drive=d0").unwrap();
    let _ = qdev_realize(&mut m.bql().lock(), &dev, m.scsi_bus());
}

#[test]
fn device_deleted_only_when_the_device_is_finally_freed() {
    let m = Machine::builder().event_queue(true).build();
    m.device_add_str("scsi-hd,id=disk1,drive=d1,scsi-id=0,lun=1")
        .unwrap();
    let held = scsi_device_get(m.scsi_bus(), 0, 0, 1).unwrap();
    m.device_del("disk1").unwrap();
    assert!(!held.is_realized() && held.pending_deleted_event());
    assert!(
        scsi_device_get(m.scsi_bus(), 0, 0, 1).is_none(),
        "gone from the bus"
    );
    // The id is free at once; the drive is not (our reference keeps the device alive).
    assert_eq!(
        m.device_add_str("scsi-hd,id=disk1,drive=d1").unwrap_err(),
        QdevError::DriveInUse("d1".into())
    );
    rcu_core::rcu_barrier();
    assert_eq!(m.ctx().events().emitted(), 0, "a reference is still held");
    assert!(m.ctx().events().try_next().is_none());
    drop(held);
    assert_eq!(
        m.ctx().events().try_next().map(|r| r.event),
        Some(QmpEvent::DeviceDeleted {
            device: Some("disk1".into()),
            path: "/machine/peripheral/disk1".into()
        })
    );
    m.device_add_str("scsi-hd,id=disk1,drive=d1").unwrap();
}

#[test]
fn failed_device_add_is_drained_before_returning() {
    let m = Machine::builder().event_queue(true).build();
    m.drive_add("broken", true).unwrap();
    let before = m.ctx().counters().children_removed.load(Ordering::Relaxed);
    let err = m.device_add_str("scsi-hd,id=bad,drive=broken").unwrap_err();
    assert!(matches!(err, QdevError::Realize(_)), "{err}");
    let c = m.ctx().counters();
    assert_eq!(
        c.children_removed.load(Ordering::Relaxed),
        before + 1,
        "it had joined the bus"
    );
    assert!(
        !m.drive("broken").unwrap().is_attached(),
        "freed before device_add returned"
    );
    assert!(
        m.ctx().events().try_next().is_none(),
        "never realized: no DEVICE_DELETED"
    );
    assert_eq!(m.scsi_bus().num_children(), 0);
    m.device_add_str("scsi-hd,id=bad,drive=d0").unwrap();
}

#[test]
fn device_add_errors() {
    let m = Machine::builder().build();
    let err = |s: &str| m.device_add_str(s).unwrap_err();
    assert_eq!(
        err("virtio-net,id=n"),
        QdevError::UnknownDriver("virtio-net".into())
    );
    assert_eq!(err("scsi-hd,id=x"), QdevError::MissingProperty("drive"));
    assert_eq!(
        err("scsi-hd,drive=nope"),
        QdevError::DriveNotFound("nope".into())
    );
    assert_eq!(
        err("scsi-hd,id=scsi0,drive=d0"),
        QdevError::DuplicateId("scsi0".into())
    );
    assert_eq!(
        err("scsi-hd,drive=d0,bus=nope.0"),
        QdevError::BusNotFound("nope.0".into())
    );
    assert!(matches!(
        err("scsi-hd,drive=d0,bus=main-system-bus"),
        QdevError::BusNotFound(_)
    ));
    assert!(matches!(
        err("scsi-hd,drive=d0,scsi-id=300"),
        QdevError::Address(_)
    ));
    assert!(matches!(
        err("scsi-hd,drive=d0,channel=1"),
        QdevError::Address(_)
    ));
    assert!(matches!(err(",id=x"), QdevError::MissingProperty("driver")));
    assert!(matches!(
        err("scsi-hd,bogus"),
        QdevError::BadProperty { .. }
    ));
    assert!(matches!(
        err("scsi-hd,color=red"),
        QdevError::BadProperty { .. }
    ));
    // Anonymous devices get numbered paths, explicit bus works.
    let anon = m.device_add_str("scsi-hd,drive=d0,bus=scsi0.0").unwrap();
    assert_eq!(anon.canonical_path(), "/machine/peripheral-anon/device[0]");
    assert!(anon.is_hotplugged());
    assert_eq!(
        "scsi-hd,id=a,drive=b,bus=c,channel=0,scsi-id=1,lun=2"
            .parse::<DeviceAddOptions>()
            .unwrap(),
        DeviceAddOptions {
            driver: "scsi-hd".into(),
            id: Some("a".into()),
            drive: Some("b".into()),
            bus: Some("c".into()),
            channel: Some(0),
            scsi_id: Some(1),
            lun: Some(2),
        }
    );
}

#[test]
fn device_del_rules() {
    let m = Machine::builder().build();
    assert_eq!(
        m.device_del("scsi0").unwrap_err(),
        QdevError::NotHotpluggable("main-system-bus".into())
    );
    m.device_add_str("scsi-hd,id=a,drive=d0").unwrap();
    m.device_del("a").unwrap();
    assert_eq!(
        m.device_del("a").unwrap_err(),
        QdevError::DeviceNotFound("a".into())
    );
    let tree = m.info_qtree();
    assert!(
        tree.contains("bus: scsi0.0") && !tree.contains("id \"a\""),
        "{tree}"
    );
}

/// The main loop's form of the QMP commands: one BQL acquisition for the whole command, and a
/// failed `device_add` drains with the BQL released and then holds it again.
#[test]
fn locked_commands_run_under_the_callers_bql() {
    let m = Machine::builder().build();
    m.drive_add("broken", true).unwrap();
    let mut bql = m.bql().lock_main_loop();
    let disk = m
        .device_add_locked(&mut bql, &"scsi-hd,id=a,drive=d0".parse().unwrap())
        .unwrap();
    assert!(disk.is_realized() && m.find_peripheral("a").is_some());
    let err = m
        .device_add_locked(&mut bql, &"scsi-hd,id=bad,drive=broken".parse().unwrap())
        .unwrap_err();
    assert!(matches!(err, QdevError::Realize(_)), "{err}");
    assert!(m.bql().is_locked(), "the BQL is held again after the drain");
    assert!(
        !m.state(&bql).drives["broken"].is_attached(),
        "drained before returning"
    );
    m.device_del_locked(&mut bql, "a").unwrap();
    assert_eq!(
        m.device_del_locked(&mut bql, "a").unwrap_err(),
        QdevError::DeviceNotFound("a".into())
    );
    drop(bql);
    drop(disk);
    rcu_core::rcu_barrier();
    assert_eq!(m.ctx().events().emitted(), 1);
}

#[test]
#[should_panic(expected = "another machine's BQL")]
fn locked_commands_refuse_another_machines_bql() {
    let (m, other) = (Machine::builder().build(), Machine::builder().build());
    let mut bql = other.bql().lock();
    let _ = m.device_del_locked(&mut bql, "x");
}

/// In the RwLock mode a whole `device_add`, realize included, excludes readers: a reader that
/// sees the device join the bus (before its 20 ms realize) gets the read lock only after the
/// command finished, so it finds the device realized. With the lock held only around the list
/// insertion it would get in during realize and find no usable device.
#[test]
fn rwlock_mode_excludes_readers_for_the_whole_command() {
    use qdev_demo::qdev::sync_mode::SyncMode;
    let m = Machine::builder()
        .sync(SyncMode::RwLock)
        .realize_cost(std::time::Duration::from_millis(20))
        .build();
    let seen = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            while m.scsi_bus().num_children() == 0 {
                std::hint::spin_loop();
            }
            let _shared = m.ctx().sync().reader(m.bql());
            scsi_device_get(m.scsi_bus(), 0, 0, 0).map(|d| d.is_realized())
        });
        let mut bql = m.bql().lock();
        m.device_add_locked(
            &mut bql,
            &"scsi-hd,id=a,drive=d0,scsi-id=0,lun=0".parse().unwrap(),
        )
        .unwrap();
        drop(bql);
        reader.join().unwrap()
    });
    assert_eq!(seen, Some(true), "the reader waited for the whole command");
}

/// Dropping a machine frees every device still plugged, including the controller and a disk
/// (each device keeps a handle to its BusChild, which keeps the device: the bus breaks the cycle).
#[test]
fn dropping_the_machine_frees_plugged_devices() {
    let m = Machine::builder().build();
    let disk = Arc::downgrade(&m.device_add_str("scsi-hd,id=a,drive=d0").unwrap());
    let controller = Arc::downgrade(m.controller());
    drop(m);
    rcu_core::rcu_barrier();
    // Freeing a BusChild drops a device, whose bus may free more BusChildren: barrier again.
    rcu_core::rcu_barrier();
    assert!(controller.upgrade().is_none(), "the controller leaked");
    assert!(disk.upgrade().is_none(), "the disk leaked");
}
