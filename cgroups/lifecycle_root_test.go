package cgroups

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestLifecycleRoot(t *testing.T) {
	m := newTestManager(t, "life")
	t.Logf("host: %s", hostKind(m))
	if err := m.Apply(-1); err != nil {
		t.Fatalf("Apply(-1): %v", err)
	}
	for _, l := range m.leaves {
		if _, err := os.Stat(l.dir); err != nil {
			t.Fatalf("leaf missing after Apply: %v", err)
		}
	}
	cmd := startHelper(t, "spin")
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatalf("Apply(%d): %v", pid, err)
	}
	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids = %v, %v; want %d in it", pids, err, pid)
	}
	// Every hierarchy must hold the process.
	for _, l := range m.leaves {
		s, err := readFile(l.dir, "cgroup.procs")
		if err != nil || s != strconv.Itoa(pid) {
			t.Errorf("%s/cgroup.procs = %q, %v", l.dir, s, err)
		}
	}

	// Load in "another process": from Paths alone.
	loaded, err := Load(m.Paths())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, _ := loaded.Pids(); !slices.Equal(got, pids) {
		t.Errorf("loaded Pids = %v, want %v", got, pids)
	}
	if len(loaded.Mounts()) != len(m.Mounts()) {
		t.Errorf("loaded Mounts %v != %v", loaded.Mounts(), m.Mounts())
	}

	// Freeze: CPU time stops.
	if err := loaded.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if f, err := loaded.Frozen(); err != nil || !f {
		t.Fatalf("Frozen = %v, %v after Freeze", f, err)
	}
	before := cpuTime(t, pid)
	time.Sleep(300 * time.Millisecond)
	if after := cpuTime(t, pid); after != before {
		t.Errorf("frozen process used CPU: %d -> %d ticks", before, after)
	}
	if err := loaded.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if f, err := loaded.Frozen(); err != nil || f {
		t.Fatalf("Frozen = %v, %v after Thaw", f, err)
	}
	before = cpuTime(t, pid)
	deadline := time.Now().Add(3 * time.Second)
	for cpuTime(t, pid) == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if cpuTime(t, pid) == before {
		t.Errorf("thawed process does not run")
	}

	// A signal that does not kill leaves it running; a paused container
	// that gets SIGKILL dies.
	if err := loaded.Kill(syscall.SIGCONT); err != nil {
		t.Fatalf("Kill(SIGCONT): %v", err)
	}
	if err := loaded.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if err := loaded.Kill(syscall.SIGKILL); err != nil {
		t.Fatalf("Kill(SIGKILL): %v", err)
	}
	waitEmpty(t, loaded)
	if f, _ := loaded.Frozen(); f {
		t.Errorf("still frozen after SIGKILL")
	}

	if err := loaded.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, l := range m.leaves {
		if _, err := os.Stat(l.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Destroy: %v", l.dir, err)
		}
	}
	// Kill and Destroy of a gone cgroup are no-ops.
	if err := loaded.Kill(syscall.SIGKILL); err != nil {
		t.Errorf("Kill after Destroy: %v", err)
	}
	if err := loaded.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func waitEmpty(t *testing.T, m Manager) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := m.Pids()
		if err == nil && len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cgroup not empty: %v, %v", pids, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
