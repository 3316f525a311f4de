#!/bin/bash
# integration/systemd/test.sh — runs inside the systemd VM (see run.sh),
# in /payload: skiff, busybox and config-*.json are beside it.
set -u
P=/payload
PASS=0 FAIL=0
ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }
check() { # check NAME WANT GOT
	if [[ "$3" == "$2" ]]; then ok "$1 = $2"; else bad "$1: want '$2', got '$3'"; fi
}
S="$P/skiff --systemd-cgroup"
CG=/sys/fs/cgroup
V1=0
[[ $(stat -fc %T $CG) == cgroup2fs ]] || V1=1
# cg UNIT CONTROLLER FILE: a file of the unit's cgroup (v2: the one
# directory; v1: the controller's hierarchy).
cg() {
	if [[ $V1 == 1 ]]; then echo "$CG/$2/system.slice/$1/$3"; else echo "$CG/system.slice/$1/$3"; fi
}

bundle() { # bundle NAME CONFIG
	local b=/tmp/bundles/$1
	mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
	cp $P/busybox "$b/rootfs/bin/busybox"
	for a in sh sleep tail cat echo ls; do ln -sf busybox "$b/rootfs/bin/$a"; done
	cp "$P/config-$2.json" "$b/config.json"
	echo "$b"
}
show() { systemctl show -p "$2" --value "$1"; }

echo "# cgroup: $(stat -fc %T $CG) (v1: $V1), systemd: $(systemctl is-system-running 2>&1)"
check "features: linux.cgroup.systemd" true "$($P/skiff features | tr -d ' \n' | sed -n 's/.*"systemd":\(true\|false\).*/\1/p')"

# --- a container with limits in its scope
B=$(bundle c1 limits)
if $S create --bundle "$B" c1 && $S start c1; then ok "create and start c1"; else bad "create/start c1"; fi
U=skiff-c1.scope
check "scope active" active "$(systemctl is-active $U)"
check "scope slice" system.slice "$(show $U Slice)"
if [[ $V1 == 0 ]]; then
	check "MemoryMax" 67108864 "$(show $U MemoryMax)"
	check "MemoryLow" 33554432 "$(show $U MemoryLow)"
	check "CPUWeight" 59 "$(show $U CPUWeight)"
	check "AllowedCPUs" 0 "$(show $U AllowedCPUs)"
else
	check "MemoryLimit" 67108864 "$(show $U MemoryLimit)"
	check "CPUShares" 512 "$(show $U CPUShares)"
fi
check "TasksMax" 50 "$(show $U TasksMax)"
check "CPUQuotaPerSecUSec" 500ms "$(show $U CPUQuotaPerSecUSec)"
check "Delegate" yes "$(show $U Delegate)"
check "DevicePolicy" strict "$(show $U DevicePolicy)"
da=$(show $U DeviceAllow)
if [[ $da == *"/dev/char/1:3 rwm"* && $da == *"char-pts rwm"* ]]; then ok "DeviceAllow has the default devices"; else bad "DeviceAllow: $da"; fi
check "annotation org.systemd.property.TimeoutStopUSec" 7s "$(show $U TimeoutStopUSec)"
if [[ $V1 == 0 ]]; then MEMF=memory.max; else MEMF=memory.limit_in_bytes; fi
check "$MEMF" 67108864 "$(cat $(cg $U memory $MEMF))"
check "pids.max" 50 "$(cat $(cg $U pids pids.max))"
if [[ $V1 == 0 ]]; then
	check "cpu.max" "50000 100000" "$(cat $(cg $U cpu cpu.max))"
else
	check "cpu.cfs_quota_us" 50000 "$(cat $(cg $U cpu cpu.cfs_quota_us))"
fi
check "cpuset.cpus" 0 "$(cat $(cg $U cpuset cpuset.cpus))"
PID=$($S state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
for c in memory pids cpuset; do
	[[ $V1 == 1 || $c == memory ]] || continue
	f=$(cg $U $c cgroup.procs)
	if grep -qx "$PID" $f; then ok "init $PID in $f"; else bad "init $PID not in $f: $(cat $f 2>&1)"; fi
	if [[ $(grep -c . $f) == 1 ]]; then ok "only the init in $f"; else bad "$f holds $(cat $f | tr '\n' ' ')"; fi
done
out=$($S exec c1 sh -c 'echo hi >/dev/null && cat /proc/self/cgroup' 2>&1)
if [[ $V1 == 0 ]]; then check "exec in the scope" "0::/" "$out"; elif [[ -n $out ]]; then ok "exec"; else bad "exec: $out"; fi

# --- update goes through systemd
if $S update --pids-limit 60 --memory 100m c1; then ok "update"; else bad "update"; fi
check "TasksMax after update" 60 "$(show $U TasksMax)"
if [[ $V1 == 0 ]]; then MEMP=MemoryMax; else MEMP=MemoryLimit; fi
check "$MEMP after update" 104857600 "$(show $U $MEMP)"
check "pids.max after update" 60 "$(cat $(cg $U pids pids.max))"

# --- daemon-reload keeps limits and device rules
systemctl daemon-reload
check "$MEMF after daemon-reload" 104857600 "$(cat $(cg $U memory $MEMF))"
# (systemd lists them in reverse order after a reload: compare sorted)
check "DeviceAllow after daemon-reload" "$(sort <<<"$da")" "$(show $U DeviceAllow | sort)"
check "DevicePolicy after daemon-reload" strict "$(show $U DevicePolicy)"
out=$($S exec c1 sh -c 'echo hi >/dev/null && echo devok' 2>&1)
check "/dev/null usable after daemon-reload" devok "$out"
if $S exec c1 sh -c 'cat /dev/vda' >/dev/null 2>&1; then bad "/dev/vda readable"; fi

# --- delete stops the scope
$S kill c1 KILL
sleep 0.5
if $S delete c1; then ok "delete c1"; else bad "delete c1"; fi
st=$(systemctl is-active $U 2>&1)
if [[ $st == inactive || $st == unknown || $st == failed ]]; then ok "scope gone ($st)"; else bad "scope still $st"; fi
for c in memory pids cpuset; do
	D=$(dirname $(cg $U $c x))
	if [[ ! -e $D ]]; then ok "$D removed"; else bad "$D still there"; fi
done

# --- a pids limit stops forks
B=$(bundle pids pids)
# (output to files: the container's processes keep their stdio open)
$S run --bundle "$B" --detach pids >/tmp/pids.out 2>&1 || bad "run --detach pids: $(cat /tmp/pids.out)"
timeout 60 $S exec pids sh -c 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all-forked' >/tmp/pids.out 2>&1
out=$(cat /tmp/pids.out)
if [[ $out != *all-forked* ]]; then ok "20 forks refused under pids limit 10"; else bad "20 forks under pids limit 10: $out"; fi
n=$(cat $(cg skiff-pids.scope pids pids.current) 2>/dev/null)
if [[ -n $n && $n -le 10 ]]; then ok "pids limit holds (pids.current $n <= 10)"; else
	bad "pids.current '$n'"; $S list; systemctl status --no-pager skiff-pids.scope 2>&1 | head -20; fi
ev=$(sed -n 's/^max //p' $(cg skiff-pids.scope pids pids.events) 2>/dev/null)
if [[ ${ev:-0} -gt 0 ]]; then ok "forks refused (pids.events max $ev)"; else bad "no refused fork: '$ev'"; fi
$S delete --force pids && ok "delete --force pids" || bad "delete --force pids"
check "pids scope gone" "" "$(systemctl list-units --all --no-legend 'skiff-pids.scope' 2>/dev/null | grep -v inactive)"

# --- a memory limit OOM-kills (default cgroupsPath: system.slice:skiff:<id>)
B=$(bundle oom oom)
out=$(timeout 60 $S run --bundle "$B" oom 2>&1)
rc=$?
[[ $rc == 137 ]] || echo "# run oom: $out"
check "OOM-killed container exit status" 137 "$rc"
$S delete --force oom >/dev/null 2>&1
check "oom scope gone" inactive "$(systemctl is-active skiff-oom.scope 2>&1 | sed 's/unknown/inactive/')"

# --- host-side refusal of a slice path without the flag
B=$(bundle plain limits)
out=$($P/skiff create --bundle "$B" plain 2>&1) && bad "slice path accepted without --systemd-cgroup" ||
	{ [[ $out == *systemd* ]] && ok "slice path without --systemd-cgroup refused: $out" || bad "$out"; }
$P/skiff delete --force plain >/dev/null 2>&1

# --- checkpoint and restore (criu), with the cgroupfs and the systemd driver
status() { $P/skiff "${@:2}" state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
count() { # the counter rewrites the file each tick: retry an empty read
	local v i
	for i in 1 2 3 4 5 6 7 8; do
		v=$(cat /tmp/ck/$1/count 2>/dev/null)
		[[ -n $v ]] && { echo "$v"; return; }
		sleep 0.05
	done
	echo 0
}
wait_count() { # NAME MIN
	local i
	for i in $(seq 150); do (($(count $1) >= $2)) && return 0; sleep 0.2; done
	return 1
}
criu_log() { tail -n 15 "$1"/*.log 2>/dev/null | sed 's/^/#   /'; }
# ckpt NAME CGROUP-FILE [GLOBAL-FLAGS]: CGROUP-FILE is the container's
# memory limit file, read back after the restore.
ckpt() {
	local n=$1 memf=$2 g=${3:-} img=/tmp/ck/$1-img
	local SK="$P/skiff $g"
	mkdir -p /tmp/ck/$n
	B=$(bundle $n $n)
	# ckfs: stdio are files of the VM (external to the container); cksd:
	# pipes. restore hands its own stdio in their place.
	if [[ $n == cksd ]]; then
		$SK run -d --bundle "$B" $n < <(sleep 600) > >(cat >>/tmp/ck/$n.out) 2>&1 || bad "$n: run -d"
	else
		$SK run -d --bundle "$B" $n </dev/null >/tmp/ck/$n.out 2>&1 || bad "$n: run -d: $(cat /tmp/ck/$n.out)"
	fi
	wait_count $n 10 || bad "$n: the counter does not count"
	if $SK checkpoint --leave-running --image-path $img-lr $n; then ok "$n: checkpoint --leave-running"; else
		bad "$n: checkpoint --leave-running"; criu_log $img-lr; fi
	check "$n: status after --leave-running" running "$(status $n $g)"
	c=$(count $n)
	wait_count $n $((c + 3)) && ok "$n: still counting after --leave-running" || bad "$n: stopped by --leave-running"
	local parent=()
	if [[ $n == ckfs ]]; then
		# iterative migration: a memory pre-dump, then the dump on top of it
		if $SK checkpoint --pre-dump --image-path $img-pre $n; then ok "$n: checkpoint --pre-dump"; else
			bad "$n: checkpoint --pre-dump"; criu_log $img-pre; fi
		check "$n: status after --pre-dump" running "$(status $n $g)"
		parent=(--parent-path ../$n-img-pre)
	fi
	if $SK checkpoint "${parent[@]}" --image-path $img $n; then ok "$n: checkpoint ${parent[*]}"; else bad "$n: checkpoint"; criu_log $img; fi
	c1=$(count $n)
	sleep 1
	check "$n: the counter stopped at the checkpoint" "$c1" "$(count $n)"
	if $SK state $n >/dev/null 2>&1; then bad "$n: still listed after checkpoint"; else ok "$n: removed by checkpoint"; fi
	# a writable layer outlives the checkpoint (restore mounts it again)
	[[ $n != ckfs ]] || { [[ -d /var/lib/skiff/layers/$n/upper ]] && ok "$n: layer kept for the restore" || bad "$n: layer gone after checkpoint"; }
	[[ -z $g ]] || check "$n: scope gone after checkpoint" inactive "$(systemctl is-active skiff-$n.scope 2>&1 | sed 's/unknown/inactive/;s/failed/inactive/')"
	if [[ $n == cksd ]]; then
		$SK restore -d --bundle "$B" --image-path $img $n < <(sleep 600) > >(cat >>/tmp/ck/$n.out) 2>/tmp/ck/$n.err
	else
		$SK restore -d --bundle "$B" --image-path $img $n </dev/null >>/tmp/ck/$n.out 2>/tmp/ck/$n.err
	fi
	if [[ $? == 0 ]]; then ok "$n: restore -d"; else bad "$n: restore -d: $(cat /tmp/ck/$n.err)"; criu_log $img; fi
	check "$n: status after restore" running "$(status $n $g)"
	[[ -z $g ]] || check "$n: scope active after restore" active "$(systemctl is-active skiff-$n.scope 2>&1)"
	r=$(count $n)
	((r >= c1)) && ok "$n: restored counter at $r (checkpointed at $c1)" || bad "$n: counter restarted: $r < $c1"
	wait_count $n $((c1 + 5)) && ok "$n: the counter continues from $c1" || bad "$n: the counter does not continue ($(count $n))"
	check "$n: memory limit after restore" 67108864 "$(cat $memf 2>&1)"
	check "$n: exec into the restored container sees its files" kept "$($SK exec $n cat /tmp/skiff-marker 2>&1)"
	pid=$($SK state $n | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	grep -qx "$pid" "$(dirname $memf)/cgroup.procs" && ok "$n: restored init $pid in the container's cgroup" ||
		bad "$n: restored init $pid not in $(dirname $memf)/cgroup.procs: $(cat $(dirname $memf)/cgroup.procs | tr '\n' ' ')"
	$SK delete --force $n && ok "$n: delete" || bad "$n: delete"
	[[ ! -e $(dirname $memf) ]] && ok "$n: cgroup removed" || bad "$n: $(dirname $memf) left"
	[[ ! -e /var/lib/skiff/layers/$n ]] && ok "$n: no layer left" || bad "$n: layer left after delete"
	[[ -z $g ]] || check "$n: scope gone after delete" inactive "$(systemctl is-active skiff-$n.scope 2>&1 | sed 's/unknown/inactive/;s/failed/inactive/')"
}
echo "# $(criu --version | head -n1)"
if [[ $V1 == 0 ]]; then
	ckpt ckfs $CG/skiff-ckfs/memory.max
	ckpt cksd $(cg skiff-cksd.scope memory memory.max) --systemd-cgroup
else
	ckpt ckfs $CG/memory/skiff-ckfs/memory.limit_in_bytes
	ckpt cksd $(cg skiff-cksd.scope memory memory.limit_in_bytes) --systemd-cgroup
fi

# --- a terminal needs --shell-job
mkdir -p /tmp/ck/cktty
B=$(bundle cktty cktty)
$P/skiff run --bundle "$B" cktty </dev/null >/tmp/ck/cktty.out 2>&1 &
runpid=$!
wait_count cktty 5 || bad "cktty: the counter does not count: $(cat /tmp/ck/cktty.out)"
out=$($P/skiff checkpoint --image-path /tmp/ck/cktty-img cktty 2>&1) && bad "cktty: checkpoint without --shell-job accepted" ||
	{ [[ $out == *terminal*--shell-job* ]] && ok "cktty: refused without --shell-job: $out" || bad "cktty: $out"; }
check "cktty: still running after the refusal" running "$(status cktty)"
if $P/skiff checkpoint --shell-job --image-path /tmp/ck/cktty-img cktty; then ok "cktty: checkpoint --shell-job"; else
	bad "cktty: checkpoint --shell-job"; criu_log /tmp/ck/cktty-img; fi
c1=$(count cktty)
wait $runpid
# a foreground restore: the terminal comes back through criu's new pty
# (its master reaches skiff's proxy), skiff waits for the init and removes
# the container when it exits
$P/skiff restore --shell-job --bundle "$B" --image-path /tmp/ck/cktty-img cktty </dev/null >/tmp/ck/cktty-restore.out 2>&1 &
rpid=$!
wait_count cktty $((c1 + 5)) && ok "cktty: restored in the foreground, counting on from $c1" ||
	{ bad "cktty: foreground restore: $(cat /tmp/ck/cktty-restore.out)"; criu_log /tmp/ck/cktty-img; }
check "cktty: status after restore" running "$(status cktty)"
$P/skiff kill cktty KILL
wait $rpid
check "cktty: foreground restore exits with the init's status" 137 "$?"
if $P/skiff state cktty >/dev/null 2>&1; then bad "cktty: left after the foreground restore ended"; else ok "cktty: removed when it exited"; fi
$P/skiff delete --force cktty >/dev/null 2>&1

# --- a terminal through --console-socket, before and after the restore
mkdir -p /tmp/ck/cktty2
B=$(bundle cktty2 cktty2)
recv() { # recv NAME: start a console receiver, wait for its socket
	rm -f /tmp/ck/$1.sock
	python3 $P/console-recv.py /tmp/ck/$1.sock /tmp/ck/$1.out &
	local i
	for i in $(seq 50); do [[ -S /tmp/ck/$1.sock ]] && return 0; sleep 0.1; done
	bad "console receiver $1 did not start"
}
recv cs1
cs1=$!
$P/skiff run -d --console-socket /tmp/ck/cs1.sock --bundle "$B" cktty2 </dev/null >/tmp/ck/cktty2.out 2>&1 || bad "cktty2: run -d: $(cat /tmp/ck/cktty2.out)"
wait_count cktty2 5 || bad "cktty2: the counter does not count"
if $P/skiff checkpoint --shell-job --image-path /tmp/ck/cktty2-img cktty2; then ok "cktty2: checkpoint --shell-job"; else
	bad "cktty2: checkpoint --shell-job"; criu_log /tmp/ck/cktty2-img; fi
c1=$(count cktty2)
recv cs2
cs2=$!
if $P/skiff restore -d --shell-job --console-socket /tmp/ck/cs2.sock --bundle "$B" --image-path /tmp/ck/cktty2-img cktty2 </dev/null >>/tmp/ck/cktty2.out 2>&1; then
	ok "cktty2: restore -d --console-socket"; else bad "cktty2: restore: $(tail -n 2 /tmp/ck/cktty2.out)"; criu_log /tmp/ck/cktty2-img; fi
wait_count cktty2 $((c1 + 5)) && ok "cktty2: counting on from $c1" || bad "cktty2: the counter does not continue"
check "cktty2: the console socket got the restored terminal" "tty=True" "$(head -n1 /tmp/ck/cs2.out 2>&1 | grep -o 'tty=[A-Za-z]*')"
out=$($P/skiff exec cktty2 ls -l /proc/1/fd/0 2>&1 | sed -n 's/.* -> //p')
[[ $out == /dev/pts/* || $out == /dev/console ]] && ok "cktty2: the restored init's stdin is a terminal ($out)" || bad "cktty2: the restored init's stdin: $out"
$P/skiff delete --force cktty2 >/dev/null 2>&1 && ok "cktty2: delete" || bad "cktty2: delete"
kill $cs1 $cs2 2>/dev/null
wait $cs1 $cs2 2>/dev/null

echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
