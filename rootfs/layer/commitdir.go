package layer

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// commitDir copies the merged view of the directories roots (topmost
// first) to the new directory dest.
func commitDir(roots []string, dest string) (err error) {
	v := view{layers: make([]tree, len(roots))}
	for i, r := range roots {
		v.layers[i] = dirTree{root: r}
	}
	root, ok, err := v.rootEntry()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("nothing to commit: no layer has a root directory")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), tempPattern(dest))
	if err != nil {
		return fmt.Errorf("create commit directory beside %q: %w", dest, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	c := treeCopier{v: v, roots: roots, links: map[inode]string{}}
	if err := c.dir("", root, tmp); err != nil {
		return err
	}
	// One syncfs instead of an fsync per file: the rename below must not
	// reach the disk before the content does.
	if err := syncFS(tmp); err != nil {
		return err
	}
	return publish(tmp, dest)
}

func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync %q: %w", dir, err)
	}
	return nil
}

// treeCopier copies a merged view, entry by entry, from whichever layer
// each entry comes from.
type treeCopier struct {
	v     view
	roots []string
	links map[inode]string // source file -> its first copy, to keep hardlinks
}

func (c *treeCopier) source(e entry, rel string) string {
	return filepath.Join(c.roots[e.layer], filepath.FromSlash(rel))
}

// dir fills the existing directory dst with the merged directory rel, then
// gives dst the attributes of rel's winning entry. The attributes come
// last: the mtime must survive the children being created, and a
// read-only mode must not stop them.
func (c *treeCopier) dir(rel string, e entry, dst string) error {
	kids, err := c.v.readDir(rel, e.sources)
	if err != nil {
		return err
	}
	for _, k := range kids {
		krel := joinRel(rel, k.Name)
		src := c.source(k, krel)
		kdst := filepath.Join(dst, k.Name)
		done, err := copyNode(src, kdst, c.links)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if k.Mode.IsDir() {
			if err := c.dir(krel, k, kdst); err != nil {
				return err
			}
			continue
		}
		if err := copyAttrs(src, kdst); err != nil {
			return err
		}
	}
	return copyAttrs(c.source(e, rel), dst)
}
