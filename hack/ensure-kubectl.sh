#!/usr/bin/env bash
# The manifest tests render deploy/ with `kubectl kustomize`: install kubectl (Debian's
# kubernetes-client) when the machine has none. CI starts on a bare machine.
set -euo pipefail
command -v "${KUBECTL:-kubectl}" >/dev/null && exit 0
[[ $(id -u) -eq 0 ]] || { echo "ensure-kubectl: kubectl missing; install kubernetes-client (needs root)" >&2; exit 1; }
echo "ensure-kubectl: installing kubernetes-client" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >&2
command -v kubectl >/dev/null
