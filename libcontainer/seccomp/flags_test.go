//go:build linux

package seccomp

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestLoadFlags(t *testing.T) {
	tsync, log, spec, wait := flags[FlagTsync], flags[specs.LinuxSeccompFlagLog], flags[specs.LinuxSeccompFlagSpecAllow], flags[specs.LinuxSeccompFlagWaitKillableRecv]
	listener := flagNewListener | flagTsyncESRCH
	notifyRule := []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}
	specAllowDefault := uint(0)
	if flagAvailable(spec) {
		specAllowDefault = spec
	}
	tests := []struct {
		name string
		cfg  specs.LinuxSeccomp
		want uint
	}{
		{"absent flags: SPEC_ALLOW like runc", specs.LinuxSeccomp{}, tsync | specAllowDefault},
		{"empty flags: none", specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{}}, tsync},
		{"log and spec", specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, FlagTsync}}, tsync | log | spec},
		{"wait killable without notify is dropped", specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}}, tsync},
		{"notify adds the listener", specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{}, Syscalls: notifyRule}, tsync | listener},
		{"notify with wait killable", specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, Syscalls: notifyRule}, tsync | listener | wait},
	}
	for _, tt := range tests {
		got, err := loadFlags(&tt.cfg)
		if err != nil {
			if strings.Contains(err.Error(), "not supported by this kernel") || strings.Contains(err.Error(), "needs Linux") {
				t.Logf("%s: %v (old kernel)", tt.name, err)
				continue
			}
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: flags %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// The probe itself must tell a known flag from an unknown bit.
func TestFlagAvailableProbe(t *testing.T) {
	if !flagAvailable(flags[FlagTsync]) {
		t.Fatal("TSYNC (Linux 3.17) reported missing")
	}
	if flagAvailable(1 << 30) {
		t.Fatal("an undefined flag bit reported available")
	}
}
