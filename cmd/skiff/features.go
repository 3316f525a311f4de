package main

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"github.com/skiff-runtime/skiff/libcontainer/capabilities"
	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
	"github.com/skiff-runtime/skiff/namespaces"
	"github.com/skiff-runtime/skiff/rootfs"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print what this skiff supports, as the runtime-spec features JSON",
	Action: func(c *cli.Context) error {
		return printJSON(skiffFeatures(), true)
	},
}

// skiffFeatures reports only what skiff really implements.
func skiffFeatures() *features.Features {
	yes, no := true, false
	var nss []string
	for _, k := range namespaces.All() {
		nss = append(nss, string(k.Type))
	}
	sort.Strings(nss)
	opts := rootfs.KnownOptions()
	sort.Strings(opts)
	annotations := map[string]string{
		"dev.skiff.version": version,
		"dev.skiff.commit":  gitCommit,
	}
	if v := seccomp.LibseccompVersion(); v != "" {
		annotations["io.github.seccomp.libseccomp.version"] = v
	}
	// systemd: this build has the systemd driver (as runc reports it);
	// whether systemd runs on this host is --systemd-cgroup's to say.
	systemd := true
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  opts,
		Linux: &features.Linux{
			Namespaces:   nss,
			Capabilities: capabilities.Names(),
			Cgroup: &features.Cgroup{
				V1: &yes, V2: &yes, Systemd: &systemd, SystemdUser: &no, Rdma: &yes,
			},
			Seccomp:         seccomp.Features(),
			Apparmor:        &features.Apparmor{Enabled: &no},
			Selinux:         &features.Selinux{Enabled: &no},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &no}},
			NetDevices:      &features.NetDevices{Enabled: &no},
		},
		Annotations: annotations,
	}
}
