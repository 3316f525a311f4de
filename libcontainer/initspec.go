package libcontainer

import specs "github.com/opencontainers/runtime-spec/specs-go"

// initSpec is the part of the config the init reads; the bootstrap carries
// it instead of a whole specs.Spec. Decoding into a type builds
// encoding/json's caches (field lists and, since Go 1.2x, encoders) for
// every type reachable from it, read or not: for specs.Spec that is the
// Windows, VM, Solaris, z/OS, resources and Intel RDT trees too, about
// 0.4 ms of the init's CPU per container (perf, issue 8).
type initSpec struct {
	Root                 *specs.Root         `json:"root,omitempty"`
	Mounts               []specs.Mount       `json:"mounts,omitempty"`
	Hostname             string              `json:"hostname,omitempty"`
	Domainname           string              `json:"domainname,omitempty"`
	CreateContainerHooks []specs.Hook        `json:"createContainerHooks,omitempty"`
	StartContainerHooks  []specs.Hook        `json:"startContainerHooks,omitempty"`
	Devices              []specs.LinuxDevice `json:"devices,omitempty"`
	Sysctl               map[string]string   `json:"sysctl,omitempty"`
	RootfsPropagation    string              `json:"rootfsPropagation,omitempty"`
	MaskedPaths          []string            `json:"maskedPaths,omitempty"`
	ReadonlyPaths        []string            `json:"readonlyPaths,omitempty"`
}

// newInitSpec takes from s what the init needs. s is not copied: the
// result is encoded at once.
func newInitSpec(s *specs.Spec) *initSpec {
	is := &initSpec{Root: s.Root, Mounts: s.Mounts, Hostname: s.Hostname, Domainname: s.Domainname}
	if s.Hooks != nil {
		is.CreateContainerHooks = s.Hooks.CreateContainer
		is.StartContainerHooks = s.Hooks.StartContainer
	}
	if l := s.Linux; l != nil {
		is.Devices, is.Sysctl = l.Devices, l.Sysctl
		is.RootfsPropagation, is.MaskedPaths, is.ReadonlyPaths = l.RootfsPropagation, l.MaskedPaths, l.ReadonlyPaths
	}
	return is
}

// spec gives the init its config back in the spec's own shape, for the
// code it shares with the runtime (rootfs, hooks).
func (is *initSpec) spec() *specs.Spec {
	s := &specs.Spec{
		Root: is.Root, Mounts: is.Mounts, Hostname: is.Hostname, Domainname: is.Domainname,
		Linux: &specs.Linux{
			Devices: is.Devices, Sysctl: is.Sysctl,
			RootfsPropagation: is.RootfsPropagation, MaskedPaths: is.MaskedPaths, ReadonlyPaths: is.ReadonlyPaths,
		},
	}
	if s.Root == nil {
		s.Root = &specs.Root{}
	}
	if len(is.CreateContainerHooks) > 0 || len(is.StartContainerHooks) > 0 {
		s.Hooks = &specs.Hooks{CreateContainer: is.CreateContainerHooks, StartContainer: is.StartContainerHooks}
	}
	return s
}
