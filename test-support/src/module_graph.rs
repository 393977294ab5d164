//! The module graph of a crate, read from its source: which module's code names which other module.
//! The workspace's `tests/module_graph.rs` files (rcu-core, rcu-queue, qdev-demo) assert with it
//! that their crate's modules import each other in one direction only (no cycle) and only downward
//! through the layers they list.
//!
//! What counts as an import: a path that starts with `crate::` (or `$crate::`), `super::` or
//! `self::` in the crate's non-test code, in `use` lines and inline (`crate::fork::init()`),
//! grouped ones (`use crate::{a::X, b::Y}`) included. Each path goes to the file module that
//! defines it: the longest prefix of the path that is a module file (`crate::a::b::Item` is
//! `a/b` if `src/a/b.rs` or `src/a/b/mod.rs` exists, else `a`); an item the crate root re-exports
//! (`crate::Item`, with `pub use a::Item;` in `lib.rs`) goes to the module it comes from. Not
//! counted: comments (doc links included), string and character literals, items under a
//! `#[cfg(test)]` (or `#[cfg(all(test, ...))]`) attribute, a parent's `mod child;` and other
//! relative paths (`pub use child::Item` in a parent is structure, not a dependency), and paths
//! inside a module's own file (an inline module's `super::` is its file's module).
//!
//! Module names are paths below `src/` without `.rs`; a folder's `mod.rs` is the folder's name
//! (`map/mod.rs` is `map`), and the crate roots are `lib` and `main`.
//!
//! ```
//! use std::collections::BTreeSet;
//! use rcu_test_support::module_graph::imports;
//!
//! let modules: BTreeSet<String> = ["lib", "a", "b", "b/c"].map(String::from).into();
//! let code = "use crate::b::c::Thing;\n// crate::a in a comment\nfn f() { crate::a::g(); }";
//! let found = imports("b", code, &modules, &Default::default());
//! assert_eq!(found, ["a", "b/c"].map(String::from).into());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A crate's module graph: each module and the modules its non-test code imports (no self-edges).
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The files below `src`: module name -> file text.
///
/// # Panics
/// If `src` cannot be read.
pub fn sources(src: &Path) -> BTreeMap<String, String> {
    fn visit(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                visit(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .expect("below src/")
                    .with_extension("");
                let name = rel.to_string_lossy().replace('\\', "/");
                let name = name.strip_suffix("/mod").unwrap_or(&name).to_owned();
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.insert(name, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(src, src, &mut out);
    out
}

/// The module graph of the crate whose manifest directory is `manifest_dir` (pass
/// `env!("CARGO_MANIFEST_DIR")`), read from its `src/`.
pub fn graph(manifest_dir: &str) -> Graph {
    graph_of(&sources(&Path::new(manifest_dir).join("src")))
}

/// The module graph of `sources` (module name -> file text, as [`sources`] returns).
pub fn graph_of(sources: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let reexports = sources
        .get("lib")
        .map(|lib| root_reexports(&non_test_code(lib)))
        .unwrap_or_default();
    sources
        .iter()
        .map(|(module, text)| {
            let mut deps = imports(module, &non_test_code(text), &modules, &reexports);
            deps.remove(module);
            (module.clone(), deps)
        })
        .collect()
}

/// `text` with its comments removed, the contents of its string and character literals removed
/// (the quotes stay), and every item under a test-only `#[cfg(...)]` attribute removed.
pub fn non_test_code(text: &str) -> String {
    drop_test_items(&strip_comments_and_literals(text))
}

/// Removes comments (line, block, doc) and the contents of string, raw string, byte string and
/// character literals; keeps every newline.
fn strip_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c[i] == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&c, i) {
            // A raw string r"..." / r#"..."# (or br"...": the `b` was copied already).
            let mut hashes = 0;
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            out.push('"');
            i = j + 1;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                if c[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push('"');
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\n' {
                    out.push('\n');
                }
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{..}'.
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            out.push_str("''");
            i += 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            out.push_str("''");
            i += 3;
        } else {
            // Code, or the quote of a lifetime.
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_before(c: &[char], i: usize) -> bool {
    i > 0 && is_ident(c[i - 1])
}

/// Whether a `cfg` predicate holds only in test builds (`test`, `all(test, ...)`).
fn requires_test(predicate: &str) -> bool {
    let p = predicate.trim();
    if p == "test" {
        return true;
    }
    let Some(args) = p.strip_prefix("all(").and_then(|a| a.strip_suffix(')')) else {
        return false;
    };
    split_top_level(args).iter().any(|a| requires_test(a))
}

/// Splits `s` at the commas outside parentheses and braces.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Removes every item (its attributes, and its body up to the `;` or the matching `}`) that a
/// test-only `#[cfg(...)]` attribute guards. `code` has no comments or literal contents.
fn drop_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(") {
        let attr = &rest[at + "#[cfg(".len()..];
        let Some(close) = matching(attr, '(', ')') else {
            break;
        };
        if !requires_test(&attr[..close]) {
            out.push_str(&rest[..at + "#[cfg(".len()]);
            rest = attr;
            continue;
        }
        out.push_str(&rest[..at]);
        // Skip to the end of the item: the first `;` outside brackets, or the `}` matching its
        // first `{` (after the attribute's own `]`).
        let item = attr[close..]
            .find(']')
            .map_or("", |bracket| &attr[close + bracket + 1..]);
        let mut depth = 0i32;
        let mut end = item.len();
        for (i, ch) in item.char_indices() {
            match ch {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' if depth == 0 => {
                    end = i + 1 + matching(&item[i + 1..], '{', '}').map_or(item.len(), |e| e + 1);
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end.min(item.len())..];
    }
    out.push_str(rest);
    out
}

/// The index in `s` of the `close` that matches an `open` just before `s`.
fn matching(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 1;
    for (i, ch) in s.char_indices() {
        if ch == open {
            depth += 1;
        } else if ch == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The items the crate root re-exports (`pub use a::b::{X, Y as Z};`): public name -> the path it
/// comes from, relative to the root.
fn root_reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (at, _) in lib.match_indices("pub use ") {
        let tree = &lib[at + "pub use ".len()..];
        let end = tree.find(';').unwrap_or(tree.len());
        for path in expand_tree(&tree[..end]) {
            let Some((last, _)) = path.split_last() else {
                continue;
            };
            let name = last.rsplit(" as ").next().unwrap_or(last).trim().to_owned();
            let mut full: Vec<String> = path.clone();
            if let Some(l) = full.last_mut() {
                *l = l.split(" as ").next().unwrap_or(l).trim().to_owned();
            }
            if full.first().is_some_and(|s| s == "crate") {
                full.remove(0);
            }
            out.insert(name, full);
        }
    }
    out
}

/// The paths of a use tree: `a::{b::X, c}` -> `[a, b, X]`, `[a, c]`.
fn expand_tree(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let segs: Vec<String> = tree
            .split("::")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        return if segs.is_empty() { vec![] } else { vec![segs] };
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let inner_end = matching(&tree[open + 1..], '{', '}').map_or(tree.len(), |e| open + 1 + e);
    let mut out = Vec::new();
    for part in split_top_level(&tree[open + 1..inner_end]) {
        for sub in expand_tree(part) {
            let mut path = prefix.clone();
            path.extend(sub.into_iter().filter(|s| s != "self"));
            out.push(path);
        }
        if part.trim() == "self" {
            out.push(prefix.clone());
        }
    }
    out
}

/// The use tree that starts at `s` (after `crate::` or `super::`): its segments and groups, up to
/// the first character that cannot continue a path.
fn tree_at(s: &str) -> &str {
    let mut depth = 0i32;
    for (i, ch) in s.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return &s[..=i];
                }
            }
            c if depth > 0 || is_ident(c) || c == ':' || c == '*' => {}
            _ => return &s[..i],
        }
    }
    s
}

/// The modules of `modules` that the code of `module` (without comments and tests:
/// [`non_test_code`]) names; `reexports` are the crate root's (an item `crate::X` that `lib.rs`
/// re-exports from module `a` is an import of `a`). May contain `module` itself.
pub fn imports(
    module: &str,
    code: &str,
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> BTreeSet<String> {
    let own: Vec<&str> = if module == "lib" || module == "main" {
        vec![]
    } else {
        module.split('/').collect()
    };
    let mut out = BTreeSet::new();
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    // Inline modules open at this point (`mod name {`), as brace depths: inside one, `super::`
    // names the file's module (or an inline module of it), not the file's parent.
    let mut inline: Vec<i32> = Vec::new();
    let mut depth = 0i32;
    let mut k = 0;
    while k < chars.len() {
        let (i, ch) = chars[k];
        let starts_word = k == 0 || !is_ident(chars[k - 1].1);
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                while inline.last().is_some_and(|d| *d > depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        let rest = &code[i..];
        if starts_word && rest.starts_with("mod ") {
            let after = rest["mod ".len()..].trim_start();
            let name_len = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
            if after[name_len..].trim_start().starts_with('{') {
                inline.push(depth + 1);
            }
        }
        let base: Option<(Vec<&str>, &str)> = if !starts_word {
            None
        } else if let Some(r) = rest.strip_prefix("crate::") {
            Some((vec![], r))
        } else if rest.starts_with("super::") || rest.starts_with("self::") {
            let mut base = own.clone();
            let mut r = rest;
            let mut ups: usize = 0;
            loop {
                if let Some(after) = r.strip_prefix("super::") {
                    ups += 1;
                    r = after;
                } else if let Some(after) = r.strip_prefix("self::") {
                    r = after;
                } else {
                    break;
                }
            }
            // Each inline module open here absorbs one `super`.
            let file_ups = ups.saturating_sub(inline.len());
            base.truncate(base.len().saturating_sub(file_ups));
            Some((base, r))
        } else {
            None
        };
        if let Some((base, r)) = base {
            for path in expand_tree(tree_at(r)) {
                let mut full: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
                full.extend(path);
                if let Some(m) = resolve(&full, modules, reexports) {
                    out.insert(m);
                }
            }
        }
        k += 1;
    }
    out
}

/// The file module that defines the path `full` (segments from the crate root).
fn resolve(
    full: &[String],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let mut found = None;
    for n in 1..=full.len() {
        let candidate = full[..n].join("/");
        if modules.contains(&candidate) {
            found = Some(candidate);
        }
    }
    if found.is_some() {
        return found;
    }
    let from = full.first().and_then(|name| reexports.get(name))?;
    resolve(from, modules, &BTreeMap::new())
}

/// The strongly connected sets of more than one module in `graph` (each set is one or more
/// import cycles), smallest module first in each.
pub fn tangles(graph: &Graph) -> Vec<BTreeSet<String>> {
    // Kosaraju: finish order on the graph, then components on the reversed graph.
    fn finish<'g>(
        node: &'g str,
        graph: &'g Graph,
        seen: &mut BTreeSet<&'g str>,
        order: &mut Vec<&'g str>,
    ) {
        if !seen.insert(node) {
            return;
        }
        for next in graph.get(node).into_iter().flatten() {
            finish(next, graph, seen, order);
        }
        order.push(node);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for node in graph.keys() {
        finish(node, graph, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, deps) in graph {
        for to in deps {
            reversed.entry(to.as_str()).or_default().push(from.as_str());
        }
    }
    let mut assigned: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for node in order.into_iter().rev() {
        if assigned.contains(node) {
            continue;
        }
        let mut set = BTreeSet::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if !assigned.insert(n) {
                continue;
            }
            set.insert(n.to_owned());
            stack.extend(reversed.get(n).into_iter().flatten().copied());
        }
        if set.len() > 1 {
            out.push(set);
        }
    }
    out.sort();
    out
}

/// One import cycle of `graph`, as the modules around it (the first repeated at the end), if
/// there is one.
pub fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn dfs(
        node: &str,
        graph: &Graph,
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
            if let Some(c) = dfs(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Panics, naming every strongly connected set and one cycle through it, if `graph` has a cycle.
#[track_caller]
pub fn assert_acyclic(graph: &Graph) {
    let tangles = tangles(graph);
    if let Some(cycle) = find_cycle(graph) {
        panic!(
            "import cycle: {}; modules that import each other in a circle: {tangles:?}",
            cycle.join(" -> ")
        );
    }
}

/// The layer of `module`: the index in `layers` (bottom first) of the layer that lists it or a
/// folder above it (`hw` holds `hw/scsi/bus`), the longest such entry winning.
pub fn layer_of(layers: &[&[&str]], module: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, layer) in layers.iter().enumerate() {
        for entry in *layer {
            let inside = module == *entry
                || module
                    .strip_prefix(entry)
                    .is_some_and(|rest| rest.starts_with('/'));
            if inside && best.is_none_or(|(len, _)| entry.len() > len) {
                best = Some((entry.len(), index));
            }
        }
    }
    best.map(|(_, index)| index)
}

/// The imports of `graph` that go up `layers` (or to a module in no layer), as `from -> to`.
/// Modules in no layer (the crate roots) may import anything.
pub fn upward_imports(graph: &Graph, layers: &[&[&str]]) -> Vec<String> {
    let mut out = Vec::new();
    for (module, deps) in graph {
        let Some(from) = layer_of(layers, module) else {
            continue;
        };
        for dep in deps {
            if layer_of(layers, dep).is_none_or(|to| to > from) {
                out.push(format!("{module} -> {dep}"));
            }
        }
    }
    out
}

/// Panics unless every module of `graph` but the `roots` is in one of `layers` and every import
/// goes down the layers or stays in its own.
#[track_caller]
pub fn assert_layered(graph: &Graph, layers: &[&[&str]], roots: &[&str]) {
    let outside: Vec<&String> = graph
        .keys()
        .filter(|m| !roots.contains(&m.as_str()) && layer_of(layers, m).is_none())
        .collect();
    assert!(
        outside.is_empty(),
        "modules in no layer of {layers:?}: {outside:?}"
    );
    let up = upward_imports(graph, layers);
    assert!(
        up.is_empty(),
        "imports that go up the layers {layers:?}: {up:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn graph_from(edges: &[(&str, &[&str])]) -> Graph {
        edges
            .iter()
            .map(|(from, to)| ((*from).to_owned(), set(to)))
            .collect()
    }

    /// Negative control of the parser: it sees every form of import, and nothing else.
    #[test]
    fn the_parser_sees_imports_and_only_imports() {
        let modules = set(&["lib", "a", "b", "b/c", "m", "m/x", "m/y", "t"]);
        let code = r#"
use crate::b::c::Thing;
use crate::{a::One, m::x::{Two, Three}};
fn f() { crate::a::g(); let s = "crate::t::in_a_string"; let c = '"'; }
/// [`crate::t`] in a doc link; // crate::t in a comment
/* crate::t in a block comment */
#[cfg(test)]
mod tests { use crate::t::Helper; }
#[cfg(all(test, not(loom)))]
fn only_in_tests() { crate::t::x(); }
"#;
        assert_eq!(
            imports("b", &non_test_code(code), &modules, &BTreeMap::new()),
            set(&["a", "b/c", "m/x"])
        );
        // `super::` goes to the parent of a file module, and to the file itself from an inline
        // module; `self::` stays in the file.
        let code = "use super::y::Z;\nmod inner { use super::Local; }\nfn g() { self::h(); }";
        assert_eq!(
            imports("m/x", &non_test_code(code), &modules, &BTreeMap::new()),
            set(&["m/y", "m/x"])
        );
        assert_eq!(
            imports("m/x", "use super::Parent;", &modules, &BTreeMap::new()),
            set(&["m"])
        );
        // An item re-exported by the crate root goes to its module.
        let reexports = root_reexports("pub use a::{Alpha, Beta as B};\npub use m::x::Two;");
        assert_eq!(
            imports("b", "crate::B::new(); crate::Two", &modules, &reexports),
            set(&["a", "m/x"])
        );
        // A `cfg` that is not test-only keeps its item.
        let code = "#[cfg(not(test))]\nfn f() { crate::a::g(); }\n#[cfg(loom)]\nuse crate::t::X;";
        assert_eq!(
            imports("b", &non_test_code(code), &modules, &BTreeMap::new()),
            set(&["a", "t"])
        );
    }

    /// Negative control of the checks: a cycle and an upward import are caught.
    #[test]
    fn the_checks_catch_a_cycle_and_an_upward_import() {
        let mut g = graph_from(&[("a", &["b/c"]), ("b/c", &["b"]), ("b", &["a"]), ("d", &[])]);
        let cycle = find_cycle(&g).expect("a -> b/c -> b -> a");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        assert_eq!(tangles(&g), vec![set(&["a", "b", "b/c"])]);
        g.get_mut("b").expect("b").clear();
        assert_eq!(find_cycle(&g), None);
        assert!(tangles(&g).is_empty());

        let g = graph_from(&[
            ("qdev/bus", &["hw/scsi/bus"]),
            ("hw/scsi/bus", &["util/os"]),
        ]);
        let layers: &[&[&str]] = &[&["util"], &["qdev"], &["hw"]];
        assert_eq!(upward_imports(&g, layers), ["qdev/bus -> hw/scsi/bus"]);
        assert_eq!(layer_of(layers, "hw/scsi/bus"), Some(2));
        assert_eq!(layer_of(layers, "hwx"), None);
    }
}
