package libcontainer

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Everything the init reads survives the trip through the bootstrap.
func TestInitSpecRoundTrip(t *testing.T) {
	mode := specs.LinuxSeccompFlag("SECCOMP_FILTER_FLAG_LOG")
	full := &specs.Spec{
		Root:       &specs.Root{Path: "rootfs", Readonly: true},
		Hostname:   "h",
		Domainname: "d",
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}}},
		Hooks: &specs.Hooks{
			Prestart:        []specs.Hook{{Path: "/bin/prestart"}},
			CreateContainer: []specs.Hook{{Path: "/bin/cc", Args: []string{"cc", "x"}, Env: []string{"A=1"}}},
			StartContainer:  []specs.Hook{{Path: "/bin/sc", Timeout: new(int)}},
		},
		Linux: &specs.Linux{
			Devices:           []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			Sysctl:            map[string]string{"net.ipv4.ip_forward": "1"},
			RootfsPropagation: "rslave",
			MaskedPaths:       []string{"/proc/kcore"},
			ReadonlyPaths:     []string{"/proc/sys"},
			Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{mode},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpEqualTo}}}}},
			Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{}},
		},
	}
	data, err := encodeBootstrap(&bootstrap{Spec: newInitSpec(full)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeBootstrap(data)
	if err != nil {
		t.Fatal(err)
	}
	got := b.Spec.spec()
	want := &specs.Spec{
		Root: full.Root, Hostname: full.Hostname, Domainname: full.Domainname, Mounts: full.Mounts,
		Hooks: &specs.Hooks{CreateContainer: full.Hooks.CreateContainer, StartContainer: full.Hooks.StartContainer},
		Linux: &specs.Linux{
			Devices: full.Linux.Devices, Sysctl: full.Linux.Sysctl, RootfsPropagation: full.Linux.RootfsPropagation,
			MaskedPaths: full.Linux.MaskedPaths, ReadonlyPaths: full.Linux.ReadonlyPaths,
		},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("after the bootstrap:\n got %s\nwant %s", gj, wj)
	}
}
