# Sluice: make run (the wordcount example on the embedded mini-cluster),
# make test (the whole suite), make bench (benchmarks with ratios).
GO      ?= go
BIN     := $(CURDIR)/bin
PKGS    := ./...
BENCH   ?= .
BENCHTIME ?= 1s

.PHONY: all build run test bench lint tools fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./examples/...

run:
	$(GO) run ./examples/wordcount

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# The pipeline benchmarks size themselves (2M records, best of three rounds
# against a plain loop, alternating) and run once; the micro-benchmarks use
# Go's usual timing.
bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchtime=1x ./stream/
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchtime=$(BENCHTIME) -benchmem ./stream/codec/ ./taskmanager/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Service binaries for later tests (Consul, Nomad, an S3 server) are
# installed here into $(BIN); the core needs none yet.
tools:
	@mkdir -p $(BIN)

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=30s ./stream/codec/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=30s ./jobmanager/jobgraph/

clean:
	rm -rf $(BIN)
