package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNotCompiled is returned by Load when skiff was built without cgo and
// therefore without libseccomp.
var ErrNotCompiled = errors.New("seccomp: this skiff was built without cgo, so without libseccomp")

// bpfMaxInsns is the kernel's BPF_MAXINSNS for a seccomp program.
const bpfMaxInsns = 4096

// Load compiles cfg and installs it on every thread of the calling process
// (SECCOMP_FILTER_FLAG_TSYNC): a Go process has several threads, and one
// left unfiltered could run container-influenced code before execve. It
// returns the notify fd (close-on-exec, owned by the caller) when a rule
// uses SCMP_ACT_NOTIFY, -1 otherwise; a nil or empty cfg installs nothing.
// See the package documentation for the thread, no_new_privs and ordering
// rules the caller must follow.
func Load(cfg *specs.LinuxSeccomp) (int, error) {
	f, err := Compile(cfg)
	if err != nil {
		return -1, err
	}
	return f.Load()
}

// Filter is a compiled filter, ready to install.
type Filter struct {
	bits uint
	prog []unix.SockFilter
}

// Compile validates and compiles cfg without installing anything (nil for
// a nil or empty cfg). The container init compiles before the container's
// rlimits apply: libseccomp allocates, and an RLIMIT_AS meant for the
// container's process would starve it.
func Compile(cfg *specs.LinuxSeccomp) (*Filter, error) {
	return CompileCached(cfg, "")
}

// Load installs the filter (see the package Load); a nil Filter installs
// nothing and returns -1.
func (f *Filter) Load() (int, error) {
	if f == nil {
		return -1, nil
	}
	return setFilter(f.bits, f.prog)
}

// loadFlags works out the seccomp(2) flags for cfg, refusing flags the
// running kernel does not have with the flag's name rather than the
// kernel's bare EINVAL.
func loadFlags(cfg *specs.LinuxSeccomp) (uint, error) {
	bits := flags[FlagTsync]
	notify := UsesNotify(cfg)
	if notify {
		// TSYNC with NEW_LISTENER is only allowed with TSYNC_ESRCH (the
		// return value can't be both a thread id and an fd).
		bits |= flagNewListener | flagTsyncESRCH
		if !flagAvailable(bits) {
			return 0, errors.New("linux.seccomp: SCMP_ACT_NOTIFY needs Linux 5.7 or later (seccomp user notification with TSYNC_ESRCH)")
		}
	}
	if cfg.Flags == nil {
		// No flags at all (not even an empty list): like runc, turn the
		// Speculative Store Bypass mitigation that seccomp would otherwise
		// force on back off, when the kernel lets us.
		if flagAvailable(flags[specs.LinuxSeccompFlagSpecAllow]) {
			bits |= flags[specs.LinuxSeccompFlagSpecAllow]
		}
		return bits, nil
	}
	for i, f := range cfg.Flags {
		bit := flags[f]
		if f == specs.LinuxSeccompFlagWaitKillableRecv {
			// The kernel accepts it only together with NEW_LISTENER; with
			// no notify rule there is no agent to wait for, so it is moot.
			if !notify {
				continue
			}
		}
		if !flagAvailable(bits | bit) {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: %s is not supported by this kernel", i, f)
		}
		bits |= bit
	}
	return bits, nil
}

// flagAvailable asks the kernel whether it accepts a flag combination:
// seccomp(2) checks the flags before reading the program, so a NULL
// program gives EFAULT for known flags and EINVAL for unknown ones. Nothing
// is installed either way.
func flagAvailable(bits uint) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(bits), 0)
	return errno == unix.EFAULT
}

// actionAvailable asks the kernel whether it implements a SECCOMP_RET_* action.
func actionAvailable(ret uint32) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&ret)))
	return errno == 0
}

func setFilter(bits uint, prog []unix.SockFilter) (int, error) {
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		return -1, fmt.Errorf("seccomp: filter has %d BPF instructions, the kernel takes 1 to %d", len(prog), bpfMaxInsns)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(bits), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(&fprog)
	switch {
	case errno == unix.EACCES:
		return -1, errors.New("seccomp: load filter: needs no_new_privs set on this thread, or CAP_SYS_ADMIN")
	case errno == unix.ESRCH:
		return -1, errors.New("seccomp: load filter: another thread of this process has a different seccomp filter")
	case errno != 0:
		return -1, fmt.Errorf("seccomp: load filter (flags %#x): %w", bits, errno)
	}
	if bits&flagNewListener != 0 {
		return int(r), nil
	}
	if r != 0 {
		// Plain TSYNC reports the thread it could not synchronise.
		return -1, fmt.Errorf("seccomp: load filter: thread %d of this process has a different seccomp filter", r)
	}
	return -1, nil
}

// Flags are the seccomp(2) flags the filter is loaded with.
func (f *Filter) Flags() uint { return f.bits }

// Program is the filter's BPF program.
func (f *Filter) Program() []unix.SockFilter { return f.prog }

// ProgramBytes is the program as the kernel reads it: struct sock_filter
// records (u16 code, u8 jt, u8 jf, u32 k) in host byte order.
func (f *Filter) ProgramBytes() []byte { return encodeBPF(f.prog) }
