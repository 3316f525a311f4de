package layer

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// helperArgs tell a helper process what to mount and where.
type helperArgs struct {
	Options string
	Target  string
}

// usernsSteps are the container's changes in the user-namespaced test: no
// device nodes, which a user namespace may not create.
func usernsSteps() []step {
	return []step{
		writeStep("etc/newfile", "new\n", 0o644),
		appendStep("etc/hosts", "10.0.0.1 db\n"),
		removeStep("del/file"),
		removeAllStep("deldir"),
		removeAllStep("repl"),
		mkdirStep("repl", 0o700),
		writeStep("repl/new", "replacement\n", 0o644),
		symlinkStep("newlink", "/etc/newfile"),
		linkStep("keep/file-link", "keep/file"),
		chmodStep("chm/file", 0o600),
		chownStep("owned", 1234, 5678),
	}
}

// runHelper runs inside a helper process TestMain started; it returns the
// exit code.
func runHelper(name, rawArgs string) int {
	var a helperArgs
	if err := json.Unmarshal([]byte(rawArgs), &a); err != nil {
		fmt.Fprintln(os.Stderr, "helper arguments:", err)
		return 2
	}
	switch name {
	case "userns-container":
		if err := unix.Mount("overlay", a.Target, "overlay", 0, a.Options); err != nil {
			fmt.Fprintf(os.Stderr, "mount overlay on %s with %s: %v\n", a.Target, a.Options, err)
			return 1
		}
		defer unix.Unmount(a.Target, 0)
		for i, s := range usernsSteps() {
			if err := s(a.Target); err != nil {
				fmt.Fprintf(os.Stderr, "step %d: %v\n", i, err)
				return 1
			}
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper", name)
	return 2
}

// runInUserns runs helper name in a new user and mount namespace whose
// root is host uid and gid hostID.
func runInUserns(t *testing.T, name string, hostID int, a helperArgs) {
	t.Helper()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(reachableTestBinary(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+name, envHelperArg+"="+string(raw))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		// Become the namespace's root: host root is not mapped in it, and
		// an unmapped uid loses every capability at execve.
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: hostID, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: hostID, Size: 65536}},
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper %s in a user namespace: %v\n%s", name, err, out)
	}
}

// reachableTestBinary copies the test binary where a user namespace's root
// (an unprivileged uid on the host) can execute it: go test builds it in a
// private directory.
func reachableTestBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "layer-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layer.test")
	if err := os.WriteFile(bin, readFile(t, os.Args[0]), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
