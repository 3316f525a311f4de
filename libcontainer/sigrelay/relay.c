/*
 * The signal handler of package sigrelay: it writes the signal's number to
 * a pipe that a goroutine reads. Async-signal-safe: write(2) only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

static volatile int relay_fd = -1;

static void relay_handler(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	/* The pipe is non-blocking: when it is full this instance is
	 * dropped, as the kernel drops a standard signal already pending;
	 * a handler must never block a thread of the Go runtime. */
	if (write(relay_fd, &b, 1) < 0) {
		/* nothing to do: see above */
	}
	errno = saved;
}

int relay_install(int fd, int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relay_handler;
	/* SA_ONSTACK: every Go thread has a signal stack, and a goroutine's
	 * own stack may be too small for a C frame. SA_RESTART: the
	 * runtime's blocking syscalls are not interrupted. */
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	relay_fd = fd;
	return sigaction(sig, &sa, NULL) < 0 ? errno : 0;
}
