package libcontainer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/libcontainer/capabilities"
	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
)

// The exec fast path: a process exec'd into a running container is set up
// by stage 0's child in C (namespaces/nsenter/process.c) from a plan the
// runtime makes here, instead of by a Go init. Starting a second Go
// runtime only to set credentials and capabilities and execve was about a
// third of the CPU of `skiff exec` (perf, issue 8). A terminal and a
// seccomp notify listener need the Go init's protocol (a pty master and an
// fd passed back); those execs take the Go path.

// execPlanMagic starts a plan; keep it in sync with PLAN_MAGIC in
// process.c.
const execPlanMagic = 0x504b5853

// execInC reports whether the fast path can set up p.
func execInC(p *specs.Process, sec *specs.LinuxSeccomp) bool {
	return !p.Terminal && !seccomp.UsesNotify(sec)
}

// encodeExecPlan flattens what process.c applies, in its order. The
// decisions that can fail on bad input are made here or before (the
// seccomp filter), before any process exists: capability names.
func encodeExecPlan(p *specs.Process, filter *seccomp.Filter, preserveFDs int) ([]byte, error) {
	caps, err := capabilities.FromSpec(p.Capabilities)
	if err != nil {
		return nil, err
	}
	var b planWriter
	b.u32(execPlanMagic)
	b.u32(p.User.UID)
	b.u32(p.User.GID)
	b.u32(uint32(len(p.User.AdditionalGids)))
	for _, g := range p.User.AdditionalGids {
		b.u32(g)
	}
	umask := int32(-1)
	if p.User.Umask != nil {
		umask = int32(*p.User.Umask)
	}
	b.u32(uint32(umask))
	for _, s := range []uint64{uint64(caps.Bounding), uint64(caps.Effective), uint64(caps.Permitted), uint64(caps.Inheritable), uint64(caps.Ambient)} {
		b.u64(s)
	}
	b.flag(p.NoNewPrivileges)
	b.flag(p.OOMScoreAdj != nil)
	oom := int32(0)
	if p.OOMScoreAdj != nil {
		oom = int32(*p.OOMScoreAdj)
	}
	b.u32(uint32(oom))
	b.str(p.ApparmorProfile)
	b.str(p.SelinuxLabel)
	b.str(p.Cwd)
	b.strs(p.Args)
	b.strs(p.Env)
	b.u32(uint32(preserveFDs))
	var prog []byte
	var flags uint
	if filter != nil {
		prog, flags = filter.ProgramBytes(), filter.Flags()
	}
	b.u32(uint32(flags))
	b.u32(uint32(len(prog) / 8)) // instructions, 8 bytes each
	b.buf = append(b.buf, prog...)
	return b.buf, nil
}

type planWriter struct{ buf []byte }

func (w *planWriter) u32(v uint32) { w.buf = binary.NativeEndian.AppendUint32(w.buf, v) }
func (w *planWriter) u64(v uint64) { w.buf = binary.NativeEndian.AppendUint64(w.buf, v) }
func (w *planWriter) flag(v bool) {
	if v {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}
func (w *planWriter) str(s string)   { w.u32(uint32(len(s))); w.buf = append(w.buf, s...) }
func (w *planWriter) bytes(b []byte) { w.u32(uint32(len(b))); w.buf = append(w.buf, b...) }
func (w *planWriter) strs(v []string) {
	w.u32(uint32(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

// driveExecPlan is driveExec for the fast path: send the plan, join the
// process to the cgroup and set its rlimits when it is ready, then let it
// execve (the socket closes) or report why it could not.
func (r *Runtime) driveExecPlan(sp *spawned, plan []byte, o *ExecOptions, cg cgroups.Manager) error {
	frame := binary.NativeEndian.AppendUint32(make([]byte, 0, 4+len(plan)), uint32(len(plan)))
	if _, err := sp.sync.Write(append(frame, plan...)); err != nil {
		return fmt.Errorf("send exec plan: %w", err)
	}
	m, err := readStage0(sp.sync)
	if errors.Is(err, io.EOF) {
		return errors.New("the process exited before it was ready")
	}
	if err != nil {
		return err
	}
	if m.Tag != 'R' {
		return stage0Failure(m)
	}
	if cg != nil {
		if err := cg.Apply(sp.pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if err := setRlimits(sp.pid, o.Process.Rlimits, r.Log); err != nil {
		return err
	}
	if _, err := sp.sync.Write([]byte{'r'}); err != nil {
		return fmt.Errorf("sync with the exec'd process: %w", err)
	}
	m, err = readStage0(sp.sync)
	if errors.Is(err, io.EOF) {
		return nil // closed at execve: the process runs
	}
	if err != nil {
		return err
	}
	return stage0Failure(m)
}

// readStage0 reads one fixed-size message of stage 0 (struct stage0_msg).
func readStage0(sock *os.File) (stage0Msg, error) {
	var m stage0Msg
	buf := make([]byte, unsafe.Sizeof(m))
	if _, err := io.ReadFull(sock, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return m, err
	}
	if _, err := binary.Decode(buf, binary.NativeEndian, &m); err != nil {
		return m, fmt.Errorf("sync with container process: %w", err)
	}
	return m, nil
}

// stage0Failure is the error a stage 0 message reports ('E': its text,
// with errno's unless 0), or a protocol error for any other.
func stage0Failure(m stage0Msg) error {
	if m.Tag != 'E' {
		return fmt.Errorf("sync: unexpected message %q from container process", m.Tag)
	}
	text := string(m.Text[:])
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	if m.Value == 0 {
		return errors.New(text)
	}
	return fmt.Errorf("%s: %w", text, unix.Errno(m.Value))
}
