package main

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one TAP test point.
type Result struct {
	Num         int
	OK          bool
	Directive   string // "", "skip" or "todo"
	Description string
}

// TAP is what one program printed at the top level of its standard output.
// Indented lines (YAML diagnostics, which may embed the TAP of runtimetest
// inside the container) are not test points and are ignored.
type TAP struct {
	Results []Result
	Plans   []int // every "1..N" line seen, in order
	Bailout string
	// YAML holds the lines of the YAML blocks that follow no test point
	// (the hook programs of v0.9.0 report their findings only this way).
	YAML []string
}

var (
	testLine = regexp.MustCompile(`^(not ok|ok)\b\s*([0-9]+)?\s*(?:-\s*)?(.*)$`)
	planLine = regexp.MustCompile(`^1\.\.([0-9]+)(\s*#.*)?$`)
)

// ParseTAP reads TAP 12/13 output.
func ParseTAP(r io.Reader) TAP {
	var t TAP
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	inYAML, orphan := false, true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if inYAML {
			if strings.TrimSpace(line) == "..." {
				inYAML = false
			} else if orphan {
				t.YAML = append(t.YAML, line)
			}
			continue
		}
		if strings.TrimSpace(line) == "---" && strings.HasPrefix(line, " ") {
			inYAML = true
			continue
		}
		if m := planLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			t.Plans = append(t.Plans, n)
			continue
		}
		if strings.HasPrefix(line, "Bail out!") {
			t.Bailout = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
			continue
		}
		m := testLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		res := Result{OK: m[1] == "ok"}
		if m[2] != "" {
			res.Num, _ = strconv.Atoi(m[2])
		}
		desc := m[3]
		// A directive starts at the first unescaped '#'.
		if i := strings.Index(desc, "#"); i >= 0 {
			dir := strings.TrimSpace(desc[i+1:])
			low := strings.ToLower(dir)
			switch {
			case strings.HasPrefix(low, "skip"):
				res.Directive = "skip"
				desc = strings.TrimSpace(desc[:i]) + " " + strings.TrimSpace(dir[4:])
			case strings.HasPrefix(low, "todo"):
				res.Directive = "todo"
				desc = strings.TrimSpace(desc[:i]) + " " + strings.TrimSpace(dir[4:])
			}
		}
		res.Description = strings.TrimSpace(desc)
		t.Results = append(t.Results, res)
		orphan = false
	}
	return t
}

// Counts summarises the test points.
type Counts struct {
	Pass, Fail, Skip, Todo int
}

// Total is the number of test points.
func (c Counts) Total() int { return c.Pass + c.Fail + c.Skip + c.Todo }

// Count classifies the test points: a skip is a skip whether ok or not, a
// TODO point never counts as a pass or a failure.
func (t TAP) Count() Counts {
	var c Counts
	for _, r := range t.Results {
		switch {
		case r.Directive == "skip":
			c.Skip++
		case r.Directive == "todo":
			c.Todo++
		case r.OK:
			c.Pass++
		default:
			c.Fail++
		}
	}
	return c
}

// PlanOK reports whether the plan(s) match the test points. A program may
// print several TAP streams one after another (the harness's own and the one
// runtimetest printed inside the container), each with its own plan and its
// own numbering starting at 1, so the plans are compared with the sum.
func (t TAP) PlanOK() bool {
	if len(t.Plans) == 0 {
		return false
	}
	sum := 0
	for _, p := range t.Plans {
		sum += p
	}
	return sum == len(t.Results)
}

// Diagnostics returns the first line of each "error" value in the YAML
// blocks that follow no test point.
func (t TAP) Diagnostics() []string {
	var out []string
	for _, l := range t.YAML {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, `"error":`) {
			continue
		}
		v := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(l, `"error":`)), ",")
		var s string
		if json.Unmarshal([]byte(v), &s) != nil {
			s = v
		}
		if s = strings.TrimSpace(strings.SplitN(s, "\n", 2)[0]); s != "" {
			out = append(out, s)
		}
	}
	return out
}
