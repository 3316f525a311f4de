package layer

import (
	"slices"
	"strings"
	"testing"
)

// modelPaths is the universe of paths the fuzzer's trees are drawn from.
var modelPaths = func() []string {
	var out []string
	var add func(prefix string, depth int)
	add = func(prefix string, depth int) {
		if depth == 0 {
			return
		}
		for _, n := range []string{"a", "b"} {
			p := joinRel(prefix, n)
			out = append(out, p)
			add(p, depth-1)
		}
	}
	add("", 3)
	return out
}()

// modelTree decodes one layer from data: a byte per path says what is
// there.
func modelTree(data []byte) memTree {
	m := memTree{}
	for i, p := range modelPaths {
		var b byte
		if i < len(data) {
			b = data[i]
		}
		switch b % 7 {
		case 1:
			m[p] = mfile()
		case 2:
			m[p] = mdir()
		case 3:
			m[p] = mopq()
		case 4:
			m[p] = mwh()
		case 5:
			m[p] = mlink()
		case 6:
			n := mdir()
			n.Mode = n.Mode&^0o777 | 0o700
			m[p] = n
		}
	}
	return m
}

// viewPaths lists every path of a merged view, with whether it is a
// directory.
func viewPaths(t *testing.T, v view) map[string]bool {
	out := map[string]bool{}
	root, ok, err := v.rootEntry()
	if err != nil || !ok {
		t.Fatalf("view root: %v %v", ok, err)
	}
	var walk func(rel string, e entry)
	walk = func(rel string, e entry) {
		kids, err := v.readDir(rel, e.sources)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			p := joinRel(rel, k.Name)
			out[p] = k.Mode.IsDir()
			if k.Mode.IsDir() {
				walk(p, k)
			}
		}
	}
	walk("", root)
	return out
}

func removeTree(state map[string]bool, p string, self bool) {
	for q := range state {
		if (self && q == p) || strings.HasPrefix(q, p+"/") {
			delete(state, q)
		}
	}
}

// FuzzDiffModel checks Diff and the tar layer's events against the merged
// views of random layer stacks: every reported change is true, every
// difference is reported, and applying the layer events the way an OCI
// extractor does turns the lowers' view into the container's.
func FuzzDiffModel(f *testing.F) {
	n := len(modelPaths)
	f.Add(make([]byte, 3*n))
	seed := make([]byte, 3*n)
	for i := range seed {
		seed[i] = byte(i * 5 % 7)
	}
	f.Add(seed)
	f.Add([]byte{3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 2, 1, 1})
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		chunk := func(i int) []byte {
			if len(data) <= i*n {
				return nil
			}
			return data[i*n : min(len(data), (i+1)*n)]
		}
		upper := modelTree(chunk(0))
		lowers := []tree{modelTree(chunk(1))}
		if len(data) > 2*n {
			lowers = append(lowers, modelTree(chunk(2)))
		}
		before := viewPaths(t, view{layers: lowers})
		after := viewPaths(t, view{layers: append([]tree{upper}, lowers...)})

		changes, err := diffTrees(upper, lowers)
		if err != nil {
			t.Fatal(err)
		}
		reported := map[string]Kind{}
		for i, c := range changes {
			if i > 0 && changes[i-1].Path >= c.Path {
				t.Fatalf("changes not sorted and unique: %v", changes)
			}
			p := strings.TrimPrefix(c.Path, "/")
			reported[p] = c.Kind
			_, inBefore := before[p]
			_, inAfter := after[p]
			ok := map[Kind]bool{Added: !inBefore && inAfter, Changed: inBefore && inAfter, Deleted: inBefore && !inAfter}[c.Kind]
			if !ok {
				t.Errorf("%v is wrong: in lowers %v, in container %v", c, inBefore, inAfter)
			}
		}
		for p := range after {
			if _, was := before[p]; !was && reported[p] != Added {
				t.Errorf("/%s appeared but is not reported added", p)
			}
		}
		for p := range before {
			if _, is := after[p]; is {
				continue
			}
			covered := false
			for q := p; q != ""; q, _ = splitRel(q) {
				if k := reported[q]; k == Deleted || k == Changed {
					covered = true
					break
				}
			}
			if !covered {
				t.Errorf("/%s disappeared without a deletion or replacement reported on it or above it", p)
			}
		}

		// Apply the layer the way an OCI extractor does.
		state := map[string]bool{}
		for p, d := range before {
			state[p] = d
		}
		err = walkChanges(upper, lowers, func(ev event) error {
			switch ev.what {
			case evEntry:
				isDir := ev.node.Mode.IsDir()
				if was, ok := state[ev.rel]; ok && !(was && isDir) {
					removeTree(state, ev.rel, true)
				}
				state[ev.rel] = isDir
			case evOpaque:
				removeTree(state, ev.rel, false)
			case evDeleted:
				if !ev.covered {
					removeTree(state, ev.rel, true)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(state, after) {
			t.Errorf("applying the layer gives\n%v\nthe container saw\n%v", sortedKeys(state), sortedKeys(after))
		}
	})
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k, d := range m {
		if d {
			k += "/"
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
