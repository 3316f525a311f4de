//go:build integration

package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runningCtr starts a container that sleeps, for exec tests.
func runningCtr(t *testing.T, mutate func(c *ctr, s *specs.Spec)) (*ctr, int) {
	t.Helper()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		if mutate != nil {
			mutate(c, s)
		}
		shell(s, `sleep 1000`)
	})
	pidFile := filepath.Join(c.dir, "init.pid")
	if r := c.skiff("run", "-d", "--pid-file", pidFile, "--bundle", c.bundle, c.id); r.Code != 0 {
		t.Fatalf("run -d: %s", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(data))
	return c, pid
}

// TestExecJoinsInitNamespaces: an exec'd process is in every namespace of
// the init (user included, in a user-namespaced container) and in its
// cgroup.
func TestExecJoinsInitNamespaces(t *testing.T) {
	t.Parallel()
	for _, userns := range []bool{false, true} {
		userns := userns
		t.Run(fmt.Sprintf("userns=%v", userns), func(t *testing.T) {
			t.Parallel()
			c, pid := runningCtr(t, func(c *ctr, s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
				if userns {
					noLayer(s)
					s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
					m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
					s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
					chownTree(t, c.rootfs, 100000, 100000)
				}
			})
			r := c.skiff("exec", c.id, "sh", "-c", nsScript+`; echo "cgview $(cat /proc/self/cgroup | sort | tr '\n' ' ')"; id -u`)
			if r.Code != 0 {
				t.Fatalf("exec: %s", r)
			}
			inside := parseNS(r.Stdout)
			for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
				want := nsLink(t, fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
				if inside[ns] != want {
					t.Errorf("%s: exec'd process in %s, the init in %s", ns, inside[ns], want)
				}
			}
			initCg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			if !strings.Contains(r.Stdout, "cgview ") || len(initCg) == 0 {
				t.Errorf("no cgroup view: %q", r.Stdout)
			}
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if lines[len(lines)-1] != "0" {
				t.Errorf("exec'd process is not root in the container: %q", lines[len(lines)-1])
			}
		})
	}
}

// TestExecExitStatus: foreground exec returns the process's status, 128+N
// for a signal death.
func TestExecExitStatus(t *testing.T) {
	t.Parallel()
	c, _ := runningCtr(t, nil)
	for script, want := range map[string]int{"exit 0": 0, "exit 3": 3, "kill -KILL $$": 128 + 9} {
		if r := c.skiff("exec", c.id, "sh", "-c", script); r.Code != want {
			t.Errorf("exec %q: exit %d, want %d (%s)", script, r.Code, want, r)
		}
	}
	if r := c.skiff("exec", c.id, "no-such-command"); r.Code == 0 || !strings.Contains(r.Stderr, "executable file not found") {
		t.Errorf("exec of a missing command: %s", r)
	}
}

// TestExecBadProcessJSON: one clear error and no process left.
func TestExecBadProcessJSON(t *testing.T) {
	t.Parallel()
	c, pid := runningCtr(t, nil)
	before := liveChildrenOfInit(pid)
	for name, body := range map[string]string{
		"unparsable":   `{"args": ["sh"`,
		"no args":      `{"cwd": "/"}`,
		"relative cwd": `{"args": ["true"], "cwd": "tmp"}`,
		"bad cap":      `{"args": ["true"], "cwd": "/", "capabilities": {"bounding": ["CAP_TEST"]}}`,
		"scheduler":    `{"args": ["true"], "cwd": "/", "scheduler": {"policy": "SCHED_OTHER"}}`,
	} {
		path := filepath.Join(c.dir, "process.json")
		writeFile(t, path, body)
		r := c.skiff("exec", "--process", path, c.id)
		if r.Code == 0 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || r.Stderr == "" {
			t.Errorf("%s: want one error line and a non-zero exit: %s", name, r)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := liveChildrenOfInit(pid); after != before {
		t.Errorf("processes in the container changed: %d before, %d after", before, after)
	}
}

func liveChildrenOfInit(pid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err == nil && parentOf(p) == pid {
			n++
		}
	}
	return n
}

// TestDetachedExecParentIsSubreaper: exec --detach leaves the process to
// the caller's subreaper, holding the caller's stdio, with its pid file
// written once it runs.
func TestDetachedExecParentIsSubreaper(t *testing.T) {
	t.Parallel()
	c, _ := runningCtr(t, nil)
	pidFile := filepath.Join(c.dir, "exec.pid")
	rep := runSubreaper(t, c.dir, subreaperJob{
		Steps:   [][]string{{skiffPath, "--root", c.root, "--data-root", c.data, "exec", "--detach", "--pid-file", pidFile, c.id, "sleep", "30"}},
		PidFile: pidFile,
		Cleanup: []string{skiffPath, "--root", c.root, "--data-root", c.data, "delete", "--force", c.id},
	})
	if rep.Codes[0] != 0 {
		t.Fatalf("exec --detach under the subreaper: exit %d", rep.Codes[0])
	}
	if rep.Pid == 0 {
		t.Fatal("no pid file from exec --detach")
	}
	if rep.PPid != rep.Self {
		t.Errorf("detached exec process %d has parent %d, want the subreaper %d", rep.Pid, rep.PPid, rep.Self)
	}
	for fd, link := range rep.Fds {
		if n, _ := strconv.Atoi(fd); n > 2 {
			t.Errorf("detached exec process holds fd %s -> %s", fd, link)
		}
	}
}

// TestPidfdSocket: the pidfd received over --pidfd-socket signals the
// container's process (create) and an exec'd one.
func TestPidfdSocket(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 1000`) })
	recv := func() (string, chan int) {
		path := filepath.Join(c.dir, fmt.Sprintf("pidfd-%d.sock", time.Now().UnixNano()))
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan int, 1)
		go func() {
			defer l.Close()
			conn, err := l.AcceptUnix()
			if err != nil {
				ch <- -1
				return
			}
			defer conn.Close()
			buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
			_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil || perr != nil || len(msgs) != 1 {
				ch <- -1
				return
			}
			fds, err := unix.ParseUnixRights(&msgs[0])
			if err != nil || len(fds) != 1 {
				ch <- -1
				return
			}
			ch <- fds[0]
		}()
		return path, ch
	}
	take := func(ch chan int) int {
		select {
		case fd := <-ch:
			if fd < 0 {
				t.Fatal("no pidfd received")
			}
			return fd
		case <-time.After(20 * time.Second):
			t.Fatal("no pidfd received")
		}
		return -1
	}
	sock, ch := recv()
	if r := c.skiff("create", "--pidfd-socket", sock, "--bundle", c.bundle, c.id); r.Code != 0 {
		t.Fatalf("create --pidfd-socket: %s", r)
	}
	initFd := take(ch)
	defer unix.Close(initFd)
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	sock, ch = recv()
	if r := c.skiff("exec", "-d", "--pidfd-socket", sock, c.id, "sleep", "1000"); r.Code != 0 {
		t.Fatalf("exec --pidfd-socket: %s", r)
	}
	execFd := take(ch)
	defer unix.Close(execFd)
	// The exec'd process first: killing the init (pid 1 of the container's
	// pid namespace) takes every other process of the container with it.
	for _, p := range []struct {
		name string
		fd   int
	}{{"exec", execFd}, {"init", initFd}} {
		name, fd := p.name, p.fd
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
			t.Fatalf("%s: signal through the pidfd: %v", name, err)
		}
		// A pidfd polls readable once its process has exited.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 5000); err != nil || n != 1 {
			t.Errorf("%s: the process did not die from the signal sent through its pidfd (%d, %v)", name, n, err)
		}
	}
}

// TestExecAppliesProcessSettingsLikeInit: the container's own process
// (set up by the Go init), an exec'd one (set up in C by stage 0,
// namespaces/nsenter/process.c) and an exec'd one with a terminal (the Go
// init again) run the same script under the same process settings and must
// all report what the config asks for: user, groups, umask, the five
// capability sets as the kernel leaves them after execve as a non-root
// user, no_new_privs, the seccomp filter (mkdir denied with EXDEV), the OOM
// score, the cwd and the PATH lookup.
func TestExecAppliesProcessSettingsLikeInit(t *testing.T) {
	t.Parallel()
	script := `echo "ids $(id -u) $(id -g) $(id -G)"; echo "umask $(umask)"; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; ` +
		`echo "oom $(cat /proc/self/oom_score_adj)"; echo "cwd $(pwd)"; echo "which $(which id)"; ` +
		`mkdir /tmp/d 2>/dev/null; echo "mkdir $?"`
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Root.Readonly = false
		s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: ptr(uint32(0o027))}
		s.Process.Cwd = "/tmp"
		s.Process.Env = append(s.Process.Env, "PATH=/nonexistent:/bin")
		s.Process.NoNewPrivileges = true
		s.Process.OOMScoreAdj = ptr(321)
		caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: append(caps, "CAP_SYS_ADMIN"), Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps[:2],
		}
		s.Linux.Seccomp = seccompMkdir(specs.ActErrno, ptr(uint(unix.EXDEV)))
		shell(s, script+"; echo init-done; sleep 1000")
	})
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	init := c.waitOutput("init-done", 10*time.Second)
	// Only ambient capabilities survive the execve of a non-root user's
	// program (0x21: CAP_CHOWN and CAP_KILL).
	want := []string{
		"ids 1000 1001 1001 10 20", "umask 0027",
		"CapInh:\t0000000000000421", "CapPrm:\t0000000000000021", "CapEff:\t0000000000000021",
		"CapBnd:\t0000000000200421", "CapAmb:\t0000000000000021",
		"NoNewPrivs:\t1", "Seccomp:\t2", "oom 321", "cwd /tmp", "which /bin/id", "mkdir 1",
	}
	check := func(who, out string) {
		out = strings.ReplaceAll(out, "\r\n", "\n")
		for _, line := range want {
			if !strings.Contains(out, line+"\n") {
				t.Errorf("%s: want %q in\n%s", who, line, out)
			}
		}
	}
	check("the container's process", init)
	r := c.skiff("exec", c.id, "sh", "-c", script)
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	check("exec", r.Stdout)
	if r := c.skiff("exec", "-t", c.id, "sh", "-c", script); r.Code != 0 {
		t.Errorf("exec -t: %s", r)
	} else {
		check("exec -t", r.Stdout)
	}
}
