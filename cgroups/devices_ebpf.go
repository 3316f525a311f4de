package cgroups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

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
//
// The program is a straight line of compares and jumps, so it is assembled
// here and loaded with bpf(2) directly (as crun does), without an eBPF
// library: that kept a large dependency, and about a megabyte of binary
// that every skiff process maps, out for one small program.
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

// The eBPF instructions the filter uses (include/uapi/linux/bpf.h): opcode
// = class | operation | source.
const (
	bpfLdxMemW   = 0x01 | 0x60 | 0x00 // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
	bpfAnd32Imm  = 0x04 | 0x50 | 0x00 // BPF_ALU | BPF_AND | BPF_K: dst = (u32)dst & imm
	bpfRsh32Imm  = 0x04 | 0x70 | 0x00 // BPF_ALU | BPF_RSH | BPF_K: dst = (u32)dst >> imm
	bpfMov32Reg  = 0x04 | 0xb0 | 0x08 // BPF_ALU | BPF_MOV | BPF_X: dst = (u32)src
	bpfMov64Imm  = 0x07 | 0xb0 | 0x00 // BPF_ALU64 | BPF_MOV | BPF_K: dst = imm
	bpfJa        = 0x05 | 0x00        // BPF_JMP | BPF_JA: pc += off
	bpfJeqImm    = 0x05 | 0x10 | 0x00 // BPF_JMP | BPF_JEQ | BPF_K: if dst == imm, pc += off
	bpfJneImm    = 0x05 | 0x50 | 0x00 // BPF_JMP | BPF_JNE | BPF_K: if dst != imm, pc += off
	bpfExit      = 0x05 | 0x90        // BPF_JMP | BPF_EXIT: return r0
	bpfR0, bpfR1 = 0, 1
	bpfR2, bpfR3 = 2, 3
	bpfR4, bpfR5 = 4, 5
	bpfR6        = 6
)

// bpfInsn is one instruction before assembly: a jump names its target by
// label, and label (when not 0) names this instruction.
type bpfInsn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
	target   int // jumps: the label jumped to
	label    int
}

// bpfProgram is an assembled program in the kernel's struct bpf_insn
// layout: u8 code, u8 dst_reg:4 + src_reg:4, s16 off, s32 imm.
type bpfProgram []byte

func (p bpfProgram) len() int { return len(p) / 8 }

// assemble resolves labels into relative jump offsets.
func assemble(insns []bpfInsn) (bpfProgram, error) {
	at := map[int]int{}
	for i, in := range insns {
		if in.label != 0 {
			if _, dup := at[in.label]; dup {
				return nil, fmt.Errorf("label %d placed twice", in.label)
			}
			at[in.label] = i
		}
	}
	little := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	out := make(bpfProgram, 0, 8*len(insns))
	for i, in := range insns {
		off := int(in.off)
		if in.target != 0 {
			t, ok := at[in.target]
			if !ok {
				return nil, fmt.Errorf("instruction %d jumps to label %d, which is nowhere", i, in.target)
			}
			off = t - (i + 1)
			if off < 0 || off > 0x7fff {
				return nil, fmt.Errorf("instruction %d: jump offset %d out of range", i, off)
			}
		}
		regs := in.dst | in.src<<4
		if !little {
			regs = in.dst<<4 | in.src
		}
		out = append(out, in.code, regs)
		out = binary.NativeEndian.AppendUint16(out, uint16(int16(off)))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out, nil
}

// deviceFilter compiles rules into the program devicesAllow describes.
// Registers: R2 type, R3 access, R4 major, R5 minor, R6 scratch.
func deviceFilter(rules []deviceRule) []bpfInsn {
	insns := []bpfInsn{
		{code: bpfLdxMemW, dst: bpfR2, src: bpfR1, off: 0},
		{code: bpfAnd32Imm, dst: bpfR2, imm: 0xffff},
		{code: bpfLdxMemW, dst: bpfR3, src: bpfR1, off: 0},
		{code: bpfRsh32Imm, dst: bpfR3, imm: 16},
		{code: bpfLdxMemW, dst: bpfR4, src: bpfR1, off: 4},
		{code: bpfLdxMemW, dst: bpfR5, src: bpfR1, off: 8},
	}
	label := 0
	newLabel := func() int { label++; return label }
	jne := func(reg uint8, imm int32, to int) bpfInsn {
		return bpfInsn{code: bpfJneImm, dst: reg, imm: imm, target: to}
	}
	ret := func(v int32) []bpfInsn {
		return []bpfInsn{{code: bpfMov64Imm, dst: bpfR0, imm: v}, {code: bpfExit}}
	}
	// pending is the label of the next instruction emitted: jumps target
	// "whatever comes next", and the verifier rejects any instruction no
	// path reaches, so labels are only placed where something jumps.
	pending := 0
	emit := func(ins ...bpfInsn) {
		if pending != 0 {
			ins[0].label = pending
			pending = 0
		}
		insns = append(insns, ins...)
	}
	for _, a := range accessBits {
		after := newLabel()
		emit(
			bpfInsn{code: bpfMov32Reg, dst: bpfR6, src: bpfR3},
			bpfInsn{code: bpfAnd32Imm, dst: bpfR6, imm: a.bit},
			bpfInsn{code: bpfJeqImm, dst: bpfR6, imm: 0, target: after},
		)
		decided := false
		for i := len(rules) - 1; i >= 0 && !decided; i-- {
			r := rules[i]
			if !r.hasAccess(a.letter) {
				continue
			}
			skip := newLabel()
			var conds []bpfInsn
			switch r.typ {
			case 'c':
				conds = append(conds, jne(bpfR2, bpfDevChar, skip))
			case 'b':
				conds = append(conds, jne(bpfR2, bpfDevBlock, skip))
			}
			if r.major >= 0 {
				conds = append(conds, jne(bpfR4, int32(r.major), skip))
			}
			if r.minor >= 0 {
				conds = append(conds, jne(bpfR5, int32(r.minor), skip))
			}
			if len(conds) > 0 {
				emit(conds...)
			}
			if r.allow {
				emit(bpfInsn{code: bpfJa, target: after})
			} else {
				emit(ret(0)...)
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
			emit(ret(0)...) // no rule names this bit: deny
		}
		pending = after
	}
	emit(ret(1)...)
	return insns
}

// setDevicesV2 attaches a new filter to the cgroup and then detaches the
// filters attached before it, so the cgroup is never without one.
func setDevicesV2(dir string, rules []deviceRule) error {
	prog, err := assemble(deviceFilter(rules))
	if err != nil {
		return fieldErr("devices", fmt.Errorf("assemble eBPF device filter: %w", err))
	}
	progFd, err := bpfLoadDeviceFilter(prog)
	if err != nil {
		return fieldErr("devices", fmt.Errorf("load eBPF device filter: %w", err))
	}
	defer unix.Close(progFd)
	cg, err := os.Open(dir)
	if err != nil {
		return fieldErr("devices", fmt.Errorf("open cgroup %s: %w", dir, unwrapPathError(err)))
	}
	defer cg.Close()
	fd := int(cg.Fd())

	old, err := bpfQueryDevicePrograms(fd)
	if err != nil {
		return fieldErr("devices", fmt.Errorf("list device filters of %s: %w", dir, err))
	}
	if err := bpfAttachDevice(unix.BPF_PROG_ATTACH, fd, progFd, unix.BPF_F_ALLOW_MULTI); err != nil {
		return fieldErr("devices", fmt.Errorf("attach eBPF device filter to %s: %w", dir, err))
	}
	var errs []error
	for _, id := range old {
		if err := detachProgram(fd, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fieldErr("devices", fmt.Errorf("detach old device filters of %s: %w", dir, err))
	}
	return nil
}

func detachProgram(cgroupFd int, id uint32) error {
	attr := struct{ id, nextID, openFlags uint32 }{id: id}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // already gone
		}
		return fmt.Errorf("program %d: %w", id, err)
	}
	defer unix.Close(fd)
	err = bpfAttachDevice(unix.BPF_PROG_DETACH, cgroupFd, fd, 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("program %d: %w", id, err)
	}
	return nil
}

// bpf is the bpf(2) system call; it returns the call's result (an fd for
// the commands that make one, which the kernel always opens close-on-exec).
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		runtime.KeepAlive(attr)
		// From 4.20 the verifier stops with EAGAIN when a signal (say the
		// Go scheduler's preemption signal) is pending: load again.
		if errno == unix.EAGAIN && cmd == unix.BPF_PROG_LOAD || errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

// bpfLoadDeviceFilter loads prog as a BPF_PROG_TYPE_CGROUP_DEVICE program.
// When the kernel refuses it, the load is repeated with the verifier's log
// on, and the error carries the log's last line.
func bpfLoadDeviceFilter(prog bpfProgram) (int, error) {
	license := []byte("Apache-2.0\x00")
	// union bpf_attr for BPF_PROG_LOAD, up to prog_flags.
	attr := struct {
		progType    uint32
		insnCnt     uint32
		insns       uint64
		license     uint64
		logLevel    uint32
		logSize     uint32
		logBuf      uint64
		kernVersion uint32
		progFlags   uint32
	}{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(prog.len()),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		runtime.KeepAlive(prog)
		runtime.KeepAlive(license)
		return fd, nil
	}
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize = 1, uint32(len(log))
	attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
	if fd, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
		unix.Close(fd) // loaded the second time: report the first failure
	}
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	if end := bytes.IndexByte(log, 0); end >= 0 {
		log = log[:end]
	}
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	if last := string(bytes.TrimSpace(lines[len(lines)-1])); last != "" {
		return -1, fmt.Errorf("%w (verifier: %s)", err, last)
	}
	return -1, err
}

// bpfQueryDevicePrograms returns the ids of the device programs attached
// to the cgroup itself (not those it inherits).
func bpfQueryDevicePrograms(cgroupFd int) ([]uint32, error) {
	ids := make([]uint32, 8)
	for {
		// union bpf_attr for BPF_PROG_QUERY, up to prog_cnt.
		attr := struct {
			targetFd    uint32
			attachType  uint32
			queryFlags  uint32
			attachFlags uint32
			progIds     uint64
			progCnt     uint32
			_           uint32
		}{
			targetFd:   uint32(cgroupFd),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIds:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
			progCnt:    uint32(len(ids)),
		}
		_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(ids)
		if errors.Is(err, unix.ENOSPC) && int(attr.progCnt) > len(ids) {
			ids = make([]uint32, attr.progCnt) // attached meanwhile: ask again
			continue
		}
		if err != nil {
			return nil, err
		}
		return ids[:attr.progCnt], nil
	}
}

// bpfAttachDevice attaches (BPF_PROG_ATTACH) or detaches (BPF_PROG_DETACH)
// a device program on a cgroup.
func bpfAttachDevice(cmd, cgroupFd, progFd int, flags uint32) error {
	// union bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH, up to
	// replace_bpf_fd.
	attr := struct {
		targetFd     uint32
		attachBpfFd  uint32
		attachType   uint32
		attachFlags  uint32
		replaceBpfFd uint32
	}{
		targetFd:    uint32(cgroupFd),
		attachBpfFd: uint32(progFd),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: flags,
	}
	_, err := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}
