#!/usr/bin/env bash
# Prepare the real-kernel TC lab: host packages, a stock Debian kernel (extracted,
# not installed), an ELF vmlinux for fast PVH boot and a busybox initramfs.
#
# Idempotent and flock-serialised. Human-readable progress goes to stderr; the last
# line on stdout is the per-kernel cache directory (run.sh consumes it).
#
# Env:
#   MNP_LAB_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/mnp-tc-lab)
#   MNP_LAB_KERNEL_META  meta package whose dependency names the kernel (default linux-image-amd64)
#   MNP_LAB_OFFLINE=1    never touch apt; use the newest complete cached kernel
set -euo pipefail

log() { printf 'lab-prepare: %s\n' "$*" >&2; }
die() { printf 'lab-prepare: ERROR: %s\n' "$*" >&2; exit 1; }
# A command that fails outside an explicit check says where, instead of ending the script silently.
trap 'printf "lab-prepare: ERROR: line %s: command failed: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

[[ $(id -u) -eq 0 ]] || die "must run as root (needs apt-get and qemu with 9p passthrough)"

CACHE_ROOT=${MNP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnp-tc-lab}
META=${MNP_LAB_KERNEL_META:-linux-image-amd64}
SELF_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

# Modules loaded in the guest before the command runs (dependencies are resolved).
GUEST_MODULES=(cls_flower act_gact act_mirred act_ct act_vlan sch_ingress veth bridge 8021q sctp nf_conntrack)
# Modules needed by the initramfs to reach the host root over virtio-9p.
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

HOST_PKGS=(qemu-system-x86 qemu-system-data busybox-static socat ncat kmod cpio iproute2 ethtool
           iputils-ping xz-utils zstd gzip procps util-linux coreutils jq)

mkdir -p "$CACHE_ROOT" || die "cannot create cache dir $CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
if ! flock -n 9; then
  log "waiting for another prepare.sh (lock $CACHE_ROOT/.lock)"
  flock 9
fi

apt_updated=0
apt_update() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt_updated=1
  fi
}

# ---------------------------------------------------------------- host packages
missing=()
# dpkg-query exits 1 when a package was never installed (a bare machine): not an error here.
installed=" $( (dpkg-query -W -f='${Package}=${Status}\n' "${HOST_PKGS[@]}" 2>/dev/null || true) |
  awk -F= '$2=="install ok installed"{printf "%s ", $1}')"
for p in "${HOST_PKGS[@]}"; do
  [[ $installed == *" $p "* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ ${MNP_LAB_OFFLINE:-0} == 1 ]] && die "missing host packages (offline mode): ${missing[*]}"
  apt_update
  log "installing host packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
fi
for t in qemu-system-x86_64 depmod modprobe cpio socat; do
  command -v "$t" >/dev/null || die "required tool '$t' not found after install"
done
[[ -x /bin/busybox ]] || die "/bin/busybox missing (package busybox-static)"
file_is_static=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
[[ $file_is_static == *"not a dynamic executable"* || $file_is_static == *"statically linked"* ]] \
  || die "/bin/busybox is not static (install busybox-static, not busybox)"

# ---------------------------------------------------------------- kernel version
complete_kdir() { [[ -f $1/.complete && $(cat "$1/.complete") == "$SELF_HASH" ]]; }

resolve_kpkg() {
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$META" 2>/dev/null | awk '$1=="Depends:" && $2 ~ /^linux-image-/ {print $2; exit}'
}

# apt-cache costs ~0.5 s, so its answer is memoised until the apt lists change.
lists_stamp() { stat -c %Y /var/lib/apt/lists /var/cache/apt/pkgcache.bin 2>/dev/null | tr '\n' . || true; }
kpkg=""
if [[ ${MNP_LAB_OFFLINE:-0} != 1 ]]; then
  memo="$META $(lists_stamp)"
  if [[ -f $CACHE_ROOT/.resolved && $(head -n1 "$CACHE_ROOT/.resolved") == "$memo" ]]; then
    kpkg=$(sed -n 2p "$CACHE_ROOT/.resolved")
  else
    kpkg=$(resolve_kpkg || true)
    if [[ -z $kpkg ]] && (apt_update); then apt_updated=1; kpkg=$(resolve_kpkg || true); fi
    [[ -n $kpkg ]] && printf '%s\n%s\n' "$META $(lists_stamp)" "$kpkg" >"$CACHE_ROOT/.resolved"
  fi
fi
# Newest kernel already extracted in the cache (offline fallback).
newest_cached_kver() {
  local d
  for d in $(ls -1d "$CACHE_ROOT"/*/ 2>/dev/null | sort -V -r); do
    if [[ -f ${d%/}/.extracted && -f ${d%/}/kver ]]; then cat "${d%/}/kver"; return 0; fi
  done
  return 1
}
if [[ -n $kpkg ]]; then
  KVER=${kpkg#linux-image-}
elif KVER=$(newest_cached_kver); then
  kpkg=linux-image-$KVER
  log "could not resolve the kernel from '$META' via apt (offline?); using cached kernel $KVER"
elif [[ ${MNP_LAB_OFFLINE:-0} == 1 ]]; then
  die "MNP_LAB_OFFLINE=1 but no extracted kernel in $CACHE_ROOT"
else
  die "cannot resolve the kernel package from '$META' (apt-cache depends gave no linux-image-* dependency) and no cached kernel"
fi
KDIR=$CACHE_ROOT/$KVER
if complete_kdir "$KDIR"; then
  log "cache: $KDIR (kernel $KVER, ready)"
  echo "$KDIR"
  exit 0
fi

# ---------------------------------------------------------------- kernel package
# $KDIR/root is the extracted .deb (+ modules.dep); it is only rebuilt if missing.
if [[ ! -f $KDIR/.extracted ]]; then
  log "kernel package $kpkg (from $META); extracting into $KDIR"
  rm -rf "$KDIR" "$KDIR.dl"
  mkdir -p "$KDIR" "$KDIR.dl"
  if ! (cd "$KDIR.dl" && { apt-get download "$kpkg" >&2 || { apt_update && apt-get download "$kpkg" >&2; }; }); then
    rm -rf "$KDIR" "$KDIR.dl"
    if old=$(newest_cached_kver); then
      log "WARNING: apt-get download $kpkg failed; using cached kernel $old"
      KVER=$old kpkg=linux-image-$old KDIR=$CACHE_ROOT/$old
    else
      die "apt-get download $kpkg failed (no cached kernel to fall back to)"
    fi
  fi
fi
if [[ ! -f $KDIR/.extracted ]]; then
  deb=$(ls "$KDIR.dl"/*.deb 2>/dev/null | head -n1)
  [[ -n $deb ]] || die "no .deb downloaded for $kpkg"
  dpkg-deb -x "$deb" "$KDIR/root" || die "dpkg-deb -x $deb failed"
  [[ -d $KDIR/root/lib/modules/$KVER ]] || die "package has no lib/modules/$KVER"
  [[ -f $KDIR/root/boot/vmlinuz-$KVER ]] || die "package has no boot/vmlinuz-$KVER"
  log "depmod -b"
  depmod -b "$KDIR/root" "$KVER" || die "depmod failed"
  echo "$kpkg $(dpkg-deb -f "$deb" Version)" >"$KDIR/kernel-package"
  echo "$KVER" >"$KDIR/kver"
  rm -rf "$KDIR.dl"
  touch "$KDIR/.extracted"
fi
ROOT=$KDIR/root
MODDIR=$ROOT/lib/modules/$KVER
bz=$ROOT/boot/vmlinuz-$KVER
B=$KDIR/.build
rm -rf "$B"
mkdir -p "$B"
log "building boot artefacts in $KDIR"

# ---------------------------------------------------------------- vmlinux (PVH)
# bzImage layout (Documentation/x86/boot.rst): setup_sects at 0x1f1, payload_offset at
# 0x248 and payload_length at 0x24c, both relative to the protected-mode code which
# starts at (setup_sects+1)*512.
extract_vmlinux() {
  local img=$1 out=$2 ss poff plen start magic
  ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$img" | tr -d ' ')
  [[ $ss -eq 0 ]] && ss=4
  poff=$(od -An -tu4 -j $((0x248)) -N4 "$img" | tr -d ' ')
  plen=$(od -An -tu4 -j $((0x24c)) -N4 "$img" | tr -d ' ')
  [[ -n $poff && -n $plen && $plen -gt 0 ]] || return 1
  start=$(((ss + 1) * 512 + poff))
  magic=$(od -An -tx1 -j "$start" -N4 "$img" | tr -d ' \n')
  case $magic in
    fd377a58) tail -c +$((start + 1)) "$img" | head -c "$plen" | xz -dc --single-stream >"$out" 2>/dev/null || true ;;
    28b52ffd) tail -c +$((start + 1)) "$img" | head -c "$plen" | zstd -dcq >"$out" 2>/dev/null || true ;;
    1f8b*)    tail -c +$((start + 1)) "$img" | head -c "$plen" | gzip -dc >"$out" 2>/dev/null || true ;;
    *) log "unknown bzImage payload magic $magic"; return 1 ;;
  esac
  [[ $(od -An -tx1 -N4 "$out" | tr -d ' \n') == 7f454c46 ]] || return 1
}
boot_mode=bzimage
if grep -q '^CONFIG_PVH=y' "$ROOT/boot/config-$KVER" 2>/dev/null &&
   extract_vmlinux "$bz" "$B/vmlinux"; then
  if command -v readelf >/dev/null && ! readelf -n "$B/vmlinux" 2>/dev/null | grep -q 'Xen'; then
    log "vmlinux has no PVH (Xen) ELF note; falling back to bzImage boot"
    rm -f "$B/vmlinux"
  else
    boot_mode=pvh
  fi
else
  log "could not extract an ELF vmlinux with PVH support; falling back to bzImage boot"
  rm -f "$B/vmlinux"
fi
ln -s "root/boot/vmlinuz-$KVER" "$B/bzImage"

# ---------------------------------------------------------------- module lists
# Prints module paths relative to lib/modules/<kver>, dependency order, deduplicated.
resolve_mods() {
  local m line p
  for m in "$@"; do
    modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" 2>/dev/null >"$B/sd" \
      || die "modprobe --show-depends $m failed (module not in $KVER?)"
    while read -r line; do
      case $line in
        insmod\ *) p=${line#insmod }; p=${p%% *}; echo "${p#"$MODDIR"/}" ;;
        builtin\ *) ;;
      esac
    done <"$B/sd"
  done | awk '!seen[$0]++'
  rm -f "$B/sd"
}
resolve_mods "${GUEST_MODULES[@]}" >"$B/guest-modules.list"
resolve_mods "${INITRD_MODULES[@]}" >"$B/initrd-modules.list"
log "guest modules: $(wc -l <"$B/guest-modules.list") files; initramfs modules: $(wc -l <"$B/initrd-modules.list") files"

# ---------------------------------------------------------------- initramfs
IR=$B/initramfs
mkdir -p "$IR"/{bin,dev,proc,sys,mods,newroot,lower,ov}
cp /bin/busybox "$IR/bin/busybox"
for a in sh mount umount mkdir insmod cat ln switch_root ip echo cp sleep poweroff cut tr; do
  ln -s busybox "$IR/bin/$a"
done
i=0
while read -r rel; do
  i=$((i + 1))
  f=$(printf '%02d-%s' "$i" "$(basename "$rel")")
  cp "$MODDIR/$rel" "$IR/mods/$f"
  echo "$f" >>"$IR/mods/order"
done <"$B/initrd-modules.list"
# The guest modules ride in the initramfs as well, so they load in the background
# while the 9p/overlay mounts are being set up.
mkdir -p "$IR/gmods"
i=0
while read -r rel; do
  i=$((i + 1))
  f=$(printf '%02d-%s' "$i" "$(basename "$rel")")
  cp "$MODDIR/$rel" "$IR/gmods/$f"
  echo "$f" >>"$IR/gmods/order"
done <"$B/guest-modules.list"

cat >"$IR/init" <<'INIT'
#!/bin/sh
# Stage 1 (busybox): reach the host root over virtio-9p, build the guest root, switch_root.
export PATH=/bin
fail() { echo "lab-init: FATAL: $*"; sleep 1; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
case " $(cat /proc/cmdline) " in *" labdebug "*) echo "lab-init: start at $(cut -d' ' -f1 /proc/uptime)";; esac
for m in $(cat /mods/order); do
  insmod "/mods/$m" 2>/dev/null || echo "lab-init: insmod $m failed"
done
(
  for m in $(cat /gmods/order); do
    insmod "/gmods/$m" 2>/dev/null || echo "lab-init: insmod $m failed"
  done
) &
gmods_pid=$!
o9p="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /lower || fail "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /ov || fail "tmpfs"
mkdir -p /ov/upper /ov/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ov/upper,workdir=/ov/work /newroot || fail "overlay"
N=/newroot
mount -t tmpfs -o mode=0755 tmpfs $N/run
mount -t tmpfs -o mode=1777 tmpfs $N/tmp
mount -t tmpfs -o mode=1777 tmpfs $N/var/tmp
mkdir -p $N/run/kl
mount -t 9p -o "$o9p,cache=none" klrun $N/run/kl || fail "mount klrun"
cwd=$(cat $N/run/kl/cwd)
mkdir -p "$N$cwd"
mount -t 9p -o "$o9p,cache=loose" klcwd "$N$cwd" || fail "mount klcwd at $cwd"
kver=$(cat /proc/sys/kernel/osrelease)
mkdir -p $N/lib/modules/$kver
mount -t 9p -o "$o9p,ro,cache=loose" klmod $N/lib/modules/$kver || fail "mount klmod"
case " $(cat /proc/cmdline) " in *" labdebug "*) echo "lab-init: mounts done at $(cut -d' ' -f1 /proc/uptime)";; esac
wait $gmods_pid
ip link set lo up
case " $(cat /proc/cmdline) " in *" labdebug "*) echo "lab-init: switch_root at $(cut -d' ' -f1 /proc/uptime)";; esac
mount -o move /proc $N/proc
mount -o move /sys $N/sys
mount -o move /dev $N/dev
cd $N
mkdir -p dev/pts dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts dev/pts
mount -t tmpfs -o mode=1777 tmpfs dev/shm
mount -t cgroup2 cgroup2 sys/fs/cgroup 2>/dev/null
mount -t bpf bpf sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd dev/fd
ln -sf /proc/self/fd/0 dev/stdin
ln -sf /proc/self/fd/1 dev/stdout
ln -sf /proc/self/fd/2 dev/stderr
cp run/kl/stage2 run/lab-stage2 || fail "no stage2 in run dir"
exec switch_root $N /bin/bash /run/lab-stage2
INIT
chmod 0755 "$IR/init"
log "building initramfs"
(cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$B/initrd.gz" \
  || die "cpio/gzip failed"

# ---------------------------------------------------------------- finish
echo "$boot_mode" >"$B/boot-mode"
rm -rf "$B/initramfs"
rm -f "$KDIR/.complete" "$KDIR/vmlinux"
for f in "$B"/*; do mv -f "$f" "$KDIR/"; done
rmdir "$B"
echo "$SELF_HASH" >"$KDIR/.complete"
log "cache: $KDIR (kernel $KVER, boot mode $boot_mode, initramfs $(du -h "$KDIR/initrd.gz" | cut -f1))"
echo "$KDIR"
