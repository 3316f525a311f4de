package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libcontainer/specdefault"
)

func validConfig(t *testing.T) map[string]any {
	t.Helper()
	data, err := json.Marshal(specdefault.New())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseRejects(t *testing.T) {
	proc := func(m map[string]any) map[string]any { return m["process"].(map[string]any) }
	linux := func(m map[string]any) map[string]any { return m["linux"].(map[string]any) }
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		raw    string
		want   string
	}{
		{name: "unparsable", raw: `{"ociVersion": "1.0.0",`, want: "config.json"},
		{name: "empty", raw: ``, want: "empty or truncated"},
		{name: "wrong type", raw: `{"ociVersion": 1}`, want: `field "ociVersion"`},
		{name: "major version", mutate: func(m map[string]any) { m["ociVersion"] = "2.0.0" }, want: "ociVersion: unsupported"},
		{name: "no version", mutate: func(m map[string]any) { delete(m, "ociVersion") }, want: "ociVersion: missing"},
		{name: "no args", mutate: func(m map[string]any) { delete(proc(m), "args") }, want: "process.args"},
		{name: "relative cwd", mutate: func(m map[string]any) { proc(m)["cwd"] = "tmp" }, want: "process.cwd"},
		{name: "relative mount", mutate: func(m map[string]any) {
			m["mounts"] = []any{map[string]any{"destination": "proc", "type": "proc", "source": "proc"}}
		}, want: "mounts[0].destination"},
		{name: "duplicate ns", mutate: func(m map[string]any) {
			linux(m)["namespaces"] = []any{map[string]any{"type": "pid"}, map[string]any{"type": "pid"}}
		}, want: "duplicate namespace"},
		{name: "unknown ns", mutate: func(m map[string]any) {
			linux(m)["namespaces"] = []any{map[string]any{"type": "bogus"}}
		}, want: "unknown namespace type"},
		{name: "bad rlimit", mutate: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}}
		}, want: "process.rlimits[0].type"},
		{name: "unknown cap", mutate: func(m map[string]any) {
			proc(m)["capabilities"] = map[string]any{"bounding": []any{"CAP_TEST"}}
		}, want: `unknown capability "CAP_TEST"`},
		{name: "relative hook", mutate: func(m map[string]any) {
			m["hooks"] = map[string]any{"prestart": []any{map[string]any{"path": "hook"}}}
		}, want: "hooks.prestart[0].path"},
		{name: "no root", mutate: func(m map[string]any) { delete(m, "root") }, want: "root.path"},
		{name: "bad propagation", mutate: func(m map[string]any) { linux(m)["rootfsPropagation"] = "weird" }, want: "linux.rootfsPropagation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.mutate != nil {
				m := validConfig(t)
				tc.mutate(m)
				var err error
				if data, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Parse(data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseAcceptsDefault(t *testing.T) {
	data, _ := json.Marshal(validConfig(t))
	if _, err := Parse(data); err != nil {
		t.Fatal(err)
	}
}

func TestLoadResolvesRelativeRootfs(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(validConfig(t))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Rootfs != filepath.Join(dir, "rootfs") {
		t.Fatalf("rootfs = %q", b.Rootfs)
	}
	os.Remove(filepath.Join(dir, "rootfs"))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "root.path") {
		t.Fatalf("missing rootfs: got %v", err)
	}
}

func TestValidateID(t *testing.T) {
	for id, ok := range map[string]bool{
		"abc": true, "a.b-c_d+e": true, "123": true,
		"": false, ".": false, "..": false, "a/b": false, "../x": false, "a b": false, "a\n": false,
	} {
		if err := ValidateID(id); (err == nil) != ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

// linuxSpec must keep every field of specs.Spec but the other platforms':
// a field the runtime-spec module adds would otherwise be dropped without
// a word.
func TestLinuxSpecMirrorsSpec(t *testing.T) {
	other := map[string]bool{"Solaris": true, "Windows": true, "VM": true, "ZOS": true, "FreeBSD": true}
	st, lt := reflect.TypeFor[specs.Spec](), reflect.TypeFor[linuxSpec]()
	if st.NumField() != lt.NumField() {
		t.Fatalf("specs.Spec has %d fields, linuxSpec %d", st.NumField(), lt.NumField())
	}
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		lf, ok := lt.FieldByName(sf.Name)
		if !ok {
			t.Errorf("linuxSpec lacks %s", sf.Name)
			continue
		}
		if lf.Tag.Get("json") != sf.Tag.Get("json") {
			t.Errorf("%s: json tag %q, specs.Spec has %q", sf.Name, lf.Tag.Get("json"), sf.Tag.Get("json"))
		}
		want := sf.Type
		if other[sf.Name] {
			want = reflect.TypeFor[json.RawMessage]()
		}
		if lf.Type != want {
			t.Errorf("%s: type %v, want %v", sf.Name, lf.Type, want)
		}
	}
}

func TestParseKeepsLinuxFieldsAndChecksOtherPlatforms(t *testing.T) {
	cfg := validConfig(t)
	cfg["hostname"] = "h"
	cfg["annotations"] = map[string]any{"a": "b"}
	cfg["windows"] = map[string]any{"layerFolders": []string{"x"}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "h" || spec.Annotations["a"] != "b" || spec.Linux == nil || spec.Process == nil || spec.Windows != nil {
		t.Fatalf("parsed %+v", spec)
	}
	bad := strings.Replace(string(data), `"layerFolders":["x"]`, `"layerFolders":[x]`, 1)
	if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Fatalf("malformed windows section: err %v", err)
	}
}

// The state stores Bundle.Config as the container's config: it must be
// the JSON value decoded and nothing after it.
func TestLoadKeepsTheConfigValueOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := validConfig(t)
	cfg["root"] = map[string]any{"path": "rootfs"}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(data, "\n trailing"...), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Config) != string(data) {
		t.Fatalf("Config is %q, want the JSON value %q", b.Config, data)
	}
}
