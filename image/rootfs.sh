#!/usr/bin/env bash
# Unpacks the built image into a directory, for running it where no container runtime works
# (image/run.sh) and inside the kernel lab, which sees the host's files but no image store.
#   image/rootfs.sh          export IMAGE:VERSION (if not already) and print the directory
#   image/rootfs.sh --path   print the directory of the last export, without touching the store
# The directory is $MNP_IMAGE_CACHE/rootfs/<image id>/root, with the image's entrypoint beside it
# in entrypoint (one word a line), its environment in env in version-label; `current` links to the last one. Older exports are removed.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'image-rootfs: ERROR: %s\n' "$*" >&2; exit 1; }

CACHE=${MNP_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnp-tc-image}
CURRENT=$CACHE/rootfs/current
if [[ ${1:-} == --path ]]; then
  [[ -d $CURRENT/root ]] || die "no exported image under $CACHE/rootfs (run: make image-rootfs)"
  readlink -f "$CURRENT"
  exit 0
fi

VERSION=$(node -p 'require("./package.json").version')
IMAGE=${IMAGE:-multi-networkpolicy-tc}
TOOL=${IMAGE_TOOL:-auto}
if [[ $TOOL == auto ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then TOOL=docker; else TOOL=buildah; fi
fi
ref=$IMAGE:$VERSION
case $TOOL in
  buildah) id=$(buildah inspect --type image --format '{{.FromImageID}}' "$ref") ;;
  docker | podman) id=$("$TOOL" image inspect --format '{{.Id}}' "$ref") ;;
  *) die "IMAGE_TOOL must be docker, podman, buildah or auto (got $TOOL)" ;;
esac
id=${id#sha256:}
[[ -n $id ]] || die "no image $ref (run: make image)"
dir=$CACHE/rootfs/${id:0:16}
mkdir -p "$CACHE/rootfs"
exec 9>"$CACHE/rootfs/.lock"
flock 9
if [[ ! -f $dir/.complete ]]; then
  rm -rf "$dir"
  mkdir -p "$dir/root"
  case $TOOL in
    buildah)
      ctr=$(buildah from --pull=never "$ref")
      trap 'buildah umount "$ctr" >/dev/null 2>&1 || true; buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
      mnt=$(buildah mount "$ctr")
      cp -a "$mnt/." "$dir/root/"
      buildah inspect --type image --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$ref" >"$dir/entrypoint"
      buildah inspect --type image --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$ref" >"$dir/env"
      buildah inspect --type image --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' "$ref" >"$dir/version-label"
      ;;
    docker | podman)
      ctr=$("$TOOL" create "$ref")
      trap '"$TOOL" rm "$ctr" >/dev/null 2>&1 || true' EXIT
      "$TOOL" export "$ctr" | tar -x -C "$dir/root"
      "$TOOL" image inspect --format '{{range .Config.Entrypoint}}{{println .}}{{end}}' "$ref" >"$dir/entrypoint"
      "$TOOL" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ref" >"$dir/env"
      "$TOOL" image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$ref" >"$dir/version-label"
      ;;
  esac
  sed -i '/^$/d' "$dir/entrypoint" "$dir/env"
  [[ -s $dir/entrypoint ]] || die "image $ref has no entrypoint"
  touch "$dir/.complete"
fi
ln -sfn "${id:0:16}" "$CURRENT"
for old in "$CACHE"/rootfs/*/; do
  [[ ${old%/} == "$dir" || -L ${old%/} ]] || rm -rf "${old%/}"
done
echo "$dir"
