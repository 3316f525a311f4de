package cgroups

import (
	"fmt"
	"path/filepath"
	"strings"
)

// defaultParent is where containers go when the config names no cgroup.
const defaultParent = "/skiff"

// cgroupPath turns linux.cgroupsPath into the cgroup (relative to the
// hierarchy root, always absolute and clean) the container gets in one
// hierarchy whose processes' own cgroup is ownCgroup:
//   - "" means /skiff/<id>;
//   - an absolute path is taken from the hierarchy root;
//   - a relative path is taken under the runtime's own cgroup, as runc does.
//
// Cleaning first means ".." can never climb above the hierarchy root.
func cgroupPath(cgroupsPath, id, ownCgroup string) (string, error) {
	var p string
	switch {
	case cgroupsPath == "":
		if id == "" || strings.Contains(id, "/") || id == "." || id == ".." {
			return "", fmt.Errorf("cgroup path: container id %q cannot name a cgroup", id)
		}
		p = filepath.Join(defaultParent, id)
	case filepath.IsAbs(cgroupsPath):
		p = filepath.Clean(cgroupsPath)
	default:
		if ownCgroup == "" {
			ownCgroup = "/"
		}
		p = filepath.Join("/", ownCgroup, cgroupsPath)
	}
	if p == "/" {
		return "", fmt.Errorf("cgroup path %q: the container cannot use the root cgroup", cgroupsPath)
	}
	return p, nil
}

// dirOf returns the host directory of cgroup cg (relative to the hierarchy
// root) in hierarchy h.
func dirOf(h hierarchy, cg string) string {
	return filepath.Join(h.mountpoint, cg)
}

// ownCgroupIn returns the runtime's own cgroup in h, relative to what is
// visible at h.mountpoint: /proc/self/cgroup reports paths from the
// hierarchy root, and a mount of a subtree (root != "/") shows only what is
// below its root.
func ownCgroupIn(h hierarchy, own map[string]string) string {
	key := ""
	if !h.v2 {
		key = h.controllers[0]
	}
	p, ok := own[key]
	if !ok {
		return "/"
	}
	if h.root != "/" && h.root != "" {
		if rel, err := filepath.Rel(h.root, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join("/", rel)
		}
	}
	return p
}
