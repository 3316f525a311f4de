package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer"
)

var pauseCommand = &cli.Command{
	Name: "pause", Usage: "freeze every process of a container", ArgsUsage: "ID",
	Action: onContainer((*libcontainer.Runtime).Pause),
}

var resumeCommand = &cli.Command{
	Name: "resume", Usage: "thaw a paused container", ArgsUsage: "ID",
	Action: onContainer((*libcontainer.Runtime).Resume),
}

var psCommand = &cli.Command{
	Name: "ps", Usage: "list a container's processes", ArgsUsage: "ID [ps OPTIONS]",
	Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"}},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		pids, err := runtimeFor(c).Pids(id)
		if err != nil {
			return err
		}
		switch c.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return printJSON(pids, false)
		case "table":
			return psTable(pids, c.Args().Slice()[1:])
		}
		return fmt.Errorf("--format: unknown format %q (table or json)", c.String("format"))
	},
}

// psTable runs ps(1) and keeps the header and the container's lines.
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	pidCol := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return errors.New("ps: no PID column in its output (add -o pid or use -ef)")
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	fmt.Println(lines[0])
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > pidCol {
			if p, err := strconv.Atoi(f[pidCol]); err == nil && in[p] {
				fmt.Println(l)
			}
		}
	}
	return nil
}

var eventsCommand = &cli.Command{
	Name: "events", Usage: "print container stats and OOM events as JSON", ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print one stats event and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		rt := runtimeFor(c)
		enc := json.NewEncoder(os.Stdout)
		if c.Bool("stats") {
			ev, err := rt.StatsEvent(id)
			if err != nil {
				return err
			}
			return enc.Encode(ev)
		}
		if c.Duration("interval") <= 0 {
			return errors.New("--interval: must be positive")
		}
		stop := make(chan struct{})
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, unix.SIGINT, unix.SIGTERM)
		go func() { <-sig; close(stop) }()
		return rt.WatchEvents(id, c.Duration("interval"), stop, func(ev *libcontainer.Event) error { return enc.Encode(ev) })
	},
}

var updateCommand = &cli.Command{
	Name: "update", Usage: "change a container's resource limits", ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "JSON file with linux.resources, - for stdin"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with k/m/g; -1 unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "ignored by current kernels"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "ignored by current kernels"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CFS period (µs)"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CFS quota (µs, -1 unlimited)"},
		&cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "realtime period (µs)"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "realtime runtime (µs)"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CFS burst (µs)"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs allowed"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes allowed"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
		&cli.StringFlag{Name: "pids-limit", Usage: "max processes (-1 unlimited)"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		res, err := resourcesFromFlags(c)
		if err != nil {
			return err
		}
		return runtimeFor(c).Update(id, res)
	},
}

func resourcesFromFlags(c *cli.Context) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	if path := c.String("resources"); path != "" {
		var r io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			r = f
		}
		if err := json.NewDecoder(r).Decode(res); err != nil {
			return nil, fmt.Errorf("--resources: invalid JSON: %v", err)
		}
	}
	var err error
	i64 := func(flag string, bytes bool, dst func(v int64)) {
		if err != nil || !c.IsSet(flag) {
			return
		}
		var v int64
		if bytes {
			v, err = parseBytes(c.String(flag))
		} else {
			v, err = strconv.ParseInt(c.String(flag), 10, 64)
		}
		if err != nil {
			err = fmt.Errorf("--%s: %q is not a number", flag, c.String(flag))
			return
		}
		dst(v)
	}
	mem := func() *specs.LinuxMemory {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		return res.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		return res.CPU
	}
	i64("memory", true, func(v int64) { mem().Limit = &v })
	i64("memory-reservation", true, func(v int64) { mem().Reservation = &v })
	i64("memory-swap", true, func(v int64) { mem().Swap = &v })
	i64("kernel-memory", true, func(v int64) { mem().Kernel = &v })
	i64("kernel-memory-tcp", true, func(v int64) { mem().KernelTCP = &v })
	i64("cpu-period", false, func(v int64) { u := uint64(v); cpu().Period = &u })
	i64("cpu-quota", false, func(v int64) { cpu().Quota = &v })
	i64("cpu-share", false, func(v int64) { u := uint64(v); cpu().Shares = &u })
	i64("cpu-rt-period", false, func(v int64) { u := uint64(v); cpu().RealtimePeriod = &u })
	i64("cpu-rt-runtime", false, func(v int64) { cpu().RealtimeRuntime = &v })
	i64("cpu-burst", false, func(v int64) { u := uint64(v); cpu().Burst = &u })
	i64("pids-limit", false, func(v int64) { res.Pids = &specs.LinuxPids{Limit: &v} })
	i64("blkio-weight", false, func(v int64) {
		w := uint16(v)
		res.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	})
	if err != nil {
		return nil, err
	}
	if c.IsSet("cpuset-cpus") {
		cpu().Cpus = c.String("cpuset-cpus")
	}
	if c.IsSet("cpuset-mems") {
		cpu().Mems = c.String("cpuset-mems")
	}
	return res, nil
}

// parseBytes accepts a byte count with an optional k, m, g or t suffix
// (binary units, as runc and Docker read them); -1 means unlimited.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "-1" {
		return -1, nil
	}
	mult := int64(1)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "b"), "i")
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1<<10, s[:n-1]
		case 'm':
			mult, s = 1<<20, s[:n-1]
		case 'g':
			mult, s = 1<<30, s[:n-1]
		case 't':
			mult, s = 1<<40, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return v * mult, nil
}
