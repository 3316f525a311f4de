package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// node is one directory entry as the diff and merge logic see it: its type
// and permission bits, its owner, and the two overlay markings.
type node struct {
	Name     string
	Mode     fs.FileMode
	UID, GID uint32
	// Whiteout is set for an overlay whiteout: a 0:0 character device, or a
	// zero-size file carrying the overlay "whiteout" xattr.
	Whiteout bool
	// Opaque is set for a directory whose lower content overlay hides
	// (overlay "opaque" xattr equal to "y").
	Opaque bool
}

func (n node) isDir() bool { return n.Mode.IsDir() && !n.Whiteout }

// tree is one layer's directory tree, addressed by slash-separated paths
// relative to its root ("" is the root). It exists so the merge and diff
// rules can be tested on in-memory trees without root privileges.
type tree interface {
	// lookup returns the entry at rel; ok is false when there is none (or a
	// parent is not a directory).
	lookup(rel string) (n node, ok bool, err error)
	// readDir returns the entries of directory rel sorted by name.
	readDir(rel string) ([]node, error)
	// xattrs returns rel's xattrs other than overlay's, sorted by name.
	xattrs(rel string) ([]xattr, error)
}

// dirTree is a tree on disk.
type dirTree struct{ root string }

func (d dirTree) path(rel string) string { return filepath.Join(d.root, filepath.FromSlash(rel)) }

func (d dirTree) lookup(rel string) (node, bool, error) {
	p := d.path(rel)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return node{}, false, nil
	}
	if err != nil {
		return node{}, false, fmt.Errorf("inspect %q: %w", p, err)
	}
	n, err := nodeFromInfo(p, fi)
	return n, err == nil, err
}

// readDir skips names that vanish while it reads, and reads a directory
// that vanished as empty: Diff may run on a running container, whose upper
// directory changes under it.
func (d dirTree) readDir(rel string) ([]node, error) {
	p := d.path(rel)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open directory %q: %w", p, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read directory %q: %w", p, err)
	}
	slices.Sort(names)
	out := make([]node, 0, len(names))
	for _, name := range names {
		cp := filepath.Join(p, name)
		fi, err := os.Lstat(cp)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect %q: %w", cp, err)
		}
		n, err := nodeFromInfo(cp, fi)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (d dirTree) xattrs(rel string) ([]xattr, error) { return listXattrs(d.path(rel)) }

// nodeFromInfo classifies the file at path, reading overlay xattrs only
// where they can matter (directories and empty regular files) to keep a
// walk over a large tree cheap.
func nodeFromInfo(path string, fi fs.FileInfo) (node, error) {
	n := node{Name: fi.Name(), Mode: fi.Mode()}
	st, err := statOf(path, fi)
	if err != nil {
		return node{}, err
	}
	n.UID, n.GID = st.Uid, st.Gid
	switch {
	case fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0:
		n.Whiteout = true
	case fi.Mode().IsRegular() && fi.Size() == 0:
		wh, err := hasOverlayXattr(path, "whiteout")
		if err != nil {
			return node{}, err
		}
		n.Whiteout = wh
	case fi.IsDir():
		op, err := overlayXattrIs(path, "opaque", "y")
		if err != nil {
			return node{}, err
		}
		n.Opaque = op
	}
	return n, nil
}

// joinRel joins a relative directory and a name into a slash path.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// splitRel splits a slash path into its parent and base name.
func splitRel(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// lstat returns path's FileInfo and the raw stat data behind it.
func lstat(path string) (fs.FileInfo, *syscall.Stat_t, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("inspect %q: %w", path, err)
	}
	st, err := statOf(path, fi)
	return fi, st, err
}

func statOf(path string, fi fs.FileInfo) (*syscall.Stat_t, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("inspect %q: no stat data", path)
	}
	return st, nil
}
