#!/usr/bin/env bats
# dockerd (Debian docker.io 20.10, unpacked, not installed) driving the runtime under test,
# registered with --add-runtime skiff=$RT. Run through run.sh; see README.md.

bats_require_minimum_version 1.5.0

setup_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/docker.bash"
	docker_start
}

teardown_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/docker.bash"
	engine_cleanup
}

setup() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/docker.bash"
}

@test "dockerd starts with --add-runtime skiff=RUNTIME" {
	run dk info --format '{{json .Runtimes}}'
	[ "$status" -eq 0 ] || { echo "$output"; tail -20 "$T/dockerd.log"; false; }
	expect_contains "runtimes" '"skiff"' "$output"
}

@test "docker load of the local image tarball" {
	run dk load -i "$IMAGES/busybox-docker.tar"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "load" "$IMG" "$output"
}

@test "run --runtime skiff: echo" {
	run dk_run --rm "$IMG" echo hello-from-docker
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output hello-from-docker "$output"
}

@test "run: env and workdir" {
	run dk_run --rm -e FOO=bar -w /tmp "$IMG" sh -c 'echo $FOO $(pwd)'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output "bar /tmp" "$output"
}

@test "run: exit code 42" {
	run dk_run --rm "$IMG" sh -c 'exit 42'
	expect_eq "exit code" 42 "$status"
}

@test "run -i: stdin piped" {
	run bash -c "echo piped-in | $DOCKER run --runtime skiff --network none -i --rm $IMG cat"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output piped-in "$output"
}

@test "run -t: pty" {
	run t script -qec "$DOCKER run --runtime skiff --network none -t --rm $IMG tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains tty /dev/pts/0 "$output"
}

@test "run -d: running, HostConfig.Runtime is skiff" {
	run dk_run -d --name d1 "$IMG" sh -c 'echo started; trap "exit 0" TERM; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state running "$(dk_state d1)"
	expect_eq runtime skiff "$(dk inspect --format '{{.HostConfig.Runtime}}' d1)"
}

@test "exec: output, exit code, env and workdir, user" {
	run dk exec d1 echo from-exec
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq "exec output" from-exec "$output"
	run dk exec d1 sh -c 'exit 3'
	expect_eq "exec exit code" 3 "$status"
	run dk exec -e FOO=baz -w /tmp d1 sh -c 'echo $FOO $(pwd)'
	expect_eq "exec env/workdir" "baz /tmp" "$output"
	run dk exec --user 1000:1000 d1 id
	expect_contains "exec user" "uid=1000(user) gid=1000(user)" "$output"
}

@test "exec -t: pty" {
	run t script -qec "$DOCKER exec -t d1 tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "exec tty" /dev/pts/ "$output"
}

@test "logs, top (runtime ps)" {
	run dk logs d1
	expect_contains logs started "$output"
	run dk top d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains top "sh -c" "$output"
}

@test "pause / unpause" {
	run dk pause d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state paused "$(dk_state d1)"
	run dk unpause d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state running "$(dk_state d1)"
	run dk exec d1 echo after-unpause
	expect_eq "exec after unpause" after-unpause "$output"
}

@test "stop (SIGTERM trapped: exit 0), rm" {
	run dk stop -t 10 d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state exited "$(dk_state d1)"
	expect_eq "exit code" 0 "$(dk inspect --format '{{.State.ExitCode}}' d1)"
	run dk rm d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dk ps -aq --filter name=d1
	expect_eq "ps after rm" "" "$output"
}

@test "kill -s USR1 (trapped: exit 7), rm -f of a running container" {
	run dk_run -d --name k1 "$IMG" sh -c 'trap "exit 7" USR1; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dk kill -s USR1 k1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dk wait k1
	expect_eq "exit code after USR1" 7 "$output"
	dk rm k1
	run dk_run -d --name k2 "$IMG" sleep 1000
	run dk rm -f k2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--memory 64m applied" {
	run dk_run --rm --memory 64m "$IMG" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq memory.limit_in_bytes 67108864 "$output"
}

@test "--pids-limit 20 applied" {
	run dk_run --rm --pids-limit 20 "$IMG" cat /sys/fs/cgroup/pids/pids.max
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq pids.max 20 "$output"
}

@test "--read-only rootfs" {
	run dk_run --rm --read-only "$IMG" sh -c 'touch /etc/x 2>&1; echo rc=$?'
	expect_contains "write to /etc" "Read-only file system" "$output"
	expect_contains "write to /etc" "rc=1" "$output"
}

@test "--user 1000:1000" {
	run dk_run --rm --user 1000:1000 "$IMG" id
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "--user" "uid=1000(user) gid=1000(user)" "$output"
}

@test "a runtime error reaches the user (through the shim's log.json)" {
	# exit code 127 needs "no such file or directory" or "executable file not found" in the
	# runtime's error message (the engine maps those strings to 127)
	run -127 dk_run --rm "$IMG" /nonexistent-cmd
	expect_contains "error message" "/nonexistent-cmd" "$output"
	[[ "$output" != *"unable to retrieve OCI runtime error"* ]] || { echo "$output"; false; }
}

@test "no container left behind" {
	run dk ps -aq
	expect_eq "docker ps -aq" "" "$output"
}
