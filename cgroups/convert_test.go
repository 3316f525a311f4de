package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSharesToWeight(t *testing.T) {
	// Fixed points of the runc 1.3+/crun curve, and values between.
	for shares, want := range map[uint64]uint64{
		0: 0, 1: 1, 2: 1, 1024: 100, 262144: 10000, 300000: 10000,
		512: 59, 2048: 174, 100000: 4340,
	} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	// Monotonic over the whole range.
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s += 97 {
		w := sharesToWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("sharesToWeight(%d) = %d after %d", s, w, prev)
		}
		prev = w
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for in, want := range map[uint16]uint64{0: 0, 10: 1, 500: 4950, 1000: 10000, 5: 1} {
		if got := blkioWeightToIOWeight(in); got != want {
			t.Errorf("blkioWeightToIOWeight(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	tests := []struct {
		swap, mem, want int64
		err             bool
	}{
		{0, -1, -1, false},
		{-1, 100, -1, false},
		{0, 100, 0, false},
		{300, 100, 200, false},
		{100, 100, 0, false},
		{50, 100, 0, true},
		{300, 0, 0, true},
		{300, -1, 0, true},
		{300, -5, 0, true},
	}
	for _, tc := range tests {
		got, err := swapToV2(tc.swap, tc.mem)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("swapToV2(%d, %d) = %d, %v; want %d, err=%v", tc.swap, tc.mem, got, err, tc.want, tc.err)
		}
	}
}

func TestV2CPUMax(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		cur    string
		quota  *int64
		period *uint64
		want   string
	}{
		{"max 100000", i(50000), nil, "50000 100000"},
		{"max 100000", nil, u(20000), "max 20000"},
		{"30000 100000", nil, u(50000), "30000 50000"},
		{"30000 100000", i(-1), nil, "max 100000"},
		{"30000 100000", i(0), nil, "max 100000"},
		{"", i(1000), u(10000), "1000 10000"},
		{"30000 100000", i(1), u(0), "1 100000"},
	}
	for _, tc := range tests {
		if got := v2CPUMax(tc.cur, tc.quota, tc.period); got != tc.want {
			t.Errorf("v2CPUMax(%q, ...) = %q, want %q", tc.cur, got, tc.want)
		}
	}
}

func TestV2Limit(t *testing.T) {
	for in, want := range map[int64]string{-1: "max", -2: "max", 0: "0", 42: "42"} {
		if got := v2Limit(in); got != want {
			t.Errorf("v2Limit(%d) = %q", in, got)
		}
	}
}

func TestLineFormats(t *testing.T) {
	d := specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 1048576}
	if got := ioMaxLine(d, "rbps"); got != "8:16 rbps=1048576" {
		t.Errorf("ioMaxLine = %q", got)
	}
	d.Rate = 0
	if got := ioMaxLine(d, "wiops"); got != "8:16 wiops=max" {
		t.Errorf("ioMaxLine(0) = %q", got)
	}
	h, o := uint32(10), uint32(20)
	if got, err := rdmaLine("mlx5_0", specs.LinuxRdma{HcaHandles: &h, HcaObjects: &o}); err != nil || got != "mlx5_0 hca_handle=10 hca_object=20" {
		t.Errorf("rdmaLine = %q, %v", got, err)
	}
	if got, err := rdmaLine("mlx5_0", specs.LinuxRdma{}); err != nil || got != "" {
		t.Errorf("empty rdmaLine = %q, %v", got, err)
	}
	if _, err := rdmaLine("bad name", specs.LinuxRdma{HcaHandles: &h}); err == nil {
		t.Errorf("rdmaLine accepted a device name with a space")
	}
}
