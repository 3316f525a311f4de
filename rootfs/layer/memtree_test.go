package layer

import (
	"io/fs"
	"slices"
	"strings"
)

// memTree is an in-memory tree for testing the merge and diff rules
// without root: rel path -> entry. The root directory is implicit. An
// xattr of rel is stored under the key rel+"\x00"+name, its value in the
// node's Name (see mxattr), so xattrs need no second map.
type memTree map[string]node

func (m memTree) lookup(rel string) (node, bool, error) {
	if rel == "" {
		return node{Mode: fs.ModeDir | 0o755}, true, nil
	}
	dir, name := splitRel(rel)
	if dir != "" {
		p, ok, _ := m.lookup(dir)
		if !ok || !p.isDir() {
			return node{}, false, nil
		}
	}
	n, ok := m[rel]
	n.Name = name
	return n, ok, nil
}

func (m memTree) readDir(rel string) ([]node, error) {
	var out []node
	for p := range m {
		if strings.Contains(p, "\x00") {
			continue
		}
		if d, _ := splitRel(p); d == rel {
			n, _, _ := m.lookup(p)
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m memTree) xattrs(rel string) ([]xattr, error) {
	var out []xattr
	for p, n := range m {
		if r, name, ok := strings.Cut(p, "\x00"); ok && r == rel {
			out = append(out, xattr{Name: name, Value: []byte(n.Name)})
		}
	}
	slices.SortFunc(out, func(a, b xattr) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func mdir() node           { return node{Mode: fs.ModeDir | 0o755} }
func mopq() node           { return node{Mode: fs.ModeDir | 0o755, Opaque: true} }
func mfile() node          { return node{Mode: 0o644} }
func mlink() node          { return node{Mode: fs.ModeSymlink | 0o777} }
func mwh() node            { return node{Mode: fs.ModeCharDevice | fs.ModeDevice, Whiteout: true} }
func mxattr(v string) node { return node{Name: v} }
