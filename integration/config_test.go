//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBrokenConfigs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(c *ctr, s *specs.Spec)
		raw    string // replaces config.json when set
		want   []string
	}{
		{name: "unparsable JSON", raw: `{"ociVersion": "1.0.0", "process": {`, want: []string{"config.json"}},
		{name: "wrong JSON type", raw: `{"ociVersion": "1.0.0", "process": {"args": "sh"}}`, want: []string{"config.json", "args"}},
		{name: "ociVersion 2.0.0", mutate: func(c *ctr, s *specs.Spec) { s.Version = "2.0.0" }, want: []string{"ociVersion", "2.0.0"}},
		{name: "missing process.args", mutate: func(c *ctr, s *specs.Spec) { s.Process.Args = nil }, want: []string{"process.args"}},
		{name: "relative cwd", mutate: func(c *ctr, s *specs.Spec) { s.Process.Cwd = "tmp" }, want: []string{"process.cwd", `"tmp"`}},
		{name: "relative mount destination", mutate: func(c *ctr, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "mnt/rel", Type: "tmpfs", Source: "tmpfs"})
		}, want: []string{"mounts[", "destination", "mnt/rel"}},
		{name: "duplicate namespace", mutate: func(c *ctr, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		}, want: []string{"linux.namespaces", "duplicate", "network"}},
		{name: "unknown namespace type", mutate: func(c *ctr, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, want: []string{"linux.namespaces", "bogus"}},
		{name: "bad rlimit type", mutate: func(c *ctr, s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, want: []string{"process.rlimits", "RLIMIT_BOGUS"}},
		{name: "missing rootfs", mutate: func(c *ctr, s *specs.Spec) { s.Root.Path = "no-such-rootfs" }, want: []string{"root.path", "no-such-rootfs"}},
		{name: "unknown capability", mutate: func(c *ctr, s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_BOGUS")
		}, want: []string{"process.capabilities", "CAP_BOGUS"}},
		{name: "hostname without uts namespace", mutate: func(c *ctr, s *specs.Spec) {
			removeNamespace(s, specs.UTSNamespace)
			s.Hostname = "x"
		}, want: []string{"hostname", "uts"}},
		{name: "timeOffsets without time namespace", mutate: func(c *ctr, s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, want: []string{"timeOffsets", "time namespace"}},
		{name: "user namespace without mappings", mutate: func(c *ctr, s *specs.Spec) {
			setNamespace(s, specs.UserNamespace, "")
		}, want: []string{"uidMappings"}},
		{name: "namespace path does not exist", mutate: func(c *ctr, s *specs.Spec) {
			setNamespace(s, specs.NetworkNamespace, "/proc/self/ns/no-such-ns-file")
		}, want: []string{"/proc/self/ns/no-such-ns-file"}},
		// These pass validation and fail while the container is being set
		// up, after its cgroup and mount namespace exist.
		{name: "missing bind source", mutate: func(c *ctr, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/x", Type: "bind", Source: "/no/such/source", Options: []string{"bind"}})
		}, want: []string{"/no/such/source"}},
		{name: "executable not found", mutate: func(c *ctr, s *specs.Spec) { s.Process.Args = []string{"/no/such/binary"} }, want: []string{"/no/such/binary"}},
		{name: "cwd is a file", mutate: func(c *ctr, s *specs.Spec) { s.Process.Cwd = "/etc/passwd" }, want: []string{"/etc/passwd"}},
		{name: "unknown sysctl", mutate: func(c *ctr, s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.no.such.key": "1"}
		}, want: []string{"net.no.such.key"}},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				shell(s, `echo should-not-run`)
				if tc.mutate != nil {
					tc.mutate(c, s)
				}
			})
			if tc.raw != "" {
				writeFile(t, filepath.Join(c.bundle, "config.json"), tc.raw)
			}
			rep := runSubreaper(t, c.dir, subreaperJob{Steps: [][]string{{skiffPath, "--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle, c.id}}})
			out, _ := os.ReadFile(filepath.Join(c.dir, "subreaper.stdout"))
			msg := string(out)
			if rep.Codes[0] != 1 {
				t.Errorf("create: want exit 1, got %d: %q", rep.Codes[0], msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", strings.TrimSpace(msg), w)
				}
			}
			if n := strings.Count(strings.TrimSpace(msg), "\n"); n > 0 {
				t.Errorf("the error should be one line, got %d: %q", n+1, msg)
			}
			if strings.Contains(msg, "should-not-run") {
				t.Errorf("the process ran")
			}
			if len(rep.Leftovers) > 0 {
				t.Errorf("processes left behind: %v", rep.Leftovers)
			}
			assertNothingLeft(t, c)
			if r := c.skiff("state", c.id); r.Code == 0 {
				t.Errorf("state of the failed container succeeded: %s", r)
			}
		})
	}
}
