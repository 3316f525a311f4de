package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/skiff-runtime/skiff/libcontainer"
	"github.com/skiff-runtime/skiff/libcontainer/sigrelay"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run another process in a running container",
	ArgsUsage: "ID [COMMAND [ARG...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "JSON file with the process (specs.Process)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the terminal's master fd"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives the process's pidfd"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a terminal"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory inside the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add an environment variable NAME=value"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid]"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "supplementary group"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra fds (from 3)"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		rt := runtimeFor(c)
		st, err := rt.Load(id)
		if err != nil {
			return err
		}
		proc, err := execProcess(c, st)
		if err != nil {
			return err
		}
		signals := make(chan os.Signal, 64)
		if !c.Bool("detach") {
			// Relayed until the process exits (sigrelay: os/signal's
			// Notify and Stop cost a round trip with the runtime's
			// signal thread per signal, issue 8).
			if err := sigrelay.Notify(signals, forwardedSignals()...); err != nil {
				return err
			}
		}
		var proxy *ttyProxy
		var onTerminal func(*os.File) error
		if !c.Bool("detach") && c.String("console-socket") == "" {
			onTerminal = func(master *os.File) error { proxy = startTTYProxy(master); return nil }
		}
		pid, err := rt.Exec(&libcontainer.ExecOptions{
			ID: id, Container: st, Process: proc, PidFile: c.String("pid-file"), PreserveFDs: c.Int("preserve-fds"),
			ConsoleSocket: c.String("console-socket"), PidfdSocket: c.String("pidfd-socket"), OnTerminal: onTerminal,
			Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		})
		if err != nil {
			if proxy != nil {
				proxy.finish()
			}
			return err
		}
		if c.Bool("detach") {
			return nil
		}
		code := waitForwarding(pid, signals)
		if proxy != nil {
			proxy.finish()
		}
		return exitError{code}
	},
}

// execProcess builds the process from --process, or from the container's
// own process settings with the command line's changes, as runc does.
func execProcess(c *cli.Context, st *libcontainer.State) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("--process %s: invalid JSON: %v", path, err)
		}
		if c.Bool("tty") {
			p.Terminal = true
		}
		return &p, nil
	}
	if c.NArg() < 2 {
		return nil, errors.New("exec: no command given (use ARGS or --process)")
	}
	base, err := st.ProcessConfig()
	if err != nil {
		return nil, err
	}
	p := *base
	p.Args = c.Args().Slice()[1:]
	p.Terminal = c.Bool("tty")
	p.Env = append(append([]string(nil), p.Env...), c.StringSlice("env")...)
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := c.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: uid, GID: gid}
	}
	for _, g := range c.Int64Slice("additional-gids") {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if caps := c.StringSlice("cap"); len(caps) > 0 {
		pc := specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			pc = *p.Capabilities
		}
		pc.Bounding = append(append([]string(nil), pc.Bounding...), caps...)
		pc.Effective = append(append([]string(nil), pc.Effective...), caps...)
		pc.Permitted = append(append([]string(nil), pc.Permitted...), caps...)
		p.Capabilities = &pc
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	return &p, nil
}

func parseUser(s string) (uint32, uint32, error) {
	uidStr, gidStr, hasGid := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidStr, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user: %q is not uid[:gid]", s)
	}
	gid := uint64(0)
	if hasGid {
		if gid, err = strconv.ParseUint(gidStr, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user: %q is not uid[:gid]", s)
		}
	}
	return uint32(uid), uint32(gid), nil
}
