package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// appArmorEnabled: the kernel has AppArmor and it is switched on.
func appArmorEnabled() bool {
	if _, err := os.Stat("/sys/kernel/security/apparmor"); err != nil {
		return false
	}
	buf, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && bytes.HasPrefix(buf, []byte("Y"))
}

// selinuxEnabled: selinuxfs is mounted, as the SELinux userland checks.
func selinuxEnabled() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/selinux", &st) == nil && st.Type == unix.SELINUX_MAGIC
}

// checkLSM refuses labels the host cannot apply, as current runc does:
// an AppArmor profile or SELinux process label on a host without that
// LSM is an error. (A mount label is dropped there, also as runc does.)
func checkLSM(p *specs.Process) error {
	if p.ApparmorProfile != "" && !appArmorEnabled() {
		return fmt.Errorf("process.apparmorProfile: %q is set but AppArmor is not enabled on this host", p.ApparmorProfile)
	}
	if p.SelinuxLabel != "" && !selinuxEnabled() {
		return fmt.Errorf("process.selinuxLabel: %q is set but SELinux is disabled or not supported on this host", p.SelinuxLabel)
	}
	return nil
}

// applyLSMLabels asks the kernel to switch the process's AppArmor profile
// or SELinux label at its next execve. The write goes through a handle
// verified to be procfs, so a container cannot redirect it to another
// file (CVE-2025-52881).
func applyLSMLabels(p *specs.Process) error {
	if p.ApparmorProfile != "" {
		if err := writeProcAttr("apparmor/exec", "exec "+p.ApparmorProfile); err != nil {
			if err2 := writeProcAttr("exec", "exec "+p.ApparmorProfile); err2 != nil {
				return fmt.Errorf("process.apparmorProfile: apply %q: %w", p.ApparmorProfile, err)
			}
		}
	}
	if p.SelinuxLabel != "" {
		if err := writeProcAttr("exec", p.SelinuxLabel); err != nil {
			return fmt.Errorf("process.selinuxLabel: apply %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

func writeProcAttr(attr, value string) error {
	f, err := os.OpenFile("/proc/thread-self/attr/"+attr, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return errors.New("/proc/thread-self/attr is not on procfs: refusing to write a label there")
	}
	_, err = f.WriteString(value)
	return err
}

// effectiveMountLabel is linux.mountLabel where the host has SELinux,
// and nothing where it does not (runc drops it there too).
func effectiveMountLabel(spec *specs.Spec) string {
	if spec.Linux.MountLabel == "" || !selinuxEnabled() {
		return ""
	}
	return spec.Linux.MountLabel
}
