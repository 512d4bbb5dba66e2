# dzl — the two commands a fresh machine needs:  make demo   and   make test
SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools
TEMPORAL := $(TOOLS)/bin/temporal
TEMPORAL_CLI_VERSION ?= v1.5.1
TSC := ./node_modules/.bin/tsc
MOCHA := ./node_modules/.bin/mocha
# node-gyp builds better-sqlite3 from source against the local Node headers (no download)
export npm_config_nodedir ?= $(if $(wildcard /usr/include/node/node.h),/usr,)

.PHONY: setup deps temporal-cli browser proto-tools build lint demo demo-processes test test-unit record-histories bench bench-log network clean

setup: deps temporal-cli build

deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The SDK's own server download cannot work offline: the CLI is built from the Go module proxy.
temporal-cli: $(TEMPORAL)
$(TEMPORAL):
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The regulator's page and the bank's H5 page are tested in real headless Chromium (Debian's
# package, driven by playwright-core); a CJK font so their screenshots are legible.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

build: deps
	$(TSC) -p tsconfig.json
	node dist/deploy/bin/bundleWorkflows.js

demo: setup
	node dist/services/demo/demo.js

# The same network as separate OS processes, each party onboarded with its own keys (README);
# the router's store on MariaDB (DZL_DB_URL); DZL_KEEP=1 leaves it running until Ctrl-C
demo-processes: setup
	node dist/services/demo/processDemo.js

# The house rules (eslint.config.mjs): one-way dependencies between folders, no import cycle.
lint: deps
	./node_modules/.bin/eslint services workflows test deploy

# The contracts generate in Go and Java (test/integration/protoc.test.ts): Debian's protoc and
# protobuf-java, and protoc-gen-go built from the Go module proxy into .tools/bin.
PROTOC_GEN_GO_VERSION ?= v1.36.12
proto-tools: $(TOOLS)/bin/protoc-gen-go
	@command -v protoc >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 && test -f /usr/share/java/protobuf.jar || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler libprotobuf-java default-jdk-headless >/dev/null; }
$(TOOLS)/bin/protoc-gen-go:
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

test: setup browser proto-tools lint
	$(MOCHA)

test-unit: build
	$(MOCHA) --spec 'dist/test/unit/**/*.test.js'

# Replay fixtures: the workflow tests' histories, for test/workflow/replay.test.ts. Re-record
# only for a deliberate change of a workflow's shape (and version it, for applications in flight).
record-histories: setup
	rm -rf test/fixtures/histories
	DZL_RECORD_HISTORIES=1 $(MOCHA) --no-config --require dist/test/support/hooks.js --timeout 60000 --exit 'dist/test/workflow/applications.test.js'

bench: setup
	node dist/services/bench/bench.js $(BENCH_ARGS)

# The evidence log alone, grown to 10⁴, 10⁵ and 10⁶ leaves: checkpoint, proofs and a 12-leaf
# bundle side by side (LOG_BENCH_ARGS="--sizes 10000,1000000,10000000" for 10⁷, ~15 min)
bench-log: build
	node dist/services/bench/logBench.js $(LOG_BENCH_ARGS)

# A development network of parties, keys and certificates (see README)
network: build
	node dist/services/cli/dzl.js network init --dir .dzl/network

clean:
	rm -rf dist .dzl .tmp test-artifacts

include deploy/cluster.mk
