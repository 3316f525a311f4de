package layer

import (
	"bytes"
	"compress/gzip"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func changeLines(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// TestScriptedContainer runs the whole life of a layer against a real
// overlay: a container changes files through it, Diff must report exactly
// those changes, both commit formats must reproduce what the container
// saw, and neither the image nor the upper directory may change.
func TestScriptedContainer(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	image := filepath.Join(base, "image")
	if err := os.Mkdir(image, 0o755); err != nil {
		t.Fatal(err)
	}
	runScript(t, image, imageSteps())
	lowers := []string{image}
	all := snapOpts{mtimes: true, dirMtimes: true}
	imageBefore := snapshot(t, image, all)

	l, err := Prepare(filepath.Join(base, "layers"), "c1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(base, "merged")
	if err := os.Mkdir(merged, 0o755); err != nil {
		t.Fatal(err)
	}
	mountLayer(t, l, merged, lowers)
	runScript(t, merged, containerSteps())
	seen := snapshot(t, merged, all)

	// Diff works on a running container too.
	live, err := l.Diff(lowers)
	if err != nil {
		t.Fatal(err)
	}
	unmount(t, merged) // a stopped container: commit reads the directories
	upper := snapOpts{mtimes: true, dirMtimes: true, overlayXattrs: true}
	upperBefore := snapshot(t, l.UpperDir(), upper)

	changes, err := l.Diff(lowers)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeLines(changes); !slices.Equal(got, wantChanges) {
		t.Errorf("Diff:\n got %q\nwant %q", got, wantChanges)
	}
	if !slices.Equal(live, changes) {
		t.Errorf("Diff of the mounted layer %v differs from the unmounted one %v", live, changes)
	}

	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("commit dir", func(t *testing.T) {
		dest := filepath.Join(out, "rootfs")
		if err := l.Commit(lowers, dest, Dir, false); err != nil {
			t.Fatal(err)
		}
		compareSnapshots(t, "committed rootfs vs the container's view", seen, snapshot(t, dest, all))
		if err := l.Commit(lowers, dest, Dir, false); err == nil {
			t.Error("a second commit to the same directory succeeded")
		}
	})
	t.Run("commit tar", func(t *testing.T) {
		dest := filepath.Join(out, "layer.tar")
		if err := l.Commit(lowers, dest, Tar, false); err != nil {
			t.Fatal(err)
		}
		again := filepath.Join(out, "layer-again.tar")
		if err := l.Commit(lowers, again, Tar, false); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readFile(t, dest), readFile(t, again)) {
			t.Error("two commits of the same layer differ")
		}
		gz := filepath.Join(out, "layer.tar.gz")
		if err := l.Commit(lowers, gz, Tar, true); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(readFile(t, gz)))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, readFile(t, dest)) {
			t.Error("the gzip commit does not decompress to the plain one")
		}

		rootfs := applyWithUmoci(t, image, dest)
		// A tar extractor restores directory mtimes only as well as its
		// order of writes allows, and owns the root directory.
		compareSnapshots(t, "umoci-applied layer vs the container's view",
			withoutDirMtimes(withoutRoot(seen)), withoutRoot(snapshot(t, rootfs, snapOpts{mtimes: true})))
	})

	compareSnapshots(t, "image after the container", imageBefore, snapshot(t, image, all))
	compareSnapshots(t, "upper after diff and commit", upperBefore, snapshot(t, l.UpperDir(), upper))

	if err := l.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Dir()); !os.IsNotExist(err) {
		t.Errorf("layer directory still there after Discard: %v", err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withoutRoot(s map[string]fileState) map[string]fileState {
	out := maps.Clone(s)
	delete(out, "/")
	return out
}

func withoutDirMtimes(s map[string]fileState) map[string]fileState {
	out := map[string]fileState{}
	for p, st := range s {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			st.Mtime = 0
		}
		out[p] = st
	}
	return out
}
