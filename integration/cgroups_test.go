//go:build integration

package integration

// cgroups through the real binary: resources set from config.json and by
// `skiff update`, read back from the host's cgroup files and from inside
// the container; limits enforced (OOM, fork bomb, devices); pause/resume,
// kill --all, events, ps and delete. Every test runs on the hybrid v1 host
// and in the cgroup v2 VM (make test-vm): cgHost probes which hierarchy
// holds each controller and whether it is v1 or v2.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ---- host probing ----

// cgHier is one mounted cgroup hierarchy of the host.
type cgHier struct {
	mount string
	v2    bool
	ctrls map[string]bool // v1: its controllers; v2: cgroup.controllers of its root
}

type cgHostInfo struct {
	hiers []cgHier
	// pureV2: /sys/fs/cgroup itself is the cgroup2 mount (the VM).
	pureV2 bool
}

var (
	cgHostOnce sync.Once
	cgHostVal  *cgHostInfo
)

// cgHost probes the host's cgroup mounts once.
func cgHost(t *testing.T) *cgHostInfo {
	t.Helper()
	cgHostOnce.Do(func() {
		h := &cgHostInfo{}
		data, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, m := range parseMountinfo(string(data)) {
			if m.FSType != "cgroup" && m.FSType != "cgroup2" {
				continue
			}
			if seen[m.Point] || m.Root != "/" {
				continue
			}
			seen[m.Point] = true
			hi := cgHier{mount: m.Point, v2: m.FSType == "cgroup2", ctrls: map[string]bool{}}
			if hi.v2 {
				c, _ := os.ReadFile(filepath.Join(m.Point, "cgroup.controllers"))
				for _, f := range strings.Fields(string(c)) {
					hi.ctrls[f] = true
				}
				if m.Point == "/sys/fs/cgroup" {
					h.pureV2 = true
				}
			} else {
				for k := range m.SuperOpts {
					hi.ctrls[k] = true
				}
			}
			h.hiers = append(h.hiers, hi)
		}
		cgHostVal = h
	})
	if cgHostVal == nil || len(cgHostVal.hiers) == 0 {
		t.Skip("no cgroup hierarchy mounted")
	}
	return cgHostVal
}

// v1Has reports whether a v1 hierarchy holds controller.
func (h *cgHostInfo) v1Has(controller string) bool {
	_, ok := h.v1(controller)
	return ok
}

func (h *cgHostInfo) v1(controller string) (cgHier, bool) {
	for _, hi := range h.hiers {
		if !hi.v2 && hi.ctrls[controller] {
			return hi, true
		}
	}
	return cgHier{}, false
}

// unified is the cgroup2 mount, if any.
func (h *cgHostInfo) unified() (cgHier, bool) {
	for _, hi := range h.hiers {
		if hi.v2 {
			return hi, true
		}
	}
	return cgHier{}, false
}

// has reports whether the host can drive controller at all (v1 name; on
// cgroup2 "blkio" is "io"; freezer and devices are core there).
func (h *cgHostInfo) has(controller string) bool {
	if h.v1Has(controller) {
		return true
	}
	u, ok := h.unified()
	if !ok {
		return false
	}
	switch controller {
	case "freezer", "devices":
		return true
	case "blkio":
		return u.ctrls["io"]
	}
	return u.ctrls[controller]
}

// v2For reports whether controller (v1 name) is driven through cgroup2
// files: it is not mounted as a v1 hierarchy.
func (h *cgHostInfo) v2For(t *testing.T, controller string) bool {
	t.Helper()
	if !h.has(controller) {
		t.Fatalf("host has no %s controller", controller)
	}
	return !h.v1Has(controller)
}

// dir is the host directory of cgroup cg for controller (v1 name): in its
// v1 hierarchy, else in the cgroup2 mount.
func (h *cgHostInfo) dir(t *testing.T, controller, cg string) string {
	t.Helper()
	if hi, ok := h.v1(controller); ok {
		return filepath.Join(hi.mount, cg)
	}
	if u, ok := h.unified(); ok {
		return filepath.Join(u.mount, cg)
	}
	t.Fatalf("host has no %s controller", controller)
	return ""
}

// file reads one cgroup file of cg (trimmed); the test fails if it cannot.
func (h *cgHostInfo) file(t *testing.T, controller, cg, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir(t, controller, cg), name))
	if err != nil {
		t.Errorf("read %s file %s: %v", controller, name, err)
		return ""
	}
	return strings.TrimSpace(string(data))
}

// expect checks that a cgroup file of cg holds want.
func (h *cgHostInfo) expect(t *testing.T, controller, cg, name, want string) {
	t.Helper()
	if got := h.file(t, controller, cg, name); got != want {
		t.Errorf("%s/%s = %q, want %q", h.dir(t, controller, cg), name, got, want)
	}
}

// existing lists cg's directory in every hierarchy where it exists.
func (h *cgHostInfo) existing(cg string) []string {
	var out []string
	for _, hi := range h.hiers {
		d := filepath.Join(hi.mount, cg)
		if _, err := os.Stat(d); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// pids lists the processes in cg (every hierarchy, deduplicated).
func (h *cgHostInfo) pids(cg string) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range h.existing(cg) {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Ints(out)
	return out
}

// frozen reads the freezer state of cg from the host: FROZEN or THAWED.
func (h *cgHostInfo) frozen(t *testing.T, cg string) string {
	t.Helper()
	if h.v2For(t, "freezer") {
		// cgroup.events "frozen 1" is the state reached.
		for _, l := range strings.Split(h.file(t, "freezer", cg, "cgroup.events"), "\n") {
			if v, ok := strings.CutPrefix(l, "frozen "); ok {
				if v == "1" {
					return "FROZEN"
				}
				return "THAWED"
			}
		}
		return "?"
	}
	return h.file(t, "freezer", cg, "freezer.state")
}

// ---- containers ----

// cgDefault is the cgroup a container gets without linux.cgroupsPath.
func cgDefault(c *ctr) string { return "/skiff/" + c.id }

// newCgCtr is newCtr with linux.cgroupsPath set to a test-unique nested
// absolute path (/skiff-it-<id>/ctr); the parent skiff creates is removed at
// the end (skiff removes only its leaf).
func newCgCtr(t *testing.T, mutate func(c *ctr, s *specs.Spec)) (*ctr, string) {
	t.Helper()
	h := cgHost(t)
	var cg string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		cg = "/skiff-it-" + c.id + "/ctr"
		s.Linux.CgroupsPath = cg
		if mutate != nil {
			mutate(c, s)
		}
	})
	t.Cleanup(func() {
		// Runs before newCtr's delete (cleanups are LIFO): delete first.
		c.skiff("delete", "--force", c.id)
		for _, d := range h.existing(cg) {
			t.Errorf("cgroup %s left behind after delete --force", d)
			os.Remove(d)
		}
		for _, d := range h.existing(filepath.Dir(cg)) {
			if err := os.Remove(d); err != nil {
				t.Logf("remove test parent cgroup %s: %v", d, err)
			}
		}
	})
	return c, cg
}

// start starts a created container and fails the test if it cannot.
func (c *ctr) cgStart() {
	c.t.Helper()
	if r := c.skiff("start", c.id); r.Code != 0 {
		c.t.Fatalf("start: %s", r)
	}
}

// cgCreate creates the container and fails the test if it cannot.
func (c *ctr) cgCreate() {
	c.t.Helper()
	if r := c.create(); r.Code != 0 {
		c.t.Fatalf("create: %s\nstderr: %s", r, r.Stderr)
	}
}

// waitStopped waits until the container's status is stopped.
func (c *ctr) cgWaitStopped(timeout time.Duration) {
	c.t.Helper()
	c.waitStatus("stopped", timeout)
}

// cgInside is the path, inside the container (its own /sys/fs/cgroup
// mount), of a cgroup file of controller (v1 name).
func cgInside(h *cgHostInfo, controller, name string) string {
	if h.pureV2 {
		return "/sys/fs/cgroup/" + name
	}
	if hi, ok := h.v1(controller); ok {
		return "/sys/fs/cgroup/" + filepath.Base(hi.mount) + "/" + name
	}
	if u, ok := h.unified(); ok {
		return "/sys/fs/cgroup/" + filepath.Base(u.mount) + "/" + name
	}
	return "/nonexistent"
}

// procCPUTicks is utime+stime of pid, in clock ticks.
func procCPUTicks(pid int) (uint64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st, true
}

// cgSharesToWeight is the cpu.shares -> cpu.weight conversion of runc
// 1.3+/crun 1.23+ (the quadratic in log2(shares)).
func cgSharesToWeight(shares uint64) uint64 {
	if shares <= 2 {
		return 1
	}
	if shares >= 262144 {
		return 10000
	}
	l := math.Log2(float64(shares))
	return uint64(math.Ceil(math.Pow(10, (l*l+125*l)/612.0-7.0/34.0)))
}

// blockDevice returns a block device of the host ("maj:min"), skipping the
// test when there is none. Loop and zram devices come last.
func blockDevice(t *testing.T) (int64, int64, string) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/block")
	var cands []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "zram") || strings.HasPrefix(n, "ram") {
			cands = append(cands, n)
		} else {
			cands = append([]string{n}, cands...)
		}
	}
	for _, n := range cands {
		data, err := os.ReadFile("/sys/block/" + n + "/dev")
		if err != nil {
			continue
		}
		ma, mi, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
		if !ok {
			continue
		}
		maj, _ := strconv.ParseInt(ma, 10, 64)
		min, _ := strconv.ParseInt(mi, 10, 64)
		return maj, min, n
	}
	t.Skip("no block device on this host: blkio throttling cannot be set")
	return 0, 0, ""
}

func hasSwap() bool {
	data, _ := os.ReadFile("/proc/swaps")
	return len(strings.Split(strings.TrimSpace(string(data)), "\n")) > 1
}

// eventsProc is a `skiff events` running in the background.
type eventsProc struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

func (c *ctr) startEvents(args ...string) *eventsProc {
	c.t.Helper()
	out := filepath.Join(c.dir, "events.out")
	f, err := os.Create(out)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(skiffPath, append(append([]string{"--root", c.root, "--data-root", c.data, "events"}, args...), c.id)...)
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	e := &eventsProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(e.done) }()
	c.t.Cleanup(e.stop)
	return e
}

func (e *eventsProc) stop() {
	select {
	case <-e.done:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(3 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}

func (e *eventsProc) output() string {
	data, _ := os.ReadFile(e.out)
	return string(data)
}

// events decodes the JSON lines written so far.
func (e *eventsProc) events() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (e *eventsProc) waitType(typ string, timeout time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, ev := range e.events() {
			if ev["type"] == typ {
				return ev, true
			}
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cgTail is the end of a long output, for messages.
func cgTail(s string, n int) string {
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return fmt.Sprintf("%q", s)
}

// jpath walks nested JSON objects.
func jpath(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func jnum(m map[string]any, keys ...string) float64 {
	f, _ := jpath(m, keys...).(float64)
	return f
}

// statsEvent runs `events --stats` and decodes its single object.
func (c *ctr) statsEvent() map[string]any {
	c.t.Helper()
	r := c.skiff("events", "--stats", c.id)
	if r.Code != 0 {
		c.t.Fatalf("events --stats: %s", r)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &m); err != nil {
		c.t.Fatalf("events --stats is not one JSON object: %v: %q", err, r.Stdout)
	}
	return m
}

// ---- resources from config.json ----

// TestCgroupResourcesFromConfig sets each linux.resources field from
// config.json, reads it back from the host's cgroup files after create
// (limits are in force before the container runs anything) and, where it
// is a limit the container can see, from inside the container.
func TestCgroupResourcesFromConfig(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	// run creates the container, hands the cgroup to check, then starts it
	// and returns what the container printed.
	run := func(t *testing.T, res *specs.LinuxResources, script string, check func(cg string)) string {
		c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
			devs := s.Linux.Resources.Devices
			s.Linux.Resources = res
			s.Linux.Resources.Devices = devs
			shell(s, script+"; echo ==end==")
		})
		c.cgCreate()
		check(cg)
		c.cgStart()
		out := c.waitOutput("==end==", 20*time.Second)
		c.cgWaitStopped(10 * time.Second)
		return out
	}

	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		mem := &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Reservation: ptr(int64(32 << 20))}
		v2 := h.v2For(t, "memory")
		if !v2 {
			mem.Swappiness = ptr(uint64(30))
			mem.DisableOOMKiller = ptr(true)
		}
		limitFile := map[bool]string{false: "memory.limit_in_bytes", true: "memory.max"}[v2]
		out := run(t, &specs.LinuxResources{Memory: mem}, "cat "+cgInside(h, "memory", limitFile), func(cg string) {
			if v2 {
				h.expect(t, "memory", cg, "memory.max", "67108864")
				h.expect(t, "memory", cg, "memory.low", "33554432")
				return
			}
			h.expect(t, "memory", cg, "memory.limit_in_bytes", "67108864")
			h.expect(t, "memory", cg, "memory.soft_limit_in_bytes", "33554432")
			h.expect(t, "memory", cg, "memory.swappiness", "30")
			if oc := h.file(t, "memory", cg, "memory.oom_control"); !strings.Contains(oc, "oom_kill_disable 1") {
				t.Errorf("memory.oom_control: want oom_kill_disable 1, got %q", oc)
			}
		})
		if !strings.Contains(out, "67108864\n") {
			t.Errorf("inside, %s: want 67108864, got %q", limitFile, out)
		}
	})

	t.Run("memory-swap", func(t *testing.T) {
		t.Parallel()
		v2 := h.v2For(t, "memory")
		file := "memory.memsw.limit_in_bytes"
		want := "134217728" // memory+swap on v1
		if v2 {
			file, want = "memory.swap.max", "67108864" // swap alone on v2
		}
		if _, err := os.Stat(filepath.Join(h.dir(t, "memory", "/"), file)); err != nil && !v2 {
			t.Skipf("no %s on this host (swap accounting off): memory.swap cannot be set", file)
		}
		mem := &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(128 << 20))}
		run(t, &specs.LinuxResources{Memory: mem}, "true", func(cg string) {
			h.expect(t, "memory", cg, file, want)
		})
	})

	t.Run("cpu", func(t *testing.T) {
		t.Parallel()
		v2 := h.v2For(t, "cpu")
		cpu := &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Burst: ptr(uint64(1000))}
		inside := cgInside(h, "cpu", "cpu.cfs_quota_us")
		if v2 {
			inside = cgInside(h, "cpu", "cpu.max")
		}
		out := run(t, &specs.LinuxResources{CPU: cpu}, "cat "+inside, func(cg string) {
			if v2 {
				h.expect(t, "cpu", cg, "cpu.weight", strconv.FormatUint(cgSharesToWeight(512), 10))
				h.expect(t, "cpu", cg, "cpu.max", "50000 100000")
				h.expect(t, "cpu", cg, "cpu.max.burst", "1000")
				return
			}
			h.expect(t, "cpu", cg, "cpu.shares", "512")
			h.expect(t, "cpu", cg, "cpu.cfs_quota_us", "50000")
			h.expect(t, "cpu", cg, "cpu.cfs_period_us", "100000")
			h.expect(t, "cpu", cg, "cpu.cfs_burst_us", "1000")
		})
		if !strings.Contains(out, "50000") {
			t.Errorf("inside, the CPU quota is not 50000: %q", out)
		}
	})

	t.Run("cpu-idle", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat(filepath.Join(h.dir(t, "cpu", "/"), "cpu.idle")); err != nil && !h.v2For(t, "cpu") {
			t.Skip("no cpu.idle on this kernel")
		}
		run(t, &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptr(int64(1))}}, "true", func(cg string) {
			h.expect(t, "cpu", cg, "cpu.idle", "1")
		})
	})

	t.Run("cpuset", func(t *testing.T) {
		t.Parallel()
		out := run(t, &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}}, "grep Cpus_allowed_list /proc/self/status", func(cg string) {
			h.expect(t, "cpuset", cg, "cpuset.cpus", "0")
			h.expect(t, "cpuset", cg, "cpuset.mems", "0")
		})
		if !strings.Contains(out, "Cpus_allowed_list:\t0\n") {
			t.Errorf("inside, Cpus_allowed_list is not 0: %q", out)
		}
	})

	t.Run("pids", func(t *testing.T) {
		t.Parallel()
		out := run(t, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(77))}}, "cat "+cgInside(h, "pids", "pids.max"), func(cg string) {
			h.expect(t, "pids", cg, "pids.max", "77")
		})
		if !strings.Contains(out, "77\n") {
			t.Errorf("inside, pids.max is not 77: %q", out)
		}
	})

	t.Run("blkio-throttle", func(t *testing.T) {
		t.Parallel()
		maj, min, name := blockDevice(t)
		dev := func(rate uint64) []specs.LinuxThrottleDevice {
			d := specs.LinuxThrottleDevice{Rate: rate}
			d.Major, d.Minor = maj, min
			return []specs.LinuxThrottleDevice{d}
		}
		bio := &specs.LinuxBlockIO{ThrottleReadBpsDevice: dev(1048576), ThrottleWriteIOPSDevice: dev(100)}
		key := fmt.Sprintf("%d:%d", maj, min)
		t.Logf("block device %s (%s)", name, key)
		run(t, &specs.LinuxResources{BlockIO: bio}, "true", func(cg string) {
			if h.v2For(t, "blkio") {
				h.expect(t, "blkio", cg, "io.max", key+" rbps=1048576 wbps=max riops=max wiops=100")
				return
			}
			h.expect(t, "blkio", cg, "blkio.throttle.read_bps_device", key+" 1048576")
			h.expect(t, "blkio", cg, "blkio.throttle.write_iops_device", key+" 100")
		})
	})

	t.Run("blkio-weight", func(t *testing.T) {
		t.Parallel()
		c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: ptr(uint16(500))}
			shell(s, "true")
		})
		r := c.create()
		if r.Code != 0 {
			// This host may lack the weight files (no CFQ/BFQ/iocost):
			// then skiff must say so clearly; it is a reasoned skip.
			if strings.Contains(r.Stderr, "weight") {
				t.Skipf("blkio weight not available on this host; skiff says: %s", strings.TrimSpace(r.Stderr))
			}
			t.Fatalf("create with blockIO.weight failed without naming the weight: %s", r)
		}
		if h.v2For(t, "blkio") {
			// io.weight, or io.bfq.weight where only BFQ offers weights.
			read := func(name string) string {
				data, _ := os.ReadFile(filepath.Join(h.dir(t, "blkio", cg), name))
				return strings.TrimSpace(string(data))
			}
			got, bfq := read("io.weight"), read("io.bfq.weight")
			want := fmt.Sprint(1 + (500-10)*9999/990)
			if got != "default "+want && !strings.Contains(bfq, "500") {
				t.Errorf("io.weight = %q (io.bfq.weight %q), want default %s", got, bfq, want)
			}
			return
		}
		w := h.file(t, "blkio", cg, "blkio.weight")
		if w != "500" {
			t.Errorf("blkio.weight = %q, want 500", w)
		}
	})

	t.Run("hugetlb", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
			t.Skip("no 2 MB huge pages on this kernel")
		}
		if !h.has("hugetlb") {
			t.Skip("no hugetlb controller on this host")
		}
		hl := []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
		run(t, &specs.LinuxResources{HugepageLimits: hl}, "true", func(cg string) {
			if h.v2For(t, "hugetlb") {
				h.expect(t, "hugetlb", cg, "hugetlb.2MB.max", "4194304")
			} else {
				h.expect(t, "hugetlb", cg, "hugetlb.2MB.limit_in_bytes", "4194304")
			}
		})
	})

	t.Run("network", func(t *testing.T) {
		t.Parallel()
		c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
			s.Linux.Resources.Network = &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001))}
			shell(s, "true")
		})
		r := c.create()
		if !h.v1Has("net_cls") {
			if r.Code == 0 {
				t.Fatalf("network.classID accepted on a host without net_cls: it would have no effect")
			}
			if !strings.Contains(r.Stderr, "net_cls") && !strings.Contains(r.Stderr, "classID") {
				t.Errorf("the error does not name net_cls/classID: %q", r.Stderr)
			}
			t.Skipf("no net_cls hierarchy on this host; skiff refuses clearly: %s", strings.TrimSpace(r.Stderr))
		}
		if r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		h.expect(t, "net_cls", cg, "net_cls.classid", "1048577")
	})

	t.Run("unified", func(t *testing.T) {
		t.Parallel()
		c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
			s.Linux.Resources.Unified = map[string]string{"memory.high": "50331648"}
			shell(s, "true")
		})
		r := c.create()
		if h.v2For(t, "memory") {
			if r.Code != 0 {
				t.Fatalf("create with unified memory.high on cgroup v2: %s", r)
			}
			h.expect(t, "memory", cg, "memory.high", "50331648")
			return
		}
		if r.Code == 0 {
			t.Fatalf("unified memory.high accepted while memory is a v1 controller here")
		}
		if !strings.Contains(r.Stderr, "unified") {
			t.Errorf("the refusal does not mention unified: %q", r.Stderr)
		}
	})
}

// TestCgroupNoResources: a config without linux.resources runs on this host
// (crun 1.8.1 refuses hybrid hosts like it) and the container still gets
// its cgroup.
func TestCgroupNoResources(t *testing.T) {
	t.Parallel()
	cgHost(t)
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Resources = nil
		shell(s, "cat /proc/self/cgroup; echo ok")
	})
	out := c.mustRun()
	if !strings.Contains(out, "ok\n") {
		t.Errorf("container output: %q", out)
	}
	// run deletes the container once it exited.
	assertNothingLeft(t, c)
}

// ---- enforcement ----

// TestCgroupMemoryLimitOOM: a process allocating past the memory limit is
// OOM-killed and `skiff events` (running in the background) reports it.
func TestCgroupMemoryLimitOOM(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
		mem := &specs.LinuxMemory{Limit: ptr(int64(32 << 20))}
		if hasSwap() {
			mem.Swap = ptr(int64(32 << 20)) // no swap either
		}
		s.Linux.Resources.Memory = mem
		// sort keeps its whole input (one "line": /dev/zero has no
		// newline) in memory.
		shell(s, `head -c 209715200 /dev/zero | sort >/dev/null; echo rc=$?; sleep 60`)
	})
	c.cgCreate()
	ev := c.startEvents("--interval", "200ms")
	// The first stats event says events is up (its OOM watch is armed
	// before the first tick).
	if _, ok := ev.waitType("stats", 10*time.Second); !ok {
		t.Fatalf("events printed no stats event: %s", cgTail(ev.output(), 600))
	}
	c.cgStart()
	out := c.waitOutput("rc=", 20*time.Second)
	if !strings.Contains(out, "rc=137") {
		t.Errorf("the allocating process was not SIGKILLed by the OOM killer: %q", out)
	}
	if oom, ok := ev.waitType("oom", 10*time.Second); !ok {
		t.Errorf("events reported no oom event: %s", cgTail(ev.output(), 600))
	} else if oom["id"] != c.id {
		t.Errorf("oom event id %v, want %s", oom["id"], c.id)
	}
	if h.v2For(t, "memory") {
		if e := h.file(t, "memory", cg, "memory.events"); !strings.Contains(e, "oom_kill 1") && !strings.Contains(e, "oom_kill 2") {
			t.Errorf("memory.events: %q, want an oom_kill", e)
		}
	} else if f := h.file(t, "memory", cg, "memory.failcnt"); f == "0" {
		t.Errorf("memory.failcnt is 0 after an OOM")
	}
	st := c.statsEvent()
	if got := jnum(st, "data", "memory", "usage", "limit"); got != 32<<20 {
		t.Errorf("events --stats memory.usage.limit = %v, want %d", got, 32<<20)
	}
	if got := jnum(st, "data", "memory", "usage", "failcnt"); !h.v2For(t, "memory") && got == 0 {
		t.Errorf("events --stats memory.usage.failcnt = 0 after an OOM")
	}
}

// TestCgroupPidsLimitForkBomb: a (bounded) fork bomb stops at pids.limit.
func TestCgroupPidsLimitForkBomb(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	const limit = 20
	c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(limit))}
		// The inner shell forks 200 sleepers, or dies at the first fork
		// the kernel refuses. Builtins only after that (no pid is free).
		shell(s, `sh -c 'i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); echo $i > /tmp/n; done' 2>/tmp/err; `+
			`read n < /tmp/n; echo spawned=$n; read e < /tmp/err; echo "err=$e"; echo ==end==; exec sleep 60`)
	})
	c.cgCreate()
	c.cgStart()
	out := c.waitOutput("==end==", 30*time.Second)
	var n int
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "spawned="); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	if n >= 200 || n > limit-2 || n < limit/2 {
		t.Errorf("the fork bomb spawned %d sleepers under pids.limit %d: %q", n, limit, out)
	}
	if !strings.Contains(out, "fork") {
		t.Errorf("no fork failure reported: %q", out)
	}
	cur, _ := strconv.Atoi(h.file(t, "pids", cg, "pids.current"))
	if cur > limit || cur < limit/2 {
		t.Errorf("pids.current = %d with pids.max %d", cur, limit)
	}
	if ev := h.file(t, "pids", cg, "pids.events"); ev == "max 0" {
		t.Errorf("pids.events %q: the limit was never hit", ev)
	}
	if r := c.skiff("delete", "--force", c.id); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	if p := h.pids(cg); len(p) > 0 || len(h.existing(cg)) > 0 {
		t.Errorf("after delete --force: processes %v, dirs %v", p, h.existing(cg))
	}
}

// TestCgroupDeviceRules: the device cgroup denies mknod and open of
// devices the rules do not allow and allows the ones they do, applying the
// rules in order; the default devices stay usable under deny-all.
func TestCgroupDeviceRules(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	// /kmsg-host is a node the host made in the rootfs (a node listed in
	// linux.devices would be allowed by skiff, as by runc). Opening
	// /dev/kmsg write-only needs no capability, only the cgroup's "w".
	const script = `
mknod /dev/kmsg-m c 1 11 2>&1 && echo mknod-kmsg=ok || echo mknod-kmsg=denied
(exec 3>/kmsg-host) 2>&1 && echo open-kmsg=ok || echo open-kmsg=denied
mknod /dev/mem-m c 1 1 2>&1 && echo mknod-mem=ok || echo mknod-mem=denied
mknod /dev/null-m c 1 3 && echo x >/dev/null-m && echo null-m=ok || echo null-m=denied
echo x >/dev/null && echo null=ok
head -c 3 /dev/zero | wc -c
head -c 3 /dev/urandom >/dev/null && echo urandom=ok
echo ==end==`
	mkCaps := func(c *ctr, s *specs.Spec) {
		for _, set := range []*[]string{&s.Process.Capabilities.Bounding, &s.Process.Capabilities.Effective, &s.Process.Capabilities.Permitted} {
			*set = append(*set, "CAP_MKNOD")
		}
		if err := unix.Mknod(filepath.Join(c.rootfs, "kmsg-host"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 11))); err != nil {
			t.Fatalf("mknod in the rootfs: %v", err)
		}
	}
	dev := func(allow bool, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: access}
	}
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	cases := []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  []string
	}{
		// kmsg "w" only: open for writing allowed, mknod (m) denied.
		{"allow-w", []specs.LinuxDeviceCgroup{denyAll, dev(true, "w")},
			[]string{"mknod-kmsg=denied", "open-kmsg=ok", "mknod-mem=denied", "null-m=ok", "null=ok", "\n3\n", "urandom=ok"}},
		// rwm then deny w, in order: mknod allowed, open for writing denied.
		{"allow-rwm-then-deny-w", []specs.LinuxDeviceCgroup{denyAll, dev(true, "rwm"), dev(false, "w")},
			[]string{"mknod-kmsg=ok", "open-kmsg=denied", "mknod-mem=denied", "null-m=ok", "null=ok", "\n3\n", "urandom=ok"}},
		// the spec default (deny all): kmsg neither created nor opened.
		{"deny-all", []specs.LinuxDeviceCgroup{denyAll},
			[]string{"mknod-kmsg=denied", "open-kmsg=denied", "mknod-mem=denied", "null-m=ok", "null=ok", "\n3\n", "urandom=ok"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
				mkCaps(c, s)
				s.Linux.Resources.Devices = tc.rules
				shell(s, script)
			})
			c.cgCreate()
			if !h.v2For(t, "devices") {
				// v1: the kernel's own view of the rules.
				list := h.file(t, "devices", cg, "devices.list")
				if strings.Contains(list, "a *:* rwm") {
					t.Errorf("devices.list allows everything: %q", list)
				}
				for _, want := range []string{"c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm"} {
					if !strings.Contains(list, want) {
						t.Errorf("devices.list lacks the default %q: %q", want, list)
					}
				}
			}
			c.cgStart()
			out := c.waitOutput("==end==", 20*time.Second)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in the container's output:\n%s", w, out)
				}
			}
		})
	}
}

// ---- pause / resume / kill ----

// TestCgroupPauseResume: pause stops a busy process (its CPU time stops
// moving), state and list say paused; resume restarts it.
func TestCgroupPauseResume(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		shell(s, `while :; do :; done`)
	})
	c.cgCreate()
	c.cgStart()
	m, r := c.state()
	if m == nil {
		t.Fatalf("state: %s", r)
	}
	pid := num(m, "pid")
	cg := cgDefault(c)
	ticks := func() uint64 {
		v, ok := procCPUTicks(pid)
		if !ok {
			t.Fatalf("process %d is gone", pid)
		}
		return v
	}
	moving := func(d time.Duration) bool {
		a := ticks()
		time.Sleep(d)
		return ticks() > a
	}
	if !moving(500 * time.Millisecond) {
		t.Fatalf("the busy loop uses no CPU before pause")
	}
	if r := c.skiff("pause", c.id); r.Code != 0 {
		t.Fatalf("pause: %s", r)
	}
	if s := c.status(); s != "paused" {
		t.Errorf("state after pause: %q, want paused", s)
	}
	if got := h.frozen(t, cg); got != "FROZEN" {
		t.Errorf("freezer of %s: %q, want FROZEN", cg, got)
	}
	r = c.skiff("list", "--format", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || len(list) != 1 || list[0]["status"] != "paused" {
		t.Errorf("list after pause: %s", r)
	}
	if r := c.skiff("list"); !strings.Contains(r.Stdout, "paused") {
		t.Errorf("list (table) after pause: %q", r.Stdout)
	}
	time.Sleep(100 * time.Millisecond)
	if moving(700 * time.Millisecond) {
		t.Errorf("a paused process still uses CPU")
	}
	if r := c.skiff("resume", c.id); r.Code != 0 {
		t.Fatalf("resume: %s", r)
	}
	if s := c.status(); s != "running" {
		t.Errorf("state after resume: %q, want running", s)
	}
	if got := h.frozen(t, cg); got != "THAWED" {
		t.Errorf("freezer of %s after resume: %q, want THAWED", cg, got)
	}
	if !moving(700 * time.Millisecond) {
		t.Errorf("the process does not run again after resume")
	}
	if r := c.skiff("resume", c.id); r.Code == 0 {
		t.Errorf("resume of a running container succeeded")
	}
}

// TestCgroupKillLeavesNothing: kill --all of a running or paused container,
// SIGKILL of a paused container's init, and SIGKILL of an init sharing the
// host's pid namespace all leave no process in the cgroup.
func TestCgroupKillLeavesNothing(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	cases := []struct {
		name   string
		pause  bool
		all    bool
		hostNS bool
	}{
		{"running-kill-all", false, true, false},
		{"paused-kill-all", true, true, false},
		{"paused-kill-init", true, false, false},
		{"host-pidns-kill-init", false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				if tc.hostNS {
					removeNamespace(s, specs.PIDNamespace)
				}
				shell(s, `sleep 100 & sleep 100 & (sleep 100 & sleep 100) & echo ready; wait`)
			})
			cg := cgDefault(c)
			c.cgCreate()
			c.cgStart()
			c.waitOutput("ready", 10*time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for len(h.pids(cg)) < 5 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			before := h.pids(cg)
			if len(before) < 5 {
				t.Fatalf("want 5 processes in %s, got %v", cg, before)
			}
			if tc.pause {
				if r := c.skiff("pause", c.id); r.Code != 0 {
					t.Fatalf("pause: %s", r)
				}
			}
			args := []string{"kill"}
			if tc.all {
				args = append(args, "--all")
			}
			if r := c.skiff(append(args, c.id, "KILL")...); r.Code != 0 {
				t.Fatalf("%v: %s", args, r)
			}
			for _, p := range before {
				if !waitGone(p, 10*time.Second) {
					t.Errorf("process %d survived", p)
				}
			}
			if left := h.pids(cg); len(left) > 0 {
				t.Errorf("processes left in %s: %v", cg, left)
			}
			c.waitStatus("stopped", 10*time.Second)
			if tc.all {
				if r := c.skiff("kill", "--all", c.id, "KILL"); r.Code != 0 {
					t.Errorf("kill --all of a stopped container: %s", r)
				}
			}
			if r := c.skiff("delete", c.id); r.Code != 0 {
				t.Fatalf("delete: %s", r)
			}
			assertNothingLeft(t, c)
		})
	}
}

// ---- update ----

// TestCgroupUpdate: update changes live limits, only the fields given, by
// flags and by --resources - (stdin); the merged resources are saved for
// the next update; it works on a paused container and fails clearly on a
// stopped one.
func TestCgroupUpdate(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000))}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(100))}
		shell(s, `echo ready; exec sleep 100`)
	})
	memV2, cpuV2 := h.v2For(t, "memory"), h.v2For(t, "cpu")
	memFile := map[bool]string{false: "memory.limit_in_bytes", true: "memory.max"}[memV2]
	shares := uint64(512)
	expectCPU := func(quota, period string) {
		t.Helper()
		if cpuV2 {
			h.expect(t, "cpu", cg, "cpu.max", quota+" "+period)
			h.expect(t, "cpu", cg, "cpu.weight", strconv.FormatUint(cgSharesToWeight(shares), 10))
			return
		}
		h.expect(t, "cpu", cg, "cpu.cfs_quota_us", quota)
		h.expect(t, "cpu", cg, "cpu.cfs_period_us", period)
		h.expect(t, "cpu", cg, "cpu.shares", strconv.FormatUint(shares, 10))
	}
	inside := func(controller, name string) string {
		t.Helper()
		r := c.skiff("exec", c.id, "cat", cgInside(h, controller, name))
		if r.Code != 0 {
			t.Errorf("exec cat %s: %s", name, r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	c.cgCreate()
	c.cgStart()
	c.waitOutput("ready", 10*time.Second)

	// 1. one flag: only memory changes.
	if r := c.skiff("update", "--memory", "128m", c.id); r.Code != 0 {
		t.Fatalf("update --memory: %s", r)
	}
	h.expect(t, "memory", cg, memFile, "134217728")
	if got := inside("memory", memFile); got != "134217728" {
		t.Errorf("inside, %s = %q after update, want 134217728", memFile, got)
	}
	h.expect(t, "pids", cg, "pids.max", "100")
	expectCPU("50000", "100000")

	// 2. --resources - (stdin): pids and the quota; period and memory stay.
	res := `{"pids":{"limit":42},"cpu":{"quota":20000}}`
	if r := c.skiffOpts(runOpts{Stdin: strings.NewReader(res)}, "update", "--resources", "-", c.id); r.Code != 0 {
		t.Fatalf("update --resources -: %s", r)
	}
	h.expect(t, "pids", cg, "pids.max", "42")
	if got := inside("pids", "pids.max"); got != "42" {
		t.Errorf("inside, pids.max = %q after update, want 42", got)
	}
	expectCPU("20000", "100000")
	h.expect(t, "memory", cg, memFile, "134217728")

	// 3. --resources FILE and the period alone: the quota stays.
	f := filepath.Join(c.dir, "res.json")
	writeFile(t, f, `{"cpu":{"period":50000}}`)
	if r := c.skiff("update", "--resources", f, c.id); r.Code != 0 {
		t.Fatalf("update --resources FILE: %s", r)
	}
	expectCPU("20000", "50000")

	// 4. -1 is unlimited.
	if r := c.skiff("update", "--pids-limit", "-1", c.id); r.Code != 0 {
		t.Fatalf("update --pids-limit -1: %s", r)
	}
	h.expect(t, "pids", cg, "pids.max", "max")

	// 5. shares and cpus by flag; quota and period stay.
	if r := c.skiff("update", "--cpu-share", "256", "--cpuset-cpus", "0", c.id); r.Code != 0 {
		t.Fatalf("update --cpu-share --cpuset-cpus: %s", r)
	}
	shares = 256
	expectCPU("20000", "50000")
	h.expect(t, "cpuset", cg, "cpuset.cpus", "0")

	// 6. on a paused container.
	if r := c.skiff("pause", c.id); r.Code != 0 {
		t.Fatalf("pause: %s", r)
	}
	if r := c.skiff("update", "--pids-limit", "30", c.id); r.Code != 0 {
		t.Errorf("update of a paused container: %s", r)
	}
	h.expect(t, "pids", cg, "pids.max", "30")
	if s := c.status(); s != "paused" {
		t.Errorf("status after update of a paused container: %q", s)
	}
	if r := c.skiff("resume", c.id); r.Code != 0 {
		t.Fatalf("resume: %s", r)
	}

	// 7. the merged resources are saved in the state for later commands.
	data, err := os.ReadFile(filepath.Join(c.root, c.id, "state.json"))
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	var st struct {
		Config *specs.Spec `json:"config"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Config == nil || st.Config.Linux == nil || st.Config.Linux.Resources == nil {
		t.Fatalf("state file has no config.linux.resources: %v: %s", err, data)
	}
	sr := st.Config.Linux.Resources
	saved := func(name string, got *int64, want int64) {
		if got == nil || *got != want {
			t.Errorf("saved %s = %v, want %d", name, got, want)
		}
	}
	if sr.Memory != nil {
		saved("memory.limit", sr.Memory.Limit, 128<<20)
	} else {
		t.Errorf("saved resources lost memory")
	}
	if sr.Pids != nil {
		saved("pids.limit", sr.Pids.Limit, 30)
	} else {
		t.Errorf("saved resources lost pids")
	}
	if sr.CPU != nil {
		saved("cpu.quota", sr.CPU.Quota, 20000)
		if sr.CPU.Period == nil || *sr.CPU.Period != 50000 || sr.CPU.Shares == nil || *sr.CPU.Shares != 256 || sr.CPU.Cpus != "0" {
			t.Errorf("saved cpu period/shares: %+v", sr.CPU)
		}
	} else {
		t.Errorf("saved resources lost cpu")
	}
	if len(sr.Devices) == 0 {
		t.Errorf("saved resources lost the device rules")
	}
	// events sees the current limits.
	if got := jnum(c.statsEvent(), "data", "memory", "usage", "limit"); got != 128<<20 {
		t.Errorf("events --stats memory limit %v after update, want %d", got, 128<<20)
	}

	// 8. a stopped container cannot be updated.
	if r := c.skiff("kill", c.id, "KILL"); r.Code != 0 {
		t.Fatalf("kill: %s", r)
	}
	c.cgWaitStopped(10 * time.Second)
	r := c.skiff("update", "--memory", "64m", c.id)
	if r.Code == 0 {
		t.Errorf("update of a stopped container succeeded")
	} else if !strings.Contains(r.Stderr, "stopped") {
		t.Errorf("update of a stopped container: unclear error %q", r.Stderr)
	}
}

// ---- events --stats and ps ----

// TestCgroupEventsStatsMemoryGrows: events --stats is one runc-shaped
// object whose memory usage grows when the container allocates (40 MiB in
// its /dev/shm tmpfs, charged to its cgroup).
func TestCgroupEventsStatsMemoryGrows(t *testing.T) {
	t.Parallel()
	cgHost(t)
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(256 << 20))}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(64))}
		shell(s, `echo ready; exec sleep 100`)
	})
	c.cgCreate()
	c.cgStart()
	c.waitOutput("ready", 10*time.Second)
	before := c.statsEvent()
	if before["type"] != "stats" || before["id"] != c.id {
		t.Errorf("events --stats: type %v id %v, want stats %s", before["type"], before["id"], c.id)
	}
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if jpath(before, "data", k) == nil {
			t.Errorf("events --stats has no data.%s: %v", k, before)
		}
	}
	if got := jnum(before, "data", "memory", "usage", "limit"); got != 256<<20 {
		t.Errorf("memory.usage.limit = %v, want %d", got, 256<<20)
	}
	if got := jnum(before, "data", "pids", "limit"); got != 64 {
		t.Errorf("pids.limit = %v, want 64", got)
	}
	if got := jnum(before, "data", "pids", "current"); got < 1 {
		t.Errorf("pids.current = %v", got)
	}
	u0 := jnum(before, "data", "memory", "usage", "usage")
	if r := c.skiff("exec", c.id, "dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=40"); r.Code != 0 {
		t.Fatalf("exec dd: %s", r)
	}
	after := c.statsEvent()
	u1 := jnum(after, "data", "memory", "usage", "usage")
	if u1 < u0+30<<20 {
		t.Errorf("memory usage %v -> %v after writing 40 MiB to tmpfs: want at least +30 MiB", u0, u1)
	}
	if mx := jnum(after, "data", "memory", "usage", "max"); mx != 0 && mx < u1 {
		t.Errorf("memory.usage.max %v below usage %v", mx, u1)
	}
	if jnum(after, "data", "cpu", "usage", "total") <= 0 {
		t.Errorf("cpu.usage.total is 0 after running dd: %v", jpath(after, "data", "cpu"))
	}
	// A stream with --interval.
	ev := c.startEvents("--interval", "100ms")
	deadline := time.Now().Add(10 * time.Second)
	for len(ev.events()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(ev.events()); n < 2 {
		t.Errorf("events --interval 100ms: %d events in the wait: %s", n, cgTail(ev.output(), 600))
	}
	ev.stop()
}

// TestCgroupPs: ps lists the container's processes, the exec'd ones too,
// as a JSON array of pids and as ps(1)'s table.
func TestCgroupPs(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		shell(s, `sleep 101 & echo ready; wait`)
	})
	c.cgCreate()
	c.cgStart()
	c.waitOutput("ready", 10*time.Second)
	if r := c.skiff("exec", "--detach", c.id, "sleep", "102"); r.Code != 0 {
		t.Fatalf("exec --detach: %s", r)
	}
	cg := cgDefault(c)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.pids(cg)) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	want := h.pids(cg)
	r := c.skiff("ps", "--format", "json", c.id)
	if r.Code != 0 {
		t.Fatalf("ps --format json: %s", r)
	}
	var got []int
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("ps --format json is not an int array: %v: %q", err, r.Stdout)
	}
	sort.Ints(got)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 3 {
		t.Errorf("ps --format json = %v, cgroup.procs = %v (want init, sleep 101, exec'd sleep 102)", got, want)
	}
	m, _ := c.state()
	initPid := num(m, "pid")
	has := func(p int) bool {
		for _, g := range got {
			if g == p {
				return true
			}
		}
		return false
	}
	if !has(initPid) {
		t.Errorf("ps does not list the init %d: %v", initPid, got)
	}
	var exe bool
	for _, p := range got {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if string(cl) == "sleep\x00102\x00" {
			exe = true
		}
	}
	if !exe {
		t.Errorf("ps does not list the exec'd sleep 102: %v", got)
	}
	r = c.skiff("ps", c.id)
	if r.Code != 0 {
		t.Fatalf("ps (table): %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "PID") || !strings.Contains(r.Stdout, "sleep 102") || !strings.Contains(r.Stdout, "sleep 101") {
		t.Errorf("ps table: want a header and 3 lines with both sleeps, got:\n%s", r.Stdout)
	}
	if r := c.skiff("ps", "--format", "yaml", c.id); r.Code == 0 {
		t.Errorf("ps --format yaml succeeded")
	}
}

// ---- delete ----

// TestCgroupDeleteRemovesEveryDirectory: delete leaves no cgroup directory
// in any hierarchy (every v1 hierarchy, and on this hybrid host the cgroup2
// mount holding hugetlb), for a stopped container with the default path
// and for a running one with a nested cgroupsPath and an exec'd process
// (delete --force).
func TestCgroupDeleteRemovesEveryDirectory(t *testing.T) {
	t.Parallel()
	h := cgHost(t)
	withHugetlb := func(s *specs.Spec) {
		if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err == nil && h.has("hugetlb") {
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}
		}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(50))}
	}
	t.Run("stopped-default-path", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			withHugetlb(s)
			shell(s, "true")
		})
		c.cgCreate()
		cg := cgDefault(c)
		dirs := h.existing(cg)
		if len(dirs) < len(h.hiers) {
			t.Errorf("the container is not in every hierarchy: %v of %d", dirs, len(h.hiers))
		}
		c.cgStart()
		c.cgWaitStopped(10 * time.Second)
		if r := c.skiff("delete", c.id); r.Code != 0 {
			t.Fatalf("delete: %s", r)
		}
		if d := h.existing(cg); len(d) > 0 {
			t.Errorf("cgroup dirs left after delete: %v", d)
		}
		assertNothingLeft(t, c)
	})
	t.Run("running-nested-path-force", func(t *testing.T) {
		t.Parallel()
		c, cg := newCgCtr(t, func(c *ctr, s *specs.Spec) {
			withHugetlb(s)
			shell(s, "echo ready; sleep 100")
		})
		c.cgCreate()
		c.cgStart()
		c.waitOutput("ready", 10*time.Second)
		if r := c.skiff("exec", "--detach", c.id, "sleep", "103"); r.Code != 0 {
			t.Fatalf("exec --detach: %s", r)
		}
		if d := h.existing(cg); len(d) < len(h.hiers) {
			t.Errorf("the container is not in every hierarchy: %v of %d", d, len(h.hiers))
		}
		pids := h.pids(cg)
		if r := c.skiff("delete", "--force", c.id); r.Code != 0 {
			t.Fatalf("delete --force: %s", r)
		}
		for _, p := range pids {
			if !waitGone(p, 5*time.Second) {
				t.Errorf("process %d survived delete --force", p)
			}
		}
		if d := h.existing(cg); len(d) > 0 {
			t.Errorf("cgroup dirs left after delete --force: %v", d)
		}
		// Only the leaf is skiff's: the parent it created stays (removed
		// by the test's cleanup).
		if d := h.existing(filepath.Dir(cg)); len(d) == 0 {
			t.Logf("skiff also removed the parent %s", filepath.Dir(cg))
		}
	})
}
