// Package namespaces maps the OCI namespace kinds to the kernel's clone
// flags and /proc/<pid>/ns names, and orders namespace joins.
package namespaces

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind describes one namespace type.
type Kind struct {
	Type     specs.LinuxNamespaceType
	Flag     uintptr // CLONE_NEW*
	ProcName string  // name under /proc/<pid>/ns
	// joinOrder: user first (joining it grants the rights to join the
	// others), mount last (after it, host paths are no longer reachable).
	joinOrder int
}

var kinds = []Kind{
	{specs.UserNamespace, unix.CLONE_NEWUSER, "user", 0},
	{specs.IPCNamespace, unix.CLONE_NEWIPC, "ipc", 1},
	{specs.UTSNamespace, unix.CLONE_NEWUTS, "uts", 2},
	{specs.NetworkNamespace, unix.CLONE_NEWNET, "net", 3},
	{specs.PIDNamespace, unix.CLONE_NEWPID, "pid", 4},
	{specs.CgroupNamespace, unix.CLONE_NEWCGROUP, "cgroup", 5},
	{specs.TimeNamespace, unix.CLONE_NEWTIME, "time", 6},
	{specs.MountNamespace, unix.CLONE_NEWNS, "mnt", 7},
}

// Lookup returns the Kind for an OCI namespace type.
func Lookup(t specs.LinuxNamespaceType) (Kind, bool) {
	for _, k := range kinds {
		if k.Type == t {
			return k, true
		}
	}
	return Kind{}, false
}

// All returns every namespace kind in join order.
func All() []Kind { return append([]Kind(nil), kinds...) }

// Join is one namespace to enter by path.
type Join struct {
	Kind Kind
	Path string
}

// Plan splits the configured namespaces into those to create and those to
// join, validating types and duplicates.
type Plan struct {
	NewFlags uintptr
	Joins    []Join // in join order
}

// Has reports whether the container gets (new or joined) a namespace of t.
func (p Plan) Has(t specs.LinuxNamespaceType) bool {
	k, _ := Lookup(t)
	if p.NewFlags&k.Flag != 0 {
		return true
	}
	for _, j := range p.Joins {
		if j.Kind.Type == t {
			return true
		}
	}
	return false
}

// IsNew reports whether the container creates its own namespace of type t.
func (p Plan) IsNew(t specs.LinuxNamespaceType) bool {
	k, _ := Lookup(t)
	return p.NewFlags&k.Flag != 0
}

// NewPlan builds the plan for a list of OCI namespaces.
func NewPlan(nss []specs.LinuxNamespace) (Plan, error) {
	var p Plan
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range nss {
		k, ok := Lookup(ns.Type)
		if !ok {
			return Plan{}, fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, ns.Type)
		}
		if seen[ns.Type] {
			return Plan{}, fmt.Errorf("linux.namespaces[%d].type: duplicate namespace %q", i, ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path == "" {
			p.NewFlags |= k.Flag
		} else {
			p.Joins = append(p.Joins, Join{Kind: k, Path: ns.Path})
		}
	}
	return SortJoins(p), nil
}

// SortJoins puts the joins in the fixed order: user first, mount last.
func SortJoins(p Plan) Plan {
	sort.SliceStable(p.Joins, func(a, b int) bool { return p.Joins[a].Kind.joinOrder < p.Joins[b].Kind.joinOrder })
	return p
}

// WithoutNew returns the plan without the given new-namespace flags (for
// namespaces that are created later, by other means).
func (p Plan) WithoutNew(flags uintptr) Plan {
	p.NewFlags &^= flags
	return p
}
