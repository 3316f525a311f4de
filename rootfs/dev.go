package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func fileMode(m os.FileMode) *os.FileMode { return &m }

func u32(v uint32) *uint32 { return &v }

// DefaultDevices are created in every container's /dev, as the runtime
// spec requires.
var DefaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)},
}

func populateDev(c *Config) error {
	devices := append([]specs.LinuxDevice(nil), DefaultDevices...)
	if c.Spec.Linux != nil {
		for _, d := range c.Spec.Linux.Devices {
			devices = replaceDevice(devices, d)
		}
	}
	dirs := dirCache{root: c.Rootfs}
	defer dirs.close()
	for _, d := range devices {
		if err := createDevice(c, &dirs, d); err != nil {
			return fmt.Errorf("create device %q: %w", d.Path, err)
		}
	}
	links := [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	for _, l := range links {
		if err := symlinkIn(&dirs, l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}

// dirCache keeps the handles of the directories populateDev works in
// (nearly always just /dev): one resolution each instead of one per node.
type dirCache struct {
	root    string
	handles map[string]*os.File
}

func (d *dirCache) get(dir string) (*os.File, error) {
	dir = filepath.Clean("/" + dir)
	if f, ok := d.handles[dir]; ok {
		return f, nil
	}
	f, err := ensureTarget(d.root, dir, false)
	if err != nil {
		return nil, err
	}
	if d.handles == nil {
		d.handles = map[string]*os.File{}
	}
	d.handles[dir] = f
	return f, nil
}

func (d *dirCache) close() {
	for _, f := range d.handles {
		f.Close()
	}
}

func replaceDevice(list []specs.LinuxDevice, d specs.LinuxDevice) []specs.LinuxDevice {
	for i := range list {
		if filepath.Clean(list[i].Path) == filepath.Clean(d.Path) {
			list[i] = d
			return list
		}
	}
	return append(list, d)
}

func symlinkIn(dirs *dirCache, target, link string) error {
	parent, err := dirs.get(filepath.Dir(link))
	if err != nil {
		return err
	}
	err = unix.Symlinkat(target, int(parent.Fd()), filepath.Base(link))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("symlink %q -> %q: %w", link, target, err)
	}
	return nil
}

func deviceMode(d specs.LinuxDevice) (uint32, error) {
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode & 0o7777)
	}
	switch d.Type {
	case "c", "u":
		return unix.S_IFCHR | perm, nil
	case "b":
		return unix.S_IFBLK | perm, nil
	case "p":
		return unix.S_IFIFO | perm, nil
	}
	return 0, fmt.Errorf("unknown device type %q", d.Type)
}

// createDevice makes the node with mknod; in a user namespace, where mknod
// is refused, it bind-mounts the host's node instead.
func createDevice(c *Config, dirs *dirCache, d specs.LinuxDevice) error {
	parent, err := dirs.get(filepath.Dir(d.Path))
	if err != nil {
		return err
	}
	base := filepath.Base(d.Path)
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	if !c.UserNS {
		_ = unix.Unlinkat(int(parent.Fd()), base, 0)
		err = unix.Mknodat(int(parent.Fd()), base, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
		if err == nil {
			uid, gid := 0, 0
			if d.UID != nil {
				uid = int(*d.UID)
			}
			if d.GID != nil {
				gid = int(*d.GID)
			}
			if err := unix.Fchownat(int(parent.Fd()), base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown: %w", err)
			}
			// mknod applies the umask; set the mode the config asked for.
			return unix.Fchmodat(int(parent.Fd()), base, mode&0o7777, 0)
		}
		if !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("mknod: %w", err)
		}
	}
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create bind target: %w", err)
	}
	if err == nil {
		unix.Close(fd)
	}
	return bindWithFlags(c.Rootfs, d.Path, d.Path, 0)
}
