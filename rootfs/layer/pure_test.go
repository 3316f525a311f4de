package layer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKernelAtLeast(t *testing.T) {
	tests := []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v1272", true},
		{"5.11.0", true},
		{"5.11", true},
		{"5.10.200-lts", false},
		{"4.19.0", false},
		{"5.11rc1", true},
		{"10.0", true},
		{"", false},
		{"garbage", false},
		{"x.y.z", false},
	}
	for _, tt := range tests {
		if got := kernelAtLeast(tt.release, 5, 11); got != tt.want {
			t.Errorf("kernelAtLeast(%q, 5, 11) = %v, want %v", tt.release, got, tt.want)
		}
	}
}

func TestOverlayOptions(t *testing.T) {
	tests := []struct {
		name      string
		lowers    []string
		userxattr bool
		want      string
	}{
		{
			"one lower", []string{"/img"}, false,
			"lowerdir=/img,upperdir=/l/upper,workdir=/l/work,index=off,redirect_dir=off,metacopy=off",
		},
		{
			"lowers in order, topmost first", []string{"/top", "/mid", "/base"}, false,
			"lowerdir=/top:/mid:/base,upperdir=/l/upper,workdir=/l/work,index=off,redirect_dir=off,metacopy=off",
		},
		{
			"user namespace", []string{"/img"}, true,
			"lowerdir=/img,upperdir=/l/upper,workdir=/l/work,index=off,redirect_dir=nofollow,metacopy=off,userxattr",
		},
		{
			"escapes", []string{`/a,b`, `/c:d`, `/e\f`}, false,
			`lowerdir=/a\,b:/c\:d:/e\\f,upperdir=/l/upper,workdir=/l/work,index=off,redirect_dir=off,metacopy=off`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := overlayOptions(tt.lowers, "/l/upper", "/l/work", tt.userxattr); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	l := &Layer{dataRoot: "/d", id: "c", dir: "/d/c"}
	if got := l.MountOptions([]string{"/img"}, false); !strings.HasPrefix(got, "lowerdir=/img,upperdir=/d/c/upper,workdir=/d/c/work,") {
		t.Errorf("MountOptions = %s", got)
	}
}

func TestWhiteoutNames(t *testing.T) {
	tests := []struct{ rel, whiteout, opaque string }{
		{"etc/passwd", "etc/.wh.passwd", "etc/passwd/.wh..wh..opq"},
		{"top", ".wh.top", "top/.wh..wh..opq"},
		{"a/b/.hidden", "a/b/.wh..hidden", "a/b/.hidden/.wh..wh..opq"},
	}
	for _, tt := range tests {
		if got := whiteoutEntry(tt.rel); got != tt.whiteout {
			t.Errorf("whiteoutEntry(%q) = %q, want %q", tt.rel, got, tt.whiteout)
		}
		if got := opaqueEntry(tt.rel); got != tt.opaque {
			t.Errorf("opaqueEntry(%q) = %q, want %q", tt.rel, got, tt.opaque)
		}
	}
}

func TestIDs(t *testing.T) {
	for _, id := range []string{"abc", "a-b_c.d+e", "0123456789abcdef"} {
		if err := checkID(id); err != nil {
			t.Errorf("checkID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "a\x00b"} {
		if err := checkID(id); err == nil {
			t.Errorf("checkID(%q) accepted it", id)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"tar": Tar, "dir": Dir} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("zip"); err == nil {
		t.Error("ParseFormat accepted zip")
	}
}

func TestOpenAndDiscardRefusals(t *testing.T) {
	root := t.TempDir()
	if _, err := Open(root, "missing"); err == nil || !strings.Contains(err.Error(), "has no writable layer") {
		t.Errorf("Open of a missing layer: %v", err)
	}
	if _, err := Open(root, "../etc"); err == nil {
		t.Error("Open accepted an ID with a path in it")
	}
	if _, err := Prepare("", "c", 0, 0); err == nil {
		t.Error("Prepare accepted an empty data root")
	}
	// A Layer whose directory is not <dataRoot>/<id> is never removed.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Layer{
		{dataRoot: root, id: "c", dir: victim},
		{dataRoot: root, id: "..", dir: filepath.Dir(root)},
		{dataRoot: filepath.Dir(victim), id: "victim/..", dir: filepath.Dir(victim)},
	} {
		if err := l.Discard(); err == nil {
			t.Errorf("Discard of %+v succeeded", l)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("victim directory is gone: %v", err)
	}
	// Nor through a symlink at <dataRoot>/<id>.
	if err := os.Symlink(victim, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	l := &Layer{dataRoot: root, id: "link", dir: filepath.Join(root, "link")}
	if err := l.Discard(); err == nil {
		t.Error("Discard followed a symlink")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("victim directory is gone: %v", err)
	}
}

func TestCommitRefusals(t *testing.T) {
	base := t.TempDir()
	upper, lower := filepath.Join(base, "upper"), filepath.Join(base, "lower")
	for _, d := range []string{upper, lower} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exists := filepath.Join(base, "exists")
	if err := os.WriteFile(exists, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		lowers []string
		dest   string
		format Format
		gzip   bool
		want   string
	}{
		{"inside a lower", []string{lower}, filepath.Join(lower, "out.tar"), Tar, false, "must not modify"},
		{"inside the upper", []string{lower}, filepath.Join(upper, "out"), Dir, false, "must not modify"},
		{"existing destination", []string{lower}, exists, Tar, false, "already exists"},
		{"gzip dir", []string{lower}, filepath.Join(base, "d"), Dir, true, "gzip"},
		{"no lowers", nil, filepath.Join(base, "x.tar"), Tar, false, "no lower"},
		{"missing lower", []string{filepath.Join(base, "nope")}, filepath.Join(base, "x.tar"), Tar, false, "nope"},
		{"unknown format", []string{lower}, filepath.Join(base, "x"), "zip", false, "unknown commit format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Commit(upper, tt.lowers, tt.dest, tt.format, tt.gzip)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Commit: %v, want an error about %q", err, tt.want)
			}
		})
	}
	names, _ := os.ReadDir(base)
	if len(names) != 3 {
		t.Errorf("failed commits left files: %v", names)
	}
}

// TestPrepareAsCaller prepares a layer owned by the caller, which works
// without root (rootless use): the probes that need privileges are skipped.
func TestPrepareAsCaller(t *testing.T) {
	root := filepath.Join(t.TempDir(), "layers")
	l, err := Prepare(root, "mine", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Discard(); err != nil {
		t.Fatal(err)
	}
}
