package layer

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Root tests mount overlays. TestMain re-runs the test binary in a new,
// private mount namespace, so that even a crashed test leaks no mount to
// the host; the tests still unmount everything they mount. The variable
// below marks the re-run (and the helper processes some tests start).
const (
	envInMountNS = "SKIFF_LAYER_TEST_IN_MOUNTNS"
	envHelper    = "SKIFF_LAYER_TEST_HELPER"
	envHelperArg = "SKIFF_LAYER_TEST_HELPER_ARGS"
)

func TestMain(m *testing.M) {
	if h := os.Getenv(envHelper); h != "" {
		os.Exit(runHelper(h, os.Getenv(envHelperArg)))
	}
	if os.Geteuid() == 0 && os.Getenv(envInMountNS) == "" {
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), envInMountNS+"=1")
		// Go makes "/" recursively private in the child when it unshares
		// the mount namespace.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "re-run tests in a private mount namespace:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireRoot skips a test that needs root, saying so.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts overlays, creates device nodes and sets trusted.* xattrs")
	}
	if os.Getenv(envInMountNS) == "" {
		t.Skip("root tests run only in the private mount namespace TestMain sets up")
	}
}
