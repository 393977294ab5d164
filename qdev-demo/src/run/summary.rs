//! The scenario's summary, as text (80 columns, human units) or as one JSON object (raw
//! numbers, [`RunReport`], versioned by [`SCHEMA_VERSION`]).

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::HumanCount;
use serde::Serialize;

use crate::hw::scsi::virtio_scsi::IoStats;
use crate::qdev::context::SafetySnapshot;
use crate::run::config::ScenarioConfig;
use crate::util::histogram::LatencyHistogram;
use crate::util::units::{duration, latency_ns, percent, share, si};

/// Version of the `--json` schema ([`RunReport`], and the comparison object that holds them).
/// Bumped whenever a field changes meaning or goes away, and for the fields a reader must know
/// to judge a run. 2: `lookups_waited`, `lock_wait_ns`, `cpus` and `oversubscribed` in every run
/// object; `hotplug_interval_us` is the hot-plug pace (time between the starts of two commands,
/// was the poll after each); a comparison has `repeats` and its runs interleaved.
pub const SCHEMA_VERSION: u32 = 2;

/// Hot-plug bookkeeping of the main thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct HotplugStats {
    /// Successful `device_add`s during the run.
    pub adds: u64,
    /// Successful `device_del`s during the run.
    pub dels: u64,
    /// Main-loop iterations that found no command to issue: every hot-plugged slot was unplugged
    /// and every drive of its pool still held by a device awaiting its grace period
    /// (DEVICE_DELETED not yet emitted). The main loop then sleeps in its poll, with the BQL
    /// released, until the next DEVICE_DELETED.
    pub deferred: u64,
    /// `device_add`s that failed (should be 0).
    pub add_failures: u64,
}

/// How the main loop used the BQL.
#[derive(Debug, Default, Clone, Copy)]
pub struct MainLoopStats {
    /// Main-loop iterations (one poll each).
    pub iterations: u64,
    /// Time the main loop held the BQL.
    pub bql_held: Duration,
    /// Longest wait to take the BQL back after a poll (how close the main loop came to being
    /// starved by other BQL users).
    pub bql_reacquire_max: Duration,
    /// Total time spent taking the BQL back after polls.
    pub bql_reacquire_total: Duration,
    /// CPU time the main-loop thread used (on a machine with few cores the I/O threads compete
    /// with it for the CPU).
    pub cpu_time: Duration,
    /// Time the main-loop thread was runnable but waiting for a CPU while it had the BQL
    /// released (polling or re-taking it), read with [`crate::util::os::RunDelayClock`] just before each
    /// release and just after each re-take; zero where the kernel does not report it. On a
    /// machine with fewer cores than runnable threads the I/O threads run in this time.
    pub cpu_wait_released: Duration,
}

/// What a scenario run measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The parameters.
    pub config: ScenarioConfig,
    /// Whether the run was stopped early (Ctrl-C): the numbers cover `elapsed` only.
    pub interrupted: bool,
    /// Actual run time.
    pub elapsed: Duration,
    /// Merged I/O-thread statistics.
    pub io: IoStats,
    /// Complete walks of the tree walker.
    pub walks: u64,
    /// Hot-plug operations.
    pub hotplug: HotplugStats,
    /// How the main loop used the BQL.
    pub main_loop: MainLoopStats,
    /// DEVICE_DELETED events emitted (after the final `rcu_barrier`).
    pub device_deleted_events: u64,
    /// Grace periods during the run.
    pub grace_periods: u64,
    /// BusChild nodes unlinked by `bus_remove_child`.
    pub children_removed: u64,
    /// BusChild nodes freed (after the final `rcu_barrier`).
    pub children_freed: u64,
    /// The safety counters.
    pub safety: SafetySnapshot,
}

/// Lookup latency percentiles in `--json`, in nanoseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Samples recorded.
    pub samples: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

impl From<&LatencyHistogram> for LatencyReport {
    fn from(h: &LatencyHistogram) -> Self {
        Self {
            samples: h.count(),
            p50_ns: h.percentile_ns(50.0),
            p99_ns: h.percentile_ns(99.0),
            max_ns: h.max_ns(),
        }
    }
}

/// How long the lookups that waited for the reader lock waited, in `--json`, in nanoseconds:
/// all zero in RCU mode, whose readers take no lock.
#[derive(Debug, Clone, Serialize)]
pub struct LockWaitReport {
    /// Sum over every lookup that waited.
    pub total: u64,
    /// Median of the waits.
    pub p50: u64,
    /// 99th percentile of the waits.
    pub p99: u64,
    /// Longest wait.
    pub max: u64,
}

/// The main loop's use of the BQL in `--json` (see [`MainLoopStats`]).
#[derive(Debug, Clone, Serialize)]
pub struct MainLoopReport {
    /// Main-loop iterations.
    pub iterations: u64,
    /// Share of the run the main loop held the BQL (0-1).
    pub bql_held_fraction: f64,
    /// The same, not counting the time it waited for a CPU with the BQL released (0-1).
    pub bql_held_fraction_when_runnable: f64,
    /// Time it waited for a CPU with the BQL released.
    pub cpu_wait_released_ns: u64,
    /// Average wait to re-take the BQL after a poll.
    pub bql_reacquire_avg_ns: u64,
    /// Longest wait to re-take the BQL after a poll.
    pub bql_reacquire_max_ns: u64,
    /// CPU time of the main-loop thread as a share of the run (0-1).
    pub cpu_fraction: f64,
}

/// The safety counters in `--json` (all must be 0).
#[derive(Debug, Clone, Serialize)]
pub struct SafetyReport {
    /// A device or BusChild reached after it was freed.
    pub freed_object_seen: u64,
    /// A lookup returned a device whose realize had not completed.
    pub unrealized_returned: u64,
    /// A REPORT LUNS reply disagreed with the devices that can be on its target.
    pub report_luns_inconsistent: u64,
}

/// One run as `--json` prints it (schema version [`SCHEMA_VERSION`]; also each element of a
/// comparison's `runs`). Durations are in the unit their name ends with.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `"run"`.
    pub kind: &'static str,
    /// `rcu`, `bql` or `rwlock`.
    pub mode: &'static str,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// Actual run time in seconds.
    pub duration_s: f64,
    /// I/O threads.
    pub iothreads: usize,
    /// CPUs the process could run on.
    pub cpus: usize,
    /// Whether the I/O threads and the main loop outnumber the CPUs.
    pub oversubscribed: bool,
    /// Disk slots.
    pub disks: usize,
    /// Whether the main loop hot-plugged.
    pub hotplug: bool,
    /// Hot-plug pace: time between the starts of two commands (0: continuous, back to back).
    pub hotplug_interval_us: u64,
    /// Busy time of each realize.
    pub realize_cost_us: u64,
    /// Requests served.
    pub requests: u64,
    /// Requests served per second.
    pub requests_per_sec: f64,
    /// CPU time the I/O threads used, in seconds.
    pub iothread_cpu_s: f64,
    /// Requests served per second of I/O-thread CPU time (what a lookup costs, whatever share
    /// of the CPUs the scheduler gave the I/O threads).
    pub requests_per_cpu_sec: f64,
    /// Lookups that met their disk linked on the bus but not yet realized (mid `device_add`)
    /// and, like QEMU's `scsi_device_find`, skipped it (BAD_TARGET). Only lock-free readers can
    /// see that window.
    pub lookups_unrealized_skipped: u64,
    /// Lookups of an unplugged LUN, answered by another disk of the target with LOGICAL UNIT
    /// NOT SUPPORTED.
    pub lookups_lun_absent: u64,
    /// REPORT LUNS commands served.
    pub report_luns: u64,
    /// LOGICAL UNIT RESETs.
    pub lun_resets: u64,
    /// I_T NEXUS RESETs.
    pub nexus_resets: u64,
    /// Lookups that waited for the reader lock (the BQL or the rwlock): the lock was held, or
    /// the main loop queued for it, when the lookup asked. 0 in RCU mode by construction.
    pub lookups_waited: u64,
    /// How long those lookups waited (all zero in RCU mode).
    pub lock_wait_ns: LockWaitReport,
    /// Lookup latency, one sample per lookup.
    pub lookup_latency_raw: LatencyReport,
    /// Lookup latency corrected for coordinated omission.
    pub lookup_latency_corrected: LatencyReport,
    /// `device_add`s.
    pub hotplug_adds: u64,
    /// `device_del`s.
    pub hotplug_dels: u64,
    /// Main-loop polls that waited for a DEVICE_DELETED to free a drive.
    pub hotplug_deferred_drive_busy: u64,
    /// Failed `device_add`s (0 unless something is wrong).
    pub hotplug_add_failures: u64,
    /// The main loop's use of the BQL.
    pub main_loop: MainLoopReport,
    /// DEVICE_DELETED events.
    pub device_deleted_events: u64,
    /// Grace periods.
    pub grace_periods: u64,
    /// BusChild nodes unlinked.
    pub bus_children_removed: u64,
    /// BusChild nodes freed.
    pub bus_children_freed: u64,
    /// Complete walks of the slow tree walker.
    pub tree_walks: u64,
    /// The safety counters.
    pub safety: SafetyReport,
    /// Whether every safety counter is 0.
    pub safety_ok: bool,
}

fn ratio(part: Duration, whole: Duration) -> f64 {
    part.as_secs_f64() / whole.as_secs_f64().max(1e-9)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

impl Summary {
    /// The summary of a run interrupted before its timer started: nothing measured.
    pub fn not_started(config: &ScenarioConfig) -> Self {
        Self {
            config: config.clone(),
            interrupted: true,
            elapsed: Duration::ZERO,
            io: IoStats::default(),
            walks: 0,
            hotplug: HotplugStats::default(),
            main_loop: MainLoopStats::default(),
            device_deleted_events: 0,
            grace_periods: 0,
            children_removed: 0,
            children_freed: 0,
            safety: SafetySnapshot::default(),
        }
    }

    /// Requests served (commands and task-management functions).
    pub fn requests(&self) -> u64 {
        self.io.commands + self.io.tmfs
    }

    /// Requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Requests per second of I/O-thread CPU time.
    pub fn requests_per_cpu_sec(&self) -> f64 {
        self.requests() as f64 / self.io.cpu_time.as_secs_f64().max(1e-9)
    }

    /// Share of the lookups that waited for the reader lock (0-1; 0 in RCU mode).
    pub fn waited_fraction(&self) -> f64 {
        self.io.lookups_waited() as f64 / self.io.lookups.count().max(1) as f64
    }

    /// Share of the run during which the main loop held the BQL (0-1).
    pub fn main_loop_bql_held_fraction(&self) -> f64 {
        ratio(self.main_loop.bql_held, self.elapsed).min(1.0)
    }

    /// Share of the run during which the main loop held the BQL, not counting the time it waited
    /// for a CPU with the BQL released ([`MainLoopStats::cpu_wait_released`]) (0-1). With enough
    /// cores this is [`Summary::main_loop_bql_held_fraction`]; with more runnable threads than
    /// cores it discounts the CPU time the scheduler gives the other threads after each release,
    /// which a main loop cannot control: it measures what the main loop did while it could run.
    pub fn main_loop_bql_held_fraction_when_runnable(&self) -> f64 {
        let runnable = self
            .elapsed
            .saturating_sub(self.main_loop.cpu_wait_released);
        ratio(self.main_loop.bql_held, runnable).min(1.0)
    }

    /// CPU time of the main-loop thread as a share of the run (0-1).
    pub fn main_loop_cpu_fraction(&self) -> f64 {
        ratio(self.main_loop.cpu_time, self.elapsed)
    }

    /// Whether every unlinked BusChild was freed and every unplugged device reported
    /// DEVICE_DELETED by the end of the run (always true outside negative-control mode).
    pub fn reclamation_complete(&self) -> bool {
        self.children_freed == self.children_removed
            && self.device_deleted_events == self.hotplug.dels
    }

    /// Whether the run passed: every safety counter zero and no failed `device_add`.
    pub fn passed(&self) -> bool {
        self.safety.all_zero() && self.hotplug.add_failures == 0
    }

    /// The `--json` object of this run.
    pub fn report(&self) -> RunReport {
        let c = &self.config;
        let ml = &self.main_loop;
        RunReport {
            schema_version: SCHEMA_VERSION,
            kind: "run",
            mode: c.sync.as_str(),
            interrupted: self.interrupted,
            duration_s: self.elapsed.as_secs_f64(),
            iothreads: c.iothreads,
            cpus: crate::run::config::cpus(),
            oversubscribed: c.oversubscribed(),
            disks: c.disks,
            hotplug: c.hotplug,
            hotplug_interval_us: c.hotplug_interval.as_micros() as u64,
            realize_cost_us: c.realize_cost.as_micros() as u64,
            requests: self.requests(),
            requests_per_sec: self.requests_per_sec().round(),
            iothread_cpu_s: self.io.cpu_time.as_secs_f64(),
            requests_per_cpu_sec: self.requests_per_cpu_sec().round(),
            lookups_unrealized_skipped: self.io.not_found,
            lookups_lun_absent: self.io.wrong_lun,
            report_luns: self.io.report_luns,
            lun_resets: self.io.lun_resets,
            nexus_resets: self.io.nexus_resets,
            lookups_waited: self.io.lookups_waited(),
            lock_wait_ns: LockWaitReport {
                total: u64::try_from(self.io.lock_wait_total.as_nanos()).unwrap_or(u64::MAX),
                p50: self.io.lock_waits.percentile_ns(50.0),
                p99: self.io.lock_waits.percentile_ns(99.0),
                max: self.io.lock_waits.max_ns(),
            },
            lookup_latency_raw: (&self.io.lookups).into(),
            lookup_latency_corrected: (&self.io.lookups_corrected).into(),
            hotplug_adds: self.hotplug.adds,
            hotplug_dels: self.hotplug.dels,
            hotplug_deferred_drive_busy: self.hotplug.deferred,
            hotplug_add_failures: self.hotplug.add_failures,
            main_loop: MainLoopReport {
                iterations: ml.iterations,
                bql_held_fraction: round4(self.main_loop_bql_held_fraction()),
                bql_held_fraction_when_runnable: round4(
                    self.main_loop_bql_held_fraction_when_runnable(),
                ),
                cpu_wait_released_ns: ml.cpu_wait_released.as_nanos() as u64,
                bql_reacquire_avg_ns: (ml.bql_reacquire_total.as_nanos()
                    / u128::from(ml.iterations.max(1)))
                    as u64,
                bql_reacquire_max_ns: ml.bql_reacquire_max.as_nanos() as u64,
                cpu_fraction: round4(self.main_loop_cpu_fraction()),
            },
            device_deleted_events: self.device_deleted_events,
            grace_periods: self.grace_periods,
            bus_children_removed: self.children_removed,
            bus_children_freed: self.children_freed,
            tree_walks: self.walks,
            safety: SafetyReport {
                freed_object_seen: self.safety.freed_object_seen,
                unrealized_returned: self.safety.unrealized_returned,
                report_luns_inconsistent: self.safety.report_luns_inconsistent,
            },
            safety_ok: self.safety.all_zero(),
        }
    }

    /// The summary as one line of JSON ([`RunReport`]).
    ///
    /// ```
    /// use qdev_demo::run::config::ScenarioConfig;
    /// use qdev_demo::run::scenario::run_scenario;
    /// use std::time::Duration;
    /// let config = ScenarioConfig { duration: Duration::from_millis(50), iothreads: 1, ..ScenarioConfig::default() };
    /// let json: serde_json::Value = serde_json::from_str(&run_scenario(&config, |_| {}).to_json()).unwrap();
    /// assert_eq!(json["schema_version"], 2);
    /// assert_eq!(json["mode"], "rcu");
    /// assert_eq!(json["lookups_waited"], 0, "RCU lookups take no lock");
    /// assert_eq!(json["lock_wait_ns"]["max"], 0);
    /// assert!(json["lookup_latency_corrected"]["p99_ns"].is_u64());
    /// assert_eq!(json["safety_ok"], true);
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.report()).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// One line describing the workload (see [`workload`]).
    pub fn workload(&self) -> String {
        workload(&self.config)
    }

    /// The human-readable summary: at most 80 columns, human units.
    pub fn to_text(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "qdev-demo --sync {}: {}{}",
            c.sync,
            duration(self.elapsed),
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "  {}", self.workload());
        let _ = writeln!(
            s,
            "  requests        {} ({} req/s, {} per I/O-thread CPU-second)",
            HumanCount(self.requests()),
            si(self.requests_per_sec()),
            si(self.requests_per_cpu_sec())
        );
        if c.oversubscribed() {
            let _ = writeln!(s, "  {}", oversubscribed_note(c));
        }
        let _ = writeln!(
            s,
            "  lookups         {} waited for a lock ({} of all)",
            HumanCount(self.io.lookups_waited()),
            share(self.waited_fraction())
        );
        let w = &self.io.lock_waits;
        if w.count() > 0 {
            let _ = writeln!(
                s,
                "                  wait p50 {}, p99 {}, longest {}, in all {}",
                latency_ns(w.percentile_ns(50.0)),
                latency_ns(w.percentile_ns(99.0)),
                latency_ns(w.max_ns()),
                duration(self.io.lock_wait_total)
            );
        }
        let h = &self.io.lookups;
        let _ = writeln!(
            s,
            "  lookup time     p50 {}, p99 {}, longest {} (each lookup once)",
            latency_ns(h.percentile_ns(50.0)),
            latency_ns(h.percentile_ns(99.0)),
            latency_ns(h.max_ns())
        );
        let _ = writeln!(
            s,
            "  mid-plug skips  {} (disk linked, not yet realized: skipped as QEMU does)",
            HumanCount(self.io.not_found)
        );
        let _ = writeln!(
            s,
            "  LUN absent      {} (unplugged LUN: another LUN says NOT SUPPORTED)",
            HumanCount(self.io.wrong_lun)
        );
        let _ = writeln!(
            s,
            "  also served     {} REPORT LUNS, {} LUN resets, {} I_T nexus resets",
            HumanCount(self.io.report_luns),
            HumanCount(self.io.lun_resets),
            HumanCount(self.io.nexus_resets)
        );
        let _ = writeln!(
            s,
            "  hot-plug        {} device_add, {} device_del, {} failed",
            HumanCount(self.hotplug.adds),
            HumanCount(self.hotplug.dels),
            HumanCount(self.hotplug.add_failures)
        );
        let _ = writeln!(
            s,
            "                  {} polls waited for a DEVICE_DELETED to free a drive",
            HumanCount(self.hotplug.deferred)
        );
        let _ = writeln!(
            s,
            "  main loop       BQL held {} of the run ({} when it could run)",
            percent(self.main_loop_bql_held_fraction()),
            percent(self.main_loop_bql_held_fraction_when_runnable())
        );
        let _ = writeln!(
            s,
            "                  {} iterations, on CPU {}, re-took the BQL within {}",
            HumanCount(self.main_loop.iterations),
            percent(self.main_loop_cpu_fraction()),
            duration(self.main_loop.bql_reacquire_max)
        );
        let _ = writeln!(
            s,
            "  reclaimed       {} DEVICE_DELETED, {} grace periods, {} tree walks",
            HumanCount(self.device_deleted_events),
            HumanCount(self.grace_periods),
            HumanCount(self.walks)
        );
        let _ = writeln!(
            s,
            "                  BusChild: {} removed, {} freed{}",
            HumanCount(self.children_removed),
            HumanCount(self.children_freed),
            if self.reclamation_complete() {
                ""
            } else {
                " (MISMATCH)"
            }
        );
        let _ = writeln!(
            s,
            "  safety checks   {}: freed object seen {}, unrealized returned {},",
            if self.safety.all_zero() {
                "OK"
            } else {
                "FAILED"
            },
            self.safety.freed_object_seen,
            self.safety.unrealized_returned,
        );
        let _ = writeln!(
            s,
            "                  REPORT LUNS inconsistent {}",
            self.safety.report_luns_inconsistent
        );
        s
    }
}

/// One line describing the workload of `config`, e.g. `1 I/O thread, 8 disks, a hot-plug every
/// 2 ms (adding a disk: 200 µs)`.
///
/// ```
/// let c = qdev_demo::run::config::ScenarioConfig { iothreads: 2, ..Default::default() };
/// assert_eq!(qdev_demo::run::summary::workload(&c),
///            "2 I/O threads, 8 disks, a hot-plug every 2 ms (adding a disk: 200 µs)");
/// ```
pub fn workload(c: &ScenarioConfig) -> String {
    let hot = if !c.hotplug {
        "no hot-plug".to_owned()
    } else if c.hotplug_interval.is_zero() {
        "hot-plugs back to back".to_owned()
    } else {
        format!("a hot-plug every {}", duration(c.hotplug_interval))
    };
    format!(
        "{} I/O thread{}, {} disk{}, {hot} (adding a disk: {})",
        c.iothreads,
        if c.iothreads == 1 { "" } else { "s" },
        c.disks,
        if c.disks == 1 { "" } else { "s" },
        duration(c.realize_cost)
    )
}

/// The line that says a run is oversubscribed, e.g. `oversubscribed: 4 busy threads (3 I/O
/// threads + the main loop) on 2 CPUs`.
pub fn oversubscribed_note(c: &ScenarioConfig) -> String {
    format!(
        "oversubscribed: {} busy threads ({} I/O + the main loop) on {} CPU{}",
        c.busy_threads(),
        c.iothreads,
        crate::run::config::cpus(),
        if crate::run::config::cpus() == 1 {
            ""
        } else {
            "s"
        }
    )
}
