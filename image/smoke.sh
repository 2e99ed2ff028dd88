#!/usr/bin/env bash
# CI's run of the built image on the host (make test-image), through image/run.sh since no container
# runtime works on these machines: the version, the image's contents, that its node accepts the
# DaemonSet's NODE_OPTIONS, and `render` of a manifests
# directory byte-equal to the host build's, for every node in it and both formats.
#   image/smoke.sh [MANIFESTS]   (default examples/manifests; needs make build and make image-rootfs)
set -uo pipefail
cd "$(dirname "$0")/.."

manifests=$(cd "${1:-examples/manifests}" && pwd)
version=$(node -p 'require("./package.json").version')
dir=$(bash image/rootfs.sh --path) || exit 1
run() { bash image/run.sh -b "$manifests:/run/manifests" "$@"; }
passed=0 failed=0
check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name"
    printf '%s\n' "$out" | head -40 | sed 's/^/    /'
  fi
}

same() { [[ $1 == "$2" ]] || { echo "expected '$2', got '$1'"; return 1; }; }
check "--version prints package.json's version ($version)" same "$(run --version)" "$version"
check "the version label is package.json's version" same "$(cat "$dir/version-label")" "$version"
check "the agent runs as root with CAP_NET_ADMIN alone" same \
  "$(run -e /bin/grep -- CapEff /proc/self/status | awk '{print $2}')" 0000000000001000
tc_ok() {
  local v
  v=$(run -e /usr/sbin/tc -- -V) || return 1
  echo "$v"
  [[ $v =~ iproute2-([0-9]+)\.([0-9]+) ]] && ((BASH_REMATCH[1] > 6 || (BASH_REMATCH[1] == 6 && BASH_REMATCH[2] >= 1)))
}
check "tc is iproute2 >= 6.1" tc_ok
node_ok() {
  local v
  v=$(run -e /usr/bin/node -- --version) || return 1
  echo "$v"
  [[ $v =~ ^v([0-9]+)\.([0-9]+) ]] && ((BASH_REMATCH[1] > 20 || (BASH_REMATCH[1] == 20 && BASH_REMATCH[2] >= 19)))
}
check "node is >= 20.19" node_ok
# The DaemonSet's NODE_OPTIONS (heap caps, --expose-gc for the idle GC): a flag the image's node
# refuses in NODE_OPTIONS would stop the agent from starting at all.
node_options_ok() {
  local opts
  opts=$(node -e 'const y = require("yaml"); for (const d of y.parseAllDocuments(require("fs").readFileSync("deploy/daemonset.yaml", "utf8"))) { const c = d.toJS()?.spec?.template?.spec?.containers ?? []; for (const x of c) for (const e of x.env ?? []) if (e.name === "NODE_OPTIONS") console.log(e.value); }') || return 1
  [[ -n $opts ]] || { echo "no NODE_OPTIONS in deploy/daemonset.yaml"; return 1; }
  echo "NODE_OPTIONS=$opts"
  run -e /usr/bin/env -- "NODE_OPTIONS=$opts" /usr/bin/node -e 'if (typeof gc !== "function") { console.error("no gc"); process.exit(1); }'
}
check "node in the image accepts the DaemonSet's NODE_OPTIONS" node_options_ok
no_dev_deps() {
  local d
  for d in typescript mocha eslint; do
    [[ ! -e $dir/root/opt/multi-networkpolicy-tc/node_modules/$d ]] || { echo "dev dependency $d in the image"; return 1; }
  done
}
check "the image holds no dev dependencies" no_dev_deps
check "the image holds deploy/crds as in the repository" \
  diff -r deploy/crds "$dir/root/opt/multi-networkpolicy-tc/deploy/crds"

render_same() {
  local node=$1 format=$2 host image
  host=$(node build/src/cli/main.js render --manifests "$manifests" --hostname-override "$node" --format "$format") || return 1
  image=$(run render --manifests /run/manifests --hostname-override "$node" --format "$format") || return 1
  [[ -n $host ]] || { echo "empty render"; return 1; }
  diff <(echo "$host") <(echo "$image")
}
nodes=$(node -e '
  const { readFileSync, readdirSync } = require("node:fs");
  const dir = process.argv[1];
  const names = new Set();
  for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)))
    for (const m of readFileSync(`${dir}/${f}`, "utf8").matchAll(/^kind: Node\s*\n(?:.*\n)*?\s+name: (\S+)/gm)) names.add(m[1]);
  console.log([...names].sort().join(" "));
' "$manifests")
[[ -n $nodes ]] || { echo "not ok - no Node objects in $manifests"; failed=$((failed + 1)); }
for n in $nodes; do
  for f in tc json; do check "render --hostname-override $n --format $f equals the host build's" render_same "$n" "$f"; done
done

echo "image: $passed passed, $failed failed"
((failed == 0))
