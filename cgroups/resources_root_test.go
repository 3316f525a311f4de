package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func boolp(v bool) *bool   { return &v }

// expectFile fails unless dir/name reads want (or contains it, for files
// holding several lines).
func expectFile(t *testing.T, dir, name, want string) {
	t.Helper()
	got, err := readFile(dir, name)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if got != want && !strings.Contains(got+"\n", want+"\n") {
		t.Errorf("%s/%s = %q, want %q", dir, name, got, want)
	}
}

// setOrSkip applies r; a field the host lacks is a reasoned skip, never a
// pass.
func setOrSkip(t *testing.T, m *manager, r *specs.LinuxResources) {
	t.Helper()
	err := m.Set(r)
	if errors.Is(err, ErrNotSupported) {
		t.Skipf("host cannot apply this (reasoned skip): %v", err)
	}
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
}

// blockDevice returns "major:minor" of some block device of the host.
func blockDevice(t *testing.T) (int64, int64) {
	t.Helper()
	ms, _ := filepath.Glob("/sys/block/*/dev")
	for _, p := range ms {
		if strings.Contains(p, "/loop") || strings.Contains(p, "/ram") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if maj, min, ok := parseDevice(strings.TrimSpace(string(data))); ok {
			return int64(maj), int64(min)
		}
	}
	t.Skip("no block device on this host to throttle")
	return 0, 0
}

func TestSetEveryResourceRoot(t *testing.T) {
	m := newTestManager(t, "set")
	t.Logf("host: %s", hostKind(m))
	if err := m.Apply(-1); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	dirOf := func(t *testing.T, c string) (string, bool) {
		l, v2, ok := m.controller(c)
		if !ok {
			t.Skipf("host has no %s controller (reasoned skip)", c)
		}
		return l.dir, v2
	}

	t.Run("memory", func(t *testing.T) {
		dir, v2 := dirOf(t, "memory")
		r := &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20),
			Swappiness: u64(30), DisableOOMKiller: boolp(false), UseHierarchy: boolp(true),
			Kernel: i64(1 << 20), KernelTCP: i64(1 << 20),
		}}
		if v2 && !exists(dir, "memory.swap.max") {
			r.Memory.Swap = nil // kernel built without swap accounting
		}
		setOrSkip(t, m, r)
		w := strings.Join(m.Warnings(), "\n")
		if !strings.Contains(w, "memory.kernel ") {
			t.Errorf("kernel did not warn: %q", w)
		}
		// kernelTCP is written where v1 still has the file, else ignored
		// with a warning.
		if !v2 && exists(dir, "memory.kmem.tcp.limit_in_bytes") {
			expectFile(t, dir, "memory.kmem.tcp.limit_in_bytes", "1048576")
		} else if !strings.Contains(w, "memory.kernelTCP") {
			t.Errorf("kernelTCP did not warn: %q", w)
		}
		if v2 {
			expectFile(t, dir, "memory.max", "67108864")
			expectFile(t, dir, "memory.low", "33554432")
			if r.Memory.Swap != nil {
				expectFile(t, dir, "memory.swap.max", "67108864")
			}
		} else {
			expectFile(t, dir, "memory.limit_in_bytes", "67108864")
			expectFile(t, dir, "memory.soft_limit_in_bytes", "33554432")
			expectFile(t, dir, "memory.memsw.limit_in_bytes", "134217728")
			expectFile(t, dir, "memory.swappiness", "30")
			expectFile(t, dir, "memory.oom_control", "oom_kill_disable 0")
			expectFile(t, dir, "memory.use_hierarchy", "1")
		}
		// Raising both past the old memsw needs the other write order.
		setOrSkip(t, m, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(256 << 20), Swap: i64(512 << 20)}})
		// -1 lifts both.
		setOrSkip(t, m, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}})
		if v2 {
			expectFile(t, dir, "memory.max", "max")
		} else if got, _ := readUint(dir, "memory.limit_in_bytes"); got < 1<<50 {
			t.Errorf("memory limit not lifted: %d", got)
		}
	})

	t.Run("cpu", func(t *testing.T) {
		dir, v2 := dirOf(t, "cpu")
		setOrSkip(t, m, &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(2048), Quota: i64(50000), Period: u64(100000), Burst: u64(1000),
		}})
		if v2 {
			expectFile(t, dir, "cpu.weight", "174")
			expectFile(t, dir, "cpu.max", "50000 100000")
			expectFile(t, dir, "cpu.max.burst", "1000")
		} else {
			expectFile(t, dir, "cpu.shares", "2048")
			expectFile(t, dir, "cpu.cfs_quota_us", "50000")
			expectFile(t, dir, "cpu.cfs_period_us", "100000")
			expectFile(t, dir, "cpu.cfs_burst_us", "1000")
		}
		// Period alone keeps the quota.
		setOrSkip(t, m, &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(200000)}})
		if v2 {
			expectFile(t, dir, "cpu.max", "50000 200000")
		} else {
			expectFile(t, dir, "cpu.cfs_period_us", "200000")
			expectFile(t, dir, "cpu.cfs_quota_us", "50000")
		}
		setOrSkip(t, m, &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(1)}})
		expectFile(t, dir, "cpu.idle", "1")
		setOrSkip(t, m, &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(0)}})
		expectFile(t, dir, "cpu.idle", "0")
	})

	t.Run("cpu realtime", func(t *testing.T) {
		dir, v2 := dirOf(t, "cpu")
		r := &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: u64(500000), RealtimeRuntime: i64(0)}}
		if v2 {
			if err := m.Set(r); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "linux.resources.cpu.realtime") {
				t.Fatalf("realtime on v2: want a not-supported error naming the field, got %v", err)
			}
			t.Skip("cgroup v2 has no realtime bandwidth: refusal checked (reasoned skip)")
		}
		// A runtime > 0 needs the whole ancestry to grant realtime budget,
		// which the test parent does not; 0 still proves the files.
		setOrSkip(t, m, r)
		expectFile(t, dir, "cpu.rt_period_us", "500000")
		expectFile(t, dir, "cpu.rt_runtime_us", "0")
	})

	t.Run("cpuset", func(t *testing.T) {
		dir, _ := dirOf(t, "cpuset")
		setOrSkip(t, m, &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}})
		expectFile(t, dir, "cpuset.cpus", "0")
		expectFile(t, dir, "cpuset.mems", "0")
	})

	t.Run("pids", func(t *testing.T) {
		dir, _ := dirOf(t, "pids")
		setOrSkip(t, m, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(42)}})
		expectFile(t, dir, "pids.max", "42")
		setOrSkip(t, m, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}})
		expectFile(t, dir, "pids.max", "max")
	})

	t.Run("blockIO weight", func(t *testing.T) {
		setOrSkip(t, m, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}})
		if l, ok := m.v1["blkio"]; ok {
			f := weightFile(l.dir, "blkio.weight", "blkio.bfq.weight")
			expectFile(t, l.dir, f, "500")
		} else {
			f := weightFile(m.v2.dir, "io.weight", "io.bfq.weight")
			want := "default 4950"
			if f == "io.bfq.weight" {
				want = "default 500"
			}
			expectFile(t, m.v2.dir, f, want)
		}
	})

	t.Run("blockIO throttle", func(t *testing.T) {
		maj, min := blockDevice(t)
		dev := specs.LinuxBlockIODevice{Major: maj, Minor: min}
		setOrSkip(t, m, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 200}},
		}})
		key := devKey(dev)
		if l, ok := m.v1["blkio"]; ok {
			expectFile(t, l.dir, "blkio.throttle.read_bps_device", key+" 1048576")
			expectFile(t, l.dir, "blkio.throttle.write_bps_device", key+" 2097152")
			expectFile(t, l.dir, "blkio.throttle.read_iops_device", key+" 100")
			expectFile(t, l.dir, "blkio.throttle.write_iops_device", key+" 200")
		} else {
			expectFile(t, m.v2.dir, "io.max", key+" rbps=1048576 wbps=2097152 riops=100 wiops=200")
		}
	})

	t.Run("hugepageLimits", func(t *testing.T) {
		dir, v2 := dirOf(t, "hugetlb")
		sizes, err := hugePageSizes()
		if err != nil || len(sizes) == 0 {
			t.Skipf("host has no huge page sizes (reasoned skip): %v", err)
		}
		setOrSkip(t, m, &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: sizes[0], Limit: 8 << 30}}})
		if v2 {
			expectFile(t, dir, "hugetlb."+sizes[0]+".max", "8589934592")
		} else {
			expectFile(t, dir, "hugetlb."+sizes[0]+".limit_in_bytes", "8589934592")
		}
		err = m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}})
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "hugepageLimits[0]") {
			t.Errorf("unknown page size: want a not-supported error naming the field, got %v", err)
		}
	})

	t.Run("network", func(t *testing.T) {
		setOrSkip(t, m, &specs.LinuxResources{Network: &specs.LinuxNetwork{
			ClassID: u32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 5}},
		}})
		expectFile(t, m.v1["net_cls"].dir, "net_cls.classid", "1048577")
		expectFile(t, m.v1["net_prio"].dir, "net_prio.ifpriomap", "lo 5")
	})

	t.Run("rdma", func(t *testing.T) {
		err := m.Set(&specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3)}}})
		if errors.Is(err, unix.ENODEV) {
			t.Skipf("rdma controller present but no RDMA device mlx5_0 (reasoned skip): %v", err)
		}
		setOrSkip(t, m, &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3)}}})
		dir, _ := dirOf(t, "rdma")
		expectFile(t, dir, "rdma.max", "mlx5_0 hca_handle=3 hca_object=max")
	})

	t.Run("unified", func(t *testing.T) {
		if m.v2 == nil {
			err := m.Set(&specs.LinuxResources{Unified: map[string]string{"pids.max": "7"}})
			if !errors.Is(err, ErrNotSupported) {
				t.Fatalf("unified on v1: want a clear refusal, got %v", err)
			}
			t.Skipf("pure v1 host: refusal checked (reasoned skip): %v", err)
		}
		key, val := "pids.max", "17"
		if !m.v2.h.has("pids") {
			sizes, _ := hugePageSizes()
			if !m.v2.h.has("hugetlb") || len(sizes) == 0 {
				t.Skip("cgroup2 holds neither pids nor hugetlb here (reasoned skip)")
			}
			key, val = "hugetlb."+sizes[0]+".max", "8589934592"
		}
		setOrSkip(t, m, &specs.LinuxResources{Unified: map[string]string{key: val}})
		expectFile(t, m.v2.dir, key, val)
		for _, bad := range []string{"../x.max", "nodot", "memory.high"} {
			if _, onV2 := m.v2.h.controllers, m.v2.h.has("memory"); onV2 && bad == "memory.high" {
				continue
			}
			if err := m.Set(&specs.LinuxResources{Unified: map[string]string{bad: "1"}}); err == nil || !strings.Contains(err.Error(), "linux.resources.unified") {
				t.Errorf("unified %q: want an error naming the field, got %v", bad, err)
			}
		}
	})
}

func TestStatsAndOOMRoot(t *testing.T) {
	m := newTestManager(t, "oom")
	if err := m.Apply(-1); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, _, ok := m.controller("memory"); !ok {
		t.Skip("host has no memory controller (reasoned skip)")
	}
	limit := int64(48 << 20)
	setOrSkip(t, m, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit, Swap: &limit}, // no swap: the limit is hard
		Pids:   &specs.LinuxPids{Limit: i64(100)},
	})
	stop := make(chan struct{})
	defer close(stop)
	events, err := m.OOMEvents(stop)
	if err != nil {
		t.Fatalf("OOMEvents: %v", err)
	}
	cmd := startHelper(t, "alloc")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// Usage grows while the helper allocates.
	var peak uint64
	for i := 0; i < 20; i++ {
		s, err := m.Stats()
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if s.Memory.Usage > peak {
			peak = s.Memory.Usage
		}
		if s.Pids.Current == 0 && i == 0 {
			t.Errorf("Stats: pids.current is 0 with a process inside")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if peak < 4<<20 {
		t.Errorf("memory usage did not grow: peak %d", peak)
	}
	select {
	case _, ok := <-events:
		if !ok {
			t.Fatal("OOM channel closed without an event")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no OOM event within 20s")
	}
	waitEmpty(t, m)
	s, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.Memory.Limit != uint64(limit) || s.Pids.Limit != 100 || s.CPU.TotalUsage == 0 {
		t.Errorf("Stats after OOM: memory limit %d pids limit %d cpu %d", s.Memory.Limit, s.Pids.Limit, s.CPU.TotalUsage)
	}
	// Removing the cgroup ends the event stream.
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("OOM channel still open after Destroy")
		}
	}
}

func TestPidsLimitStopsForksRoot(t *testing.T) {
	m := newTestManager(t, "pids")
	if _, _, ok := m.controller("pids"); !ok {
		t.Skip("host has no pids controller (reasoned skip)")
	}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	// Go processes are multi-threaded and pids.max counts threads, so the
	// limit is set from the helper's own task count once it is inside.
	apply := func(pid int) error {
		if err := m.Apply(pid); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		cur, err := readUint(m.pidsDir(), "pids.current")
		if err != nil {
			return err
		}
		return m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(int64(cur))}})
	}
	if code := tryInCgroup(t, apply, "spawn", ""); code != 3 {
		t.Fatalf("spawn under a full pids limit: exit %d, want 3 (refused)", code)
	}
}

func (m *manager) pidsDir() string {
	l, _, _ := m.controller("pids")
	return l.dir
}
