package cgroups

import (
	"path/filepath"
	"sort"
	"strings"
)

// PrimeMigration lets the next move of a process into a cgroup skip most
// of its wait. It is meant to run on a goroutine of its own a few
// milliseconds before that move.
//
// Every write to cgroup.procs takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell first waits for an RCU grace period (rcu_sync_enter): about 2.5 ms
// here, on the critical path of every create and exec while the
// container's process waits to be moved (perf sched, issue 8). A writer
// that follows within about a grace period does not wait. PrimeMigration
// is such a first writer: it moves this process into the cgroup it is
// already in, which changes nothing, while the caller goes on with work
// it does anyway.
//
// It writes only where /proc/self/cgroup names this process's own cgroup,
// preferring hierarchies whose controllers have nothing to do on attach
// (never memory or cpuset), and gives up silently: the real move then
// still works, only slower.
func PrimeMigration() {
	hs, err := hostHierarchies()
	if err != nil {
		return
	}
	own, err := ownCgroups()
	if err != nil {
		return
	}
	sort.SliceStable(hs, func(i, j int) bool { return primeRank(hs[i]) < primeRank(hs[j]) })
	for _, h := range hs {
		if h.has("memory") || h.has("cpuset") {
			continue
		}
		dir, ok := ownDirIn(h, own)
		if !ok {
			continue
		}
		// "0" is the writing process itself.
		if writeFile(dir, "cgroup.procs", "0") == nil {
			return
		}
	}
}

// primeRank orders hierarchies for PrimeMigration: cgroup2, then v1
// hierarchies without resource controllers, then the rest.
func primeRank(h hierarchy) int {
	switch {
	case h.v2:
		return 0
	case h.has("pids") || h.has("freezer") || h.has("devices") || strings.HasPrefix(strings.Join(h.controllers, ","), "name="):
		return 1
	}
	return 2
}

// ownDirIn returns the directory of this process's cgroup in h, if
// /proc/self/cgroup lists it and the mount of h shows it.
func ownDirIn(h hierarchy, own map[string]string) (string, bool) {
	key := ""
	if !h.v2 {
		if len(h.controllers) == 0 {
			return "", false
		}
		key = h.controllers[0]
	}
	p, ok := own[key]
	if !ok || !filepath.IsAbs(p) {
		return "", false
	}
	if h.root != "/" && h.root != "" {
		rel, err := filepath.Rel(h.root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", false
		}
		p = filepath.Join("/", rel)
	}
	return dirOf(h, p), true
}
