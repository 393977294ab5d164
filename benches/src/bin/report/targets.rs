//! The speed targets of issues 2, 3, 4 and 5, checked against this run.

use crate::extra::Extra;
use crate::results::Results;
use crate::tables::{format_rate, format_time};

/// Whether a target was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    NotMeasured,
}

impl Status {
    fn of(ok: bool) -> Status {
        if ok { Status::Met } else { Status::NotMet }
    }

    /// The word used in the report.
    pub fn word(self) -> &'static str {
        match self {
            Status::Met => "**met**",
            Status::NotMet => "**not met**",
            Status::NotMeasured => "not measured",
        }
    }
}

/// One target and its outcome.
#[derive(Debug)]
pub struct Target {
    pub issue: u32,
    pub target: &'static str,
    pub measured: String,
    pub status: Status,
}

/// liburcu anchors from the issues, used when liburcu was not measured in this run.
const ANCHOR_LIBURCU_ENQUEUE: f64 = 9.2e6;
const ANCHOR_LIBURCU_FLOOD_MIB: f64 = 10.7;

const RCU: &str = "rcu-core";
const INTRUSIVE: &str = "rcu-core call_rcu1 (intrusive)";
const LIBURCU: &str = "liburcu memb";
const LIBURCU_CALL_RCU: &str = "liburcu memb call_rcu";
const TAILQ: &str = "rcu-queue RcuTailq";
/// The same `Vec` as the `RwLock` contenders, published through an rcu-core `RcuCell`.
const CELL_VEC: &str = "rcu-core RcuCell<Vec>";

fn missing(issue: u32, target: &'static str, why: &str) -> Target {
    Target {
        issue,
        target,
        measured: why.to_owned(),
        status: Status::NotMeasured,
    }
}

/// A throughput target "ours ≥ `min_ratio` × theirs", from two rates (per second) of this run.
fn rate_ratio(
    issue: u32,
    target: &'static str,
    rates: (Option<f64>, Option<f64>),
    min_ratio: f64,
    not_run: &str,
) -> Target {
    match rates {
        (Some(ours), Some(theirs)) => Target {
            issue,
            target,
            measured: format!(
                "{:.2}× ({} vs {})",
                ours / theirs,
                format_rate(ours),
                format_rate(theirs)
            ),
            status: Status::of(ours / theirs >= min_ratio),
        },
        _ => missing(issue, target, not_run),
    }
}

/// Evaluates every target.
pub fn evaluate(r: &Results, extra: &Extra) -> Vec<Target> {
    let mut out = Vec::new();
    let ns = |g: &str, f: &str, p: &str| r.get(g, f, p).map(|m| m.ns);
    let rate = |g: &str, f: &str, p: &str| r.get(g, f, p).map(|m| m.rate());

    // Issue 2 / 4: read side.
    let pair = ns("read_side", RCU, "1");
    out.push(match pair {
        Some(p) => Target {
            issue: 2,
            target: "read lock+unlock ≤ 1.2 ns (1 thread)",
            measured: format_time(p),
            status: Status::of(p <= 1.2),
        },
        None => missing(
            2,
            "read lock+unlock ≤ 1.2 ns (1 thread)",
            "read_side not run",
        ),
    });
    for threads in ["1", "2"] {
        let target = if threads == "1" {
            "read pair ≥ 2.5× faster than crossbeam-epoch pin (1 thread)"
        } else {
            "read pair ≥ 2.5× faster than crossbeam-epoch pin (2 threads)"
        };
        out.push(
            match (
                ns("read_side", RCU, threads),
                ns("read_side", "crossbeam-epoch", threads),
            ) {
                (Some(p), Some(c)) => Target {
                    issue: 2,
                    target,
                    measured: format!("{:.2}× ({} vs {})", c / p, format_time(p), format_time(c)),
                    status: Status::of(c / p >= 2.5),
                },
                _ => missing(2, target, "read_side not run"),
            },
        );
    }
    let target = "read pair ≤ 1.0× liburcu memb (1 thread)";
    out.push(match (pair, ns("read_side", LIBURCU, "1")) {
        (Some(p), Some(l)) => Target {
            issue: 4,
            target,
            measured: format!(
                "{:.2}× liburcu ({} vs {})",
                p / l,
                format_time(p),
                format_time(l)
            ),
            status: Status::of(p <= l),
        },
        _ => missing(
            4,
            target,
            "liburcu not measured in this run (`--features liburcu`)",
        ),
    });

    // Issue 4: read-mostly pointer with 2 readers + 1 writer.
    for (contender, target) in [
        (
            "crossbeam-epoch",
            "2 readers + 1 writer: reads/s ≥ 4× crossbeam-epoch",
        ),
        ("arc-swap", "2 readers + 1 writer: reads/s ≥ 4× arc-swap"),
    ] {
        out.push(rate_ratio(
            4,
            target,
            (
                rate("read_mostly_reads_writer", RCU, "2"),
                rate("read_mostly_reads_writer", contender, "2"),
            ),
            4.0,
            "read_mostly_reads_writer not run",
        ));
    }

    // Issue 2 / 4: grace periods.
    for (param, limit, issue, target) in [
        (
            "1 busy reader",
            13_000.0,
            2,
            "`synchronize_rcu` with a busy reader ≤ 13 µs",
        ),
        (
            "0 readers",
            1_000.0,
            2,
            "`synchronize_rcu` with no registered readers ≤ 1 µs",
        ),
    ] {
        out.push(match ns("synchronize_rcu", RCU, param) {
            Some(t) => Target {
                issue,
                target,
                measured: format_time(t),
                status: Status::of(t <= limit),
            },
            None => missing(issue, target, "synchronize_rcu not run"),
        });
    }
    let target =
        "4 concurrent `synchronize_rcu` callers (with a busy reader) ≤ 2 grace periods per round";
    out.push(match extra.gp_per_round_busy {
        Some(g) => Target {
            issue: 4,
            target,
            measured: format!(
                "{g:.2} grace periods per round ({} with no reader)",
                extra
                    .gp_per_round
                    .map_or_else(|| "–".to_owned(), |n| format!("{n:.2}"))
            ),
            status: Status::of(g <= 2.0),
        },
        None => missing(4, target, "not measured (report run with --skip-extra)"),
    });

    // Issue 4: call_rcu.
    let target = "`call_rcu` enqueue ≥ 1.5× liburcu's rate (intrusive head, 1 thread)";
    let enqueue = (
        rate("call_rcu_enqueue", INTRUSIVE, "1"),
        rate("call_rcu_enqueue", LIBURCU_CALL_RCU, "1"),
    );
    out.push(match enqueue {
        (Some(ours), None) => Target {
            issue: 4,
            target,
            measured: format!(
                "{:.2}× the 9.2 M/s anchor ({}; liburcu not run here)",
                ours / ANCHOR_LIBURCU_ENQUEUE,
                format_rate(ours)
            ),
            status: Status::of(ours / ANCHOR_LIBURCU_ENQUEUE >= 1.5),
        },
        rates => rate_ratio(4, target, rates, 1.5, "call_rcu_enqueue not run"),
    });
    let target = "`rcu_barrier` ≤ 1 ms with a small queue";
    out.push(match ns("rcu_barrier", INTRUSIVE, "16 queued") {
        Some(t) => Target {
            issue: 4,
            target,
            measured: format_time(t),
            status: Status::of(t <= 1e6),
        },
        None => missing(4, target, "rcu_barrier not run"),
    });
    let target = "peak memory under a 2 s `call_rcu` flood no worse than liburcu's";
    let mib = |kib: u64| kib as f64 / 1024.0;
    out.push(match (extra.flood("rcu-core"), extra.flood("liburcu")) {
        (Some(ours), Some(theirs)) => Target {
            issue: 4,
            target,
            measured: format!(
                "peak RSS {:.1} MiB vs liburcu {:.1} MiB",
                mib(ours.peak_rss_kib),
                mib(theirs.peak_rss_kib)
            ),
            status: Status::of(ours.peak_rss_kib <= theirs.peak_rss_kib),
        },
        (Some(ours), None) => Target {
            issue: 4,
            target,
            measured: format!(
                "peak RSS {:.1} MiB vs the 10.7 MiB anchor (liburcu not run here)",
                mib(ours.peak_rss_kib)
            ),
            status: Status::of(mib(ours.peak_rss_kib) <= ANCHOR_LIBURCU_FLOOD_MIB),
        },
        _ => missing(4, target, "flood child did not run"),
    });

    // Issue 3: lists.
    for (group, ours, contender, target) in [
        (
            "list_traversal_writer",
            TAILQ,
            "std RwLock<Vec>",
            "2 readers + churning writer: RCU traversal ≥ 5× std RwLock<Vec>",
        ),
        (
            "list_traversal_writer",
            TAILQ,
            "parking_lot RwLock<Vec>",
            "2 readers + churning writer: RCU traversal ≥ 5× parking_lot RwLock<Vec>",
        ),
        (
            "list_traversal_paced_writer",
            TAILQ,
            "std RwLock<Vec>",
            "2 readers + paced writer: RCU traversal ≥ 5× std RwLock<Vec>",
        ),
        (
            "list_traversal_paced_writer",
            TAILQ,
            "parking_lot RwLock<Vec>",
            "2 readers + paced writer: RCU traversal ≥ 5× parking_lot RwLock<Vec>",
        ),
        (
            "list_traversal_writer",
            CELL_VEC,
            "std RwLock<Vec>",
            "(same data layout) 2 readers + churning writer: RcuCell<Vec> ≥ 5× std RwLock<Vec>",
        ),
        (
            "list_traversal_paced_writer",
            CELL_VEC,
            "std RwLock<Vec>",
            "(same data layout) 2 readers + paced writer: RcuCell<Vec> ≥ 5× std RwLock<Vec>",
        ),
    ] {
        out.push(rate_ratio(
            3,
            target,
            (rate(group, ours, "2"), rate(group, contender, "2")),
            5.0,
            "list traversal with a writer not run",
        ));
    }
    let target = "single-threaded traversal within 1.5× of a plain linked-list walk";
    out.push(
        match (
            ns("list_traversal", TAILQ, "1"),
            ns("list_traversal", "plain linked list", "1"),
        ) {
            (Some(ours), Some(plain)) => Target {
                issue: 3,
                target,
                measured: format!(
                    "{:.2}× ({} vs {})",
                    ours / plain,
                    format_time(ours),
                    format_time(plain)
                ),
                status: Status::of(ours / plain <= 1.5),
            },
            _ => missing(3, target, "list_traversal not run"),
        },
    );

    // Issue 5: qdev-demo.
    let target = "qdev-demo: RCU ≥ 3× the BQL mode's request throughput at 2 I/O threads (defaults: hot-plug on)";
    out.push(rate_ratio(
        5,
        target,
        (
            rate("qdev_lookup_hotplug", "rcu", "2"),
            rate("qdev_lookup_hotplug", "bql", "2"),
        ),
        3.0,
        "qdev_lookup_hotplug not run",
    ));
    let target = "qdev-demo: RCU p99 lookup latency (raw) during hot-plug within 2× of its p99 without hot-plug";
    out.push(match (extra.qdev("rcu", true), extra.qdev("rcu", false)) {
        (Some(hot), Some(cold)) => {
            let (h, c) = (
                hot.lookups.percentile_ns(99.0) as f64,
                cold.lookups.percentile_ns(99.0) as f64,
            );
            Target {
                issue: 5,
                target,
                measured: format!(
                    "{:.2}× ({} vs {})",
                    h / c.max(1.0),
                    format_time(h),
                    format_time(c)
                ),
                status: Status::of(h <= 2.0 * c),
            }
        }
        _ => missing(5, target, "report run with --skip-extra"),
    });
    let target = "qdev-demo: the BQL mode's p99 lookup latency during hot-plug shows the 200 µs realize cost";
    out.push(match extra.qdev("bql", true) {
        Some(run) => {
            let p99 = run.lookups_corrected.percentile_ns(99.0) as f64;
            Target {
                issue: 5,
                target,
                measured: format!(
                    "corrected p99 {} (raw p99 {}, max {})",
                    format_time(p99),
                    format_time(run.lookups.percentile_ns(99.0) as f64),
                    format_time(run.lookups.max_ns() as f64)
                ),
                status: Status::of(p99 >= 100_000.0),
            }
        }
        None => missing(5, target, "report run with --skip-extra"),
    });
    out
}
