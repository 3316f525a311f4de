package main

import (
	"strings"
	"testing"
)

const sample = `TAP version 13
ok 1 - find cpu cgroup
# expect: 1024, actual: 1024
not ok 2 - memory kernel is set correctly
  ---
  {
    "stdout": "not ok 9 - nested, not a test point\n"
  }
  ...
ok 3 # SKIP linux.sysctl not set
not ok 4 # TODO we need the major/minor from the controlling TTY
ok 5 - exit status 1
1..5
`

func TestParseTAP(t *testing.T) {
	tap := ParseTAP(strings.NewReader(sample))
	c := tap.Count()
	if c != (Counts{Pass: 2, Fail: 1, Skip: 1, Todo: 1}) {
		t.Fatalf("counts %+v", c)
	}
	if !tap.PlanOK() {
		t.Fatalf("plan %v, %d results", tap.Plans, len(tap.Results))
	}
	if d := tap.Results[1].Description; d != "memory kernel is set correctly" {
		t.Fatalf("description %q", d)
	}
}

func TestParseTAPTwoStreamsAndNoPlan(t *testing.T) {
	two := "TAP version 13\nok 1 - a\n1..1\nTAP version 13\nok 1 - b\nnot ok 2 - c\n1..2\n"
	if tap := ParseTAP(strings.NewReader(two)); !tap.PlanOK() || tap.Count().Total() != 3 {
		t.Fatalf("two streams: %+v", tap)
	}
	if tap := ParseTAP(strings.NewReader("TAP version 13\nok 1 - a\n")); tap.PlanOK() {
		t.Fatal("missing plan accepted")
	}
}

func TestNoTAPDiagnostics(t *testing.T) {
	hooks := "TAP version 13\n  ---\n  {\n    \"error\": \"Hooks MUST be called in the listed order\\nRefer to: x\"\n  }\n  ...\n1..0\n"
	tap := ParseTAP(strings.NewReader(hooks))
	if tap.Count().Total() != 0 {
		t.Fatal("hook diagnostics counted as test points")
	}
	if d := tap.Diagnostics(); len(d) != 1 || d[0] != "Hooks MUST be called in the listed order" {
		t.Fatalf("diagnostics %q", d)
	}
}

func TestExpected(t *testing.T) {
	list, err := ParseExpected(strings.NewReader(`# comment

linux_cgroups_blkio | <error> | host: no blkio weight files
linux_cgroups_*memory | memory kernel is set correctly | host: kmem limit is a no-op
start | exit status 1 | test bug
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prog, what string
		want       bool
	}{
		{"linux_cgroups_blkio", "<error>", true},
		{"linux_cgroups_blkio", "exit status 1", false},
		{"linux_cgroups_relative_memory", "memory kernel is set correctly", true},
		{"linux_cgroups_memory", "memory kernelTCP is set correctly", false},
		{"start", "exit status 1", true},
		{"misc_props", "exit status 1", false},
	} {
		if got := Match(list, c.prog, c.what) != nil; got != c.want {
			t.Errorf("Match(%s, %q) = %v", c.prog, c.what, got)
		}
	}
	if _, err := ParseExpected(strings.NewReader("start | exit status 1\n")); err == nil {
		t.Error("entry without a reason accepted")
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"a*c", "abc", true}, {"a*c", "ab", false}, {"*", "", true},
		{"devices [x] *", "devices [x] y", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/tmp/a\040b\134c`); got != `/tmp/a b\c` {
		t.Fatalf("got %q", got)
	}
}
