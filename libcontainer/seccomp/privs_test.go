//go:build linux && cgo

package seccomp

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Loading needs only no_new_privs: the same filters work for a user with
// no capabilities (skipped when the tests are neither root nor able to
// switch to nobody; then they already run unprivileged).
func TestUnprivilegedLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("already unprivileged: every other filter test covers it")
	}
	t.Run("errno", func(t *testing.T) {
		dir := sharedDir(t)
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: mkdirNames, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EXDEV))}},
		}
		res := runChild(t, cfg, dir, true, "mkdir:new:755")
		wantErrnos(t, res, map[string]syscall.Errno{"new": unix.EXDEV})
	})
	t.Run("notify", func(t *testing.T) { testNotify(t, nil, true) })
}

// TSYNC: every thread of the (multi-threaded) Go child is filtered, not
// just the one that called Load. Every flag is accepted by this kernel.
func TestFilterCoversAllThreadsWithFlags(t *testing.T) {
	for _, fl := range [][]specs.LinuxSeccompFlag{
		nil,
		{},
		{FlagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow},
		{specs.LinuxSeccompFlagWaitKillableRecv}, // ignored without a notify rule
	} {
		dir := sharedDir(t)
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Flags:         fl,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno}},
		}
		res := runChild(t, cfg, dir, false, "threads")
		if !res.state.Success() {
			t.Fatalf("flags %v: child %v; stderr: %s", fl, res.state, res.stderr)
		}
		if res.errnos["threads"] < 2 {
			t.Errorf("flags %v: child has %d threads, the TSYNC check needs several", fl, res.errnos["threads"])
		}
		if n, ok := res.errnos["unfiltered"]; !ok || n != 0 {
			t.Errorf("flags %v: %d threads without the filter (printed: %v)", fl, n, ok)
		}
	}
}

// Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses; the
// error must say what is missing.
func TestLoadWithoutNoNewPrivsNeedsCapSysAdmin(t *testing.T) {
	dir := sharedDir(t)
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno}},
	}
	res := runChild(t, cfg, dir, true, "no-nnp", "threads")
	if os.Geteuid() != 0 && hasCapSysAdmin() {
		t.Skip("unprivileged run still holds CAP_SYS_ADMIN")
	}
	if res.state.ExitCode() != 101 || !strings.Contains(res.stderr, "needs no_new_privs set on this thread, or CAP_SYS_ADMIN") {
		t.Fatalf("child %v; stderr: %s", res.state, res.stderr)
	}
}

func hasCapSysAdmin() bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:\t"); ok {
			v, err := strconv.ParseUint(hex, 16, 64)
			return err == nil && v&(1<<unix.CAP_SYS_ADMIN) != 0
		}
	}
	return false
}
