# Agentbot Gateway. `make run` and `make test` are all a newcomer needs.
GO      ?= go
BIN     := bin
PKGS    := ./...
# Every Go module here: the gateway (.), the SDK kits in sdk/ and the examples,
# each with its own go.mod (RATIONALE.md, "The SDK is its own modules").
# `go test ./...` stops at a nested go.mod, so vet, test and bench run in each.
MODULES := $(sort $(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './bin/*' \
             -not -path '*/node_modules/*' -not -path '*/testdata/*')))
# $(call each,CMD) runs CMD in every module, stopping at the first failure.
each = @for m in $(MODULES); do echo "[$$m] $(1)"; (cd $$m && $(1)) || exit 1; done

.PHONY: all build run test test-short fuzz endpoints openapi bench as-deps bench-load test-faults profile lint fmt vet check clean proto stripe-mock

all: build

# The gateway, the first-party provider plugins it loads from bin/plugins, and
# the shipped skills (WebAssembly reactors) it registers from bin/skills.
build:
	@mkdir -p $(BIN)/plugins $(BIN)/skills
	$(GO) build -o $(BIN)/agentbot ./cmd/agentbot
	$(GO) build -o $(BIN)/plugins/agentbot-ai ./plugins/ai/cmd/agentbot-ai
	$(GO) build -o $(BIN)/plugins/agentbot-rendermcp ./plugins/rendermcp/cmd/agentbot-rendermcp
	$(GO) build -o $(BIN)/plugins/agentbot-wallet ./plugins/wallet/cmd/agentbot-wallet
	@for m in skills/shipped/*/manifest.json; do \
	  [ -f "$$m" ] || continue; d=$$(dirname $$m); n=$$(basename $$d); \
	  echo "GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(BIN)/skills/$$n.wasm ./$$d"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(BIN)/skills/$$n.wasm ./$$d || exit 1; \
	  cp $$m $(BIN)/skills/$$n.json; \
	done

# Regenerates the provider protocol's Go code (needs protoc, protoc-gen-go
# v1.36.12 and protoc-gen-go-grpc v1.6.0 on PATH; the output is committed).
proto:
	cd sdk/provider/internal/pb && PATH="$$PATH:$$($(GO) env GOPATH)/bin" protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative provider.proto

# Serves on 127.0.0.1:8080 with SQLite in ./data and dev mode on.
run: build
	AGENTBOT_DEV=$${AGENTBOT_DEV:-true} ./$(BIN)/agentbot serve

# Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 for the
# database and rate-limit tests; they are skipped without them, unless CI=true.
# The billing tests run against stripe-mock, installed here when missing.
test: build stripe-mock
	$(call each,$(GO) vet $(PKGS))
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(call each,$(GO) test -race -count=1 -timeout 20m $(PKGS))
	GO=$(GO) FUZZJOBS=$${FUZZJOBS:-2} ./tools/fuzz.sh $(FUZZ_SHORT)

# Every fuzz target in turn, FUZZTIME each (tools/fuzz.sh; FUZZ_ONLY=core/mpp
# narrows it to matching packages). `make test` runs them for FUZZ_SHORT each;
# plain `go test` replays their seeds and testdata/fuzz crashers.
FUZZTIME   ?= 60s
FUZZ_SHORT ?= 2s
FUZZ_ONLY  ?=
fuzz:
	GO=$(GO) ./tools/fuzz.sh $(FUZZTIME) $(FUZZ_ONLY)

# Rewrites the README's endpoint list from the route table.
endpoints:
	UPDATE_README=1 $(GO) test -count=1 -run '^TestREADMEListsEveryRoute$$' ./internal/e2e

# Rewrites docs/openapi.json, the OpenAPI 3.1 document of the route table
# (GET /api/openapi.json serves the same, with the server's rate limits).
openapi:
	UPDATE_OPENAPI=1 $(GO) test -count=1 -run '^TestOpenAPIDocument$$' ./internal/e2e

# Stripe's official API mock, for the billing tests (found on PATH or in $(go env GOPATH)/bin).
STRIPE_MOCK := github.com/stripe/stripe-mock@v0.203.0
stripe-mock:
	@command -v stripe-mock >/dev/null 2>&1 || [ -x "$$($(GO) env GOPATH)/bin/stripe-mock" ] || \
	  { echo "$(GO) install $(STRIPE_MOCK)"; $(GO) install $(STRIPE_MOCK); }

test-short:
	$(call each,$(GO) test -count=1 $(PKGS))

# Side-by-side comparisons, printed as ratios against a baseline measured in the same run.
# BenchmarkSkillGuests (internal/e2e) builds the AssemblyScript example with its pinned
# compiler, so its npm dependencies are installed first when npm is there (skipped otherwise).
bench: as-deps
	@mkdir -p $(BIN)
	@for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)); done \
	  | tee $(BIN)/bench.txt | $(GO) run ./tools/benchratio

# The gateway under concurrent load beside its floors, measured in one run
# (internal/e2e TestLoad, tools/load): throughput and latency percentiles,
# 512 concurrent SSE streams, each goal with its figure.
bench-load: build
	AGENTBOT_LOAD=1 $(GO) test -count=1 -run '^TestLoad$$' -v -timeout 10m ./internal/e2e

# Two gateway nodes on one PostgreSQL and one Redis (internal/e2e): global
# rate limits, key revocation across nodes, SIGKILL under load, a Telegram bot
# handed over. `make test` runs them too.
test-faults:
	$(GO) test -count=1 -run '^(TestFaultsTwoNodes|TestChannelsTwoNodesOneTelegramBot|TestKilledProviderUnderLoad)$$' -v ./internal/e2e

# CPU and allocation profiles of the gateway under the load of bench-load,
# in $(BIN)/profile; the hottest functions are printed.
profile: build
	AGENTBOT_LOAD=1 AGENTBOT_LOAD_PROFILE=$(abspath $(BIN))/profile $(GO) test -count=1 -run '^TestLoad$$' -timeout 10m ./internal/e2e
	$(GO) tool pprof -top -nodecount=40 $(BIN)/profile/cpu.pprof | head -50
	$(GO) tool pprof -top -sample_index=alloc_space -nodecount=25 $(BIN)/profile/allocs.pprof | head -35

# The AssemblyScript skill SDK's and example's npm dependencies (assemblyscript, pinned
# in their lockfiles), installed once; without npm the tests that need them skip.
AS_DIRS := sdk/skill-as examples/skill-hello-as
as-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  for d in $(AS_DIRS); do [ -d $$d/node_modules/assemblyscript ] || \
	    { echo "(cd $$d && npm ci)"; (cd $$d && npm ci --no-audit --no-fund --silent) || exit 1; }; done; \
	else echo "as-deps: no npm; the AssemblyScript skill tests and benchmark are skipped"; fi

lint: vet
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(call each,$(GO) vet $(PKGS))

fmt:
	gofmt -w .

clean:
	rm -rf $(BIN)
