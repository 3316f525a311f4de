#!/usr/bin/env bats
# containerd + ctr driving the runtime under test ($RT). Run through run.sh (it sets up the
# private mount namespace, $T, $TAG and the image); see README.md.

bats_require_minimum_version 1.5.0

setup_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/containerd.bash"
	containerd_start
}

teardown_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/containerd.bash"
	engine_cleanup
}

setup() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/containerd.bash"
}

@test "containerd starts (private config, root, state, socket)" {
	run ctr_ version
	[ "$status" -eq 0 ] || { echo "$output"; tail -20 "$T/containerd.log"; false; }
}

@test "ctr image import of the local OCI tarball" {
	run ctr_ image import --base-name localhost/busybox "$IMAGES/busybox-oci.tar"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run ctr_ image ls -q
	expect_contains "image list" "$IMG" "$output"
}

@test "run: command output" {
	run ctr_ run --rm "${CTR_RUN_OPTS[@]}" "$IMG" echo1 echo hello-from-ctr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output hello-from-ctr "$output"
}

@test "run: env and cwd" {
	run ctr_ run --rm "${CTR_RUN_OPTS[@]}" --env FOO=bar --cwd /tmp "$IMG" env1 sh -c 'echo $FOO $(pwd)'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output "bar /tmp" "$output"
}

@test "run: exit status 3" {
	run ctr_ run --rm "${CTR_RUN_OPTS[@]}" "$IMG" exit1 sh -c 'exit 3'
	expect_eq "exit status" 3 "$status"
}

@test "run: -t allocates a pty (console socket)" {
	run t script -qec "ctr --address $T/containerd.sock --namespace $TAG run --rm -t ${CTR_RUN_OPTS[*]} $IMG tty1 tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "tty" /dev/pts/0 "$output"
}

@test "run: --read-only rootfs" {
	run ctr_ run --rm "${CTR_RUN_OPTS[@]}" --read-only "$IMG" ro1 sh -c 'touch /etc/x 2>&1; echo rc=$?'
	expect_contains "write to the rootfs" "Read-only file system" "$output"
}

@test "run -d: detached task is RUNNING" {
	run ctr_ run -d "${CTR_RUN_OPTS[@]}" --log-uri "file://$T/d1.log" "$IMG" d1 \
		sh -c 'echo started; trap "exit 5" TERM; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 10 grep -q started "$T/d1.log" || { echo "log: $(cat "$T/d1.log")"; false; }
	expect_eq status RUNNING "$(ctr_status d1)"
}

@test "detached: cgroup is /<namespace>/<id>" {
	pid=$(ctr_ task ls | awk '$1=="d1"{print $2}')
	run grep memory /proc/$pid/cgroup
	expect_contains "memory cgroup" ":memory:/$TAG/d1" "$output"
}

@test "task exec: output, exit status, cwd, user" {
	run ctr_exec e1 d1 sh -c 'echo from-exec'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq "exec output" from-exec "$output"
	run ctr_ task exec --exec-id e2 d1 sh -c 'exit 4'
	expect_eq "exec exit status" 4 "$status"
	run ctr_exec e3 --cwd /tmp d1 pwd
	expect_eq "exec cwd" /tmp "$output"
	run ctr_exec e4 --user 1000 d1 id -u
	expect_eq "exec user" 1000 "$output"
}

@test "task exec -t (console socket)" {
	run t script -qec "ctr --address $T/containerd.sock --namespace $TAG task exec -t --exec-id e5 d1 tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "exec tty" /dev/pts/ "$output"
}

@test "task ps (runtime ps --format json)" {
	pid=$(ctr_ task ls | awk '$1=="d1"{print $2}')
	run ctr_ task ps d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "task ps" "$pid" "$output"
}

@test "pause / resume" {
	run ctr_ task pause d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq status PAUSED "$(ctr_status d1)"
	expect_eq freezer FROZEN "$(cat /sys/fs/cgroup/freezer/$TAG/d1/freezer.state)"
	run ctr_ task resume d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq status RUNNING "$(ctr_status d1)"
	run ctr_exec e6 d1 echo after-resume
	expect_eq "exec after resume" after-resume "$output"
}

@test "kill (SIGTERM trapped), exit status 5, delete" {
	run ctr_ task kill d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 10 ctr_status_is d1 STOPPED || { echo "status: $(ctr_status d1)"; false; }
	run ctr_ task delete d1
	expect_contains "exit status from task delete" "exit code 5" "$output"
	run ctr_ container delete d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run ctr_ container ls -q
	[[ "$output" != *d1* ]] || { echo "container still listed: $output"; false; }
}

@test "kill -s SIGKILL of an untrapped task" {
	run ctr_ run -d "${CTR_RUN_OPTS[@]}" --null-io "$IMG" k1 sleep 1000
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run ctr_ task kill -s SIGKILL k1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 10 ctr_status_is k1 STOPPED || { echo "status: $(ctr_status k1)"; false; }
	run ctr_ task delete k1
	expect_contains "exit status from task delete" "exit code 137" "$output"
	ctr_ container delete k1
}

@test "--memory-limit visible in the container's memory cgroup" {
	run ctr_ run -d "${CTR_RUN_OPTS[@]}" --null-io --memory-limit 67108864 "$IMG" m1 sleep 1000
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq memory.limit_in_bytes 67108864 "$(cat /sys/fs/cgroup/memory/$TAG/m1/memory.limit_in_bytes)"
	pid=$(ctr_ task ls | awk '$1=="m1"{print $2}')
	grep -qx "$pid" /sys/fs/cgroup/memory/$TAG/m1/cgroup.procs || { echo "init $pid not in the cgroup"; false; }
	ctr_ task kill -s KILL m1
	wait_for 10 ctr_status_is m1 STOPPED
	ctr_ task delete m1 || true
	ctr_ container delete m1
	[ ! -d /sys/fs/cgroup/memory/$TAG/m1 ] || { echo "cgroup left behind after delete"; false; }
}
