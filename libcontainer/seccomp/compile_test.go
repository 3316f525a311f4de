//go:build linux && cgo

package seccomp

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func TestScmpAction(t *testing.T) {
	tests := []struct {
		name  specs.LinuxSeccompAction
		errno *uint
		want  libseccomp.ScmpAction
	}{
		{specs.ActKill, nil, libseccomp.ActKillThread},
		{specs.ActKillThread, nil, libseccomp.ActKillThread},
		{specs.ActKillProcess, nil, libseccomp.ActKillProcess},
		{specs.ActTrap, nil, libseccomp.ActTrap},
		{specs.ActErrno, nil, libseccomp.ActErrno.SetReturnCode(int16(unix.EPERM))},
		{specs.ActErrno, uintp(uint(unix.ENOSYS)), libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))},
		{specs.ActErrno, uintp(0), libseccomp.ActErrno.SetReturnCode(0)},
		{specs.ActTrace, nil, libseccomp.ActTrace.SetReturnCode(int16(unix.EPERM))},
		{specs.ActTrace, uintp(0xffff), libseccomp.ActTrace.SetReturnCode(-1)},
		{specs.ActAllow, nil, libseccomp.ActAllow},
		{specs.ActLog, nil, libseccomp.ActLog},
		{specs.ActNotify, nil, libseccomp.ActNotify},
	}
	for _, tt := range tests {
		if got := scmpAction(actions[tt.name], tt.errno); got != tt.want {
			t.Errorf("%s (errno %v): got %v, want %v", tt.name, tt.errno, got, tt.want)
		}
	}
	if got := scmpAction(0, nil); got != libseccomp.ActInvalid {
		t.Errorf("unknown action: got %v", got)
	}
}

func TestScmpOperator(t *testing.T) {
	want := map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
		specs.OpNotEqual:     libseccomp.CompareNotEqual,
		specs.OpLessThan:     libseccomp.CompareLess,
		specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
		specs.OpEqualTo:      libseccomp.CompareEqual,
		specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
		specs.OpGreaterThan:  libseccomp.CompareGreater,
		specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
	}
	for name, op := range want {
		if got := scmpOperator(operators[name]); got != op {
			t.Errorf("%s: got %v, want %v", name, got, op)
		}
	}
}

func TestConditionMaskedEqual(t *testing.T) {
	c, err := condition(specs.LinuxSeccompArg{Index: 2, Value: 0o002, ValueTwo: 0o002, Op: specs.OpMaskedEqual})
	if err != nil {
		t.Fatal(err)
	}
	if c.Argument != 2 || c.Operand1 != 0o002 || c.Operand2 != 0o002 {
		t.Fatalf("got %+v", c)
	}
}

func TestCompile(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "no_such_syscall_skiff"}, Action: specs.ActErrno},
			// Same action as the default: skipped, not an error.
			{Names: []string{"read"}, Action: specs.ActAllow},
			// Two conditions on one argument: ORed, not an error.
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 0, Value: 2, Op: specs.OpEqualTo},
			}},
			{Names: []string{"socketcall"}, Action: specs.ActKillProcess},
		},
	}
	prog, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 5 {
		t.Fatalf("suspiciously short program: %d instructions", len(prog))
	}
	if got := UnknownSyscalls(cfg); !slices.Equal(got, []string{"no_such_syscall_skiff"}) {
		t.Errorf("UnknownSyscalls: %v", got)
	}
}

// An arch the OCI spec lists but the linked libseccomp lacks fails at
// compile time with the field named.
func TestCompileUnsupportedArch(t *testing.T) {
	supported := SupportedArchs()
	if !slices.Contains(supported, string(specs.ArchX86_64)) {
		t.Fatalf("SupportedArchs lacks x86_64: %v", supported)
	}
	for _, a := range KnownArchs() {
		if slices.Contains(supported, a) {
			continue
		}
		_, err := compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.Arch(a)}})
		if err == nil || !strings.Contains(err.Error(), "linux.seccomp.architectures[0]: "+a) {
			t.Errorf("%s: got %v", a, err)
		}
		return
	}
	t.Skipf("libseccomp %s supports every known arch", LibseccompVersion())
}

func TestDecodeBPF(t *testing.T) {
	if _, err := decodeBPF(nil); err == nil {
		t.Error("empty export accepted")
	}
	if _, err := decodeBPF(make([]byte, 12)); err == nil {
		t.Error("partial instruction accepted")
	}
	// ret SECCOMP_RET_ALLOW
	raw := []byte{0x06, 0x00, 0, 0, 0, 0, 0xff, 0x7f}
	prog, err := decodeBPF(raw)
	if err != nil || len(prog) != 1 || prog[0].Code != 0x06 || prog[0].K != 0x7fff0000 {
		t.Fatalf("got %+v, %v", prog, err)
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if f.Enabled == nil || !*f.Enabled {
		t.Fatal("seccomp not enabled in a cgo build")
	}
	for _, want := range []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"} {
		if !slices.Contains(f.Actions, want) {
			t.Errorf("Actions lacks %s: %v", want, f.Actions)
		}
	}
	if len(f.Operators) != 7 || len(f.KnownFlags) != 4 {
		t.Errorf("operators %v, known flags %v", f.Operators, f.KnownFlags)
	}
	if !slices.Contains(f.SupportedFlags, string(FlagTsync)) {
		t.Errorf("SupportedFlags lacks TSYNC: %v", f.SupportedFlags)
	}
	t.Logf("libseccomp %s; actions %v; archs %v; flags %v", LibseccompVersion(), f.Actions, f.Archs, f.SupportedFlags)
}
