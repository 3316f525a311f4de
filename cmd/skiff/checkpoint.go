//go:build !nocriu

package main

import (
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer"
	"github.com/skiff-runtime/skiff/libcontainer/bundle"
	"github.com/skiff-runtime/skiff/libcontainer/sigrelay"
)

// criuFlags are runc's options common to checkpoint and restore.
var criuFlags = []cli.Flag{
	&cli.StringFlag{Name: "image-path", Usage: "criu's image directory (default: ./checkpoint)"},
	&cli.StringFlag{Name: "work-path", Usage: "criu's logs and work files (default: the image directory)"},
	&cli.BoolFlag{Name: "tcp-established", Usage: "allow open TCP connections"},
	&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
	&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job (a process with a terminal)"},
	&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
	&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to transfer memory pages lazily"},
	&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate pages against the parent image"},
	&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "criu's cgroup mode: soft, full, strict or ignore"},
	&cli.StringSliceFlag{Name: "empty-ns", Usage: "leave this namespace empty (network)"},
}

func criuOptionsFrom(c *cli.Context) libcontainer.CriuOptions {
	image := c.String("image-path")
	if image == "" {
		wd, _ := os.Getwd()
		image = wd + "/checkpoint"
	}
	return libcontainer.CriuOptions{
		ImagePath:         image,
		WorkPath:          c.String("work-path"),
		TCPEstablished:    c.Bool("tcp-established"),
		ExtUnixSk:         c.Bool("ext-unix-sk"),
		ShellJob:          c.Bool("shell-job"),
		FileLocks:         c.Bool("file-locks"),
		LazyPages:         c.Bool("lazy-pages"),
		AutoDedup:         c.Bool("auto-dedup"),
		ManageCgroupsMode: c.String("manage-cgroups-mode"),
		EmptyNS:           c.StringSlice("empty-ns"),
	}
}

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "save a running container with criu (and stop it, unless --leave-running)",
	ArgsUsage: "ID",
	Flags: append(append([]cli.Flag(nil), criuFlags...),
		&cli.StringFlag{Name: "parent-path", Usage: "a previous (pre-)dump, relative to the image directory"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only, leaving the container running"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "with --lazy-pages: fd written to once the page server is ready"},
	),
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		return runtimeFor(c).Checkpoint(id, &libcontainer.CheckpointOptions{
			CriuOptions:  criuOptionsFrom(c),
			ParentPath:   c.String("parent-path"),
			LeaveRunning: c.Bool("leave-running"),
			PreDump:      c.Bool("pre-dump"),
			StatusFd:     c.Int("status-fd"),
		})
	},
}

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint; in the foreground, wait for it and remove it",
	ArgsUsage: "ID",
	Flags: append(append([]cli.Flag(nil), criuFlags...),
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory", Value: "."},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the container process's pid to this file"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the terminal's master fd"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the container's process"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc compatibility: criu switches the root itself"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "in the foreground, do not reap the container's orphaned processes"},
		&cli.BoolFlag{Name: "overlay", Usage: "restore onto a writable layer (the one the checkpoint kept, if any)"},
		&cli.BoolFlag{Name: "keep", Usage: "do not remove the container when it exits"},
	),
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		if err := bundle.ValidateID(id); err != nil {
			return err
		}
		b, err := bundle.Load(c.String("bundle"))
		if err != nil {
			return err
		}
		detach := c.Bool("detach")
		signals := make(chan os.Signal, 64)
		if !detach {
			if err := sigrelay.Notify(signals, forwardedSignals()...); err != nil {
				return err
			}
			if !c.Bool("no-subreaper") {
				if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
					return err
				}
			}
		}
		var proxy *ttyProxy
		var onTerminal func(*os.File) error
		if !detach && c.String("console-socket") == "" {
			onTerminal = func(master *os.File) error { proxy = startTTYProxy(master); return nil }
		}
		rt := runtimeFor(c)
		st, err := libcontainer.Restore(&libcontainer.RestoreOptions{
			CriuOptions: criuOptionsFrom(c),
			Create: &libcontainer.CreateOptions{
				Root: c.String("root"), ID: id, Bundle: b,
				PidFile:       c.String("pid-file"),
				ConsoleSocket: c.String("console-socket"),
				PidfdSocket:   c.String("pidfd-socket"),
				OnTerminal:    onTerminal,
				NoPivot:       c.Bool("no-pivot"),
				Overlay:       c.Bool("overlay"),
				DataRoot:      c.String("data-root"),
				Stdin:         os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
				Log:           logger,
				SystemdCgroup: c.Bool("systemd-cgroup"),
			},
		})
		if proxy != nil {
			defer proxy.finish()
		}
		if err != nil {
			return err
		}
		if detach {
			return nil
		}
		return waitThenRemove(rt, st.ID, st.Pid, signals, &proxy, c.Bool("keep"))
	},
}
