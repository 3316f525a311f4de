package cgroups

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (m *manager) setPids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	l, _, err := m.need("pids.limit", "pids")
	if err != nil {
		return err
	}
	// Negative is unlimited. 0 is taken literally (runtime-spec 1.3 made
	// the field optional, so "unset" is nil, not 0), as runc 1.4 does.
	return setField("pids.limit", l.dir, "pids.max", v2Limit(*r.Pids.Limit))
}

func (m *manager) setHugepages(r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	l, v2, err := m.need("hugepageLimits", "hugetlb")
	if err != nil {
		return err
	}
	limitFile, rsvdFile := "hugetlb.%s.limit_in_bytes", "hugetlb.%s.rsvd.limit_in_bytes"
	if v2 {
		limitFile, rsvdFile = "hugetlb.%s.max", "hugetlb.%s.rsvd.max"
	}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		if h.Pagesize == "" || strings.ContainsAny(h.Pagesize, "/. ") {
			return fieldErr(field+".pageSize", fmt.Errorf("invalid page size %q", h.Pagesize))
		}
		v := strconv.FormatUint(h.Limit, 10)
		if err := setField(field, l.dir, fmt.Sprintf(limitFile, h.Pagesize), v); err != nil {
			return err
		}
		// The spec asks for reservation limits where the kernel has
		// them (5.7+); they keep a process from reserving pages it
		// could only fault in past the limit.
		if rsvd := fmt.Sprintf(rsvdFile, h.Pagesize); exists(l.dir, rsvd) {
			if err := setField(field, l.dir, rsvd, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *manager) setNetwork(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil || (n.ClassID == nil && len(n.Priorities) == 0) {
		return nil
	}
	if m.v2 != nil && len(m.v1) == 0 {
		return fieldErr("network", fmt.Errorf("%w: cgroup v2 has no net_cls/net_prio controllers (use eBPF or tc in the network namespace instead)", ErrNotSupported))
	}
	if n.ClassID != nil {
		l, ok := m.v1["net_cls"]
		if !ok {
			return fieldErr("network.classID", fmt.Errorf("%w: the host mounts no net_cls cgroup hierarchy", ErrNotSupported))
		}
		if err := setField("network.classID", l.dir, "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10)); err != nil {
			return err
		}
	}
	if len(n.Priorities) > 0 {
		l, ok := m.v1["net_prio"]
		if !ok {
			return fieldErr("network.priorities", fmt.Errorf("%w: the host mounts no net_prio cgroup hierarchy", ErrNotSupported))
		}
		for i, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n") {
				return fieldErr(fmt.Sprintf("network.priorities[%d].name", i), fmt.Errorf("invalid interface name %q", p.Name))
			}
			v := p.Name + " " + strconv.FormatUint(uint64(p.Priority), 10)
			if err := setField(fmt.Sprintf("network.priorities[%d]", i), l.dir, "net_prio.ifpriomap", v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *manager) setRdma(r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	l, _, err := m.need("rdma", "rdma")
	if err != nil {
		return err
	}
	devs := make([]string, 0, len(r.Rdma))
	for d := range r.Rdma {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		line, err := rdmaLine(d, r.Rdma[d])
		if err != nil {
			return fieldErr("rdma["+d+"]", err)
		}
		if line == "" {
			continue
		}
		if err := setField("rdma["+d+"]", l.dir, "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}

// rdmaLine formats one rdma.max command (same syntax on v1 and v2).
func rdmaLine(dev string, lim specs.LinuxRdma) (string, error) {
	if dev == "" || strings.ContainsAny(dev, " \n=") {
		return "", fmt.Errorf("invalid device name %q", dev)
	}
	var parts []string
	if lim.HcaHandles != nil {
		parts = append(parts, "hca_handle="+strconv.FormatUint(uint64(*lim.HcaHandles), 10))
	}
	if lim.HcaObjects != nil {
		parts = append(parts, "hca_object="+strconv.FormatUint(uint64(*lim.HcaObjects), 10))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return dev + " " + strings.Join(parts, " "), nil
}

// setUnified writes linux.resources.unified: raw cgroup2 files, so only
// where there is a cgroup2 leaf. On a hybrid host that means the files of
// the controllers cgroup2 holds (hugetlb here) and the core files.
func (m *manager) setUnified(r *specs.LinuxResources) error {
	if len(r.Unified) == 0 {
		return nil
	}
	if m.v2 == nil {
		return fieldErr("unified", fmt.Errorf("%w: unified keys are cgroup v2 files and this host has no cgroup2 mount", ErrNotSupported))
	}
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := "unified[" + strconv.Quote(k) + "]"
		if k == "" || strings.ContainsAny(k, "/\x00") || strings.HasPrefix(k, ".") || !strings.Contains(k, ".") {
			return fieldErr(field, fmt.Errorf("%q is not a cgroup file name", k))
		}
		if ctrl, _, _ := strings.Cut(k, "."); ctrl != "cgroup" && !m.v2.h.has(ctrl) {
			where := "this host's cgroup2"
			if _, onV1 := m.v1[ctrl]; onV1 {
				where += " (the host mounts " + ctrl + " as a v1 hierarchy)"
			}
			return fieldErr(field, fmt.Errorf("%w: controller %s is not in %s", ErrNotSupported, ctrl, where))
		}
		if err := setField(field, m.v2.dir, k, r.Unified[k]); err != nil {
			return err
		}
	}
	return nil
}
