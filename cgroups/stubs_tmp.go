package cgroups

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (m *manager) Set(r *specs.LinuxResources) error { return errors.New("not yet") }
func (m *manager) Stats() (*Stats, error)            { return nil, errors.New("not yet") }
func (m *manager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	return nil, errors.New("not yet")
}
