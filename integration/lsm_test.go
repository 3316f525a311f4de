//go:build integration

package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This host has neither AppArmor nor SELinux. skiff then behaves as
// current runc: a profile or process label it cannot apply is refused
// with a clear error (nothing left behind); a mount label is dropped.
func TestLSMWithoutHostSupport(t *testing.T) {
	t.Parallel()
	setup(t)
	if _, err := os.Stat("/sys/kernel/security/apparmor"); err == nil {
		t.Skip("this host has AppArmor")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("this host has SELinux")
	}
	for name, tc := range map[string]struct {
		mutate func(s *specs.Spec)
		want   string // "" means the container runs
	}{
		"apparmor profile": {func(s *specs.Spec) { s.Process.ApparmorProfile = "skiff-test" }, "AppArmor is not enabled"},
		"selinux label":    {func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, "SELinux is disabled"},
		"mount label":      {func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" }, ""},
	} {
		tc := tc
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				tc.mutate(s)
				shell(s, `echo ran`)
			})
			r := c.run()
			if tc.want == "" {
				if r.Code != 0 || r.Stdout != "ran\n" {
					t.Fatalf("want the container to run: %s", r)
				}
				return
			}
			if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
				t.Fatalf("want one error line containing %q: %s", tc.want, r)
			}
			assertNothingLeft(t, c)
		})
	}
	// exec refuses them the same way.
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 100`) })
	if r := c.skiff("run", "-d", "--bundle", c.bundle, c.id); r.Code != 0 {
		t.Fatalf("run -d: %s", r)
	}
	path := c.dir + "/p.json"
	writeFile(t, path, `{"args":["true"],"cwd":"/","apparmorProfile":"skiff-test"}`)
	if r := c.skiff("exec", "--process", path, c.id); r.Code == 0 || !strings.Contains(r.Stderr, "AppArmor is not enabled") {
		t.Errorf("exec with an apparmor profile: %s", r)
	}
}
