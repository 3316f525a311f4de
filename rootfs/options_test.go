package rootfs

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		in   []string
		want MountOptions
	}{
		{[]string{"ro", "nosuid"}, MountOptions{Flags: unix.MS_RDONLY | unix.MS_NOSUID}},
		{[]string{"ro", "rw"}, MountOptions{ClearFlags: unix.MS_RDONLY}},
		{[]string{"rbind", "rprivate"}, MountOptions{Flags: unix.MS_BIND | unix.MS_REC, Bind: true, Recursive: true, Propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC}}},
		{[]string{"bind", "rro", "rnosuid"}, MountOptions{Flags: unix.MS_BIND, Bind: true, AttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}},
		{[]string{"rro", "rrw"}, MountOptions{AttrClr: unix.MOUNT_ATTR_RDONLY}},
		{[]string{"size=64k", "mode=755", "tmpcopyup"}, MountOptions{Data: []string{"size=64k", "mode=755"}, TmpCopyUp: true}},
		{[]string{"", "defaults"}, MountOptions{}},
	}
	for _, tc := range cases {
		got, err := ParseOptions(tc.in)
		if err != nil {
			t.Fatalf("%v: %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseOptionsRejects(t *testing.T) {
	for _, in := range [][]string{{"idmap"}, {"ro,nosuid"}} {
		if _, err := ParseOptions(in); err == nil {
			t.Errorf("%v: accepted", in)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("ro", "size=1k", "rbind")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ParseOptions([]string{a, b, c})
	})
}

func TestMountAttrsOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flags    uintptr
		set, clr uint64
		ok       bool
	}{
		{"runc's cgroup mount", unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME,
			unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME, true},
		{"noatime", unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR__ATIME, true},
		{"nodiratime", unix.MS_NODIRATIME | unix.MS_RDONLY, unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_RDONLY, 0, true},
		{"nothing to set", unix.MS_BIND | unix.MS_REC, 0, 0, false},
		{"no attribute for sync", unix.MS_RDONLY | unix.MS_SYNCHRONOUS, unix.MOUNT_ATTR_RDONLY, 0, false},
	} {
		set, clr, ok := mountAttrsOf(tc.flags)
		if ok != tc.ok || (ok && (set != tc.set || clr != tc.clr)) {
			t.Errorf("%s: mountAttrsOf(%#x) = %#x, %#x, %v; want %#x, %#x, %v", tc.name, tc.flags, set, clr, ok, tc.set, tc.clr, tc.ok)
		}
	}
}
