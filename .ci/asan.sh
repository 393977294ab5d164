#!/usr/bin/env bash
# AddressSanitizer over the stress and torture binaries (called by .ci/run; runs from the repository
# root wherever it is started). Needs the nightly toolchain (`-Zsanitizer` is unstable); without it,
# says so in one line and succeeds. std is not rebuilt (no rust-src here): the workspace's code and
# its dependencies are instrumented, and every heap block goes through the instrumented malloc/free.
#
# The binaries run under rcu-test-support's PoisonAlloc with RCU_TEST_QUARANTINE_BYTES=0: each
# freed block is poisoned and then really freed at once, so ASan sees the frees (its own quarantine
# keeps them unmapped for reuse) and reports any later access as a heap-use-after-free with both
# stacks. Signal perturbation stays on. A separate target dir: the flags change every crate's build.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "asan: no nightly toolchain (cargo +nightly), skipping the AddressSanitizer runs"
    exit 0
fi

target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/asan"
export RUSTFLAGS="-Zsanitizer=address"
export RCU_TEST_QUARANTINE_BYTES=0
# LSan would report the blocks std and the tests leak on purpose at exit; valgrind checks leaks.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0"
SECS="${RCU_ASAN_SECS:-10}"

echo "== asan: build the stress examples and the qdev-demo stress test (nightly, $target)"
cargo +nightly build -p rcu-core -p rcu-queue --examples --target "$target"
cargo +nightly test -p qdev-demo --test stress --target "$target" --no-run

bin="$CARGO_TARGET_DIR/$target/debug"
echo "== asan: rcu-core torture (3 s)"
"$bin/examples/torture" 3 2
echo "== asan: rcu-queue list stress (0.5 s per family)"
"$bin/examples/list_stress" 0.5 2
echo "== asan: rcu-queue map stress (${SECS} s)"
"$bin/examples/map_stress" "$SECS" 2
echo "== asan: qdev-demo stress scenarios (1.5 s per --sync mode)"
cargo +nightly test -p qdev-demo --test stress --target "$target" -- stress_
