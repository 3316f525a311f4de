//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsScript prints "<name> <link>" for every namespace link of the shell.
const nsScript = `for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done`

func parseNS(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k] = v
		}
	}
	return m
}

func hasTimeNS() bool {
	_, err := os.Readlink("/proc/self/ns/time")
	return err == nil
}

func TestNewNamespaces(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		if hasTimeNS() {
			setNamespace(s, specs.TimeNamespace, "")
		}
		shell(s, nsScript)
	})
	inside := parseNS(c.mustRun())
	kinds := []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"}
	if hasTimeNS() {
		kinds = append(kinds, "time")
	} else {
		t.Log("kernel has no time namespaces: not checked")
	}
	for _, k := range kinds {
		host := nsLink(t, "/proc/self/ns/"+k)
		if inside[k] == "" {
			t.Errorf("%s: container printed no namespace link", k)
		} else if inside[k] == host {
			t.Errorf("%s namespace is the host's (%s), want a new one", k, host)
		}
	}
	// No user namespace in the config: the host's.
	if host := nsLink(t, "/proc/self/ns/user"); inside["user"] != host {
		t.Errorf("user namespace %s, want the host's %s", inside["user"], host)
	}
}

func TestHostNamespacesWhenNotConfigured(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		removeNamespace(s, specs.NetworkNamespace)
		removeNamespace(s, specs.IPCNamespace)
		removeNamespace(s, specs.CgroupNamespace)
		shell(s, nsScript)
	})
	inside := parseNS(c.mustRun())
	for _, k := range []string{"net", "ipc", "cgroup"} {
		if host := nsLink(t, "/proc/self/ns/"+k); inside[k] != host {
			t.Errorf("%s: got %s, want the host's %s (not in the config)", k, inside[k], host)
		}
	}
}

func TestLoopbackUp(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		shell(s, `cat /sys/class/net/lo/flags; ls /sys/class/net`)
	})
	out := strings.Fields(c.mustRun())
	if len(out) < 2 {
		t.Fatalf("unexpected output %q", out)
	}
	flags, err := strconv.ParseUint(strings.TrimPrefix(out[0], "0x"), 16, 32)
	if err != nil {
		t.Fatalf("lo flags %q: %v", out[0], err)
	}
	if flags&syscall.IFF_UP == 0 {
		t.Errorf("loopback is down inside the container (flags %s)", out[0])
	}
	if strings.Join(out[1:], " ") != "lo" {
		t.Errorf("new network namespace should hold only lo, got %v", out[1:])
	}
}

func TestJoinNamespacesByPath(t *testing.T) {
	t.Parallel()
	setup(t)
	holder := nsHolder(t, syscall.CLONE_NEWNET|syscall.CLONE_NEWIPC|syscall.CLONE_NEWUTS, nil, nil)
	want := map[string]string{}
	for _, k := range []string{"net", "ipc", "uts"} {
		want[k] = nsLink(t, fmt.Sprintf("/proc/%d/ns/%s", holder, k))
	}
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		setNamespace(s, specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", holder))
		setNamespace(s, specs.IPCNamespace, fmt.Sprintf("/proc/%d/ns/ipc", holder))
		setNamespace(s, specs.UTSNamespace, fmt.Sprintf("/proc/%d/ns/uts", holder))
		shell(s, nsScript)
	})
	inside := parseNS(c.mustRun())
	for k, w := range want {
		if inside[k] != w {
			t.Errorf("%s: container is in %s, want the joined %s", k, inside[k], w)
		}
	}
	if inside["mnt"] == nsLink(t, "/proc/self/ns/mnt") {
		t.Errorf("mount namespace should still be new")
	}
}

func TestJoinNamespaceBindMountedByUnshare(t *testing.T) {
	t.Parallel()
	setup(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) on this host")
	}
	dir := tempDir(t)
	// A persistent namespace needs a private mount to live on.
	nsDir := filepath.Join(dir, "ns")
	os.Mkdir(nsDir, 0o755)
	if out, err := exec.Command("mount", "--bind", nsDir, nsDir).CombinedOutput(); err != nil {
		t.Skipf("bind mount for persistent namespaces: %v: %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(nsDir, syscall.MNT_DETACH) })
	exec.Command("mount", "--make-private", nsDir).Run()
	nsFile := filepath.Join(nsDir, "uts")
	writeFile(t, nsFile, "")
	if out, err := exec.Command("unshare", "--uts="+nsFile, "hostname", "from-unshare").CombinedOutput(); err != nil {
		t.Skipf("unshare --uts=FILE: %v: %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(nsFile, syscall.MNT_DETACH) })
	var st syscall.Stat_t
	if err := syscall.Stat(nsFile, &st); err != nil {
		t.Fatal(err)
	}
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Hostname = "" // a joined uts namespace keeps its name
		setNamespace(s, specs.UTSNamespace, nsFile)
		shell(s, `hostname; readlink /proc/self/ns/uts`)
	})
	out := c.mustRun()
	want := fmt.Sprintf("from-unshare\nuts:[%d]\n", st.Ino)
	if out != want {
		t.Errorf("joined uts namespace: got %q, want %q", out, want)
	}
}

func TestJoinUserNamespaceByPath(t *testing.T) {
	t.Parallel()
	forLayer(t, testJoinUserNamespaceByPath)
}

// forLayer runs f as two subtests: an engine-style bundle (no writable
// layer) and skiff spec's default (with it).
func forLayer(t *testing.T, f func(t *testing.T, layer bool)) {
	for _, layer := range []bool{false, true} {
		layer := layer
		name := "no-layer"
		if layer {
			name = "layer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if layer {
				requireUserXattrs(t)
			}
			f(t, layer)
		})
	}
}

func testJoinUserNamespaceByPath(t *testing.T, layer bool) {
	setup(t)
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	holder := nsHolder(t, syscall.CLONE_NEWUSER|syscall.CLONE_NEWNET, maps, maps)
	wantUser := nsLink(t, fmt.Sprintf("/proc/%d/ns/user", holder))
	wantNet := nsLink(t, fmt.Sprintf("/proc/%d/ns/net", holder))
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		if !layer {
			noLayer(s)
		}
		setNamespace(s, specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", holder))
		setNamespace(s, specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", holder))
		chownTree(t, c.rootfs, 100000, 100000)
		shell(s, nsScript+`; echo "==map=="; cat /proc/self/uid_map; echo "==dev=="; test -c /dev/null && echo null-ok; echo x > /dev/null && echo write-ok`)
	})
	out := c.mustRun()
	inside := parseNS(out)
	if inside["user"] != wantUser {
		t.Errorf("user: container is in %s, want the joined %s", inside["user"], wantUser)
	}
	if inside["net"] != wantNet {
		t.Errorf("net: container is in %s, want the joined %s", inside["net"], wantNet)
	}
	if f := strings.Fields(section(out, "map")); len(f) != 3 || f[0] != "0" || f[1] != "100000" || f[2] != "65536" {
		t.Errorf("uid_map inside: %q", section(out, "map"))
	}
	if dev := section(out, "dev"); !strings.Contains(dev, "null-ok") || !strings.Contains(dev, "write-ok") {
		t.Errorf("/dev/null in a joined user namespace: %q", dev)
	}
}

func TestUserNamespaceContainer(t *testing.T) {
	t.Parallel()
	forLayer(t, testUserNamespaceContainer)
}

func testUserNamespaceContainer(t *testing.T, layer bool) {
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		if !layer {
			noLayer(s)
		}
		setNamespace(s, specs.UserNamespace, "")
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		chownTree(t, c.rootfs, 100000, 100000)
		shell(s, `echo "==id=="; id -u; id -g; echo "==uidmap=="; cat /proc/self/uid_map; echo "==gidmap=="; cat /proc/self/gid_map; `+
			`echo "==user=="; readlink /proc/self/ns/user; echo "==dev=="; `+
			`for d in null zero full random urandom tty; do test -c /dev/$d && echo "$d char"; done; `+
			`head -c 5 /dev/zero | wc -c; echo hi > /dev/null && echo null-writable; head -c 4 /dev/urandom | wc -c`)
	})
	r := c.run()
	if r.Code != 0 {
		t.Fatalf("user-namespaced container: %s", r)
	}
	out := r.Stdout
	if got := strings.Fields(section(out, "id")); strings.Join(got, " ") != "0 0" {
		t.Errorf("id inside: %v, want 0 0", got)
	}
	for _, m := range []string{"uidmap", "gidmap"} {
		if f := strings.Fields(section(out, m)); strings.Join(f, " ") != "0 100000 65536" {
			t.Errorf("%s: %q", m, section(out, m))
		}
	}
	if u := strings.TrimSpace(section(out, "user")); u == nsLink(t, "/proc/self/ns/user") || u == "" {
		t.Errorf("user namespace %q is not new", u)
	}
	dev := section(out, "dev")
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if !strings.Contains(dev, d+" char\n") {
			t.Errorf("/dev/%s is not a character device inside the user namespace: %q", d, dev)
		}
	}
	if !strings.Contains(dev, "\n5\n") || !strings.Contains(dev, "null-writable") || !strings.HasSuffix(dev, "4\n") {
		t.Errorf("devices unusable inside the user namespace: %q", dev)
	}
}

func TestTimeNamespaceOffsets(t *testing.T) {
	t.Parallel()
	if !hasTimeNS() {
		t.Skip("kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	const boot, mono = 1000000, 2000000
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		setNamespace(s, specs.TimeNamespace, "")
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"boottime":  {Secs: boot},
			"monotonic": {Secs: mono, Nanosecs: 0},
		}
		shell(s, `cat /proc/uptime; cat /proc/self/timens_offsets`)
	})
	hostUp := readUptime(t)
	out := c.mustRun()
	lines := strings.Split(out, "\n")
	f := strings.Fields(lines[0])
	if len(f) == 0 {
		t.Fatalf("no uptime: %q", out)
	}
	inside, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	if d := inside - hostUp; d < boot-5 || d > boot+60 {
		t.Errorf("uptime inside %.0f, host %.0f: offset %.0f, want ~%d", inside, hostUp, d, boot)
	}
	offs := map[string]string{}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) == 3 {
			offs[f[0]] = f[1] + " " + f[2]
		}
	}
	if offs["monotonic"] != fmt.Sprint(mono, " 0") || offs["boottime"] != fmt.Sprint(boot, " 0") {
		t.Errorf("timens_offsets inside: %q", out)
	}
}

func readUptime(t *testing.T) float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return v
}

// requireUserXattrs skips when the test's data root cannot hold the
// user.* xattrs a user-namespaced overlay layer needs (tmpfs before Linux
// 6.6, as in the cgroup v2 VM): skiff refuses such a layer up front.
func requireUserXattrs(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "xattr-probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setxattr(probe, "user.skiff.probe", []byte("1"), 0); err != nil {
		t.Skipf("the temp dir's filesystem cannot store user xattrs (%v): no user-namespaced writable layer here", err)
	}
}
