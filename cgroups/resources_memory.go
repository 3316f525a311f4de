package cgroups

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func memorySet(r *specs.LinuxMemory) bool {
	return r != nil && (r.Limit != nil || r.Reservation != nil || r.Swap != nil ||
		r.Swappiness != nil || r.DisableOOMKiller != nil || r.UseHierarchy != nil)
}

func (m *manager) setMemory(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	// Current kernels dropped kernel memory limits; runc ignores them too.
	if mem.Kernel != nil {
		m.warn("linux.resources.memory.kernel is ignored: current kernels have no kernel memory limit")
	}
	if mem.KernelTCP != nil && !m.setKernelTCP(*mem.KernelTCP) {
		m.warn("linux.resources.memory.kernelTCP is ignored: this kernel has no kernel TCP memory limit")
	}
	if !memorySet(mem) {
		return nil
	}
	l, v2, err := m.need("memory", "memory")
	if err != nil {
		return err
	}
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate && mem.Limit != nil && *mem.Limit > 0 {
		usageFile := "memory.usage_in_bytes"
		if v2 {
			usageFile = "memory.current"
		}
		if usage, err := readUint(l.dir, usageFile); err == nil && uint64(*mem.Limit) < usage {
			return fieldErr("memory.limit", fmt.Errorf("new limit %d is below the current usage %d (checkBeforeUpdate)", *mem.Limit, usage))
		}
	}
	if v2 {
		return m.setMemoryV2(l.dir, mem)
	}
	return setMemoryV1(l.dir, mem)
}

func setMemoryV1(dir string, mem *specs.LinuxMemory) error {
	if err := setMemoryLimitsV1(dir, mem.Limit, mem.Swap); err != nil {
		return err
	}
	if mem.Reservation != nil {
		if err := setField("memory.reservation", dir, "memory.soft_limit_in_bytes", strconv.FormatInt(*mem.Reservation, 10)); err != nil {
			return err
		}
	}
	if mem.Swappiness != nil {
		if *mem.Swappiness > 100 {
			return fieldErr("memory.swappiness", fmt.Errorf("%d is out of range 0-100", *mem.Swappiness))
		}
		if err := setField("memory.swappiness", dir, "memory.swappiness", strconv.FormatUint(*mem.Swappiness, 10)); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		if err := setField("memory.disableOOMKiller", dir, "memory.oom_control", boolDigit(*mem.DisableOOMKiller)); err != nil {
			return err
		}
	}
	if mem.UseHierarchy != nil {
		if err := setField("memory.useHierarchy", dir, "memory.use_hierarchy", boolDigit(*mem.UseHierarchy)); err != nil {
			return err
		}
	}
	return nil
}

// setMemoryLimitsV1 writes memory.limit_in_bytes and
// memory.memsw.limit_in_bytes. The kernel insists memory <= memory+swap at
// every moment, so raising both must write memsw first and lowering both
// must write memory first; when the first order is refused (EINVAL) the
// other one is tried.
func setMemoryLimitsV1(dir string, limit, swap *int64) error {
	writeLimit := func() error {
		if limit == nil {
			return nil
		}
		return setField("memory.limit", dir, "memory.limit_in_bytes", strconv.FormatInt(*limit, 10))
	}
	writeSwap := func() error {
		if swap == nil || *swap == 0 {
			return nil
		}
		return setField("memory.swap", dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(*swap, 10))
	}
	if limit != nil && *limit == -1 && (swap == nil || *swap == 0) && exists(dir, "memory.memsw.limit_in_bytes") {
		// Unlimited memory with no swap given: lift memsw too, or the
		// old memsw limit would still cap memory.
		minus1 := int64(-1)
		swap = &minus1
	}
	err := writeLimit()
	if err == nil {
		return writeSwap()
	}
	if !errors.Is(err, unix.EINVAL) || swap == nil || *swap == 0 {
		return err
	}
	if err := writeSwap(); err != nil {
		return err
	}
	return writeLimit()
}

func (m *manager) setMemoryV2(dir string, mem *specs.LinuxMemory) error {
	if mem.Swap != nil {
		var limit int64
		if mem.Limit != nil {
			limit = *mem.Limit
		} else if cur, err := readFile(dir, "memory.max"); err == nil && cur != "max" {
			limit, _ = strconv.ParseInt(cur, 10, 64)
		} else if err == nil {
			limit = -1
		}
		swap, err := swapToV2(*mem.Swap, limit)
		if err != nil {
			return fieldErr("memory.swap", err)
		}
		// memory.swap.max before memory.max: lowering swap first never
		// leaves a moment with more swap than asked.
		if swap != 0 {
			if err := setField("memory.swap", dir, "memory.swap.max", v2Limit(swap)); err != nil {
				return err
			}
		}
	} else if mem.Limit != nil && *mem.Limit == -1 && exists(dir, "memory.swap.max") {
		if err := setField("memory.swap", dir, "memory.swap.max", "max"); err != nil {
			return err
		}
	}
	if mem.Limit != nil {
		if err := setField("memory.limit", dir, "memory.max", v2Limit(*mem.Limit)); err != nil {
			return err
		}
	}
	if mem.Reservation != nil {
		if err := setField("memory.reservation", dir, "memory.low", v2Limit(*mem.Reservation)); err != nil {
			return err
		}
	}
	// v2 has no per-cgroup swappiness, OOM killer switch or flat
	// accounting; runc ignores these there, and so do we, aloud.
	if mem.Swappiness != nil {
		m.warn("linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness")
	}
	if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
		m.warn("linux.resources.memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer")
	}
	if mem.UseHierarchy != nil && !*mem.UseHierarchy {
		m.warn("linux.resources.memory.useHierarchy=false is ignored: cgroup v2 accounting is always hierarchical")
	}
	return nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// setKernelTCP writes the v1 TCP buffer limit where the kernel still has
// it (memory.kmem.tcp.limit_in_bytes survived the removal of the other
// kmem limits); it reports whether it could.
func (m *manager) setKernelTCP(limit int64) bool {
	l, v2, err := m.need("memory", "memory")
	if err != nil || v2 || !exists(l.dir, "memory.kmem.tcp.limit_in_bytes") {
		return false
	}
	return setField("memory.kernelTCP", l.dir, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(limit, 10)) == nil
}
