package main

import (
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// ttyProxy connects skiff's own terminal to a container's pty when no
// console socket was given (foreground run and exec -t): raw mode, the
// window size passed on, the terminal restored at the end.
type ttyProxy struct {
	master  *os.File
	restore func()
	drained chan struct{}
	winch   chan os.Signal
}

func startTTYProxy(master *os.File) *ttyProxy {
	p := &ttyProxy{master: master, restore: func() {}, drained: make(chan struct{}), winch: make(chan os.Signal, 1)}
	in := int(os.Stdin.Fd())
	if old, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(in, unix.TCSETS, &raw) == nil {
			p.restore = func() { unix.IoctlSetTermios(in, unix.TCSETS, old) }
		}
		p.resize()
		signal.Notify(p.winch, unix.SIGWINCH)
		go func() {
			for range p.winch {
				p.resize()
			}
		}()
	}
	go io.Copy(master, os.Stdin)
	go func() {
		io.Copy(os.Stdout, master) // ends with EIO once every slave fd is closed
		close(p.drained)
	}()
	return p
}

func (p *ttyProxy) resize() {
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// finish waits (briefly) for the last output, then restores the terminal.
func (p *ttyProxy) finish() {
	select {
	case <-p.drained:
	case <-time.After(2 * time.Second): // a background process still holds the pty
	}
	signal.Stop(p.winch)
	p.restore()
	p.master.Close()
}
