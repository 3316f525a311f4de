//go:build linux && cgo

package seccomp

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// agent is a minimal seccomp agent: it takes one connection on
// listenerPath, checks the ContainerProcessState, and answers mkdirat by
// mode: 701 fails with EXDEV, 702 runs for real (CONTINUE), 703 reports
// success without doing anything.
type agent struct {
	ln    *net.UnixListener
	state chan specs.ContainerProcessState
	errs  chan error
}

func startAgent(t *testing.T, path string) *agent {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// The child may run as nobody.
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	a := &agent{ln: ln, state: make(chan specs.ContainerProcessState, 1), errs: make(chan error, 1)}
	go func() { a.errs <- a.serve() }()
	return a
}

func (a *agent) serve() error {
	_ = a.ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := a.ln.AcceptUnix()
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return err
	}
	// The state may arrive in several reads; the spec closes the
	// connection after one state, so read to EOF.
	for {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		return err
	}
	a.state <- st
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return errors.New("no control message with the notify fd")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return errors.New("control message does not carry exactly one fd")
	}
	fd := libseccomp.ScmpFd(fds[0])
	defer unix.Close(fds[0])
	for range 3 {
		req, err := libseccomp.NotifReceive(fd)
		if err != nil {
			return err
		}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		resp := &libseccomp.ScmpNotifResp{ID: req.ID}
		switch mode := req.Data.Args[2]; {
		case name != "mkdirat" && name != "mkdir":
			resp.Error = int32(unix.ENOSYS)
		case mode == 0o701:
			resp.Error = int32(unix.EXDEV)
		case mode == 0o702:
			resp.Flags = libseccomp.NotifRespFlagContinue
		case mode == 0o703:
			resp.Val = 0
		default:
			resp.Error = int32(unix.EINVAL)
		}
		if err := libseccomp.NotifRespond(fd, resp); err != nil {
			return err
		}
	}
	return nil
}

func notifyConfig(dir string, flags []specs.LinuxSeccompFlag) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		ListenerPath:     filepath.Join(dir, "agent.sock"),
		ListenerMetadata: "test-metadata",
		Flags:            flags,
		Syscalls:         []specs.LinuxSyscall{{Names: mkdirNames, Action: specs.ActNotify}},
	}
}

func testNotify(t *testing.T, flags []specs.LinuxSeccompFlag, unprivileged bool) {
	dir := sharedDir(t)
	cfg := notifyConfig(dir, flags)
	a := startAgent(t, cfg.ListenerPath)
	res := runChild(t, cfg, dir, unprivileged, "mkdir:refused:701", "mkdir:real:702", "mkdir:faked:703")
	wantErrnos(t, res, map[string]syscall.Errno{"refused": unix.EXDEV, "real": 0, "faked": 0})
	if err := <-a.errs; err != nil {
		t.Fatalf("agent: %v", err)
	}
	st := <-a.state
	if st.Version != specs.Version || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName ||
		st.Metadata != "test-metadata" || st.Pid <= 0 || st.State.ID != "seccomp-test" {
		t.Errorf("container process state: %+v", st)
	}
	for name, exists := range map[string]bool{"refused": false, "real": true, "faked": false} {
		_, err := os.Stat(filepath.Join(dir, name))
		if (err == nil) != exists {
			t.Errorf("%s: exists %v, want %v", name, err == nil, exists)
		}
	}
}

func TestNotifyAgentAnswers(t *testing.T) { testNotify(t, nil, false) }

func TestNotifyWaitKillableRecv(t *testing.T) {
	testNotify(t, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, false)
}

func TestSendToListenerNoAgent(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	err = SendToListener(filepath.Join(t.TempDir(), "none.sock"), int(r.Fd()), specs.ContainerProcessState{})
	if err == nil {
		t.Fatal("sent to a socket nobody listens on")
	}
	if err := SendToListener("/x", -1, specs.ContainerProcessState{}); err == nil {
		t.Fatal("sent fd -1")
	}
}
