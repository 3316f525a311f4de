//go:build linux && cgo

package seccomp

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzValidateCompile: no seccomp section makes Validate or the compiler
// panic, and whatever Validate accepts compiles (the compiler relies on
// Validate for every table lookup).
func FuzzValidateCompile(f *testing.F) {
	f.Add(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}`)
	f.Add(`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"},{"names":["clone"],"action":"SCMP_ACT_TRACE","errnoRet":65535,"args":[{"index":5,"value":1,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}`)
	f.Add(`{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{"names":["read","nope"],"action":"SCMP_ACT_LOG"}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var cfg specs.LinuxSeccomp
		if json.Unmarshal([]byte(doc), &cfg) != nil {
			return
		}
		if Validate(&cfg) != nil || !Configured(&cfg) {
			return
		}
		if _, err := compile(&cfg); err != nil && len(cfg.Architectures) == 0 {
			t.Fatalf("valid config does not compile: %v\n%s", err, doc)
		}
	})
}
