//! The crate's modules import each other in one direction only (QEMU's layering: the qdev core
//! knows nothing of SCSI, the BQL knows nothing of devices). This test reads every `src/**/*.rs`
//! file, collects the `crate::` paths its non-test code names (in `use` lines and inline), maps
//! each to the file that defines that module, and fails on any cycle in that graph, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name (path below `src/` without `.rs`, `mod` for a directory's `mod.rs`) -> file text.
fn sources() -> BTreeMap<String, String> {
    fn visit(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path: PathBuf = entry.expect("directory entry").path();
            if path.is_dir() {
                visit(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .expect("below src/")
                    .with_extension("");
                let name = rel.to_string_lossy().replace('\\', "/");
                let name = name.strip_suffix("/mod").unwrap_or(&name).to_owned();
                out.insert(name, std::fs::read_to_string(&path).expect("read source"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    visit(&root, &root, &mut out);
    out
}

/// The code of a file without its comments and without its `#[cfg(test)]` module (tests may
/// use anything).
fn non_test_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules of `modules` that `code` names through `crate::` paths (`crate::a::b::Item`
/// resolves to the longest module prefix, `a/b` if it exists, else `a`).
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let segments: Vec<&str> = rest[..end].split("::").filter(|s| !s.is_empty()).collect();
        let mut found = None;
        for n in 1..=segments.len() {
            let candidate = segments[..n].join("/");
            if modules.contains(&candidate) {
                found = Some(candidate);
            }
        }
        if let Some(m) = found {
            out.insert(m);
        }
    }
    out
}

/// The module graph, without self-edges (`crate::scsi` from inside `scsi/` is fine).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = sources();
    let modules: BTreeSet<String> = src.keys().cloned().collect();
    src.iter()
        .map(|(m, text)| {
            let mut deps = imports(&non_test_code(text), &modules);
            deps.remove(m);
            // A parent module declaring its children (`pub mod x;`) is not an import.
            deps.retain(|d| !d.starts_with(&format!("{m}/")) || m == "lib");
            (m.clone(), deps)
        })
        .collect()
}

/// A cycle in `graph`, as the list of modules around it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn dfs(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| s == next).expect("on the stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = dfs(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = dfs(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "found the crate's modules: {:?}", g.keys());
    assert!(g["machine"].contains("bql"), "found imports: {g:?}");
    if let Some(cycle) = find_cycle(&g) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

/// QEMU's layering: the generic qdev core and the BQL name no SCSI module, and the BQL depends on
/// no other module of the crate.
#[test]
fn layers() {
    let g = graph();
    for core in [
        "bql",
        "bus",
        "qdev",
        "walk",
        "context",
        "error",
        "sync_mode",
    ] {
        let scsi: Vec<_> = g[core].iter().filter(|d| d.starts_with("scsi")).collect();
        assert!(scsi.is_empty(), "{core} imports {scsi:?}");
    }
    assert!(g["bql"].is_empty(), "bql imports {:?}", g["bql"]);
}

/// Negative control: the cycle finder finds a cycle it is given, and the parser sees imports.
#[test]
fn the_checker_catches_a_cycle() {
    let modules: BTreeSet<String> = ["a", "b", "b/c"].map(String::from).into();
    let code = "use crate::b::c::Thing;\nfn f() { crate::a::g(); }";
    assert_eq!(
        imports(code, &modules),
        ["a", "b/c"].map(String::from).into()
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b/c".to_owned()]));
    g.insert("b/c".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    let cycle = find_cycle(&g).expect("a -> b/c -> b -> a");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
    g.get_mut("b").expect("b").clear();
    assert_eq!(find_cycle(&g), None);
}
