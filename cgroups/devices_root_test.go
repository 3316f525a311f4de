package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceNodes makes a node for an allowed device (null, 1:3) and for one no
// rule allows (1:11, kmsg: harmless to open) in a temporary directory.
func deviceNodes(t *testing.T) (allowed, denied, mknodPath string) {
	t.Helper()
	dir := t.TempDir()
	allowed, denied = filepath.Join(dir, "null"), filepath.Join(dir, "kmsg")
	if err := unix.Mknod(allowed, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("cannot make device nodes here (reasoned skip): %v", err)
	}
	if err := unix.Mknod(denied, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 11))); err != nil {
		t.Fatal(err)
	}
	return allowed, denied, filepath.Join(dir, "new-null")
}

// checkDeviceRules runs helpers in the cgroup: the default device opens and
// can be made, the other cannot be opened; then an explicit allow rule
// opens it.
func checkDeviceRules(t *testing.T, m *manager, set func([]specs.LinuxDeviceCgroup) error) {
	allowed, denied, newNode := deviceNodes(t)
	if err := set([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}); err != nil {
		t.Fatalf("set deny-all: %v", err)
	}
	if code := tryInCgroup(t, m.Apply, "open", allowed); code != 0 {
		t.Errorf("open of a default device (null) under deny-all: exit %d, want 0", code)
	}
	if code := tryInCgroup(t, m.Apply, "mknod", newNode); code != 0 {
		t.Errorf("mknod of a default device under deny-all: exit %d, want 0", code)
	}
	if code := tryInCgroup(t, m.Apply, "open", denied); code != 3 {
		t.Errorf("open of a denied device: exit %d, want 3 (EPERM)", code)
	}
	_ = os.Remove(newNode)
	if err := set([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rw"},
	}); err != nil {
		t.Fatalf("set allow kmsg: %v", err)
	}
	if code := tryInCgroup(t, m.Apply, "open", denied); code != 0 {
		t.Errorf("open of an allowed device: exit %d, want 0", code)
	}
	if code := tryInCgroup(t, m.Apply, "mknod", filepath.Join(filepath.Dir(denied), "kmsg2")); code != 0 {
		// mknod of 1:3 is allowed by default; this is a second check the
		// helper keeps working after a rule change.
		t.Errorf("mknod after update: exit %d", code)
	}
}

// TestDevicesRoot drives devices the way the host does: v1 devices files
// when the host mounts the devices controller, the eBPF filter otherwise.
func TestDevicesRoot(t *testing.T) {
	m := newTestManager(t, "devices")
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	if l, ok := m.v1["devices"]; ok {
		t.Log("driver: v1 devices.allow/deny")
		checkDeviceRules(t, m, func(d []specs.LinuxDeviceCgroup) error {
			return m.Set(&specs.LinuxResources{Devices: d})
		})
		expectFile(t, l.dir, "devices.list", "c 1:11 rw")
		return
	}
	t.Log("driver: cgroup v2 eBPF filter")
	checkDeviceRules(t, m, func(d []specs.LinuxDeviceCgroup) error {
		return m.Set(&specs.LinuxResources{Devices: d})
	})
}

// TestDevicesEBPFRoot tests the eBPF filter on any host with a cgroup2
// mount, also a hybrid one where Set uses v1 files: cgroup2 device
// programs are enforced whatever v1 does.
func TestDevicesEBPFRoot(t *testing.T) {
	m := newTestManager(t, "ebpf")
	if m.v2 == nil {
		t.Skip("no cgroup2 mount: the eBPF driver cannot run here (reasoned skip)")
	}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	checkDeviceRules(t, m, func(d []specs.LinuxDeviceCgroup) error {
		rules, err := deviceRules(d)
		if err != nil {
			return err
		}
		return setDevicesV2(m.v2.dir, rules)
	})
	// Updates replace the program instead of stacking them.
	cg, err := os.Open(m.v2.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	n := attachedDevicePrograms(t, int(cg.Fd()))
	if n != 1 {
		t.Errorf("%d device programs attached after two updates, want 1", n)
	}
}
