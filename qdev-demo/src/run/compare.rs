//! The default run: the scenario in each `--sync` mode back to back, then one side-by-side
//! table, a one-line verdict in plain words and a legend of the QEMU terms (at most 80 columns).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::qdev::sync_mode::SyncMode;
use crate::run::config::ScenarioConfig;
use crate::run::glossary::TERMS;
use crate::run::scenario::{Progress, run_scenario_until};
use crate::run::summary::{RunReport, SCHEMA_VERSION, Summary, workload};
use crate::util::units::{duration, latency_ns, si, times};

/// The runs of a comparison, in [`SyncMode::ALL`] order; fewer than three if interrupted.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The parameters shared by every run (`duration` per mode; `sync` unused).
    pub config: ScenarioConfig,
    /// One summary per mode that ran (the last one may be interrupted).
    pub runs: Vec<Summary>,
    /// Whether Ctrl-C ended the comparison early.
    pub interrupted: bool,
    /// CPUs this process may run on (the verdict's note on oversubscription).
    pub cpus: usize,
}

/// The comparison as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `"comparison"`.
    pub kind: &'static str,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// CPUs the process could run on.
    pub cpus: usize,
    /// One object per mode that ran, each of [`RunReport`]'s schema.
    pub runs: Vec<RunReport>,
    /// [`Comparison::verdict`].
    pub verdict: String,
}

/// Runs the scenario in every mode with `config` (its `sync` replaced), stopping early once
/// `interrupt` is true. `on_start` is called as each mode starts, `on_progress` with its
/// progress.
///
/// ```
/// use qdev_demo::run::compare::run_comparison;
/// use qdev_demo::run::config::ScenarioConfig;
/// use std::sync::atomic::AtomicBool;
/// use std::time::Duration;
/// let config = ScenarioConfig {
///     duration: Duration::from_millis(50),
///     iothreads: 1,
///     realize_cost: Duration::from_micros(10),
///     ..ScenarioConfig::default()
/// };
/// let c = run_comparison(&config, &AtomicBool::new(false), |_| {}, |_, _| {});
/// assert_eq!(c.runs.len(), 3);
/// assert!(c.passed() && !c.verdict().is_empty());
/// ```
pub fn run_comparison(
    config: &ScenarioConfig,
    interrupt: &AtomicBool,
    mut on_start: impl FnMut(SyncMode),
    mut on_progress: impl FnMut(SyncMode, Progress),
) -> Comparison {
    let mut runs = Vec::new();
    for sync in SyncMode::ALL {
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
        on_start(sync);
        let mode_config = ScenarioConfig {
            sync,
            ..config.clone()
        };
        let summary = run_scenario_until(&mode_config, interrupt, |p| on_progress(sync, p));
        let stop = summary.interrupted;
        runs.push(summary);
        if stop {
            break;
        }
    }
    Comparison {
        config: config.clone(),
        interrupted: interrupt.load(Ordering::Relaxed),
        runs,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
    }
}

impl Comparison {
    fn run(&self, mode: SyncMode) -> Option<&Summary> {
        self.runs
            .iter()
            .find(|s| s.config.sync == mode && s.elapsed > std::time::Duration::ZERO)
    }

    /// Whether every run passed its safety checks.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(Summary::passed)
    }

    /// Threads that want a CPU all the time: the I/O threads and the main loop.
    fn busy_threads(&self) -> usize {
        self.config.iothreads + 1
    }

    /// The verdict in plain words, one line of at most 80 columns, e.g. `RCU never waited for
    /// hot-plug: 3.42x the BQL's req/s, p99 1.54 µs vs 2.60 ms`.
    pub fn verdict(&self) -> String {
        if let Some(bad) = self.runs.iter().find(|s| !s.passed()) {
            return format!(
                "FAILED: a safety check fired with --sync {} (see its summary)",
                bad.config.sync
            );
        }
        let (Some(rcu), Some(bql)) = (self.run(SyncMode::Rcu), self.run(SyncMode::Bql)) else {
            return if self.runs.is_empty() {
                "Interrupted before any mode ran: nothing to compare".to_owned()
            } else {
                "Interrupted before RCU and the BQL both ran: no verdict; safety OK".to_owned()
            };
        };
        let ratio = rcu.requests_per_sec() / bql.requests_per_sec().max(1e-9);
        let (a, b) = (
            rcu.io.lookups_corrected.percentile_ns(99.0),
            bql.io.lookups_corrected.percentile_ns(99.0),
        );
        let (a, b, mark) = if a <= b {
            (a, b, "")
        } else {
            let raw = |s: &Summary| s.io.lookups.percentile_ns(99.0);
            (raw(rcu), raw(bql), "*")
        };
        let lead = if self.config.hotplug {
            "RCU never waited for hot-plug"
        } else {
            "No hot-plug (baseline), RCU"
        };
        format!(
            "{lead}: {} the BQL's req/s; p99 {} vs {}{mark}",
            times(ratio),
            latency_ns(a),
            latency_ns(b)
        )
    }

    /// The note the verdict's `*` refers to, if RCU's corrected p99 is above the BQL's.
    fn p99_note(&self) -> Option<String> {
        let (rcu, bql) = (self.run(SyncMode::Rcu)?, self.run(SyncMode::Bql)?);
        let (a, b) = (
            rcu.io.lookups_corrected.percentile_ns(99.0),
            bql.io.lookups_corrected.percentile_ns(99.0),
        );
        (a > b).then(|| {
            format!(
                "* raw p99 (each lookup once). RCU's corrected p99, {}, is above the BQL's\n  \
                 {}: {} busy threads share {} CPU(s), and a lookup the scheduler\n  \
                 preempts mid-read counts the requests queued behind it (see README).",
                latency_ns(a),
                latency_ns(b),
                self.busy_threads(),
                self.cpus
            )
        })
    }

    /// The `--json` object.
    pub fn report(&self) -> ComparisonReport {
        ComparisonReport {
            schema_version: SCHEMA_VERSION,
            kind: "comparison",
            interrupted: self.interrupted,
            cpus: self.cpus,
            runs: self.runs.iter().map(Summary::report).collect(),
            verdict: self.verdict(),
        }
    }

    /// The comparison as one line of JSON ([`ComparisonReport`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.report()).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The table, the verdict and the legend, at most 80 columns.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "qdev-demo: I/O threads look up disks while the main loop hot-plugs them,"
        );
        let _ = writeln!(
            s,
            "three ways ({} each{}):",
            duration(self.config.duration),
            if self.interrupted {
                "; interrupted"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "  {}", workload(&self.config));
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "mode        req/s       p50       p99   p99 raw       max  hot-plugs  safety"
        );
        for r in &self.runs {
            if r.elapsed.is_zero() {
                let _ = writeln!(
                    s,
                    "{:<8}interrupted while its disks were realized",
                    format!("{}*", r.config.sync)
                );
                continue;
            }
            let (h, raw) = (&r.io.lookups_corrected, &r.io.lookups);
            let _ = writeln!(
                s,
                "{:<8}{:>9}{:>10}{:>10}{:>10}{:>10}{:>11}  {}",
                format!("{}{}", r.config.sync, if r.interrupted { "*" } else { "" }),
                si(r.requests_per_sec()),
                latency_ns(h.percentile_ns(50.0)),
                latency_ns(h.percentile_ns(99.0)),
                latency_ns(raw.percentile_ns(99.0)),
                latency_ns(h.max_ns()),
                indicatif::HumanCount(r.hotplug.adds + r.hotplug.dels).to_string(),
                if r.passed() { "OK" } else { "FAILED" }
            );
        }
        if self.runs.iter().any(|r| r.interrupted) {
            let _ = writeln!(s, "(* interrupted: the row covers the part that ran)");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "{}", self.verdict());
        if let Some(note) = self.p99_note() {
            let _ = writeln!(s, "{note}");
        }
        let _ = writeln!(s);
        s.push_str(LEGEND);
        s.push_str(TERMS);
        s
    }
}

/// What the table's modes and columns mean (followed by [`TERMS`] in the output).
pub const LEGEND: &str = "\
Modes: how an I/O thread finds the disk for a request while disks come and go
  rcu      lock-free reads, as QEMU does since commit 2d24a6466154
  bql      the I/O thread takes the BQL, so it waits out every hot-plug
  rwlock   readers share a reader-writer lock that each hot-plug takes alone
Columns: req/s served by all I/O threads; p50/p99/max time to find the disk,
  counting requests that queued behind a slow one (p99 raw counts each once);
  hot-plugs done; safety OK = no freed or half-built device was ever seen
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::summary::Summary;
    use std::time::Duration;

    fn summary(sync: SyncMode, requests: u64, p99_ns: u64) -> Summary {
        let config = ScenarioConfig {
            sync,
            duration: Duration::from_secs(1),
            ..ScenarioConfig::default()
        };
        let mut s = Summary::not_started(&config);
        s.interrupted = false;
        s.elapsed = Duration::from_secs(1);
        s.io.commands = requests;
        for _ in 0..100 {
            s.io.lookups.record(Duration::from_nanos(300));
            s.io.lookups_corrected.record(Duration::from_nanos(p99_ns));
        }
        s
    }

    fn comparison(runs: Vec<Summary>) -> Comparison {
        Comparison {
            config: ScenarioConfig::default(),
            runs,
            interrupted: false,
            cpus: 2,
        }
    }

    #[test]
    fn verdict_and_table_fit_80_columns() {
        let mut c = comparison(vec![
            summary(SyncMode::Rcu, 4_000_000, 400),
            summary(SyncMode::Bql, 300_000, 2_600_000),
            summary(SyncMode::RwLock, 350_000, 2_000_000),
        ]);
        let v = c.verdict();
        assert!(
            v.starts_with("RCU never waited for hot-plug: 13.3x the BQL's req/s; p99"),
            "{v}"
        );
        assert!(v.contains("vs 2.6"), "{v}");
        let text = c.to_text();
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        assert!(text.contains("rwlock") && text.contains("I_T nexus") && !text.contains('*'));
        c.config.hotplug = false;
        assert!(
            c.verdict()
                .starts_with("No hot-plug (baseline), RCU: 13.3x"),
            "{}",
            c.verdict()
        );
    }

    #[test]
    fn worse_rcu_p99_is_explained_and_failures_win() {
        let mut c = comparison(vec![
            summary(SyncMode::Rcu, 4_000_000, 9_000_000),
            summary(SyncMode::Bql, 300_000, 2_600_000),
        ]);
        let v = c.verdict();
        assert!(v.ends_with("p99 300 ns vs 300 ns*"), "{v}");
        let text = c.to_text();
        assert!(text.contains("3 busy threads share 2 CPU(s)"), "{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        c.runs[1].safety.freed_object_seen = 1;
        assert!(c.verdict().starts_with("FAILED") && c.verdict().contains("bql"));
        c.runs.truncate(1);
        c.runs[0].interrupted = true;
        assert!(c.verdict().starts_with("Interrupted"));
        assert!(c.to_text().contains("rcu*"));
        c.runs[0] = Summary::not_started(&c.runs[0].config);
        assert!(c.verdict().starts_with("Interrupted before RCU"));
        assert!(
            c.to_text()
                .contains("rcu*    interrupted while its disks were realized")
        );
        c.runs.clear();
        assert_eq!(
            c.verdict(),
            "Interrupted before any mode ran: nothing to compare"
        );
    }
}
