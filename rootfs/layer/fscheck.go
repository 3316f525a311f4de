package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// fsTypes names the filesystems an error message may need to mention.
var fsTypes = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.RAMFS_MAGIC:           "ramfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlayfs",
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.CIFS_SUPER_MAGIC:      "cifs",
	unix.SMB2_SUPER_MAGIC:      "smb2",
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.V9FS_MAGIC:            "9p",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
	unix.SQUASHFS_MAGIC:        "squashfs",
}

// unsupportedUpper says why overlay refuses a filesystem as upper layer,
// for the ones known to fail; "" means try it.
func unsupportedUpper(fsType int64) string {
	switch fsType {
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs cannot be the upper layer of another overlay (is the data root inside a container?); put the data root on a disk filesystem such as ext4 or xfs"
	case unix.NFS_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC:
		return "overlay does not accept network filesystems as upper layer; put the data root on a local filesystem"
	case unix.RAMFS_MAGIC:
		return "ramfs has no extended attributes, which overlay needs to record deletions; use tmpfs or a disk filesystem"
	case unix.SQUASHFS_MAGIC:
		return "squashfs is read-only"
	}
	return ""
}

func fsTypeName(t int64) string {
	if n, ok := fsTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("filesystem type %#x", t)
}

// checkUpperFS fails with one clear sentence when the filesystem holding
// dir cannot hold overlay upper and work directories. It rejects the
// filesystems known not to work, checks that the xattrs overlay writes can
// be set (trusted.* for a mount by the host's root, user.* for a
// user-namespaced one), and, when it may mount, mounts a trial overlay
// with the real options in a throwaway mount namespace, which is the only
// test that covers everything overlay checks (d_type, whiteouts,
// RENAME_WHITEOUT, O_TMPFILE...).
//
// A filesystem that passed is remembered in the data root (checkedName),
// by its identity: the probes make and remove a dozen inodes and mount an
// overlay, 3 ms of every create with a layer on this host's ext4 (most of
// it waiting for discards; issue 8).
func checkUpperFS(root, dir string, userns bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("inspect filesystem of %q: %w", dir, err)
	}
	fsType := int64(st.Type)
	name := fsTypeName(fsType)
	if why := unsupportedUpper(fsType); why != "" {
		return fmt.Errorf("%q is on %s, which cannot hold a writable layer: %s", dir, name, why)
	}
	id, err := fsIdentity(dir, &st)
	if err != nil {
		return err
	}
	marker := filepath.Join(root, checkedName)
	if checkedBefore(marker, id, userns) {
		return nil
	}
	if err := probeXattrs(dir, userns); err != nil {
		return fmt.Errorf("%q is on %s, which cannot hold a writable layer: %w", dir, name, err)
	}
	if err := probeOverlay(dir); err != nil {
		return fmt.Errorf("%q is on %s, which cannot hold a writable layer: a trial overlay mount failed: %w", dir, name, err)
	}
	rememberChecked(marker, id, userns)
	return nil
}

// checkedName is the data root's record of a filesystem that passed
// checkUpperFS. The '@' keeps it apart from layer directories: container
// ids cannot contain one.
const checkedName = "upper-checked@v1"

// fsIdentity names the filesystem dir is on: type, fsid and device.
func fsIdentity(dir string, st *unix.Statfs_t) (string, error) {
	var s unix.Stat_t
	if err := unix.Stat(dir, &s); err != nil {
		return "", fmt.Errorf("inspect filesystem of %q: %w", dir, err)
	}
	return fmt.Sprintf("type=%#x fsid=%x:%x dev=%d", st.Type, uint32(st.Fsid.Val[0]), uint32(st.Fsid.Val[1]), s.Dev), nil
}

// checkedBefore reports whether the record says this filesystem passed,
// with the user.* xattrs too if userns asks for them.
func checkedBefore(marker, id string, userns bool) bool {
	data, err := os.ReadFile(marker)
	if err != nil {
		return false
	}
	got := string(data)
	return got == id+" user=1\n" || (!userns && got == id+" user=0\n")
}

// rememberChecked records a filesystem that passed; a failure to record
// only means the next create checks again.
func rememberChecked(marker, id string, userns bool) {
	user := "0"
	if userns {
		user = "1"
	}
	tmp, err := os.CreateTemp(filepath.Dir(marker), ".checked-")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(id + " user=" + user + "\n")
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), marker) != nil {
		os.Remove(tmp.Name())
	}
}

func probeXattrs(dir string, userns bool) error {
	f, err := os.CreateTemp(dir, ".xattr-probe-")
	if err != nil {
		return fmt.Errorf("create a probe file: %w", err)
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	names := []string{"trusted.skiff-probe"}
	if userns {
		names = append(names, "user.skiff-probe")
	}
	for _, n := range names {
		err := unix.Lsetxattr(path, n, []byte("y"), 0)
		if errors.Is(err, unix.EPERM) && n == names[0] && os.Geteuid() != 0 {
			continue // only root may set trusted.*; the trial mount will tell
		}
		if err != nil {
			return fmt.Errorf("it cannot store the %s xattrs overlay needs (%w)", n[:len(n)-len(".skiff-probe")], err)
		}
	}
	return nil
}

// probeOverlay mounts an overlay whose upper and work directories are on
// dir's filesystem, deletes a lower file and replaces a lower directory
// through it (the two operations that write overlay metadata), and
// unmounts it. It does so on a locked thread that first moves to a new,
// private mount namespace; the thread is never unlocked, so Go ends it when
// the goroutine returns and the mount cannot leak to the caller. Without
// the privilege to do that it checks nothing, and the container's own
// mount will report the problem.
func probeOverlay(dir string) error {
	base, err := os.MkdirTemp(dir, ".overlay-probe-")
	if err != nil {
		return fmt.Errorf("create a probe directory: %w", err)
	}
	defer os.RemoveAll(base)
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, filepath.Join(lower, "dir"), upper, work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("create a probe directory: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "file"), nil, 0o600); err != nil {
		return fmt.Errorf("create a probe file: %w", err)
	}
	return onThrowawayThread(func() error { return trialMount(lower, upper, work, merged) })
}

// onThrowawayThread runs fn on a locked OS thread that ends when fn
// returns, so fn may change the thread's namespaces. The thread is never
// the main one: Go parks a main thread it cannot end instead of ending it,
// and as the thread group leader its namespaces are what /proc/self shows
// to the whole process.
func onThrowawayThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// While this goroutine holds the main thread, the goroutine
			// the nested call starts must run on another one.
			done <- onThrowawayThread(fn)
			runtime.UnlockOSThread()
			return
		}
		// No UnlockOSThread: Go ends the thread with the goroutine.
		done <- fn()
	}()
	return <-done
}

func trialMount(lower, upper, work, merged string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil
		}
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the probe mount namespace private: %w", err)
	}
	opts := overlayOptions([]string{lower}, upper, work, false)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return err
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if err := os.Remove(filepath.Join(merged, "file")); err != nil {
		return fmt.Errorf("delete a lower file through it: %w", err)
	}
	d := filepath.Join(merged, "dir")
	if err := os.Remove(d); err != nil {
		return fmt.Errorf("delete a lower directory through it: %w", err)
	}
	if err := os.Mkdir(d, 0o700); err != nil {
		return fmt.Errorf("replace a lower directory through it: %w", err)
	}
	return nil
}
