package seccomp

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

func TestValidate(t *testing.T) {
	ok := func(mut func(*specs.LinuxSeccomp)) *specs.LinuxSeccomp {
		c := &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
			Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, FlagTsync},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"read", "no_such_syscall"}, Action: specs.ActAllow},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
					{Index: 0, Value: 0, Op: specs.OpEqualTo},
					{Index: 0, Value: 8, Op: specs.OpEqualTo},
				}},
				{Names: []string{"clone"}, Action: specs.ActErrno, ErrnoRet: uintp(38), Args: []specs.LinuxSeccompArg{
					{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual},
				}},
			},
		}
		if mut != nil {
			mut(c)
		}
		return c
	}
	tests := []struct {
		name string
		cfg  *specs.LinuxSeccomp
		want string // "" means valid
	}{
		{"nil", nil, ""},
		{"empty means disabled", &specs.LinuxSeccomp{}, ""},
		{"good", ok(nil), ""},
		{"every action", ok(func(c *specs.LinuxSeccomp) {
			c.ListenerPath = "/run/agent.sock"
			for _, a := range KnownActions() {
				c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.LinuxSeccompAction(a)})
			}
		}), ""},
		{"every operator", ok(func(c *specs.LinuxSeccomp) {
			for i, o := range KnownOperators() {
				c.Syscalls[0].Args = append(c.Syscalls[0].Args, specs.LinuxSeccompArg{Index: uint(i % maxArgs), Op: specs.LinuxSeccompOperator(o)})
			}
		}), ""},
		{"errno 0 means fake success", ok(func(c *specs.LinuxSeccomp) { c.DefaultErrnoRet = uintp(0) }), ""},
		{"trace with errnoRet", ok(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Action = specs.ActTrace
			c.Syscalls[0].ErrnoRet = uintp(0xffff)
		}), ""},
		{"missing default", ok(func(c *specs.LinuxSeccomp) { c.DefaultAction = "" }), "linux.seccomp.defaultAction: required"},
		{"unknown default", ok(func(c *specs.LinuxSeccomp) { c.DefaultAction = "SCMP_ACT_NOPE" }), `linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{"notify default", ok(func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActNotify
			c.ListenerPath = "/x"
		}), "SCMP_ACT_NOTIFY cannot be the default action"},
		{"defaultErrnoRet with allow", ok(func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActAllow
			c.DefaultErrnoRet = uintp(1)
		}), "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE"},
		{"errno too big", ok(func(c *specs.LinuxSeccomp) { c.DefaultErrnoRet = uintp(4096) }), "linux.seccomp.defaultErrnoRet: 4096 is not an errno"},
		{"trace msg too big", ok(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Action = specs.ActTrace
			c.Syscalls[0].ErrnoRet = uintp(0x10000)
		}), "linux.seccomp.syscalls[0].errnoRet: 65536 does not fit"},
		{"errnoRet with kill", ok(func(c *specs.LinuxSeccomp) {
			c.Syscalls[1].Action = specs.ActKill
			c.Syscalls[1].ErrnoRet = uintp(1)
		}), "linux.seccomp.syscalls[1].errnoRet: only SCMP_ACT_ERRNO"},
		{"unknown arch", ok(func(c *specs.LinuxSeccomp) { c.Architectures = append(c.Architectures, "SCMP_ARCH_Z80") }), `linux.seccomp.architectures[2]: unknown architecture "SCMP_ARCH_Z80"`},
		{"lower-case arch", ok(func(c *specs.LinuxSeccomp) { c.Architectures = []specs.Arch{"amd64"} }), `linux.seccomp.architectures[0]: unknown architecture "amd64"`},
		{"unknown flag", ok(func(c *specs.LinuxSeccomp) { c.Flags = append(c.Flags, "SECCOMP_FILTER_FLAG_NEW_LISTENER") }), `linux.seccomp.flags[2]: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"`},
		{"metadata without path", ok(func(c *specs.LinuxSeccomp) { c.ListenerMetadata = "m" }), "linux.seccomp.listenerMetadata: set without listenerPath"},
		{"no names", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[1].Names = nil }), "linux.seccomp.syscalls[1].names: must list at least one syscall"},
		{"empty name", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names[1] = "" }), "linux.seccomp.syscalls[0].names[1]: empty syscall name"},
		{"unknown rule action", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[2].Action = "ALLOW" }), `linux.seccomp.syscalls[2].action: unknown action "ALLOW"`},
		{"notify without listener", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = specs.ActNotify }), "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"},
		{"notify on write", ok(func(c *specs.LinuxSeccomp) {
			c.ListenerPath = "/x"
			c.Syscalls[0].Action = specs.ActNotify
			c.Syscalls[0].Names = []string{"mkdir", "write"}
		}), `linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for "write"`},
		{"arg index", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[2].Args[0].Index = 6 }), "linux.seccomp.syscalls[2].args[0].index: 6 is out of range"},
		{"unknown operator", ok(func(c *specs.LinuxSeccomp) { c.Syscalls[1].Args[1].Op = "SCMP_CMP_XOR" }), `linux.seccomp.syscalls[1].args[1].op: unknown operator "SCMP_CMP_XOR"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("want error containing %q, got nil", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("want error containing %q, got %q", tt.want, err)
			}
		})
	}
}

func TestUsesNotify(t *testing.T) {
	if UsesNotify(nil) || UsesNotify(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}) {
		t.Fatal("no notify rule, UsesNotify said yes")
	}
	c := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
	if !UsesNotify(c) {
		t.Fatal("notify rule, UsesNotify said no")
	}
}
