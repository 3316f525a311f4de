// Package capabilities parses OCI capability names and applies the five
// capability sets to the calling thread.
package capabilities

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// names lists every capability the kernel headers of this build know, by
// number. The kernel may know fewer (see Last).
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Parse returns the number of a capability name ("CAP_SYS_ADMIN"; the
// CAP_ prefix is required, as the runtime spec writes them).
func Parse(name string) (int, error) {
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q", name)
}

// Names returns every capability name known to skiff.
func Names() []string { return append([]string(nil), names...) }

// Last returns the highest capability number the running kernel knows.
func Last() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return len(names) - 1
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d", &n); err != nil {
		return len(names) - 1
	}
	return n
}

// set is a capability bit mask over 64 capabilities.
type set uint64

func toSet(list []string) (set, error) {
	var s set
	for _, n := range list {
		c, err := Parse(n)
		if err != nil {
			return 0, err
		}
		s |= 1 << uint(c)
	}
	return s, nil
}

// Sets is the parsed form of specs.LinuxCapabilities.
type Sets struct {
	Bounding, Effective, Inheritable, Permitted, Ambient set
}

// FromSpec parses the five sets. Capabilities the running kernel does not
// know are dropped, as runc does, so a config written for a newer kernel
// still runs.
func FromSpec(c *specs.LinuxCapabilities) (*Sets, error) {
	s := &Sets{}
	if c == nil {
		return s, nil
	}
	var err error
	mask := set(1)<<uint(Last()+1) - 1
	for _, p := range []struct {
		dst  *set
		list []string
		name string
	}{{&s.Bounding, c.Bounding, "bounding"}, {&s.Effective, c.Effective, "effective"}, {&s.Inheritable, c.Inheritable, "inheritable"}, {&s.Permitted, c.Permitted, "permitted"}, {&s.Ambient, c.Ambient, "ambient"}} {
		if *p.dst, err = toSet(p.list); err != nil {
			return nil, fmt.Errorf("process.capabilities.%s: %w", p.name, err)
		}
		*p.dst &= mask
	}
	return s, nil
}

// DropBounding removes from the calling thread's bounding set every
// capability not in s.Bounding. It needs CAP_SETPCAP, so it runs before the
// switch to the container user.
func (s *Sets) DropBounding() error {
	last := Last()
	for c := 0; c <= last; c++ {
		if s.Bounding&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL {
				continue // unknown to this kernel
			}
			return fmt.Errorf("drop %s from the bounding set: %w", names[c], err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets of the calling
// thread, then the ambient set.
func (s *Sets) Apply() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(s.Effective >> (32 * uint(i)))
		data[i].Permitted = uint32(s.Permitted >> (32 * uint(i)))
		data[i].Inheritable = uint32(s.Inheritable >> (32 * uint(i)))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c < 64; c++ {
		if s.Ambient&(1<<uint(c)) == 0 {
			continue
		}
		// The kernel refuses an ambient capability that is not also
		// permitted and inheritable; runc's default spec asks for such
		// ones, and runc goes on without them. So do we.
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil && err != unix.EPERM {
			return fmt.Errorf("raise ambient capability %s: %w", names[c], err)
		}
	}
	return nil
}

// RaiseEffective makes the calling thread's effective set equal to its
// permitted set.
func RaiseEffective() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("get capabilities: %w", err)
	}
	data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("raise effective capabilities: %w", err)
	}
	return nil
}
