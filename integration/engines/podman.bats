#!/usr/bin/env bats
# Podman + conmon driving the runtime under test, registered as `skiff` (and `skiffplain`).
# Run through run.sh (private mount namespace, $T, $TAG, image); see README.md.

bats_require_minimum_version 1.5.0

setup_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/podman.bash"
	podman_config
}

teardown_file() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/podman.bash"
	engine_cleanup
}

setup() {
	. "$HERE/lib/common.bash"
	. "$HERE/lib/podman.bash"
}

@test "podman import of a busybox rootfs" {
	run pm import "$IMAGES/rootfs.tar" "$IMG"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run pm image exists "$IMG"
	[ "$status" -eq 0 ]
}

@test "run --rm echo" {
	run pm_run --rm "$IMG" echo hello-from-podman
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output hello-from-podman "$output"
}

@test "run: env and workdir" {
	run pm_run --rm -e FOO=bar -w /tmp "$IMG" sh -c 'echo $FOO $(pwd)'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output "bar /tmp" "$output"
}

@test "run: exit codes 0, 1, 42" {
	run pm_run --rm "$IMG" true
	expect_eq "exit code" 0 "$status"
	run pm_run --rm "$IMG" false
	expect_eq "exit code" 1 "$status"
	run pm_run --rm "$IMG" sh -c 'exit 42'
	expect_eq "exit code" 42 "$status"
}

@test "run -i: stdin piped" {
	run bash -c "echo piped-in | podman --runtime skiff run --cgroup-parent /$TAG -i --rm $IMG cat"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq output piped-in "$output"
}

@test "run -d: running" {
	run pm_run -d --name d1 "$IMG" sh -c 'echo started; trap "exit 0" TERM; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state running "$(pm_state d1)"
}

@test "exec: output, exit code, env and workdir, user" {
	run pm exec d1 echo from-exec
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq "exec output" from-exec "$output"
	run pm exec d1 sh -c 'exit 3'
	expect_eq "exec exit code" 3 "$status"
	run pm exec -e FOO=baz -w /tmp d1 sh -c 'echo $FOO $(pwd)'
	expect_eq "exec env/workdir" "baz /tmp" "$output"
	run pm exec --user 1000:1000 d1 id
	expect_contains "exec user" "uid=1000(user) gid=1000(user)" "$output"
}

@test "exec -t: pty" {
	run t script -qec "podman --runtime skiff exec -t d1 tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "exec tty" /dev/pts/ "$output"
}

@test "logs" {
	run pm logs d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains logs started "$output"
}

@test "top" {
	run pm top d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains top "sh -c" "$output"
}

@test "pause / unpause" {
	run pm pause d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state paused "$(pm_state d1)"
	run pm unpause d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state running "$(pm_state d1)"
	run pm exec d1 echo after-unpause
	expect_eq "exec after unpause" after-unpause "$output"
}

@test "stop (SIGTERM trapped: exit 0), rm" {
	run pm stop -t 10 d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq state exited "$(pm_state d1)"
	expect_eq "exit code" 0 "$(pm inspect --format '{{.State.ExitCode}}' d1)"
	run pm rm d1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run pm ps -aq --filter name=d1
	expect_eq "ps after rm" "" "$output"
}

@test "kill -s USR1 (trapped: exit 7), kill (default: 137), rm -f" {
	run pm_run -d --name k1 "$IMG" sh -c 'trap "exit 7" USR1; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run pm kill -s USR1 k1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run pm wait k1
	expect_eq "exit code after USR1" 7 "$output"
	pm rm k1
	run pm_run -d --name k2 "$IMG" sleep 1000
	run pm kill k2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run pm wait k2
	expect_eq "exit code after kill" 137 "$output"
	run pm_run -d --name k3 "$IMG" sleep 1000
	run pm rm -f -t 0 k3
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	pm rm k2
}

@test "-m 64m: memory limit applied" {
	run pm_run --rm -m 64m "$IMG" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq memory.limit_in_bytes 67108864 "$output"
}

@test "--pids-limit 20 applied" {
	run pm_run --rm --pids-limit 20 "$IMG" cat /sys/fs/cgroup/pids/pids.max
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq pids.max 20 "$output"
}

@test "--read-only rootfs (tmpfs /tmp stays writable)" {
	run pm_run --rm --read-only "$IMG" sh -c 'touch /etc/x 2>&1; echo rc=$?; touch /tmp/x && echo tmp-ok'
	expect_contains "write to /etc" "Read-only file system" "$output"
	expect_contains "write to /etc" "rc=1" "$output"
	expect_contains "write to /tmp" "tmp-ok" "$output"
}

@test "--user 1000:1000 and --user user" {
	run pm_run --rm --user 1000:1000 "$IMG" id
	expect_contains "--user 1000:1000" "uid=1000(user) gid=1000(user)" "$output"
	run pm_run --rm --user user "$IMG" sh -c 'id -u; echo $HOME'
	expect_eq "--user user" "1000
/home/user" "$output"
}

@test "run -t: pty" {
	run t script -qec "podman --runtime skiff run --cgroup-parent /$TAG -t --rm $IMG tty" /dev/null
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_contains "tty" /dev/pts/0 "$output"
}

@test "a runtime error reaches the user (JSON --log path, runtime 'skiff')" {
	# exit code 127 needs "no such file or directory" or "executable file not found" in the
	# runtime's error message (the engine maps those strings to 127)
	run -127 pm_run --rm "$IMG" /nonexistent-cmd
	expect_contains "error message" "/nonexistent-cmd" "$output"
	expect_contains "runtime name" "skiff:" "$output"
}

@test "a runtime error reaches the user (plain stderr path, runtime 'skiffplain')" {
	# exit code 127 needs "no such file or directory" or "executable file not found" in the
	# runtime's error message (the engine maps those strings to 127)
	run -127 t podman --runtime skiffplain run --cgroup-parent "/$TAG" --rm "$IMG" /nonexistent-cmd
	expect_contains "error message" "/nonexistent-cmd" "$output"
	expect_contains "runtime name" "skiffplain:" "$output"
	# and the plain path can run containers too
	run t podman --runtime skiffplain run --cgroup-parent "/$TAG" --rm "$IMG" echo plain-ok
	expect_eq output plain-ok "$output"
}

@test "Podman's default nofile=1048576 (above this machine's hard limit) is accepted" {
	# Podman as installed puts RLIMIT_NOFILE 1048576 in config.json; the hard limit here is lower
	# and nobody has CAP_SYS_RESOURCE. Asked explicitly so that this holds even with
	# ENGINES_PODMAN_CLAMP_ULIMITS=1. runc 1.1 fails: "error setting rlimit type 7: operation not
	# permitted". Expected: the limit is clamped to the hard limit the runtime inherited.
	run pm_run --rm --ulimit nofile=1048576:1048576 "$IMG" sh -c 'ulimit -Hn; ulimit -Sn'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	expect_eq "hard and soft nofile" "$(ulimit -Hn)
$(ulimit -Hn)" "$output"
}

@test "no container left behind" {
	run pm ps -aq
	expect_eq "podman ps -aq" "" "$output"
}
