//! The scenario's summary, as text or as one JSON object.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::ScenarioConfig;
use crate::context::SafetySnapshot;
use crate::histogram::LatencyHistogram;
use crate::json::JsonObject;
use crate::virtio_scsi::IoStats;

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
    /// released (polling or re-taking it), read with [`crate::os::RunDelayClock`] just before each
    /// release and just after each re-take; zero where the kernel does not report it. On a
    /// machine with fewer cores than runnable threads the I/O threads run in this time.
    pub cpu_wait_released: Duration,
}

/// What a scenario run measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The parameters.
    pub config: ScenarioConfig,
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

impl Summary {
    /// Requests served (commands and task-management functions).
    pub fn requests(&self) -> u64 {
        self.io.commands + self.io.tmfs
    }

    /// Requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Share of the run during which the main loop held the BQL (0-1).
    pub fn main_loop_bql_held_fraction(&self) -> f64 {
        (self.main_loop.bql_held.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)).min(1.0)
    }

    /// Share of the run during which the main loop held the BQL, not counting the time it waited
    /// for a CPU with the BQL released ([`MainLoopStats::cpu_wait_released`]) (0-1). With enough
    /// cores this is [`Summary::main_loop_bql_held_fraction`]; with more runnable threads than
    /// cores it discounts the CPU time the scheduler gives the other threads after each release,
    /// which a main loop cannot control: it measures what the main loop did while it could run.
    pub fn main_loop_bql_held_fraction_when_runnable(&self) -> f64 {
        let runnable = self
            .elapsed
            .saturating_sub(self.main_loop.cpu_wait_released)
            .as_secs_f64();
        (self.main_loop.bql_held.as_secs_f64() / runnable.max(1e-9)).min(1.0)
    }

    /// CPU time of the main-loop thread as a share of the run (0-1).
    pub fn main_loop_cpu_fraction(&self) -> f64 {
        self.main_loop.cpu_time.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
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

    /// The summary as one JSON object.
    ///
    /// ```
    /// use qdev_demo::config::ScenarioConfig;
    /// use qdev_demo::scenario::run_scenario;
    /// use std::time::Duration;
    /// let config = ScenarioConfig { duration: Duration::from_millis(50), iothreads: 1, ..ScenarioConfig::default() };
    /// let json = run_scenario(&config, |_| {}).to_json();
    /// assert!(json.starts_with(r#"{"mode":"rcu""#));
    /// assert!(json.contains(r#""lookup_latency_raw":{"samples":"#));
    /// assert!(json.contains(r#""lookup_latency_corrected":{"samples":"#));
    /// assert!(json.contains(r#""safety_ok":true"#));
    /// ```
    pub fn to_json(&self) -> String {
        let c = &self.config;
        let latency = |h: &LatencyHistogram| {
            let mut o = JsonObject::new();
            o.u64("samples", h.count())
                .u64("p50_ns", h.percentile_ns(50.0))
                .u64("p99_ns", h.percentile_ns(99.0))
                .u64("max_ns", h.max_ns());
            o
        };
        let ml = &self.main_loop;
        let mut main_loop = JsonObject::new();
        main_loop
            .u64("iterations", ml.iterations)
            .f64(
                "bql_held_fraction",
                (self.main_loop_bql_held_fraction() * 1e4).round() / 1e4,
            )
            .u64(
                "bql_reacquire_avg_ns",
                (ml.bql_reacquire_total.as_nanos() / u128::from(ml.iterations.max(1))) as u64,
            )
            .u64(
                "bql_reacquire_max_ns",
                ml.bql_reacquire_max.as_nanos() as u64,
            )
            .f64(
                "cpu_fraction",
                (self.main_loop_cpu_fraction() * 1e4).round() / 1e4,
            );
        let mut safety = JsonObject::new();
        safety
            .u64("freed_object_seen", self.safety.freed_object_seen)
            .u64("unrealized_returned", self.safety.unrealized_returned)
            .u64(
                "report_luns_inconsistent",
                self.safety.report_luns_inconsistent,
            );
        let mut o = JsonObject::new();
        o.str("mode", c.sync.as_str())
            .f64("duration_s", self.elapsed.as_secs_f64())
            .u64("iothreads", c.iothreads as u64)
            .u64("disks", c.disks as u64)
            .bool("hotplug", c.hotplug)
            .u64("hotplug_interval_us", c.hotplug_interval.as_micros() as u64)
            .u64("realize_cost_us", c.realize_cost.as_micros() as u64)
            .u64("requests", self.requests())
            .f64("requests_per_sec", self.requests_per_sec().round())
            .u64("lookups_not_found", self.io.not_found)
            .u64("lookups_wrong_lun", self.io.wrong_lun)
            .u64("report_luns", self.io.report_luns)
            .u64("lun_resets", self.io.lun_resets)
            .u64("nexus_resets", self.io.nexus_resets)
            .object("lookup_latency_raw", latency(&self.io.lookups))
            .object(
                "lookup_latency_corrected",
                latency(&self.io.lookups_corrected),
            )
            .u64("hotplug_adds", self.hotplug.adds)
            .u64("hotplug_dels", self.hotplug.dels)
            .u64("hotplug_deferred_drive_busy", self.hotplug.deferred)
            .u64("hotplug_add_failures", self.hotplug.add_failures)
            .object("main_loop", main_loop)
            .u64("device_deleted_events", self.device_deleted_events)
            .u64("grace_periods", self.grace_periods)
            .u64("bus_children_removed", self.children_removed)
            .u64("bus_children_freed", self.children_freed)
            .u64("tree_walks", self.walks)
            .object("safety", safety)
            .bool("safety_ok", self.safety.all_zero());
        o.finish()
    }

    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let hot = if !c.hotplug {
            "no hot-plug".to_owned()
        } else if c.hotplug_interval.is_zero() {
            "continuous hot-plug".to_owned()
        } else {
            format!("hot-plug every {:?}", c.hotplug_interval)
        };
        let _ = writeln!(
            s,
            "qdev-demo: {:.2} s, --sync {}, {} I/O thread(s), {} disk(s), {hot}, realize cost {:?}",
            self.elapsed.as_secs_f64(),
            c.sync,
            c.iothreads,
            c.disks,
            c.realize_cost
        );
        let _ = writeln!(
            s,
            "  requests served            {:>12}  ({:.0} req/s)",
            self.requests(),
            self.requests_per_sec()
        );
        let _ = writeln!(
            s,
            "  lookups found no device    {:>12}  (BAD_TARGET; expected while disks are unplugged)",
            self.io.not_found
        );
        let _ = writeln!(
            s,
            "  answered by another LUN    {:>12}  (target fallback: LUN NOT SUPPORTED)",
            self.io.wrong_lun
        );
        let _ = writeln!(
            s,
            "  REPORT LUNS / LU resets / I_T nexus resets   {} / {} / {}",
            self.io.report_luns, self.io.lun_resets, self.io.nexus_resets
        );
        for (label, l) in [
            ("raw (as issued)", &self.io.lookups),
            ("corrected (intended start)", &self.io.lookups_corrected),
        ] {
            let _ = writeln!(
                s,
                "  lookup latency {label:<27} p50 {} ns, p99 {} ns, max {} ns ({} samples)",
                l.percentile_ns(50.0),
                l.percentile_ns(99.0),
                l.max_ns(),
                l.count()
            );
        }
        let _ = writeln!(
            s,
            "  hot-plug                   {} device_add, {} device_del, {} idle polls (no drive free until a DEVICE_DELETED), {} failed",
            self.hotplug.adds, self.hotplug.dels, self.hotplug.deferred, self.hotplug.add_failures
        );
        let _ = writeln!(
            s,
            "  main loop                  {} iterations, BQL held {:.1}% of the run ({:.1}% when runnable), on CPU {:.1}%, longest wait to re-take the BQL {:?}",
            self.main_loop.iterations,
            self.main_loop_bql_held_fraction() * 100.0,
            self.main_loop_bql_held_fraction_when_runnable() * 100.0,
            self.main_loop_cpu_fraction() * 100.0,
            self.main_loop.bql_reacquire_max
        );
        let _ = writeln!(
            s,
            "  DEVICE_DELETED events      {:>12}",
            self.device_deleted_events
        );
        let _ = writeln!(s, "  grace periods              {:>12}", self.grace_periods);
        let _ = writeln!(
            s,
            "  BusChild nodes             {:>12} removed, {} freed{}",
            self.children_removed,
            self.children_freed,
            if self.reclamation_complete() {
                ""
            } else {
                " (MISMATCH)"
            }
        );
        let _ = writeln!(s, "  tree walks (slow reader)   {:>12}", self.walks);
        let _ = writeln!(
            s,
            "  safety checks              freed object seen {}, unrealized device returned {}, REPORT LUNS inconsistent {} -> {}",
            self.safety.freed_object_seen,
            self.safety.unrealized_returned,
            self.safety.report_luns_inconsistent,
            if self.safety.all_zero() {
                "OK"
            } else {
                "FAILED"
            }
        );
        s
    }
}
