//! Loads criterion's saved results: every `<criterion dir>/**/new/benchmark.json` (which
//! benchmark: group, function, parameter, throughput) with its `estimates.json` (the
//! statistics), both read with serde_json.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `new/benchmark.json`: the fields the report uses.
#[derive(Debug, Deserialize)]
struct BenchmarkFile {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<ThroughputFile>,
}

/// Criterion's `Throughput` enum, externally tagged (`{"Elements": 2}`); only element
/// counts are used by this suite, other kinds read as "no throughput".
#[derive(Debug, Deserialize)]
struct ThroughputFile {
    #[serde(rename = "Elements")]
    elements: Option<f64>,
}

/// `new/estimates.json`: the median of the per-iteration times.
#[derive(Debug, Deserialize)]
struct EstimatesFile {
    median: Estimate,
}

#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// One benchmark's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub group: String,
    /// The contender (criterion's function id).
    pub function: String,
    /// Criterion's parameter (thread count, reader mode).
    pub param: String,
    /// Median time per criterion iteration, in nanoseconds.
    pub ns: f64,
    /// Criterion `Throughput::Elements` per iteration, if declared.
    pub elements: Option<f64>,
}

impl Measurement {
    /// Elements per second (aggregate across threads; one per iteration if undeclared).
    pub fn rate(&self) -> f64 {
        self.elements.unwrap_or(1.0) * 1e9 / self.ns
    }
}

/// Every measurement found under a criterion directory, sorted by group, function, parameter.
#[derive(Debug, Default)]
pub struct Results {
    pub all: Vec<Measurement>,
}

impl Results {
    /// Walks `dir` for `new/benchmark.json` files; unreadable ones are reported and skipped.
    pub fn load(dir: &Path) -> Result<Results, String> {
        let mut found = Vec::new();
        collect(dir, &mut found).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let mut all = Vec::new();
        for new_dir in found {
            match read_one(&new_dir) {
                Ok(m) => all.push(m),
                Err(e) => eprintln!("report: skipping {}: {e}", new_dir.display()),
            }
        }
        all.sort_by(|a, b| {
            (&a.group, &a.function, &a.param).cmp(&(&b.group, &b.function, &b.param))
        });
        Ok(Results { all })
    }

    /// The measurement of `function` with parameter `param` in `group`.
    pub fn get(&self, group: &str, function: &str, param: &str) -> Option<&Measurement> {
        self.all
            .iter()
            .find(|m| m.group == group && m.function == function && m.param == param)
    }

    /// All measurements of `group`.
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Measurement> + 'a {
        self.all.iter().filter(move |m| m.group == group)
    }

    /// Every group name, sorted, once each.
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = self.all.iter().map(|m| m.group.as_str()).collect();
        groups.dedup();
        groups
    }

    /// Whether any contender's name starts with `prefix`.
    pub fn has_contender(&self, prefix: &str) -> bool {
        self.all.iter().any(|m| m.function.starts_with(prefix))
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file() {
            out.push(path);
        } else {
            collect(&path, out)?;
        }
    }
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_one(new_dir: &Path) -> Result<Measurement, String> {
    let bench: BenchmarkFile = read_json(&new_dir.join("benchmark.json"))?;
    let estimates: EstimatesFile = read_json(&new_dir.join("estimates.json"))?;
    Ok(Measurement {
        group: bench.group_id,
        function: bench.function_id.unwrap_or_default(),
        param: bench.value_str.unwrap_or_default(),
        ns: estimates.median.point_estimate,
        elements: bench.throughput.and_then(|t| t.elements),
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Writes one benchmark the way criterion 0.8 lays it out (with the fields the report
    /// ignores, so that serde must skip them).
    pub fn write_fake(root: &Path, group: &str, function: &str, param: &str, ns: f64) {
        let new_dir = root.join(group).join(function).join(param).join("new");
        fs::create_dir_all(&new_dir).unwrap();
        let elements = param.parse::<u64>().ok();
        let bench = serde_json::json!({
            "group_id": group,
            "function_id": function,
            "value_str": param,
            "throughput": elements.map(|e| serde_json::json!({ "Elements": e })),
            "full_id": format!("{group}/{function}/{param}"),
            "directory_name": format!("{group}/{function}/{param}"),
            "title": format!("{group}/{function}/{param}"),
        });
        let estimate = |v: f64| {
            serde_json::json!({
                "confidence_interval": {
                    "confidence_level": 0.95, "lower_bound": v * 0.9, "upper_bound": v * 1.1
                },
                "point_estimate": v,
                "standard_error": v * 0.01,
            })
        };
        let estimates = serde_json::json!({
            "mean": estimate(ns * 1.01),
            "median": estimate(ns),
            "median_abs_dev": estimate(ns * 0.02),
            "slope": null,
            "std_dev": estimate(ns * 0.03),
        });
        fs::write(new_dir.join("benchmark.json"), bench.to_string()).unwrap();
        fs::write(new_dir.join("estimates.json"), estimates.to_string()).unwrap();
    }

    /// A measurement as criterion would report it (a numeric parameter is the throughput).
    pub fn fake(group: &str, function: &str, param: &str, ns: f64) -> Measurement {
        Measurement {
            group: group.into(),
            function: function.into(),
            param: param.into(),
            ns,
            elements: param.parse().ok(),
        }
    }

    /// A fresh, empty directory under the system temp dir.
    pub fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "benches-report-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn loads_a_fake_criterion_tree() {
        let root = temp_dir("load");
        write_fake(&root, "read_side", "rcu-core", "2", 4.0);
        write_fake(&root, "read_side", "std Mutex", "1", 12.0);
        write_fake(
            &root,
            "polling",
            "rcu-core",
            "poll_state_synchronize_rcu()",
            3.0,
        );
        // criterion's `base/` copy and its HTML report are not results.
        fs::create_dir_all(root.join("read_side").join("report")).unwrap();
        let broken = root.join("broken").join("x").join("new");
        fs::create_dir_all(&broken).unwrap();
        fs::write(broken.join("benchmark.json"), "{not json").unwrap();
        let results = Results::load(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();

        assert_eq!(results.all.len(), 3, "the broken benchmark is skipped");
        let m = results.get("read_side", "rcu-core", "2").unwrap();
        assert_eq!(m.ns, 4.0);
        assert_eq!(m.rate(), 5.0e8);
        let poll = results
            .get("polling", "rcu-core", "poll_state_synchronize_rcu()")
            .unwrap();
        assert_eq!(poll.elements, None);
        assert_eq!(results.groups(), ["polling", "read_side"]);
        assert_eq!(results.group("read_side").count(), 2);
        assert!(results.has_contender("std"));
        assert!(!results.has_contender("liburcu"));
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        assert!(Results::load(Path::new("/nonexistent/criterion")).is_err());
    }
}
