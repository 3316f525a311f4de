package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fileState is everything a test compares about one path.
type fileState struct {
	Mode     uint32 // type and permission bits, st_mode
	UID, GID uint32
	Content  string // sha256 of a regular file
	Target   string // of a symlink
	Rdev     uint64
	Xattrs   string
	Mtime    int64  // seconds; 0 when not compared
	Links    string // other paths sharing the inode, for a multiply linked file
}

type snapOpts struct {
	mtimes        bool // compare mtimes of non-directories
	dirMtimes     bool // and of directories
	overlayXattrs bool // keep overlay's own xattrs
}

// snapshot records every path under root, the root itself as "/".
func snapshot(t *testing.T, root string, o snapOpts) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	byInode := map[[2]uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fileState{Mode: st.Mode, UID: st.Uid, GID: st.Gid}
		switch {
		case fi.Mode().IsRegular():
			s.Content = fileHash(t, p)
			if st.Nlink > 1 {
				k := [2]uint64{st.Dev, st.Ino}
				byInode[k] = append(byInode[k], rel)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			s.Target, _ = os.Readlink(p)
		case fi.Mode()&fs.ModeDevice != 0:
			s.Rdev = st.Rdev
		}
		if (o.mtimes && !fi.IsDir()) || (o.dirMtimes && fi.IsDir()) {
			s.Mtime = st.Mtim.Sec
		}
		s.Xattrs = xattrString(t, p, o.overlayXattrs)
		out[rel] = s
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	for _, paths := range byInode {
		for _, p := range paths {
			s := out[p]
			s.Links = strings.Join(slices.DeleteFunc(slices.Clone(paths), func(q string) bool { return q == p }), ",")
			out[p] = s
		}
	}
	return out
}

func fileHash(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func xattrString(t *testing.T, p string, overlay bool) string {
	buf := make([]byte, 64*1024)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("list xattrs of %s: %v", p, err)
	}
	var parts []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" || (!overlay && isOverlayXattr(name)) || name == "security.selinux" {
			continue
		}
		v, _, err := getXattr(p, name)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, name+"="+string(v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

// compareSnapshots reports every difference between want and got.
func compareSnapshots(t *testing.T, what string, want, got map[string]fileState) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s", p))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s: want %+v\n\tgot  %+v", p, w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s", p))
		}
	}
	slices.Sort(diffs)
	for _, d := range diffs {
		t.Errorf("%s: %s", what, d)
	}
}
