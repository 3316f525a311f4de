// Package seccomp turns the seccomp section of an OCI config
// (specs.LinuxSeccomp) into a kernel filter and installs it.
//
// libseccomp (through github.com/seccomp/libseccomp-golang) compiles the
// rules into BPF: it knows every architecture's syscall table and how to
// build multi-arch, argument-checking filters, which would be a large and
// risky amount of code to own. The compiled program is then loaded with a
// direct seccomp(2) call instead of seccomp_load(), so that skiff chooses
// the filter flags itself (TSYNC for the whole process, NEW_LISTENER,
// LOG, SPEC_ALLOW, WAIT_KILLABLE_RECV) whatever libseccomp version the
// binary was built against: the kernel is the only judge of what a flag
// means.
//
// Caller contract for Load (init and exec alike):
//   - Run on a goroutine locked to its OS thread (runtime.LockOSThread).
//   - Set no_new_privs on that same thread first (prctl PR_SET_NO_NEW_PRIVS)
//     when the config asks for it, and call Load as the very last step
//     before execve. Without no_new_privs the thread needs CAP_SYS_ADMIN,
//     so Load must come before capabilities are dropped.
//   - Between Load and execve only syscalls the filter allows can be made;
//     with SCMP_ACT_NOTIFY, the notify fd must reach the runtime process
//     (for example: write its number on the sync pipe and let the parent
//     take it with pidfd_getfd) using only write(2), which Validate refuses
//     to notify.
//   - The notify fd is close-on-exec, so the container never sees it; the
//     runtime process sends its own copy to cfg.ListenerPath with
//     SendToListener (pid, listenerMetadata and container state filled
//     in) and closes it.
//   - The build needs cgo and libseccomp-dev; without cgo, Load returns
//     ErrNotCompiled.
package seccomp
