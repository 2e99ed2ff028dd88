#!/usr/bin/env bash
# Run COMMAND inside a throw-away QEMU VM running a stock Debian kernel, with the host's
# userland (read-only 9p root + tmpfs overlay) and the current directory shared read-write.
#
#   test/lab/run.sh 'COMMAND'     (COMMAND runs under `bash -c` in the same cwd)
#
# Exit status: COMMAND's, 124 on timeout (MNP_LAB_TIMEOUT, default 1500 s), 125 if the
# guest died before reporting a status (the console tail is printed).
#
# Env: MNP_LAB_TIMEOUT, MNP_LAB_ENV (space-separated names of env vars to pass through),
#      MNP_LAB_MEM (default 2G), MNP_LAB_SMP (default 2), MNP_LAB_ACCEL (auto|tcg|kvm),
#      MNP_LAB_CACHE / MNP_LAB_KERNEL_META / MNP_LAB_OFFLINE (see prepare.sh),
#      MNP_LAB_KEEP=1 keeps the run dir (console log) for debugging,
#      MNP_LAB_BOOT=bzimage forces the (slower) bzImage boot instead of PVH vmlinux,
#      MNP_LAB_APPEND extra kernel command line (e.g. 'loglevel=7' to see the boot).
set -euo pipefail

die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 125; }
now() { date +%s.%N; }

[[ $# -ge 1 ]] || { echo "usage: $0 'COMMAND'" >&2; exit 2; }
[[ $# -eq 1 ]] || die "pass COMMAND as one argument (it runs under bash -c), got $# arguments"
CMD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${MNP_LAB_TIMEOUT:-1500}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "MNP_LAB_TIMEOUT must be an integer number of seconds"

KDIR=$("$HERE/prepare.sh" | tail -n1) || die "prepare.sh failed"
[[ -f $KDIR/.complete ]] || die "prepare.sh did not produce a complete cache dir (got '$KDIR')"
KVER=$(cat "$KDIR/kver")

CWD=$(pwd -P)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/mnp-lab.XXXXXX")
QPID="" ; TAILS=() ; WDOG=""
cleanup() {
  local rc=$?
  [[ -n $WDOG ]] && kill "$WDOG" 2>/dev/null || true
  if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then kill -KILL "$QPID" 2>/dev/null || true; fi
  for p in "${TAILS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ ${MNP_LAB_KEEP:-0} == 1 ]]; then echo "lab: run dir kept: $RUN" >&2; else rm -rf "$RUN"; fi
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- run dir (shared with the guest as 9p tag klrun)
printf '%s' "$CWD" >"$RUN/cwd"
printf '%s' "$CMD" >"$RUN/cmd"
: >"$RUN/stdout"; : >"$RUN/stderr"
{
  for n in ${MNP_LAB_ENV:-}; do
    [[ $n =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "MNP_LAB_ENV: invalid variable name '$n'"
    if [[ -n ${!n+x} ]]; then printf 'export %s=%q\n' "$n" "${!n}"; fi
  done
} >"$RUN/env"
cat >"$RUN/stage2" <<'STAGE2'
# Stage 2: bash as PID 1 on the overlay root.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 KERNEL_LAB=1
cd / || true
. /run/kl/env
cwd=$(</run/kl/cwd)
cd "$cwd" || { echo "lab-guest: cannot cd to $cwd" >/run/kl/stderr; echo 125 >/run/kl/rc; busybox poweroff -f; }
read -r up _ </proc/uptime; echo "$up" >/run/kl/started
bash -c "$(</run/kl/cmd)" </dev/null >>/run/kl/stdout 2>>/run/kl/stderr
rc=$?
read -r up _ </proc/uptime; echo "$up" >/run/kl/finished
echo "$rc" >/run/kl/rc
sync
busybox poweroff -f
STAGE2

# ---- accelerator
ACCEL=${MNP_LAB_ACCEL:-auto}
if [[ $ACCEL == auto ]]; then
  ACCEL=tcg
  if [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]] && [[ -r /dev/kvm && -w /dev/kvm ]]; then ACCEL=kvm; fi
fi
case $ACCEL in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel "tcg,thread=multi" -cpu max) ;;
  *) die "MNP_LAB_ACCEL must be auto, tcg or kvm" ;;
esac

q9p() { printf '%s' "${1//,/,,}"; } # QEMU option values need doubled commas
boot_args=()
if [[ ${MNP_LAB_BOOT:-auto} != bzimage && $(cat "$KDIR/boot-mode") == pvh && -f $KDIR/vmlinux ]]; then
  boot_args=(-kernel "$KDIR/vmlinux")
  [[ -f /usr/share/qemu/qboot.rom ]] && boot_args+=(-bios /usr/share/qemu/qboot.rom)
else
  boot_args=(-kernel "$KDIR/bzImage")
fi
APPEND="console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off cryptomgr.notests rdinit=/init"
APPEND+=" i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check ${MNP_LAB_APPEND:-}"

qemu_args=(
  "${accel_args[@]}" -smp "${MNP_LAB_SMP:-2}" -m "${MNP_LAB_MEM:-2G}"
  -nodefaults -nic none -display none -no-reboot -monitor none
  -serial "file:$(q9p "$RUN/console.log")"
  "${boot_args[@]}" -initrd "$KDIR/initrd.gz" -append "$APPEND"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$(q9p "$RUN"),mount_tag=klrun,security_model=none"
  -virtfs "local,path=$(q9p "$CWD"),mount_tag=klcwd,security_model=none,multidevs=remap"
  -virtfs "local,path=$(q9p "$KDIR/root/lib/modules/$KVER"),mount_tag=klmod,security_model=none,readonly=on"
)

t0=$(now)
qemu-system-x86_64 "${qemu_args[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
tail -q -c +1 -f --pid="$QPID" "$RUN/stdout" &
TAILS+=($!)
tail -q -c +1 -f --pid="$QPID" "$RUN/stderr" >&2 &
TAILS+=($!)
# Watchdog: must not hold our stdout/stderr open (a pipe reader would wait for it) and
# must take its sleep down with it when it is killed.
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$TIMEOUT" & s=$!
  wait "$s"
  touch "$RUN/timeout"
  kill -KILL "$QPID" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
WDOG=$!

set +e
wait "$QPID" 2>/dev/null
qrc=$?
set -e
t_end=$(now)
wait "${TAILS[@]}" 2>/dev/null || true
TAILS=()
kill "$WDOG" 2>/dev/null || true
WDOG=""
QPID=""

mtime() { stat -c %.9Y "$1" 2>/dev/null; }
summary() {
  local ts tf
  ts=$(mtime "$RUN/started" || true); tf=$(mtime "$RUN/finished" || true)
  if [[ -n $ts && -n $tf ]]; then
    awk -v a="$t0" -v s="$ts" -v f="$tf" -v e="$t_end" \
      'BEGIN{printf "lab: boot->command %.2f s, command %.2f s (whole run %.2f s)\n", s-a, f-s, e-a}' >&2
  else
    awk -v a="$t0" -v e="$t_end" 'BEGIN{printf "lab: command did not finish (whole run %.2f s)\n", e-a}' >&2
  fi
}
console_tail() {
  echo "lab: ---- qemu exit status $qrc; qemu output:" >&2
  tail -n 20 "$RUN/qemu.log" >&2 || true
  echo "lab: ---- guest console tail:" >&2
  tail -n 40 "$RUN/console.log" >&2 || true
  echo "lab: ----" >&2
}

if [[ -f $RUN/timeout ]]; then
  summary
  echo "lab: TIMEOUT after ${TIMEOUT}s (MNP_LAB_TIMEOUT)" >&2
  exit 124
fi
if [[ -f $RUN/rc ]]; then
  rc=$(cat "$RUN/rc")
  summary
  [[ $rc =~ ^[0-9]+$ ]] || { echo "lab: bad exit status '$rc' from guest" >&2; exit 125; }
  exit "$rc"
fi
summary
echo "lab: the guest died before COMMAND finished" >&2
console_tail
exit 125
