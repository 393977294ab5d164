//! Command-line parsing for the `qdev-demo` binary (clap, derive API): never panics, every error
//! is one line for exit code 2.

use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::qdev::sync_mode::SyncMode;
use crate::run::config::{ScenarioConfig, default_iothreads};
use crate::run::glossary::all_terms;

/// What the binary should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the scenario once, in `config.sync` mode (`--sync MODE`).
    Run {
        /// Scenario parameters.
        config: ScenarioConfig,
        /// Print the summary as one JSON object instead of text.
        json: bool,
    },
    /// The default: run the scenario in every mode, `repeats` times interleaved, with `config`
    /// (its `sync` is ignored) and print the tables and a verdict.
    Compare {
        /// Scenario parameters, `duration` per run.
        config: ScenarioConfig,
        /// How many times each mode runs.
        repeats: usize,
        /// Print the comparison as one JSON object instead of text.
        json: bool,
    },
    /// The interactive monitor.
    Monitor {
        /// Realize cost of hot-plugged disks.
        realize_cost: Duration,
    },
    /// Print this text on stdout and exit 0 (`--help`, `--version`).
    Print(String),
}

/// A command-line error (exit code 2): one line, without the program name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Default run time of each run in the comparison (the default run).
pub const COMPARE_DURATION: Duration = Duration::from_secs(1);

/// Longest accepted `--duration`.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

const ABOUT: &str = "\
QEMU's device bus with its children under RCU (commit 2d24a6466154): SCSI disks are hot-plugged \
while I/O threads look them up. Without --sync, runs the three ways readers can synchronize \
with hot-plug (rcu, bql, rwlock) 3 times each, interleaved, and says how many lookups waited \
for a lock in each, for how long, and how many requests each served.";

/// What `--help` prints after the options, below the terms ([`all_terms`]).
const AFTER_HELP: &str = "\
Units: DUR is a number with a unit (ns, us or µs, ms, s, m, h), e.g. 200us,
1.5s, 2h; a bare number is seconds. Latencies print in ns, µs, ms or s.

Exit status: 0 on success, 1 if a safety check fired, 2 on bad arguments,
130 when interrupted (Ctrl-C prints the summary of what ran; twice: at once).

JSON (--json): one object with \"schema_version\" (see the crate README).";

/// `qdev-demo`'s command line.
#[derive(Debug, Parser)]
#[command(
    name = "qdev-demo",
    version,
    about = ABOUT,
    args_conflicts_with_subcommands = true,
    max_term_width = 80
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Interactive monitor on stdin: device_add, device_del, drive_add, info qtree, info stats,
    /// help, quit.
    Monitor {
        /// Time a disk's realize spends busy under the BQL.
        #[arg(long, value_name = "DUR", default_value = "200us", value_parser = realize_cost)]
        realize_cost: Duration,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// How readers synchronize with hot-plug: rcu (lock-free reads), bql (readers take the big
    /// lock) or rwlock (a reader-writer lock). Without it, all three run back to back and are
    /// compared.
    #[arg(long, value_name = "MODE", value_parser = sync_mode)]
    sync: Option<SyncMode>,
    /// How long to run (each run, when comparing) [default: 1s when comparing, 5s with --sync]
    #[arg(long, value_name = "DUR", value_parser = run_duration)]
    duration: Option<Duration>,
    /// How many times each mode runs when comparing, interleaved (1-99).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u16).range(1..=99))]
    repeats: u16,
    /// I/O threads issuing requests as fast as they can (1-64) [default: one per CPU but one,
    /// at least 1; more than that and the output says the run is oversubscribed]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    iothreads: Option<u16>,
    /// Disk slots, 4 per SCSI target: LUNs 0 and 1 stay plugged, LUNs 2 and 300 are hot-plugged
    /// (1-256).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    disks: u16,
    /// Hot-plug pace: one device_add or device_del every DUR, the same number in every mode (0:
    /// back to back, as many as the main loop manages; at most 10s).
    #[arg(long, value_name = "DUR", default_value = "2ms", value_parser = hotplug_interval)]
    hotplug_interval: Duration,
    /// Never hot-plug (the baseline for lookup latency).
    #[arg(long)]
    no_hotplug: bool,
    /// Time a disk's realize spends busy under the BQL, standing in for opening its backend (at
    /// most 1s).
    #[arg(long, value_name = "DUR", default_value = "200us", value_parser = realize_cost)]
    realize_cost: Duration,
    /// Print the result as one JSON object (raw numbers; schema in the README).
    #[arg(long)]
    json: bool,
}

/// Parses a duration: a number with a unit (`humantime` syntax: `200us`, `1.5s`, `2h`,
/// `1m 30s`), or a bare number of seconds (`5`, `0.5`).
///
/// ```
/// use qdev_demo::run::cli::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("200us"), Ok(Duration::from_micros(200)));
/// assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
/// assert!(parse_duration("-1").is_err());
/// assert!(parse_duration("abc").unwrap_err().contains("e.g. 5s"));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad =
        || format!("'{text}' is not a duration (e.g. 5s, 200ms, 2h; bare numbers are seconds)");
    if t.starts_with('-') {
        return Err(format!("'{text}' is negative; durations must be >= 0"));
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let secs: f64 = t.parse().map_err(|_| bad())?;
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    // humantime takes whole numbers only: scale a fraction by its unit here.
    if let Some((whole, frac_unit)) = t.split_once('.') {
        let digits = frac_unit.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
        let (frac, unit) = frac_unit.split_at(digits);
        if !whole.is_empty() && whole.chars().all(|c| c.is_ascii_digit()) && !frac.is_empty() {
            let one = humantime::parse_duration(&format!("1{unit}")).map_err(|_| bad())?;
            let value: f64 = format!("{whole}.{frac}").parse().map_err(|_| bad())?;
            return Duration::try_from_secs_f64(value * one.as_secs_f64()).map_err(|_| bad());
        }
    }
    humantime::parse_duration(&t.replace('µ', "u")).map_err(|_| bad())
}

fn bounded(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < min || d > max {
        return Err(format!(
            "{text} is out of range ({} to {})",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

fn run_duration(text: &str) -> Result<Duration, String> {
    bounded(text, Duration::from_millis(1), MAX_DURATION)
}

fn hotplug_interval(text: &str) -> Result<Duration, String> {
    bounded(text, Duration::ZERO, Duration::from_secs(10))
}

fn realize_cost(text: &str) -> Result<Duration, String> {
    bounded(text, Duration::ZERO, Duration::from_secs(1))
}

fn sync_mode(text: &str) -> Result<SyncMode, String> {
    text.parse()
}

/// Parses the arguments after the program name.
///
/// ```
/// use qdev_demo::run::cli::{Command, parse_args};
/// use qdev_demo::qdev::sync_mode::SyncMode;
/// let args = ["--sync", "bql", "--iothreads=1", "--json"].map(String::from);
/// match parse_args(args).unwrap() {
///     Command::Run { config, json } => {
///         assert_eq!((config.sync, config.iothreads, json), (SyncMode::Bql, 1, true));
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(parse_args([]), Ok(Command::Compare { .. })));
/// assert!(parse_args(["--iothreads", "0"].map(String::from)).is_err());
/// ```
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let argv = std::iter::once("qdev-demo".to_owned()).chain(args);
    let parsed = Cli::command()
        .after_help(format!("{}\n{AFTER_HELP}", all_terms()))
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(Command::Print(e.render().to_string()));
        }
        Err(e) => return Err(CliError(one_line(&e.render().to_string()))),
    };
    if let Some(Sub::Monitor { realize_cost }) = cli.command {
        return Ok(Command::Monitor { realize_cost });
    }
    let a = cli.run;
    let mut config = ScenarioConfig {
        iothreads: a.iothreads.map_or_else(default_iothreads, usize::from),
        disks: usize::from(a.disks),
        hotplug_interval: a.hotplug_interval,
        hotplug: !a.no_hotplug,
        realize_cost: a.realize_cost,
        ..ScenarioConfig::default()
    };
    match a.sync {
        Some(sync) => {
            config.sync = sync;
            config.duration = a.duration.unwrap_or(config.duration);
            Ok(Command::Run {
                config,
                json: a.json,
            })
        }
        None => {
            config.duration = a.duration.unwrap_or(COMPARE_DURATION);
            Ok(Command::Compare {
                config,
                repeats: usize::from(a.repeats),
                json: a.json,
            })
        }
    }
}

/// clap's message on one line: the first line, without its `error: ` prefix and clap's
/// colouring, e.g. `invalid value 'abc' for '--duration <DUR>': 'abc' is not a duration ...`.
fn one_line(rendered: &str) -> String {
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("bad arguments");
    first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, CliError> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    fn run(args: &[&str]) -> ScenarioConfig {
        match parse(args).unwrap() {
            Command::Run { config, .. } => config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&["--sync", "rcu"]);
        assert_eq!(c, ScenarioConfig::default());
        assert_eq!(c.duration, Duration::from_secs(5));
        assert_eq!(
            (c.iothreads, c.disks, c.sync, c.hotplug),
            (default_iothreads(), 8, SyncMode::Rcu, true)
        );
        assert_eq!(c.realize_cost, Duration::from_micros(200));
        assert_eq!(
            c.hotplug_interval,
            Duration::from_millis(2),
            "paced hot-plug"
        );
        match parse(&[]).unwrap() {
            Command::Compare {
                config,
                repeats,
                json,
            } => {
                assert_eq!((config.duration, repeats), (COMPARE_DURATION, 3));
                assert!(!json);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_flag() {
        let c = run(&[
            "--duration",
            "2s",
            "--iothreads",
            "3",
            "--disks=12",
            "--hotplug-interval",
            "1ms",
            "--realize-cost",
            "50us",
            "--sync",
            "rwlock",
            "--no-hotplug",
        ]);
        assert_eq!(c.duration, Duration::from_secs(2));
        assert_eq!(
            (c.iothreads, c.disks, c.sync, c.hotplug),
            (3, 12, SyncMode::RwLock, false)
        );
        assert_eq!(
            (c.hotplug_interval, c.realize_cost),
            (Duration::from_millis(1), Duration::from_micros(50))
        );
        assert_eq!(
            run(&["--sync", "bql", "--duration", "2h"]).duration,
            Duration::from_secs(7200)
        );
        for help in [
            &["-h"][..],
            &["--json", "--help"],
            &["--version"],
            &["monitor", "--help"],
        ] {
            assert!(matches!(parse(help), Ok(Command::Print(_))), "{help:?}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            &["--iothreads", "0"][..],
            &["--iothreads", "-1"],
            &["--iothreads", "99999999999999999999999999999999999999999"],
            &["--iothreads", "two"],
            &["--disks", "0"],
            &["--disks", "257"],
            &["--duration", "-5"],
            &["--duration", "0"],
            &["--duration", "1e400"],
            &["--duration", "9999999999"],
            &["--duration", "5 parsecs"],
            &["--duration", "abc"],
            &["--duration", "NaN"],
            &["--duration"],
            &["--realize-cost", "2s"],
            &["--hotplug-interval", "-1ms"],
            &["--repeats", "0"],
            &["--sync", "spinlock"],
            &["--sync"],
            &["--json=yes"],
            &["--frobnicate"],
            &["extra"],
            &["monitor", "--iothreads", "2"],
            &["monitor", "x"],
            &["--iothreads", "2", "monitor"],
        ] {
            let e = parse(bad).expect_err(&format!("{bad:?} should be rejected"));
            assert!(!e.0.contains('\n') && !e.0.is_empty(), "{bad:?}: {e}");
        }
        let e = parse(&["--sync", "x"]).unwrap_err().to_string();
        assert!(e.contains("unknown sync mode"), "{e}");
        let e = parse(&["--duration", "abc"]).unwrap_err().to_string();
        assert!(e.contains("'abc' is not a duration"), "{e}");
    }

    #[test]
    fn monitor_subcommand() {
        assert_eq!(
            parse(&["monitor"]),
            Ok(Command::Monitor {
                realize_cost: Duration::from_micros(200)
            })
        );
        assert_eq!(
            parse(&["monitor", "--realize-cost", "1ms"]),
            Ok(Command::Monitor {
                realize_cost: Duration::from_millis(1)
            })
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ns"), Ok(Duration::from_nanos(500)));
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("3µs"), Ok(Duration::from_micros(3)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1..2").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
