#!/bin/bash
# Engine end-to-end tests: containerd/ctr, Podman/conmon and dockerd drive the runtime under test.
#
#   RUNTIME=/path/to/runtime integration/engines/run.sh     (default RUNTIME: <repo>/bin/skiff)
#
# Env knobs (see README.md): ENGINES="containerd podman docker", ENGINES_BUDGET (s per engine,
# default 180), ENGINES_CMD_TIMEOUT (s per engine CLI call, 30), ENGINES_TEST_TIMEOUT (s per
# scenario, 90), ENGINES_TRACE_DIR (log every runtime call + config.json there),
# ENGINES_KEEP=1 (keep temp dirs), ENGINES_CACHE (docker.io .deb cache, /var/tmp/skiff-engines-cache),
# ENGINES_NO_INSTALL=1, ENGINES_PODMAN_CLAMP_ULIMITS=1 (validation only, see README).
# Prints one line per scenario, then exactly "N passed, M failed"; exits 1 if M > 0.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNTIME=${RUNTIME:-$REPO/bin/skiff}
ENGINES=${ENGINES:-containerd podman docker}
export ENGINES_CACHE=${ENGINES_CACHE:-/var/tmp/skiff-engines-cache}

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the engine tests need root" >&2
	exit 2
fi
case "$RUNTIME" in /*) ;; *) RUNTIME=$(cd "$(dirname "$RUNTIME")" && pwd)/$(basename "$RUNTIME") ;; esac
if [ ! -x "$RUNTIME" ]; then
	echo "run.sh: RUNTIME=$RUNTIME is not an executable (make build, or set RUNTIME)" >&2
	exit 2
fi
export RUNTIME

# --- dependencies (Debian packages); docker.io is never installed, see lib/docker.bash
need=()
for pair in containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd podman:podman \
	conmon:conmon umoci:umoci skopeo:skopeo bats:bats jq:jq unshare:util-linux script:bsdutils \
	busybox:busybox-static dpkg-deb:dpkg python3:python3-minimal; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "${ENGINES_NO_INSTALL:-0}" = 1 ]; then
		echo "run.sh: missing packages: ${need[*]}" >&2
		exit 2
	fi
	echo "run.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}" >&2 || exit 2
fi

TOP=$(mktemp -d /tmp/skiff-engines.XXXXXX)
trap 'rm -rf "$TOP"' EXIT
export IMAGES=$TOP/images
t0=$(date +%s)
if ! bash "$HERE/lib/build-image.sh" "$IMAGES" >"$TOP/image.log" 2>&1; then
	cat "$TOP/image.log" >&2
	echo "run.sh: image build failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
echo "# runtime: $RUNTIME ($("$RUNTIME" --version 2>&1 | head -1))"
echo "# image built in $(($(date +%s) - t0))s"

pass=0 fail=0 stop=0 cpid=
# on SIGINT/SIGTERM: let the running engine clean up (ns-run.sh does), report, exit non-zero
trap 'stop=1; [ -n "$cpid" ] && kill -TERM "$cpid" 2>/dev/null' INT TERM
for e in $ENGINES; do
	[ $stop = 1 ] && break
	s=$(date +%s)
	# the budget is enforced inside ns-run.sh (so that its cleanup still runs); this outer
	# timeout is only a backstop. ns-run.sh runs in a private mount namespace, as a subreaper.
	timeout -k 120 $((${ENGINES_BUDGET:-180} + 150)) \
		unshare -m --propagation private -- python3 "$HERE/lib/subreaper.py" bash "$HERE/lib/ns-run.sh" "$e" \
		<&0 >"$TOP/$e.tap" 2>"$TOP/$e.err" &
	cpid=$!
	wait "$cpid"
	rc=$?
	while kill -0 "$cpid" 2>/dev/null; do
		wait "$cpid"
		rc=$?
	done
	cpid=
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$TOP/$e.tap" | head -1)
	p=$(grep -c '^ok ' "$TOP/$e.tap")
	f=$(grep -c '^not ok ' "$TOP/$e.tap")
	missing=$((${planned:-1} - p - f))
	[ $missing -lt 0 ] && missing=0
	while IFS= read -r l; do
		case "$l" in
		"ok "*) echo "ok   $e: ${l#ok * }" ;;
		"not ok "*) echo "FAIL $e: ${l#not ok * }" ;;
		"#"*) echo "     $l" ;;
		esac
	done <"$TOP/$e.tap"
	if [ $missing -gt 0 ]; then
		echo "FAIL $e: $missing scenario(s) did not run (exit status $rc)"
	fi
	if [ -s "$TOP/$e.err" ] && { [ $f -gt 0 ] || [ $missing -gt 0 ] || grep -q cleanup: "$TOP/$e.err"; }; then
		sed 's/^/     stderr: /' "$TOP/$e.err" | tail -30
	fi
	echo "# $e: $p passed, $((f + missing)) failed in $(($(date +%s) - s))s"
	pass=$((pass + p))
	fail=$((fail + f + missing))
done
[ $stop = 1 ] && echo "# interrupted"
echo "# total time $(($(date +%s) - t0))s"
echo "$pass passed, $fail failed"
[ $stop = 0 ] && [ $fail = 0 ]
