// Package earlyprime holds a C constructor that, in the runtime process
// of run, create and exec, starts the kernel's wait for a cgroup move
// before the Go runtime starts (see earlyprime.c and
// cgroups.PrimeMigration). Importing it is all a program needs.
package earlyprime

// #cgo CFLAGS: -Wall -O2
// #include <stdlib.h>
// #include "earlyprime.h"
import "C"

import "unsafe"

// Started reports whether the constructor started the move (and has not
// given up on it): the Go side need not start another.
func Started() bool {
	s := C.skiff_early_prime_state
	return s == 1 || s == 2
}

// dirFor is skiff_prime_dir, for tests.
func dirFor(cgroup, mountinfo string) (string, bool) {
	cg, mi := C.CString(cgroup), C.CString(mountinfo)
	defer C.free(unsafe.Pointer(cg))
	defer C.free(unsafe.Pointer(mi))
	var out [4096]C.char
	if C.skiff_prime_dir(cg, mi, &out[0], C.size_t(len(out))) == 0 {
		return "", false
	}
	return C.GoString(&out[0]), true
}

// primeNow is skiff_prime_now, for tests.
func primeNow() bool { return C.skiff_prime_now() != 0 }
