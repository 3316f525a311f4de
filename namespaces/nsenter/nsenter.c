/*
 * Stage 0 of a skiff container process, run before the Go runtime starts.
 *
 * Why C: a user namespace can only be joined (setns) or entered by a
 * single-threaded process, and the Go runtime is multi-threaded from its
 * first instruction. This constructor does only the namespace work that needs
 * a single thread, then forks; the child returns into Go (skiff init), the
 * parent reports the child's pid and exits. Everything else is Go.
 *
 * It does nothing unless _SKIFF_SYNC names the sync socket. Its inputs are
 * environment variables set by the parent (libcontainer/stage0.go):
 *   _SKIFF_SYNC    fd of the stream socket to the parent
 *   _SKIFF_EXE     fd this binary was executed through (closed at once)
 *   _SKIFF_JOIN    lines "<clone flag hex> <path>", already in join order
 *                  (user first, mount last)
 *   _SKIFF_NEWNS   clone flags (hex) of the namespaces to create (never
 *                  CLONE_NEWCGROUP: the Go side creates that one once the
 *                  runtime has moved the process into its cgroup)
 *   _SKIFF_TIMENS  contents for /proc/self/timens_offsets
 *   _SKIFF_MAPS    "1" if the parent writes uid/gid maps after CLONE_NEWUSER
 *   _SKIFF_EXECPLAN "1": the child sets up an exec'd process itself from a
 *                  plan read from the socket (process.c) instead of
 *                  starting the Go runtime
 * Protocol on the socket (parent -> child single bytes, child -> parent
 * fixed-size struct stage0_msg):
 *   child  'U' (user namespace created: write my maps)   parent 'u'
 *   child  'P' pid (the container's process, in the parent's pid namespace)
 *   child  'E' errno + text, then exit(1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#include "stage0.h"

int stage0_sync_fd = -1;

void stage0_send(char tag, int32_t value, const char *text)
{
	struct stage0_msg m;
	memset(&m, 0, sizeof(m));
	m.tag = tag;
	m.value = value;
	if (text)
		strncpy(m.text, text, sizeof(m.text) - 1);
	const char *p = (const char *)&m;
	size_t left = sizeof(m);
	while (left > 0) {
		ssize_t n = write(stage0_sync_fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		left -= n;
	}
}

__attribute__((noreturn)) static void vfail(int err, const char *fmt, va_list ap)
{
	char text[248];
	vsnprintf(text, sizeof(text), fmt, ap);
	stage0_send('E', err, text);
	_exit(1);
}

void stage0_fail(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vfail(saved, fmt, ap);
}

void stage0_fail_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(err, fmt, ap);
}

void stage0_expect(char want)
{
	char c;
	ssize_t n;
	do {
		n = read(stage0_sync_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1); /* the parent is gone: nothing to report to */
	if (c != want) {
		errno = EPROTO;
		stage0_fail("sync: expected %c, got %c", want, c);
	}
}

/* join_namespaces enters each listed namespace in order; it returns
 * whether one of them was a user namespace. */
static int join_namespaces(char *spec)
{
	int joined_user = 0;
	char *save = NULL;
	for (char *line = strtok_r(spec, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ' ');
		if (!path)
			continue;
		*path++ = '\0';
		int flag = (int)strtol(line, NULL, 16);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			stage0_fail("open namespace %s", path);
		if (setns(fd, flag) < 0)
			stage0_fail("join namespace %s", path);
		close(fd);
		if (flag == CLONE_NEWUSER)
			joined_user = 1;
	}
	return joined_user;
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		stage0_fail("open %s", path);
	size_t len = strlen(data);
	if (write(fd, data, len) != (ssize_t)len)
		stage0_fail("write %s", path);
	close(fd);
}

__attribute__((constructor)) static void skiff_stage0(void)
{
	const char *fdstr = getenv("_SKIFF_SYNC");
	if (!fdstr)
		return;
	stage0_sync_fd = atoi(fdstr);
	/* The descriptor this binary was executed through: done with. */
	const char *exe_env = getenv("_SKIFF_EXE");
	if (exe_env) {
		int exe_fd = atoi(exe_env);
		if (exe_fd > 2 && exe_fd != stage0_sync_fd)
			close(exe_fd);
		unsetenv("_SKIFF_EXE");
	}

	/* Copy the inputs, then scrub them so the container never sees them. */
	char *join = getenv("_SKIFF_JOIN") ? strdup(getenv("_SKIFF_JOIN")) : NULL;
	const char *newns_env = getenv("_SKIFF_NEWNS");
	int newns = newns_env ? (int)strtol(newns_env, NULL, 16) : 0;
	char *timens = getenv("_SKIFF_TIMENS") ? strdup(getenv("_SKIFF_TIMENS")) : NULL;
	int maps = getenv("_SKIFF_MAPS") && strcmp(getenv("_SKIFF_MAPS"), "1") == 0;
	int exec_plan = getenv("_SKIFF_EXECPLAN") && strcmp(getenv("_SKIFF_EXECPLAN"), "1") == 0;
	unsetenv("_SKIFF_EXECPLAN");
	unsetenv("_SKIFF_JOIN");
	unsetenv("_SKIFF_NEWNS");
	unsetenv("_SKIFF_TIMENS");
	unsetenv("_SKIFF_MAPS");

	if (join && join_namespaces(join)) {
		/* Joined a user namespace: act as its root where 0 is mapped
		 * (the Go side switches to the process's own user later). */
		if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
			stage0_fail("setresgid in the joined user namespace");
		if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
			stage0_fail("setresuid in the joined user namespace");
	}

	if (newns & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			stage0_fail("create user namespace");
		if (maps) {
			stage0_send('U', 0, NULL);
			stage0_expect('u');
		}
		/* Become root of the new namespace; capabilities stay full. */
		if (setresgid(0, 0, 0) < 0)
			stage0_fail("setresgid to the user namespace's root");
		if (setresuid(0, 0, 0) < 0)
			stage0_fail("setresuid to the user namespace's root");
	}

	int rest = newns & ~CLONE_NEWUSER;
	if (rest && unshare(rest) < 0)
		stage0_fail("create namespaces (flags %#x)", rest);
	if ((newns & CLONE_NEWTIME) && timens && *timens)
		write_file("/proc/self/timens_offsets", timens);

	/* A new pid or time namespace applies to children only: fork. The
	 * child gets our parent (the runtime) as its parent so that `run` can
	 * wait for it, and so that after `create` it passes to the caller's
	 * subreaper. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		stage0_fail("fork the container process");
	if (pid > 0) {
		stage0_send('P', pid, NULL);
		_exit(0);
	}
	free(join);
	free(timens);
	/* Child: a process exec'd into a running container is set up here,
	 * in C (process.c), when the runtime sent a plan; otherwise continue
	 * into the Go runtime, which runs `skiff init`. */
	if (exec_plan)
		run_exec_plan();
}
