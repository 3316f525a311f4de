package libcontainer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/rootfs"
)

// The terminal of a container process is a pty of the container's own
// devpts instance: the init opens it after pivot_root, keeps the slave as
// the process's stdio and controlling terminal, and passes the master to
// the runtime over the sync socket (a pty message, then one byte carrying
// the fd). The runtime sends it on to --console-socket, or proxies it.

// openPty opens a new pty in the container's /dev/pts.
func openPty(size *specs.Box) (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("process.terminal: open /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(m), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("process.terminal: unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master: no path lookup that
	// a container could redirect.
	// Its argument is the slave's open flags.
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		var fd int
		fd, err = peerByName(m)
		s = uintptr(fd)
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("process.terminal: open pty slave: %w", err)
	}
	n, _ := unix.IoctlGetInt(m, unix.TIOCGPTN)
	slave = os.NewFile(s, "/dev/pts/"+strconv.Itoa(n))
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(int(s), unix.TIOCSWINSZ, ws); err != nil {
			master.Close()
			slave.Close()
			return nil, nil, fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	return master, slave, nil
}

func peerByName(master int) (int, error) {
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return -1, err
	}
	return unix.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
}

// bindConsole mounts the pty slave on /dev/console through the slave's own
// fd, never through a path the container could have swapped
// (CVE-2025-52565).
func bindConsole(slave *os.File) error {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/dev/console", &unix.OpenHow{
		Flags:   unix.O_CREAT | unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Mode:    0o666,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("create /dev/console: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("/dev/console is not a plain file in the container's /dev: refusing to mount on it")
	}
	src := rootfs.FdPath(int(slave.Fd()))
	dst := rootfs.FdPath(fd)
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind pty on /dev/console: %w", err)
	}
	return nil
}

// sendPty hands the master to the parent.
func sendPty(sock *os.File, master *os.File) error {
	if err := writeMsg(sock, message{Type: msgPty, PtyName: master.Name()}); err != nil {
		return err
	}
	return unix.Sendmsg(int(sock.Fd()), []byte{0}, unix.UnixRights(int(master.Fd())), nil, 0)
}

// recvPty takes the master fd that follows a pty message.
func recvPty(sock *os.File) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive terminal: no fd in message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive terminal: want one fd")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// sendToConsoleSocket sends the master to the caller's console socket as
// runc does: exactly one fd in one SCM_RIGHTS message, the pty's name as
// the payload.
func sendToConsoleSocket(path string, master *os.File, name string) error {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return fmt.Errorf("--console-socket: connect %q: %w", path, err)
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("--console-socket: %q is not a unix socket", path)
	}
	if _, _, err := uc.WriteMsgUnix([]byte(name), unix.UnixRights(int(master.Fd())), nil); err != nil {
		return fmt.Errorf("--console-socket: send terminal: %w", err)
	}
	return nil
}

// becomeTerminalOwner makes the slave the process's stdio and controlling
// terminal, right before exec.
func becomeTerminalOwner(slave *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("process.terminal: setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("process.terminal: make the pty the controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("process.terminal: dup pty to fd %d: %w", fd, err)
		}
	}
	return nil
}

// checkTerminal refuses a terminal nobody would receive, with runc's rule:
// a detached process with a terminal needs a console socket.
func checkTerminal(terminal bool, consoleSocket string, onTerminal func(*os.File) error) error {
	switch {
	case terminal && consoleSocket == "" && onTerminal == nil:
		return errors.New("process.terminal: cannot allocate a terminal for a detached process without --console-socket")
	case !terminal && consoleSocket != "":
		return errors.New("--console-socket: the process has no terminal (set process.terminal or --tty)")
	}
	return nil
}

// takeTerminal receives the master announced by m and gives it to the
// console socket or to onTerminal.
func takeTerminal(sock *os.File, m message, consoleSocket string, onTerminal func(*os.File) error) error {
	master, err := recvPty(sock)
	if err != nil {
		return err
	}
	if consoleSocket != "" {
		defer master.Close()
		return sendToConsoleSocket(consoleSocket, master, m.PtyName)
	}
	if onTerminal == nil {
		master.Close()
		return errors.New("terminal: no console socket to send it to")
	}
	return onTerminal(master)
}

// sendPidfd sends a pidfd of pid over the unix socket at path, as runc's
// --pidfd-socket does (go-runc passes it): one fd in SCM_RIGHTS.
func sendPidfd(path string, pid int) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: open pidfd of %d: %w", pid, err)
	}
	defer unix.Close(pfd)
	conn, err := net.Dial("unix", path)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: connect %q: %w", path, err)
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("--pidfd-socket: %q is not a unix socket", path)
	}
	if _, _, err := uc.WriteMsgUnix([]byte("pidfd"), unix.UnixRights(pfd), nil); err != nil {
		return fmt.Errorf("--pidfd-socket: send: %w", err)
	}
	return nil
}
