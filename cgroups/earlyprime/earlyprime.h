#ifndef SKIFF_EARLYPRIME_H
#define SKIFF_EARLYPRIME_H
#include <stddef.h>

/* 0: not started, 1: started, 2: written, 3: gave up. */
extern volatile int skiff_early_prime_state;

/*
 * skiff_prime_dir finds, from the text of /proc/self/cgroup and
 * /proc/self/mountinfo, the directory of this process's cgroup in the
 * hierarchy best suited to a move in place (cgroup2, then v1 hierarchies
 * without resource controllers; never memory or cpuset). 1 if found.
 */
int skiff_prime_dir(const char *cgroup, const char *mountinfo, char *out, size_t outlen);

/*
 * skiff_prime_now moves this process into the cgroup it is in (see
 * earlyprime.c), synchronously. 1 if it wrote.
 */
int skiff_prime_now(void);

#endif
