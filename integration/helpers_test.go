//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// commandTimeout bounds every skiff invocation so a hang fails one test
// instead of the whole suite.
const commandTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	// Whatever fds the caller of `go test` leaked to us must not reach
	// skiff: the fd checks would blame skiff for them.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if os.Getenv("SKIFF_IT_ROLE") == "subreaper" {
		os.Exit(subreaperMain())
	}
	os.Exit(m.Run())
}

var (
	setupOnce    sync.Once
	setupErr     error
	skiffPath    string
	busyboxPath  string
	applets      []string
	baseSpecJSON []byte
	idCounter    atomic.Int64
)

// setup checks the preconditions of every test (root, the binary, a static
// busybox) once and skips the test with the reason when one is missing.
func setup(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root (they create namespaces, mounts and cgroups)")
	}
	setupOnce.Do(func() { setupErr = doSetup() })
	if setupErr != nil {
		t.Skipf("integration setup: %v", setupErr)
	}
}

func doSetup() error {
	skiffPath = os.Getenv("SKIFF_BINARY")
	if skiffPath == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		skiffPath = filepath.Join(wd, "..", "bin", "skiff")
	}
	p, err := filepath.Abs(skiffPath)
	if err != nil {
		return err
	}
	skiffPath = p
	if _, err := os.Stat(skiffPath); err != nil {
		return fmt.Errorf("skiff binary %s: %v (run make build or set SKIFF_BINARY)", skiffPath, err)
	}
	busyboxPath = os.Getenv("SKIFF_TEST_BUSYBOX")
	if busyboxPath == "" {
		busyboxPath = "/bin/busybox"
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox %s: %v (apt-get install busybox-static)", busyboxPath, err)
	}
	if isDynamic(busyboxPath) {
		return fmt.Errorf("busybox %s is dynamically linked; install busybox-static or set SKIFF_TEST_BUSYBOX", busyboxPath)
	}
	applets = strings.Fields(string(out))
	dir, err := os.MkdirTemp("", "skiff-it-spec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command(skiffPath, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("skiff spec: %v: %s", err, out)
	}
	baseSpecJSON, err = os.ReadFile(filepath.Join(dir, "config.json"))
	return err
}

// isDynamic reports whether the ELF file has a PT_INTERP header.
func isDynamic(path string) bool {
	out, err := exec.Command("file", "-L", path).Output()
	if err != nil {
		return false // no file(1): trust it
	}
	return strings.Contains(string(out), "dynamically linked")
}

// tempDir is a world-searchable temporary directory removed at the end of
// the test (t.TempDir is 0700, which a user-namespaced container cannot
// traverse).
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "skiff-it-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(d); err != nil {
			t.Logf("cleanup %s: %v", d, err)
		}
	})
	return d
}

// newID returns a container id unique to this test run.
func newID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), idCounter.Add(1))
}

// makeRootfs writes a busybox rootfs like integration/mkbundle.sh.
func makeRootfs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	writeFile(t, filepath.Join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
	writeFile(t, filepath.Join(dir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// baseSpec is `skiff spec` with terminal off.
func baseSpec(t *testing.T) *specs.Spec {
	t.Helper()
	var s specs.Spec
	if err := json.Unmarshal(baseSpecJSON, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	return &s
}

// ctr is one container under test: its own state root, bundle and id.
type ctr struct {
	t      *testing.T
	dir    string // scratch directory of the test
	root   string // --root
	data   string // --data-root (writable layers)
	bundle string
	rootfs string
	id     string
	spec   *specs.Spec
}

// newCtr makes a bundle whose config is `skiff spec` (terminal off) run
// through mutate, and registers `delete --force` for the end of the test.
func newCtr(t *testing.T, mutate func(c *ctr, s *specs.Spec)) *ctr {
	t.Helper()
	setup(t)
	dir := tempDir(t)
	c := &ctr{t: t, dir: dir, root: filepath.Join(dir, "state"), data: filepath.Join(dir, "data"), bundle: filepath.Join(dir, "bundle"), id: newID("it")}
	c.rootfs = filepath.Join(c.bundle, "rootfs")
	makeRootfs(t, c.rootfs)
	c.spec = baseSpec(t)
	if mutate != nil {
		mutate(c, c.spec)
	}
	c.writeSpec()
	t.Cleanup(func() {
		r := c.skiff("delete", "--force", c.id)
		if r.Code != 0 {
			t.Logf("cleanup: delete --force %s: %s", c.id, r)
		}
	})
	return c
}

func (c *ctr) writeSpec() {
	data, err := json.MarshalIndent(c.spec, "", "\t")
	if err != nil {
		c.t.Fatal(err)
	}
	writeFile(c.t, filepath.Join(c.bundle, "config.json"), string(data))
}

// result is what one skiff invocation did.
type result struct {
	Args     []string
	Stdout   string
	Stderr   string
	Code     int // exit status; -1 when killed by a signal
	Signal   syscall.Signal
	Duration time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("skiff %s: exit %d (signal %v), stdout %q, stderr %q", strings.Join(r.Args, " "), r.Code, r.Signal, r.Stdout, r.Stderr)
}

// runOpts are the less common knobs of runSkiff.
type runOpts struct {
	Env        []string   // added to the environment
	ExtraFiles []*os.File // fds 3...
	Stdin      io.Reader
}

// runSkiff runs the binary with stdout and stderr going to files (never
// pipes: a container inherits them and would keep a pipe open).
func runSkiff(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-it-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiffPath, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout = outF
	cmd.Stderr = errF
	cmd.Stdin = o.Stdin
	cmd.ExtraFiles = o.ExtraFiles
	start := time.Now()
	err = cmd.Run()
	r := result{Args: args, Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		r.Code = ws.ExitStatus()
		if ws.Signaled() {
			r.Code = -1
			r.Signal = ws.Signal()
		}
	default:
		t.Fatalf("skiff %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Errorf("skiff %v: timed out after %v", args, commandTimeout)
	}
	// The container may still write to the files (create): read what is
	// there now; callers that need later output use readStdoutFile.
	o1, _ := os.ReadFile(outF.Name())
	e1, _ := os.ReadFile(errF.Name())
	r.Stdout, r.Stderr = string(o1), string(e1)
	return r
}

// skiff runs the binary with this container's --root.
func (c *ctr) skiff(args ...string) result {
	c.t.Helper()
	return runSkiff(c.t, runOpts{}, append([]string{"--root", c.root, "--data-root", c.data}, args...)...)
}

func (c *ctr) skiffOpts(o runOpts, args ...string) result {
	c.t.Helper()
	return runSkiff(c.t, o, append([]string{"--root", c.root, "--data-root", c.data}, args...)...)
}

// run does `skiff run` in the foreground and returns what happened.
func (c *ctr) run() result {
	c.t.Helper()
	return c.skiff("run", "--bundle", c.bundle, c.id)
}

// mustRun runs the container and fails the test unless it exits 0.
func (c *ctr) mustRun() string {
	c.t.Helper()
	r := c.run()
	if r.Code != 0 {
		c.t.Fatalf("container failed: %s", r)
	}
	return r.Stdout
}

// create does `skiff create` with stdout/stderr going to files in the
// test's scratch dir, so the container's output can be read later with
// output().
func (c *ctr) create(extra ...string) result {
	c.t.Helper()
	args := append([]string{"--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle}, extra...)
	args = append(args, c.id)
	return c.createArgs(args)
}

func (c *ctr) createArgs(args []string) result {
	c.t.Helper()
	outF, err := os.OpenFile(filepath.Join(c.dir, "ctr.stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.OpenFile(filepath.Join(c.dir, "ctr.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer errF.Close()
	before, _ := os.ReadFile(errF.Name())
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiffPath, args...)
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err = cmd.Run()
	r := result{Args: args, Duration: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		r.Code = ws.ExitStatus()
		if ws.Signaled() {
			r.Code, r.Signal = -1, ws.Signal()
		}
	} else if err != nil {
		c.t.Fatal(err)
	}
	after, _ := os.ReadFile(errF.Name())
	r.Stderr = string(after[len(before):])
	return r
}

// output is what the container (created with create) has written so far.
func (c *ctr) output() string {
	data, _ := os.ReadFile(filepath.Join(c.dir, "ctr.stdout"))
	return string(data)
}

// waitOutput waits until the container's output contains want.
func (c *ctr) waitOutput(want string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if out := c.output(); strings.Contains(out, want) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("container output never contained %q; got %q", want, c.output())
	return ""
}

// state runs `skiff state` and decodes it.
func (c *ctr) state() (map[string]any, result) {
	c.t.Helper()
	r := c.skiff("state", c.id)
	if r.Code != 0 {
		return nil, r
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		c.t.Fatalf("state output is not JSON: %v: %q", err, r.Stdout)
	}
	return m, r
}

func (c *ctr) status() string {
	c.t.Helper()
	m, r := c.state()
	if m == nil {
		c.t.Fatalf("state: %s", r)
	}
	s, _ := m["status"].(string)
	return s
}

// waitStatus polls state until the status is want.
func (c *ctr) waitStatus(want string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if got = c.status(); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("status stayed %q, want %q", got, want)
}

// layerAnnotation turns the writable layer on (skiff spec sets it; engine
// bundles do not).
const layerAnnotation = "dev.skiff.layer"

// noLayer makes the bundle look like an engine's: no writable layer, the
// rootfs is used in place as runc does.
func noLayer(s *specs.Spec) { delete(s.Annotations, layerAnnotation) }

func hasLayer(s *specs.Spec) bool { return s.Annotations[layerAnnotation] != "" }

// shell sets the process to `sh -c script`.
func shell(s *specs.Spec, script string) {
	s.Process.Args = []string{"sh", "-c", script}
}

// ---- host-side leftovers ----

// hostMountsUnder lists the host's mount points at or below dir.
func hostMountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range parseMountinfo(string(data)) {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			out = append(out, m.Point)
		}
	}
	return out
}

// cgroupDirs lists the container's cgroup directories that exist on the
// host (/sys/fs/cgroup/*/skiff/<id> and /sys/fs/cgroup/skiff/<id>).
func cgroupDirs(id string) []string {
	a, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/" + id)
	b, _ := filepath.Glob("/sys/fs/cgroup/skiff/" + id)
	return append(a, b...)
}

// cgroupPids lists every process in the container's cgroup directories.
func cgroupPids(id string) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range cgroupDirs(id) {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// assertNothingLeft checks that no state dir, cgroup dir or mount of the
// container remains on the host.
func assertNothingLeft(t *testing.T, c *ctr) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(c.root, c.id)); err == nil {
		t.Errorf("state dir %s still exists", filepath.Join(c.root, c.id))
	}
	if _, err := os.Stat(filepath.Join(c.data, c.id)); err == nil {
		t.Errorf("writable layer %s still exists", filepath.Join(c.data, c.id))
	}
	if d := cgroupDirs(c.id); len(d) > 0 {
		t.Errorf("cgroup dirs left behind: %v", d)
	}
	if m := hostMountsUnder(t, c.dir); len(m) > 0 {
		t.Errorf("mounts left behind on the host: %v", m)
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !processAlive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// ---- /proc parsing ----

type mountInfo struct {
	Point      string
	Root       string
	Opts       map[string]bool // per-mount options
	FSType     string
	Source     string
	SuperOpts  map[string]string
	SuperRaw   string
	MountRaw   string
	Propagated string
}

func parseMountinfo(s string) []mountInfo {
	var out []mountInfo
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 > len(f) {
			continue
		}
		m := mountInfo{Root: unescapeMount(f[3]), Point: unescapeMount(f[4]), MountRaw: f[5], Opts: map[string]bool{},
			Propagated: strings.Join(f[6:sep], " "), FSType: f[sep+1], Source: f[sep+2], SuperOpts: map[string]string{}}
		for _, o := range strings.Split(f[5], ",") {
			m.Opts[o] = true
		}
		if sep+3 < len(f) {
			m.SuperRaw = f[sep+3]
			for _, o := range strings.Split(f[sep+3], ",") {
				k, v, _ := strings.Cut(o, "=")
				m.SuperOpts[k] = v
			}
		}
		out = append(out, m)
	}
	return out
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// mountAt returns the last (topmost) mount at point.
func mountAt(ms []mountInfo, point string) (mountInfo, bool) {
	var got mountInfo
	ok := false
	for _, m := range ms {
		if m.Point == point {
			got, ok = m, true
		}
	}
	return got, ok
}

// statusField returns a field of a /proc/<pid>/status dump.
func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// section returns the text between the marker lines "==name==" and the next
// marker (or the end) of a container's output, so one container can print
// several things.
func section(out, name string) string {
	start := strings.Index(out, "=="+name+"==\n")
	if start < 0 {
		return ""
	}
	rest := out[start+len(name)+5:]
	if strings.HasPrefix(rest, "==") {
		return ""
	}
	if end := strings.Index(rest, "\n=="); end >= 0 {
		return rest[:end+1]
	}
	return rest
}

// nsInode reads "net:[4026531840]" style links.
func nsLink(t *testing.T, path string) string {
	t.Helper()
	l, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ---- namespace holders ----

// nsHolder starts a sleeping process in new namespaces (cloneflags) and
// returns its pid; it is killed at the end of the test.
func nsHolder(t *testing.T, cloneflags uintptr, uidMaps, gidMaps []syscall.SysProcIDMap) int {
	t.Helper()
	cmd := exec.Command(busyboxPath, "sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags, UidMappings: uidMaps, GidMappings: gidMaps}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start namespace holder: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// ---- the subreaper helper ----

// subreaperJob is what the test binary does when re-executed as a
// subreaper: run the steps in order (as its children), then report.
type subreaperJob struct {
	Steps   [][]string // full argv of each step
	Env     [][]string // extra env per step (may be shorter than Steps)
	PidFile string     // after step 0, inspect the process named here
	Report  string     // where the JSON report goes
	// Cleanup is run last (e.g. skiff delete --force); then live children
	// are listed.
	Cleanup []string
}

type subreaperReport struct {
	Self      int
	Codes     []int
	Signals   []int
	Pid       int               // from PidFile
	PPid      int               // parent of Pid
	Fds       map[string]string // fd -> link of Pid
	Children  []string          // live children right after step 0
	Leftovers []string          // live children after Cleanup: "pid cmdline"
	Error     string
}

func subreaperMain() int {
	var job subreaperJob
	if err := json.Unmarshal([]byte(os.Getenv("SKIFF_IT_JOB")), &job); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper: bad job:", err)
		return 2
	}
	rep := subreaperReport{Self: os.Getpid(), Fds: map[string]string{}}
	defer func() {
		data, _ := json.Marshal(rep)
		os.WriteFile(job.Report, data, 0o644)
	}()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		rep.Error = "PR_SET_CHILD_SUBREAPER: " + err.Error()
		return 1
	}
	devnull, _ := os.Open(os.DevNull)
	runStep := func(argv, env []string) (int, int) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, os.Stdout, os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return -1, int(ws.Signal())
			}
			return ws.ExitStatus(), 0
		}
		if err != nil {
			return 127, 0
		}
		return 0, 0
	}
	for i, argv := range job.Steps {
		var env []string
		if i < len(job.Env) {
			env = job.Env[i]
		}
		code, sig := runStep(argv, env)
		rep.Codes = append(rep.Codes, code)
		rep.Signals = append(rep.Signals, sig)
		if i == 0 {
			rep.Children = liveChildren(os.Getpid())
		}
		if i == 0 && job.PidFile != "" {
			data, err := os.ReadFile(job.PidFile)
			if err == nil {
				rep.Pid, _ = strconv.Atoi(string(data))
			}
			if rep.Pid > 0 {
				rep.PPid = parentOf(rep.Pid)
				ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", rep.Pid))
				for _, e := range ents {
					l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", rep.Pid, e.Name()))
					rep.Fds[e.Name()] = l
				}
			}
		}
	}
	if len(job.Cleanup) == 0 {
		// Report what is left and leave it for the test to clean.
		rep.Leftovers = liveChildren(os.Getpid())
		return 0
	}
	runStep(job.Cleanup, nil)
	// Reap zombies and wait (bounded) for live children to go.
	deadline := time.Now().Add(3 * time.Second)
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		rep.Leftovers = liveChildren(os.Getpid())
		if len(rep.Leftovers) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Leave nothing behind either way.
	for _, l := range rep.Leftovers {
		if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	for i := 0; i < 100; i++ {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); err == unix.ECHILD {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

func parentOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func liveChildren(self int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parentOf(pid) != self || !processAlive(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		out = append(out, fmt.Sprintf("%d %q exe=%s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), exe))
	}
	return out
}

// runSubreaper re-executes the test binary as a subreaper running job,
// with its stdout and stderr in files of dir, and returns the report.
func runSubreaper(t *testing.T, dir string, job subreaperJob) subreaperReport {
	t.Helper()
	job.Report = filepath.Join(dir, "subreaper.json")
	data, _ := json.Marshal(job)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	outF, err := os.Create(filepath.Join(dir, "subreaper.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), "SKIFF_IT_ROLE=subreaper", "SKIFF_IT_JOB="+string(data))
	cmd.Stdout, cmd.Stderr = outF, outF
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(outF.Name())
		t.Fatalf("subreaper helper: %v: %s", err, out)
	}
	var rep subreaperReport
	raw, err := os.ReadFile(job.Report)
	if err != nil {
		t.Fatalf("subreaper report: %v", err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("subreaper report: %v", err)
	}
	if rep.Error != "" {
		t.Fatalf("subreaper helper: %s", rep.Error)
	}
	return rep
}

// capMask turns capability numbers into the hex of /proc/self/status.
func capMask(caps ...int) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", m)
}

const (
	capChown          = 0
	capKill           = 5
	capNetBindService = 10
	capNetRaw         = 13
	capAuditWrite     = 29
)

func ptr[T any](v T) *T { return &v }

// num reads a JSON number field; -1 when it is missing or not a number
// (never a panic: a panicking test binary skips every cleanup).
func num(m map[string]any, k string) int {
	v, ok := m[k].(float64)
	if !ok {
		return -1
	}
	return int(v)
}
