package libcontainer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sd_notify relay (Podman --sdnotify=container): when skiff is called with
// NOTIFY_SOCKET, the container gets a socket of skiff's own at
// /run/notify/notify.sock (its NOTIFY_SOCKET), and `start` relays what the
// container sends there to the caller's socket until READY=1 arrives or
// the container exits.

const (
	notifyDirName     = "notify"
	notifySocketName  = "notify.sock"
	notifyInContainer = "/run/notify"
)

// setupNotify adds the notify directory mount and the process's
// NOTIFY_SOCKET to spec, and records the caller's socket in the state.
func setupNotify(s store, st *State, spec *specs.Spec, host string) error {
	dir := filepath.Join(s.dir(st.ID), notifyDirName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: notifyInContainer, Source: dir, Type: "bind",
		Options: []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	spec.Process.Env = append(spec.Process.Env, "NOTIFY_SOCKET="+filepath.Join(notifyInContainer, notifySocketName))
	st.NotifySocket = host
	return nil
}

// listenNotify opens skiff's end before the process can run, so that no
// message is lost.
func listenNotify(stateDir string) (*net.UnixConn, error) {
	path := filepath.Join(stateDir, notifyDirName, notifySocketName)
	os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: listen on %s: %w", path, err)
	}
	// Any user the container runs as must be able to send to it.
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		return nil, fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	return conn, nil
}

// relayNotify forwards the container's notifications to host until one
// says READY=1 (returned after forwarding) or the container is gone.
func relayNotify(conn *net.UnixConn, host string, st *State) error {
	defer conn.Close()
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !st.alive() {
					return nil // exited without READY: nothing to relay
				}
				continue
			}
			return fmt.Errorf("NOTIFY_SOCKET: %w", err)
		}
		msg := buf[:n]
		if err := sendNotify(host, msg); err != nil {
			return err
		}
		for _, line := range strings.Split(string(msg), "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), "READY=1") {
				return nil
			}
		}
	}
}

func sendNotify(host string, msg []byte) error {
	addr := &net.UnixAddr{Name: host, Net: "unixgram"}
	if strings.HasPrefix(host, "@") {
		addr.Name = "\x00" + host[1:] // abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: connect %s: %w", host, err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: send to %s: %w", host, err)
	}
	return nil
}
