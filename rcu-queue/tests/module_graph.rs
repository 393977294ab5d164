//! rcu-queue's modules import each other down the layers listed below, and in one direction only
//! but for the cycles listed in [`KNOWN_CYCLES`]. The graph is read from the real source
//! (`crate::`, `super::` and `self::` paths of non-test code, not doc links) by
//! `rcu_test_support::module_graph`, which also holds the checks' negative controls; the crate root
//! `lib` (re-exports) sits above every layer.

use std::collections::BTreeSet;

use rcu_test_support::module_graph::{self, Graph};

/// The layers, bottom first: a module may import its own layer and the ones below.
const LAYERS: &[&[&str]] = &[
    // The std/loom switch and the writer lock.
    &["sync", "lock"],
    // The raw intrusive lists (QEMU's `qemu/queue.h` RCU macros).
    &["raw"],
    // The safe lists' node, the families that pick its raw head and link, the test hooks.
    &["node", "family", "testing"],
    // The safe lists (`list/`), one file a layer: handles on elements, the walk, the list type
    // and its readers, the writer's cursor, the writer; `list` itself only re-exports.
    &["list/handle"],
    &["list/iter"],
    &["list/queue"],
    &["list/cursor"],
    &["list/writer", "list"],
    // The hash map.
    &["map"],
];

/// The import cycles left, each as the set of modules that import each other in a circle. The
/// test fails on any other cycle, and when one of these is broken (remove it here). Left: the
/// map's entry API (`RcuHashMap::entry` and `pin` return types of the modules that borrow the map).
const KNOWN_CYCLES: &[&[&str]] = &[&["map/entry", "map/hash_map", "map/pinned"]];

fn graph() -> Graph {
    module_graph::graph(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_import_cycle_but_the_known_ones() {
    let g = graph();
    assert!(g.len() > 15, "found the crate's modules: {:?}", g.keys());
    assert!(g["list/queue"].contains("node"), "found imports: {g:?}");
    let known: Vec<BTreeSet<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|m| (*m).to_owned()).collect())
        .collect();
    assert_eq!(
        module_graph::tangles(&g),
        known,
        "the modules that import each other in a circle changed: break a new cycle, or remove a \
         broken one from KNOWN_CYCLES"
    );
}

/// Every module is in a layer, and no import goes up the layers.
#[test]
fn layers_import_downward_only() {
    module_graph::assert_layered(&graph(), LAYERS, &["lib"]);
}
