//! rcu-core's modules import each other in one direction only, and down the layers listed below.
//! The graph is read from the real source (`crate::`, `super::` and `self::` paths of non-test code,
//! not doc links) by `rcu_test_support::module_graph`, which also holds the checks' negative
//! controls; the crate root `lib` (re-exports) sits above every layer.

use rcu_test_support::module_graph::{self, Graph};

/// The layers, bottom first: a module may import its own layer and the ones below.
const LAYERS: &[&[&str]] = &[
    // Platform: futexes, membarrier, the std/loom switch, diagnostics, counters, test hooks.
    &["sys", "sync", "diag", "stats", "testing"],
    // Primitives: the memory barriers, callback heads and their queue, reader records, the bound
    // on pending callbacks (whether a thread may wait is the API's question,
    // `domain::producer_may_wait`).
    &[
        "barrier",
        "callbacks/head",
        "gp/reader",
        "callbacks/throttle",
    ],
    // The engine's halves: grace periods (`gp`); per-thread callback buffers, then the callback
    // half and its thread (`callbacks`).
    // Per-thread free bags (`defer_free`) poll the grace-period core.
    &["gp", "callbacks/buffer", "callbacks/bag"],
    &["callbacks/worker", "callbacks"],
    // The engine (`DomainInner`: both halves and the operations that need both), the async
    // futures and their waker slots.
    &["engine", "slots", "gp_async"],
    // fork(): its handlers take the locks of everything below.
    &["domain/fork"],
    // Every thread's state in every domain: reader records and callback buffers.
    &["domain/local"],
    // The API: the domain trait (every operation, written once), then the default domain with its
    // free functions and the independent `Domain`.
    &["domain"],
    &["domain/default", "domain/independent"],
    // The unsafe layer (publication primitives, intrusive callbacks) and the containers.
    &["raw"],
    &["cell", "arc_cell", "loaded"],
];

fn graph() -> Graph {
    module_graph::graph(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "found the crate's modules: {:?}", g.keys());
    assert!(g["domain"].contains("domain/local"), "found imports: {g:?}");
    module_graph::assert_acyclic(&g);
}

/// Every module is in a layer, and no import goes up the layers.
#[test]
fn layers_import_downward_only() {
    module_graph::assert_layered(&graph(), LAYERS, &["lib"]);
}
