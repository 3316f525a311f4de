package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// fdPath names an open file for syscalls that take a path, so that a mount
// lands on the inode we resolved and verified, not on whatever a path
// names by the time the kernel walks it again.
func fdPath(f *os.File) string { return FdPath(int(f.Fd())) }

// FdPath is the /proc/self/fd path of fd: a way to hand an fd the runtime
// resolved and checked to syscalls that take a path.
func FdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// openInRoot resolves path inside root (symlinks cannot leave it) and
// returns an O_PATH handle.
//
// openat2 with RESOLVE_IN_ROOT does it in one syscall; the kernel keeps
// every step, ".." and symlinks included, under root. Kernels without
// openat2 go through filepath-securejoin's userspace walk.
func openInRoot(root, path string) (*os.File, error) {
	f, err := openat2InRoot(root, path)
	if errors.Is(err, unix.ENOSYS) {
		f, err = pathrs.OpenInRoot(root, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %q inside the rootfs: %w", path, err)
	}
	return f, nil
}

func openat2InRoot(root, path string) (*os.File, error) {
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(rootFd, path, how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue // a concurrent rename or mount: retry, as the kernel asks
		}
		if err != nil {
			return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), filepath.Join(root, path)), nil
	}
}

// ensureTarget makes sure path exists inside root, creating a directory (or
// an empty file when file is true) and any missing parents, all resolved
// inside root. It returns an O_PATH handle of the target.
func ensureTarget(root, path string, file bool) (*os.File, error) {
	if f, err := openInRoot(root, path); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %q inside the rootfs: %w", path, err)
	}
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %q: %w", root, err)
	}
	defer rootDir.Close()
	if !file {
		d, err := pathrs.MkdirAllHandle(rootDir, path, 0o755)
		if err != nil {
			return nil, fmt.Errorf("create directory %q inside the rootfs: %w", path, err)
		}
		return d, nil
	}
	parent, err := pathrs.MkdirAllHandle(rootDir, filepath.Dir(path), 0o755)
	if err != nil {
		return nil, fmt.Errorf("create directory %q inside the rootfs: %w", filepath.Dir(path), err)
	}
	defer parent.Close()
	base := filepath.Base(path)
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create file %q inside the rootfs: %w", path, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	return openInRoot(root, path)
}

// mountFlagsOf returns the MS_* flags of the mount holding f, the ones a
// bind remount must repeat (the kernel refuses to clear locked flags).
func mountFlagsOf(f *os.File) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	var flags uintptr
	for _, m := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st.Flags&m.st != 0 {
			flags |= m.ms
		}
	}
	return flags, nil
}

// EnsureMountPoint makes sure a mount point exists inside root (a
// directory, or an empty file for a file bind), every step resolved
// inside root: restore prepares a root criu will mount into.
func EnsureMountPoint(root, path string, file bool) error {
	f, err := ensureTarget(root, path, file)
	if err != nil {
		return err
	}
	return f.Close()
}
