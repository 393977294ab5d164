//! rcu-core's modules import each other in one direction only, and down the layers listed below.
//! The graph is read from the real source (`crate::`, `super::` and `self::` paths of non-test code,
//! not doc links) by `rcu_test_support::module_graph`, which also holds the checks' negative
//! controls; the crate root `lib` (re-exports) sits above every layer.

use rcu_test_support::module_graph::{self, Graph};

/// The layers, bottom first: a module may import its own layer and the ones below.
const LAYERS: &[&[&str]] = &[
    // Platform: futexes, membarrier, the std/loom switch, diagnostics, counters, test hooks.
    &["sys", "sync", "diag", "stats", "testing"],
    // Primitives: the memory barriers, the raw pointer layer, callback heads and their queue,
    // reader records, the bound on pending callbacks (whether a thread may wait is the API's
    // question, `default::producer_may_wait`).
    &["barrier", "raw", "callback", "reader", "throttle"],
    // The engine's parts: grace periods, per-thread callback buffers, the callback half and its
    // thread (with the engine state, `DomainInner`, that embeds it).
    &["gp", "buffer", "worker"],
    // The engine: its operations and the default domain's instance, the thread-local records of
    // independent domains, the async futures' waker slots.
    &["engine", "local", "slots"],
    // fork(): its handlers take the locks of everything below.
    &["fork"],
    // The API: the domain trait, the default domain's free functions, `Domain`, the futures.
    &["rcu_domain", "default", "domain", "gp_async"],
    // Containers.
    &["cell", "arc_cell", "loaded"],
];

fn graph() -> Graph {
    module_graph::graph(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "found the crate's modules: {:?}", g.keys());
    assert!(g["default"].contains("worker"), "found imports: {g:?}");
    module_graph::assert_acyclic(&g);
}

/// Every module is in a layer, and no import goes up the layers.
#[test]
fn layers_import_downward_only() {
    module_graph::assert_layered(&graph(), LAYERS, &["lib"]);
}
