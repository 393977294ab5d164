//! The crate's modules import each other in one direction only (QEMU's layering: the qdev core
//! knows nothing of SCSI, the BQL knows nothing of devices), and its folders are layers that
//! import downward only: `util` < `block` < `qdev` < `hw` < `machine` < `run`. The graph is read
//! from the real source (`crate::`, `super::` and `self::` paths of non-test code, not doc links)
//! by `rcu_test_support::module_graph`, which also holds the checks' negative controls.

use rcu_test_support::module_graph::{self, Graph};

/// The layers, bottom first: a module may import its own layer and the ones below. The crate
/// roots `lib` and `main` (the binary) sit above every layer.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["block"],
    &["qdev"],
    &["hw"],
    &["machine"],
    &["run"],
];

fn graph() -> Graph {
    module_graph::graph(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "found the crate's modules: {:?}", g.keys());
    assert!(g["machine"].contains("qdev/bql"), "found imports: {g:?}");
    module_graph::assert_acyclic(&g);
}

/// Every module is in a layer folder, and no import goes up the layers.
#[test]
fn layers_import_downward_only() {
    module_graph::assert_layered(&graph(), LAYERS, &["lib", "main"]);
}

/// QEMU's layering inside the qdev layer: the BQL depends on no other module.
#[test]
fn the_bql_depends_on_nothing() {
    let g = graph();
    assert!(g["qdev/bql"].is_empty(), "bql imports {:?}", g["qdev/bql"]);
}
