package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// leaf is the container's cgroup in one hierarchy.
type leaf struct {
	h   hierarchy
	dir string // host directory, under h.mountpoint
}

// manager implements Manager for v1, v2 and hybrid hosts alike: each
// controller is driven where the host mounts it.
type manager struct {
	leaves []leaf
	// v1 maps a v1 controller ("memory", "name=systemd") to its leaf.
	v1 map[string]*leaf
	// v2 is the cgroup2 leaf, nil when the host has no cgroup2 mount.
	v2 *leaf

	// devicesApplied is set once device rules are in place; a Manager
	// from New starts without, so its first Set always applies them.
	devicesApplied bool

	mu       sync.Mutex
	warnings []string
}

var _ Manager = (*manager)(nil)

// New returns the Manager for the container id whose config names
// cgroupsPath (linux.cgroupsPath): "" means /skiff/<id>, an absolute path
// is taken from each hierarchy's root, a relative one under the runtime's
// own cgroup. It probes the host's mounts but creates nothing: Apply does.
// systemd-style "slice:prefix:name" paths are the caller's to reject.
func New(cgroupsPath, id string) (Manager, error) {
	hs, err := hostHierarchies()
	if err != nil {
		return nil, err
	}
	var own map[string]string
	if cgroupsPath != "" && !filepath.IsAbs(cgroupsPath) {
		if own, err = ownCgroups(); err != nil {
			return nil, err
		}
	}
	leaves := make([]leaf, 0, len(hs))
	for _, h := range hs {
		cg, err := cgroupPath(cgroupsPath, id, ownCgroupIn(h, own))
		if err != nil {
			return nil, err
		}
		leaves = append(leaves, leaf{h: h, dir: dirOf(h, cg)})
	}
	return newManager(leaves), nil
}

// Load rebuilds the Manager whose Paths() returned paths, typically in a
// later process reading the container state. The host's mounts are probed
// again; every path must still lie in a mounted hierarchy.
func Load(paths map[string]string) (Manager, error) {
	if len(paths) == 0 {
		return nil, errors.New("load cgroup: no cgroup paths saved")
	}
	if _, ok := paths[PathsUnitKey]; ok {
		return loadSystemd(paths)
	}
	hs, err := hostHierarchies()
	if err != nil {
		return nil, err
	}
	var leaves []leaf
	done := map[string]bool{} // by mountpoint: combined v1 hierarchies appear once per controller
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		dir := filepath.Clean(paths[key])
		h, ok := findHierarchy(hs, key)
		if !ok {
			name := key
			if key == "" {
				name = "cgroup2"
			}
			return nil, fmt.Errorf("load cgroup %s: the %s hierarchy is no longer mounted", dir, name)
		}
		if rel, err := filepath.Rel(h.mountpoint, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("load cgroup: %s is not a cgroup below %s", dir, h.mountpoint)
		}
		if done[h.mountpoint] {
			continue
		}
		done[h.mountpoint] = true
		leaves = append(leaves, leaf{h: h, dir: dir})
	}
	m := newManager(leaves)
	m.devicesApplied = true // already set up by the process that created it
	return m, nil
}

func findHierarchy(hs []hierarchy, key string) (hierarchy, bool) {
	for _, h := range hs {
		if key == "" && h.v2 || key != "" && !h.v2 && h.has(key) {
			return h, true
		}
	}
	return hierarchy{}, false
}

func newManager(leaves []leaf) *manager {
	m := &manager{leaves: leaves, v1: map[string]*leaf{}}
	for i := range m.leaves {
		l := &m.leaves[i]
		if l.h.v2 {
			m.v2 = l
			continue
		}
		for _, c := range l.h.controllers {
			m.v1[c] = l
		}
	}
	return m
}

// controller returns the leaf that drives controller and whether it is the
// v2 one: the v1 hierarchy when the host mounts one for it, else the
// cgroup2 leaf when its root offers the controller.
func (m *manager) controller(name string) (l *leaf, v2 bool, ok bool) {
	if l, ok := m.v1[name]; ok {
		return l, false, true
	}
	if m.v2 != nil && m.v2.h.has(name) {
		return m.v2, true, true
	}
	return nil, false, false
}

// primary is the leaf whose cgroup.procs lists the container's processes:
// the freezer hierarchy on v1 (what Freeze acts on), else cgroup2.
func (m *manager) primary() *leaf {
	if l, ok := m.v1["freezer"]; ok {
		return l
	}
	if m.v2 != nil {
		return m.v2
	}
	for _, c := range []string{"pids", "memory", "cpu"} {
		if l, ok := m.v1[c]; ok {
			return l
		}
	}
	return &m.leaves[0]
}

func (m *manager) warn(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.warnings = append(m.warnings, fmt.Sprintf(format, args...))
}

func (m *manager) Warnings() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.warnings
	m.warnings = nil
	return w
}

func (m *manager) Paths() map[string]string {
	out := map[string]string{}
	for _, l := range m.leaves {
		if l.h.v2 {
			out[""] = l.dir
			continue
		}
		for _, c := range l.h.controllers {
			out[c] = l.dir
		}
	}
	return out
}

func (m *manager) Mounts() []Mount {
	onlyV2 := len(m.v1) == 0
	out := make([]Mount, 0, len(m.leaves))
	for _, l := range m.leaves {
		mt := Mount{Name: filepath.Base(l.h.mountpoint), Source: l.dir, Version: 1}
		if l.h.v2 {
			mt.Version = 2
			if onlyV2 {
				mt.Name = ""
			}
		} else {
			mt.Controllers = append([]string(nil), l.h.controllers...)
		}
		out = append(out, mt)
	}
	return out
}

// Apply creates every missing level of the container's cgroup in every
// hierarchy and moves pid into it. On error the caller should Destroy: a
// partly applied cgroup is still the container's own.
func (m *manager) Apply(pid int) error {
	for i := range m.leaves {
		l := &m.leaves[i]
		if pid != -1 {
			// Joining a cgroup that exists (exec, the init at ready)
			// is one write; only a missing one is made first, level
			// by level.
			err := writeFile(l.dir, "cgroup.procs", strconv.Itoa(pid))
			if err == nil {
				continue
			}
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("move pid %d into cgroup: %w", pid, err)
			}
		}
		if err := m.create(l); err != nil {
			return err
		}
		if pid == -1 {
			continue
		}
		if err := writeFile(l.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("move pid %d into cgroup: %w", pid, err)
		}
	}
	return nil
}

// create makes every missing level from the hierarchy root down to the
// leaf, preparing each as the hierarchy requires.
func (m *manager) create(l *leaf) error {
	rel, err := filepath.Rel(l.h.mountpoint, l.dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("create cgroup %s: not below %s", l.dir, l.h.mountpoint)
	}
	enable := m.v2Controllers()
	cur := l.h.mountpoint
	for _, part := range strings.Split(rel, "/") {
		parent := cur
		cur = filepath.Join(cur, part)
		if l.h.v2 {
			// A controller is usable in a v2 cgroup only when every
			// ancestor enables it for its children.
			m.enableSubtree(parent, enable)
		}
		if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", cur, unwrapPathError(err))
		}
		if !l.h.v2 && l.h.has("cpuset") {
			if err := inheritCpuset(parent, cur); err != nil {
				return err
			}
		}
	}
	return nil
}

// v2Controllers lists the cgroup2 controllers the container needs enabled:
// those its root offers and no v1 hierarchy already drives.
func (m *manager) v2Controllers() []string {
	if m.v2 == nil {
		return nil
	}
	var out []string
	for _, c := range m.v2.h.controllers {
		if _, ok := m.v1[c]; !ok {
			out = append(out, c)
		}
	}
	return out
}

// enableSubtree enables controllers for the children of dir. One write
// enables all at once; when the kernel refuses (a controller busy or
// unavailable there), each is tried alone and the ones that fail are
// reported as warnings: Set reports a clear error later if the config needs
// one of them.
func (m *manager) enableSubtree(dir string, controllers []string) {
	if len(controllers) == 0 {
		return
	}
	cur, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		m.warn("%v", err)
		return
	}
	enabled := map[string]bool{}
	for _, c := range strings.Fields(cur) {
		enabled[c] = true
	}
	var missing []string
	for _, c := range controllers {
		if !enabled[c] {
			missing = append(missing, "+"+c)
		}
	}
	if len(missing) == 0 {
		return
	}
	if err := writeFile(dir, "cgroup.subtree_control", strings.Join(missing, " ")); err == nil {
		return
	}
	for _, c := range missing {
		if err := writeFile(dir, "cgroup.subtree_control", c); err != nil {
			m.warn("enable controller %s: %v", c[1:], err)
		}
	}
}

// inheritCpuset copies cpuset.cpus and cpuset.mems from parent into dir
// when dir has none: a v1 cpuset cgroup starts empty, and attaching a
// process to an empty cpuset fails with ENOSPC.
func inheritCpuset(parent, dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readFile(dir, f)
		if err != nil {
			return err
		}
		if strings.TrimSpace(cur) != "" {
			continue
		}
		val, err := readFile(parent, f)
		if err != nil {
			return err
		}
		if err := writeFile(dir, f, val); err != nil {
			return err
		}
	}
	return nil
}
