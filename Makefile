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

.PHONY: all deps build lint test test-unit test-kernel run render lab-prepare lab-matrix bench clean

all: build

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NODE_MODULES)

build: $(NODE_MODULES)
	rm -rf build
	node_modules/.bin/tsc -p tsconfig.json
	chmod +x build/src/cli/main.js

lint: $(NODE_MODULES)
	node_modules/.bin/tsc -p tsconfig.json --noEmit
	node_modules/.bin/eslint .
	node_modules/.bin/prettier --check .

test-unit: build
	$(MOCHA) --config .mocharc.unit.json

test-kernel: build
	bash test/lab/run.sh 'node_modules/.bin/mocha --config .mocharc.kernel.json'

test: lint test-unit test-kernel

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
