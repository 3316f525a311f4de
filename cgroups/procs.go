package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func (m *manager) Pids() ([]int, error) {
	return readPids(m.primary().dir)
}

// readPids lists the processes of dir and of every cgroup below it.
func readPids(dir string) ([]int, error) {
	seen := map[int]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path != dir {
				return nil // a child cgroup removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		s, err := readFile(path, "cgroup.procs")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path != dir {
				return nil
			}
			return err
		}
		for _, f := range strings.Fields(s) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("read %s: bad pid %q", filepath.Join(path, "cgroup.procs"), f)
			}
			seen[pid] = true
		}
		return nil
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("list pids of cgroup %s: %w", dir, os.ErrNotExist)
		}
		return nil, fmt.Errorf("list pids: %w", err)
	}
	pids := make([]int, 0, len(seen))
	for p := range seen {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	return pids, nil
}

func (m *manager) Kill(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("kill: %v is not a Unix signal", sig)
	}
	if _, err := os.Stat(m.primary().dir); errors.Is(err, os.ErrNotExist) {
		return nil // the container is gone: nothing left to signal
	}
	fl, v2, ferr := m.freezer()
	// cgroup.kill (Linux 5.14+) kills the whole subtree atomically,
	// frozen or not, so nothing can fork away.
	if s == unix.SIGKILL && ferr == nil && v2 && exists(fl.dir, "cgroup.kill") {
		if err := writeFile(fl.dir, "cgroup.kill", "1"); err != nil {
			return err
		}
		// A paused container that is killed is no longer paused.
		if frozen, err := m.Frozen(); err != nil || !frozen {
			return err
		}
		return m.Thaw()
	}
	if ferr != nil {
		// No freezer: signal what is there; a fork racing the loop may
		// escape, which is the best this host allows.
		return signalAll(m, s)
	}
	wasFrozen, err := m.Frozen()
	if err != nil {
		return err
	}
	if !wasFrozen {
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("kill: %w", err)
		}
	}
	sigErr := signalAll(m, s)
	// A frozen task cannot act on a signal; SIGKILL must thaw so that the
	// processes die, even when the container was paused. Other signals
	// leave a paused container paused: they are delivered on resume.
	var thawErr error
	if !wasFrozen || s == unix.SIGKILL {
		thawErr = m.Thaw()
	}
	return errors.Join(sigErr, thawErr)
}

func signalAll(m *manager, s syscall.Signal) error {
	pids, err := m.Pids()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("kill: %w", err)
	}
	var errs []error
	for _, pid := range pids {
		if err := unix.Kill(pid, s); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill pid %d with %v: %w", pid, s, err))
		}
	}
	return errors.Join(errs...)
}
