package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skiff-runtime/skiff/rootfs/layer"
)

var diffCommand = &cli.Command{
	Name:      "diff",
	Usage:     "list what a container changed in its writable layer (A added, C changed, D deleted)",
	ArgsUsage: "ID",
	Flags:     []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "text or json"}},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return fmt.Errorf("--format: unknown format %q (text or json)", format)
		}
		changes, err := runtimeFor(c).Diff(id)
		if err != nil {
			return err
		}
		if format == "json" {
			if changes == nil {
				changes = []layer.Change{}
			}
			return printJSON(changes, false)
		}
		for _, ch := range changes {
			fmt.Println(ch.String())
		}
		return nil
	},
}

var commitCommand = &cli.Command{
	Name:      "commit",
	Usage:     "write a container's changes as an OCI layer tarball or a new rootfs directory",
	ArgsUsage: "ID DEST",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "tar", Usage: "tar (OCI layer) or dir (merged rootfs)"},
		&cli.BoolFlag{Name: "gzip", Aliases: []string{"z"}, Usage: "gzip the tarball"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("commit: want ID and DEST, got %d arguments", c.NArg())
		}
		format, err := layer.ParseFormat(c.String("format"))
		if err != nil {
			return err
		}
		if c.Bool("gzip") && format != layer.Tar {
			return fmt.Errorf("--gzip: only for --format tar")
		}
		return runtimeFor(c).Commit(c.Args().Get(0), c.Args().Get(1), format, c.Bool("gzip"))
	},
}
