package libcontainer

import specs "github.com/opencontainers/runtime-spec/specs-go"

// initSpec is the part of the config the init reads; the bootstrap carries
// it instead of a whole specs.Spec (resources, the seccomp rules, the
// other platforms' sections), which the runtime would encode and the init
// decode for nothing.
type initSpec struct {
	Root                 *specs.Root
	Mounts               []specs.Mount
	Hostname             string
	Domainname           string
	CreateContainerHooks []specs.Hook
	StartContainerHooks  []specs.Hook
	Devices              []specs.LinuxDevice
	Sysctl               map[string]string
	RootfsPropagation    string
	MaskedPaths          []string
	ReadonlyPaths        []string
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
