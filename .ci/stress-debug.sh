#!/usr/bin/env bash
# The stress examples as debug builds (called by .ci/run; runs from the repository root wherever it
# is started). Debug code is slower between a load and its use, so race windows are wider than in the
# release builds that valgrind runs. Every one of these binaries runs under rcu-test-support's
# poisoning, quarantining allocator (freed blocks read as 0xde.. and are never reused) with signal
# perturbation on (SIGURG pauses at random points of random threads); the readers check an alive
# word on every element they visit. The stress *tests* already run as debug builds in `cargo test
# --workspace`; these runs are longer, the map's above all: on the code before the fix of
# RcuHashMap's unguarded table read (issue 18, item 1) the map stress caught it in 0.6-14 s.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
MAP_SECS="${RCU_STRESS_DEBUG_MAP_SECS:-20}"

cargo build -p rcu-core -p rcu-queue --examples
bin="$CARGO_TARGET_DIR/debug/examples"

echo "== debug: rcu-core torture (3 s, 2 readers)"
"$bin/torture" 3 2
echo "== debug: rcu-queue list stress (0.5 s per family, 2 readers)"
"$bin/list_stress" 0.5 2
echo "== debug: rcu-queue map stress (${MAP_SECS} s, 2 readers)"
"$bin/map_stress" "$MAP_SECS" 2
