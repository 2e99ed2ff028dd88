# multi-networkpolicy-tc — build, lint and test entry points.
# `make test` is the whole suite: lint, unit/property tests on the host, then kernel tests in the QEMU lab.

SHELL := /bin/bash
NODE_MODULES := node_modules/.installed
MOCHA := node_modules/.bin/mocha
MANIFESTS ?= examples/manifests
NODE ?= worker-1
PROTOCOL ?= TCP
PORT ?= 80
NETWORK ?=

.PHONY: all deps build lint test test-unit test-kernel soak run render lab-prepare lab-matrix bench clean

all: build

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NODE_MODULES)

build: $(NODE_MODULES)
	rm -rf build
	node_modules/.bin/tsc -p tsconfig.json
	node hack/copy-kube-config.js
	chmod +x build/src/cli/main.js

lint: $(NODE_MODULES)
	node_modules/.bin/tsc -p tsconfig.json --noEmit
	node_modules/.bin/eslint .
	node_modules/.bin/prettier --check .

test-unit: build tools
	$(MOCHA) --config .mocharc.unit.json

test-kernel: build image-rootfs
	bash test/lab/netdevsim.sh
	MNP_LAB_TIMEOUT=$${MNP_LAB_TIMEOUT:-3600} bash test/lab/run.sh 'node_modules/.bin/mocha --config .mocharc.kernel.json'

test: lint test-unit test-image test-kernel

# The long churn soak in the kernel lab (make test runs a short one): SOAK_STEPS changes or
# SOAK_SECONDS, whichever comes first; SOAK_SEED replays a run. See docs/reliability.md.
SOAK_STEPS ?= 2000
SOAK_SECONDS ?= 1800
soak: build
	bash test/lab/run.sh 'SOAK_STEPS=$(SOAK_STEPS) SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED) )node_modules/.bin/mocha --timeout 0 build/test/kernel/churn.test.js'

# The main job on the embedded default: the example manifests, no cluster needed.
run: build
	node build/src/cli/main.js show --manifests $(MANIFESTS)
	node build/src/cli/main.js render --manifests $(MANIFESTS) --hostname-override $(NODE)
	node build/src/cli/main.js explain --manifests $(MANIFESTS) --matrix --network app/accel-net --protocol TCP --port 8080

render: build
	node build/src/cli/main.js render --manifests $(MANIFESTS) --hostname-override $(NODE)

lab-prepare:
	bash test/lab/prepare.sh

# Observed truth table in the kernel lab; compare with `explain --matrix --format json` using diff.
# PROTOCOL, PORT and NETWORK take comma-separated lists (all combinations, one boot). The VM sees
# only the project directory (its /tmp is its own), so the manifests are copied into build/ first.
LAB_MANIFESTS := build/lab-matrix-manifests
lab-matrix:
	@test -d "$(MANIFESTS)" || { echo "lab-matrix: manifests directory $(MANIFESTS) does not exist" >&2; exit 1; }
	@$(MAKE) -s build >&2
	@rm -rf $(LAB_MANIFESTS) && mkdir -p $(LAB_MANIFESTS) && cp -R "$(MANIFESTS)/." $(LAB_MANIFESTS)/
	@bash test/lab/run.sh 'node build/test/kernel/lab/lab-matrix.js $(LAB_MANIFESTS) $(PROTOCOL) $(PORT) $(NETWORK)'

bench: build
	node build/bench/run-all.js

clean:
	rm -rf build

# ---- image and deployment (docs/operations.md)
VERSION = $(shell node -p 'require("./package.json").version')
IMAGE ?= localhost/multi-networkpolicy-tc
export IMAGE

.PHONY: help image image-rootfs test-image deploy undeploy tools

help:
	@echo 'make targets:'
	@echo '  build          compile TypeScript into build/'
	@echo '  lint           tsc --noEmit, eslint, prettier --check'
	@echo '  test           lint, unit tests, the image checks and the kernel tests (the CI run)'
	@echo '  test-unit      unit/property tests and the manifest tests (host)'
	@echo '  test-image     run the built image: --version, render equals the host build'
	@echo '  test-kernel    kernel tests in the QEMU lab, the image'"'"'s agent among them'
	@echo '  run / render   the agent'"'"'s offline tools on MANIFESTS (default examples/manifests)'
	@echo '  lab-prepare    install the kernel lab (test/lab/prepare.sh)'
	@echo '  lab-matrix     observed truth table in the lab'
	@echo '  bench          benchmarks (bench/)'
	@echo '  image          build IMAGE:VERSION ($(IMAGE):$(VERSION)); IMAGE_TOOL=docker|podman|buildah'
	@echo '  image-rootfs   unpack the image for image/run.sh and the lab'
	@echo '  deploy         kubectl apply deploy/ with IMAGE:VERSION'
	@echo '  undeploy       delete the DaemonSet and RBAC (the CRDs and the filters stay)'
	@echo '  clean          remove build/'

image:
	bash image/build.sh

image-rootfs: image
	bash image/rootfs.sh

# The image run without a container runtime (image/run.sh): --version, and render equal to the host build's.
test-image: build image-rootfs
	bash image/smoke.sh $(MANIFESTS)

deploy: tools
	bash hack/deploy.sh apply

undeploy: tools
	bash hack/deploy.sh delete

tools:
	@bash hack/ensure-kubectl.sh
