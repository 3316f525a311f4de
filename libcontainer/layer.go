package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libcontainer/specdefault"
	"github.com/skiff-runtime/skiff/namespaces"
	"github.com/skiff-runtime/skiff/rootfs/layer"
)

// Annotations about the writable layer. LayerLowersAnnotation (in
// config.json) adds read-only directories under the rootfs, topmost first,
// separated by ':'. LayerDirAnnotation (in `state`) tells where the layer is.
const (
	LayerLowersAnnotation = "dev.skiff.layer.lowers"
	LayerDirAnnotation    = "dev.skiff.layer.dir"
	lowersFile            = "lowers.json"
)

// wantsLayer: on when the bundle asks (skiff spec writes the annotation)
// or the caller says --overlay; off otherwise, so engines keep runc's
// behaviour of writing into the rootfs they hand over.
func wantsLayer(spec *specs.Spec, overlay bool) bool {
	return overlay || spec.Annotations[specdefault.LayerAnnotation] == "overlay"
}

// layerLowers lists the overlay's lower directories, topmost first.
func layerLowers(spec *specs.Spec, rootfs string) ([]string, error) {
	lowers := []string{rootfs}
	if extra := spec.Annotations[LayerLowersAnnotation]; extra != "" {
		for _, l := range strings.Split(extra, ":") {
			if !filepath.IsAbs(l) {
				return nil, fmt.Errorf("annotations[%q]: %q is not an absolute path", LayerLowersAnnotation, l)
			}
			if st, err := os.Stat(l); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("annotations[%q]: %q is not a directory", LayerLowersAnnotation, l)
			}
			lowers = append(lowers, l)
		}
	}
	return lowers, nil
}

// mappedRoot returns the host uid and gid of the container's root: the
// owner its layer must have so that root inside can write it. A joined
// user namespace without mappings in the config is read from
// /proc/<pid>/{uid,gid}_map when its path names a process.
func mappedRoot(spec *specs.Spec, plan namespaces.Plan) (int, int, error) {
	uids, gids := spec.Linux.UIDMappings, spec.Linux.GIDMappings
	for _, j := range plan.Joins {
		if j.Kind.Type != specs.UserNamespace || len(uids) > 0 {
			continue
		}
		dir, ok := strings.CutSuffix(j.Path, "/ns/user")
		if !ok || !strings.HasPrefix(dir, "/proc/") {
			return 0, 0, fmt.Errorf("writable layer: cannot tell the owner of a layer for user namespace %q; give linux.uidMappings and linux.gidMappings", j.Path)
		}
		var err error
		if uids, err = readIDMap(dir + "/uid_map"); err != nil {
			return 0, 0, err
		}
		if gids, err = readIDMap(dir + "/gid_map"); err != nil {
			return 0, 0, err
		}
	}
	uid, gid := 0, 0
	for _, m := range uids {
		if m.ContainerID == 0 {
			uid = int(m.HostID)
		}
	}
	for _, m := range gids {
		if m.ContainerID == 0 {
			gid = int(m.HostID)
		}
	}
	return uid, gid, nil
}

func readIDMap(path string) ([]specs.LinuxIDMapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var maps []specs.LinuxIDMapping
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m specs.LinuxIDMapping
		if _, err := fmt.Sscan(line, &m.ContainerID, &m.HostID, &m.Size); err == nil {
			maps = append(maps, m)
		}
	}
	return maps, nil
}

// prepareLayer creates the container's layer and records its lowers in it,
// so a layer kept after delete can still be committed.
func prepareLayer(dataRoot, id string, lowers []string, uid, gid int) (*layer.Layer, error) {
	l, err := layer.Prepare(dataRoot, id, uid, gid)
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(lowers)
	if err := os.WriteFile(filepath.Join(l.Dir(), lowersFile), data, 0o600); err != nil {
		l.Discard()
		return nil, fmt.Errorf("record layer lowers: %w", err)
	}
	return l, nil
}

// openLayer finds a container's layer: from its state, or, for a layer
// kept after delete, from the data root.
func (r *Runtime) openLayer(id string) (*layer.Layer, []string, error) {
	l, err := layer.Open(r.DataRoot, id)
	if err != nil {
		if _, serr := r.Load(id); serr == nil {
			return nil, nil, fmt.Errorf("container %q has no writable layer (create it with --overlay or the %s annotation)", id, specdefault.LayerAnnotation)
		}
		return nil, nil, fmt.Errorf("container %q %w, and no layer of it is kept", id, ErrNotExist)
	}
	data, err := os.ReadFile(filepath.Join(l.Dir(), lowersFile))
	if err != nil {
		return nil, nil, fmt.Errorf("layer of %q: %w", id, err)
	}
	var lowers []string
	if err := json.Unmarshal(data, &lowers); err != nil {
		return nil, nil, fmt.Errorf("layer of %q: corrupt %s: %w", id, lowersFile, err)
	}
	return l, lowers, nil
}

// Diff lists what the container changed in its layer.
func (r *Runtime) Diff(id string) ([]layer.Change, error) {
	l, lowers, err := r.openLayer(id)
	if err != nil {
		return nil, err
	}
	return l.Diff(lowers)
}

// Commit writes the container's changes to dest. A running container is
// paused for a consistent copy and resumed afterwards.
func (r *Runtime) Commit(id, dest string, format layer.Format, gzip bool) (err error) {
	l, lowers, err := r.openLayer(id)
	if err != nil {
		return err
	}
	if st, lerr := r.Load(id); lerr == nil && r.Status(st) == StatusRunning {
		if err := r.Pause(id); err != nil {
			return fmt.Errorf("pause %q for commit: %w", id, err)
		}
		defer func() {
			if rerr := r.Resume(id); rerr != nil && err == nil {
				err = fmt.Errorf("resume %q after commit: %w", id, rerr)
			}
		}()
	}
	return l.Commit(lowers, dest, format, gzip)
}

// discardLayer removes a deleted container's layer unless it is kept.
func (r *Runtime) discardLayer(st *State, keep bool) error {
	if st.Layer == "" || keep {
		return nil
	}
	l, err := layer.Open(filepath.Dir(st.Layer), st.ID)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return l.Discard()
}
