package cgroups

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func (m *manager) setCPU(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Shares == nil && c.Quota == nil && c.Period == nil && c.Burst == nil &&
		c.RealtimeRuntime == nil && c.RealtimePeriod == nil && c.Idle == nil) {
		return nil
	}
	l, v2, err := m.need("cpu", "cpu")
	if err != nil {
		return err
	}
	if v2 {
		return setCPUV2(l.dir, c)
	}
	return setCPUV1(l.dir, c)
}

func setCPUV1(dir string, c *specs.LinuxCPU) error {
	if c.Shares != nil && *c.Shares != 0 {
		if err := setField("cpu.shares", dir, "cpu.shares", strconv.FormatUint(*c.Shares, 10)); err != nil {
			return err
		}
	}
	// The kernel checks quota against period (and the parent's bandwidth)
	// on every write; when the new period is refused with the old quota in
	// place, the quota goes first.
	var period, quota func() error
	if c.Period != nil && *c.Period != 0 {
		period = func() error {
			return setField("cpu.period", dir, "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10))
		}
	}
	if c.Quota != nil {
		q := *c.Quota
		if q <= 0 {
			q = -1
		}
		quota = func() error {
			return setField("cpu.quota", dir, "cpu.cfs_quota_us", strconv.FormatInt(q, 10))
		}
	}
	if err := inEitherOrder(period, quota); err != nil {
		return err
	}
	if c.Burst != nil {
		if err := setField("cpu.burst", dir, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10)); err != nil {
			return err
		}
	}
	// Same dance for the realtime pair.
	var rtPeriod, rtRuntime func() error
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		rtPeriod = func() error {
			return setField("cpu.realtimePeriod", dir, "cpu.rt_period_us", strconv.FormatUint(*c.RealtimePeriod, 10))
		}
	}
	if c.RealtimeRuntime != nil {
		rtRuntime = func() error {
			return setField("cpu.realtimeRuntime", dir, "cpu.rt_runtime_us", strconv.FormatInt(*c.RealtimeRuntime, 10))
		}
	}
	if err := inEitherOrder(rtPeriod, rtRuntime); err != nil {
		return err
	}
	if c.Idle != nil {
		if err := setField("cpu.idle", dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return err
		}
	}
	return nil
}

// inEitherOrder runs a then b; when a is refused with EINVAL it runs b
// then a. nil steps are skipped.
func inEitherOrder(a, b func() error) error {
	if a == nil || b == nil {
		for _, f := range []func() error{a, b} {
			if f != nil {
				if err := f(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := a()
	if err == nil {
		return b()
	}
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	if err := b(); err != nil {
		return err
	}
	return a()
}

func setCPUV2(dir string, c *specs.LinuxCPU) error {
	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		return fieldErr("cpu.realtimeRuntime", fmt.Errorf("%w: cgroup v2 has no realtime CPU bandwidth", ErrNotSupported))
	}
	if c.Idle != nil && *c.Idle != 0 {
		if err := setField("cpu.idle", dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return err
		}
	} else if c.Shares != nil && *c.Shares != 0 {
		// Writing a weight to an idle cgroup would be ignored by the
		// scheduler; cpu.idle 1 wins, as in runc.
		if err := setField("cpu.shares", dir, "cpu.weight", strconv.FormatUint(sharesToWeight(*c.Shares), 10)); err != nil {
			return err
		}
		if c.Idle != nil {
			if err := setField("cpu.idle", dir, "cpu.idle", "0"); err != nil {
				return err
			}
		}
	} else if c.Idle != nil {
		if err := setField("cpu.idle", dir, "cpu.idle", "0"); err != nil {
			return err
		}
	}
	if c.Quota != nil || (c.Period != nil && *c.Period != 0) {
		cur, err := readFile(dir, "cpu.max")
		if err != nil {
			return fieldErr("cpu.quota", err)
		}
		if err := setField("cpu.quota", dir, "cpu.max", v2CPUMax(cur, c.Quota, c.Period)); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := setField("cpu.burst", dir, "cpu.max.burst", strconv.FormatUint(*c.Burst, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (m *manager) setCpuset(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Cpus == "" && c.Mems == "") {
		return nil
	}
	l, _, err := m.need("cpu.cpus", "cpuset")
	if err != nil {
		return err
	}
	// The file names are the same on v1 and v2.
	if c.Cpus != "" {
		if err := setField("cpu.cpus", l.dir, "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		if err := setField("cpu.mems", l.dir, "cpuset.mems", c.Mems); err != nil {
			return err
		}
	}
	return nil
}
