package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CompileCached is Compile with a cache of compiled programs in dir (no
// cache when dir is ""). libseccomp takes about 10 ms to compile a profile
// of Docker's or Podman's size (385 syscalls, three architectures) and
// engines give every container the same one: with the cache, only the
// first create or exec of a profile pays it (issue 8).
//
// An entry is named by a hash of everything the program depends on: the
// rules (not the flags or the listener, which the program does not
// hold), the libseccomp version, the kernel, the architecture and the
// running skiff executable (so an upgraded skiff, whose compile may
// differ, never reads an older one's entries). It holds a SHA-256 of the
// program and the program; an entry that fails the check (a write torn
// by a crash) is compiled again and replaced. The cache is in the
// runtime's state root, as private as the state itself.
func CompileCached(cfg *specs.LinuxSeccomp, dir string) (*Filter, error) {
	if !Configured(cfg) {
		return nil, nil
	}
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	bits, err := loadFlags(cfg)
	if err != nil {
		return nil, err
	}
	key := ""
	if dir != "" && compiledIn {
		key = cacheKey(cfg)
	}
	if key != "" {
		if prog, err := readCached(filepath.Join(dir, key)); err == nil {
			return &Filter{bits: bits, prog: prog}, nil
		}
	}
	prog, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if key != "" {
		// Best effort: a failure only means the next one compiles too.
		_ = writeCached(dir, key, prog)
	}
	return &Filter{bits: bits, prog: prog}, nil
}

// cacheEntriesMax bounds the cache: past it, a new entry clears it first.
// Engines use a handful of profiles.
const cacheEntriesMax = 64

// cacheKey returns the entry name for cfg, "" when the executable cannot
// be identified.
func cacheKey(cfg *specs.LinuxSeccomp) string {
	var exe unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &exe); err != nil {
		return ""
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return ""
	}
	in := struct {
		Libseccomp    string
		Kernel        string
		Arch          string
		Exe           [5]int64
		DefaultAction specs.LinuxSeccompAction
		DefaultErrno  *uint
		Architectures []specs.Arch
		Syscalls      []specs.LinuxSyscall
	}{
		Libseccomp:    LibseccompVersion(),
		Kernel:        unix.ByteSliceToString(uts.Release[:]) + " " + unix.ByteSliceToString(uts.Version[:]),
		Arch:          runtime.GOARCH,
		Exe:           [5]int64{int64(exe.Dev), int64(exe.Ino), exe.Size, exe.Mtim.Sec, exe.Mtim.Nsec},
		DefaultAction: cfg.DefaultAction,
		DefaultErrno:  cfg.DefaultErrnoRet,
		Architectures: cfg.Architectures,
		Syscalls:      cfg.Syscalls,
	}
	data, err := json.Marshal(&in)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func readCached(path string) ([]unix.SockFilter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < sha256.Size+8 || len(data) > sha256.Size+8*bpfMaxInsns {
		return nil, errors.New("seccomp cache: bad entry size")
	}
	raw := data[sha256.Size:]
	if sum := sha256.Sum256(raw); !bytes.Equal(sum[:], data[:sha256.Size]) {
		return nil, errors.New("seccomp cache: entry fails its checksum")
	}
	return decodeBPF(raw)
}

func writeCached(dir, key string, prog []unix.SockFilter) error {
	raw := encodeBPF(prog)
	sum := sha256.Sum256(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) >= cacheEntriesMax {
		for _, e := range entries {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	tmp, err := os.CreateTemp(dir, ".new-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(sum[:], raw...))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, key))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("seccomp cache: %w", err)
	}
	return nil
}

// decodeBPF reads struct sock_filter records (u16 code, u8 jt, u8 jf,
// u32 k, host byte order).
func decodeBPF(raw []byte) ([]unix.SockFilter, error) {
	const size = 8
	if len(raw) == 0 || len(raw)%size != 0 {
		return nil, fmt.Errorf("seccomp: BPF export of %d bytes is not a whole program", len(raw))
	}
	prog := make([]unix.SockFilter, len(raw)/size)
	for i := range prog {
		r := raw[i*size : (i+1)*size]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(r[0:2]),
			Jt:   r[2],
			Jf:   r[3],
			K:    binary.NativeEndian.Uint32(r[4:8]),
		}
	}
	return prog, nil
}

// encodeBPF is decodeBPF's inverse.
func encodeBPF(prog []unix.SockFilter) []byte {
	raw := make([]byte, 0, 8*len(prog))
	for _, ins := range prog {
		raw = binary.NativeEndian.AppendUint16(raw, ins.Code)
		raw = append(raw, ins.Jt, ins.Jf)
		raw = binary.NativeEndian.AppendUint32(raw, ins.K)
	}
	return raw
}

// MarshalBinary encodes a compiled filter for the container init: the
// flags and the program, compiled (and cached) by the runtime.
func (f *Filter) MarshalBinary() ([]byte, error) {
	return binary.NativeEndian.AppendUint64(encodeBPF(f.prog), uint64(f.bits)), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, checking that the
// program is one the kernel can take.
func (f *Filter) UnmarshalBinary(data []byte) error {
	if len(data) < 8 || len(data) > 8+8*bpfMaxInsns {
		return fmt.Errorf("seccomp: a filter of %d bytes", len(data))
	}
	prog, err := decodeBPF(data[:len(data)-8])
	if err != nil {
		return err
	}
	f.bits, f.prog = uint(binary.NativeEndian.Uint64(data[len(data)-8:])), prog
	return nil
}
