//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMountsAndFlags(t *testing.T) {
	t.Parallel()
	var hostDir, recDir string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		noLayer(s) // runc semantics: missing destinations land in the rootfs
		hostDir = filepath.Join(c.dir, "shared")
		os.MkdirAll(hostDir, 0o755)
		writeFile(t, filepath.Join(hostDir, "hello"), "from-host\n")
		// relative bind source, resolved against the bundle
		os.MkdirAll(filepath.Join(c.bundle, "relsrc"), 0o755)
		writeFile(t, filepath.Join(c.bundle, "relsrc", "rel"), "relative\n")
		writeFile(t, filepath.Join(c.rootfs, "etc", "marker"), "image-etc\n")
		// a host dir with a submount, for rbind + rro
		recDir = filepath.Join(c.dir, "rec")
		os.MkdirAll(filepath.Join(recDir, "sub"), 0o755)
		if err := syscall.Mount("tmpfs", filepath.Join(recDir, "sub"), "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount a tmpfs for the rro test: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(filepath.Join(recDir, "sub"), syscall.MNT_DETACH) })
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: hostDir, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/rw", Type: "bind", Source: hostDir, Options: []string{"rbind", "rw", "nosuid", "nodev", "noexec"}},
			specs.Mount{Destination: "/mnt/rel", Type: "bind", Source: "relsrc", Options: []string{"bind"}},
			specs.Mount{Destination: "/mnt/file", Type: "bind", Source: filepath.Join(hostDir, "hello"), Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=2m", "mode=1750", "nosuid", "nodev"}},
			specs.Mount{Destination: "/deep/new/dir", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "size=4m"}},
			specs.Mount{Destination: "/mnt/rro", Type: "bind", Source: recDir, Options: []string{"rbind", "rro"}},
		)
		shell(s, `echo "==mountinfo=="; cat /proc/self/mountinfo; `+
			`echo "==reads=="; cat /mnt/ro/hello /mnt/rel/rel /mnt/file /etc/marker; `+
			`echo "==writes=="; `+
			`(echo x > /mnt/ro/new) 2>/dev/null && echo ro-writable || echo ro-refused; `+
			`(echo x > /mnt/rw/new) 2>/dev/null && echo rw-writable || echo rw-refused; `+
			`(echo x > /mnt/rro/sub/new) 2>/dev/null && echo rro-sub-writable || echo rro-sub-refused; `+
			`(echo x > /etc/new) 2>/dev/null && echo etc-writable || echo etc-refused; `+
			`cp /bin/busybox /mnt/rw/bb && (/mnt/rw/bb true 2>/dev/null && echo noexec-ran || echo noexec-refused); rm -f /mnt/rw/bb; `+
			`echo "==stat=="; stat -c %a /mnt/tmp`)
	})
	out := c.mustRun()
	ms := parseMountinfo(section(out, "mountinfo"))
	check := func(point string, fstype string, opts ...string) mountInfo {
		t.Helper()
		m, ok := mountAt(ms, point)
		if !ok {
			t.Errorf("no mount at %s inside the container", point)
			return m
		}
		if fstype != "" && m.FSType != fstype {
			t.Errorf("%s: fstype %s, want %s", point, m.FSType, fstype)
		}
		for _, o := range opts {
			if strings.HasPrefix(o, "!") {
				if m.Opts[o[1:]] {
					t.Errorf("%s: option %s set (%s)", point, o[1:], m.MountRaw)
				}
			} else if !m.Opts[o] {
				t.Errorf("%s: option %s missing (%s)", point, o, m.MountRaw)
			}
		}
		return m
	}
	check("/mnt/ro", "", "ro")
	check("/mnt/rw", "", "rw", "nosuid", "nodev", "noexec")
	check("/mnt/rel", "", "rw")
	check("/mnt/file", "", "ro")
	tm := check("/mnt/tmp", "tmpfs", "nosuid", "nodev", "!ro")
	if tm.SuperOpts["size"] != "2048k" || tm.SuperOpts["mode"] != "1750" {
		t.Errorf("/mnt/tmp: super options %q, want size=2048k mode=1750", tm.SuperRaw)
	}
	check("/deep/new/dir", "tmpfs")
	check("/etc", "tmpfs", "!ro")
	check("/mnt/rro", "", "ro")
	check("/mnt/rro/sub", "tmpfs", "ro")
	if got := section(out, "reads"); got != "from-host\nrelative\nfrom-host\nimage-etc\n" {
		t.Errorf("contents seen through the mounts: %q", got)
	}
	w := section(out, "writes")
	for _, want := range []string{"ro-refused", "rw-writable", "rro-sub-refused", "etc-writable", "noexec-refused"} {
		if !strings.Contains(w, want+"\n") {
			t.Errorf("write checks: want %s in %q", want, w)
		}
	}
	if got := strings.TrimSpace(section(out, "stat")); got != "1750" {
		t.Errorf("/mnt/tmp mode %q, want 1750", got)
	}
	if _, err := os.Stat(filepath.Join(hostDir, "new")); err != nil {
		t.Errorf("a write through the rw bind should reach the host: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.rootfs, "deep", "new", "dir")); err != nil {
		t.Errorf("missing destination should be created inside the rootfs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.rootfs, "etc", "new")); err == nil {
		t.Errorf("a write to the tmpcopyup tmpfs reached the image")
	}
}

func TestSymlinkDestinationDoesNotEscape(t *testing.T) {
	t.Parallel()
	var outside string
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		outside = filepath.Join(c.dir, "outside")
		os.MkdirAll(outside, 0o755)
		// absolute and relative symlinks in the image, both aimed at a host
		// directory outside the rootfs
		os.Symlink(outside, filepath.Join(c.rootfs, "abs"))
		os.Symlink("../../../../../../../../../.."+outside, filepath.Join(c.rootfs, "rel"))
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/abs/made", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			specs.Mount{Destination: "/rel/made2", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			specs.Mount{Destination: "/abs", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		)
		shell(s, `cat /proc/self/mountinfo`)
	})
	r := c.run()
	// Whether skiff refuses the config or mounts inside the rootfs, nothing
	// may appear outside.
	ents, _ := os.ReadDir(outside)
	if len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("a mount destination escaped the rootfs through a symlink: created %v in %s", names, outside)
	}
	if m := hostMountsUnder(t, outside); len(m) > 0 {
		t.Errorf("host has mounts at %v", m)
	}
	if r.Code == 0 {
		ms := parseMountinfo(r.Stdout)
		for _, m := range ms {
			if strings.HasPrefix(m.Point, outside) {
				t.Errorf("container has a mount at the host path %s", m.Point)
			}
		}
		if _, ok := mountAt(ms, filepath.Join(outside, "made")); !ok {
			t.Logf("resolved in root: mounts %v", ms)
		}
	} else {
		t.Logf("skiff refused the escaping destination: %s", r)
	}
}

func TestReadonlyRoot(t *testing.T) {
	t.Parallel()
	for _, ro := range []bool{true, false} {
		ro := ro
		name := "readonly"
		if !ro {
			name = "writable"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, func(c *ctr, s *specs.Spec) {
				s.Root.Readonly = ro
				shell(s, `(echo x > /newfile) 2>/dev/null && echo wrote || echo refused; cat /proc/self/mountinfo`)
			})
			out := c.mustRun()
			want := "refused"
			if !ro {
				want = "wrote"
			}
			if !strings.HasPrefix(out, want+"\n") {
				t.Errorf("root.readonly=%v: got %q, want %s", ro, out, want)
			}
			m, ok := mountAt(parseMountinfo(out), "/")
			if !ok {
				t.Fatalf("no / in mountinfo: %q", out)
			}
			if m.Opts["ro"] != ro {
				t.Errorf("root.readonly=%v: / mount options %s", ro, m.MountRaw)
			}
			_, err := os.Stat(filepath.Join(c.rootfs, "newfile"))
			if ro && err == nil {
				t.Errorf("the write reached the image")
			}
		})
	}
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		os.MkdirAll(filepath.Join(c.rootfs, "secretdir"), 0o755)
		writeFile(t, filepath.Join(c.rootfs, "secretdir", "x"), "secret")
		writeFile(t, filepath.Join(c.rootfs, "secretfile"), "secret")
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/secretdir", "/secretfile", "/does/not/exist")
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/proc/sys/kernel")
		shell(s, `echo "==timer_list=="; wc -c < /proc/timer_list; echo "==keys=="; cat /proc/keys | wc -c; `+
			`echo "==file=="; cat /secretfile | wc -c; echo "==dir=="; ls -A /secretdir | wc -l; `+
			`echo "==ro=="; (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo vm-writable || echo vm-refused; `+
			`(echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null && echo sys-writable || echo sys-refused; `+
			`echo "==mountinfo=="; cat /proc/self/mountinfo`)
	})
	out := c.mustRun()
	for _, sec := range []string{"timer_list", "keys", "file", "dir"} {
		if got := strings.TrimSpace(section(out, sec)); got != "0" {
			t.Errorf("masked %s should read empty, got %q", sec, got)
		}
	}
	ro := section(out, "ro")
	for _, want := range []string{"vm-refused", "sys-refused"} {
		if !strings.Contains(ro, want) {
			t.Errorf("readonly paths: want %s in %q", want, ro)
		}
	}
	ms := parseMountinfo(section(out, "mountinfo"))
	for _, p := range []string{"/proc/sys", "/proc/sys/kernel", "/proc/bus"} {
		if m, ok := mountAt(ms, p); !ok || !m.Opts["ro"] {
			t.Errorf("readonly path %s: mount %v %v", p, ok, m.MountRaw)
		}
	}
	if m, ok := mountAt(ms, "/secretdir"); !ok || !m.Opts["ro"] || m.FSType != "tmpfs" {
		t.Errorf("masked dir /secretdir should be a read-only tmpfs: %v %+v", ok, m)
	}
}

func TestNoPivot(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) { shell(s, `echo ok; ls /`) })
	r := c.skiff("run", "--no-pivot", "--bundle", c.bundle, c.id)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "ok\n") {
		t.Fatalf("run --no-pivot: %s", r)
	}
	if strings.Contains(r.Stdout, "state") {
		t.Errorf("--no-pivot container sees the host: %q", r.Stdout)
	}
}

func TestWritableLayerKeepsImagePristine(t *testing.T) {
	t.Parallel()
	c := newCtr(t, func(c *ctr, s *specs.Spec) {
		if !hasLayer(s) {
			t.Skip("skiff spec does not turn the writable layer on")
		}
		s.Root.Readonly = false
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/brand/new", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		shell(s, `echo changed > /etc/passwd && echo x > /newfile && rm /bin/vi && echo ok; grep ' / ' /proc/self/mountinfo`)
	})
	before, _ := os.ReadFile(filepath.Join(c.rootfs, "etc", "passwd"))
	out := c.mustRun()
	if !strings.HasPrefix(out, "ok\n") {
		t.Errorf("writes in the container failed: %q", out)
	}
	if m, ok := mountAt(parseMountinfo(out), "/"); !ok || m.FSType != "overlay" {
		t.Errorf("the root should be the overlay writable layer: %q", out)
	}
	after, _ := os.ReadFile(filepath.Join(c.rootfs, "etc", "passwd"))
	if string(before) != string(after) {
		t.Errorf("the image's /etc/passwd changed")
	}
	for _, p := range []string{"newfile", "brand"} {
		if _, err := os.Lstat(filepath.Join(c.rootfs, p)); err == nil {
			t.Errorf("/%s appeared in the image", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(c.rootfs, "bin", "vi")); err != nil {
		t.Errorf("a delete in the container removed the image's /bin/vi")
	}
	// run (without --keep) deletes the container and, with it, its layer.
	assertNothingLeft(t, c)
}
