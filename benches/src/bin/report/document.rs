//! The prose sections of the report around the tables: heading, machine, targets, the
//! report's own measurements, larger machines and method.

use std::fmt::Write as _;
use std::path::Path;

use crate::criterion::Results;
use benches::hash_map::SIZES;

use crate::extra::{self, Extra};
use crate::groups::Spec;
use crate::machine::Machine;
use crate::targets::Outcome;
use crate::units::{format_rate, format_time};

/// The two commands that regenerate BENCHMARKS.md.
pub const REGENERATE: &str = "`cargo bench -p benches [--features liburcu]` then \
     `cargo run -p benches --release [--features liburcu] --bin report`";

/// The title of BENCHMARKS.md.
pub fn heading(md: &mut String) {
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Generated from criterion's output by two commands: {REGENERATE} (do not edit by hand: rerun \
         both; hand-written notes live in `benches/report-notes.md`, the targets in `benches/targets.toml`). \
         Every ratio compares contenders measured in the same run.\n"
    );
}

/// The title of a larger machine's scaling section.
pub fn scaling_heading(md: &mut String, machine: &Machine) {
    let _ = writeln!(
        md,
        "# Scaling sweep: {}, {} cores, {}\n\n\
         The thread-scaling groups only, measured on the machine below by `benches/scaling-sweep.sh`. \
         These numbers come from a different machine than `BENCHMARKS.md`'s tables: compare ratios \
         within this file, never with those tables.\n",
        machine.cpu, machine.cores, machine.date
    );
}

/// The machine table.
pub fn machine(md: &mut String, machine: &Machine, results: &Results) {
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {} |", machine.date);
    let _ = writeln!(md, "| host | {} |", machine.host);
    let _ = writeln!(md, "| cores | {} |", machine.cores);
    let _ = writeln!(md, "| CPU | {} |", machine.cpu);
    let _ = writeln!(md, "| kernel | {} |", machine.kernel);
    let _ = writeln!(md, "| rustc | {} |", machine.rustc);
    let _ = writeln!(md, "| load average at report time | {} |", machine.load);
    let _ = writeln!(
        md,
        "| liburcu side-by-side | {} |\n",
        if results.has_contender("liburcu") {
            "yes (`--features liburcu`, system liburcu memb)"
        } else {
            "no (run with `--features liburcu`)"
        }
    );
}

/// The targets table.
pub fn targets(md: &mut String, outcomes: &[Outcome]) {
    let met = outcomes
        .iter()
        .filter(|o| o.status == crate::targets::Status::Met)
        .count();
    let _ = writeln!(
        md,
        "## Targets\n\n\
         From `benches/targets.toml`; {met} of {} met in this run. \"k× better\" = how many times faster \
         (or smaller) ours is than theirs in the same run; \"costs k× theirs\" = ours' time (or memory) \
         divided by theirs; \"k× the bound\" = the measurement divided by the bound.\n\n\
         | target | measured | status |\n|---|---|---|",
        outcomes.len()
    );
    for o in outcomes {
        let _ = writeln!(md, "| {} | {} | {} |", o.says, o.measured, o.status.word());
    }
    md.push('\n');
}

/// A warning when the scaling groups were swept on a machine with another core count than
/// this one (the sweep goes up to twice the cores of the machine that ran it).
pub fn sweep_check(md: &mut String, results: &Results, specs: &[Spec<'_>], cores: usize) {
    let swept = specs
        .iter()
        .filter(|s| s.scaling.is_some())
        .flat_map(|s| results.group(s.group))
        .filter_map(|m| m.param.parse::<usize>().ok())
        .max();
    if let Some(max) = swept {
        if max != 2 * cores {
            let _ = writeln!(
                md,
                "> **Warning:** the scaling groups were swept up to {max} threads, which is twice the cores \
                 of a {}-core machine, but this report runs on {cores} cores: the oversubscription marks \
                 below assume {cores} cores. Run the report on the machine that ran the benches.\n",
                max / 2
            );
        }
    }
}

/// The report's own measurements.
pub fn extra(md: &mut String, extra: &Extra) {
    let _ = writeln!(md, "## Measured by the report itself\n");
    for (g, with) in [
        (extra.gp_per_round_busy, "one busy reader"),
        (extra.gp_per_round, "no registered reader"),
    ] {
        if let Some(g) = g {
            let _ = writeln!(
                md,
                "- {} threads calling `synchronize_rcu` in a loop with {with}: **{g:.2} grace periods per round** \
                 (a round = every caller completed one call; from `rcu_core::stats().grace_periods`).",
                benches::tuning::CALLERS
            );
        }
    }
    if let Some(secs) = extra.flood_secs {
        flood(md, extra, secs);
    }
    if !extra.qdev.is_empty() {
        let _ = writeln!(
            md,
            "\nqdev-demo lookup latency ({} I/O threads, {:.0} s per run; lookup = reader section + find, \
             from qdev-demo's own histograms;\n\
             raw = one sample per lookup as issued; corrected = with catch-up samples for the requests a \
             stalled I/O thread did not issue (coordinated omission), qdev-demo's `lookup_latency_corrected`):\n\n\
             | mode | hot-plug | requests/s | p50 raw | p99 raw | max | p99 corrected | hot-plug ops |\n\
             |---|---|---:|---:|---:|---:|---:|---:|",
            extra::QDEV_IOTHREADS,
            extra::QDEV_RUN.as_secs_f64()
        );
        for q in &extra.qdev {
            let l = &q.run.lookups;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                q.mode,
                if q.hotplug { "on" } else { "off" },
                format_rate(q.run.rate()),
                format_time(l.percentile_ns(50.0) as f64),
                format_time(l.percentile_ns(99.0) as f64),
                format_time(l.max_ns() as f64),
                format_time(q.run.lookups_corrected.percentile_ns(99.0) as f64),
                q.run.hotplug_operations
            );
        }
    }
    if !extra.footprints.is_empty() {
        footprints(md, extra);
    }
    md.push('\n');
}

/// The hash maps' bytes per entry, one row per map, one column per size.
fn footprints(md: &mut String, extra: &Extra) {
    let _ = writeln!(
        md,
        "\nHash-map footprint: live bytes per `u64 -> u64` entry of a map prefilled with `RandomState`, \
         counted by this binary's allocator after the tables a resize retired were freed:\n\n\
         | map | {} |\n|---|{}",
        SIZES.map(|(_, size)| size).join(" | "),
        "---:|".repeat(SIZES.len())
    );
    for map in extra::MAP_KINDS {
        let cells: Vec<String> = SIZES
            .iter()
            .map(|&(_, size)| {
                extra
                    .footprint(map, size)
                    .map_or_else(|| "–".to_owned(), |b| format!("{b:.1} B"))
            })
            .collect();
        let _ = writeln!(md, "| {map} | {} |", cells.join(" | "));
    }
}

/// The busy-server flood's table.
fn flood(md: &mut String, extra: &Extra, secs: f64) {
    let load = extra::FLOOD;
    let _ = writeln!(
        md,
        "\n**`call_rcu` flood on a busy machine**: {} producers each allocate a 48-byte object and retire it \
         (rcu-core `call_rcu1`; rcu-core `free_rcu`, which the producers free themselves; crossbeam-epoch \
         `pin()` + `defer_destroy`; liburcu memb `call_rcu`) as fast as \
         they can for {secs} s, while one reader holds {:.0} ms read-side sections back to back and {} threads \
         spin; each contender in a fresh process (a flood stops early at {} MiB of RSS). Peak pending: the \
         largest backlog the producers saw (sampled every 1024 enqueues) or rcu-core's exact queue peak, \
         whichever is larger (for `free_rcu`: callbacks plus objects sealed and not yet freed; \
         crossbeam-epoch and liburcu do not count theirs). Peak RSS: the process's VmHWM, \
         including the retire-to-free runs. Retire to free: one object retired every 0.2–3 ms by an otherwise \
         idle thread, time until it was freed, {} samples on the idle process before the flood, then during \
         the flood itself (the waiting thread pins and flushes every 20 µs for crossbeam-epoch, which frees only when threads \
         pin, and calls `flush_frees` every 20 µs for rcu-core `free_rcu`, which the retiring thread frees). \
         Reader's sections: the wall-clock length of the reader's {:.0} ms sections during the flood, p50 / p99 / max; a \
         grace period cannot end before the section it waits for, and a section lasts longer than {:.0} ms only when \
         its thread is preempted inside it, so on a machine with fewer cores than busy threads this bounds every \
         scheme's retire-to-free latency from below.\n\n\
         | contender | enqueues/s | peak pending | peak RSS | drained in | retire→free idle p50 / p99 | under the flood p50 / p99 | reader's sections p50 / p99 / max |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|",
        load.producers,
        load.reader_section.map_or(0.0, |d| d.as_secs_f64() * 1e3),
        load.spinners,
        benches::reclaim::RSS_CAP >> 20,
        extra::LATENCY_SAMPLES,
        load.reader_section.map_or(0.0, |d| d.as_secs_f64() * 1e3),
        load.reader_section.map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
    let latency = |l: Option<benches::reclaim::Latency>| {
        l.map_or_else(
            || "–".to_owned(),
            |l| {
                format!(
                    "{} / {}",
                    format_time(l.p50 as f64),
                    format_time(l.p99 as f64)
                )
            },
        )
    };
    for f in &extra.floods {
        let peak = match (f.peak_pending(), f.limit_high) {
            (Some(p), Some(h)) => format!("{p} (high watermark {h})"),
            (Some(p), None) => p.to_string(),
            (None, _) => "not counted".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {peak} | **{:.1} MiB**{} | {} | {} | {} | {} |",
            f.name,
            format_rate(f.stats.rate()),
            f.peak_rss_kib as f64 / 1024.0,
            if f.stats.capped {
                " (stopped at the cap)"
            } else {
                ""
            },
            format_time(f.stats.drain.as_nanos() as f64),
            latency(f.idle),
            latency(f.flooded),
            f.stats.reader_sections.map_or_else(
                || "–".to_owned(),
                |l| format!(
                    "{} / {} / {}",
                    format_time(l.p50 as f64),
                    format_time(l.p99 as f64),
                    format_time(l.max as f64)
                ),
            )
        );
    }
}

/// Links to the committed scaling sections of larger machines (`<plots>/scaling/*.md`), or
/// how to produce one.
pub fn larger_machines(md: &mut String, plots: &Path, plots_rel: &str, machine: &Machine) {
    let mut sections: Vec<String> = std::fs::read_dir(plots.join("scaling"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.ends_with(".md").then_some(name)
        })
        .collect();
    sections.sort();
    let _ = writeln!(
        md,
        "## Larger machines\n\n\
         The tables above come from one {}-core machine, so their thread sweep (1, 2, 4, ... up to twice the \
         cores) ends at {} threads and every point past {} threads is oversubscribed. Scaling across more \
         cores is measured by one prepared command on a larger machine, `bash benches/scaling-sweep.sh \
         [--features liburcu]`, which runs the read-side, read-mostly and list groups with its own \
         criterion directory and writes `benchmarks/scaling/<host>-<cores>cores-<date>.md` with its plots \
         in the folder of the same name; commit both as they are. Each such file is its own labelled \
         section (machine, cores, date), never merged into the tables above.\n",
        machine.cores,
        2 * machine.cores,
        machine.cores
    );
    if sections.is_empty() {
        let _ = writeln!(
            md,
            "No larger machine has been measured yet: none was available when this report was written \
             ({}).\n",
            machine.date
        );
    } else {
        for s in sections {
            let _ = writeln!(
                md,
                "- [{}]({plots_rel}scaling/{s})",
                s.trim_end_matches(".md")
            );
        }
        md.push('\n');
    }
}

/// How the numbers were taken.
pub fn method(md: &mut String, machine: &Machine) {
    let _ = writeln!(
        md,
        "## Method\n\n\
         - Criterion, `iter_custom`: worker threads are spawned and registered first, meet on a `Barrier`, \
           and only the phase between that barrier and the workers' end barrier is timed; background \
           writers/readers run throughout that phase and stop after it.\n\
         - Thread counts 1, 2, 4, ... up to twice the machine's cores ({} here), decided at run time from \
           `std::thread::available_parallelism`; columns and plot ranges with more busy threads than \
           cores are marked oversubscribed. Each number is the median of criterion's 10 samples (0.3 s \
           warm-up, 0.8 s measurement; 1.5 s for grace periods and barriers), kept short so the whole \
           suite runs in minutes.\n\
         - Rates are aggregate across the measured threads; per-thread times are wall time per operation \
           per thread. Every plot axis is linear and starts at zero; each contender has one colour in \
           every plot (`benches/src/bin/report/palette.rs`).\n\
         - The machine is shared with other builds: the load average above says how busy it was. Compare \
           ratios within one run, not absolute numbers across runs.\n",
        machine.cores
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use benches::reclaim::{FloodStats, Latency};

    use super::*;
    use crate::extra::FloodReport;

    #[test]
    fn the_flood_table_has_a_row_per_contender() {
        let stats = FloodStats {
            enqueued: 36_600_000,
            elapsed: Duration::from_secs(10),
            peak_pending: Some(262_400),
            queued_peak: Some(262_617),
            drain: Duration::from_millis(3),
            rss_growth: None,
            capped: false,
            latency: None,
            reader_sections: Some(Latency {
                p50: 1_000_100,
                p99: 14_000_000,
                max: 30_000_000,
            }),
        };
        let latency = Latency {
            p50: 22_520,
            p99: 710_910,
            max: 900_000,
        };
        let extra = Extra {
            flood_secs: Some(10.0),
            floods: vec![
                FloodReport {
                    name: "rcu-core".to_owned(),
                    stats,
                    rss_before_kib: 2900,
                    peak_rss_kib: 42_394,
                    limit_high: Some(262_144),
                    idle: Some(latency),
                    flooded: None,
                },
                FloodReport {
                    name: "liburcu".to_owned(),
                    stats: FloodStats {
                        peak_pending: None,
                        queued_peak: None,
                        capped: true,
                        ..stats
                    },
                    rss_before_kib: 2900,
                    peak_rss_kib: 1_048_600,
                    limit_high: None,
                    idle: None,
                    flooded: None,
                },
            ],
            ..Extra::default()
        };
        let mut md = String::new();
        super::extra(&mut md, &extra);
        assert!(
            md.contains("for 10 s, while one reader holds 1 ms read-side sections"),
            "{md}"
        );
        assert!(
            md.contains(
                "| rcu-core | 3.66 M/s | 262617 (high watermark 262144) | **41.4 MiB** | 3.00 ms | \
                 22.52 µs / 710.91 µs | – | 1.00 ms / 14.00 ms / 30.00 ms |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| liburcu | 3.66 M/s | not counted | **1024.0 MiB** (stopped at the cap) |"
            ),
            "{md}"
        );
    }
}
