package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	systemdDbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Parsing of runc's systemd cgroupsPath and conversion of OCI resources
// to systemd unit properties. Everything here is pure (no D-Bus, no
// cgroupfs) so that it is unit-tested without systemd.

const (
	defaultSlice       = "system.slice"
	defaultScopePrefix = "skiff"
)

// systemdPath parses linux.cgroupsPath in runc's "slice:prefix:name" form
// and returns the slice and the scope unit name. "" means
// "system.slice:skiff:<id>"; an empty slice is system.slice, an empty name
// is the container id, and an empty prefix gives "<name>.scope" (as runc).
func systemdPath(cgroupsPath, id string) (slice, unit string, err error) {
	if cgroupsPath == "" {
		cgroupsPath = defaultSlice + ":" + defaultScopePrefix + ":" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("%q: the systemd cgroup driver wants slice:prefix:name", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = defaultSlice
	}
	if _, err := expandSlice(slice); err != nil {
		return "", "", err
	}
	if name == "" {
		name = id
	}
	if strings.HasSuffix(name, ".slice") {
		return "", "", fmt.Errorf("%q: a container in its own slice (name %q) is not supported; name a scope", cgroupsPath, name)
	}
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return "", "", fmt.Errorf("%q: %q cannot name a systemd scope", cgroupsPath, name)
	}
	unit = name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	return slice, unit, nil
}

// expandSlice turns a slice unit name into its cgroup path below the root,
// as systemd lays it out: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice
// and "-.slice" is the root.
func expandSlice(slice string) (string, error) {
	const suffix = ".slice"
	if len(slice) <= len(suffix) || !strings.HasSuffix(slice, suffix) || strings.Contains(slice, "/") {
		return "", fmt.Errorf("invalid systemd slice %q (want a name like system.slice or machine-pods.slice)", slice)
	}
	name := strings.TrimSuffix(slice, suffix)
	if name == "-" {
		return "/", nil
	}
	path, prefix := "", ""
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			return "", fmt.Errorf("invalid systemd slice %q: empty component", slice)
		}
		path += "/" + prefix + part + suffix
		prefix += part + "-"
	}
	return path, nil
}

func prop(name string, v any) systemdDbus.Property {
	return systemdDbus.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// deviceAllow is one DeviceAllow= entry; D-Bus signature (ss).
type deviceAllow struct {
	Path  string
	Perms string
}

// resourceProperties converts the resources systemd manages into unit
// properties, with the property names of the host's cgroup version (v2:
// MemoryMax, CPUWeight...; v1: MemoryLimit, CPUShares...). Fields systemd
// does not manage are left to the cgroupfs code. DeviceAllow comes before
// DevicePolicy so that a strict policy never applies to an empty list.
func resourceProperties(r *specs.LinuxResources, v2 bool, procDevices map[string]string) ([]systemdDbus.Property, error) {
	if r == nil {
		return nil, nil
	}
	var props []systemdDbus.Property
	if m := r.Memory; m != nil {
		limit := int64(0)
		if m.Limit != nil {
			limit = *m.Limit
			if limit != 0 {
				name := "MemoryLimit"
				if v2 {
					name = "MemoryMax"
				}
				props = append(props, prop(name, sdLimit(limit)))
			}
		}
		if v2 && m.Reservation != nil && *m.Reservation != 0 {
			props = append(props, prop("MemoryLow", sdLimit(*m.Reservation)))
		}
		if v2 && m.Swap != nil {
			swap, err := swapToV2(*m.Swap, limit)
			if err != nil {
				return nil, fieldErr("memory.swap", err)
			}
			if swap != 0 {
				props = append(props, prop("MemorySwapMax", sdLimit(swap)))
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			if v2 {
				props = append(props, prop("CPUWeight", sharesToWeight(*c.Shares)))
			} else {
				props = append(props, prop("CPUShares", *c.Shares))
			}
		}
		if c.Period != nil && *c.Period != 0 {
			props = append(props, prop("CPUQuotaPeriodUSec", *c.Period))
		}
		if c.Quota != nil {
			period := uint64(100000)
			if c.Period != nil && *c.Period != 0 {
				period = *c.Period
			}
			props = append(props, prop("CPUQuotaPerSecUSec", quotaPerSec(*c.Quota, period)))
		}
		if v2 && c.Cpus != "" {
			bits, err := rangeToBits(c.Cpus)
			if err != nil {
				return nil, fieldErr("cpu.cpus", err)
			}
			props = append(props, prop("AllowedCPUs", bits))
		}
		if v2 && c.Mems != "" {
			bits, err := rangeToBits(c.Mems)
			if err != nil {
				return nil, fieldErr("cpu.mems", err)
			}
			props = append(props, prop("AllowedMemoryNodes", bits))
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		v := uint64(math.MaxUint64)
		if *p.Limit > 0 {
			v = uint64(*p.Limit)
		}
		props = append(props, prop("TasksMax", v))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		if v2 {
			props = append(props, prop("IOWeight", blkioWeightToIOWeight(*b.Weight)))
		} else {
			props = append(props, prop("BlockIOWeight", uint64(*b.Weight)))
		}
	}
	if r.Devices != nil {
		rules, err := deviceRules(r.Devices)
		if err != nil {
			return nil, err
		}
		allow, policy := deviceProperties(rules, procDevices)
		props = append(props, prop("DeviceAllow", allow), prop("DevicePolicy", policy))
	}
	return props, nil
}

// sdLimit is a byte or count limit for systemd: negative is infinity.
func sdLimit(v int64) uint64 {
	if v < 0 {
		return math.MaxUint64
	}
	return uint64(v)
}

// quotaPerSec converts a CFS quota per period into CPUQuotaPerSecUSec,
// rounded up to the 10 ms (1%) systemd works in, as runc does. A quota of
// 0 or less is no limit.
func quotaPerSec(quota int64, period uint64) uint64 {
	if quota <= 0 || period == 0 {
		return math.MaxUint64
	}
	v := uint64(quota) * 1000000 / period
	if v%10000 != 0 {
		v = (v/10000 + 1) * 10000
	}
	return v
}

// rangeToBits turns a cpuset list ("0-2,7") into the byte array systemd's
// AllowedCPUs/AllowedMemoryNodes take: bit n of byte n/8 is cpu n.
func rangeToBits(s string) ([]byte, error) {
	var out []byte
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid cpu list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("invalid cpu list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			for uint64(len(out)) <= i/8 {
				out = append(out, 0)
			}
			out[i/8] |= 1 << (i % 8)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty cpu list")
	}
	return out, nil
}

// deviceProperties turns the full ordered device rule list (deny-all
// first, as deviceRules returns it) into DeviceAllow entries and a
// DevicePolicy. systemd only knows allow lists: an allow-all rule gives
// policy "auto" with no entries, a deny-all resets to "strict" and an
// empty list, and a specific deny drops an identical earlier allow (the
// eBPF/devices.deny rules the cgroupfs code writes stay exact; these
// properties are what systemd re-applies on daemon-reload).
func deviceProperties(rules []deviceRule, procDevices map[string]string) ([]deviceAllow, string) {
	var allow []deviceAllow
	policy := "strict"
	for _, r := range rules {
		if r.typ == 'a' && r.major < 0 && r.minor < 0 {
			allow = nil
			if r.allow {
				policy = "auto"
			} else {
				policy = "strict"
			}
			continue
		}
		entries := deviceEntries(r, procDevices)
		if !r.allow {
			for _, e := range entries {
				for i := 0; i < len(allow); i++ {
					if allow[i].Path == e.Path {
						allow = append(allow[:i], allow[i+1:]...)
						i--
					}
				}
			}
			continue
		}
		if policy == "auto" {
			continue // everything is allowed already
		}
		allow = append(allow, entries...)
	}
	if policy == "auto" {
		allow = []deviceAllow{}
	}
	if allow == nil {
		allow = []deviceAllow{}
	}
	return allow, policy
}

func deviceEntries(r deviceRule, procDevices map[string]string) []deviceAllow {
	perms := r.access
	if perms == "" {
		perms = "rwm"
	}
	var kinds []string
	switch r.typ {
	case 'c':
		kinds = []string{"char"}
	case 'b':
		kinds = []string{"block"}
	default:
		kinds = []string{"char", "block"}
	}
	var out []deviceAllow
	for _, k := range kinds {
		switch {
		case r.major < 0:
			out = append(out, deviceAllow{Path: k + "-*", Perms: perms})
		case r.minor < 0:
			// systemd names a whole major by its driver in /proc/devices.
			if name, ok := procDevices[fmt.Sprintf("%s %d", k, r.major)]; ok {
				out = append(out, deviceAllow{Path: k + "-" + name, Perms: perms})
			}
		default:
			out = append(out, deviceAllow{Path: fmt.Sprintf("/dev/%s/%d:%d", k, r.major, r.minor), Perms: perms})
		}
	}
	return out
}

// readProcDevices maps "char 136" to "pts" and so on, from /proc/devices.
func readProcDevices() map[string]string {
	out := map[string]string{}
	f, err := os.Open("/proc/devices")
	if err != nil {
		return out
	}
	defer f.Close()
	kind := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "Character devices:":
			kind = "char"
		case line == "Block devices:":
			kind = "block"
		default:
			if f := strings.Fields(line); len(f) == 2 && kind != "" {
				if _, ok := out[kind+" "+f[0]]; !ok {
					out[kind+" "+f[0]] = f[1]
				}
			}
		}
	}
	return out
}

// annotationProperties passes org.systemd.property.NAME=VALUE annotations
// through as unit properties, VALUE in D-Bus variant text syntax (as
// runc: "uint64 1000", "true", "'string'").
func annotationProperties(annotations map[string]string) ([]systemdDbus.Property, error) {
	const pfx = "org.systemd.property."
	var out []systemdDbus.Property
	for k, v := range annotations {
		name, ok := strings.CutPrefix(k, pfx)
		if !ok {
			continue
		}
		if name == "" || strings.ContainsAny(name, ". ") {
			return nil, fmt.Errorf("annotation %s: invalid systemd property name", k)
		}
		variant, err := dbus.ParseVariant(v, dbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("annotation %s: value %q: %w", k, v, err)
		}
		out = append(out, systemdDbus.Property{Name: name, Value: variant})
	}
	return out, nil
}
