#!/usr/bin/env bash
# integration/vm/test-vm.sh — `make test-vm`: build the cgroup v2 test
# binaries and run them all in one boot of the VM of integration/vm/run.sh.
#
# Usage: integration/vm/test-vm.sh [--skiff bin/skiff] [--keep] [-- run.sh options]
#
# Runs, in this order and each under its own -test.timeout:
#   selftest         integration/vm/selftest (the VM itself is sane)      60 s
#   cgroups.test     go test -c ./cgroups (root tests detect cgroup v2)   180 s
#   integration.test go test -c -tags integration ./integration          300 s
#                    (the real binary on busybox bundles)
# A package that does not exist yet or has no _test.go file is skipped with
# a message; one that fails to build fails the target. The whole VM run has a
# 660 s budget (boot is ~3 s; the integration binary takes ~200 s under TCG), so the target stays under 12 minutes.
#
# Environment: GO (default go), GOTEST_TAGS (more build tags, comma
# separated, for every test binary), VM_TESTFLAGS (default "-test.v -test.count=1"),
# VM_TIMEOUT_SELFTEST / VM_TIMEOUT_CGROUPS / VM_TIMEOUT_INTEGRATION (seconds),
# VM_BUDGET (whole VM run, seconds). Inside the VM the tests see SKIFF_VM=1,
# SKIFF_BINARY=/usr/bin/skiff and SKIFF_TEST_BUSYBOX=/bin/busybox.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

GO=${GO:-go}
SKIFF=bin/skiff
KEEP=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--skiff) SKIFF=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--) shift; break ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "test-vm: unknown option $1" >&2; exit 2 ;;
	esac
done
[[ -x $SKIFF ]] || { echo "test-vm: $SKIFF missing: run make build first" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/skiff-test-vm.XXXXXX")
if [[ $KEEP == 1 ]]; then echo "test-vm: keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

TESTFLAGS=${VM_TESTFLAGS:--test.v -test.count=1}
PAYLOADS=()
STEPS=()

# build NAME PKGDIR TIMEOUT TAGS [env...]: compile PKGDIR's tests into
# $TMP/NAME/NAME.test and queue it. The test runs in a copy of what go test
# would give it as working directory: PKGDIR's testdata/ and *.sh files.
build() {
	local name=$1 dir=$2 timeout=$3 tags=$4
	shift 4
	if [[ ! -d $dir ]] || ! compgen -G "$dir/*_test.go" >/dev/null; then
		echo "test-vm: skipping ./$dir: no tests there yet"
		return 0
	fi
	tags=${tags:+$tags,}${GOTEST_TAGS:-}
	mkdir -p "$TMP/$name"
	echo "test-vm: building ./$dir -> $name.test${tags:+ (tags ${tags%,})}"
	env "$@" "$GO" test -c ${tags:+-tags "${tags%,}"} -o "$TMP/$name/$name.test" "./$dir"
	if [[ -d $dir/testdata ]]; then cp -a "$dir/testdata" "$TMP/$name/"; fi
	for f in "$dir"/*.sh; do if [[ -f $f ]]; then cp -a "$f" "$TMP/$name/"; fi; done
	PAYLOADS+=(--payload "$TMP/$name")
	STEPS+=("$name $timeout")
}

# ./integration's root tests sit behind the `integration` build tag (as in
# `make test-integration`).
build selftest integration/vm/selftest "${VM_TIMEOUT_SELFTEST:-60}" "" CGO_ENABLED=0
build cgroups cgroups "${VM_TIMEOUT_CGROUPS:-180}" ""
build integration integration "${VM_TIMEOUT_INTEGRATION:-420}" integration

# The in-VM driver: every binary runs (a failure does not stop the others),
# then a summary; non-zero if any failed.
{
	echo 'failed=""'
	for s in "${STEPS[@]}"; do
		read -r n t <<<"$s"
		cat <<EOF
echo "=== test-vm: $n (timeout ${t}s)"
cd /payload/$n
start=\$(cut -d' ' -f1 /proc/uptime)
if ./$n.test $TESTFLAGS -test.timeout=${t}s; then r=ok; else r="FAIL(\$?)"; failed="\$failed $n"; fi
echo "=== test-vm: $n: \$r (\$(awk -v s=\$start '{printf "%.1f", \$1-s}' /proc/uptime)s)"
EOF
	done
	cat <<'EOF'
if [ -n "$failed" ]; then echo "=== test-vm: FAILED:$failed"; exit 1; fi
echo "=== test-vm: all passed"
EOF
} >"$TMP/run-tests.sh"

echo "test-vm: running ${#STEPS[@]} test binaries in one VM boot"
"$HERE/run.sh" --skiff "$SKIFF" --timeout "${VM_BUDGET:-660}" \
	"${PAYLOADS[@]}" --payload "$TMP/run-tests.sh" "$@" -- sh /payload/run-tests.sh
