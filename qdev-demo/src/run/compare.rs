//! The default run: the scenario in each `--sync` mode, every mode run [`DEFAULT_REPEATS`] times
//! interleaved (rcu, bql, rwlock, rcu, ...), then two tables of medians with their ranges, a
//! verdict that names all three modes and claims only what the tables show, and a legend of
//! exactly the terms used (at most 80 columns).
//!
//! The verdict leads with what the seed commit claims, measured directly: how many lookups
//! waited for a lock and for how long. RCU lookups take no lock, so none ever waits, on any
//! machine; how often a BQL or rwlock lookup waits follows from the hot-plug pace, which is the
//! same in every mode. Throughput comes second, as a ratio with its range over the repeats, in
//! requests per second of I/O-thread CPU time: requests per wall-clock second depend on how the
//! scheduler shares the CPUs (the table shows them too).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::qdev::sync_mode::SyncMode;
use crate::run::config::ScenarioConfig;
use crate::run::glossary::terms_in;
use crate::run::scenario::{Progress, run_scenario_until};
use crate::run::summary::{RunReport, SCHEMA_VERSION, Summary, oversubscribed_note, workload};
use crate::util::histogram::LatencyHistogram;
use crate::util::units::{duration, latency_ns, share, si, times};

/// How many times the default run repeats each mode.
pub const DEFAULT_REPEATS: usize = 3;

/// Largest spread of hot-plug counts between two runs (relative to the smaller) that still
/// counts as the same workload.
pub const HOTPLUG_TOLERANCE: f64 = 0.10;

/// The runs of a comparison in the order they ran (every mode once, then again, `repeats`
/// times); fewer if interrupted.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The parameters shared by every run (`duration` per run; `sync` unused).
    pub config: ScenarioConfig,
    /// How many times each mode was to run.
    pub repeats: usize,
    /// One summary per run that started (the last one may be interrupted).
    pub runs: Vec<Summary>,
    /// Whether Ctrl-C ended the comparison early.
    pub interrupted: bool,
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
    /// How many times each mode was to run.
    pub repeats: usize,
    /// One object per run in the order they ran (modes interleaved), each of [`RunReport`]'s
    /// schema.
    pub runs: Vec<RunReport>,
    /// [`Comparison::verdict`], its lines joined by newlines.
    pub verdict: String,
}

/// The median and range of some numbers.
///
/// ```
/// use qdev_demo::run::compare::Spread;
/// let s = Spread::of([3.0, 1.0, 2.0]).unwrap();
/// assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
/// assert_eq!(Spread::of([1.0, 2.0]).unwrap().median, 1.5);
/// assert!(Spread::of([]).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// Runs the scenario `repeats` times in every mode with `config` (its `sync` replaced),
/// interleaved (rcu, bql, rwlock, rcu, ...) so that a change in the machine's load hits every
/// mode alike, stopping early once `interrupt` is true. `on_start` is called as each run starts
/// (mode, repeat from 0), `on_progress` with its progress.
///
/// ```
/// use qdev_demo::run::compare::run_comparison;
/// use qdev_demo::run::config::ScenarioConfig;
/// use std::sync::atomic::AtomicBool;
/// use std::time::Duration;
/// let config = ScenarioConfig {
///     duration: Duration::from_millis(30),
///     iothreads: 1,
///     realize_cost: Duration::from_micros(10),
///     ..ScenarioConfig::default()
/// };
/// let c = run_comparison(&config, 2, &AtomicBool::new(false), |_, _| {}, |_, _| {});
/// assert_eq!(c.runs.len(), 6);
/// assert!(c.passed() && c.verdict()[0].starts_with("RCU: lookups never waited"));
/// ```
pub fn run_comparison(
    config: &ScenarioConfig,
    repeats: usize,
    interrupt: &AtomicBool,
    mut on_start: impl FnMut(SyncMode, usize),
    mut on_progress: impl FnMut(SyncMode, Progress),
) -> Comparison {
    let mut runs = Vec::new();
    'all: for repeat in 0..repeats {
        for sync in SyncMode::ALL {
            if interrupt.load(Ordering::Relaxed) {
                break 'all;
            }
            on_start(sync, repeat);
            let mode_config = ScenarioConfig {
                sync,
                finish_hotplugs: true,
                ..config.clone()
            };
            let summary = run_scenario_until(&mode_config, interrupt, |p| on_progress(sync, p));
            let stop = summary.interrupted;
            runs.push(summary);
            if stop {
                break 'all;
            }
        }
    }
    Comparison {
        config: config.clone(),
        repeats,
        interrupted: interrupt.load(Ordering::Relaxed),
        runs,
    }
}

/// The name a mode has in the verdict: `RCU`, `BQL`, `rwlock`.
fn label(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Rcu => "RCU",
        SyncMode::Bql => "BQL",
        SyncMode::RwLock => "rwlock",
    }
}

/// What one mode's completed runs add up to.
struct ModeStats<'a> {
    runs: Vec<&'a Summary>,
}

impl ModeStats<'_> {
    fn spread(&self, f: impl Fn(&Summary) -> f64) -> Option<Spread> {
        Spread::of(self.runs.iter().map(|s| f(s)))
    }

    fn waited(&self) -> u64 {
        self.runs.iter().map(|s| s.io.lookups_waited()).sum()
    }

    fn lookups(&self) -> u64 {
        self.runs.iter().map(|s| s.io.lookups.count()).sum()
    }

    /// Every wait of every run, in one histogram.
    fn waits(&self) -> LatencyHistogram {
        let mut all = LatencyHistogram::new();
        for s in &self.runs {
            all.merge(&s.io.lock_waits);
        }
        all
    }

    /// Runs in which some lookup waited.
    fn runs_that_waited(&self) -> usize {
        self.runs
            .iter()
            .filter(|s| s.io.lookups_waited() > 0)
            .count()
    }

    fn median_ns(&self, f: impl Fn(&Summary) -> u64) -> u64 {
        self.spread(|s| f(s) as f64).map_or(0, |s| s.median as u64)
    }
}

impl Comparison {
    /// The completed runs of `mode` (those that got past realizing their disks).
    fn mode(&self, mode: SyncMode) -> ModeStats<'_> {
        ModeStats {
            runs: self
                .runs
                .iter()
                .filter(|s| s.config.sync == mode && !s.elapsed.is_zero())
                .collect(),
        }
    }

    /// Whether every run passed its safety checks.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(Summary::passed)
    }

    /// Whether the hot-plug counts of every completed run are within [`HOTPLUG_TOLERANCE`] of
    /// each other (the same workload in every row). Interrupted runs are left out.
    pub fn same_hotplug_counts(&self) -> bool {
        let counts = self
            .runs
            .iter()
            .filter(|s| !s.interrupted)
            .map(|s| (s.hotplug.adds + s.hotplug.dels) as f64);
        Spread::of(counts).is_none_or(|s| s.max <= s.min * (1.0 + HOTPLUG_TOLERANCE))
    }

    /// The longest run's time, if some run went on more than 10% past its duration to issue
    /// its hot-plugs (its main loop fell behind the pace).
    fn overran(&self) -> Option<std::time::Duration> {
        let longest = self.runs.iter().map(|s| s.elapsed).max()?;
        (longest.as_secs_f64() > self.config.duration.as_secs_f64() * 1.1).then_some(longest)
    }

    /// The line the verdict gives `mode`, if it ran.
    fn mode_line(&self, mode: SyncMode) -> Option<String> {
        let m = self.mode(mode);
        if m.runs.is_empty() {
            return None;
        }
        let (waited, lookups) = (m.waited(), m.lookups());
        let name = label(mode);
        if waited == 0 {
            let never = format!(
                "{name}: lookups never waited for a lock (0 of {})",
                si(lookups as f64)
            );
            return Some(never);
        }
        let pct = m.spread(Summary::waited_fraction)?;
        let waits = m.waits();
        let (p99, longest) = (
            latency_ns(waits.percentile_ns(99.0)),
            latency_ns(waits.max_ns()),
        );
        let (some, all) = (m.runs_that_waited(), m.runs.len());
        Some(if some == all {
            format!(
                "{name}: {} of lookups waited, p99 wait {p99}, the longest {longest}",
                share(pct.median)
            )
        } else {
            format!(
                "{name}: lookups waited in {some} of {all} runs (up to {}), the longest {longest}",
                share(pct.max)
            )
        })
    }

    /// RCU's requests per I/O-thread CPU-second over `other`'s, run by run (repeat i of RCU with
    /// repeat i of `other`). Per CPU-second, not per second: on a busy machine the share of the
    /// CPUs each run got would decide the wall-clock ratio.
    fn ratio(&self, other: SyncMode) -> Option<Spread> {
        let (rcu, other) = (self.mode(SyncMode::Rcu), self.mode(other));
        Spread::of(
            rcu.runs
                .iter()
                .zip(&other.runs)
                .filter(|(a, b)| !a.interrupted && !b.interrupted)
                .map(|(a, b)| a.requests_per_cpu_sec() / b.requests_per_cpu_sec().max(1e-9)),
        )
    }

    /// The verdict in plain words, one line per mode and one for throughput, each at most 80
    /// columns, e.g. `RCU: lookups never waited for a lock (0 of 6.92M)`, `BQL: 0.031% of
    /// lookups waited, p99 wait 210 µs, the longest 1.30 ms`, ..., `Per CPU-second, RCU served
    /// 1.21x the BQL's requests (1.10x-1.35x over 3 runs)`, `  and 1.05x rwlock's (1.01x-1.08x)`.
    pub fn verdict(&self) -> Vec<String> {
        if let Some(bad) = self.runs.iter().find(|s| !s.passed()) {
            return vec![format!(
                "FAILED: a safety check fired with --sync {} (see its summary)",
                bad.config.sync
            )];
        }
        let mut lines: Vec<String> = SyncMode::ALL
            .into_iter()
            .filter_map(|m| self.mode_line(m))
            .collect();
        if lines.is_empty() {
            return vec!["Interrupted before any mode ran: nothing to compare".to_owned()];
        }
        match (self.ratio(SyncMode::Bql), self.ratio(SyncMode::RwLock)) {
            (Some(bql), rw) => {
                let runs = self
                    .mode(SyncMode::Rcu)
                    .runs
                    .len()
                    .min(self.mode(SyncMode::Bql).runs.len());
                lines.push(format!(
                    "Per CPU-second, RCU served {} the BQL's requests ({}-{} over {runs} run{})",
                    times(bql.median),
                    times(bql.min),
                    times(bql.max),
                    if runs == 1 { "" } else { "s" }
                ));
                if let Some(rw) = rw {
                    lines.push(format!(
                        "  and {} rwlock's ({}-{})",
                        times(rw.median),
                        times(rw.min),
                        times(rw.max)
                    ));
                }
            }
            (None, _) => lines.push(
                "Interrupted before RCU and the BQL both ran: no throughput ratio".to_owned(),
            ),
        }
        if !self.same_hotplug_counts() {
            lines.push(format!(
                "Hot-plug counts differ by over {:.0}%: the rows are not the same workload",
                HOTPLUG_TOLERANCE * 100.0
            ));
        }
        lines
    }

    /// The `--json` object.
    pub fn report(&self) -> ComparisonReport {
        ComparisonReport {
            schema_version: SCHEMA_VERSION,
            kind: "comparison",
            interrupted: self.interrupted,
            cpus: crate::run::config::cpus(),
            repeats: self.repeats,
            runs: self.runs.iter().map(Summary::report).collect(),
            verdict: self.verdict().join("\n"),
        }
    }

    /// The comparison as one line of JSON ([`ComparisonReport`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.report()).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The rows of the tables: a mode that has not run is left out; one whose only run was
    /// interrupted while its disks were realized gets a note instead.
    fn table(
        &self,
        s: &mut String,
        title: &str,
        header: &str,
        row: impl Fn(&ModeStats<'_>) -> String,
    ) {
        let _ = writeln!(s, "{title}");
        let _ = writeln!(s, "{header}");
        for mode in SyncMode::ALL {
            let m = self.mode(mode);
            let started = self.runs.iter().any(|r| r.config.sync == mode);
            let star = if m.runs.iter().any(|r| r.interrupted) {
                "*"
            } else {
                ""
            };
            if m.runs.is_empty() {
                if started {
                    let _ = writeln!(
                        s,
                        "{:<8}interrupted while its disks were realized",
                        format!("{mode}*")
                    );
                }
                continue;
            }
            let _ = writeln!(s, "{:<8}{}", format!("{mode}{star}"), row(&m));
        }
    }

    /// The tables, the verdict and the legend, at most 80 columns.
    pub fn to_text(&self) -> String {
        let c = &self.config;
        let mut body = String::new();
        let _ = writeln!(
            body,
            "qdev-demo: I/O threads look up disks while the main loop hot-plugs them."
        );
        let planned = self.repeats * SyncMode::ALL.len();
        let _ = if self.interrupted {
            writeln!(
                body,
                "Interrupted after {} of {planned} runs of {} (modes interleaved).",
                self.runs.len(),
                duration(c.duration)
            )
        } else {
            writeln!(
                body,
                "Each mode ran {} times for {}, interleaved.",
                self.repeats,
                duration(c.duration)
            )
        };
        let _ = writeln!(body, "  {}", workload(c));
        if let Some(longest) = self.overran() {
            let _ = writeln!(
                body,
                "  the main loop fell behind that pace: the longest run took {}",
                duration(longest)
            );
        }
        if c.oversubscribed() {
            let _ = writeln!(body, "  {}", oversubscribed_note(c));
        }
        let _ = writeln!(body);
        self.table(
            &mut body,
            "Lookups that waited for a lock (lower is better)",
            "mode    waited (range)              wait p50    wait p99     longest",
            |m| {
                let pct = m.spread(Summary::waited_fraction).expect("ran");
                let all = m.waits();
                let waits = |ns: u64| {
                    if m.waited() == 0 {
                        "-".to_owned()
                    } else {
                        latency_ns(ns)
                    }
                };
                format!(
                    "{:<28}{:>8}{:>12}{:>12}",
                    format!(
                        "{} ({}-{})",
                        share(pct.median),
                        share(pct.min),
                        share(pct.max)
                    ),
                    waits(all.percentile_ns(50.0)),
                    waits(all.percentile_ns(99.0)),
                    waits(all.max_ns()),
                )
            },
        );
        let _ = writeln!(body);
        self.table(
            &mut body,
            "Requests served (higher is better), lookup time (lower is better)",
            "mode      req/s  per CPU-second (range)    lookup p50  lookup p99  hot-plugs",
            |m| {
                let rps = m.spread(Summary::requests_per_sec).expect("ran");
                let cpu = m.spread(Summary::requests_per_cpu_sec).expect("ran");
                format!(
                    "{:>7}  {:<24}{:>12}{:>12}{:>11}",
                    si(rps.median),
                    format!("{} ({}-{})", si(cpu.median), si(cpu.min), si(cpu.max)),
                    latency_ns(m.median_ns(|s| s.io.lookups.percentile_ns(50.0))),
                    latency_ns(m.median_ns(|s| s.io.lookups.percentile_ns(99.0))),
                    indicatif::HumanCount(m.median_ns(|s| s.hotplug.adds + s.hotplug.dels))
                        .to_string(),
                )
            },
        );
        let completed = self.runs.iter().filter(|r| !r.elapsed.is_zero()).count();
        let _ = writeln!(
            body,
            "Safety: {} in {completed} run{} (no lookup met a freed or half-built disk)",
            if self.passed() { "OK" } else { "FAILED" },
            if completed == 1 { "" } else { "s" }
        );
        if self.runs.iter().any(|r| r.interrupted) {
            let _ = writeln!(body, "(* interrupted: the row covers the part that ran)");
        }
        let _ = writeln!(body);
        for line in self.verdict() {
            let _ = writeln!(body, "{line}");
        }
        let _ = writeln!(body);
        let legend = legend(self.repeats);
        let terms = terms_in(&format!("{body}{legend}"));
        format!("{body}{legend}{terms}")
    }
}

/// What the modes and columns mean (followed by the terms the output uses).
fn legend(repeats: usize) -> String {
    format!(
        "\
Modes: how an I/O thread finds the disk for a request while disks come and go
  rcu      takes no lock (QEMU since commit 2d24a6466154); a removed disk is
           freed only after a grace period, so no lookup meets freed memory
  bql      takes the BQL, so it waits while a hot-plug holds it
  rwlock   shares a reader-writer lock that each hot-plug takes alone
Columns: median of a mode's {repeats} runs (range: lowest-highest), except:
  waited: share of lookups that found the lock taken; wait p50, p99, longest:
  how long they waited, over every wait of the mode's runs
  per CPU-second: requests per second of CPU time the I/O thread(s) got
  lookup: time to find the disk, each lookup counted once
  hot-plugs: the workload, the same in every row
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A completed run of `sync` with `requests` requests and lookups, `waited` of which waited
    /// `wait_ns` each.
    fn summary(sync: SyncMode, requests: u64, waited: u64, wait_ns: u64) -> Summary {
        let config = ScenarioConfig {
            sync,
            duration: Duration::from_secs(1),
            iothreads: 1,
            ..ScenarioConfig::default()
        };
        let mut s = Summary::not_started(&config);
        s.interrupted = false;
        s.elapsed = Duration::from_secs(1);
        s.io.commands = requests;
        s.io.cpu_time = Duration::from_secs(1);
        s.hotplug.adds = 500;
        s.hotplug.dels = 500;
        for _ in 0..requests.min(1000) {
            s.io.lookups.record(Duration::from_nanos(300));
        }
        for _ in 0..waited {
            s.io.record_lock_wait(Duration::from_nanos(wait_ns));
        }
        s
    }

    fn comparison(runs: Vec<Summary>) -> Comparison {
        Comparison {
            config: ScenarioConfig {
                iothreads: 1,
                ..ScenarioConfig::default()
            },
            repeats: 3,
            runs,
            interrupted: false,
        }
    }

    fn three_rounds() -> Vec<Summary> {
        let mut runs = Vec::new();
        for (i, k) in [10u64, 9, 11].into_iter().enumerate() {
            runs.push(summary(SyncMode::Rcu, 4_000_000 + i as u64, 0, 0));
            runs.push(summary(SyncMode::Bql, 300_000 * k / 10, 4, 200_000));
            runs.push(summary(SyncMode::RwLock, 350_000, 3, 150_000));
        }
        runs
    }

    fn assert_fits_80(text: &str) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn verdict_names_every_mode_and_claims_what_the_table_shows() {
        let c = comparison(three_rounds());
        let v = c.verdict();
        assert_eq!(
            v[0], "RCU: lookups never waited for a lock (0 of 3.00k)",
            "{v:?}"
        );
        assert!(
            v[1].starts_with("BQL: 0.4% of lookups waited, p99 wait 200 µs"),
            "{v:?}"
        );
        assert!(v[2].starts_with("rwlock: 0.3% of lookups waited"), "{v:?}");
        assert!(
            v[3].starts_with(
                "Per CPU-second, RCU served 13.3x the BQL's requests (12.1x-14.8x over 3 runs)"
            ),
            "{v:?}"
        );
        assert!(v[4].contains("11.4x rwlock's"), "{v:?}");
        assert_eq!(v.len(), 5, "{v:?}");
        let text = c.to_text();
        assert_fits_80(&text);
        assert!(text.contains("rcu     0% (0%-0%)"), "{text}");
        for term in ["I/O thread", "main loop", "BQL", "hot-plug", "grace period"] {
            assert!(
                text.contains(&format!("  {term}  ")),
                "legend defines {term}: {text}"
            );
        }
        for absent in [
            "REPORT LUNS",
            "DEVICE_DELETED",
            "LUN ",
            "realize",
            "p99 raw",
            "corrected",
        ] {
            assert!(!text.contains(absent), "{absent} should not appear: {text}");
        }
        assert!(text.contains("(lower is better)") && text.contains("(higher is better)"));
    }

    /// A mode whose lookups waited in some runs only says so, instead of a median of 0%.
    #[test]
    fn waits_in_some_runs_only_are_said_as_such() {
        let mut c = comparison(three_rounds());
        c.runs[2] = summary(SyncMode::RwLock, 350_000, 0, 0);
        let v = c.verdict();
        assert_eq!(
            v[2], "rwlock: lookups waited in 2 of 3 runs (up to 0.3%), the longest 150 µs",
            "{v:?}"
        );
        let text = c.to_text();
        assert!(text.contains("rwlock  0.3% (0%-0.3%)"), "{text}");
        assert_fits_80(&text);
    }

    #[test]
    fn unequal_hotplug_counts_and_failures_and_interruptions_are_said() {
        let mut c = comparison(three_rounds());
        assert!(c.same_hotplug_counts());
        c.runs[1].hotplug.adds = 100;
        assert!(!c.same_hotplug_counts());
        assert!(
            c.verdict()
                .last()
                .unwrap()
                .starts_with("Hot-plug counts differ")
        );
        c.runs[1].safety.freed_object_seen = 1;
        assert_eq!(c.verdict().len(), 1);
        assert!(c.verdict()[0].starts_with("FAILED") && c.verdict()[0].contains("bql"));
        c.runs.truncate(1);
        c.runs[0].interrupted = true;
        let v = c.verdict();
        assert!(
            v[0].starts_with("RCU: lookups never waited") && v[1].starts_with("Interrupted"),
            "{v:?}"
        );
        assert!(c.to_text().contains("rcu*"));
        c.runs[0] = Summary::not_started(&c.runs[0].config);
        assert!(c.verdict()[0].starts_with("Interrupted before any mode ran"));
        let text = c.to_text();
        assert!(
            text.contains("rcu*    interrupted while its disks were realized"),
            "{text}"
        );
        assert_fits_80(&text);
        c.runs.clear();
        assert_eq!(
            c.verdict(),
            ["Interrupted before any mode ran: nothing to compare"]
        );
    }

    #[test]
    fn oversubscription_and_overrun_are_said() {
        let mut c = comparison(three_rounds());
        assert!(!c.to_text().contains("fell behind"));
        c.runs[4].elapsed = Duration::from_millis(6500); // of 5 s
        assert!(
            c.to_text()
                .contains("  the main loop fell behind that pace: the longest run took 6.50 s")
        );
        c.config.iothreads = crate::run::config::cpus() + 1;
        let text = c.to_text();
        assert!(text.contains("oversubscribed: "), "{text}");
        assert_fits_80(&text);
    }
}
