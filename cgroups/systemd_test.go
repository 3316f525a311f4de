package cgroups

import (
	"math"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSystemdPath(t *testing.T) {
	for _, tc := range []struct {
		in, slice, unit string
		bad             bool
	}{
		{in: "", slice: "system.slice", unit: "skiff-c1.scope"},
		{in: "system.slice:docker:abc", slice: "system.slice", unit: "docker-abc.scope"},
		{in: ":cri:abc", slice: "system.slice", unit: "cri-abc.scope"},
		{in: "machine.slice::abc", slice: "machine.slice", unit: "abc.scope"},
		{in: "kubepods-burstable.slice:cri-containerd:", slice: "kubepods-burstable.slice", unit: "cri-containerd-c1.scope"},
		{in: "-.slice:skiff:x", slice: "-.slice", unit: "skiff-x.scope"},
		{in: "/abs/path", bad: true},
		{in: "a:b", bad: true},
		{in: "notaslice:p:n", bad: true},
		{in: "a--b.slice:p:n", bad: true},
		{in: "a/b.slice:p:n", bad: true},
		{in: "system.slice:p:sub.slice", bad: true},
		{in: "system.slice:p:a/b", bad: true},
	} {
		slice, unit, err := systemdPath(tc.in, "c1")
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted as %s %s", tc.in, slice, unit)
			}
			continue
		}
		if err != nil || slice != tc.slice || unit != tc.unit {
			t.Errorf("%q: got %q %q %v, want %q %q", tc.in, slice, unit, err, tc.slice, tc.unit)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"-.slice":                       "/",
		"system.slice":                  "/system.slice",
		"kubepods-burstable-pod1.slice": "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
	} {
		if got, err := expandSlice(in); err != nil || got != want {
			t.Errorf("%s: got %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".slice", "-a.slice", "a-.slice", "foo"} {
		if got, err := expandSlice(in); err == nil {
			t.Errorf("%q: accepted as %q", in, got)
		}
	}
}

func TestRangeToBits(t *testing.T) {
	for in, want := range map[string][]byte{
		"0":      {0x01},
		"0-3":    {0x0f},
		"1,3":    {0x0a},
		"0,8-9":  {0x01, 0x03},
		"15":     {0x00, 0x80},
		" 2-2 ":  {0x04},
		"0-7,16": {0xff, 0x00, 0x01},
	} {
		if got, err := rangeToBits(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %x %v, want %x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "3-1", "1-"} {
		if _, err := rangeToBits(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, tc := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{50000, 100000, 500000},
		{100000, 100000, 1000000},
		{12345, 100000, 130000}, // rounded up to 10 ms
		{-1, 100000, math.MaxUint64},
		{0, 100000, math.MaxUint64},
		{200000, 1000000, 200000},
	} {
		if got := quotaPerSec(tc.quota, tc.period); got != tc.want {
			t.Errorf("quota %d period %d: got %d, want %d", tc.quota, tc.period, got, tc.want)
		}
	}
}

func propMap(t *testing.T, r *specs.LinuxResources, v2 bool) (map[string]any, []string) {
	t.Helper()
	props, err := resourceProperties(r, v2, map[string]string{"char 136": "pts"})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	var order []string
	for _, p := range props {
		m[p.Name] = p.Value.Value()
		order = append(order, p.Name)
	}
	return m, order
}

func TestResourcePropertiesV2(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	w := uint16(500)
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i(64 << 20), Reservation: i(32 << 20), Swap: i(96 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u(1024), Quota: i(50000), Period: u(100000), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i(42)},
		BlockIO: &specs.LinuxBlockIO{Weight: &w},
		Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i(10), Minor: i(200), Access: "rw"}},
	}
	m, order := propMap(t, r, true)
	want := map[string]any{
		"MemoryMax":          uint64(64 << 20),
		"MemoryLow":          uint64(32 << 20),
		"MemorySwapMax":      uint64(32 << 20),
		"CPUWeight":          uint64(100),
		"CPUQuotaPeriodUSec": uint64(100000),
		"CPUQuotaPerSecUSec": uint64(500000),
		"AllowedCPUs":        []byte{0x03},
		"AllowedMemoryNodes": []byte{0x01},
		"TasksMax":           uint64(42),
		"IOWeight":           blkioWeightToIOWeight(500),
		"DevicePolicy":       "strict",
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s: got %#v, want %#v", k, m[k], v)
		}
	}
	allow, _ := m["DeviceAllow"].([]deviceAllow)
	if len(allow) != 1+len(defaultDevices) || allow[0] != (deviceAllow{"/dev/char/10:200", "rw"}) ||
		allow[len(allow)-1] != (deviceAllow{"char-pts", "rwm"}) {
		t.Errorf("DeviceAllow: %v", allow)
	}
	if order[len(order)-2] != "DeviceAllow" || order[len(order)-1] != "DevicePolicy" {
		t.Errorf("DeviceAllow must come right before DevicePolicy: %v", order)
	}
}

func TestResourcePropertiesV1AndUnlimited(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i(-1), Swap: i(-1)},
		CPU:    &specs.LinuxCPU{Shares: u(512), Quota: i(-1), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: i(-1)},
	}
	m, _ := propMap(t, r, false)
	if m["MemoryLimit"] != uint64(math.MaxUint64) || m["CPUShares"] != uint64(512) ||
		m["TasksMax"] != uint64(math.MaxUint64) || m["CPUQuotaPerSecUSec"] != uint64(math.MaxUint64) {
		t.Errorf("v1 properties: %v", m)
	}
	for _, k := range []string{"MemoryMax", "MemorySwapMax", "AllowedCPUs", "CPUWeight", "DeviceAllow"} {
		if _, ok := m[k]; ok {
			t.Errorf("v1: unexpected %s", k)
		}
	}
	if props, err := resourceProperties(nil, true, nil); err != nil || len(props) != 0 {
		t.Errorf("nil resources: %v %v", props, err)
	}
}

func TestDeviceProperties(t *testing.T) {
	any := int64(-1)
	rules, err := deviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}})
	if err != nil {
		t.Fatal(err)
	}
	if allow, policy := deviceProperties(rules, nil); policy != "auto" || len(allow) != 0 {
		t.Errorf("allow all: %v %s", allow, policy)
	}
	ten := int64(10)
	rules, _ = deviceRules([]specs.LinuxDeviceCgroup{
		{Allow: true, Type: "b", Major: &ten, Minor: &any, Access: "r"},
		{Allow: true, Type: "b", Major: &ten, Minor: &ten, Access: "m"},
		{Allow: true, Type: "c", Major: &ten, Minor: &ten, Access: "rw"},
		{Allow: false, Type: "c", Major: &ten, Minor: &ten, Access: "m"},
	})
	allow, policy := deviceProperties(rules, map[string]string{"block 10": "foo"})
	if policy != "strict" || allow[0] != (deviceAllow{"block-foo", "r"}) || allow[1] != (deviceAllow{"/dev/block/10:10", "m"}) || allow[2].Path == "/dev/char/10:10" ||
		len(allow) != 2+len(defaultDevices)-1 /* no pts name given */ {
		t.Errorf("rules: %v %s", allow, policy)
	}
}

func TestAnnotationProperties(t *testing.T) {
	props, err := annotationProperties(map[string]string{
		"org.systemd.property.TimeoutStopUSec": "uint64 123456",
		"org.systemd.property.CollectMode":     "'inactive-or-failed'",
		"other":                                "x",
	})
	if err != nil || len(props) != 2 {
		t.Fatalf("%v %v", props, err)
	}
	for _, p := range props {
		switch p.Name {
		case "TimeoutStopUSec":
			if p.Value.Value() != uint64(123456) {
				t.Errorf("%v", p.Value)
			}
		case "CollectMode":
			if p.Value.Value() != "inactive-or-failed" {
				t.Errorf("%v", p.Value)
			}
		}
	}
	if _, err := annotationProperties(map[string]string{"org.systemd.property.X": "uint64 notanumber"}); err == nil {
		t.Error("bad value accepted")
	}
}

func TestLoadSystemdPathsKey(t *testing.T) {
	// A Paths() map with the unit key must not be taken for a cgroupfs one.
	_, err := Load(map[string]string{PathsUnitKey: "skiff-x.scope", "no-such-controller": "/sys/fs/cgroup/x"})
	if err == nil {
		t.Fatal("loaded a path below no hierarchy")
	}
}

func TestNewSystemdWithoutSystemd(t *testing.T) {
	if SystemdRunning() {
		t.Skip("systemd is running here")
	}
	_, err := NewSystemd("system.slice:skiff:x", "x")
	if err == nil || !strings.Contains(err.Error(), "systemd is not running") {
		t.Fatalf("want a clear 'systemd is not running' error, got %v", err)
	}
}
