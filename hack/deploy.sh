#!/usr/bin/env bash
# make deploy / make undeploy: apply deploy/ with the image named by IMAGE (default: the one
# kustomization.yaml names) and package.json's version; remove the agent again.
#   hack/deploy.sh apply|render|delete
# delete keeps the CRDs: removing them deletes every MultiNetworkPolicy and
# NetworkAttachmentDefinition in the cluster (see docs/operations.md, Uninstall).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(node -p 'require("./package.json").version')
DEFAULT_IMAGE=localhost/multi-networkpolicy-tc
IMAGE=${IMAGE:-$DEFAULT_IMAGE}
KUBECTL=${KUBECTL:-kubectl}

render() {
  # An overlay on deploy/ that renames the image kustomization.yaml sets. It lives under build/
  # (compiled output, wiped by make build) because kustomize takes no absolute path to a base.
  local tmp=build/deploy-overlay
  mkdir -p "$tmp"
  cat >"$tmp/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../deploy
images:
  - name: $DEFAULT_IMAGE
    newName: $IMAGE
    newTag: "$VERSION"
YAML
  "$KUBECTL" kustomize "$tmp"
}

case ${1:-} in
  render) render ;;
  apply) render | "$KUBECTL" apply -f - ;;
  delete) "$KUBECTL" delete --ignore-not-found -f deploy/daemonset.yaml -f deploy/rbac.yaml ;;
  *) echo "usage: $0 apply|render|delete" >&2; exit 2 ;;
esac
