package layer

import (
	"slices"
	"testing"
)

func TestMergeName(t *testing.T) {
	dir := func(layer int) candidate { return candidate{node: mdir(), layer: layer} }
	opq := func(layer int) candidate { return candidate{node: mopq(), layer: layer} }
	file := func(layer int) candidate { return candidate{node: mfile(), layer: layer} }
	wh := func(layer int) candidate { return candidate{node: mwh(), layer: layer} }
	tests := []struct {
		name        string
		cands       []candidate
		ok          bool
		winnerLayer int
		sources     []int
	}{
		{"absent", nil, false, 0, nil},
		{"file on top", []candidate{file(0), file(1)}, true, 0, nil},
		{"whiteout on top hides", []candidate{wh(0), file(1)}, false, 0, nil},
		{"whiteout below a file", []candidate{file(0), wh(1)}, true, 0, nil},
		{"dirs merge", []candidate{dir(0), dir(2)}, true, 0, []int{0, 2}},
		{"opaque stops merging", []candidate{dir(0), opq(1), dir(2)}, true, 0, []int{0, 1}},
		{"whiteout stops merging", []candidate{dir(0), wh(1), dir(2)}, true, 0, []int{0}},
		{"file below a dir stops merging", []candidate{dir(0), file(1), dir(2)}, true, 0, []int{0}},
		{"dir below a file is hidden", []candidate{file(1), dir(2)}, true, 1, nil},
		{"topmost opaque merges only itself", []candidate{opq(0), dir(1)}, true, 0, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, src, ok := mergeName(tt.cands)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if w.layer != tt.winnerLayer || !slices.Equal(src, tt.sources) {
				t.Errorf("winner layer %d sources %v, want %d %v", w.layer, src, tt.winnerLayer, tt.sources)
			}
		})
	}
}

func TestViewLookupAndReadDir(t *testing.T) {
	top := memTree{"d": mopq(), "d/a": mfile(), "gone": mwh(), "f": mfile()}
	mid := memTree{"d": mdir(), "d/hidden": mfile(), "gone": mfile(), "f": mdir(), "f/x": mfile(), "e": mdir(), "e/m": mfile()}
	bot := memTree{"e": mdir(), "e/b": mfile(), "e/m": mwh()}
	v := view{layers: []tree{top, mid, bot}}

	for rel, want := range map[string]bool{
		"d/a": true, "d/hidden": false, "gone": false, "f": true, "f/x": false,
		"e/m": true, "e/b": true, "nope": false,
	} {
		_, ok, err := v.lookup(rel)
		if err != nil || ok != want {
			t.Errorf("lookup(%q) = %v, %v; want %v", rel, ok, err, want)
		}
	}
	if e, _, _ := v.lookup("f"); e.Mode.IsDir() || e.layer != 0 {
		t.Errorf("f resolves to layer %d mode %v, want the top file", e.layer, e.Mode)
	}
	root, _, _ := v.rootEntry()
	names := func(rel string, sources []int) []string {
		es, err := v.readDir(rel, sources)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		return out
	}
	if got := names("", root.sources); !slices.Equal(got, []string{"d", "e", "f"}) {
		t.Errorf("root = %v", got)
	}
	e, _, _ := v.lookup("e")
	if got := names("e", e.sources); !slices.Equal(got, []string{"b", "m"}) {
		t.Errorf("e = %v", got)
	}
	d, _, _ := v.lookup("d")
	if got := names("d", d.sources); !slices.Equal(got, []string{"a"}) {
		t.Errorf("d = %v", got)
	}
}
