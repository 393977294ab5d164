//! The speed targets, read at run time from a TOML file (`benches/targets.toml`) and
//! checked against this run. Each target says in words what a user is promised, names the
//! measurement it is about (a criterion benchmark or one of the report's own measurements,
//! see [`crate::extra::Extra::metric`]) and one bound:
//!
//! * `at_most` / `at_least`: the measurement itself (ns for times, per second for rates,
//!   the report measurement's own unit otherwise);
//! * `better_by_at_least` / `worse_by_at_most`, with `theirs`: how many times better (faster,
//!   smaller) ours is than theirs, measured in the same run.

use std::path::Path;

use serde::Deserialize;

use crate::criterion::Results;
use crate::extra::{Extra, Unit};
use crate::groups::Spec;
use crate::units::{format_rate, format_time};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    #[serde(rename = "target")]
    pub targets: Vec<TargetSpec>,
}

/// One `[[target]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The promise in a user's words.
    pub says: String,
    pub ours: Source,
    pub theirs: Option<Source>,
    pub at_most: Option<f64>,
    pub at_least: Option<f64>,
    pub better_by_at_least: Option<f64>,
    pub worse_by_at_most: Option<f64>,
}

/// Where a number comes from.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged, deny_unknown_fields)]
pub enum Source {
    /// A criterion benchmark: group, contender (function id) and parameter.
    Bench {
        group: String,
        contender: String,
        param: String,
    },
    /// One of the report's own measurements, by key.
    Extra { extra: String },
}

/// Whether a target was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    NotMeasured,
}

impl Status {
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
pub struct Outcome {
    pub says: String,
    pub measured: String,
    pub status: Status,
}

/// A measured number: its value, whether larger is better, and its text.
#[derive(Clone, Debug)]
struct Value {
    value: f64,
    higher_is_better: bool,
    text: String,
}

impl TargetsFile {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<TargetsFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks the text of a targets file.
    pub fn parse(text: &str) -> Result<TargetsFile, String> {
        let file: TargetsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for t in &file.targets {
            let bounds = [
                t.at_most,
                t.at_least,
                t.better_by_at_least,
                t.worse_by_at_most,
            ]
            .iter()
            .filter(|b| b.is_some())
            .count();
            if bounds != 1 {
                return Err(format!(
                    "target {:?}: give exactly one of at_most, at_least, better_by_at_least, worse_by_at_most",
                    t.says
                ));
            }
            let relative = t.better_by_at_least.is_some() || t.worse_by_at_most.is_some();
            if relative != t.theirs.is_some() {
                return Err(format!(
                    "target {:?}: better_by_at_least / worse_by_at_most need `theirs`, at_most / at_least must not have it",
                    t.says
                ));
            }
            for source in std::iter::once(&t.ours).chain(&t.theirs) {
                if let Source::Extra { extra } = source {
                    if Extra::unit_of(extra).is_none() {
                        return Err(format!(
                            "target {:?}: unknown report measurement {extra:?} (see Extra::metric)",
                            t.says
                        ));
                    }
                }
            }
        }
        Ok(file)
    }

    /// Checks every target against this run.
    pub fn evaluate(&self, results: &Results, extra: &Extra, extra_ran: bool) -> Vec<Outcome> {
        self.targets
            .iter()
            .map(|t| t.evaluate(results, extra, extra_ran))
            .collect()
    }
}

fn lookup(source: &Source, results: &Results, extra: &Extra) -> Option<Value> {
    match source {
        Source::Bench {
            group,
            contender,
            param,
        } => {
            let m = results.get(group, contender, param)?;
            let metric = Spec::of(results, group).metric;
            let (value, text) = metric.value(m);
            Some(Value {
                value,
                higher_is_better: metric.higher_is_better(),
                text,
            })
        }
        Source::Extra { extra: key } => {
            let (value, unit) = extra.metric(key)?;
            Some(Value {
                value,
                higher_is_better: unit.higher_is_better(),
                text: unit.format(value),
            })
        }
    }
}

/// Why `source` has no number in this run.
fn why_missing(source: &Source, extra_ran: bool) -> String {
    match source {
        Source::Bench {
            group, contender, ..
        } if contender.starts_with("liburcu") => {
            format!("{group}: liburcu not in this run (`--features liburcu`)")
        }
        Source::Bench { group, .. } => format!("{group} not in this run"),
        Source::Extra { .. } if !extra_ran => "report run with --skip-extra".to_owned(),
        Source::Extra { extra } if extra.contains("liburcu") => {
            "liburcu not in this run (`--features liburcu`)".to_owned()
        }
        Source::Extra { extra } => format!("{extra} not measured"),
    }
}

impl TargetSpec {
    fn evaluate(&self, results: &Results, extra: &Extra, extra_ran: bool) -> Outcome {
        let outcome = |measured: String, status: Status| Outcome {
            says: self.says.clone(),
            measured,
            status,
        };
        let Some(ours) = lookup(&self.ours, results, extra) else {
            return outcome(why_missing(&self.ours, extra_ran), Status::NotMeasured);
        };
        let met = |ok: bool| if ok { Status::Met } else { Status::NotMet };
        match &self.theirs {
            None => {
                let (bound, ok) = match (self.at_most, self.at_least) {
                    (Some(b), _) => (b, ours.value <= b),
                    (_, Some(b)) => (b, ours.value >= b),
                    _ => unreachable!("checked by TargetsFile::parse"),
                };
                let bound_text = match lookup_unit(&self.ours, results) {
                    Some(Unit::Nanos) => format_time(bound),
                    Some(Unit::PerSec) => format_rate(bound),
                    Some(unit) => unit.format(bound),
                    None => format!("{bound}"),
                };
                outcome(
                    format!(
                        "{} ({:.2}× the bound of {bound_text})",
                        ours.text,
                        ours.value / bound
                    ),
                    met(ok),
                )
            }
            Some(theirs_source) => {
                let Some(theirs) = lookup(theirs_source, results, extra) else {
                    return outcome(why_missing(theirs_source, extra_ran), Status::NotMeasured);
                };
                // How many times better ours is: faster, smaller, or a higher rate.
                let better = if ours.higher_is_better {
                    ours.value / theirs.value
                } else {
                    theirs.value / ours.value
                };
                let (measured, ok) = match (self.better_by_at_least, self.worse_by_at_most) {
                    // Below parity the ratio reads as how many times worse, never "0.45× better".
                    (Some(k), _) if better >= 1.0 => (format!("{better:.2}× better"), better >= k),
                    (Some(k), _) => (format!("{:.2}× worse", 1.0 / better), better >= k),
                    (_, Some(k)) => (
                        format!("costs {:.2}× theirs", 1.0 / better),
                        1.0 / better <= k,
                    ),
                    _ => unreachable!("checked by TargetsFile::parse"),
                };
                outcome(
                    format!("{measured} ({} vs {})", ours.text, theirs.text),
                    met(ok),
                )
            }
        }
    }
}

/// The unit of a source's number (for printing a bound in it).
fn lookup_unit(source: &Source, results: &Results) -> Option<Unit> {
    match source {
        Source::Bench { group, .. } => {
            Some(if Spec::of(results, group).metric.higher_is_better() {
                Unit::PerSec
            } else {
                Unit::Nanos
            })
        }
        Source::Extra { extra } => Extra::unit_of(extra),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::tests::fake as m;

    fn results() -> Results {
        Results {
            all: vec![
                m("read_side", "rcu-core", "1", 1.0),
                m("read_side", "crossbeam-epoch", "1", 7.0),
                m("list_traversal", "rcu-queue RcuTailq", "2", 50.0),
                m("list_traversal", "std RwLock<Vec>", "2", 100.0),
            ],
        }
    }

    const FILE: &str = r#"
        [[target]]
        says = "read lock+unlock costs at most 1.2 ns"
        ours = { group = "read_side", contender = "rcu-core", param = "1" }
        at_most = 1.2

        [[target]]
        says = "read lock+unlock at least 2.5x faster than crossbeam-epoch pin"
        ours = { group = "read_side", contender = "rcu-core", param = "1" }
        theirs = { group = "read_side", contender = "crossbeam-epoch", param = "1" }
        better_by_at_least = 2.5

        [[target]]
        says = "read lock+unlock at or below liburcu memb"
        ours = { group = "read_side", contender = "rcu-core", param = "1" }
        theirs = { group = "read_side", contender = "liburcu memb", param = "1" }
        worse_by_at_most = 1.0

        [[target]]
        says = "list traversal with 2 readers at least 5x a RwLock<Vec>"
        ours = { group = "list_traversal", contender = "rcu-queue RcuTailq", param = "2" }
        theirs = { group = "list_traversal", contender = "std RwLock<Vec>", param = "2" }
        better_by_at_least = 5.0

        [[target]]
        says = "at most 2 grace periods per round"
        ours = { extra = "grace_periods_per_round/busy_reader" }
        at_most = 2.0
    "#;

    #[test]
    fn targets_evaluate_met_not_met_and_not_measured() {
        let file = TargetsFile::parse(FILE).unwrap();
        let out = file.evaluate(&results(), &Extra::default(), false);
        let status: Vec<Status> = out.iter().map(|o| o.status).collect();
        assert_eq!(
            status,
            [
                Status::Met,
                Status::Met,
                Status::NotMeasured,
                Status::NotMet,
                Status::NotMeasured
            ]
        );
        assert_eq!(out[0].measured, "1.00 ns (0.83× the bound of 1.20 ns)");
        assert_eq!(out[1].measured, "7.00× better (1.00 ns vs 7.00 ns)");
        assert!(out[2].measured.contains("--features liburcu"));
        assert_eq!(out[3].measured, "2.00× better (40.00 M/s vs 20.00 M/s)");
        let same = TargetsFile::parse(&FILE.replace("liburcu memb", "crossbeam-epoch")).unwrap();
        let out = same.evaluate(&results(), &Extra::default(), false);
        assert_eq!(out[2].measured, "costs 0.14× theirs (1.00 ns vs 7.00 ns)");
        assert_eq!(out[2].status, Status::Met);
        assert_eq!(out[4].measured, "report run with --skip-extra");
        // Below parity, "better by at least" reads as how many times worse.
        let swapped = FILE
            .replace("rcu-queue RcuTailq", "SWAP")
            .replace("std RwLock<Vec>", "rcu-queue RcuTailq")
            .replace("SWAP", "std RwLock<Vec>");
        let out =
            TargetsFile::parse(&swapped)
                .unwrap()
                .evaluate(&results(), &Extra::default(), false);
        assert_eq!(out[3].measured, "2.00× worse (20.00 M/s vs 40.00 M/s)");
        assert_eq!(out[3].status, Status::NotMet);
    }

    #[test]
    fn a_target_needs_exactly_one_fitting_bound_and_known_names() {
        let gp = r#"ours = { extra = "grace_periods_per_round/busy_reader" }"#;
        for (body, error) in [
            (
                format!("{gp}\nat_most = 1.0\nat_least = 0.5"),
                "exactly one",
            ),
            (format!("{gp}\nbetter_by_at_least = 1.0"), "theirs"),
            (
                "ours = { extra = \"no_such_measurement\" }\nat_most = 1.0".to_owned(),
                "unknown report measurement",
            ),
            (format!("{gp}\nat_mots = 1.0"), "unknown field"),
        ] {
            let text = format!("[[target]]\nsays = \"x\"\n{body}\n");
            let e = TargetsFile::parse(&text).unwrap_err();
            assert!(e.contains(error), "{text}: {e}");
        }
    }

    #[test]
    fn the_shipped_targets_file_parses_and_names_described_groups() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets.toml");
        let file = TargetsFile::load(&path).unwrap();
        assert!(file.targets.len() >= 10);
        for t in &file.targets {
            assert!(!t.says.contains('#'), "{:?} cites an issue number", t.says);
            for source in std::iter::once(&t.ours).chain(&t.theirs) {
                if let Source::Bench { group, .. } = source {
                    assert!(
                        crate::groups::SPECS.iter().any(|s| s.group == group),
                        "{:?}: unknown group {group}",
                        t.says
                    );
                }
            }
        }
    }
}
