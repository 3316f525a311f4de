package cgroups

import (
	"reflect"
	"testing"
)

func TestParseUint(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "42\n": 42, "max": ^uint64(0), "-1": 0} {
		if got, err := parseUint(in); err != nil || got != want {
			t.Errorf("parseUint(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := parseUint("abc"); err == nil {
		t.Error("parseUint(abc) succeeded")
	}
}

func TestParseKeyValues(t *testing.T) {
	got := parseKeyValues("usage_usec 10\nuser_usec 7\nbad line here\nnr_periods max\n")
	want := map[string]uint64{"usage_usec": 10, "user_usec": 7, "nr_periods": ^uint64(0)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestParseBlkioV1(t *testing.T) {
	got := parseBlkioV1("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\nTotal 4608\n")
	want := []BlkioEntry{{8, 0, "Read", 4096}, {8, 0, "Write", 512}, {8, 0, "Sync", 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v want %+v", got, want)
	}
}

func TestParseIOStatV2(t *testing.T) {
	b, i := parseIOStatV2("8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n253:1 rbytes=1\n")
	wantB := []BlkioEntry{{8, 0, "Read", 100}, {8, 0, "Write", 200}, {253, 1, "Read", 1}}
	wantI := []BlkioEntry{{8, 0, "Read", 3}, {8, 0, "Write", 4}}
	if !reflect.DeepEqual(b, wantB) || !reflect.DeepEqual(i, wantI) {
		t.Errorf("got %+v %+v", b, i)
	}
}

func TestPageSizeName(t *testing.T) {
	for in, want := range map[string]string{
		"hugepages-2048kB": "2MB", "hugepages-1048576kB": "1GB", "hugepages-64kB": "64KB",
		"hugepages-32768kB": "32MB", "hugepages-16777216kB": "16GB",
	} {
		if got, ok := pageSizeName(in); !ok || got != want {
			t.Errorf("pageSizeName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"foo", "hugepages-", "hugepages-xkB", "hugepages-0kB"} {
		if _, ok := pageSizeName(bad); ok {
			t.Errorf("pageSizeName(%q) accepted", bad)
		}
	}
}
