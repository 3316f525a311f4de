package layer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Overlay keeps its own metadata in xattrs under one of two prefixes:
// trusted.overlay. when mounted by the initial user namespace's root, and
// user.overlay. when mounted with userxattr (inside a user namespace).
var overlayXattrPrefixes = []string{"trusted.overlay.", "user.overlay."}

// isOverlayXattr reports whether name is overlay's private metadata, which
// must never be copied into a commit: it would turn into bogus whiteouts or
// redirects when the result is used as an overlay layer again.
func isOverlayXattr(name string) bool {
	for _, p := range overlayXattrPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// overlayXattrIs reports whether path carries the overlay attribute key
// (for example "opaque") under either prefix with the value want.
func overlayXattrIs(path, key, want string) (bool, error) {
	for _, p := range overlayXattrPrefixes {
		v, ok, err := getXattr(path, p+key)
		if err != nil {
			return false, err
		}
		if ok && string(v) == want {
			return true, nil
		}
	}
	return false, nil
}

// hasOverlayXattr reports whether path carries the overlay attribute key
// under either prefix, whatever its value.
func hasOverlayXattr(path, key string) (bool, error) {
	for _, p := range overlayXattrPrefixes {
		_, ok, err := getXattr(path, p+key)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// getXattr reads one xattr of path without following a final symlink. A
// missing attribute, or a filesystem without xattrs, is (nil, false, nil).
func getXattr(path, name string) ([]byte, bool, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		switch {
		case err == nil:
			return buf[:n], true, nil
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
			return nil, false, nil
		case errors.Is(err, unix.ERANGE):
			size, serr := unix.Lgetxattr(path, name, nil)
			if serr != nil {
				return nil, false, fmt.Errorf("read xattr %s of %q: %w", name, path, serr)
			}
			buf = make([]byte, size+1)
		default:
			return nil, false, fmt.Errorf("read xattr %s of %q: %w", name, path, err)
		}
	}
}

// xattr is one extended attribute of a file.
type xattr struct {
	Name  string
	Value []byte
}

// listXattrs returns path's xattrs other than overlay's own, sorted by name
// so that anything built from them is deterministic.
func listXattrs(path string) ([]xattr, error) {
	var names []byte
	for size := 1024; ; {
		buf := make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if err == nil {
			names = buf[:n]
			break
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if !errors.Is(err, unix.ERANGE) {
			return nil, fmt.Errorf("list xattrs of %q: %w", path, err)
		}
		need, err := unix.Llistxattr(path, nil)
		if err != nil {
			return nil, fmt.Errorf("list xattrs of %q: %w", path, err)
		}
		size = need + 1
	}
	var out []xattr
	for _, raw := range bytes.Split(names, []byte{0}) {
		name := string(raw)
		if name == "" || isOverlayXattr(name) {
			continue
		}
		v, ok, err := getXattr(path, name)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, xattr{Name: name, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b xattr) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
