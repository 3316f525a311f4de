package cgroups

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

func attachedDevicePrograms(t *testing.T, fd int) int {
	t.Helper()
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatalf("query programs: %v", err)
	}
	return len(res.Programs)
}
