# h2rpc developer tasks. `make help` lists them.

SHELL := /bin/bash
GO    ?= go
TOOLS := $(CURDIR)/.tools
BIN   := $(CURDIR)/bin

# Pinned external programs, built by `make tools` into .tools/bin. Their
# versions and dependencies are fixed by tools/go.mod and tools/go.sum.

# Fuzzing: FUZZTIME per target in `make test` (brief) and `make fuzz` (long).
FUZZTIME_TEST ?= 3s
FUZZTIME      ?= 60s
# grpc-go's interop client and server, built by `make interop-tools` into
# .tools/grpc-go-VERSION; `go install pkg@version` pins every dependency through
# grpc-go's own go.mod. Its test certificates come from the module cache.
GRPCGO_VERSION ?= v1.85.0
GRPCGO_TOOLS   := $(TOOLS)/grpc-go-$(GRPCGO_VERSION)
# Servers started by `make run`, `make h2spec` and `make interop` listen on
# ports the system picks, so no port needs choosing.

# Long randomized runs: `make stress` runs the lifecycle tests for
# STRESS_DURATION in all, over STRESS_SEEDS random seeds, then the other
# concurrent tests, under -race; `make soak` runs the soak for
# SOAK_DURATION, and `make test` one minute of it (soak-smoke).
STRESS_DURATION     ?= 5m
STRESS_SEEDS        ?= 4
SOAK_DURATION       ?= 10m
SOAK_SMOKE_DURATION ?= 1m

# Packages whose tests flood a server and time its answers and its heap:
# `make unit` runs them alone, after the others, and without the race
# detector, whose slowdown and memory would be measured instead (stream's own
# flood tests run under it), so that a busy machine does not starve the
# attackers they measure.
FLOOD_PKGS := github.com/h2rpc/h2rpc/bench/torture github.com/h2rpc/h2rpc/cmd/h2rpc

# h2rpc bench side by side with ghz (pinned, installed by `make ghz` into
# .tools/ghz-VERSION): the duration of each run and the rounds of `make
# bench-ghz` (part of `make bench`), and of its smoke in `make test`.
GHZ_VERSION              ?= v0.93.0
GHZ                      := $(TOOLS)/ghz-$(GHZ_VERSION)/ghz
BENCH_GHZ_DURATION       ?= 5s
BENCH_GHZ_ROUNDS         ?= 3
BENCH_GHZ_SMOKE_DURATION ?= 1s

# The side-by-side benchmarks against grpc-go (module bench/grpcgo): time per
# benchmark and number of runs of `make compare`.
COMPARE_BENCHTIME ?= 2s
COMPARE_COUNT     ?= 3

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the h2rpc command into bin/.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/h2rpc ./cmd/h2rpc

.PHONY: run
run: build ## The one-minute gossip tour (h2rpc demo): servers found, balanced and dropped as they freeze, die, join and leave.
	@$(BIN)/h2rpc demo

.PHONY: examples
examples: ## Build the example commands and run them: a helloworld call, the route guide's four kinds of call, the auth example's callers over TLS and mTLS, and two cluster servers called through gossip.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./examples/helloworld/greeter_server ./examples/helloworld/greeter_client \
		./examples/route_guide/route_guide_server ./examples/route_guide/route_guide_client \
		./examples/auth/auth_server ./examples/auth/auth_client
	@./scripts/example.sh $(BIN)/greeter_server $(BIN)/greeter_client --name h2rpc
	@./scripts/example.sh $(BIN)/route_guide_server $(BIN)/route_guide_client
	@./scripts/example.sh $(BIN)/auth_server $(BIN)/auth_client
	@./scripts/example.sh $(BIN)/auth_server $(BIN)/auth_client --mtls
	$(GO) build -o $(BIN)/ ./examples/cluster/cluster_server ./examples/cluster/cluster_client
	@./scripts/cluster_example.sh $(BIN)/cluster_server $(BIN)/cluster_client

.PHONY: tools
tools: $(TOOLS)/bin/h2spec $(TOOLS)/bin/staticcheck ## Install pinned external tools into .tools/bin.

$(TOOLS)/bin/h2spec: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLS)/bin
	cd tools && $(GO) build -o $(TOOLS)/bin/h2spec github.com/summerwind/h2spec/cmd/h2spec

$(TOOLS)/bin/staticcheck: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLS)/bin
	cd tools && $(GO) build -o $(TOOLS)/bin/staticcheck honnef.co/go/tools/cmd/staticcheck

# The .proto compilers of `make generate`, one rule: a file that declares
# `edition = "..."` is compiled by buf, a file that declares `syntax =
# "proto2"` or `"proto3"` (or nothing) by protoc. Debian's protoc (3.21)
# predates editions. buf (1.75.0) is pinned, with its checksums, by
# tools/npm/package.json and package-lock.json, and installed from npm into
# .tools/npm (.tools/bin/buf links to it). Both compilers feed the same
# plugins.
.PHONY: protoc
protoc: ## Install protoc (Debian's protobuf-compiler) when it is missing.
	@command -v protoc >/dev/null || { \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y protobuf-compiler; }

.PHONY: buf
buf: $(TOOLS)/bin/buf ## Install buf (pinned by tools/npm) into .tools, for .proto files that declare an edition.

$(TOOLS)/bin/buf: tools/npm/package.json tools/npm/package-lock.json
	@command -v npm >/dev/null || { \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y npm; }
	@mkdir -p $(TOOLS)/npm $(TOOLS)/bin
	cp tools/npm/package.json tools/npm/package-lock.json $(TOOLS)/npm/
	npm ci --prefix $(TOOLS)/npm --ignore-scripts --no-audit --no-fund
	ln -sf ../npm/node_modules/.bin/buf $@
	touch $@
	@$@ --version >/dev/null

$(TOOLS)/bin/protoc-gen-go: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLS)/bin
	cd tools && $(GO) build -o $(TOOLS)/bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go

# The compilers and plugins `make generate` runs: protoc-gen-go pinned by
# tools/go.mod, and protoc-gen-go-h2rpc built from this tree.
.PHONY: protoc-plugins
protoc-plugins: protoc $(TOOLS)/bin/buf $(TOOLS)/bin/protoc-gen-go
	$(GO) build -o $(TOOLS)/bin/protoc-gen-go-h2rpc ./cmd/protoc-gen-go-h2rpc

.PHONY: generate
generate: protoc-plugins ## Regenerate the Go code of every .proto under examples/, interop/, internal/testpb, stub/ and gossip/ (protoc, or buf for editions).
	@./scripts/generate.sh

.PHONY: check-generate
check-generate: protoc-plugins ## Fail when checked-in generated code differs from what its .proto generates.
	@./scripts/generate.sh --check

.PHONY: test
test: tools check-generate vet lint unit examples soak-smoke fuzz-smoke bench-smoke bench-grpcgo-smoke h2spec interop browser ecosystem cluster otel bench-ghz-smoke bench-report ## Run every check that CI runs.

.PHONY: vet
vet: ## gofmt and go vet.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: lint
lint: $(TOOLS)/bin/staticcheck ## staticcheck (pinned) over the core module and bench/grpcgo.
	$(TOOLS)/bin/staticcheck ./...
	cd bench/grpcgo && $(TOOLS)/bin/staticcheck ./...

.PHONY: unit
unit: ## Unit tests under the race detector (the flood tests on their own, after the rest, without it).
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -x -F $(addprefix -e ,$(FLOOD_PKGS)))
	$(GO) test -count=1 -p 1 $(FLOOD_PKGS)

.PHONY: cluster
cluster: $(TOOLS)/bin/staticcheck ## Process-level gossip tests (about 2.5 min): 5 server processes and a client on loopback; kill -9, SIGSTOP, graceful stop, join, load_aware.
	$(GO) vet -tags cluster ./internal/clusterdemo
	$(TOOLS)/bin/staticcheck -tags cluster ./internal/clusterdemo
	$(GO) test -race -tags cluster -count=1 -v -run . ./internal/clusterdemo 2>&1 | grep -v '^=== RUN'; exit $${PIPESTATUS[0]}

.PHONY: stress
stress: ## Lifecycle tests under -race for STRESS_DURATION (default 5m) over STRESS_SEEDS seeds (default 4), and the concurrent tests.
	@./scripts/long.sh stress $(STRESS_DURATION) $(STRESS_SEEDS)

.PHONY: soak
soak: ## Soak: calls of every kind while servers restart and stop, for SOAK_DURATION (default 10m), without -race.
	@./scripts/long.sh soak $(SOAK_DURATION)

.PHONY: soak-smoke
soak-smoke: ## One minute of the soak, without -race (make unit runs two seconds of it under -race).
	@./scripts/long.sh soak $(SOAK_SMOKE_DURATION)

.PHONY: fuzz-smoke
fuzz-smoke: ## Run every fuzz target briefly.
	@./scripts/fuzz.sh $(FUZZTIME_TEST)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 60s).
	@./scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench-smoke
bench-smoke: ## Run every benchmark once, as a test.
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

.PHONY: bench
bench: ## Run the benchmarks (BENCHTIME, default 1s; COUNT, default 1); GOSSIP_SCALE=1 adds make gossip-scale.
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(or $(BENCHTIME),1s) -count=$(or $(COUNT),1) ./...
	$(if $(GOSSIP_SCALE),@$(MAKE) --no-print-directory gossip-scale)

.PHONY: gossip-scale
gossip-scale: build ## Simulate 1,000 members of which 100 are clients, 5 killed: time until every client drops them; then with load announced every 10 s.
	$(BIN)/h2rpc gossip sim --nodes 1000 --clients 100 --kill 5 --duration 60s
	$(BIN)/h2rpc gossip sim --nodes 1000 --clients 100 --kill 5 --duration 60s --load-every 10s

.PHONY: bench-grpcgo-smoke
bench-grpcgo-smoke: ## Vet and test bench/grpcgo (race), and run its grpc-go comparison benchmarks once.
	cd bench/grpcgo && $(GO) vet ./... && $(GO) test -race -count=1 ./... && \
		$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

.PHONY: otel
otel: ## Vet and test the OpenTelemetry module (otel/, its own go.mod), its cross-stack tests against grpc-go and examples/observability, under -race.
	cd otel && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd otel/crossstack && $(GO) vet ./... && $(GO) test -race -count=1 ./... && $(GO) test -run='^$$' -bench=. -benchtime=1x ./...
	cd examples/observability && $(GO) vet ./... && $(GO) test -race -count=1 ./...

.PHONY: compare
compare: ## Benchmark h2rpc against grpc-go (COMPARE_BENCHTIME, COMPARE_COUNT) and print the table.
	@mkdir -p $(BIN)
	cd bench/grpcgo && set -o pipefail && \
		$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(COMPARE_BENCHTIME) -count=$(COMPARE_COUNT) . | tee $(BIN)/compare.txt
	@echo
	cd bench/grpcgo && $(GO) run ./cmd/compare $(BIN)/compare.txt

.PHONY: compare-web
compare-web: ## make compare with a fallback HTTP handler and gRPC-Web on h2rpc's server: plain gRPC calls must cost the same.
	H2RPC_COMPARE_WEB=1 $(MAKE) compare

.PHONY: h2spec
h2spec: build tools ## Run h2spec (all cases) against `h2rpc interop-server` over h2c and TLS; fails on any failure.
	@./scripts/h2spec.sh $(BIN)/h2rpc $(TOOLS)/bin/h2spec
	@./scripts/h2spec.sh $(BIN)/h2rpc $(TOOLS)/bin/h2spec tls

.PHONY: interop-tools
interop-tools: $(GRPCGO_TOOLS)/client $(GRPCGO_TOOLS)/server ## Install grpc-go's interop client and server (pinned) into .tools/grpc-go-VERSION.

$(GRPCGO_TOOLS)/client $(GRPCGO_TOOLS)/server &:
	@mkdir -p $(GRPCGO_TOOLS)
	GOBIN=$(GRPCGO_TOOLS) $(GO) install google.golang.org/grpc/interop/client@$(GRPCGO_VERSION) google.golang.org/grpc/interop/server@$(GRPCGO_VERSION)

.PHONY: interop
interop: build interop-tools ## Run the interop cases: grpc-go <-> h2rpc both ways and h2rpc <-> h2rpc, h2c and TLS.
	@./scripts/interop.sh $(BIN)/h2rpc $(GRPCGO_TOOLS)/client $(GRPCGO_TOOLS)/server \
		"$$(cd tools && $(GO) mod download -json google.golang.org/grpc@$(GRPCGO_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')/testdata"

# The browser test: headless Chromium (Debian's chromium, installed when
# missing) loads a page from the fallback handler of an h2rpc server and
# calls it with gRPC-Web through @connectrpc/connect-web (binary) and
# grpc-web's runtime (text). The npm packages (and esbuild, which bundles
# the page) are pinned, with their checksums, by tools/web/package.json
# and package-lock.json, and installed into .tools/web.
WEB_TOOLS := $(TOOLS)/web

.PHONY: chromium
chromium: ## Install headless Chromium (Debian's chromium) when it is missing.
	@command -v chromium >/dev/null || { \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y chromium; }

$(WEB_TOOLS)/installed: tools/web/package.json tools/web/package-lock.json
	@command -v npm >/dev/null || { \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y npm; }
	@mkdir -p $(WEB_TOOLS)
	cp tools/web/package.json tools/web/package-lock.json $(WEB_TOOLS)/
	npm ci --prefix $(WEB_TOOLS) --ignore-scripts --no-audit --no-fund
	@$(WEB_TOOLS)/node_modules/.bin/esbuild --version >/dev/null
	touch $@

.PHONY: browser
browser: chromium $(WEB_TOOLS)/installed ## gRPC-Web from headless Chromium (connect-web binary, grpc-web text) against a server over HTTP/1.1 and HTTP/2.
	H2RPC_WEB_TOOLS=$(WEB_TOOLS) $(GO) test -race -count=1 -tags browser -run '^TestBrowser$$' ./interop

# Ecosystem tools driven against h2rpc's health, reflection and
# credentials by `make ecosystem`: grpcurl and grpc-health-probe, each
# pinned by `go install pkg@version` (their own go.mod pins the rest).
GRPCURL_VERSION      ?= v1.9.3
HEALTH_PROBE_VERSION ?= v0.4.62

.PHONY: ecosystem-tools
ecosystem-tools: $(TOOLS)/bin/grpcurl-$(GRPCURL_VERSION) $(TOOLS)/bin/grpc-health-probe-$(HEALTH_PROBE_VERSION) ## Install grpcurl and grpc-health-probe (pinned) into .tools/bin.

$(TOOLS)/bin/grpcurl-$(GRPCURL_VERSION):
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	mv $(TOOLS)/bin/grpcurl $@

$(TOOLS)/bin/grpc-health-probe-$(HEALTH_PROBE_VERSION):
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install github.com/grpc-ecosystem/grpc-health-probe@$(HEALTH_PROBE_VERSION)
	mv $(TOOLS)/bin/grpc-health-probe $@

# The paths of the two tools, for the tests of bench/grpcgo/ecosystem, which
# run `make ecosystem-env` to install the tools and find them.
.PHONY: ecosystem-env
ecosystem-env: ecosystem-tools
	@echo H2RPC_GRPCURL=$(TOOLS)/bin/grpcurl-$(GRPCURL_VERSION)
	@echo H2RPC_HEALTH_PROBE=$(TOOLS)/bin/grpc-health-probe-$(HEALTH_PROBE_VERSION)

.PHONY: ecosystem
ecosystem: build ecosystem-tools ## grpcurl (pinned) against `h2rpc interop-server` through reflection, over h2c and TLS; bench-grpcgo-smoke runs the rest (bench/grpcgo/ecosystem).
	@./scripts/grpcurl.sh $(BIN)/h2rpc $(TOOLS)/bin/grpcurl-$(GRPCURL_VERSION)
	@./scripts/grpcurl.sh $(BIN)/h2rpc $(TOOLS)/bin/grpcurl-$(GRPCURL_VERSION) tls

.PHONY: ghz
ghz: $(GHZ) ## Install ghz (pinned, GHZ_VERSION) into .tools/ghz-VERSION.

$(GHZ):
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

.PHONY: bench-tools
bench-tools: build ## Build h2rpc and h2rpc-bench-grpcgo (grpc-go's client under h2rpc bench's generator, for --compare) into bin/.
	cd bench/grpcgo && $(GO) build -o $(BIN)/h2rpc-bench-grpcgo ./cmd/h2rpc-bench-grpcgo

.PHONY: bench-ghz
bench-ghz: bench-tools ghz interop-tools ## h2rpc bench vs ghz, 64 concurrent calls on 1 and 4 connections, against grpc-go's and h2rpc's interop servers, alternating.
	@./scripts/bench-ghz.sh $(BIN)/h2rpc $(GHZ) $(GRPCGO_TOOLS)/server $(BENCH_GHZ_DURATION) $(BENCH_GHZ_ROUNDS)

.PHONY: bench-ghz-smoke
bench-ghz-smoke: bench-tools ghz interop-tools ## One short round of bench-ghz; fails unless every contender made calls.
	@./scripts/bench-ghz.sh --check $(BIN)/h2rpc $(GHZ) $(GRPCGO_TOOLS)/server $(BENCH_GHZ_SMOKE_DURATION) 1

# make bench runs the ghz comparison too.
bench: bench-ghz

.PHONY: compare-bench
compare-bench: bench-tools interop-tools ## h2rpc bench --compare grpc-go --serve h2rpc,grpc-go: both clients against both servers, alternating.
	$(BIN)/h2rpc bench --serve h2rpc,grpc-go --grpcgo-server $(GRPCGO_TOOLS)/server --compare grpc-go --insecure -q \
		--call grpc.testing.TestService.UnaryCall --payload-size 1 -c 64 --connections 1 -z $(BENCH_GHZ_DURATION) --rounds $(BENCH_GHZ_ROUNDS)

# make compare runs the client and server comparison of h2rpc bench too.
compare: compare-bench

# The chromium target (above) installs the browser.
.PHONY: bench-report
bench-report: chromium ## Render h2rpc bench's HTML report in headless Chromium and check its charts (a screenshot).
	$(GO) test -race -count=1 -tags chromium -run '^TestHTMLReportInChromium$$' ./bench/

.PHONY: clean
clean: ## Remove build output and installed tools.
	rm -rf $(BIN) $(TOOLS)
