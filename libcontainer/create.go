package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/libcontainer/bundle"
	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
	"github.com/skiff-runtime/skiff/namespaces"
	"github.com/skiff-runtime/skiff/rootfs"
	"github.com/skiff-runtime/skiff/rootfs/layer"
)

// Logger receives what the runtime has to say besides its result.
type Logger interface {
	Warnf(format string, args ...any)
	Debugf(format string, args ...any)
}

// CreateOptions are the inputs of create (and run).
type CreateOptions struct {
	Root          string // runtime state root (--root)
	ID            string
	Bundle        *bundle.Bundle
	PidFile       string
	ConsoleSocket string
	PidfdSocket   string // receives a pidfd of the container's process
	NotifySocket  string // the caller's NOTIFY_SOCKET, relayed by start
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// OnTerminal receives the terminal's master when the process has a
	// terminal and there is no console socket (foreground run proxies it).
	OnTerminal func(master *os.File) error
	Overlay    bool   // give the container a writable layer (--overlay)
	DataRoot   string // where writable layers live (--data-root)
	Stdin      *os.File
	Stdout     *os.File
	Stderr     *os.File
	Log        Logger
	// SystemdCgroup selects the systemd cgroup driver (--systemd-cgroup):
	// linux.cgroupsPath is then runc's "slice:prefix:name".
	SystemdCgroup bool
	// start: Run's, see there.
	start bool
}

// Run creates a container and starts it (`run`). The start happens under
// the create's lock, without writing the "created" state and reading it
// back (a state write is an fsync; issue 8). A failed start removes the
// container as delete --force would, poststop hooks included.
func Run(o *CreateOptions) (*State, error) {
	o.start = true
	st, err := Create(o)
	var failed *startFailure
	if errors.As(err, &failed) {
		rt := &Runtime{Root: o.Root, DataRoot: o.DataRoot, Log: o.Log}
		if derr := rt.Delete(o.ID, true, false); derr != nil && !errors.Is(derr, ErrNotExist) {
			o.Log.Warnf("remove container %s: %v", o.ID, derr)
		}
		return nil, failed.err
	}
	return st, err
}

// startFailure is a start that failed after Create had made the
// container; Run removes it once Create has released the lock.
type startFailure struct{ err error }

func (e *startFailure) Error() string { return e.err.Error() }
func (e *startFailure) Unwrap() error { return e.err }

// crashPoint kills the runtime at a named step when the test-only
// SKIFF_TEST_CRASH_AT says so: the crash-recovery tests use it to stop
// create at a chosen point deterministically.
func crashPoint(name string) {
	if os.Getenv("SKIFF_TEST_CRASH_AT") == name {
		unix.Kill(os.Getpid(), unix.SIGKILL)
		select {}
	}
}

// Create sets up a container up to the point where only the user's
// process remains to start, and records it as created.
func Create(o *CreateOptions) (*State, error) {
	if err := bundle.ValidateID(o.ID); err != nil {
		return nil, err
	}
	spec := o.Bundle.Spec
	if spec.Linux == nil {
		return nil, errors.New("linux: missing (skiff runs Linux containers)")
	}
	plan, err := namespaces.NewPlan(spec.Linux.Namespaces)
	if err != nil {
		return nil, err
	}
	if err := checkPlan(spec, plan, o.SystemdCgroup); err != nil {
		return nil, err
	}
	if err := checkTerminal(spec.Process.Terminal, o.ConsoleSocket, o.OnTerminal); err != nil {
		return nil, err
	}
	if err := checkLSM(spec.Process); err != nil {
		return nil, err
	}
	s := store{o.Root}
	unlock, err := s.create(o.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	st := &State{
		ID: o.ID, Bundle: o.Bundle.Dir, Rootfs: o.Bundle.Rootfs, Created: time.Now().UTC(),
		Phase: StatusCreating, Annotations: spec.Annotations,
		HostMounts: !plan.Has(specs.MountNamespace),
		NoHooks:    !hasHooks(spec.Hooks),
	}
	if o.NotifySocket != "" {
		// The container's spec gets the notify mount; keep the bundle's
		// config untouched.
		spec = cloneSpec(spec)
		o.Bundle.Spec, o.Bundle.Config = spec, nil
		if err := setupNotify(s, st, spec, o.NotifySocket); err != nil {
			os.RemoveAll(s.dir(o.ID))
			return nil, err
		}
	}
	if o.Bundle.Config != nil {
		// Unchanged since it was read: store config.json itself.
		st.Config, st.spec = o.Bundle.Config, spec
	} else if err := st.setSpec(spec); err != nil {
		os.RemoveAll(s.dir(o.ID))
		return nil, err
	}
	c := &creation{o: o, s: s, st: st, plan: plan}
	if err := c.run(); err != nil {
		var failed *startFailure
		if !errors.As(err, &failed) {
			c.rollback()
		}
		return nil, err
	}
	if o.start {
		if err := startCreated(s, o.Log, st, c.startNow()); err != nil {
			return nil, &startFailure{err}
		}
	}
	return st, nil
}

func checkPlan(spec *specs.Spec, plan namespaces.Plan, systemdCgroup bool) error {
	if spec.Hostname != "" && !plan.Has(specs.UTSNamespace) {
		return errors.New("hostname: setting a hostname needs a uts namespace")
	}
	if spec.Domainname != "" && !plan.Has(specs.UTSNamespace) {
		return errors.New("domainname: setting a domainname needs a uts namespace")
	}
	if len(spec.Linux.TimeOffsets) > 0 && !plan.IsNew(specs.TimeNamespace) {
		return errors.New("linux.timeOffsets: needs a new time namespace")
	}
	if plan.IsNew(specs.UserNamespace) && (len(spec.Linux.UIDMappings) == 0 || len(spec.Linux.GIDMappings) == 0) {
		return errors.New("linux.uidMappings: a new user namespace needs uid and gid mappings")
	}
	if !systemdCgroup && spec.Linux.CgroupsPath != "" && strings.Count(spec.Linux.CgroupsPath, ":") == 2 && !strings.HasPrefix(spec.Linux.CgroupsPath, "/") {
		return fmt.Errorf("linux.cgroupsPath: %q is a systemd slice:prefix:name path; give --systemd-cgroup or use a cgroupfs path", spec.Linux.CgroupsPath)
	}
	return nil
}

// creation holds what one create has made so far, so that a failure
// releases exactly that.
type creation struct {
	o     *CreateOptions
	s     store
	st    *State
	plan  namespaces.Plan
	cg    cgroups.Manager
	pid   int
	layer *layer.Layer
	// overlayData is the root's overlay mount data when it has a layer.
	overlayData string
	// seccomp is the compiled filter the init installs (nil: none).
	seccomp *seccomp.Filter
}

// setupCgroup creates the container's cgroup and sets its limits. A
// rootless container whose user may not create cgroups (no delegation)
// runs without one when it asks for no limits, as runc does.
func (c *creation) setupCgroup() error {
	o, spec, st := c.o, c.o.Bundle.Spec, c.st
	var cg cgroups.Manager
	var err error
	if o.SystemdCgroup {
		cg, err = cgroups.NewSystemd(spec.Linux.CgroupsPath, o.ID, spec.Annotations)
	} else {
		cg, err = cgroups.New(spec.Linux.CgroupsPath, o.ID)
	}
	if err != nil {
		return fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	st.CgroupPaths = cg.Paths()
	if err := c.s.save(st); err != nil {
		return err
	}
	crashPoint("before-cgroup")
	if err := cg.Apply(-1); err != nil {
		if os.Geteuid() != 0 && errors.Is(err, os.ErrPermission) {
			cg.Destroy() // whatever levels it could make
			if hasLimits(spec.Linux.Resources) {
				return fmt.Errorf("linux.resources: a rootless container gets cgroup limits only in a cgroup delegated to its user: %w", err)
			}
			o.Log.Debugf("rootless: running without a cgroup (%v)", err)
			st.CgroupPaths = nil
			return c.s.save(st)
		}
		return fmt.Errorf("create cgroup: %w", err)
	}
	c.cg = cg
	// Always: even without resources this installs the default device
	// rules (deny all but the standard nodes).
	if err := cg.Set(withDeviceNodes(spec.Linux.Resources, spec.Linux.Devices)); err != nil {
		return fmt.Errorf("linux.resources: %w", err)
	}
	for _, w := range cg.Warnings() {
		o.Log.Warnf("%s", w)
	}
	return nil
}

// hasLimits reports whether r asks for any limit (device rules alone do
// not count: without a cgroup there is no device controller to set).
func hasLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return false
	}
	return r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil ||
		len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 || len(r.Unified) > 0
}

func (c *creation) run() error {
	o, spec, st := c.o, c.o.Bundle.Spec, c.st
	if wantsLayer(spec, o.Overlay) {
		// Recorded with the cgroup, before either exists: one state
		// write less, and delete --force after a crash finds both
		// (a layer not made yet is nothing to discard).
		dir, err := layer.Path(o.DataRoot, o.ID)
		if err != nil {
			return fmt.Errorf("writable layer: %w", err)
		}
		st.Layer = dir
	}
	extra := make([]*os.File, 0, o.PreserveFDs+1)
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	if !c.startNow() {
		fifo, err := makeExecFifo(c.s.dir(o.ID))
		if err != nil {
			return err
		}
		defer fifo.Close()
		extra = append(extra, fifo)
	}
	// Moving the init into the cgroup at ready would otherwise wait for a
	// grace period first (see earlyprime); let that pass while stage
	// 0 and the init set up.
	ExpectCgroupJoin()
	crashPoint("before-init")
	ss, err := startSpawn(spawnRequest{
		plan:       c.plan.WithoutNew(unix.CLONE_NEWCGROUP),
		timeNS:     timensOffsets(spec.Linux.TimeOffsets),
		uidMap:     spec.Linux.UIDMappings,
		gidMap:     spec.Linux.GIDMappings,
		stdin:      o.Stdin,
		stdout:     o.Stdout,
		stderr:     o.Stderr,
		extraFiles: extra,
		afterStart: func() { crashPoint("after-init") },
	})
	if err != nil {
		return err
	}
	// While stage 0 makes the namespaces and the init's runtime starts
	// (on the other CPU), make the cgroup and the writable layer and
	// compile the seccomp filter: about 1.7 ms less per run than one
	// after the other. Until the init has its bootstrap it does nothing,
	// and it ends when our end of the socket closes.
	err = c.setupCgroup()
	if err == nil {
		err = c.prepareLayer()
	}
	if err == nil {
		if c.seccomp, err = seccomp.CompileCached(spec.Linux.Seccomp, c.s.seccompCache()); err != nil {
			err = fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	if err != nil {
		ss.abandon()
		return err
	}
	sp, err := ss.finish()
	if err != nil {
		return err
	}
	defer sp.sync.Close()
	c.pid = sp.pid
	st.Pid = sp.pid
	st.PidStart = processStartTime(sp.pid)
	// The pid is recorded now for delete --force after a crash: a created
	// init would wait on the fifo forever. One that starts at once needs
	// no record: until it joins the cgroup it ends when our end of the
	// socket closes, and from then on the cgroup holds it. The running
	// state records it (one state write less per run).
	if !c.startNow() {
		if err := c.s.save(st); err != nil {
			return err
		}
	}
	if err := c.talkToInit(sp); err != nil {
		return err
	}
	if !o.start {
		st.Phase = StatusCreated
		if err := c.s.save(st); err != nil {
			return err
		}
	}
	if o.PidfdSocket != "" {
		if err := sendPidfd(o.PidfdSocket, st.Pid); err != nil {
			return err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, st.Pid); err != nil {
			return err
		}
	}
	return nil
}

// startNow: run starts the container at once, and without an exec fifo
// (one inode, four opens and a poll less), unless start must first listen
// for the container's sd_notify messages.
func (c *creation) startNow() bool { return c.o.start && c.st.NotifySocket == "" }

// makeExecFifo makes the fifo on which the init waits for start, and
// opens it (O_PATH) for the init to inherit.
func makeExecFifo(dir string) (*os.File, error) {
	fifoPath := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// Any user the process runs as (or a user namespace's root) must be
	// able to open it for writing; mkfifo applied our umask.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return fifo, nil
}

func (c *creation) talkToInit(sp *spawned) error {
	o, spec, st := c.o, c.o.Bundle.Spec, c.st
	hostHooks := spec.Hooks != nil && (len(spec.Hooks.Prestart) > 0 || len(spec.Hooks.CreateRuntime) > 0)
	var cgMounts []rootfs.CgroupMount
	var cgMountsOf []cgroups.Mount
	if c.cg != nil {
		cgMountsOf = c.cg.Mounts()
	}
	for _, m := range cgMountsOf {
		cgMounts = append(cgMounts, rootfs.CgroupMount{Name: m.Name, HostDir: m.Source})
	}
	fifoFD := 3 + o.PreserveFDs
	if c.startNow() {
		fifoFD = 0
	}
	b := &bootstrap{
		Mode: "create", Spec: newInitSpec(spec), Process: spec.Process,
		Rootfs: o.Bundle.Rootfs, Bundle: o.Bundle.Dir,
		NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring,
		OverlayData:  c.overlayData,
		MountLabel:   effectiveMountLabel(spec),
		HostMountNS:  !c.plan.Has(specs.MountNamespace),
		CgroupMounts: cgMounts,
		NewUserNS:    c.plan.IsNew(specs.UserNamespace),
		NewNetNS:     c.plan.IsNew(specs.NetworkNamespace),
		NewCgroupNS:  c.plan.IsNew(specs.CgroupNamespace),
		PreserveFDs:  o.PreserveFDs,
		FifoFD:       fifoFD,
		HostHooks:    hostHooks,
		State:        st.ociState(StatusCreating),

		SeccompFilter: c.seccomp,
		SeccompNotify: seccomp.UsesNotify(spec.Linux.Seccomp),
	}
	if err := writeMsg(sp.sync, message{Type: msgBootstrap, Bootstrap: b}); err != nil {
		return fmt.Errorf("send bootstrap to container init: %w", err)
	}
	if hostHooks {
		if _, err := expectMsg(sp.sync, msgHooks); err != nil {
			return err
		}
		state := st.ociState(StatusCreating)
		if err := runHooks("prestart", spec.Hooks.Prestart, &state); err != nil {
			return err
		}
		if err := runHooks("createRuntime", spec.Hooks.CreateRuntime, &state); err != nil {
			return err
		}
		if err := writeMsg(sp.sync, message{Type: msgHooksDone}); err != nil {
			return err
		}
	}
	onPty := func(m message) error { return takeTerminal(sp.sync, m, o.ConsoleSocket, o.OnTerminal) }
	if _, err := expectMsgOr(sp.sync, msgReady, onPty); err != nil {
		return err
	}
	crashPoint("after-mounts")
	// The init joins the container's cgroup only now: the pages its Go
	// runtime used so far stay charged to the runtime's own cgroup, so
	// the container's limits count the container, not skiff. The limits
	// are in force before the user's process runs anything.
	if c.cg != nil {
		if err := c.cg.Apply(sp.pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if err := setRlimits(sp.pid, spec.Process.Rlimits, o.Log); err != nil {
		return err
	}
	if err := writeMsg(sp.sync, message{Type: msgRun}); err != nil {
		return err
	}
	// The init closes the socket once the process is ready to run (or,
	// starting at once, by its execve); an error message instead means
	// the last steps failed.
	execing, err := readUntilEOF(sp.sync, sp.pid, spec.Linux.Seccomp, st.ociState(StatusCreating))
	if c.startNow() {
		// What fails from here on fails the start: Run removes the
		// container as delete --force would, poststop hooks included.
		if !errors.Is(err, io.EOF) {
			return &startFailure{err}
		}
		if !execing {
			return &startFailure{fmt.Errorf("container init of %q exited before start", st.ID)}
		}
		return nil // the process runs (or has already exited)
	}
	if !errors.Is(err, io.EOF) {
		return err
	}
	if st.PidStart == 0 || processStartTime(sp.pid) != st.PidStart {
		return errors.New("container init exited during create")
	}
	return nil
}

// setRlimits sets the limits from the runtime's side: raising a hard limit
// needs privileges the init lacks inside a user namespace. A hard limit
// above what this runtime may grant (no CAP_SYS_RESOURCE) is lowered to
// the runtime's own hard limit with a warning: engines ask for more than
// many hosts allow (Podman: open files 1048576), and their containers
// should still run.
func setRlimits(pid int, rlimits []specs.POSIXRlimit, log Logger) error {
	for _, rl := range rlimits {
		res := bundle.RlimitTypes[rl.Type]
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		err := unix.Prlimit(pid, res, &lim, nil)
		if errors.Is(err, unix.EPERM) {
			var own unix.Rlimit
			if gerr := unix.Prlimit(0, res, nil, &own); gerr == nil && rl.Hard > own.Max {
				lim = unix.Rlimit{Cur: min(rl.Soft, own.Max), Max: own.Max}
				log.Warnf("process.rlimits: %s hard limit %d is above this host's %d, which skiff may not raise (no CAP_SYS_RESOURCE): using %d/%d", rl.Type, rl.Hard, own.Max, lim.Cur, lim.Max)
				err = unix.Prlimit(pid, res, &lim, nil)
			}
		}
		if err != nil {
			return fmt.Errorf("process.rlimits: set %s: %w", rl.Type, err)
		}
	}
	return nil
}

func timensOffsets(offsets map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for clock, off := range offsets {
		fmt.Fprintf(&b, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
	}
	return b.String()
}

func (c *creation) prepareLayer() error {
	o, spec := c.o, c.o.Bundle.Spec
	if !wantsLayer(spec, o.Overlay) {
		return nil
	}
	lowers, err := layerLowers(spec, o.Bundle.Rootfs)
	if err != nil {
		return err
	}
	userns := c.plan.Has(specs.UserNamespace)
	uid, gid := 0, 0
	if userns {
		if uid, gid, err = mappedRoot(spec, c.plan); err != nil {
			return err
		}
	}
	if c.layer, err = prepareLayer(o.DataRoot, o.ID, lowers, uid, gid); err != nil {
		return fmt.Errorf("writable layer: %w", err)
	}
	c.overlayData = c.layer.MountOptions(lowers, userns)
	if c.st.Layer == c.layer.Dir() {
		return nil // recorded before it was made
	}
	c.st.Layer = c.layer.Dir()
	return c.s.save(c.st)
}

// rollback releases what a failed create made: the process, the cgroup,
// the writable layer and the state directory.
func (c *creation) rollback() {
	if c.pid > 0 {
		killAndWait(c.pid, c.st.PidStart)
	}
	if c.cg != nil {
		if err := c.cg.Kill(unix.SIGKILL); err == nil {
			waitCgroupEmpty(c.cg)
		}
		if err := c.cg.Destroy(); err != nil {
			c.o.Log.Warnf("remove cgroup: %v", err)
		}
	}
	if c.st.HostMounts {
		if err := rootfs.UnmountUnder(c.st.Rootfs); err != nil {
			c.o.Log.Warnf("%v", err)
		}
	}
	if c.layer != nil {
		if err := c.layer.Discard(); err != nil {
			c.o.Log.Warnf("remove writable layer: %v", err)
		}
	}
	os.RemoveAll(c.s.dir(c.o.ID))
}

// writePidFile writes the bare pid (no newline: go-runc parses it with
// Atoi) through a temporary file and a rename.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %q: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// withDeviceNodes allows, after the config's own rules, every device node
// the config asks skiff to create (as runc does): a node in /dev the
// device controller refuses would be useless, and mknod would fail.
func withDeviceNodes(r *specs.LinuxResources, devices []specs.LinuxDevice) *specs.LinuxResources {
	if len(devices) == 0 {
		return r
	}
	out := &specs.LinuxResources{}
	if r != nil {
		*out = *r
	}
	out.Devices = append([]specs.LinuxDeviceCgroup(nil), out.Devices...)
	for _, d := range devices {
		typ := d.Type
		switch typ {
		case "p":
			continue // fifos are not device-controlled
		case "u":
			typ = "c"
		}
		major, minor := d.Major, d.Minor
		out.Devices = append(out.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: "rwm"})
	}
	return out
}

func cloneSpec(s *specs.Spec) *specs.Spec {
	data, err := json.Marshal(s)
	if err != nil {
		return s
	}
	var out specs.Spec
	if json.Unmarshal(data, &out) != nil {
		return s
	}
	return &out
}
