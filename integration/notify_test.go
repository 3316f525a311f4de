//go:build integration

package integration

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNotifySocketRelay: with NOTIFY_SOCKET in skiff's environment (Podman
// --sdnotify=container), the container gets its own NOTIFY_SOCKET and
// start relays its READY=1 to the caller's socket before returning.
func TestNotifySocketRelay(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		// busybox logger writes one datagram to /dev/log.
		shell(s, `echo "$NOTIFY_SOCKET" > /tmp/notify-env; ln -s "$NOTIFY_SOCKET" /dev/log && logger READY=1; sleep 30`)
	})
	hostSock := filepath.Join(c.dir, "host-notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: hostSock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := c.skiffOpts(runOpts{Env: []string{"NOTIFY_SOCKET=" + hostSock}}, "run", "-d", "--bundle", c.bundle, c.id)
	if r.Code != 0 {
		t.Fatalf("run -d with NOTIFY_SOCKET: %s", r)
	}
	// start returned only after relaying: the message is already queued.
	l.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := l.Read(buf)
	if err != nil {
		t.Fatalf("no notification relayed to the caller's socket: %v", err)
	}
	if !strings.Contains(string(buf[:n]), "READY=1") {
		t.Errorf("relayed %q, want READY=1", buf[:n])
	}
	out := c.skiff("exec", c.id, "cat", "/tmp/notify-env")
	if strings.TrimSpace(out.Stdout) != "/run/notify/notify.sock" {
		t.Errorf("NOTIFY_SOCKET inside the container: %s", out)
	}
}
