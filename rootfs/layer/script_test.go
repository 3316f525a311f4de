package layer

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// step is one file operation of a test script, run against a root
// directory: building a lower tree, or what a container does through the
// overlay.
type step func(root string) error

func runScript(t *testing.T, root string, steps []step) {
	t.Helper()
	for i, s := range steps {
		if err := s(root); err != nil {
			t.Fatalf("script step %d under %s: %v", i, root, err)
		}
	}
}

func mkdirStep(rel string, mode os.FileMode) step {
	return func(root string) error {
		p := filepath.Join(root, rel)
		if err := os.Mkdir(p, mode); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	}
}

func writeStep(rel, content string, mode os.FileMode) step {
	return func(root string) error {
		p := filepath.Join(root, rel)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	}
}

func appendStep(rel, content string) step {
	return func(root string) error {
		f, err := os.OpenFile(filepath.Join(root, rel), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(content); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

func symlinkStep(rel, target string) step {
	return func(root string) error { return os.Symlink(target, filepath.Join(root, rel)) }
}

func linkStep(rel, existing string) step {
	return func(root string) error { return os.Link(filepath.Join(root, existing), filepath.Join(root, rel)) }
}

func mknodStep(rel string, mode uint32, major, minor uint32) step {
	return func(root string) error {
		return unix.Mknod(filepath.Join(root, rel), mode, int(unix.Mkdev(major, minor)))
	}
}

func chownStep(rel string, uid, gid int) step {
	return func(root string) error { return os.Lchown(filepath.Join(root, rel), uid, gid) }
}

func chmodStep(rel string, mode uint32) step {
	return func(root string) error { return unix.Chmod(filepath.Join(root, rel), mode) }
}

func xattrStep(rel, name, value string) step {
	return func(root string) error { return unix.Lsetxattr(filepath.Join(root, rel), name, []byte(value), 0) }
}

func removeStep(rel string) step {
	return func(root string) error { return os.Remove(filepath.Join(root, rel)) }
}

func removeAllStep(rel string) step {
	return func(root string) error { return os.RemoveAll(filepath.Join(root, rel)) }
}

// netBindCapability is a file capability xattr (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_BIND_SERVICE: binary, with NUL bytes, and
// cleared by chown, so it tests both commit formats' xattr handling.
const netBindCapability = "\x01\x00\x00\x02" + "\x00\x04\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// imageSteps build the lower tree of the scripted scenario.
func imageSteps() []step {
	return []step{
		mkdirStep("etc", 0o755),
		writeStep("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644),
		writeStep("etc/hosts", "127.0.0.1 localhost\n", 0o644),
		xattrStep("etc/hosts", "user.origin", "image"),
		mkdirStep("keep", 0o755),
		writeStep("keep/file", "kept\n", 0o644),
		writeStep("keep/other", "other\n", 0o644),
		linkStep("keep/other-link", "keep/other"),
		mkdirStep("del", 0o755),
		writeStep("del/file", "doomed\n", 0o644),
		writeStep("del/stays", "stays\n", 0o644),
		mkdirStep("deldir", 0o755),
		writeStep("deldir/a", "a\n", 0o644),
		mkdirStep("deldir/sub", 0o750),
		writeStep("deldir/sub/b", "b\n", 0o600),
		mkdirStep("repl", 0o755),
		writeStep("repl/x", "x\n", 0o644),
		mkdirStep("repl/sub", 0o755),
		writeStep("repl/sub/y", "y\n", 0o644),
		mkdirStep("chm", 0o755),
		writeStep("chm/file", "mode\n", 0o644),
		mkdirStep("chmdir", 0o755),
		writeStep("chmdir/f", "in a chmod'ed dir\n", 0o644),
		writeStep("owned", "owner\n", 0o644),
		mkdirStep("bin", 0o755),
		writeStep("bin/su", "#!/bin/sh\n", 0o755),
		chmodStep("bin/su", 0o4755),
		writeStep("bin/user", "user file\n", 0o640),
		chownStep("bin/user", 1000, 1000),
		symlinkStep("lnk", "etc/passwd"),
		mkdirStep("dev", 0o755),
		mknodStep("dev/null", unix.S_IFCHR|0o666, 1, 3),
		mknodStep("fifo", unix.S_IFIFO|0o644, 0, 0),
		writeStep("tofile", "becomes a dir\n", 0o644),
		writeStep("bin/ping", "#!/bin/sh\n", 0o755),
		xattrStep("bin/ping", "security.capability", netBindCapability),
	}
}

// containerSteps are what the container does, through the overlay.
func containerSteps() []step {
	return []step{
		writeStep("etc/newfile", "new\n", 0o644),
		appendStep("etc/hosts", "10.0.0.1 db\n"),
		xattrStep("etc/hosts", "user.changed", "yes"),
		removeStep("del/file"),
		removeAllStep("deldir"),
		removeAllStep("repl"),
		mkdirStep("repl", 0o700),
		writeStep("repl/new", "replacement\n", 0o644),
		symlinkStep("newlink", "/etc/newfile"),
		linkStep("etc/newfile-link", "etc/newfile"),
		linkStep("keep/file-link", "keep/file"),
		chmodStep("chm/file", 0o600),
		chmodStep("chmdir", 0o700),
		chownStep("owned", 1234, 5678),
		mkdirStep("newdir", 0o755),
		mkdirStep("newdir/sub", 0o755),
		writeStep("newdir/sub/deep", "deep\n", 0o600),
		mknodStep("newfifo", unix.S_IFIFO|0o600, 0, 0),
		mknodStep("dev/zero", unix.S_IFCHR|0o666, 1, 5),
		removeStep("tofile"),
		mkdirStep("tofile", 0o755),
		writeStep("tofile/inside", "inside\n", 0o644),
		writeStep("bin/newcap", "#!/bin/sh\n", 0o755),
		xattrStep("bin/newcap", "security.capability", netBindCapability),
	}
}

// wantChanges is what Diff must report for containerSteps.
var wantChanges = []string{
	"A /bin/newcap",
	"C /chm/file",
	"C /chmdir",
	"D /del/file",
	"D /deldir",
	"A /dev/zero",
	"C /etc/hosts",
	"A /etc/newfile",
	"A /etc/newfile-link",
	"C /keep/file",
	"A /keep/file-link",
	"A /newdir",
	"A /newdir/sub",
	"A /newdir/sub/deep",
	"A /newfifo",
	"A /newlink",
	"C /owned",
	"C /repl",
	"A /repl/new",
	"D /repl/sub",
	"D /repl/x",
	"C /tofile",
	"A /tofile/inside",
}
