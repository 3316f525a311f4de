package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// DefaultDataRoot is where layers live unless the global --data-root says
// otherwise: on disk, so a kept layer survives a reboot.
const DefaultDataRoot = "/var/lib/skiff/layers"

// Layer is one container's writable layer: <dataRoot>/<id> holding the
// overlay upper and work directories.
type Layer struct {
	dataRoot string
	id       string
	dir      string
}

// validID is the container ID syntax runc accepts; it keeps an ID from
// naming anything outside the data root.
var validID = regexp.MustCompile(`^[\w+.-]+$`)

func checkID(id string) error {
	if !validID.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("invalid container ID %q: it may contain only letters, digits, '_', '+', '-' and '.'", id)
	}
	return nil
}

// layerDir validates id and returns the clean absolute data root and the
// layer directory under it.
func layerDir(dataRoot, id string) (string, string, error) {
	if err := checkID(id); err != nil {
		return "", "", err
	}
	if dataRoot == "" {
		return "", "", errors.New("no data root given for the writable layer")
	}
	root, err := filepath.Abs(dataRoot)
	if err != nil {
		return "", "", fmt.Errorf("data root %q: %w", dataRoot, err)
	}
	return root, filepath.Join(root, id), nil
}

// Prepare creates the writable layer of container id under dataRoot: the
// directory <dataRoot>/<id> with empty upper and work directories owned by
// uid:gid (the container's root as mapped on the host, so that a
// user-namespaced container can write its layer). It first checks that the
// filesystem can hold an overlay upper directory, and says clearly when it
// cannot. It fails if the layer already exists; on failure it leaves
// nothing behind but the data root.
func Prepare(dataRoot, id string, uid, gid int) (_ *Layer, err error) {
	root, dir, err := layerDir(dataRoot, id)
	if err != nil {
		return nil, err
	}
	// The data root is searchable but not listable by others: a
	// user-namespaced container's root must reach its upper and work
	// directories through it, but has no business listing other layers.
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create data root %q: %w", root, err)
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("writable layer for %q already exists at %q: %w", id, dir, err)
		}
		return nil, fmt.Errorf("create writable layer %q: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	// Mkdir honours the umask, so modes are set explicitly afterwards.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("set mode of %q: %w", dir, err)
	}
	if err := checkUpperFS(root, dir, uid != 0); err != nil {
		return nil, err
	}
	if err := checkReachable(dir, uid, gid); err != nil {
		return nil, err
	}
	l := &Layer{dataRoot: root, id: id, dir: dir}
	// The upper directory becomes the container's "/", so it gets the mode
	// a root directory has; overlay wants the work directory private.
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{{l.UpperDir(), 0o755}, {l.WorkDir(), 0o700}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("create %q: %w", d.path, err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("set mode of %q: %w", d.path, err)
		}
		if err := os.Lchown(d.path, uid, gid); err != nil {
			return nil, fmt.Errorf("give %q to %d:%d: %w", d.path, uid, gid, err)
		}
	}
	return l, nil
}

// Open returns the existing writable layer of container id, for the
// commands that come after create (diff, commit, delete).
func Open(dataRoot, id string) (*Layer, error) {
	root, dir, err := layerDir(dataRoot, id)
	if err != nil {
		return nil, err
	}
	l := &Layer{dataRoot: root, id: id, dir: dir}
	for _, p := range []string{dir, l.UpperDir(), l.WorkDir()} {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("container %q has no writable layer in %q: %w", id, root, err)
		}
		if err != nil {
			return nil, fmt.Errorf("open writable layer %q: %w", p, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("writable layer %q is damaged: %q is not a directory", dir, p)
		}
	}
	return l, nil
}

// Path is where Prepare puts the layer of container id.
func Path(dataRoot, id string) (string, error) {
	_, dir, err := layerDir(dataRoot, id)
	return dir, err
}

// ID is the container the layer belongs to.
func (l *Layer) ID() string { return l.id }

// Dir is the layer's directory, <dataRoot>/<id>.
func (l *Layer) Dir() string { return l.dir }

// UpperDir is the overlay upper directory: the container's changes.
func (l *Layer) UpperDir() string { return filepath.Join(l.dir, "upper") }

// WorkDir is overlay's scratch directory; it must be on the same
// filesystem as UpperDir.
func (l *Layer) WorkDir() string { return filepath.Join(l.dir, "work") }

// Diff lists the container's changes over lowers; see the package-level
// Diff.
func (l *Layer) Diff(lowers []string) ([]Change, error) { return Diff(l.UpperDir(), lowers) }

// Commit writes the container's changes over lowers to dest; see the
// package-level Commit.
func (l *Layer) Commit(lowers []string, dest string, format Format, gzip bool) error {
	return Commit(l.UpperDir(), lowers, dest, format, gzip)
}

// checkReachable fails when uid:gid (a user-namespaced container's root,
// which is an ordinary user on the host) cannot search every directory
// from / down to dir: its overlay mount would fail with a bare EACCES.
func checkReachable(dir string, uid, gid int) error {
	if uid == 0 {
		return nil
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inspect %q: %w", p, err)
		}
		st, err := statOf(p, fi)
		if err != nil {
			return err
		}
		var can bool
		switch {
		case int(st.Uid) == uid:
			can = st.Mode&0o100 != 0
		case int(st.Gid) == gid:
			can = st.Mode&0o010 != 0
		default:
			can = st.Mode&0o001 != 0
		}
		if !can {
			return fmt.Errorf("the container's root (host uid %d) cannot reach its writable layer: %q (mode %#o) is not searchable by it", uid, p, st.Mode&0o777)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}
