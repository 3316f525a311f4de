package libcontainer

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/cgroups"
)

// cgroupOf rebuilds the Manager of a loaded container.
func cgroupOf(st *State) (cgroups.Manager, error) {
	if len(st.CgroupPaths) == 0 {
		return nil, fmt.Errorf("container %q has no cgroup", st.ID)
	}
	cg, err := cgroups.Load(st.CgroupPaths)
	if err != nil {
		return nil, fmt.Errorf("cgroup of %q: %w", st.ID, err)
	}
	return cg, nil
}

// Pause freezes every process of a running container.
func (r *Runtime) Pause(id string) error {
	st, unlock, err := r.locked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if status := r.Status(st); status != StatusRunning && status != StatusCreated {
		return fmt.Errorf("cannot pause container %q: it is %s", id, status)
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return err
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	st, unlock, err := r.locked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if status := r.Status(st); status != StatusPaused {
		return fmt.Errorf("cannot resume container %q: it is %s, not paused", id, status)
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return err
	}
	return cg.Thaw()
}

// Update changes the resource limits of a live container. Only the fields
// set in res change; the merged result is saved so later updates and
// events see it.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	st, unlock, err := r.locked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if status := r.Status(st); status == StatusStopped {
		return fmt.Errorf("cannot update container %q: it is stopped", id)
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return err
	}
	if err := cg.Set(res); err != nil {
		return fmt.Errorf("update %q: %w", id, err)
	}
	for _, w := range cg.Warnings() {
		r.Log.Warnf("%s", w)
	}
	spec, err := st.Spec()
	if err != nil {
		return err
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	MergeResources(spec.Linux.Resources, res)
	if err := st.setSpec(spec); err != nil {
		return err
	}
	return r.store().save(st)
}

// Pids lists the container's processes (host pids).
func (r *Runtime) Pids(id string) ([]int, error) {
	st, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	cg, err := cgroupOf(st)
	if err != nil {
		return nil, err
	}
	return cg.Pids()
}

// MergeResources copies every field set in src over dst.
func MergeResources(dst, src *specs.LinuxResources) {
	if src.Memory != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		m, s := dst.Memory, src.Memory
		setIf(&m.Limit, s.Limit)
		setIf(&m.Reservation, s.Reservation)
		setIf(&m.Swap, s.Swap)
		setIf(&m.Kernel, s.Kernel)
		setIf(&m.KernelTCP, s.KernelTCP)
		setIf(&m.Swappiness, s.Swappiness)
		setIf(&m.DisableOOMKiller, s.DisableOOMKiller)
		setIf(&m.UseHierarchy, s.UseHierarchy)
		setIf(&m.CheckBeforeUpdate, s.CheckBeforeUpdate)
	}
	if src.CPU != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		c, s := dst.CPU, src.CPU
		setIf(&c.Shares, s.Shares)
		setIf(&c.Quota, s.Quota)
		setIf(&c.Burst, s.Burst)
		setIf(&c.Period, s.Period)
		setIf(&c.RealtimeRuntime, s.RealtimeRuntime)
		setIf(&c.RealtimePeriod, s.RealtimePeriod)
		setIf(&c.Idle, s.Idle)
		if s.Cpus != "" {
			c.Cpus = s.Cpus
		}
		if s.Mems != "" {
			c.Mems = s.Mems
		}
	}
	if src.Pids != nil {
		if dst.Pids == nil {
			dst.Pids = &specs.LinuxPids{}
		}
		setIf(&dst.Pids.Limit, src.Pids.Limit)
	}
	if src.BlockIO != nil {
		if dst.BlockIO == nil {
			dst.BlockIO = &specs.LinuxBlockIO{}
		}
		setIf(&dst.BlockIO.Weight, src.BlockIO.Weight)
		setIf(&dst.BlockIO.LeafWeight, src.BlockIO.LeafWeight)
		b, s := dst.BlockIO, src.BlockIO
		if s.WeightDevice != nil {
			b.WeightDevice = s.WeightDevice
		}
		if s.ThrottleReadBpsDevice != nil {
			b.ThrottleReadBpsDevice = s.ThrottleReadBpsDevice
		}
		if s.ThrottleWriteBpsDevice != nil {
			b.ThrottleWriteBpsDevice = s.ThrottleWriteBpsDevice
		}
		if s.ThrottleReadIOPSDevice != nil {
			b.ThrottleReadIOPSDevice = s.ThrottleReadIOPSDevice
		}
		if s.ThrottleWriteIOPSDevice != nil {
			b.ThrottleWriteIOPSDevice = s.ThrottleWriteIOPSDevice
		}
	}
	if src.Devices != nil {
		dst.Devices = src.Devices
	}
	if src.HugepageLimits != nil {
		dst.HugepageLimits = src.HugepageLimits
	}
	if src.Network != nil {
		dst.Network = src.Network
	}
	if src.Rdma != nil {
		dst.Rdma = src.Rdma
	}
	if src.Unified != nil {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		for k, v := range src.Unified {
			dst.Unified[k] = v
		}
	}
}

func setIf[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}
