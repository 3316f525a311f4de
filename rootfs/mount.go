package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CgroupMount is one cgroup hierarchy to show at a `type: cgroup` mount.
type CgroupMount struct {
	Name    string // directory under the mount point; "" for a v2-only host
	HostDir string // the container's own directory in that hierarchy
}

// Config is everything Prepare needs.
type Config struct {
	Spec   *specs.Spec
	Rootfs string // absolute host path of the root filesystem
	Bundle string // relative bind sources are resolved against it
	// OverlayData, when set, makes the root an overlayfs with this mount
	// data (the writable layer) instead of a bind of Rootfs.
	OverlayData  string
	CgroupMounts []CgroupMount
	// UserNS: the container has its own user namespace, so device nodes
	// are bind mounted from the host rather than created.
	UserNS bool
	// HostMountNS: the container shares the host's mount namespace (its
	// config has none), so its mounts are made in the host's, under the
	// rootfs, and must be removed by delete.
	HostMountNS bool
	// MountLabel is the SELinux context of the filesystems skiff mounts
	// (empty on hosts without SELinux).
	MountLabel string
}

// Prepare runs in the container's new mount namespace before pivot_root:
// it makes the root a mount point, then mounts every entry of the spec, in
// order, and populates /dev.
func Prepare(c *Config) error {
	// In the host's own mount namespace (a config without one) nothing may
	// touch the propagation of the host's mounts.
	if !c.HostMountNS {
		prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
		if p := c.Spec.Linux.RootfsPropagation; p != "" {
			prop = propagationOptions[p]
		}
		if err := unix.Mount("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of / to %q: %w", c.Spec.Linux.RootfsPropagation, err)
		}
		if err := makeParentPrivate(c.Rootfs); err != nil {
			return err
		}
	}
	if c.OverlayData != "" {
		if err := unix.Mount("overlay", c.Rootfs, "overlay", 0, c.OverlayData); err != nil {
			return fmt.Errorf("mount the writable layer (overlay) on %q: %w", c.Rootfs, err)
		}
	} else if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the rootfs %q onto itself: %w", c.Rootfs, err)
	}
	devBound := false
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		if err := mountEntry(c, m); err != nil {
			return fmt.Errorf("mount %q on %q: %w", m.Source, m.Destination, err)
		}
		if filepath.Clean(m.Destination) == "/dev" && m.Type == "bind" {
			devBound = true
		}
		for _, o := range m.Options {
			if filepath.Clean(m.Destination) == "/dev" && (o == "bind" || o == "rbind") {
				devBound = true
			}
		}
	}
	if !devBound {
		if err := populateDev(c); err != nil {
			return err
		}
	}
	return nil
}

// makeParentPrivate: pivot_root refuses a new root whose parent mount is
// shared, which it is when the host or rootfsPropagation made it so.
func makeParentPrivate(rootfs string) error {
	mp, err := mountPointOf(filepath.Dir(rootfs))
	if err != nil {
		return err
	}
	if err := unix.Mount("", mp, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %q private: %w", mp, err)
	}
	return nil
}

func mountEntry(c *Config, m *specs.Mount) error {
	opts, err := ParseOptions(m.Options)
	if err != nil {
		return err
	}
	typ := m.Type
	if typ == "bind" {
		opts.Bind = true
	}
	switch {
	case typ == "cgroup" || typ == "cgroup2":
		return mountCgroup(c, m, opts)
	case opts.Bind:
		return mountBind(c, m, opts)
	}
	target, err := ensureTarget(c.Rootfs, m.Destination, false)
	if err != nil {
		return err
	}
	defer target.Close()
	var below *os.File
	if opts.TmpCopyUp {
		if below, err = os.Open(fdPath(target)); err != nil {
			return fmt.Errorf("open %q for tmpcopyup: %w", m.Destination, err)
		}
		defer below.Close()
	}
	flags := opts.Flags &^ (unix.MS_BIND | unix.MS_REC)
	data := opts.DataString()
	if c.MountLabel != "" && typ != "proc" && typ != "sysfs" {
		data = joinData(data, fmt.Sprintf("context=%q", c.MountLabel))
	}
	err = unix.Mount(m.Source, fdPath(target), typ, flags, data)
	switch {
	case err != nil && typ == "sysfs" && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)):
		// A user namespace that does not own the network namespace
		// cannot mount sysfs: show the host's instead, as runc does.
		err = bindWithFlags(c.Rootfs, m.Destination, "/sys", flags|unix.MS_REC)
	case err != nil && typ == "devpts" && errors.Is(err, unix.EINVAL):
		// gid=5 may not be mapped in a user namespace.
		err = unix.Mount(m.Source, fdPath(target), typ, flags, withoutOption(opts.Data, "gid=5"))
	}
	if err != nil {
		return err
	}
	if below != nil {
		top, err := openInRoot(c.Rootfs, m.Destination)
		if err != nil {
			return err
		}
		defer top.Close()
		if err := copyTree(below, fdPath(top)); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	return applyPropagationAndAttrs(c.Rootfs, m.Destination, opts)
}

func joinData(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

func withoutOption(data []string, drop string) string {
	var keep []string
	for _, d := range data {
		if d != drop {
			keep = append(keep, d)
		}
	}
	return (MountOptions{Data: keep}).DataString()
}

func mountBind(c *Config, m *specs.Mount, opts MountOptions) error {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.Bundle, src)
	}
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	flags := opts.Flags
	if opts.Recursive {
		flags |= unix.MS_REC
	}
	target, err := ensureTarget(c.Rootfs, m.Destination, !st.IsDir())
	if err != nil {
		return err
	}
	target.Close()
	if err := bindWithFlags(c.Rootfs, m.Destination, src, flags); err != nil {
		return err
	}
	return applyPropagationAndAttrs(c.Rootfs, m.Destination, opts)
}

// bindWithFlags bind-mounts src on dest (inside root), then remounts it
// with the per-mount flags (a bind mount ignores them at creation).
func bindWithFlags(root, dest, src string, flags uintptr) error {
	return bindOnto(src, flags, func() (*os.File, error) { return openInRoot(root, dest) })
}

// bindOnto bind-mounts src on the mount point open yields and, when flags
// carry more than MS_BIND/MS_REC, remounts the new mount with them (plus
// the flags the kernel locks on it); open, called again, yields a handle
// of what the mount point shows now, the new mount.
func bindOnto(src string, flags uintptr, open func() (*os.File, error)) error {
	target, err := open()
	if err != nil {
		return err
	}
	defer target.Close()
	srcFile, err := os.OpenFile(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open bind source: %w", err)
	}
	defer srcFile.Close()
	if err := unix.Mount(fdPath(srcFile), fdPath(target), "", unix.MS_BIND|(flags&unix.MS_REC), ""); err != nil {
		return err
	}
	return remountBind(flags, open)
}

// remountBind applies to a bind mount the flags beyond MS_BIND/MS_REC
// (plus the flags the kernel locks on it); reopen yields the mount.
func remountBind(flags uintptr, reopen func() (*os.File, error)) error {
	extra := flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if extra == 0 {
		return nil
	}
	top, err := reopen()
	if err != nil {
		return err
	}
	defer top.Close()
	locked, err := mountFlagsOf(top)
	if err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if err := unix.Mount("", fdPath(top), "", unix.MS_BIND|unix.MS_REMOUNT|extra|locked, ""); err != nil {
		return fmt.Errorf("remount with flags: %w", err)
	}
	return nil
}

func applyPropagationAndAttrs(root, dest string, opts MountOptions) error {
	if len(opts.Propagation) == 0 && opts.AttrSet == 0 && opts.AttrClr == 0 {
		return nil
	}
	top, err := openInRoot(root, dest)
	if err != nil {
		return err
	}
	defer top.Close()
	for _, p := range opts.Propagation {
		if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	if opts.AttrSet != 0 || opts.AttrClr != 0 {
		attr := &unix.MountAttr{Attr_set: opts.AttrSet, Attr_clr: opts.AttrClr}
		if err := unix.MountSetattr(int(top.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	return nil
}

// mountCgroup shows the container's own cgroups at the destination: on
// v1/hybrid hosts a tmpfs with one bind per hierarchy, on v2 the unified
// hierarchy itself.
func mountCgroup(c *Config, m *specs.Mount, opts MountOptions) error {
	flags := opts.Flags &^ (unix.MS_BIND | unix.MS_REC)
	target, err := ensureTarget(c.Rootfs, m.Destination, false)
	if err != nil {
		return err
	}
	defer target.Close()
	if len(c.CgroupMounts) == 1 && c.CgroupMounts[0].Name == "" {
		return bindWithFlags(c.Rootfs, m.Destination, c.CgroupMounts[0].HostDir, unix.MS_REC|flags)
	}
	if err := unix.Mount("tmpfs", fdPath(target), "tmpfs", flags&^unix.MS_RDONLY, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	// The tmpfs is ours and empty, and nothing runs in this mount
	// namespace but us: its mount points are made and opened relative to
	// its root, one component each, with no walk from the rootfs.
	top, err := openInRoot(c.Rootfs, m.Destination)
	if err != nil {
		return err
	}
	defer top.Close()
	// The flags go on all the binds and the tmpfs at once, with one
	// recursive mount_setattr, rather than a remount per hierarchy (four
	// syscalls each, eleven hierarchies on a v1 host; issue 8). Kernels
	// without it (before 5.12) get the remounts.
	set, clr, oneCall := mountAttrsOf(flags)
	bindFlags := unix.MS_REC | flags
	if oneCall {
		bindFlags = unix.MS_REC
	}
	for _, cm := range c.CgroupMounts {
		if err := bindInDir(top, cm.Name, cm.HostDir, bindFlags); err != nil {
			return fmt.Errorf("bind cgroup %q: %w", cm.Name, err)
		}
	}
	if oneCall {
		attr := &unix.MountAttr{Attr_set: set, Attr_clr: clr}
		err := unix.MountSetattr(int(top.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
		if err == nil {
			return nil
		}
		if err != unix.ENOSYS {
			return fmt.Errorf("set cgroup mount flags: %w", err)
		}
		for _, cm := range c.CgroupMounts {
			reopen := func() (*os.File, error) { return openBelow(top, cm.Name) }
			if err := remountBind(unix.MS_REC|flags, reopen); err != nil {
				return fmt.Errorf("bind cgroup %q: %w", cm.Name, err)
			}
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		if err := unix.Mount("", fdPath(top), "", unix.MS_REMOUNT|flags, "mode=755"); err != nil {
			return fmt.Errorf("remount read-only: %w", err)
		}
	}
	return nil
}

// mountAttrsOf translates mount flags into mount_setattr's attributes;
// ok is false when some flag has no attribute (or there is nothing to set).
func mountAttrsOf(flags uintptr) (set, clr uint64, ok bool) {
	flags &^= unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT
	for _, f := range []struct {
		flag  uintptr
		attr  uint64
		atime bool // one of the atime modes: setting one replaces the mount's
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, false},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID, false},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV, false},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC, false},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME, false},
		{unix.MS_RELATIME, unix.MOUNT_ATTR_RELATIME, true},
		{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, true},
		{unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME, true},
	} {
		if flags&f.flag == 0 {
			continue
		}
		set |= f.attr
		if f.atime {
			clr |= unix.MOUNT_ATTR__ATIME
		}
		flags &^= f.flag
	}
	return set, clr, flags == 0 && (set != 0 || clr != 0)
}

// openBelow opens (O_PATH) the directory name in dir, not following a
// symlink: what the mount point shows now.
func openBelow(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open mount point: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// bindInDir makes the directory name (one path component) in dir and
// bind-mounts src on it with flags, as bindWithFlags does for a path.
func bindInDir(dir *os.File, name, src string, flags uintptr) error {
	if strings.Contains(name, "/") || name == "" || name == "." || name == ".." {
		return fmt.Errorf("bad mount point name %q", name)
	}
	if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("mkdir: %w", err)
	}
	return bindOnto(src, flags, func() (*os.File, error) { return openBelow(dir, name) })
}
