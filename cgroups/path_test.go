package cgroups

import (
	"strings"
	"testing"
)

func TestCgroupPath(t *testing.T) {
	tests := []struct {
		name, path, id, own string
		want                string
		wantErr             bool
	}{
		{"empty uses /skiff/<id>", "", "c1", "/whatever", "/skiff/c1", false},
		{"empty with bad id", "", "../x", "/", "", true},
		{"empty with empty id", "", "", "/", "", true},
		{"absolute from root", "/a/b", "c1", "/own", "/a/b", false},
		{"absolute is cleaned", "/a/../../b/", "c1", "/own", "/b", false},
		{"relative under own cgroup", "a/b", "c1", "/user.slice/s", "/user.slice/s/a/b", false},
		{"relative at root", "a", "c1", "/", "/a", false},
		{"relative with no own cgroup", "a", "c1", "", "/a", false},
		{"relative cannot climb above root", "../../../../x", "c1", "/o", "/x", false},
		{"root is refused", "/", "c1", "/", "", true},
		{"relative to root is refused", "..", "c1", "/o", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cgroupPath(tc.path, tc.id, tc.own)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("cgroupPath(%q, %q, %q) = %q, %v; want %q, err=%v", tc.path, tc.id, tc.own, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestOwnCgroupIn(t *testing.T) {
	own := map[string]string{"memory": "/process_api/abc", "": "/user/x", "cpu": "/"}
	tests := []struct {
		name string
		h    hierarchy
		want string
	}{
		{"v1 controller", hierarchy{mountpoint: "/sys/fs/cgroup/memory", root: "/", controllers: []string{"memory"}}, "/process_api/abc"},
		{"v1 combined first", hierarchy{mountpoint: "/m", root: "/", controllers: []string{"cpu", "cpuacct"}}, "/"},
		{"v2", hierarchy{mountpoint: "/sys/fs/cgroup", root: "/", v2: true}, "/user/x"},
		{"subtree mount strips root", hierarchy{mountpoint: "/sys/fs/cgroup", root: "/user", v2: true}, "/x"},
		{"missing controller", hierarchy{mountpoint: "/p", root: "/", controllers: []string{"pids"}}, "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownCgroupIn(tc.h, own); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

const hybridMountinfo = `23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,cpu,cpuacct
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
42 31 0:38 /sub /mnt/again\040x rw,relatime - cgroup2 cgroup2 rw
43 31 0:39 /in/ns /mnt/ns rw - cgroup cgroup rw,memory
`

func TestParseMountinfo(t *testing.T) {
	hs, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := []hierarchy{
		{mountpoint: "/sys/fs/cgroup/cpu", root: "/", controllers: []string{"cpu"}},
		{mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: []string{"cpu", "cpuacct"}},
		{mountpoint: "/sys/fs/cgroup/devices", root: "/", controllers: []string{"devices"}},
		{mountpoint: "/sys/fs/cgroup/systemd", root: "/", controllers: []string{"name=systemd"}},
		{mountpoint: "/sys/fs/cgroup/unified", root: "/", v2: true},
		{mountpoint: "/mnt/ns", root: "/in/ns", controllers: []string{"memory"}},
	}
	if len(hs) != len(want) {
		t.Fatalf("got %d hierarchies %+v, want %d", len(hs), hs, len(want))
	}
	for i := range want {
		g, w := hs[i], want[i]
		if g.mountpoint != w.mountpoint || g.root != w.root || g.v2 != w.v2 || strings.Join(g.controllers, ",") != strings.Join(w.controllers, ",") {
			t.Errorf("hierarchy %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	in := "9:name=systemd:/\n4:memory:/process_api/92\n1:cpu,cpuacct:/c\n0::/u\n"
	got, err := parseProcCgroup(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name=systemd": "/", "memory": "/process_api/92", "cpu": "/c", "cpuacct": "/c", "": "/u"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %q, want %q", k, got[k], v)
		}
	}
}

func TestMountsAndPaths(t *testing.T) {
	hybrid := newManager([]leaf{
		{h: hierarchy{mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: []string{"cpu", "cpuacct"}}, dir: "/sys/fs/cgroup/cpu,cpuacct/skiff/c"},
		{h: hierarchy{mountpoint: "/sys/fs/cgroup/unified", root: "/", v2: true, controllers: []string{"hugetlb"}}, dir: "/sys/fs/cgroup/unified/skiff/c"},
	})
	p := hybrid.Paths()
	if p["cpu"] != "/sys/fs/cgroup/cpu,cpuacct/skiff/c" || p["cpuacct"] != p["cpu"] || p[""] != "/sys/fs/cgroup/unified/skiff/c" || len(p) != 3 {
		t.Errorf("Paths = %v", p)
	}
	ms := hybrid.Mounts()
	if len(ms) != 2 || ms[0].Name != "cpu,cpuacct" || ms[0].Version != 1 || len(ms[0].Controllers) != 2 ||
		ms[1].Name != "unified" || ms[1].Version != 2 || ms[1].Source != "/sys/fs/cgroup/unified/skiff/c" {
		t.Errorf("hybrid Mounts = %+v", ms)
	}
	v2 := newManager([]leaf{{h: hierarchy{mountpoint: "/sys/fs/cgroup", root: "/", v2: true}, dir: "/sys/fs/cgroup/skiff/c"}})
	if ms := v2.Mounts(); len(ms) != 1 || ms[0].Name != "" || ms[0].Version != 2 {
		t.Errorf("v2 Mounts = %+v", ms)
	}
	if l, isV2, ok := hybrid.controller("hugetlb"); !ok || !isV2 || l != hybrid.v2 {
		t.Errorf("hugetlb should be driven on cgroup2 on a hybrid host")
	}
	if _, isV2, ok := hybrid.controller("cpu"); !ok || isV2 {
		t.Errorf("cpu should be driven on v1")
	}
	if _, _, ok := hybrid.controller("memory"); ok {
		t.Errorf("memory is not mounted")
	}
}
