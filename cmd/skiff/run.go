package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libcontainer"
	"github.com/skiff-runtime/skiff/libcontainer/sigrelay"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and remove it",
	ArgsUsage: "ID",
	Flags: append(append([]cli.Flag(nil), createFlags...),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.BoolFlag{Name: "keep", Usage: "do not remove the container when it exits"},
	),
	Action: func(c *cli.Context) error {
		rt := runtimeFor(c)
		// Catch signals before the container exists so none is lost.
		signals := make(chan os.Signal, 64)
		if !c.Bool("detach") {
			// Relayed until the process exits (sigrelay: os/signal's
			// Notify and Stop cost a round trip with the runtime's
			// signal thread per signal, issue 8).
			if err := sigrelay.Notify(signals, forwardedSignals()...); err != nil {
				return err
			}
		}
		var proxy *ttyProxy
		var onTerminal func(*os.File) error
		if !c.Bool("detach") && c.String("console-socket") == "" {
			onTerminal = func(master *os.File) error { proxy = startTTYProxy(master); return nil }
		}
		st, err := createFromFlags(c, onTerminal, true)
		if proxy != nil {
			defer proxy.finish()
		}
		if err != nil {
			return err
		}
		if c.Bool("detach") {
			return nil
		}
		return waitThenRemove(rt, st.ID, st.Pid, signals, &proxy, c.Bool("keep"))
	},
}

// waitThenRemove is the end of a foreground run or restore: wait for the
// container's init (passing signals on), let the terminal proxy drain,
// remove the container unless keep, and exit with the init's status.
func waitThenRemove(rt *libcontainer.Runtime, id string, pid int, signals chan os.Signal, proxy **ttyProxy, keep bool) error {
	code := waitForwarding(pid, signals)
	if *proxy != nil {
		(*proxy).finish()
		*proxy = nil
	}
	if !keep {
		if err := rt.Delete(id, true, false); err != nil && !errors.Is(err, libcontainer.ErrNotExist) {
			logger.Warnf("remove container %s: %v", id, err)
		}
	}
	return exitError{code}
}

// waitForwarding waits for the container's init (a child of this process:
// stage 0 forks it with CLONE_PARENT) and passes on every signal we get.
// It returns the exit status, 128+N for a death by signal N.
func waitForwarding(pid int, signals chan os.Signal) int {
	done := make(chan int, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				done <- 255
				return
			}
			break
		}
		if ws.Signaled() {
			done <- 128 + int(ws.Signal())
			return
		}
		done <- ws.ExitStatus()
	}()
	for {
		select {
		case code := <-done:
			return code
		case s := <-signals:
			sig, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			unix.Kill(pid, sig)
		}
	}
}

// forwardedSignals are the signals a foreground run or exec passes on to
// the container's process: all but those it cannot catch and those that
// are about skiff itself. SIGURG in particular is the Go runtime's own
// preemption signal; asking for it would flood the channel (and drop a
// real signal behind it) on a slow machine.
func forwardedSignals() []os.Signal {
	var sigs []os.Signal
	for s := unix.Signal(1); s <= unix.Signal(64); s++ {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGURG, unix.SIGCHLD, unix.SIGWINCH:
			continue
		}
		if s >= 32 && s < 34 {
			continue // reserved by glibc for its threads
		}
		sigs = append(sigs, s)
	}
	return sigs
}
