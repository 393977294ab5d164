//! Workload 6: qdev-demo's I/O-thread request path in its three `--sync` modes.
//!
//! A virtio-scsi controller with 8 disks (2 targets × LUNs 0, 1, 2 and 300; LUNs 0 and 1
//! stay plugged, 2 and 300 are hot-plugged), as in the qdev-demo scenario. I/O threads
//! issue requests through `VirtioScsi::handle_cmd` (decode, look the disk up on the bus
//! under the mode's reader section, READ(10) one block, build the response; every 64th
//! request is REPORT LUNS). Optionally a main-loop thread hot-plugs and unplugs the
//! hot disks continuously, as qdev-demo's scenario does by default and QEMU's main loop
//! does under a stream of QMP commands: it holds the BQL except around a zero-timeout
//! poll between commands, and each `device_add` spends the realize cost (200 µs, the
//! demo's default) under it. The mode is the contender: `rcu` (readers only enter an RCU
//! read-side section), `bql` (readers take the big lock) and `rwlock` (readers take a
//! read lock that each whole hot-plug command holds exclusively).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use qdev_demo::block::drive::Drive;
use qdev_demo::hw::scsi::disk::read10_cdb;
use qdev_demo::hw::scsi::lun::virtio_scsi_lun;
use qdev_demo::hw::scsi::report_luns::report_luns_cdb;
use qdev_demo::hw::scsi::virtio_scsi::{IoStats, encode_cmd_req, response};
use qdev_demo::machine::Machine;
use qdev_demo::qdev::bql::BqlGuard;
use qdev_demo::qdev::sync_mode::SyncMode;
use qdev_demo::util::histogram::LatencyHistogram;

use crate::driver::{Stop, timed_parallel};

/// LUNs of the four disks of each target; the first two stay plugged.
const SLOT_LUNS: [u16; 4] = [0, 1, 2, 300];

/// Disks on the bus at the start (2 targets).
pub const DISKS: usize = 8;

/// Busy time of a disk's realize under the BQL (qdev-demo's default).
pub const REALIZE_COST: Duration = Duration::from_micros(200);

/// Blocks a READ(10) may address (well inside qdev-demo's default drive size).
const LBA_SPAN: u64 = 1 << 20;

#[derive(Debug)]
struct Slot {
    target: u8,
    lun: u16,
    id: String,
    /// The slot's drive: attached while a disk uses it, released when that disk is finally
    /// freed (after the grace period that follows its unplug).
    drive: Arc<Drive>,
    options: String,
}

/// Hot-plug state, touched only by the main-loop thread.
#[derive(Debug, Default)]
struct Hotplug {
    next: usize,
    present: Vec<bool>,
    operations: u64,
    failures: u64,
}

/// A machine in one sync mode, with its disks plugged.
#[derive(Debug)]
pub struct QdevBench {
    mode: SyncMode,
    machine: Machine,
    slots: Vec<Slot>,
    hotplug: Mutex<Hotplug>,
}

impl QdevBench {
    /// Builds the machine in `mode` and plugs all [`DISKS`] disks.
    ///
    /// ```
    /// use benches::qdev::QdevBench;
    /// use qdev_demo::qdev::sync_mode::SyncMode;
    /// let bench = QdevBench::new(SyncMode::Rcu);
    /// let mut stats = qdev_demo::hw::scsi::virtio_scsi::IoStats::default();
    /// bench.requests(0, 100, &mut stats);
    /// assert_eq!(stats.commands, 100);
    /// assert_eq!(stats.not_found, 0);
    /// ```
    pub fn new(mode: SyncMode) -> Self {
        let machine = Machine::builder()
            .sync(mode)
            .realize_cost(REALIZE_COST)
            .drives(DISKS)
            .build();
        let slots: Vec<Slot> = (0..DISKS)
            .map(|i| {
                let target = u8::try_from(i / SLOT_LUNS.len()).expect("a handful of targets");
                let lun = SLOT_LUNS[i % SLOT_LUNS.len()];
                let (id, drive) = (format!("disk{i}"), format!("d{i}"));
                let options = format!("scsi-hd,id={id},drive={drive},scsi-id={target},lun={lun}");
                let drive = machine
                    .drive(&drive)
                    .unwrap_or_else(|| panic!("the machine was built with drive {drive}"));
                Slot {
                    target,
                    lun,
                    id,
                    drive,
                    options,
                }
            })
            .collect();
        for slot in &slots {
            machine
                .device_add_str(&slot.options)
                .unwrap_or_else(|e| panic!("plugging {} into an empty bus failed: {e}", slot.id));
        }
        let hotplug = Hotplug {
            present: vec![true; slots.len()],
            ..Hotplug::default()
        };
        Self {
            mode,
            machine,
            slots,
            hotplug: Mutex::new(hotplug),
        }
    }

    /// The sync mode (the contender's name is its command-line spelling).
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Issues `n` requests numbered from `first`: READ(10) of one block to the disks in
    /// turn, every 64th a REPORT LUNS.
    pub fn requests(&self, first: u64, n: u64, stats: &mut IoStats) {
        let controller = self.machine.virtio_scsi();
        let mut data = Vec::with_capacity(4096);
        for i in first..first + n {
            let slot = &self.slots[(i % self.slots.len() as u64) as usize];
            let lun = virtio_scsi_lun(slot.target, slot.lun);
            let request = if i % 64 == 63 {
                encode_cmd_req(lun, i, &report_luns_cdb(0, 4096))
            } else {
                let lba = u32::try_from(i.wrapping_mul(0x9e37_79b9) % LBA_SPAN)
                    .expect("LBA_SPAN fits u32");
                encode_cmd_req(lun, i, &read10_cdb(lba, 1))
            };
            let reply = controller.handle_cmd(&request, &mut data, stats);
            debug_assert!(
                reply.response == response::OK || reply.response == response::BAD_TARGET,
                "unexpected virtio-scsi response {}",
                reply.response
            );
        }
    }

    /// One hot-plug command of the main loop, run whole under the BQL held by `bql`
    /// (taken with [`qdev_demo::qdev::bql::Bql::lock_main_loop`]): unplug the next hot disk if
    /// it is present, otherwise plug it back once its drive is free again.
    pub fn hotplug_step(&self, bql: &mut BqlGuard<'_>) {
        let mut hp = self.hotplug.lock().unwrap_or_else(PoisonError::into_inner);
        let hot: Vec<usize> = (0..self.slots.len())
            .filter(|i| i % SLOT_LUNS.len() >= 2)
            .collect();
        let s = hot[hp.next % hot.len()];
        hp.next += 1;
        let slot = &self.slots[s];
        if hp.present[s] {
            self.machine
                .device_del_locked(bql, &slot.id)
                .unwrap_or_else(|e| panic!("unplugging present disk {} failed: {e}", slot.id));
            hp.present[s] = false;
            hp.operations += 1;
        } else if !slot.drive.is_attached() {
            let options = slot
                .options
                .parse()
                .unwrap_or_else(|e| panic!("bad device options {}: {e}", slot.options));
            match self.machine.device_add_locked(bql, &options) {
                Ok(_) => {
                    hp.present[s] = true;
                    hp.operations += 1;
                }
                Err(_) => hp.failures += 1,
            }
        }
    }

    /// Hot-plug operations done so far and `device_add`s that failed.
    pub fn hotplug_counts(&self) -> (u64, u64) {
        let hp = self.hotplug.lock().unwrap_or_else(PoisonError::into_inner);
        (hp.operations, hp.failures)
    }
}

/// QEMU's main loop under continuous hot-plug: the BQL is held except around a
/// zero-timeout poll between two commands.
fn main_loop(bench: &QdevBench, stop: &Stop) {
    let mut bql = bench.machine.bql().lock_main_loop();
    while !stop.is_set() {
        bench.hotplug_step(&mut bql);
        bql.unlocked(|| qdev_demo::util::os::poll_timeout(Duration::ZERO));
    }
}

/// `iothreads` threads each issue `iters` requests, with the hot-plugging main loop in
/// the background when `hotplug` is true. Returns the wall time of the requests.
///
/// ```
/// use benches::qdev::{drive_requests, QdevBench};
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// let bench = QdevBench::new(SyncMode::Bql);
/// assert!(drive_requests(&bench, 2, true, 200).as_nanos() > 0);
/// ```
pub fn drive_requests(bench: &QdevBench, iothreads: usize, hotplug: bool, iters: u64) -> Duration {
    timed_parallel(
        bench,
        iothreads,
        usize::from(hotplug),
        |_, _| rcu_core::register_thread(),
        |b, index| {
            let mut stats = IoStats::default();
            b.requests(index as u64 * iters, iters, &mut stats);
            std::hint::black_box(stats.commands);
        },
        |b, _, stop| main_loop(b, stop),
        |_, _| {},
    )
}

/// Request throughput and lookup latency of one fixed-duration run.
#[derive(Clone, Debug)]
pub struct LatencyRun {
    /// Requests completed by all I/O threads.
    pub requests: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Lookup latency (reader section + find), all I/O threads merged.
    pub lookups: LatencyHistogram,
    /// The same lookups corrected for coordinated omission (qdev-demo's
    /// `lookups_corrected`: catch-up samples for requests a stalled thread did not issue).
    pub lookups_corrected: LatencyHistogram,
    /// Hot-plug operations the main loop completed.
    pub hotplug_operations: u64,
}

impl LatencyRun {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `iothreads` I/O threads for `duration` (with or without hot-plug) and collects
/// qdev-demo's lookup-latency histogram.
///
/// ```
/// use std::time::Duration;
/// use benches::qdev::latency_run;
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// let run = latency_run(SyncMode::Rcu, 1, true, Duration::from_millis(20));
/// assert!(run.requests > 0 && run.lookups.count() > 0);
/// ```
pub fn latency_run(
    mode: SyncMode,
    iothreads: usize,
    hotplug: bool,
    duration: Duration,
) -> LatencyRun {
    let bench = QdevBench::new(mode);
    let before = bench.hotplug_counts().0;
    let merged = Mutex::new((IoStats::default(), 0u64));
    let began = Instant::now();
    timed_parallel(
        &bench,
        iothreads,
        usize::from(hotplug),
        |_, _| rcu_core::register_thread(),
        |b, index| {
            let mut stats = IoStats::default();
            let mut next = index as u64 * (1 << 40);
            let mut done = 0;
            while began.elapsed() < duration {
                b.requests(next, 256, &mut stats);
                next += 256;
                done += 256;
            }
            let mut m = merged.lock().unwrap_or_else(PoisonError::into_inner);
            m.0.merge(&stats);
            m.1 += done;
        },
        |b, _, stop| main_loop(b, stop),
        |_, _| {},
    );
    let elapsed = began.elapsed();
    let (stats, requests) = merged.into_inner().unwrap_or_else(PoisonError::into_inner);
    LatencyRun {
        requests,
        elapsed,
        lookups: stats.lookups,
        lookups_corrected: stats.lookups_corrected,
        hotplug_operations: bench.hotplug_counts().0 - before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_serves_requests_under_hotplug() {
        for mode in SyncMode::ALL {
            let bench = QdevBench::new(mode);
            assert!(drive_requests(&bench, 2, true, 300) > Duration::ZERO);
            {
                let mut bql = bench.machine.bql().lock_main_loop();
                for _ in 0..8 {
                    bench.hotplug_step(&mut bql);
                    // Let the grace period that frees an unplugged disk's drive pass.
                    bql.unlocked(rcu_core::rcu_barrier);
                }
            }
            let (ops, failures) = bench.hotplug_counts();
            assert!(ops >= 1, "{mode}: no hot-plug operation happened");
            assert_eq!(failures, 0, "{mode}: device_add failed");
            assert_eq!(bench.mode(), mode);
        }
    }
}
