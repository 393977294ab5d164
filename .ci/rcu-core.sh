#!/usr/bin/env bash
# Extra CI steps for rcu-core, run from the repository root (called by .ci/run):
#  1. the torture example under valgrind memcheck (--fair-sched=yes: the default scheduler lets a
#     spinning reader starve the updater for seconds), failing on any memcheck error or on a definite or
#     possible leak;
#  2. the torture example with the fence-based fallback barrier path forced.
set -euo pipefail

cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VALGRIND_SECS="${RCU_CORE_VALGRIND_SECS:-2}"

command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)

cargo build --release -p rcu-core --example torture
torture="$CARGO_TARGET_DIR/release/examples/torture"

# std keeps the main thread's `Thread` handle behind a tagged pointer in a thread-local, which
# memcheck reports as "possibly lost"; that allocation is std's, not rcu-core's.
supp="$(mktemp)"
trap 'rm -f "$supp"' EXIT
cat >"$supp" <<'SUPP'
{
   std-main-thread-handle
   Memcheck:Leak
   match-leak-kinds: possible
   fun:malloc
   ...
   fun:*init_current*
}
SUPP

# The example runs under rcu-test-support's poisoning allocator and signal perturbation: under
# memcheck both are off (RCU_TEST_ALLOC=system: memcheck sees the program's own blocks and frees).
export RCU_TEST_ALLOC=system RCU_TEST_PERTURB=0
echo "== rcu-core torture under valgrind memcheck (${VALGRIND_SECS} s)"
valgrind --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
    --suppressions="$supp" "$torture" "$VALGRIND_SECS"

echo "== rcu-core torture under valgrind memcheck, fallback barrier path (${VALGRIND_SECS} s)"
RCU_CORE_FORCE_FALLBACK=1 valgrind --fair-sched=yes --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,possible --suppressions="$supp" "$torture" "$VALGRIND_SECS"

unset RCU_TEST_ALLOC RCU_TEST_PERTURB
echo "== rcu-core torture with RCU_CORE_FORCE_FALLBACK=1 (2 s)"
RCU_CORE_FORCE_FALLBACK=1 "$torture" 2

# 32-bit targets must be refused with a clear message (the single-phase counter needs 64 bits).
echo "== rcu-core refuses to build for a 32-bit target"
if rustup target add i686-unknown-linux-gnu >/dev/null 2>&1; then
    log="$(mktemp)"
    if cargo check -p rcu-core --lib --target i686-unknown-linux-gnu >"$log" 2>&1; then
        echo "rcu-core built for i686: the 64-bit guard is gone" >&2
        exit 1
    fi
    grep -q "rcu-core needs a 64-bit target" "$log" || { cat "$log" >&2; exit 1; }
    rm -f "$log"
else
    echo "rcu-core: the i686 standard library cannot be installed here; skipping the 32-bit check"
fi
