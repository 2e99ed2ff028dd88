#!/usr/bin/env bash
# Builds the agent's image from the Dockerfile, tagged with package.json's version.
#   IMAGE       image name (default multi-networkpolicy-tc; buildah and podman add localhost/)
#   IMAGE_TOOL  docker | podman | buildah | auto (default: docker if its engine answers, else buildah)
# With buildah the base image is made locally from Debian packages (image/base.sh), because these
# machines reach no container registry; docker and podman pull the normal base.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: ERROR: %s\n' "$*" >&2; exit 1; }

VERSION=$(node -p 'require("./package.json").version')
IMAGE=${IMAGE:-multi-networkpolicy-tc}
TOOL=${IMAGE_TOOL:-auto}
if [[ $TOOL == auto ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then TOOL=docker; else TOOL=buildah; fi
fi

case $TOOL in
  docker | podman)
    log "$TOOL build $IMAGE:$VERSION"
    "$TOOL" build --build-arg "VERSION=$VERSION" -t "$IMAGE:$VERSION" .
    ;;
  buildah)
    bash image/base.sh
    log "buildah bud $IMAGE:$VERSION (chroot isolation, cached layers)"
    # The host's CA bundle for npm, where a proxy re-signs TLS (see the Dockerfile's npm ci step).
    ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
    ca_mount=()
    if [[ -n $ca && $ca != null && -s $ca ]]; then ca_mount=(--volume "$ca:/run/build-ca/ca.crt:ro"); fi
    # chroot isolation: RUN steps need no container runtime; --layers reuses unchanged steps.
    buildah bud --layers --pull=never --isolation chroot --network host "${ca_mount[@]}" \
      --build-arg "VERSION=$VERSION" -t "$IMAGE:$VERSION" .
    ;;
  *) die "IMAGE_TOOL must be docker, podman, buildah or auto (got $TOOL)" ;;
esac
log "built $IMAGE:$VERSION with $TOOL"
