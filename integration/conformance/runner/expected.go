package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Expected is one entry of the expected-failure list.
//
// File format: one entry per line, three fields separated by " | ":
//
//	program | assertion | reason
//
// program is the validation program's name (a glob is allowed). assertion is
// the description of the failing TAP test point, as printed after
// "not ok N - " (a glob: '*' matches any run of characters, so brackets in
// descriptions need no escaping), or one of the program statuses <error>,
// <timeout> or <no-tap>. reason is mandatory. Blank lines and lines starting
// with '#' are comments.
type Expected struct {
	Program   string
	Assertion string
	Reason    string
	Line      int
	Used      int
}

// ParseExpected reads an expected-failure list.
func ParseExpected(r io.Reader) ([]*Expected, error) {
	var out []*Expected
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " | ", 3)
		if len(f) != 3 || strings.TrimSpace(f[0]) == "" || strings.TrimSpace(f[1]) == "" || strings.TrimSpace(f[2]) == "" {
			return nil, fmt.Errorf("line %d: want \"program | assertion | reason\", got %q", n, line)
		}
		e := &Expected{Program: strings.TrimSpace(f[0]), Assertion: strings.TrimSpace(f[1]), Reason: strings.TrimSpace(f[2]), Line: n}
		out = append(out, e)
	}
	return out, sc.Err()
}

// globMatch matches s against a pattern in which only '*' is special.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Match returns the first entry that covers the failure (nil if none).
// what is a TAP description or a status such as "<error>".
func Match(list []*Expected, program, what string) *Expected {
	for _, e := range list {
		if !globMatch(e.Program, program) {
			continue
		}
		if globMatch(e.Assertion, what) {
			e.Used++
			return e
		}
	}
	return nil
}
