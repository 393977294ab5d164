#!/usr/bin/env bash
# The thread-scaling sweep for a machine with more cores than the 2-core machines that
# produce BENCHMARKS.md. Run from anywhere in the workspace, on the larger machine:
#
#     bash benches/scaling-sweep.sh                     # without liburcu
#     bash benches/scaling-sweep.sh --features liburcu  # with the system liburcu (liburcu-dev)
#
# Arguments before a `--` go to cargo, those after it to criterion (`-- --quick` for a
# rehearsal of the script; commit only a full-length run).
#
# It runs the read-side, read-mostly and list groups (1, 2, 4, ... threads up to twice the
# cores, decided at run time) into a criterion directory of their own, then writes
#   benchmarks/scaling/<host>-<cores>cores-<date>.md   (machine, cores, date, tables)
#   benchmarks/scaling/<host>-<cores>cores-<date>/     (its plots)
# Commit both as they are: BENCHMARKS.md links every file under benchmarks/scaling/ as a
# separate section and never mixes them into its own tables.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo_args=()
criterion_args=()
while (($#)); do
    if [[ $1 == -- ]]; then
        shift
        criterion_args=("$@")
        break
    fi
    cargo_args+=("$1")
    shift
done
cores=$(nproc)
label="$(uname -n | cut -d. -f1)-${cores}cores-$(date -u +%Y-%m-%d)"
export CRITERION_HOME="$PWD/target/criterion-scaling-$label"

echo "== scaling sweep on $cores cores: $label"
cargo bench -p benches "${cargo_args[@]}" --bench read_side --bench read_mostly --bench list_traversal \
    -- "${criterion_args[@]}"
cargo run -p benches --release "${cargo_args[@]}" --bin report -- --scaling-only \
    --criterion-dir "$CRITERION_HOME" \
    --out "benchmarks/scaling/$label.md" \
    --plots "benchmarks/scaling/$label"
echo "== wrote benchmarks/scaling/$label.md and benchmarks/scaling/$label/: commit both"
