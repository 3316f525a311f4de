//go:build integration

package integration

// Tests named after the container escapes they attempt. Each one tries the
// attack for real from inside a container (or from a hook) and then checks
// the host: the runtime binary's checksum, directories outside the rootfs,
// the host's mount table, /proc/sys/kernel/core_pattern. None of them
// writes anything to a host file outside its own scratch directory.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ---- helpers of this file ----

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// outDir makes a world-writable host directory bound at /out in the
// container, where container-side attackers write their results.
func outDir(c *ctr, s *specs.Spec) string {
	out := filepath.Join(c.dir, "out")
	if err := os.MkdirAll(out, 0o777); err != nil {
		c.t.Fatal(err)
	}
	os.Chmod(out, 0o777)
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: out, Options: []string{"bind", "rw"}})
	return out
}

func waitFile(t *testing.T, path string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func readOut(out, name string) string {
	data, _ := os.ReadFile(filepath.Join(out, name))
	return strings.TrimSpace(string(data))
}

// checkSealedExe checks, from the host, the executable of a live process
// that runs skiff's code inside a container: it is not the host binary,
// and cannot be opened for writing. It returns a read-only fd on it, for a
// later reopen once nothing executes it any more.
func checkSealedExe(t *testing.T, pid int) *os.File {
	t.Helper()
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	link, err := os.Readlink(exe)
	if err != nil {
		t.Fatalf("readlink %s: %v", exe, err)
	}
	t.Logf("%s -> %s", exe, link)
	if link == skiffPath {
		t.Errorf("%s is the writable host binary %s, not a sealed copy", exe, skiffPath)
	}
	var a, b unix.Stat_t
	if err := unix.Stat(exe, &a); err != nil {
		t.Fatalf("stat %s: %v", exe, err)
	}
	if err := unix.Stat(skiffPath, &b); err != nil {
		t.Fatal(err)
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		t.Errorf("%s is the host binary's inode (dev %d ino %d)", exe, a.Dev, a.Ino)
	}
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND} {
		if f, err := os.OpenFile(exe, flag, 0); err == nil {
			f.Close()
			t.Errorf("the host opened %s with flags %#x", exe, flag)
		} else {
			t.Logf("open %s flags %#x from the host: %v", exe, flag, err)
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatalf("open %s read-only: %v", exe, err)
	}
	return f
}

// reopenForWrite is the second half of CVE-2019-5736: once the binary no
// longer runs (no ETXTBSY), reopen a held read-only fd for writing.
func reopenForWrite(t *testing.T, f *os.File) {
	t.Helper()
	p := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Logf("reopen of the sealed executable for writing from the host: %v (refused: good)", err)
		return
	}
	defer w.Close()
	// A sealed memfd can be opened but never written.
	if _, err := w.Write([]byte("PWNED")); err == nil {
		t.Errorf("the host wrote into the container's copy of the runtime binary through %s", p)
	} else {
		t.Logf("write to the sealed executable: %v (refused: good)", err)
	}
}

// findProc returns the host pid of the process whose cmdline contains all
// the given words (NUL-separated arguments joined with spaces).
func findProc(words ...string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(data), "\x00", " ")
		ok := true
		for _, w := range words {
			if !strings.Contains(cmd, w) {
				ok = false
				break
			}
		}
		if ok && processAlive(pid) {
			return pid
		}
	}
	return 0
}

// ---- CVE-2019-5736: overwriting the runtime through /proc/*/exe ----

// The init of a created container runs skiff's code while it waits for
// start: a process exec'd into the container holds its /proc/1/exe open
// and, once the init has become the user's process, tries to reopen it for
// writing. The host does the same from outside.
func TestProcSelfExeOverwriteDuringCreate(t *testing.T) {
	t.Parallel()
	var out string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		out = outDir(c, s)
		shell(s, `i=0; while [ ! -e /out/attack-done ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo user-done`)
	})
	before := sha256File(t, skiffPath)
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	st, r := c.state()
	if st == nil {
		t.Fatalf("state: %s", r)
	}
	pid := num(st, "pid")
	if pid <= 0 {
		t.Fatalf("state has no pid: %v", st)
	}
	held := checkSealedExe(t, pid)
	defer held.Close()

	// A failed redirection on exec would end the shell: test the open
	// first (skiff makes the waiting init non-dumpable, so it may fail).
	attack := `if cat /proc/1/exe >/dev/null 2>&1; then exec 5</proc/1/exe; echo ro-open-ok > /out/ro; else echo ro-open-refused > /out/ro; fi
readlink /proc/1/exe > /out/init-exe-before
(echo PWNED >> /proc/1/exe) 2>/out/direct.err && echo direct-wrote > /out/direct || echo direct-refused > /out/direct
(echo PWNED 1<>/proc/1/exe) 2>/out/direct-rw.err && echo direct-rw-wrote > /out/direct-rw || echo direct-rw-refused > /out/direct-rw
touch /out/ready
i=0; while [ ! -e /out/started ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
i=0; while [ "$(readlink /proc/1/exe)" != /bin/busybox ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
readlink /proc/1/exe > /out/init-exe-after
if [ -e /proc/self/fd/5 ]; then
  (echo PWNED >> /proc/self/fd/5) 2>/out/reopen.err && echo reopen-wrote > /out/reopen || echo reopen-refused > /out/reopen
  (echo PWNED 1<>/proc/self/fd/5) 2>/out/reopen-rw.err && echo reopen-rw-wrote > /out/reopen-rw || echo reopen-rw-refused > /out/reopen-rw
fi
touch /out/attack-done`
	if r := c.skiff("exec", "-d", c.id, "sh", "-c", attack); r.Code != 0 {
		t.Fatalf("exec into the created container: %s", r)
	}
	if !waitFile(t, filepath.Join(out, "ready"), 15*time.Second) {
		t.Fatalf("the attacker never got ready; out: %v", listDir(out))
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	writeFile(t, filepath.Join(out, "started"), "")
	if !waitFile(t, filepath.Join(out, "attack-done"), 20*time.Second) {
		t.Fatalf("the attacker did not finish; out: %v", listDir(out))
	}
	reopenForWrite(t, held)

	t.Logf("inside: ro=%s, init exe before=%q after=%q, direct=%s (%s), direct-rw=%s (%s), reopen=%s (%s), reopen-rw=%s (%s)",
		readOut(out, "ro"), readOut(out, "init-exe-before"), readOut(out, "init-exe-after"),
		readOut(out, "direct"), readOut(out, "direct.err"), readOut(out, "direct-rw"), readOut(out, "direct-rw.err"),
		readOut(out, "reopen"), readOut(out, "reopen.err"), readOut(out, "reopen-rw"), readOut(out, "reopen-rw.err"))
	for _, f := range []string{"direct", "direct-rw", "reopen", "reopen-rw"} {
		if strings.HasSuffix(readOut(out, f), "-wrote") {
			t.Errorf("a container process wrote to the runtime's executable (%s)", f)
		}
	}
	if got := readOut(out, "init-exe-before"); got == skiffPath {
		t.Errorf("inside the container /proc/1/exe of the waiting init is the host path %s", got)
	}
	if after := sha256File(t, skiffPath); after != before {
		t.Fatalf("the host binary %s changed: sha256 %s -> %s", skiffPath, before, after)
	}
}

// The CVE's own trick: the container's binary is `#!/proc/self/exe`, so
// when the runtime execs it inside the container the kernel runs whatever
// /proc/self/exe of the runtime was. That process is the attacker's: here
// it is made to wait (as `skiff init` reading a socket the test holds),
// another container process holds its /proc/<pid>/exe, the test lets it
// exit and the attacker reopens the held fd for writing.
func TestProcSelfExeOverwriteDuringExec(t *testing.T) {
	t.Parallel()
	var out string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		out = outDir(c, s)
		writeFile(t, filepath.Join(c.rootfs, "evil"), "#!/proc/self/exe init\n")
		os.Chmod(filepath.Join(c.rootfs, "evil"), 0o755)
		shell(s, `i=0; while [ ! -e /out/go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
p=
for d in /proc/[0-9]*; do
  case "$(tr '\0' ' ' < $d/cmdline 2>/dev/null)" in *init*/evil*) p=${d#/proc/};; esac
done
echo "$p" > /out/evil-pid
readlink /proc/$p/exe > /out/evil-exe
exec 5</proc/$p/exe && echo ro-open-ok > /out/ro || echo ro-open-failed > /out/ro
(echo PWNED >> /proc/$p/exe) 2>/out/direct.err && echo direct-wrote > /out/direct || echo direct-refused > /out/direct
touch /out/held
i=0; while [ -e /proc/$p/exe ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
if [ -e /proc/self/fd/5 ]; then
  (echo PWNED >> /proc/self/fd/5) 2>/out/reopen.err && echo reopen-wrote > /out/reopen || echo reopen-refused > /out/reopen
  (echo PWNED 1<>/proc/self/fd/5) 2>/out/reopen-rw.err && echo reopen-rw-wrote > /out/reopen-rw || echo reopen-rw-refused > /out/reopen-rw
fi
touch /out/attack-done
sleep 30`)
	})
	before := sha256File(t, skiffPath)
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	// fd 3 of the exec'd process is a socket the test holds: `skiff init`
	// (the runtime's code, run through the shebang) blocks reading it.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine := os.NewFile(uintptr(fds[0]), "evil-sync")
	theirs := os.NewFile(uintptr(fds[1]), "evil-sync-child")
	var closeOnce sync.Once
	release := func() { closeOnce.Do(func() { mine.Close() }) }
	defer release()
	r := c.skiffOpts(runOpts{ExtraFiles: []*os.File{theirs}}, "exec", "-d", "--preserve-fds", "1", "--env", "_SKIFF_SYNC=3", c.id, "/evil")
	theirs.Close()
	if r.Code != 0 {
		// A dynamically linked skiff cannot start inside a rootfs
		// without its ELF interpreter (ENOENT in a busybox-static
		// bundle), which ends the attack here. A static one runs, and
		// the attack goes on below.
		if !strings.Contains(r.Stderr, "/evil") {
			t.Fatalf("exec /evil failed for another reason: %s", r)
		}
		t.Logf("the runtime's /proc/self/exe cannot be re-executed inside the container: %s", strings.TrimSpace(r.Stderr))
		if after := sha256File(t, skiffPath); after != before {
			t.Fatalf("the host binary %s changed: sha256 %s -> %s", skiffPath, before, after)
		}
		return
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		pid = findProc("/proc/self/exe", "init", "/evil")
		if pid != 0 {
			// Stage 0 forks: its parent has the same command line and
			// exits at once; the child stays, blocked reading fd 3.
			time.Sleep(50 * time.Millisecond)
			if !processAlive(pid) {
				pid = 0
			}
		}
		if pid == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if pid == 0 {
		t.Fatalf("the shebang'd process running the runtime's code never showed up (exec: %s)", r)
	}
	held := checkSealedExe(t, pid)
	defer held.Close()
	writeFile(t, filepath.Join(out, "go"), "")
	if !waitFile(t, filepath.Join(out, "held"), 15*time.Second) {
		t.Fatalf("the attacker never held the exe; out: %v", listDir(out))
	}
	// Let the runtime's process go: it reads EOF and exits.
	release()
	if !waitGone(pid, 10*time.Second) {
		t.Fatalf("the shebang'd runtime process %d did not exit", pid)
	}
	if !waitFile(t, filepath.Join(out, "attack-done"), 25*time.Second) {
		t.Fatalf("the attacker did not finish; out: %v", listDir(out))
	}
	reopenForWrite(t, held)
	t.Logf("inside: evil pid=%s exe=%q ro=%s direct=%s (%s) reopen=%s (%s) reopen-rw=%s (%s)",
		readOut(out, "evil-pid"), readOut(out, "evil-exe"), readOut(out, "ro"), readOut(out, "direct"), readOut(out, "direct.err"),
		readOut(out, "reopen"), readOut(out, "reopen.err"), readOut(out, "reopen-rw"), readOut(out, "reopen-rw.err"))
	if readOut(out, "evil-pid") == "" {
		t.Errorf("the container did not see the runtime's process")
	}
	for _, f := range []string{"direct", "reopen", "reopen-rw"} {
		if strings.HasSuffix(readOut(out, f), "-wrote") {
			t.Errorf("a container process wrote to the runtime's executable (%s)", f)
		}
	}
	if got := readOut(out, "evil-exe"); got == skiffPath {
		t.Errorf("inside the container the runtime's process runs the host path %s", got)
	}
	if after := sha256File(t, skiffPath); after != before {
		t.Fatalf("the host binary %s changed: sha256 %s -> %s", skiffPath, before, after)
	}
}

func listDir(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// ---- CVE-2024-21626: leaked fds and cwd through /proc/self/fd ----

// hostFiles opens n host files and directories (the kind of fd a runtime
// might leak: a directory of the host's cgroup tree, a file) to hand to
// skiff as fds 3.. without asking it to pass them on.
func hostFiles(t *testing.T, n int) []*os.File {
	t.Helper()
	var fs []*os.File
	for i := 0; i < n; i++ {
		p := "/sys/fs/cgroup"
		if i%2 == 1 {
			p = "/etc/hostname"
			if _, err := os.Stat(p); err != nil {
				p = "/etc/passwd"
			}
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		fs = append(fs, f)
	}
	return fs
}

func fdList(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestLeakedFdsCreateStart(t *testing.T) {
	t.Parallel()
	var out string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		out = outDir(c, s)
		// ls runs in a subshell, so pid 1 (the shell) does not redirect
		// its own stdout while ls lists its fds.
		shell(s, `(ls /proc/1/fd > /out/fds); (ls -l /proc/1/fd > /out/fds-long); true`)
	})
	// skiff itself gets host fds 3..6 it was not asked to pass.
	args := []string{"--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle, c.id}
	if r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 4)}, args...); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	st, _ := c.state()
	if pid := num(st, "pid"); pid > 0 {
		// The waiting init itself: stdio plus what it needs to start (the
		// exec fifo), never the host fds skiff was given.
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, e := range ents {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
			if strings.HasPrefix(l, "/sys/fs/cgroup") || strings.HasPrefix(l, "/etc/") {
				t.Errorf("the created init holds host fd %s -> %s", e.Name(), l)
			}
		}
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	c.waitStatus("stopped", 10*time.Second)
	if got := fdList(readOut(out, "fds")); got != "0 1 2" {
		t.Errorf("after create/start the container's process has fds %q, want 0 1 2:\n%s", got, readOut(out, "fds-long"))
	}
}

// The init of a created container is a container process: an exec'd
// process can reach its fds through /proc/1/fd/N. Host directories that
// skiff's caller had open (not passed with --preserve-fds) must not be
// there, or the container reads host files through them.
func TestLeakedFdsCreatedInitHostDir(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `true`) })
	secretDir := filepath.Join(c.dir, "hostsecret")
	os.MkdirAll(secretDir, 0o755)
	writeFile(t, filepath.Join(secretDir, "secret"), "host-secret-data")
	var files []*os.File
	for i := 0; i < 6; i++ {
		f, err := os.Open(secretDir)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	args := []string{"--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle, c.id}
	if r := c.skiffOpts(runOpts{ExtraFiles: files}, args...); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	st, _ := c.state()
	pid := num(st, "pid")
	if pid <= 0 {
		t.Fatalf("no pid in state: %v", st)
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var fds []string
	for _, e := range ents {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		fds = append(fds, e.Name()+" -> "+l)
		if l == secretDir {
			t.Errorf("the created init holds the caller's host directory as fd %s", e.Name())
		}
	}
	r := c.skiff("exec", c.id, "sh", "-c", `for n in $(ls /proc/1/fd); do cat /proc/1/fd/$n/secret 2>/dev/null && echo " read via /proc/1/fd/$n"; done; true`)
	if strings.Contains(r.Stdout, "host-secret-data") {
		t.Errorf("a process exec'd into the created container read a host file through the init's leaked fd: %q\ninit fds: %v", r.Stdout, fds)
	}
}

// Go 1.25+ keeps the cgroup CPU limit files of the process's cgroup at
// start open (container-aware GOMAXPROCS). The init starts in its caller's
// cgroup, so those are host cgroup files. They are close-on-exec, and while
// the container is created no process in it may reach them through
// /proc/1/fd (the waiting init is not dumpable).
func TestLeakedFdsCreatedInitHostCgroupFiles(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `true`) })
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	st, _ := c.state()
	pid := num(st, "pid")
	if pid <= 0 {
		t.Fatalf("no pid in state: %v", st)
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var held []string
	for _, e := range ents {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		base := filepath.Base(l)
		if strings.HasPrefix(base, "cpu.cfs_") || base == "cpu.max" || strings.HasPrefix(l, "/sys/fs/cgroup") {
			held = append(held, e.Name())
		}
	}
	// Listing the fd numbers shows nothing; opening one must fail.
	script := `for n in $(ls /proc/1/fd 2>/dev/null); do cat /proc/1/fd/$n >/dev/null 2>&1 && echo "readable $n"; done; true`
	r := c.skiff("exec", c.id, "sh", "-c", script)
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	if strings.Contains(r.Stdout, "readable") {
		t.Errorf("a container process reaches the waiting init's fds (it holds host cgroup files %v): %q", held, r.Stdout)
	}
}

func TestLeakedFdsRun(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `ls /proc/1/fd; echo; ls -l /proc/1/fd`) })
	r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 4)}, "run", "--bundle", c.bundle, c.id)
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	if got := fdList(strings.SplitN(r.Stdout, "\n\n", 2)[0]); got != "0 1 2" {
		t.Errorf("with host fds 3-6 given to skiff (no --preserve-fds) the container has fds %q, want 0 1 2:\n%s", got, r.Stdout)
	}
}

func TestLeakedFdsExec(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 30`) })
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	// `; true` keeps sh from exec'ing ls in its place.
	list := []string{"sh", "-c", `ls /proc/$$/fd; echo; ls -l /proc/$$/fd; true`}
	r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 4)}, append([]string{"exec", c.id}, list...)...)
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	if got := fdList(strings.SplitN(r.Stdout, "\n\n", 2)[0]); got != "0 1 2" {
		t.Errorf("exec with host fds 3-6 (no --preserve-fds): the process has fds %q, want 0 1 2:\n%s", got, r.Stdout)
	}
	r = c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 4)}, append([]string{"exec", "--preserve-fds", "2", c.id}, list...)...)
	if r.Code != 0 {
		t.Fatalf("exec --preserve-fds 2: %s", r)
	}
	if got := fdList(strings.SplitN(r.Stdout, "\n\n", 2)[0]); got != "0 1 2 3 4" {
		t.Errorf("exec --preserve-fds 2: the process has fds %q, want 0 1 2 3 4:\n%s", got, r.Stdout)
	}
}

// cwdEscaped reports whether a container's `pwd; readlink /proc/self/cwd`
// output shows a directory outside the container.
func cwdEscaped(out string) bool {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "/") || strings.Contains(l, "unreachable") || strings.HasPrefix(l, "/sys/fs/cgroup") {
			return true
		}
	}
	return false
}

// runc refuses such a cwd: the 1.1.5+deb12u1 here with "mkdir
// /proc/self/fd/N: not a directory" (it resolves the cwd inside the
// rootfs), upstream 1.1.12+ also with "current working directory is
// outside of container mount namespace root".
func TestLeakedFdCwdRefused(t *testing.T) {
	t.Parallel()
	for n := 3; n <= 10; n++ {
		n := n
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			cwd := "/proc/self/fd/" + strconv.Itoa(n)
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				s.Process.Cwd = cwd
				shell(s, `pwd; readlink /proc/self/cwd; ls -a | head -5 >&2`)
			})
			// Host fds handed to skiff, unasked: any leak into the init
			// would make the chdir land on the host.
			r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 8)}, "run", "--bundle", c.bundle, c.id)
			if r.Code == 0 {
				if cwdEscaped(r.Stdout) {
					t.Fatalf("cwd %s landed outside the container: %s", cwd, r)
				}
				t.Errorf("cwd %s was accepted (runc refuses it); the process saw %q", cwd, r.Stdout)
				return
			}
			if strings.Contains(r.Stdout, "/sys") || cwdEscaped(r.Stdout) {
				t.Errorf("cwd %s: the process ran outside the container before failing: %s", cwd, r)
			}
			if !strings.Contains(r.Stderr, "cwd") {
				t.Errorf("cwd %s refused without naming process.cwd: %q", cwd, r.Stderr)
			}
		})
	}
	// The same with host directories passed on purpose (--preserve-fds):
	// the fds reach the container but a cwd through them still lands on
	// the host and must be refused.
	t.Run("preserved", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			s.Process.Cwd = "/proc/self/fd/3"
			shell(s, `pwd; readlink /proc/self/cwd`)
		})
		r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 1)}, "run", "--preserve-fds", "1", "--bundle", c.bundle, c.id)
		if r.Code == 0 {
			t.Errorf("cwd /proc/self/fd/3 with a host directory passed as fd 3 was accepted: %s", r)
		}
		if cwdEscaped(r.Stdout) {
			t.Errorf("the process ran in a host directory: %s", r)
		}
	})
}

func TestLeakedFdCwdExecRefused(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 30`) })
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	for n := 3; n <= 10; n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 8)}, "exec", "--cwd", cwd, c.id, "sh", "-c", "pwd; readlink /proc/self/cwd")
		if r.Code == 0 {
			if cwdEscaped(r.Stdout) {
				t.Errorf("exec --cwd %s landed outside the container: %s", cwd, r)
			} else {
				t.Errorf("exec --cwd %s was accepted (runc refuses it): %s", cwd, r)
			}
			continue
		}
		if cwdEscaped(r.Stdout) {
			t.Errorf("exec --cwd %s ran outside the container: %s", cwd, r)
		}
	}
	// With host directories passed on purpose.
	r := c.skiffOpts(runOpts{ExtraFiles: hostFiles(t, 1)}, "exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3", c.id, "sh", "-c", "pwd; readlink /proc/self/cwd")
	if r.Code == 0 || cwdEscaped(r.Stdout) {
		t.Errorf("exec --preserve-fds 1 --cwd /proc/self/fd/3 (a host directory): %s", r)
	}
}

// ---- symlink escapes ----

type escapeCase struct {
	name string
	// prepare plants the symlink(s) in the rootfs, aimed at outside, and
	// changes the config.
	prepare func(c *ctr, s *specs.Spec, outside string)
}

// relTo returns a ../ form of the absolute host path target as seen from
// a link in dir: enough ../ to climb to / and then the path.
func relTo(target string) string {
	return strings.Repeat("../", 20) + strings.TrimPrefix(target, "/")
}

func replaceWithSymlink(t *testing.T, path, target string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func removeMount(s *specs.Spec, dest string) {
	var keep []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != dest && !strings.HasPrefix(m.Destination, dest+"/") {
			keep = append(keep, m)
		}
	}
	s.Mounts = keep
}

func TestSymlinkEscapes(t *testing.T) {
	t.Parallel()
	cases := []escapeCase{
		{"mount-destination-abs", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(outside, filepath.Join(c.rootfs, "lnk"))
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/lnk/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
				specs.Mount{Destination: "/lnk", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		}},
		{"mount-destination-rel", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(relTo(outside), filepath.Join(c.rootfs, "lnk"))
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/lnk/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
				specs.Mount{Destination: "/lnk", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		}},
		{"bind-file-destination-abs", func(c *ctr, s *specs.Spec, outside string) {
			// The destination file of a file bind would be created.
			src := filepath.Join(c.dir, "srcfile")
			writeFile(c.t, src, "bound")
			os.Symlink(filepath.Join(outside, "created"), filepath.Join(c.rootfs, "etc", "bound"))
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/bound", Type: "bind", Source: src, Options: []string{"bind", "ro"}})
		}},
		{"bind-file-destination-rel", func(c *ctr, s *specs.Spec, outside string) {
			src := filepath.Join(c.dir, "srcfile")
			writeFile(c.t, src, "bound")
			os.Symlink(relTo(filepath.Join(outside, "created")), filepath.Join(c.rootfs, "etc", "bound"))
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/bound", Type: "bind", Source: src, Options: []string{"bind", "ro"}})
		}},
		{"dev-abs", func(c *ctr, s *specs.Spec, outside string) {
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "dev"), outside)
		}},
		{"dev-rel", func(c *ctr, s *specs.Spec, outside string) {
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "dev"), relTo(outside))
		}},
		{"dev-without-tmpfs-abs", func(c *ctr, s *specs.Spec, outside string) {
			// No /dev mount: the default devices are made in the image's
			// /dev, which points outside.
			removeMount(s, "/dev")
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "dev"), outside)
		}},
		{"dev-nodes-without-tmpfs-rel", func(c *ctr, s *specs.Spec, outside string) {
			removeMount(s, "/dev")
			for _, n := range []string{"null", "zero", "full", "tty", "random", "urandom", "ptmx", "console"} {
				os.Symlink(relTo(filepath.Join(outside, n)), filepath.Join(c.rootfs, "dev", n))
			}
		}},
		{"proc-abs", func(c *ctr, s *specs.Spec, outside string) {
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "proc"), outside)
		}},
		{"proc-rel", func(c *ctr, s *specs.Spec, outside string) {
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "proc"), relTo(outside))
		}},
		{"sys-abs", func(c *ctr, s *specs.Spec, outside string) {
			replaceWithSymlink(c.t, filepath.Join(c.rootfs, "sys"), outside)
		}},
		{"masked-path-abs", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(outside, filepath.Join(c.rootfs, "maskdir"))
			os.Symlink(filepath.Join(outside, "keep"), filepath.Join(c.rootfs, "maskfile"))
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/maskdir", "/maskfile", "/maskdir/keep")
		}},
		{"masked-path-rel", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(relTo(outside), filepath.Join(c.rootfs, "maskdir"))
			os.Symlink(relTo(filepath.Join(outside, "keep")), filepath.Join(c.rootfs, "maskfile"))
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/maskdir", "/maskfile", "/maskdir/keep")
		}},
		{"readonly-path-abs", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(outside, filepath.Join(c.rootfs, "rodir"))
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/rodir", "/rodir/keep")
		}},
		{"readonly-path-rel", func(c *ctr, s *specs.Spec, outside string) {
			os.Symlink(relTo(outside), filepath.Join(c.rootfs, "rodir"))
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/rodir", "/rodir/keep")
		}},
	}
	for _, layer := range []bool{false, true} {
		layer := layer
		mode := "engine-bundle"
		if layer {
			mode = "writable-layer"
		}
		for _, tc := range cases {
			tc := tc
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var outside string
				c := newCtr(t, func(c *ctr, s *specs.Spec) {
					if !layer {
						noLayer(s)
					}
					// Outside the rootfs, on the host, with one file in it
					// that must stay as it is.
					outside = filepath.Join(c.dir, "outside")
					os.MkdirAll(outside, 0o755)
					writeFile(t, filepath.Join(outside, "keep"), "host data")
					tc.prepare(c, s, outside)
					shell(s, `cat /proc/self/mountinfo 2>/dev/null; (echo x > /lnk/written) 2>/dev/null; true`)
				})
				r := c.run()
				if got := listDir(outside); strings.Join(got, " ") != "keep" {
					t.Errorf("something was created outside the rootfs: %s now holds %v", outside, got)
				}
				if data, _ := os.ReadFile(filepath.Join(outside, "keep")); string(data) != "host data" {
					t.Errorf("a host file outside the rootfs changed: %q", data)
				}
				if m := hostMountsUnder(t, outside); len(m) > 0 {
					t.Errorf("the host has mounts outside the rootfs: %v", m)
				}
				if r.Code != 0 {
					t.Logf("refused: %s", strings.TrimSpace(r.Stderr))
					if strings.TrimSpace(r.Stderr) == "" {
						t.Errorf("refused without saying why: %s", r)
					}
					return
				}
				for _, m := range parseMountinfo(r.Stdout) {
					if strings.HasPrefix(m.Point, c.dir) {
						t.Errorf("the container has a mount at the host path %s", m.Point)
					}
				}
			})
		}
	}
}

// ---- CVE-2025-31133: /dev/null swapped before the masks ----

const corePattern = "/proc/sys/kernel/core_pattern"

// maskCheck is the container's process: it shows what each masked path
// is, and whether core_pattern can be opened for writing (opening only:
// nothing is ever written).
const maskCheck = `for p in /proc/kcore /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug; do
  [ -e $p ] && echo "stat $(stat -L -c '%n %F %t:%T' $p)"
done
echo "==timer_list=="; head -c 300 /proc/timer_list
echo "==keys=="; head -c 300 /proc/keys
echo "==cp=="
(: >> /proc/sys/kernel/core_pattern) 2>/dev/null && echo cp-open-write-ok || echo cp-open-write-refused
(: >> /proc/timer_list) 2>/dev/null && echo tl-open-write-ok || echo tl-open-write-refused
echo "==mountinfo=="; cat /proc/self/mountinfo`

func checkMasks(t *testing.T, r result, hostCore string) {
	t.Helper()
	if r.Code != 0 {
		t.Logf("refused: %s", strings.TrimSpace(r.Stderr))
		if strings.TrimSpace(r.Stderr) == "" {
			t.Errorf("refused without saying why: %s", r)
		}
		return
	}
	out := r.Stdout
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "stat ") && !strings.HasSuffix(l, "character special file 1:3") && !strings.Contains(l, "directory") {
			t.Errorf("a masked path is not the null device: %s", l)
		}
	}
	for _, sec := range []string{"timer_list", "keys"} {
		if got := section(out, sec); got != "" {
			t.Errorf("masked /proc/%s reads %q", sec, got)
		}
	}
	// What a masked path shows is checked above (it must read empty); the
	// whole output may well contain a short core_pattern such as "core"
	// elsewhere (/proc/kcore in a stat line, mountinfo).
	for _, sec := range []string{"timer_list", "keys"} {
		if c := strings.TrimSpace(hostCore); c != "" && strings.Contains(section(out, sec), c) {
			t.Errorf("masked /proc/%s shows the host's core_pattern %q", sec, hostCore)
		}
	}
	if strings.Contains(section(out, "cp"), "cp-open-write-ok") {
		t.Errorf("core_pattern can be opened for writing inside the container")
	}
	for _, m := range parseMountinfo(section(out, "mountinfo")) {
		if strings.Contains(m.Root, "core_pattern") || (m.FSType == "proc" && strings.HasPrefix(m.Root, "/sys/")) {
			t.Errorf("a procfs file is mounted in the container: %+v", m)
		}
	}
}

func TestMaskedPathRaceDevNull(t *testing.T) {
	t.Parallel()
	hostCore, err := os.ReadFile(corePattern)
	if err != nil {
		t.Skipf("no %s: %v", corePattern, err)
	}
	cases := []struct {
		name   string
		target string // where the swapped /dev/null points
	}{
		{"abs", corePattern},
		{"rel", "../proc/sys/kernel/core_pattern"},
	}
	for _, tc := range cases {
		tc := tc
		// A createContainer hook runs after /dev is made and before the
		// masks: it swaps /dev/null for a symlink to a host procfs file.
		t.Run("createContainer-hook/"+tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				noLayer(s)
				script := fmt.Sprintf(`rm -f %[1]s/dev/null && ln -s %[2]s %[1]s/dev/null && echo swapped > %[3]s/swapped`, c.rootfs, tc.target, c.dir)
				s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: busyboxPath, Args: []string{"sh", "-c", script}}}}
				shell(s, maskCheck)
			})
			r := c.run()
			if _, err := os.Stat(filepath.Join(c.dir, "swapped")); err != nil {
				t.Fatalf("the hook did not swap /dev/null (%v): %s", err, r)
			}
			checkMasks(t, r, string(hostCore))
		})
		// The image itself ships /dev/null as a symlink and the config
		// has no /dev tmpfs, so the image's /dev is used.
		t.Run("image-dev-null/"+tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				noLayer(s)
				removeMount(s, "/dev")
				os.Symlink(tc.target, filepath.Join(c.rootfs, "dev", "null"))
				shell(s, maskCheck)
			})
			r := c.run()
			checkMasks(t, r, string(hostCore))
		})
	}
	// The masked path itself is swapped for a symlink (to a file the
	// container may not see) before the masks are applied.
	t.Run("masked-path-swapped", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			noLayer(s)
			writeFile(t, filepath.Join(c.rootfs, "secret"), "secret")
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/secret")
			script := fmt.Sprintf(`rm -f %[1]s/secret && ln -s %[2]s %[1]s/secret`, c.rootfs, corePattern)
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: busyboxPath, Args: []string{"sh", "-c", script}}}}
			shell(s, maskCheck+`; echo "==secret=="; head -c 300 /secret`)
		})
		r := c.run()
		checkMasks(t, r, string(hostCore))
		if r.Code == 0 && strings.Contains(section(r.Stdout, "secret"), strings.TrimSpace(string(hostCore))) {
			t.Errorf("the masked path shows the host's core_pattern")
		}
	})
	if after, _ := os.ReadFile(corePattern); string(after) != string(hostCore) {
		t.Errorf("the host's core_pattern changed: %q -> %q", hostCore, after)
	}
}

// ---- seccomp ----

func seccompMkdir(action specs.LinuxSeccompAction, errno *uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: action, ErrnoRet: errno}},
	}
}

// workTmpfs gives the container a writable /w whatever the root is.
func workTmpfs(s *specs.Spec) {
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/w", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
}

func TestSeccompErrno(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		nnp := nnp
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				workTmpfs(s)
				s.Process.NoNewPrivileges = nnp
				s.Linux.Seccomp = seccompMkdir(specs.ActErrno, ptr(uint(unix.EXDEV)))
				s.Linux.Seccomp.Syscalls = append(s.Linux.Seccomp.Syscalls,
					specs.LinuxSyscall{Names: []string{"rmdir"}, Action: specs.ActErrno})
				shell(s, `mkdir /w/d; echo mkdir=$?; [ -d /w/d ] && echo made; touch /w/f && echo touch-ok; rmdir /w; echo rmdir=$?`)
			})
			r := c.run()
			if r.Code != 0 {
				t.Fatalf("run: %s", r)
			}
			if !strings.Contains(r.Stdout, "mkdir=1") || strings.Contains(r.Stdout, "made") {
				t.Errorf("mkdir was not denied: %s", r)
			}
			if !strings.Contains(r.Stderr, "ross-device link") {
				t.Errorf("mkdir should fail with the configured errnoRet EXDEV: stderr %q", r.Stderr)
			}
			if !strings.Contains(r.Stdout, "touch-ok") {
				t.Errorf("an allowed syscall failed: %s", r)
			}
			if !strings.Contains(r.Stdout, "rmdir=1") || !strings.Contains(r.Stderr, "Operation not permitted") {
				t.Errorf("SCMP_ACT_ERRNO without errnoRet should give EPERM: %s", r)
			}
		})
	}
}

func TestSeccompKill(t *testing.T) {
	t.Parallel()
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread} {
		for _, nnp := range []bool{true, false} {
			act, nnp := act, nnp
			t.Run(fmt.Sprintf("%s/noNewPrivileges=%v", act, nnp), func(t *testing.T) {
				t.Parallel()
				c := newCtr(t, func(c *ctr, s *specs.Spec) {
					workTmpfs(s)
					s.Process.NoNewPrivileges = nnp
					s.Linux.Seccomp = seccompMkdir(act, nil)
					s.Process.Args = []string{"mkdir", "/w/d"}
				})
				r := c.run()
				if r.Code != 128+int(unix.SIGSYS) {
					t.Errorf("%s: run should report death by SIGSYS (159): %s", act, r)
				}
			})
		}
	}
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			workTmpfs(s)
			s.Linux.Seccomp = seccompMkdir(specs.ActKill, nil)
			shell(s, `sleep 30`)
		})
		if r := c.create(); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		if r := c.skiff("start", c.id); r.Code != 0 {
			t.Fatalf("start: %s", r)
		}
		r := c.skiff("exec", c.id, "mkdir", "/w/d")
		if r.Code != 128+int(unix.SIGSYS) {
			t.Errorf("exec of a killed syscall should exit 159: %s", r)
		}
		r = c.skiff("exec", c.id, "sh", "-c", "echo alive")
		if r.Code != 0 || r.Stdout != "alive\n" {
			t.Errorf("an allowed exec under the same filter: %s", r)
		}
	})
}

// seccomp user notification: struct seccomp_notif and seccomp_notif_resp.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// notifyAgent is a seccomp agent on a unix socket: it takes any number of
// connections, records each ContainerProcessState, and answers every
// notified syscall of every fd with -errno.
type notifyAgent struct {
	ln     *net.UnixListener
	errno  syscall.Errno
	mu     sync.Mutex
	states []specs.ContainerProcessState
	served int // notifications answered
	errs   []error
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startNotifyAgent(t *testing.T, path string, errno syscall.Errno) *notifyAgent {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	a := &notifyAgent{ln: ln, errno: errno, stop: make(chan struct{})}
	a.wg.Add(1)
	go a.accept()
	t.Cleanup(func() {
		close(a.stop)
		ln.Close()
		a.wg.Wait()
	})
	return a
}

func (a *notifyAgent) fail(err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

func (a *notifyAgent) accept() {
	defer a.wg.Done()
	for {
		conn, err := a.ln.AcceptUnix()
		if err != nil {
			return
		}
		fd, st, err := readAgentMsg(conn)
		conn.Close()
		if err != nil {
			a.fail(err)
			continue
		}
		a.mu.Lock()
		a.states = append(a.states, st)
		a.mu.Unlock()
		a.wg.Add(1)
		go a.serve(fd)
	}
}

func readAgentMsg(conn *net.UnixConn) (int, specs.ContainerProcessState, error) {
	var st specs.ContainerProcessState
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, st, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, st, fmt.Errorf("agent: no SCM_RIGHTS message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, st, fmt.Errorf("agent: want exactly one fd, got %v (%v)", fds, err)
	}
	for {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		unix.Close(fds[0])
		return -1, st, fmt.Errorf("agent: state is not JSON: %v: %q", err, buf[:n])
	}
	return fds[0], st, nil
}

func (a *notifyAgent) serve(fd int) {
	defer a.wg.Done()
	defer unix.Close(fd)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			a.fail(fmt.Errorf("agent: poll: %w", err))
			return
		}
		if n == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: every process of the filter is gone
		}
		var req seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			if e == unix.ENOENT || e == unix.EINTR {
				continue
			}
			a.fail(fmt.Errorf("agent: SECCOMP_IOCTL_NOTIF_RECV: %w", e))
			return
		}
		resp := seccompNotifResp{ID: req.ID, Error: -int32(a.errno)}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp))); e != 0 && e != unix.ENOENT {
			a.fail(fmt.Errorf("agent: SECCOMP_IOCTL_NOTIF_SEND: %w", e))
			return
		}
		a.mu.Lock()
		a.served++
		a.mu.Unlock()
	}
}

func (a *notifyAgent) snapshot() ([]specs.ContainerProcessState, int, []error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]specs.ContainerProcessState(nil), a.states...), a.served, append([]error(nil), a.errs...)
}

func checkAgentState(t *testing.T, st specs.ContainerProcessState, id string) {
	t.Helper()
	if st.Version == "" || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName || st.Metadata != "skiff-it" || st.Pid <= 0 || st.State.ID != id {
		t.Errorf("the agent got the container process state %+v", st)
	}
}

func TestSeccompNotifyListener(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		nnp := nnp
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			t.Parallel()
			var agent *notifyAgent
			var out string
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				workTmpfs(s)
				out = outDir(c, s)
				s.Process.NoNewPrivileges = nnp
				sock := filepath.Join(c.dir, "agent.sock")
				agent = startNotifyAgent(t, sock, unix.ETXTBSY)
				s.Linux.Seccomp = seccompMkdir(specs.ActNotify, nil)
				s.Linux.Seccomp.ListenerPath = sock
				s.Linux.Seccomp.ListenerMetadata = "skiff-it"
				shell(s, `mkdir /w/d 2>/out/mkdir.err; echo $? > /out/mkdir.rc; [ -d /w/d ] && echo made > /out/made; touch /out/done; sleep 30`)
			})
			if r := c.create(); r.Code != 0 {
				t.Fatalf("create: %s", r)
			}
			if r := c.skiff("start", c.id); r.Code != 0 {
				t.Fatalf("start: %s", r)
			}
			if !waitFile(t, filepath.Join(out, "done"), 15*time.Second) {
				t.Fatalf("the container's process did not finish its mkdir; output %q", c.output())
			}
			if rc := readOut(out, "mkdir.rc"); rc != "1" || readOut(out, "made") != "" {
				t.Errorf("mkdir under a notify rule: rc %q made %q", rc, readOut(out, "made"))
			}
			if e := readOut(out, "mkdir.err"); !strings.Contains(e, "Text file busy") {
				t.Errorf("mkdir should fail with the agent's ETXTBSY: %q", e)
			}
			// exec: the new process loads the filter again and its fd
			// reaches the agent too.
			r := c.skiff("exec", c.id, "sh", "-c", `mkdir /w/e; echo rc=$?; [ -d /w/e ] && echo made; true`)
			if !strings.Contains(r.Stdout, "rc=1") || strings.Contains(r.Stdout, "made") || !strings.Contains(r.Stderr, "Text file busy") {
				t.Errorf("exec under a notify rule: mkdir should fail with ETXTBSY: %s", r)
			}
			states, served, errs := agent.snapshot()
			for _, err := range errs {
				t.Errorf("agent: %v", err)
			}
			if len(states) != 2 {
				t.Errorf("the agent got %d connections, want 2 (init and exec)", len(states))
			}
			for _, st := range states {
				checkAgentState(t, st, c.id)
			}
			if served < 2 {
				t.Errorf("the agent answered %d notifications, want at least 2", served)
			}
		})
	}
}

// The runtime compiles a seccomp profile once per state root and keeps
// the program (libseccomp takes about 10 ms for an engine's profile); a
// container started from the kept program is filtered the same, and a
// damaged entry is compiled again.
func TestSeccompCompiledFilterIsCached(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		workTmpfs(s)
		s.Linux.Seccomp = seccompMkdir(specs.ActErrno, ptr(uint(unix.EXDEV)))
		shell(s, `mkdir /w/d; echo mkdir=$?`)
	})
	cache := filepath.Join(c.root, "seccomp@v1")
	check := func(round string) string {
		t.Helper()
		c.id = newID("it")
		r := c.run()
		if r.Code != 0 || !strings.Contains(r.Stdout, "mkdir=1") || !strings.Contains(r.Stderr, "ross-device link") {
			t.Fatalf("%s: mkdir should fail with EXDEV: %s", round, r)
		}
		ents, err := os.ReadDir(cache)
		if err != nil || len(ents) != 1 {
			t.Fatalf("%s: cache %s should hold one entry: %v %v", round, cache, ents, err)
		}
		st, err := os.Stat(cache)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: cache directory mode %v (%v), want 0700", round, st.Mode(), err)
		}
		return filepath.Join(cache, ents[0].Name())
	}
	entry := check("first run")
	kept, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(entry); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache entry mode %v (%v), want 0600", fi.Mode(), err)
	}
	if again := check("from the cache"); again != entry {
		t.Errorf("the same profile made a second entry %s", again)
	}
	if err := os.WriteFile(entry, []byte("garbage that is not a program"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("after damage")
	if now, _ := os.ReadFile(entry); string(now) != string(kept) {
		t.Errorf("the damaged entry was not replaced by the compiled program")
	}
	if r := c.skiff("list", "-q"); r.Code != 0 || strings.Contains(r.Stdout, "seccomp") {
		t.Errorf("list shows the cache: %s", r)
	}
}
