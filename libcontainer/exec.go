package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/cgroups/earlyprime"
	"github.com/skiff-runtime/skiff/libcontainer/bundle"
	"github.com/skiff-runtime/skiff/libcontainer/capabilities"
	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
	"github.com/skiff-runtime/skiff/namespaces"
)

// ExecOptions are the inputs of exec.
type ExecOptions struct {
	ID string
	// Container is the container's state if the caller has just loaded
	// it (Exec loads it otherwise).
	Container   *State
	Process     *specs.Process
	PidFile     string
	PreserveFDs int
	// ConsoleSocket and OnTerminal receive the terminal, as for create.
	ConsoleSocket string
	PidfdSocket   string
	OnTerminal    func(master *os.File) error
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
}

// Exec starts another process in a running container: in every one of its
// namespaces and in its cgroup. It returns the new process's host pid once
// that process runs; it is a child of the caller, which may wait for it.
func (r *Runtime) Exec(o *ExecOptions) (int, error) {
	st := o.Container
	if st == nil {
		var err error
		if st, err = r.Load(o.ID); err != nil {
			return 0, err
		}
	}
	switch status := r.Status(st); status {
	case StatusStopped:
		return 0, fmt.Errorf("cannot exec in container %q: it is stopped", o.ID)
	case StatusPaused:
		return 0, fmt.Errorf("cannot exec in container %q: it is paused (resume it first)", o.ID)
	}
	if err := checkExecProcess(o.Process); err != nil {
		return 0, err
	}
	if err := checkTerminal(o.Process.Terminal, o.ConsoleSocket, o.OnTerminal); err != nil {
		return 0, err
	}
	if err := checkLSM(o.Process); err != nil {
		return 0, err
	}
	plan, err := joinPlanOf(st)
	if err != nil {
		return 0, err
	}
	if len(st.CgroupPaths) > 0 {
		ExpectCgroupJoin()
	}
	v, err := st.view()
	if err != nil {
		return 0, err
	}
	inC := execInC(o.Process, v.Linux.Seccomp)
	if inC {
		// Bad input fails before any process exists (the Go init checks
		// the names itself).
		if _, err := capabilities.FromSpec(o.Process.Capabilities); err != nil {
			return 0, fmt.Errorf("exec in %q: %w", o.ID, err)
		}
	}
	extra := make([]*os.File, 0, o.PreserveFDs)
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	req := spawnRequest{plan: plan, stdin: o.Stdin, stdout: o.Stdout, stderr: o.Stderr, extraFiles: extra, execPlan: inC}
	// The init must still be the process we started when we open its
	// namespaces, or we would join whatever reused its pid.
	if !st.alive() {
		return 0, fmt.Errorf("cannot exec in container %q: it is stopped", o.ID)
	}
	ss, err := startSpawn(req)
	if err != nil {
		return 0, fmt.Errorf("exec in %q: %w", o.ID, err)
	}
	// While stage 0 joins the namespaces: the cgroup, the filter (kept
	// compiled since create), the plan.
	var cg cgroups.Manager
	var filter *seccomp.Filter
	var execPlan []byte
	if len(st.CgroupPaths) > 0 {
		if cg, err = cgroups.Load(st.CgroupPaths); err != nil {
			err = fmt.Errorf("cgroup of %q: %w", o.ID, err)
		}
	}
	if err == nil {
		if filter, err = seccomp.CompileCached(v.Linux.Seccomp, r.store().seccompCache()); err != nil {
			err = fmt.Errorf("exec in %q: linux.seccomp: %w", o.ID, err)
		}
	}
	if err == nil && inC {
		if execPlan, err = encodeExecPlan(o.Process, filter, o.PreserveFDs); err != nil {
			err = fmt.Errorf("exec in %q: %w", o.ID, err)
		}
	}
	if err != nil {
		ss.abandon()
		return 0, err
	}
	sp, err := ss.finish()
	if err != nil {
		return 0, fmt.Errorf("exec in %q: %w", o.ID, err)
	}
	defer sp.sync.Close()
	if execPlan != nil {
		err = r.driveExecPlan(sp, execPlan, o, cg)
	} else {
		err = r.driveExec(sp, o, st, cg, filter)
	}
	if err != nil {
		killAndWait(sp.pid, processStartTime(sp.pid))
		return 0, fmt.Errorf("exec in %q: %w", o.ID, err)
	}
	if o.PidfdSocket != "" {
		if err := sendPidfd(o.PidfdSocket, sp.pid); err != nil {
			return sp.pid, err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, sp.pid); err != nil {
			return sp.pid, err
		}
	}
	return sp.pid, nil
}

func (r *Runtime) driveExec(sp *spawned, o *ExecOptions, st *State, cg cgroups.Manager, filter *seccomp.Filter) error {
	v, err := st.view()
	if err != nil {
		return err
	}
	// An exec'd process gets the container's seccomp filter; the rest of
	// the config is the container's setup, done long ago.
	b := &bootstrap{
		Mode: "exec", Spec: &initSpec{}, Process: o.Process, PreserveFDs: o.PreserveFDs, State: st.ociState(StatusRunning),
		SeccompFilter: filter, SeccompNotify: seccomp.UsesNotify(v.Linux.Seccomp),
	}
	if err := writeMsg(sp.sync, message{Type: msgBootstrap, Bootstrap: b}); err != nil {
		return err
	}
	onPty := func(m message) error { return takeTerminal(sp.sync, m, o.ConsoleSocket, o.OnTerminal) }
	if _, err := expectMsgOr(sp.sync, msgReady, onPty); err != nil {
		return err
	}
	if cg != nil {
		// As for create: join once the Go side's work is done.
		if err := cg.Apply(sp.pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if err := setRlimits(sp.pid, o.Process.Rlimits, r.Log); err != nil {
		return err
	}
	if err := writeMsg(sp.sync, message{Type: msgRun}); err != nil {
		return err
	}
	// The socket closes at execve: EOF means the process runs.
	if _, err := readUntilEOF(sp.sync, sp.pid, v.Linux.Seccomp, st.ociState(StatusRunning)); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// joinPlanOf lists the namespaces of the container's init to join: every
// kind the container was given (user first, mount last).
func joinPlanOf(st *State) (namespaces.Plan, error) {
	var plan namespaces.Plan
	v, err := st.view()
	if err != nil {
		return plan, err
	}
	for _, ns := range v.Linux.Namespaces {
		k, ok := namespaces.Lookup(ns.Type)
		if !ok {
			return plan, fmt.Errorf("unknown namespace type %q in saved config", ns.Type)
		}
		plan.Joins = append(plan.Joins, namespaces.Join{Kind: k, Path: fmt.Sprintf("/proc/%d/ns/%s", st.Pid, k.ProcName)})
	}
	return namespaces.SortJoins(plan), nil
}

// checkExecProcess validates an exec process and refuses fields skiff
// does not implement yet rather than ignoring them.
func checkExecProcess(p *specs.Process) error {
	if err := bundle.ValidateProcess(p); err != nil {
		return err
	}
	if p.Scheduler != nil {
		return errors.New("process.scheduler: not supported by skiff yet")
	}
	if p.IOPriority != nil {
		return errors.New("process.ioPriority: not supported by skiff yet")
	}
	if p.ExecCPUAffinity != nil {
		return errors.New("process.execCPUAffinity: not supported by skiff yet")
	}
	return nil
}

var cgroupJoinPrimed sync.Once

// ExpectCgroupJoin says that a process will soon be moved into a
// container's cgroup (create, exec): the grace period that move would wait
// for starts now, on a goroutine (see earlyprime). Create and
// Exec call it; a caller that knows sooner (the CLI, before it reads
// anything) may call it first. Only the first call in a process does
// anything.
func ExpectCgroupJoin() {
	cgroupJoinPrimed.Do(func() { go earlyprime.PrimeNow() })
}

// CgroupJoinPrimed says the caller has started that wait itself (skiff's
// earlyprime constructor does, before the Go runtime): ExpectCgroupJoin
// then does nothing.
func CgroupJoinPrimed() { cgroupJoinPrimed.Do(func() {}) }
