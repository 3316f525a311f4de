//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootlessUser is created for the test and removed after it.
const rootlessUser = "skiff-rootless-it"

// TestRootless: an unprivileged user runs, execs into, kills and deletes a
// container (user namespace mapping the user to root, no cgroup), and the
// container sees its own rootfs, not the host's files.
func TestRootless(t *testing.T) {
	setup(t)
	uid, gid := ensureRootlessUser(t)
	dir := tempDir(t)
	bundle := filepath.Join(dir, "bundle")
	makeRootfs(t, filepath.Join(bundle, "rootfs"))
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	chownTree(t, dir, uid, gid)
	as := func(args ...string) result { return runAs(t, uid, gid, home, args...) }
	global := []string{"--root", filepath.Join(dir, "state"), "--data-root", filepath.Join(dir, "layers")}

	if r := as("spec", "--rootless", "--bundle", bundle); r.Code != 0 {
		t.Fatalf("spec --rootless: %s", r)
	}
	setArgs := func(args ...string) {
		path := filepath.Join(bundle, "config.json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		s.Process.Terminal = false
		s.Process.Args = args
		out, _ := json.Marshal(&s)
		writeFile(t, path, string(out))
		os.Chown(path, uid, gid)
	}

	setArgs("sh", "-c", `id -u; cat /proc/self/uid_map; test -e /work -o -e /home/`+rootlessUser+` && echo host-visible || echo host-hidden; echo hi > /tmp/w && cat /tmp/w`)
	r := as(append(global, "run", "--bundle", bundle, newID("rl"))...)
	if r.Code != 0 {
		t.Fatalf("rootless run: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 4 || lines[0] != "0" || lines[2] != "host-hidden" || lines[3] != "hi" {
		t.Fatalf("rootless container saw %q", r.Stdout)
	}
	if f := strings.Fields(lines[1]); len(f) != 3 || f[0] != "0" || f[1] != strconv.Itoa(uid) || f[2] != "1" {
		t.Errorf("uid_map inside: %q, want 0 %d 1", lines[1], uid)
	}

	setArgs("sleep", "1000")
	id := newID("rl")
	if r := as(append(global, "run", "-d", "--bundle", bundle, id)...); r.Code != 0 {
		t.Fatalf("rootless run -d: %s", r)
	}
	t.Cleanup(func() { as(append(global, "delete", "--force", id)...) })
	if r := as(append(global, "exec", id, "id", "-u")...); r.Code != 0 || r.Stdout != "0\n" {
		t.Errorf("rootless exec: %s", r)
	}
	if r := as(append(global, "kill", id, "KILL")...); r.Code != 0 {
		t.Errorf("rootless kill: %s", r)
	}
	waitStatus(t, func() string {
		var st map[string]any
		r := as(append(global, "state", id)...)
		json.Unmarshal([]byte(r.Stdout), &st)
		s, _ := st["status"].(string)
		return s
	}, "stopped")
	if r := as(append(global, "delete", id)...); r.Code != 0 {
		t.Errorf("rootless delete: %s", r)
	}
	if r := as(append(global, "list", "-q")...); r.Code != 0 || r.Stdout != "" {
		t.Errorf("containers left after delete: %s", r)
	}
}

func ensureRootlessUser(t *testing.T) (int, int) {
	t.Helper()
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", rootlessUser).CombinedOutput(); err != nil {
			t.Skipf("cannot create a user for the rootless test: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", rootlessUser).Run() })
		if u, err = user.Lookup(rootlessUser); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// runAs runs skiff as uid:gid with a minimal environment.
func runAs(t *testing.T, uid, gid int, home string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiffPath, args...)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	// Files, not pipes: a detached container inherits them.
	outF, err := os.CreateTemp(home, "out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(home, "err-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	err = cmd.Run()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	r := result{Args: args, Stdout: string(o), Stderr: string(e)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("skiff %v as %d: %v", args, uid, err)
	}
	return r
}

func waitStatus(t *testing.T, status func() string, want string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if status() == want {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("status never became %s", want)
}
