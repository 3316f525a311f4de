//go:build !nocriu

package libcontainer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	criurpc "github.com/checkpoint-restore/go-criu/v7/rpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// criuCall is one conversation with `criu swrk`: criu's RPC service on a
// private socket pair, the way go-criu and runc drive it. The protocol is
// go-criu's protobuf messages; skiff runs the loop itself because restore
// needs what go-criu's helper does not give: criu inherits the caller's
// stdio and extra files, criu itself must join the container's cgroup
// before the request goes out, and a notification may carry a file
// descriptor (the terminal's master).
type criuCall struct {
	req *criurpc.CriuReq
	// extra files criu inherits from fd 4 on (fd 3 is the socket).
	extra []*os.File
	// stdio for criu and, through inherit-fd, for the restored process.
	stdin, stdout, stderr *os.File
	// started runs once criu runs, before the request is sent (restore
	// puts criu into the container's cgroup there).
	started func(criuPid int, req *criurpc.CriuReq) error
	// notify handles criu's notifications ("post-restore", ...); fd is
	// -1 unless the message carried one, and the handler owns it.
	notify func(n *criurpc.CriuNotify, fd int) error
	// logPath is criu's log (in the work directory), quoted on failure.
	logPath string
}

// criuPath finds criu; its absence is said plainly.
func criuPath() (string, error) {
	p, err := exec.LookPath("criu")
	if err != nil {
		return "", errors.New("criu is not installed (apt-get install criu): checkpoint and restore need it")
	}
	return p, nil
}

func (c *criuCall) run() (*criurpc.CriuResp, error) {
	path, err := criuPath()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("criu: socketpair: %w", err)
	}
	client := os.NewFile(uintptr(fds[0]), "criu-client")
	server := os.NewFile(uintptr(fds[1]), "criu-server")
	defer client.Close()
	cmd := exec.Command(path, "swrk", "3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	cmd.ExtraFiles = append([]*os.File{server}, c.extra...)
	if err := cmd.Start(); err != nil {
		server.Close()
		return nil, fmt.Errorf("start criu: %w", err)
	}
	server.Close()
	resp, err := c.converse(client, cmd.Process.Pid)
	// criu ends its service when the socket closes.
	client.Close()
	werr := cmd.Wait()
	if err != nil {
		return resp, err
	}
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || !ee.Exited() {
			return resp, fmt.Errorf("criu: %w", werr)
		}
		// criu swrk exits non-zero after some successful requests; the
		// response is what counts.
	}
	return resp, nil
}

func (c *criuCall) converse(sock *os.File, criuPid int) (*criurpc.CriuResp, error) {
	if c.started != nil {
		if err := c.started(criuPid, c.req); err != nil {
			return nil, err
		}
	}
	data, err := proto.Marshal(c.req)
	if err != nil {
		return nil, fmt.Errorf("criu: encode request: %w", err)
	}
	if _, err := sock.Write(data); err != nil {
		return nil, fmt.Errorf("criu: send request: %w", err)
	}
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("criu: read response: %w", err)
		}
		if n == 0 {
			return nil, c.failure("criu exited without answering", nil)
		}
		fd := -1
		if oobn > 0 {
			if fd, err = fdFromOOB(oob[:oobn]); err != nil {
				return nil, err
			}
		}
		resp := &criurpc.CriuResp{}
		if err := proto.Unmarshal(buf[:n], resp); err != nil {
			closeFd(fd)
			return nil, fmt.Errorf("criu: decode response: %w", err)
		}
		if resp.GetType() != criurpc.CriuReqType_NOTIFY {
			closeFd(fd)
			if !resp.GetSuccess() {
				return resp, c.failure(c.req.GetType().String()+" failed", resp)
			}
			return resp, nil
		}
		herr := error(nil)
		if c.notify != nil {
			herr = c.notify(resp.GetNotify(), fd)
		} else {
			closeFd(fd)
		}
		t := criurpc.CriuReqType_NOTIFY
		ack, _ := proto.Marshal(&criurpc.CriuReq{Type: &t, NotifySuccess: proto.Bool(herr == nil)})
		if _, err := sock.Write(ack); err != nil && herr == nil {
			herr = fmt.Errorf("criu: answer notification: %w", err)
		}
		if herr != nil {
			return nil, herr
		}
	}
}

func fdFromOOB(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, fmt.Errorf("criu: control message: %w", err)
	}
	fd := -1
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, f := range fds {
			if fd < 0 {
				fd = f
			} else {
				unix.Close(f)
			}
		}
	}
	return fd, nil
}

func closeFd(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// failure makes one sentence of a failed criu request: what failed,
// criu's reason (its error message, else the first error it logged) and
// where the whole log is.
func (c *criuCall) failure(what string, resp *criurpc.CriuResp) error {
	msg := "criu: " + strings.ToLower(strings.ReplaceAll(what, "_", "-"))
	reason := ""
	if resp != nil {
		reason = stripCriuLocation(resp.GetCrErrmsg())
	}
	if reason == "" && c.logPath != "" {
		reason = firstCriuError(c.logPath)
	}
	if reason == "" && resp != nil && resp.GetCrErrno() != 0 {
		reason = unix.Errno(resp.GetCrErrno()).Error()
	}
	if reason != "" {
		msg += ": " + reason
	}
	if c.logPath == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s (log: %s)", msg, c.logPath)
}

// stripCriuLocation turns criu's "Error (file.c:123): text\n" into "text".
func stripCriuLocation(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "Error ("); i >= 0 {
		s = s[i:]
		if j := strings.Index(s, "): "); j >= 0 {
			s = s[j+3:]
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// firstCriuError returns the first error a criu log records: the cause,
// where the later ones are its consequences ("Dumping FAILED.").
func firstCriuError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "Error (") {
			return stripCriuLocation(line)
		}
	}
	return ""
}

// criuCheck asks criu whether it can checkpoint on this host at all: a
// kernel criu does not support fails here with criu's own reason, before
// anything is frozen or written.
func criuCheck(workDir string) error {
	dir, err := os.Open(workDir)
	if err != nil {
		return fmt.Errorf("criu work directory: %w", err)
	}
	defer dir.Close()
	t := criurpc.CriuReqType_CHECK
	logName := "check.log"
	call := &criuCall{
		req: &criurpc.CriuReq{Type: &t, Opts: &criurpc.CriuOpts{
			ImagesDirFd: proto.Int32(int32(dir.Fd())), WorkDirFd: proto.Int32(int32(dir.Fd())),
			LogFile: proto.String(logName), LogLevel: proto.Int32(2),
		}},
		logPath: filepath.Join(workDir, logName),
	}
	if _, err := call.run(); err != nil {
		reason := firstCriuError(call.logPath)
		if reason == "" {
			reason = err.Error()
		}
		return fmt.Errorf("criu cannot checkpoint on this host: `criu check` fails with %q (log: %s)", reason, call.logPath)
	}
	os.Remove(call.logPath)
	return nil
}
