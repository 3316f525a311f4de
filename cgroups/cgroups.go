// Package cgroups places containers in control groups and limits them.
//
// One Manager owns one container's cgroup (a leaf directory in every
// hierarchy on cgroup v1, one directory on v2, and on hybrid hosts both: each
// controller where it is mounted). It creates and removes only that leaf.
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
	Set(r *specs.LinuxResources) error
	// Freeze and Thaw stop and restart every process of the cgroup.
	Freeze() error
	Thaw() error
	// Frozen reports whether the cgroup is frozen.
	Frozen() (bool, error)
	// Pids lists every process in the cgroup (and its descendants).
	Pids() ([]int, error)
	// Kill sends sig to every process in the cgroup, without letting any
	// of them fork away.
	Kill(sig os.Signal) error
	// Stats reads usage counters.
	Stats() (*Stats, error)
	// OOMEvents delivers one value per OOM kill in the cgroup until the
	// cgroup is removed or stop is closed.
	OOMEvents(stop <-chan struct{}) (<-chan struct{}, error)
	// Destroy removes the container's leaf directories, retrying while the
	// kernel still reports them busy.
	Destroy() error
	// Paths maps each controller (v1) or "" (v2 unified) to the directory
	// that holds the container; libcontainer saves it in the state so a
	// later command can rebuild the Manager with Load.
	Paths() map[string]string
}

// Stats is the subset of cgroup counters events reports.
type Stats struct {
	CPU     CPUStats
	Memory  MemoryStats
	Pids    PidsStats
	Blkio   BlkioStats
	Hugetlb map[string]HugetlbStats
}

type CPUStats struct {
	TotalUsage  uint64 // ns
	PerCPU      []uint64
	KernelUsage uint64
	UserUsage   uint64
	Periods     uint64
	Throttled   uint64
	ThrottledNs uint64
}

type MemoryStats struct {
	Usage, MaxUsage, Limit, Failcnt uint64
	SwapUsage, SwapLimit            uint64
	Cache                           uint64
	Raw                             map[string]uint64
}

type PidsStats struct{ Current, Limit uint64 }

type BlkioEntry struct {
	Major, Minor uint64
	Op           string
	Value        uint64
}

type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry
	IoServicedRecursive     []BlkioEntry
}

type HugetlbStats struct{ Usage, MaxUsage, Failcnt uint64 }
