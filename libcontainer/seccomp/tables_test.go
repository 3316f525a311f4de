package seccomp

import (
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The runtime-spec lists (v1.3.0, libseccomp 2.6) must all be known.
func TestKnownListsCoverRuntimeSpec(t *testing.T) {
	wantActions := []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}
	for _, a := range wantActions {
		if !slices.Contains(KnownActions(), string(a)) {
			t.Errorf("action %s not known", a)
		}
	}
	wantOps := []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
	if got := KnownOperators(); len(got) != len(wantOps) {
		t.Errorf("operators: got %v", got)
	}
	for _, o := range wantOps {
		if !slices.Contains(KnownOperators(), string(o)) {
			t.Errorf("operator %s not known", o)
		}
	}
	wantArchs := []specs.Arch{specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32,
		specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
		specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB}
	if got := KnownArchs(); len(got) != len(wantArchs) {
		t.Errorf("archs: got %d, want %d", len(got), len(wantArchs))
	}
	for _, a := range wantArchs {
		if !slices.Contains(KnownArchs(), string(a)) {
			t.Errorf("arch %s not known", a)
		}
	}
	wantFlags := []specs.LinuxSeccompFlag{FlagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagWaitKillableRecv}
	if got := KnownFlags(); len(got) != len(wantFlags) {
		t.Errorf("flags: got %v", got)
	}
	for _, f := range wantFlags {
		if !slices.Contains(KnownFlags(), string(f)) {
			t.Errorf("flag %s not known", f)
		}
	}
}

// Every action has a kernel return value to probe, and KILL is the
// thread kill, as in libseccomp and runc.
func TestActionTable(t *testing.T) {
	for name, act := range actions {
		if _, ok := kernelAction[act]; !ok {
			t.Errorf("%s has no kernel action value", name)
		}
	}
	if actions[specs.ActKill] != actKillThread {
		t.Error("SCMP_ACT_KILL must kill the thread")
	}
}

func TestFlagBits(t *testing.T) {
	want := map[specs.LinuxSeccompFlag]uint{FlagTsync: 1, specs.LinuxSeccompFlagLog: 2, specs.LinuxSeccompFlagSpecAllow: 4, specs.LinuxSeccompFlagWaitKillableRecv: 32}
	for f, bit := range want {
		if flags[f] != bit {
			t.Errorf("%s: bit %#x, want %#x", f, flags[f], bit)
		}
	}
}
