//go:build nocriu

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// companionName is the build of skiff with criu support (make build puts
// it beside skiff). This build leaves criu's RPC code (go-criu and the
// protobuf runtime: 1.7 MB of binary, about 1.7 MB of RSS and 1 ms of
// package init in every process) out of the runtime that starts every
// container, and hands checkpoint and restore to the companion, as crun
// loads libcriu only when asked to.
const companionName = "skiff-criu"

var checkpointCommand = companionCommand("checkpoint", "save a running container with criu (and stop it, unless --leave-running)")

var restoreCommand = companionCommand("restore", "restore a container from a checkpoint; in the foreground, wait for it and remove it")

func companionCommand(name, usage string) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage + " (run by " + companionName + ")",
		ArgsUsage:       "ID",
		SkipFlagParsing: true,
		Action:          func(*cli.Context) error { return execCompanion() },
	}
}

// execCompanion replaces this process with the companion, same arguments,
// same pid (a foreground restore waits for the restored init as its
// parent) and same stdio.
func execCompanion() error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find %s: %w", companionName, err)
	}
	path := filepath.Join(filepath.Dir(self), companionName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("checkpoint and restore need %s beside %s (make build installs both): %w", companionName, self, errors.Unwrap(err))
	}
	// main marked every inherited fd close-on-exec; the one fd a caller
	// passes on purpose must reach the companion.
	if fd := statusFd(os.Args); fd > 2 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("--status-fd %d: %w", fd, err)
		}
	}
	argv := append([]string{path}, os.Args[1:]...)
	if err := unix.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil
}

// statusFd finds --status-fd N (or --status-fd=N) in the arguments.
func statusFd(args []string) int {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--status-fd=")
		if !ok && (a == "--status-fd" || a == "-status-fd") && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return -1
}
