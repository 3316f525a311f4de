package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/namespaces"
	"github.com/skiff-runtime/skiff/rootfs"
)

// stage0Msg mirrors struct stage0_msg in namespaces/nsenter/nsenter.c.
type stage0Msg struct {
	Tag   byte
	_     [3]byte
	Value int32
	Text  [248]byte
}

// spawnRequest describes the process to start inside the namespaces.
type spawnRequest struct {
	plan       namespaces.Plan
	timeNS     string // timens_offsets content
	uidMap     []specs.LinuxIDMapping
	gidMap     []specs.LinuxIDMapping
	stdin      *os.File
	stdout     *os.File
	stderr     *os.File
	extraFiles []*os.File // passed at fd 3.. in order; the sync socket follows
	// execPlan: stage 0's child sets up an exec'd process from a plan
	// (execplan.go) instead of starting `skiff init`.
	execPlan bool
	// afterStart is a test hook (crash injection).
	afterStart func()
}

// spawned is the result: the container-side process and our end of the
// sync socket.
type spawned struct {
	pid  int
	sync *os.File
}

// spawn starts `skiff init` through stage 0 (the C constructor), which
// enters or creates the namespaces and forks the container process.
func spawn(req spawnRequest) (*spawned, error) {
	ss, err := startSpawn(req)
	if err != nil {
		return nil, err
	}
	return ss.finish()
}

// startingSpawn is a stage 0 that has been started but not heard from
// yet: its caller may do other work while stage 0 sets up the namespaces
// and the container process starts.
type startingSpawn struct {
	req        spawnRequest
	cmd        *exec.Cmd
	parentSock *os.File
}

// startSpawn starts stage 0. Its caller must call finish, also when its
// own work in between failed.
func startSpawn(req spawnRequest) (*startingSpawn, error) {
	exe, err := sealedExecutable()
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create sync socket: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync-parent")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")
	defer childSock.Close()

	syncFD := 3 + len(req.extraFiles)
	// The sealed binary is executed through a descriptor of the child's
	// own, placed after the sync socket: the number it has here may be
	// one the child's descriptors are moved onto before execve (a fifo
	// there would fail the exec with EACCES). Stage 0 closes it first.
	exeFD := syncFD + 1
	// One P, and no GOMAXPROCS tracking: the init would otherwise keep the
	// caller's cgroup cpu files open while it waits for start.
	env := []string{"_SKIFF_SYNC=" + strconv.Itoa(syncFD), "_SKIFF_EXE=" + strconv.Itoa(exeFD), "GOMAXPROCS=1", "GODEBUG=updatemaxprocs=0"}
	if len(req.plan.Joins) > 0 {
		var b strings.Builder
		for _, j := range req.plan.Joins {
			fmt.Fprintf(&b, "%x %s\n", j.Kind.Flag, j.Path)
		}
		env = append(env, "_SKIFF_JOIN="+b.String())
	}
	if req.plan.NewFlags != 0 {
		env = append(env, fmt.Sprintf("_SKIFF_NEWNS=%x", req.plan.NewFlags))
	}
	if req.timeNS != "" {
		env = append(env, "_SKIFF_TIMENS="+req.timeNS)
	}
	if req.plan.NewFlags&unix.CLONE_NEWUSER != 0 {
		env = append(env, "_SKIFF_MAPS=1")
	}
	if req.execPlan {
		env = append(env, "_SKIFF_EXECPLAN=1")
	}
	cmd := &exec.Cmd{
		Path:       rootfs.FdPath(exeFD), // resolved in the child, after its descriptors are in place
		Args:       []string{"skiff", "init"},
		Env:        env,
		Stdin:      req.stdin,
		Stdout:     req.stdout,
		Stderr:     req.stderr,
		ExtraFiles: append(append([]*os.File(nil), req.extraFiles...), childSock, exe),
	}
	if err := cmd.Start(); err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("start container process: %w", err)
	}
	if req.afterStart != nil {
		req.afterStart()
	}
	return &startingSpawn{req: req, cmd: cmd, parentSock: parentSock}, nil
}

// abandon ends a spawn whose caller failed after startSpawn: it waits for
// stage 0 as finish does, then kills the process stage 0 made.
func (ss *startingSpawn) abandon() {
	if sp, err := ss.finish(); err == nil {
		killAndWait(sp.pid, processStartTime(sp.pid))
		sp.sync.Close()
	}
}

// finish waits until stage 0 has reported the container process's pid
// (writing the id maps when it asks for them) and has exited.
func (ss *startingSpawn) finish() (*spawned, error) {
	req, cmd, parentSock := ss.req, ss.cmd, ss.parentSock
	pid, err := driveStage0(cmd.Process.Pid, parentSock, req)
	waitErr := cmd.Wait()
	if err == nil && waitErr != nil {
		err = fmt.Errorf("container process setup: %w", waitErr)
	}
	if err != nil {
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
		parentSock.Close()
		return nil, err
	}
	return &spawned{pid: pid, sync: parentSock}, nil
}

func driveStage0(stage0 int, sock *os.File, req spawnRequest) (int, error) {
	for {
		m, err := readStage0(sock)
		if errors.Is(err, io.EOF) {
			return 0, errors.New("container process exited during namespace setup")
		}
		if err != nil {
			return 0, fmt.Errorf("sync with container process: %w", err)
		}
		switch m.Tag {
		case 'U':
			if err := writeIDMaps(stage0, req.uidMap, req.gidMap); err != nil {
				return 0, err
			}
			if _, err := sock.Write([]byte{'u'}); err != nil {
				return 0, fmt.Errorf("sync with container process: %w", err)
			}
		case 'P':
			return int(m.Value), nil
		default:
			return 0, stage0Failure(m)
		}
	}
}

func writeIDMaps(pid int, uids, gids []specs.LinuxIDMapping) error {
	write := func(file string, maps []specs.LinuxIDMapping, field string) error {
		if len(maps) == 0 {
			return fmt.Errorf("linux.%s: a user namespace needs at least one mapping", field)
		}
		var b strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		path := fmt.Sprintf("/proc/%d/%s", pid, file)
		if err := os.WriteFile(path, []byte(b.String()), 0); err != nil {
			return fmt.Errorf("linux.%s: write %s: %w", field, file, err)
		}
		return nil
	}
	if err := write("uid_map", uids, "uidMappings"); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		// An unprivileged user may map its own gid only after giving up
		// setgroups in the namespace.
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
			return fmt.Errorf("rootless: deny setgroups: %w", err)
		}
	}
	return write("gid_map", gids, "gidMappings")
}
