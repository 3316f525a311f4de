//go:build !nocriu

package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	criurpc "github.com/checkpoint-restore/go-criu/v7/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/skiff-runtime/skiff/cgroups"
	"github.com/skiff-runtime/skiff/rootfs/mountinfo"
)

// CriuOptions are what checkpoint and restore share (runc's flags).
type CriuOptions struct {
	ImagePath      string // criu's image directory (--image-path)
	WorkPath       string // criu's logs and work files (--work-path); default: ImagePath
	TCPEstablished bool
	ExtUnixSk      bool
	ShellJob       bool
	FileLocks      bool
	LazyPages      bool
	AutoDedup      bool
	// ManageCgroupsMode is criu's --manage-cgroups-mode: "", soft, full,
	// strict or ignore.
	ManageCgroupsMode string
	// EmptyNS lists namespaces criu leaves empty (runc: only "network").
	EmptyNS []string
}

// CheckpointOptions are the inputs of checkpoint.
type CheckpointOptions struct {
	CriuOptions
	ParentPath   string // a previous (pre-)dump, relative to ImagePath or absolute
	LeaveRunning bool
	PreDump      bool
	StatusFd     int // with LazyPages: written to once the page server is ready; -1 if none
}

// descriptorsFile records, in the image directory, what the init's stdio
// were at checkpoint: restore hands the caller's stdio to criu in their
// place (criu cannot recreate a pipe whose other end was outside).
const descriptorsFile = "descriptors.json"

var cgModes = map[string]criurpc.CriuCgMode{
	"soft": criurpc.CriuCgMode_SOFT, "full": criurpc.CriuCgMode_FULL,
	"strict": criurpc.CriuCgMode_STRICT, "ignore": criurpc.CriuCgMode_IGNORE,
}

// baseOpts checks the shared options and opens the image and work
// directories (creating them for a checkpoint).
func (o *CriuOptions) open(create bool) (images, work *os.File, err error) {
	if o.ImagePath == "" {
		return nil, nil, errors.New("--image-path: empty")
	}
	if o.WorkPath == "" {
		o.WorkPath = o.ImagePath
	}
	if _, ok := cgModes[o.ManageCgroupsMode]; !ok && o.ManageCgroupsMode != "" {
		return nil, nil, fmt.Errorf("--manage-cgroups-mode: %q is not one of soft, full, strict, ignore", o.ManageCgroupsMode)
	}
	for _, ns := range o.EmptyNS {
		if ns != "network" {
			return nil, nil, fmt.Errorf("--empty-ns: %q is not supported (only network)", ns)
		}
	}
	for _, d := range []string{o.ImagePath, o.WorkPath} {
		if create {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, nil, fmt.Errorf("create %q: %w", d, err)
			}
		}
	}
	images, err = os.OpenFile(o.ImagePath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("--image-path: %w", err)
	}
	if err := os.MkdirAll(o.WorkPath, 0o700); err != nil {
		images.Close()
		return nil, nil, fmt.Errorf("create %q: %w", o.WorkPath, err)
	}
	work, err = os.OpenFile(o.WorkPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		images.Close()
		return nil, nil, fmt.Errorf("--work-path: %w", err)
	}
	return images, work, nil
}

// rpcOpts fills what every request carries.
func (o *CriuOptions) rpcOpts(images, work *os.File, logFile string) *criurpc.CriuOpts {
	r := &criurpc.CriuOpts{
		ImagesDirFd:    proto.Int32(int32(images.Fd())),
		WorkDirFd:      proto.Int32(int32(work.Fd())),
		LogLevel:       proto.Int32(4),
		LogFile:        proto.String(logFile),
		ManageCgroups:  proto.Bool(true),
		NotifyScripts:  proto.Bool(true),
		ShellJob:       proto.Bool(o.ShellJob),
		TcpEstablished: proto.Bool(o.TCPEstablished),
		ExtUnixSk:      proto.Bool(o.ExtUnixSk),
		FileLocks:      proto.Bool(o.FileLocks),
		LazyPages:      proto.Bool(o.LazyPages),
		AutoDedup:      proto.Bool(o.AutoDedup),
	}
	if m, ok := cgModes[o.ManageCgroupsMode]; ok {
		r.ManageCgroupsMode = &m
	}
	if len(o.EmptyNS) > 0 {
		r.EmptyNs = proto.Uint32(unix.CLONE_NEWNET)
	}
	return r
}

// Checkpoint saves a running container with criu. Unless LeaveRunning (or
// PreDump), criu stops its processes and the container is removed as by
// delete; a writable layer is kept for the restore, which reuses it.
func (r *Runtime) Checkpoint(id string, o *CheckpointOptions) error {
	st, unlock, err := r.locked(id)
	if err != nil {
		return err
	}
	defer func() { unlock() }()
	if status := r.Status(st); status != StatusRunning && status != StatusPaused {
		return fmt.Errorf("cannot checkpoint container %q: it is %s, not running", id, status)
	}
	spec, err := st.Spec()
	if err != nil {
		return err
	}
	if spec.Process != nil && spec.Process.Terminal && !o.ShellJob {
		return fmt.Errorf("cannot checkpoint container %q: its process has a terminal, which criu can save only with --shell-job", id)
	}
	if os.Geteuid() != 0 {
		return errors.New("checkpoint needs root: criu cannot checkpoint as an unprivileged user")
	}
	if o.LazyPages && o.StatusFd >= 0 {
		flags, err := unix.FcntlInt(uintptr(o.StatusFd), unix.F_GETFL, 0)
		if err != nil || flags&(unix.O_WRONLY|unix.O_RDWR) == 0 {
			return fmt.Errorf("--status-fd %d: not an open, writable file descriptor", o.StatusFd)
		}
	}
	images, work, err := o.open(true)
	if err != nil {
		return err
	}
	defer images.Close()
	defer work.Close()
	if err := criuCheck(o.WorkPath); err != nil {
		return err
	}
	opts := o.rpcOpts(images, work, "dump.log")
	opts.Pid = proto.Int32(int32(st.Pid))
	opts.Root = proto.String(st.Rootfs)
	opts.LeaveRunning = proto.Bool(o.LeaveRunning || o.PreDump)
	if spec.Process != nil && spec.Process.Terminal {
		opts.OrphanPtsMaster = proto.Bool(true)
	}
	if o.ParentPath != "" {
		opts.ParentImg = proto.String(o.ParentPath)
		opts.TrackMem = proto.Bool(true)
	}
	if o.LazyPages && o.StatusFd >= 0 {
		opts.StatusFd = proto.Int32(int32(o.StatusFd))
	}
	var cg cgroups.Manager
	if len(st.CgroupPaths) > 0 {
		if cg, err = cgroups.Load(st.CgroupPaths); err != nil {
			return fmt.Errorf("cgroup of %q: %w", id, err)
		}
		// criu freezes through the cgroup (a consistent snapshot, no
		// ptrace race with forks) when it can find a freezer.
		if p := freezerPath(st.CgroupPaths); p != "" {
			opts.FreezeCgroup = proto.String(p)
		}
	}
	for _, t := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.PIDNamespace} {
		if p := nsPath(spec, t); p != "" {
			var s unix.Stat_t
			if err := unix.Stat(p, &s); err != nil {
				return fmt.Errorf("linux.namespaces: %s: %w", t, err)
			}
			opts.External = append(opts.External, fmt.Sprintf("%s[%d]:%s", criuNSName(t), s.Ino, externalNSKey(t)))
		}
	}
	typ := criurpc.CriuReqType_DUMP
	if o.PreDump {
		typ = criurpc.CriuReqType_PRE_DUMP
	} else {
		points, ids := containerMounts(st.Pid)
		mounts, err := externalMounts(st, points)
		if err != nil {
			return err
		}
		for _, m := range mounts {
			opts.ExtMnt = append(opts.ExtMnt, &criurpc.ExtMountMap{Key: proto.String(m.dest), Val: proto.String(m.dest)})
		}
		if err := saveDescriptors(st.Pid, o.ImagePath, ids, opts); err != nil {
			return err
		}
	}
	call := &criuCall{
		req:     &criurpc.CriuReq{Type: &typ, Opts: opts},
		logPath: filepath.Join(o.WorkPath, "dump.log"),
	}
	if _, err := call.run(); err != nil {
		return fmt.Errorf("checkpoint %q: %w", id, err)
	}
	if o.LeaveRunning || o.PreDump {
		return nil
	}
	// criu killed the processes: what is left is a stopped container,
	// removed as runc removes it, so that restore can take the id.
	unlock()
	unlock = func() {}
	if cg != nil {
		waitCgroupEmpty(cg)
	}
	return r.Delete(id, true, st.Layer != "")
}

// freezerPath is the cgroup criu freezes: the v1 freezer hierarchy's
// directory, or the v2 one.
func freezerPath(paths map[string]string) string {
	if p := paths["freezer"]; p != "" {
		return p
	}
	return paths[""]
}

func nsPath(spec *specs.Spec, t specs.LinuxNamespaceType) string {
	if spec.Linux == nil {
		return ""
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path
		}
	}
	return ""
}

// criuNSName is the kernel's name of a namespace kind (/proc/PID/ns/NAME),
// which criu uses.
func criuNSName(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	default:
		return string(t)
	}
}

// externalNSKey names a namespace the container joined (and criu leaves
// alone) in both the dump and the restore; runc's key, so images move
// between the runtimes.
func externalNSKey(t specs.LinuxNamespaceType) string {
	n := criuNSName(t)
	return "extRoot" + strings.ToUpper(n[:1]) + n[1:] + "NS"
}

// extMount is one mount criu must treat as external: its source lies
// outside the container, so the image records only its mount point and
// restore says what to mount there.
type extMount struct {
	dest   string // inside the container
	source string // on the host, at restore
}

// externalMounts lists the container's mounts whose source is on the
// host: bind mounts from the config, the cgroup hierarchies skiff binds
// at a cgroup mount, and device nodes bound from the host (in a user
// namespace). mounted, when not nil, filters to what is really mounted
// in the container.
func externalMounts(st *State, mounted map[string]bool) ([]extMount, error) {
	var out []extMount
	add := func(dest, src string) {
		dest = filepath.Clean("/" + dest)
		if mounted != nil && !mounted[dest] {
			return
		}
		for _, m := range out {
			if m.dest == dest {
				return
			}
		}
		out = append(out, extMount{dest: dest, source: src})
	}
	spec, err := st.Spec()
	if err != nil {
		return nil, err
	}
	var cgMounts []cgroups.Mount
	if len(st.CgroupPaths) > 0 {
		cg, err := cgroups.Load(st.CgroupPaths)
		if err != nil {
			return nil, fmt.Errorf("cgroup of %q: %w", st.ID, err)
		}
		cgMounts = cg.Mounts()
	}
	for _, m := range spec.Mounts {
		switch {
		case m.Type == "cgroup" || m.Type == "cgroup2":
			for _, cm := range cgMounts {
				add(filepath.Join(m.Destination, cm.Name), cm.Source)
			}
		case m.Type == "bind" || hasOption(m.Options, "bind") || hasOption(m.Options, "rbind"):
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(st.Bundle, src)
			}
			add(m.Destination, src)
		}
	}
	if spec.Linux != nil {
		for _, d := range spec.Linux.Devices {
			add(d.Path, d.Path)
		}
	}
	return out, nil
}

func hasOption(opts []string, want string) bool {
	for _, o := range opts {
		if o == want {
			return true
		}
	}
	return false
}

// containerMounts reads the init's mountinfo: the mount points as the
// container sees them, and the mount ids of its namespace (both nil when
// it cannot be read).
func containerMounts(pid int) (points map[string]bool, ids map[int]bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return nil, nil
	}
	points, ids = map[string]bool{}, map[int]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) <= 4 {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			ids[n] = true
		}
		points[mountinfo.Unescape(f[4])] = true
	}
	return points, ids
}

// saveDescriptors records the init's stdio in the image. A file the
// container cannot see (its mount is not in the container's mount
// namespace: say the caller's /dev/null or a log file) is declared to criu
// as external, "file[mnt_id:inode]", and restore hands the caller's fd in
// its place, as it does for pipes; criu could not reopen it otherwise.
func saveDescriptors(pid int, imageDir string, mountIDs map[int]bool, opts *criurpc.CriuOpts) error {
	fds := make([]string, 3)
	for i := range fds {
		p, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, i))
		if err != nil {
			continue
		}
		fds[i] = p
		if !strings.HasPrefix(p, "/") {
			continue // pipe:[..], socket:[..], anon_inode:..
		}
		mnt := fdMountID(pid, i)
		if mnt < 0 || mountIDs == nil || mountIDs[mnt] {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", pid, i), &st); err != nil {
			continue
		}
		key := fmt.Sprintf("file[%x:%x]", mnt, st.Ino)
		if !hasString(opts.External, key) {
			opts.External = append(opts.External, key)
		}
		fds[i] = key
	}
	data, _ := json.Marshal(fds)
	if err := os.WriteFile(filepath.Join(imageDir, descriptorsFile), data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", descriptorsFile, err)
	}
	return nil
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fdMountID reads the mount id of a process's fd from its fdinfo.
func fdMountID(pid, fd int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "mnt_id:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return -1
}

func loadDescriptors(imageDir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(imageDir, descriptorsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--image-path %q holds no skiff checkpoint (no %s)", imageDir, descriptorsFile)
	}
	if err != nil {
		return nil, err
	}
	var fds []string
	if err := json.Unmarshal(data, &fds); err != nil {
		return nil, fmt.Errorf("%s: %w", descriptorsFile, err)
	}
	return fds, nil
}
