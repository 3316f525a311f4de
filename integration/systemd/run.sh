#!/usr/bin/env bash
# integration/systemd/run.sh — run the systemd cgroup driver tests in a VM
# with systemd as PID 1 (this host has none).
#
# Usage: integration/systemd/run.sh [--skiff PATH] [--cgroup v2|v1] [--timeout SECONDS] [--log FILE]
#
# Boots a Debian bookworm image (built once by build-image.sh with
# debootstrap, cached in $SKIFF_SYSTEMD_VM_CACHE, default
# /var/cache/skiff-systemd-vm) on the host's Debian kernel and initrd under
# qemu TCG (no KVM), systemd 252 on cgroup v2 (--cgroup v1: systemd's
# legacy hierarchy, systemd.unified_cgroup_hierarchy=0). The image is booted with
# -snapshot (never modified); the tests (test.sh), skiff, busybox and the
# bundles' configs go in on a second disk made with mkfs.ext4 -d. A unit
# in the image runs test.sh at boot, prints "SKIFF-TEST-RESULT: N" and
# powers off. Exit status: test.sh's; 124 when it timed out in the VM; 125
# on a host-side error; 126 when the VM ended without a result.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKIFF=$HERE/../../bin/skiff
BUDGET=240
LOG=""
CGROUP=v2
CACHE=${SKIFF_SYSTEMD_VM_CACHE:-/var/cache/skiff-systemd-vm}
while [[ $# -gt 0 ]]; do
	case $1 in
	--skiff) SKIFF=${2:?}; shift 2 ;;
	--timeout) BUDGET=${2:?}; shift 2 ;;
	--log) LOG=${2:?}; shift 2 ;;
	--cgroup) CGROUP=${2:?}; shift 2 ;;
	*) echo "usage: run.sh [--skiff PATH] [--cgroup v2|v1] [--timeout SECONDS] [--log FILE]" >&2; exit 125 ;;
	esac
done
die() { echo "skiff-systemd-vm: $*" >&2; exit 125; }
[[ $(id -u) == 0 ]] || die "needs root (debootstrap, mkfs)"
[[ -x $SKIFF ]] || die "no skiff binary at $SKIFF (make build)"
for t in qemu-system-x86_64 mkfs.ext4 python3 timeout; do
	command -v $t >/dev/null || die "$t not found (apt-get install qemu-system-x86 e2fsprogs python3)"
done
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] && ! ldd $BUSYBOX >/dev/null 2>&1 || die "$BUSYBOX is not a static busybox (apt-get install busybox-static)"
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1) || true
[[ -n $KERNEL ]] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
INITRD=/boot/initrd.img-${KERNEL##*/vmlinuz-}
[[ -r $INITRD ]] || die "no $INITRD"

case $CGROUP in
v2) UNIFIED=1 ;;
v1) UNIFIED=0 ;;
*) die "--cgroup wants v2 or v1" ;;
esac
IMG=$("$HERE/build-image.sh" "$CACHE") || exit 125
WORK=$(mktemp -d /tmp/skiff-systemd-vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
P=$WORK/payload
mkdir -p "$P"
cp "$SKIFF" "$P/skiff"
# the checkpoint/restore companion skiff execs (make build puts it beside)
[[ -x $(dirname "$SKIFF")/skiff-criu ]] || die "no skiff-criu beside $SKIFF (make build)"
cp "$(dirname "$SKIFF")/skiff-criu" "$P/skiff-criu"
cp "$BUSYBOX" "$P/busybox"
cp "$HERE/test.sh" "$P/run.sh"
cp "$HERE/console-recv.py" "$P/console-recv.py"
echo "$BUDGET" >"$P/timeout"
# The bundle's config: skiff's default spec with a systemd cgroupsPath.
"$SKIFF" spec --bundle "$WORK" >/dev/null
python3 - "$WORK/config.json" "$P" <<'PY'
import json, sys
base = json.load(open(sys.argv[1]))
def conf(name, args, res, cgpath):
    c = json.loads(json.dumps(base))
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["root"] = {"path": "rootfs", "readonly": False}
    c["linux"]["cgroupsPath"] = cgpath
    c["linux"].setdefault("resources", {}).update(res)
    json.dump(c, open(sys.argv[2] + "/config-" + name + ".json", "w"), indent=1)
conf("limits", ["sleep", "1000"], {
    "memory": {"limit": 67108864, "reservation": 33554432},
    "pids": {"limit": 50},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
}, "system.slice:skiff:c1")
c = json.load(open(sys.argv[2] + "/config-limits.json"))
c["annotations"] = {"org.systemd.property.TimeoutStopUSec": "uint64 7000000"}
json.dump(c, open(sys.argv[2] + "/config-limits.json", "w"), indent=1)
conf("pids", ["sleep", "1000"], {"pids": {"limit": 10}}, ":skiff:pids")
conf("oom", ["sh", "-c", "tail /dev/zero"], {"memory": {"limit": 16777216, "swap": 16777216}}, "")
# Checkpoint/restore: a counter in memory, written each tick to a host
# directory bound at /out (criu must treat that mount as external).
counter = "echo kept >/tmp/skiff-marker; i=0; while :; do i=$((i+1)); echo $i >/out/count; sleep 0.1; done"
def ckpt(name, cgpath, layer=True, terminal=False):
    conf(name, ["sh", "-c", counter], {"memory": {"limit": 67108864}, "pids": {"limit": 50}}, cgpath)
    c = json.load(open(sys.argv[2] + "/config-" + name + ".json"))
    c["mounts"].append({"destination": "/out", "type": "bind", "source": "/tmp/ck/" + name, "options": ["rbind", "rw"]})
    c["process"]["terminal"] = terminal
    if not layer:
        c.get("annotations", {}).pop("dev.skiff.layer", None)
    json.dump(c, open(sys.argv[2] + "/config-" + name + ".json", "w"), indent=1)
ckpt("ckfs", "/skiff-ckfs")
ckpt("cksd", "system.slice:skiff:cksd", layer=False)
ckpt("cktty", "/skiff-cktty", terminal=True)
ckpt("cktty2", "/skiff-cktty2", terminal=True)
PY
mkfs.ext4 -q -F -d "$P" "$WORK/payload.ext4" 64M

OUT=$WORK/console.log
set +e
timeout $((BUDGET + 180)) qemu-system-x86_64 -accel tcg -m 1G -smp 2 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 systemd.unified_cgroup_hierarchy=$UNIFIED systemd.show_status=0 systemd.log_level=warning" \
	-drive "file=$IMG,format=raw,if=virtio,snapshot=on" \
	-drive "file=$WORK/payload.ext4,format=raw,if=virtio,snapshot=on" \
	</dev/null 2>&1 | tee "$OUT" | sed -n '/SKIFF-TEST-START/,/SKIFF-TEST-RESULT/p'
set -e
[[ -z $LOG ]] || cp "$OUT" "$LOG"
rc=$(sed -n 's/.*SKIFF-TEST-RESULT: \([0-9]*\).*/\1/p' "$OUT" | tail -n1)
if [[ -z $rc ]]; then
	echo "skiff-systemd-vm: the VM ended without a result; last console lines:" >&2
	tail -n 40 "$OUT" >&2
	exit 126
fi
exit "$rc"
