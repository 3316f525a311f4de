package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// destroyTimeout bounds how long Destroy waits for the kernel to release a
// cgroup: exiting processes keep it busy until they are reaped, which is
// usually milliseconds.
const destroyTimeout = 5 * time.Second

func (m *manager) Destroy() error {
	var errs []error
	for _, l := range m.leaves {
		if err := removeWithRetry(l.dir, destroyTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeWithRetry removes dir and every cgroup below it, retrying with
// backoff while the kernel reports one busy (EBUSY: processes not yet gone).
func removeWithRetry(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		err := removeTree(dir)
		if err == nil || !errors.Is(err, unix.EBUSY) {
			return err
		}
		if time.Now().After(deadline) {
			pids, _ := readPids(dir)
			return fmt.Errorf("remove cgroup %s: still busy after %s (pids in it: %v): %w", dir, timeout, pids, err)
		}
		time.Sleep(delay)
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// removeTree removes the cgroup dir and its descendants, deepest first.
// cgroupfs directories hold only kernel files, which rmdir takes with them;
// os.RemoveAll would try to unlink those files first and fail.
func removeTree(dir string) error {
	// The common case, a leaf without child cgroups, is one rmdir.
	switch err := unix.Rmdir(dir); {
	case err == nil || errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove cgroup %s: %w", dir, unwrapPathError(err))
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}
