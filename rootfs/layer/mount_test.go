package layer

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// mountLayer mounts l over lowers on target for the rest of the test.
func mountLayer(t *testing.T, l *Layer, target string, lowers []string) {
	t.Helper()
	if err := l.Mount(target, lowers, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmount(t, target) })
}

// unmount unmounts target; one already unmounted or removed is fine.
func unmount(t *testing.T, target string) {
	t.Helper()
	err := unix.Unmount(target, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		t.Errorf("unmount %s: %v", target, err)
	}
}
