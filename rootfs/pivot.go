package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PivotRoot makes rootfs the process's root and detaches the old root, so
// no host path stays reachable. With noPivot it moves the mount over / and
// chroots instead (for a ramdisk root, where pivot_root is refused).
func PivotRoot(rootfs string, noPivot bool) error {
	if noPivot {
		return moveRoot(rootfs)
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open new root %q: %w", rootfs, err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	// Stacking the old root under the new one ("." on ".") avoids needing a
	// directory for it inside the image.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Keep the unmount from propagating back to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root a slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

func moveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %q: %w", rootfs, err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// SetPropagation applies rootfsPropagation to the new root after the pivot.
func SetPropagation(p string) error {
	if p == "" {
		return nil
	}
	if err := unix.Mount("", "/", "", propagationOptions[p], ""); err != nil {
		return fmt.Errorf("set rootfs propagation %q: %w", p, err)
	}
	return nil
}

// Chroot enters rootfs without moving any mount: for a container in the
// host's mount namespace, where pivot_root or a move of / would change the
// host itself.
func Chroot(rootfs string) error {
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %q: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// UnmountUnder detaches every mount at or below dir (deepest first): the
// cleanup of a container that mounted in the host's mount namespace.
func UnmountUnder(dir string) error {
	mps, err := mountPointsUnder(dir)
	if err != nil {
		return err
	}
	var first error
	for i := len(mps) - 1; i >= 0; i-- {
		if err := unix.Unmount(mps[i], unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT && first == nil {
			first = fmt.Errorf("unmount %q: %w", mps[i], err)
		}
	}
	return first
}
