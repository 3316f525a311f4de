#!/usr/bin/env bash
# integration/conformance/vm.sh — `make conformance-vm`: the runtime-tools
# v0.9.0 validation programs against skiff inside the cgroup v2 VM of
# integration/vm/run.sh (pure cgroup v2, Debian kernel 6.1 under qemu TCG),
# so that both cgroup versions are covered (issue 7, "Also"). See README.md,
# "In the cgroup v2 VM".
#
#   RUNTIME=bin/skiff integration/conformance/vm.sh        (as root)
#
# Host side (here): builds the selected validation programs and the runner
# static (CGO_ENABLED=0, stripped), runtimetest static with our
# _runtimetest/ file (as run.sh does), takes the module's rootfs tarball, and
# boots the VM once with them as payload. The runtime goes to
# /usr/bin/skiff (run.sh copies the shared libraries of a dynamic binary).
# Busybox tar cannot read the gzip'ed rootfs with `tar -xf` (no
# autodetection), which is how validation/util.PrepareBundle calls it, so the
# host's GNU tar (+ its libraries) goes to /usr/local/bin/tar; it runs
# busybox gzip for the decompression.
#
# In the VM the same Go runner as on the host (runner/) runs the programs
# with expected-failures-v2.txt; its table and the closing line
# "N passed, M failed, K skipped" go to the console. Exit status: the
# runner's (0: every failure on the list, 1: unexpected failures, 2: setup),
# or run.sh's 124/125/126 (VM timeout, host error, no result).
#
# Environment:
#   RUNTIME                    runtime binary (default bin/skiff of this repo)
#   CONFORMANCE_VM_RUN         regexp of programs to run (default: all)
#   CONFORMANCE_VM_SKIP        regexp of programs not to run (default: the
#                              slow non-cgroup lifecycle programs and the
#                              no-TAP ones, see $DEFAULT_SKIP; "" runs all 58,
#                              ~5 min under TCG instead of ~3)
#   CONFORMANCE_VM_TIMEOUT     per program (default 60s)
#   CONFORMANCE_VM_BUDGET      runner budget in the VM (default 6m)
#   CONFORMANCE_RETRIES        re-runs of a program with unexpected failures (1)
#   CONFORMANCE_EXPECTED       list (default expected-failures-v2.txt here)
#   CONFORMANCE_BUILD          build directory (default _build here; this
#                              script uses _build/vm/)
#   VM_BUDGET                  seconds for the whole VM command (default 480)
# Options after -- go to integration/vm/run.sh (e.g. -- --verbose).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

# Programs left out by default, to keep the VM run near 3 minutes. They do
# not touch cgroups beyond what every program does (each container of every
# program is created in a cgroup v2 group, so create/start/delete on v2 is
# exercised by all the rest), they take 9-18 s each under TCG (mostly the
# programs' own one-second polls), and they run on the host in
# `make conformance`: delete, kill, pidfile, linux_masked_paths,
# linux_readonly_paths, linux_rootfs_propagation, linux_ns_path,
# linux_ns_path_type. Also left out: the programs that make no TAP assertion
# at all in v0.9.0 (hooks, prestart*, poststart*, poststop*, *_fail), which
# can never pass or fail.
DEFAULT_SKIP='^(delete|kill|pidfile|linux_masked_paths|linux_readonly_paths|linux_rootfs_propagation|linux_ns_path|linux_ns_path_type|hooks|prestart|prestart_fail|poststart|poststart_fail|poststop|poststop_fail|process_capabilities_fail|process_rlimits_fail)$'

runtime=${RUNTIME:-$repo/bin/skiff}
build=${CONFORMANCE_BUILD:-$here/_build}/vm
expected=$(readlink -f "${CONFORMANCE_EXPECTED:-$here/expected-failures-v2.txt}")
run_re=${CONFORMANCE_VM_RUN:-}
skip_re=${CONFORMANCE_VM_SKIP-$DEFAULT_SKIP}
ptimeout=${CONFORMANCE_VM_TIMEOUT:-60s}
budget=${CONFORMANCE_VM_BUDGET:-6m}
retries=${CONFORMANCE_RETRIES:-1}
vmbudget=${VM_BUDGET:-480}

if [[ ! -x $runtime ]]; then
	runtime=$(command -v "$runtime" || true)
fi
[[ -n $runtime && -x $runtime ]] || { echo "conformance-vm: runtime ${RUNTIME:-bin/skiff} not found (make build)" >&2; exit 2; }
runtime=$(readlink -f "$runtime")
[[ -f $expected ]] || { echo "conformance-vm: no list $expected" >&2; exit 2; }
tar=$(command -v tar) || { echo "conformance-vm: GNU tar needed on the host (apt-get install tar)" >&2; exit 2; }

cd "$here"
export GOFLAGS=-mod=readonly
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0

t0=$(date +%s)
pay=$build/payload
rm -rf "$pay"
mkdir -p "$pay/bin" "$build/runtimetest-src"

# The programs: every directory under validation/ except util, filtered.
pkgs=()
while read -r p; do
	n=${p##*/}
	[[ $n == util ]] && continue
	if [[ -n $run_re ]] && ! [[ $n =~ $run_re ]]; then continue; fi
	if [[ -n $skip_re ]] && [[ $n =~ $skip_re ]]; then continue; fi
	pkgs+=("$p")
done < <(go list github.com/opencontainers/runtime-tools/validation/...)
[[ ${#pkgs[@]} -gt 0 ]] || { echo "conformance-vm: no program selected" >&2; exit 2; }
echo "conformance-vm: building ${#pkgs[@]} validation programs (static) into $pay"
go build -trimpath -ldflags='-s -w' -o "$pay/bin/" "${pkgs[@]}"
go build -trimpath -ldflags='-s -w' -o "$pay/runner" ./runner

# runtimetest exactly as run.sh builds it (unmodified upstream files plus
# _runtimetest/, which keeps the RLIMIT_NOFILE soft limit it was given).
rt=$(go list -m -f '{{.Dir}}' github.com/opencontainers/runtime-tools)
rm -rf "$build/runtimetest-src"
mkdir -p "$build/runtimetest-src"
cp "$rt"/cmd/runtimetest/*.go _runtimetest/*.go go.mod go.sum "$build/runtimetest-src/"
chmod u+w "$build"/runtimetest-src/*
(cd "$build/runtimetest-src" && go build -trimpath -ldflags='-s -w -checklinkname=0' -o "$pay/runtimetest" .)
cp "$rt/rootfs-amd64.tar.gz" "$pay/rootfs-amd64.tar.gz"
chmod 0644 "$pay/rootfs-amd64.tar.gz"
cp "$expected" "$pay/expected.txt"

# The in-VM driver (busybox sh). The runner prints the table; when it
# reports unexpected failures, the logs of the programs concerned follow.
cat >"$pay/in-vm.sh" <<EOF
cd /payload/conformance || exit 2
mkdir -p /tmp/conformance-logs
echo "conformance-vm: cgroup \$(stat -f -c %T /sys/fs/cgroup), controllers: \$(cat /sys/fs/cgroup/cgroup.subtree_control)"
./runner -runtime /usr/bin/skiff -bindir bin -runtimetest runtimetest \\
	-rootfs rootfs-amd64.tar.gz -expected expected.txt \\
	-timeout '$ptimeout' -budget '$budget' -retries '$retries' \\
	-scratch /tmp/conformance -logdir /tmp/conformance-logs
rc=\$?
if [ \$rc != 0 ]; then
	for t in /tmp/conformance-logs/*.tap; do
		n=\${t%.tap}
		grep -q '^not ok' "\$t" || [ -s "\$n.stderr" ] || continue
		echo "--- \${n##*/}: not ok lines"; grep -A2 '^not ok' "\$t" | head -40
		echo "--- \${n##*/}: stderr (last 15 lines)"; tail -n 15 "\$n.stderr"
	done
fi
exit \$rc
EOF
echo "conformance-vm: build took $(($(date +%s) - t0))s, payload $(du -sh "$pay" | cut -f1)"

mkdir -p "$build/logs"
set +e
"$repo/integration/vm/run.sh" --skiff "$runtime" --memory 2G --timeout "$vmbudget" \
	--payload "$pay:/payload/conformance" --payload "$tar:/usr/local/bin/tar" \
	--log "$build/logs/console.log" "$@" -- sh /payload/conformance/in-vm.sh
rc=$?
set -e
echo "conformance-vm: exit $rc, $(($(date +%s) - t0))s in all (console log: $build/logs/console.log)"
exit $rc
