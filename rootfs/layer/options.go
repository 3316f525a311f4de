package layer

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// MountOptions returns the overlay mount data for this layer over lowers
// (topmost first). index, redirect_dir and metacopy are off so the upper
// directory records every change as a whole entry (Diff and Commit read it
// without the lowers' inode numbers or overlay's redirect metadata). With
// userns, and when the kernel has it (5.11+), it adds userxattr so a
// user-namespaced root can mount: overlay then keeps its metadata in
// user.overlay.* xattrs. userxattr does not accept redirect_dir=off on
// kernels whose redirect_always_follow default turns "off" into "follow",
// so it uses redirect_dir=nofollow, which also creates no redirects.
func (l *Layer) MountOptions(lowers []string, userns bool) string {
	return overlayOptions(lowers, l.UpperDir(), l.WorkDir(), userns && userxattrSupported())
}

// Mount mounts this layer's overlay over lowers on target, in the calling
// thread's mount namespace. target may be the topmost lower itself:
// overlay resolves the lower paths before the mount covers them.
func (l *Layer) Mount(target string, lowers []string, userns bool) error {
	if len(lowers) == 0 {
		return fmt.Errorf("mount overlay on %q: no lower directories given", target)
	}
	for _, p := range append([]string{target}, lowers...) {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("mount overlay on %q: %q is not an absolute path", target, p)
		}
	}
	opts := l.MountOptions(lowers, userns)
	// mount(2) copies at most one page of option data.
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("mount overlay on %q: the options for %d lower directories are %d bytes, more than mount(2) accepts", target, len(lowers), len(opts))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay on %q (lowers %s, upper %q): %w", target, strings.Join(lowers, ":"), l.UpperDir(), err)
	}
	return nil
}

// overlayOptions builds overlay mount data. Paths are escaped the way
// overlay parses them: a backslash before ',', ':' and '\'.
func overlayOptions(lowers []string, upper, work string, userxattr bool) string {
	esc := make([]string, len(lowers))
	for i, l := range lowers {
		esc[i] = escapeOverlayPath(l)
	}
	redirect := "off"
	if userxattr {
		redirect = "nofollow"
	}
	opts := []string{
		"lowerdir=" + strings.Join(esc, ":"),
		"upperdir=" + escapeOverlayPath(upper),
		"workdir=" + escapeOverlayPath(work),
		"index=off",
		"redirect_dir=" + redirect,
		"metacopy=off",
	}
	if userxattr {
		opts = append(opts, "userxattr")
	}
	return strings.Join(opts, ",")
}

func escapeOverlayPath(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`)
	return r.Replace(p)
}

var userxattrSupported = sync.OnceValue(func() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 11)
})

// kernelAtLeast reports whether a kernel release string such as
// "6.18.44-fc-v1272" is at least major.minor. An unparsable release is
// assumed old.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	minStr := parts[1]
	if i := strings.IndexFunc(minStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minStr = minStr[:i]
	}
	mnr, err := strconv.Atoi(minStr)
	if err != nil {
		return false
	}
	return maj > major || (maj == major && mnr >= minor)
}
