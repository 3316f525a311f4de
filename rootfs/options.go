// Package rootfs prepares a container's root filesystem inside its mount
// namespace: the spec's mounts, /dev, pivot_root, and the masked and
// read-only paths. Every path inside the rootfs is resolved without
// following symlinks out of it.
package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// MountOptions is the parsed form of a mount's option words.
type MountOptions struct {
	Flags       uintptr   // mount(2) flags, applied at mount time
	ClearFlags  uintptr   // flags an option explicitly turned off (rw, suid...)
	Propagation []uintptr // MS_SHARED/MS_SLAVE/... (with MS_REC), applied in order
	AttrSet     uint64    // mount_setattr MOUNT_ATTR_* set recursively (rro, rnosuid...)
	AttrClr     uint64    // mount_setattr MOUNT_ATTR_* cleared recursively (rrw, rsuid...)
	Data        []string  // everything else: filesystem data (size=, mode=...)
	TmpCopyUp   bool      // copy the covered directory's content into the tmpfs
	Bind        bool      // bind or rbind
	Recursive   bool      // rbind
}

type flagOpt struct {
	set  bool
	flag uintptr
}

var flagOptions = map[string]flagOpt{
	"async":         {false, unix.MS_SYNCHRONOUS},
	"atime":         {false, unix.MS_NOATIME},
	"bind":          {true, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {false, unix.MS_NODEV},
	"diratime":      {false, unix.MS_NODIRATIME},
	"dirsync":       {true, unix.MS_DIRSYNC},
	"exec":          {false, unix.MS_NOEXEC},
	"iversion":      {true, unix.MS_I_VERSION},
	"lazytime":      {true, unix.MS_LAZYTIME},
	"loud":          {false, unix.MS_SILENT},
	"mand":          {true, unix.MS_MANDLOCK},
	"noatime":       {true, unix.MS_NOATIME},
	"nodev":         {true, unix.MS_NODEV},
	"nodiratime":    {true, unix.MS_NODIRATIME},
	"noexec":        {true, unix.MS_NOEXEC},
	"noiversion":    {false, unix.MS_I_VERSION},
	"nolazytime":    {false, unix.MS_LAZYTIME},
	"nomand":        {false, unix.MS_MANDLOCK},
	"norelatime":    {false, unix.MS_RELATIME},
	"nostrictatime": {false, unix.MS_STRICTATIME},
	"nosuid":        {true, unix.MS_NOSUID},
	"nosymfollow":   {true, unix.MS_NOSYMFOLLOW},
	"rbind":         {true, unix.MS_BIND | unix.MS_REC},
	"relatime":      {true, unix.MS_RELATIME},
	"remount":       {true, unix.MS_REMOUNT},
	"ro":            {true, unix.MS_RDONLY},
	"rw":            {false, unix.MS_RDONLY},
	"silent":        {true, unix.MS_SILENT},
	"strictatime":   {true, unix.MS_STRICTATIME},
	"suid":          {false, unix.MS_NOSUID},
	"sync":          {true, unix.MS_SYNCHRONOUS},
	"symfollow":     {false, unix.MS_NOSYMFOLLOW},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

type attrOpt struct {
	clear bool
	attr  uint64
}

// Recursive forms, applied with mount_setattr(AT_RECURSIVE).
var attrOptions = map[string]attrOpt{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {true, unix.MOUNT_ATTR_RELATIME},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME},
	"ratime":         {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {true, unix.MOUNT_ATTR_STRICTATIME},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// ParseOptions parses a mount's option list. Unknown words are passed to
// the filesystem as data, as mount(8) does; options that need a feature
// skiff does not implement are an error rather than silently ignored.
func ParseOptions(opts []string) (MountOptions, error) {
	var m MountOptions
	for _, o := range opts {
		if o == "" {
			continue
		}
		if f, ok := flagOptions[o]; ok {
			if f.set {
				m.Flags |= f.flag
				m.ClearFlags &^= f.flag
			} else {
				m.Flags &^= f.flag
				m.ClearFlags |= f.flag
			}
			if o == "bind" || o == "rbind" {
				m.Bind = true
				m.Recursive = m.Recursive || o == "rbind"
			}
			continue
		}
		if p, ok := propagationOptions[o]; ok {
			m.Propagation = append(m.Propagation, p)
			continue
		}
		if a, ok := attrOptions[o]; ok {
			if a.clear {
				m.AttrClr |= a.attr
				m.AttrSet &^= a.attr
			} else {
				m.AttrSet |= a.attr
				m.AttrClr &^= a.attr
			}
			continue
		}
		switch o {
		case "tmpcopyup":
			m.TmpCopyUp = true
			continue
		case "idmap", "ridmap":
			return MountOptions{}, fmt.Errorf("mount option %q: idmapped mounts are not supported", o)
		}
		if strings.ContainsRune(o, ',') {
			return MountOptions{}, fmt.Errorf("mount option %q: options must be separate words", o)
		}
		m.Data = append(m.Data, o)
	}
	return m, nil
}

// DataString joins the filesystem data options for mount(2).
func (m MountOptions) DataString() string { return strings.Join(m.Data, ",") }

// KnownOptions lists every option word skiff understands, for `features`.
func KnownOptions() []string {
	var out []string
	for k := range flagOptions {
		out = append(out, k)
	}
	for k := range propagationOptions {
		out = append(out, k)
	}
	for k := range attrOptions {
		out = append(out, k)
	}
	return append(out, "tmpcopyup")
}
