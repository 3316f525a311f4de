package cgroups

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// cgroup v2 has no devices files: device access is decided by an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. The
// kernel calls it with struct bpf_cgroup_dev_ctx
//
//	u32 access_type  // (access << 16) | type
//	u32 major
//	u32 minor
//
// and allows the access when it returns 1.
const (
	bpfDevBlock = 1 // BPF_DEVCG_DEV_BLOCK
	bpfDevChar  = 2 // BPF_DEVCG_DEV_CHAR

	bpfAccMknod = 1 // BPF_DEVCG_ACC_MKNOD
	bpfAccRead  = 2 // BPF_DEVCG_ACC_READ
	bpfAccWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// accessBits pairs each access letter with its bit in access_type.
var accessBits = []struct {
	letter byte
	bit    int32
}{{'m', bpfAccMknod}, {'r', bpfAccRead}, {'w', bpfAccWrite}}

// covers reports whether r covers a device of type typ (bpfDev*).
func (r deviceRule) covers(typ int32, major, minor int64) bool {
	if r.typ == 'c' && typ != bpfDevChar || r.typ == 'b' && typ != bpfDevBlock {
		return false
	}
	return (r.major < 0 || r.major == major) && (r.minor < 0 || r.minor == minor)
}

func (r deviceRule) hasAccess(letter byte) bool {
	for i := 0; i < len(r.access); i++ {
		if r.access[i] == letter {
			return true
		}
	}
	return false
}

// devicesAllow is the decision the eBPF program makes, in Go, for tests
// and for documentation: each requested access bit is decided on its own by
// the last rule that covers the device and names that bit; a bit no rule
// names is denied; the access is allowed when every requested bit is. This
// is what replaying the same rules through v1 devices.allow/deny gives.
func devicesAllow(rules []deviceRule, typ int32, major, minor int64, access int32) bool {
	for _, a := range accessBits {
		if access&a.bit == 0 {
			continue
		}
		allowed := false
		for i := len(rules) - 1; i >= 0; i-- {
			r := rules[i]
			if r.hasAccess(a.letter) && r.covers(typ, major, minor) {
				allowed = r.allow
				break
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// deviceFilter compiles rules into the program devicesAllow describes.
// Registers: R2 type, R3 access, R4 major, R5 minor, R6 scratch.
func deviceFilter(rules []deviceRule) asm.Instructions {
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	label := 0
	newLabel := func() string { label++; return fmt.Sprintf("l%d", label) }
	// pending is the label of the next instruction emitted: jumps target
	// "whatever comes next", and the verifier rejects any instruction no
	// path reaches, so labels are only placed where something jumps.
	pending := ""
	emit := func(ins ...asm.Instruction) {
		if pending != "" {
			ins[0] = ins[0].WithSymbol(pending)
			pending = ""
		}
		insns = append(insns, ins...)
	}
	for _, a := range accessBits {
		after := newLabel()
		emit(
			asm.Mov.Reg32(asm.R6, asm.R3),
			asm.And.Imm32(asm.R6, a.bit),
			asm.JEq.Imm(asm.R6, 0, after),
		)
		decided := false
		for i := len(rules) - 1; i >= 0 && !decided; i-- {
			r := rules[i]
			if !r.hasAccess(a.letter) {
				continue
			}
			skip := newLabel()
			var conds asm.Instructions
			switch r.typ {
			case 'c':
				conds = append(conds, asm.JNE.Imm(asm.R2, bpfDevChar, skip))
			case 'b':
				conds = append(conds, asm.JNE.Imm(asm.R2, bpfDevBlock, skip))
			}
			if r.major >= 0 {
				conds = append(conds, asm.JNE.Imm(asm.R4, int32(r.major), skip))
			}
			if r.minor >= 0 {
				conds = append(conds, asm.JNE.Imm(asm.R5, int32(r.minor), skip))
			}
			if len(conds) > 0 {
				emit(conds...)
			}
			if r.allow {
				emit(asm.Ja.Label(after))
			} else {
				emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
			}
			if len(conds) == 0 {
				// Covers every device: earlier rules can never decide
				// this bit.
				decided = true
			} else {
				pending = skip
			}
		}
		if !decided {
			emit(asm.Mov.Imm(asm.R0, 0), asm.Return()) // no rule names this bit: deny
		}
		pending = after
	}
	emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
	return insns
}

// setDevicesV2 attaches a new filter to the cgroup and then detaches the
// filters attached before it, so the cgroup is never without one.
func setDevicesV2(dir string, rules []deviceRule) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.CGroupDevice,
		Instructions: deviceFilter(rules),
		License:      "Apache-2.0",
	})
	if err != nil {
		return fieldErr("devices", fmt.Errorf("load eBPF device filter: %w", err))
	}
	defer prog.Close()
	cg, err := os.Open(dir)
	if err != nil {
		return fieldErr("devices", fmt.Errorf("open cgroup %s: %w", dir, unwrapPathError(err)))
	}
	defer cg.Close()
	fd := int(cg.Fd())

	old, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fieldErr("devices", fmt.Errorf("list device filters of %s: %w", dir, err))
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fieldErr("devices", fmt.Errorf("attach eBPF device filter to %s: %w", dir, err))
	}
	var errs []error
	for _, p := range old.Programs {
		if err := detachProgram(fd, p.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fieldErr("devices", fmt.Errorf("detach old device filters of %s: %w", dir, err))
	}
	return nil
}

func detachProgram(cgroupFd int, id ebpf.ProgramID) error {
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // already gone
		}
		return fmt.Errorf("program %d: %w", id, err)
	}
	defer p.Close()
	err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: cgroupFd, Program: p, Attach: ebpf.AttachCGroupDevice})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("program %d: %w", id, err)
	}
	return nil
}
