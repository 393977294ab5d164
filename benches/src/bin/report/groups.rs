//! What each criterion group means (title, description, how its numbers read) and its
//! markdown table, with the baseline's ratio to every contender. A group the report has no
//! description for (a new bench) still gets a table and a plot from [`Spec::generic`].

use std::fmt::Write as _;

use crate::criterion::{Measurement, Results};
use crate::units::{format_rate, format_time};

/// How a group's numbers read best.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Time per operation per thread (criterion's per-iteration time).
    NsPerOp,
    /// Aggregate operations per second across the measured threads.
    Rate,
    /// Latency of one call (criterion's per-iteration time).
    Latency,
}

impl Metric {
    /// Whether a larger number is better.
    pub fn higher_is_better(self) -> bool {
        self == Metric::Rate
    }

    /// The number shown for `m` (ns for times, per second for rates) and its text.
    pub fn value(self, m: &Measurement) -> (f64, String) {
        match self {
            Metric::NsPerOp | Metric::Latency => (m.ns, format_time(m.ns)),
            Metric::Rate => (m.rate(), format_rate(m.rate())),
        }
    }
}

/// A group whose parameter is a thread count: its table marks oversubscribed columns and
/// its plot is throughput against threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaling {
    /// Busy threads running besides the measured ones (a writer looping without pause).
    pub busy_background: usize,
    /// What those threads are ("writer").
    pub background: &'static str,
    /// What the parameter counts ("measured threads").
    pub threads: &'static str,
}

impl Scaling {
    /// Whether `threads` measured threads plus the background ones exceed `cores`.
    pub fn oversubscribed(self, threads: usize, cores: usize) -> bool {
        threads + self.busy_background > cores
    }
}

/// One table of the report.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub group: &'a str,
    pub title: &'a str,
    pub what: &'a str,
    /// How the criterion parameter reads in a column header ("{} threads").
    pub param: &'a str,
    pub metric: Metric,
    /// The contender every other row is compared to.
    pub baseline: &'a str,
    /// Panels of the scaling plot, each a title and its contenders (a contender named by no
    /// panel joins the last); the tables list the contenders in this order after the
    /// baseline, the others alphabetically. Empty: one chart.
    pub panels: &'a [(&'a str, &'a [&'a str])],
    pub scaling: Option<Scaling>,
}

/// The list groups' panels: the linked lists, then the vectors.
const LIST_PANELS: &[(&str, &[&str])] = &[
    (
        "linked lists",
        &[
            "rcu-queue RcuTailq",
            "std RwLock<linked list>",
            "std Mutex<linked list>",
            "plain linked list",
        ],
    ),
    (
        "vectors",
        &[
            "rcu-core RcuCell<Vec>",
            "std RwLock<Vec>",
            "parking_lot RwLock<Vec>",
            "std Mutex<Vec>",
        ],
    ),
];

const THREADS: Option<Scaling> = Some(Scaling {
    busy_background: 0,
    background: "",
    threads: "measured threads",
});
const THREADS_AND_WRITER: Option<Scaling> = Some(Scaling {
    busy_background: 1,
    background: "writer",
    threads: "measured threads",
});
const THREADS_AND_CALLBACKS: Option<Scaling> = Some(Scaling {
    busy_background: 1,
    background: "callback thread",
    threads: "measured threads",
});
const READERS_BESIDE_WRITER: Option<Scaling> = Some(Scaling {
    busy_background: 1,
    background: "writer (the measured thread)",
    threads: "background readers",
});

/// A hash-map mix group: threads sweep against `RcuHashMap`, aggregate operations/s. Its title and
/// description are built from the mix and the key count, so the four groups cannot drift apart.
macro_rules! hash_map_mix {
    ($group:literal, $section:literal, $mix:literal, $gets:literal, $updates:literal, $keys:literal) => {
        Spec {
            group: $group,
            title: concat!(
                $section,
                ". Hash map, ",
                $mix,
                " (",
                $gets,
                "% gets), ",
                $keys,
                " keys"
            ),
            what: concat!(
                "Threads look keys up in a prefilled map (",
                $keys,
                " keys) and, on ",
                $updates,
                "% of the operations, insert or remove a key; every contender hashes with the same \
                 `RandomState`. Aggregate operations/s; higher is better."
            ),
            param: "{} thr",
            metric: Metric::Rate,
            baseline: "RcuHashMap",
            panels: &[],
            scaling: THREADS,
        }
    };
}

/// A conc-map-bench mix group (`benches::hash_map::OpMix`): threads sweep against `RcuHashMap`,
/// aggregate operations/s; title and description built from the mix's percentages and key count.
macro_rules! hash_map_cmb {
    ($group:literal, $section:literal, $mix:literal, $read:literal, $insert:literal, $remove:literal, $update:literal, $keys:literal) => {
        Spec {
            group: $group,
            title: concat!(
                $section,
                ". Hash map, conc-map-bench ",
                $mix,
                " (",
                $read,
                "/",
                $insert,
                "/",
                $remove,
                "/",
                $update,
                "), ",
                $keys,
                " keys"
            ),
            what: concat!(
                "conc-map-bench's ",
                $mix,
                " mix over a map prefilled with ",
                $keys,
                " keys: ",
                $read,
                "% gets of prefilled keys, ",
                $insert,
                "% inserts of the thread's fresh keys (wrapping after 65,536), ",
                $remove,
                "% removes of its oldest, ",
                $update,
                "% replaces of prefilled keys; every contender hashes with the same `RandomState`. \
                 Aggregate operations/s; higher is better."
            ),
            param: "{} thr",
            metric: Metric::Rate,
            baseline: "RcuHashMap",
            panels: &[],
            scaling: THREADS,
        }
    };
}

/// Every described group, in report order.
pub const SPECS: &[Spec<'static>] = &[
    Spec {
        group: "read_side",
        title: "1. Read-side enter/exit",
        what: "One read-side critical section entered and left (rcu-core `read_lock()` + drop, crossbeam-epoch \
               `pin()`, arc-swap `load()`, `RwLock::read()`, `Mutex::lock()`, liburcu memb inline \
               `rcu_read_lock/unlock`). Time per pair per thread; lower is better. The plot shows the \
               aggregate pairs/s of all threads.",
        param: "{} thr",
        metric: Metric::NsPerOp,
        baseline: "rcu-core",
        panels: &[],
        scaling: THREADS,
    },
    Spec {
        group: "read_mostly_reads",
        title: "2a. Read-mostly pointer: readers only",
        what: "Readers enter, load a 32-byte struct, fold it into a digest and leave; no writer. Aggregate \
               reads/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-core",
        panels: &[],
        scaling: THREADS,
    },
    Spec {
        group: "read_mostly_reads_writer",
        title: "2b. Read-mostly pointer: readers + 1 writer",
        what: "Same readers while one background writer replaces the struct in a loop (rcu-core \
               `RcuCell::replace` → `call_rcu`, crossbeam `swap` + `defer_destroy`, arc-swap `store`, lock write \
               guard). Aggregate reads/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-core",
        panels: &[],
        scaling: THREADS_AND_WRITER,
    },
    Spec {
        group: "read_mostly_writes",
        title: "2c. Read-mostly pointer: writes with background readers",
        what: "One writer replaces the struct while N readers read in a loop. Writes/s; higher is better.",
        param: "{} bg readers",
        metric: Metric::Rate,
        baseline: "rcu-core",
        panels: &[],
        scaling: READERS_BESIDE_WRITER,
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
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "polling",
        title: "3b. Polling for a grace period",
        what: "The non-blocking alternative to `synchronize_rcu`: `start_poll_synchronize_rcu()` (snapshot the \
               grace-period state and make sure a grace period will run) and `poll_state_synchronize_rcu(state)` \
               (has it elapsed? measured on a state whose grace period has elapsed). Time per call; lower is \
               better. Debian 12's liburcu (0.13) has no polling API to compare with.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core",
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "synchronize_rcu_async",
        title: "3c. Awaiting a grace period (async)",
        what: "`synchronize_rcu_async().await` on a current-thread tokio runtime next to the blocking \
               `synchronize_rcu` (0 or 1 busy reader), and one round of 1,000 tasks awaiting at once (`rcu-core \
               async`; they share one grace period). Time per call or round; lower is better. An await waits \
               for one callback batch: that delay is what lets concurrent awaits share grace periods.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core synchronize_rcu_async",
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "snapshot",
        title: "2d. Snapshots that may live across `.await`: RcuArcCell vs arc-swap",
        what: "One thread: `RcuArcCell::read` (a borrow under a read guard), `load_full` (an owned `Arc`) and \
               `store`, against arc-swap's `load`, `load_full` and `store`. Time per call; lower is better.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core RcuArcCell::load_full",
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "call_rcu_enqueue",
        title: "4a. `call_rcu` enqueue rate",
        what: "Threads allocate a 48-byte object and queue a callback that frees it after a grace period \
               (rcu-core intrusive `call_rcu1` and closure `call_rcu`, liburcu memb `call_rcu`); the callback \
               thread runs besides them. Aggregate enqueues/s; higher is better.",
        param: "{} thr",
        metric: Metric::Rate,
        baseline: "rcu-core call_rcu1 (intrusive)",
        panels: &[],
        scaling: THREADS_AND_CALLBACKS,
    },
    Spec {
        group: "call_rcu_reclaim",
        title: "4b. End-to-end reclaim rate",
        what: "One thread queues N callbacks, then waits in `rcu_barrier` until all ran. Callbacks/s; higher \
               is better.",
        param: "{} thr",
        metric: Metric::Rate,
        baseline: "rcu-core call_rcu1 (intrusive)",
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "rcu_barrier",
        title: "4c. `rcu_barrier` latency with a small queue",
        what: "16 callbacks queued, then one `rcu_barrier` timed. Lower is better.",
        param: "{}",
        metric: Metric::Latency,
        baseline: "rcu-core call_rcu1 (intrusive)",
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "list_traversal",
        title: "5a. 64-element list traversal, no writer",
        what: "Each reader sums all 64 elements under one read guard / lock. Two data layouts: linked lists of \
               boxed nodes (`RcuTailq`, the same plain list behind `RwLock` / `Mutex`, and that list with no \
               synchronization at all, the floor) and a contiguous `Vec<u64>` (in an `RcuCell`, behind \
               `RwLock` / `Mutex`). Aggregate traversals/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
        panels: LIST_PANELS,
        scaling: THREADS,
    },
    Spec {
        group: "list_traversal_writer",
        title: "5b. 64-element list traversal with a churning writer",
        what: "Same traversals while one writer removes the oldest element and appends a new one in a loop. \
               Aggregate traversals/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
        panels: LIST_PANELS,
        scaling: THREADS_AND_WRITER,
    },
    Spec {
        group: "list_traversal_paced_writer",
        title: "5c. 64-element list traversal with a paced writer (read-mostly)",
        what: "Same traversals while one writer makes one update (remove the oldest, append a new \
               element) and then pauses 50 µs outside any lock (mostly idle, so not counted as a busy \
               thread): the same update rate for every contender. Aggregate traversals/s; higher is better.",
        param: "{} readers",
        metric: Metric::Rate,
        baseline: "rcu-queue RcuTailq",
        panels: LIST_PANELS,
        scaling: THREADS,
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
        panels: &[],
        scaling: None,
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
        panels: &[],
        scaling: None,
    },
    Spec {
        group: "call_rcu_enqueue_prealloc",
        title: "4d. `call_rcu1` enqueue on preallocated objects",
        what: "The enqueue alone: threads queue callbacks on objects allocated before the clock starts (rcu-core \
               intrusive `call_rcu1` through the per-thread buffer, liburcu memb `call_rcu`); the callback \
               thread runs besides them. Aggregate enqueues/s; higher is better.",
        param: "{} thr",
        metric: Metric::Rate,
        baseline: "rcu-core call_rcu1 (intrusive)",
        panels: &[],
        scaling: THREADS_AND_CALLBACKS,
    },
    hash_map_mix!(
        "hash_map_read_heavy_1k",
        "7a",
        "read-heavy",
        "99",
        "1",
        "1k"
    ),
    hash_map_mix!(
        "hash_map_read_heavy_100k",
        "7b",
        "read-heavy",
        "99",
        "1",
        "100k"
    ),
    hash_map_mix!(
        "hash_map_read_heavy_1m",
        "7c",
        "read-heavy",
        "99",
        "1",
        "2^20"
    ),
    hash_map_mix!(
        "hash_map_read_mostly_1k",
        "7d",
        "read-mostly",
        "90",
        "10",
        "1k"
    ),
    hash_map_mix!(
        "hash_map_read_mostly_100k",
        "7e",
        "read-mostly",
        "90",
        "10",
        "100k"
    ),
    hash_map_mix!(
        "hash_map_read_mostly_1m",
        "7f",
        "read-mostly",
        "90",
        "10",
        "2^20"
    ),
    hash_map_cmb!(
        "hash_map_cmb_read_heavy_1k",
        "7g",
        "read-heavy",
        "98",
        "1",
        "1",
        "0",
        "1k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_read_heavy_100k",
        "7h",
        "read-heavy",
        "98",
        "1",
        "1",
        "0",
        "100k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_read_heavy_1m",
        "7i",
        "read-heavy",
        "98",
        "1",
        "1",
        "0",
        "2^20"
    ),
    hash_map_cmb!(
        "hash_map_cmb_exchange_1k",
        "7j",
        "exchange",
        "10",
        "40",
        "40",
        "10",
        "1k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_exchange_100k",
        "7k",
        "exchange",
        "10",
        "40",
        "40",
        "10",
        "100k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_exchange_1m",
        "7l",
        "exchange",
        "10",
        "40",
        "40",
        "10",
        "2^20"
    ),
    hash_map_cmb!(
        "hash_map_cmb_rapid_grow_1k",
        "7m",
        "rapid-grow",
        "5",
        "80",
        "5",
        "10",
        "1k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_rapid_grow_100k",
        "7n",
        "rapid-grow",
        "5",
        "80",
        "5",
        "10",
        "100k"
    ),
    hash_map_cmb!(
        "hash_map_cmb_rapid_grow_1m",
        "7o",
        "rapid-grow",
        "5",
        "80",
        "5",
        "10",
        "2^20"
    ),
    Spec {
        group: "hash_map_single_thread",
        title: "7p. Hash map get on one thread",
        what: "One thread looks up present keys: `RcuHashMap::get` and `RcuFlatHashMap::get` (the pairs in the \
               buckets) under a read guard, an unsynchronized `std::collections::HashMap::get`, and hashing the key \
               alone with `RandomState` (the part of all that is not the table). Gets/s; higher is better.",
        param: "{} keys",
        metric: Metric::Rate,
        baseline: "RcuHashMap get",
        panels: &[],
        scaling: None,
    },
];

impl<'a> Spec<'a> {
    /// The description of `group`, or a generic one for a group the report does not know
    /// (rates when criterion recorded a throughput, latencies otherwise; the baseline is the
    /// first rcu-core / rcu-queue contender, else the first contender).
    pub fn of(results: &'a Results, group: &'a str) -> Spec<'a> {
        if let Some(spec) = SPECS.iter().find(|s| s.group == group) {
            return spec.clone();
        }
        Self::generic(results, group)
    }

    fn generic(results: &'a Results, group: &'a str) -> Spec<'a> {
        let rate = results.group(group).any(|m| m.elements.is_some());
        let baseline = results
            .group(group)
            .find(|m| m.function.starts_with("rcu"))
            .or_else(|| results.group(group).next())
            .map_or("", |m| m.function.as_str());
        Spec {
            group,
            title: group,
            what: if rate {
                "A group without a description in the report: aggregate operations/s (criterion throughput); \
                 higher is better."
            } else {
                "A group without a description in the report: criterion's time per iteration; lower is better."
            },
            param: "{}",
            metric: if rate { Metric::Rate } else { Metric::Latency },
            baseline,
            panels: &[],
            scaling: None,
        }
    }

    /// Every measured group as a spec: the described ones in report order, then the others.
    pub fn all(results: &'a Results) -> Vec<Spec<'a>> {
        let measured = results.groups();
        let mut specs: Vec<Spec<'a>> = SPECS
            .iter()
            .filter(|s| measured.contains(&s.group))
            .cloned()
            .collect();
        for group in measured {
            if !SPECS.iter().any(|s| s.group == group) {
                specs.push(Self::generic(results, group));
            }
        }
        specs
    }

    /// The column header of parameter `p` ("1 reader", "2 readers").
    pub fn column(&self, p: &str) -> String {
        let header = self.param.replace("{}", p);
        match header.strip_suffix('s') {
            Some(singular) if p == "1" => singular.to_owned(),
            _ => header,
        }
    }
}

/// Parameters in natural order (numbers numerically, then text).
pub fn params(results: &Results, group: &str) -> Vec<String> {
    let mut params: Vec<String> = results.group(group).map(|m| m.param.clone()).collect();
    params.sort_by(|a, b| {
        let key = |s: &str| {
            s.split_whitespace()
                .next()
                .and_then(|w| w.parse::<f64>().ok())
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        }
    });
    params.dedup();
    params
}

/// Contenders: the baseline, then in the order of the spec's panels, then the others
/// alphabetically.
pub fn functions(results: &Results, spec: &Spec<'_>) -> Vec<String> {
    let mut functions: Vec<String> = results
        .group(spec.group)
        .map(|m| m.function.clone())
        .collect();
    let rank = |f: &str| {
        if f == spec.baseline {
            0
        } else {
            spec.panels
                .iter()
                .flat_map(|(_, members)| members.iter())
                .position(|o| *o == f)
                .map_or(usize::MAX, |i| i + 1)
        }
    };
    functions.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    functions.dedup();
    functions
}

/// The markdown of one table (`cores`: the machine's, for the oversubscription marks), or
/// `None` if the group was not measured.
pub fn markdown(results: &Results, spec: &Spec<'_>, cores: usize) -> Option<String> {
    let params = params(results, spec.group);
    if params.is_empty() {
        return None;
    }
    let functions = functions(results, spec);
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n\n{}\n", spec.title, spec.what);
    if let Some(scaling) = spec.scaling {
        let busy = match scaling.busy_background {
            0 => String::new(),
            n => format!(" plus {n} busy {}", scaling.background),
        };
        let _ = writeln!(
            out,
            "Measured on **{cores} cores**; columns are {}{busy}. Columns marked † are \
             oversubscribed (more busy threads than cores): they show how each scheme degrades when \
             threads are preempted, not parallel speed-up.\n",
            scaling.threads
        );
    }
    let _ = write!(out, "| contender |");
    for p in &params {
        let mark = match (spec.scaling, p.parse::<usize>()) {
            (Some(s), Ok(threads)) if s.oversubscribed(threads, cores) => " †",
            _ => "",
        };
        let _ = write!(out, " {}{mark} |", spec.column(p));
    }
    let _ = write!(out, "\n|---|");
    for _ in &params {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for f in &functions {
        if f == spec.baseline {
            let _ = write!(out, "| **{f}** |");
        } else {
            let _ = write!(out, "| {f} |");
        }
        for p in &params {
            let cell = match results.get(spec.group, f, p) {
                None => "–".to_owned(),
                Some(m) => {
                    let (_, text) = spec.metric.value(m);
                    match results.get(spec.group, spec.baseline, p) {
                        Some(base) if f != spec.baseline => {
                            format!("{text} ({:.2}×)", m.ns / base.ns)
                        }
                        _ => text,
                    }
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    if functions.len() > 1 {
        let _ = writeln!(
            out,
            "\n(k×) = how many times faster **{}** is than that row in the same column (below 1: the row is faster).",
            spec.baseline
        );
    }
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::tests::fake as m;

    #[test]
    fn table_puts_baseline_first_reports_ratios_and_marks_oversubscription() {
        let results = Results {
            all: vec![
                m("read_side", "crossbeam-epoch", "1", 3.0),
                m("read_side", "rcu-core", "1", 1.0),
                m("read_side", "rcu-core", "2", 1.0),
                m("read_side", "crossbeam-epoch", "2", 4.0),
                m("read_side", "rcu-core", "4", 2.0),
            ],
        };
        let spec = Spec::of(&results, "read_side");
        let md = markdown(&results, &spec, 2).unwrap();
        let rcu = md.find("| **rcu-core** |").unwrap();
        let cb = md.find("| crossbeam-epoch |").unwrap();
        assert!(rcu < cb);
        assert!(md.contains("3.00 ns (3.00×)"));
        assert!(md.contains("4.00 ns (4.00×)"));
        assert!(md.contains("**2 cores**"));
        assert!(md.contains("| 2 thr | 4 thr † |"), "{md}");
        assert!(markdown(&results, &Spec::of(&results, "read_mostly_reads"), 2).is_none());
    }

    #[test]
    fn a_writer_counts_as_a_busy_thread() {
        let writer = THREADS_AND_WRITER.unwrap();
        assert!(!writer.oversubscribed(1, 2));
        assert!(writer.oversubscribed(2, 2));
        assert!(!THREADS.unwrap().oversubscribed(2, 2));
    }

    #[test]
    fn list_rows_come_by_layout() {
        let results = Results {
            all: [
                "std Mutex<Vec>",
                "rcu-core RcuCell<Vec>",
                "std RwLock<linked list>",
                "rcu-queue RcuTailq",
                "a future contender",
            ]
            .into_iter()
            .map(|f| m("list_traversal", f, "1", 1.0))
            .collect(),
        };
        assert_eq!(
            functions(&results, &Spec::of(&results, "list_traversal")),
            [
                "rcu-queue RcuTailq",
                "std RwLock<linked list>",
                "rcu-core RcuCell<Vec>",
                "std Mutex<Vec>",
                "a future contender"
            ]
        );
    }

    #[test]
    fn unknown_groups_get_a_generic_table() {
        let results = Results {
            all: vec![
                m("hash_map_lookup", "std RwLock<HashMap>", "2", 40.0),
                m("hash_map_lookup", "rcu-queue RcuHashMap", "2", 10.0),
                m("hash_map_lookup", "rcu-queue RcuHashMap", "1", 5.0),
            ],
        };
        let specs = Spec::all(&results);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].baseline, "rcu-queue RcuHashMap");
        assert_eq!(specs[0].metric, Metric::Rate);
        let md = markdown(&results, &specs[0], 2).unwrap();
        assert!(md.contains("### hash_map_lookup"));
        assert!(
            md.contains("| **rcu-queue RcuHashMap** | 200 M/s | 200 M/s |"),
            "{md}"
        );
        assert!(md.contains("50.00 M/s (4.00×)"), "{md}");
    }

    #[test]
    fn numeric_params_sort_numerically_before_text() {
        let results = Results {
            all: vec![
                m("g", "a", "16", 1.0),
                m("g", "a", "4", 1.0),
                m("g", "a", "0 readers", 1.0),
                m("g", "a", "4 callers", 1.0),
            ],
        };
        assert_eq!(params(&results, "g"), ["0 readers", "4", "4 callers", "16"]);
        let spec = Spec::of(&results, "read_mostly_reads");
        assert_eq!(spec.column("1"), "1 reader");
        assert_eq!(spec.column("2"), "2 readers");
    }
}
