//go:build !nocriu

package libcontainer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestStripCriuLocation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Error (criu/cr-dump.c:1618): A session leader of 531(1) is outside of its pid namespace\n", "A session leader of 531(1) is outside of its pid namespace"},
		{"(00.123) Error (criu/files.c:12): Can't lookup mount=23 for fd=0 path=/dev/null", "Can't lookup mount=23 for fd=0 path=/dev/null"},
		{"plain words\n  wrapped", "plain words wrapped"},
		{"", ""},
	} {
		if got := stripCriuLocation(tc.in); got != tc.want {
			t.Errorf("stripCriuLocation(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFirstCriuError(t *testing.T) {
	log := filepath.Join(t.TempDir(), "dump.log")
	os.WriteFile(log, []byte("(00.1) Dumping\n(00.2) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n(00.3) Error (criu/kerndat.c:1615): kerndat failed.\n"), 0o600)
	if got := firstCriuError(log); got != "vdso: Unexpected rt vDSO area bounds" {
		t.Errorf("firstCriuError = %q", got)
	}
	if got := firstCriuError(log + ".missing"); got != "" {
		t.Errorf("firstCriuError of a missing log = %q", got)
	}
}

func TestExternalNSKey(t *testing.T) {
	for typ, want := range map[specs.LinuxNamespaceType]string{
		specs.NetworkNamespace: "extRootNetNS",
		specs.PIDNamespace:     "extRootPidNS",
		specs.MountNamespace:   "extRootMntNS",
	} {
		if got := externalNSKey(typ); got != want {
			t.Errorf("externalNSKey(%s) = %q, want %q", typ, got, want)
		}
	}
}

func TestExternalMounts(t *testing.T) {
	st := &State{ID: "x", Bundle: "/bundles/x"}
	err := st.setSpec(&specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/srv/data"},
			{Destination: "/etc/hosts", Source: "hosts", Options: []string{"rbind", "ro"}},
			{Destination: "/data/", Type: "bind", Source: "/srv/other"},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		},
		Linux: &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/fuse"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := externalMounts(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []extMount{{"/data", "/srv/data"}, {"/etc/hosts", "/bundles/x/hosts"}, {"/dev/fuse", "/dev/fuse"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("externalMounts = %v, want %v", got, want)
	}
	// Only what is mounted in the container: the device was created with
	// mknod, not bound.
	got, _ = externalMounts(st, map[string]bool{"/data": true, "/etc/hosts": true})
	if len(got) != 2 {
		t.Errorf("externalMounts filtered by mount points = %v", got)
	}
}
