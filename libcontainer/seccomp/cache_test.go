//go:build linux && cgo

package seccomp

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func cacheTestProfile() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
		},
	}
}

func onlyEntry(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(entries))
	}
	return filepath.Join(dir, entries[0].Name())
}

func writeEntry(t *testing.T, path string, prog []unix.SockFilter) {
	t.Helper()
	raw := encodeBPF(prog)
	sum := sha256.Sum256(raw)
	if err := os.WriteFile(path, append(sum[:], raw...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCompileCachedStoresAndReadsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := cacheTestProfile()
	plain, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, err := CompileCached(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, plain) {
		t.Fatal("a cached compile differs from a plain one")
	}
	entry := onlyEntry(t, dir)
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache directory mode: %v %v", st.Mode(), err)
	}
	// Plant another valid program under the same name: a second compile
	// must return it, which shows the entry is read rather than compiled.
	planted := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	writeEntry(t, entry, planted)
	second, err := CompileCached(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.Program(), planted) || second.Flags() != plain.Flags() {
		t.Fatalf("the second compile did not come from the cache: %d instructions", len(second.Program()))
	}
}

func TestCompileCachedReplacesADamagedEntry(t *testing.T) {
	dir := t.TempDir()
	cfg := cacheTestProfile()
	want, err := CompileCached(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	entry := onlyEntry(t, dir)
	data, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	for name, damaged := range map[string][]byte{
		"flipped bit": append(append([]byte(nil), data[:len(data)-1]...), data[len(data)-1]^1),
		"truncated":   data[:len(data)-3],
		"empty":       nil,
	} {
		if err := os.WriteFile(entry, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := CompileCached(cfg, dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: a damaged entry was used", name)
		}
		if again, _ := os.ReadFile(entry); string(again) != string(data) {
			t.Fatalf("%s: the damaged entry was not replaced", name)
		}
	}
}

func TestCacheKeyCoversTheRules(t *testing.T) {
	base := cacheKey(cacheTestProfile())
	if base == "" {
		t.Fatal("no key")
	}
	errno := uint(5)
	changes := map[string]func(*specs.LinuxSeccomp){
		"default action": func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActKillProcess },
		"default errno":  func(c *specs.LinuxSeccomp) { c.DefaultErrnoRet = &errno },
		"architectures":  func(c *specs.LinuxSeccomp) { c.Architectures = append(c.Architectures, specs.ArchX86) },
		"names":          func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names = append(c.Syscalls[0].Names, "close") },
		"name order":     func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names[0], c.Syscalls[0].Names[1] = "write", "read" },
		"action":         func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = specs.ActLog },
		"errno":          func(c *specs.LinuxSeccomp) { c.Syscalls[0].ErrnoRet = &errno },
		"arg value":      func(c *specs.LinuxSeccomp) { c.Syscalls[1].Args[0].Value = 9 },
		"arg op":         func(c *specs.LinuxSeccomp) { c.Syscalls[1].Args[0].Op = specs.OpNotEqual },
	}
	for name, change := range changes {
		cfg := cacheTestProfile()
		change(cfg)
		if cacheKey(cfg) == base {
			t.Errorf("%s: same key", name)
		}
	}
	// What the program does not hold does not split the cache.
	cfg := cacheTestProfile()
	cfg.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}
	cfg.ListenerMetadata = "x"
	if cacheKey(cfg) != base {
		t.Error("flags or listener metadata changed the key")
	}
}

func TestCompileCachedIsBounded(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < cacheEntriesMax; i++ {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i%26))+string(rune('a'+i/26))), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := CompileCached(cacheTestProfile(), dir); err != nil {
		t.Fatal(err)
	}
	onlyEntry(t, dir)
}

func TestFilterBinaryRoundTrip(t *testing.T) {
	f, err := Compile(cacheTestProfile())
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Filter
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, f) {
		t.Fatal("filter changed in a round trip")
	}
	for name, bad := range map[string][]byte{
		"empty":            nil,
		"flags only":       data[len(data)-8:],
		"partial insn":     data[3:],
		"longer than 4096": make([]byte, 8+8*4097),
	} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
