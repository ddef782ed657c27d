# WalkerDB: one Makefile for every module of the go.work workspace.
#   make run        build and start walkerd, single node, defaults
#   make test       every module's tests with -race (what CI runs)
#   make bench      engine benchmarks
#   make build      every binary into ./bin, version and commit stamped
#   make generate   re-run flatc for fbs/ (the output is committed)
#   make lint       go vet and staticcheck
#   make clean      remove ./bin and test caches

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

.PHONY: all build run test bench generate lint clean

all: build

build:
	@mkdir -p bin
	@for b in $(BINARIES); do \
		echo "go build $$b"; \
		$(GO) build -ldflags "$(LDFLAGS)" -o bin/$$b ./$$b || exit 1; \
	done

run: build
	./bin/walkerd

test:
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) test $(TEST_FLAGS) ./...); \
	done

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
