// Command skiff is an OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/cgroups/earlyprime"
	"github.com/skiff-runtime/skiff/libcontainer"
	_ "github.com/skiff-runtime/skiff/namespaces/nsenter" // stage 0, before the Go runtime
	"github.com/skiff-runtime/skiff/rootfs/layer"
)

// Set by the Makefile.
var (
	version   = "dev"
	gitCommit = "unknown"
)

func init() {
	// `skiff init` is the container side. It is dispatched before any CLI
	// parsing so nothing can print help onto the container's stdio, and it
	// keeps the main thread: credentials and capabilities are per thread,
	// and this thread execs the user's process.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.GOMAXPROCS(1)
		runtime.LockOSThread()
		libcontainer.InitMain()
	}
}

func main() {
	// No fd the caller leaked to us may reach a container: everything
	// from 3 up closes at exec. Fds passed on purpose (--preserve-fds)
	// are dup'ed to their place by exec.Cmd, which clears the flag.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// A runtime invocation is short and mostly waits on the kernel: two
	// Ps at most spare the idle Ps' spinning on a large machine. Not one:
	// with a single P, sysmon takes it from every syscall longer than
	// 20 us (mount, fsync, clone...) and keeps polling every 20 us,
	// which cost about 1 ms of CPU and 60 context switches per `run`
	// (perf stat, issue 8); with an idle P beside it, it backs off.
	if runtime.GOMAXPROCS(0) > 2 {
		runtime.GOMAXPROCS(2)
	}
	if movesIntoCgroup(os.Args[1:]) {
		// The move into the container's cgroup waits for an RCU grace
		// period unless one has just passed: 2.5 ms here when the host
		// is busy, 10 to 25 ms when it has been idle (perf, issue 8).
		// earlyprime's constructor started that wait before the Go
		// runtime did; where it could not, start it now, before flags,
		// config and state are read.
		if earlyprime.Started() {
			libcontainer.CgroupJoinPrimed()
		} else {
			libcontainer.ExpectCgroupJoin()
		}
	}
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		reportError(err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// exitError carries an exit status without a message (run, exec).
type exitError struct{ code int }

func (e exitError) Error() string { return "exit status " + strconv.Itoa(e.code) }

func newApp() *cli.App {
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Printf("skiff version %s\ncommit: %s\nspec: %s\n", version, gitCommit, specs.Version)
	}
	app := &cli.App{
		Name:                 "skiff",
		Usage:                "an OCI container runtime",
		Version:              version,
		EnableBashCompletion: false,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "state directory", Value: defaultRoot()},
			&cli.StringFlag{Name: "data-root", Usage: "where writable layers live", Value: defaultDataRoot()},
			&cli.StringFlag{Name: "log", Usage: "log file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Usage: "log format: text or json", Value: "text"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use the systemd cgroup driver (linux.cgroupsPath is slice:prefix:name)"},
			&cli.StringFlag{Name: "rootless", Usage: "auto, true or false: run without root (detected by default)", Value: "auto"},
		},
		Before: setup,
		Commands: []*cli.Command{
			specCommand, createCommand, startCommand, runCommand, stateCommand,
			listCommand, killCommand, deleteCommand, execCommand,
			pauseCommand, resumeCommand, psCommand, eventsCommand, updateCommand,
			diffCommand, commitCommand, checkpointCommand, restoreCommand, featuresCommand,
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports errors
	}
	return app
}

// defaultDataRoot keeps writable layers on disk: system-wide for root, in
// the user's data directory otherwise.
func defaultDataRoot() string {
	if os.Geteuid() == 0 {
		return layer.DefaultDataRoot
	}
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return dir + "/skiff/layers"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return home + "/.local/share/skiff/layers"
	}
	return fmt.Sprintf("/tmp/skiff-%d/layers", os.Geteuid())
}

func defaultRoot() string {
	if os.Geteuid() == 0 {
		return "/run/skiff"
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return dir + "/skiff"
	}
	return fmt.Sprintf("/tmp/skiff-%d", os.Geteuid())
}

// setup runs before every command: logging, then refusing what skiff
// cannot do yet.
func setup(c *cli.Context) error {
	if err := openLog(c.String("log"), c.String("log-format"), c.Bool("debug")); err != nil {
		return err
	}
	switch c.String("rootless") {
	case "auto", "true", "false":
	default:
		return fmt.Errorf("--rootless: %q is not auto, true or false", c.String("rootless"))
	}
	if c.String("rootless") == "false" && os.Geteuid() != 0 {
		return errors.New("--rootless=false: skiff is not running as root")
	}
	if c.Bool("systemd-cgroup") && !cgroups.SystemdRunning() {
		return errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the default cgroupfs driver")
	}
	return nil
}

func runtimeFor(c *cli.Context) *libcontainer.Runtime {
	return &libcontainer.Runtime{Root: c.String("root"), DataRoot: c.String("data-root"), Log: logger}
}

// oneID returns the single container id argument.
func oneID(c *cli.Context) (string, error) {
	if c.NArg() < 1 {
		return "", fmt.Errorf("%s: container id missing", c.Command.Name)
	}
	return c.Args().First(), nil
}

// onContainer is the action of a command whose only argument is the
// container id and which only calls the runtime.
func onContainer(f func(*libcontainer.Runtime, string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		return f(runtimeFor(c), id)
	}
}

// movesIntoCgroup reports whether the command line names a command that
// moves a process into a container's cgroup. It looks at words, not
// flags: a flag value that happens to be "run" only costs a wasted early
// start (libcontainer.ExpectCgroupJoin changes nothing).
func movesIntoCgroup(args []string) bool {
	for _, a := range args {
		switch a {
		case "run", "create", "exec":
			return true
		}
	}
	return false
}
