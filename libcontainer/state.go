package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Status values. "creating" exists only on disk while create runs; callers
// are shown created/running/paused/stopped, the only values engines accept.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

const (
	stateFile = "state.json"
	// stateTmp is where save writes the next state; after a save it holds
	// the previous one.
	stateTmp = ".state.json.next"
	fifoName = "exec.fifo"
)

// State is what skiff keeps in <root>/<id>/state.json.
type State struct {
	ID       string    `json:"id"`
	Bundle   string    `json:"bundle"`
	Rootfs   string    `json:"rootfs"`
	Pid      int       `json:"pid"`
	PidStart uint64    `json:"pidStart"` // start time of Pid, to detect pid reuse
	Created  time.Time `json:"created"`
	Owner    string    `json:"owner"`
	// Phase is the last lifecycle step recorded: creating, created or
	// running. The status shown is derived from it and the process.
	Phase       string            `json:"phase"`
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// HostMounts: the container has no mount namespace of its own, so its
	// mounts live in the host's under Rootfs and delete removes them.
	HostMounts bool `json:"hostMounts,omitempty"`
	// NotifySocket is the caller's NOTIFY_SOCKET, to which start relays the
	// container's sd_notify messages.
	NotifySocket string `json:"notifySocket,omitempty"`
	// Layer is the writable layer's directory, when the container has one.
	Layer string `json:"layer,omitempty"`
	// NoHooks records that the config has no hooks, so that start and
	// delete need not decode the config to find none (0.3 ms cold).
	// False says nothing: the config is read.
	NoHooks bool `json:"noHooks,omitempty"`
	// Config is the container's spec as created (and updated), kept as
	// the JSON it is stored as and decoded only when asked for. Start,
	// exec, kill and delete read a few of its fields (view): decoding
	// the whole runtime-spec type tree in a fresh process costs about
	// 0.9 ms, the view about 0.3 (issue 8).
	Config      json.RawMessage   `json:"config"`
	Annotations map[string]string `json:"annotations,omitempty"`

	spec *specs.Spec // Config decoded (Spec) or set (setSpec)
	cv   *configView // Config's view
}

// configView is the part of the config that start, exec, kill and delete
// read.
type configView struct {
	Process *specs.Process `json:"process,omitempty"`
	Hooks   *specs.Hooks   `json:"hooks,omitempty"`
	Linux   viewLinux      `json:"linux"`
}

type viewLinux struct {
	Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	Seccomp    *specs.LinuxSeccomp    `json:"seccomp,omitempty"`
}

// Spec returns the container's whole config.
func (st *State) Spec() (*specs.Spec, error) {
	if st.spec == nil {
		var s specs.Spec
		if err := json.Unmarshal(st.Config, &s); err != nil {
			return nil, fmt.Errorf("state of %q: config: %w", st.ID, err)
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		st.spec = &s
	}
	return st.spec, nil
}

// setSpec makes s the container's config; save stores it.
func (st *State) setSpec(s *specs.Spec) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	st.Config, st.spec, st.cv = data, s, nil
	return nil
}

// view returns the fields of configView, from the decoded config if there
// is one.
func (st *State) view() (*configView, error) {
	if st.cv != nil {
		return st.cv, nil
	}
	v := &configView{}
	if s := st.spec; s != nil {
		v.Process, v.Hooks = s.Process, s.Hooks
		if s.Linux != nil {
			v.Linux = viewLinux{Namespaces: s.Linux.Namespaces, Seccomp: s.Linux.Seccomp}
		}
	} else if err := json.Unmarshal(st.Config, v); err != nil {
		return nil, fmt.Errorf("state of %q: config: %w", st.ID, err)
	}
	st.cv = v
	return v, nil
}

// hooks returns the config's hooks; an unreadable config has none (delete
// must still remove what it can).
func (st *State) hooks() *specs.Hooks {
	if st.NoHooks {
		return nil
	}
	v, err := st.view()
	if err != nil {
		return nil
	}
	return v.Hooks
}

// ProcessConfig returns the process settings of the container's config
// (exec starts from them).
func (st *State) ProcessConfig() (*specs.Process, error) {
	v, err := st.view()
	if err != nil {
		return nil, err
	}
	if v.Process == nil {
		return nil, fmt.Errorf("state of %q: config has no process", st.ID)
	}
	return v.Process, nil
}

// store is one runtime root directory (--root).
type store struct{ root string }

func (s store) dir(id string) string { return filepath.Join(s.root, id) }

// seccompCache is where compiled seccomp filters are kept
// (seccomp.CompileCached). The '@' keeps it apart from container ids, and
// list skips it: it holds no state.
func (s store) seccompCache() string { return filepath.Join(s.root, "seccomp@v1") }

// save writes the state atomically: a crash leaves the old or the new
// file, never half of one. The new state is written to stateTmp and
// fsynced, then exchanged with state.json (renameat2 RENAME_EXCHANGE,
// atomic like a rename): the previous state's inode becomes stateTmp and
// is rewritten by the next save, so a container's saves after the first
// allocate and free no inode. On ext4 without a journal a new inode cost
// about 0.5 ms here (the allocator skips recently deleted inodes), four
// times per `run` (issue 8). The first save, and filesystems without
// RENAME_EXCHANGE, rename as before.
func (s store) save(st *State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	dir := s.dir(st.ID)
	tmpPath := filepath.Join(dir, stateTmp)
	tmp, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	dst := filepath.Join(dir, stateFile)
	if unix.Renameat2(unix.AT_FDCWD, tmpPath, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE) == nil {
		return nil
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// ErrNotExist is returned for an unknown container id.
var ErrNotExist = errors.New("does not exist")

func (s store) load(id string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(s.dir(id), stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %q: %w", id, err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state of %q is corrupt: %w", id, err)
	}
	return &st, nil
}

// create makes the state directory of a new container and takes its lock;
// an id in use is refused.
func (s store) create(id string) (unlock func(), err error) {
	if err := os.MkdirAll(s.root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root %q: %w", s.root, err)
	}
	if err := os.Mkdir(s.dir(id), 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q already exists", id)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	unlock, err = s.lock(id)
	if err != nil {
		os.RemoveAll(s.dir(id))
		return nil, err
	}
	return unlock, nil
}

// lock takes the container's exclusive lock (flock on its directory). The
// caller must re-check that the container still exists: a concurrent delete
// may have won.
func (s store) lock(id string) (unlock func(), err error) {
	fd, err := unix.Open(s.dir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open state dir of %q: %w", id, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %q: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// processStartTime reads field 22 of /proc/<pid>/stat; 0 means the process
// does not exist or is a zombie (it has exited).
func processStartTime(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may contain spaces and parentheses: skip to the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

// alive reports whether the container's init is still the process we
// started (same pid, same start time, not a zombie).
func (st *State) alive() bool {
	return st.Pid > 0 && processStartTime(st.Pid) == st.PidStart
}
