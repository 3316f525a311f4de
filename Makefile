# skiff — see README.md. Every target that needs root says so.
GO ?= go
BIN := bin/skiff
GOFLAGS_BUILD := -trimpath
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)

.PHONY: build test test-unit test-integration test-vm test-engines conformance fuzz bench demo lint clean

build:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/skiff

test-unit:
	$(GO) test -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
