package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stats reads the counters of every controller the host has, each from
// where it is driven. A controller or file the host lacks leaves its
// counters zero; any other read failure is an error.
func (m *manager) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: map[string]HugetlbStats{}}
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if l, ok := m.v1["cpuacct"]; ok {
		keep(cpuStatsV1(l.dir, &s.CPU))
		if c, ok := m.v1["cpu"]; ok {
			keep(cpuThrottleV1(c.dir, &s.CPU))
		}
	} else if m.v2 != nil {
		keep(cpuStatsV2(m.v2.dir, &s.CPU))
	}
	if l, v2, ok := m.controller("memory"); ok {
		if v2 {
			keep(memoryStatsV2(l.dir, &s.Memory))
		} else {
			keep(memoryStatsV1(l.dir, &s.Memory))
		}
	}
	if l, _, ok := m.controller("pids"); ok {
		keep(pidsStats(l.dir, &s.Pids))
	}
	if l, ok := m.v1["blkio"]; ok {
		keep(blkioStatsV1(l.dir, &s.Blkio))
	} else if l, _, ok := m.controller("io"); ok {
		keep(ioStatsV2(l.dir, &s.Blkio))
	}
	if l, v2, ok := m.controller("hugetlb"); ok {
		keep(hugetlbStats(l.dir, v2, s.Hugetlb))
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

// readKeyValues parses "key value" lines (cpu.stat, memory.stat,
// memory.events, cpuacct.stat).
func readKeyValues(dir, name string) (map[string]uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	return parseKeyValues(s), nil
}

func parseKeyValues(s string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if v, err := parseUint(f[1]); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

func cpuStatsV1(dir string, c *CPUStats) error {
	var err error
	if c.TotalUsage, err = readUint(dir, "cpuacct.usage"); err != nil {
		return err
	}
	if s, err := readFile(dir, "cpuacct.usage_percpu"); err == nil {
		for _, f := range strings.Fields(s) {
			v, _ := strconv.ParseUint(f, 10, 64)
			c.PerCPU = append(c.PerCPU, v)
		}
	}
	// cpuacct.usage_user/_sys are in ns but not on every kernel;
	// cpuacct.stat (ticks) is.
	if kv, err := readKeyValues(dir, "cpuacct.stat"); err == nil {
		c.UserUsage = kv["user"] * (1e9 / userHZ)
		c.KernelUsage = kv["system"] * (1e9 / userHZ)
	}
	return nil
}

func cpuThrottleV1(dir string, c *CPUStats) error {
	kv, err := readKeyValues(dir, "cpu.stat")
	if err != nil {
		return err
	}
	c.Periods, c.Throttled, c.ThrottledNs = kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]
	return nil
}

func cpuStatsV2(dir string, c *CPUStats) error {
	kv, err := readKeyValues(dir, "cpu.stat")
	if err != nil {
		return err
	}
	c.TotalUsage = kv["usage_usec"] * 1000
	c.UserUsage = kv["user_usec"] * 1000
	c.KernelUsage = kv["system_usec"] * 1000
	c.Periods, c.Throttled, c.ThrottledNs = kv["nr_periods"], kv["nr_throttled"], kv["throttled_usec"]*1000
	return nil
}

func memoryStatsV1(dir string, mem *MemoryStats) error {
	var err error
	if mem.Usage, err = readUint(dir, "memory.usage_in_bytes"); err != nil {
		return err
	}
	mem.MaxUsage, _ = readUint(dir, "memory.max_usage_in_bytes")
	mem.Limit, _ = readUint(dir, "memory.limit_in_bytes")
	mem.Failcnt, _ = readUint(dir, "memory.failcnt")
	// memsw counts memory+swap, as the OCI swap field does; runc reports
	// it as the swap figures.
	mem.SwapUsage, _ = readUint(dir, "memory.memsw.usage_in_bytes")
	mem.SwapLimit, _ = readUint(dir, "memory.memsw.limit_in_bytes")
	if mem.Raw, err = readKeyValues(dir, "memory.stat"); err != nil {
		return err
	}
	mem.Cache = mem.Raw["total_cache"]
	if mem.Cache == 0 {
		mem.Cache = mem.Raw["cache"]
	}
	return nil
}

func memoryStatsV2(dir string, mem *MemoryStats) error {
	var err error
	if mem.Usage, err = readUint(dir, "memory.current"); err != nil {
		return err
	}
	mem.MaxUsage, _ = readUint(dir, "memory.peak") // Linux 5.19+
	mem.Limit, _ = readUint(dir, "memory.max")
	if ev, err := readKeyValues(dir, "memory.events"); err == nil {
		mem.Failcnt = ev["max"]
	}
	mem.SwapUsage, _ = readUint(dir, "memory.swap.current")
	mem.SwapLimit, _ = readUint(dir, "memory.swap.max")
	if mem.Raw, err = readKeyValues(dir, "memory.stat"); err != nil {
		return err
	}
	mem.Cache = mem.Raw["file"]
	return nil
}

func pidsStats(dir string, p *PidsStats) error {
	var err error
	if p.Current, err = readUint(dir, "pids.current"); err != nil {
		return err
	}
	if p.Limit, err = readUint(dir, "pids.max"); err != nil {
		return err
	}
	if p.Limit == ^uint64(0) {
		p.Limit = 0 // unlimited
	}
	return nil
}

// parseBlkioV1 parses blkio.throttle.* files: "8:0 Read 4096" lines and
// a final "Total N".
func parseBlkioV1(s string) []BlkioEntry {
	var out []BlkioEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, min, ok := parseDevice(f[0])
		v, err := strconv.ParseUint(f[2], 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, BlkioEntry{Major: maj, Minor: min, Op: f[1], Value: v})
	}
	return out
}

func parseDevice(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, err1 == nil && err2 == nil
}

func blkioStatsV1(dir string, b *BlkioStats) error {
	s, err := readFile(dir, "blkio.throttle.io_service_bytes_recursive")
	if err != nil {
		return err
	}
	b.IoServiceBytesRecursive = parseBlkioV1(s)
	if s, err = readFile(dir, "blkio.throttle.io_serviced_recursive"); err != nil {
		return err
	}
	b.IoServicedRecursive = parseBlkioV1(s)
	return nil
}

// parseIOStatV2 turns io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...")
// into the v1-shaped entries events reports.
func parseIOStatV2(s string) (bytes, ios []BlkioEntry) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := parseDevice(f[0])
		if !ok {
			continue
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: min, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				bytes = append(bytes, e)
			case "wbytes":
				e.Op = "Write"
				bytes = append(bytes, e)
			case "rios":
				e.Op = "Read"
				ios = append(ios, e)
			case "wios":
				e.Op = "Write"
				ios = append(ios, e)
			}
		}
	}
	return bytes, ios
}

func ioStatsV2(dir string, b *BlkioStats) error {
	s, err := readFile(dir, "io.stat")
	if err != nil {
		return err
	}
	b.IoServiceBytesRecursive, b.IoServicedRecursive = parseIOStatV2(s)
	return nil
}

// hugePageSizes lists the huge page sizes of the host in the notation of
// cgroup file names ("2MB", "1GB"), from /sys/kernel/mm/hugepages.
func hugePageSizes() ([]string, error) {
	entries, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if s, ok := pageSizeName(e.Name()); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// pageSizeName turns "hugepages-2048kB" into "2MB".
func pageSizeName(dir string) (string, bool) {
	s, ok := strings.CutPrefix(dir, "hugepages-")
	if !ok {
		return "", false
	}
	kb, ok := strings.CutSuffix(s, "kB")
	if !ok {
		return "", false
	}
	n, err := strconv.ParseUint(kb, 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	for _, unit := range []string{"KB", "MB", "GB", "TB"} {
		if n < 1024 || n%1024 != 0 {
			return strconv.FormatUint(n, 10) + unit, true
		}
		n /= 1024
	}
	return strconv.FormatUint(n, 10) + "PB", true
}

func hugetlbStats(dir string, v2 bool, out map[string]HugetlbStats) error {
	sizes, err := hugePageSizes()
	if err != nil {
		return err
	}
	for _, size := range sizes {
		var h HugetlbStats
		p := "hugetlb." + size + "."
		if v2 {
			h.Usage, err = readUint(dir, p+"current")
			if ev, e := readKeyValues(dir, p+"events"); e == nil {
				h.Failcnt = ev["max"]
			}
		} else {
			h.Usage, err = readUint(dir, p+"usage_in_bytes")
			h.MaxUsage, _ = readUint(dir, p+"max_usage_in_bytes")
			h.Failcnt, _ = readUint(dir, p+"failcnt")
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return err
		}
		out[size] = h
	}
	return nil
}
