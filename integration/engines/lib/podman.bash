# Podman 4.3 (Debian `podman`, conmon 2.1.6), every path private to $T, cgroup manager cgroupfs.
# The runtime is registered in containers.conf under two names with the same path:
#   skiff       listed in runtime_supports_json: Podman passes --log-format=json --log FILE
#   skiffplain  not listed: the runtime's plain stderr is what reaches the user
# That registration (path + runtime_supports_json) is the only engine configuration; the rest
# only isolates the test (storage, runroot, tmp dirs, events log, no network).
# The files are put where an installed Podman reads them: a copy of /etc/containers with our
# containers.conf and storage.conf is bind-mounted on /etc/containers inside our private mount
# namespace. Environment variables (CONTAINERS_CONF...) would not do: conmon does not pass them
# on to its exit command (`podman container cleanup`), which then cannot find the runtime
# `skiff`, so the container is never marked exited and `podman run`/`wait` hang for 20 s+.

IMG=localhost/busybox:latest

podman_config() {
	mkdir -p "$T/graphroot" "$T/runroot" "$T/libpod-tmp" "$T/volumes" "$T/net"
	mkdir -p "$T/etc-containers"
	cp -a /etc/containers/. "$T/etc-containers/"
	cat >"$T/etc-containers/storage.conf" <<C
[storage]
driver = "overlay"
runroot = "$T/runroot"
graphroot = "$T/graphroot"
C
	local ul=
	if [ "${ENGINES_PODMAN_CLAMP_ULIMITS:-0}" = 1 ]; then
		# validation aid only, NOT allowed for skiff: clamp Podman's default rlimits
		# (nofile=1048576) to what this machine allows so that runc 1.1 can run. See README.md.
		# (podman lowers its own RLIMIT_NPROC hard limit to 32768 at startup, and conmon and the
		# runtime inherit that)
		local n u
		n=$(ulimit -Hn)
		u=$(ulimit -Hu)
		if [ "$u" = unlimited ] || [ "$u" -gt 32768 ]; then u=32768; fi
		ul="default_ulimits = [\"nofile=$n:$n\", \"nproc=$u:$u\"]"
	fi
	cat >"$T/etc-containers/containers.conf" <<C
[containers]
netns = "none"
$ul
[network]
network_config_dir = "$T/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/libpod-tmp"
volume_path = "$T/volumes"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "ocijail", "skiff"]
[engine.runtimes]
skiff = ["$RT"]
skiffplain = ["$RT"]
C
	mount --bind "$T/etc-containers" /etc/containers
}

# pm ARGS...: podman with the runtime under test
pm() { t podman --runtime skiff "$@"; }
# pm_run ARGS...: podman run with our cgroup parent
pm_run() { pm run --cgroup-parent "/$TAG" "$@"; }
pm_state() { pm inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
pm_state_is() { [ "$(pm_state "$1")" = "$2" ]; }

engine_cleanup() {
	[ -f /etc/containers/containers.conf ] && grep -q skiffplain /etc/containers/containers.conf || return 0
	local c
	for c in $(pm ps -aq 2>/dev/null); do
		pm unpause "$c"
		pm rm -f -t 0 "$c"
	done
	pm rmi -af
	t podman system prune -f
	# conmon processes and container inits are killed by cleanup_all (by cgroup / $T)
	umount /etc/containers
}
