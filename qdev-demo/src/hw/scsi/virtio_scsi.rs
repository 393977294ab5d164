//! A virtio-scsi-like controller: the request decoding and dispatch its I/O threads run without
//! the BQL (QEMU hw/scsi/virtio-scsi.c with dataplane), racing hot-plug on the main thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::hw::scsi::bus::{
    ScsiDeviceExt, scsi_device_find, scsi_device_get, scsi_target_emulate_report_luns,
};
use crate::hw::scsi::disk::{self, CommandStatus};
use crate::hw::scsi::lun::decode_virtio_scsi_lun;
use crate::hw::scsi::report_luns::REPORT_LUNS;
use crate::hw::scsi::sense::LUN_NOT_SUPPORTED;
use crate::qdev::bql::Bql;
use crate::qdev::device::{BusState, DeviceState};
use crate::qdev::sync_mode::ReaderSection;
use crate::qdev::walk::qdev_reset_all;
use crate::util::histogram::LatencyHistogram;
use crate::util::pacing::RequestPacing;

/// `VIRTIO_SCSI_CDB_SIZE`.
pub const CDB_SIZE: usize = 32;
/// Size of an encoded command request: lun(8) tag(8) task_attr(1) prio(1) crn(1) cdb(32).
pub const CMD_REQ_SIZE: usize = 51;
/// Size of an encoded control request: type(4) subtype(4) lun(8) tag(8).
pub const TMF_REQ_SIZE: usize = 24;
/// `VIRTIO_SCSI_T_TMF`, the control request type for task management.
pub const VIRTIO_SCSI_T_TMF: u32 = 0;

/// virtio-scsi response codes (`VIRTIO_SCSI_S_*`).
pub mod response {
    /// Command completed / function complete.
    pub const OK: u8 = 0;
    /// The target does not exist.
    pub const BAD_TARGET: u8 = 3;
    /// Other failure (including a malformed request).
    pub const FAILURE: u8 = 9;
    /// The task management function succeeded.
    pub const FUNCTION_SUCCEEDED: u8 = 10;
    /// The task management function is not supported.
    pub const FUNCTION_REJECTED: u8 = 11;
    /// The LUN in the request does not match the device.
    pub const INCORRECT_LUN: u8 = 12;
}

/// Task management subtypes (`VIRTIO_SCSI_T_TMF_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum TmfSubtype {
    /// ABORT TASK.
    AbortTask = 0,
    /// ABORT TASK SET.
    AbortTaskSet = 1,
    /// CLEAR ACA.
    ClearAca = 2,
    /// CLEAR TASK SET.
    ClearTaskSet = 3,
    /// I_T NEXUS RESET: every LUN of the target.
    ITNexusReset = 4,
    /// LOGICAL UNIT RESET.
    LogicalUnitReset = 5,
    /// QUERY TASK.
    QueryTask = 6,
    /// QUERY TASK SET.
    QueryTaskSet = 7,
}

impl TmfSubtype {
    fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::AbortTask,
            1 => Self::AbortTaskSet,
            2 => Self::ClearAca,
            3 => Self::ClearTaskSet,
            4 => Self::ITNexusReset,
            5 => Self::LogicalUnitReset,
            6 => Self::QueryTask,
            7 => Self::QueryTaskSet,
            _ => return None,
        })
    }
}

/// Encodes a command request as the guest would place it in the virtqueue.
///
/// ```
/// use qdev_demo::hw::scsi::lun::virtio_scsi_lun;
/// use qdev_demo::hw::scsi::virtio_scsi::encode_cmd_req;
/// let req = encode_cmd_req(virtio_scsi_lun(0, 1), 42, &[0x00; 6]);
/// assert_eq!(&req[0..4], &[1, 0, 0x40, 1]);
/// ```
///
/// # Panics
///
/// If `cdb` is longer than [`CDB_SIZE`].
pub fn encode_cmd_req(lun: [u8; 8], tag: u64, cdb: &[u8]) -> [u8; CMD_REQ_SIZE] {
    assert!(
        cdb.len() <= CDB_SIZE,
        "a virtio-scsi CDB holds at most {CDB_SIZE} bytes, got {}",
        cdb.len()
    );
    let mut req = [0u8; CMD_REQ_SIZE];
    req[0..8].copy_from_slice(&lun);
    req[8..16].copy_from_slice(&tag.to_le_bytes());
    req[19..19 + cdb.len()].copy_from_slice(cdb);
    req
}

/// Encodes a task-management request.
///
/// ```
/// use qdev_demo::hw::scsi::virtio_scsi::{TmfSubtype, encode_tmf_req};
/// let req = encode_tmf_req(TmfSubtype::ITNexusReset, [1, 2, 0, 0, 0, 0, 0, 0], 7);
/// assert_eq!(&req[4..8], &[4, 0, 0, 0]);
/// ```
pub fn encode_tmf_req(subtype: TmfSubtype, lun: [u8; 8], tag: u64) -> [u8; TMF_REQ_SIZE] {
    let mut req = [0u8; TMF_REQ_SIZE];
    req[0..4].copy_from_slice(&VIRTIO_SCSI_T_TMF.to_le_bytes());
    req[4..8].copy_from_slice(&(subtype as u32).to_le_bytes());
    req[8..16].copy_from_slice(&lun);
    req[16..24].copy_from_slice(&tag.to_le_bytes());
    req
}

/// The response to a command request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdResponse {
    /// `VIRTIO_SCSI_S_*` (see [`response`]).
    pub response: u8,
    /// The SCSI status and sense when `response` is OK.
    pub status: CommandStatus,
    /// The tag of the request.
    pub tag: u64,
}

/// Per-I/O-thread request statistics (no sharing on the hot path).
#[derive(Debug, Default, Clone)]
pub struct IoStats {
    /// Raw latency of each lookup as issued: entering the reader section (lock or RCU guard),
    /// finding the device (or building REPORT LUNS / walking for I_T nexus reset) and leaving it.
    /// One sample per lookup, so a thread stalled behind a writer records one slow sample while
    /// an unstalled one records hundreds of fast ones (coordinated omission).
    pub lookups: LatencyHistogram,
    /// The same lookups corrected for coordinated omission: each lookup that took longer than
    /// the thread's recent median request interval also records the requests that would have
    /// been issued during the stall, with their latency counted from their intended issue time
    /// ([`LatencyHistogram::record_corrected`]).
    pub lookups_corrected: LatencyHistogram,
    /// How long each lookup that waited for the reader lock (the BQL or the rwlock) waited: one
    /// sample per lookup that found the lock held, or the main loop queued for it
    /// ([`crate::qdev::sync_mode::SyncPolicy::reader`]). Its count is the number of lookups that
    /// waited. Always empty in RCU mode: RCU readers take no lock.
    pub lock_waits: LatencyHistogram,
    /// The sum of [`IoStats::lock_waits`].
    pub lock_wait_total: Duration,
    /// This thread's request pace (the expected interval of the correction).
    pub pacing: RequestPacing,
    /// CPU time the I/O thread used while it issued these requests (summed over threads by
    /// [`IoStats::merge`]). Requests per CPU-second do not depend on how much of a CPU the
    /// scheduler gave the thread.
    pub cpu_time: Duration,
    /// Command requests completed.
    pub commands: u64,
    /// Task-management requests completed.
    pub tmfs: u64,
    /// Lookups that returned no device (BAD_TARGET). Every target of the scenario keeps two
    /// disks plugged, so there this counts only lookups that met their disk linked on the bus
    /// but not yet realized (in the middle of a `device_add`) and skipped it, as QEMU's
    /// `scsi_device_find` skips unrealized devices. Only lock-free (RCU) readers can see that
    /// window: in the BQL and RwLock modes each command runs whole under the readers' lock.
    pub not_found: u64,
    /// Lookups of an absent (unplugged) LUN answered by another disk of the target (LOGICAL
    /// UNIT NOT SUPPORTED, or INCORRECT LUN for a task-management function).
    pub wrong_lun: u64,
    /// REPORT LUNS commands served.
    pub report_luns: u64,
    /// LOGICAL UNIT RESETs done.
    pub lun_resets: u64,
    /// I_T NEXUS RESETs done.
    pub nexus_resets: u64,
    /// Malformed requests.
    pub malformed: u64,
}

impl IoStats {
    /// Records a lookup that was issued at `start` and has just finished, raw and corrected for
    /// coordinated omission against the thread's recent median request interval.
    ///
    /// ```
    /// use qdev_demo::hw::scsi::virtio_scsi::IoStats;
    /// use std::time::Instant;
    /// let mut stats = IoStats::default();
    /// stats.record_lookup(Instant::now());
    /// assert_eq!((stats.lookups.count(), stats.lookups_corrected.count()), (1, 1));
    /// ```
    pub fn record_lookup(&mut self, start: Instant) {
        self.record_lookup_latency(start, start.elapsed());
    }

    /// [`IoStats::record_lookup`] with the latency given (for tests and replays).
    ///
    /// ```
    /// use qdev_demo::hw::scsi::virtio_scsi::IoStats;
    /// use std::time::{Duration, Instant};
    /// let mut stats = IoStats::default();
    /// let t0 = Instant::now();
    /// for i in 0..100u32 {
    ///     stats.record_lookup_latency(t0 + Duration::from_nanos(200) * i, Duration::from_nanos(50));
    /// }
    /// // Then one lookup stalls for 20 µs behind a writer: 99 requests would have queued behind it.
    /// stats.record_lookup_latency(t0 + Duration::from_micros(20), Duration::from_micros(20));
    /// assert_eq!(stats.lookups.count(), 101);
    /// assert_eq!(stats.lookups_corrected.count(), 101 + 99);
    /// ```
    pub fn record_lookup_latency(&mut self, start: Instant, latency: Duration) {
        let expected = self.pacing.expected_interval();
        self.pacing.on_request(start);
        self.lookups.record(latency);
        self.lookups_corrected.record_corrected(latency, expected);
    }

    /// Records that a lookup waited `wait` for the reader lock.
    ///
    /// ```
    /// use qdev_demo::hw::scsi::virtio_scsi::IoStats;
    /// use std::time::Duration;
    /// let mut stats = IoStats::default();
    /// stats.record_lock_wait(Duration::from_micros(150));
    /// assert_eq!(stats.lookups_waited(), 1);
    /// assert_eq!(stats.lock_wait_total, Duration::from_micros(150));
    /// ```
    pub fn record_lock_wait(&mut self, wait: Duration) {
        self.lock_waits.record(wait);
        self.lock_wait_total += wait;
    }

    /// Lookups that waited for the reader lock (0 in RCU mode).
    pub fn lookups_waited(&self) -> u64 {
        self.lock_waits.count()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &IoStats) {
        self.lookups.merge(&other.lookups);
        self.lock_waits.merge(&other.lock_waits);
        self.lock_wait_total += other.lock_wait_total;
        self.cpu_time += other.cpu_time;
        self.lookups_corrected.merge(&other.lookups_corrected);
        self.commands += other.commands;
        self.tmfs += other.tmfs;
        self.not_found += other.not_found;
        self.wrong_lun += other.wrong_lun;
        self.report_luns += other.report_luns;
        self.lun_resets += other.lun_resets;
        self.nexus_resets += other.nexus_resets;
        self.malformed += other.malformed;
    }
}

/// The controller's request side.
#[derive(Debug)]
pub struct VirtioScsi {
    bql: Arc<Bql>,
    bus: Arc<BusState>,
    resetting: AtomicU32,
}

impl VirtioScsi {
    /// Starts one lookup: notes the time and enters the sync mode's reader section, recording in
    /// `stats` how long it waited for the lock, if it did. Pass the time to
    /// [`IoStats::record_lookup`] once the section is left.
    fn enter_reader(&self, stats: &mut IoStats) -> (ReaderSection<'_>, Instant) {
        let start = Instant::now();
        let (section, waited) = self.bus.ctx().sync().reader(&self.bql);
        if let Some(wait) = waited {
            stats.record_lock_wait(wait);
        }
        (section, start)
    }

    /// `virtio_scsi_device_get`'s lookup: `scsi_device_get` on channel 0 inside the sync mode's
    /// reader section (RCU guard, BQL or read lock), timed into `stats` as one lookup.
    fn device_get(&self, target: u32, lun: u32, stats: &mut IoStats) -> Option<Arc<DeviceState>> {
        let (section, start) = self.enter_reader(stats);
        let dev = scsi_device_get(&self.bus, 0, target, lun);
        drop(section);
        stats.record_lookup(start);
        dev
    }

    pub(crate) fn new(bql: Arc<Bql>, bus: Arc<BusState>) -> Self {
        Self {
            bql,
            bus,
            resetting: AtomicU32::new(0),
        }
    }

    /// Whether a reset is in progress (`s->resetting`), which decides how cancelled requests
    /// complete.
    pub fn is_resetting(&self) -> bool {
        self.resetting.load(Ordering::Relaxed) > 0
    }

    /// Handles one command request (`virtio_scsi_handle_cmd_req_prepare` + submit): decode it, look
    /// the device up with a reference (`virtio_scsi_device_get`, in the machine's reader mode),
    /// then execute it outside any lock. REPORT LUNS goes to the target emulation. Data-in bytes
    /// land in `data`.
    ///
    /// ```
    /// use qdev_demo::util::histogram::LatencyHistogram;
    /// use qdev_demo::machine::Machine;
    /// use qdev_demo::hw::scsi::{disk::read10_cdb, lun::virtio_scsi_lun};
    /// use qdev_demo::hw::scsi::virtio_scsi::{IoStats, encode_cmd_req, response};
    /// let m = Machine::builder().build();
    /// m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=0,lun=0").unwrap();
    /// let (mut data, mut stats) = (Vec::new(), IoStats::default());
    /// let req = encode_cmd_req(virtio_scsi_lun(0, 0), 1, &read10_cdb(8, 1));
    /// let resp = m.virtio_scsi().handle_cmd(&req, &mut data, &mut stats);
    /// assert_eq!((resp.response, data.len()), (response::OK, 512));
    /// let req = encode_cmd_req(virtio_scsi_lun(5, 0), 2, &read10_cdb(8, 1));
    /// assert_eq!(m.virtio_scsi().handle_cmd(&req, &mut data, &mut stats).response, response::BAD_TARGET);
    /// ```
    pub fn handle_cmd(&self, req: &[u8], data: &mut Vec<u8>, stats: &mut IoStats) -> CmdResponse {
        data.clear();
        let mut resp = CmdResponse {
            response: response::FAILURE,
            status: CommandStatus::GOOD,
            tag: 0,
        };
        if req.len() < CMD_REQ_SIZE {
            stats.malformed += 1;
            return resp;
        }
        let lun: [u8; 8] = req[0..8].try_into().expect("8 bytes");
        resp.tag = u64::from_le_bytes(req[8..16].try_into().expect("8 bytes"));
        let cdb = &req[19..19 + CDB_SIZE];
        stats.commands += 1;
        let Some((target, lun)) = decode_virtio_scsi_lun(&lun) else {
            stats.not_found += 1;
            resp.response = response::BAD_TARGET;
            return resp;
        };
        let (target, lun) = (u32::from(target), u32::from(lun));

        if cdb[0] == REPORT_LUNS {
            let (section, start) = self.enter_reader(stats);
            let result = {
                let guard = rcu_core::read_lock();
                scsi_device_find(&self.bus, &guard, 0, target, lun)
                    .map(|_| scsi_target_emulate_report_luns(&self.bus, &guard, 0, target, cdb))
            };
            drop(section);
            stats.record_lookup(start);
            match result {
                None => {
                    stats.not_found += 1;
                    resp.response = response::BAD_TARGET;
                }
                Some(Ok(bytes)) => {
                    stats.report_luns += 1;
                    *data = bytes;
                    resp.response = response::OK;
                }
                Some(Err(sense)) => {
                    resp.response = response::OK;
                    resp.status = CommandStatus::check_condition(sense);
                }
            }
            return resp;
        }

        let Some(dev) = self.device_get(target, lun, stats) else {
            stats.not_found += 1;
            resp.response = response::BAD_TARGET;
            return resp;
        };
        resp.response = response::OK;
        if dev.scsi_address().is_some_and(|a| a.lun != lun) {
            stats.wrong_lun += 1;
            resp.status = CommandStatus::check_condition(LUN_NOT_SUPPORTED);
        } else {
            resp.status = disk::execute(&dev, cdb, data);
        }
        if !dev.is_live() {
            // We hold a reference: the device cannot have been freed.
            self.bus.ctx().safety().record_freed_seen();
        }
        resp
    }

    /// Handles one task-management request (`virtio_scsi_do_tmf`) and returns the
    /// `VIRTIO_SCSI_S_*` response. LOGICAL UNIT RESET needs the exact device (BAD_TARGET /
    /// INCORRECT_LUN otherwise); I_T NEXUS RESET resets every device on the target, realized or
    /// not, in one read-side critical section; the abort and query functions find nothing to
    /// abort (requests complete synchronously here); CLEAR ACA is rejected.
    ///
    /// ```
    /// use qdev_demo::machine::Machine;
    /// use qdev_demo::hw::scsi::lun::virtio_scsi_lun;
    /// use qdev_demo::hw::scsi::virtio_scsi::{IoStats, TmfSubtype, encode_tmf_req, response};
    /// let m = Machine::builder().build();
    /// let disk = m.device_add_str("scsi-hd,id=a,drive=d0,scsi-id=3,lun=1").unwrap();
    /// let mut stats = IoStats::default();
    /// let req = encode_tmf_req(TmfSubtype::LogicalUnitReset, virtio_scsi_lun(3, 1), 9);
    /// assert_eq!(m.virtio_scsi().handle_tmf(&req, &mut stats), response::OK);
    /// assert_eq!(disk.resets(), 1);
    /// let req = encode_tmf_req(TmfSubtype::LogicalUnitReset, virtio_scsi_lun(3, 0), 9);
    /// assert_eq!(m.virtio_scsi().handle_tmf(&req, &mut stats), response::INCORRECT_LUN);
    /// ```
    pub fn handle_tmf(&self, req: &[u8], stats: &mut IoStats) -> u8 {
        if req.len() < TMF_REQ_SIZE
            || u32::from_le_bytes(req[0..4].try_into().expect("4 bytes")) != VIRTIO_SCSI_T_TMF
        {
            stats.malformed += 1;
            return response::FAILURE;
        }
        stats.tmfs += 1;
        let Some(subtype) =
            TmfSubtype::from_u32(u32::from_le_bytes(req[4..8].try_into().expect("4 bytes")))
        else {
            return response::FUNCTION_REJECTED;
        };
        let lun_field: [u8; 8] = req[8..16].try_into().expect("8 bytes");

        if subtype == TmfSubtype::ITNexusReset {
            let target = u32::from(lun_field[1]);
            self.resetting.fetch_add(1, Ordering::Relaxed);
            let (section, start) = self.enter_reader(stats);
            {
                let guard = rcu_core::read_lock();
                for kid in self.bus.children(&guard) {
                    kid.check_live();
                    let dev = kid.device();
                    if dev
                        .scsi_address()
                        .is_some_and(|a| a.channel == 0 && a.id == target)
                    {
                        qdev_reset_all(dev);
                    }
                }
            }
            drop(section);
            stats.record_lookup(start);
            self.resetting.fetch_sub(1, Ordering::Relaxed);
            stats.nexus_resets += 1;
            return response::OK;
        }
        if subtype == TmfSubtype::ClearAca {
            return response::FUNCTION_REJECTED;
        }

        let Some((target, lun)) = decode_virtio_scsi_lun(&lun_field) else {
            return response::BAD_TARGET;
        };
        let (target, lun) = (u32::from(target), u32::from(lun));
        let Some(dev) = self.device_get(target, lun, stats) else {
            stats.not_found += 1;
            return response::BAD_TARGET;
        };
        if dev.scsi_address().is_some_and(|a| a.lun != lun) {
            stats.wrong_lun += 1;
            return response::INCORRECT_LUN;
        }
        match subtype {
            TmfSubtype::LogicalUnitReset => {
                self.resetting.fetch_add(1, Ordering::Relaxed);
                qdev_reset_all(&dev);
                self.resetting.fetch_sub(1, Ordering::Relaxed);
                stats.lun_resets += 1;
                response::OK
            }
            // No request is ever in flight: nothing to abort, nothing found by a query.
            TmfSubtype::AbortTask | TmfSubtype::AbortTaskSet | TmfSubtype::ClearTaskSet => {
                response::OK
            }
            TmfSubtype::QueryTask | TmfSubtype::QueryTaskSet => response::OK,
            TmfSubtype::ITNexusReset | TmfSubtype::ClearAca => unreachable!("handled above"),
        }
    }
}
