/*
 * earlyprime: start the kernel's wait for a cgroup move before the Go
 * runtime starts (see earlyprime.go for why the wait exists).
 *
 * run, create and exec each move a process into a cgroup about 5 to 10 ms
 * after they start. This constructor, in the runtime process of those
 * commands only, moves the process into the cgroup it is already in
 * (which changes nothing) on a detached thread while the Go runtime
 * starts, so that about 2.5 ms more of the wait has passed by the time
 * the move comes.
 *
 * It never runs in stage 0 or the container init (_SKIFF_SYNC is set
 * there), reads only /proc/self, and writes "0" only to a cgroup.procs
 * that lists this process: a wrong guess is a skipped prime, never a move.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "earlyprime.h"

/* 0: not started, 1: started, 2: written, 3: gave up. */
volatile int skiff_early_prime_state;

/* read_file reads at most cap-1 bytes of path into buf, NUL-terminated. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/*
 * list_has reports whether the comma-separated list (len bytes) holds w,
 * or with prefix set a word that starts with w and is longer.
 */
static int list_has(const char *list, size_t len, const char *w, int prefix)
{
	size_t wl = strlen(w);
	const char *p = list, *end = list + len;
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
		if ((prefix ? l > wl : l == wl) && memcmp(p, w, wl) == 0)
			return 1;
		p += l + 1;
	}
	return 0;
}

#define has_word(list, len, w) list_has(list, len, w, 0)

/*
 * rank orders hierarchies: cgroup2, then v1 ones whose controllers do no
 * work on attach, then the rest; memory and cpuset are never used. -1:
 * not a candidate.
 */
static int rank(int v2, const char *ctl, size_t len)
{
	if (v2)
		return 0;
	if (has_word(ctl, len, "memory") || has_word(ctl, len, "cpuset"))
		return -1;
	if (has_word(ctl, len, "pids") || has_word(ctl, len, "freezer") ||
	    has_word(ctl, len, "devices") || list_has(ctl, len, "name=", 1))
		return 1;
	return 2;
}

/*
 * own_path finds, in /proc/self/cgroup text, the path of the line for a
 * cgroup2 mount (v2) or for a v1 mount whose super options hold that
 * line's first controller. Returns its length, 0 when there is none.
 */
static size_t own_path(const char *cgroup, int v2, const char *superopts, size_t solen, const char **path)
{
	for (const char *line = cgroup; *line; ) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			const char *ctl = c1 + 1;
			size_t cl = (size_t)(c2 - ctl);
			const char *comma = memchr(ctl, ',', cl);
			size_t first = comma ? (size_t)(comma - ctl) : cl;
			char want[64];
			int match = 0;
			if (v2)
				match = cl == 0 && c1 - line == 1 && line[0] == '0';
			else if (first > 0 && first < sizeof(want)) {
				memcpy(want, ctl, first);
				want[first] = '\0';
				match = has_word(superopts, solen, want);
			}
			if (match && c2[1] == '/') {
				*path = c2 + 1;
				return ll - (size_t)(c2 + 1 - line);
			}
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	return 0;
}

int skiff_prime_dir(const char *cgroup, const char *mountinfo, char *out, size_t outlen)
{
	int best = -1;
	for (const char *line = mountinfo; *line; ) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		const char *f[5];
		size_t fl[5];
		const char *p = line, *end = line + ll;
		int i;
		for (i = 0; i < 5 && p < end; i++) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));
			f[i] = p;
			fl[i] = sp ? (size_t)(sp - p) : (size_t)(end - p);
			p = f[i] + fl[i] + 1;
		}
		const char *dash = i == 5 ? strstr(p < end ? p : end, " - ") : NULL;
		if (dash && dash < end) {
			const char *fs = dash + 3;
			const char *fse = memchr(fs, ' ', (size_t)(end - fs));
			const char *so = fse ? memchr(fse + 1, ' ', (size_t)(end - fse - 1)) : NULL;
			if (fse && so) {
				size_t fsl = (size_t)(fse - fs);
				int v2 = fsl == 7 && memcmp(fs, "cgroup2", 7) == 0;
				int v1 = fsl == 6 && memcmp(fs, "cgroup", 6) == 0;
				const char *opts = so + 1;
				size_t ol = (size_t)(end - opts);
				int r = (v1 || v2) ? rank(v2, opts, ol) : -1;
				const char *path;
				size_t pl;
				/* Escaped paths (\040...) are left alone. */
				if (r >= 0 && (best < 0 || r < best) &&
				    !memchr(f[3], '\\', fl[3]) && !memchr(f[4], '\\', fl[4]) &&
				    (pl = own_path(cgroup, v2, opts, ol, &path)) > 0) {
					/* The mount shows the subtree at root f[3]: path must lie in it. */
					const char *rel = NULL;
					size_t rl = 0;
					if (fl[3] == 1 && f[3][0] == '/') {
						rel = path, rl = pl;
					} else if (pl >= fl[3] && memcmp(path, f[3], fl[3]) == 0 &&
						   (pl == fl[3] || path[fl[3]] == '/')) {
						rel = path + fl[3], rl = pl - fl[3];
					}
					if (rel && fl[4] + rl + 1 < outlen) {
						memcpy(out, f[4], fl[4]);
						memcpy(out + fl[4], rel, rl);
						out[fl[4] + rl] = '\0';
						best = r;
					}
				}
			}
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	return best >= 0;
}

/* lists_pid reports whether the cgroup.procs text lists pid. */
static int lists_pid(const char *procs, pid_t pid)
{
	char want[24];
	int wl = snprintf(want, sizeof(want), "%d", (int)pid);
	for (const char *line = procs; *line; ) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		if ((int)ll == wl && memcmp(line, want, ll) == 0)
			return 1;
		if (!eol)
			break;
		line = eol + 1;
	}
	return 0;
}

int skiff_prime_now(void)
{
	enum { CG = 8192, MI = 1 << 20, PR = 1 << 20 };
	char *cg = malloc(CG), *mi = malloc(MI), *procs = malloc(PR);
	char dir[4096], file[4096 + 16];
	int ok = 0;
	if (cg && mi && procs &&
	    read_file("/proc/self/cgroup", cg, CG) > 0 &&
	    read_file("/proc/self/mountinfo", mi, MI) > 0 &&
	    skiff_prime_dir(cg, mi, dir, sizeof(dir))) {
		snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
		/* Only a cgroup that lists this process is its own. */
		if (read_file(file, procs, PR) > 0 && lists_pid(procs, getpid())) {
			int fd = open(file, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				ok = write(fd, "0", 1) == 1;
				close(fd);
			}
		}
	}
	free(cg);
	free(mi);
	free(procs);
	return ok;
}

static void *prime(void *arg)
{
	(void)arg;
	skiff_early_prime_state = skiff_prime_now() ? 2 : 3;
	return NULL;
}

__attribute__((constructor)) static void skiff_early_prime(int argc, char **argv)
{
	if (getenv("_SKIFF_SYNC"))
		return;
	int moves = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "run") || !strcmp(argv[i], "create") || !strcmp(argv[i], "exec"))
			moves = 1;
	if (!moves)
		return;
	/* The thread takes no signal: they are the Go runtime's to handle. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t t;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 128 * 1024);
		skiff_early_prime_state = 1;
		if (pthread_create(&t, &attr, prime, NULL) != 0)
			skiff_early_prime_state = 3;
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
