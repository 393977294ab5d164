//! The seed's scenario: a virtio-scsi controller with several disks, I/O threads issuing requests
//! as fast as they can, and the main thread hot-plugging and unplugging disks at a fixed pace,
//! with safety checks that must stay zero. [`Scenario`] runs it in four phases: start, the
//! hot-plug loop, stop, summarise.
//!
//! The main thread is modelled on QEMU's main loop: it holds the BQL all the time except around
//! its poll (`main_loop_wait` releases the BQL only around `ppoll`). When a hot-plug is due it
//! runs one whole QMP command, `device_add` (create, `qdev_set_parent_bus`, realize with its busy
//! cost, plug) or `device_del` (unrealize, unparent), then polls with the BQL released
//! ([`crate::util::os::poll_timeout`], a `ppoll`) until the next one is due. Commands are due at
//! a fixed pace, one every `hotplug_interval` from the start (a main loop that fell behind
//! catches up at up to twice the pace, never back to back, so that it still releases the BQL
//! between commands; in the comparison a run goes on past its duration until its commands are
//! issued, [`ScenarioConfig::finish_hotplugs`]), so every `--sync` mode gets the same number of
//! hot-plugs; with `hotplug_interval` zero they run back to back ("continuous hot-plug", as many
//! as the main loop manages). When a command is due but none can be issued (every hot-plugged
//! slot is unplugged and its drives still await DEVICE_DELETED), and without hot-plug, the main
//! loop waits in its poll for the next DEVICE_DELETED or status update.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::block::drive::Drive;
use crate::hw::scsi::disk::read10_cdb;
use crate::hw::scsi::lun::virtio_scsi_lun;
use crate::hw::scsi::report_luns::{parse_report_luns, report_luns_cdb};
use crate::hw::scsi::virtio_scsi::{IoStats, TmfSubtype, encode_cmd_req, encode_tmf_req, response};
use crate::machine::{DeviceAddOptions, Machine, drain_rcu_callbacks};
use crate::qdev::bql::BqlGuard;
use crate::qdev::context::spin_for;
use crate::qdev::device::DeviceState;
use crate::qdev::walk::{QdevVisitor, Walk, qbus_walk_children};
use crate::run::config::ScenarioConfig;
use crate::run::summary::{HotplugStats, MainLoopStats, Summary};
use crate::util::os;

/// LUNs of the four slots of each target: 0 and 1 stay plugged, 2 and 300 (flat addressing) are
/// hot-plugged.
pub const SLOT_LUNS: [u16; 4] = [0, 1, 2, 300];

/// One disk slot of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// SCSI target.
    pub target: u8,
    /// LUN.
    pub lun: u16,
    /// Whether the disk stays plugged for the whole run.
    pub permanent: bool,
    /// Device id, `disk<N>`.
    pub id: String,
    /// Drive names: `d<N>` for a permanent disk; a pool `d<N>.0`, `d<N>.1`, ... for a
    /// hot-plugged one, whose previous drive stays busy until its DEVICE_DELETED.
    pub drives: Vec<String>,
}

/// Drives per hot-plugged slot: a re-plug takes a free drive of the pool while the previous one
/// waits for its device's grace period, like a host loop that gives each new disk a new backend.
pub const DRIVES_PER_HOT_SLOT: usize = 4;

/// The slots for `disks` disks.
///
/// ```
/// let slots = qdev_demo::run::scenario::slots(6);
/// assert_eq!((slots[5].target, slots[5].lun, slots[5].permanent), (1, 1, true));
/// assert_eq!((slots[3].lun, slots[3].permanent), (300, false));
/// ```
pub fn slots(disks: usize) -> Vec<Slot> {
    (0..disks)
        .map(|i| {
            let permanent = i % SLOT_LUNS.len() < 2;
            let drives = if permanent {
                vec![format!("d{i}")]
            } else {
                (0..DRIVES_PER_HOT_SLOT)
                    .map(|k| format!("d{i}.{k}"))
                    .collect()
            };
            Slot {
                target: u8::try_from(i / SLOT_LUNS.len()).expect("at most 256 disks (64 targets)"),
                lun: SLOT_LUNS[i % SLOT_LUNS.len()],
                permanent,
                id: format!("disk{i}"),
                drives,
            }
        })
        .collect()
}

/// What REPORT LUNS may and must list for one target.
#[derive(Debug, Clone, Default)]
struct TargetExpect {
    allowed: Vec<u16>,
    permanent: Vec<u16>,
}

/// Checks a REPORT LUNS reply against the target's slots: well formed, not truncated, LUN 0
/// first, no duplicates, only LUNs of the target's slots, every permanent LUN present.
fn report_luns_consistent(data: &[u8], expect: &TargetExpect) -> bool {
    let Ok(reply) = parse_report_luns(data) else {
        return false;
    };
    if reply.list_len as usize != data.len() - 8 || reply.luns.first() != Some(&0) {
        return false;
    }
    let mut seen = reply.luns.clone();
    seen.sort_unstable();
    seen.dedup();
    seen.len() == reply.luns.len()
        && reply.luns.iter().all(|l| expect.allowed.contains(l))
        && expect.permanent.iter().all(|l| reply.luns.contains(l))
}

/// What [`run_scenario`] reports while it runs (the binary draws a progress bar from it).
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Plugging the initial disks before the timer starts: `done` of `total` realized (each
    /// realize spends `--realize-cost`).
    Realizing {
        /// Disks plugged so far.
        done: usize,
        /// Disks to plug.
        total: usize,
    },
    /// The timed run, about four times a second.
    Running(LiveStatus),
}

/// The live status of a timed run.
#[derive(Debug, Clone, Copy)]
pub struct LiveStatus {
    /// Time since the start.
    pub elapsed: Duration,
    /// Requests served so far (published every few hundred requests).
    pub requests: u64,
    /// Request rate since the previous status.
    pub requests_per_sec: f64,
    /// Hot-plug operations so far.
    pub hotplug_ops: u64,
    /// Grace periods since the start.
    pub grace_periods: u64,
    /// rcu-core callbacks queued and not yet run.
    pub callbacks_pending: u64,
}

impl std::fmt::Display for LiveStatus {
    /// At most 50 columns, e.g. `2.47M req/s · 1,234 hot-plugs · 567 grace periods`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} req/s · {} hot-plugs · {} grace periods",
            crate::util::units::si(self.requests_per_sec),
            indicatif::HumanCount(self.hotplug_ops),
            indicatif::HumanCount(self.grace_periods),
        )
    }
}

/// xorshift64*: cheap, deterministic choices.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n.max(1)
    }
}

/// Per-thread padded counter of requests (published, read by the status line).
#[repr(align(128))]
#[derive(Debug, Default)]
struct Published(AtomicU64);

/// The slots and what REPORT LUNS may list on each target, shared with the I/O threads.
#[derive(Debug)]
struct Plan {
    slots: Vec<Slot>,
    expect: Vec<TargetExpect>,
}

impl Plan {
    fn new(disks: usize) -> Self {
        let slots = slots(disks);
        let targets = slots
            .iter()
            .map(|s| usize::from(s.target) + 1)
            .max()
            .unwrap_or(0);
        let mut expect = vec![TargetExpect::default(); targets];
        for s in &slots {
            let e = &mut expect[usize::from(s.target)];
            e.allowed.push(s.lun);
            if s.permanent {
                e.permanent.push(s.lun);
            }
        }
        Self { slots, expect }
    }
}

fn io_thread(
    machine: &Machine,
    plan: &Plan,
    stop: &AtomicBool,
    published: &Published,
    seed: u64,
) -> IoStats {
    let (slots, expect) = (&plan.slots, &plan.expect);
    let cpu_start = os::thread_cpu_time();
    let vs = machine.virtio_scsi();
    let mut stats = IoStats::default();
    let mut data = Vec::with_capacity(4096);
    let mut rng = Rng::new(seed);
    let mut n: u64 = 0;
    let blocks = u32::try_from(crate::machine::DEFAULT_DRIVE_BLOCKS).unwrap_or(u32::MAX);
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..256 {
            n += 1;
            let slot = &slots[rng.below(slots.len())];
            let lun = virtio_scsi_lun(slot.target, slot.lun);
            if n % 4096 == 1 {
                let req = encode_tmf_req(TmfSubtype::LogicalUnitReset, lun, n);
                vs.handle_tmf(&req, &mut stats);
            } else if n % 8192 == 2 {
                let req = encode_tmf_req(TmfSubtype::ITNexusReset, lun, n);
                vs.handle_tmf(&req, &mut stats);
            } else if n % 64 == 3 {
                let req = encode_cmd_req(lun, n, &report_luns_cdb(0, 4096));
                let resp = vs.handle_cmd(&req, &mut data, &mut stats);
                // BAD_TARGET is legitimate: the exact-match device may be mid-realize.
                let ok = resp.response == response::BAD_TARGET
                    || (resp.response == response::OK
                        && resp.status.sense.is_none()
                        && report_luns_consistent(&data, &expect[usize::from(slot.target)]));
                if !ok {
                    machine.ctx().safety().record_report_luns_inconsistent();
                }
            } else {
                let lba = (rng.below(blocks as usize)) as u32;
                let req = encode_cmd_req(lun, n, &read10_cdb(lba, 1));
                vs.handle_cmd(&req, &mut data, &mut stats);
            }
        }
        published
            .0
            .store(stats.commands + stats.tmfs, Ordering::Relaxed);
    }
    stats.cpu_time = os::thread_cpu_time().saturating_sub(cpu_start);
    stats
}

/// The walker's visitor: a slow reader that checks every device before and after dwelling on it.
struct DwellingVisitor {
    dwell: Duration,
    machine_safety: Arc<crate::qdev::context::QdevContext>,
}

impl QdevVisitor for DwellingVisitor {
    type Error = std::convert::Infallible;

    fn pre_device(&mut self, dev: &DeviceState) -> Result<Walk, Self::Error> {
        if !dev.is_live() {
            self.machine_safety.safety().record_freed_seen();
        }
        spin_for(self.dwell);
        if !dev.is_live() {
            self.machine_safety.safety().record_freed_seen();
        }
        Ok(Walk::Continue)
    }
}

fn walker_thread(machine: &Machine, config: &ScenarioConfig, stop: &AtomicBool) -> u64 {
    let mut visitor = DwellingVisitor {
        dwell: config.walker_dwell,
        machine_safety: Arc::clone(machine.ctx()),
    };
    let mut walks = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(()) = qbus_walk_children(machine.sysbus(), &mut visitor);
        walks += 1;
        // Pacing only (the walker is a background reader), not synchronization.
        std::thread::sleep(config.walker_interval);
    }
    walks
}

/// How many hot-plug commands a run issues: one per `hotplug_interval` of its duration (none
/// without hot-plug or with continuous hot-plug, which issues as many as it can).
///
/// ```
/// use qdev_demo::run::config::ScenarioConfig;
/// use qdev_demo::run::scenario::planned_hotplugs;
/// use std::time::Duration;
/// let c = ScenarioConfig { duration: Duration::from_secs(1), ..ScenarioConfig::default() };
/// assert_eq!(planned_hotplugs(&c), 500); // one every 2 ms
/// assert_eq!(planned_hotplugs(&ScenarioConfig { hotplug: false, ..c }), 0);
/// ```
pub fn planned_hotplugs(config: &ScenarioConfig) -> u64 {
    if !config.hotplug || config.hotplug_interval.is_zero() {
        return 0;
    }
    u64::try_from(config.duration.as_nanos() / config.hotplug_interval.as_nanos())
        .unwrap_or(u64::MAX)
}

/// With [`ScenarioConfig::finish_hotplugs`], a run whose main loop fell behind the hot-plug pace
/// goes on past its duration until it has
/// issued its [`planned_hotplugs`], but not past this many times its duration.
pub const OVERRUN_LIMIT: u32 = 10;

/// Wait between status updates (and the poll timeout of an idle main loop).
const STATUS_PERIOD: Duration = Duration::from_millis(250);

fn device_opts(slot: &Slot, drive: &str) -> DeviceAddOptions {
    DeviceAddOptions {
        driver: "scsi-hd".to_owned(),
        id: Some(slot.id.clone()),
        drive: Some(drive.to_owned()),
        scsi_id: Some(u32::from(slot.target)),
        lun: Some(u32::from(slot.lun)),
        ..DeviceAddOptions::default()
    }
}

/// Runs the scenario and returns its summary; `on_progress` is called for each disk realized
/// before the timer starts and then about four times a second with the live status (the binary
/// draws a progress bar from it on a terminal).
///
/// ```
/// use qdev_demo::run::config::ScenarioConfig;
/// use qdev_demo::run::scenario::run_scenario;
/// use std::time::Duration;
/// let config = ScenarioConfig {
///     duration: Duration::from_millis(100),
///     iothreads: 1,
///     realize_cost: Duration::from_micros(10),
///     ..ScenarioConfig::default()
/// };
/// let summary = run_scenario(&config, |_| {});
/// assert!(summary.safety.all_zero());
/// assert!(summary.requests() > 0);
/// ```
pub fn run_scenario(config: &ScenarioConfig, on_progress: impl FnMut(Progress)) -> Summary {
    run_scenario_until(config, &AtomicBool::new(false), on_progress)
}

/// [`run_scenario`] that ends early, with [`Summary::interrupted`] set, once `interrupt` is true
/// (the binary sets it on Ctrl-C). The main loop checks it every iteration (at most one
/// command, i.e. one realize, late); if it is set while the initial disks are realized, the run
/// ends before its timer starts and the summary counts nothing. The four phases of
/// [`Scenario`], in order.
///
/// ```
/// use qdev_demo::run::config::ScenarioConfig;
/// use qdev_demo::run::scenario::run_scenario_until;
/// use std::sync::atomic::AtomicBool;
/// use std::time::Duration;
/// let config = ScenarioConfig { duration: Duration::from_secs(3600), ..ScenarioConfig::default() };
/// let summary = run_scenario_until(&config, &AtomicBool::new(true), |_| {});
/// assert!(summary.interrupted && summary.elapsed < Duration::from_secs(60));
/// ```
pub fn run_scenario_until(
    config: &ScenarioConfig,
    interrupt: &AtomicBool,
    mut on_progress: impl FnMut(Progress),
) -> Summary {
    let Some(mut scenario) = Scenario::start(config, interrupt, &mut on_progress) else {
        return Summary::not_started(config);
    };
    scenario.hotplug_loop(interrupt, &mut on_progress);
    scenario.stop();
    scenario.summarise()
}

/// One run of the scenario, phase by phase: [`Scenario::start`] (build the machine, plug the
/// initial disks, start the I/O threads and the tree walker), [`Scenario::hotplug_loop`] (the
/// timed main loop), [`Scenario::stop`] (stop and join the threads, wait for the last grace
/// period) and [`Scenario::summarise`]. [`run_scenario_until`] runs them in order.
///
/// ```
/// use qdev_demo::run::config::ScenarioConfig;
/// use qdev_demo::run::scenario::Scenario;
/// use std::sync::atomic::AtomicBool;
/// use std::time::Duration;
/// let config = ScenarioConfig { duration: Duration::from_millis(50), ..ScenarioConfig::default() };
/// let never = AtomicBool::new(false);
/// let mut scenario = Scenario::start(&config, &never, &mut |_| {}).expect("not interrupted");
/// scenario.hotplug_loop(&never, &mut |_| {});
/// scenario.stop();
/// let summary = scenario.summarise();
/// assert!(summary.passed() && summary.hotplug.adds > 0);
/// ```
#[derive(Debug)]
pub struct Scenario {
    config: ScenarioConfig,
    machine: Arc<Machine>,
    plan: Arc<Plan>,
    /// The drive pool of each slot.
    drives: Vec<Vec<Arc<Drive>>>,
    /// The hot-plugged slots.
    hot: Vec<usize>,
    /// Whether each slot's disk is plugged.
    present: Vec<bool>,
    rng: Rng,
    stop: Arc<AtomicBool>,
    published: Arc<[Published]>,
    io_threads: Vec<JoinHandle<IoStats>>,
    walker: Option<JoinHandle<u64>>,
    gp_start: u64,
    hotplug: HotplugStats,
    main_loop: MainLoopStats,
    interrupted: bool,
    start: Instant,
    elapsed: Duration,
    io: IoStats,
    walks: u64,
    grace_periods: u64,
}

impl Scenario {
    /// Phase 1: builds the machine, plugs the initial disks (reporting
    /// [`Progress::Realizing`]), then starts the I/O threads and the tree walker and the
    /// run's clock. `None` if `interrupt` was set while the disks were plugged (nothing ran).
    pub fn start(
        config: &ScenarioConfig,
        interrupt: &AtomicBool,
        on_progress: &mut impl FnMut(Progress),
    ) -> Option<Self> {
        let plan = Arc::new(Plan::new(config.disks));
        let machine = Arc::new(
            Machine::builder()
                .sync(config.sync)
                .realize_cost(config.realize_cost)
                .drives(0)
                .build(),
        );
        let slots = &plan.slots;
        for (i, s) in slots.iter().enumerate() {
            if interrupt.load(Ordering::Relaxed) {
                drop(machine);
                drain_rcu_callbacks();
                return None;
            }
            for d in &s.drives {
                machine.drive_add(d, false).expect("drive names are unique");
            }
            machine
                .device_add(&device_opts(s, &s.drives[0]))
                .expect("initial disks plug into an empty bus");
            on_progress(Progress::Realizing {
                done: i + 1,
                total: slots.len(),
            });
        }
        let drives = slots
            .iter()
            .map(|s| {
                s.drives
                    .iter()
                    .map(|d| machine.drive(d).expect("added above"))
                    .collect()
            })
            .collect();
        let hot = (0..slots.len()).filter(|&i| !slots[i].permanent).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let published: Arc<[Published]> = (0..config.iothreads)
            .map(|_| Published::default())
            .collect();
        let gp_start = rcu_core::stats().grace_periods;
        let io_threads = (0..config.iothreads)
            .map(|t| {
                let (machine, plan, stop, published) = (
                    Arc::clone(&machine),
                    Arc::clone(&plan),
                    Arc::clone(&stop),
                    Arc::clone(&published),
                );
                let seed = config.seed.wrapping_add(t as u64 * 0x9e37_79b9);
                std::thread::spawn(move || io_thread(&machine, &plan, &stop, &published[t], seed))
            })
            .collect();
        let walker = {
            let (machine, stop, config) = (Arc::clone(&machine), Arc::clone(&stop), config.clone());
            std::thread::spawn(move || walker_thread(&machine, &config, &stop))
        };
        Some(Self {
            config: config.clone(),
            present: vec![true; slots.len()],
            machine,
            plan,
            drives,
            hot,
            rng: Rng::new(config.seed ^ 0x5eed),
            stop,
            published,
            io_threads,
            walker: Some(walker),
            gp_start,
            hotplug: HotplugStats::default(),
            main_loop: MainLoopStats::default(),
            interrupted: false,
            start: Instant::now(),
            elapsed: Duration::ZERO,
            io: IoStats::default(),
            walks: 0,
            grace_periods: 0,
        })
    }

    /// Phase 2: the main loop, until the run's duration is over and, with
    /// [`ScenarioConfig::finish_hotplugs`], its [`planned_hotplugs`] are issued (so that every
    /// `--sync` mode gets the same number even where the scheduler held the main loop back; at
    /// most [`OVERRUN_LIMIT`] times the duration), or until
    /// `interrupt` is set. It holds the BQL except while it polls; each hot-plug that is due
    /// runs whole under it. Reports [`Progress::Running`] about four times a second.
    pub fn hotplug_loop(&mut self, interrupt: &AtomicBool, on_progress: &mut impl FnMut(Progress)) {
        let machine = Arc::clone(&self.machine);
        let hotplugging = self.config.hotplug && !self.hot.is_empty();
        let pace = self.config.hotplug_interval;
        let planned = if self.config.finish_hotplugs {
            planned_hotplugs(&self.config)
        } else {
            0
        };
        let limit = self.config.duration.saturating_mul(OVERRUN_LIMIT);
        let mut issued = 0u64;
        let mut next_due = self.start;
        let mut last_status = (self.start, 0u64);
        let cpu_start = os::thread_cpu_time();
        let mut run_delay = os::RunDelayClock::new();
        // The main loop owns the BQL from here on, except while it polls.
        let mut bql = machine.bql().lock_main_loop();
        let mut acquired = Instant::now();
        loop {
            let now = Instant::now();
            let elapsed = now - self.start;
            if (elapsed >= self.config.duration && issued >= planned) || elapsed >= limit {
                break;
            }
            if interrupt.load(Ordering::Relaxed) {
                self.interrupted = true;
                break;
            }
            // Read before the drives are checked: a drive freed after the check is followed by
            // its DEVICE_DELETED, which then ends the idle poll at once.
            let events_seen = machine.ctx().events().emitted();
            let mut idle = false;
            if hotplugging && now >= next_due {
                if self.hotplug_command(&mut bql) {
                    issued += 1;
                    // On schedule: the next one a pace later. Behind: catch up, but with at
                    // least half a pace between starts, so the BQL is still released in between.
                    next_due = if pace.is_zero() {
                        now
                    } else {
                        (next_due + pace).max(now + pace / 2)
                    };
                } else {
                    idle = true;
                }
            }
            // main_loop_wait: poll with the BQL released until the next command is due.
            // Past the duration, the run goes on only to issue the hot-plugs still due.
            let end = if issued < planned {
                limit
            } else {
                self.config.duration
            };
            let remaining = end.saturating_sub(self.start.elapsed());
            let timeout = if hotplugging && !idle {
                next_due.saturating_duration_since(Instant::now())
            } else {
                STATUS_PERIOD
            }
            .min(STATUS_PERIOD)
            .min(remaining);
            let wait_before = run_delay.read();
            let released = Instant::now();
            self.main_loop.bql_held += released - acquired;
            let poll_end = bql.unlocked(|| {
                self.report_status(&mut last_status, on_progress);
                if idle {
                    // No command can be issued until a DEVICE_DELETED frees a drive: the
                    // management tool waits for the event, the main loop sleeps in its poll.
                    machine
                        .ctx()
                        .events()
                        .wait_emitted_beyond(events_seen, timeout);
                } else {
                    os::poll_timeout(timeout);
                }
                Instant::now()
            });
            acquired = Instant::now();
            let ml = &mut self.main_loop;
            if let (Some(before), Some(after)) = (wait_before, run_delay.read()) {
                ml.cpu_wait_released += after.saturating_sub(before);
            }
            let reacquire = acquired - poll_end;
            ml.bql_reacquire_total += reacquire;
            ml.bql_reacquire_max = ml.bql_reacquire_max.max(reacquire);
            ml.iterations += 1;
        }
        self.main_loop.bql_held += acquired.elapsed();
        drop(bql);
        self.main_loop.cpu_time = os::thread_cpu_time().saturating_sub(cpu_start);
        self.elapsed = self.start.elapsed();
    }

    /// One hot-plug command, as a management tool would issue it, whole under the BQL: unplug a
    /// present disk, or plug an absent one on a drive of its pool that is free (DEVICE_DELETED
    /// seen). `false` if none can be issued now (counted as deferred).
    fn hotplug_command(&mut self, bql: &mut BqlGuard<'_>) -> bool {
        let (present, drives) = (&self.present, &self.drives);
        let actionable: Vec<usize> = self
            .hot
            .iter()
            .copied()
            .filter(|&s| present[s] || drives[s].iter().any(|d| !d.is_attached()))
            .collect();
        if actionable.is_empty() {
            self.hotplug.deferred += 1;
            return false;
        }
        let s = actionable[self.rng.below(actionable.len())];
        let slot = &self.plan.slots[s];
        if self.present[s] {
            self.machine
                .device_del_locked(bql, &slot.id)
                .expect("a present hot-plugged disk can be deleted");
            self.present[s] = false;
            self.hotplug.dels += 1;
        } else {
            let drive = self.drives[s]
                .iter()
                .find(|d| !d.is_attached())
                .expect("actionable: a drive of the pool is free");
            match self
                .machine
                .device_add_locked(bql, &device_opts(slot, drive.name()))
            {
                Ok(_) => {
                    self.present[s] = true;
                    self.hotplug.adds += 1;
                }
                Err(_) => self.hotplug.add_failures += 1,
            }
        }
        true
    }

    /// Calls `on_progress` with the live status if [`STATUS_PERIOD`] has passed since the last.
    fn report_status(&self, last: &mut (Instant, u64), on_progress: &mut impl FnMut(Progress)) {
        let now = Instant::now();
        if now - last.0 < STATUS_PERIOD {
            return;
        }
        let requests: u64 = self
            .published
            .iter()
            .map(|p| p.0.load(Ordering::Relaxed))
            .sum();
        let dt = (now - last.0).as_secs_f64();
        let stats = rcu_core::stats();
        on_progress(Progress::Running(LiveStatus {
            elapsed: now - self.start,
            requests,
            requests_per_sec: requests.saturating_sub(last.1) as f64 / dt,
            hotplug_ops: self.hotplug.adds + self.hotplug.dels,
            grace_periods: stats.grace_periods - self.gp_start,
            callbacks_pending: stats.callbacks_pending(),
        }));
        *last = (now, requests);
    }

    /// Phase 3: stops the I/O threads and the walker, collects their statistics, and waits for
    /// the grace period of every removed BusChild (`rcu_barrier`).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.io_threads.drain(..) {
            self.io.merge(&h.join().expect("I/O thread panicked"));
        }
        if let Some(walker) = self.walker.take() {
            self.walks = walker.join().expect("walker thread panicked");
        }
        self.grace_periods = rcu_core::stats().grace_periods - self.gp_start;
        rcu_core::rcu_barrier();
    }

    /// Phase 4: the run's [`Summary`]; drops the machine and drains its last callbacks.
    pub fn summarise(mut self) -> Summary {
        if self.walker.is_some() {
            self.stop();
        }
        let ctx = Arc::clone(self.machine.ctx());
        let counters = ctx.counters();
        let summary = Summary {
            config: self.config.clone(),
            interrupted: self.interrupted,
            elapsed: self.elapsed,
            io: std::mem::take(&mut self.io),
            walks: self.walks,
            hotplug: self.hotplug,
            main_loop: self.main_loop,
            device_deleted_events: ctx.events().emitted(),
            grace_periods: self.grace_periods,
            children_removed: counters.children_removed.load(Ordering::Relaxed),
            children_freed: counters.children_freed.load(Ordering::Relaxed),
            safety: ctx.safety().snapshot(),
        };
        drop(ctx);
        drop(self);
        drain_rcu_callbacks();
        summary
    }
}

impl Drop for Scenario {
    /// A scenario dropped before [`Scenario::stop`] (a panic in the main loop) still stops its
    /// threads, so they do not spin on forever.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::scsi::report_luns::build_report_luns;

    #[test]
    fn slot_layout() {
        let s = slots(9);
        assert_eq!(s.len(), 9);
        assert_eq!(s.iter().filter(|s| s.permanent).count(), 5);
        assert_eq!((s[8].target, s[8].lun, s[8].id.as_str()), (2, 0, "disk8"));
        assert_eq!(s[8].drives, ["d8"]);
        assert_eq!(s[7].drives.len(), DRIVES_PER_HOT_SLOT);
        assert_eq!(s[7].drives[1], "d7.1");
    }

    #[test]
    fn report_luns_check() {
        let e = TargetExpect {
            allowed: vec![0, 1, 2, 300],
            permanent: vec![0, 1],
        };
        assert!(report_luns_consistent(
            &build_report_luns(4096, [300, 1, 0]),
            &e
        ));
        assert!(report_luns_consistent(&build_report_luns(4096, [1]), &e));
        assert!(
            !report_luns_consistent(&build_report_luns(4096, [2]), &e),
            "permanent LUN 1 missing"
        );
        assert!(
            !report_luns_consistent(&build_report_luns(4096, [1, 7]), &e),
            "LUN 7 is not ours"
        );
        assert!(
            !report_luns_consistent(&build_report_luns(4096, [1, 2, 2]), &e),
            "duplicate"
        );
        assert!(
            !report_luns_consistent(&build_report_luns(16, [1]), &e),
            "truncated"
        );
        assert!(!report_luns_consistent(&[0; 4], &e), "malformed");
    }

    #[test]
    fn rng_stays_in_range() {
        let mut r = Rng::new(0);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn live_status_formats() {
        let s = LiveStatus {
            elapsed: Duration::from_millis(1500),
            requests: 10,
            requests_per_sec: 2.5e6,
            hotplug_ops: 3,
            grace_periods: 4,
            callbacks_pending: 5,
        };
        let line = s.to_string();
        assert_eq!(line, "2.50M req/s · 3 hot-plugs · 4 grace periods");
    }
}
