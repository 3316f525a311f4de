#!/bin/sh
# mkbundle.sh DIR: make an OCI bundle in DIR whose rootfs is busybox-static
# with every applet linked, and a config.json from `skiff spec`.
# Env: SKIFF (the binary, default bin/skiff), BUSYBOX (default /bin/busybox).
set -eu
dir=$1
skiff=${SKIFF:-bin/skiff}
busybox=${BUSYBOX:-/bin/busybox}
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked' && ! ldd "$busybox" 2>&1 | grep -q 'not a dynamic'; then
	echo "mkbundle: $busybox is not a static busybox (apt-get install busybox-static)" >&2
	exit 1
fi
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp" "$dir/rootfs/etc" "$dir/rootfs/root"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] && continue
	ln -sf busybox "$dir/rootfs/bin/$applet"
done
chmod 1777 "$dir/rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$dir/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/rootfs/etc/group"
if [ ! -e "$dir/config.json" ]; then
	"$skiff" spec --bundle "$dir"
fi
