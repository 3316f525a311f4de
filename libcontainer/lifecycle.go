package libcontainer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/rootfs"
	"github.com/skiff-runtime/skiff/rootfs/layer"
)

// Runtime is one state root.
type Runtime struct {
	Root     string
	DataRoot string // writable layers (--data-root)
	Log      Logger
}

func (r *Runtime) store() store { return store{r.Root} }

// Status derives the status shown to callers from facts: whether the init
// is alive, whether it still waits on the exec fifo, whether it is frozen.
func (r *Runtime) Status(st *State) string {
	if st.Phase == StatusCreating || !st.alive() {
		return StatusStopped
	}
	if _, err := os.Lstat(filepath.Join(r.store().dir(st.ID), fifoName)); err == nil {
		return StatusCreated
	}
	if cg, err := cgroups.Load(st.CgroupPaths); err == nil {
		if frozen, err := cg.Frozen(); err == nil && frozen {
			return StatusPaused
		}
	}
	return StatusRunning
}

// OCIState is what `state` and `list` print: the OCI state plus runc's
// extra fields. pid is always present (0 once stopped), as runc prints it.
type OCIState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func (st *State) ociState(status string) specs.State {
	pid := st.Pid
	if status == StatusStopped {
		pid = 0
	}
	return specs.State{
		Version: specs.Version, ID: st.ID, Status: specs.ContainerState(status),
		Pid: pid, Bundle: st.Bundle, Annotations: st.Annotations,
	}
}

// Load reads a container's state.
func (r *Runtime) Load(id string) (*State, error) { return r.store().load(id) }

// State returns the OCI state of a container.
func (r *Runtime) State(id string) (*OCIState, error) {
	st, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	return r.describe(st), nil
}

func (r *Runtime) describe(st *State) *OCIState {
	h := st.ociState(r.Status(st))
	o := &OCIState{
		Version: h.Version, ID: h.ID, Status: string(h.Status), Pid: h.Pid, Bundle: h.Bundle,
		Rootfs: st.Rootfs, Created: st.Created, Owner: st.Owner, Annotations: h.Annotations,
	}
	if st.Layer != "" {
		o.Annotations = map[string]string{}
		for k, v := range st.Annotations {
			o.Annotations[k] = v
		}
		o.Annotations[LayerDirAnnotation] = st.Layer
	}
	return o
}

// List returns the state of every container under the root.
func (r *Runtime) List() ([]*OCIState, error) {
	entries, err := os.ReadDir(r.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state root: %w", err)
	}
	var out []*OCIState
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		st, err := r.Load(e.Name())
		if err != nil {
			continue // being created or deleted right now
		}
		out = append(out, r.describe(st))
	}
	return out, nil
}

// locked loads a container under its lock.
func (r *Runtime) locked(id string) (*State, func(), error) {
	unlock, err := r.store().lock(id)
	if err != nil {
		return nil, nil, err
	}
	st, err := r.Load(id)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return st, unlock, nil
}

// Start releases a created container's init to run the user's process.
func (r *Runtime) Start(id string) error {
	st, unlock, err := r.locked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if status := r.Status(st); status != StatusCreated {
		return fmt.Errorf("cannot start container %q: it is %s, not created", id, status)
	}
	return startCreated(r.store(), r.Log, st, false)
}

// startCreated releases the init of a created container (unless it is
// already on its way: run without an exec fifo), records it as running
// and runs the poststart hooks; the caller holds the lock.
func startCreated(s store, log Logger, st *State, released bool) error {
	if !released {
		if err := releaseWithNotify(s, log, st); err != nil {
			return err
		}
	}
	st.Phase = StatusRunning
	if err := s.save(st); err != nil {
		return err
	}
	if h := st.hooks(); h != nil {
		state := st.ociState(StatusRunning)
		if err := runHooks("poststart", h.Poststart, &state); err != nil {
			log.Warnf("%v", err)
		}
	}
	return nil
}

// releaseWithNotify opens the exec fifo for the init, relaying the
// container's sd_notify messages from then on when asked to.
func releaseWithNotify(s store, log Logger, st *State) error {
	var notify *net.UnixConn
	if st.NotifySocket != "" {
		var err error
		if notify, err = listenNotify(s.dir(st.ID)); err != nil {
			return err
		}
	}
	fifoPath := filepath.Join(s.dir(st.ID), fifoName)
	if err := releaseInit(st, fifoPath); err != nil {
		if notify != nil {
			notify.Close()
		}
		return err
	}
	if notify != nil {
		if err := relayNotify(notify, st.NotifySocket, st); err != nil {
			log.Warnf("%v", err)
		}
	}
	return nil
}

// releaseInit opens the exec fifo (unblocking the init), then waits until
// the init has either exec'd the process (the fifo closes with nothing
// more written) or reported why it could not.
func releaseInit(st *State, fifoPath string) error {
	fifo, err := os.OpenFile(fifoPath, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	defer os.Remove(fifoPath)
	var got []byte
	buf := make([]byte, 4096)
	fds := []unix.PollFd{{Fd: int32(fifo.Fd()), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for container init: %w", err)
		}
		if n == 0 {
			if !st.alive() {
				return fmt.Errorf("container init of %q exited before start", st.ID)
			}
			continue
		}
		k, err := unix.Read(int(fifo.Fd()), buf)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read exec fifo: %w", err)
		}
		if k == 0 {
			if len(got) == 0 {
				// A writer came and went without a word: it died.
				return fmt.Errorf("container init of %q exited before start", st.ID)
			}
			break
		}
		got = append(got, buf[:k]...)
	}
	if len(got) > 1 {
		return fmt.Errorf("start %q: %s", st.ID, got[1:])
	}
	return nil
}

// Signal sends sig to the container's init, or with all to every process
// in its cgroup.
func (r *Runtime) Signal(id string, sig unix.Signal, all bool) error {
	st, err := r.Load(id)
	if err != nil {
		return err
	}
	status := r.Status(st)
	if status == StatusStopped {
		if all {
			return nil
		}
		return errors.New("container not running")
	}
	if all && len(st.CgroupPaths) > 0 {
		cg, err := cgroups.Load(st.CgroupPaths)
		if err != nil {
			return err
		}
		return cg.Kill(sig)
	}
	// Without a cgroup (rootless) "all" can only mean the init: with its
	// own pid namespace, the others die with it.
	if err := signalProcess(st.Pid, st.PidStart, sig); err != nil {
		return err
	}
	if sig == unix.SIGKILL && !st.hasNewPidNS() {
		// Without its own pid namespace the init's death would not take
		// the other processes with it: kill them all.
		if cg, err := cgroups.Load(st.CgroupPaths); err == nil {
			cg.Kill(unix.SIGKILL)
		}
	}
	if sig == unix.SIGKILL && status == StatusPaused {
		// A frozen process cannot die until thawed.
		if cg, err := cgroups.Load(st.CgroupPaths); err == nil {
			cg.Thaw()
		}
	}
	return nil
}

// signalProcess signals pid through a pidfd after checking it is still
// the process that started at start, so a reused pid is never hit.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errors.New("container not running")
		}
		return fmt.Errorf("open pidfd of %d: %w", pid, err)
	}
	defer unix.Close(pfd)
	if processStartTime(pid) != start {
		return errors.New("container not running")
	}
	if err := unix.PidfdSendSignal(pfd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errors.New("container not running")
		}
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}

// Delete removes a container. Without force only a stopped or created one;
// with force anything, killing its processes first. Unknown ids are an
// error without force, nothing with it (removing a leftover directory).
//
// The writable layer goes too, unless keepLayer (for a later commit).
func (r *Runtime) Delete(id string, force, keepLayer bool) error {
	s := r.store()
	unlock, err := s.lock(id)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			// A layer kept by an earlier `delete --keep-layer` is removed
			// by deleting its id again.
			if l, lerr := layer.Open(r.DataRoot, id); lerr == nil && !keepLayer {
				return l.Discard()
			}
			if force {
				return nil
			}
		}
		return err
	}
	defer unlock()
	st, err := r.Load(id)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			// A directory without state: a create killed before its first
			// state write. Nothing else can exist yet.
			os.RemoveAll(s.dir(id))
			if force {
				return nil
			}
		}
		return err
	}
	status := r.Status(st)
	if (status == StatusRunning || status == StatusPaused) && !force {
		return fmt.Errorf("cannot delete container %q that is %s: stop it or use --force", id, status)
	}
	var cg cgroups.Manager
	if len(st.CgroupPaths) > 0 {
		if cg, err = cgroups.Load(st.CgroupPaths); err != nil {
			return fmt.Errorf("cgroup of %q: %w", id, err)
		}
	}
	if status != StatusStopped || st.Phase == StatusCreating {
		killAndWait(st.Pid, st.PidStart)
	}
	if cg != nil {
		// Every process left in the container's own cgroup belongs to it
		// (e.g. children of a crashed create, or of an init without a pid
		// namespace).
		if pids, _ := cg.Pids(); len(pids) > 0 {
			cg.Thaw()
			cg.Kill(unix.SIGKILL)
			waitCgroupEmpty(cg)
		}
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("delete %q: %w", id, err)
		}
	}
	if st.HostMounts {
		if err := rootfs.UnmountUnder(st.Rootfs); err != nil {
			return fmt.Errorf("delete %q: %w", id, err)
		}
	}
	if err := r.discardLayer(st, keepLayer); err != nil {
		return fmt.Errorf("delete %q: writable layer: %w", id, err)
	}
	if err := os.RemoveAll(s.dir(id)); err != nil {
		return fmt.Errorf("remove state of %q: %w", id, err)
	}
	if h := st.hooks(); h != nil {
		state := st.ociState(StatusStopped)
		if err := runHooks("poststop", h.Poststop, &state); err != nil {
			r.Log.Warnf("%v", err)
		}
	}
	return nil
}

// killAndWait SIGKILLs the process if it is still the one we started and
// waits (bounded) until it is gone.
func killAndWait(pid int, start uint64) {
	if pid <= 0 || processStartTime(pid) != start || start == 0 {
		return
	}
	signalProcess(pid, start, unix.SIGKILL)
	for i := 0; i < 500 && processStartTime(pid) == start; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

func waitCgroupEmpty(cg cgroups.Manager) {
	for i := 0; i < 500; i++ {
		pids, err := cg.Pids()
		if err != nil || len(pids) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hasNewPidNS reports whether the container has a pid namespace of its
// own (an unreadable config counts as not: kill then kills every process
// of its cgroup).
func (st *State) hasNewPidNS() bool {
	v, err := st.view()
	if err != nil {
		return false
	}
	for _, ns := range v.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}
