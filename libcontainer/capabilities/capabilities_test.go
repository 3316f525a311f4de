package capabilities

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParse(t *testing.T) {
	if c, err := Parse("CAP_SYS_ADMIN"); err != nil || c != 21 {
		t.Fatalf("CAP_SYS_ADMIN = %d, %v", c, err)
	}
	for _, bad := range []string{"SYS_ADMIN", "CAP_TEST", "cap_chown", ""} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFromSpec(t *testing.T) {
	s, err := FromSpec(&specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL"}, Ambient: []string{"CAP_KILL"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Bounding != 1<<0|1<<5 || s.Ambient != 1<<5 || s.Effective != 0 {
		t.Fatalf("got %+v", s)
	}
	if _, err := FromSpec(&specs.LinuxCapabilities{Effective: []string{"CAP_NOPE"}}); err == nil {
		t.Fatal("unknown capability accepted")
	}
}
