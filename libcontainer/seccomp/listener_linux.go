package seccomp

import (
	"encoding/json"
	"fmt"
	"net"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SendToListener hands a notify fd to the seccomp agent listening on
// listenerPath, as the runtime-spec's listenerPath section asks: one
// SOCK_STREAM connection per process, carrying the ContainerProcessState
// JSON with the fd in SCM_RIGHTS, then closed. fds is set to ["seccompFd"]
// and ociVersion is filled in when empty; the caller fills pid, metadata
// (cfg.ListenerMetadata) and state. fd stays open and owned by the caller.
func SendToListener(listenerPath string, fd int, state specs.ContainerProcessState) error {
	if fd < 0 {
		return fmt.Errorf("seccomp: send notify fd to %s: no fd (%d)", listenerPath, fd)
	}
	state.Fds = []string{specs.SeccompFdName}
	if state.Version == "" {
		state.Version = specs.Version
	}
	msg, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("seccomp: encode container process state: %w", err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: listenerPath, Net: "unix"})
	if err != nil {
		return fmt.Errorf("seccomp: connect to seccomp agent at %s: %w", listenerPath, err)
	}
	defer conn.Close()
	n, _, err := conn.WriteMsgUnix(msg, unix.UnixRights(fd), nil)
	if err != nil {
		return fmt.Errorf("seccomp: send notify fd to %s: %w", listenerPath, err)
	}
	// A stream socket may take the message in parts; the fd went with the
	// first part, the rest follows as plain data.
	if n < len(msg) {
		if _, err := conn.Write(msg[n:]); err != nil {
			return fmt.Errorf("seccomp: send container process state to %s: %w", listenerPath, err)
		}
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("seccomp: close connection to %s: %w", listenerPath, err)
	}
	return nil
}
