#!/bin/bash
# build-image.sh OUTDIR: builds the busybox test image from the static busybox
# on this machine (Debian busybox-static), with no registry:
#   OUTDIR/rootfs/            the root filesystem
#   OUTDIR/rootfs.tar         plain tar of it          (podman import)
#   OUTDIR/busybox-oci.tar    OCI image layout tarball (ctr image import)
#   OUTDIR/busybox-docker.tar docker-archive           (docker load)
# The image reference everywhere is localhost/busybox:latest.
set -euo pipefail
out=$1
bb=${ENGINES_BUSYBOX:-/bin/busybox}
mkdir -p "$out"
r=$out/rootfs
rm -rf "$r" "$out/layout"
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/user,proc,sys,dev,run,var/tmp}
# a private copy, mode fixed: others on this machine have chmod'ed /usr/bin/busybox
cp "$bb" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"
for a in $("$r/bin/busybox" --list-full); do
	[ "$a" = bin/busybox ] && continue
	mkdir -p "$r/$(dirname "$a")"
	ln -sf /bin/busybox "$r/$a"
done
chmod 1777 "$r/tmp" "$r/var/tmp"
chown 1000:1000 "$r/home/user"
cat > "$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$r/etc/group" <<'G'
root:x:0:
user:x:1000:
nogroup:x:65534:
G
tar --numeric-owner -C "$r" -cf "$out/rootfs.tar" .
L=$out/layout
umoci init --layout "$L" >/dev/null
umoci new --image "$L:latest" >/dev/null
umoci insert --image "$L:latest" "$r" / >/dev/null
umoci config --image "$L:latest" --config.cmd /bin/sh \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--architecture amd64 --os linux >/dev/null
umoci gc --layout "$L" >/dev/null
tar -C "$L" -cf "$out/busybox-oci.tar" .
rm -f "$out/busybox-docker.tar"
skopeo --insecure-policy copy -q "oci:$L:latest" "docker-archive:$out/busybox-docker.tar:localhost/busybox:latest"
