// Package earlyprime lets the next move of a process into a cgroup skip
// most of its wait.
//
// Every write to cgroup.procs takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell first waits for an RCU grace period (rcu_sync_enter): 2.5 ms here
// when the host is busy, 10 to 25 ms after an idle spell, on the critical
// path of every create (the init waits at ready to be moved) and exec
// (perf sched, issue 8). A writer that follows within about a grace period
// does not wait. Priming is being such a first writer: moving this process
// into the cgroup it is already in, which changes nothing, while the
// caller goes on with work it does anyway.
//
// The package's C constructor primes, on a thread, before the Go runtime
// starts, in the runtime process of run, create and exec (earlyprime.c);
// PrimeNow does the same on demand. Both write only to a cgroup.procs that
// lists this process, in cgroup2 or a v1 hierarchy without resource
// controllers (never memory or cpuset), and give up silently: the real
// move then still works, only slower.
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

// PrimeNow primes (see the package comment), synchronously: meant for a
// goroutine of its own a few milliseconds before a move. It reports
// whether it wrote.
func PrimeNow() bool { return C.skiff_prime_now() != 0 }
