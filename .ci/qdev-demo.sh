#!/usr/bin/env bash
# Extra CI steps for qdev-demo: run the demo briefly under valgrind memcheck (the default
# comparison and each --sync mode) and the monitor with a scripted session. Runs from any
# directory: it changes to the repository root itself.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)

cargo build --release -p qdev-demo
bin="$CARGO_TARGET_DIR/release/qdev-demo"

# rcu-core uses membarrier under valgrind when valgrind supports it (3.19 does) and falls back to
# fences by itself otherwise. Keep runs short: valgrind serializes threads and slows them ~50x.
vg=(valgrind --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --quiet)
for mode in rcu bql rwlock; do
    echo "== valgrind: qdev-demo --sync $mode"
    "${vg[@]}" "$bin" --duration 1 --iothreads 2 --disks 8 --hotplug-interval 1ms \
        --realize-cost 20us --sync "$mode" --json
done

# Continuous hot-plug (zero-timeout polls, the main-loop BQL handoff).
echo "== valgrind: qdev-demo --sync bql (continuous hot-plug)"
"${vg[@]}" "$bin" --duration 1 --iothreads 2 --disks 8 --hotplug-interval 0 --realize-cost 20us \
    --sync bql --json

# The default run: the three modes, 3 runs each interleaved, the tables and the verdict.
echo "== valgrind: qdev-demo (default comparison, shortened)"
"${vg[@]}" "$bin" --duration 300ms --iothreads 2 --disks 8 --realize-cost 20us \
    | tee /tmp/qdev-demo-compare.out
grep -q '^RCU: lookups never waited for a lock' /tmp/qdev-demo-compare.out

echo "== valgrind: qdev-demo monitor"
printf 'device_add scsi-hd,id=disk1,drive=d1,lun=1\ninfo qtree\ndevice_del disk1\ninfo stats\nquit\n' \
    | "${vg[@]}" "$bin" monitor --realize-cost 0 | tee /tmp/qdev-demo-monitor.out
grep -q '"event":"DEVICE_DELETED"' /tmp/qdev-demo-monitor.out

# Bad flags must exit 2.
for bad in "--iothreads 0" "--duration abc"; do
    set +e
    # shellcheck disable=SC2086 # split the flags on purpose
    "$bin" $bad 2>/dev/null
    rc=$?
    set -e
    test "$rc" -eq 2
done
