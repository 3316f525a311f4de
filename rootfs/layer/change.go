package layer

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Kind says how a path differs between the lowers and the container's view.
type Kind string

const (
	// Added: the path did not exist in the lowers.
	Added Kind = "added"
	// Changed: the path existed in the lowers and the container sees
	// something else there (new content, metadata or type).
	Changed Kind = "changed"
	// Deleted: the path existed in the lowers and the container does not
	// see it any more.
	Deleted Kind = "deleted"
)

// Letter is the one-letter form `skiff diff` prints: A, C or D.
func (k Kind) Letter() string {
	switch k {
	case Added:
		return "A"
	case Changed:
		return "C"
	case Deleted:
		return "D"
	}
	return "?"
}

// Change is one path the container changed. Path is absolute as the
// container sees it ("/etc/hosts").
type Change struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
}

// String is the `skiff diff` line: "A /path".
func (c Change) String() string { return c.Kind.Letter() + " " + c.Path }

// Diff lists what the overlay upper directory upper changes over lowers
// (topmost first), sorted by path. The rules, chosen so the list says what
// the container sees rather than how overlay stores it:
//
//   - An upper entry whose path exists in the lowers is Changed, otherwise
//     Added; a copied-up file is Changed even if its bytes are the same.
//   - A directory the container only wrote into is copied up by overlay; it
//     is reported Changed only when its mode, owner or xattrs differ from
//     the lower directory (its mtime always changes when a child does, so
//     mtime alone is not a change).
//   - A whiteout whose path exists in the lowers is Deleted; one that hides
//     nothing is not reported. A deleted directory is reported once, not
//     with each of its descendants.
//   - An opaque directory (or any upper directory that hides the lowers: a
//     directory over a lower file, or one inside an opaque directory) that
//     replaces a lower directory is Changed, and each name the lowers have
//     directly inside it that the upper does not is Deleted, once, without
//     its descendants. Names the upper does have there are Changed.
//   - The root directory itself is never reported: its attributes belong
//     to the layer, not to the image.
func Diff(upper string, lowers []string) ([]Change, error) {
	up, lows, err := openTrees(upper, lowers)
	if err != nil {
		return nil, err
	}
	return diffTrees(up, lows)
}

func diffTrees(upper tree, lowers []tree) ([]Change, error) {
	var out []Change
	err := walkChanges(upper, lowers, func(ev event) error {
		switch ev.what {
		case evEntry:
			if ev.change != "" {
				out = append(out, Change{Kind: ev.change, Path: "/" + ev.rel})
			}
		case evDeleted:
			out = append(out, Change{Kind: Deleted, Path: "/" + ev.rel})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return slices.Compact(out), nil
}

// openTrees checks that upper and every lower is a directory.
func openTrees(upper string, lowers []string) (tree, []tree, error) {
	if err := mustBeDir(upper, "upper directory"); err != nil {
		return nil, nil, err
	}
	if len(lowers) == 0 {
		return nil, nil, fmt.Errorf("no lower directories given")
	}
	lows := make([]tree, len(lowers))
	for i, l := range lowers {
		if err := mustBeDir(l, "lower directory"); err != nil {
			return nil, nil, err
		}
		lows[i] = dirTree{root: l}
	}
	return dirTree{root: upper}, lows, nil
}

func mustBeDir(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %q is not a directory", what, path)
	}
	return nil
}
