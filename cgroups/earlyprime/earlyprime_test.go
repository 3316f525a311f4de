//go:build cgo

package earlyprime

import (
	"os"
	"testing"
)

const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/pids rw,relatime shared:7 - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`

const hybridCgroup = `9:name=systemd:/user.slice
8:pids:/user.slice/u
4:memory:/process_api/abc
1:cpu:/
0::/user.slice/u
`

func TestDirFor(t *testing.T) {
	tests := []struct {
		name, cgroup, mountinfo, want string
		ok                            bool
	}{
		{"hybrid: the cgroup2 mount", hybridCgroup, hybridMountinfo, "/sys/fs/cgroup/unified/user.slice/u", true},
		{"pure v2", "0::/system.slice/x.service\n",
			"30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/system.slice/x.service", true},
		{"v1 only: pids before cpu, never memory", "8:pids:/a\n4:memory:/m\n1:cpu:/c\n",
			"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n36 31 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
			"/sys/fs/cgroup/pids/a", true},
		{"v1 named hierarchy", "1:name=systemd:/s\n4:memory:/m\n",
			"35 31 0:32 / /m rw - cgroup cgroup rw,memory\n40 31 0:37 / /sd rw - cgroup cgroup rw,xattr,name=systemd\n", "/sd/s", true},
		{"combined v1 hierarchy", "2:cpu,cpuacct:/k\n",
			"33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", "/sys/fs/cgroup/cpu,cpuacct/k", true},
		{"memory and cpuset only: nothing", "4:memory:/m\n3:cpuset:/c\n",
			"35 31 0:32 / /m rw - cgroup cgroup rw,memory\n34 31 0:31 / /c rw - cgroup cgroup rw,cpuset\n", "", false},
		{"subtree mount", "0::/user/x\n", "30 1 0:26 /user /c rw - cgroup2 cgroup2 rw\n", "/c/x", true},
		{"subtree mount at the cgroup itself", "0::/user\n", "30 1 0:26 /user /c rw - cgroup2 cgroup2 rw\n", "/c", true},
		{"outside the mounted subtree", "0::/other/x\n", "30 1 0:26 /user /c rw - cgroup2 cgroup2 rw\n", "", false},
		{"sibling sharing a prefix", "0::/users/x\n", "30 1 0:26 /user /c rw - cgroup2 cgroup2 rw\n", "", false},
		{"escaped mount point", "0::/x\n", `30 1 0:26 / /sys/fs/my\040cg rw - cgroup2 cgroup2 rw` + "\n", "", false},
		{"no cgroup line for the mount", "8:pids:/a\n", "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "", false},
		{"not a cgroup filesystem", "0::/x\n", "30 1 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", "", false},
		{"truncated line", "0::/x\n", "30 1 0:26 /", "", false},
		{"empty", "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := dirFor(tc.cgroup, tc.mountinfo)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// As root, the prime finds this process's own cgroup and the move in
// place leaves it there.
func TestPrimeNowMovesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("moving a process between cgroups needs root")
	}
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !PrimeNow() {
		t.Fatalf("no cgroup of this process found to prime in:\n%s", before)
	}
	after, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("the prime moved the process:\nbefore %s\nafter %s", before, after)
	}
}
