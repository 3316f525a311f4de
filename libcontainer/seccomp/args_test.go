//go:build linux && cgo

package seccomp

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Each operator, on mkdirat's mode (argument 2), must deny exactly the
// modes it matches. The child tries modes 600, 700 and 755.
func TestArgumentOperators(t *testing.T) {
	deny := unix.EXDEV
	tests := []struct {
		name   string
		args   []specs.LinuxSeccompArg
		denied map[uint]bool
	}{
		{"NE", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpNotEqual}}, map[uint]bool{0o600: true, 0o755: true}},
		{"LT", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpLessThan}}, map[uint]bool{0o600: true}},
		{"LE", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpLessEqual}}, map[uint]bool{0o600: true, 0o700: true}},
		{"EQ", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpEqualTo}}, map[uint]bool{0o700: true}},
		{"GE", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpGreaterEqual}}, map[uint]bool{0o700: true, 0o755: true}},
		{"GT", []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpGreaterThan}}, map[uint]bool{0o755: true}},
		// value is the mask, valueTwo the datum: "group or other may read".
		{"MASKED_EQ", []specs.LinuxSeccompArg{{Index: 2, Value: 0o044, ValueTwo: 0o044, Op: specs.OpMaskedEqual}}, map[uint]bool{0o755: true}},
		// Two conditions on one argument are ORed (runc's behaviour).
		{"same index ORed", []specs.LinuxSeccompArg{
			{Index: 2, Value: 0o600, Op: specs.OpEqualTo},
			{Index: 2, Value: 0o755, Op: specs.OpEqualTo},
		}, map[uint]bool{0o600: true, 0o755: true}},
		// Conditions on different arguments are ANDed: only mkdirat
		// relative to the cwd (AT_FDCWD) with mode 700 is denied.
		{"distinct indexes ANDed", []specs.LinuxSeccompArg{
			{Index: 0, Value: atFdcwd, Op: specs.OpEqualTo},
			{Index: 2, Value: 0o700, Op: specs.OpEqualTo},
		}, map[uint]bool{0o700: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := sharedDir(t)
			cfg := &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{
					{Names: mkdirNames, Action: specs.ActErrno, ErrnoRet: uintp(uint(deny)), Args: tt.args},
				},
			}
			var steps []string
			want := map[string]syscall.Errno{}
			for _, mode := range []uint{0o600, 0o700, 0o755} {
				name := fmt.Sprintf("m%o", mode)
				steps = append(steps, fmt.Sprintf("mkdir:%s:%o", name, mode))
				want[name] = 0
				if tt.denied[mode] {
					want[name] = deny
				}
			}
			if tt.name == "distinct indexes ANDed" {
				// Same mode through a real directory fd: argument 0 differs.
				steps = append(steps, "mkdirat:viafd:700")
				want["viafd"] = 0
			}
			wantErrnos(t, runChild(t, cfg, dir, false, steps...), want)
		})
	}
}

// atFdcwd is AT_FDCWD as the 64-bit register value seccomp compares.
var atFdcwd = func() uint64 { v := int64(unix.AT_FDCWD); return uint64(v) }()
