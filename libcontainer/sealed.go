package libcontainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// sealedExecutable returns a read-only handle on the running binary that
// no process can turn into a writable one. The container's processes
// execute it, so /proc/<pid>/exe inside the container can never be opened
// for writing to change the host binary (CVE-2019-5736).
//
// First choice: the binary seen through a private, detached, read-only
// overlayfs mount (no upper layer: nothing can be written or copied up).
// It costs a few syscalls. Where overlay cannot be mounted (no privilege,
// no overlay module), a sealed memfd copy, which costs a copy of the
// binary on every container start.
func sealedExecutable() (*os.File, error) {
	exe, err := os.Executable()
	if err == nil {
		if f, err := overlaySealed(exe); err == nil {
			return f, nil
		}
	}
	return memfdSealed()
}

func overlaySealed(exe string) (*os.File, error) {
	// A read-only overlay needs two lower layers; an empty tmpfs is the
	// second.
	empty, err := detachedMount("tmpfs", map[string]string{"size": "4k", "mode": "0555"})
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	lower := filepath.Dir(exe) + ":/proc/self/fd/" + strconv.Itoa(empty)
	mnt, err := detachedMount("overlay", map[string]string{"lowerdir": lower})
	if err != nil {
		return nil, err
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, filepath.Base(exe), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "skiff-sealed"), nil
}

// detachedMount creates a read-only mount attached nowhere and returns its
// root fd; it lives as long as something holds it.
func detachedMount(fstype string, params map[string]string) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	for k, v := range params {
		if err := unix.FsconfigSetString(fs, k, v); err != nil {
			return -1, fmt.Errorf("%s %s=%s: %w", fstype, k, v, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
}

func memfdSealed() (*os.File, error) {
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
