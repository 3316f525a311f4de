package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
	"github.com/skiff-runtime/skiff/rootfs"
)

// bootstrap is everything the init needs, sent by the parent once stage 0
// has put the init in its namespaces.
type bootstrap struct {
	Mode         string // "create" or "exec"
	Spec         *initSpec
	Process      *specs.Process
	Rootfs       string
	Bundle       string
	NoPivot      bool
	NoNewKeyring bool
	OverlayData  string
	CgroupMounts []rootfs.CgroupMount
	NewUserNS    bool
	NewCgroupNS  bool
	NewNetNS     bool
	PreserveFDs  int
	// FifoFD is the exec fifo's fd; 0 (never a passed fd) means there is
	// none: the container starts right after run (see sync.go).
	FifoFD      int
	HostMountNS bool
	MountLabel  string
	HostHooks   bool // ask the parent to run prestart/createRuntime
	// SeccompFilter is the config's seccomp profile compiled by the
	// runtime (which keeps compiled filters: libseccomp takes about 10 ms
	// for a large profile); SeccompNotify says whether a rule notifies a
	// listener, which needs the filter's fd handed to the runtime.
	SeccompFilter *seccomp.Filter
	SeccompNotify bool
	State         specs.State
}

// InitMain is `skiff init`: the container side, entered by a process that
// stage 0 has already placed in the container's namespaces. It runs on the
// locked main thread (see cmd/skiff) and never returns.
func InitMain() {
	fd, err := strconv.Atoi(os.Getenv("_SKIFF_SYNC"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff init is started by skiff itself, not by hand")
		os.Exit(2)
	}
	os.Clearenv()
	// The socket must not reach the user's process; for exec its closing
	// at execve is also how the parent learns the process runs.
	unix.CloseOnExec(fd)
	sock := syncFile(fd)
	err = runInit(sock)
	// Only reached on failure: success ends in execve. Once create has
	// returned nobody reads the socket: say it on the container's stderr.
	if writeMsg(sock, message{Type: msgError, Error: err.Error()}) != nil {
		fmt.Fprintf(os.Stderr, "skiff init: %v\n", err)
	}
	os.Exit(1)
}

func runInit(sock *os.File) error {
	m, err := expectMsg(sock, msgBootstrap)
	if err != nil {
		return err
	}
	b := m.Bootstrap
	if b == nil || b.Spec == nil || b.Process == nil {
		return errors.New("sync: incomplete bootstrap")
	}
	filter := b.SeccompFilter
	var slave *os.File
	if b.Mode == "create" {
		slave, err = setupContainer(b, sock)
	} else {
		if b.Process.Terminal {
			if slave, err = newTerminal(b.Process, sock, false); err != nil {
				return err
			}
		}
		err = handshake(sock)
	}
	if err != nil {
		return err
	}
	if b.NewCgroupNS {
		// The runtime has just moved us into the container's cgroup: a
		// cgroup namespace made now is rooted there. Namespaces are per
		// thread; this one is the thread that execs.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	handOff := func(fd int) error { return handOffSeccompFD(sock, fd) }
	if b.Mode == "create" && b.SeccompNotify && b.Process.NoNewPrivileges {
		// The socket closes before start: load now, while it can carry
		// the notify fd, rather than just before execve.
		if err := loadSeccomp(filter, handOff); err != nil {
			return err
		}
		filter = nil
	}
	proc, err := prepareProcess(b.Process, filter, handOff, b.PreserveFDs)
	if err != nil {
		return err
	}
	proc.terminal = slave
	if b.Mode == "create" && b.FifoFD == 0 {
		if hooks := b.Spec.StartContainerHooks; len(hooks) > 0 {
			b.State.Status = StatusCreated
			if err := runHooks("startContainer", hooks, &b.State); err != nil {
				return err
			}
		}
		return proc.exec(b.PreserveFDs, handOff, func() error { return writeMsg(sock, message{Type: msgExec}) })
	}
	if b.Mode == "create" {
		// Success so far: closing the socket tells the parent create is done.
		sock.Close()
		return waitForStart(b, proc)
	}
	return proc.exec(b.PreserveFDs, handOff, nil)
}

// handOffSeccompFD tells the parent which fd holds the notify listener and
// waits until the parent has copied it; only write(2) and read(2) are
// used, which a filter cannot reasonably notify.
func handOffSeccompFD(sock *os.File, fd int) error {
	if err := writeMsg(sock, message{Type: msgSeccompFD, SeccompFD: fd}); err != nil {
		return fmt.Errorf("send seccomp notify fd: %w", err)
	}
	_, err := expectMsg(sock, msgSeccompDone)
	return err
}

// newTerminal opens the process's pty (after pivot_root, in the
// container's devpts), optionally shows it as /dev/console, and sends the
// master to the parent. It returns the slave.
func newTerminal(p *specs.Process, sock *os.File, console bool) (*os.File, error) {
	master, slave, err := openPty(p.ConsoleSize)
	if err != nil {
		return nil, err
	}
	defer master.Close()
	if console {
		if err := bindConsole(slave); err != nil {
			slave.Close()
			return nil, err
		}
	}
	if err := sendPty(sock, master); err != nil {
		slave.Close()
		return nil, fmt.Errorf("send terminal to the runtime: %w", err)
	}
	// The terminal is the process's stdio from now on: holding the
	// caller's fds while waiting for start would keep its pipes open
	// (containerd's shim waits for their EOF before it calls start).
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			slave.Close()
			return nil, fmt.Errorf("process.terminal: dup pty to fd %d: %w", fd, err)
		}
	}
	return slave, nil
}

func setupContainer(b *bootstrap, sock *os.File) (slave *os.File, err error) {
	defer func() {
		if err != nil && slave != nil {
			slave.Close()
			slave = nil
		}
	}()
	spec := b.Spec.spec()
	if b.NewNetNS {
		if err := loopbackUp(); err != nil {
			return nil, err
		}
	}
	err = rootfs.Prepare(&rootfs.Config{
		Spec: spec, Rootfs: b.Rootfs, Bundle: b.Bundle, OverlayData: b.OverlayData,
		CgroupMounts: b.CgroupMounts, UserNS: b.NewUserNS, MountLabel: b.MountLabel,
		HostMountNS: b.HostMountNS,
	})
	if err != nil {
		return nil, err
	}
	if b.HostHooks {
		if err := writeMsg(sock, message{Type: msgHooks}); err != nil {
			return nil, err
		}
		if _, err := expectMsg(sock, msgHooksDone); err != nil {
			return nil, err
		}
	}
	if spec.Hooks != nil {
		b.State.Status = StatusCreating
		if err := runHooks("createContainer", spec.Hooks.CreateContainer, &b.State); err != nil {
			return nil, err
		}
	}
	if b.HostMountNS {
		err = rootfs.Chroot(b.Rootfs)
	} else {
		err = rootfs.PivotRoot(b.Rootfs, b.NoPivot)
	}
	if err != nil {
		return nil, err
	}
	if err := rootfs.SetPropagation(spec.Linux.RootfsPropagation); err != nil {
		return nil, err
	}
	// A missing cwd is created, as runc does: after pivot_root, so it can
	// only land inside the container, and before the root turns read-only.
	if err := os.MkdirAll(b.Process.Cwd, 0o755); err != nil {
		return nil, fmt.Errorf("process.cwd: create %q: %w", b.Process.Cwd, err)
	}
	if b.Process.Terminal {
		if slave, err = newTerminal(b.Process, sock, true); err != nil {
			return nil, err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return nil, fmt.Errorf("hostname: set %q: %w", spec.Hostname, err)
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return nil, fmt.Errorf("domainname: set %q: %w", spec.Domainname, err)
		}
	}
	for key, value := range spec.Linux.Sysctl {
		if err := writeSysctl(key, value); err != nil {
			return nil, err
		}
	}
	if err := rootfs.ReadonlyPaths(spec.Linux.ReadonlyPaths); err != nil {
		return nil, err
	}
	if err := rootfs.MaskPaths(spec.Linux.MaskedPaths); err != nil {
		return nil, err
	}
	if spec.Root.Readonly {
		if err := rootfs.ReadonlyRoot(); err != nil {
			return nil, err
		}
	}
	if !b.NoNewKeyring {
		// A private session keyring keeps the container from reading the
		// host's keys; kernels without keyrings (ENOSYS) just skip it.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + b.State.ID); err != nil && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("join a new session keyring: %w", err)
		}
	}
	return slave, handshake(sock)
}

// handshake tells the parent the container side is ready (it then sets
// the rlimits) and waits for the go-ahead.
func handshake(sock *os.File) error {
	if err := writeMsg(sock, message{Type: msgReady}); err != nil {
		return err
	}
	_, err := expectMsg(sock, msgRun)
	return err
}

// loopbackIndex is lo's ifindex in every network namespace (the kernel's
// LOOPBACK_IFINDEX): addressing it by index spares a netlink lookup by name.
const loopbackIndex = 1

func loopbackUp() error {
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: loopbackIndex, Name: "lo"}}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	return nil
}

func writeSysctl(key, value string) error {
	if strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return fmt.Errorf("linux.sysctl: invalid key %q", key)
	}
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("linux.sysctl: %s: %w", key, err)
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("linux.sysctl: write %s=%s: %w", key, value, err)
	}
	return nil
}

// waitForStart blocks until `skiff start` opens the exec fifo, runs the
// startContainer hooks, then becomes the user's process. Anything written
// to the fifo after the first byte is an error message for `start`.
func waitForStart(b *bootstrap, proc *process) error {
	// While it waits, processes exec'd into the container must not reach
	// the init's fds or memory through /proc/1 (ptrace access checks
	// refuse a non-dumpable process); execve makes the user's process
	// dumpable again.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make init non-dumpable: %w", err)
	}
	fifo, err := os.OpenFile(rootfs.FdPath(b.FifoFD), os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(b.FifoFD)
	if _, err := fifo.Write([]byte{'0'}); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	fail := func(err error) error {
		fifo.WriteString(err.Error())
		return err
	}
	if hooks := b.Spec.StartContainerHooks; len(hooks) > 0 {
		b.State.Status = StatusCreated
		if err := runHooks("startContainer", hooks, &b.State); err != nil {
			return fail(err)
		}
	}
	return fail(proc.exec(b.PreserveFDs, nil, nil))
}
