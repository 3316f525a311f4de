//go:build linux && !cgo

package seccomp

import (
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// compiledIn is false: libseccomp needs cgo, so this build cannot compile
// filters (Validate and the Known* lists still work).
const compiledIn = false

func compile(*specs.LinuxSeccomp) ([]unix.SockFilter, error) { return nil, ErrNotCompiled }

// UnknownSyscalls cannot tell without libseccomp.
func UnknownSyscalls(*specs.LinuxSeccomp) []string { return nil }

// SupportedArchs is empty without libseccomp.
func SupportedArchs() []string { return nil }

// LibseccompVersion is empty without libseccomp.
func LibseccompVersion() string { return "" }
