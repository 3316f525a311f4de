package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Format is what Commit writes.
type Format string

const (
	// Tar is an OCI image layer tarball holding only the changes.
	Tar Format = "tar"
	// Dir is a new rootfs directory: the lowers with the changes applied.
	Dir Format = "dir"
)

// ParseFormat accepts "tar" or "dir", as `skiff commit --format` does.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Tar, Dir:
		return f, nil
	}
	return "", fmt.Errorf("unknown commit format %q: use tar or dir", s)
}

// Commit writes the changes the overlay upper directory upper makes over
// lowers (topmost first) to dest, which must not exist yet. With Tar it
// writes an OCI image layer (gzip-compressed if gzip is set): the upper
// entries with their owners, modes, mtimes, xattrs (but not overlay's own)
// and hardlinks, deletions as ".wh.<name>" and replaced directories marked
// with ".wh..wh..opq", in a fixed order so the same changes give the same
// bytes. With Dir it writes the merged tree the container sees, copying
// owners, modes, mtimes, xattrs, symlinks, hardlinks and device nodes.
// Sockets are left out of both (a tar cannot hold them, and they are dead
// once their process is gone).
//
// Commit only reads upper and lowers; the caller pauses a running
// container for a consistent copy. It writes to a temporary name beside
// dest and renames it into place only when complete, so a failure leaves
// nothing at dest.
func Commit(upper string, lowers []string, dest string, format Format, gzip bool) error {
	up, lows, err := openTrees(upper, lowers)
	if err != nil {
		return err
	}
	if format != Tar && format != Dir {
		return fmt.Errorf("unknown commit format %q: use tar or dir", format)
	}
	if format == Dir && gzip {
		return errors.New("gzip applies only to a tar commit")
	}
	dest, err = filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("commit destination %q: %w", dest, err)
	}
	if err := checkDest(dest, append([]string{upper}, lowers...)); err != nil {
		return err
	}
	if format == Tar {
		return commitTar(up, lows, upper, dest, gzip)
	}
	return commitDir(append([]string{upper}, lowers...), dest)
}

// checkDest refuses a destination that exists or lies inside one of the
// trees being read: writing there would change the image or the layer.
func checkDest(dest string, sources []string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("commit destination %q already exists", dest)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(dest))
	if err != nil {
		return fmt.Errorf("commit destination %q: %w", dest, err)
	}
	for _, s := range sources {
		real, err := filepath.EvalSymlinks(s)
		if err != nil {
			return fmt.Errorf("inspect %q: %w", s, err)
		}
		if parent == real || strings.HasPrefix(parent, real+"/") {
			return fmt.Errorf("commit destination %q is inside %q, which a commit must not modify", dest, s)
		}
	}
	return nil
}

// publish renames the finished temporary tmp to dest, refusing to replace
// anything that appeared at dest meanwhile.
func publish(tmp, dest string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// The filesystem cannot rename without replacing; check, then
		// rename (a directory is never replaced by a non-empty one anyway).
		if _, serr := os.Lstat(dest); serr == nil {
			return fmt.Errorf("commit destination %q already exists", dest)
		}
		err = os.Rename(tmp, dest)
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("commit destination %q already exists", dest)
	}
	if err != nil {
		return fmt.Errorf("move the commit into place at %q: %w", dest, err)
	}
	// The rename is durable only once the directory holding it is synced.
	return syncPath(filepath.Dir(dest))
}

// syncPath fsyncs a directory.
func syncPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %q: %w", dir, err)
	}
	return nil
}

// tempPattern is the hidden name a commit to dest is built under.
func tempPattern(dest string) string { return "." + filepath.Base(dest) + ".skiff-commit-" }
