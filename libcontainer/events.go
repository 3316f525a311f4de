package libcontainer

import (
	"fmt"
	"time"

	"github.com/skiff-runtime/skiff/cgroups"
)

// Event is one line of `events`, with runc's field names (go-runc and
// containerd decode them).
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats mirrors runc's types.Stats.
type Stats struct {
	CPU     CPU                `json:"cpu"`
	Memory  Memory             `json:"memory"`
	Pids    Pids               `json:"pids"`
	Blkio   Blkio              `json:"blkio"`
	Hugetlb map[string]Hugetlb `json:"hugetlb"`
}

type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
}

type CPUUsage struct {
	Total  uint64   `json:"total,omitempty"`
	Percpu []uint64 `json:"percpu,omitempty"`
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
}

type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type Memory struct {
	Cache uint64            `json:"cache,omitempty"`
	Usage MemoryEntry       `json:"usage,omitempty"`
	Swap  MemoryEntry       `json:"swap,omitempty"`
	Raw   map[string]uint64 `json:"raw,omitempty"`
}

type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// StatsEvent reads the container's counters into one stats event.
func (r *Runtime) StatsEvent(id string) (*Event, error) {
	st, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	if r.Status(st) == StatusStopped {
		return nil, fmt.Errorf("container %q is not running", id)
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return nil, err
	}
	s, err := cg.Stats()
	if err != nil {
		return nil, err
	}
	return &Event{Type: "stats", ID: id, Data: convertStats(s)}, nil
}

func convertStats(s *cgroups.Stats) *Stats {
	out := &Stats{
		CPU: CPU{
			Usage:      CPUUsage{Total: s.CPU.TotalUsage, Percpu: s.CPU.PerCPU, Kernel: s.CPU.KernelUsage, User: s.CPU.UserUsage},
			Throttling: Throttling{Periods: s.CPU.Periods, ThrottledPeriods: s.CPU.Throttled, ThrottledTime: s.CPU.ThrottledNs},
		},
		Memory: Memory{
			Cache: s.Memory.Cache,
			Usage: MemoryEntry{Limit: s.Memory.Limit, Usage: s.Memory.Usage, Max: s.Memory.MaxUsage, Failcnt: s.Memory.Failcnt},
			Swap:  MemoryEntry{Limit: s.Memory.SwapLimit, Usage: s.Memory.SwapUsage},
			Raw:   s.Memory.Raw,
		},
		Pids:    Pids{Current: s.Pids.Current, Limit: s.Pids.Limit},
		Hugetlb: map[string]Hugetlb{},
	}
	for _, e := range s.Blkio.IoServiceBytesRecursive {
		out.Blkio.IoServiceBytesRecursive = append(out.Blkio.IoServiceBytesRecursive, BlkioEntry(e))
	}
	for _, e := range s.Blkio.IoServicedRecursive {
		out.Blkio.IoServicedRecursive = append(out.Blkio.IoServicedRecursive, BlkioEntry(e))
	}
	for size, h := range s.Hugetlb {
		out.Hugetlb[size] = Hugetlb{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return out
}

// WatchEvents sends a stats event every interval and an oom event for each
// OOM kill, until the container stops or stop is closed.
func (r *Runtime) WatchEvents(id string, interval time.Duration, stop <-chan struct{}, emit func(*Event) error) error {
	st, err := r.Load(id)
	if err != nil {
		return err
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return err
	}
	ooms, err := cg.OOMEvents(stop)
	if err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case _, ok := <-ooms:
			if !ok {
				ooms = nil
				continue
			}
			if err := emit(&Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		case <-tick.C:
			if r.Status(st) == StatusStopped {
				return nil
			}
			ev, err := r.StatsEvent(id)
			if err != nil {
				r.Log.Warnf("stats of %s: %v", id, err)
				continue
			}
			if err := emit(ev); err != nil {
				return err
			}
		}
	}
}
