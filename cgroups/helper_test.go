package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The root tests run copies of the test binary itself as the processes
// they put in cgroups, so that the compiled test binary (go test -c) is all
// a VM needs: no shell, no busybox.
const helperEnv = "SKIFF_CGROUPS_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "spin":
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
		os.Exit(0)
	case "alloc":
		// Touch memory 1 MiB at a time until killed.
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
			time.Sleep(time.Millisecond)
		}
	case "open", "mknod", "spawn":
		// Wait until the test has put us in the cgroup, then try once and
		// report through the exit code: 0 done, 3 refused (EPERM/EAGAIN).
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(helperAct(os.Getenv(helperEnv), os.Getenv(helperEnv+"_PATH")))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// startHelper starts a helper process; the test kills and reaps it.
func startHelper(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("helper %d did not exit", cmd.Process.Pid)
		}
	})
	return cmd
}

// requireRoot skips tests that need to create real cgroups.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups; run the test binary as root")
	}
}

// testBase is the top cgroup every root test works under, unique to this
// process so parallel runs and leftovers of a crashed run never collide.
func testBase() string { return fmt.Sprintf("/skiff-test-%d", os.Getpid()) }

// newTestManager creates a manager at testBase()/name and registers
// cleanup of everything the test created in every hierarchy.
func newTestManager(t *testing.T, name string) *manager {
	t.Helper()
	requireRoot(t)
	cg := testBase() + "/" + name
	mgr, err := New(cg, "unused")
	if err != nil {
		t.Fatalf("New(%q): %v", cg, err)
	}
	m := mgr.(*manager)
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		for _, l := range m.leaves {
			base := filepath.Join(l.h.mountpoint, testBase())
			if err := removeWithRetry(base, 5*time.Second); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return m
}

// cpuTime returns utime+stime of pid in clock ticks.
func cpuTime(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	s := string(data)
	// Fields after the command name, which may contain spaces.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseUint(fields[11], 10, 64)
	st, _ := strconv.ParseUint(fields[12], 10, 64)
	return u + st
}

// hostKind describes the host for test logs: which drivers a test run
// exercised.
func hostKind(m *manager) string {
	switch {
	case m.v2 != nil && len(m.v1) == 0:
		return "cgroup v2"
	case m.v2 != nil:
		return "hybrid (v1 + cgroup2 with " + strings.Join(m.v2.h.controllers, ",") + ")"
	default:
		return "cgroup v1"
	}
}

func helperAct(mode, path string) int {
	var err error
	switch mode {
	case "open":
		var f *os.File
		if f, err = os.OpenFile(path, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	case "mknod":
		err = unix.Mknod(path, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
	case "spawn":
		c := exec.Command("/proc/self/exe")
		c.Env = append(os.Environ(), helperEnv+"=sleep")
		if err = c.Start(); err == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EAGAIN):
		return 3
	default:
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
}

// tryInCgroup starts a helper that does one thing (open, mknod or spawn
// on path) only after Apply has put it in m's cgroup, and returns its exit
// code.
func tryInCgroup(t *testing.T, apply func(pid int) error, mode, path string) int {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	if err := apply(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("Apply: %v", err)
	}
	_, _ = stdin.Write([]byte("go\n"))
	_ = stdin.Close()
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == 4 || (err != nil && code < 0) {
		t.Fatalf("helper %s %s: %v: %s", mode, path, err, stderr.String())
	}
	if code == 2 && strings.Contains(stderr.String(), "failed to create new OS thread") {
		return 3 // the Go runtime of the helper hit the pids limit first
	}
	if code != 0 && code != 3 {
		t.Logf("helper %s %s: exit %d, stderr: %s", mode, path, code, stderr.String())
	}
	return code
}
