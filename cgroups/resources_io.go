package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (m *manager) setBlockIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil || (b.Weight == nil && b.LeafWeight == nil && len(b.WeightDevice) == 0 &&
		len(b.ThrottleReadBpsDevice) == 0 && len(b.ThrottleWriteBpsDevice) == 0 &&
		len(b.ThrottleReadIOPSDevice) == 0 && len(b.ThrottleWriteIOPSDevice) == 0) {
		return nil
	}
	if _, ok := m.v1["blkio"]; ok {
		return setBlkioV1(m.v1["blkio"].dir, b)
	}
	l, _, err := m.need("blockIO", "io")
	if err != nil {
		return err
	}
	return m.setIOV2(l.dir, b)
}

// weightFile picks the proportional-weight file the kernel has: the
// generic one (CFQ on old kernels, io.weight for the io.cost model on v2)
// or the BFQ scheduler's.
func weightFile(dir, generic, bfq string) string {
	if !exists(dir, generic) && exists(dir, bfq) {
		return bfq
	}
	return generic
}

func devKey(d specs.LinuxBlockIODevice) string {
	return fmt.Sprintf("%d:%d", d.Major, d.Minor)
}

func setBlkioV1(dir string, b *specs.LinuxBlockIO) error {
	if b.Weight != nil {
		f := weightFile(dir, "blkio.weight", "blkio.bfq.weight")
		if err := setField("blockIO.weight", dir, f, strconv.FormatUint(uint64(*b.Weight), 10)); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil {
		if err := setField("blockIO.leafWeight", dir, "blkio.leaf_weight", strconv.FormatUint(uint64(*b.LeafWeight), 10)); err != nil {
			return err
		}
	}
	for i, d := range b.WeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if d.Weight != nil {
			f := weightFile(dir, "blkio.weight_device", "blkio.bfq.weight_device")
			if err := setField(field+".weight", dir, f, devKey(d.LinuxBlockIODevice)+" "+strconv.FormatUint(uint64(*d.Weight), 10)); err != nil {
				return err
			}
		}
		if d.LeafWeight != nil {
			if err := setField(field+".leafWeight", dir, "blkio.leaf_weight_device", devKey(d.LinuxBlockIODevice)+" "+strconv.FormatUint(uint64(*d.LeafWeight), 10)); err != nil {
				return err
			}
		}
	}
	throttles := []struct {
		field, file string
		devs        []specs.LinuxThrottleDevice
	}{
		{"blockIO.throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"blockIO.throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"blockIO.throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"blockIO.throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	}
	for _, t := range throttles {
		for i, d := range t.devs {
			// A rate of 0 removes the device's limit.
			v := devKey(d.LinuxBlockIODevice) + " " + strconv.FormatUint(d.Rate, 10)
			if err := setField(fmt.Sprintf("%s[%d]", t.field, i), dir, t.file, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *manager) setIOV2(dir string, b *specs.LinuxBlockIO) error {
	// BFQ takes the v1 range [1, 1000] as is; io.weight wants [1, 10000].
	weight := func(w uint16) (string, string) {
		if f := weightFile(dir, "io.weight", "io.bfq.weight"); f == "io.bfq.weight" {
			return f, strconv.FormatUint(uint64(w), 10)
		}
		return "io.weight", strconv.FormatUint(blkioWeightToIOWeight(w), 10)
	}
	if b.Weight != nil && *b.Weight != 0 {
		f, v := weight(*b.Weight)
		if f == "io.weight" {
			v = "default " + v
		}
		if err := setField("blockIO.weight", dir, f, v); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil {
		m.warn("linux.resources.blockIO.leafWeight is ignored: cgroup v2 has no leaf weight")
	}
	for i, d := range b.WeightDevice {
		if d.LeafWeight != nil {
			m.warn("linux.resources.blockIO.weightDevice[%d].leafWeight is ignored: cgroup v2 has no leaf weight", i)
		}
		if d.Weight == nil {
			continue
		}
		f, v := weight(*d.Weight)
		if err := setField(fmt.Sprintf("blockIO.weightDevice[%d].weight", i), dir, f, devKey(d.LinuxBlockIODevice)+" "+v); err != nil {
			return err
		}
	}
	throttles := []struct {
		field, key string
		devs       []specs.LinuxThrottleDevice
	}{
		{"blockIO.throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
		{"blockIO.throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
		{"blockIO.throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
		{"blockIO.throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
	}
	for _, t := range throttles {
		for i, d := range t.devs {
			if err := setField(fmt.Sprintf("%s[%d]", t.field, i), dir, "io.max", ioMaxLine(d, t.key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ioMaxLine formats one io.max command: "8:0 rbps=1048576"; a rate of 0
// lifts the limit ("max"), as writing 0 does on v1.
func ioMaxLine(d specs.LinuxThrottleDevice, key string) string {
	v := "max"
	if d.Rate != 0 {
		v = strconv.FormatUint(d.Rate, 10)
	}
	return strings.Join([]string{devKey(d.LinuxBlockIODevice), key + "=" + v}, " ")
}
