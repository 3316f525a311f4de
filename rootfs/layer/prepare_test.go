package layer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPrepareLayout(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(reachableTempDir(t), "layers")
	l, err := Prepare(root, "c1", 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		path     string
		perm     fs.FileMode
		uid, gid uint32
	}{
		{root, 0o711, 0, 0},
		{l.Dir(), 0o711, 0, 0},
		{l.UpperDir(), 0o755, 1000, 2000},
		{l.WorkDir(), 0o700, 1000, 2000},
	} {
		fi, err := os.Lstat(d.path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != d.perm || st.Uid != d.uid || st.Gid != d.gid {
			t.Errorf("%s: %v %d:%d, want dir %v %d:%d", d.path, fi.Mode(), st.Uid, st.Gid, d.perm, d.uid, d.gid)
		}
	}
	names, _ := os.ReadDir(l.Dir())
	if len(names) != 2 {
		t.Errorf("layer directory holds %v, want only upper and work (probes must be cleaned up)", names)
	}
	if _, err := Prepare(root, "c1", 0, 0); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Prepare: %v, want an already-exists error", err)
	}
	// A user-namespaced container's root must reach the layer.
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(filepath.Join(private, "layers"), "c1", 100000, 100000); err == nil || !strings.Contains(err.Error(), "not searchable") {
		t.Errorf("Prepare under a private directory for a mapped root: %v", err)
	}
	o, err := Open(root, "c1")
	if err != nil || o.UpperDir() != l.UpperDir() {
		t.Fatalf("Open: %v, %v", o, err)
	}
	// Discard refuses while something is mounted inside the layer.
	if err := unix.Mount("tmpfs", l.WorkDir(), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmount(t, l.WorkDir()) })
	if err := o.Discard(); err == nil || !strings.Contains(err.Error(), "still mounted") {
		t.Errorf("Discard with a mount inside: %v", err)
	}
	unmount(t, l.WorkDir())
	if err := o.Discard(); err != nil {
		t.Fatal(err)
	}
	if err := o.Discard(); err != nil {
		t.Errorf("Discard of a discarded layer: %v", err)
	}
	if _, err := Open(root, "c1"); err == nil {
		t.Error("Open of a discarded layer succeeded")
	}
}

// TestPrepareFilesystems records which filesystems this kernel accepts for
// the data root, and that a refusal names the path and the filesystem.
func TestPrepareFilesystems(t *testing.T) {
	requireRoot(t)
	base := reachableTempDir(t)
	mountAt := func(name, fstype, data string) string {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(fstype, dir, fstype, 0, data); err != nil {
			t.Fatalf("mount %s: %v", fstype, err)
		}
		t.Cleanup(func() { unmount(t, dir) })
		return dir
	}
	tmpfs := mountAt("tmpfs", "tmpfs", "")
	ramfs := mountAt("ramfs", "ramfs", "")
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ovl := mountAt("overlay", "overlay", overlayOptions([]string{filepath.Join(base, "l")}, filepath.Join(base, "u"), filepath.Join(base, "w"), false))

	// The probes on their own, without the list of known-bad filesystems.
	if err := probeOverlay(ovl); err == nil {
		t.Error("the trial overlay mount accepted an overlay as upper layer")
	} else {
		t.Logf("trial mount on overlay: %v", err)
	}
	if err := probeXattrs(ramfs, false); err == nil {
		t.Error("the xattr probe accepted ramfs")
	} else {
		t.Logf("xattr probe on ramfs: %v", err)
	}
	if err := probeOverlay(tmpfs); err != nil {
		t.Errorf("the trial overlay mount refused tmpfs: %v", err)
	}

	tests := []struct {
		name    string
		root    string
		userns  bool
		wantErr string // "" = must work
	}{
		{"disk", filepath.Join(base, "disk"), false, ""},
		{"tmpfs", filepath.Join(tmpfs, "layers"), false, ""},
		{"tmpfs user namespace", filepath.Join(tmpfs, "layers"), true, ""},
		{"ramfs", filepath.Join(ramfs, "layers"), false, "on ramfs"},
		{"overlay on overlay", filepath.Join(ovl, "layers"), false, "on overlayfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "fs-check"
			if tt.userns {
				id = "fs-check-userns"
			}
			uid := 0
			if tt.userns {
				uid = 100000
			}
			l, err := Prepare(tt.root, id, uid, uid)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Prepare on %s: %v", tt.name, err)
				}
				if err := l.Discard(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				l.Discard()
				t.Fatalf("Prepare on %s succeeded, want an error", tt.name)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.root) {
				t.Errorf("error %q should name the filesystem (%q) and the path %s", err, tt.wantErr, tt.root)
			}
			if _, serr := os.Stat(filepath.Join(tt.root, id)); !os.IsNotExist(serr) {
				t.Errorf("failed Prepare left %s behind", filepath.Join(tt.root, id))
			}
		})
	}
}

// TestMountOverLowerItself mounts the layer on the image directory it
// uses as lower, with paths that need escaping in the mount options.
func TestMountOverLowerItself(t *testing.T) {
	requireRoot(t)
	base := filepath.Join(t.TempDir(), `odd,name:with\escapes`)
	image := filepath.Join(base, "image")
	if err := os.MkdirAll(image, 0o755); err != nil {
		t.Fatal(err)
	}
	runScript(t, image, []step{writeStep("f", "image\n", 0o644)})
	before := snapshot(t, image, snapOpts{mtimes: true, dirMtimes: true})
	l, err := Prepare(filepath.Join(base, "layers"), "c", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mountLayer(t, l, image, []string{image})
	runScript(t, image, []step{appendStep("f", "container\n"), writeStep("g", "new\n", 0o644)})
	if got := string(readFile(t, filepath.Join(image, "f"))); got != "image\ncontainer\n" {
		t.Errorf("through the overlay f = %q", got)
	}
	unmount(t, image)
	compareSnapshots(t, "image under the overlay", before, snapshot(t, image, snapOpts{mtimes: true, dirMtimes: true}))
	changes, err := l.Diff([]string{image})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(changeLines(changes), ","); got != "C /f,A /g" {
		t.Errorf("Diff = %s", got)
	}
}

// TestProbeLeavesNamespaces checks that the trial mount's private mount
// namespace never becomes the process's: /proc/self must keep showing the
// namespace the process started in.
func TestProbeLeavesNamespaces(t *testing.T) {
	requireRoot(t)
	before, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		if err := probeOverlay(dir); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.Readlink("/proc/self/ns/mnt"); after != before {
		t.Errorf("process mount namespace changed from %s to %s", before, after)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("probes left %v behind", names)
	}
}

// reachableTempDir is a t.TempDir that a mapped container root (an
// ordinary host user) can search, as a real data root is.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A filesystem that passed the checks is recorded in the data root and not
// probed again; the record covers user.* xattrs only once they were
// checked, and a record of another filesystem does not count.
func TestUpperCheckRecorded(t *testing.T) {
	requireRoot(t)
	root := reachableTempDir(t)
	marker := filepath.Join(root, checkedName)
	l, err := Prepare(root, "first", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Discard(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(marker)
	if err != nil || !strings.HasSuffix(string(data), " user=0\n") {
		t.Fatalf("record after the first Prepare: %q, %v", data, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	id, err := fsIdentity(root, &st)
	if err != nil {
		t.Fatal(err)
	}
	if !checkedBefore(marker, id, false) || checkedBefore(marker, id, true) {
		t.Errorf("record %q: checked for root only", data)
	}
	if checkedBefore(marker, id+"x", false) {
		t.Error("a record of another filesystem was taken")
	}
	l, err = Prepare(root, "second", 100000, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Discard(); err != nil {
		t.Fatal(err)
	}
	if !checkedBefore(marker, id, true) {
		data, _ = os.ReadFile(marker)
		t.Errorf("record after a user-namespaced Prepare: %q", data)
	}
	// Nothing but the record is left of the probes.
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 || ents[0].Name() != checkedName {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("data root holds %v", names)
	}
}
