package cgroups

import (
	"encoding/binary"
	"testing"
)

func attachedDevicePrograms(t *testing.T, fd int) int {
	t.Helper()
	ids, err := bpfQueryDevicePrograms(fd)
	if err != nil {
		t.Fatalf("query programs: %v", err)
	}
	return len(ids)
}

// runDeviceFilter interprets an assembled device filter the way the kernel
// runs it, for the instructions deviceFilter emits, on one
// bpf_cgroup_dev_ctx; it fails the test on anything else.
func runDeviceFilter(t *testing.T, p bpfProgram, typ, major, minor, access uint32) int64 {
	t.Helper()
	ctx := [3]uint32{access<<16 | typ, major, minor}
	var reg [11]uint64
	little := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	for pc, steps := 0, 0; ; pc, steps = pc+1, steps+1 {
		if pc < 0 || pc >= p.len() || steps > p.len() {
			t.Fatalf("pc %d out of the program (%d instructions) or a loop", pc, p.len())
		}
		b := p[8*pc : 8*pc+8]
		dst, src := b[1]&0xf, b[1]>>4
		if !little {
			dst, src = b[1]>>4, b[1]&0xf
		}
		off := int(int16(binary.NativeEndian.Uint16(b[2:4])))
		imm := int32(binary.NativeEndian.Uint32(b[4:8]))
		switch b[0] {
		case bpfLdxMemW:
			if src != bpfR1 || off < 0 || off > 8 || off%4 != 0 {
				t.Fatalf("pc %d: load from r%d%+d", pc, src, off)
			}
			reg[dst] = uint64(ctx[off/4])
		case bpfAnd32Imm:
			reg[dst] = uint64(uint32(reg[dst]) & uint32(imm))
		case bpfRsh32Imm:
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(imm))
		case bpfMov32Reg:
			reg[dst] = uint64(uint32(reg[src]))
		case bpfMov64Imm:
			reg[dst] = uint64(int64(imm))
		case bpfJa:
			pc += off
		case bpfJeqImm:
			if reg[dst] == uint64(int64(imm)) {
				pc += off
			}
		case bpfJneImm:
			if reg[dst] != uint64(int64(imm)) {
				pc += off
			}
		case bpfExit:
			return int64(reg[bpfR0])
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, b[0])
		}
	}
}
