// Package selftest checks, from inside the VM that integration/vm/run.sh
// boots, that the VM is what the cgroup v2 tests expect: cgroup2 mounted at
// /sys/fs/cgroup with the controllers enabled, a group can be created,
// limited and joined, overlay works and / can be pivot_root'ed.
//
// Outside the VM (SKIFF_VM unset) every test skips: it must never touch the
// host's /sys/fs/cgroup.
package selftest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const cgroupRoot = "/sys/fs/cgroup"

func inVM(t *testing.T) {
	t.Helper()
	if os.Getenv("SKIFF_VM") != "1" {
		t.Skip("only runs inside the VM of integration/vm/run.sh (SKIFF_VM=1)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func write(t *testing.T, path, val string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(val), 0); err != nil {
		t.Fatalf("write %q to %s: %v", val, path, err)
	}
}

func TestCgroup2Mounted(t *testing.T) {
	inVM(t)
	var st syscall.Statfs_t
	if err := syscall.Statfs(cgroupRoot, &st); err != nil {
		t.Fatal(err)
	}
	const cgroup2Magic = 0x63677270
	if st.Type != cgroup2Magic {
		t.Fatalf("%s has fs magic %#x, want cgroup2 %#x", cgroupRoot, st.Type, cgroup2Magic)
	}
}

func TestControllersEnabled(t *testing.T) {
	inVM(t)
	avail := strings.Fields(read(t, filepath.Join(cgroupRoot, "cgroup.controllers")))
	enabled := strings.Fields(read(t, filepath.Join(cgroupRoot, "cgroup.subtree_control")))
	t.Logf("controllers: %v; enabled for children: %v", avail, enabled)
	has := func(list []string, c string) bool {
		for _, x := range list {
			if x == c {
				return true
			}
		}
		return false
	}
	for _, c := range []string{"cpu", "io", "memory", "pids", "cpuset", "hugetlb", "rdma", "misc"} {
		if !has(avail, c) {
			t.Errorf("controller %s not available", c)
		}
		if !has(enabled, c) {
			t.Errorf("controller %s not enabled in cgroup.subtree_control", c)
		}
	}
}

func TestGroupLimitAndJoin(t *testing.T) {
	inVM(t)
	dir := filepath.Join(cgroupRoot, fmt.Sprintf("skiff-selftest-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Move back to the root, then remove the group.
		_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
		if err := os.Remove(dir); err != nil {
			t.Errorf("rmdir %s: %v", dir, err)
		}
	})

	for file, val := range map[string]string{
		"memory.max":  "67108864",
		"pids.max":    "100",
		"cpu.max":     "50000 100000",
		"cpu.weight":  "42",
		"cpuset.cpus": "0",
		"io.weight":   "default 200",
	} {
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		write(t, filepath.Join(dir, file), val)
		if got := read(t, filepath.Join(dir, file)); got != val {
			t.Errorf("%s: wrote %q, read back %q", file, val, got)
		}
	}

	write(t, filepath.Join(dir, "cgroup.procs"), strconv.Itoa(os.Getpid()))
	want := "0::/" + filepath.Base(dir)
	if got := read(t, "/proc/self/cgroup"); got != want {
		t.Fatalf("/proc/self/cgroup = %q, want %q", got, want)
	}
	procs := read(t, filepath.Join(dir, "cgroup.procs"))
	if !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(os.Getpid())+"\n") {
		t.Fatalf("cgroup.procs = %q does not list %d", procs, os.Getpid())
	}
	if cur := read(t, filepath.Join(dir, "memory.current")); cur == "0" {
		t.Errorf("memory.current is 0 after joining")
	}
}

func TestOverlay(t *testing.T) {
	inVM(t)
	if !strings.Contains(read(t, "/proc/filesystems"), "\toverlay") {
		t.Fatal("overlay not in /proc/filesystems (module not loaded?)")
	}
	base := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "lower", "a"), []byte("lower"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", base, base, base)
	merged := filepath.Join(base, "merged")
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	defer syscall.Unmount(merged, 0)
	if got := read(t, filepath.Join(merged, "a")); got != "lower" {
		t.Fatalf("merged/a = %q", got)
	}
	if err := os.WriteFile(filepath.Join(merged, "a"), []byte("upper"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(base, "upper", "a")); got != "upper" {
		t.Fatalf("upper/a = %q after copy-up", got)
	}
}

// TestPivotRoot checks the point of the switch_root in the VM's init: a new
// mount namespace can pivot_root into a directory, as runtimes do.
func TestPivotRoot(t *testing.T) {
	inVM(t)
	newRoot := t.TempDir()
	if err := os.Mkdir(filepath.Join(newRoot, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newRoot, "marker"), []byte("new root"), 0o644); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread gets its own mount namespace and is thrown away
		// afterwards (no UnlockOSThread).
		runtime.LockOSThread()
		errc <- func() error {
			if err := syscall.Unshare(syscall.CLONE_NEWNS | syscall.CLONE_FS); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make / rprivate: %w", err)
			}
			if err := syscall.Mount(newRoot, newRoot, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
				return fmt.Errorf("bind: %w", err)
			}
			if err := syscall.PivotRoot(newRoot, filepath.Join(newRoot, "old")); err != nil {
				return fmt.Errorf("pivot_root: %w", err)
			}
			if err := syscall.Chdir("/"); err != nil {
				return err
			}
			b, err := os.ReadFile("/marker")
			if err != nil || string(b) != "new root" {
				return fmt.Errorf("after pivot_root /marker = %q, %v", b, err)
			}
			return syscall.Unmount("/old", syscall.MNT_DETACH)
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
