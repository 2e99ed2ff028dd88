# The node agent's image. Two stages: the builder compiles with the full npm tree; the runtime holds
# Debian's nodejs and iproute2, the production dependencies, build/ and deploy/crds (the agent
# validates objects against them). `make image` passes VERSION (package.json) and, where no registry
# is reachable, a BASE_IMAGE made locally from Debian packages under the same name (image/base.sh).
ARG BASE_IMAGE=docker.io/library/debian:trixie-slim

FROM ${BASE_IMAGE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is reused while package-lock.json is unchanged.
COPY package.json package-lock.json ./
# Behind a TLS-intercepting proxy, image/build.sh mounts the host's CA bundle here (RUN-time only,
# never in a layer); elsewhere the file is absent and npm uses the system CAs.
RUN if [ -s /run/build-ca/ca.crt ]; then export NODE_EXTRA_CA_CERTS=/run/build-ca/ca.crt; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
ARG VERSION
RUN test -n "$VERSION" && test "$VERSION" = "$(node -p 'require("./package.json").version')" \
 || { echo "VERSION build-arg must equal package.json's version" >&2; exit 1; }
COPY hack/copy-kube-config.js ./hack/
RUN node_modules/.bin/tsc -p tsconfig.json \
 && node hack/copy-kube-config.js \
 && chmod +x build/src/cli/main.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
# iproute2 >= 6.1 for tc's flower/ct options and its JSON output; trixie has 6.15.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs iproute2 \
 && rm -rf /var/lib/apt/lists/* \
 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) process.exit(1)' \
 && tc -V | awk '{ split($3, v, "-"); split(v[2], n, "."); exit !(n[1] > 6 || (n[1] == 6 && n[2] >= 1)) }'
WORKDIR /opt/multi-networkpolicy-tc
COPY --from=builder /src/package.json ./
COPY --from=builder /src/node_modules ./node_modules
COPY --from=builder /src/build/src ./build/src
COPY deploy/crds ./deploy/crds
ARG VERSION
LABEL org.opencontainers.image.title="multi-networkpolicy-tc" \
      org.opencontainers.image.description="MultiNetworkPolicy enforcement with TC flower on SR-IOV switchdev VF representors" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# Root, because tc on the host's representors needs CAP_NET_ADMIN; the DaemonSet drops every
# other capability.
USER 0:0
ENTRYPOINT ["node", "/opt/multi-networkpolicy-tc/build/src/cli/main.js"]
