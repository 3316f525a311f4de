package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	systemdDbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The systemd driver (--systemd-cgroup) puts the container in a transient
// scope unit, created over D-Bus with github.com/coreos/go-systemd/v22/dbus
// (on github.com/godbus/dbus/v5) rather than hand-written D-Bus: systemd
// then owns the cgroup, so it does not remove or reset it behind our back
// (daemon-reload re-applies the unit's properties, not what we wrote).
// Resources systemd manages are given as unit properties; then the same
// resources are written by the cgroupfs code on the scope's cgroup (which
// also covers what systemd does not manage), so Set, Freeze, Stats, Pids,
// Kill and OOMEvents are the cgroupfs driver's.

// PathsUnitKey is the key of Paths() that names the scope unit: Load
// recognizes it and rebuilds a systemd Manager.
const PathsUnitKey = "systemd-unit"

// SystemdRunning reports whether systemd is PID 1 on this host (what
// sd_booted checks).
func SystemdRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

type systemdManager struct {
	unit  string
	slice string
	fs    *manager
	v2    bool
	extra []systemdDbus.Property // from annotations

	started bool
	// selfIn is set while the runtime itself is in the scope: a scope
	// cannot exist without a process, and the container's cgroup must
	// exist before its init joins it (for its cgroup mounts), so
	// Apply(-1) starts the scope around the runtime, and Apply(pid)
	// moves the runtime back to origin once the init is in.
	selfIn  bool
	origin  []string
	pending *specs.LinuxResources
	hasPend bool
}

var _ Manager = (*systemdManager)(nil)

// NewSystemd returns the systemd-driver Manager of container id:
// cgroupsPath is runc's "slice:prefix:name" ("" is
// "system.slice:skiff:<id>"); the scope is "prefix-name.scope" in slice.
// annotations may carry org.systemd.property.* settings for the unit.
func NewSystemd(cgroupsPath, id string, annotations ...map[string]string) (Manager, error) {
	if !SystemdRunning() {
		return nil, errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the default cgroupfs driver")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("--systemd-cgroup: the systemd driver needs root (user sessions are not supported)")
	}
	slice, unit, err := systemdPath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	var extra []systemdDbus.Property
	for _, a := range annotations {
		p, err := annotationProperties(a)
		if err != nil {
			return nil, err
		}
		extra = append(extra, p...)
	}
	slicePath, _ := expandSlice(slice)
	hs, err := hostHierarchies()
	if err != nil {
		return nil, err
	}
	leaves := make([]leaf, 0, len(hs))
	for _, h := range hs {
		leaves = append(leaves, leaf{h: h, dir: dirOf(h, filepath.Join(slicePath, unit))})
	}
	m := &systemdManager{unit: unit, slice: slice, fs: newManager(leaves), extra: extra}
	m.v2 = m.fs.v2 != nil && len(m.fs.v1) == 0
	return m, nil
}

// loadSystemd rebuilds the Manager from its Paths().
func loadSystemd(paths map[string]string) (Manager, error) {
	rest := map[string]string{}
	for k, v := range paths {
		if k != PathsUnitKey {
			rest[k] = v
		}
	}
	fsm, err := Load(rest)
	if err != nil {
		return nil, err
	}
	m := &systemdManager{unit: paths[PathsUnitKey], fs: fsm.(*manager), started: true}
	m.v2 = m.fs.v2 != nil && len(m.fs.v1) == 0
	return m, nil
}

func (m *systemdManager) Paths() map[string]string {
	p := m.fs.Paths()
	p[PathsUnitKey] = m.unit
	return p
}

const dbusTimeout = 30 * time.Second

func connect(ctx context.Context) (*systemdDbus.Conn, error) {
	// systemd's private socket (root only) works without a dbus daemon;
	// the system bus is the fallback.
	c, err := systemdDbus.NewSystemdConnectionContext(ctx)
	if err == nil {
		return c, nil
	}
	c, err2 := systemdDbus.NewWithContext(ctx)
	if err2 != nil {
		return nil, fmt.Errorf("connect to systemd: %w", errors.Join(err, err2))
	}
	return c, nil
}

func (m *systemdManager) Apply(pid int) error {
	if !m.started {
		join := pid
		if pid == -1 {
			join = os.Getpid()
			if err := m.rememberOrigin(); err != nil {
				return err
			}
		}
		if err := m.startUnit(join); err != nil {
			return err
		}
		m.started = true
		m.selfIn = pid == -1
	}
	// Hierarchies systemd does not manage (v1 cpuset, freezer, ...) and
	// the controllers of the cgroup2 leaf are the cgroupfs code's.
	if err := m.fs.Apply(pid); err != nil {
		return err
	}
	if pid != -1 && m.selfIn {
		if err := m.leave(); err != nil {
			return err
		}
		if m.hasPend {
			r := m.pending
			m.pending, m.hasPend = nil, false
			return m.Set(r)
		}
	}
	return nil
}

func (m *systemdManager) rememberOrigin() error {
	own, err := ownCgroups()
	if err != nil {
		return err
	}
	m.origin = m.origin[:0]
	for _, l := range m.fs.leaves {
		m.origin = append(m.origin, dirOf(l.h, ownCgroupIn(l.h, own)))
	}
	return nil
}

// leave moves the runtime back to the cgroups it came from.
func (m *systemdManager) leave() error {
	if !m.selfIn {
		return nil
	}
	for _, dir := range m.origin {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
			return fmt.Errorf("leave scope %s: %w", m.unit, err)
		}
	}
	m.selfIn = false
	return nil
}

func (m *systemdManager) startUnit(pid int) error {
	ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
	defer cancel()
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	props := []systemdDbus.Property{
		systemdDbus.PropDescription("skiff container " + strings.TrimSuffix(m.unit, ".scope")),
		systemdDbus.PropSlice(m.slice),
		systemdDbus.PropPids(uint32(pid)),
		prop("Delegate", true),
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
	}
	if m.v2 {
		props = append(props, prop("IOAccounting", true))
	} else {
		props = append(props, prop("BlockIOAccounting", true))
	}
	props = append(props, m.extra...)
	done := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, m.unit, "replace", props, done); err != nil {
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists" {
			return fmt.Errorf("start systemd scope %s: the unit already exists (another container or a leftover: systemctl stop %s)", m.unit, m.unit)
		}
		return fmt.Errorf("start systemd scope %s: %w", m.unit, err)
	}
	select {
	case res := <-done:
		if res != "done" {
			return fmt.Errorf("start systemd scope %s: job %s (see journalctl -u %s)", m.unit, res, m.unit)
		}
	case <-ctx.Done():
		return fmt.Errorf("start systemd scope %s: no answer from systemd in %s", m.unit, dbusTimeout)
	}
	return nil
}

// Set gives systemd the properties it manages, then writes every field
// through the cgroupfs code. While the runtime itself is still in the
// scope (between Apply(-1) and Apply(pid)) the resources are kept and
// applied once the init is in, so the runtime never runs under the
// container's limits and device rules.
func (m *systemdManager) Set(r *specs.LinuxResources) error {
	if m.selfIn {
		m.pending, m.hasPend = r, true
		return nil
	}
	props, err := resourceProperties(r, m.v2, readProcDevices())
	if err != nil {
		return err
	}
	if len(props) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
		defer cancel()
		conn, err := connect(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := conn.SetUnitPropertiesContext(ctx, m.unit, true, props...); err != nil {
			return fmt.Errorf("set properties of systemd scope %s: %w", m.unit, err)
		}
	}
	return m.fs.Set(r)
}

func (m *systemdManager) Freeze() error          { return m.fs.Freeze() }
func (m *systemdManager) Thaw() error            { return m.fs.Thaw() }
func (m *systemdManager) Frozen() (bool, error)  { return m.fs.Frozen() }
func (m *systemdManager) Pids() ([]int, error)   { return m.fs.Pids() }
func (m *systemdManager) Stats() (*Stats, error) { return m.fs.Stats() }
func (m *systemdManager) Mounts() []Mount        { return m.fs.Mounts() }
func (m *systemdManager) Warnings() []string     { return m.fs.Warnings() }
func (m *systemdManager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	return m.fs.OOMEvents(stop)
}

func (m *systemdManager) Kill(sig os.Signal) error {
	if err := m.leave(); err != nil {
		return err
	}
	return m.fs.Kill(sig)
}

// Destroy stops the scope (systemd removes the cgroups it made), then
// removes what is left (hierarchies systemd does not manage).
func (m *systemdManager) Destroy() error {
	var errs []error
	if err := m.leave(); err != nil {
		errs = append(errs, err)
	}
	if err := m.stopUnit(); err != nil {
		errs = append(errs, err)
	}
	if err := m.fs.Destroy(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *systemdManager) stopUnit() error {
	ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
	defer cancel()
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, m.unit, "replace", done); err != nil {
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return nil
		}
		return fmt.Errorf("stop systemd scope %s: %w", m.unit, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop systemd scope %s: no answer from systemd in %s", m.unit, dbusTimeout)
	}
	// A scope whose processes were killed may stay "failed" and keep its
	// name taken.
	_ = conn.ResetFailedUnitContext(ctx, m.unit)
	return nil
}
