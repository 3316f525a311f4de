package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print a container's state as JSON",
	ArgsUsage: "ID",
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		st, err := runtimeFor(c).State(id)
		if err != nil {
			return err
		}
		return printJSON(st, true)
	},
}

func printJSON(v any, indent bool) error {
	enc := json.NewEncoder(os.Stdout)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

var listCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ls"},
	Usage:   "list containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
	},
	Action: func(c *cli.Context) error {
		list, err := runtimeFor(c).List()
		if err != nil {
			return err
		}
		if c.Bool("quiet") {
			for _, st := range list {
				fmt.Println(st.ID)
			}
			return nil
		}
		switch c.String("format") {
		case "json":
			if list == nil {
				fmt.Println("null")
				return nil
			}
			return printJSON(list, false)
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, st := range list {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", st.ID, st.Pid, st.Status, st.Bundle, st.Created.Format(time.RFC3339Nano), st.Owner)
			}
			return w.Flush()
		}
		return fmt.Errorf("--format: unknown format %q (table or json)", c.String("format"))
	},
}
