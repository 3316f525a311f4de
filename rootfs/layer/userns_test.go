package layer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestUserNamespacedContainer mounts the layer from inside a user
// namespace whose root is host uid 100000, as a user-namespaced container
// does, and checks that its root can write the layer and that Diff reads
// the user.overlay.* xattrs such a mount writes.
func TestUserNamespacedContainer(t *testing.T) {
	requireRoot(t)
	if !userxattrSupported() {
		t.Skip("kernel older than 5.11: no userxattr overlay option")
	}
	const hostRoot = 100000
	base := reachableTempDir(t)
	image := filepath.Join(base, "image")
	if err := os.Mkdir(image, 0o755); err != nil {
		t.Fatal(err)
	}
	runScript(t, image, imageSteps())
	shiftOwners(t, image, hostRoot)
	imageBefore := snapshot(t, image, snapOpts{mtimes: true, dirMtimes: true})

	l, err := Prepare(filepath.Join(base, "layers"), "userns", hostRoot, hostRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts := l.MountOptions([]string{image}, true)
	if !strings.Contains(opts, ",userxattr") {
		t.Fatalf("options for a user namespace lack userxattr: %s", opts)
	}
	// Mount over the image directory itself, as the runtime does when the
	// bundle rootfs is the container's root.
	runInUserns(t, "userns-container", hostRoot, helperArgs{Options: opts, Target: image})

	changes, err := l.Diff([]string{image})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"C /chm/file", "D /del/file", "D /deldir", "C /etc/hosts", "A /etc/newfile",
		"C /keep/file", "A /keep/file-link", "A /newlink", "C /owned",
		"C /repl", "A /repl/new", "D /repl/sub", "D /repl/x",
	}
	if got := changeLines(changes); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	if v, ok, _ := getXattr(filepath.Join(l.UpperDir(), "repl"), "user.overlay.opaque"); !ok || string(v) != "y" {
		t.Errorf("replaced directory has user.overlay.opaque = %q (present %v), want y", v, ok)
	}
	st := snapshot(t, l.UpperDir(), snapOpts{})
	if o := st["/etc/newfile"]; o.UID != hostRoot || o.GID != hostRoot {
		t.Errorf("file the container's root created is owned by %d:%d on the host, want %d", o.UID, o.GID, hostRoot)
	}
	if o := st["/owned"]; o.UID != hostRoot+1234 || o.GID != hostRoot+5678 {
		t.Errorf("chowned file is %d:%d on the host, want %d:%d", o.UID, o.GID, hostRoot+1234, hostRoot+5678)
	}
	compareSnapshots(t, "image after the container", imageBefore, snapshot(t, image, snapOpts{mtimes: true, dirMtimes: true}))
}

// shiftOwners adds by to the owner and group of everything under root, as
// preparing an image for a user-namespaced container does.
func shiftOwners(t *testing.T, root string, by int) {
	t.Helper()
	for p, s := range snapshot(t, root, snapOpts{}) {
		path := filepath.Join(root, p)
		mode := s.Mode
		if err := os.Lchown(path, int(s.UID)+by, int(s.GID)+by); err != nil {
			t.Fatal(err)
		}
		// chown clears set-id bits; the image keeps them.
		if mode&0o7000 != 0 {
			if err := os.Chmod(path, os.FileMode(mode&0o777)|os.ModeSetuid); err != nil {
				t.Fatal(err)
			}
		}
	}
}
