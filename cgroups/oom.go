package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// OOMEvents delivers one value per OOM kill. v1 registers an eventfd on
// memory.oom_control through cgroup.event_control; v2 watches
// memory.events with inotify and counts "oom_kill". Both wake up when the
// cgroup goes away, which closes the channel.
func (m *manager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	l, v2, ok := m.controller("memory")
	if !ok {
		return nil, fmt.Errorf("oom events: %w: the host has no memory cgroup controller", ErrNotSupported)
	}
	if v2 {
		return oomEventsV2(l.dir, stop)
	}
	return oomEventsV1(l.dir, stop)
}

func oomEventsV1(dir string, stop <-chan struct{}) (<-chan struct{}, error) {
	oomPath := filepath.Join(dir, "memory.oom_control")
	oomFile, err := os.Open(oomPath)
	if err != nil {
		return nil, fmt.Errorf("oom events: open %s: %w", oomPath, unwrapPathError(err))
	}
	defer oomFile.Close() // the kernel holds its own reference once registered
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("oom events: eventfd: %w", err)
	}
	// Non-blocking, so os.File reads go through the poller and Close
	// from the stop goroutine wakes a pending Read.
	ev := os.NewFile(uintptr(efd), "oom-eventfd")
	if err := writeFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, oomFile.Fd())); err != nil {
		ev.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	ch := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return // closed by stop, or a read error: no more events
			}
			// The kernel also signals when the cgroup is removed.
			if _, err := os.Stat(oomPath); err != nil {
				ev.Close()
				return
			}
			n := uint64(buf[0]) | uint64(buf[1])<<8 | uint64(buf[2])<<16 | uint64(buf[3])<<24 |
				uint64(buf[4])<<32 | uint64(buf[5])<<40 | uint64(buf[6])<<48 | uint64(buf[7])<<56
			if !deliver(ch, stop, n) {
				ev.Close()
				return
			}
		}
	}()
	go closeOnStop(stop, done, ev)
	return ch, nil
}

// closeOnStop closes f when stop is closed (a closed f ends the reader),
// and returns without doing so once the reader is done by itself.
func closeOnStop(stop <-chan struct{}, done <-chan struct{}, f *os.File) {
	select {
	case <-stop:
		f.Close()
	case <-done:
	}
}

// deliver sends n events; false when stop was closed meanwhile.
func deliver(ch chan<- struct{}, stop <-chan struct{}, n uint64) bool {
	for ; n > 0; n-- {
		select {
		case ch <- struct{}{}:
		case <-stop:
			return false
		}
	}
	return true
}

func oomEventsV2(dir string, stop <-chan struct{}) (<-chan struct{}, error) {
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("oom events: inotify: %w", err)
	}
	in := os.NewFile(uintptr(ifd), "oom-inotify")
	events := filepath.Join(dir, "memory.events")
	if _, err := unix.InotifyAddWatch(ifd, events, unix.IN_MODIFY); err != nil {
		in.Close()
		return nil, fmt.Errorf("oom events: watch %s: %w", events, err)
	}
	// cgroupfs files vanish inside the kernel without an inotify event;
	// the rmdir of the directory itself goes through the VFS and does
	// report IN_DELETE_SELF, so the directory is watched for the end.
	if _, err := unix.InotifyAddWatch(ifd, dir, unix.IN_DELETE_SELF|unix.IN_ONLYDIR); err != nil {
		in.Close()
		return nil, fmt.Errorf("oom events: watch %s: %w", dir, err)
	}
	last, err := oomKills(dir)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	ch := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		defer in.Close()
		buf := make([]byte, 4096)
		for {
			// The removal of the cgroup does not always reach inotify
			// (kernfs), so the directory is also checked once a second.
			_ = in.SetReadDeadline(time.Now().Add(time.Second))
			n, err := in.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if _, serr := os.Stat(dir); serr != nil {
					return
				}
				continue
			}
			if err != nil {
				return
			}
			gone := false
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				e := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
				if e.Mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED) != 0 {
					gone = true
				}
				off += unix.SizeofInotifyEvent + int(e.Len)
			}
			cur, err := oomKills(dir)
			if err != nil {
				return // the cgroup is gone
			}
			if cur > last && !deliver(ch, stop, cur-last) {
				return
			}
			last = cur
			if gone {
				return
			}
		}
	}()
	go closeOnStop(stop, done, in)
	return ch, nil
}

// oomKills reads the OOM kill count of memory.events ("oom_kill N"),
// falling back to "oom" on kernels that do not count kills.
func oomKills(dir string) (uint64, error) {
	kv, err := readKeyValues(dir, "memory.events")
	if err != nil {
		return 0, err
	}
	if v, ok := kv["oom_kill"]; ok {
		return v, nil
	}
	return kv["oom"], nil
}
