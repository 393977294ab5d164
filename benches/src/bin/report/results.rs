//! Loads criterion's saved estimates (`<criterion dir>/**/new/{benchmark,estimates}.json`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::json::Json;

/// One benchmark's result.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub group: String,
    pub function: String,
    pub param: String,
    /// Median of the per-sample means: nanoseconds per criterion iteration.
    pub ns: f64,
    /// Criterion `Throughput::Elements` per iteration, if declared.
    pub elements: Option<f64>,
}

impl Measurement {
    /// Elements per second (aggregate across threads), if a throughput was declared.
    pub fn rate(&self) -> f64 {
        self.elements.unwrap_or(1.0) * 1e9 / self.ns
    }
}

/// Every measurement found under a criterion directory.
#[derive(Debug, Default)]
pub struct Results {
    pub all: Vec<Measurement>,
}

impl Results {
    /// Walks `dir` for `new/benchmark.json` files.
    pub fn load(dir: &Path) -> Result<Results, String> {
        let mut found = Vec::new();
        collect(dir, &mut found).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let mut all = Vec::new();
        for new_dir in found {
            match read_one(&new_dir) {
                Ok(Some(m)) => all.push(m),
                Ok(None) => {}
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
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file()
            {
                out.push(path);
            } else {
                collect(&path, out)?;
            }
        }
    }
    Ok(())
}

fn read_one(new_dir: &Path) -> Result<Option<Measurement>, String> {
    let read = |name: &str| -> Result<Json, String> {
        let text = fs::read_to_string(new_dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        Json::parse(&text).map_err(|e| format!("{name}: {e}"))
    };
    let bench = read("benchmark.json")?;
    let estimates = read("estimates.json")?;
    let text = |key: &str| bench.get(key).and_then(Json::as_str).map(str::to_owned);
    let Some(group) = text("group_id") else {
        return Ok(None);
    };
    let ns = estimates
        .get("median")
        .and_then(|m| m.get("point_estimate"))
        .and_then(Json::as_f64)
        .ok_or("estimates.json has no median")?;
    let elements = bench
        .get("throughput")
        .and_then(|t| t.get("Elements"))
        .and_then(Json::as_f64);
    Ok(Some(Measurement {
        group,
        function: text("function_id").unwrap_or_default(),
        param: text("value_str").unwrap_or_default(),
        ns,
        elements,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_fake_criterion_tree() {
        let root = std::env::temp_dir().join(format!("benches-report-test-{}", std::process::id()));
        let new_dir = root
            .join("read_side")
            .join("rcu-core")
            .join("2")
            .join("new");
        fs::create_dir_all(&new_dir).unwrap();
        fs::write(
            new_dir.join("benchmark.json"),
            r#"{"group_id":"read_side","function_id":"rcu-core","value_str":"2","throughput":{"Elements":2}}"#,
        )
        .unwrap();
        fs::write(
            new_dir.join("estimates.json"),
            r#"{"median":{"point_estimate":4.0},"slope":null}"#,
        )
        .unwrap();
        let results = Results::load(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        let m = results.get("read_side", "rcu-core", "2").unwrap();
        assert_eq!(m.ns, 4.0);
        assert_eq!(m.rate(), 5.0e8);
        assert_eq!(results.group("read_side").count(), 1);
    }
}
