// This file is not part of runtime-tools. run.sh compiles it together with
// the unmodified sources of github.com/opencontainers/runtime-tools/cmd/runtimetest,
// copied from the module cache (this directory starts with "_" so that
// ./... patterns leave it alone: on its own it is not a program).
//
// Since Go 1.19 the syscall package raises the RLIMIT_NOFILE soft limit of
// every Go program to (nearly) the hard limit before main runs, and keeps the
// original value only to hand it back to child processes. runtimetest is the
// checker that runs inside the container and compares its own limits with
// process.rlimits, so without this it would see Go's raised soft limit
// instead of the one the runtime set, and the RLIMIT_NOFILE assertion would
// fail for every runtime. Package syscall is initialised before package
// main, so restoring the saved value here runs before any check.
//
// Reading the unexported variable needs -ldflags=-checklinkname=0.

package main

import (
	"sync/atomic"
	"syscall"
	_ "unsafe" // for go:linkname
)

//go:linkname origRlimitNofile syscall.origRlimitNofile
var origRlimitNofile atomic.Pointer[syscall.Rlimit]

func init() {
	if lim := origRlimitNofile.Load(); lim != nil {
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, lim)
	}
}
