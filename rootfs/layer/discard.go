package layer

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/skiff-runtime/skiff/rootfs/mountinfo"
)

// Discard removes the layer directory and everything in it. It removes
// only <dataRoot>/<id> itself, never a symlink's target, and refuses while
// anything is mounted on or under it in this mount namespace. A layer that
// is already gone is not an error, so `delete --force` can retry.
func (l *Layer) Discard() error {
	// The mount check and the removal must see the same mount namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	root, dir, err := layerDir(l.dataRoot, l.id)
	if err != nil {
		return err
	}
	if dir != l.dir || filepath.Dir(dir) != root {
		return fmt.Errorf("refusing to remove %q: it is not the layer directory %q", l.dir, dir)
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove writable layer %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("refusing to remove %q: it is not a directory", dir)
	}
	mounted, err := mountedUnder(dir)
	if err != nil {
		return err
	}
	if mounted != "" {
		return fmt.Errorf("refusing to remove writable layer %q: %q is still mounted", dir, mounted)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove writable layer %q: %w", dir, err)
	}
	return nil
}

// mountedUnder returns a mount point at or below dir in the calling
// thread's mount namespace (which a caller on a locked thread may have
// changed), or "".
func mountedUnder(dir string) (string, error) {
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := mountinfo.Unescape(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			return mp, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	return "", nil
}
