//go:build linux && cgo

package seccomp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// A Docker-sized deny-by-default profile over three x86 ABIs: it takes
// libseccomp's binary-tree layout (more than optimizeAbove rules), must
// stay within the kernel's instruction limit, and must let a dynamically
// linked program run while still refusing what it leaves out.
func TestLargeProfile(t *testing.T) {
	var names []string
	for nr := range 600 {
		name, err := libseccomp.ScmpSyscall(nr).GetName()
		if err != nil || name == "mkdir" || name == "mkdirat" {
			continue
		}
		names = append(names, name)
	}
	if len(names) < 300 {
		t.Fatalf("only %d syscall names from libseccomp", len(names))
	}
	var rules []specs.LinuxSyscall
	for chunk := range slices.Chunk(names, 8) {
		rules = append(rules, specs.LinuxSyscall{Names: chunk, Action: specs.ActAllow})
	}
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      rules,
	}
	prog, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) > bpfMaxInsns {
		t.Fatalf("%d instructions", len(prog))
	}
	dir := sharedDir(t)
	res := runChild(t, cfg, dir, false, "exec:/bin/mkdir:"+filepath.Join(dir, "new"))
	// mkdir(1) runs (the loader and libc get what they need) and
	// reports the EPERM it got as exit status 1.
	if res.state.ExitCode() != 1 {
		t.Fatalf("mkdir(1) under the profile: %v; stderr: %s", res.state, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Error("mkdir succeeded under a profile without mkdir")
	}
	t.Logf("%d names in %d rules: %d BPF instructions", len(names), len(rules), len(prog))
}
