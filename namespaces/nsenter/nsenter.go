// Package nsenter holds the C constructor that runs before the Go runtime in
// every process skiff starts inside a container (see nsenter.c). Importing
// it for its side effect is all a program needs; it does nothing unless the
// parent set _SKIFF_SYNC.
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"
