//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// criuWorksHere reports whether criu can checkpoint on this machine; the
// real checkpoint/restore tests run in the systemd VM (integration/systemd),
// where it can. Here the point is how skiff fails where it cannot.
func criuWorksHere() bool {
	if _, err := exec.LookPath("criu"); err != nil {
		return false
	}
	return exec.Command("criu", "check").Run() == nil
}

// oneSentence checks that an error reached the user as one line that says
// what is wrong.
func oneSentence(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.Stderr)
	if r.Code == 0 || msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("%s: want one error line and a non-zero exit: %s", what, r)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: the error should say %q: %q", what, w, msg)
		}
	}
}

func TestCheckpointWithoutWorkingCriu(t *testing.T) {
	t.Parallel()
	if criuWorksHere() {
		t.Skip("criu works on this host: the systemd VM tests cover checkpoint/restore")
	}
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `echo ready; sleep 100`) })
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	images := filepath.Join(c.dir, "images")
	r := c.skiff("checkpoint", "--image-path", images, c.id)
	oneSentence(t, "checkpoint of a created container", r, "not running")
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	c.waitOutput("ready", 10*time.Second)
	r = c.skiff("checkpoint", "--image-path", images, c.id)
	if _, err := exec.LookPath("criu"); err != nil {
		oneSentence(t, "checkpoint without criu", r, "criu is not installed")
	} else {
		oneSentence(t, "checkpoint where criu check fails", r, "criu cannot checkpoint on this host", "criu check")
	}
	if st := c.status(); st != "running" {
		t.Errorf("the container must still run after a refused checkpoint; it is %s", st)
	}
	r = c.skiff("checkpoint", "--image-path", images, "no-such-ctr")
	oneSentence(t, "checkpoint of an unknown id", r, "no-such-ctr", "does not exist")
	r = c.skiff("checkpoint", "--image-path", images, "--manage-cgroups-mode", "bogus", c.id)
	oneSentence(t, "a bad --manage-cgroups-mode", r, "manage-cgroups-mode")
}

func TestCheckpointTerminalNeedsShellJob(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Terminal = true
		shell(s, `sleep 100`)
	})
	recv := newConsoleReceiver(t, c.dir)
	if r := c.create("--console-socket", recv.path); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	master := recv.take(t)
	defer master.Close()
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	r := c.skiff("checkpoint", "--image-path", filepath.Join(c.dir, "images"), c.id)
	oneSentence(t, "checkpoint of a container with a terminal", r, "terminal", "--shell-job")
	if st := c.status(); st != "running" {
		t.Errorf("the container must still run; it is %s", st)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "images")); err == nil {
		t.Errorf("a refused checkpoint made the image directory")
	}
}

func TestRestoreBadInput(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 100`) })
	empty := filepath.Join(c.dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	r := c.skiff("restore", "-d", "--bundle", c.bundle, "--image-path", empty, c.id)
	oneSentence(t, "restore from a directory without a checkpoint", r, "holds no skiff checkpoint")
	r = c.skiff("restore", "-d", "--bundle", c.bundle, "--image-path", filepath.Join(c.dir, "missing"), c.id)
	oneSentence(t, "restore from a missing directory", r, "missing")
	assertNothingLeft(t, c)
}
