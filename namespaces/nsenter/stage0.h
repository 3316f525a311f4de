/* Shared by nsenter.c (stage 0) and process.c (the exec fast path). */
#ifndef SKIFF_STAGE0_H
#define SKIFF_STAGE0_H

#include <stdint.h>

/* Keep in sync with stage0Msg in libcontainer/stage0.go. */
struct stage0_msg {
	char tag;
	char pad[3];
	int32_t value;
	char text[248];
};

extern int stage0_sync_fd;

void stage0_send(char tag, int32_t value, const char *text);
/* stage0_fail reports what failed (printf-style) with errno's value, then
 * ends the process. */
void stage0_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* stage0_fail_errno is stage0_fail with an explicit errno (0: the text is
 * the whole error). */
void stage0_fail_errno(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void stage0_expect(char want);

/* run_exec_plan is the exec fast path (process.c): it never returns. */
void run_exec_plan(void) __attribute__((noreturn));

#endif
