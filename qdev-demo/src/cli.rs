//! Command-line parsing for the `qdev-demo` binary: never panics, every error is a message for
//! exit code 2.

use std::time::Duration;

use crate::config::ScenarioConfig;

/// What the binary should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the stress scenario.
    Run {
        /// Scenario parameters.
        config: ScenarioConfig,
        /// Print the summary as one JSON object instead of text.
        json: bool,
    },
    /// The interactive monitor.
    Monitor {
        /// Realize cost of hot-plugged disks.
        realize_cost: Duration,
    },
    /// Print the usage text.
    Help,
}

/// A command-line error (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// The usage text.
pub const USAGE: &str = "\
qdev-demo: QEMU's bus children as an RCU list (commit 2d24a6466154), under hot-plug and I/O load

USAGE:
    qdev-demo [OPTIONS]          run the stress scenario and print a summary
    qdev-demo monitor [--realize-cost DUR]
                                 interactive monitor on stdin (device_add, device_del,
                                 drive_add, info qtree, info stats, help, quit)

OPTIONS:
    --duration DUR           how long to run (default 5s; at most 1h)
    --iothreads N            I/O threads issuing requests (default 2; 1-64)
    --disks N                disk slots on the controller, 4 per target; LUNs 0 and 1 stay
                             plugged, LUNs 2 and 300 are hot-plugged (default 8; 1-256)
    --hotplug-interval DUR   main-loop poll timeout between hot-plug operations, spent with
                             the BQL released (default 0: continuous hot-plug, the next
                             command is already queued; e.g. 1ms paces the operations)
    --no-hotplug             never hot-plug (the baseline for lookup latency)
    --realize-cost DUR       time a disk's realize spends busy under the BQL (default 200us)
    --sync MODE              how readers synchronize: rcu (default), bql or rwlock
    --json                   print the summary as one JSON object
    -h, --help               print this text

DUR is a number with an optional unit: ns, us, ms, s (bare numbers are seconds), e.g. 1.5s, 200us.
Exit status: 0 on success, 1 if a safety check fired, 2 on bad arguments.
";

/// Parses a duration such as `5`, `1.5s`, `200us`, `10ms`, `500ns`.
///
/// ```
/// use qdev_demo::cli::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("200us"), Ok(Duration::from_micros(200)));
/// assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("-1").is_err());
/// assert!(parse_duration("fast").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("'{text}' is negative; durations must be >= 0"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        _ => {
            return Err(format!(
                "'{text}' has an unknown unit (use ns, us, ms or s)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 5, 1.5s, 200us)"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("'{text}' is too large"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_count(flag: &str, text: &str, min: usize, max: usize) -> Result<usize, CliError> {
    let n: i128 = text
        .trim()
        .parse()
        .map_err(|_| CliError(format!("{flag}: '{text}' is not a whole number")))?;
    if n < min as i128 || n > max as i128 {
        return Err(CliError(format!(
            "{flag}: {n} is out of range ({min}-{max})"
        )));
    }
    Ok(n as usize)
}

fn bounded(flag: &str, text: &str, min: Duration, max: Duration) -> Result<Duration, CliError> {
    let d = parse_duration(text).map_err(|e| CliError(format!("{flag}: {e}")))?;
    if d < min || d > max {
        return Err(CliError(format!(
            "{flag}: {text} is out of range ({min:?} to {max:?})"
        )));
    }
    Ok(d)
}

/// Parses the arguments after the program name.
///
/// ```
/// use qdev_demo::cli::{Command, parse_args};
/// use qdev_demo::sync_mode::SyncMode;
/// let args = ["--sync", "bql", "--iothreads=1", "--json"].map(String::from);
/// match parse_args(args).unwrap() {
///     Command::Run { config, json } => {
///         assert_eq!((config.sync, config.iothreads, json), (SyncMode::Bql, 1, true));
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(parse_args(["--iothreads", "0"].map(String::from)).is_err());
/// ```
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut args = args.into_iter().peekable();
    let monitor = args.peek().is_some_and(|a| a == "monitor");
    if monitor {
        args.next();
    }
    let mut config = ScenarioConfig::default();
    let mut json = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--duration"
                | "--iothreads"
                | "--disks"
                | "--hotplug-interval"
                | "--realize-cost"
                | "--sync"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| CliError(format!("{flag} needs a value")))?,
            }
        } else {
            if inline.is_some() {
                return Err(CliError(format!("{flag} takes no value")));
            }
            String::new()
        };
        if monitor && !matches!(flag.as_str(), "--realize-cost" | "-h" | "--help") {
            return Err(CliError(format!(
                "'{flag}' is not an option of 'qdev-demo monitor'"
            )));
        }
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--duration" => {
                config.duration = bounded(
                    &flag,
                    &value,
                    Duration::from_millis(1),
                    Duration::from_secs(3600),
                )?;
            }
            "--iothreads" => config.iothreads = parse_count(&flag, &value, 1, 64)?,
            "--disks" => config.disks = parse_count(&flag, &value, 1, 256)?,
            "--hotplug-interval" => {
                config.hotplug_interval =
                    bounded(&flag, &value, Duration::ZERO, Duration::from_secs(10))?;
            }
            "--realize-cost" => {
                config.realize_cost =
                    bounded(&flag, &value, Duration::ZERO, Duration::from_secs(1))?;
            }
            "--sync" => {
                config.sync = value
                    .parse()
                    .map_err(|e| CliError(format!("--sync: {e}")))?
            }
            "--no-hotplug" => config.hotplug = false,
            "--json" => json = true,
            other if other.starts_with('-') => {
                return Err(CliError(format!("unknown option '{other}' (see --help)")));
            }
            other => {
                return Err(CliError(format!(
                    "unexpected argument '{other}' (see --help)"
                )));
            }
        }
    }
    if monitor {
        return Ok(Command::Monitor {
            realize_cost: config.realize_cost,
        });
    }
    Ok(Command::Run { config, json })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_mode::SyncMode;

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
        let c = run(&[]);
        assert_eq!(c, ScenarioConfig::default());
        assert_eq!(c.duration, Duration::from_secs(5));
        assert_eq!(
            (c.iothreads, c.disks, c.sync, c.hotplug),
            (2, 8, SyncMode::Rcu, true)
        );
        assert_eq!(c.realize_cost, Duration::from_micros(200));
        assert_eq!(c.hotplug_interval, Duration::ZERO, "continuous hot-plug");
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
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
        assert_eq!(parse(&["--json", "--help"]), Ok(Command::Help));
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
            &["--duration", "100000"],
            &["--duration", "5 parsecs"],
            &["--duration", "NaN"],
            &["--duration"],
            &["--realize-cost", "2s"],
            &["--hotplug-interval", "-1ms"],
            &["--sync", "spinlock"],
            &["--sync"],
            &["--json=yes"],
            &["--frobnicate"],
            &["extra"],
            &["monitor", "--iothreads", "2"],
            &["monitor", "x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(
            parse(&["--sync", "x"])
                .unwrap_err()
                .to_string()
                .contains("unknown sync mode")
        );
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
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1..2").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
