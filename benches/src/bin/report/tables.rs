//! One table (and one plot) per criterion group, with rcu-core's ratio to every
//! contender in the same column.

use std::fmt::Write as _;

use crate::results::{Measurement, Results};
use crate::svg::{Bar, Block, bar_chart};

/// How a group's numbers read best.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Time per operation per thread (criterion's per-iteration time).
    NsPerOp,
    /// Aggregate operations per second across the measured threads.
    Rate,
    /// Latency of one call (criterion's per-iteration time, shown in µs/ms).
    Latency,
}

/// One table of the report.
#[derive(Debug)]
pub struct Spec {
    pub group: &'static str,
    pub title: &'static str,
    pub what: &'static str,
    /// How the criterion parameter reads in a column header ("{} threads").
    pub param: &'static str,
    pub metric: Metric,
    /// The rcu-core (or rcu-queue / RCU-mode) function every other row is compared to.
    pub baseline: &'static str,
}

/// Every table, in report order.
pub const SPECS: &[Spec] = &[
    Spec {
        group: "read_side",
        title: "1. Read-side enter/exit",
        what: "One read-side critical section entered and left (rcu-core `read_lock()` + drop, crossbeam-epoch \
               `pin()`, arc-swap `load()`, `RwLock::read()`, `Mutex::lock()`, liburcu memb inline \
               `rcu_read_lock/unlock`). Time per pair per thread; lower is better.",
        param: "{} thr",
        metric: Metric::NsPerOp,
        baseline: "rcu-core",
    },
    Spec {
        group: "read_mostly_reads",
        title: "2a. Read-mostly pointer: readers only",
        what: "Readers enter, load a 32-byte struct, fold it into a digest and leave; no writer. Aggregate \
               reads/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-core",
    },
    Spec {
        group: "read_mostly_reads_writer",
        title: "2b. Read-mostly pointer: readers + 1 writer",
        what: "Same readers while one background writer replaces the struct in a loop (rcu-core \
               `RcuCell::replace` → `call_rcu`, crossbeam `swap` + `defer_destroy`, arc-swap `store`, lock write \
               guard). Aggregate reads/s; higher is better.",
        param: "{} readers + 1 writer",
        metric: Metric::Rate,
        baseline: "rcu-core",
    },
    Spec {
        group: "read_mostly_writes",
        title: "2c. Read-mostly pointer: writes with background readers",
        what: "One writer replaces the struct while N readers read in a loop. Writes/s; higher is better.",
        param: "{} bg readers",
        metric: Metric::Rate,
        baseline: "rcu-core",
    },
    Spec {
        group: "synchronize_rcu",
        title: "3. `synchronize_rcu` latency",
        what: "One unregistered caller with no reader, one registered idle reader or one busy reader \
               (looping over short read-side sections); `4 callers` is the time for one round in which 4 \
               threads each complete one call (grace periods shared). Lower is better.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core",
    },
    Spec {
        group: "call_rcu_enqueue",
        title: "4a. `call_rcu` enqueue rate",
        what: "Threads allocate a 48-byte object and queue a callback that frees it after a grace period \
               (rcu-core intrusive `call_rcu1` and closure `call_rcu`, liburcu memb `call_rcu`). Aggregate \
               enqueues/s; higher is better.",
        param: "{} thr",
        metric: Metric::Rate,
        baseline: "rcu-core call_rcu1 (intrusive)",
    },
    Spec {
        group: "call_rcu_reclaim",
        title: "4b. End-to-end reclaim rate",
        what: "One thread queues N callbacks, then waits in `rcu_barrier` until all ran. Callbacks/s; higher \
               is better.",
        param: "{} thr",
        metric: Metric::Rate,
        baseline: "rcu-core call_rcu1 (intrusive)",
    },
    Spec {
        group: "rcu_barrier",
        title: "4c. `rcu_barrier` latency with a small queue",
        what: "16 callbacks queued, then one `rcu_barrier` timed. Lower is better.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core call_rcu1 (intrusive)",
    },
    Spec {
        group: "list_traversal",
        title: "5a. 64-element list traversal, no writer",
        what: "Each reader sums all 64 elements under one read guard / read lock. Aggregate traversals/s; \
               higher is better. The plain linked list has no synchronization at all (the floor).",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
    },
    Spec {
        group: "list_traversal_writer",
        title: "5b. 64-element list traversal with a churning writer",
        what: "Same traversals while one writer removes the oldest element and appends a new one in a loop. \
               Aggregate traversals/s; higher is better.",
        param: "{} readers + 1 writer",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
    },
    Spec {
        group: "list_traversal_paced_writer",
        title: "5c. 64-element list traversal with a paced writer (read-mostly)",
        what: "Same traversals while one writer makes one update (remove the oldest, append a new \
               element) and then pauses 50 µs outside any lock: the same update rate for every contender. \
               Aggregate traversals/s; higher is better.",
        param: "{} readers + 1 writer",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
    },
    Spec {
        group: "qdev_lookup",
        title: "6a. qdev-demo requests, no hot-plug",
        what: "I/O threads send virtio-scsi requests (decode, find the disk on the bus under the mode's reader \
               section, READ(10) one block, respond; every 64th is REPORT LUNS) to 8 disks. Modes: `rcu` (RCU \
               read-side section only), `bql` (readers take the big lock), `rwlock`. Aggregate requests/s; higher \
               is better.",
        param: "{} I/O thr",
        metric: Metric::Rate,
        baseline: "rcu",
    },
    Spec {
        group: "qdev_lookup_hotplug",
        title: "6b. qdev-demo requests during hot-plug (the demo's defaults)",
        what: "Same requests while the main loop hot-plugs continuously like QEMU's main loop: it holds the \
               BQL except around a zero-timeout poll between commands, each plug spending a 200 µs realize \
               under it. Aggregate requests/s; higher is better.",
        param: "{} I/O thr",
        metric: Metric::Rate,
        baseline: "rcu",
    },
];

/// `1.23 ns`, `12.3 µs`, `1.20 ms`, `1.50 s`.
pub fn format_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.2} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// `825 M/s`, `9.20 M/s`, `120 k/s`.
pub fn format_rate(per_sec: f64) -> String {
    let (v, unit) = if per_sec >= 1e9 {
        (per_sec / 1e9, "G/s")
    } else if per_sec >= 1e6 {
        (per_sec / 1e6, "M/s")
    } else if per_sec >= 1e3 {
        (per_sec / 1e3, "k/s")
    } else {
        (per_sec, "/s")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

fn value(metric: Metric, m: &Measurement) -> (f64, String) {
    match metric {
        Metric::NsPerOp | Metric::Latency => (m.ns, format_time(m.ns)),
        Metric::Rate => (m.rate() / 1e6, format_rate(m.rate())),
    }
}

/// Parameters in natural order (numbers numerically, then text).
fn params(results: &Results, group: &str) -> Vec<String> {
    let mut params: Vec<String> = results.group(group).map(|m| m.param.clone()).collect();
    params.sort_by(|a, b| {
        let key = |s: &str| {
            s.split_whitespace()
                .next()
                .and_then(|w| w.parse::<f64>().ok())
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
            _ => a.cmp(b),
        }
    });
    params.dedup();
    params
}

/// Functions with the baseline first, then in the order they were benchmarked (alphabetical).
fn functions(results: &Results, spec: &Spec) -> Vec<String> {
    let mut functions: Vec<String> = results
        .group(spec.group)
        .map(|m| m.function.clone())
        .collect();
    functions.sort();
    functions.dedup();
    if let Some(i) = functions.iter().position(|f| f == spec.baseline) {
        let baseline = functions.remove(i);
        functions.insert(0, baseline);
    }
    functions
}

/// How many times faster the baseline is than `m` (time ratio; the same for rates,
/// since every contender in a column does the same work per iteration).
pub fn speedup(baseline: &Measurement, m: &Measurement) -> f64 {
    m.ns / baseline.ns
}

/// The markdown of one table, or `None` if the group was not measured.
pub fn markdown(results: &Results, spec: &Spec) -> Option<String> {
    let params = params(results, spec.group);
    if params.is_empty() {
        return None;
    }
    let functions = functions(results, spec);
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n\n{}\n", spec.title, spec.what);
    let _ = write!(out, "| contender |");
    for p in &params {
        let _ = write!(out, " {} |", spec.param.replace("{}", p));
    }
    let _ = write!(out, "\n|---|");
    for _ in &params {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for f in &functions {
        let _ = write!(
            out,
            "| {} |",
            if f == spec.baseline {
                format!("**{f}**")
            } else {
                f.clone()
            }
        );
        for p in &params {
            let cell = match results.get(spec.group, f, p) {
                None => "–".to_owned(),
                Some(m) => {
                    let (_, text) = value(spec.metric, m);
                    match results.get(spec.group, spec.baseline, p) {
                        Some(base) if f != spec.baseline => {
                            format!("{text} ({:.2}×)", speedup(base, m))
                        }
                        _ => text,
                    }
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n(k×) = how many times faster **{}** is than that row in the same column (below 1: the row is faster).\n",
        spec.baseline
    );
    Some(out)
}

/// The SVG plot of one table, or `None` if the group was not measured.
pub fn plot(results: &Results, spec: &Spec) -> Option<String> {
    let params = params(results, spec.group);
    if params.is_empty() {
        return None;
    }
    let functions = functions(results, spec);
    let blocks: Vec<Block> = params
        .iter()
        .map(|p| Block {
            title: spec.param.replace("{}", p),
            bars: functions
                .iter()
                .filter_map(|f| results.get(spec.group, f, p))
                .map(|m| {
                    let (v, label) = value(spec.metric, m);
                    Bar {
                        series: m.function.clone(),
                        value: v,
                        label,
                    }
                })
                .collect(),
        })
        .collect();
    let caption = match spec.metric {
        Metric::NsPerOp => "time per operation per thread, shorter is better",
        Metric::Latency => "latency, shorter is better",
        Metric::Rate => "aggregate operations per second (millions), longer is better",
    };
    Some(bar_chart(spec.title, caption, &functions, &blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, param: &str, ns: f64) -> Measurement {
        Measurement {
            group: group.into(),
            function: function.into(),
            param: param.into(),
            ns,
            elements: param.parse().ok(),
        }
    }

    #[test]
    fn table_puts_baseline_first_and_reports_ratios() {
        let results = Results {
            all: vec![
                m("read_side", "crossbeam-epoch", "1", 3.0),
                m("read_side", "rcu-core", "1", 1.0),
                m("read_side", "rcu-core", "2", 1.0),
                m("read_side", "crossbeam-epoch", "2", 4.0),
            ],
        };
        let md = markdown(&results, &SPECS[0]).unwrap();
        let rcu = md.find("**rcu-core**").unwrap();
        let cb = md.find("| crossbeam-epoch |").unwrap();
        assert!(rcu < cb);
        assert!(md.contains("3.00 ns (3.00×)"));
        assert!(md.contains("4.00 ns (4.00×)"));
        assert!(
            plot(&results, &SPECS[0])
                .unwrap()
                .contains("crossbeam-epoch")
        );
        assert!(markdown(&results, &SPECS[1]).is_none());
    }

    #[test]
    fn formats() {
        assert_eq!(format_time(1.234), "1.23 ns");
        assert_eq!(format_time(12_500.0), "12.50 µs");
        assert_eq!(format_rate(825e6), "825 M/s");
        assert_eq!(format_rate(9.2e6), "9.20 M/s");
    }
}
