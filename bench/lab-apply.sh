#!/usr/bin/env bash
# Apply-layer benchmark against a real kernel (cls_flower + act_ct) in the QEMU lab:
#
#   make build && bash bench/lab-apply.sh [a] [b] [d]
#
# (a) a 10,000-filter device: Reconciler vs raw `tc -batch` of the same lines, and a no-op
#     reconcile of it; (b) 100 devices: install, then a no-op reconcile; (c) one pod label change
#     over those 100 devices; (d) event to rules: a series of single-pod label changes on a
#     100-representor node of a 5,000-pod cluster, each compiled and reconciled as the agent does,
#     p50/p90/p99, and the same lines through raw `tc -batch`. Default: a and b ((c) runs with b;
#     (d) only when named, about 10 minutes). BENCH_REPS (default 3) sets the repetitions of (a);
#     for (d): BENCH_CHANGES (default 30), BENCH_WARMUP (compiled, not applied; default 20),
#     BENCH_SEED (the changes; default 17), BENCH_D_CLUSTER=lab100 (the 300-pod cluster of (b)).
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
  pass=BENCH_REPS
  for v in BENCH_CHANGES BENCH_WARMUP BENCH_SEED BENCH_D_CLUSTER; do
    if [[ -n ${!v:-} ]]; then
      export "$v"
      pass="$pass $v"
    fi
  done
  MNP_LAB_ENV="${MNP_LAB_ENV:-} $pass" exec bash test/lab/run.sh "$(printf '%q ' bash bench/lab-apply.sh "$@")"
fi
exec node build/bench/lab-apply.js "$@"
