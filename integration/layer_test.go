//go:build integration

package integration

// The writable layer through the real binary: isolation between containers
// of one bundle, a pristine image, diff, commit (tar and dir), delete and
// delete --keep-layer, the runc-like behaviour without the layer, and the
// layer in a user-namespaced container. rootfs/layer tests the same rules
// package by package; these check that skiff wires them up.

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// layerDirAnnotation is where `skiff state` says the layer is.
const layerDirAnnotation = "dev.skiff.layer.dir"

// writeLayerImage adds /img, the part of the image the tests change, to a
// rootfs made by makeRootfs.
func writeLayerImage(t *testing.T, rootfs string) {
	t.Helper()
	img := filepath.Join(rootfs, "img")
	for _, d := range []string{"deldir/sub", "repdir/sub", "modedir"} {
		if err := os.MkdirAll(filepath.Join(img, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"keep.txt":      "keep\n",
		"change.txt":    "orig\n",
		"del.txt":       "delete me\n",
		"deldir/a":      "a\n",
		"deldir/sub/b":  "b\n",
		"repdir/old1":   "old1\n",
		"repdir/old2":   "old2\n",
		"repdir/sub/x":  "x\n",
		"modefile":      "mode\n",
		"modedir/inner": "inner\n",
		"ownfile":       "own\n",
		"hl1":           "hard\n",
		"typefile":      "a file, then a directory\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(img, name), content)
	}
	if err := os.Link(filepath.Join(img, "hl1"), filepath.Join(img, "hl2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("keep.txt", filepath.Join(img, "oldsym")); err != nil {
		t.Fatal(err)
	}
}

// changeScript makes every kind of change diff must report, in /img.
const changeScript = `set -e
cd /img
echo changed > change.txt
rm del.txt
rm -rf deldir
rm -rf repdir; mkdir repdir; echo new > repdir/new
chmod 600 modefile
chmod 700 modedir
chown 1000:1000 ownfile
echo more >> hl1
ln keep.txt keep-link
echo added > added.txt
ln added.txt added-link
ln -s keep.txt sym
rm oldsym; ln -s change.txt oldsym
rm typefile; mkdir typefile; echo in > typefile/in
mkdir -p newdir/sub; echo f > newdir/sub/f
`

// wantChanges is what diff must print for changeScript, sorted by path.
var wantChanges = []string{
	"A /img/added-link",
	"A /img/added.txt",
	"C /img/change.txt",
	"D /img/del.txt",
	"D /img/deldir",
	"C /img/hl1",
	"A /img/keep-link",
	"C /img/keep.txt", // copied up by the link: changed though its bytes are not
	"C /img/modedir",
	"C /img/modefile",
	"A /img/newdir",
	"A /img/newdir/sub",
	"A /img/newdir/sub/f",
	"C /img/oldsym",
	"C /img/ownfile",
	"C /img/repdir",
	"A /img/repdir/new",
	"D /img/repdir/old1",
	"D /img/repdir/old2",
	"D /img/repdir/sub",
	"A /img/sym",
	"C /img/typefile",
	"A /img/typefile/in",
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// checkDiff runs `skiff diff` (text and json) and compares both with want.
func checkDiff(t *testing.T, c *ctr, when string, want []string) {
	t.Helper()
	r := c.skiff("diff", c.id)
	if r.Code != 0 {
		t.Errorf("diff %s: %s", when, r)
		return
	}
	got := lines(r.Stdout)
	if !slices.Equal(got, want) {
		t.Errorf("diff %s:\n%s", when, listDelta(got, want))
	}
	r = c.skiff("diff", "--format", "json", c.id)
	if r.Code != 0 {
		t.Errorf("diff --format json %s: %s", when, r)
		return
	}
	var js []struct{ Kind, Path string }
	if err := json.Unmarshal([]byte(r.Stdout), &js); err != nil {
		t.Errorf("diff --format json %s is not a JSON list: %v: %q", when, err, r.Stdout)
		return
	}
	letter := map[string]string{"added": "A", "changed": "C", "deleted": "D"}
	var gotJS []string
	for _, e := range js {
		l, ok := letter[e.Kind]
		if !ok {
			l = "?" + e.Kind
		}
		gotJS = append(gotJS, l+" "+e.Path)
	}
	if !slices.Equal(gotJS, want) {
		t.Errorf("diff --format json %s:\n%s", when, listDelta(gotJS, want))
	}
}

// listDelta says what got has that want has not and the other way round.
func listDelta(got, want []string) string {
	var b strings.Builder
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "  unexpected: %s\n", g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "  missing:    %s\n", w)
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "  same entries, other order or duplicates: got %q", got)
	}
	return b.String()
}

// manifest describes every entry under root except root itself and the
// top-level mount points proc, sys and dev: type, mode, owner, content
// checksum, symlink target, the other names of the same inode in the tree,
// and the mtime when withMtime.
func manifest(t *testing.T, root string, withMtime bool) map[string]string {
	t.Helper()
	type key struct{ dev, ino uint64 }
	out := map[string]string{}
	inodes := map[key][]string{}
	keys := map[string]key{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if rel == "proc" || rel == "sys" || rel == "dev" {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s %o uid=%d gid=%d", fi.Mode().Type(), uint32(st.Mode)&0o7777, st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" size=%d sha256=%s", fi.Size(), hex.EncodeToString(h.Sum(nil))[:16])
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + l
		}
		if withMtime {
			desc += fmt.Sprintf(" mtime=%d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
		}
		out[rel] = desc
		if !fi.IsDir() {
			k := key{uint64(st.Dev), st.Ino}
			inodes[k] = append(inodes[k], rel)
			keys[rel] = k
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	for rel, k := range keys {
		if names := inodes[k]; len(names) > 1 {
			sort.Strings(names)
			out[rel] += " links=" + strings.Join(names, ",")
		}
	}
	return out
}

// compareManifests reports the differences between two manifests.
func compareManifests(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s (%s)", p, w))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", p, g, w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s (%s)", p, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 40 {
			diffs = append(diffs[:40], fmt.Sprintf("... and %d more", len(diffs)-40))
		}
		t.Errorf("%s differs:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// addCap gives the process capability name.
func addCap(s *specs.Spec, name string) {
	c := s.Process.Capabilities
	for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
		if !slices.Contains(*set, name) {
			*set = append(*set, name)
		}
	}
}

// startLayerCtr creates and starts c with its process already set, waits
// for "ready" in its output and returns the init's pid.
func startLayerCtr(t *testing.T, c *ctr, extra ...string) int {
	t.Helper()
	if r := c.create(extra...); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := c.skiff("start", c.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.output(), "ready") {
		if time.Now().After(deadline) || c.status() == "stopped" {
			errOut, _ := os.ReadFile(filepath.Join(c.dir, "ctr.stderr"))
			t.Fatalf("container never printed ready: stdout %q, stderr %q", c.output(), errOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m, r := c.state()
	if m == nil {
		t.Fatalf("state: %s", r)
	}
	pid := num(m, "pid")
	if pid <= 0 {
		t.Fatalf("state has no pid: %s", r.Stdout)
	}
	return pid
}

// stopCtr kills the container and waits until it is stopped.
func stopCtr(t *testing.T, c *ctr) {
	t.Helper()
	if r := c.skiff("kill", c.id, "KILL"); r.Code != 0 {
		t.Fatalf("kill: %s", r)
	}
	c.waitStatus("stopped", 10*time.Second)
}

// stateLayerDir is the layer directory `skiff state` reports.
func stateLayerDir(t *testing.T, c *ctr) string {
	t.Helper()
	m, r := c.state()
	if m == nil {
		t.Fatalf("state: %s", r)
	}
	ann, _ := m["annotations"].(map[string]any)
	s, _ := ann[layerDirAnnotation].(string)
	return s
}

// hostMountsMentioning lists host mounts whose point, source or
// superblock options contain s (an overlay names its upperdir there).
func hostMountsMentioning(t *testing.T, s string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range parseMountinfo(string(data)) {
		if strings.Contains(m.Point, s) || strings.Contains(m.Source, s) || strings.Contains(m.SuperRaw, s) {
			out = append(out, m.Point+" "+m.FSType+" "+m.SuperRaw)
		}
	}
	return out
}

// assertNoLayerLeft checks that the container left no layer directory and
// no host mount behind.
// dataRootEntries lists what a data root holds besides the record of its
// filesystem's check (rootfs/layer's upper-checked@v1), which stays.
func dataRootEntries(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if e.Name() != "upper-checked@v1" {
			names = append(names, e.Name())
		}
	}
	return names
}

func assertNoLayerLeft(t *testing.T, c *ctr) {
	t.Helper()
	assertNothingLeft(t, c)
	if m := hostMountsMentioning(t, c.data); len(m) > 0 {
		t.Errorf("host mounts of the data root left behind: %v", m)
	}
	if m := hostMountsMentioning(t, c.rootfs); len(m) > 0 {
		t.Errorf("host mounts of the rootfs left behind: %v", m)
	}
}

// tarEntries reads a layer tarball (gzipped or not) into name -> header,
// names without a leading "./" or "/".
func tarEntries(t *testing.T, path string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && magic == [2]byte{0x1f, 0x8b} {
		f.Seek(0, io.SeekStart)
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = gz
	} else {
		f.Seek(0, io.SeekStart)
	}
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not a tar archive: %v", path, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"), "/")
		if name == "" || name == "." {
			continue
		}
		out[name] = h
	}
	return out
}

func normTarName(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "./"), "/"), "/")
}

// checkLayerTar checks the OCI layer of changeScript: whiteouts for the
// deletions, an opaque marker for the replaced directory, hardlinks, and
// nothing outside /img.
func checkLayerTar(t *testing.T, what string, ents map[string]*tar.Header) {
	t.Helper()
	for _, w := range []string{"img/.wh.del.txt", "img/.wh.deldir", "img/repdir/.wh..wh..opq"} {
		if _, ok := ents[w]; !ok {
			t.Errorf("%s: no whiteout %s", what, w)
		}
	}
	for _, bad := range []string{"img/deldir/.wh.a", "img/deldir/a", "img/.wh.repdir", "img/keep.txt/.wh..wh..opq"} {
		if _, ok := ents[bad]; ok {
			t.Errorf("%s: unexpected entry %s", what, bad)
		}
	}
	linked := func(a, b string) bool {
		ha, hb := ents[a], ents[b]
		return ha != nil && hb != nil &&
			(ha.Typeflag == tar.TypeLink && normTarName(ha.Linkname) == b ||
				hb.Typeflag == tar.TypeLink && normTarName(hb.Linkname) == a)
	}
	for _, pair := range [][2]string{{"img/added.txt", "img/added-link"}, {"img/keep.txt", "img/keep-link"}} {
		if !linked(pair[0], pair[1]) {
			t.Errorf("%s: %s and %s are not a hardlink pair: %v / %v", what, pair[0], pair[1], ents[pair[0]], ents[pair[1]])
		}
	}
	if h := ents["img/hl1"]; h == nil || h.Typeflag != tar.TypeReg {
		t.Errorf("%s: img/hl1 should be a regular file (its copy-up broke the link): %v", what, h)
	}
	if h := ents["img/ownfile"]; h == nil || h.Uid != 1000 || h.Gid != 1000 {
		t.Errorf("%s: img/ownfile should be owned by 1000:1000: %v", what, h)
	}
	if h := ents["img/modefile"]; h == nil || h.Mode&0o7777 != 0o600 {
		t.Errorf("%s: img/modefile should have mode 600: %v", what, h)
	}
	if h := ents["img/sym"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "keep.txt" {
		t.Errorf("%s: img/sym should be a symlink to keep.txt: %v", what, h)
	}
	for name := range ents {
		if name != "img" && !strings.HasPrefix(name, "img/") {
			t.Errorf("%s: entry %s is outside what the container changed", what, name)
		}
	}
}

// applyWithUmoci unpacks an OCI image whose first layer is the image
// directory (archived by GNU tar) and whose second is layerTar, with
// umoci: layer application, whiteouts included, by a tool that shares no
// code with skiff. It returns the unpacked rootfs.
func applyWithUmoci(t *testing.T, scratch, image, layerTar string) string {
	t.Helper()
	for _, tool := range []string{"umoci", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian package %s); cannot apply the layer independently", tool, tool)
		}
	}
	dir, err := os.MkdirTemp(scratch, "umoci-")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.tar")
	img := filepath.Join(dir, "img")
	rootfs := filepath.Join(dir, "rootfs")
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", image, "-cf", base, ".")
	run("umoci", "init", "--layout", img)
	run("umoci", "new", "--image", img+":t")
	run("umoci", "raw", "add-layer", "--image", img+":t", base)
	run("umoci", "raw", "add-layer", "--image", img+":t", layerTar)
	run("umoci", "raw", "unpack", "--image", img+":t", rootfs)
	return rootfs
}

// TestLayerTwoContainersOneBundle: two containers of one bundle run at
// once; each writes its own content to the same path and reads it back,
// a file one deletes stays for the other, the bundle's rootfs does not
// change, and delete (of a stopped and of a running container) leaves no
// mount and no layer directory.
func TestLayerTwoContainersOneBundle(t *testing.T) {
	t.Parallel()
	c1 := newCtr(t, func(c *ctr, s *specs.Spec) {
		writeLayerImage(t, c.rootfs)
		shell(s, `echo ready; exec sleep 1000`)
	})
	if !hasLayer(c1.spec) {
		t.Fatalf("skiff spec did not set the %s annotation: %v", layerAnnotation, c1.spec.Annotations)
	}
	c2 := &ctr{t: t, dir: tempDir(t), root: c1.root, data: c1.data, bundle: c1.bundle, rootfs: c1.rootfs, id: newID("it"), spec: c1.spec}
	t.Cleanup(func() {
		if r := c2.skiff("delete", "--force", c2.id); r.Code != 0 {
			t.Logf("cleanup: delete --force %s: %s", c2.id, r)
		}
	})
	before := manifest(t, c1.rootfs, true)
	startLayerCtr(t, c1)
	startLayerCtr(t, c2)

	for _, c := range []*ctr{c1, c2} {
		dir := stateLayerDir(t, c)
		if want := filepath.Join(c.data, c.id); dir != want {
			t.Errorf("%s: state annotation %s = %q, want %q", c.id, layerDirAnnotation, dir, want)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("%s: layer directory %q: %v", c.id, dir, err)
		}
	}
	execIn := func(c *ctr, script string) string {
		t.Helper()
		r := c.skiff("exec", c.id, "sh", "-c", script)
		if r.Code != 0 {
			t.Fatalf("exec in %s: %s", c.id, r)
		}
		return r.Stdout
	}
	execIn(c1, `echo one > /img/change.txt; echo one > /img/new.txt; rm /img/del.txt`)
	execIn(c2, `echo two > /img/change.txt; echo two > /img/new.txt`)
	check := `cat /img/change.txt /img/new.txt; test -e /img/del.txt && echo del-present || echo del-gone; cat /img/keep.txt`
	if got, want := execIn(c1, check), "one\none\ndel-gone\nkeep\n"; got != want {
		t.Errorf("first container reads %q, want %q", got, want)
	}
	if got, want := execIn(c2, check), "two\ntwo\ndel-present\nkeep\n"; got != want {
		t.Errorf("second container reads %q, want %q (the first one's changes must not show)", got, want)
	}
	// Each layer records only its own container's changes.
	checkDiff(t, c1, "of the first container", []string{"C /img/change.txt", "D /img/del.txt", "A /img/new.txt"})
	checkDiff(t, c2, "of the second container", []string{"C /img/change.txt", "A /img/new.txt"})

	// While they run, the host sees neither container's root mount.
	if m := hostMountsMentioning(t, c1.data); len(m) > 0 {
		t.Errorf("the overlay is mounted in the host's mount namespace: %v", m)
	}

	stopCtr(t, c1)
	if r := c1.skiff("delete", c1.id); r.Code != 0 {
		t.Fatalf("delete of the stopped container: %s", r)
	}
	if got, want := execIn(c2, check), "two\ntwo\ndel-present\nkeep\n"; got != want {
		t.Errorf("after the first container's delete the second reads %q, want %q", got, want)
	}
	if r := c2.skiff("delete", "--force", c2.id); r.Code != 0 {
		t.Fatalf("delete --force of the running container: %s", r)
	}
	assertNoLayerLeft(t, c1)
	assertNoLayerLeft(t, c2)
	if names := dataRootEntries(c1.data); len(names) > 0 {
		t.Errorf("data root still holds %v", names)
	}
	compareManifests(t, "the bundle rootfs after two containers wrote over it", manifest(t, c1.rootfs, true), before)
}

// TestLayerDiffCommit: a scripted set of changes (a deleted file and
// directory, a replaced directory, a directory over a file, symlinks,
// hardlinks, changed modes and owner) is reported exactly by diff, running
// and stopped; commit --format tar (of the running container, which is
// paused and resumed) applied over the image by umoci gives the tree the
// container saw; commit --format dir gives that tree too, and a new
// container runs from it; delete --keep-layer keeps the layer for diff and
// commit until a second delete; the bundle rootfs never changes.
func TestLayerDiffCommit(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		writeLayerImage(t, c.rootfs)
		addCap(s, "CAP_CHOWN") // for chown ownfile
		shell(s, changeScript+"echo ready\nexec sleep 1000\n")
	})
	before := manifest(t, c.rootfs, true)
	pid := startLayerCtr(t, c)
	layerDir := stateLayerDir(t, c)
	if want := filepath.Join(c.data, c.id); layerDir != want {
		t.Errorf("state annotation %s = %q, want %q", layerDirAnnotation, layerDir, want)
	}

	checkDiff(t, c, "of the running container", wantChanges)
	// What the container sees, read through its root from the host.
	view := manifest(t, fmt.Sprintf("/proc/%d/root/", pid), false)
	if !strings.Contains(view["img/keep-link"], "links=img/keep-link,img/keep.txt") || !strings.Contains(view["bin/busybox"], "sha256=") ||
		strings.Contains(view["img/hl2"], "links=") || view["img/del.txt"] != "" {
		t.Fatalf("the container's view, read through /proc/%d/root, is not what the script made: keep-link %q, hl2 %q, busybox %q, del.txt %q",
			pid, view["img/keep-link"], view["img/hl2"], view["bin/busybox"], view["img/del.txt"])
	}

	out := tempDir(t)
	layerTar := filepath.Join(out, "layer.tar")
	if r := c.skiff("commit", c.id, layerTar); r.Code != 0 {
		t.Fatalf("commit of the running container: %s", r)
	}
	if st := c.status(); st != "running" {
		t.Errorf("after commit the container is %q, want running again", st)
	}
	if r := c.skiff("exec", c.id, "cat", "/img/change.txt"); r.Code != 0 || r.Stdout != "changed\n" {
		t.Errorf("exec after commit: %s", r)
	}
	checkLayerTar(t, "commit --format tar", tarEntries(t, layerTar))
	compareManifests(t, "the image plus the committed layer (applied by umoci), against the container's view",
		manifest(t, applyWithUmoci(t, out, c.rootfs, layerTar), false), view)

	stopCtr(t, c)
	checkDiff(t, c, "of the stopped container", wantChanges)

	dirOut := filepath.Join(out, "rootfs-dir")
	if r := c.skiff("commit", "--format", "dir", c.id, dirOut); r.Code != 0 {
		t.Fatalf("commit --format dir of the stopped container: %s", r)
	}
	compareManifests(t, "commit --format dir, against the container's view", manifest(t, dirOut, false), view)

	gzTar := filepath.Join(out, "layer.tar.gz")
	if r := c.skiff("commit", "--gzip", c.id, gzTar); r.Code != 0 {
		t.Errorf("commit --gzip of the stopped container: %s", r)
	} else {
		if data, err := os.ReadFile(gzTar); err != nil || len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			t.Errorf("commit --gzip did not write gzip data (%v)", err)
		}
		checkLayerTar(t, "commit --gzip", tarEntries(t, gzTar))
	}

	// A new container runs from the committed directory and sees the
	// changes.
	c3 := newCtr(t, func(c3 *ctr, s *specs.Spec) {
		s.Root.Path = dirOut
		shell(s, `cat /img/change.txt /img/added-link /img/repdir/new /img/typefile/in /img/hl1 /img/hl2; readlink /img/sym; readlink /img/oldsym; `+
			`for p in del.txt deldir repdir/old1 repdir/sub; do test -e /img/$p && echo "still $p"; done; stat -c '%a %u:%g' /img/modefile /img/modedir /img/ownfile`)
	})
	if got, want := c3.mustRun(), "changed\nadded\nnew\nin\nhard\nmore\nhard\nkeep.txt\nchange.txt\n600 0:0\n700 0:0\n644 1000:1000\n"; got != want {
		t.Errorf("container from the committed rootfs sees %q, want %q", got, want)
	}

	// delete --keep-layer keeps the layer; diff and commit use it.
	r := c.skiff("delete", "--keep-layer", c.id)
	if r.Code != 0 {
		t.Fatalf("delete --keep-layer: %s", r)
	}
	if !strings.Contains(r.Stdout, layerDir) {
		t.Errorf("delete --keep-layer does not say where the layer is (%s): %q", layerDir, r.Stdout)
	}
	t.Cleanup(func() { c.skiff("delete", c.id) }) // the kept layer, if a check below fails first
	if fi, err := os.Stat(layerDir); err != nil || !fi.IsDir() {
		t.Fatalf("kept layer %s: %v", layerDir, err)
	}
	if _, err := os.Stat(filepath.Join(c.root, c.id)); err == nil {
		t.Errorf("state of %s still exists after delete --keep-layer", c.id)
	}
	if m := hostMountsMentioning(t, c.data); len(m) > 0 {
		t.Errorf("mounts of the kept layer on the host: %v", m)
	}
	checkDiff(t, c, "of the kept layer", wantChanges)
	keptTar := filepath.Join(out, "kept.tar")
	if r := c.skiff("commit", c.id, keptTar); r.Code != 0 {
		t.Errorf("commit of the kept layer: %s", r)
	} else {
		checkLayerTar(t, "commit of the kept layer", tarEntries(t, keptTar))
	}
	keptDir := filepath.Join(out, "kept-dir")
	if r := c.skiff("commit", "--format", "dir", c.id, keptDir); r.Code != 0 {
		t.Errorf("commit --format dir of the kept layer: %s", r)
	} else {
		compareManifests(t, "commit --format dir of the kept layer, against the container's view", manifest(t, keptDir, false), view)
	}
	if r := c.skiff("delete", c.id); r.Code != 0 {
		t.Errorf("second delete (of the kept layer): %s", r)
	}
	assertNoLayerLeft(t, c)
	if r := c.skiff("diff", c.id); r.Code == 0 {
		t.Errorf("diff after the kept layer was deleted succeeded: %s", r)
	}
	compareManifests(t, "the bundle rootfs after the container, its commits and its kept layer", manifest(t, c.rootfs, true), before)
}

// TestLayerOffLikeRunc: a bundle without the annotation (an engine's) and
// without --overlay has no layer: the container writes into the rootfs, as
// with runc, and diff says there is no layer.
func TestLayerOffLikeRunc(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		noLayer(s)
		writeLayerImage(t, c.rootfs)
		shell(s, `echo written > /img/new.txt; echo changed > /img/change.txt; rm /img/del.txt; echo ready; exec sleep 1000`)
	})
	startLayerCtr(t, c)
	if dir := stateLayerDir(t, c); dir != "" {
		t.Errorf("state names a layer %q for a bundle without one", dir)
	}
	if _, err := os.Stat(filepath.Join(c.data, c.id)); err == nil {
		t.Errorf("a layer directory exists for a bundle without the layer")
	}
	if r := c.skiff("diff", c.id); r.Code == 0 {
		t.Errorf("diff of a container without a layer succeeded: %s", r)
	} else if !strings.Contains(r.Stderr, "no writable layer") {
		t.Logf("diff without a layer: %s", r)
	}
	for name, want := range map[string]string{"new.txt": "written\n", "change.txt": "changed\n"} {
		if data, err := os.ReadFile(filepath.Join(c.rootfs, "img", name)); err != nil || string(data) != want {
			t.Errorf("rootfs img/%s = %q (%v), want %q: writes must go to the rootfs", name, data, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.rootfs, "img", "del.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("img/del.txt deleted in the container is still in the rootfs (%v)", err)
	}
	if r := c.skiff("delete", "--force", c.id); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	assertNoLayerLeft(t, c)
	if _, err := os.Stat(filepath.Join(c.rootfs, "img", "new.txt")); err != nil {
		t.Errorf("delete removed what the container wrote into its rootfs: %v", err)
	}
}

// TestLayerOverlayFlag: create --overlay and run --overlay turn the layer
// on for a bundle without the annotation.
func TestLayerOverlayFlag(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		noLayer(s)
		writeLayerImage(t, c.rootfs)
		shell(s, `echo written > /img/new.txt; rm /img/del.txt; cat /img/new.txt; echo ready; exec sleep 1000`)
	})
	before := manifest(t, c.rootfs, true)
	startLayerCtr(t, c, "--overlay")
	if dir := stateLayerDir(t, c); dir != filepath.Join(c.data, c.id) {
		t.Errorf("create --overlay: state annotation %s = %q, want %q", layerDirAnnotation, dir, filepath.Join(c.data, c.id))
	}
	checkDiff(t, c, "with create --overlay", []string{"D /img/del.txt", "A /img/new.txt"})
	if r := c.skiff("delete", "--force", c.id); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	assertNoLayerLeft(t, c)

	c.spec.Process.Args = []string{"sh", "-c", `echo written > /img/new.txt; rm /img/del.txt; cat /img/new.txt; test -e /img/del.txt || echo gone`}
	c.writeSpec()
	r := c.skiff("run", "--overlay", "--bundle", c.bundle, c.id)
	if r.Code != 0 || r.Stdout != "written\ngone\n" {
		t.Errorf("run --overlay: %s", r)
	}
	c.skiff("delete", "--force", c.id)
	assertNoLayerLeft(t, c)
	compareManifests(t, "the rootfs after create --overlay and run --overlay", manifest(t, c.rootfs, true), before)
}

// TestLayerUserNamespace: the layer in a container with its own user
// namespace (0 -> 100000, 65536 ids): root inside writes, deletes and
// replaces directories; diff reports it; the upper directory belongs to
// the mapped root; the image does not change; delete leaves nothing.
func TestLayerUserNamespace(t *testing.T) {
	t.Parallel()
	requireUserXattrs(t)
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		writeLayerImage(t, c.rootfs)
		chownTree(t, c.rootfs, 100000, 100000)
		setNamespace(s, specs.UserNamespace, "")
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		shell(s, `set -e; cd /img; echo changed > change.txt; echo new > new.txt; rm del.txt; rm -rf deldir; `+
			`rm -rf repdir; mkdir repdir; echo new > repdir/new; chmod 600 modefile; `+
			`stat -c '%u:%g' new.txt; cat change.txt; test -e del.txt || echo del-gone; echo ready; exec sleep 1000`)
	})
	before := manifest(t, c.rootfs, true)
	startLayerCtr(t, c)
	if got, want := c.output(), "0:0\nchanged\ndel-gone\nready\n"; got != want {
		t.Errorf("user-namespaced container printed %q, want %q", got, want)
	}
	checkDiff(t, c, "of the user-namespaced container", []string{
		"C /img/change.txt", "D /img/del.txt", "D /img/deldir", "C /img/modefile", "A /img/new.txt",
		"C /img/repdir", "A /img/repdir/new", "D /img/repdir/old1", "D /img/repdir/old2", "D /img/repdir/sub",
	})
	layerDir := stateLayerDir(t, c)
	if layerDir == "" {
		t.Fatalf("state names no layer")
	}
	var upperFile string
	filepath.WalkDir(layerDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "new.txt" && strings.HasSuffix(filepath.Dir(p), "img") {
			upperFile = p
		}
		return nil
	})
	if upperFile == "" {
		t.Errorf("no img/new.txt in the layer directory %s", layerDir)
	} else if fi, err := os.Lstat(upperFile); err == nil {
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 100000 || st.Gid != 100000 {
			t.Errorf("%s belongs to %d:%d on the host, want the mapped root 100000:100000", upperFile, st.Uid, st.Gid)
		}
	}
	out := tempDir(t)
	layerTar := filepath.Join(out, "layer.tar")
	if r := c.skiff("commit", c.id, layerTar); r.Code != 0 {
		t.Errorf("commit of the user-namespaced container: %s", r)
	} else {
		ents := tarEntries(t, layerTar)
		for _, w := range []string{"img/.wh.del.txt", "img/.wh.deldir", "img/repdir/.wh..wh..opq", "img/new.txt"} {
			if _, ok := ents[w]; !ok {
				t.Errorf("commit of the user-namespaced container: no %s", w)
			}
		}
		if st := c.status(); st != "running" {
			t.Errorf("after commit the container is %q, want running", st)
		}
	}
	if r := c.skiff("delete", "--force", c.id); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	assertNoLayerLeft(t, c)
	compareManifests(t, "the user-namespaced container's image", manifest(t, c.rootfs, true), before)
}
