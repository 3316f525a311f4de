package cgroups

import (
	"sort"
	"testing"
)

func TestOwnDirIn(t *testing.T) {
	own := map[string]string{"memory": "/process_api/abc", "": "/user/x", "pids": "/"}
	tests := []struct {
		name string
		h    hierarchy
		want string
		ok   bool
	}{
		{"v1", hierarchy{mountpoint: "/sys/fs/cgroup/pids", root: "/", controllers: []string{"pids"}}, "/sys/fs/cgroup/pids", true},
		{"v2", hierarchy{mountpoint: "/sys/fs/cgroup/unified", root: "/", v2: true}, "/sys/fs/cgroup/unified/user/x", true},
		{"subtree mount", hierarchy{mountpoint: "/c", root: "/user", v2: true}, "/c/x", true},
		// Unlike ownCgroupIn, no fallback to the root: writing there
		// would move the runtime.
		{"not listed", hierarchy{mountpoint: "/f", root: "/", controllers: []string{"freezer"}}, "", false},
		{"outside the mounted subtree", hierarchy{mountpoint: "/c", root: "/other", v2: true}, "", false},
		{"sibling with a common prefix", hierarchy{mountpoint: "/c", root: "/us", v2: true}, "", false},
		{"no controllers", hierarchy{mountpoint: "/n", root: "/"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ownDirIn(tc.h, own)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPrimeRankPrefersHierarchiesWithoutAttachWork(t *testing.T) {
	hs := []hierarchy{
		{mountpoint: "/cpu", controllers: []string{"cpu", "cpuacct"}},
		{mountpoint: "/systemd", controllers: []string{"name=systemd"}},
		{mountpoint: "/pids", controllers: []string{"pids"}},
		{mountpoint: "/unified", v2: true},
	}
	sort.SliceStable(hs, func(i, j int) bool { return primeRank(hs[i]) < primeRank(hs[j]) })
	var got []string
	for _, h := range hs {
		got = append(got, h.mountpoint)
	}
	want := []string{"/unified", "/systemd", "/pids", "/cpu"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}
