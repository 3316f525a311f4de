package rootfs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyTree copies the directory open as src into the directory at dst,
// keeping modes, owners and symlinks (used by tmpcopyup, where dst is a
// fresh tmpfs mounted over src).
func copyTree(src *os.File, dst string) error {
	return copyDir(fdPath(src), dst)
}

func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(s, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := os.Mkdir(d, os.FileMode(st.Mode&0o7777)); err != nil && !os.IsExist(err) {
				return err
			}
			if err := copyDir(s, d); err != nil {
				return err
			}
		case unix.S_IFLNK:
			link, err := os.Readlink(s)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, d); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := copyFile(s, d, os.FileMode(st.Mode&0o7777)); err != nil {
				return err
			}
		default:
			if err := unix.Mknod(d, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("mknod %q: %w", d, err)
			}
		}
		if err := unix.Lchown(d, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %q: %w", d, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if err := unix.Chmod(d, st.Mode&0o7777); err != nil {
				return fmt.Errorf("chmod %q: %w", d, err)
			}
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
