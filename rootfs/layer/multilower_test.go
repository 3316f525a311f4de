package layer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMultipleLowers runs the scripted container over two lower layers,
// the top one carrying its own whiteout and opaque directory, and checks
// Diff and both commit formats against what the container saw.
func TestMultipleLowers(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	bottom, top := filepath.Join(base, "bottom"), filepath.Join(base, "top")
	for _, d := range []string{bottom, top} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runScript(t, bottom, imageSteps())
	runScript(t, top, []step{
		mkdirStep("keep", 0o755),
		mknodStep("keep/other", unix.S_IFCHR, 0, 0), // deleted by the top layer
		mkdirStep("chmdir", 0o755),
		xattrStep("chmdir", "trusted.overlay.opaque", "y"), // replaced by the top layer
		writeStep("chmdir/g", "from top\n", 0o644),
		mkdirStep("etc", 0o755),
		writeStep("etc/fromtop", "top\n", 0o644),
		mkdirStep("del", 0o755),
		writeStep("del/stays", "overridden\n", 0o644),
	})
	lowers := []string{top, bottom}
	all := snapOpts{mtimes: true, dirMtimes: true}
	before := map[string]map[string]fileState{}
	for _, d := range lowers {
		before[d] = snapshot(t, d, snapOpts{mtimes: true, dirMtimes: true, overlayXattrs: true})
	}

	// The image as the kernel merges it, without any layer: an independent
	// base for the tar check.
	image := filepath.Join(base, "image")
	if err := os.Mkdir(image, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("overlay", image, "overlay", unix.MS_RDONLY, "lowerdir="+top+":"+bottom); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmount(t, image) })

	l, err := Prepare(filepath.Join(base, "layers"), "multi", 0, 0)
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
	unmount(t, merged)

	changes, err := l.Diff(lowers)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeLines(changes); !slices.Equal(got, wantChanges) {
		t.Errorf("Diff:\n got %q\nwant %q", got, wantChanges)
	}
	rootfs := filepath.Join(base, "rootfs")
	if err := l.Commit(lowers, rootfs, Dir, false); err != nil {
		t.Fatal(err)
	}
	compareSnapshots(t, "committed rootfs vs the container's view", seen, snapshot(t, rootfs, all))

	layerTar := filepath.Join(base, "layer.tar")
	if err := l.Commit(lowers, layerTar, Tar, false); err != nil {
		t.Fatal(err)
	}
	applied := applyWithUmoci(t, image, layerTar)
	compareSnapshots(t, "umoci-applied layer vs the container's view",
		withoutDirMtimes(withoutRoot(seen)), withoutRoot(snapshot(t, applied, snapOpts{mtimes: true})))

	for _, d := range lowers {
		compareSnapshots(t, "lower "+d+" after the container", before[d], snapshot(t, d, snapOpts{mtimes: true, dirMtimes: true, overlayXattrs: true}))
	}
}
