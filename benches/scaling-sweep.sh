#!/usr/bin/env bash
# The thread-scaling sweep for a machine with more cores than the 2-core machines that
# produce BENCHMARKS.md. Run from anywhere in the workspace, on the larger machine:
#
#     bash benches/scaling-sweep.sh                     # without liburcu
#     bash benches/scaling-sweep.sh --features liburcu  # with the system liburcu (liburcu-dev)
#
# It runs the read-side, read-mostly and list groups (1, 2, 4, ... threads up to twice the
# cores, decided at run time) into a criterion directory of their own, then writes
#   benchmarks/scaling/<host>-<cores>cores-<date>.md   (machine, cores, date, tables)
#   benchmarks/scaling/<host>-<cores>cores-<date>/     (its plots)
# Commit both as they are: BENCHMARKS.md links every file under benchmarks/scaling/ as a
# separate section and never mixes them into its own tables.
set -euo pipefail
cd "$(dirname "$0")/.."

features=("$@")
cores=$(nproc)
label="$(hostname -s)-${cores}cores-$(date -u +%Y-%m-%d)"
export CRITERION_HOME="$PWD/target/criterion-scaling-$label"

echo "== scaling sweep on $cores cores: $label"
cargo bench -p benches "${features[@]}" --bench read_side --bench read_mostly --bench list_traversal
cargo run -p benches --release "${features[@]}" --bin report -- --scaling-only \
    --criterion-dir "$CRITERION_HOME" \
    --out "benchmarks/scaling/$label.md" \
    --plots "benchmarks/scaling/$label"
echo "== wrote benchmarks/scaling/$label.md and benchmarks/scaling/$label/: commit both"
