# skiff — see README.md. Targets that run containers need root.
GO ?= go
BIN := bin/skiff
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Static (cgo, glibc and libseccomp linked in, as runc's release builds):
# no ld.so symbol resolution and no shared library mappings in the runtime
# and in every container's init, about 1.4 ms of CPU, 220 page faults
# and 660 KiB of peak RSS less per `run` (issue 8). osusergo and netgo
# keep os/user and net off glibc's NSS, which a static glibc cannot load.
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) -linkmode external -extldflags -static
# urfave_cli_no_docs: urfave/cli without its man/markdown generators
# (go-md2man, blackfriday), which skiff never calls: a smaller binary, less
# package init, less RSS per process (issue 8).
TAGS := urfave_cli_no_docs,osusergo,netgo
DEMO_DIR ?= /tmp/skiff-demo
# Each part of `make test` has its own time budget (seconds).
BUDGET_INTEGRATION ?= 600

.PHONY: build test test-unit test-integration test-vm test-systemd test-vm-systemd test-engines conformance fuzz bench demo lint deps clean

# Two builds of cmd/skiff: bin/skiff, the runtime, without criu's RPC code
# (tag nocriu: go-criu and the protobuf runtime would add 1.7 MB of binary
# and RSS and 1 ms of package init to every container start), and
# bin/skiff-criu, everything, which skiff execs for checkpoint and restore.
build:
	CGO_ENABLED=1 $(GO) build -tags $(TAGS),nocriu -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/skiff
	CGO_ENABLED=1 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)-criu ./cmd/skiff

# The fast loop: no root, no kernel features.
test-unit:
	$(GO) test -tags $(TAGS) -count=1 ./...
	$(GO) vet -tags $(TAGS),nocriu ./cmd/skiff

# The whole suite, as CI runs it (root).
test: build test-unit fuzz test-integration test-vm test-systemd conformance conformance-vm test-engines

test-integration: build
	@[ "$$(id -u)" = 0 ] || { echo "test-integration needs root"; exit 1; }
	SKIFF_BINARY=$(CURDIR)/$(BIN) timeout $(BUDGET_INTEGRATION) $(GO) test -tags integration,$(TAGS) -count=1 -timeout $(BUDGET_INTEGRATION)s ./integration/

include integration/vm/Makefile.inc

# The systemd cgroup driver in a Debian VM with systemd as PID 1, on cgroup
# v2 and on systemd's legacy v1 hierarchy (root; qemu TCG, about 45 s a
# run, plus about 50 s to build the image once with
# debootstrap; it is cached in /var/cache/skiff-systemd-vm, never in git).
# See integration/systemd/run.sh.
BUDGET_SYSTEMD ?= 240
test-systemd: build deps
	integration/systemd/run.sh --skiff $(BIN) --timeout $(BUDGET_SYSTEMD) --cgroup v2
	integration/systemd/run.sh --skiff $(BIN) --timeout $(BUDGET_SYSTEMD) --cgroup v1

# The name issue 9 uses.
test-vm-systemd: test-systemd

include integration/bench/Makefile.inc

# containerd, Podman and Docker driving bin/skiff (root); see
# integration/engines/README.md.
test-engines: build
	RUNTIME=$(CURDIR)/$(BIN) integration/engines/run.sh

# runtime-tools v0.9.0 validation against bin/skiff (root); see
# integration/conformance/README.md.
conformance: build
	RUNTIME=$(CURDIR)/$(BIN) integration/conformance/run.sh

# What tests and the demo need from Debian.
deps:
	@dpkg -s busybox-static file libseccomp-dev gcc >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static file libseccomp-dev gcc; }
	@command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }

demo: deps build
	rm -rf $(DEMO_DIR)
	SKIFF=$(BIN) sh integration/mkbundle.sh $(DEMO_DIR)
	$(GO) run ./integration/specedit -terminal=false $(DEMO_DIR)/config.json \
		sh -c 'echo "hello from $$(hostname), pid $$$$ in its own namespaces"; id; ls /'
	cd $(DEMO_DIR) && $(CURDIR)/$(BIN) run demo-$$$$

# Bounded fuzzing: no config.json or mount option may make skiff panic.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./libcontainer/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzParseOptions$$' -fuzztime $(FUZZTIME) ./rootfs/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...

clean:
	rm -rf bin
