package cgroups

import "unsafe"

// unsafePointer views a byte slice as a kernel struct (inotify events).
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
