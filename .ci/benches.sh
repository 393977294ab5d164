#!/usr/bin/env bash
# Extra CI steps for the `benches` crate (called from .ci/run; run from the repo root).
#  1. Every criterion bench once, in test mode (a smoke run: each benchmark executes a
#     single iteration, nothing is measured), without any C library.
#     The larger-machine script (benches/scaling-sweep.sh) is syntax-checked; the report's
#     own code, including its --scaling-only mode, is covered by `cargo test -p benches`.
#  2. The optional liburcu side-by-side: install liburcu-dev if missing, then lint, unit-test
#     and smoke-run the benches with `--features liburcu`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== benches: criterion smoke run (cargo bench -p benches -- --test)"
cargo bench -p benches -- --test

echo "== benches: the larger-machine scaling script parses (bash -n)"
bash -n benches/scaling-sweep.sh

echo "== benches: liburcu side-by-side (--features liburcu)"
if ! dpkg -s liburcu-dev >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq liburcu-dev) || {
        echo "benches: could not install liburcu-dev; skipping the optional liburcu smoke run" >&2
        exit 0
    }
fi
cargo clippy -p benches --all-targets --features liburcu -- -D warnings
cargo test -p benches --features liburcu
cargo bench -p benches --features liburcu -- --test
