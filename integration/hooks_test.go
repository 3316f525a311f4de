//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostHook is a /bin/sh script on the host: `hook.sh NAME [fail|sleep]`
// saves its stdin, args and $HOOK_VAR under $OUT, appends NAME to
// $OUT/order, then fails or sleeps when asked.
const hostHook = `#!/bin/sh
name=$1
cat > "$OUT/$name.json"
echo "$@" > "$OUT/$name.args"
echo "$HOOK_VAR" > "$OUT/$name.env"
echo "$name" >> "$OUT/order"
case "$2" in
fail) echo "hook $name says no" >&2; exit 3 ;;
sleep) sleep 30 ;;
esac
exit 0
`

type hookEnv struct {
	out    string // host dir the hooks write to
	script string
}

func newHookEnv(c *ctr, s *specs.Spec) hookEnv {
	h := hookEnv{out: filepath.Join(c.dir, "hookout"), script: filepath.Join(c.dir, "hook.sh")}
	os.MkdirAll(h.out, 0o777)
	os.Chmod(h.out, 0o777)
	if err := os.WriteFile(h.script, []byte(hostHook), 0o755); err != nil {
		c.t.Fatal(err)
	}
	// The container sees the same directory at /hookout (startContainer
	// runs inside it).
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hookout", Type: "bind", Source: h.out, Options: []string{"bind", "rw"}})
	s.Hooks = &specs.Hooks{}
	return h
}

func (h hookEnv) hook(name string, extra ...string) specs.Hook {
	return specs.Hook{
		Path: h.script,
		Args: append([]string{"hook.sh", name}, extra...),
		Env:  []string{"OUT=" + h.out, "HOOK_VAR=var-" + name, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	}
}

// inContainerHook is the startContainer hook: it runs inside the
// container, so it uses the image's busybox sh.
func inContainerHook(name string, fail bool) specs.Hook {
	script := `cat > /hookout/` + name + `.json; echo "$0 $1" > /hookout/` + name + `.args; echo "$HOOK_VAR" > /hookout/` + name + `.env; echo ` + name + ` >> /hookout/order`
	if fail {
		script += `; exit 4`
	}
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script, name, "arg1"}, Env: []string{"HOOK_VAR=var-" + name, "PATH=/bin"}}
}

func (h hookEnv) read(t *testing.T, name string) (state map[string]any, args, env string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.out, name+".json"))
	if err != nil {
		t.Errorf("hook %s did not run (or saw no stdin): %v", name, err)
		return nil, "", ""
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Errorf("hook %s: stdin is not the state JSON: %q", name, data)
	}
	a, _ := os.ReadFile(filepath.Join(h.out, name+".args"))
	e, _ := os.ReadFile(filepath.Join(h.out, name+".env"))
	return state, strings.TrimSpace(string(a)), strings.TrimSpace(string(e))
}

func (h hookEnv) order() string {
	data, _ := os.ReadFile(filepath.Join(h.out, "order"))
	return strings.Join(strings.Fields(string(data)), " ")
}

func TestHooksAllSix(t *testing.T) {
	t.Parallel()
	var h hookEnv
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		h = newHookEnv(c, s)
		s.Hooks.Prestart = []specs.Hook{h.hook("prestart")}
		s.Hooks.CreateRuntime = []specs.Hook{h.hook("createRuntime")}
		s.Hooks.CreateContainer = []specs.Hook{h.hook("createContainer")}
		s.Hooks.StartContainer = []specs.Hook{inContainerHook("startContainer", false)}
		s.Hooks.Poststart = []specs.Hook{h.hook("poststart")}
		s.Hooks.Poststop = []specs.Hook{h.hook("poststop")}
		shell(s, `echo user-process; cat /hookout/order`)
	})
	if r := c.create(); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if got := h.order(); got != "prestart createRuntime createContainer" {
		t.Errorf("hooks run by create: %q", got)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	c.waitOutput("user-process", 10*time.Second)
	c.waitStatus("stopped", 10*time.Second)
	out := c.output()
	if !strings.Contains(out, "startContainer") {
		t.Errorf("startContainer did not run before the user process: %q", out)
	}
	if r := c.skiff("delete", c.id); r.Code != 0 {
		t.Fatalf("delete: %s", r)
	}
	if got := h.order(); got != "prestart createRuntime createContainer startContainer poststart poststop" {
		t.Errorf("hook order: %q", got)
	}
	want := map[string]string{
		"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
		"startContainer": "created", "poststart": "running", "poststop": "stopped",
	}
	for name, status := range want {
		st, args, env := h.read(t, name)
		if st == nil {
			continue
		}
		if st["status"] != status {
			t.Errorf("%s hook saw status %v, want %s", name, st["status"], status)
		}
		if st["id"] != c.id || st["bundle"] != c.bundle {
			t.Errorf("%s hook state id/bundle: %v", name, st)
		}
		if v, _ := st["ociVersion"].(string); v == "" {
			t.Errorf("%s hook state lacks ociVersion: %v", name, st)
		}
		if p, _ := st["pid"].(float64); status != "stopped" && p <= 0 {
			t.Errorf("%s hook state pid %v, want the init's pid", name, st["pid"])
		}
		if env != "var-"+name {
			t.Errorf("%s hook env HOOK_VAR=%q", name, env)
		}
		wantArgs := name
		if name == "startContainer" {
			wantArgs = "startContainer arg1"
		}
		if args != wantArgs {
			t.Errorf("%s hook args %q, want %q", name, args, wantArgs)
		}
	}
}

func TestHookFailures(t *testing.T) {
	t.Parallel()
	t.Run("prestart fails create and leaves nothing", func(t *testing.T) {
		t.Parallel()
		var h hookEnv
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			h = newHookEnv(c, s)
			s.Hooks.Prestart = []specs.Hook{h.hook("prestart", "fail")}
			s.Hooks.CreateRuntime = []specs.Hook{h.hook("createRuntime")}
			shell(s, `echo should-not-run`)
		})
		rep := runSubreaper(t, c.dir, subreaperJob{Steps: [][]string{{skiffPath, "--root", c.root, "--data-root", c.data, "create", "--bundle", c.bundle, c.id}}})
		out, _ := os.ReadFile(filepath.Join(c.dir, "subreaper.stdout"))
		if rep.Codes[0] != 1 {
			t.Errorf("create with a failing prestart hook: exit %d: %s", rep.Codes[0], out)
		}
		if !strings.Contains(string(out), "prestart") {
			t.Errorf("error should name the prestart hook: %q", out)
		}
		if got := h.order(); got != "prestart" {
			t.Errorf("hooks after the failing one ran: %q", got)
		}
		if len(rep.Leftovers) > 0 {
			t.Errorf("processes left behind: %v", rep.Leftovers)
		}
		assertNothingLeft(t, c)
	})
	t.Run("prestart timeout", func(t *testing.T) {
		t.Parallel()
		var h hookEnv
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			h = newHookEnv(c, s)
			hk := h.hook("prestart", "sleep")
			hk.Timeout = ptr(1)
			s.Hooks.Prestart = []specs.Hook{hk}
			shell(s, `true`)
		})
		r := c.create()
		if r.Code != 1 || !strings.Contains(r.Stderr, "timed out") {
			t.Errorf("create with a prestart hook past its timeout: %s", r)
		}
		if r.Duration > 10*time.Second {
			t.Errorf("timeout of 1s took %v", r.Duration)
		}
		assertNothingLeft(t, c)
	})
	t.Run("createContainer fails create", func(t *testing.T) {
		t.Parallel()
		var h hookEnv
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			h = newHookEnv(c, s)
			s.Hooks.CreateContainer = []specs.Hook{h.hook("createContainer", "fail")}
			shell(s, `true`)
		})
		r := c.create()
		if r.Code != 1 || !strings.Contains(r.Stderr, "createContainer") {
			t.Errorf("create with a failing createContainer hook: %s", r)
		}
		assertNothingLeft(t, c)
	})
	t.Run("startContainer fails start", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			newHookEnv(c, s)
			s.Hooks.StartContainer = []specs.Hook{inContainerHook("startContainer", true)}
			shell(s, `echo should-not-run`)
		})
		if r := c.create(); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		r := c.skiff("start", c.id)
		if r.Code == 0 {
			t.Errorf("start with a failing startContainer hook succeeded: %s", r)
		} else if !strings.Contains(r.Stderr, "startContainer") {
			t.Errorf("start error should name the startContainer hook: %s", r)
		}
		c.waitStatus("stopped", 10*time.Second)
		if strings.Contains(c.output(), "should-not-run") {
			t.Errorf("the user process ran after a failing startContainer hook")
		}
	})
	// run starts under create's lock (libcontainer.Run): a start that
	// fails there must still remove everything, as delete --force would.
	t.Run("startContainer fails run", func(t *testing.T) {
		t.Parallel()
		var h hookEnv
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			h = newHookEnv(c, s)
			s.Hooks.StartContainer = []specs.Hook{inContainerHook("startContainer", true)}
			s.Hooks.Poststop = []specs.Hook{h.hook("poststop")}
			shell(s, `echo should-not-run`)
		})
		r := c.run()
		if r.Code == 0 || !strings.Contains(r.Stderr, "startContainer") {
			t.Errorf("run with a failing startContainer hook: want an error naming the hook, got %s", r)
		}
		if strings.Contains(r.Stdout+c.output(), "should-not-run") {
			t.Errorf("the user process ran after a failing startContainer hook")
		}
		if got := h.order(); got != "startContainer poststop" {
			t.Errorf("hooks run: %q, want the failing startContainer then the poststop of the removal", got)
		}
		assertNothingLeft(t, c)
	})
	t.Run("poststart and poststop only warn", func(t *testing.T) {
		t.Parallel()
		var h hookEnv
		c := newCtr(t, func(c *ctr, s *specs.Spec) {
			h = newHookEnv(c, s)
			s.Hooks.Poststart = []specs.Hook{h.hook("poststart", "fail")}
			s.Hooks.Poststop = []specs.Hook{h.hook("poststop", "fail")}
			shell(s, `echo ran; sleep 100`)
		})
		if r := c.create(); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		r := c.skiff("start", c.id)
		if r.Code != 0 {
			t.Errorf("a failing poststart hook must not fail start: %s", r)
		}
		if !strings.Contains(r.Stderr, "poststart") || !strings.Contains(strings.ToLower(r.Stderr), "warn") {
			t.Errorf("a failing poststart hook should be logged as a warning: %q", r.Stderr)
		}
		c.waitOutput("ran", 10*time.Second)
		if got := c.status(); got != "running" {
			t.Errorf("after a failing poststart hook: status %q, want running", got)
		}
		r = c.skiff("delete", "--force", c.id)
		if r.Code != 0 {
			t.Errorf("a failing poststop hook must not fail delete: %s", r)
		}
		if !strings.Contains(r.Stderr, "poststop") {
			t.Errorf("a failing poststop hook should be logged: %q", r.Stderr)
		}
		if got := h.order(); got != "poststart poststop" {
			t.Errorf("hooks run: %q", got)
		}
		assertNothingLeft(t, c)
	})
}
