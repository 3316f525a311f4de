//go:build integration

package integration

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleReceiver is a --console-socket peer as go-runc's: it accepts one
// connection and takes exactly one fd from one SCM_RIGHTS message.
type consoleReceiver struct {
	path   string
	master chan *os.File
	errs   chan error
}

func newConsoleReceiver(t *testing.T, dir string) *consoleReceiver {
	t.Helper()
	path := filepath.Join(dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &consoleReceiver{path: path, master: make(chan *os.File, 1), errs: make(chan error, 1)}
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			r.errs <- err
			return
		}
		defer conn.Close()
		name := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4*4))
		n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
		if err != nil {
			r.errs <- err
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			r.errs <- io.ErrUnexpectedEOF
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			r.errs <- io.ErrShortBuffer
			return
		}
		r.master <- os.NewFile(uintptr(fds[0]), string(name[:n]))
	}()
	return r
}

func (r *consoleReceiver) take(t *testing.T) *os.File {
	t.Helper()
	select {
	case m := <-r.master:
		t.Cleanup(func() { m.Close() })
		return m
	case err := <-r.errs:
		t.Fatalf("console socket: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no terminal arrived on the console socket")
	}
	return nil
}

// readUntil reads the pty master until want shows up (or times out).
func readUntil(t *testing.T, master *os.File, want string) string {
	t.Helper()
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for !strings.Contains(got.String(), want) {
			n, err := master.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		master.SetReadDeadline(time.Now())
		<-done
	}
	return got.String()
}

// TestCreateWithConsoleSocket: the terminal reaches the console socket,
// create releases the caller's stdout and stderr (go-runc hands them a
// pipe and waits for its EOF before it calls start), and the process runs
// on the pty.
func TestCreateWithConsoleSocket(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
		shell(s, `tty; stty size; ls -l /dev/console | cut -c1; echo pty-ok`)
	})
	recv := newConsoleReceiver(t, c.dir)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(skiffPath, "--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle, "--console-socket", recv.path, c.id)
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	master := recv.take(t)
	if err := cmd.Wait(); err != nil {
		out, _ := io.ReadAll(pr)
		t.Fatalf("create --console-socket: %v: %s", err, out)
	}
	eof := make(chan error, 1)
	go func() { _, err := io.ReadAll(pr); eof <- err }()
	select {
	case <-eof:
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's stdout/stderr pipe is still held open after create: something skiff left holds it")
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	out := readUntil(t, master, "pty-ok")
	for _, want := range []string{"/dev/pts/", "30 100", "c", "pty-ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
}

// TestExecTTYWithConsoleSocket: exec --tty --detach --console-socket, as
// containerd's shim calls it.
func TestExecTTYWithConsoleSocket(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `sleep 1000`) })
	if r := c.skiff("run", "-d", "--bundle", c.bundle, c.id); r.Code != 0 {
		t.Fatalf("run -d: %s", r)
	}
	recv := newConsoleReceiver(t, c.dir)
	pidFile := filepath.Join(c.dir, "exec.pid")
	r := c.skiff("exec", "--tty", "--detach", "--console-socket", recv.path, "--pid-file", pidFile, c.id, "sh", "-c", "tty; echo exec-pty-ok; sleep 1")
	if r.Code != 0 {
		t.Fatalf("exec -t: %s", r)
	}
	master := recv.take(t)
	out := readUntil(t, master, "exec-pty-ok")
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "exec-pty-ok") {
		t.Errorf("exec terminal output: %q", out)
	}
	if data, err := os.ReadFile(pidFile); err != nil || len(data) == 0 {
		t.Errorf("exec pid file: %q, %v", data, err)
	}
}

// TestDetachedTerminalNeedsConsoleSocket: runc's rule.
func TestDetachedTerminalNeedsConsoleSocket(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		s.Process.Terminal = true
		shell(s, `true`)
	})
	r := c.skiff("run", "-d", "--bundle", c.bundle, c.id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "console-socket") {
		t.Fatalf("run -d with a terminal and no console socket: %s", r)
	}
	assertNothingLeft(t, c)
}
