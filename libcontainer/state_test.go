package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// save keeps state.json whole at every step: the first save renames the
// new file in, later ones exchange it with the previous state, which is
// left at stateTmp to be rewritten; a torn stateTmp from a crash does not
// matter.
func TestSaveExchangesState(t *testing.T) {
	s := store{t.TempDir()}
	if err := os.Mkdir(s.dir("c"), 0o711); err != nil {
		t.Fatal(err)
	}
	ino := func(name string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(s.dir("c"), name), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	for i, phase := range []string{StatusCreating, StatusCreated, StatusRunning} {
		if err := s.save(&State{ID: "c", Phase: phase, Pid: 100 + i}); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		got, err := s.load("c")
		if err != nil {
			t.Fatal(err)
		}
		if got.Phase != phase || got.Pid != 100+i {
			t.Fatalf("after save %d: state %s pid %d, want %s %d", i, got.Phase, got.Pid, phase, 100+i)
		}
		if fi, err := os.Stat(filepath.Join(s.dir("c"), stateFile)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state.json: %v, %v", fi, err)
		}
	}
	// A crash between truncating stateTmp and the exchange leaves garbage
	// there; the next save rewrites it.
	if err := os.WriteFile(filepath.Join(s.dir("c"), stateTmp), []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := ino(stateTmp)
	if err := s.save(&State{ID: "c", Phase: StatusStopped}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.load("c"); err != nil || got.Phase != StatusStopped {
		t.Fatalf("after the torn temporary file: %+v, %v", got, err)
	}
	if ino(stateFile) != before {
		t.Log("no RENAME_EXCHANGE here: saved by rename")
	}
}

// The config is stored as it was given and read back whole (Spec) or as
// the view start, exec, kill and delete use; a change made through Spec
// and setSpec is what the next load sees.
func TestStateConfigRoundTrip(t *testing.T) {
	s := store{t.TempDir()}
	if err := os.Mkdir(s.dir("c"), 0o711); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/", Env: []string{"A=1"}, User: specs.User{UID: 7}},
		Root:    &specs.Root{Path: "rootfs"},
		Hooks:   &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"}},
			Seccomp:    &specs.LinuxSeccomp{DefaultAction: specs.ActAllow},
			Resources:  &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
		},
	}
	st := &State{ID: "c", Phase: StatusRunning}
	if err := st.setSpec(spec); err != nil {
		t.Fatal(err)
	}
	if err := s.save(st); err != nil {
		t.Fatal(err)
	}
	// On disk the config is the spec's own JSON object.
	data, err := os.ReadFile(filepath.Join(s.dir("c"), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk struct{ Config *specs.Spec }
	if err := json.Unmarshal(data, &onDisk); err != nil || !reflect.DeepEqual(onDisk.Config, spec) {
		t.Fatalf("config on disk: %+v, %v", onDisk.Config, err)
	}
	got, err := s.load("c")
	if err != nil {
		t.Fatal(err)
	}
	v, err := got.view()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Process, spec.Process) || !reflect.DeepEqual(v.Hooks, spec.Hooks) ||
		!reflect.DeepEqual(v.Linux.Namespaces, spec.Linux.Namespaces) || !reflect.DeepEqual(v.Linux.Seccomp, spec.Linux.Seccomp) {
		t.Errorf("view after load: %+v", v)
	}
	if !got.hasNewPidNS() {
		t.Error("hasNewPidNS: the config has a new pid namespace")
	}
	full, err := got.Spec()
	if err != nil || !reflect.DeepEqual(full, spec) {
		t.Fatalf("Spec after load: %+v, %v", full, err)
	}
	full.Linux.Resources.CPU.Cpus = "1"
	if err := got.setSpec(full); err != nil {
		t.Fatal(err)
	}
	if err := s.save(got); err != nil {
		t.Fatal(err)
	}
	again, err := s.load("c")
	if err != nil {
		t.Fatal(err)
	}
	if full, err := again.Spec(); err != nil || full.Linux.Resources.CPU.Cpus != "1" {
		t.Errorf("update lost: %+v, %v", full, err)
	}
}

func TestHasHooks(t *testing.T) {
	hook := []specs.Hook{{Path: "/bin/true"}}
	tests := []struct {
		name string
		h    *specs.Hooks
		want bool
	}{
		{"nil", nil, false},
		{"empty", &specs.Hooks{}, false},
		{"prestart", &specs.Hooks{Prestart: hook}, true},
		{"createRuntime", &specs.Hooks{CreateRuntime: hook}, true},
		{"createContainer", &specs.Hooks{CreateContainer: hook}, true},
		{"startContainer", &specs.Hooks{StartContainer: hook}, true},
		{"poststart", &specs.Hooks{Poststart: hook}, true},
		{"poststop", &specs.Hooks{Poststop: hook}, true},
	}
	for _, tc := range tests {
		if got := hasHooks(tc.h); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// NoHooks spares start and delete the config's decoding; without it the
// config is read.
func TestStateHooksHonoursNoHooks(t *testing.T) {
	cfg := json.RawMessage(`{"hooks":{"poststop":[{"path":"/bin/true"}]}}`)
	with := &State{ID: "a", Config: cfg}
	if h := with.hooks(); h == nil || len(h.Poststop) != 1 {
		t.Fatalf("hooks from the config: %+v", h)
	}
	without := &State{ID: "b", Config: cfg, NoHooks: true}
	if h := without.hooks(); h != nil {
		t.Fatalf("NoHooks state gave hooks %+v", h)
	}
	if without.cv != nil {
		t.Fatal("NoHooks state decoded its config")
	}
}
