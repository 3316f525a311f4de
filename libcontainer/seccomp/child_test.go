//go:build linux && cgo

package seccomp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The filter tests re-execute the test binary: a seccomp filter cannot be
// removed, so it must go into a process of its own. The child does what
// skiff's init does (lock the thread, set no_new_privs, Load, hand the
// notify fd over) and then runs the steps it is given, printing one line
// per step.
const (
	envChild = "SKIFF_SECCOMP_TEST_CHILD"
	envCfg   = "SKIFF_SECCOMP_TEST_CFG"
	envDir   = "SKIFF_SECCOMP_TEST_DIR"
)

func TestMain(m *testing.M) {
	if steps := os.Getenv(envChild); steps != "" {
		os.Exit(childMain(steps))
	}
	code := m.Run()
	if copyDir != "" {
		os.RemoveAll(copyDir)
	}
	os.Exit(code)
}

// childMain runs in the re-executed test binary. Steps are separated by
// ";", fields by ":":
//
//	mkdir:NAME:MODE       mkdirat(AT_FDCWD, DIR/NAME, MODE), prints "NAME ERRNO"
//	mkdirat:NAME:MODE     the same relative to an fd on DIR
//	rmdir:NAME            rmdir(DIR/NAME), prints "NAME ERRNO"
//	threads               prints "threads N" and "unfiltered M" (threads without a filter)
//	no-nnp (first)        do not set no_new_privs before Load
//	exec:PROG:ARG...      execve PROG (the way the init ends)
func childMain(steps string) int {
	runtime.LockOSThread()
	var cfg specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(os.Getenv(envCfg)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child: config:", err)
		return 100
	}
	dir := os.Getenv(envDir)
	// SIGSYS dumps core by default; keep the tests from littering.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if noNNP, ok := strings.CutPrefix(steps, "no-nnp;"); ok {
		steps = noNNP
	} else if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "child: no_new_privs:", err)
		return 100
	}
	fd, err := Load(&cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: load:", err)
		return 101
	}
	if fd >= 0 {
		state := specs.ContainerProcessState{
			Pid:      os.Getpid(),
			Metadata: cfg.ListenerMetadata,
			State:    specs.State{Version: specs.Version, ID: "seccomp-test", Status: specs.StateCreated, Pid: os.Getpid(), Bundle: dir},
		}
		if err := SendToListener(cfg.ListenerPath, fd, state); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 102
		}
		unix.Close(fd)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, step := range strings.Split(steps, ";") {
		f := strings.Split(step, ":")
		switch f[0] {
		case "mkdir", "mkdirat":
			mode, _ := strconv.ParseUint(f[2], 8, 32)
			var err error
			if f[0] == "mkdir" {
				err = unix.Mkdir(filepath.Join(dir, f[1]), uint32(mode))
			} else {
				dfd, oerr := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if oerr != nil {
					fmt.Fprintln(os.Stderr, "child: open dir:", oerr)
					return 103
				}
				err = unix.Mkdirat(dfd, f[1], uint32(mode))
				unix.Close(dfd)
			}
			fmt.Fprintf(out, "%s %d\n", f[1], errnoOf(err))
		case "rmdir":
			fmt.Fprintf(out, "%s %d\n", f[1], errnoOf(unix.Rmdir(filepath.Join(dir, f[1]))))
		case "threads":
			tasks, _ := os.ReadDir("/proc/self/task")
			fmt.Fprintf(out, "threads %d\nunfiltered %d\n", len(tasks), unfilteredThreads())
		case "exec":
			out.Flush()
			err := unix.Exec(f[1], f[1:], os.Environ())
			fmt.Fprintln(os.Stderr, "child: exec:", err)
			return 104
		default:
			fmt.Fprintln(os.Stderr, "child: unknown step", step)
			return 105
		}
	}
	return 0
}

// unfilteredThreads counts this process's threads whose status does not
// say "Seccomp: 2" (filter mode); -1 when /proc cannot be read.
func unfilteredThreads() int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	n := 0
	for _, task := range tasks {
		status, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			return -1
		}
		if !strings.Contains(string(status), "\nSeccomp:\t2\n") {
			n++
		}
	}
	return n
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return int(e)
	}
	return -1
}

type childResult struct {
	errnos map[string]int // step name -> errno printed by the child
	state  *os.ProcessState
	stderr string
}

// runChild runs steps under cfg in a fresh process. As non-root
// (unprivileged true and the tests run as root), the child runs as
// nobody from a world-readable copy of the test binary.
func runChild(t *testing.T, cfg *specs.LinuxSeccomp, dir string, unprivileged bool, steps ...string) childResult {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	if unprivileged && os.Geteuid() == 0 {
		cmd.Path = worldExecutableCopy(t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	cmd.Env = append(os.Environ(), envChild+"="+strings.Join(steps, ";"), envCfg+"="+string(raw), envDir+"="+dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run child: %v", err)
	}
	res := childResult{errnos: map[string]int{}, state: cmd.ProcessState, stderr: stderr.String()}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var name string
		var errno int
		if _, err := fmt.Sscanf(line, "%s %d", &name, &errno); err == nil {
			res.errnos[name] = errno
		}
	}
	return res
}

const nobody = 65534

var (
	copyOnce sync.Once
	copyDir  string // removed by TestMain
	copyPath string
	copyErr  error
)

// worldExecutableCopy puts the test binary where nobody can run it: go
// test builds it in a 0700 directory.
func worldExecutableCopy(t *testing.T) string {
	copyOnce.Do(func() {
		copyDir, copyErr = os.MkdirTemp("", "skiff-seccomp-bin-")
		if copyErr != nil {
			return
		}
		copyErr = os.Chmod(copyDir, 0o755)
		if copyErr != nil {
			return
		}
		var src string
		if src, copyErr = os.Executable(); copyErr != nil {
			return
		}
		copyPath = filepath.Join(copyDir, "seccomp.test")
		copyErr = copyFile(src, copyPath)
	})
	if copyErr != nil {
		t.Fatalf("copy test binary: %v", copyErr)
	}
	return copyPath
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sharedDir makes a directory the child can write even as nobody.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-seccomp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantErrnos(t *testing.T, res childResult, want map[string]syscall.Errno) {
	t.Helper()
	if !res.state.Success() {
		t.Fatalf("child failed: %v; stderr: %s", res.state, res.stderr)
	}
	for name, errno := range want {
		got, ok := res.errnos[name]
		if !ok {
			t.Errorf("%s: child printed nothing (stderr: %s)", name, res.stderr)
			continue
		}
		if got != int(errno) {
			t.Errorf("%s: errno %d (%v), want %d (%v)", name, got, syscall.Errno(got), int(errno), errno)
		}
	}
}
