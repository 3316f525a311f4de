package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

type totals struct {
	pass, fail, skip, todo       int
	xfail, unexpected            int
	clean, programs, noTAP, errs int
	flaky                        int
}

func sum(results []*progResult) totals {
	var t totals
	for _, r := range results {
		t.programs++
		t.pass += r.counts.Pass
		t.fail += r.counts.Fail
		t.skip += r.counts.Skip
		t.todo += r.counts.Todo
		t.xfail += r.xfail
		t.unexpected += r.unexpected
		if r.flaky {
			t.flaky++
		}
		switch r.status {
		case "pass":
			t.clean++
		case "no-tap":
			t.noTAP++
		case "error", "timeout", "not-run":
			t.errs++
		}
	}
	return t
}

// failed is the number in the closing line: every failing test point plus
// every program that crashed or timed out (each counts once, on top of the
// test points it printed before).
func (t totals) failed() int { return t.fail + t.errs }

func report(w io.Writer, cfg *config, results []*progResult, total time.Duration) {
	fmt.Fprintf(w, "\n%-40s %-8s %6s %6s %5s %5s %6s %6s\n", "program", "status", "ok", "not ok", "skip", "todo", "xfail", "secs")
	fmt.Fprintln(w, strings.Repeat("-", 90))
	for _, r := range results {
		fmt.Fprintf(w, "%-40s %-8s %6d %6d %5d %5d %6d %6.1f\n", r.name, r.status,
			r.counts.Pass, r.counts.Fail, r.counts.Skip, r.counts.Todo, r.xfail, r.dur.Seconds())
	}
	fmt.Fprintln(w, strings.Repeat("-", 90))

	var xf, unexp []string
	for _, r := range results {
		for _, f := range r.failures {
			if f.expected != nil {
				xf = append(xf, fmt.Sprintf("  %s: %s\n      -> %s", r.name, f.what, f.expected.Reason))
			} else {
				unexp = append(unexp, fmt.Sprintf("  %s: %s", r.name, f.what))
			}
		}
	}
	if len(xf) > 0 {
		fmt.Fprintf(w, "\nexpected failures (on the list):\n%s\n", strings.Join(xf, "\n"))
	}
	if len(unexp) > 0 {
		fmt.Fprintf(w, "\nUNEXPECTED failures (logs in %s):\n%s\n", cfg.logdir, strings.Join(unexp, "\n"))
	}
	var notes []string
	for _, r := range results {
		if len(r.notes) > 0 {
			notes = append(notes, fmt.Sprintf("  %s: %s", r.name, strings.Join(r.notes, "; ")))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n%s\n", strings.Join(notes, "\n"))
	}
	t := sum(results)
	fmt.Fprintf(w, "\n%d programs: %d clean, %d with failures, %d no-tap, %d error/timeout/not-run; %d todo; %.0fs\n",
		t.programs, t.clean, t.programs-t.clean-t.noTAP-t.errs, t.noTAP, t.errs, t.todo, total.Seconds())
	fmt.Fprintf(w, "failed: %d expected (on the list), %d unexpected; %d program(s) flaky (clean only on retry)\n", t.xfail, t.unexpected, t.flaky)
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", t.pass, t.failed(), t.skip)
}

func writeMarkdown(w io.Writer, results []*progResult) {
	fmt.Fprintln(w, "| program | status | ok | not ok | skip | secs | notes |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|")
	for _, r := range results {
		var fails []string
		seen := map[string]int{}
		for _, f := range r.failures {
			mark := ""
			if f.expected != nil {
				mark = " (listed)"
			}
			item := "`` " + strings.ReplaceAll(f.what, "|", `\|`) + " ``" + mark
			if seen[item]++; seen[item] == 1 {
				fails = append(fails, item)
			}
		}
		for i, item := range fails {
			if n := seen[item]; n > 1 {
				fails[i] = fmt.Sprintf("%d× %s", n, item)
			}
		}
		notes := strings.Join(append(fails, r.notes...), "; ")
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %.1f | %s |\n", r.name, r.status, r.counts.Pass, r.counts.Fail, r.counts.Skip, r.dur.Seconds(), notes)
	}
	t := sum(results)
	fmt.Fprintf(w, "| **total** | %d clean / %d | %d | %d | %d | | %d no-tap, %d error/timeout |\n",
		t.clean, t.programs, t.pass, t.failed(), t.skip, t.noTAP, t.errs)
}
