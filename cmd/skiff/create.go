package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-runtime/skiff/libcontainer"
	"github.com/skiff-runtime/skiff/libcontainer/bundle"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory", Value: "."},
	&cli.StringFlag{Name: "pid-file", Usage: "write the container process's pid to this file"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the terminal's master fd"},
	&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the container's process"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "move the root and chroot instead of pivot_root (for ramdisk roots)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra fds (from 3) to the container"},
	&cli.BoolFlag{Name: "overlay", Usage: "give the container its own writable layer over the read-only rootfs"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container, ready to start",
	ArgsUsage: "ID",
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		_, err := createFromFlags(c, nil, false)
		return err
	},
}

// createFromFlags creates the container the flags describe and, for
// run, starts it.
func createFromFlags(c *cli.Context, onTerminal func(*os.File) error, start bool) (*libcontainer.State, error) {
	id, err := oneID(c)
	if err != nil {
		return nil, err
	}
	if err := bundle.ValidateID(id); err != nil {
		return nil, err
	}
	b, err := bundle.Load(c.String("bundle"))
	if err != nil {
		return nil, err
	}
	o := &libcontainer.CreateOptions{
		Root:          c.String("root"),
		ID:            id,
		Bundle:        b,
		PidFile:       c.String("pid-file"),
		ConsoleSocket: c.String("console-socket"),
		PidfdSocket:   c.String("pidfd-socket"),
		NotifySocket:  os.Getenv("NOTIFY_SOCKET"),
		OnTerminal:    onTerminal,
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   c.Int("preserve-fds"),
		Overlay:       c.Bool("overlay"),
		DataRoot:      c.String("data-root"),
		Stdin:         os.Stdin,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		Log:           logger,
		SystemdCgroup: c.Bool("systemd-cgroup"),
	}
	if start {
		return libcontainer.Run(o)
	}
	return libcontainer.Create(o)
}

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start a created container",
	ArgsUsage: "ID",
	Action:    onContainer((*libcontainer.Runtime).Start),
}
