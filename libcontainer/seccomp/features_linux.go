package seccomp

import (
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// SupportedActions lists the action names the running kernel implements.
// SCMP_ACT_NOTIFY also needs TSYNC_ESRCH, because Load always uses TSYNC.
func SupportedActions() []string {
	var out []string
	for _, name := range KnownActions() {
		act := actions[specs.LinuxSeccompAction(name)]
		if !actionAvailable(kernelAction[act]) {
			continue
		}
		if act == actNotify && !flagAvailable(flags[FlagTsync]|flagNewListener|flagTsyncESRCH) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// SupportedFlags lists the filter flag names the running kernel accepts.
func SupportedFlags() []string {
	var out []string
	for _, name := range KnownFlags() {
		bit := flags[specs.LinuxSeccompFlag(name)]
		if specs.LinuxSeccompFlag(name) == specs.LinuxSeccompFlagWaitKillableRecv {
			// Only valid next to NEW_LISTENER; probe it that way.
			bit |= flagNewListener
		}
		if flagAvailable(bit) {
			out = append(out, name)
		}
	}
	return out
}

// Features is the "seccomp" part of `skiff features`.
func Features() *features.Seccomp {
	enabled := compiledIn
	f := &features.Seccomp{
		Enabled:    &enabled,
		Operators:  KnownOperators(),
		KnownFlags: KnownFlags(),
	}
	if !compiledIn {
		return f
	}
	f.Actions = SupportedActions()
	f.Archs = SupportedArchs()
	f.SupportedFlags = SupportedFlags()
	slices.Sort(f.SupportedFlags)
	return f
}
