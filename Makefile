# Sluice: make run (the wordcount example on the embedded mini-cluster),
# make test (the whole suite), make bench (benchmarks with ratios).
GO      ?= go
BIN     := $(CURDIR)/bin
PKGS    := ./...
BENCH   ?= .
BENCHTIME ?= 1s

.PHONY: all build run test bench lint tools proto fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/... ./examples/wordcount
	$(GO) build -o $(BIN)/sluice-backend-memory ./backends/memory
	$(GO) build -o $(BIN)/sluice-backend-s3 ./backends/s3

run:
	$(GO) run ./examples/wordcount

test: tools
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# The pipeline benchmarks size themselves (2M records, best of three rounds
# against a plain loop, alternating) and run once; the micro-benchmarks use
# Go's usual timing.
bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchtime=1x ./stream/ ./jobmanager/server/ ./taskmanager/network/ ./backends/ ./examples/nexmark/
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchtime=$(BENCHTIME) -benchmem ./stream/codec/ ./taskmanager/keygroup/ ./taskmanager/state/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Service binaries the tests run for real are installed into $(BIN): the
# versitygw S3 server, the Consul agent and the Nomad agent. Consul and
# Nomad are each built in a module of their own, .tools/consul and
# .tools/nomad (its go.mod pins the version and carries the agent's own
# requirements; its go.sum is committed, so no checksum database is
# needed), and only when the binary is missing or not that version.
tools:
	@mkdir -p $(BIN)
	@v=v1.8.0; \
	if $(GO) version -m $(BIN)/versitygw 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$$v[[:space:]]"; then \
		echo "tools: bin/versitygw $$v is installed"; \
	else \
		echo "tools: installing versitygw $$v (the S3 server of the backends/s3 tests) into $(BIN); one to two minutes on a fresh machine"; \
		echo "GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$$v"; \
		GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$$v; \
	fi
	$(call build_agent,consul,github.com/hashicorp/consul,the agent of the jobmanager/ha tests,)
	$(call build_agent,nomad,github.com/hashicorp/nomad,the agent of the nomad tests,-mod=mod)

# build_agent builds bin/$(1) from module $(2) in .tools/$(1), at the
# version its go.mod requires, unless bin/$(1) is that version already.
# About five minutes each on two cores, once.
define build_agent
	@v=$$(sed -n 's|^require $(2) \(v[^ ]*\)$$|\1|p' $(CURDIR)/.tools/$(1)/go.mod); \
	if [ -z "$$v" ]; then echo "tools: no 'require $(2) vX.Y.Z' line in .tools/$(1)/go.mod" >&2; exit 1; fi; \
	if $(GO) version -m $(BIN)/$(1) 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$(2)[[:space:]]+$$v[[:space:]]"; then \
		echo "tools: bin/$(1) $$v is installed"; \
	else \
		echo "tools: building $(1) $$v ($(3)) into $(BIN); one-time, about five minutes on two cores"; \
		echo "cd $(CURDIR)/.tools/$(1) && GOWORK=off CGO_ENABLED=0 $(GO) build $(4) -trimpath -buildvcs=false -o $(BIN)/$(1) $(2)"; \
		cd $(CURDIR)/.tools/$(1) && GOWORK=off CGO_ENABLED=0 $(GO) build $(4) -trimpath -buildvcs=false -o $(BIN)/$(1) $(2); \
	fi
endef

# Regenerates the gRPC code of the control protocol (needs Debian's
# protobuf-compiler; the generated code is committed).
proto:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
	PATH=$(BIN):$$PATH protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative jobmanager/rpc/control.proto
	PATH=$(BIN):$$PATH protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative plugins/proto/backend.proto

# Each fuzzer runs for FUZZTIME; their seed corpora (f.Add and
# testdata/fuzz) run in every `make test`. A failing input is written to
# the package's testdata/fuzz, where it stays as a regression seed.
FUZZTIME ?= 30s
FUZZERS := \
	./stream/codec/:FuzzDecode \
	./jobmanager/jobgraph/:FuzzParse \
	./taskmanager/state/:FuzzRestore \
	./taskmanager/network/:FuzzReadFrame \
	./taskmanager/network/:FuzzReadStreamHeader \
	./taskmanager/network/:FuzzReadHello \
	./jobmanager/rest/:FuzzRequests \
	./jobmanager/savepoint/:FuzzParseMetadata \
	./jobmanager/savepoint/:FuzzParseLocation

fuzz:
	@set -e; for f in $(FUZZERS); do \
		pkg=$${f%%:*}; name=$${f##*:}; \
		echo "$(GO) test -run='^$$' -fuzz='^$$name$$' -fuzztime=$(FUZZTIME) $$pkg"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

.PHONY: docs # regenerates docs/configuration.md and the jobmanager's flag usage from jobmanager/config
docs: ; $(GO) run ./internal/docgen

clean:
	rm -rf $(BIN)
