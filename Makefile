# archtics: see README.md. Every target works on a fresh clone.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/archtics
# archtics runs this program to publish Iceberg tables (found beside it).
ICEBERG_BIN := bin/archtics-iceberg
DEMO_DIR ?= ./demo
# The demo's hourly incrementals: empty for a game day (about a minute and a
# half), 168 for the simulated week of the seed's story (about ten minutes).
HOURS ?=
# The bench-scale warehouse (25 M rows, 727 MiB of Parquet), built once by
# `make bench-data` and reused by every `make bench`; rm -rf it to rebuild.
BENCH_DATA ?= bench-data

# The S3 endpoint for tests and benchmarks: localstack/start launches
# LocalStack (Docker) or moto_server and writes the URL it chose here.
ENDPOINT_FILE := localstack/.run/endpoint
TEST_ENV = AWS_ENDPOINT_URL=$$(cat $(ENDPOINT_FILE)) \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} \
	AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test} \
	AWS_REGION=$${AWS_REGION:-us-east-1} \
	ARCHTICS_TEST_BUCKET=archtics-test

.PHONY: all build run test browser test-race bench bench-page bench-data lint clean testdata fuzz-clone reliability fuzz interop

all: build

build:
	@[ -x $(BIN) ] || echo "building $(BIN): the first build compiles DuckDB's driver, Arrow, the AWS SDK and iceberg-go (about 3 to 4 minutes on 2 cores, plus the module downloads on a fresh machine); later builds take seconds"
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/archtics
	$(GO) build -o $(ICEBERG_BIN) ./cmd/archtics-iceberg

## run: the end-to-end demo on the embedded default (a local folder, the simulator as source); HOURS=168 for the simulated week
run: build
	./$(BIN) demo --dir $(DEMO_DIR) $(if $(HOURS),--hours $(HOURS))

# The packages the race detector runs on in make test: those with
# goroutines of their own whose tests stay short under it (storage with
# S3, the dedup engine) and the small ones around them. Left out:
# stages/changes (no goroutines of its own, and the slowest under it),
# the packages that link DuckDB but schemas, and pipeline.
RACE_PKGS := ./storage/... ./internal/... ./schemas ./stages/dedup
# gotestsum prints a line per package as it finishes (go test alone holds
# each line back until the packages before it in the list are done), and
# the output of the tests that failed.
GOTESTSUM := $(GO) run gotest.tools/gotestsum@v1.13.0 --format pkgname-and-test-fails --format-icons text --format-hide-empty-pkg --
RACE_TEST = $(TEST_ENV) $(GOTESTSUM) -race -timeout 10m $(RACE_PKGS)

## test: go vet, then start the S3 endpoint, run every test against it and the race detector on RACE_PKGS, stop it
test: browser
	$(GO) vet ./...
	./localstack/start
	@set -o pipefail; trap './localstack/stop' EXIT; \
	$(TEST_ENV) $(GOTESTSUM) -timeout 12m ./... && \
	$(RACE_TEST)

# The arrivals page's tests drive a headless Chromium (web/browser_test.go
# finds it on PATH or in ARCHTICS_CHROMIUM). On a Debian machine where we
# are root, install Debian's chromium when none is found (about a minute,
# once); elsewhere say how, and the browser tests skip.
## browser: find a headless Chromium for the page tests, installing Debian's when root
browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || [ -n "$$ARCHTICS_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the arrivals page's browser tests (once)"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
		echo "could not install chromium: the browser tests will skip (apt-get install chromium, or set ARCHTICS_CHROMIUM)"; \
	else echo "no headless Chromium: the browser tests will skip (apt-get install chromium, or set ARCHTICS_CHROMIUM)"; fi

## test-race: the race detector part of make test alone
test-race:
	./localstack/start
	@set -o pipefail; trap './localstack/stop' EXIT; \
	$(RACE_TEST)

## bench: every benchmark, at the sizes the issues name (S3 ones included); the writer on 1 and 2 cores
bench: bench-data
	./localstack/start
	@set -o pipefail; trap './localstack/stop' EXIT; \
	$(TEST_ENV) $(GO) test -run '^$$' -bench 'BenchmarkWriteAttendance' -benchtime 1x -cpu 1,2 -timeout 20m ./pipeline | tee bench.out; \
	$(TEST_ENV) $(GO) test -run '^$$' -bench . -skip 'BenchmarkWriteAttendance' -benchtime 1x -timeout 30m ./pipeline | tee -a bench.out; \
	$(TEST_ENV) ARCHTICS_BENCH_WAREHOUSE=$(CURDIR)/$(BENCH_DATA)/warehouse \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $$($(GO) list ./... | grep -v /pipeline$$) | tee -a bench.out
	$(MAKE) bench-page BENCH_PAGE_FLAGS="$$([ -r /proc/loadavg ] && echo -loadavg /proc/loadavg)"

## bench-page: write the figures of docs/benchmarks.md from bench.out (make bench does it as it ends, with the load average then)
BENCH_PAGE_FLAGS ?=
bench-page:
	$(GO) run ./internal/benchpage -in bench.out -page docs/benchmarks.md $(BENCH_PAGE_FLAGS)

## bench-data: the bench-scale warehouse the query benchmark reads (about 1.5 minutes on 2 cores, once)
bench-data: $(BENCH_DATA)/.built

$(BENCH_DATA)/.built:
	$(MAKE) build
	rm -rf $(BENCH_DATA) && mkdir -p $(BENCH_DATA)
	@echo "building the bench-scale warehouse in $(BENCH_DATA) (once; log in $(BENCH_DATA)/demo.log)"
	./$(BIN) demo --scale bench --hours -1 --dir $(BENCH_DATA) > $(BENCH_DATA)/demo.log 2>&1 || { tail -20 $(BENCH_DATA)/demo.log; exit 1; }
	rm -rf $(BENCH_DATA)/dump $(BENCH_DATA)/cache
	touch $@

## fuzz-clone: the change-pull property test over 60 random change streams (a few minutes) instead of make test's 10
fuzz-clone:
	$(GO) test -run '^TestPullConvergesToTruth$$' -count=1 -timeout 30m ./stages/changes -long

## reliability: the full reliability suite (kills, S3 and source faults, concurrent writers, secrets; at most 20 minutes on 2 cores);
## ARCHTICS_RELIABILITY_SEED=N repeats a run, ARCHTICS_RELIABILITY_TRIAL=S one crash trial (both printed on failure)
reliability:
	./localstack/start
	@set -o pipefail; trap './localstack/stop' EXIT; start=$$(date +%s); \
	$(TEST_ENV) ARCHTICS_RELIABILITY=full $(GO) test -count=1 -v -timeout 30m ./reliability 2>&1 | tee reliability.out \
	| grep --line-buffered -E '^(reliability|---|FAIL|ok|PASS|panic)|^ *(part|crash|concurrent|s3 faults|source faults) |_test.go:'; \
	code=$$?; echo "reliability: $$(( $$(date +%s) - start )) s wall, load $$(uptime | sed 's/.*load average: //'); full log in reliability.out"; exit $$code

## interop: readers we did not write (icebird, DuckDB's Node client) against archtics query, every table (a few minutes; docs/interop.md)
interop: build
	cd interop && npm ci --no-audit --no-fund
	./localstack/start
	@set -o pipefail; trap './localstack/stop' EXIT; start=$$(date +%s); \
	$(TEST_ENV) ARCHTICS_INTEROP_BIN=$(CURDIR)/bin $(GO) test -tags interop -run '^TestInteropReaders$$' -count=1 -v -timeout 20m ./interop 2>&1 | tee interop.out; \
	code=$$?; echo "interop: $$(( $$(date +%s) - start )) s wall, load $$(uptime | sed 's/.*load average: //'); full log in interop.out"; exit $$code

## fuzz: every fuzz target for FUZZTIME each (the dump parser, the change-API and feed decoders, the criteria sandbox, the CRM reader)
FUZZTIME ?= 30s
FUZZ_TARGETS := ./stages/clone:FuzzLoadDumpFile ./ats:FuzzParseRows ./ats:FuzzDecodeScanPage \
	./ats:FuzzDecodePage ./stages/realtime:FuzzCriteriaSandbox ./stages/crm:FuzzReadCRM
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" as -fuzztime ends (go.dev/issue/75804, fixed in Go 1.27): a run
# that fails so, with no failing input written, is run once more; a finding
# always writes its input under testdata/fuzz and fails the target.
fuzz:
	@set -o pipefail; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	for try in 1 2; do echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
	if $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg 2>&1 | tee fuzz.out; then break; fi; \
	if [[ $$try == 1 ]] && grep -q 'context deadline exceeded' fuzz.out && ! grep -qE 'Failing input written|panic:|_test.go:[0-9]+:' fuzz.out; then \
	echo "fuzz: $$name stopped by Go's fuzztime deadline race with no failing input (go.dev/issue/75804): running it again"; continue; fi; \
	rm -f fuzz.out; exit 1; done; done; rm -f fuzz.out

## testdata: regenerate testdata/dump-tiny (and testdata/hostile, made from it) after an intended change to the simulator or the corpus
testdata:
	$(GO) run ./simulator/cmd/tinydump -out testdata/dump-tiny
	$(GO) run ./internal/hostile/cmd/hostile -dump testdata/dump-tiny -out testdata/hostile

## samples: regenerate schemas/samples/*.csv (the korebi realtime sample tables) after an intended change to the simulator
samples:
	$(GO) run ./simulator/cmd/samples -out schemas/samples

# staticcheck runs at a pinned version, fetched by go run (no install step).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet, staticcheck, and no tracked file over 5 MB (build outputs and data belong in .gitignore)
lint:
	@big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 5000000 {print $$2}'); \
	if [ -n "$$big" ]; then echo "tracked files over 5 MB (ignore or remove them):"; echo "$$big"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin demo bench.out reliability.out fuzz.out interop.out $(BENCH_DATA)
