//go:build integration

package integration

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPid1AndHostname(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Hostname = "skiff-it-host"
		s.Domainname = "skiff-it.example"
		shell(s, `echo "pid=$$"; echo "host=$(hostname)"; echo "dom=$(cat /proc/sys/kernel/domainname)"`)
	})
	out := c.mustRun()
	for _, want := range []string{"pid=1\n", "host=skiff-it-host\n", "dom=skiff-it.example\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output %q lacks %q", out, want)
		}
	}
}

func TestEnvAndCwd(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "SKIFF_IT_VAR=hello world", "EMPTY=")
		s.Process.Cwd = "/tmp"
		shell(s, `echo "pwd=$(pwd)"; echo "var=$SKIFF_IT_VAR"; env | sort`)
	})
	out := c.mustRun()
	if !strings.Contains(out, "pwd=/tmp\n") {
		t.Errorf("cwd: output %q lacks pwd=/tmp", out)
	}
	if !strings.Contains(out, "var=hello world\n") {
		t.Errorf("env: output %q lacks var=hello world", out)
	}
	if !strings.Contains(out, "\nEMPTY=\n") {
		t.Errorf("env: output %q lacks EMPTY=", out)
	}
	if !strings.Contains(out, "PATH=/usr/local/sbin:") {
		t.Errorf("env: output %q lacks PATH from the config", out)
	}
}

func TestUserGroupsUmask(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20, 30}, Umask: ptr(uint32(0o027))}
		shell(s, `echo "==status=="; cat /proc/self/status; echo "==umask=="; umask; echo "==touch=="; touch /tmp/f && stat -c %a /tmp/f`)
		s.Root.Readonly = false
	})
	out := c.mustRun()
	st := section(out, "status")
	if got := strings.Fields(statusField(st, "Uid")); len(got) != 4 || got[0] != "1000" || got[1] != "1000" || got[2] != "1000" || got[3] != "1000" {
		t.Errorf("Uid: got %v, want 1000 x4", got)
	}
	if got := strings.Fields(statusField(st, "Gid")); len(got) != 4 || got[0] != "1001" || got[1] != "1001" {
		t.Errorf("Gid: got %v, want 1001 x4", got)
	}
	if got := statusField(st, "Groups"); got != "10 20 30" {
		t.Errorf("Groups: got %q, want %q", got, "10 20 30")
	}
	if got := strings.TrimSpace(section(out, "umask")); got != "0027" {
		t.Errorf("umask: got %q, want 0027", got)
	}
	if got := strings.TrimSpace(section(out, "touch")); got != "640" {
		t.Errorf("file created under umask 027: mode %q, want 640", got)
	}
}

func TestCapabilitiesRoot(t *testing.T) {
	t.Parallel()
	// The default spec's three capabilities in bounding, effective and
	// permitted; none inheritable or ambient.
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `cat /proc/self/status`) })
	st := c.mustRun()
	want := capMask(capKill, capNetBindService, capAuditWrite)
	for _, k := range []string{"CapBnd", "CapEff", "CapPrm"} {
		if got := statusField(st, k); got != want {
			t.Errorf("%s: got %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"CapInh", "CapAmb"} {
		if got := statusField(st, k); got != capMask() {
			t.Errorf("%s: got %s, want 0", k, got)
		}
	}
}

func TestCapabilitiesAllSetsNonRoot(t *testing.T) {
	t.Parallel()
	// A non-root user keeps exactly its ambient set across execve, so all
	// five sets are deterministic (runc 1.1.5 shows the same).
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
			Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Inheritable: []string{"CAP_NET_BIND_SERVICE"},
			Ambient:     []string{"CAP_NET_BIND_SERVICE"},
		}
		shell(s, `cat /proc/self/status`)
	})
	st := c.mustRun()
	want := map[string]string{
		"CapBnd": capMask(capChown, capKill, capNetBindService, capNetRaw),
		"CapInh": capMask(capNetBindService),
		"CapPrm": capMask(capNetBindService),
		"CapEff": capMask(capNetBindService),
		"CapAmb": capMask(capNetBindService),
	}
	for k, w := range want {
		if got := statusField(st, k); got != w {
			t.Errorf("%s: got %s, want %s", k, got, w)
		}
	}
}

func TestRlimits(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654},
			{Type: "RLIMIT_NPROC", Soft: 777, Hard: 888},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
		}
		shell(s, `cat /proc/self/limits; echo "soft=$(ulimit -n) hard=$(ulimit -Hn)"`)
	})
	out := c.mustRun()
	if !strings.Contains(out, "soft=321 hard=654") {
		t.Errorf("ulimit -n: output %q lacks soft=321 hard=654", out)
	}
	for _, re := range []string{`Max open files\s+321\s+654\s`, `Max processes\s+777\s+888\s`, `Max core file size\s+0\s+0\s`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("/proc/self/limits does not match %q:\n%s", re, out)
		}
	}
}

// A hard limit above what the runtime may grant (no CAP_SYS_RESOURCE in
// this VM) is lowered to the runtime's own hard limit with a warning that
// names it, so engines whose defaults exceed the host (Podman asks for
// 1048576 open files) still run their containers.
func TestRlimitAboveHostHardLimitIsLowered(t *testing.T) {
	t.Parallel()
	var host syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &host); err != nil {
		t.Fatal(err)
	}
	if hasCap(t, 24) { // CAP_SYS_RESOURCE
		t.Skip("this host has CAP_SYS_RESOURCE: raising the hard limit would succeed")
	}
	if host.Max >= 1048576 {
		t.Skip("the host hard limit is already 1048576")
	}
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1048576, Hard: 1048576}}
		shell(s, `ulimit -Hn; ulimit -Sn`)
	})
	r := c.run()
	if r.Code != 0 {
		t.Fatalf("run with a hard limit above the host's: %s", r)
	}
	want := fmt.Sprintf("%d\n%d\n", host.Max, host.Max)
	if r.Stdout != want {
		t.Errorf("limits inside: got %q, want %q", r.Stdout, want)
	}
	if !strings.Contains(r.Stderr, "RLIMIT_NOFILE") || !strings.Contains(r.Stderr, "1048576") || !strings.Contains(r.Stderr, "warning") {
		t.Errorf("a warning should name the rlimit and the value asked for: %q", r.Stderr)
	}
}

func hasCap(t *testing.T, capNum int) bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(statusField(string(data), "CapEff"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v&(1<<uint(capNum)) != 0
}

func TestNoNewPrivileges(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		nnp := nnp
		t.Run(strconv.FormatBool(nnp), func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				s.Process.NoNewPrivileges = nnp
				shell(s, `cat /proc/self/status`)
			})
			want := "0"
			if nnp {
				want = "1"
			}
			if got := statusField(c.mustRun(), "NoNewPrivs"); got != want {
				t.Errorf("NoNewPrivs: got %q, want %q", got, want)
			}
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.OOMScoreAdj = ptr(345)
		shell(s, `cat /proc/self/oom_score_adj`)
	})
	if got := strings.TrimSpace(c.mustRun()); got != "345" {
		t.Errorf("oom_score_adj: got %q, want 345", got)
	}
}

func TestSysctl(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
		shell(s, `echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward) shm=$(cat /proc/sys/kernel/shm_rmid_forced)"`)
	})
	out := c.mustRun()
	if !strings.Contains(out, "fwd=1 shm=1") {
		t.Errorf("sysctls not applied: %q", out)
	}
	// The host's values are untouched (new net and ipc namespaces).
	if v, _ := os.ReadFile("/proc/sys/kernel/shm_rmid_forced"); strings.TrimSpace(string(v)) != "0" {
		t.Logf("note: host kernel.shm_rmid_forced is %q", strings.TrimSpace(string(v)))
	}
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `exit 42`) })
	if r := c.run(); r.Code != 42 {
		t.Errorf("run of `exit 42`: %s", r)
	}
	// run removes the container when it exits (without --keep).
	if _, err := os.Stat(c.root + "/" + c.id); err == nil {
		t.Errorf("run without --keep left the state dir behind")
	}
}

func TestExitBySignal(t *testing.T) {
	t.Parallel()
	// Without a pid namespace sh is not a namespace init, so it can kill
	// itself; run must return 128+9.
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		removeNamespace(s, specs.PIDNamespace)
		shell(s, `kill -KILL $$; sleep 5`)
	})
	if r := c.run(); r.Code != 137 {
		t.Errorf("run of a process killed by SIGKILL: want exit 137, got %s", r)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Root.Readonly = false
		shell(s, `trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.05; done`)
	})
	done := make(chan result, 1)
	var pid int
	go func() {
		r := runSkiff(t, runOpts{}, "--root", c.root, "--data-root", c.data, "run", "--bundle", c.bundle, "--pid-file", c.dir+"/pid", c.id)
		done <- r
	}()
	// Find the skiff run process: the parent of the container's init.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(c.dir + "/pid"); err == nil {
			pid, _ = strconv.Atoi(string(data))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("no pid file from skiff run")
	}
	// Wait for the trap to be installed: the process is the shell (before
	// start it is skiff's init, whose Go runtime catches every signal) and
	// its SigCgt has USR1 (bit 9).
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		v, err := strconv.ParseUint(statusField(string(data), "SigCgt"), 16, 64)
		if statusField(string(data), "Name") == "sh" && err == nil && v&(1<<9) != 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	runPid := parentOf(pid)
	if runPid <= 1 {
		t.Fatalf("parent of container init %d is %d", pid, runPid)
	}
	if err := syscall.Kill(runPid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.Code != 7 || !strings.Contains(r.Stdout, "got-usr1") {
			t.Errorf("SIGUSR1 to skiff run should reach the container (exit 7): %s", r)
		}
	case <-time.After(30 * time.Second):
		// Show where it hangs: a Go program dumps its goroutines on SIGQUIT.
		init, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		syscall.Kill(runPid, syscall.SIGQUIT)
		select {
		case r := <-done:
			t.Fatalf("skiff run did not return after SIGUSR1; init status:\n%s\nskiff run: %s", init, r)
		case <-time.After(10 * time.Second):
			run, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", runPid))
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", runPid))
			stack, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stack", runPid))
			t.Fatalf("skiff run did not return after SIGUSR1, nor after SIGQUIT; pid %d %q:\n%s\nstack:\n%s\ninit %d:\n%s", runPid, cmd, run, stack, pid, init)
		}
	}
}

func TestKillFromOutsideGives137(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `echo ready; exec sleep 100`) })
	done := make(chan result, 1)
	go func() {
		done <- runSkiff(t, runOpts{}, "--root", c.root, "--data-root", c.data, "run", "--bundle", c.bundle, "--keep", c.id)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := c.state(); m != nil && m["status"] == "running" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := c.skiff("kill", c.id, "KILL"); r.Code != 0 {
		t.Fatalf("kill: %s", r)
	}
	select {
	case r := <-done:
		if r.Code != 137 {
			t.Errorf("run of a container killed with SIGKILL: want 137, got %s", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("skiff run did not return after kill")
	}
	if got := c.status(); got != "stopped" {
		t.Errorf("after the kill (run --keep): status %q, want stopped", got)
	}
}

func TestOnlyStdioFds(t *testing.T) {
	t.Parallel()
	// ls opens the directory it lists: list the init's fds from a child
	// instead (pid 1 is the shell).
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `ls /proc/1/fd; echo; ls -l /proc/1/fd`) })
	out := c.mustRun()
	fds := strings.Fields(strings.SplitN(out, "\n\n", 2)[0])
	if strings.Join(fds, " ") != "0 1 2" {
		t.Errorf("the container's init has fds %v, want only 0 1 2:\n%s", fds, out)
	}
}

func TestPreserveFds(t *testing.T) {
	t.Parallel()
	// No pipeline or command substitution: the shell (pid 1) would hold
	// a pipe while ls looks.
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `cat <&3; echo; ls /proc/1/fd; ls -l /proc/1/fd >&2`) })
	f, err := os.CreateTemp(c.dir, "fd3")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("passed-through-fd3")
	f.Seek(0, 0)
	defer f.Close()
	r := c.skiffOpts(runOpts{ExtraFiles: []*os.File{f}}, "run", "--preserve-fds", "1", "--bundle", c.bundle, c.id)
	if r.Code != 0 {
		t.Fatalf("run --preserve-fds 1: %s", r)
	}
	if !strings.Contains(r.Stdout, "passed-through-fd3") {
		t.Errorf("fd 3 not passed: %q", r.Stdout)
	}
	if _, fds, _ := strings.Cut(r.Stdout, "\n"); strings.Join(strings.Fields(fds), " ") != "0 1 2 3" {
		t.Errorf("with --preserve-fds 1 the init should have fds 0-3 only: %q\n%s", r.Stdout, r.Stderr)
	}
}

func removeNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != typ {
			keep = append(keep, ns)
		}
	}
	s.Linux.Namespaces = keep
}

func setNamespace(s *specs.Spec, typ specs.LinuxNamespaceType, path string) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == typ {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// runc creates a missing cwd inside the rootfs (runc 1.1.5 here and every
// later release); an image's WORKDIR often does not exist yet.
func TestCwdCreatedWhenMissing(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Root.Readonly = false
		s.Process.Cwd = "/new/work/dir"
		shell(s, `pwd`)
	})
	r := c.run()
	if r.Code != 0 || r.Stdout != "/new/work/dir\n" {
		t.Errorf("a missing cwd should be created as runc does: %s", r)
	}
}

func TestDevices(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
			Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o640)), UID: ptr(uint32(0)), GID: ptr(uint32(0)),
		})
		shell(s, `for d in null zero full random urandom tty mynull; do stat -c "%n %F %t:%T %a" /dev/$d; done; `+
			`for l in ptmx fd stdin stdout stderr; do echo "/dev/$l -> $(readlink /dev/$l)"; done; `+
			`echo x > /dev/mynull && echo mynull-writable; head -c 3 /dev/zero | wc -c`)
	})
	out := c.mustRun()
	for _, want := range []string{
		"/dev/null character special file 1:3 666", "/dev/zero character special file 1:5 666",
		"/dev/full character special file 1:7 666", "/dev/random character special file 1:8 666",
		"/dev/urandom character special file 1:9 666", "/dev/tty character special file 5:0 666",
		"/dev/mynull character special file 1:3 640",
		"/dev/ptmx -> pts/ptmx", "/dev/fd -> /proc/self/fd", "/dev/stdin -> /proc/self/fd/0",
		"/dev/stdout -> /proc/self/fd/1", "/dev/stderr -> /proc/self/fd/2",
		"mynull-writable", "\n3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/dev: want %q in\n%s", want, out)
		}
	}
}
