# Agentbot Gateway. `make run` and `make test` are all a newcomer needs.
GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: all build run test test-short bench lint fmt vet check clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/agentbot ./cmd/agentbot

# Serves on 127.0.0.1:8080 with SQLite in ./data and dev mode on.
run: build
	AGENTBOT_DEV=$${AGENTBOT_DEV:-true} ./$(BIN)/agentbot serve

# Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 for the
# database and rate-limit tests; they are skipped without them, unless CI=true.
test: build
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -race -count=1 $(PKGS)

test-short:
	$(GO) test -count=1 $(PKGS)

# Side-by-side comparisons, printed as ratios against a baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS) | tee $(BIN)/bench.txt | $(GO) run ./tools/benchratio

lint: vet
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

clean:
	rm -rf $(BIN)
