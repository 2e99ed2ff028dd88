#!/usr/bin/env bash
# Builds netdevsim (SR-IOV VFs and switchdev representors in software) for the lab's kernel:
# Debian does not ship it (CONFIG_NETDEVSIM is not set). The module is built out of tree from
# linux-source-X.Y with the matching headers, cached next to the lab's kernel, and copied to
# build/lab/netdevsim.ko (the cwd is shared with the guest), where test/kernel/discovery.test.ts
# loads it with insmod. Stock netdevsim: it offloads no flower filter (skip_sw fails).
#
# Idempotent: about 0.1 s when cached; the first run downloads about 150 MB and builds in ~1 min.
set -euo pipefail

log() { printf 'lab-netdevsim: %s\n' "$*" >&2; }
die() { printf 'lab-netdevsim: ERROR: %s\n' "$*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KDIR=$(bash "$HERE/prepare.sh" | tail -n1)
KVER=$(cat "$KDIR/kver")
read -r _ VERSION <"$KDIR/kernel-package"
SERIES=$(echo "$KVER" | cut -d. -f1,2)          # 6.1
ABI=${KVER%-*}                                    # 6.1.0-57
OUT=$(dirname "$KDIR")/netdevsim/$KVER
KO=$OUT/netdevsim.ko

if [[ ! -f $KO ]]; then
  W=$OUT.work
  rm -rf "$W"
  mkdir -p "$W"
  log "building netdevsim for $KVER ($VERSION) in $W"
  pkgs=("linux-source-$SERIES=$VERSION" "linux-headers-$KVER=$VERSION" "linux-headers-$ABI-common=$VERSION"
        "linux-kbuild-$SERIES=$VERSION")
  (cd "$W" && apt-get download "${pkgs[@]}" >&2) || die "apt-get download ${pkgs[*]} failed"
  for d in "$W"/*.deb; do dpkg-deb -x "$d" "$W/root"; done
  H=$W/root/usr/src/linux-headers-$KVER
  # The headers' Makefile includes the -common one by absolute path: point it into $W.
  sed -i "s#/usr/src/#$W/root/usr/src/#" "$H/Makefile"
  tar -xJf "$W/root/usr/src/linux-source-$SERIES.tar.xz" -C "$W" --wildcards \
    "linux-source-$SERIES/drivers/net/netdevsim/*"
  make -s -C "$H" M="$W/linux-source-$SERIES/drivers/net/netdevsim" CONFIG_NETDEVSIM=m modules >&2 ||
    die "netdevsim build failed"
  mkdir -p "$OUT"
  cp "$W/linux-source-$SERIES/drivers/net/netdevsim/netdevsim.ko" "$KO.tmp"
  mv "$KO.tmp" "$KO"
  rm -rf "$W"
fi
mkdir -p build/lab
# Without debug info (5 MB -> 0.2 MB): quicker to read over 9p and to load under TCG.
strip --strip-debug -o build/lab/netdevsim.ko "$KO"
log "build/lab/netdevsim.ko ($KVER)"
