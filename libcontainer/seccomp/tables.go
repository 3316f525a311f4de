package seccomp

import (
	"maps"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// action is skiff's own name for an OCI seccomp action, kept free of cgo
// so that Validate and the feature lists work in any build.
type action int

const (
	actKillThread action = iota + 1
	actKillProcess
	actTrap
	actErrno
	actTrace
	actAllow
	actLog
	actNotify
)

// actions maps the OCI names. SCMP_ACT_KILL means "kill the thread", as in
// libseccomp's own header and in runc.
var actions = map[specs.LinuxSeccompAction]action{
	specs.ActKill:        actKillThread,
	specs.ActKillThread:  actKillThread,
	specs.ActKillProcess: actKillProcess,
	specs.ActTrap:        actTrap,
	specs.ActErrno:       actErrno,
	specs.ActTrace:       actTrace,
	specs.ActAllow:       actAllow,
	specs.ActLog:         actLog,
	specs.ActNotify:      actNotify,
}

// kernelAction is the SECCOMP_RET_* value without data, used to ask the
// kernel (SECCOMP_GET_ACTION_AVAIL) whether it implements an action.
var kernelAction = map[action]uint32{
	actKillThread:  0x00000000,
	actKillProcess: 0x80000000,
	actTrap:        0x00030000,
	actErrno:       0x00050000,
	actNotify:      0x7fc00000,
	actTrace:       0x7ff00000,
	actLog:         0x7ffc0000,
	actAllow:       0x7fff0000,
}

// operator is skiff's own name for an OCI argument comparison.
type operator int

const (
	opNE operator = iota + 1
	opLT
	opLE
	opEQ
	opGE
	opGT
	opMaskedEQ
)

var operators = map[specs.LinuxSeccompOperator]operator{
	specs.OpNotEqual:     opNE,
	specs.OpLessThan:     opLT,
	specs.OpLessEqual:    opLE,
	specs.OpEqualTo:      opEQ,
	specs.OpGreaterEqual: opGE,
	specs.OpGreaterThan:  opGT,
	specs.OpMaskedEqual:  opMaskedEQ,
}

// archs maps the OCI architecture names to the names libseccomp-golang's
// GetArchFromString understands. The OCI list is the one of libseccomp
// 2.6; whether the linked libseccomp knows an arch is checked at Load.
var archs = map[specs.Arch]string{
	specs.ArchX86:         "x86",
	specs.ArchX86_64:      "amd64",
	specs.ArchX32:         "x32",
	specs.ArchARM:         "arm",
	specs.ArchAARCH64:     "arm64",
	specs.ArchMIPS:        "mips",
	specs.ArchMIPS64:      "mips64",
	specs.ArchMIPS64N32:   "mips64n32",
	specs.ArchMIPSEL:      "mipsel",
	specs.ArchMIPSEL64:    "mipsel64",
	specs.ArchMIPSEL64N32: "mipsel64n32",
	specs.ArchPPC:         "ppc",
	specs.ArchPPC64:       "ppc64",
	specs.ArchPPC64LE:     "ppc64le",
	specs.ArchS390:        "s390",
	specs.ArchS390X:       "s390x",
	specs.ArchPARISC:      "parisc",
	specs.ArchPARISC64:    "parisc64",
	specs.ArchRISCV64:     "riscv64",
	specs.ArchLOONGARCH64: "loong64",
	specs.ArchM68K:        "m68k",
	specs.ArchSH:          "sh",
	specs.ArchSHEB:        "sheb",
}

// FlagTsync is listed by the runtime-spec but has no specs-go constant.
// skiff always synchronises the filter over all threads, so asking for it
// changes nothing.
const FlagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// flags maps the OCI filter flags to their seccomp(2) bits.
var flags = map[specs.LinuxSeccompFlag]uint{
	FlagTsync:                              0x1,
	specs.LinuxSeccompFlagLog:              0x2,
	specs.LinuxSeccompFlagSpecAllow:        0x4,
	specs.LinuxSeccompFlagWaitKillableRecv: 0x20,
}

// Filter flag bits skiff sets on its own, never named in a config.
const (
	flagNewListener uint = 0x8
	flagTsyncESRCH  uint = 0x10
)

// KnownActions lists every action name this package accepts.
func KnownActions() []string { return sortedNames(actions) }

// KnownOperators lists every argument operator this package accepts.
func KnownOperators() []string { return sortedNames(operators) }

// KnownArchs lists every architecture name this package accepts; the
// linked libseccomp may support fewer (see SupportedArchs).
func KnownArchs() []string { return sortedNames(archs) }

// KnownFlags lists every filter flag name this package accepts; the
// running kernel may support fewer (see SupportedFlags).
func KnownFlags() []string { return sortedNames(flags) }

func sortedNames[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, string(k))
	}
	return out
}
