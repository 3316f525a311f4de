#!/usr/bin/env bash
# Builds the OCI runtime-tools v0.9.0 validation programs and runtimetest and
# runs them against an OCI runtime. See README.md in this directory.
#
#   RUNTIME=/path/to/runtime integration/conformance/run.sh   (as root)
#
# Environment:
#   RUNTIME                 runtime binary (default: bin/skiff of this repo)
#   CONFORMANCE_TIMEOUT     timeout of each program (default 60s)
#   CONFORMANCE_BUDGET      time for all programs (default 10m); the rest fail as <not-run>
#   CONFORMANCE_RETRIES     re-runs of a program with unexpected failures (default 1)
#   CONFORMANCE_RUN         only programs matching this regexp
#   CONFORMANCE_SKIP        not the programs matching this regexp
#   CONFORMANCE_EXPECTED    expected-failure list (default expected-failures.txt here)
#   CONFORMANCE_BUILD       build/log directory (default _build here)
#   CONFORMANCE_SCRATCH     scratch directory (default a new /tmp/skiff-conformance.XXXXXX)
#   CONFORMANCE_HIDE_CGROUP2=1
#                           run everything in a private mount namespace in which
#                           /sys/fs/cgroup/unified/cgroup.controllers is hidden by
#                           an empty file (how crun 1.8.1 runs on a hybrid host)
#   CONFORMANCE_BUILD_ONLY=1  build, do not run
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ ${CONFORMANCE_HIDE_CGROUP2:-} == 1 && ${_CONFORMANCE_IN_NS:-} != 1 ]]; then
	export _CONFORMANCE_IN_NS=1
	exec unshare --mount --propagation private -- bash -c '
		set -e
		f=/sys/fs/cgroup/unified/cgroup.controllers
		if [ -e "$f" ]; then
			empty=$(mktemp /tmp/skiff-conformance-empty.XXXXXX)
			mount --bind "$empty" "$f"
			rm -f "$empty"
		fi
		exec "$0" "$@"' "${BASH_SOURCE[0]}" "$@"
fi

runtime=${RUNTIME:-$repo/bin/skiff}
build=${CONFORMANCE_BUILD:-$here/_build}
expected=${CONFORMANCE_EXPECTED:-$here/expected-failures.txt}
timeout=${CONFORMANCE_TIMEOUT:-60s}
budget=${CONFORMANCE_BUDGET:-10m}
retries=${CONFORMANCE_RETRIES:-1}

cd "$here"
export GOFLAGS=-mod=readonly
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

t0=$(date +%s)
mkdir -p "$build/bin" "$build/runtimetest-src"
echo "conformance: building runtime-tools v0.9.0 validation programs into $build"
go build -trimpath -o "$build/runner" ./runner
# Every directory under validation/ except util is one program.
go build -trimpath -o "$build/bin/" github.com/opencontainers/runtime-tools/validation/...

# runtimetest runs inside the container: static, and built together with one
# file of ours (_runtimetest/) that restores the RLIMIT_NOFILE soft
# limit the Go runtime raised at start. The upstream sources are copied
# unmodified from the module cache (go build -overlay refuses files there).
rt=$(go list -m -f '{{.Dir}}' github.com/opencontainers/runtime-tools)
rm -rf "$build/runtimetest-src"
mkdir -p "$build/runtimetest-src"
cp "$rt"/cmd/runtimetest/*.go _runtimetest/*.go go.mod go.sum "$build/runtimetest-src/"
chmod u+w "$build"/runtimetest-src/*
(cd "$build/runtimetest-src" && CGO_ENABLED=0 go build -trimpath -ldflags=-checklinkname=0 -o "$build/runtimetest" .)
# The rootfs the programs expect in their working directory, as shipped in
# the runtime-tools v0.9.0 module (its hash is in go.sum): static busybox,
# /etc/passwd and /etc/group.
cp "$rt/rootfs-amd64.tar.gz" "$build/rootfs-amd64.tar.gz"
chmod 0644 "$build/rootfs-amd64.tar.gz"
echo "conformance: build took $(($(date +%s) - t0))s"

if [[ ${CONFORMANCE_BUILD_ONLY:-} == 1 ]]; then
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "conformance: must run as root" >&2
	exit 2
fi
if [[ ! -x $runtime ]]; then
	runtime=$(command -v "$runtime" || true)
fi
if [[ -z $runtime || ! -x $runtime ]]; then
	echo "conformance: runtime ${RUNTIME:-$repo/bin/skiff} not found (make build, or set RUNTIME)" >&2
	exit 2
fi

scratch=${CONFORMANCE_SCRATCH:-}
if [[ -z $scratch ]]; then
	scratch=$(mktemp -d /tmp/skiff-conformance.XXXXXX)
	trap 'rmdir "$scratch" 2>/dev/null || true' EXIT
fi
chmod 0755 "$scratch"
name=$(basename "$runtime")
[[ ${_CONFORMANCE_IN_NS:-} == 1 ]] && name=$name-hidden-cgroup2
logdir=$build/logs/$name
rm -rf "$logdir"

"$build/runner" \
	-runtime "$runtime" \
	-bindir "$build/bin" \
	-runtimetest "$build/runtimetest" \
	-rootfs "$build/rootfs-amd64.tar.gz" \
	-expected "$expected" \
	-timeout "$timeout" \
	-budget "$budget" \
	-retries "$retries" \
	-scratch "$scratch" \
	-logdir "$logdir" \
	-markdown "$logdir/table.md" \
	${CONFORMANCE_RUN:+-run "$CONFORMANCE_RUN"} \
	${CONFORMANCE_SKIP:+-skip "$CONFORMANCE_SKIP"}
