package layer

import "slices"

// eventKind is what walkChanges found at one path.
type eventKind int

const (
	// evEntry: an upper entry that is not a whiteout.
	evEntry eventKind = iota
	// evOpaque: the directory at rel replaces a lower directory wholesale;
	// a tar layer needs an opaque marker in it.
	evOpaque
	// evDeleted: rel existed in the lowers and the container no longer
	// sees it.
	evDeleted
)

type event struct {
	what eventKind
	rel  string
	// node is the upper entry (evEntry only).
	node node
	// change is Added, Changed, or "" for a directory that overlay copied
	// up only because something inside it changed (evEntry only).
	change Kind
	// covered is set on an evDeleted that an ancestor's opaque marker
	// already accounts for, so a tar layer needs no whiteout for it.
	covered bool
}

// walkChanges walks upper in a fixed order and reports each change over
// lowers to fn. Within a directory it reports the directory itself, then
// its opaque marker, then its deleted children, then its other children
// (each subtree in turn), every group sorted by name: the order OCI layers
// want, whiteouts before the entries beside them. The root itself is not
// reported.
func walkChanges(upper tree, lowers []tree, fn func(event) error) error {
	w := changeWalker{upper: upper, lower: view{layers: lowers}, fn: fn}
	root, ok, err := w.lower.rootEntry()
	if err != nil {
		return err
	}
	return w.dir("", root, ok, false)
}

type changeWalker struct {
	upper tree
	lower view
	fn    func(event) error
}

// dir walks the upper directory rel. low/lowOK is what the lowers have at
// rel; hiding is set when rel hides the lowers' content below it.
func (w *changeWalker) dir(rel string, low entry, lowOK, hiding bool) error {
	kids, err := w.upper.readDir(rel)
	if err != nil {
		return err
	}
	lowIsDir := lowOK && low.Mode.IsDir()

	if err := w.deletions(rel, kids, low, lowIsDir, hiding); err != nil {
		return err
	}
	for _, k := range kids {
		if k.Whiteout {
			continue
		}
		krel := joinRel(rel, k.Name)
		var kl entry
		var klOK bool
		if lowIsDir {
			if kl, klOK, err = w.lower.child(low.sources, krel); err != nil {
				return err
			}
		}
		change, err := w.classify(krel, k, kl, klOK, hiding)
		if err != nil {
			return err
		}
		if err := w.fn(event{what: evEntry, rel: krel, node: k, change: change}); err != nil {
			return err
		}
		if !k.isDir() {
			continue
		}
		replacesDir := klOK && kl.Mode.IsDir()
		if k.Opaque && replacesDir && !hiding {
			if err := w.fn(event{what: evOpaque, rel: krel}); err != nil {
				return err
			}
		}
		kidHiding := hiding || k.Opaque || (klOK && !replacesDir)
		if err := w.dir(krel, kl, klOK, kidHiding); err != nil {
			return err
		}
	}
	return nil
}

// deletions reports the names the lowers have in rel that the container no
// longer sees: explicit whiteouts, and, where rel hides the lowers, every
// lower name the upper does not have.
func (w *changeWalker) deletions(rel string, kids []node, low entry, lowIsDir, hiding bool) error {
	if !lowIsDir {
		return nil
	}
	var names []string
	if hiding {
		present := map[string]bool{}
		for _, k := range kids {
			if !k.Whiteout {
				present[k.Name] = true
			}
		}
		lowKids, err := w.lower.readDir(rel, low.sources)
		if err != nil {
			return err
		}
		for _, lk := range lowKids {
			if !present[lk.Name] {
				names = append(names, lk.Name)
			}
		}
	} else {
		for _, k := range kids {
			if !k.Whiteout {
				continue
			}
			_, ok, err := w.lower.child(low.sources, joinRel(rel, k.Name))
			if err != nil {
				return err
			}
			if ok {
				names = append(names, k.Name)
			}
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if err := w.fn(event{what: evDeleted, rel: joinRel(rel, name), covered: hiding}); err != nil {
			return err
		}
	}
	return nil
}

// classify decides whether the upper entry k at rel is Added, Changed, or
// (for a directory overlay merely copied up) no change.
func (w *changeWalker) classify(rel string, k node, low entry, lowOK, hiding bool) (Kind, error) {
	if !lowOK {
		return Added, nil
	}
	if !k.isDir() || !low.Mode.IsDir() || k.Opaque || hiding {
		return Changed, nil
	}
	same, err := w.sameDirMeta(rel, k, low)
	if err != nil || same {
		return "", err
	}
	return Changed, nil
}

// sameDirMeta compares what a container can change on a directory without
// touching its children: mode, owner and xattrs.
func (w *changeWalker) sameDirMeta(rel string, up node, low entry) (bool, error) {
	if up.Mode != low.Mode || up.UID != low.UID || up.GID != low.GID {
		return false, nil
	}
	ux, err := w.upper.xattrs(rel)
	if err != nil {
		return false, err
	}
	lx, err := w.lower.layers[low.layer].xattrs(rel)
	if err != nil {
		return false, err
	}
	return slices.EqualFunc(ux, lx, func(a, b xattr) bool {
		return a.Name == b.Name && string(a.Value) == string(b.Value)
	}), nil
}
