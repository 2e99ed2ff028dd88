#!/usr/bin/env bash
# Apply-layer benchmark against a real kernel (cls_flower + act_ct) in the QEMU lab:
#
#   make build && bash bench/lab-apply.sh [a] [b]
#
# (a) a 10,000-filter device: Reconciler vs raw `tc -batch` of the same lines, and a no-op
#     reconcile of it; (b) 100 devices: install, then a no-op reconcile; (c) one pod label change
#     over those 100 devices. Default: all. BENCH_REPS (default 3) sets the repetitions of (a).
# Outside the lab it re-executes itself through test/lab/run.sh (about 4 s of boot); inside, it
# runs one node process (build/bench/lab-apply.js), because every process start costs 25-80 ms
# under TCG. It prints figures; it asserts nothing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
if [[ ${KERNEL_LAB:-} != 1 ]]; then
  if [[ ! -f build/bench/lab-apply.js ]]; then
    echo "bench/lab-apply.sh: build/bench/lab-apply.js is missing; run 'make build' first" >&2
    exit 2
  fi
  export BENCH_REPS=${BENCH_REPS:-3}
  MNP_LAB_ENV="${MNP_LAB_ENV:-} BENCH_REPS" exec bash test/lab/run.sh "$(printf '%q ' bash bench/lab-apply.sh "$@")"
fi
exec node build/bench/lab-apply.js "$@"
