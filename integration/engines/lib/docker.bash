# dockerd 20.10 from Debian's docker.io, never installed: the .deb is fetched once with
# `apt-get download` into $ENGINES_CACHE and unpacked there with `dpkg-deb -x` (no postinst, no
# init script, no global daemon). dockerd runs with private data-root, exec-root, pidfile, socket
# and config file in $T; it starts the system containerd (from PATH) as its managed containerd.
# The runtime is registered with `--add-runtime skiff=$RT` (the default runtime stays runc) and
# every container is started with `docker run --runtime skiff`.

IMG=localhost/busybox:latest
DROOT=$ENGINES_CACHE/root
DOCKER=$DROOT/usr/bin/docker
DOCKERD=$DROOT/usr/sbin/dockerd
export DOCKER_HOST=unix://$T/docker.sock
export DOCKER_CONFIG=$T/docker-config

docker_fetch() {
	[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] && return 0
	mkdir -p "$ENGINES_CACHE"
	(cd "$ENGINES_CACHE" && ls docker.io_*.deb >/dev/null 2>&1 || apt-get download docker.io) || return 1
	rm -rf "$DROOT"
	dpkg-deb -x "$(ls "$ENGINES_CACHE"/docker.io_*.deb | tail -1)" "$DROOT"
}

docker_start() {
	docker_fetch || return 1
	mkdir -p "$T/data" "$T/exec" "$DOCKER_CONFIG"
	# without deprecated-key-path dockerd 20.10 writes /etc/docker/key.json
	cat >"$T/daemon.json" <<J
{"deprecated-key-path": "$T/key.json"}
J
	start_daemon dockerd setsid "$DOCKERD" --config-file "$T/daemon.json" \
		--data-root "$T/data" --exec-root "$T/exec" --pidfile "$T/docker.pid" \
		-H "unix://$T/docker.sock" --add-runtime "skiff=$RT" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
		--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$TAG" --storage-driver overlay2
	wait_for 60 "$DOCKER" version
}

dk() { t "$DOCKER" "$@"; }
dk_run() { dk run --runtime skiff --network none "$@"; }
dk_state() { dk inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }

engine_cleanup() {
	[ -S "$T/docker.sock" ] || return 0
	local c
	for c in $(dk ps -aq 2>/dev/null); do
		dk unpause "$c"
		dk rm -f "$c"
	done
	dk rmi -f "$IMG"
	stop_daemon dockerd
}
