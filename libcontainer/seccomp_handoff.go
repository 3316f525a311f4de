package libcontainer

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
)

// readUntilEOF reads the init's last messages after `run`: a seccomp
// notify fd to pass on, an error, or the end of the stream (success).
// execing reports whether the init said it was about to execve.
func readUntilEOF(sock *os.File, pid int, sec *specs.LinuxSeccomp, state specs.State) (execing bool, err error) {
	for {
		m, err := readMsg(sock)
		if err != nil {
			return execing, err // io.EOF included: the caller decides what it means
		}
		switch m.Type {
		case msgExec:
			execing = true
		case msgError:
			return execing, initError(m.Error)
		case msgSeccompFD:
			if err := passSeccompFD(pid, m.SeccompFD, sec, state); err != nil {
				return execing, err
			}
			if err := writeMsg(sock, message{Type: msgSeccompDone}); err != nil {
				return execing, err
			}
		default:
			return execing, fmt.Errorf("sync: unexpected %s after run", m.Type)
		}
	}
}

type initError string

func (e initError) Error() string { return string(e) }

func passSeccompFD(pid, fd int, sec *specs.LinuxSeccomp, state specs.State) error {
	if sec == nil || sec.ListenerPath == "" {
		return fmt.Errorf("linux.seccomp.listenerPath: a notify rule needs a listener")
	}
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("seccomp: open pidfd of init: %w", err)
	}
	defer unix.Close(pfd)
	local, err := unix.PidfdGetfd(pfd, fd, 0)
	if err != nil {
		return fmt.Errorf("seccomp: copy notify fd from init: %w", err)
	}
	defer unix.Close(local)
	return seccomp.SendToListener(sec.ListenerPath, local, specs.ContainerProcessState{
		Pid: pid, Metadata: sec.ListenerMetadata, State: state,
	})
}
