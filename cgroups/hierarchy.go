package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/skiff-runtime/skiff/rootfs/mountinfo"
)

// hierarchy is one mounted cgroup hierarchy of the host.
type hierarchy struct {
	// mountpoint is where the host mounts it, e.g. /sys/fs/cgroup/memory.
	mountpoint string
	// root is the cgroup of the hierarchy shown at mountpoint ("/" unless
	// the mount is a bind mount of a subtree or made inside a cgroup
	// namespace). /proc/self/cgroup paths are relative to the hierarchy
	// root, so root is stripped before joining them to mountpoint.
	root string
	// v2 is true for the cgroup2 hierarchy.
	v2 bool
	// controllers are the v1 controllers bound to the hierarchy
	// ("cpu", "cpuacct", "name=systemd"), or the controllers the cgroup2
	// root offers (from cgroup.controllers).
	controllers []string
}

func (h *hierarchy) has(controller string) bool {
	for _, c := range h.controllers {
		if c == controller {
			return true
		}
	}
	return false
}

// v1Controllers is the set of v1 controller names the kernel may list in a
// cgroup mount's super options. Other options (rw, noprefix, xattr, ...)
// are not controllers.
var v1Controllers = map[string]bool{
	"cpuset": true, "cpu": true, "cpuacct": true, "blkio": true,
	"memory": true, "devices": true, "freezer": true, "net_cls": true,
	"perf_event": true, "net_prio": true, "hugetlb": true, "pids": true,
	"rdma": true, "misc": true,
}

// parseMountinfo returns the cgroup hierarchies listed in a
// /proc/<pid>/mountinfo stream, the first mount of each hierarchy only (a
// hierarchy bind-mounted twice is one hierarchy).
func parseMountinfo(r io.Reader) ([]hierarchy, error) {
	var out []hierarchy
	seen := map[string]bool{} // by the major:minor of the superblock
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(s.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(fields) < sep+4 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		dev := fields[2]
		if seen[dev] {
			continue
		}
		seen[dev] = true
		h := hierarchy{
			root:       mountinfo.Unescape(fields[3]),
			mountpoint: mountinfo.Unescape(fields[4]),
			v2:         fstype == "cgroup2",
		}
		if !h.v2 {
			for _, opt := range strings.Split(fields[sep+3], ",") {
				if v1Controllers[opt] || strings.HasPrefix(opt, "name=") {
					h.controllers = append(h.controllers, opt)
				}
			}
			if len(h.controllers) == 0 {
				continue
			}
		}
		out = append(out, h)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// probed caches hostHierarchies: `run` and `list` would otherwise read
// mountinfo and cgroup.controllers again for every Manager they make. The
// host's cgroup mounts do not change under a skiff command.
var probed struct {
	sync.Mutex
	hs []hierarchy
}

// hostHierarchies probes the hierarchies mounted in this process's mount
// namespace, and for cgroup2 which controllers its root offers, once per
// process. Each caller gets its own copy.
func hostHierarchies() ([]hierarchy, error) {
	probed.Lock()
	defer probed.Unlock()
	if probed.hs == nil {
		hs, err := probeHierarchies()
		if err != nil {
			return nil, err
		}
		probed.hs = hs
	}
	out := make([]hierarchy, len(probed.hs))
	for i, h := range probed.hs {
		h.controllers = append([]string(nil), h.controllers...)
		out[i] = h
	}
	return out, nil
}

func probeHierarchies() ([]hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("probe cgroup mounts: %w", err)
	}
	defer f.Close()
	hs, err := parseMountinfo(f)
	if err != nil {
		return nil, err
	}
	for i := range hs {
		if !hs[i].v2 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(hs[i].mountpoint, "cgroup.controllers"))
		if err != nil {
			return nil, fmt.Errorf("probe cgroup2 controllers: %w", err)
		}
		hs[i].controllers = strings.Fields(string(data))
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted (looked for cgroup and cgroup2 in /proc/self/mountinfo)")
	}
	return hs, nil
}

// parseProcCgroup parses /proc/<pid>/cgroup: it maps each v1 controller (and
// "name=..." hierarchy) to the process's cgroup in it, and "" to its
// cgroup2 cgroup.
func parseProcCgroup(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	s := bufio.NewScanner(r)
	for s.Scan() {
		// hierarchy-id:controller-list:path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "" {
				out[c] = parts[2]
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return out, nil
}

func ownCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("find own cgroup: %w", err)
	}
	defer f.Close()
	return parseProcCgroup(f)
}
