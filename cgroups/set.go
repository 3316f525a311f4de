package cgroups

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set writes every field of r that is not nil, each where the host drives
// its controller (v1 hierarchy, else cgroup2). The first failure stops it
// and names the OCI field (linux.resources.memory.limit, ...).
//
// Devices are special: a Manager made by New applies device rules on its
// first Set even when r.Devices is empty, so a fresh container always
// starts from deny-all plus the spec's default devices (as runc does) and
// never inherits the allow-all of its parent. A Manager made by Load
// (update) leaves devices alone unless r.Devices is given. Callers must
// therefore call Set once on create, even when the config has no
// linux.resources (r may be nil).
func (m *manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		// Still a Set: a fresh container gets its device rules.
		r = &specs.LinuxResources{}
	}
	r = withoutZeroWeights(r)
	steps := []func(*specs.LinuxResources) error{
		m.setCpuset, // before cpu: cpu limits may depend on the cpus available
		m.setMemory,
		m.setCPU,
		m.setPids,
		m.setBlockIO,
		m.setHugepages,
		m.setNetwork,
		m.setRdma,
		m.setUnified,
		m.setDevices,
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return err
		}
	}
	return nil
}

// fieldError names the OCI field a failure is about.
type fieldError struct {
	Field string // e.g. "memory.limit", relative to linux.resources
	Err   error
}

func (e *fieldError) Error() string { return "linux.resources." + e.Field + ": " + e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// ErrNotSupported is wrapped by errors about a field this host (or this
// cgroup version) cannot apply.
var ErrNotSupported = errors.New("not supported on this host")

func fieldErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return &fieldError{Field: field, Err: err}
}

// setField writes one file for one OCI field. A file the host lacks becomes
// an error saying so, not a bare ENOENT.
func setField(field, dir, file, value string) error {
	err := writeFile(dir, file, value)
	if err != nil && errors.Is(err, unix.ENOENT) && !exists(dir, file) {
		return fieldErr(field, fmt.Errorf("%w: the cgroup has no %s (in %s)", ErrNotSupported, file, dir))
	}
	return fieldErr(field, err)
}

// need returns the leaf that drives controller, or an error naming field
// when the host has no such controller.
func (m *manager) need(field, controller string) (*leaf, bool, error) {
	l, v2, ok := m.controller(controller)
	if !ok {
		return nil, false, fieldErr(field, fmt.Errorf("%w: the host has no %s cgroup controller (neither a v1 hierarchy nor in cgroup2)", ErrNotSupported, controller))
	}
	return l, v2, nil
}

// withoutZeroWeights treats a weight or share of 0 as "not set": 0 is not
// a valid value for any of them, and Docker sends blockIO.weight 0 and
// cpu.shares 0 for every container (on hosts that may lack the file).
func withoutZeroWeights(r *specs.LinuxResources) *specs.LinuxResources {
	out := *r
	if b := r.BlockIO; b != nil && ((b.Weight != nil && *b.Weight == 0) || (b.LeafWeight != nil && *b.LeafWeight == 0)) {
		bio := *b
		if bio.Weight != nil && *bio.Weight == 0 {
			bio.Weight = nil
		}
		if bio.LeafWeight != nil && *bio.LeafWeight == 0 {
			bio.LeafWeight = nil
		}
		out.BlockIO = &bio
	}
	if c := r.CPU; c != nil && c.Shares != nil && *c.Shares == 0 {
		cpu := *c
		cpu.Shares = nil
		out.CPU = &cpu
	}
	return &out
}
