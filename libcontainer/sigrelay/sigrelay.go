// Package sigrelay passes the signals a foreground `run`, `exec` or
// `restore` receives on to a channel, as os/signal's Notify does, without
// Notify's start-up cost.
//
// Why not os/signal alone: Notify enables each signal with a round trip
// to the runtime's signal-mask goroutine, which is locked to its own OS
// thread. For the 57 signals a foreground run forwards, that is about 170
// context switches and 2.4 ms of CPU before the container even exists
// (perf stat of a program doing only that; issue 8), a tenth of a whole
// `skiff run`. Here a small C handler writes each signal's number to a
// non-blocking pipe and one goroutine reads it.
//
// Signals that mean something to the Go runtime stay with os/signal, so
// the runtime keeps handling them as before: the synchronous faults
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), which become panics
// or crashes when the kernel sends them, SIGPIPE, which the runtime
// raises after a write to a closed stdout, and SIGURG, its preemption
// signal.
package sigrelay

// #cgo CFLAGS: -Wall -O2
// #include "relay.h"
import "C"

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// runtimeSignals are left to os/signal (see the package comment).
var runtimeSignals = map[unix.Signal]bool{
	unix.SIGSEGV: true, unix.SIGBUS: true, unix.SIGFPE: true, unix.SIGILL: true,
	unix.SIGTRAP: true, unix.SIGSYS: true, unix.SIGPIPE: true, unix.SIGURG: true,
}

var (
	mu       sync.Mutex
	pipeW    int = -1
	watchers     = map[unix.Signal][]chan<- os.Signal{}
)

// Notify makes the signals in sigs arrive on c until the process exits.
// As with os/signal, a send that would block is dropped: give c a buffer.
// SIGKILL and SIGSTOP cannot be caught and are refused.
func Notify(c chan<- os.Signal, sigs ...os.Signal) error {
	var viaRuntime []os.Signal
	mu.Lock()
	defer mu.Unlock()
	for _, s := range sigs {
		sig, ok := s.(syscall.Signal)
		if !ok {
			return fmt.Errorf("relay signal %v: not a unix signal", s)
		}
		if sig == unix.SIGKILL || sig == unix.SIGSTOP || sig <= 0 || sig > 64 {
			return fmt.Errorf("relay signal %d: cannot be caught", int(sig))
		}
		if runtimeSignals[sig] {
			viaRuntime = append(viaRuntime, s)
			continue
		}
		if err := startPipe(); err != nil {
			return err
		}
		if len(watchers[sig]) == 0 {
			if errno := C.relay_install(C.int(pipeW), C.int(sig)); errno != 0 {
				return fmt.Errorf("relay signal %d: sigaction: %w", int(sig), syscall.Errno(errno))
			}
		}
		watchers[sig] = append(watchers[sig], c)
	}
	if len(viaRuntime) > 0 {
		signal.Notify(c, viaRuntime...)
	}
	return nil
}

// startPipe makes the pipe and its reader once; mu is held.
func startPipe() error {
	if pipeW >= 0 {
		return nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("relay signals: pipe: %w", err)
	}
	// Only the handler's end is non-blocking; the reader blocks in
	// read(2), on a thread of its own, without the poller.
	if err := unix.SetNonblock(p[1], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return fmt.Errorf("relay signals: pipe: %w", err)
	}
	pipeW = p[1]
	go readPipe(p[0])
	return nil
}

func readPipe(fd int) {
	buf := make([]byte, 64)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		mu.Lock()
		for _, b := range buf[:n] {
			sig := unix.Signal(b)
			for _, c := range watchers[sig] {
				select {
				case c <- sig:
				default:
				}
			}
		}
		mu.Unlock()
	}
}
