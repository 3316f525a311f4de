package sigrelay

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func receive(t *testing.T, c chan os.Signal, want unix.Signal) {
	t.Helper()
	select {
	case got := <-c:
		if got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%v did not arrive", want)
	}
}

// Signals reach the channel whichever path they take: the C relay
// (SIGUSR1, a real-time signal) or os/signal (SIGPIPE, SIGSEGV sent by a
// process).
func TestNotifyRelaysSignals(t *testing.T) {
	c := make(chan os.Signal, 8)
	sigs := []os.Signal{unix.SIGUSR1, unix.Signal(40), unix.SIGPIPE, unix.SIGSEGV}
	if err := Notify(c, sigs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if err := unix.Kill(os.Getpid(), s.(unix.Signal)); err != nil {
			t.Fatal(err)
		}
		receive(t, c, s.(unix.Signal))
	}
}

// A fault the kernel sends stays the runtime's: a nil dereference still
// panics (and recovers) while SIGSEGV is being relayed.
func TestRuntimeKeepsFaults(t *testing.T) {
	c := make(chan os.Signal, 1)
	if err := Notify(c, unix.SIGSEGV, unix.SIGBUS); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("nil dereference did not panic")
		}
	}()
	var p *int
	_ = *p
}

func TestNotifyRefusesUncatchable(t *testing.T) {
	c := make(chan os.Signal, 1)
	for _, s := range []os.Signal{unix.SIGKILL, unix.SIGSTOP, unix.Signal(0)} {
		if err := Notify(c, s); err == nil {
			t.Errorf("Notify(%v) succeeded", s)
		}
	}
}

// Two channels watching one signal both get it.
func TestNotifyFansOut(t *testing.T) {
	a, b := make(chan os.Signal, 1), make(chan os.Signal, 1)
	if err := Notify(a, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if err := Notify(b, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	unix.Kill(os.Getpid(), unix.SIGUSR2)
	receive(t, a, unix.SIGUSR2)
	receive(t, b, unix.SIGUSR2)
}
