package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer/bundle"
	"github.com/skiff-runtime/skiff/libcontainer/capabilities"
	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
)

// process is the user's process, ready to execve.
type process struct {
	spec *specs.Process
	path string // resolved args[0]
	// lateSeccomp is loaded as the last step before execve (the config
	// sets noNewPrivileges, so no privilege is needed for it).
	lateSeccomp *seccomp.Filter
	// terminal is the pty slave, when the process has a terminal.
	terminal *os.File
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepareProcess does, inside the container, everything that can fail
// before the process may run: user, capabilities, cwd and finding the
// executable. It runs on the init's locked main thread: credentials and
// capabilities are per thread, and this thread is the one that execs.
//
// seccomp: without noNewPrivileges loading a filter needs CAP_SYS_ADMIN,
// so it happens here before the capabilities are dropped; with it, it is
// left for exec. A filter with a notify listener is loaded while the sync
// socket is still open (handOff sends its fd to the parent).
func prepareProcess(p *specs.Process, filter *seccomp.Filter, handOff func(fd int) error, preserveFDs int) (*process, error) {
	proc := &process{spec: p}
	// Mark inherited fds close-on-exec now, before any seccomp filter
	// exists; exec repeats it for anything opened since.
	if err := closeInheritedFDs(3 + preserveFDs); err != nil {
		return nil, err
	}
	if p.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return nil, fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	if err := applyLSMLabels(p); err != nil {
		return nil, err
	}
	caps, err := capabilities.FromSpec(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := caps.DropBounding(); err != nil {
		return nil, fmt.Errorf("process.capabilities.bounding: %w", err)
	}
	if err := setUser(p.User); err != nil {
		return nil, err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	// cwd and the executable are checked before any filter exists: a
	// profile need not allow getcwd or access.
	if err := enterCwd(p.Cwd); err != nil {
		return nil, err
	}
	path, err := findExecutable(p.Args[0], p.Env)
	if err != nil {
		return nil, err
	}
	proc.path = path
	if filter != nil {
		if p.NoNewPrivileges {
			proc.lateSeccomp = filter
		} else {
			// Without no_new_privs the kernel wants CAP_SYS_ADMIN in
			// effect, which the switch of user cleared; it is still
			// permitted until the final sets are applied below.
			if err := capabilities.RaiseEffective(); err != nil {
				return nil, fmt.Errorf("linux.seccomp: %w", err)
			}
			if err := loadSeccomp(filter, handOff); err != nil {
				return nil, err
			}
		}
	}
	if err := caps.Apply(); err != nil {
		return nil, fmt.Errorf("process.capabilities: %w", err)
	}
	return proc, nil
}

func loadSeccomp(filter *seccomp.Filter, handOff func(fd int) error) error {
	fd, err := filter.Load()
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if fd < 0 {
		return nil
	}
	defer unix.Close(fd)
	if handOff == nil {
		return errors.New("linux.seccomp: no way to hand the notify fd to the runtime")
	}
	return handOff(fd)
}

// setUser switches the calling thread to the process's uid, gid and groups,
// keeping the permitted capabilities so the configured sets can be applied
// afterwards. Go's syscall.Setuid would change every thread, which is
// refused in a cgo program; this thread alone execs, so it alone matters.
func setUser(u specs.User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities: %w", err)
	}
	groups := make([]int, 0, len(u.AdditionalGids))
	for _, g := range u.AdditionalGids {
		groups = append(groups, int(g))
	}
	// x/sys/unix's setgroups changes only the calling thread.
	if err := unix.Setgroups(groups); err != nil {
		// setgroups is denied in a user namespace whose gid map was
		// written with setgroups=deny; only an error if groups were asked.
		if !(errors.Is(err, unix.EPERM) && len(groups) == 0) {
			return fmt.Errorf("process.user.additionalGids: setgroups: %w", err)
		}
	}
	// Raw: unix.Setresgid and Setresuid go through the syscall package,
	// which changes every thread (with cgo, glibc signals each thread and
	// waits for it).
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("process.user.gid: setgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("process.user.uid: setuid %d: %w", u.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("reset keep-capabilities: %w", err)
	}
	return nil
}

// enterCwd changes to cwd and checks the result is inside the container:
// a cwd reached through an fd leaked from the host would show up as
// unreachable (CVE-2024-21626).
func enterCwd(cwd string) error {
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd: chdir %q: %w", cwd, err)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("process.cwd: getcwd: %w (possible container breakout: refusing)", err)
	}
	got := string(buf[:n])
	if i := strings.IndexByte(got, 0); i >= 0 {
		got = got[:i]
	}
	if !strings.HasPrefix(got, "/") {
		return fmt.Errorf("process.cwd: %q is outside the container: refusing", got)
	}
	return nil
}

func findExecutable(arg0 string, env []string) (string, error) {
	if strings.Contains(arg0, "/") {
		if err := checkExecutable(arg0); err != nil {
			return "", fmt.Errorf("process.args[0]: %q: %w", arg0, err)
		}
		return arg0, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, arg0)
		if checkExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	// Engines map this wording (Go's and runc's) to exit status 127.
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", arg0)
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return errors.Unwrap(err)
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	return unix.Access(path, unix.X_OK)
}

// exec applies the last settings and replaces the init with the process.
// announce, when set, tells the runtime the process is about to execve
// (run's protocol); it goes before the late seccomp filter exists.
func (p *process) exec(preserveFDs int, handOff func(fd int) error, announce func() error) error {
	for _, rl := range p.spec.Rlimits {
		// The runtime set the limits (possibly lowered to what the host
		// allows). Setting them again, to the same values, through
		// syscall.Setrlimit makes the Go runtime forget the open-files
		// limit it saved at start, which it would restore at exec.
		var lim syscall.Rlimit
		res := bundle.RlimitTypes[rl.Type]
		if err := syscall.Getrlimit(res, &lim); err != nil {
			return fmt.Errorf("process.rlimits: get %s: %w", rl.Type, err)
		}
		if err := syscall.Setrlimit(res, &lim); err != nil {
			return fmt.Errorf("process.rlimits: set %s: %w", rl.Type, err)
		}
	}
	if p.spec.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("process.noNewPrivileges: %w", err)
		}
	}
	if p.terminal != nil {
		if err := becomeTerminalOwner(p.terminal); err != nil {
			return err
		}
	} else if _, err := unix.Setsid(); err != nil && err != unix.EPERM {
		// A session of its own, as runc gives it: the caller's terminal's
		// job control never reaches the container, and criu finds the
		// session leader inside the container's pid namespace. (EPERM:
		// already a group leader, so already apart.)
		return fmt.Errorf("setsid: %w", err)
	}
	// Nothing but stdio and the fds the caller asked to pass reaches the
	// container (CVE-2024-21626).
	if err := closeInheritedFDs(3 + preserveFDs); err != nil {
		return err
	}
	for i := 0; i < preserveFDs; i++ {
		if _, err := unix.FcntlInt(uintptr(3+i), unix.F_SETFD, 0); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("pass fd %d: %w", 3+i, err)
		}
	}
	if announce != nil {
		if err := announce(); err != nil {
			return err
		}
	}
	// Last, so the filter sees as few of our own syscalls as possible
	// (close_range above is one a profile may well not allow). Every fd
	// the load itself makes is close-on-exec.
	if p.lateSeccomp != nil {
		if err := loadSeccomp(p.lateSeccomp, handOff); err != nil {
			return err
		}
	}
	err := unix.Exec(p.path, p.spec.Args, p.spec.Env)
	return fmt.Errorf("exec %q: %w", p.path, err)
}

// closeInheritedFDs marks every fd from first on close-on-exec. close_range
// is one syscall; where it is missing or a seccomp profile forbids it,
// walk /proc/self/fd instead.
func closeInheritedFDs(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("close inherited fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		// The directory's own fd is gone by now: EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("close inherited fd %d: %w", fd, err)
		}
	}
	return nil
}
