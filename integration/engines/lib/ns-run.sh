#!/bin/bash
# ns-run.sh ENGINE: runs ENGINE.bats inside a private mount namespace (run.sh starts us under
# `unshare -m --propagation private`), with a private tmpfs on /run so that the engines'
# hard-coded paths (/run/containerd/s, /run/<runtime>, /run/containers, /run/docker) never
# touch the host. Always cleans up (daemons, processes, cgroups, mounts, temp dir) on exit.
# Prints TAP on stdout.
set -u
ENGINE=$1
HERE=$(cd "$(dirname "$0")/.." && pwd)
export ENGINE HERE
. "$HERE/lib/common.bash"

mount --make-rprivate / 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run || { echo "ns-run: cannot mount a private /run" >&2; exit 1; }
mkdir -p /run/lock

export T=$(mktemp -d "/tmp/skiff-engines-$ENGINE.XXXXXX")
chmod 0755 "$T"
export TAG="skiff-eng-$ENGINE-$$"
# as for a root service: no XDG_RUNTIME_DIR (go-runc/the shim then put temp files in /tmp)
unset XDG_RUNTIME_DIR
if [ -n "${ENGINES_TRACE_DIR:-}" ]; then
	make_trace_wrapper
	export RT=$T/bin/skiff
else
	export RT=$RUNTIME
fi

on_exit() {
	trap - EXIT INT TERM
	# the engine's own graceful cleanup (lib/ENGINE.bash), at most 60 s (with a hanging runtime
	# every engine call would time out), then the safety net that kills by pid
	timeout -k 5 60 bash -c '. "$HERE/lib/common.bash"; . "$HERE/lib/$ENGINE.bash"; ENGINES_CMD_TIMEOUT=10 engine_cleanup' >/dev/null 2>&1
	cleanup_all
}
trap on_exit EXIT
bpid=
# on SIGINT/SIGTERM: stop bats and everything it runs (timeout leads their process group;
# the daemons are in their own sessions and are stopped by on_exit), then clean up
trap '[ -n "$bpid" ] && kill -TERM -- "-$bpid" 2>/dev/null; exit 130' INT TERM

export BATS_TEST_TIMEOUT=${ENGINES_TEST_TIMEOUT:-90}
# bats keeps its run directory in $TMPDIR: put it in $T (common.bash unsets TMPDIR again for the
# engines), so that it is removed even when bats is killed at the end of the budget
mkdir -p "$T/bats-tmp"
# (in the background, so that a signal is handled at once rather than after bats ends)
TMPDIR=$T/bats-tmp timeout -k 10 "${ENGINES_BUDGET:-180}" bats --tap "$HERE/$ENGINE.bats" <&0 &
bpid=$!
wait "$bpid"
rc=$?
[ $rc = 124 ] && echo "# ns-run: $ENGINE exceeded its time budget of ${ENGINES_BUDGET:-180}s" 
exit $rc
