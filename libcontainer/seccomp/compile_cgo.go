//go:build linux && cgo

package seccomp

import (
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// compiledIn is true when this build can load filters.
const compiledIn = true

// optimizeAbove is the rule count from which libseccomp is asked for a
// binary-tree filter: long profiles (Docker's has ~400 names) then cost a
// few comparisons per syscall instead of a linear scan. Small filters stay
// linear, which also avoids libseccomp <= 2.5.4 misbehaving on a tree with
// no rules at all.
const optimizeAbove = 32

// compile builds the BPF program for a validated cfg.
func compile(cfg *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	defAct := scmpAction(actions[cfg.DefaultAction], cfg.DefaultErrnoRet)
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("seccomp: create filter: %w", err)
	}
	defer filter.Release()

	for i, a := range cfg.Architectures {
		arch, err := libseccomp.GetArchFromString(archs[a])
		if err == nil {
			err = filter.AddArch(arch)
		}
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s not supported by libseccomp %s: %w", i, a, LibseccompVersion(), err)
		}
	}
	if len(cfg.Syscalls) > optimizeAbove {
		// Only a speed-up; older libseccomp lacks it and that is fine.
		_ = filter.SetOptimize(2)
	}
	for i := range cfg.Syscalls {
		sc := &cfg.Syscalls[i]
		act := scmpAction(actions[sc.Action], sc.ErrnoRet)
		for j, name := range sc.Names {
			if err := addRule(filter, defAct, name, act, sc.Args); err != nil {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d].names[%d] (%s): %w", i, j, name, err)
			}
		}
	}
	return exportBPF(filter)
}

// addRule adds one syscall's rule. Names libseccomp does not know are
// skipped, as runc does: a profile written for a newer kernel still works
// on an older libseccomp, and the default action covers the missing call.
func addRule(filter *libseccomp.ScmpFilter, defAct libseccomp.ScmpAction, name string, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	if act == defAct {
		// libseccomp refuses a rule that repeats the default action, and
		// such a rule changes nothing.
		return nil
	}
	nr, err := libseccomp.GetSyscallFromName(name)
	if err != nil {
		return nil
	}
	if nr < 0 && !onAnyArch(filter, name) {
		// A pseudo-syscall number: the call exists on some architecture
		// but on none of the filter's (getegid32 on an x86_64-only
		// filter): there is nothing to filter. Asking libseccomp anyway
		// fails, and leaves 2.5.x unable to add the next rule.
		return nil
	}
	return addRuleNr(filter, nr, act, args)
}

// onAnyArch reports whether name is a real syscall on an architecture of
// the filter.
func onAnyArch(filter *libseccomp.ScmpFilter, name string) bool {
	archs := []libseccomp.ScmpArch{libseccomp.ArchX86, libseccomp.ArchAMD64, libseccomp.ArchX32,
		libseccomp.ArchARM, libseccomp.ArchARM64, libseccomp.ArchMIPS, libseccomp.ArchMIPS64,
		libseccomp.ArchMIPS64N32, libseccomp.ArchMIPSEL, libseccomp.ArchMIPSEL64, libseccomp.ArchMIPSEL64N32,
		libseccomp.ArchPPC, libseccomp.ArchPPC64, libseccomp.ArchPPC64LE, libseccomp.ArchS390,
		libseccomp.ArchS390X, libseccomp.ArchRISCV64}
	for _, a := range archs {
		if present, err := filter.IsArchPresent(a); err != nil || !present {
			continue
		}
		if nr, err := libseccomp.GetSyscallFromNameByArch(name, a); err == nil && nr >= 0 {
			return true
		}
	}
	return false
}

func addRuleNr(filter *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	if len(args) == 0 {
		if err := filter.AddRule(nr, act); err != nil {
			return fmt.Errorf("add rule: %w", err)
		}
		return nil
	}
	conds := make([]libseccomp.ScmpCondition, 0, len(args))
	var perIndex [maxArgs]int
	repeated := false
	for j, arg := range args {
		c, err := condition(arg)
		if err != nil {
			return fmt.Errorf("args[%d]: %w", j, err)
		}
		perIndex[arg.Index]++
		repeated = repeated || perIndex[arg.Index] > 1
		conds = append(conds, c)
	}
	if !repeated {
		// All conditions on distinct arguments: one rule, conditions ANDed.
		if err := filter.AddRuleConditional(nr, act, conds); err != nil {
			return fmt.Errorf("add rule with %d conditions: %w", len(conds), err)
		}
		return nil
	}
	// libseccomp cannot AND two conditions on the same argument. runc then
	// adds one rule per condition, so the conditions are ORed; profiles
	// written for runc (e.g. "personality is 0 or 8 or ...") rely on it.
	for j, c := range conds {
		if err := filter.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
			return fmt.Errorf("add rule for args[%d]: %w", j, err)
		}
	}
	return nil
}

func condition(arg specs.LinuxSeccompArg) (libseccomp.ScmpCondition, error) {
	op := scmpOperator(operators[arg.Op])
	if op == libseccomp.CompareMaskedEqual {
		// OCI "value" is the mask, "valueTwo" the datum: (arg & value) == valueTwo.
		return libseccomp.MakeCondition(arg.Index, op, arg.Value, arg.ValueTwo)
	}
	return libseccomp.MakeCondition(arg.Index, op, arg.Value)
}

// scmpAction translates a validated action. ERRNO and TRACE default to
// EPERM, as the runtime-spec says.
func scmpAction(a action, errnoRet *uint) libseccomp.ScmpAction {
	ret := int16(unix.EPERM)
	if errnoRet != nil {
		// Validate bounds it to 16 bits; SetReturnCode keeps the bit pattern.
		ret = int16(uint16(*errnoRet))
	}
	switch a {
	case actKillThread:
		return libseccomp.ActKillThread
	case actKillProcess:
		return libseccomp.ActKillProcess
	case actTrap:
		return libseccomp.ActTrap
	case actErrno:
		return libseccomp.ActErrno.SetReturnCode(ret)
	case actTrace:
		return libseccomp.ActTrace.SetReturnCode(ret)
	case actAllow:
		return libseccomp.ActAllow
	case actLog:
		return libseccomp.ActLog
	case actNotify:
		return libseccomp.ActNotify
	}
	return libseccomp.ActInvalid
}

func scmpOperator(o operator) libseccomp.ScmpCompareOp {
	switch o {
	case opNE:
		return libseccomp.CompareNotEqual
	case opLT:
		return libseccomp.CompareLess
	case opLE:
		return libseccomp.CompareLessOrEqual
	case opEQ:
		return libseccomp.CompareEqual
	case opGE:
		return libseccomp.CompareGreaterEqual
	case opGT:
		return libseccomp.CompareGreater
	case opMaskedEQ:
		return libseccomp.CompareMaskedEqual
	}
	return libseccomp.CompareInvalid
}

// exportBPF gets the program out of libseccomp. seccomp_export_bpf only
// writes to an fd (the in-memory variant needs libseccomp 2.6), and a
// memfd never blocks the way a pipe would on a big filter.
func exportBPF(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("skiff-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd for BPF export: %w", err)
	}
	f := os.NewFile(uintptr(fd), "skiff-seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("seccomp: export BPF: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seccomp: rewind BPF export: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("seccomp: read BPF export: %w", err)
	}
	return decodeBPF(raw)
}

// UnknownSyscalls lists the syscall names in cfg that the linked
// libseccomp does not know and that Load will therefore skip, so a caller
// can log them.
func UnknownSyscalls(cfg *specs.LinuxSeccomp) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, sc := range cfg.Syscalls {
		for _, name := range sc.Names {
			if _, err := libseccomp.GetSyscallFromName(name); err != nil {
				out = append(out, name)
			}
		}
	}
	return out
}

// SupportedArchs lists the architecture names the linked libseccomp can
// put in a filter.
func SupportedArchs() []string {
	filter, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return nil
	}
	defer filter.Release()
	var out []string
	for _, name := range KnownArchs() {
		arch, err := libseccomp.GetArchFromString(archs[specs.Arch(name)])
		if err == nil {
			err = filter.AddArch(arch)
		}
		if err == nil {
			out = append(out, name)
		}
	}
	return out
}

// LibseccompVersion is the version of the libseccomp linked in, e.g. "2.5.4".
func LibseccompVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
