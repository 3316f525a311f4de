package layer

import (
	"slices"
	"strings"
)

// candidate is the entry one name has in one layer.
type candidate struct {
	node
	layer int
}

// mergeName applies overlay's lookup rule to the entries one name has in
// the layers that contribute to its parent directory, topmost first. The
// topmost entry wins unless it is a whiteout. When the winner is a
// directory, the lower layers keep contributing to it (their directories of
// the same name are merged into it) until one of them has a whiteout or a
// non-directory there, or a directory that is itself opaque, which is the
// last one merged. sources lists the contributing layers, topmost first;
// it is empty unless the winner is a directory.
func mergeName(cands []candidate) (winner candidate, sources []int, ok bool) {
	if len(cands) == 0 {
		return candidate{}, nil, false
	}
	for i, c := range cands {
		if c.Whiteout {
			if i == 0 {
				return candidate{}, nil, false
			}
			break
		}
		if i == 0 {
			winner = c
		}
		if !winner.Mode.IsDir() || !c.Mode.IsDir() {
			break
		}
		sources = append(sources, c.layer)
		if c.Opaque {
			break
		}
	}
	return winner, sources, true
}

// view is the merged tree overlay shows for a stack of layers, topmost
// first, with index, redirect_dir and metacopy off.
type view struct{ layers []tree }

// entry is one name in a merged directory: the winning candidate and, for
// a directory, the layers merged into it.
type entry struct {
	candidate
	sources []int
}

// rootEntry is the view's root directory, which comes from the topmost
// layer and merges all of them.
func (v view) rootEntry() (entry, bool, error) {
	var e entry
	for i, t := range v.layers {
		n, ok, err := t.lookup("")
		if err != nil {
			return entry{}, false, err
		}
		if !ok || !n.Mode.IsDir() {
			continue
		}
		if len(e.sources) == 0 {
			e.candidate = candidate{node: n, layer: i}
		}
		e.sources = append(e.sources, i)
	}
	return e, len(e.sources) > 0, nil
}

// lookup resolves rel in the merged view.
func (v view) lookup(rel string) (entry, bool, error) {
	e, ok, err := v.rootEntry()
	if err != nil || !ok || rel == "" {
		return e, ok, err
	}
	prefix := ""
	for _, name := range strings.Split(rel, "/") {
		if !e.Mode.IsDir() {
			return entry{}, false, nil
		}
		prefix = joinRel(prefix, name)
		e, ok, err = v.child(e.sources, prefix)
		if err != nil || !ok {
			return entry{}, false, err
		}
	}
	return e, true, nil
}

// child resolves the entry rel among the layers sources that contribute to
// its parent directory.
func (v view) child(sources []int, rel string) (entry, bool, error) {
	var cands []candidate
	for _, li := range sources {
		n, ok, err := v.layers[li].lookup(rel)
		if err != nil {
			return entry{}, false, err
		}
		if ok {
			cands = append(cands, candidate{node: n, layer: li})
		}
	}
	w, src, ok := mergeName(cands)
	return entry{candidate: w, sources: src}, ok, nil
}

// readDir lists the merged directory rel whose contributing layers are
// sources, sorted by name.
func (v view) readDir(rel string, sources []int) ([]entry, error) {
	byName := map[string][]candidate{}
	var names []string
	for _, li := range sources {
		nodes, err := v.layers[li].readDir(rel)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if _, seen := byName[n.Name]; !seen {
				names = append(names, n.Name)
			}
			byName[n.Name] = append(byName[n.Name], candidate{node: n, layer: li})
		}
	}
	slices.Sort(names)
	out := make([]entry, 0, len(names))
	for _, name := range names {
		if w, src, ok := mergeName(byName[name]); ok {
			out = append(out, entry{candidate: w, sources: src})
		}
	}
	return out, nil
}
