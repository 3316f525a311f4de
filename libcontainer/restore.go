//go:build !nocriu

package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	criurpc "github.com/checkpoint-restore/go-criu/v7/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/skiff-runtime/skiff/libcontainer/bundle"
	"github.com/skiff-runtime/skiff/namespaces"
	"github.com/skiff-runtime/skiff/rootfs"
	"github.com/skiff-runtime/skiff/rootfs/layer"
)

// RestoreOptions are the inputs of restore.
type RestoreOptions struct {
	CriuOptions
	Create *CreateOptions // the container to make: id, bundle, pid file, console, cgroup driver
}

// Restore recreates a container from a checkpoint: skiff makes its state,
// cgroup and root (the bundle's rootfs, or the writable layer the
// checkpoint kept), and criu recreates its processes and namespaces. The
// restored init is a child of this process (criu's restore-sibling), so a
// foreground restore can wait for it.
func Restore(o *RestoreOptions) (*State, error) {
	co := o.Create
	if err := prepareRestore(co); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("restore needs root: criu cannot restore as an unprivileged user")
	}
	descriptors, err := loadDescriptors(o.ImagePath)
	if err != nil {
		return nil, err
	}
	if _, err := criuPath(); err != nil {
		return nil, err
	}
	images, work, err := o.open(false)
	if err != nil {
		return nil, err
	}
	defer images.Close()
	defer work.Close()
	spec := co.Bundle.Spec
	plan, err := namespaces.NewPlan(spec.Linux.Namespaces)
	if err != nil {
		return nil, err
	}
	if err := checkPlan(spec, plan, co.SystemdCgroup); err != nil {
		return nil, err
	}
	s := store{co.Root}
	unlock, err := s.create(co.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st := &State{
		ID: co.ID, Bundle: co.Bundle.Dir, Rootfs: co.Bundle.Rootfs, Created: time.Now().UTC(),
		Phase: StatusCreating, Annotations: spec.Annotations,
		HostMounts: !plan.Has(specs.MountNamespace),
	}
	if err := st.setSpec(spec); err != nil {
		os.RemoveAll(s.dir(co.ID))
		return nil, err
	}
	c := &creation{o: co, s: s, st: st, plan: plan}
	rs := &restoration{creation: c, opts: o, descriptors: descriptors}
	if err := rs.run(images, work); err != nil {
		c.rollback()
		return nil, err
	}
	return st, nil
}

func prepareRestore(co *CreateOptions) error {
	if err := bundle.ValidateID(co.ID); err != nil {
		return err
	}
	spec := co.Bundle.Spec
	if spec.Linux == nil {
		return errors.New("linux: missing (skiff runs Linux containers)")
	}
	if spec.Process != nil && spec.Process.Terminal && co.ConsoleSocket == "" && co.OnTerminal == nil {
		return errors.New("process.terminal: restoring a container with a terminal needs --console-socket (or a foreground restore)")
	}
	if nsPath(spec, specs.CgroupNamespace) != "" {
		return errors.New("linux.namespaces: criu cannot restore into a joined cgroup namespace")
	}
	return nil
}

// restoration is one restore in progress; what it made is released by
// the creation's rollback (plus the kept layer, which it never discards).
type restoration struct {
	*creation
	opts        *RestoreOptions
	descriptors []string
}

func (rs *restoration) run(images, work *os.File) error {
	c, o, st, spec := rs.creation, rs.opts, rs.st, rs.o.Bundle.Spec
	if err := c.s.save(st); err != nil {
		return err
	}
	if err := c.setupCgroup(); err != nil {
		return err
	}
	root, cleanupRoot, err := rs.mountRoot()
	if err != nil {
		return err
	}
	defer cleanupRoot()
	opts := o.rpcOpts(images, work, "restore.log")
	opts.Root = proto.String(root)
	opts.RstSibling = proto.Bool(true)
	opts.EvasiveDevices = proto.Bool(true)
	if spec.Process != nil && spec.Process.Terminal {
		opts.OrphanPtsMaster = proto.Bool(true)
	}
	mounts, err := externalMounts(st, nil)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		opts.ExtMnt = append(opts.ExtMnt, &criurpc.ExtMountMap{Key: proto.String(m.dest), Val: proto.String(m.source)})
	}
	if err := rs.ensureMountPoints(root); err != nil {
		return err
	}
	// The init's stdio that were pipes (or sockets) at checkpoint become
	// this process's stdio; criu inherits them as its own fds 0-2.
	for i, d := range rs.descriptors {
		if strings.HasPrefix(d, "pipe:") || strings.HasPrefix(d, "socket:") || strings.HasPrefix(d, "file[") {
			opts.InheritFd = append(opts.InheritFd, &criurpc.InheritFd{Key: proto.String(d), Fd: proto.Int32(int32(i))})
		}
	}
	var extra []*os.File
	defer func() {
		for _, f := range extra {
			f.Close()
		}
	}()
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path == "" {
			continue
		}
		switch ns.Type {
		case specs.NetworkNamespace, specs.PIDNamespace:
			f, err := os.Open(ns.Path)
			if err != nil {
				return fmt.Errorf("linux.namespaces: %s namespace %q: %w", ns.Type, ns.Path, err)
			}
			extra = append(extra, f)
			opts.InheritFd = append(opts.InheritFd, &criurpc.InheritFd{
				Key: proto.String(externalNSKey(ns.Type)), Fd: proto.Int32(int32(3 + len(extra))),
			})
		default:
			opts.JoinNs = append(opts.JoinNs, &criurpc.JoinNamespace{Ns: proto.String(criuNSName(ns.Type)), NsFile: proto.String(ns.Path)})
		}
	}
	typ := criurpc.CriuReqType_RESTORE
	call := &criuCall{
		req:     &criurpc.CriuReq{Type: &typ, Opts: opts},
		extra:   extra,
		stdin:   rs.o.Stdin,
		stdout:  rs.o.Stdout,
		stderr:  rs.o.Stderr,
		logPath: filepath.Join(o.WorkPath, "restore.log"),
		started: rs.criuStarted,
		notify:  rs.notified,
	}
	if _, err := call.run(); err != nil {
		return fmt.Errorf("restore %q: %w", st.ID, err)
	}
	if st.Pid == 0 || !st.alive() {
		return fmt.Errorf("restore %q: criu reported success but the container's init is not running", st.ID)
	}
	st.Phase = StatusRunning
	if err := c.s.save(st); err != nil {
		return err
	}
	if h := spec.Hooks; h != nil {
		state := st.ociState(StatusRunning)
		if err := runHooks("poststart", h.Poststart, &state); err != nil {
			rs.o.Log.Warnf("%v", err)
		}
	}
	return nil
}

// criuStarted puts criu into the container's cgroup before it restores
// anything, so every process it makes is born there, and tells criu which
// cgroup is the container's root in each hierarchy.
func (rs *restoration) criuStarted(criuPid int, req *criurpc.CriuReq) error {
	if rs.cg == nil {
		return nil
	}
	if err := rs.cg.Apply(criuPid); err != nil {
		return fmt.Errorf("move criu into the container's cgroup: %w", err)
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(criuPid) + "/cgroup")
	if err != nil {
		return fmt.Errorf("cgroups of criu: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		req.Opts.CgRoot = append(req.Opts.CgRoot, &criurpc.CgroupRoot{Ctrl: proto.String(parts[1]), Path: proto.String(parts[2])})
	}
	return nil
}

// notified handles criu's notifications during a restore.
func (rs *restoration) notified(n *criurpc.CriuNotify, fd int) error {
	st, co, spec := rs.st, rs.o, rs.o.Bundle.Spec
	switch n.GetScript() {
	case "setup-namespaces":
		if h := spec.Hooks; h != nil {
			state := st.ociState(StatusCreating)
			state.Pid = int(n.GetPid())
			if err := runHooks("prestart", h.Prestart, &state); err != nil {
				return err
			}
			if err := runHooks("createRuntime", h.CreateRuntime, &state); err != nil {
				return err
			}
		}
	case "post-restore":
		pid := int(n.GetPid())
		st.Pid = pid
		st.PidStart = processStartTime(pid)
		rs.pid = pid // rollback kills it if anything later fails
		if err := rs.s.save(st); err != nil {
			return err
		}
		if co.PidFile != "" {
			if err := writePidFile(co.PidFile, pid); err != nil {
				return err
			}
		}
		if co.PidfdSocket != "" {
			if err := sendPidfd(co.PidfdSocket, pid); err != nil {
				return err
			}
		}
	case "orphan-pts-master":
		if fd < 0 {
			return errors.New("criu sent no terminal master")
		}
		master := os.NewFile(uintptr(fd), "pty-master")
		if co.ConsoleSocket != "" {
			defer master.Close()
			name := ""
			if n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN); err == nil {
				name = "/dev/pts/" + strconv.Itoa(n)
			}
			return sendToConsoleSocket(co.ConsoleSocket, master, name)
		}
		if co.OnTerminal == nil {
			master.Close()
			return errors.New("terminal: no console socket to send it to")
		}
		return co.OnTerminal(master)
	default:
		closeFd(fd)
	}
	return nil
}

// prepareLayer finds the root's writable layer: the one the checkpoint
// kept for this id (its files are what the saved processes had open), or
// a new one.
func (rs *restoration) prepareLayer() (l *layer.Layer, lowers []string, err error) {
	o, spec := rs.o, rs.o.Bundle.Spec
	if !wantsLayer(spec, o.Overlay) {
		return nil, nil, nil
	}
	if lowers, err = layerLowers(spec, o.Bundle.Rootfs); err != nil {
		return nil, nil, err
	}
	if kept, err := layer.Open(o.DataRoot, o.ID); err == nil {
		rs.st.Layer = kept.Dir()
		return kept, lowers, rs.s.save(rs.st)
	}
	if err := rs.creation.prepareLayer(); err != nil {
		return nil, nil, err
	}
	return rs.layer, lowers, nil
}

// mountRoot makes the root criu restores into: a mount point of its own
// (criu's requirement), private, under the container's state directory.
func (rs *restoration) mountRoot() (string, func(), error) {
	l, lowers, err := rs.prepareLayer()
	if err != nil {
		return "", nil, err
	}
	root := filepath.Join(rs.s.dir(rs.st.ID), "criu-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", nil, fmt.Errorf("restore root: %w", err)
	}
	if l != nil {
		err = l.Mount(root, lowers, rs.plan.Has(specs.UserNamespace))
	} else {
		err = unix.Mount(rs.st.Rootfs, root, "", unix.MS_BIND|unix.MS_REC, "")
	}
	if err != nil {
		os.Remove(root)
		return "", nil, fmt.Errorf("mount the root for restore: %w", err)
	}
	cleanup := func() {
		unix.Unmount(root, unix.MNT_DETACH)
		os.Remove(root)
	}
	if err := unix.Mount("", root, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("make the restore root private: %w", err)
	}
	return root, cleanup, nil
}

// ensureMountPoints creates, inside the root, the mount points of the
// config's mounts that are not on a tmpfs (criu restores tmpfs contents,
// not the directories other mounts need): a fresh root may lack them.
func (rs *restoration) ensureMountPoints(root string) error {
	spec := rs.o.Bundle.Spec
	var tmpfs []string
	for _, m := range spec.Mounts {
		if m.Type == "tmpfs" {
			tmpfs = append(tmpfs, filepath.Clean(m.Destination))
		}
	}
	for _, m := range spec.Mounts {
		dest := filepath.Clean(m.Destination)
		onTmpfs := false
		for _, t := range tmpfs {
			if strings.HasPrefix(dest, t+"/") {
				onTmpfs = true
			}
		}
		if onTmpfs {
			continue
		}
		file := false
		if m.Type == "bind" || hasOption(m.Options, "bind") || hasOption(m.Options, "rbind") {
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(rs.st.Bundle, src)
			}
			if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
				file = true
			}
		}
		if err := rootfs.EnsureMountPoint(root, dest, file); err != nil {
			return fmt.Errorf("mount %q: %w", m.Destination, err)
		}
	}
	return nil
}
