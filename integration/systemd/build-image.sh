#!/usr/bin/env bash
# integration/systemd/build-image.sh — build (once) the Debian bookworm disk
# image the systemd VM boots: systemd 252 as PID 1, dbus, on cgroup v2, with
# criu and iptables for the checkpoint/restore tests (criu runs iptables-save
# and iptables-restore for network namespaces).
#
# Usage: build-image.sh CACHE_DIR   (prints the image path on stdout)
#
# The image is made with debootstrap from the Debian mirror this machine's
# apt uses (never a hard-coded host), gets the running kernel's modules and a
# unit that runs the test payload (second disk, /dev/vdb) at boot and powers
# off, and is written with mkfs.ext4 -d. It is cached in CACHE_DIR keyed by a
# hash of this script and the kernel version; the VM boots it with -snapshot,
# so it is never modified.
set -euo pipefail
CACHE=${1:?cache dir}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
KERNEL=$(ls /boot/vmlinuz-* | sort -V | tail -n1)
KVER=${KERNEL##*/vmlinuz-}
KEY=$( (cat "$SELF"; echo "$KVER") | sha256sum | cut -c1-16)
IMG=$CACHE/bookworm-$KEY.ext4
if [[ -f $IMG ]]; then echo "$IMG"; exit 0; fi
say() { echo "skiff-systemd-vm: $*" >&2; }
for t in debootstrap mkfs.ext4; do
	command -v $t >/dev/null || { say "$t not found (apt-get install debootstrap e2fsprogs)"; exit 125; }
done
# The mirror apt uses here: deb822 .sources first, then one-line lists.
MIRROR=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
if [[ -z $MIRROR ]]; then
	MIRROR=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | awk '{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | head -n1 || true)
fi
[[ -n $MIRROR ]] || { say "no Debian mirror found in /etc/apt/sources.list*"; exit 125; }
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
say "debootstrap bookworm from $MIRROR (about a minute)"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libpam-systemd,kmod,iproute2,procps,criu,iptables \
	bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 125; }
mkdir -p "$ROOT/lib/modules"
cp -a "/lib/modules/$KVER" "$ROOT/lib/modules/"
echo skiff-vm >"$ROOT/etc/hostname"
echo 'root::0:0:root:/root:/bin/bash' >/dev/null
printf '/dev/vda / ext4 defaults 0 1\n' >"$ROOT/etc/fstab"
# The test unit: mount the payload disk, run its run.sh, report the status
# on the console in a line the host looks for, power off.
cat >"$ROOT/etc/systemd/system/skiff-test.service" <<'UNIT'
[Unit]
Description=skiff systemd-driver tests
After=dbus.service systemd-logind.service local-fs.target
Wants=dbus.service

[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/usr/local/sbin/skiff-test-boot
ExecStopPost=/bin/systemctl --no-block poweroff --force
UNIT
cat >"$ROOT/usr/local/sbin/skiff-test-boot" <<'BOOT'
#!/bin/bash
mkdir -p /payload
mount -o ro /dev/vdb /payload || { echo "SKIFF-TEST-RESULT: 126"; exit 0; }
budget=$(cat /payload/timeout 2>/dev/null || echo 300)
cd /payload
echo "SKIFF-TEST-START systemd $(systemctl --version | head -n1)"
timeout "$budget" /bin/bash /payload/run.sh
rc=$?
echo "SKIFF-TEST-RESULT: $rc"
BOOT
chmod 755 "$ROOT/usr/local/sbin/skiff-test-boot"
ln -sf /etc/systemd/system/skiff-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/skiff-test.service"
# Nothing else at boot that could wait on the network or a login.
rm -f "$ROOT/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/systemd-timesyncd.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/apt-daily.timer"
ln -sf /dev/null "$ROOT/etc/systemd/system/apt-daily-upgrade.timer"
rm -rf "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/usr/share/doc" "$ROOT/usr/share/man"
say "writing ext4 image"
mkfs.ext4 -q -F -L skiffroot -d "$ROOT" "$WORK/img.ext4" 1536M
mv "$WORK/img.ext4" "$IMG"
ls -t "$CACHE"/bookworm-*.ext4 | tail -n +3 | xargs -r rm -f
echo "$IMG"
