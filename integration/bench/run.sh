#!/usr/bin/env bash
# integration/bench/run.sh: skiff against runc and crun, interleaved, on one
# busybox bundle (issue 8). Needs root. Prints a table of medians and the
# ratios skiff/crun and skiff/runc; the raw samples stay in $BENCH_OUT when
# that is set.
#
# Method (see /work/shared/reference/performance-baseline.md):
# - One rootfs (integration/mkbundle.sh), one config for every runtime: an
#   unchanged `runc spec` with terminal=false, root.readonly=true, args
#   /bin/true, no ambient capabilities (runc ignores that it cannot raise
#   them without inheritable ones; skiff refuses), and linux.cgroupsPath set to /skiffbench-PID/<runtime>[-...]
#   so the harness can read the container's memory cgroup. "skiff" is the
#   plain runtime (no writable layer: the dev.skiff.layer annotation is
#   absent); "skiff-ov" is the same config plus dev.skiff.layer=overlay.
# - The script re-executes itself under `unshare --mount --propagation
#   private` and, only in that private mount namespace, bind-mounts an empty
#   file over /sys/fs/cgroup/unified/cgroup.controllers: crun 1.8.1 refuses
#   hybrid hosts otherwise. Every runtime and every floor runs in there.
# - Wall time: $EPOCHREALTIME right before and after the child, no fork in
#   the window. CPU: delta of bash's `times` (children user+sys), which
#   covers every waited-for descendant (runtime, its init, the container).
# - Iterations interleave the runtimes in a fresh random order (sequential
#   runs) or a rotated order (everything else). Ratios of the `run` loop are
#   medians of per-iteration paired ratios; the others are ratios of medians.
#
# Env (defaults in brackets):
#   SKIFF        skiff binary [REPO/bin/skiff]
#   RUNTIMES     which runtimes [skiff skiff-ov runc crun]
#   N_RUN [100] sequential `run` per runtime     N_SPLIT [30] create/start/delete
#   N_EXEC [30] exec into a running container    N_RSS [5] /usr/bin/time runs
#   N_PAR [5] repeats of PAR [20] concurrent runs
#   N_SECCOMP [30] `run` and `exec` with an engine's seccomp profile (0: skip)
#   N_IDLE [20] `run` and `exec` each after IDLE_MS [50] ms of idle (0: skip)
#   HF_RUNS [30] hyperfine cross-check runs (0: skip)
#   BISECT [1] memory-limit bisection (0: skip), BISECT_LO [64] BISECT_HI
#   [65536] BISECT_STEP [4] KiB, BISECT_TRIES [3] runs that must all pass,
#   BISECT_CONFIRM [10] runs at the result
#   BENCH_OUT    keep the raw samples in this directory
#   SKIFF_B      a second skiff binary (say, before a change): adds the
#                runtime "skiff-b" (plain, like "skiff") and skiff/skiff-b ratios
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SKIFF=${SKIFF:-$repo/bin/skiff}
case $SKIFF in /*) ;; *) SKIFF=$PWD/$SKIFF ;; esac
export SKIFF

die() { echo "bench: $*" >&2; exit 1; }

if [[ -z ${_SKIFF_BENCH_NS:-} ]]; then
	[[ $(id -u) == 0 ]] || die "needs root"
	[[ -x $SKIFF ]] || die "no skiff binary at $SKIFF (make build)"
	need=()
	command -v runc >/dev/null || need+=(runc)
	command -v crun >/dev/null || need+=(crun)
	command -v hyperfine >/dev/null || need+=(hyperfine)
	command -v jq >/dev/null || need+=(jq)
	command -v unshare >/dev/null || need+=(util-linux)
	command -v file >/dev/null || need+=(file)
	[[ -f /usr/share/containers/seccomp.json ]] || need+=(golang-github-containers-common)
	[[ -x /usr/bin/time ]] || need+=(time)
	if ! { command -v busybox >/dev/null && file -L "$(command -v busybox)" | grep -q 'statically linked'; }; then
		need+=(busybox-static)
	fi
	if ((${#need[@]})); then
		echo "bench: installing ${need[*]}" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2 ||
			die "apt-get install ${need[*]} failed"
	fi
	_SKIFF_BENCH_NS=1 exec unshare --mount --propagation private "$BASH" "${BASH_SOURCE[0]}" "$@"
	die "unshare failed"
fi

RUNTIMES=${RUNTIMES:-skiff skiff-ov${SKIFF_B:+ skiff-b} runc crun}
N_RUN=${N_RUN:-100} N_SPLIT=${N_SPLIT:-30} N_EXEC=${N_EXEC:-30} N_RSS=${N_RSS:-5}
N_PAR=${N_PAR:-5} PAR=${PAR:-20} HF_RUNS=${HF_RUNS:-30} N_SECCOMP=${N_SECCOMP:-30}
N_IDLE=${N_IDLE:-20} IDLE_MS=${IDLE_MS:-50}
BISECT=${BISECT:-1} BISECT_LO=${BISECT_LO:-64} BISECT_HI=${BISECT_HI:-65536}
BISECT_STEP=${BISECT_STEP:-4} BISECT_TRIES=${BISECT_TRIES:-3} BISECT_CONFIRM=${BISECT_CONFIRM:-10}
read -ra RTS <<<"$RUNTIMES"

W=$(mktemp -d /tmp/skiff-bench.XXXXXX)
S=$W/samples
STATE=$W/state
CG=/skiffbench-$$
ERRLOG=$W/errors.log
TIMESF=$(mktemp /dev/shm/skiff-bench-times.XXXXXX 2>/dev/null || mktemp "$W/times.XXXXXX")
mkdir -p "$S" "$STATE" "$W/layers"
# A private copy: bin/skiff may be rebuilt by others while this runs.
cp "$SKIFF" "$W/skiff" || die "cannot copy $SKIFF"
SKIFF_SRC=$SKIFF SKIFF=$W/skiff
if [[ -n ${SKIFF_B:-} ]]; then
	cp "$SKIFF_B" "$W/skiff-b" || die "cannot copy $SKIFF_B"
fi
: >"$ERRLOG"

# rt_argv RUNTIME: ARGV=(the runtime's command line before the subcommand).
rt_argv() {
	case $1 in
	skiff) ARGV=("$SKIFF" --root "$STATE/skiff") ;;
	skiff-ov) ARGV=("$SKIFF" --root "$STATE/skiff-ov" --data-root "$W/layers") ;;
	skiff-b) ARGV=("$W/skiff-b" --root "$STATE/skiff-b") ;;
	runc) ARGV=(runc --root "$STATE/runc") ;;
	crun) ARGV=(crun --root "$STATE/crun") ;;
	*) die "unknown runtime $1" ;;
	esac
}

cleanup() {
	local r d
	for r in "${RTS[@]}"; do
		rt_argv "$r"
		for d in "$STATE/$r"/*/; do
			[[ -d $d ]] || continue
			"${ARGV[@]}" delete --force "$(basename "$d")" >/dev/null 2>&1
		done
	done
	# Our cgroups only, deepest first, in every hierarchy.
	for d in /sys/fs/cgroup/*/"${CG#/}"; do
		[[ -d $d && ! -L ${d%/*} ]] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [[ -n ${BENCH_OUT:-} ]]; then
		mkdir -p "$BENCH_OUT" && cp -r "$S" "$ERRLOG" "$BENCH_OUT"/ 2>/dev/null
	fi
	rm -f "$TIMESF"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# crun 1.8.1 and hybrid cgroups: hide the cgroup2 controllers, here only.
ctl=/sys/fs/cgroup/unified/cgroup.controllers
if [[ -r $ctl && -n $(<"$ctl") ]]; then
	: >"$W/empty-controllers"
	mount --bind "$W/empty-controllers" "$ctl" || die "cannot hide $ctl in the private mount namespace"
fi

echo "== skiff bench $(date -u +%FT%TZ)  host $(uname -r), $(nproc) CPUs"
echo "load at start: $(uptime)"
echo "skiff: $("$SKIFF" --version 2>&1 | head -1) (copy of $SKIFF_SRC, $(stat -c %s "$SKIFF") bytes)"
[[ -n ${SKIFF_B:-} ]] && echo "skiff-b: $("$W/skiff-b" --version 2>&1 | head -1) (copy of $SKIFF_B)"
echo "runc:  $(runc --version 2>&1 | head -1)"
echo "crun:  $(crun --version 2>&1 | head -1)"
echo "runtimes: ${RTS[*]}; N_RUN=$N_RUN N_SPLIT=$N_SPLIT N_EXEC=$N_EXEC N_RSS=$N_RSS N_PAR=$N_PAR PAR=$PAR HF_RUNS=$HF_RUNS"

# ---- bundle -------------------------------------------------------------
ROOTFS=$W/rootfs-bundle/rootfs
SKIFF=$SKIFF sh "$repo/integration/mkbundle.sh" "$W/rootfs-bundle" >/dev/null || die "mkbundle failed"
mkdir -p "$W/base" && runc spec --bundle "$W/base" || die "runc spec failed"
BASE=$W/base/config.json

# mkcfg DIR RUNTIME CGROUP ARGS-JSON [JQ-FILTER]: a bundle dir whose config
# is the common one.
mkcfg() {
	local dir=$1 r=$2 cg=$3 args=$4 extra=${5:-.}
	mkdir -p "$dir"
	jq --arg root "$ROOTFS" --arg cg "$cg" --argjson args "$args" --arg ov "$([[ $r == skiff-ov ]] && echo 1)" '
		.process.terminal = false | .process.args = $args
		| .root.path = $root | .root.readonly = true
		| del(.process.capabilities.ambient)
		| .linux.cgroupsPath = $cg
		| if .annotations then del(.annotations["dev.skiff.layer"]) else . end
		| if $ov == "1" then .annotations["dev.skiff.layer"] = "overlay" else . end
		| '"$extra" "$BASE" >"$dir/config.json" || die "jq on $dir failed"
}
for r in "${RTS[@]}"; do
	mkcfg "$W/b/true/$r" "$r" "$CG/$r" '["/bin/true"]'
	mkcfg "$W/b/sleep/$r" "$r" "$CG/$r-exec" '["/bin/sleep","100000"]'
	for ((i = 1; i <= PAR; i++)); do
		mkcfg "$W/b/par/$r/$i" "$r" "$CG/$r-p$i" '["/bin/true"]'
	done
done
FLOOR=(unshare --mount --uts --ipc --pid --net --fork "--root=$ROOTFS" /bin/true)

# The seccomp profile engines give every container: Podman's (from
# containers-common), as OCI rules: every syscall it allows without
# argument or capability conditions (385 names here), for x86_64, x86
# and x32, everything else EPERM.
SECCOMP_JSON=$W/seccomp.json
if ((N_SECCOMP > 0)); then
	jq '{defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
		architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		syscalls: [.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and ((.args // []) | length) == 0
			and ((.includes.caps // []) | length) == 0 and ((.excludes // {}) | length) == 0)
			| {names, action}]}' /usr/share/containers/seccomp.json >"$SECCOMP_JSON" ||
		die "cannot derive a seccomp profile from /usr/share/containers/seccomp.json"
	for r in "${RTS[@]}"; do
		for k in true sleep; do
			args='["/bin/true"]'
			[[ $k == sleep ]] && args='["/bin/sleep","100000"]'
			mkcfg "$W/b/sec-$k/$r" "$r" "$CG/$r-sec-$k" "$args"
			jq --slurpfile p "$SECCOMP_JSON" '.linux.seccomp = $p[0]' "$W/b/sec-$k/$r/config.json" >"$W/b/sec-$k/$r/c" &&
				mv "$W/b/sec-$k/$r/c" "$W/b/sec-$k/$r/config.json" || die "seccomp config for $r failed"
		done
	done
	echo "seccomp profile: $(jq '[.syscalls[].names[]] | length' "$SECCOMP_JSON") syscalls allowed, from /usr/share/containers/seccomp.json"
fi

# ---- timing primitives (no fork between the two clock reads) -------------
# us_of 0m1.234s -> microseconds in US
us_of() {
	local v=$1 m s sec frac
	m=${v%%m*} s=${v#*m} s=${s%s}
	sec=${s%.*} frac=${s#*.}
	US=$(((10#$m * 60 + 10#$sec) * 1000000 + 10#$frac * 1000))
}
cpu_now() {
	local l1 a b
	times >"$TIMESF"
	{ read -r l1 && read -r a b; } <"$TIMESF"
	us_of "$a"
	CPU_US=$US
	us_of "$b"
	CPU_US=$((CPU_US + US))
}
now_us() { NOW=${EPOCHREALTIME/./}; }
# tm CMD...: T_WALL, T_CPU (microseconds) and T_RC of CMD.
tm() {
	local c0 t0 t1
	cpu_now
	c0=$CPU_US
	t0=${EPOCHREALTIME/./}
	"$@" </dev/null >/dev/null 2>>"$ERRLOG" && T_RC=0 || T_RC=$?
	t1=${EPOCHREALTIME/./}
	cpu_now
	T_WALL=$((t1 - t0)) T_CPU=$((CPU_US - c0))
}
# shuffled WORDS...: ORDER=(WORDS in a random order)
shuffled() {
	ORDER=("$@")
	local i j t
	for ((i = ${#ORDER[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${ORDER[i]} ORDER[i]=${ORDER[j]} ORDER[j]=$t
	done
}
# rotated K WORDS...: ORDER=(WORDS rotated left by K)
rotated() {
	local k=$1
	shift
	local n=$#
	ORDER=()
	local i a=("$@")
	for ((i = 0; i < n; i++)); do ORDER+=("${a[(i + k) % n]}"); done
}
# sample FILE FIELDS...: append one line
sample() {
	local f=$1
	shift
	echo "$*" >>"$S/$f"
}

# ---- warm-up (page cache, cgroup parents) ---------------------------------
for r in "${RTS[@]}"; do
	rt_argv "$r"
	for i in 1 2 3; do
		tm "${ARGV[@]}" run -b "$W/b/true/$r" "w-$r-$i"
		((T_RC == 0)) || { tail -5 "$ERRLOG" >&2; die "$r run failed in warm-up (rc $T_RC)"; }
	done
done
tm "${FLOOR[@]}"
((T_RC == 0)) || die "floor (${FLOOR[*]}) failed"

# ---- (a) sequential run ---------------------------------------------------
echo "-- (a) $N_RUN sequential runs each, shuffled per iteration"
t_phase=$SECONDS
for ((it = 1; it <= N_RUN; it++)); do
	shuffled "${RTS[@]}" floor
	for r in "${ORDER[@]}"; do
		if [[ $r == floor ]]; then
			tm "${FLOOR[@]}"
		else
			rt_argv "$r"
			tm "${ARGV[@]}" run -b "$W/b/true/$r" "r-$r-$it"
		fi
		sample run "$r $it $T_WALL $T_CPU $T_RC"
	done
done
echo "   ($((SECONDS - t_phase)) s)"

# ---- (b) create / start / wait / delete, memory after create -------------
echo "-- (b) $N_SPLIT create/start/delete each, rotated"
t_phase=$SECONDS
for ((it = 1; it <= N_SPLIT; it++)); do
	rotated "$it" "${RTS[@]}"
	for r in "${ORDER[@]}"; do
		rt_argv "$r"
		id=s-$r-$it
		tm "${ARGV[@]}" create -b "$W/b/true/$r" "$id"
		c_wall=$T_WALL c_rc=$T_RC
		pid=$("${ARGV[@]}" state "$id" 2>/dev/null | jq -r '.pid // 0')
		usage=$(cat "/sys/fs/cgroup/memory$CG/$r/memory.usage_in_bytes" 2>/dev/null || echo -1)
		hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		tm "${ARGV[@]}" start "$id"
		s_wall=$T_WALL s_rc=$T_RC
		# wait: until the init is gone or a zombie (it is not our child)
		t0=${EPOCHREALTIME/./}
		for ((k = 0; k < 200000; k++)); do
			st=
			read -r st 2>/dev/null <"/proc/$pid/stat" || break
			st=${st##*) }
			[[ ${st:0:1} == Z || ${st:0:1} == X ]] && break
		done
		t1=${EPOCHREALTIME/./}
		w_wall=$((t1 - t0))
		tm "${ARGV[@]}" delete "$id"
		d_wall=$T_WALL d_rc=$T_RC
		if ((d_rc != 0)); then "${ARGV[@]}" delete --force "$id" >/dev/null 2>&1; fi
		sample split "$r $it $c_wall $s_wall $w_wall $d_wall $((usage / 1024)) ${hwm:--1} $c_rc $s_rc $d_rc"
	done
done
echo "   ($((SECONDS - t_phase)) s)"

# delete_each PREFIX: delete --force the container PREFIX<runtime> of
# every runtime.
delete_each() {
	local r
	for r in "${RTS[@]}"; do
		rt_argv "$r"
		"${ARGV[@]}" delete --force "$1$r" >/dev/null 2>&1
	done
}

# ---- (c) exec into a running container ------------------------------------
echo "-- (c) $N_EXEC exec /bin/true each, rotated, + nsenter floor"
t_phase=$SECONDS
declare -A EXPID
for r in "${RTS[@]}"; do
	rt_argv "$r"
	"${ARGV[@]}" run -d -b "$W/b/sleep/$r" "e-$r" </dev/null >/dev/null 2>>"$ERRLOG" ||
		echo "   $r: run -d failed" >&2
	EXPID[$r]=$("${ARGV[@]}" state "e-$r" 2>/dev/null | jq -r '.pid // 0')
done
nspid=0
for r in "${RTS[@]}"; do ((${EXPID[$r]:-0} > 0)) && { nspid=${EXPID[$r]}; break; }; done
for ((it = 1; it <= N_EXEC; it++)); do
	rotated "$it" "${RTS[@]}" floor
	for r in "${ORDER[@]}"; do
		if [[ $r == floor ]]; then
			tm nsenter -t "$nspid" -m -u -i -n -p -r -w /bin/true
		else
			rt_argv "$r"
			tm "${ARGV[@]}" exec "e-$r" /bin/true
		fi
		sample exec "$r $it $T_WALL $T_CPU $T_RC"
	done
done
delete_each e-
echo "   ($((SECONDS - t_phase)) s)"

# ---- (d) peak RSS ---------------------------------------------------------
echo "-- (d) $N_RSS x /usr/bin/time -f %M on run and create"
for ((it = 1; it <= N_RSS; it++)); do
	rotated "$it" "${RTS[@]}" floor
	for r in "${ORDER[@]}"; do
		if [[ $r == floor ]]; then
			/usr/bin/time -f %M -o "$W/rss" "${FLOOR[@]}" </dev/null >/dev/null 2>>"$ERRLOG"
			sample rss "$r $it $(tail -1 "$W/rss") -1"
			continue
		fi
		rt_argv "$r"
		/usr/bin/time -f %M -o "$W/rss" "${ARGV[@]}" run -b "$W/b/true/$r" "m-$r-$it" </dev/null >/dev/null 2>>"$ERRLOG"
		a=$(tail -1 "$W/rss")
		/usr/bin/time -f %M -o "$W/rss" "${ARGV[@]}" create -b "$W/b/true/$r" "m-$r-$it" </dev/null >/dev/null 2>>"$ERRLOG"
		b=$(tail -1 "$W/rss")
		"${ARGV[@]}" delete --force "m-$r-$it" >/dev/null 2>&1
		sample rss "$r $it $a $b"
	done
done

# ---- (e) concurrent runs --------------------------------------------------
echo "-- (e) $N_PAR x $PAR concurrent runs, rotated"
t_phase=$SECONDS
for ((it = 1; it <= N_PAR; it++)); do
	rotated "$it" "${RTS[@]}" floor
	for r in "${ORDER[@]}"; do
		[[ $r == floor ]] || rt_argv "$r"
		pids=()
		cpu_now
		c0=$CPU_US
		t0=${EPOCHREALTIME/./}
		for ((i = 1; i <= PAR; i++)); do
			if [[ $r == floor ]]; then
				"${FLOOR[@]}" </dev/null >/dev/null 2>>"$ERRLOG" &
			else
				"${ARGV[@]}" run -b "$W/b/par/$r/$i" "p-$r-$it-$i" </dev/null >/dev/null 2>>"$ERRLOG" &
			fi
			pids+=($!)
		done
		fails=0
		for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
		t1=${EPOCHREALTIME/./}
		cpu_now
		sample par "$r $it $((t1 - t0)) $((CPU_US - c0)) $fails"
	done
done
echo "   ($((SECONDS - t_phase)) s)"

# run_exec_phase SAMPLE N TRUE-DIR SLEEP-DIR PAUSE: N rotated rounds of
# `run` of TRUE-DIR/RUNTIME and `exec` into a container of SLEEP-DIR/RUNTIME,
# each after PAUSE seconds (0: none), sampled as SAMPLE-run and
# SAMPLE-exec; one warm-up run per runtime first.
run_exec_phase() {
	local name=$1 n=$2 tdir=$3 sdir=$4 pause=$5 r it
	for r in "${RTS[@]}"; do
		rt_argv "$r"
		"${ARGV[@]}" run -b "$tdir/$r" "$name-w-$r" </dev/null >/dev/null 2>>"$ERRLOG" ||
			echo "   $r: run failed in warm-up" >&2
		"${ARGV[@]}" run -d -b "$sdir/$r" "$name-e-$r" </dev/null >/dev/null 2>>"$ERRLOG" ||
			echo "   $r: run -d failed" >&2
	done
	for ((it = 1; it <= n; it++)); do
		rotated "$it" "${RTS[@]}"
		for r in "${ORDER[@]}"; do
			rt_argv "$r"
			[[ $pause == 0 ]] || sleep "$pause"
			tm "${ARGV[@]}" run -b "$tdir/$r" "$name-$r-$it"
			sample "$name-run" "$r $it $T_WALL $T_CPU $T_RC"
			[[ $pause == 0 ]] || sleep "$pause"
			tm "${ARGV[@]}" exec "$name-e-$r" /bin/true
			sample "$name-exec" "$r $it $T_WALL $T_CPU $T_RC"
		done
	done
	delete_each "$name-e-"
}

# ---- (h) with an engine's seccomp profile ---------------------------------
if ((N_SECCOMP > 0)); then
	echo "-- (h) $N_SECCOMP run and exec each with the seccomp profile, rotated"
	t_phase=$SECONDS
	run_exec_phase sec "$N_SECCOMP" "$W/b/sec-true" "$W/b/sec-sleep" 0
	echo "   ($((SECONDS - t_phase)) s)"
fi

# ---- (i) after an idle spell ------------------------------------------------
# Every move of a process into a cgroup waits for an RCU grace period,
# unless another move passed within about one: back to back (the phases
# above) it is short, after an idle spell it is 10-25 ms here for every
# runtime. This phase sleeps IDLE_MS before each command.
if ((N_IDLE > 0)); then
	echo "-- (i) $N_IDLE run and exec each after ${IDLE_MS} ms idle, rotated"
	t_phase=$SECONDS
	run_exec_phase idle "$N_IDLE" "$W/b/true" "$W/b/sleep" "$(awk -v m="$IDLE_MS" 'BEGIN {printf "%.3f", m / 1000}')"
	echo "   ($((SECONDS - t_phase)) s)"
fi

# ---- (f) hyperfine cross-check (not interleaved) ---------------------------
if ((HF_RUNS > 0)); then
	echo "-- (f) hyperfine, $HF_RUNS runs each, back to back"
	hf=(hyperfine -N --style none --runs "$HF_RUNS" --warmup 3 --export-json "$S/hyperfine.json")
	for r in "${RTS[@]}"; do
		rt_argv "$r"
		hf+=(-n "$r" "$(printf '%q ' "${ARGV[@]}" run -b "$W/b/true/$r" "hf-$r")")
	done
	hf+=(-n floor "$(printf '%q ' "${FLOOR[@]}")")
	"${hf[@]}" >/dev/null 2>/dev/null || echo "   hyperfine failed (see errors)" >&2
fi

# ---- (g) smallest memory limit ---------------------------------------------
# passes R KIB: BISECT_TRIES runs in a row succeed at that limit
mem_try() {
	local r=$1 kib=$2 n=$3 ok=0 k
	mkcfg "$W/b/mem/$r" "$r" "$CG/$r-mem" '["/bin/true"]' ".linux.resources.memory.limit = $((kib * 1024))"
	rt_argv "$r"
	for ((k = 1; k <= n; k++)); do
		if "${ARGV[@]}" run -b "$W/b/mem/$r" "l-$r" </dev/null >/dev/null 2>>"$W/bisect-$r.log"; then
			ok=$((ok + 1))
		else
			"${ARGV[@]}" delete --force "l-$r" >/dev/null 2>&1
		fi
	done
	OK=$ok
}
if ((BISECT)); then
	echo "-- (g) smallest memory limit (bisection in $BISECT_STEP KiB steps, $BISECT_TRIES runs must pass)"
	t_phase=$SECONDS
	for r in "${RTS[@]}"; do
		lo=$BISECT_LO hi=$BISECT_HI res=
		mem_try "$r" "$hi" "$BISECT_TRIES"
		if ((OK < BISECT_TRIES)); then
			res=">$hi"
		else
			mem_try "$r" "$lo" "$BISECT_TRIES"
			if ((OK == BISECT_TRIES)); then res="<=$lo"; fi
		fi
		if [[ -z $res ]]; then
			while ((hi - lo > BISECT_STEP)); do
				mid=$(((lo + hi) / 2 / BISECT_STEP * BISECT_STEP))
				((mid <= lo)) && mid=$((lo + BISECT_STEP))
				mem_try "$r" "$mid" "$BISECT_TRIES"
				if ((OK == BISECT_TRIES)); then hi=$mid; else lo=$mid; fi
			done
			res=$hi
		fi
		conf=
		if [[ $res =~ ^[0-9]+$ ]] && ((BISECT_CONFIRM > 0)); then
			mem_try "$r" "$res" "$BISECT_CONFIRM"
			conf="$OK/$BISECT_CONFIRM"
		fi
		last=$(grep -v '^\s*$' "$W/bisect-$r.log" 2>/dev/null | tail -1 | cut -c1-200)
		sample memlimit "$r $res $conf"
		echo "   $r: ${res} KiB (confirm ${conf:-n/a}); last failure: ${last:-none}"
	done
	echo "   ($((SECONDS - t_phase)) s)"
fi

echo "load at end:   $(uptime)"

# ---- report ---------------------------------------------------------------
# med FILE TARGET COLUMN [DIV]: median of column COLUMN (1-based) over the
# rows of TARGET with rc 0 (rc column given as RCCOL, default none).
med() {
	local f=$1 t=$2 col=$3 div=${4:-1000} rccol=${5:-0}
	[[ -f $S/$f ]] || { echo -; return; }
	awk -v t="$t" -v c="$col" -v rc="$rccol" '$1 == t && (rc == 0 || $rc == 0) && $c >= 0 {print $c}' "$S/$f" |
		sort -n | awk -v d="$div" '{a[NR] = $1} END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf (d == 1 ? "%d" : "%.2f"), m / d }'
}
# pratio FILE A B COLUMN: median over iterations of A/B for COLUMN
pratio() {
	local f=$1 a=$2 b=$3 col=$4
	[[ -f $S/$f ]] || { echo -; return; }
	awk -v a="$a" -v b="$b" -v c="$col" '
		$1 == a && $5 == 0 {x[$2] = $c} $1 == b && $5 == 0 {y[$2] = $c}
		END {for (i in x) if ((i in y) && y[i] > 0) print x[i] / y[i]}' "$S/$f" |
		sort -g | awk '{a[NR] = $1} END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "%.2f", m }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
fails() { [[ -f $S/$1 ]] && awk -v t="$2" -v c="$3" '$1 == t && $c != 0 {n++} END {print n + 0}' "$S/$1" || echo -; }
has() { local x; for x in "${RTS[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }

cols=("${RTS[@]}" floor)
ratio_cols=()
for r in skiff skiff-ov; do
	has "$r" || continue
	for o in crun runc; do has "$o" && ratio_cols+=("$r/$o"); done
done
has skiff && has skiff-b && ratio_cols+=("skiff/skiff-b")
hdr="| metric |"
sep="|---|"
for c in "${cols[@]}" "${ratio_cols[@]}"; do hdr+=" $c |"; sep+="---|"; done
echo
echo "$hdr"
echo "$sep"
# row LABEL KIND: KIND picks how each cell and ratio is computed
# row LABEL VALUES-FN: VALUES-FN TARGET prints the cell; ratios from the cells
row() {
	local label=$1 fn=$2 paired=${3:-} c
	local line="| $label |"
	declare -A v
	for c in "${cols[@]}"; do
		v[$c]=$($fn "$c")
		line+=" ${v[$c]} |"
	done
	for c in "${ratio_cols[@]}"; do
		if [[ $paired == none ]]; then
			line+=" - |"
		elif [[ -n $paired ]]; then
			line+=" $($paired "${c%/*}" "${c#*/}") |"
		else
			line+=" $(div "${v[${c%/*}]}" "${v[${c#*/}]}") |"
		fi
	done
	echo "$line"
}
f_run_wall() { med run "$1" 3 1000 5; }
f_run_cpu() { med run "$1" 4 1000 5; }
p_run_wall() { pratio run "$1" "$2" 3; }
p_run_cpu() { pratio run "$1" "$2" 4; }
f_run_total() { [[ -f $S/run ]] && awk -v t="$1" '$1 == t {s += $3} END {printf "%.2f", s / 1e6}' "$S/run"; }
f_run_fail() { fails run "$1" 5; }
nofloor() { [[ $1 == floor ]] && { echo -; return 1; }; return 0; }
f_create() { nofloor "$1" && med split "$1" 3 1000 9; }
f_start() { nofloor "$1" && med split "$1" 4 1000 10; }
f_wait() { nofloor "$1" && med split "$1" 5 1000 10; }
f_delete() { nofloor "$1" && med split "$1" 6 1000 11; }
f_csd() {
	nofloor "$1" && [[ -f $S/split ]] &&
		awk -v t="$1" '$1 == t && $9 == 0 && $10 == 0 && $11 == 0 {print $3 + $4 + $5 + $6}' "$S/split" | sort -n |
		awk '{a[NR] = $1} END {if (!NR) {print "-"; exit}; printf "%.2f", ((NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000}'
}
f_split_fail() { nofloor "$1" && awk -v t="$1" '$1 == t && ($9 || $10 || $11) {n++} END {print n + 0}' "$S/split"; }
f_memcg() { nofloor "$1" && med split "$1" 7 1 9; }
f_hwm() { nofloor "$1" && med split "$1" 8 1 9; }
f_exec() { med exec "$1" 3 1000 5; }
f_exec_cpu() { med exec "$1" 4 1000 5; }
f_exec_fail() { fails exec "$1" 5; }
f_secrun() { nofloor "$1" && med sec-run "$1" 3 1000 5; }
f_secrun_cpu() { nofloor "$1" && med sec-run "$1" 4 1000 5; }
f_secexec() { nofloor "$1" && med sec-exec "$1" 3 1000 5; }
f_secexec_cpu() { nofloor "$1" && med sec-exec "$1" 4 1000 5; }
f_sec_fail() { nofloor "$1" && [[ -f $S/sec-run ]] && echo $(($(fails sec-run "$1" 5) + $(fails sec-exec "$1" 5))); }
f_idlerun() { nofloor "$1" && med idle-run "$1" 3 1000 5; }
f_idleexec() { nofloor "$1" && med idle-exec "$1" 3 1000 5; }
f_idle_fail() { nofloor "$1" && [[ -f $S/idle-run ]] && echo $(($(fails idle-run "$1" 5) + $(fails idle-exec "$1" 5))); }
f_rss_run() { med rss "$1" 3 1; }
f_rss_create() { nofloor "$1" && med rss "$1" 4 1; }
f_par_wall() { med par "$1" 3 1000 5; }
f_par_cpu() { med par "$1" 4 1000 5; }
f_par_fail() { [[ -f $S/par ]] && awk -v t="$1" '$1 == t {n += $5} END {print n + 0}' "$S/par"; }
f_hf() {
	[[ -f $S/hyperfine.json ]] || { echo -; return; }
	jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000 | . * 100 | round / 100' "$S/hyperfine.json" | head -1
}
f_mem() { nofloor "$1" && [[ -f $S/memlimit ]] && awk -v t="$1" '$1 == t {print $2}' "$S/memlimit"; }
f_memconf() { nofloor "$1" && [[ -f $S/memlimit ]] && awk -v t="$1" '$1 == t {print $3}' "$S/memlimit"; }

row "\`run\` wall median, ms (n=$N_RUN)" f_run_wall p_run_wall
row "\`run\` user+sys CPU median, ms" f_run_cpu p_run_cpu
row "$N_RUN sequential runs, total s" f_run_total
row "\`run\` failures" f_run_fail none
row "create, ms (n=$N_SPLIT)" f_create
row "start, ms" f_start
row "wait (start -> init gone), ms" f_wait
row "delete, ms" f_delete
row "create+start+wait+delete, ms" f_csd
row "split failures" f_split_fail none
row "\`exec /bin/true\`, ms (n=$N_EXEC; floor: nsenter)" f_exec
row "\`exec\` user+sys CPU, ms" f_exec_cpu
row "\`exec\` failures" f_exec_fail none
if ((N_SECCOMP > 0)); then
	row "\`run\` with Podman's seccomp profile, wall ms (n=$N_SECCOMP)" f_secrun
	row "\`run\` with the profile, user+sys CPU ms" f_secrun_cpu
	row "\`exec\` with the profile, wall ms" f_secexec
	row "\`exec\` with the profile, user+sys CPU ms" f_secexec_cpu
	row "seccomp-profile failures" f_sec_fail none
fi
if ((N_IDLE > 0)); then
	row "\`run\` after ${IDLE_MS} ms idle, wall ms (n=$N_IDLE)" f_idlerun
	row "\`exec\` after ${IDLE_MS} ms idle, wall ms" f_idleexec
	row "idle-phase failures" f_idle_fail none
fi
row "peak RSS of \`RT run\` (time %M), KiB" f_rss_run
row "peak RSS of \`RT create\` (runtime process), KiB" f_rss_create
row "container init VmHWM after create, KiB" f_hwm
row "memory charged to container cgroup after create, KiB" f_memcg
row "$PAR concurrent \`run\`, wall ms (n=$N_PAR)" f_par_wall
row "$PAR concurrent \`run\`, user+sys CPU ms" f_par_cpu
row "concurrent failures (of $((N_PAR * PAR)))" f_par_fail none
((HF_RUNS > 0)) && row "hyperfine median, ms ($HF_RUNS runs, not interleaved)" f_hf
((BISECT)) && row "smallest memory.limit where \`run\` passes, KiB" f_mem
((BISECT)) && row "  runs passing at that limit" f_memconf none
echo
echo "floor: ${FLOOR[*]/$ROOTFS/ROOTFS}; exec floor: nsenter -t PID -m -u -i -n -p -r -w /bin/true"
echo "ratios of \`run\` wall and CPU are medians of per-iteration paired ratios; the rest are ratios of medians."
if [[ -s $ERRLOG ]]; then
	echo "stderr of the runtimes ($(wc -l <"$ERRLOG") lines), last 5:"
	tail -5 "$ERRLOG" | cut -c1-300 | sed 's/^/  /'
fi
[[ -n ${BENCH_OUT:-} ]] && echo "raw samples: $BENCH_OUT"
exit 0
