// Command specedit adjusts a bundle's config.json for scripts (make demo,
// benchmarks) on machines without jq: specedit [-terminal=false]
// [-readonly=...] CONFIG [ARGS...] replaces process.args when ARGS are given.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	terminal := flag.String("terminal", "", "set process.terminal (true or false)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: specedit [-terminal=false] CONFIG [ARGS...]")
		os.Exit(2)
	}
	if err := edit(flag.Arg(0), *terminal, flag.Args()[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "specedit:", err)
		os.Exit(1)
	}
}

func edit(path, terminal string, args []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// A generic map keeps every field, known to skiff or not.
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc, _ := spec["process"].(map[string]any)
	if proc == nil {
		return fmt.Errorf("%s: no process object", path)
	}
	switch terminal {
	case "":
	case "true", "false":
		proc["terminal"] = terminal == "true"
	default:
		return fmt.Errorf("-terminal: want true or false, got %q", terminal)
	}
	if len(args) > 0 {
		proc["args"] = args
	}
	out, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}
