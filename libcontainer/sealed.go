package libcontainer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedExecutable returns a copy of the running binary in a sealed memfd.
// The container's processes execute this copy, so /proc/<pid>/exe inside
// the container can never be opened for writing to change the host binary
// (CVE-2019-5736).
func sealedExecutable() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own executable: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("skiff", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "skiff-sealed")
	st, err := src.Stat()
	if err != nil {
		mem.Close()
		return nil, err
	}
	if _, err := io.CopyN(mem, src, st.Size()); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal executable copy: %w", err)
	}
	return mem, nil
}
