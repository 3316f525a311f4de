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

bundle() { # bundle NAME CONFIG
	local b=/tmp/bundles/$1
	mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
	cp $P/busybox "$b/rootfs/bin/busybox"
	for a in sh sleep tail cat echo ls; do ln -sf busybox "$b/rootfs/bin/$a"; done
	cp "$P/config-$2.json" "$b/config.json"
	echo "$b"
}
show() { systemctl show -p "$2" --value "$1"; }

echo "# cgroup: $(stat -fc %T $CG), systemd: $(systemctl is-system-running 2>&1)"

# --- a container with limits in its scope
B=$(bundle c1 limits)
if $S create --bundle "$B" c1 && $S start c1; then ok "create and start c1"; else bad "create/start c1"; fi
U=skiff-c1.scope
check "scope active" active "$(systemctl is-active $U)"
check "scope slice" system.slice "$(show $U Slice)"
check "MemoryMax" 67108864 "$(show $U MemoryMax)"
check "MemoryLow" 33554432 "$(show $U MemoryLow)"
check "TasksMax" 50 "$(show $U TasksMax)"
check "CPUQuotaPerSecUSec" 500ms "$(show $U CPUQuotaPerSecUSec)"
check "CPUWeight" 59 "$(show $U CPUWeight)"
check "AllowedCPUs" 0 "$(show $U AllowedCPUs)"
check "Delegate" yes "$(show $U Delegate)"
check "DevicePolicy" strict "$(show $U DevicePolicy)"
D=$CG/system.slice/$U
check "memory.max" 67108864 "$(cat $D/memory.max)"
check "pids.max" 50 "$(cat $D/pids.max)"
check "cpu.max" "50000 100000" "$(cat $D/cpu.max)"
check "cpuset.cpus" 0 "$(cat $D/cpuset.cpus)"
PID=$($S state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
if grep -qx "$PID" $D/cgroup.procs; then ok "init $PID in the scope"; else bad "init $PID not in $D/cgroup.procs: $(cat $D/cgroup.procs 2>&1)"; fi
if [[ $(grep -c . $D/cgroup.procs) == 1 ]]; then ok "only the init in the scope (skiff left it)"; else bad "scope holds $(cat $D/cgroup.procs | tr '\n' ' ')"; fi
out=$($S exec c1 sh -c 'echo hi >/dev/null && cat /proc/self/cgroup' 2>&1)
check "exec in the scope" "0::/" "$out"

# --- update goes through systemd
if $S update --pids-limit 60 --memory 100m c1; then ok "update"; else bad "update"; fi
check "TasksMax after update" 60 "$(show $U TasksMax)"
check "MemoryMax after update" 104857600 "$(show $U MemoryMax)"
check "pids.max after update" 60 "$(cat $D/pids.max)"

# --- daemon-reload keeps limits and device rules
systemctl daemon-reload
check "memory.max after daemon-reload" 104857600 "$(cat $D/memory.max)"
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
if [[ ! -e $D ]]; then ok "scope cgroup removed"; else bad "$D still there"; fi

# --- a pids limit stops forks
B=$(bundle pids pids)
# (output to files: the container's processes keep their stdio open)
$S run --bundle "$B" --detach pids >/tmp/pids.out 2>&1 || bad "run --detach pids: $(cat /tmp/pids.out)"
timeout 60 $S exec pids sh -c 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all-forked' >/tmp/pids.out 2>&1
out=$(cat /tmp/pids.out)
if [[ $out != *all-forked* ]]; then ok "20 forks refused under pids limit 10"; else bad "20 forks under pids limit 10: $out"; fi
n=$(cat $CG/system.slice/skiff-pids.scope/pids.current 2>/dev/null)
if [[ -n $n && $n -le 10 ]]; then ok "pids limit holds (pids.current $n <= 10)"; else
	bad "pids.current '$n'"; $S list; systemctl status --no-pager skiff-pids.scope 2>&1 | head -20; fi
ev=$(sed -n 's/^max //p' $CG/system.slice/skiff-pids.scope/pids.events 2>/dev/null)
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

echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
