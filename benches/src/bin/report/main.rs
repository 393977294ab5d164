//! `cargo run -p benches --release --bin report`: writes `BENCHMARKS.md` and one SVG
//! plot per workload under `benchmarks/` from criterion's saved estimates (run
//! `cargo bench -p benches` first), plus a few measurements of its own that criterion
//! cannot hold (grace periods per round, backlog and peak RSS under a `call_rcu`
//! flood).

mod extra;
mod json;
mod machine;
mod results;
mod svg;
mod tables;
mod targets;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use extra::Extra;
use machine::Machine;
use results::Results;

const USAGE: &str = "\
usage: report [--criterion-dir DIR] [--out FILE] [--plots DIR] [--notes FILE] [--skip-extra]

Writes BENCHMARKS.md (default: the workspace root) and one SVG per workload (default:
benchmarks/) from criterion's output of `cargo bench -p benches`.

  --criterion-dir DIR  criterion's output (default: $CRITERION_HOME, else
                       $CARGO_TARGET_DIR/criterion, else <workspace>/target/criterion)
  --out FILE           the markdown report to write
  --plots DIR          where the SVG plots go
  --notes FILE         hand-written notes appended to the report
                       (default: benches/report-notes.md if it exists)
  --skip-extra         do not run the report's own measurements (about 15 s)
";

struct Options {
    criterion_dir: PathBuf,
    out: PathBuf,
    plots: PathBuf,
    notes: Option<PathBuf>,
    extra: bool,
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let root = workspace_root();
    let criterion_dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), PathBuf::from)
                .join("criterion")
        });
    let default_notes = root.join("benches").join("report-notes.md");
    let mut options = Options {
        criterion_dir,
        out: root.join("BENCHMARKS.md"),
        plots: root.join("benchmarks"),
        notes: default_notes.is_file().then_some(default_notes),
        extra: true,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--criterion-dir" => options.criterion_dir = value("--criterion-dir")?.into(),
            "--out" => options.out = value("--out")?.into(),
            "--plots" => options.plots = value("--plots")?.into(),
            "--notes" => options.notes = Some(value("--notes")?.into()),
            "--skip-extra" => options.extra = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "--flood-child") {
        let kind = args.nth(1).unwrap_or_default();
        return match extra::flood_child(&kind) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("report --flood-child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.peek().is_some_and(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprint!("report: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    let results = Results::load(&options.criterion_dir).map_err(|e| {
        format!("{e}\nno criterion output found: run `cargo bench -p benches` first (or pass --criterion-dir)")
    })?;
    if results.all.is_empty() {
        return Err(format!(
            "no benchmark results under {}: run `cargo bench -p benches` first",
            options.criterion_dir.display()
        ));
    }
    let machine = Machine::probe();
    let extra = if options.extra {
        eprintln!(
            "report: measuring grace periods per round and the call_rcu flood (about 15 s)..."
        );
        Extra::measure()
    } else {
        Extra::default()
    };
    fs::create_dir_all(&options.plots).map_err(|e| format!("{}: {e}", options.plots.display()))?;
    let plots_rel = relative_dir(&options.out, &options.plots);
    let notes = match &options.notes {
        Some(path) => {
            Some(fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Generated by `cargo run -p benches --release --bin report` from criterion's output of \
         `cargo bench -p benches` (do not edit by hand: rerun both; hand-written notes live in \
         `benches/report-notes.md`). Every ratio compares contenders measured in the same run.\n"
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {} |", machine.date);
    let _ = writeln!(md, "| cores | {} |", machine.cores);
    let _ = writeln!(md, "| CPU | {} |", machine.cpu);
    let _ = writeln!(md, "| kernel | {} |", machine.kernel);
    let _ = writeln!(md, "| rustc | {} |", machine.rustc);
    let _ = writeln!(md, "| load average at report time | {} |", machine.load);
    let liburcu = results
        .all
        .iter()
        .any(|m| m.function.starts_with("liburcu"));
    let _ = writeln!(
        md,
        "| liburcu side-by-side | {} |\n",
        if liburcu {
            "yes (`--features liburcu`, system liburcu memb)"
        } else {
            "no (run with `--features liburcu`)"
        }
    );

    let _ = writeln!(md, "## Targets (issues 2, 3, 4, 5)\n");
    let _ = writeln!(
        md,
        "| issue | target | measured | status |\n|---|---|---|---|"
    );
    for t in targets::evaluate(&results, &extra) {
        let _ = writeln!(
            md,
            "| #{} | {} | {} | {} |",
            t.issue,
            t.target,
            t.measured,
            t.status.word()
        );
    }
    md.push('\n');

    let _ = writeln!(md, "## Results\n");
    for spec in tables::SPECS {
        let Some(table) = tables::markdown(&results, spec) else {
            continue;
        };
        md.push_str(&table);
        if let Some(svg) = tables::plot(&results, spec) {
            let file = format!("{}.svg", spec.group);
            let path = options.plots.join(&file);
            fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            let _ = writeln!(md, "![{}]({plots_rel}{file})\n", spec.title);
        }
    }

    if options.extra {
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
        for f in &extra.floods {
            let peak = f
                .stats
                .peak_pending
                .map_or_else(|| "not counted".to_owned(), |p| p.to_string());
            let _ = writeln!(
                md,
                "- {} `call_rcu` flood, {:.1} s, one producer, in a fresh process: {} enqueues, peak pending \
                 {peak}, drained in {} after the flood, RSS {:.1} MiB before and **{:.1} MiB peak**.",
                f.name,
                f.stats.elapsed.as_secs_f64(),
                tables::format_rate(f.stats.rate()),
                tables::format_time(f.stats.drain.as_nanos() as f64),
                f.rss_before_kib as f64 / 1024.0,
                f.peak_rss_kib as f64 / 1024.0
            );
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
                    tables::format_rate(q.run.rate()),
                    tables::format_time(l.percentile_ns(50.0) as f64),
                    tables::format_time(l.percentile_ns(99.0) as f64),
                    tables::format_time(l.max_ns() as f64),
                    tables::format_time(q.run.lookups_corrected.percentile_ns(99.0) as f64),
                    q.run.hotplug_operations
                );
            }
        }
        md.push('\n');
    }

    let _ = writeln!(
        md,
        "## Method\n\n\
         - Criterion, `iter_custom`: worker threads are spawned and registered first, meet on a `Barrier`, \
           and only the phase between that barrier and the workers' end barrier is timed; background \
           writers/readers run throughout that phase and stop after it.\n\
         - Thread counts 1, 2 and an oversubscribed 4 on {} cores. Each number is the median of criterion's \
           10 samples (0.3 s warm-up, 0.8 s measurement; 1.5 s for grace periods and barriers), kept short \
           so the whole suite runs in minutes.\n\
         - Rates are aggregate across the measured threads; per-thread times are wall time per operation \
           per thread.\n\
         - The machine is shared with other builds: the load average above says how busy it was. Compare \
           ratios within one run, not absolute numbers across runs.\n",
        machine.cores
    );
    if let Some(notes) = notes {
        let _ = writeln!(md, "## Notes\n\n{}", notes.trim_end());
    }
    fs::write(&options.out, md).map_err(|e| format!("{}: {e}", options.out.display()))?;
    eprintln!(
        "report: wrote {} and plots in {}",
        options.out.display(),
        options.plots.display()
    );
    Ok(())
}

/// `plots` relative to the directory of `out` (for markdown image links), with a
/// trailing slash.
fn relative_dir(out: &Path, plots: &Path) -> String {
    let base = out.parent().unwrap_or(Path::new(""));
    match plots.strip_prefix(base) {
        Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/", rel.display()),
        Ok(_) => String::new(),
        Err(_) => format!("{}/", plots.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_links_are_relative_to_the_report() {
        assert_eq!(
            relative_dir(Path::new("/w/BENCHMARKS.md"), Path::new("/w/benchmarks")),
            "benchmarks/"
        );
        assert_eq!(
            relative_dir(Path::new("/w/B.md"), Path::new("/elsewhere/p")),
            "/elsewhere/p/"
        );
    }

    #[test]
    fn arguments_parse_and_unknown_ones_are_rejected() {
        let o = parse_args(
            ["--out", "x.md", "--skip-extra"]
                .map(String::from)
                .into_iter(),
        )
        .unwrap();
        assert_eq!(o.out, PathBuf::from("x.md"));
        assert!(!o.extra);
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--out"].map(String::from).into_iter()).is_err());
    }
}
