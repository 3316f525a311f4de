package layer

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// copyNode creates dst as a copy of src without its attributes (see
// copyAttrs): a directory (empty), a file with its content, a symlink, a
// device node or a fifo. A regular file with several links whose inode was
// already copied becomes a hardlink to that copy, which already has its
// attributes; sockets are skipped. done reports either case: dst needs no
// attributes set.
func copyNode(src, dst string, links map[inode]string) (done bool, err error) {
	fi, st, err := lstat(src)
	if err != nil {
		return false, err
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil {
			return false, fmt.Errorf("create directory %q: %w", dst, err)
		}
	case mode.IsRegular():
		key := inode{dev: st.Dev, ino: st.Ino}
		if first, ok := links[key]; ok {
			if err := os.Link(first, dst); err != nil {
				return false, fmt.Errorf("link %q to %q: %w", dst, first, err)
			}
			return true, nil
		}
		if err := copyContent(src, dst); err != nil {
			return false, err
		}
		if st.Nlink > 1 {
			links[key] = dst
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return false, fmt.Errorf("read symlink %q: %w", src, err)
		}
		if err := os.Symlink(target, dst); err != nil {
			return false, fmt.Errorf("create symlink %q: %w", dst, err)
		}
	case mode&fs.ModeSocket != 0:
		return true, nil
	case mode&(fs.ModeDevice|fs.ModeNamedPipe) != 0:
		if err := unix.Mknod(dst, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return false, fmt.Errorf("create node %q: %w", dst, err)
		}
	default:
		return false, fmt.Errorf("%q has a file type that cannot be copied (%v)", src, mode.Type())
	}
	return false, nil
}

func copyContent(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %q: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %q: %w", dst, err)
	}
	// io.Copy between files uses copy_file_range, which can share extents.
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write %q: %w", dst, err)
	}
	return nil
}

// copyAttrs gives dst src's owner, mode, xattrs (but not overlay's own)
// and times. The order matters: chown clears set-id bits and file
// capabilities, so mode and xattrs come after it, and the times last.
func copyAttrs(src, dst string) error {
	fi, st, err := lstat(src)
	if err != nil {
		return err
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("set owner of %q: %w", dst, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return fmt.Errorf("set mode of %q: %w", dst, err)
		}
	}
	xattrs, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, x := range xattrs {
		if err := unix.Lsetxattr(dst, x.Name, x.Value, 0); err != nil {
			return fmt.Errorf("set xattr %s on %q: %w", x.Name, dst, err)
		}
	}
	ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %q: %w", dst, err)
	}
	return nil
}
