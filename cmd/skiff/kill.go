package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init",
	ArgsUsage: "ID [SIGNAL]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		sig := unix.SIGTERM
		if c.NArg() > 1 {
			if sig, err = parseSignal(c.Args().Get(1)); err != nil {
				return err
			}
		}
		return runtimeFor(c).Signal(id, sig, c.Bool("all"))
	},
}

// parseSignal accepts "KILL", "SIGKILL" or "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

var deleteCommand = &cli.Command{
	Name:      "delete",
	Aliases:   []string{"rm"},
	Usage:     "remove a container and everything skiff made for it",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it runs"},
		&cli.BoolFlag{Name: "keep-layer", Usage: "keep the writable layer for a later commit"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		rt := runtimeFor(c)
		var layerDir string
		if st, err := rt.Load(id); err == nil {
			layerDir = st.Layer
		}
		if err := rt.Delete(id, c.Bool("force"), c.Bool("keep-layer")); err != nil {
			return err
		}
		if c.Bool("keep-layer") && layerDir != "" {
			fmt.Printf("kept the writable layer of %s in %s\n", id, layerDir)
		}
		return nil
	},
}
