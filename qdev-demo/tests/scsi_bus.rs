//! `scsi_device_find` / `scsi_device_get` matching rules, address checks and allocation, REPORT
//! LUNS through the bus, on a real machine.

use std::sync::Arc;

use qdev_demo::block::drive::Drive;
use qdev_demo::hw::scsi::bus::{
    ScsiAddress, ScsiAddressError, ScsiBusInfo, ScsiDeviceExt, check_lookup_result,
    do_scsi_device_find, scsi_bus_allocate_address, scsi_bus_check_address,
    scsi_bus_is_address_free, scsi_device_find, scsi_device_get, scsi_target_emulate_report_luns,
};
use qdev_demo::hw::scsi::report_luns::{parse_report_luns, report_luns_cdb};
use qdev_demo::hw::scsi::sense::INVALID_FIELD;
use qdev_demo::machine::Machine;
use qdev_demo::qdev::bus::{bus_add_child, qdev_set_parent_bus};
use qdev_demo::qdev::device::{BusState, DeviceState, device_set_realized};

fn add(m: &Machine, id: &str, drive: &str, target: u32, lun: u32) -> Arc<DeviceState> {
    m.device_add_str(&format!(
        "scsi-hd,id={id},drive={drive},scsi-id={target},lun={lun}"
    ))
    .unwrap()
}

/// A device on the SCSI bus that was never realized (as between `qdev_set_parent_bus` and the end
/// of realize in `qdev_realize`).
fn add_unrealized(m: &Machine, id: &str, target: u32, lun: u32) -> Arc<DeviceState> {
    let drive = Arc::new(Drive::new(format!("u-{id}"), 8));
    assert!(drive.try_attach());
    let dev = Arc::new(
        DeviceState::new(m.ctx(), "scsi-hd", Some(id.to_owned()))
            .with_scsi_address(ScsiAddress {
                channel: 0,
                id: target,
                lun,
            })
            .with_drive(drive),
    );
    qdev_set_parent_bus(&mut m.bql().lock(), &dev, m.scsi_bus()).unwrap();
    dev
}

fn find_id(m: &Machine, channel: u32, target: u32, lun: u32) -> Option<String> {
    let guard = rcu_core::read_lock();
    scsi_device_find(m.scsi_bus(), &guard, channel, target, lun).map(|d| d.id().unwrap().to_owned())
}

#[test]
fn exact_match_wins_over_fallback() {
    let m = Machine::builder().build();
    add(&m, "l0", "d0", 1, 0);
    add(&m, "l5", "d1", 1, 5);
    add(&m, "l9", "d2", 1, 9);
    assert_eq!(find_id(&m, 0, 1, 5).as_deref(), Some("l5"));
    assert_eq!(find_id(&m, 0, 1, 0).as_deref(), Some("l0"));
}

#[test]
fn fallback_is_the_newest_device_of_the_target() {
    let m = Machine::builder().build();
    add(&m, "old", "d0", 2, 1);
    add(&m, "new", "d1", 2, 3);
    add(&m, "other-target", "d2", 3, 7);
    assert_eq!(find_id(&m, 0, 2, 42).as_deref(), Some("new"));
    assert_eq!(find_id(&m, 0, 4, 0), None, "no device on target 4");
    assert_eq!(find_id(&m, 1, 2, 1), None, "wrong channel");
}

#[test]
fn unrealized_devices_are_not_returned() {
    let m = Machine::builder().build();
    add(&m, "ready", "d0", 0, 0);
    let half = add_unrealized(&m, "half", 0, 1);
    // Exact match unrealized: None, even though a realized device sits on the same target.
    assert_eq!(find_id(&m, 0, 0, 1), None);
    // The fallback is the newest device of the target: "half", unrealized, so None as well.
    assert_eq!(find_id(&m, 0, 0, 9), None);
    assert!(scsi_device_get(m.scsi_bus(), 0, 0, 1).is_none());
    {
        let guard = rcu_core::read_lock();
        let found = do_scsi_device_find(m.scsi_bus(), &guard, 0, 0, 1, true).unwrap();
        assert!(Arc::ptr_eq(found, &half));
        // The safety check catches a half-built device handed out by a lookup.
        assert!(!check_lookup_result(found));
        // The realized exact match is still found.
        assert_eq!(
            scsi_device_find(m.scsi_bus(), &guard, 0, 0, 0)
                .unwrap()
                .id(),
            Some("ready")
        );
    }
    assert_eq!(m.ctx().safety().snapshot().unrealized_returned, 1);
    device_set_realized(&m.bql().lock(), &half, true).unwrap();
    assert_eq!(find_id(&m, 0, 0, 1).as_deref(), Some("half"));
    assert!(check_lookup_result(&half));
}

#[test]
fn get_takes_a_reference() {
    let m = Machine::builder().build();
    add(&m, "a", "d0", 0, 0);
    let dev = scsi_device_get(m.scsi_bus(), 0, 0, 0).unwrap();
    assert_eq!(
        Arc::strong_count(&dev),
        2,
        "bus child + ours (the peripheral container holds a weak reference)"
    );
}

#[test]
fn address_checks() {
    let m = Machine::builder().build();
    let info = ScsiBusInfo::VIRTIO_SCSI;
    let mk = |channel, id, lun| {
        DeviceState::new(m.ctx(), "scsi-hd", None).with_scsi_address(ScsiAddress {
            channel,
            id,
            lun,
        })
    };
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &mk(1, 0, 0)),
        Err(ScsiAddressError::BadChannel(1))
    );
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &mk(0, 256, 0)),
        Err(ScsiAddressError::BadId(256))
    );
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &mk(0, 0, 16384)),
        Err(ScsiAddressError::BadLun(16384))
    );
    let wide = ScsiBusInfo {
        max_lun: u32::MAX,
        ..info
    };
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &wide, &mk(0, 0, 16384)),
        Err(ScsiAddressError::BadLun(16384)),
        "flat addressing caps LUNs at 16383 whatever the bus says"
    );
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &mk(0, 0, 0)),
        Ok(())
    );
    // A device being realized still occupies its address.
    add_unrealized(&m, "busy", 0, 0);
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &mk(0, 0, 0)),
        Err(ScsiAddressError::LunInUse { by: "busy".into() })
    );
    let guard = rcu_core::read_lock();
    assert!(scsi_bus_is_address_free(m.scsi_bus(), &guard, 0, 0, 0).is_err());
    assert!(
        scsi_bus_is_address_free(m.scsi_bus(), &guard, 0, 0, 1).is_ok(),
        "fallback is not a match"
    );
    // Devices without a SCSI address pass the hook.
    assert_eq!(
        scsi_bus_check_address(m.scsi_bus(), &info, &DeviceState::new(m.ctx(), "x", None)),
        Ok(())
    );
}

#[test]
fn duplicate_addresses_never_reach_the_list() {
    let m = Machine::builder().build();
    add(&m, "first", "d0", 0, 3);
    let err = m
        .device_add_str("scsi-hd,id=second,drive=d1,scsi-id=0,lun=3")
        .unwrap_err();
    assert_eq!(err.to_string(), "lun already used by 'first'");
    assert_eq!(m.scsi_bus().num_children(), 1);
    assert!(
        !m.drive("d1").unwrap().is_attached(),
        "the refused device released its drive"
    );
}

#[test]
fn address_allocation() {
    let m = Machine::builder().drives(0).build();
    let small = ScsiBusInfo {
        max_channel: 0,
        max_target: 1,
        max_lun: 1,
    };
    let bql = m.bql();
    let bus = BusState::new(bql, m.ctx(), "small.0", small);
    let alloc = |id, lun| scsi_bus_allocate_address(&bus, &small, 0, id, lun);
    assert_eq!(
        alloc(None, None),
        Ok(ScsiAddress {
            channel: 0,
            id: 0,
            lun: 0
        })
    );
    assert_eq!(
        alloc(Some(1), Some(1)),
        Ok(ScsiAddress {
            channel: 0,
            id: 1,
            lun: 1
        })
    );
    assert_eq!(alloc(Some(2), None), Err(ScsiAddressError::BadId(2)));
    assert_eq!(
        scsi_bus_allocate_address(&bus, &small, 1, None, None),
        Err(ScsiAddressError::BadChannel(1))
    );
    let put = |id, lun| {
        let dev = Arc::new(
            DeviceState::new(m.ctx(), "scsi-hd", None).with_scsi_address(ScsiAddress {
                channel: 0,
                id,
                lun,
            }),
        );
        bus_add_child(&mut bql.lock(), &bus, &dev);
    };
    put(0, 0);
    assert_eq!(
        alloc(None, None),
        Ok(ScsiAddress {
            channel: 0,
            id: 1,
            lun: 0
        })
    );
    assert_eq!(
        alloc(Some(0), None),
        Ok(ScsiAddress {
            channel: 0,
            id: 0,
            lun: 1
        })
    );
    put(1, 0);
    assert_eq!(alloc(None, None), Err(ScsiAddressError::NoFreeTarget));
    assert_eq!(
        alloc(None, Some(1)),
        Ok(ScsiAddress {
            channel: 0,
            id: 0,
            lun: 1
        })
    );
    put(0, 1);
    assert_eq!(alloc(Some(0), None), Err(ScsiAddressError::NoFreeLun));
}

#[test]
fn report_luns_through_the_bus() {
    let m = Machine::builder().build();
    add(&m, "a", "d0", 5, 1);
    add(&m, "b", "d1", 5, 256);
    add(&m, "c", "d2", 6, 2);
    add_unrealized(&m, "half", 5, 7);
    let guard = rcu_core::read_lock();
    let data =
        scsi_target_emulate_report_luns(m.scsi_bus(), &guard, 0, 5, &report_luns_cdb(0, 4096))
            .unwrap();
    // Newest first; the unrealized device is listed (QEMU does not filter REPORT LUNS).
    assert_eq!(parse_report_luns(&data).unwrap().luns, [0, 7, 256, 1]);
    assert_eq!(&data[24..26], &[0x41, 0x00]);
    let empty =
        scsi_target_emulate_report_luns(m.scsi_bus(), &guard, 0, 9, &report_luns_cdb(0, 16))
            .unwrap();
    assert_eq!(empty, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        scsi_target_emulate_report_luns(m.scsi_bus(), &guard, 0, 5, &report_luns_cdb(0, 8)),
        Err(INVALID_FIELD)
    );
    let truncated =
        scsi_target_emulate_report_luns(m.scsi_bus(), &guard, 0, 5, &report_luns_cdb(0, 20))
            .unwrap();
    assert_eq!(truncated.len(), 16);
    assert_eq!(&truncated[0..4], &[0, 0, 0, 32]);
}
