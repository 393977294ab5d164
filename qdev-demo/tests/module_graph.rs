//! The crate's modules import each other in one direction only (QEMU's layering: the qdev core
//! knows nothing of SCSI, the BQL knows nothing of devices), and its folders are layers that
//! import downward only: `util` < `block` < `qdev` < `hw` < `machine` < `run`. This test reads
//! every `src/**/*.rs` file, collects the `crate::` paths its non-test code names (in `use`
//! lines and inline), maps each to the file that defines that module, and fails on any cycle in
//! that graph, naming it, and on any import that goes up the layers.

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

/// The module graph, without self-edges (`crate::hw::scsi` from inside `scsi/` is fine).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = sources();
    let modules: BTreeSet<String> = src.keys().cloned().collect();
    src.iter()
        .map(|(m, text)| {
            let mut deps = imports(&non_test_code(text), &modules);
            deps.remove(m);
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

/// The layers, bottom first: a module may import its own layer and the ones below.
const LAYERS: [&str; 6] = ["util", "block", "qdev", "hw", "machine", "run"];

/// The layer of a module (its top folder), or `None` for the crate roots `lib` and `main` (the
/// binary), which sit above every layer.
fn layer(module: &str) -> Option<usize> {
    let top = module.split('/').next().unwrap_or(module);
    LAYERS.iter().position(|l| *l == top)
}

/// The imports of `graph` that go up the layers, as `from -> to`.
fn upward_imports(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (m, deps) in graph {
        let Some(from) = layer(m) else { continue };
        for d in deps {
            if layer(d).is_none_or(|to| to > from) {
                out.push(format!("{m} -> {d}"));
            }
        }
    }
    out
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "found the crate's modules: {:?}", g.keys());
    assert!(g["machine"].contains("qdev/bql"), "found imports: {g:?}");
    if let Some(cycle) = find_cycle(&g) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

/// Every module is in a layer folder, and no import goes up the layers.
#[test]
fn layers_import_downward_only() {
    let g = graph();
    let outside: Vec<_> = g
        .keys()
        .filter(|m| !["lib", "main"].contains(&m.as_str()) && layer(m).is_none())
        .collect();
    assert!(
        outside.is_empty(),
        "modules outside the layers {LAYERS:?}: {outside:?}"
    );
    let up = upward_imports(&g);
    assert!(
        up.is_empty(),
        "imports that go up the layers {LAYERS:?}: {up:?}"
    );
}

/// QEMU's layering inside the qdev layer: the BQL depends on no other module.
#[test]
fn the_bql_depends_on_nothing() {
    let g = graph();
    assert!(g["qdev/bql"].is_empty(), "bql imports {:?}", g["qdev/bql"]);
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
    // An import from the qdev layer up to hw is caught; downward ones are not.
    let mut g = BTreeMap::new();
    g.insert(
        "qdev/bus".to_owned(),
        BTreeSet::from(["hw/scsi/bus".to_owned()]),
    );
    g.insert(
        "hw/scsi/bus".to_owned(),
        BTreeSet::from(["util/os".to_owned()]),
    );
    assert_eq!(upward_imports(&g), ["qdev/bus -> hw/scsi/bus"]);
}
