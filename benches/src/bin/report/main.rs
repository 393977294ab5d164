//! `cargo run -p benches --release --bin report`: writes `BENCHMARKS.md` and one SVG
//! plot per criterion group under `benchmarks/` from criterion's saved results (run
//! `cargo bench -p benches` first), checks the targets of `benches/targets.toml`, and adds
//! a few measurements of its own that criterion cannot hold (grace periods per round,
//! backlog, peak RSS, throughput and retire-to-free latency under a busy-server `call_rcu`
//! flood, each contender in a fresh child process, qdev-demo latency percentiles, the hash maps'
//! bytes per entry).
//! With `--scaling-only` it writes just the thread-scaling groups, as a section of its own
//! for a machine other than the one BENCHMARKS.md was measured on (`benches/scaling-sweep.sh`).

mod criterion;
mod document;
mod extra;
mod groups;
mod machine;
mod palette;
mod plots;
mod targets;
mod units;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use criterion::Results;
use extra::{Extra, Selection};
use groups::Spec;
use machine::Machine;
use targets::TargetsFile;

const USAGE: &str = "\
usage: report [--criterion-dir DIR] [--out FILE] [--plots DIR] [--notes FILE]
              [--targets FILE] [--skip-extra] [--extra LIST] [--flood-secs S]
              [--scaling-only]

Writes BENCHMARKS.md (default: the workspace root) and one SVG per criterion group
(default: benchmarks/) from criterion's output of `cargo bench -p benches`.

  --criterion-dir DIR  criterion's output (default: $CRITERION_HOME, else
                       $CARGO_TARGET_DIR/criterion, else <workspace>/target/criterion)
  --out FILE           the markdown report to write
  --plots DIR          where the SVG plots go
  --notes FILE         hand-written notes appended to the report
                       (default: benches/report-notes.md if it exists)
  --targets FILE       the targets to check (default: benches/targets.toml)
  --skip-extra         do not run the report's own measurements (about 60 s)
  --extra LIST         run only these of them, comma-separated: gp (grace periods
                       per round), flood (the busy-server call_rcu flood and
                       retire-to-free latency, one child process per contender),
                       qdev (qdev-demo latency), maps (hash-map bytes per
                       entry); default all
  --flood-secs S       how long each contender floods (default 10)
  --scaling-only       only the thread-scaling groups, no targets, notes or extra
                       measurements: a larger machine's section (benches/scaling-sweep.sh)
";

#[derive(Debug)]
struct Options {
    criterion_dir: PathBuf,
    out: PathBuf,
    plots: PathBuf,
    notes: Option<PathBuf>,
    targets: PathBuf,
    extra: bool,
    which: Selection,
    scaling_only: bool,
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
        targets: root.join("benches").join("targets.toml"),
        extra: true,
        which: Selection::default(),
        scaling_only: false,
    };
    let mut only: Option<String> = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--criterion-dir" => options.criterion_dir = value("--criterion-dir")?.into(),
            "--out" => options.out = value("--out")?.into(),
            "--plots" => options.plots = value("--plots")?.into(),
            "--notes" => options.notes = Some(value("--notes")?.into()),
            "--targets" => options.targets = value("--targets")?.into(),
            "--skip-extra" => options.extra = false,
            "--extra" => only = Some(value("--extra")?),
            "--flood-secs" => {
                let v = value("--flood-secs")?;
                options.which.flood_secs = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--flood-secs: {v:?} is not a positive number"))?;
            }
            "--scaling-only" => options.scaling_only = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(list) = only {
        options.which = Selection::parse(&list, options.which.flood_secs)?;
    }
    if options.scaling_only {
        options.extra = false;
        options.notes = None;
    }
    Ok(options)
}

/// Counts live bytes for the hash maps' bytes per entry (`benches::footprint`).
#[global_allocator]
static ALLOC: benches::footprint::Counting = benches::footprint::Counting;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "--flood-child") {
        let rest: Vec<String> = args.skip(1).collect();
        return match extra::flood_child(&rest) {
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
    let targets = if options.scaling_only {
        None
    } else {
        Some(TargetsFile::load(&options.targets)?)
    };
    let notes = match &options.notes {
        Some(path) => {
            Some(fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let extra = if options.extra {
        eprintln!("report: measuring {}...", options.which.describe());
        Extra::measure(&options.which)
    } else {
        Extra::default()
    };
    fs::create_dir_all(&options.plots).map_err(|e| format!("{}: {e}", options.plots.display()))?;
    let plots_rel = relative_dir(&options.out, &options.plots);

    let mut md = String::new();
    let specs: Vec<Spec<'_>> = Spec::all(&results)
        .into_iter()
        .filter(|s| !options.scaling_only || s.scaling.is_some())
        .collect();
    if options.scaling_only {
        document::scaling_heading(&mut md, &machine);
    } else {
        document::heading(&mut md);
    }
    document::machine(&mut md, &machine, &results);
    if let Some(targets) = &targets {
        document::targets(&mut md, &targets.evaluate(&results, &extra, options.extra));
    }
    document::sweep_check(&mut md, &results, &specs, machine.cores);
    let _ = writeln!(md, "## Results\n");
    for spec in &specs {
        let Some(table) = groups::markdown(&results, spec, machine.cores) else {
            continue;
        };
        md.push_str(&table);
        let svg = match spec.scaling {
            Some(_) => plots::line_chart(&results, spec, machine.cores)?,
            None => plots::bar_chart(&results, spec)?,
        };
        if let Some(svg) = svg {
            let file = format!("{}.svg", spec.group);
            let path = options.plots.join(&file);
            fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            let _ = writeln!(md, "![{}]({plots_rel}{file})\n", spec.title);
        }
    }
    if options.extra {
        document::extra(&mut md, &extra);
    }
    if !options.scaling_only {
        document::larger_machines(&mut md, &options.plots, &plots_rel, &machine);
    }
    document::method(&mut md, &machine);
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

    fn options(dir: &Path, extra: &[&str]) -> Options {
        let mut args = vec![
            "--criterion-dir".to_owned(),
            dir.join("criterion").display().to_string(),
            "--out".to_owned(),
            dir.join("BENCHMARKS.md").display().to_string(),
            "--plots".to_owned(),
            dir.join("benchmarks").display().to_string(),
            "--notes".to_owned(),
            dir.join("notes.md").display().to_string(),
            "--skip-extra".to_owned(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        parse_args(args.into_iter()).unwrap()
    }

    #[test]
    fn a_fake_criterion_tree_becomes_a_report_with_plots_and_targets() {
        let dir = criterion::tests::temp_dir("run");
        let tree = dir.join("criterion");
        for (function, param, ns) in [
            ("rcu-core", "1", 1.0),
            ("rcu-core", "2", 1.0),
            ("rcu-core", "4", 2.0),
            ("crossbeam-epoch", "1", 7.0),
            ("crossbeam-epoch", "2", 9.0),
        ] {
            criterion::tests::write_fake(&tree, "read_side", function, param, ns);
        }
        criterion::tests::write_fake(
            &tree,
            "rcu_barrier",
            "rcu-core call_rcu1 (intrusive)",
            "16 queued",
            48e3,
        );
        criterion::tests::write_fake(&tree, "hash_map_lookup", "rcu-queue RcuHashMap", "2", 20.0);
        fs::write(dir.join("notes.md"), "Hand-written.\n").unwrap();
        fs::create_dir_all(dir.join("benchmarks/scaling")).unwrap();
        fs::write(
            dir.join("benchmarks/scaling/big-64cores-2027-01-01.md"),
            "# x\n",
        )
        .unwrap();

        run(&options(&dir, &[])).unwrap();
        let md = fs::read_to_string(dir.join("BENCHMARKS.md")).unwrap();
        assert!(md.contains("| Read lock+unlock costs at most 1.2 ns (1 thread) | 1.00 ns (0.83× the bound of 1.20 ns) | **met** |"), "{md}");
        assert!(md.contains("| Read lock+unlock at least 2.5× faster than crossbeam-epoch's pin (1 thread) | 7.00× better (1.00 ns vs 7.00 ns) | **met** |"));
        assert!(md.contains("liburcu not in this run"));
        assert!(md.contains("![1. Read-side enter/exit](benchmarks/read_side.svg)"));
        assert!(
            md.contains("### hash_map_lookup"),
            "unknown groups still show"
        );
        assert!(
            md.contains("[big-64cores-2027-01-01](benchmarks/scaling/big-64cores-2027-01-01.md)")
        );
        assert!(md.ends_with("Hand-written.\n"));
        let line = fs::read_to_string(dir.join("benchmarks/read_side.svg")).unwrap();
        assert!(line.contains("measured threads, linear scale"));
        let bars = fs::read_to_string(dir.join("benchmarks/rcu_barrier.svg")).unwrap();
        assert!(bars.contains("time per call (µs), linear scale"));
        assert!(dir.join("benchmarks/hash_map_lookup.svg").is_file());

        let scaling_dir = dir.join("scaling");
        let mut scaling = options(&dir, &["--scaling-only"]);
        scaling.out = scaling_dir.join("host-2cores.md");
        scaling.plots = scaling_dir.join("host-2cores");
        run(&scaling).unwrap();
        let section = fs::read_to_string(&scaling.out).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert!(section.starts_with("# Scaling sweep: "));
        assert!(section.contains("![1. Read-side enter/exit](host-2cores/read_side.svg)"));
        assert!(!section.contains("rcu_barrier"), "only the scaling groups");
        assert!(!section.contains("## Targets"));
        assert!(!section.contains("Hand-written"));
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
        let o = parse_args(
            ["--extra", "flood", "--flood-secs", "0.5"]
                .map(String::from)
                .into_iter(),
        )
        .unwrap();
        assert!(o.which.flood && !o.which.qdev && !o.which.grace_periods);
        assert_eq!(o.which.flood_secs, 0.5);
        assert!(parse_args(["--flood-secs", "-1"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--out"].map(String::from).into_iter()).is_err());
    }
}
