#!/usr/bin/env bash
# Extra CI steps for rcu-queue (run from the repository root by .ci/run).
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# The unit, model, stress, negative-control and doc tests run in .ci/run's `cargo test --workspace`.

echo "== rcu-queue: loom models (publish vs traversal, reclaim vs reader)"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR="${CARGO_TARGET_DIR}/loom" \
    cargo test -p rcu-queue --release --test loom

echo "== rcu-queue: valgrind memcheck over the list stress binary"
command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)
cargo build -p rcu-queue --release --example list_stress
# 0.25 s per family (x4) under valgrind, which serializes threads.
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "${CARGO_TARGET_DIR}/release/examples/list_stress" 0.25 2

echo "== rcu-queue: RcuHashMap loom models (insert/remove vs get, resize vs get)"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR="${CARGO_TARGET_DIR}/loom" \
    cargo test -p rcu-queue --release --test map_loom

echo "== rcu-queue: valgrind memcheck over the map stress binary"
cargo build -p rcu-queue --release --example map_stress
# 1 s of updates with forced resizes under valgrind; leaks of definite kind fail the run.
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "${CARGO_TARGET_DIR}/release/examples/map_stress" 1.0 2
