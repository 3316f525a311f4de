package libcontainer

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/rootfs"
)

// Whatever way the binary is sealed, it must not be writable through the
// handle's path (what /proc/<pid>/exe of a container process resolves to).
func TestSealedExecutableIsReadOnly(t *testing.T) {
	f, err := sealedExecutable()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := os.OpenFile(rootfs.FdPath(int(f.Fd())), os.O_WRONLY, 0)
	if err == nil {
		w.Close()
		t.Fatal("sealed executable opened for writing")
	}
	if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		t.Logf("refused with %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := memfdSealed(); err != nil {
			t.Fatalf("memfd fallback: %v", err)
		}
	}
}
