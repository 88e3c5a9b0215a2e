# The README's commands, and the project's checks.
GO ?= go

.PHONY: run test test-postgres generate lint check-generated spec-diff spec-lint build bench bench-go bench-load bench-hostile bench-drivers bench-deps docs-assets

# Extra flags of batchesbench, e.g. BENCH_FLAGS='--load-duration=5s --go-count=1'.
BENCH_FLAGS ?=
# Flags of batchesbench hostile, e.g. HOSTILE_FLAGS='--duration=10s --slow-readers=1000'.
HOSTILE_FLAGS ?=
# apt-get needs root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

run: ## Start the reference server with the demo data on ./data/batches.db
	$(GO) run ./cmd/batchesd

test: ## Run every test (the PostgreSQL ones only if BATCHES_TEST_DATABASE_URL is set)
	$(GO) test ./...

test-postgres: ## Run every test on SQLite and PostgreSQL: on BATCHES_TEST_DATABASE_URL if set, else on a throwaway local cluster
	@if [ -n "$$BATCHES_TEST_DATABASE_URL" ]; then $(GO) test -count=1 ./...; else .ci/with-postgres $(GO) test -count=1 ./...; fi

generate: ## Regenerate generated/ from openapi.yaml
	$(GO) generate ./...

lint: ## gofmt, go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

check-generated: generate ## Fail when generated code is out of step with openapi.yaml
	@git diff --exit-code -- generated/ || { echo "generated/ is out of step with openapi.yaml: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- generated/)" || { git status --porcelain -- generated/; echo "go generate left untracked files"; exit 1; }

# The versions of spec-diff: FROM (default the last release kept in
# .ci/contract) and TO (default openapi.yaml), e.g. FROM=1.0.0 TO=2.0.0.
FROM ?=
TO ?=

spec-diff: ## The changelog of the contract between two versions (FROM, TO; default the last release and openapi.yaml), by oasdiff
	@.ci/spec-diff $(FROM) $(TO)

spec-lint: ## The contract's independent checks, as CI runs them: Redocly lint, the breaking-change guard, the openapi-typescript check (needs node and npm)
	@.ci/spec-checks

build: ## Build both binaries into ./bin
	$(GO) build -o bin/ ./cmd/...

# The load run measures PostgreSQL's rows on BATCHES_TEST_DATABASE_URL when
# it is set, else on a throwaway local cluster (.ci/with-postgres).
WITH_POSTGRES := $(if $(BATCHES_TEST_DATABASE_URL),,.ci/with-postgres)

bench: bench-deps ## Go benchmarks and the loopback load run (SQLite and PostgreSQL), as ratios to a bare baseline, then the hostile-clients run, into BENCHMARKS.md (about 30 minutes)
	$(WITH_POSTGRES) $(GO) run ./cmd/batchesbench all --write BENCHMARKS.md $(BENCH_FLAGS)
	$(GO) run ./cmd/batchesbench hostile --write BENCHMARKS.md $(HOSTILE_FLAGS)

bench-hostile: bench-deps ## Only the hostile-clients run (about 8 minutes)
	$(GO) run ./cmd/batchesbench hostile $(HOSTILE_FLAGS)

bench-go: ## Only the Go benchmarks (in process), with their ratios
	$(GO) run ./cmd/batchesbench go $(BENCH_FLAGS)

bench-load: bench-deps ## Only the load run: wrk against batchesd and the baseline
	$(WITH_POSTGRES) $(GO) run ./cmd/batchesbench load $(BENCH_FLAGS)

bench-drivers: bench-deps ## The SQLite drivers compared (requests/s, first page, cold build, binary size), into BENCHMARKS.md (about 15 minutes; the cgo one needs gcc)
	$(GO) run ./cmd/batchesbench drivers --write BENCHMARKS.md

bench-deps: ## Install wrk from Debian's packages when it is missing
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }

docs-assets: ## Refresh the API reference page's renderer (Redoc's bundle) from npm into api/docs; REDOC_VERSION to change it
	api/docs/update.sh $(REDOC_VERSION)
