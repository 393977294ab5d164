#!/usr/bin/env bash
# Extra CI steps for rcu-queue (called by .ci/run; runs from the repository root wherever it is
# started).
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The unit, model, stress and doc tests run in .ci/run's `cargo test --workspace`; the loom models and
# the negative control (`--cfg rcu_broken_gp`) in .ci/run's own steps, once each.

# The stress examples run under rcu-test-support's poisoning allocator and signal perturbation:
# under memcheck both are off (RCU_TEST_ALLOC=system: memcheck sees the program's own blocks).
export RCU_TEST_ALLOC=system RCU_TEST_PERTURB=0

echo "== rcu-queue: valgrind memcheck over the list stress binary"
command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)
cargo build -p rcu-queue --release --example list_stress
# 0.25 s per family (x4) under valgrind, which serializes threads.
valgrind --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "${CARGO_TARGET_DIR}/release/examples/list_stress" 0.25 2

echo "== rcu-queue: valgrind memcheck over the map stress binary"
cargo build -p rcu-queue --release --example map_stress
# 1 s of updates with forced resizes under valgrind; leaks of definite kind fail the run.
valgrind --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "${CARGO_TARGET_DIR}/release/examples/map_stress" 1.0 2
