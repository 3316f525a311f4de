// Package cgroups places containers in control groups and limits them.
//
// One Manager owns one container's cgroup (a leaf directory in every
// hierarchy on cgroup v1, one directory on v2, and on hybrid hosts both: each
// controller where it is mounted). It creates and removes only that leaf.
//
// The driver is chosen per controller by probing the host's mounts: a
// controller mounted as a v1 hierarchy is driven through its v1 files; one
// that is only available on the cgroup2 mount is driven through v2 files.
// A pure v2 host therefore uses only v2 code, a pure v1 host only v1 code,
// and a hybrid host (v1 controllers plus a cgroup2 mount holding the rest)
// a mix of both.
package cgroups

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Manager is what libcontainer needs from a cgroup driver.
type Manager interface {
	// Apply creates the container's cgroup (every missing level) and moves
	// pid into it. pid -1 only creates the directories.
	Apply(pid int) error
	// Set writes resource limits. Fields that are nil are left alone.
	// Fields the kernel dropped (memory.kernel, memory.kernelTCP) are
	// ignored and reported through Warnings.
	Set(r *specs.LinuxResources) error
	// Freeze and Thaw stop and restart every process of the cgroup; both
	// return once the kernel reports the state reached.
	Freeze() error
	Thaw() error
	// Frozen reports whether the cgroup is frozen.
	Frozen() (bool, error)
	// Pids lists every process in the cgroup (and its descendants).
	Pids() ([]int, error)
	// Kill sends sig to every process in the cgroup, without letting any
	// of them fork away. A cgroup that no longer exists has nothing to
	// signal and is not an error. SIGKILL also thaws a frozen cgroup so
	// that its processes die.
	Kill(sig os.Signal) error
	// Stats reads usage counters.
	Stats() (*Stats, error)
	// OOMEvents delivers one value per OOM kill in the cgroup until the
	// cgroup is removed or stop is closed.
	OOMEvents(stop <-chan struct{}) (<-chan struct{}, error)
	// Destroy removes the container's leaf directories (and any cgroups
	// the container created below them), retrying while the kernel still
	// reports them busy.
	Destroy() error
	// Paths maps each controller (v1, e.g. "memory", "name=systemd") or ""
	// (the cgroup2 directory) to the directory that holds the container;
	// libcontainer saves it in the state so a later command can rebuild
	// the Manager with Load.
	Paths() map[string]string
	// Mounts describes what a `type: cgroup` mount inside the container
	// must show: one entry per hierarchy the container is in.
	Mounts() []Mount
	// Warnings returns the messages collected so far about settings that
	// were accepted but had no effect (for the caller to log), and clears
	// them.
	Warnings() []string
}

// Mount is one hierarchy as the container should see it under its own
// /sys/fs/cgroup.
type Mount struct {
	// Name is the directory under /sys/fs/cgroup where the host mounts
	// the hierarchy ("cpu", "cpu,cpuacct", "systemd", "unified"). It is ""
	// when the host has only a cgroup2 hierarchy: then it belongs at
	// /sys/fs/cgroup itself.
	Name string
	// Source is the host directory of the container's cgroup in that
	// hierarchy: the thing to bind-mount.
	Source string
	// Version is 1 or 2.
	Version int
	// Controllers lists the v1 controllers of the hierarchy (so a caller
	// can add the usual "cpu" -> "cpu,cpuacct" symlinks); nil on v2.
	Controllers []string
}

// Stats is the subset of cgroup counters events reports.
type Stats struct {
	CPU     CPUStats
	Memory  MemoryStats
	Pids    PidsStats
	Blkio   BlkioStats
	Hugetlb map[string]HugetlbStats // keyed by page size, e.g. "2MB"
}

// CPUStats holds CPU time counters in nanoseconds.
type CPUStats struct {
	TotalUsage  uint64 // ns
	PerCPU      []uint64
	KernelUsage uint64
	UserUsage   uint64
	Periods     uint64
	Throttled   uint64
	ThrottledNs uint64
}

// MemoryStats holds memory counters in bytes. Limits with no limit set are
// reported as the maximum uint64.
type MemoryStats struct {
	Usage, MaxUsage, Limit, Failcnt uint64
	SwapUsage, SwapLimit            uint64
	Cache                           uint64
	Raw                             map[string]uint64
}

// PidsStats holds the number of tasks and the limit (0: unlimited).
type PidsStats struct{ Current, Limit uint64 }

// BlkioEntry is one per-device counter.
type BlkioEntry struct {
	Major, Minor uint64
	Op           string
	Value        uint64
}

// BlkioStats holds per-device I/O counters.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry
	IoServicedRecursive     []BlkioEntry
}

// HugetlbStats holds the counters of one huge page size.
type HugetlbStats struct{ Usage, MaxUsage, Failcnt uint64 }
