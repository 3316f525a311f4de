package main

import (
	"os"
	"path/filepath"
	"strings"
)

// The cgroup paths the runtime-tools v0.9.0 programs ask for
// (cgroups.AbsCgroupPath and cgroups.RelCgroupPath). A runtime leaves the
// parents of a relative path behind (they are not the container's), and a
// failed create can leave the container's own. Deepest first.
var leftoverCgroups = []string{
	"testdir/cgrouptest/container",
	"testdir/cgrouptest",
	"testdir",
	"cgrouptest",
}

// cleanCgroups removes those cgroups, in every mounted hierarchy, at the root
// and under the cgroups of this process (where relative paths end up). rmdir
// of a cgroup that still has processes or children fails, so nothing in use
// is removed, and no process is touched.
func cleanCgroups() int {
	mounts := cgroupMounts()
	var own []string
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if f := strings.SplitN(line, ":", 3); len(f) == 3 && f[2] != "/" {
				own = append(own, f[2])
			}
		}
	}
	n := 0
	for _, mp := range mounts {
		bases := []string{mp}
		for _, p := range own {
			if st, err := os.Stat(filepath.Join(mp, p)); err == nil && st.IsDir() {
				bases = append(bases, filepath.Join(mp, p))
			}
		}
		for _, b := range bases {
			for _, rel := range leftoverCgroups {
				if err := os.Remove(filepath.Join(b, rel)); err == nil {
					n++
				}
			}
		}
	}
	return n
}

func cgroupMounts() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		i := strings.Index(line, " - ")
		if i < 0 {
			continue
		}
		f := strings.Fields(line[:i])
		g := strings.Fields(line[i+3:])
		if len(f) < 5 || len(g) < 1 {
			continue
		}
		if g[0] == "cgroup" || g[0] == "cgroup2" {
			out = append(out, unescapeMountinfo(f[4]))
		}
	}
	return out
}
