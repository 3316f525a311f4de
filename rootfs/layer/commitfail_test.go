package layer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFailedCommitLeavesNothing makes each commit format fail halfway,
// where the destination cannot take what is written (no room for the tar;
// no xattrs for the directory), and checks that nothing is left there.
func TestFailedCommitLeavesNothing(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	upper, lower := filepath.Join(base, "upper"), filepath.Join(base, "lower")
	for _, d := range []string{upper, lower} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runScript(t, lower, []step{writeStep("image", "image\n", 0o644)})
	runScript(t, upper, []step{
		writeStep("big", strings.Repeat("x", 256*1024), 0o644),
		writeStep("tagged", "tagged\n", 0o644),
		xattrStep("tagged", "user.tag", "v"),
	})
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
	tests := []struct {
		name   string
		dir    string
		format Format
		want   string
	}{
		{"tar on a full filesystem", mountAt("small", "tmpfs", "size=64k"), Tar, "no space"},
		{"dir on a filesystem without xattrs", mountAt("ramfs", "ramfs", ""), Dir, "xattr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Commit(upper, []string{lower}, filepath.Join(tt.dir, "out"), tt.format, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Commit: %v, want an error about %q", err, tt.want)
			}
			if names, _ := os.ReadDir(tt.dir); len(names) != 0 {
				t.Errorf("failed commit left %v in %s", names, tt.dir)
			}
		})
	}
}
