# Shared helpers for the engine tests. Sourced by lib/ns-run.sh and the .bats files.
# Environment (set by run.sh / ns-run.sh):
#   RUNTIME      the runtime binary under test (absolute path)
#   RT           what the engines are given: RUNTIME, or the tracing wrapper $T/bin/skiff
#   T            this engine's private temp dir;  TAG  unique name (cgroup parent, ctr namespace)
#   IMAGES       directory made by build-image.sh
#   ENGINES_CMD_TIMEOUT  seconds per engine CLI call (default 30)

# ns-run.sh points TMPDIR at $T/bats-tmp for bats only; the engines get the usual environment
if [ -n "${T:-}" ] && [ "${TMPDIR:-}" = "$T/bats-tmp" ]; then unset TMPDIR; fi

# t CMD...: run an engine CLI call with a timeout, so a hanging runtime costs a bounded time.
t() { timeout -k 5 "${ENGINES_CMD_TIMEOUT:-30}" "$@"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" != "$3" ]; then
		echo "$1: expected [$2], got [$3]" >&2
		return 1
	fi
}
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
	case "$3" in
	*"$2"*) return 0 ;;
	esac
	echo "$1: expected output containing [$2], got [$3]" >&2
	return 1
}

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# start_daemon NAME CMD...: start a daemon in the background, pid in $T/NAME.pid, log in $T/NAME.log.
# fd 3 is closed so that bats does not wait for the daemon.
start_daemon() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 3>&- </dev/null &
	echo $! >"$T/$name.pid"
}

# stop_daemon NAME: SIGTERM the daemon we started (by its pid file), SIGKILL after 15 s.
stop_daemon() {
	local f=$T/$1.pid p
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null
		local n=75
		while kill -0 "$p" 2>/dev/null && [ $n -gt 0 ]; do
			sleep 0.2
			n=$((n - 1))
		done
		kill -KILL "$p" 2>/dev/null
	fi
	rm -f "$f"
}

# cgroup_dirs: every cgroup directory named $TAG at the top of a hierarchy.
cgroup_dirs() {
	local h
	for h in /sys/fs/cgroup/*/; do
		h=${h%/}
		[ -d "$h/$TAG" ] && echo "$h/$TAG"
	done
	return 0
}

# our_pids: processes in our cgroups, or whose command line names our temp dir or tag.
our_pids() {
	local d p self=$$ cmd
	{
		for d in $(cgroup_dirs); do
			find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
			find "$d" -name tasks -exec cat {} + 2>/dev/null
		done
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
			case "$cmd" in
			*"$T"* | *"$TAG"*) echo "$p" ;;
			esac
		done
	} | sort -un | while read -r p; do
		# never ourselves or our ancestors
		[ "$p" = "$self" ] && continue
		[ "$p" = "$BASHPID" ] && continue
		is_ancestor "$p" && continue
		echo "$p"
	done
}
is_ancestor() {
	local q=$BASHPID
	while [ -n "$q" ] && [ "$q" -gt 1 ]; do
		[ "$q" = "$1" ] && return 0
		q=$(awk '/^PPid:/{print $2}' "/proc/$q/status" 2>/dev/null)
	done
	return 1
}

# cleanup_all: the last line of defence, run by ns-run.sh on exit (also after a timeout).
# Kills (by pid) only what we started, thaws and removes our cgroups, unmounts what is left
# under $T, removes $T unless ENGINES_KEEP=1.
cleanup_all() {
	local d i pids f
	# frozen processes cannot die: thaw our freezer cgroups first
	for d in $(cgroup_dirs); do
		case "$d" in
		*/freezer/*) find "$d" -name freezer.state | while read -r f; do echo THAWED >"$f" 2>/dev/null; done ;;
		esac
	done
	for i in 1 2 3 4 5; do
		pids=$(our_pids)
		[ -z "$pids" ] && break
		[ $i = 1 ] && echo "cleanup: killing leftover pids: $(echo $pids)" >&2
		kill -KILL $pids 2>/dev/null
		sleep 0.5
	done
	# mounts under $T (they live in our private mount namespace anyway)
	if [ -n "${T:-}" ]; then
		awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	fi
	for i in 1 2 3 4 5 6 7 8 9 10; do
		local left=0
		for d in $(cgroup_dirs); do
			if [ "$(stat -f -c %T "$(dirname "$d")")" = tmpfs ]; then
				# plain directories on the /sys/fs/cgroup tmpfs (controllers not mounted as v1)
				rm -rf "$d"
			else
				find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
			fi
			[ -d "$d" ] && left=1
		done
		[ $left = 0 ] && break
		sleep 0.5
	done
	for d in $(cgroup_dirs); do echo "cleanup: could not remove cgroup $d" >&2; done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ "${ENGINES_KEEP:-0}" = 1 ]; then
			echo "cleanup: kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
}

# make_trace_wrapper: when ENGINES_TRACE_DIR is set, the engines are given $T/bin/skiff, a
# script that appends its argv (and a few env vars) to $ENGINES_TRACE_DIR/ENGINE.argv, keeps a
# copy of config.json for create/run, then execs $RUNTIME. It is named skiff whatever RUNTIME is.
make_trace_wrapper() {
	mkdir -p "$T/bin" "$ENGINES_TRACE_DIR"
	cat >"$T/bin/skiff" <<W
#!/bin/bash
log=$ENGINES_TRACE_DIR/$ENGINE.argv
{
	printf '%s' "\$(date +%T.%N | cut -c1-12) ppid=\$PPID(\$(cat /proc/\$PPID/comm 2>/dev/null))"
	for a in "\$0" "\$@"; do printf ' %q' "\$a"; done
	printf '\n    env:'
	env | grep -E '^(XDG_|NOTIFY_SOCKET|_OCI|LISTEN_|GOMAXPROCS|HOME=|TMPDIR|container|RUNC|DOCKER|CONTAINERD)' | sort | tr '\n' ' '
	printf '\n    env names:'
	env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort | tr '\n' ' '
	printf '\n'
} >>"\$log"
b=
prev=
for a in "\$@"; do
	case "\$prev" in --bundle | -b) b=\$a ;; esac
	case "\$a" in --bundle=*) b=\${a#--bundle=} ;; esac
	prev=\$a
done
if [ -n "\$b" ] && [ -f "\$b/config.json" ]; then
	id=\${!#}
	cp "\$b/config.json" "$ENGINES_TRACE_DIR/$ENGINE-config-\${id:0:16}.json" 2>/dev/null
fi
exec "$RUNTIME" "\$@"
W
	chmod 0755 "$T/bin/skiff"
}
