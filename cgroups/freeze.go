package cgroups

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// freezeTimeout bounds the wait for the kernel to report a freeze or thaw
// complete. A task stuck in an uninterruptible sleep can hold off v1
// freezing for a while; past this the freeze is undone and reported.
const freezeTimeout = 10 * time.Second

// freezer returns the leaf to freeze through and whether it is cgroup2.
func (m *manager) freezer() (*leaf, bool, error) {
	if l, ok := m.v1["freezer"]; ok {
		return l, false, nil
	}
	if m.v2 != nil {
		return m.v2, true, nil
	}
	return nil, false, errors.New("freeze: the host has no freezer cgroup (neither a v1 freezer hierarchy nor cgroup2)")
}

func (m *manager) Freeze() error {
	l, v2, err := m.freezer()
	if err != nil {
		return err
	}
	if v2 {
		return setFrozenV2(l.dir, true)
	}
	if err := setFrozenV1(l.dir, true); err != nil {
		// Never leave a half-frozen container behind.
		_ = setFrozenV1(l.dir, false)
		return err
	}
	return nil
}

func (m *manager) Thaw() error {
	l, v2, err := m.freezer()
	if err != nil {
		return err
	}
	if v2 {
		return setFrozenV2(l.dir, false)
	}
	return setFrozenV1(l.dir, false)
}

func (m *manager) Frozen() (bool, error) {
	l, v2, err := m.freezer()
	if err != nil {
		return false, err
	}
	if v2 {
		s, err := readFile(l.dir, "cgroup.freeze")
		if err != nil {
			return false, err
		}
		return strings.TrimSpace(s) == "1", nil
	}
	s, err := readFile(l.dir, "freezer.state")
	if err != nil {
		return false, err
	}
	// FREEZING counts: the freeze was asked for and is still under way.
	return strings.TrimSpace(s) != "THAWED", nil
}

// setFrozenV1 writes the wanted state to freezer.state until the kernel
// reports it. Writing FROZEN again while FREEZING nudges tasks that were
// busy (in a fork, say) at the first attempt.
func setFrozenV1(dir string, frozen bool) error {
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	deadline := time.Now().Add(freezeTimeout)
	for delay := time.Millisecond; ; {
		if err := writeFile(dir, "freezer.state", want); err != nil {
			return err
		}
		state, err := readFile(dir, "freezer.state")
		if err != nil {
			return err
		}
		if strings.TrimSpace(state) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("freezer %s: still %s after %s, wanted %s", dir, strings.TrimSpace(state), freezeTimeout, want)
		}
		time.Sleep(delay)
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// setFrozenV2 writes cgroup.freeze and waits for the "frozen" key of
// cgroup.events to agree.
func setFrozenV2(dir string, frozen bool) error {
	val, want := "0", "frozen 0"
	if frozen {
		val, want = "1", "frozen 1"
	}
	if err := writeFile(dir, "cgroup.freeze", val); err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	for delay := time.Millisecond; ; {
		events, err := readFile(dir, "cgroup.events")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(events, "\n") {
			if strings.TrimSpace(line) == want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if frozen {
				_ = writeFile(dir, "cgroup.freeze", "0")
			}
			return fmt.Errorf("freeze %s: cgroup.events did not report %q within %s", dir, want, freezeTimeout)
		}
		time.Sleep(delay)
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}
