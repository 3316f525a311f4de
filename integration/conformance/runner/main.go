// Command runner runs the runtime-tools validation programs against an OCI
// runtime, one at a time, each in its own scratch directory and with a
// timeout, parses their TAP output and prints a per-program table and the
// closing line "N passed, M failed, K skipped".
//
// It exits 1 if any failure is not on the expected-failure list, 2 on a
// usage or setup error. See ../README.md.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

type failure struct {
	what     string
	expected *Expected
}

type progResult struct {
	name       string
	status     string
	counts     Counts
	xfail      int // failing test points (or the program status) on the list
	unexpected int // failures not on the list
	exit       int
	dur        time.Duration
	notes      []string
	failures   []failure
	flaky      bool
}

type config struct {
	runtime     string
	bindir      string
	runtimetest string
	rootfs      string
	expected    []*Expected
	timeout     time.Duration
	scratch     string
	logdir      string
	keep        bool
	budget      time.Duration
	retries     int
}

func main() {
	var (
		cfg      config
		expFile  string
		run      string
		skip     string
		markdown string
	)
	flag.StringVar(&cfg.runtime, "runtime", os.Getenv("RUNTIME"), "runtime binary (default $RUNTIME)")
	flag.StringVar(&cfg.bindir, "bindir", "", "directory holding the built validation programs")
	flag.StringVar(&cfg.runtimetest, "runtimetest", "", "the statically linked runtimetest binary")
	flag.StringVar(&cfg.rootfs, "rootfs", "", "rootfs tarball (rootfs-amd64.tar.gz)")
	flag.StringVar(&expFile, "expected", "", "expected-failure list")
	flag.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "timeout for each program")
	flag.DurationVar(&cfg.budget, "budget", 10*time.Minute, "time for the whole run; programs not started by then fail as <not-run>")
	flag.StringVar(&cfg.scratch, "scratch", "", "scratch directory (created 0755, emptied per program)")
	flag.StringVar(&cfg.logdir, "logdir", "", "directory for each program's stdout (TAP) and stderr")
	flag.StringVar(&run, "run", "", "only run programs whose name matches this regexp")
	flag.StringVar(&skip, "skip", "", "do not run programs whose name matches this regexp")
	flag.StringVar(&markdown, "markdown", "", "also write the table as Markdown to this file")
	flag.IntVar(&cfg.retries, "retries", 1, "run a program with unexpected failures again up to this many times (it is reported as flaky if a retry is clean)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep each program's scratch directory")
	flag.Parse()

	die := func(format string, a ...interface{}) {
		fmt.Fprintf(os.Stderr, "conformance: "+format+"\n", a...)
		os.Exit(2)
	}
	if cfg.runtime == "" || cfg.bindir == "" || cfg.runtimetest == "" || cfg.rootfs == "" || cfg.scratch == "" || cfg.logdir == "" {
		die("-runtime, -bindir, -runtimetest, -rootfs, -scratch and -logdir are required")
	}
	if os.Geteuid() != 0 {
		die("must run as root")
	}
	var err error
	for _, p := range []*string{&cfg.runtime, &cfg.bindir, &cfg.runtimetest, &cfg.rootfs, &cfg.scratch, &cfg.logdir} {
		if *p, err = filepath.Abs(*p); err != nil {
			die("%v", err)
		}
	}
	if st, err := os.Stat(cfg.runtime); err != nil || st.Mode()&0o111 == 0 {
		die("runtime %s is not an executable file (%v)", cfg.runtime, err)
	}
	if expFile != "" {
		f, err := os.Open(expFile)
		if err != nil {
			die("%v", err)
		}
		cfg.expected, err = ParseExpected(f)
		f.Close()
		if err != nil {
			die("%s: %v", expFile, err)
		}
	}
	if err := mkdir0755(cfg.scratch); err != nil {
		die("%v", err)
	}
	if err := os.MkdirAll(cfg.logdir, 0o755); err != nil {
		die("%v", err)
	}

	var runRE, skipRE *regexp.Regexp
	if run != "" {
		runRE = regexp.MustCompile(run)
	}
	if skip != "" {
		skipRE = regexp.MustCompile(skip)
	}
	entries, err := os.ReadDir(cfg.bindir)
	if err != nil {
		die("%v", err)
	}
	var progs []string
	for _, e := range entries {
		if info, err := e.Info(); err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 {
			continue
		}
		if runRE != nil && !runRE.MatchString(e.Name()) || skipRE != nil && skipRE.MatchString(e.Name()) {
			continue
		}
		progs = append(progs, e.Name())
	}
	sort.Strings(progs)
	if len(progs) == 0 {
		die("no programs in %s", cfg.bindir)
	}

	if n := cleanCgroups(); n > 0 {
		fmt.Printf("conformance: removed %d cgroup(s) left by an earlier run\n", n)
	}
	fmt.Printf("conformance: %d programs against %s (timeout %s each)\n", len(progs), cfg.runtime, cfg.timeout)
	start := time.Now()
	var results []*progResult
	for _, p := range progs {
		var r *progResult
		if time.Since(start) > cfg.budget {
			r = &progResult{name: p, status: "not-run", notes: []string{"time budget " + cfg.budget.String() + " used up"}}
			r.failures = []failure{{what: "<not-run>"}}
			if e := Match(cfg.expected, p, "<not-run>"); e != nil {
				r.failures[0].expected = e
				r.xfail++
			} else {
				r.unexpected++
			}
		} else {
			r = runOne(&cfg, p)
			for try := 1; r.unexpected > 0 && try <= cfg.retries && time.Since(start) < cfg.budget; try++ {
				first := r
				fmt.Printf("  %-40s %-8s (unexpected failure, running it again)\n", first.name, first.status)
				r = runOne(&cfg, p)
				if r.unexpected == 0 {
					var what []string
					for _, f := range first.failures {
						if f.expected == nil {
							what = append(what, f.what)
						}
					}
					r.notes = append(r.notes, fmt.Sprintf("FLAKY: attempt %d failed (%s), attempt %d clean", try, strings.Join(what, "; "), try+1))
					r.flaky = true
				}
			}
		}
		results = append(results, r)
		fmt.Printf("  %-40s %-8s ok %4d  not ok %3d  skip %3d  %5.1fs%s\n", r.name, r.status,
			r.counts.Pass, r.counts.Fail, r.counts.Skip, r.dur.Seconds(), notesSuffix(r.notes))
	}
	total := time.Since(start)

	report(os.Stdout, &cfg, results, total)
	if markdown != "" {
		var b bytes.Buffer
		writeMarkdown(&b, results)
		if err := os.WriteFile(markdown, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		}
	}
	unexpected := 0
	for _, r := range results {
		unexpected += r.unexpected
	}
	if unexpected > 0 {
		os.Exit(1)
	}
}

func notesSuffix(n []string) string {
	if len(n) == 0 {
		return ""
	}
	return "  (" + strings.Join(n, "; ") + ")"
}

func mkdir0755(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Explicitly: the umask may have removed bits, and the user-namespace
	// programs need the bundle's parents to be searchable by other users.
	return os.Chmod(dir, 0o755)
}

func runOne(cfg *config, name string) *progResult {
	r := &progResult{name: name}
	dir := filepath.Join(cfg.scratch, name)
	if err := cleanDir(cfg, dir, r); err != nil {
		r.status = "error"
		r.notes = append(r.notes, "scratch: "+err.Error())
		return finish(cfg, r)
	}
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{dir, tmp} {
		if err := mkdir0755(d); err != nil {
			r.status = "error"
			r.notes = append(r.notes, err.Error())
			return finish(cfg, r)
		}
	}
	// The programs take ./runtimetest and ./rootfs-$GOARCH.tar.gz from
	// their working directory and make bundles with ioutil.TempDir("").
	if err := copyFile(cfg.runtimetest, filepath.Join(dir, "runtimetest"), 0o755); err != nil {
		r.status = "error"
		r.notes = append(r.notes, err.Error())
		return finish(cfg, r)
	}
	if err := copyFile(cfg.rootfs, filepath.Join(dir, filepath.Base(cfg.rootfs)), 0o644); err != nil {
		r.status = "error"
		r.notes = append(r.notes, err.Error())
		return finish(cfg, r)
	}

	stdout, err := os.Create(filepath.Join(cfg.logdir, name+".tap"))
	if err != nil {
		r.status = "error"
		r.notes = append(r.notes, err.Error())
		return finish(cfg, r)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(cfg.logdir, name+".stderr"))
	if err != nil {
		r.status = "error"
		r.notes = append(r.notes, err.Error())
		return finish(cfg, r)
	}
	defer stderr.Close()

	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(cfg.bindir, name))
	cmd.Dir = dir
	cmd.Env = append(filteredEnv(), "RUNTIME="+cfg.runtime, "TMPDIR="+tmp)
	cmd.Stdin = nil
	cmd.Stdout = io.MultiWriter(stdout, &out)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	timedOut := false
	if err := cmd.Start(); err != nil {
		r.status = "error"
		r.notes = append(r.notes, err.Error())
		return finish(cfg, r)
	}
	pgid := cmd.Process.Pid
	timer := time.AfterFunc(cfg.timeout, func() {
		timedOut = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
	err = cmd.Wait()
	timer.Stop()
	r.dur = time.Since(t0)
	// Whatever the program left in its own process group (it started it).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
		if r.exit < 0 {
			r.exit = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
		}
	default:
		r.exit = -1
		r.notes = append(r.notes, err.Error())
	}

	tap := ParseTAP(&out)
	r.counts = tap.Count()
	for _, res := range tap.Results {
		if !res.OK && res.Directive == "" {
			r.failures = append(r.failures, failure{what: res.Description})
		}
	}
	switch {
	case timedOut:
		r.status = "timeout"
		r.failures = append(r.failures, failure{what: "<timeout>"})
	case r.exit != 0:
		r.status = "error"
		r.notes = append(r.notes, fmt.Sprintf("exit status %d", r.exit))
		r.failures = append(r.failures, failure{what: "<error>"})
	case tap.Bailout != "":
		r.status = "error"
		r.notes = append(r.notes, "bail out: "+tap.Bailout)
		r.failures = append(r.failures, failure{what: "<error>"})
	case r.counts.Total() == 0:
		r.status = "no-tap"
	case !tap.PlanOK():
		r.status = "error"
		r.notes = append(r.notes, fmt.Sprintf("plan %v does not match %d test points", tap.Plans, len(tap.Results)))
		r.failures = append(r.failures, failure{what: "<error>"})
	case r.counts.Fail > 0:
		r.status = "fail"
	default:
		r.status = "pass"
	}
	if r.status == "no-tap" {
		if d := tap.Diagnostics(); len(d) > 0 {
			r.notes = append(r.notes, "diagnostic: "+strings.Join(d, " / "))
		}
		// Reported, never counted as a pass; a list entry may document it.
		if e := Match(cfg.expected, name, "<no-tap>"); e != nil {
			r.notes = append(r.notes, "listed: "+e.Reason)
		}
	}
	for i := range r.failures {
		if e := Match(cfg.expected, name, r.failures[i].what); e != nil {
			r.failures[i].expected = e
			r.xfail++
		} else {
			r.unexpected++
		}
	}
	if r.status == "fail" && r.unexpected == 0 {
		r.status = "xfail"
	}
	if err := cleanDir(cfg, dir, r); err != nil {
		r.notes = append(r.notes, "cleanup: "+err.Error())
	}
	return finish(cfg, r)
}

func finish(cfg *config, r *progResult) *progResult {
	if r.status == "error" && len(r.failures) == 0 {
		r.failures = append(r.failures, failure{what: "<error>"})
		r.unexpected++
	}
	return r
}

// filteredEnv drops variables that would change how the programs or the
// runtime behave in ways the suite does not expect.
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k := kv[:strings.IndexByte(kv, '=')+1]
		switch k {
		case "RUNTIME=", "TMPDIR=", "GODEBUG=", "GOTRACEBACK=", "XDG_RUNTIME_DIR=":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// cleanDir deletes containers whose bundle is under dir, unmounts
// everything mounted under dir and then removes dir without crossing into
// any other file system.
func cleanDir(cfg *config, dir string, r *progResult) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	if n := deleteContainers(cfg.runtime, dir); n > 0 {
		r.notes = append(r.notes, fmt.Sprintf("deleted %d leftover container(s)", n))
	}
	n, err := unmountUnder(dir)
	if n > 0 {
		r.notes = append(r.notes, fmt.Sprintf("unmounted %d leftover mount(s)", n))
	}
	if err != nil {
		return err
	}
	if n := cleanCgroups(); n > 0 {
		r.notes = append(r.notes, fmt.Sprintf("removed %d leftover cgroup(s)", n))
	}
	if cfg.keep {
		return nil
	}
	return removeSameFS(dir)
}

type listEntry struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
}

func runtimeCmd(runtime string, timeout time.Duration, args ...string) ([]byte, error) {
	cmd := exec.Command(runtime, args...)
	cmd.Env = filteredEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(timeout, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	timer.Stop()
	return out.Bytes(), err
}

// deleteContainers force-deletes the runtime's containers whose bundle is
// under dir (a program that crashed or timed out leaves them behind).
func deleteContainers(runtime, dir string) int {
	out, err := runtimeCmd(runtime, 10*time.Second, "list", "--format", "json")
	if err != nil {
		return 0
	}
	var list []listEntry
	if json.Unmarshal(bytes.TrimSpace(out), &list) != nil {
		return 0
	}
	n := 0
	for _, c := range list {
		if c.ID == "" || !under(c.Bundle, dir) {
			continue
		}
		_, _ = runtimeCmd(runtime, 10*time.Second, "kill", c.ID, "KILL")
		if _, err := runtimeCmd(runtime, 10*time.Second, "delete", "--force", c.ID); err == nil {
			n++
		}
	}
	return n
}

func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// unescapeMountinfo undoes the octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	return byte(v), true
}

// mountsUnder lists the mount points at or under dir, deepest (latest) first.
func mountsUnder(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if under(mp, dir) {
			mps = append(mps, mp)
		}
	}
	// mountinfo lists mounts in the order they were made; undo in reverse.
	for i, j := 0, len(mps)-1; i < j; i, j = i+1, j-1 {
		mps[i], mps[j] = mps[j], mps[i]
	}
	return mps, nil
}

// unmountUnder lazily unmounts every mount at or under dir. Each mount is
// made private first, so that the unmount cannot propagate to a peer group
// shared with the host (a runtime may have bind-mounted the host's /sys, with
// its cgroup mounts, under a bundle).
func unmountUnder(dir string) (int, error) {
	n := 0
	for pass := 0; pass < 8; pass++ {
		mps, err := mountsUnder(dir)
		if err != nil {
			return n, err
		}
		if len(mps) == 0 {
			return n, nil
		}
		for _, mp := range mps {
			_ = syscall.Mount("", mp, "", syscall.MS_PRIVATE, "")
		}
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err == nil {
				n++
			}
		}
	}
	mps, _ := mountsUnder(dir)
	if len(mps) > 0 {
		return n, fmt.Errorf("%d mount(s) left under %s, not removing it", len(mps), dir)
	}
	return n, nil
}

// removeSameFS removes dir recursively but never descends into a directory on
// another device: if the runtime left something mounted there that
// unmountUnder could not remove, deleting through it could remove host files
// or cgroups.
func removeSameFS(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	dev := st.Sys().(*syscall.Stat_t).Dev
	var walk func(p string) error
	walk = func(p string) error {
		st, err := os.Lstat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if st.Sys().(*syscall.Stat_t).Dev != dev {
			return fmt.Errorf("%s is on another file system, not removing it", p)
		}
		if st.IsDir() {
			// Directories the runtime left read-only or immutable-looking.
			if st.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, st.Mode().Perm()|0o700)
			}
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			var first error
			for _, e := range ents {
				if err := walk(filepath.Join(p, e.Name())); err != nil && first == nil {
					first = err
				}
			}
			if first != nil {
				return first
			}
		}
		return os.Remove(p)
	}
	return walk(dir)
}
