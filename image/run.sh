#!/usr/bin/env bash
# Runs the exported image (image/rootfs.sh) the way the DaemonSet runs it, without a container
# runtime: a private mount namespace, chroot into the image's root, /sys read-only, and only
# CAP_NET_ADMIN left (setpriv from the image's util-linux). The image's ENTRYPOINT gets ARGS.
#   image/run.sh [-b HOST_DIR:IMAGE_DIR]... [-e PROGRAM] [--] ARGS...
# -e runs PROGRAM (a path in the image) in place of the entrypoint, for checks on the image itself.
# The network namespace is the caller's: run it under `ip netns exec NS` to act on NS's devices.
set -euo pipefail
cd "$(dirname "$0")/.."

binds=()
program=
while (($#)); do
  case $1 in
    -b) binds+=("$2"); shift 2 ;;
    -e) program=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
dir=${MNP_IMAGE_ROOTFS:-$(bash image/rootfs.sh --path)}
[[ -d $dir/root && -s $dir/entrypoint ]] || { echo "image-run: no exported image in $dir" >&2; exit 1; }
mapfile -t entry <"$dir/entrypoint"
[[ -z $program ]] || entry=("$program")
# The image's environment only, as a container runtime gives it (nothing of the caller's).
mapfile -t env <"$dir/env"

# The mounts live in a new mount namespace: they vanish with the process.
exec unshare --mount --propagation private -- bash -c '
  set -e
  root=$1; shift
  nb=$1; shift
  for ((i = 0; i < nb; i++)); do
    src=${1%%:*}; dst=$root/${1#*:}; shift
    mkdir -p "$dst"
    mount --bind "$src" "$dst"
  done
  mount --bind /proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -o remount,bind,ro "$root/sys"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  exec chroot "$root" /usr/bin/setpriv --bounding-set=-all,+net_admin --inh-caps=-all -- "$@"
' image-run "$dir/root" "${#binds[@]}" "${binds[@]}" /usr/bin/env -i "${env[@]}" "${entry[@]}" "$@"
