# WalkerDB: one Makefile for every module of the go.work workspace.
#   make run        build and start walkerd, single node, defaults
#   make test       every module's tests with -race, then fuzz-short and
#                   chaos-short and chaos-short-groups (what CI runs; about
#                   11 minutes on 2 cores).
#                   Every step runs even when one fails; the failures are
#                   listed at the end and make exits non-zero.
#   make bench      engine benchmarks
#   make build      every binary into ./bin, static (CGO_ENABLED=0), version
#                   and commit stamped
#   make generate   re-run flatc for fbs/ (the output is committed)
#   make lint       go vet and staticcheck
#   make clean      remove ./bin and test caches
#   make fuzz       every fuzz target for FUZZTIME_LONG executions (fuzz-short: FUZZTIME)
#   make chaos      the long fault-injection run (chaos-short: 2 min, in test)
#   make fuzzdiff   the randomized differential run against redis-server
#                   (FUZZDIFF_N sequences, FUZZDIFF_SEED 0: random; a short
#                   run with seed 1 is part of make test)

MODULES    := engine fbs internal walkerd walkerctl walkerbench walkerdump tools
BINARIES   := walkerd walkerctl walkerbench walkerdump
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS    := -X github.com/walkerdb/walkerdb/internal/version.Version=$(VERSION) \
              -X github.com/walkerdb/walkerdb/internal/version.Commit=$(COMMIT)
GO         ?= go
STATICCHECK_VERSION := v0.6.1
TEST_FLAGS ?= -race -count=1 -timeout 12m
BENCH      ?= .
BENCHTIME  ?= 1s

.PHONY: all build run test test-big bench generate lint clean

all: build

build:
	@mkdir -p bin
	@for b in $(BINARIES); do \
		echo "go build $$b"; \
		CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/$$b ./$$b || exit 1; \
	done

run: build
	./bin/walkerd

# STEP defines the shell function step, which runs one step of a long
# target: `step NAME DIR COMMAND...` prints "== HH:MM:SS NAME", runs
# COMMAND in DIR, prints how long it took, and on failure adds NAME to
# $$failed and goes on. DONE ends the target: it lists every failed step
# and exits non-zero if there was one.
STEP = step() { \
	name=$$1; dir=$$2; shift 2; \
	echo "== $$(date +%H:%M:%S) $$name"; t0=$$(date +%s); \
	if (cd "$$dir" && "$$@"); then \
		echo "-- $$name: ok in $$(( $$(date +%s) - t0 ))s"; \
	else \
		echo "-- $$name: FAILED after $$(( $$(date +%s) - t0 ))s"; \
		failed="$$failed$${failed:+, }$$name"; \
	fi; \
}; failed=""; start=$$(date +%s)
DONE = took=$$(( $$(date +%s) - start )); \
	if [ -n "$$failed" ]; then \
		echo "== $$(date +%H:%M:%S) $@ FAILED after $${took}s: $$failed"; exit 1; \
	fi; \
	echo "== $$(date +%H:%M:%S) $@ passed in $${took}s"

# FUZZ_STEPS runs every target of FUZZ_TARGETS for FUZZTIME, each a step.
FUZZ_STEPS = for t in $(FUZZ_TARGETS); do \
		m=$${t%%:*}; rest=$${t\#*:}; pkg=$${rest%%:*}; fn=$${rest\#*:}; \
		step "fuzz $$fn ($$m $$pkg, $(FUZZTIME))" $$m \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Every module, every fuzz target and the short chaos run, each a step: a
# failure does not hide the steps after it.
test:
	@$(STEP); \
	for m in $(MODULES); do \
		step "test $$m" $$m $(GO) test $(TEST_FLAGS) ./...; \
	done; \
	$(FUZZ_STEPS); \
	step chaos-short . $(MAKE) --no-print-directory chaos-short; \
	step chaos-short-groups . $(MAKE) --no-print-directory chaos-short-groups; \
	$(DONE)

# The 512 MB end-to-end test (WALKERD_BIG_E2E), outside make test until
# it is steady (walkerd/bigvalue_e2e_test.go).
test-big: build
	cd walkerd && WALKERD_BIG_E2E=1 $(GO) test -count=1 -timeout 20m -run 'TestE2E_A512MB' .

bench:
	cd engine && $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem -timeout 60m ./...

generate:
	cd fbs && ./generate.sh

lint:
	@set -e; for m in $(MODULES); do \
		echo "== vet $$m"; (cd $$m && $(GO) vet ./...); \
	done
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@set -e; for m in $(MODULES); do \
		echo "== staticcheck $$m"; (cd $$m && $$($(GO) env GOPATH)/bin/staticcheck ./...); \
	done

clean:
	rm -rf bin
	$(GO) clean -testcache

# Fuzzing: every decoder's fuzz target for FUZZTIME each. `make test` runs
# the short pass; `make fuzz` the long one (FUZZTIME_LONG each). A failing
# target does not stop the others.
#   make fuzz FUZZTIME_LONG=30000000x
# Budgets are execution counts, not durations: with a duration, Go 1.26's
# fuzz coordinator can report its own deadline as a failure on a loaded
# machine (golang/go#75804, fixed in Go 1.27), with nothing found.
FUZZTIME      ?= 20000x
FUZZTIME_LONG ?= 20000000x
FUZZ_TARGETS  := engine:.:FuzzRestore engine:./record:FuzzDecode engine:./hint:FuzzParse \
                 walkerd:./command:FuzzDecodeEntry walkerd:./command:FuzzDecodeResult walkerd:./server:FuzzRESPArgs \
                 walkerd:./acl:FuzzSetRule walkerd:./acl:FuzzParseFile walkerd:./acl:FuzzDecode \
                 walkerd:./server:FuzzGuard_PassesWellFormedCommandsWhole walkerd:./nodelink:FuzzHandshake internal:./resp:FuzzReadRaw internal:./resp:FuzzParse

.PHONY: fuzz-short fuzz chaos-short chaos-short-groups chaos

fuzz-short:
	@$(STEP); $(FUZZ_STEPS); $(DONE)

fuzz:
	@$(MAKE) --no-print-directory fuzz-short FUZZTIME=$(FUZZTIME_LONG)

# Chaos: a walkerd cluster on loopback behind fault-injecting proxies,
# register/append/counter workloads checked for linearizability and lost
# writes under kill, pause, partitions, membership changes and restarts
# (tools/chaos, internal/chaos). `make test` runs the short pass (2 min,
# fixed seed, fails on any violation); `make chaos` the long one:
#   make chaos CHAOS_DURATION=30m CHAOS_SEED=7 CHAOS_NODES=5
CHAOS_DURATION ?= 10m
CHAOS_SEED     ?= 0
CHAOS_NODES    ?= 3
CHAOS_NEMESIS  ?= kill,kill-leader,pause,partition-leader,split,isolate,delay,member,restart-all
CHAOS_WORKLOAD ?= register,append,counter,collections,streams
CHAOS_OUT      ?= chaos-results

chaos-short: build
	$(GO) run ./tools/chaos --walkerd bin/walkerd --duration 2m --seed 1 --nodes 3 \
		--nemesis $(CHAOS_NEMESIS) --workload $(CHAOS_WORKLOAD) --out $(CHAOS_OUT)/short

# The same with four Raft groups per node (walkerd --groups): the
# workloads' keys spread over groups led by different nodes, and the
# migrate nemesis moves their slots between groups meanwhile, and the
# regroup nemesis splits a slot into a new group and merges it away.
chaos-short-groups: build
	$(GO) run ./tools/chaos --walkerd bin/walkerd --duration 90s --seed 1 --nodes 3 --groups 4 \
		--nemesis $(CHAOS_NEMESIS),migrate,regroup --workload $(CHAOS_WORKLOAD) --out $(CHAOS_OUT)/short-groups

chaos: build
	$(GO) run ./tools/chaos --walkerd bin/walkerd --duration $(CHAOS_DURATION) --seed $(CHAOS_SEED) \
		--nodes $(CHAOS_NODES) --nemesis $(CHAOS_NEMESIS) --workload $(CHAOS_WORKLOAD) \
		--out $(CHAOS_OUT)/$$(date +%Y%m%d-%H%M%S)

# The randomized differential fuzzer (walkerd/server/fuzzdiff_test.go): the
# same random command sequences on a real redis-server and on walkerd,
# replies and keyspaces compared, mismatches shrunk to redis-cli lines.
FUZZDIFF_N    ?= 100000
FUZZDIFF_SEED ?= 0
.PHONY: fuzzdiff
fuzzdiff:
	cd walkerd && WALKERD_FUZZDIFF_N=$(FUZZDIFF_N) WALKERD_FUZZDIFF_SEED=$(FUZZDIFF_SEED) \
		$(GO) test -run '^TestFuzzDifferential$$' -count=1 -timeout 0 -v ./server
