package seccomp

import (
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// maxErrno is the kernel's MAX_ERRNO: a larger SCMP_ACT_ERRNO value is
	// silently clamped by the kernel, so refusing it is kinder.
	maxErrno = 4095
	// maxTraceMsg is the width of SECCOMP_RET_DATA, the value a tracer
	// gets with SCMP_ACT_TRACE.
	maxTraceMsg = 0xffff
	// maxArgs is how many arguments a syscall has on every architecture.
	maxArgs = 6
)

// notifyForbidden lists the syscalls that must not be sent to a seccomp
// agent: the init makes them after Load and before anyone holds the notify
// fd, so the process would wait forever for an answer. The init hands the
// fd over with write(2) (as runc does), hence write.
var notifyForbidden = map[string]bool{
	"write": true,
}

// Configured reports whether cfg asks for a filter at all. Like runc, a
// section with neither defaultAction nor syscalls means "no seccomp".
func Configured(cfg *specs.LinuxSeccomp) bool {
	return cfg != nil && (cfg.DefaultAction != "" || len(cfg.Syscalls) > 0)
}

// UsesNotify reports whether any rule of cfg has SCMP_ACT_NOTIFY, that is
// whether Load will return a notify fd that must go to cfg.ListenerPath.
func UsesNotify(cfg *specs.LinuxSeccomp) bool {
	if cfg == nil {
		return false
	}
	for _, sc := range cfg.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return cfg.DefaultAction == specs.ActNotify
}

// Validate checks cfg without touching the kernel or libseccomp, so it can
// run when the bundle is loaded. Every error names the offending field.
// Syscall names are not checked: names unknown to libseccomp are skipped
// at Load, as runc does, so one profile serves old and new kernels.
func Validate(cfg *specs.LinuxSeccomp) error {
	if !Configured(cfg) {
		return nil
	}
	const base = "linux.seccomp"
	if cfg.DefaultAction == "" {
		return fmt.Errorf("%s.defaultAction: required when syscalls are listed", base)
	}
	def, err := parseAction(base+".defaultAction", cfg.DefaultAction)
	if err != nil {
		return err
	}
	if def == actNotify {
		// Notifying every syscall would also trap the write that hands
		// the fd to the runtime: the init would hang.
		return fmt.Errorf("%s.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", base)
	}
	if err := checkErrnoRet(base+".defaultErrnoRet", def, cfg.DefaultErrnoRet); err != nil {
		return err
	}
	for i, a := range cfg.Architectures {
		if _, ok := archs[a]; !ok {
			return fmt.Errorf("%s.architectures[%d]: unknown architecture %q (known: %s)",
				base, i, a, strings.Join(KnownArchs(), ", "))
		}
	}
	for i, f := range cfg.Flags {
		if _, ok := flags[f]; !ok {
			return fmt.Errorf("%s.flags[%d]: unknown flag %q (known: %s)",
				base, i, f, strings.Join(KnownFlags(), ", "))
		}
	}
	if cfg.ListenerMetadata != "" && cfg.ListenerPath == "" {
		return fmt.Errorf("%s.listenerMetadata: set without listenerPath", base)
	}
	for i := range cfg.Syscalls {
		field := fmt.Sprintf("%s.syscalls[%d]", base, i)
		if err := validateSyscall(field, &cfg.Syscalls[i], cfg.ListenerPath); err != nil {
			return err
		}
	}
	return nil
}

func validateSyscall(field string, sc *specs.LinuxSyscall, listenerPath string) error {
	if len(sc.Names) == 0 {
		return fmt.Errorf("%s.names: must list at least one syscall", field)
	}
	act, err := parseAction(field+".action", sc.Action)
	if err != nil {
		return err
	}
	if err := checkErrnoRet(field+".errnoRet", act, sc.ErrnoRet); err != nil {
		return err
	}
	for j, name := range sc.Names {
		if name == "" {
			return fmt.Errorf("%s.names[%d]: empty syscall name", field, j)
		}
		if act == actNotify && notifyForbidden[name] {
			return fmt.Errorf("%s.names[%d]: SCMP_ACT_NOTIFY cannot be used for %q: the runtime needs it to hand the notify fd over", field, j, name)
		}
	}
	if act == actNotify && listenerPath == "" {
		return fmt.Errorf("%s.action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath", field)
	}
	for j, arg := range sc.Args {
		af := fmt.Sprintf("%s.args[%d]", field, j)
		if arg.Index >= maxArgs {
			return fmt.Errorf("%s.index: %d is out of range (syscalls have %d arguments, 0 to %d)", af, arg.Index, maxArgs, maxArgs-1)
		}
		if _, ok := operators[arg.Op]; !ok {
			return fmt.Errorf("%s.op: unknown operator %q (known: %s)", af, arg.Op, strings.Join(KnownOperators(), ", "))
		}
	}
	return nil
}

func parseAction(field string, name specs.LinuxSeccompAction) (action, error) {
	act, ok := actions[name]
	if !ok {
		return 0, fmt.Errorf("%s: unknown action %q (known: %s)", field, name, strings.Join(KnownActions(), ", "))
	}
	return act, nil
}

// checkErrnoRet enforces the runtime-spec rule that errnoRet is an error
// with any action that carries no errno.
func checkErrnoRet(field string, act action, v *uint) error {
	if v == nil {
		return nil
	}
	switch act {
	case actErrno:
		if *v > maxErrno {
			return fmt.Errorf("%s: %d is not an errno (at most %d)", field, *v, maxErrno)
		}
	case actTrace:
		if *v > maxTraceMsg {
			return fmt.Errorf("%s: %d does not fit the 16 bits SCMP_ACT_TRACE passes to the tracer", field, *v)
		}
	default:
		return fmt.Errorf("%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno", field)
	}
	return nil
}
