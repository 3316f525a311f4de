package layer

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"
)

func TestDiffRules(t *testing.T) {
	chmod := func(n node, perm fs.FileMode) node { n.Mode = n.Mode&^fs.ModePerm | perm; return n }
	tests := []struct {
		name   string
		upper  memTree
		lowers []memTree
		want   []string
	}{
		{
			name:   "add a file in a copied-up dir",
			upper:  memTree{"etc": mdir(), "etc/new": mfile()},
			lowers: []memTree{{"etc": mdir(), "etc/old": mfile()}},
			want:   []string{"A /etc/new"},
		},
		{
			name:   "change a file",
			upper:  memTree{"etc": mdir(), "etc/old": mfile()},
			lowers: []memTree{{"etc": mdir(), "etc/old": mfile()}},
			want:   []string{"C /etc/old"},
		},
		{
			name:   "delete a file",
			upper:  memTree{"etc": mdir(), "etc/old": mwh()},
			lowers: []memTree{{"etc": mdir(), "etc/old": mfile()}},
			want:   []string{"D /etc/old"},
		},
		{
			name:   "whiteout hiding nothing",
			upper:  memTree{"tmp": mwh()},
			lowers: []memTree{{"etc": mdir()}},
			want:   nil,
		},
		{
			name:   "delete a directory: reported once",
			upper:  memTree{"d": mwh()},
			lowers: []memTree{{"d": mdir(), "d/x": mfile(), "d/y": mdir(), "d/y/z": mfile()}},
			want:   []string{"D /d"},
		},
		{
			name:   "replace a directory with another",
			upper:  memTree{"d": mopq(), "d/y": mdir(), "d/n": mfile()},
			lowers: []memTree{{"d": mdir(), "d/x": mfile(), "d/y": mdir(), "d/y/z": mfile()}},
			want:   []string{"C /d", "A /d/n", "D /d/x", "C /d/y", "D /d/y/z"},
		},
		{
			name:   "new opaque dir over nothing",
			upper:  memTree{"n": mopq(), "n/f": mfile()},
			lowers: []memTree{{}},
			want:   []string{"A /n", "A /n/f"},
		},
		{
			name:   "chmod a directory",
			upper:  memTree{"a": chmod(mdir(), 0o700)},
			lowers: []memTree{{"a": mdir()}},
			want:   []string{"C /a"},
		},
		{
			name:   "chown a directory",
			upper:  memTree{"a": node{Mode: fs.ModeDir | 0o755, UID: 5}},
			lowers: []memTree{{"a": mdir()}},
			want:   []string{"C /a"},
		},
		{
			name:   "set an xattr on a directory",
			upper:  memTree{"a": mdir(), "a\x00user.k": mxattr("v")},
			lowers: []memTree{{"a": mdir()}},
			want:   []string{"C /a"},
		},
		{
			name:   "same xattrs are no change",
			upper:  memTree{"a": mdir(), "a\x00user.k": mxattr("v")},
			lowers: []memTree{{"a": mdir(), "a\x00user.k": mxattr("v")}},
			want:   nil,
		},
		{
			name:   "file replaced by a directory",
			upper:  memTree{"f": mopq(), "f/x": mfile()},
			lowers: []memTree{{"f": mfile()}},
			want:   []string{"C /f", "A /f/x"},
		},
		{
			name:   "directory replaced by a file",
			upper:  memTree{"d": mfile()},
			lowers: []memTree{{"d": mdir(), "d/x": mfile()}},
			want:   []string{"C /d"},
		},
		{
			name:   "symlink added and chmod of a file",
			upper:  memTree{"l": mlink(), "f": chmod(mfile(), 0o600)},
			lowers: []memTree{{"f": mfile()}},
			want:   []string{"C /f", "A /l"},
		},
		{
			name:   "a path a lower whiteout hides counts as absent",
			upper:  memTree{"a": mfile()},
			lowers: []memTree{{"a": mwh()}, {"a": mfile()}},
			want:   []string{"A /a"},
		},
		{
			name:   "a whiteout under a lower opaque dir hides nothing",
			upper:  memTree{"d": mdir(), "d/y": mwh()},
			lowers: []memTree{{"d": mopq(), "d/x": mfile()}, {"d": mdir(), "d/y": mfile()}},
			want:   nil,
		},
		{
			name:   "deletes reach through merged lowers",
			upper:  memTree{"d": mdir(), "d/y": mwh()},
			lowers: []memTree{{"d": mdir(), "d/x": mfile()}, {"d": mdir(), "d/y": mfile()}},
			want:   []string{"D /d/y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lowers := make([]tree, len(tt.lowers))
			for i, l := range tt.lowers {
				lowers[i] = l
			}
			changes, err := diffTrees(tt.upper, lowers)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTarEventsCoverOpaqueDeletes(t *testing.T) {
	upper := memTree{"d": mopq(), "d/y": mdir(), "e": mdir(), "e/x": mwh()}
	lower := memTree{"d": mdir(), "d/x": mfile(), "d/y": mdir(), "d/y/z": mfile(), "e": mdir(), "e/x": mfile()}
	var got []string
	err := walkChanges(upper, []tree{lower}, func(ev event) error {
		s := map[eventKind]string{evEntry: "entry", evOpaque: "opaque", evDeleted: "deleted"}[ev.what]
		if ev.covered {
			s += "(covered)"
		}
		got = append(got, s+" "+ev.rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entry d", "opaque d", "deleted(covered) d/x", "entry d/y", "deleted(covered) d/y/z",
		"entry e", "deleted e/x",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestChangeJSON(t *testing.T) {
	b, err := json.Marshal([]Change{{Kind: Added, Path: "/a"}, {Kind: Deleted, Path: "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"kind":"added","path":"/a"},{"kind":"deleted","path":"/b"}]`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	for k, l := range map[Kind]string{Added: "A", Changed: "C", Deleted: "D", "x": "?"} {
		if k.Letter() != l {
			t.Errorf("%q.Letter() = %q, want %q", k, k.Letter(), l)
		}
	}
}
