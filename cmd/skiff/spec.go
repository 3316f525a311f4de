package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/skiff-runtime/skiff/libcontainer/specdefault"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json in the bundle directory",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory", Value: "."},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for a non-root user (user namespace, no cgroup limits)"},
	},
	Action: func(c *cli.Context) error {
		spec := specdefault.New()
		if c.Bool("rootless") {
			specdefault.MakeRootless(spec, os.Geteuid(), os.Getegid())
		}
		path := filepath.Join(c.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s already exists: remove it first", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(data, '\n'), 0o644)
	},
}
