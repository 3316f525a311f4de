package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

func TestParseDeviceRule(t *testing.T) {
	tests := []struct {
		in   specs.LinuxDeviceCgroup
		want string
		err  bool
	}{
		{specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}, "a", false},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "wr"}, "c 1:3 rw", false},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(8)}, "b 8:* rwm", false},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Minor: i64(-1), Access: "m"}, "c *:* m", false},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "u", Major: i64(4), Minor: i64(1)}, "c 4:1 rwm", false},
		{specs.LinuxDeviceCgroup{Type: "x"}, "", true},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}, "", true},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rr"}, "", true},
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(-7)}, "", true},
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(1 << 40)}, "", true},
	}
	for _, tc := range tests {
		r, err := parseDeviceRule(tc.in)
		if (err != nil) != tc.err || (!tc.err && r.String() != tc.want) {
			t.Errorf("parseDeviceRule(%+v) = %q, %v; want %q err=%v", tc.in, r.String(), err, tc.want, tc.err)
		}
	}
	if _, err := deviceRules([]specs.LinuxDeviceCgroup{{}, {Type: "q"}}); err == nil || !strings.Contains(err.Error(), "linux.resources.devices[1]") {
		t.Errorf("deviceRules error does not name the field: %v", err)
	}
}

func TestDevicesAllow(t *testing.T) {
	const (
		c = bpfDevChar
		b = bpfDevBlock
		r = bpfAccRead
		w = bpfAccWrite
		m = bpfAccMknod
	)
	type probe struct {
		typ          int32
		major, minor int64
		access       int32
		want         bool
	}
	tests := []struct {
		name   string
		rules  []specs.LinuxDeviceCgroup
		probes []probe
	}{
		{
			name:  "deny all keeps the defaults",
			rules: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			probes: []probe{
				{c, 1, 3, r | w, true},   // null
				{c, 1, 3, m, true},       // mknod null
				{c, 136, 7, r | w, true}, // pts
				{c, 5, 2, r | w, true},   // ptmx
				{c, 10, 200, r, false},   // tun
				{b, 8, 0, r, false},
				{c, 1, 1, r, false}, // /dev/mem
			},
		},
		{
			name:  "no rules is deny all plus defaults",
			rules: nil,
			probes: []probe{
				{c, 1, 9, r, true},
				{b, 7, 0, r, false},
			},
		},
		{
			name: "allow all then deny one",
			rules: []specs.LinuxDeviceCgroup{
				{Allow: true, Access: "rwm"},
				{Allow: false, Type: "b", Major: i64(8), Minor: i64(0), Access: "w"},
			},
			probes: []probe{
				{b, 8, 0, r, true},
				{b, 8, 0, w, false},
				{b, 8, 0, r | w, false}, // any denied bit denies
				{b, 8, 1, w, true},
				{c, 10, 200, r | w | m, true},
			},
		},
		{
			name: "rules add up per access bit",
			rules: []specs.LinuxDeviceCgroup{
				{Allow: false, Access: "rwm"},
				{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "r"},
				{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "w"},
			},
			probes: []probe{
				{c, 10, 200, r | w, true},
				{c, 10, 200, m, false},
				{b, 10, 200, r, false}, // type matters
			},
		},
		{
			name: "a config cannot take the defaults away",
			rules: []specs.LinuxDeviceCgroup{
				{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
			},
			probes: []probe{{c, 1, 3, r | w, true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := deviceRules(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.probes {
				if got := devicesAllow(rules, p.typ, p.major, p.minor, p.access); got != p.want {
					t.Errorf("type %d %d:%d access %b: allowed=%v, want %v", p.typ, p.major, p.minor, p.access, got, p.want)
				}
			}
			// The program must assemble (labels resolve) for any rule set
			// and decide as devicesAllow does.
			prog, err := assemble(deviceFilter(rules))
			if err != nil {
				t.Fatalf("assemble device filter: %v", err)
			}
			for _, p := range tc.probes {
				want := int64(0)
				if p.want {
					want = 1
				}
				if got := runDeviceFilter(t, prog, uint32(p.typ), uint32(p.major), uint32(p.minor), uint32(p.access)); got != want {
					t.Errorf("program: type %d %d:%d access %b: returned %d, want %d", p.typ, p.major, p.minor, p.access, got, want)
				}
			}
		})
	}
}
