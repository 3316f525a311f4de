# containerd 1.6 (Debian `containerd`) with a private config, root, state and sockets in $T,
# driven with ctr. The runtime is given with `ctr run --runc-binary $RT` to the default
# io.containerd.runc.v2 shim; its root is --runc-root $T/runc-root (the shim appends /<namespace>).

ctr_() { t ctr --address "$T/containerd.sock" --namespace "$TAG" "$@"; }
CTR_RUN_OPTS=(--runc-binary "$RT" --runc-root "$T/runc-root")
IMG=localhost/busybox:latest

containerd_start() {
	mkdir -p "$T/root" "$T/state" "$T/opt" "$T/runc-root"
	cat >"$T/containerd.toml" <<C
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$T/containerd.sock"
[ttrpc]
  address = "$T/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
C
	start_daemon containerd setsid containerd --config "$T/containerd.toml"
	wait_for 30 ctr --address "$T/containerd.sock" version
}

# ctr_status ID: RUNNING, PAUSED, STOPPED, ... from `ctr task ls`
ctr_status() { ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
# ctr_exec EXECID [OPTIONS] ID ARGS...: `ctr task exec`, retried once (new exec id) when it succeeds with
# no output: ctr 1.6 now and then loses the output of a short-lived exec (seen once in ~10 runs
# with runc); a runtime that never delivers the output still fails.
ctr_exec() {
	local eid=$1 out rc
	shift
	out=$(ctr_ task exec --exec-id "$eid" "$@" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		echo "ctr_exec: empty output from $eid, retrying once" >&2
		out=$(ctr_ task exec --exec-id "$eid-retry" "$@" 2>&1)
		rc=$?
	fi
	printf '%s\n' "$out"
	return $rc
}
ctr_status_is() { [ "$(ctr_status "$1")" = "$2" ]; }

engine_cleanup() {
	[ -S "$T/containerd.sock" ] || return 0
	local c
	for c in $(ctr_ task ls -q 2>/dev/null); do
		ctr_ task resume "$c"
		ctr_ task kill -s KILL "$c"
	done
	sleep 0.5
	for c in $(ctr_ task ls -q 2>/dev/null); do ctr_ task delete -f "$c"; done
	for c in $(ctr_ container ls -q 2>/dev/null); do ctr_ container delete "$c"; done
	for c in $(ctr_ image ls -q 2>/dev/null); do ctr_ image rm "$c"; done
	stop_daemon containerd
}
