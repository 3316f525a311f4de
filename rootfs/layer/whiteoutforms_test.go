package layer

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWhiteoutForms builds an upper directory by hand with every form of
// whiteout and opaque marker overlay writes (device, trusted.* and user.*
// xattrs), and checks Diff and a tar commit read them all, and that no
// overlay xattr leaks into either commit format.
func TestWhiteoutForms(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	upper, lower := filepath.Join(base, "upper"), filepath.Join(base, "lower")
	for _, d := range []string{upper, lower} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runScript(t, lower, []step{
		writeStep("a", "a", 0o644), writeStep("b", "b", 0o644), writeStep("c", "c", 0o644), writeStep("g", "g", 0o644),
		mkdirStep("d", 0o755), writeStep("d/old", "", 0o644),
		mkdirStep("e", 0o755), writeStep("e/old", "", 0o644),
		mkdirStep("f", 0o755), writeStep("f/old", "", 0o644),
	})
	runScript(t, upper, []step{
		writeStep("a", "", 0o644), xattrStep("a", "trusted.overlay.whiteout", ""),
		writeStep("b", "", 0o644), xattrStep("b", "user.overlay.whiteout", ""),
		mknodStep("c", unix.S_IFCHR, 0, 0),
		writeStep("g", "", 0o644),
		mkdirStep("d", 0o755), xattrStep("d", "trusted.overlay.opaque", "y"), writeStep("d/new", "n", 0o644),
		mkdirStep("e", 0o755), xattrStep("e", "user.overlay.opaque", "y"),
		// "x" marks a directory holding xattr whiteouts; it is not opaque.
		mkdirStep("f", 0o755), xattrStep("f", "trusted.overlay.opaque", "x"),
	})
	changes, err := Diff(upper, []string{lower})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"D /a", "D /b", "D /c", "C /d", "A /d/new", "D /d/old", "C /e", "D /e/old", "C /g"}
	if got := changeLines(changes); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}

	dest := filepath.Join(base, "layer.tar")
	if err := Commit(upper, []string{lower}, dest, Tar, false); err != nil {
		t.Fatal(err)
	}
	var names []string
	f, err := os.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		for k := range hdr.PAXRecords {
			if strings.Contains(k, "overlay") {
				t.Errorf("%s carries overlay xattr %s", hdr.Name, k)
			}
		}
	}
	wantNames := []string{".wh.a", ".wh.b", ".wh.c", "d/", "d/.wh..wh..opq", "d/new", "e/", "e/.wh..wh..opq", "f/", "g"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("tar entries:\n got %q\nwant %q", names, wantNames)
	}

	rootfs := filepath.Join(base, "rootfs")
	if err := Commit(upper, []string{lower}, rootfs, Dir, false); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, rootfs, snapOpts{overlayXattrs: true})
	var paths []string
	for p, s := range snap {
		paths = append(paths, p)
		if strings.Contains(s.Xattrs, "overlay") {
			t.Errorf("%s carries overlay xattrs %s", p, s.Xattrs)
		}
	}
	slices.Sort(paths)
	if want := []string{"/", "/d", "/d/new", "/e", "/f", "/f/old", "/g"}; !slices.Equal(paths, want) {
		t.Errorf("committed rootfs holds %q, want %q", paths, want)
	}
}
