package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	// holder keeps the scope alive between Apply(-1) and Apply(pid): a
	// scope cannot exist without a process, and the container's cgroup
	// must exist before its init joins it (for its cgroup mounts), but
	// neither the runtime nor the init should be charged to it earlier
	// than with the cgroupfs driver. It is a cat reading a pipe only we
	// hold, so it goes away with us if we die.
	holder     *exec.Cmd
	holderPipe *os.File
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
			var err error
			if join, err = m.startHolder(); err != nil {
				return err
			}
		}
		if err := m.startUnit(join); err != nil {
			m.stopHolder()
			return err
		}
		m.started = true
	}
	// Hierarchies systemd does not manage (v1 cpuset, freezer, ...) are
	// the cgroupfs code's, and it moves pid in everywhere.
	if err := m.fs.Apply(pid); err != nil {
		return err
	}
	if pid != -1 {
		m.stopHolder()
	}
	return nil
}

func (m *systemdManager) startHolder() (int, error) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		return 0, fmt.Errorf("start systemd scope %s: no cat to hold it until the container joins: %w", m.unit, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(cat)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return 0, fmt.Errorf("start systemd scope %s: start %s: %w", m.unit, cat, err)
	}
	r.Close()
	m.holder, m.holderPipe = cmd, w
	return cmd.Process.Pid, nil
}

func (m *systemdManager) stopHolder() {
	if m.holder == nil {
		return
	}
	m.holderPipe.Close()
	m.holder.Process.Kill()
	m.holder.Wait()
	m.holder, m.holderPipe = nil, nil
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
// through the cgroupfs code.
func (m *systemdManager) Set(r *specs.LinuxResources) error {
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
	m.stopHolder()
	return m.fs.Kill(sig)
}

// Destroy stops the scope (systemd removes the cgroups it made), then
// removes what is left (hierarchies systemd does not manage).
func (m *systemdManager) Destroy() error {
	var errs []error
	m.stopHolder()
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
