#!/usr/bin/env bash
# Makes the Dockerfile's base image from Debian packages, for machines that reach Debian's archive
# but no container registry: mmdebstrap builds a minimal trixie root (like debian:trixie-slim), and
# buildah imports it under the base image's own name, so the Dockerfile is built unchanged.
#
# Idempotent: the root tarball is cached (MNP_IMAGE_CACHE, default ~/.cache/mnp-tc-image) and the
# import is skipped while the local image carries the tarball's key. MNP_IMAGE_REFRESH=1 rebuilds.
# Usage: image/base.sh [IMAGE_NAME]   (default docker.io/library/debian:trixie-slim)
set -euo pipefail

log() { printf 'image-base: %s\n' "$*" >&2; }
die() { printf 'image-base: ERROR: %s\n' "$*" >&2; exit 1; }

NAME=${1:-docker.io/library/debian:trixie-slim}
SUITE=${MNP_IMAGE_SUITE:-trixie}
MIRROR=${MNP_IMAGE_MIRROR:-http://deb.debian.org/debian}
CACHE=${MNP_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnp-tc-image}
[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap in root mode, buildah storage)"

ensure() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed"
  fi
}
ensure mmdebstrap buildah

# The key changes with this script, the suite and the mirror: any of them makes a new root.
KEY=$(printf '%s\n' "$SUITE" "$MIRROR" "$(sha256sum "${BASH_SOURCE[0]}")" | sha256sum | cut -c1-16)
TAR=$CACHE/base-$SUITE-$KEY.tar
mkdir -p "$CACHE"
exec 9>"$CACHE/.base.lock"
flock 9
if [[ ${MNP_IMAGE_REFRESH:-0} == 1 ]]; then rm -f "$TAR"; fi
if [[ ! -s $TAR ]]; then
  log "mmdebstrap $SUITE (minbase) -> $TAR"
  rm -f "$CACHE"/base-"$SUITE"-*.tar
  # Slim like the official image: no manuals, docs or translations.
  mmdebstrap --variant=minbase --format=tar --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$TAR.tmp" "$MIRROR" >&2 || { rm -f "$TAR.tmp"; die "mmdebstrap failed"; }
  mv "$TAR.tmp" "$TAR"
fi

have=$(buildah inspect --type image --format '{{index .ImageAnnotations "io.github.mnp-tc.base-key"}}' "$NAME" 2>/dev/null || true)
if [[ $have == "$KEY" ]]; then
  log "$NAME is the local base (key $KEY)"
  exit 0
fi
log "importing $TAR as $NAME"
ctr=$(buildah from --pull=never scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$ctr" "$TAR" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash \
  --annotation "io.github.mnp-tc.base-key=$KEY" \
  --label "org.opencontainers.image.description=Debian $SUITE minbase made locally by image/base.sh" "$ctr"
buildah commit --quiet --rm "$ctr" "$NAME" >/dev/null
trap - EXIT
log "$NAME imported (key $KEY)"
