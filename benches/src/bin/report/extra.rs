//! Measurements criterion cannot hold: grace periods per round with concurrent callers
//! (a counter, not a time) and the backlog and peak memory under a `call_rcu` flood
//! (each flood runs in a fresh child process so its peak RSS is its own).

use std::process::Command;
use std::time::Duration;

use benches::grace_period::{RcuCore, Readers, grace_periods_per_round};
use benches::qdev::{LatencyRun, latency_run};
use benches::reclaim::{FloodStats, RcuIntrusive, Reclaimer, flood};
use benches::tuning::CALLERS;
use qdev_demo::qdev::sync_mode::SyncMode;

use crate::units::{format_rate, format_time};

/// Rounds of the grace-periods-per-round measurement.
const ROUNDS: u64 = 2000;

/// How long a flood lasts (the liburcu anchor used a 2 s flood).
pub const FLOOD: Duration = Duration::from_secs(2);

/// A flood's result as reported by the child process.
#[derive(Debug)]
pub struct FloodReport {
    pub name: String,
    pub stats: FloodStats,
    /// VmRSS before the flood, KiB.
    pub rss_before_kib: u64,
    /// VmHWM (peak RSS) after the flood, KiB.
    pub peak_rss_kib: u64,
}

/// Length of each qdev-demo latency run.
pub const QDEV_RUN: Duration = Duration::from_secs(1);

/// I/O threads of the qdev-demo latency runs.
pub const QDEV_IOTHREADS: usize = 2;

/// One qdev-demo latency run.
#[derive(Debug)]
pub struct QdevReport {
    pub mode: SyncMode,
    pub hotplug: bool,
    pub run: LatencyRun,
}

/// The extra numbers.
#[derive(Debug, Default)]
pub struct Extra {
    /// Grace periods per round, 4 callers with no reader and with a busy reader.
    pub gp_per_round: Option<f64>,
    pub gp_per_round_busy: Option<f64>,
    pub floods: Vec<FloodReport>,
    pub qdev: Vec<QdevReport>,
}

impl Extra {
    /// Runs every extra measurement (about 15 s).
    pub fn measure() -> Extra {
        let gp_per_round = grace_periods_per_round(&RcuCore, CALLERS, Readers::None, ROUNDS);
        let gp_per_round_busy = grace_periods_per_round(&RcuCore, CALLERS, Readers::Busy, ROUNDS);
        let mut floods = Vec::new();
        let mut kinds = vec!["rcu-core"];
        if cfg!(feature = "liburcu") {
            kinds.push("liburcu");
        }
        for kind in kinds {
            match spawn_flood(kind) {
                Ok(report) => floods.push(report),
                Err(e) => eprintln!("report: flood child {kind} failed: {e}"),
            }
        }
        let mut qdev = Vec::new();
        // Untimed warm-up: thread registration, page faults, the callback thread's start.
        latency_run(
            SyncMode::Rcu,
            QDEV_IOTHREADS,
            true,
            Duration::from_millis(200),
        );
        for mode in SyncMode::ALL {
            for hotplug in [false, true] {
                let run = latency_run(mode, QDEV_IOTHREADS, hotplug, QDEV_RUN);
                qdev.push(QdevReport { mode, hotplug, run });
            }
        }
        Extra {
            gp_per_round,
            gp_per_round_busy,
            floods,
            qdev,
        }
    }

    /// The qdev-demo latency run of `mode` (by its spelling) with or without hot-plug.
    pub fn qdev(&self, mode: &str, hotplug: bool) -> Option<&LatencyRun> {
        self.qdev
            .iter()
            .find(|q| q.mode.as_str() == mode && q.hotplug == hotplug)
            .map(|q| &q.run)
    }

    /// The flood report named `name`.
    pub fn flood(&self, name: &str) -> Option<&FloodReport> {
        self.floods.iter().find(|f| f.name == name)
    }

    /// The unit of the measurement called `key`, or `None` if no measurement has that key.
    /// The keys (what a targets file may name):
    ///
    /// * `grace_periods_per_round/busy_reader`, `grace_periods_per_round/no_reader`:
    ///   grace periods per round of 4 concurrent `synchronize_rcu` callers;
    /// * `flood_peak_rss_mib/rcu-core`, `flood_peak_rss_mib/liburcu`: peak RSS of a 2 s
    ///   `call_rcu` flood in a fresh process;
    /// * `qdev_p99_raw_ns/MODE/LOAD` and `qdev_p99_corrected_ns/MODE/LOAD`: qdev-demo's p99
    ///   lookup latency, MODE one of `rcu`, `bql`, `rwlock`, LOAD `hotplug` or `quiet`.
    pub fn unit_of(key: &str) -> Option<Unit> {
        let (kind, rest) = key.split_once('/')?;
        match kind {
            "grace_periods_per_round" => {
                matches!(rest, "busy_reader" | "no_reader").then_some(Unit::Count)
            }
            "flood_peak_rss_mib" => {
                matches!(rest, "rcu-core" | "liburcu").then_some(Unit::Mebibytes)
            }
            "qdev_p99_raw_ns" | "qdev_p99_corrected_ns" => {
                let (mode, load) = rest.split_once('/')?;
                (SyncMode::ALL.iter().any(|m| m.as_str() == mode)
                    && matches!(load, "hotplug" | "quiet"))
                .then_some(Unit::Nanos)
            }
            _ => None,
        }
    }

    /// The measurement called `key` (see [`Extra::unit_of`]) with its unit, if it was taken.
    pub fn metric(&self, key: &str) -> Option<(f64, Unit)> {
        let unit = Self::unit_of(key)?;
        let (kind, rest) = key.split_once('/')?;
        let value = match kind {
            "grace_periods_per_round" if rest == "busy_reader" => self.gp_per_round_busy?,
            "grace_periods_per_round" => self.gp_per_round?,
            "flood_peak_rss_mib" => self.flood(rest)?.peak_rss_kib as f64 / 1024.0,
            _ => {
                let (mode, load) = rest.split_once('/')?;
                let run = self.qdev(mode, load == "hotplug")?;
                let histogram = if kind == "qdev_p99_raw_ns" {
                    &run.lookups
                } else {
                    &run.lookups_corrected
                };
                histogram.percentile_ns(99.0) as f64
            }
        };
        Some((value, unit))
    }
}

/// The unit of a report measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Nanos,
    PerSec,
    Count,
    Mebibytes,
}

impl Unit {
    /// `value` in this unit as text.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Nanos => format_time(value),
            Unit::PerSec => format_rate(value),
            Unit::Count => format!("{value:.2}"),
            Unit::Mebibytes => format!("{value:.1} MiB"),
        }
    }
}

fn spawn_flood(kind: &str) -> Result<FloodReport, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args(["--flood-child", kind])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| -> Result<u64, String> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .ok_or_else(|| format!("child output lacks {key}: {text}"))?
            .parse()
            .map_err(|e| format!("{key}: {e}"))
    };
    let peak = field("peak_pending")?;
    Ok(FloodReport {
        name: kind.to_owned(),
        stats: FloodStats {
            enqueued: field("enqueued")?,
            elapsed: Duration::from_nanos(field("elapsed_ns")?),
            peak_pending: (peak != u64::MAX).then_some(peak),
            drain: Duration::from_nanos(field("drain_ns")?),
        },
        rss_before_kib: field("rss_before_kib")?,
        peak_rss_kib: field("peak_rss_kib")?,
    })
}

/// The child side: flood with `kind`, print `key=value` pairs, exit.
pub fn flood_child(kind: &str) -> Result<(), String> {
    let rss_before = status_kib("VmRSS")?;
    let stats = match kind {
        "rcu-core" => run_flood(&RcuIntrusive),
        #[cfg(feature = "liburcu")]
        "liburcu" => run_flood(&benches::liburcu::Liburcu),
        other => {
            return Err(format!(
                "unknown flood kind {other:?} (rcu-core, or liburcu with --features liburcu)"
            ));
        }
    };
    let peak = status_kib("VmHWM")?;
    println!(
        "enqueued={} elapsed_ns={} peak_pending={} drain_ns={} rss_before_kib={rss_before} peak_rss_kib={peak}",
        stats.enqueued,
        stats.elapsed.as_nanos(),
        stats.peak_pending.unwrap_or(u64::MAX),
        stats.drain.as_nanos()
    );
    Ok(())
}

fn run_flood<R: Reclaimer>(reclaimer: &R) -> FloodStats {
    flood(reclaimer, FLOOD)
}

fn status_kib(key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("/proc/self/status has no {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_keys_are_checked() {
        assert_eq!(
            Extra::unit_of("grace_periods_per_round/busy_reader"),
            Some(Unit::Count)
        );
        assert_eq!(
            Extra::unit_of("flood_peak_rss_mib/liburcu"),
            Some(Unit::Mebibytes)
        );
        assert_eq!(
            Extra::unit_of("qdev_p99_corrected_ns/bql/hotplug"),
            Some(Unit::Nanos)
        );
        assert_eq!(Extra::unit_of("qdev_p99_raw_ns/bql/sometimes"), None);
        assert_eq!(Extra::unit_of("flood_peak_rss_mib"), None);
        assert_eq!(
            Extra::default().metric("grace_periods_per_round/no_reader"),
            None
        );
        let extra = Extra {
            gp_per_round_busy: Some(1.5),
            ..Extra::default()
        };
        assert_eq!(
            extra.metric("grace_periods_per_round/busy_reader"),
            Some((1.5, Unit::Count))
        );
    }
}
