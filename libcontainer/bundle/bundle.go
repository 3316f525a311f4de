// Package bundle loads and validates an OCI bundle: config.json plus the
// root filesystem it names. Every error names the JSON field at fault.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libcontainer/capabilities"
	"github.com/skiff-runtime/skiff/namespaces"
)

// Bundle is a loaded, validated bundle.
type Bundle struct {
	Dir    string      // absolute bundle directory
	Rootfs string      // absolute root filesystem path
	Spec   *specs.Spec // the parsed config.json
	// Config is config.json as read: the state stores it as the
	// container's config while Spec is unchanged, instead of encoding
	// Spec again.
	Config []byte
}

// Load reads <dir>/config.json and validates it.
func Load(dir string) (*Bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bundle %q has no config.json", abs)
		}
		return nil, fmt.Errorf("read config.json: %w", err)
	}
	spec, config, err := parse(data)
	if err != nil {
		return nil, err
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(abs, rootfs)
	}
	st, err := os.Stat(rootfs)
	if err != nil {
		return nil, fmt.Errorf("root.path: rootfs %q: %w", rootfs, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("root.path: rootfs %q is not a directory", rootfs)
	}
	return &Bundle{Dir: abs, Rootfs: filepath.Clean(rootfs), Spec: spec, Config: config}, nil
}

// Parse decodes and validates a config.json document.
func Parse(data []byte) (*specs.Spec, error) {
	spec, _, err := parse(data)
	return spec, err
}

// parse also returns the bytes of the JSON value it decoded (a decoder
// stops there: what follows is not part of the config).
func parse(data []byte) (*specs.Spec, []byte, error) {
	var ls linuxSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ls); err != nil {
		return nil, nil, fmt.Errorf("config.json: %s", describeJSONError(err))
	}
	spec := ls.spec()
	if err := Validate(spec); err != nil {
		return nil, nil, err
	}
	return spec, data[:dec.InputOffset()], nil
}

// linuxSpec is specs.Spec without the other platforms' sections, which a
// Linux runtime never reads. Decoding into a struct makes encoding/json
// build its encoders for every type the struct can reach, read or not:
// the Windows, Solaris, VM, z/OS and FreeBSD trees are about a third of
// specs.Spec's, 0.25 ms of a cold decode (issue 8). As raw JSON they are
// still checked to be well-formed.
type linuxSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *specs.Linux      `json:"linux,omitempty"`
	Solaris     json.RawMessage   `json:"solaris,omitempty"`
	Windows     json.RawMessage   `json:"windows,omitempty"`
	VM          json.RawMessage   `json:"vm,omitempty"`
	ZOS         json.RawMessage   `json:"zos,omitempty"`
	FreeBSD     json.RawMessage   `json:"freebsd,omitempty"`
}

func (ls *linuxSpec) spec() *specs.Spec {
	return &specs.Spec{
		Version: ls.Version, Process: ls.Process, Root: ls.Root, Hostname: ls.Hostname,
		Domainname: ls.Domainname, Mounts: ls.Mounts, Hooks: ls.Hooks,
		Annotations: ls.Annotations, Linux: ls.Linux,
	}
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	}
	return err.Error()
}

// Validate checks the parts of a spec skiff relies on.
func Validate(spec *specs.Spec) error {
	if spec.Version == "" {
		return errors.New("ociVersion: missing")
	}
	if major := strings.SplitN(spec.Version, ".", 2)[0]; major != "1" {
		return fmt.Errorf("ociVersion: unsupported version %q (skiff supports 1.x)", spec.Version)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("root.path: missing")
	}
	if spec.Process == nil {
		return errors.New("process: missing")
	}
	if err := ValidateProcess(spec.Process); err != nil {
		return err
	}
	for i, m := range spec.Mounts {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d].destination: missing", i)
		}
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("mounts[%d].destination: %q is not an absolute path", i, m.Destination)
		}
	}
	if err := validateHooks(spec.Hooks); err != nil {
		return err
	}
	if spec.Linux != nil {
		if _, err := namespaces.NewPlan(spec.Linux.Namespaces); err != nil {
			return err
		}
		for i, d := range spec.Linux.Devices {
			if !filepath.IsAbs(d.Path) {
				return fmt.Errorf("linux.devices[%d].path: %q is not an absolute path", i, d.Path)
			}
			switch d.Type {
			case "c", "b", "u", "p":
			default:
				return fmt.Errorf("linux.devices[%d].type: unknown device type %q", i, d.Type)
			}
		}
		if spec.Linux.RootfsPropagation != "" {
			if _, ok := PropagationFlags[spec.Linux.RootfsPropagation]; !ok {
				return fmt.Errorf("linux.rootfsPropagation: unknown propagation %q", spec.Linux.RootfsPropagation)
			}
		}
	}
	return nil
}

// PropagationFlags lists the accepted rootfsPropagation values.
var PropagationFlags = map[string]bool{
	"private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "unbindable": true, "runbindable": true,
}

// ValidateProcess checks a process (from config.json or exec --process).
func ValidateProcess(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return errors.New("process.args: missing (nothing to run)")
	}
	if p.Cwd == "" {
		return errors.New("process.cwd: missing")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd: %q is not an absolute path", p.Cwd)
	}
	seen := map[string]bool{}
	for i, rl := range p.Rlimits {
		if _, ok := RlimitTypes[rl.Type]; !ok {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, rl.Type)
		}
		if seen[rl.Type] {
			return fmt.Errorf("process.rlimits[%d].type: duplicate rlimit %q", i, rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return fmt.Errorf("process.rlimits[%d]: soft limit %d above hard limit %d for %s", i, rl.Soft, rl.Hard, rl.Type)
		}
	}
	if c := p.Capabilities; c != nil {
		for _, set := range []struct {
			name string
			caps []string
		}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable}, {"permitted", c.Permitted}, {"ambient", c.Ambient}} {
			for _, name := range set.caps {
				if _, err := capabilities.Parse(name); err != nil {
					return fmt.Errorf("process.capabilities.%s: %w", set.name, err)
				}
			}
		}
	}
	for i, e := range p.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("process.env[%d]: %q is not NAME=value", i, e)
		}
	}
	return nil
}

func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	for _, set := range []struct {
		name  string
		hooks []specs.Hook
	}{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer}, {"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}} {
		for i, hk := range set.hooks {
			if !filepath.IsAbs(hk.Path) {
				return fmt.Errorf("hooks.%s[%d].path: %q is not an absolute path", set.name, i, hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return fmt.Errorf("hooks.%s[%d].timeout: must be positive, got %d", set.name, i, *hk.Timeout)
			}
		}
	}
	return nil
}
