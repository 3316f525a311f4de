package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openBeneathRoot opens path (inside the container, after pivot_root)
// without following any symlink, so a path swapped for a link cannot
// redirect a mask or a read-only bind to another file.
func openBeneathRoot(path string) (*os.File, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// MaskPaths hides each path: files under a bind of /dev/null, directories
// under an empty read-only tmpfs. Missing paths are skipped. The /dev/null
// used is verified to be the real null device (CVE-2025-31133).
func MaskPaths(paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := openBeneathRoot("/dev/null")
	if err != nil {
		return fmt.Errorf("open /dev/null for masking: %w", err)
	}
	defer null.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		return fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		return errors.New("/dev/null is not the null device (1:3): refusing to mask paths with it")
	}
	for _, p := range paths {
		if err := maskPath(null, p); err != nil {
			return fmt.Errorf("mask %q: %w", p, err)
		}
	}
	return nil
}

func maskPath(null *os.File, path string) error {
	target, err := openBeneathRoot(path)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if errors.Is(err, unix.ELOOP) {
		return errors.New("the path is a symlink")
	}
	if err != nil {
		return err
	}
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(target), "tmpfs", unix.MS_RDONLY, "")
	}
	return unix.Mount(fdPath(null), fdPath(target), "", unix.MS_BIND, "")
}

// ReadonlyPaths remounts each path read-only (missing ones are skipped).
func ReadonlyPaths(paths []string) error {
	for _, p := range paths {
		if err := readonlyPath(p); err != nil {
			return fmt.Errorf("make %q read-only: %w", p, err)
		}
	}
	return nil
}

func readonlyPath(path string) error {
	target, err := openBeneathRoot(path)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Mount(fdPath(target), fdPath(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	top, err := openBeneathRoot(path)
	if err != nil {
		return err
	}
	defer top.Close()
	return remountReadonly(top)
}

func remountReadonly(f *os.File) error {
	locked, err := mountFlagsOf(f)
	if err != nil {
		return err
	}
	return unix.Mount("", fdPath(f), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|locked, "")
}

// ReadonlyRoot remounts the container's / read-only.
func ReadonlyRoot() error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := remountReadonly(root); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	return nil
}
