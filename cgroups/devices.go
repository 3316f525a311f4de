package cgroups

import (
	"fmt"
	"math"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// deviceRule is one linux.resources.devices entry, validated.
type deviceRule struct {
	allow  bool
	typ    byte  // 'a' (all), 'c' or 'b'
	major  int64 // -1: any
	minor  int64 // -1: any
	access string
}

// String formats the rule the way v1 devices.allow/deny take it.
func (r deviceRule) String() string {
	if r.typ == 'a' {
		return "a"
	}
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%c %s:%s %s", r.typ, num(r.major), num(r.minor), r.access)
}

// defaultDevices stay usable whatever the config's device rules say: the
// spec (runtime-spec config-linux.md "Default Devices") requires null, zero,
// full, random, urandom, tty, ptmx and a devpts for every container, so a
// deny-all rule must not break them. runc appends the same allow rules.
var defaultDevices = []deviceRule{
	{allow: true, typ: 'c', major: 1, minor: 3, access: "rwm"},    // null
	{allow: true, typ: 'c', major: 1, minor: 5, access: "rwm"},    // zero
	{allow: true, typ: 'c', major: 1, minor: 7, access: "rwm"},    // full
	{allow: true, typ: 'c', major: 1, minor: 8, access: "rwm"},    // random
	{allow: true, typ: 'c', major: 1, minor: 9, access: "rwm"},    // urandom
	{allow: true, typ: 'c', major: 5, minor: 0, access: "rwm"},    // tty
	{allow: true, typ: 'c', major: 5, minor: 2, access: "rwm"},    // ptmx
	{allow: true, typ: 'c', major: 136, minor: -1, access: "rwm"}, // pts/*
}

// deviceRules validates the config's rules and returns the full ordered
// list the cgroup gets: deny everything, the config's rules in order, then
// the default devices.
func deviceRules(in []specs.LinuxDeviceCgroup) ([]deviceRule, error) {
	out := []deviceRule{{allow: false, typ: 'a', major: -1, minor: -1, access: "rwm"}}
	for i, d := range in {
		r, err := parseDeviceRule(d)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("devices[%d]", i), err)
		}
		out = append(out, r)
	}
	return append(out, defaultDevices...), nil
}

func parseDeviceRule(d specs.LinuxDeviceCgroup) (deviceRule, error) {
	r := deviceRule{allow: d.Allow, major: -1, minor: -1, access: "rwm"}
	switch d.Type {
	case "", "a":
		r.typ = 'a'
	case "c", "u": // "u" (unbuffered char) is a char device to the kernel
		r.typ = 'c'
	case "b":
		r.typ = 'b'
	default:
		return r, fmt.Errorf("type %q is not one of a, c, b", d.Type)
	}
	for _, n := range []struct {
		p   *int64
		dst *int64
		who string
	}{{d.Major, &r.major, "major"}, {d.Minor, &r.minor, "minor"}} {
		if n.p == nil {
			continue
		}
		if *n.p < -1 || *n.p > math.MaxInt32 {
			return r, fmt.Errorf("%s %d is out of range", n.who, *n.p)
		}
		*n.dst = *n.p
	}
	if d.Access != "" {
		seen := map[rune]bool{}
		for _, c := range d.Access {
			if !strings.ContainsRune("rwm", c) || seen[c] {
				return r, fmt.Errorf("access %q must be letters of rwm, each at most once", d.Access)
			}
			seen[c] = true
		}
		// Kernel order, so rules compare and print the same.
		r.access = ""
		for _, c := range "rwm" {
			if seen[c] {
				r.access += string(c)
			}
		}
	}
	if r.typ == 'a' {
		// "a" means every device; the kernel ignores numbers with it.
		r.major, r.minor = -1, -1
	}
	return r, nil
}

func (m *manager) setDevices(r *specs.LinuxResources) error {
	if r.Devices == nil && m.devicesApplied {
		return nil
	}
	rules, err := deviceRules(r.Devices)
	if err != nil {
		return err
	}
	if l, ok := m.v1["devices"]; ok {
		err = setDevicesV1(l.dir, rules)
	} else if m.v2 != nil {
		err = setDevicesV2(m.v2.dir, rules)
	} else {
		err = fieldErr("devices", fmt.Errorf("%w: the host has neither a devices cgroup nor cgroup2", ErrNotSupported))
	}
	if err != nil {
		return err
	}
	m.devicesApplied = true
	return nil
}

// setDevicesV1 replays the rules in order through devices.allow and
// devices.deny: the v1 controller applies each write with the same
// in-order semantics the rules have ("a" resets, the others add or remove
// exceptions).
func setDevicesV1(dir string, rules []deviceRule) error {
	for _, r := range rules {
		file := "devices.deny"
		if r.allow {
			file = "devices.allow"
		}
		if err := setField("devices", dir, file, r.String()); err != nil {
			return err
		}
	}
	return nil
}
