//go:build linux && cgo

package seccomp

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var mkdirNames = []string{"mkdir", "mkdirat"}

func TestLoadNothingConfigured(t *testing.T) {
	for _, cfg := range []*specs.LinuxSeccomp{nil, {}} {
		if fd, err := Load(cfg); fd != -1 || err != nil {
			t.Fatalf("Load(%+v) = %d, %v; want -1, nil without touching the process", cfg, fd, err)
		}
	}
}

func TestLoadRefusesInvalid(t *testing.T) {
	_, err := Load(&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"})
	if err == nil {
		t.Fatal("invalid config loaded")
	}
}

func TestDeniedSyscallReturnsErrno(t *testing.T) {
	dir := sharedDir(t)
	if err := os.Mkdir(filepath.Join(dir, "keep"), 0o777); err != nil {
		t.Fatal(err)
	}
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: mkdirNames, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EXDEV))},
			{Names: []string{"rmdir", "unlinkat"}, Action: specs.ActErrno}, // errnoRet defaults to EPERM
		},
	}
	res := runChild(t, cfg, dir, false, "mkdir:new:755", "rmdir:keep")
	wantErrnos(t, res, map[string]syscall.Errno{"new": unix.EXDEV, "keep": unix.EPERM})
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Error("denied mkdir created the directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Error("denied rmdir removed the directory")
	}
}

// goRuntimeSyscalls is what a Go child needs to keep running and print
// after Load, for the deny-by-default test.
var goRuntimeSyscalls = []string{
	"read", "write", "close", "futex", "nanosleep", "clock_nanosleep", "clock_gettime", "sched_yield",
	"mmap", "munmap", "madvise", "mprotect", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sigaltstack", "gettid", "getpid", "tgkill", "clone", "clone3", "exit", "exit_group",
	"epoll_pwait", "epoll_ctl", "epoll_create1", "fcntl", "getrandom", "openat", "fstat", "newfstatat",
	// A new OS thread of this cgo binary goes through glibc's
	// pthread_create, which aborts the process when one of these fails;
	// whether the runtime starts a thread after Load is a matter of timing.
	"rseq", "set_robust_list", "prlimit64", "getrlimit", "sched_getaffinity", "arch_prctl", "brk",
	"membarrier", "mremap", "restart_syscall", "tkill", "rt_sigtimedwait", "prctl", "uname",
	"getuid", "geteuid", "getgid", "getegid", "getppid", "dup", "dup3", "lseek", "pread64", "statx",
}

func TestDefaultErrnoRet(t *testing.T) {
	dir := sharedDir(t)
	cfg := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uintp(uint(unix.ENOTSUP)),
		Flags:           []specs.LinuxSeccompFlag{},
		Syscalls:        []specs.LinuxSyscall{{Names: goRuntimeSyscalls, Action: specs.ActAllow}},
	}
	res := runChild(t, cfg, dir, false, "mkdir:new:755")
	wantErrnos(t, res, map[string]syscall.Errno{"new": unix.ENOTSUP})
}

// KILL, KILL_THREAD and TRAP are seen through execve, the way skiff
// ends the init: the single-threaded program that trips them dies of
// SIGSYS. KILL_PROCESS also takes the multi-threaded Go child down.
func TestKillActions(t *testing.T) {
	for _, tt := range []struct {
		action specs.LinuxSeccompAction
		step   string
	}{
		{specs.ActKill, "exec:/bin/mkdir:DIR/new"},
		{specs.ActKillThread, "exec:/bin/mkdir:DIR/new"},
		{specs.ActTrap, "exec:/bin/mkdir:DIR/new"},
		{specs.ActKillProcess, "mkdir:new:755"},
	} {
		t.Run(string(tt.action), func(t *testing.T) {
			dir := sharedDir(t)
			cfg := &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls:      []specs.LinuxSyscall{{Names: mkdirNames, Action: tt.action}},
			}
			step := tt.step
			if step[:5] == "exec:" {
				step = "exec:/bin/mkdir:" + filepath.Join(dir, "new")
			}
			res := runChild(t, cfg, dir, false, step)
			ws, ok := res.state.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != unix.SIGSYS {
				t.Fatalf("child ended with %v, want killed by SIGSYS; stderr: %s", res.state, res.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
				t.Error("killed mkdir created the directory")
			}
		})
	}
}

// The control: the same exec with the rule on another syscall succeeds,
// so SIGSYS above really came from the mkdir rule.
func TestExecAllowedUnderFilter(t *testing.T) {
	dir := sharedDir(t)
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActKill}},
	}
	res := runChild(t, cfg, dir, false, "exec:/bin/mkdir:"+filepath.Join(dir, "new"))
	if !res.state.Success() {
		t.Fatalf("child: %v; stderr: %s", res.state, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
}
