//! Measurements criterion cannot hold: grace periods per round with concurrent callers
//! (a counter, not a time), the busy-server `call_rcu` flood (peak backlog, peak memory,
//! throughput and retire-to-free latency; each contender floods in a fresh child process of
//! this binary, so its peak RSS is its own) and the hash maps' bytes per entry (counted by this
//! binary's allocator, `benches::footprint`).

use std::process::Command;
use std::time::Duration;

use benches::footprint::bytes_per_entry;
use benches::grace_period::{RcuCore, Readers, grace_periods_per_round};
use benches::hash_map::{BenchMap, Rcu, RcuFlat, SIZES, plain_map, prefilled};
use benches::qdev::{LatencyRun, latency_run};
use benches::reclaim::{
    Crossbeam, Flood, FloodStats, Latency, Probe, RcuFree, RcuIntrusive, callback_latency, flood,
};
use benches::tuning::CALLERS;
use qdev_demo::qdev::sync_mode::SyncMode;

use crate::units::{format_rate, format_time};

/// Rounds of the grace-periods-per-round measurement.
const ROUNDS: u64 = 2000;

/// The flood every contender runs.
pub const FLOOD: Flood = Flood::BUSY_SERVER;

/// How long the flood lasts unless `--flood-secs` says otherwise.
pub const FLOOD_SECS: f64 = 10.0;

/// Retire-to-free samples on the idle process (under the flood: as many as fit in it).
pub const LATENCY_SAMPLES: usize = 200;

/// The flood's contenders, by the name the child is asked for (and the extra keys use):
/// `rcu-core` is `call_rcu1` ([`RcuIntrusive`]), `rcu-core free_rcu` is `free_rcu` with the
/// producers freeing their own objects ([`RcuFree`]).
pub const FLOOD_KINDS: &[&str] = &[
    "rcu-core",
    "rcu-core free_rcu",
    "crossbeam-epoch",
    "liburcu",
];

/// The contenders whose retire-to-free latency is measured (liburcu's backlog is unbounded
/// under the flood: probes would wait out the whole backlog).
const LATENCY_KINDS: &[&str] = &["rcu-core", "rcu-core free_rcu", "crossbeam-epoch"];

/// A flood's result as reported by the child process.
#[derive(Debug, PartialEq)]
pub struct FloodReport {
    pub name: String,
    pub stats: FloodStats,
    /// VmRSS before the flood, KiB.
    pub rss_before_kib: u64,
    /// VmHWM (peak RSS) after the flood and the latency runs, KiB.
    pub peak_rss_kib: u64,
    /// The high watermark of the domain's callback limit, where the contender has one.
    pub limit_high: Option<u64>,
    /// Retire-to-free latency with nothing else running.
    pub idle: Option<Latency>,
    /// Retire-to-free latency under the same flood.
    pub flooded: Option<Latency>,
}

impl FloodReport {
    /// The largest backlog known: the producers' samples or the implementation's exact peak.
    pub fn peak_pending(&self) -> Option<u64> {
        match (self.stats.peak_pending, self.stats.queued_peak) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Length of each qdev-demo latency run.
pub const QDEV_RUN: Duration = Duration::from_secs(1);

/// I/O threads of the qdev-demo latency runs.
pub const QDEV_IOTHREADS: usize = 2;

/// The maps whose bytes per entry are counted (`u64 -> u64`, `RandomState`, at each of
/// [`SIZES`]): rcu-queue's two and the unsynchronized `std::collections::HashMap`.
pub const MAP_KINDS: &[&str] = &["RcuHashMap", "RcuFlatHashMap", "std HashMap"];

/// Bytes per entry of one map at one size.
#[derive(Debug, PartialEq)]
pub struct Footprint {
    /// One of [`MAP_KINDS`].
    pub map: &'static str,
    /// The size's name in [`SIZES`] (`1k`, `100k`, `1m`).
    pub size: &'static str,
    pub bytes_per_entry: f64,
}

/// One qdev-demo latency run.
#[derive(Debug)]
pub struct QdevReport {
    pub mode: SyncMode,
    pub hotplug: bool,
    pub run: LatencyRun,
}

/// Which of the report's own measurements to take (`--extra`), and the flood's length.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub grace_periods: bool,
    pub flood: bool,
    pub qdev: bool,
    pub maps: bool,
    pub flood_secs: f64,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            grace_periods: true,
            flood: true,
            qdev: true,
            maps: true,
            flood_secs: FLOOD_SECS,
        }
    }
}

impl Selection {
    /// What will run, in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.grace_periods {
            parts.push("grace periods per round (about 5 s)".to_owned());
        }
        if self.flood {
            parts.push(format!(
                "the call_rcu flood ({} s per contender, each in a child process)",
                self.flood_secs
            ));
        }
        if self.qdev {
            parts.push("qdev-demo latency (about 7 s)".to_owned());
        }
        if self.maps {
            parts.push("hash-map bytes per entry (about 2 s)".to_owned());
        }
        parts.join(", ")
    }

    /// From a comma-separated list of `gp`, `flood`, `qdev`, `maps`.
    pub fn parse(list: &str, flood_secs: f64) -> Result<Selection, String> {
        let mut s = Selection {
            grace_periods: false,
            flood: false,
            qdev: false,
            maps: false,
            flood_secs,
        };
        for item in list.split(',') {
            match item.trim() {
                "gp" => s.grace_periods = true,
                "flood" => s.flood = true,
                "qdev" => s.qdev = true,
                "maps" => s.maps = true,
                other => {
                    return Err(format!(
                        "--extra: unknown measurement {other:?} (gp, flood, qdev, maps)"
                    ));
                }
            }
        }
        Ok(s)
    }
}

/// The extra numbers.
#[derive(Debug, Default)]
pub struct Extra {
    /// Grace periods per round, 4 callers with no reader and with a busy reader.
    pub gp_per_round: Option<f64>,
    pub gp_per_round_busy: Option<f64>,
    /// The flood's length, when it ran.
    pub flood_secs: Option<f64>,
    pub floods: Vec<FloodReport>,
    pub qdev: Vec<QdevReport>,
    pub footprints: Vec<Footprint>,
}

impl Extra {
    /// Runs the selected measurements (all of them: about 60 s with the 10 s flood).
    pub fn measure(which: &Selection) -> Extra {
        let mut extra = Extra::default();
        if which.grace_periods {
            extra.gp_per_round = grace_periods_per_round(&RcuCore, CALLERS, Readers::None, ROUNDS);
            extra.gp_per_round_busy =
                grace_periods_per_round(&RcuCore, CALLERS, Readers::Busy, ROUNDS);
        }
        if which.flood {
            extra.flood_secs = Some(which.flood_secs);
            for &kind in FLOOD_KINDS {
                if kind == "liburcu" && !cfg!(feature = "liburcu") {
                    continue;
                }
                match spawn_flood(kind, which.flood_secs) {
                    Ok(report) => extra.floods.push(report),
                    Err(e) => eprintln!("report: flood child {kind} failed: {e}"),
                }
            }
        }
        if which.qdev {
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
                    extra.qdev.push(QdevReport { mode, hotplug, run });
                }
            }
        }
        if which.maps {
            for (keys, size) in SIZES {
                for (map, bytes_per_entry) in [
                    (
                        <Rcu>::NAME,
                        bytes_per_entry(keys, || prefilled::<Rcu>(keys)),
                    ),
                    (
                        RcuFlat::NAME,
                        bytes_per_entry(keys, || prefilled::<RcuFlat>(keys)),
                    ),
                    (MAP_KINDS[2], bytes_per_entry(keys, || plain_map(keys))),
                ] {
                    extra.footprints.push(Footprint {
                        map,
                        size,
                        bytes_per_entry,
                    });
                }
            }
        }
        extra
    }

    /// The bytes per entry of `map` at `size`.
    pub fn footprint(&self, map: &str, size: &str) -> Option<f64> {
        self.footprints
            .iter()
            .find(|f| f.map == map && f.size == size)
            .map(|f| f.bytes_per_entry)
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
    /// * `flood_peak_rss_mib/KIND`, `flood_rate/KIND`: peak RSS (VmHWM) and enqueues/s of the
    ///   busy-server flood ([`FLOOD`]) in a fresh process, KIND one of [`FLOOD_KINDS`];
    /// * `flood_peak_pending/rcu-core`: the largest backlog of that flood;
    /// * `retire_free_p50_ns/KIND/LOAD`, `retire_free_p99_ns/KIND/LOAD`: retire-to-free
    ///   latency, KIND `rcu-core`, `rcu-core free_rcu` or `crossbeam-epoch`, LOAD `idle` or
    ///   `flood`;
    /// * `qdev_p99_raw_ns/MODE/LOAD` and `qdev_p99_corrected_ns/MODE/LOAD`: qdev-demo's p99
    ///   lookup latency, MODE one of `rcu`, `bql`, `rwlock`, LOAD `hotplug` or `quiet`;
    /// * `map_bytes_per_entry/MAP/SIZE`: live bytes per `u64 -> u64` entry of a prefilled map,
    ///   MAP one of [`MAP_KINDS`], SIZE `1k`, `100k` or `1m`.
    pub fn unit_of(key: &str) -> Option<Unit> {
        let (kind, rest) = key.split_once('/')?;
        match kind {
            "grace_periods_per_round" => {
                matches!(rest, "busy_reader" | "no_reader").then_some(Unit::Count)
            }
            "flood_peak_rss_mib" => FLOOD_KINDS.contains(&rest).then_some(Unit::Mebibytes),
            "flood_rate" => FLOOD_KINDS.contains(&rest).then_some(Unit::PerSec),
            "flood_peak_pending" => (rest == "rcu-core").then_some(Unit::Callbacks),
            "retire_free_p50_ns" | "retire_free_p99_ns" => {
                let (contender, load) = rest.split_once('/')?;
                (LATENCY_KINDS.contains(&contender) && matches!(load, "idle" | "flood"))
                    .then_some(Unit::Nanos)
            }
            "qdev_p99_raw_ns" | "qdev_p99_corrected_ns" => {
                let (mode, load) = rest.split_once('/')?;
                (SyncMode::ALL.iter().any(|m| m.as_str() == mode)
                    && matches!(load, "hotplug" | "quiet"))
                .then_some(Unit::Nanos)
            }
            "map_bytes_per_entry" => {
                let (map, size) = rest.split_once('/')?;
                (MAP_KINDS.contains(&map) && SIZES.iter().any(|&(_, s)| s == size))
                    .then_some(Unit::Bytes)
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
            "flood_rate" => self.flood(rest)?.stats.rate(),
            "flood_peak_pending" => self.flood(rest)?.peak_pending()? as f64,
            "retire_free_p50_ns" | "retire_free_p99_ns" => {
                let (contender, load) = rest.split_once('/')?;
                let f = self.flood(contender)?;
                let l = if load == "idle" { f.idle } else { f.flooded }?;
                (if kind == "retire_free_p50_ns" {
                    l.p50
                } else {
                    l.p99
                }) as f64
            }
            "qdev_p99_raw_ns" | "qdev_p99_corrected_ns" => {
                let (mode, load) = rest.split_once('/')?;
                let run = self.qdev(mode, load == "hotplug")?;
                let histogram = if kind == "qdev_p99_raw_ns" {
                    &run.lookups
                } else {
                    &run.lookups_corrected
                };
                histogram.percentile_ns(99.0) as f64
            }
            "map_bytes_per_entry" => {
                let (map, size) = rest.split_once('/')?;
                self.footprint(map, size)?
            }
            _ => unreachable!("unit_of knows only the kinds above"),
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
    /// A number of callbacks (a whole number).
    Callbacks,
    Mebibytes,
    /// Bytes per map entry.
    Bytes,
}

impl Unit {
    /// Whether a larger number is better (rates; everything else is a cost).
    pub fn higher_is_better(self) -> bool {
        self == Unit::PerSec
    }

    /// `value` in this unit as text.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Nanos => format_time(value),
            Unit::PerSec => format_rate(value),
            Unit::Count => format!("{value:.2}"),
            Unit::Callbacks => format!("{value:.0} callbacks"),
            Unit::Mebibytes => format!("{value:.1} MiB"),
            Unit::Bytes => format!("{value:.1} B/entry"),
        }
    }
}

/// Runs the flood of `kind` for `secs` in a fresh child process (this binary with
/// `--flood-child KIND SECS`) and parses what it printed.
fn spawn_flood(kind: &str, secs: f64) -> Result<FloodReport, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args(["--flood-child", kind, &secs.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    parse_child(kind, &String::from_utf8_lossy(&output.stdout))
}

/// The child's `key=value` pairs as a [`FloodReport`]; `-` stands for "not measured".
fn parse_child(kind: &str, text: &str) -> Result<FloodReport, String> {
    let optional = |key: &str| -> Result<Option<u64>, String> {
        let value = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .ok_or_else(|| format!("child output lacks {key}: {text}"))?;
        if value == "-" {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|e| format!("{key}: {e}"))
    };
    let field = |key: &str| -> Result<u64, String> {
        optional(key)?.ok_or_else(|| format!("child output: {key} is not measured: {text}"))
    };
    let latency = |load: &str| -> Result<Option<Latency>, String> {
        let p50 = optional(&format!("{load}_p50_ns"))?;
        let p99 = optional(&format!("{load}_p99_ns"))?;
        let max = optional(&format!("{load}_max_ns"))?;
        Ok(p50
            .zip(p99)
            .zip(max)
            .map(|((p50, p99), max)| Latency { p50, p99, max }))
    };
    Ok(FloodReport {
        name: kind.to_owned(),
        stats: FloodStats {
            enqueued: field("enqueued")?,
            elapsed: Duration::from_nanos(field("elapsed_ns")?),
            peak_pending: optional("peak_pending")?,
            queued_peak: optional("queued_peak")?,
            drain: Duration::from_nanos(field("drain_ns")?),
            rss_growth: optional("rss_growth")?,
            capped: field("capped")? != 0,
            latency: latency("flood")?,
            reader_sections: latency("section")?,
        },
        rss_before_kib: field("rss_before_kib")?,
        peak_rss_kib: field("peak_rss_kib")?,
        limit_high: optional("limit_high")?,
        idle: latency("idle")?,
        flooded: latency("flood")?,
    })
}

/// The child side: `args` are KIND and SECS; floods, measures retire-to-free latency where
/// [`LATENCY_KINDS`] says so, prints `key=value` pairs, exits.
pub fn flood_child(args: &[String]) -> Result<(), String> {
    let [kind, secs] = args else {
        return Err(format!("expected KIND SECS, got {args:?}"));
    };
    let secs: f64 = secs
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("SECS: {secs:?} is not a positive number of seconds"))?;
    let duration = Duration::from_secs_f64(secs);
    let rss_before = status_kib("VmRSS")?;
    let latency = LATENCY_KINDS.contains(&kind.as_str());
    let (stats, idle, flooded, limit_high) = match kind.as_str() {
        "rcu-core" => {
            let (s, i, f) = run_flood(&RcuIntrusive, duration, latency);
            (s, i, f, Some(u64::from(rcu_core::callback_limit().high())))
        }
        // Pending objects, not callbacks: the callback limit does not bound them.
        "rcu-core free_rcu" => {
            let (s, i, f) = run_flood(&RcuFree, duration, latency);
            (s, i, f, None)
        }
        "crossbeam-epoch" => {
            let (s, i, f) = run_flood(&Crossbeam, duration, latency);
            (s, i, f, None)
        }
        #[cfg(feature = "liburcu")]
        "liburcu" => {
            let (s, i, f) = run_flood(&benches::liburcu::Liburcu, duration, latency);
            (s, i, f, None)
        }
        other => {
            return Err(format!(
                "unknown flood kind {other:?} (rcu-core, \"rcu-core free_rcu\", crossbeam-epoch, or liburcu with --features liburcu)"
            ));
        }
    };
    let peak = status_kib("VmHWM")?;
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let lat = |name: &str, l: Option<Latency>| {
        format!(
            "{name}_p50_ns={} {name}_p99_ns={} {name}_max_ns={}",
            opt(l.map(|l| l.p50)),
            opt(l.map(|l| l.p99)),
            opt(l.map(|l| l.max))
        )
    };
    println!(
        "enqueued={} elapsed_ns={} peak_pending={} queued_peak={} drain_ns={} rss_growth={} \
         capped={} rss_before_kib={rss_before} peak_rss_kib={peak} limit_high={} {} {} {}",
        stats.enqueued,
        stats.elapsed.as_nanos(),
        opt(stats.peak_pending),
        opt(stats.queued_peak),
        stats.drain.as_nanos(),
        opt(stats.rss_growth),
        u8::from(stats.capped),
        opt(limit_high),
        lat("idle", idle),
        lat("flood", flooded),
        lat("section", stats.reader_sections),
    );
    Ok(())
}

/// Idle retire-to-free latency first (while the process is fresh), then the flood, with
/// the latency under it measured during the flood itself.
fn run_flood<R: Probe>(
    reclaimer: &R,
    duration: Duration,
    latency: bool,
) -> (FloodStats, Option<Latency>, Option<Latency>) {
    let idle = latency.then(|| callback_latency(reclaimer, LATENCY_SAMPLES, None));
    let stats = flood(reclaimer, &FLOOD, duration, latency);
    (stats, idle, stats.latency)
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
            Extra::unit_of("flood_rate/crossbeam-epoch"),
            Some(Unit::PerSec)
        );
        assert_eq!(
            Extra::unit_of("flood_peak_pending/rcu-core"),
            Some(Unit::Callbacks)
        );
        assert_eq!(Extra::unit_of("flood_peak_pending/liburcu"), None);
        assert_eq!(
            Extra::unit_of("retire_free_p99_ns/crossbeam-epoch/flood"),
            Some(Unit::Nanos)
        );
        assert_eq!(Extra::unit_of("retire_free_p99_ns/liburcu/flood"), None);
        assert_eq!(
            Extra::unit_of("retire_free_p99_ns/rcu-core free_rcu/flood"),
            Some(Unit::Nanos)
        );
        assert_eq!(
            Extra::unit_of("flood_peak_rss_mib/rcu-core free_rcu"),
            Some(Unit::Mebibytes)
        );
        assert_eq!(
            Extra::unit_of("qdev_p99_corrected_ns/bql/hotplug"),
            Some(Unit::Nanos)
        );
        assert_eq!(Extra::unit_of("qdev_p99_raw_ns/bql/sometimes"), None);
        assert_eq!(Extra::unit_of("flood_peak_rss_mib"), None);
        assert_eq!(
            Extra::unit_of("map_bytes_per_entry/RcuFlatHashMap/1m"),
            Some(Unit::Bytes)
        );
        assert_eq!(Extra::unit_of("map_bytes_per_entry/dashmap/1m"), None);
        assert_eq!(Extra::unit_of("map_bytes_per_entry/RcuHashMap/2k"), None);
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
        let extra = Extra {
            footprints: vec![Footprint {
                map: "RcuFlatHashMap",
                size: "100k",
                bytes_per_entry: 21.5,
            }],
            ..Extra::default()
        };
        assert_eq!(
            extra.metric("map_bytes_per_entry/RcuFlatHashMap/100k"),
            Some((21.5, Unit::Bytes))
        );
        assert_eq!(extra.metric("map_bytes_per_entry/RcuFlatHashMap/1k"), None);
    }

    /// The map contenders' names are the criterion contenders' (one spelling in the targets).
    #[test]
    fn map_kinds_are_the_bench_names() {
        assert_eq!(MAP_KINDS[..2], [<Rcu>::NAME, RcuFlat::NAME]);
    }

    #[test]
    fn the_extra_selection_parses() {
        let s = Selection::parse("flood,gp", 0.5).unwrap();
        assert!(s.flood && s.grace_periods && !s.qdev && !s.maps);
        assert!(Selection::parse("maps", 1.0).unwrap().maps);
        assert_eq!(s.flood_secs, 0.5);
        assert_eq!(
            s.describe(),
            "grace periods per round (about 5 s), the call_rcu flood (0.5 s per contender, each in a \
             child process)"
        );
        assert!(Selection::parse("flood,bogus", 1.0).is_err());
    }

    /// What a child prints becomes the numbers the targets name ("-": not measured).
    #[test]
    fn child_output_parses_into_the_target_keys() {
        let text = "enqueued=4096 elapsed_ns=1000000 peak_pending=300 queued_peak=512 drain_ns=5 \
                    rss_growth=- capped=0 rss_before_kib=2048 peak_rss_kib=4096 limit_high=262144 \
                    idle_p50_ns=10 idle_p99_ns=20 idle_max_ns=30 flood_p50_ns=- flood_p99_ns=- flood_max_ns=- \
                    section_p50_ns=1000 section_p99_ns=5000 section_max_ns=9000";
        let r = parse_child("rcu-core", text).unwrap();
        assert_eq!(r.stats.reader_sections.map(|l| l.p99), Some(5000));
        assert_eq!(r.peak_pending(), Some(512));
        assert_eq!(r.stats.rss_growth, None);
        assert_eq!(r.idle.map(|l| l.p99), Some(20));
        assert_eq!(r.flooded, None);
        let extra = Extra {
            floods: vec![r],
            ..Extra::default()
        };
        assert_eq!(
            extra.metric("flood_peak_rss_mib/rcu-core"),
            Some((4.0, Unit::Mebibytes))
        );
        assert_eq!(
            extra.metric("flood_rate/rcu-core"),
            Some((4.096e6, Unit::PerSec))
        );
        assert_eq!(
            extra.metric("retire_free_p50_ns/rcu-core/idle"),
            Some((10.0, Unit::Nanos))
        );
        assert_eq!(extra.metric("retire_free_p50_ns/rcu-core/flood"), None);
        assert!(parse_child("rcu-core", "enqueued=1").is_err());
    }
}
