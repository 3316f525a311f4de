#!/usr/bin/env bash
# integration/vm/run.sh — run a command inside a throw-away cgroup v2 VM.
#
# The host this project is developed on mounts cgroup v1 (hybrid layout), so
# cgroup v2 code is tested by booting the distribution kernel (Debian package
# linux-image-amd64) under qemu's TCG emulator (no KVM) with a busybox
# initramfs, running one command there and powering off.
#
# Usage:
#   integration/vm/run.sh [options] -- COMMAND [ARG...]
#
# Options:
#   --skiff PATH          skiff binary to put at /usr/bin/skiff (not built here:
#                         run `make build` first). Exported as SKIFF_BINARY.
#   --payload SRC[:DEST]  file or directory to copy in (repeatable). Without
#                         DEST it lands in /payload/<basename of SRC>; DEST is
#                         an absolute path inside the VM. Shared libraries of
#                         every dynamically linked executable copied in are
#                         found with ldd and copied to the same paths.
#   --env NAME=VALUE      export a variable to COMMAND (repeatable).
#   --module NAME         load one more kernel module (plus its modules.dep
#                         dependencies); overlay, veth, bridge and null_blk
#                         (/dev/nullb0, a block device for io.max) always are.
#   --timeout SECONDS     budget for COMMAND inside the VM (default 540). The
#                         whole qemu run is also bounded (budget + 120 s).
#   --kernel PATH         kernel image (default: newest /boot/vmlinuz-*; its
#                         modules come from /lib/modules/<version of that file>,
#                         never from `uname -r`).
#   --no-pvh              boot the compressed bzImage as is. By default the
#                         ELF vmlinux is extracted once (cached) and booted
#                         through PVH: decompressing the kernel under TCG
#                         costs about 3 s per boot.
#   --memory SIZE         guest memory, qemu syntax (default 1G).
#   --smp N               guest CPUs (default 2).
#   --qemu-arg ARG        extra qemu argument (repeatable).
#   --log FILE            also write the raw serial console to FILE.
#   --cache DIR           cache directory (default $SKIFF_VM_CACHE, else
#                         $XDG_CACHE_HOME/skiff-vm, else ~/.cache/skiff-vm).
#   --verbose             show every kernel message on the console (default:
#                         only errors) and the harness' own steps.
#   -h, --help            this text.
#
# Inside the VM: / is a tmpfs (the init switch_root's out of the initramfs
# so that pivot_root works), proc/sys/devtmpfs/devpts/shm/mqueue, /tmp and
# /run are mounted, cgroup2 is mounted at /sys/fs/cgroup (cgroup v1 disabled
# with cgroup_no_v1=all) with every available controller enabled in the
# root's cgroup.subtree_control, lo is up, and COMMAND runs as root in
# /payload with PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin, HOME=/root,
# SKIFF_VM=1, SKIFF_TEST_BUSYBOX=/bin/busybox (busybox-static) and
# SKIFF_BINARY=/usr/bin/skiff (when --skiff is given). Its stdout/stderr go
# to the serial console, which this script streams to its stdout.
#
# Exit status: COMMAND's exit status; 124 when COMMAND exceeded --timeout
# inside the VM; 125 for a usage or host-side error; 126 when the VM ended
# without reporting a result (boot failure, kernel panic, overall timeout).
#
# Cache: the base initramfs (busybox + applet links, modules, init), the
# kernel's extracted vmlinux and the payload archives live in the cache dir,
# keyed by a hash of their inputs (the 3 newest base and 4 newest payload
# archives are kept, anything unused for 7 days is removed). Nothing is written to the
# repository; the kernel itself is read from /boot.
#
# Environment: SKIFF_VM_CACHE (cache dir), SKIFF_VM_BOOT_TIMEOUT (seconds
# the VM may take to reach the command, default 90), SKIFF_VM_APPEND (extra
# kernel command line words).
#
# Needs: qemu-system-x86_64, cpio, busybox-static (/bin/busybox), ldd,
# sha256sum, timeout, and a kernel with modules (linux-image-amd64).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HARNESS_VERSION=3 # bump when the initramfs layout changes

die() { echo "skiff-vm: $*" >&2; exit 125; }
say() { echo "skiff-vm: $*" >&2; }
vsay() { if [[ $VERBOSE == 1 ]]; then say "$@"; fi; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF"; }

SKIFF=""
PAYLOADS=()
ENVS=()
MODULES=(overlay veth bridge null_blk)
BUDGET=540
KERNEL=""
MEMORY=1G
SMP=2
LOGFILE=""
QEMU_EXTRA=()
PVH=1
CACHE="${SKIFF_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/skiff-vm}"
VERBOSE=0
BUSYBOX=/bin/busybox

while [[ $# -gt 0 ]]; do
	case $1 in
	--skiff) SKIFF=${2:?}; shift 2 ;;
	--payload) PAYLOADS+=("${2:?}"); shift 2 ;;
	--env) [[ ${2:-} == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE"; ENVS+=("$2"); shift 2 ;;
	--module) MODULES+=("${2:?}"); shift 2 ;;
	--timeout) BUDGET=${2:?}; shift 2 ;;
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--no-pvh) PVH=0; shift ;;
	--memory) MEMORY=${2:?}; shift 2 ;;
	--smp) SMP=${2:?}; shift 2 ;;
	--qemu-arg) QEMU_EXTRA+=("${2:?}"); shift 2 ;;
	--log) LOGFILE=${2:?}; shift 2 ;;
	--cache) CACHE=${2:?}; shift 2 ;;
	--verbose) VERBOSE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ $# -gt 0 ]] || die "no command given: run.sh [options] -- COMMAND [ARG...]"
[[ $BUDGET =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds"

for t in qemu-system-x86_64 cpio sha256sum timeout ldd; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install qemu-system-x86 cpio)"
done
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
[[ -x $BUSYBOX ]] && file_is_static "$BUSYBOX" || die "$BUSYBOX is not a static busybox (apt-get install busybox-static)"

# ---------------------------------------------------------------- kernel
if [[ -z $KERNEL ]]; then
	KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1 || true)
	[[ -n $KERNEL ]] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
fi
[[ -r $KERNEL ]] || die "cannot read kernel $KERNEL"
KVER=$(basename "$KERNEL"); KVER=${KVER#vmlinuz-}
MODDIR=/lib/modules/$KVER
[[ -f $MODDIR/modules.dep ]] || die "no $MODDIR/modules.dep for kernel $KERNEL"

# Resolve modules and their dependencies, dependencies first (modules.dep
# lists, for each module, everything it needs, deepest last).
resolve_modules() {
	local -A seen=()
	local out=() m line deps d i
	for m in "$@"; do
		line=$(grep -E "(^|/)${m//-/[-_]}\.ko(\.xz|\.zst|\.gz)?:" "$MODDIR/modules.dep" | head -n1) ||
			die "module $m not in $MODDIR/modules.dep"
		read -r -a deps <<<"${line#*:}"
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
			d=${deps[i]}
			[[ -n ${seen[$d]:-} ]] || { seen[$d]=1; out+=("$d"); }
		done
		d=${line%%:*}
		[[ -n ${seen[$d]:-} ]] || { seen[$d]=1; out+=("$d"); }
	done
	printf '%s\n' "${out[@]}"
}
mapfile -t MODFILES < <(resolve_modules "${MODULES[@]}")

mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"
# Drop cache entries nobody used for a week.
find "$CACHE" -maxdepth 1 -type f -atime +7 -delete 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/skiff-vm.XXXXXX")
QEMU_PID=""
cleanup() {
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpio_pack() { # DIR OUT — newc archive, owned by root, written atomically
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# Copy the shared libraries (and the ELF interpreter) of executable $1 into
# root $2. Static binaries and scripts are left alone.
copy_libs() {
	local f=$1 root=$2 lib
	[[ -f $f && -x $f ]] || return 0
	head -c4 "$f" 2>/dev/null | grep -q $'^\x7fELF' || return 0
	ldd "$f" >/dev/null 2>&1 || return 0
	while read -r lib; do
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$f" | awk '/=> \//{print $3} /^\t\//{print $1}')
}

# ---------------------------------------------------------------- init
# One script for both stages: stage 1 runs from the initramfs (PID 1, rootfs
# that cannot be pivot_root'ed), moves everything into a tmpfs and
# switch_root's into it; stage 2 sets up the system and runs the command.
write_init() {
	cat >"$1" <<'INIT'
#!/bin/busybox sh
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
log() { [ -n "$VMVERBOSE" ] && echo "skiff-vm[init]: $*"; return 0; }
fail() { echo "skiff-vm[init]: FATAL: $*"; /bin/busybox poweroff -f; /bin/busybox sleep 5; echo o >/proc/sysrq-trigger; }

if [ "$1" != stage2 ]; then
	# Only /bin (busybox) stays put until switch_root, so call it by path.
	bb=/bin/busybox
	$bb mount -t proc proc /proc
	$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
	$bb grep -q 'skiffvm.verbose' /proc/cmdline && VMVERBOSE=1
	log "stage 1: moving the initramfs into a tmpfs"
	$bb mkdir -p /newroot
	$bb mount -t tmpfs -o mode=0755 root /newroot || fail "mount tmpfs"
	for e in /* /.[!.]*; do
		case $e in /newroot|/proc|/dev|/sys|/bin|/init|'/.[!.]*') continue ;; esac
		$bb mv "$e" /newroot/ || fail "mv $e"
	done
	$bb cp -a /bin /init /newroot/ || fail "cp /bin"
	$bb mkdir -p /newroot/proc /newroot/sys /newroot/dev
	$bb umount /dev
	$bb umount /proc
	exec $bb switch_root /newroot /init stage2
	fail "switch_root"
fi

mount -t proc proc /proc
grep -q 'skiffvm.verbose' /proc/cmdline && VMVERBOSE=1
log "stage 2"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue /tmp /run /var/tmp /root
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755,nosuid,nodev run /run
mount --make-rshared /
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || { ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr; }
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "skiff-vm[init]: cannot enable controller $c"
done
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$(uname -r)/$m" || echo "skiff-vm[init]: insmod $m failed"
done </etc/skiff-vm/modules
hostname skiff-vm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
log "cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

# The per-run part (command, nonce, environment, budget) comes from the last
# archive of the initramfs. The nonce is removed before the command runs, so
# the command cannot forge the result line.
. /etc/skiff-vm/run.env
rm -f /etc/skiff-vm/run.env
export HOME=/root SKIFF_VM=1 SKIFF_TEST_BUSYBOX=/bin/busybox TERM=dumb
[ -x /usr/bin/skiff ] && export SKIFF_BINARY=/usr/bin/skiff
[ -f /etc/skiff-vm/env ] && { set -a; . /etc/skiff-vm/env; set +a; }
mkdir -p /payload

read -r up _ </proc/uptime
echo "SKIFF-VM-START $NONCE uptime=$up"
# Watchdog: on timeout report and power off; the command is not waited for.
( sleep "$BUDGET"; echo; echo "SKIFF-VM-RESULT $NONCE timeout"; sync; poweroff -f ) &
wd=$!
( cd /payload && exec sh /etc/skiff-vm/cmd.sh ) </dev/null
rc=$?
kill $wd 2>/dev/null
read -r up _ </proc/uptime
echo
echo "SKIFF-VM-RESULT $NONCE exit=$rc uptime=$up"
sync
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
INIT
	chmod 755 "$1"
}

# ---------------------------------------------------------------- base layer
BASEKEY=$( {
	echo "v$HARNESS_VERSION $KVER"
	sha256sum "$SELF" "$BUSYBOX" "$KERNEL"
	for m in "${MODFILES[@]}"; do sha256sum "$MODDIR/$m"; done
} | sha256sum | cut -c1-16)
BASE=$CACHE/base-$KVER-$BASEKEY.cpio
if [[ ! -f $BASE ]]; then
	vsay "building base initramfs $BASE"
	R=$TMP/base
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/skiff-vm,proc,sys,dev,tmp,run,root,payload,newroot}
	cp "$BUSYBOX" "$R/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[[ $a == bin/busybox ]] && continue
		mkdir -p "$R/$(dirname "$a")"
		ln -sf /bin/busybox "$R/$a"
	done
	# /dev/console must exist before the kernel runs init, or init has no
	# stdout (the kernel's built-in initramfs usually provides it too).
	mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
	: >"$R/etc/skiff-vm/modules"
	for m in "${MODFILES[@]}"; do
		dst=$R/lib/modules/$KVER/${m%.xz}; dst=${dst%.zst}; dst=${dst%.gz}
		mkdir -p "$(dirname "$dst")"
		case $m in
		*.xz) xz -dc "$MODDIR/$m" >"$dst" ;;
		*.zst) zstd -qdc "$MODDIR/$m" >"$dst" ;;
		*.gz) gzip -dc "$MODDIR/$m" >"$dst" ;;
		*) cp "$MODDIR/$m" "$dst" ;;
		esac
		echo "${dst#"$R/lib/modules/$KVER/"}" >>"$R/etc/skiff-vm/modules"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$R/etc/group"
	printf '127.0.0.1 localhost skiff-vm\n::1 localhost\n' >"$R/etc/hosts"
	: >"$R/etc/resolv.conf"
	write_init "$R/init"
	cpio_pack "$R" "$BASE"
	rm -rf "$R"
fi
touch "$BASE"

# ---------------------------------------------------------------- payload layer
SPECS=()
[[ -n $SKIFF ]] && SPECS+=("$SKIFF:/usr/bin/skiff")
# skiff's checkpoint/restore companion (make build puts it beside skiff)
[[ -n $SKIFF && -x $(dirname "$SKIFF")/skiff-criu ]] && SPECS+=("$(dirname "$SKIFF")/skiff-criu:/usr/bin/skiff-criu")
for p in "${PAYLOADS[@]}"; do
	src=${p%%:*} dst=""
	[[ $p == *:* ]] && dst=${p#*:}
	[[ -e $src ]] || die "payload $src does not exist"
	[[ -z $dst ]] && dst=/payload/$(basename "$(readlink -f "$src")")
	[[ $dst == /* ]] || die "payload destination $dst must be absolute"
	SPECS+=("$(readlink -f "$src"):$dst")
done
[[ -z $SKIFF || -x $SKIFF ]] || die "--skiff $SKIFF is not an executable (run make build)"

PAYLOAD=""
if [[ ${#SPECS[@]} -gt 0 ]]; then
	PKEY=$( {
		echo "v$HARNESS_VERSION"
		for s in "${SPECS[@]}"; do
			src=${s%%:*}
			echo "== $s"
			(cd "$(dirname "$src")" && find "$(basename "$src")" -printf '%p %y %m %l\n' | LC_ALL=C sort)
			find "$src" -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
		done
	} | sha256sum | cut -c1-16)
	PAYLOAD=$CACHE/payload-$PKEY.cpio
	if [[ ! -f $PAYLOAD ]]; then
		vsay "building payload archive $PAYLOAD"
		R=$TMP/payload
		mkdir -p "$R"
		for s in "${SPECS[@]}"; do
			src=${s%%:*} dst=${s#*:}
			mkdir -p "$R$(dirname "$dst")"
			cp -a "$src" "$R$dst"
		done
		# Shared libraries of dynamic executables go into the VM's root.
		while IFS= read -r -d '' f; do
			copy_libs "$f" "$R"
		done < <(find "$R" -type f -perm -u+x -print0)
		cpio_pack "$R" "$PAYLOAD"
		rm -rf "$R"
	fi
	touch "$PAYLOAD"
fi

# ---------------------------------------------------------------- run layer
NONCE=$(head -c12 /dev/urandom | od -An -tx1 | tr -d ' \n')
R=$TMP/run
mkdir -p "$R/etc/skiff-vm"
sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
{
	printf 'set --'
	for a in "$@"; do printf ' %s' "$(sq "$a")"; done
	printf '\nexec "$@"\n'
} >"$R/etc/skiff-vm/cmd.sh"
printf 'NONCE=%s\nBUDGET=%s\n' "$NONCE" "$BUDGET" >"$R/etc/skiff-vm/run.env"
if [[ ${#ENVS[@]} -gt 0 ]]; then
	for e in "${ENVS[@]}"; do printf '%s=%s\n' "${e%%=*}" "$(sq "${e#*=}")"; done >"$R/etc/skiff-vm/env"
fi
cpio_pack "$R" "$TMP/run.cpio"

# The kernel unpacks concatenated newc archives in order; later ones add to
# (and may override files of) earlier ones.
cat "$BASE" ${PAYLOAD:+"$PAYLOAD"} "$TMP/run.cpio" >"$TMP/initrd"
# Test binaries change at every build (and the base with this script): keep
# only the newest archives of each kind (used ones are touched).
ls -t "$CACHE"/payload-*.cpio 2>/dev/null | tail -n +5 | xargs -r rm -f
ls -t "$CACHE"/base-*.cpio 2>/dev/null | tail -n +4 | xargs -r rm -f

# ---------------------------------------------------------------- kernel image
# The Debian bzImage decompresses itself (xz) at every boot, which takes ~3 s
# under TCG. Extract the ELF vmlinux once and let qemu boot it through PVH.
BOOTKERNEL=$KERNEL
extract_vmlinux() { # BZIMAGE OUT
	local magic tool off
	for magic in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' '\x1f\x8b\x08:gzip -dc'; do
		tool=${magic#*:}
		command -v "${tool%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$1" | cut -d: -f1); do
			tail -c +$((off + 1)) "$1" | $tool >"$2.tmp.$$" 2>/dev/null || true
			if [[ $(head -c4 "$2.tmp.$$" 2>/dev/null) == $'\x7fELF' ]]; then
				mv -f "$2.tmp.$$" "$2"
				return 0
			fi
		done
	done
	rm -f "$2.tmp.$$"
	return 1
}
if [[ $PVH == 1 ]] && grep -qs '^CONFIG_PVH=y' "/boot/config-$KVER"; then
	VMLINUX=$CACHE/vmlinux-$KVER-$(sha256sum "$KERNEL" | cut -c1-16)
	if [[ ! -f $VMLINUX ]]; then
		vsay "extracting $VMLINUX"
		extract_vmlinux "$KERNEL" "$VMLINUX" || say "cannot extract vmlinux from $KERNEL; booting the bzImage (slower)"
	fi
	[[ -f $VMLINUX ]] && BOOTKERNEL=$VMLINUX
	touch -a "$BOOTKERNEL" 2>/dev/null || true
fi

# ---------------------------------------------------------------- boot
# softlockup_panic: a guest CPU stuck in the kernel (seen once in
# conformance-vm under TCG: "soft lockup - CPU#1 stuck for 455s! [skiff]",
# the VM then hung until the budget) panics at once; panic() raises the
# console's log level before it prints the stuck CPU's stack, so such a
# run fails in seconds and says where, instead of timing out with nothing
# to go on. (A higher loglevel for the whole run would interleave kernel
# warnings with the harness's marker lines.)
APPEND="console=ttyS0,115200 panic=-1 oops=panic softlockup_panic=1 rdinit=/init cgroup_no_v1=all"
if [[ $VERBOSE == 1 ]]; then APPEND+=" loglevel=7 skiffvm.verbose"; else APPEND+=" quiet loglevel=3"; fi
APPEND+=" tsc=reliable no_timer_check i8042.noaux i8042.nokbd i8042.nopnp random.trust_cpu=on ${SKIFF_VM_APPEND:-}"
OVERALL=$((BUDGET + 120))

QEMU=(qemu-system-x86_64 -accel tcg -machine pc -cpu max -m "$MEMORY" -smp "$SMP"
	-nodefaults -no-user-config -display none -no-reboot
	-chardev stdio,id=ser0,signal=off -serial chardev:ser0
	-kernel "$BOOTKERNEL" -initrd "$TMP/initrd" -append "$APPEND" ${QEMU_EXTRA[@]+"${QEMU_EXTRA[@]}"})
vsay "${QEMU[*]}"

START=$EPOCHREALTIME
say "booting $KVER ($([[ $BOOTKERNEL == "$KERNEL" ]] && echo bzImage || echo PVH vmlinux)) with a $(du -h "$TMP/initrd" | cut -f1) initramfs, budget ${BUDGET}s"
mkfifo "$TMP/console"
# stdin is /dev/null: the console is output only, and qemu leaves the
# caller's terminal alone.
timeout -k 5 "$OVERALL" "${QEMU[@]}" </dev/null >"$TMP/console" 2>"$TMP/qemu.err" &
QEMU_PID=$!
RESULT="" BOOTED=""
exec 3<"$TMP/console"
[[ -n $LOGFILE ]] && : >"$LOGFILE"
BOOT_TIMEOUT=${SKIFF_VM_BOOT_TIMEOUT:-90}
BOOTFAIL="" pending=""
while :; do
	# read -t so that a VM that never reaches the command is noticed; a
	# timed-out read keeps its partial line in $line.
	line=""
	if IFS= read -r -t 2 line <&3; then
		line=$pending$line pending=""
	else
		st=$?
		if [[ $st -gt 128 ]]; then
			pending+=$line
			if [[ -z $BOOTED ]] && (( ${EPOCHREALTIME%.*} - ${START%.*} > BOOT_TIMEOUT )); then
				BOOTFAIL=1
				kill "$QEMU_PID" 2>/dev/null || true
			fi
			continue
		fi
		line=$pending$line pending=""
		[[ -n $line ]] || break # EOF: qemu exited
		printf '%s\n' "${line%$'\r'}"
		[[ -n $LOGFILE ]] && printf '%s\n' "${line%$'\r'}" >>"$LOGFILE"
		break
	fi
	line=${line%$'\r'}
	[[ -n $LOGFILE ]] && printf '%s\n' "$line" >>"$LOGFILE"
	case $line in
	*"SKIFF-VM-START $NONCE"*)
		BOOTED=$EPOCHREALTIME
		say "booted in $(awk "BEGIN{printf \"%.1f\", $BOOTED-$START}")s (guest ${line##*uptime=}s), running: $*"
		continue ;;
	*"SKIFF-VM-RESULT $NONCE "*)
		RESULT=${line##*"SKIFF-VM-RESULT $NONCE "}
		continue ;;
	esac
	# After the result only power-off noise follows.
	[[ -n $RESULT && $VERBOSE == 0 ]] && continue
	printf '%s\n' "$line"
done
exec 3<&-
set +e
wait "$QEMU_PID"
QRC=$?
set -e
QEMU_PID=""
END=$EPOCHREALTIME
WALL=$(awk "BEGIN{printf \"%.1f\", $END-$START}")

if [[ -z $RESULT ]]; then
	if [[ -n $BOOTFAIL ]]; then
		say "FAIL: the command did not start within ${BOOT_TIMEOUT}s of boot (killed; rerun with --verbose)"
	elif [[ $QRC == 124 ]]; then
		say "FAIL: VM did not finish within ${OVERALL}s (killed)"
	elif [[ -z $BOOTED ]]; then
		say "FAIL: VM ended before the command started (boot failure; qemu exit $QRC; rerun with --verbose)"
	else
		say "FAIL: VM ended without reporting a result (crash or panic; qemu exit $QRC)"
	fi
	[[ -s $TMP/qemu.err ]] && sed 's/^/qemu: /' "$TMP/qemu.err" >&2
	exit 126
fi
case $RESULT in
timeout)
	say "FAIL: command exceeded its ${BUDGET}s budget inside the VM (wall ${WALL}s)"
	exit 124 ;;
exit=*)
	RC=${RESULT#exit=}; RC=${RC%% *}
	say "command exited $RC (guest uptime at end ${RESULT##*uptime=}s, wall ${WALL}s)"
	exit "$RC" ;;
esac
say "unparseable result '$RESULT'"
exit 126
