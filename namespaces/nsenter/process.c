/*
 * The exec fast path: set up a process exec'd into a running container and
 * execve it, in the stage 0 child, without starting the Go runtime.
 *
 * Why C: `skiff exec` is what engines run for every health check and
 * `docker exec`. Starting the Go runtime in the container's process only to
 * set credentials and capabilities and to execve cost about 4 ms of the
 * ~13 ms of CPU an exec took (perf, issue 8), and the container side of an
 * exec has no mounts to make. The runtime (libcontainer/execplan.go) does
 * everything that can be decided outside the container (capability names to
 * sets, the seccomp filter compiled to BPF, validation) and sends a flat
 * plan; this file only applies it, in the order prepareProcess and
 * process.exec (libcontainer/process.go) use for the Go path, which stays
 * for what is not handled here (a terminal, a seccomp notify listener).
 *
 * Protocol, after stage 0's 'P': parent -> child: u32 length, plan; child ->
 * parent 'R' (ready: join my cgroup, set my rlimits); parent -> child 'r';
 * then the child's execve closes the socket (success) or it sends 'E'.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stage0.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Keep in sync with execPlanMagic in libcontainer/execplan.go. */
#define PLAN_MAGIC 0x504b5853u /* "SXKP" */
#define PLAN_MAX (16u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct plan {
	uint32_t uid, gid;
	uint32_t ngroups;
	gid_t *groups;
	int32_t umask; /* -1: 022 */
	uint64_t bounding, effective, permitted, inheritable, ambient;
	uint8_t no_new_privs;
	uint8_t has_oom;
	int32_t oom;
	char *apparmor, *selinux, *cwd;
	uint32_t argc, envc;
	char **argv, **envp;
	uint32_t preserve_fds;
	uint32_t seccomp_flags;
	uint32_t seccomp_len; /* instructions */
	struct sock_filter *seccomp;
};

/* A cursor over the plan; any short read is a protocol error. */
struct cursor {
	const char *p, *end;
};

static void need(struct cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		stage0_fail_errno(EPROTO, "exec plan: truncated");
}

static void get_bytes(struct cursor *c, void *dst, size_t n)
{
	need(c, n);
	memcpy(dst, c->p, n);
	c->p += n;
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v;
	get_bytes(c, &v, sizeof(v));
	return v;
}

static uint64_t get_u64(struct cursor *c)
{
	uint64_t v;
	get_bytes(c, &v, sizeof(v));
	return v;
}

static uint8_t get_u8(struct cursor *c)
{
	need(c, 1);
	return (uint8_t)*c->p++;
}

static char *get_str(struct cursor *c)
{
	uint32_t n = get_u32(c);
	need(c, n);
	char *s = malloc(n + 1);
	if (!s)
		stage0_fail("exec plan: allocate");
	get_bytes(c, s, n);
	s[n] = '\0';
	return s;
}

static char **get_strs(struct cursor *c, uint32_t *count)
{
	*count = get_u32(c);
	if (*count > PLAN_MAX / 4)
		stage0_fail_errno(EPROTO, "exec plan: bad list length");
	char **v = calloc(*count + 1, sizeof(char *));
	if (!v)
		stage0_fail("exec plan: allocate");
	for (uint32_t i = 0; i < *count; i++)
		v[i] = get_str(c);
	return v;
}

static void read_full(void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(stage0_sync_fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(1); /* the parent is gone */
		p += r;
		n -= r;
	}
}

static void read_plan(struct plan *pl)
{
	uint32_t len;
	read_full(&len, 4);
	if (len > PLAN_MAX)
		stage0_fail_errno(EPROTO, "exec plan: %u bytes is too large", len);
	char *buf = malloc(len);
	if (!buf)
		stage0_fail("exec plan: allocate");
	read_full(buf, len);
	struct cursor c = {buf, buf + len};
	if (get_u32(&c) != PLAN_MAGIC)
		stage0_fail_errno(EPROTO, "exec plan: bad magic (runtime and binary from different builds?)");
	pl->uid = get_u32(&c);
	pl->gid = get_u32(&c);
	pl->ngroups = get_u32(&c);
	if (pl->ngroups > 65536)
		stage0_fail_errno(EPROTO, "exec plan: %u groups", pl->ngroups);
	pl->groups = calloc(pl->ngroups + 1, sizeof(gid_t));
	if (!pl->groups)
		stage0_fail("exec plan: allocate");
	for (uint32_t i = 0; i < pl->ngroups; i++)
		pl->groups[i] = get_u32(&c);
	pl->umask = (int32_t)get_u32(&c);
	pl->bounding = get_u64(&c);
	pl->effective = get_u64(&c);
	pl->permitted = get_u64(&c);
	pl->inheritable = get_u64(&c);
	pl->ambient = get_u64(&c);
	pl->no_new_privs = get_u8(&c);
	pl->has_oom = get_u8(&c);
	pl->oom = (int32_t)get_u32(&c);
	pl->apparmor = get_str(&c);
	pl->selinux = get_str(&c);
	pl->cwd = get_str(&c);
	pl->argv = get_strs(&c, &pl->argc);
	pl->envp = get_strs(&c, &pl->envc);
	pl->preserve_fds = get_u32(&c);
	pl->seccomp_flags = get_u32(&c);
	pl->seccomp_len = get_u32(&c);
	if (pl->seccomp_len > BPF_MAXINSNS)
		stage0_fail_errno(EPROTO, "exec plan: %u seccomp instructions", pl->seccomp_len);
	size_t prog_size = (size_t)pl->seccomp_len * sizeof(struct sock_filter);
	need(&c, prog_size);
	pl->seccomp = malloc(prog_size + 1);
	if (!pl->seccomp)
		stage0_fail("exec plan: allocate");
	get_bytes(&c, pl->seccomp, prog_size);
	if (c.p != c.end)
		stage0_fail_errno(EPROTO, "exec plan: %zd bytes left over", c.end - c.p);
	if (pl->argc == 0)
		stage0_fail_errno(EINVAL, "process.args: empty");
	free(buf);
}

/* cloexec_from marks every fd from first on close-on-exec (close_range,
 * or a walk of /proc/self/fd where it is missing). */
static void cloexec_from(unsigned first)
{
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		stage0_fail("close inherited fds: open /proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < (long)first || fd == dirfd(d))
			continue;
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			stage0_fail("close inherited fd %ld", fd);
	}
	closedir(d);
}

/* write_proc_attr writes an LSM attribute through a handle checked to be
 * on procfs, so a container cannot redirect it (CVE-2025-52881). */
static int write_proc_attr(const char *attr, const char *value)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/thread-self/attr/%s", attr);
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct statfs st;
	if (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	size_t n = strlen(value);
	ssize_t w = write(fd, value, n);
	int saved = errno;
	close(fd);
	errno = saved;
	return w == (ssize_t)n ? 0 : -1;
}

static void apply_lsm(const struct plan *pl)
{
	if (*pl->apparmor) {
		char value[PATH_MAX];
		if (strlen(pl->apparmor) > sizeof(value) - 6)
			stage0_fail_errno(ENAMETOOLONG, "process.apparmorProfile: too long");
		snprintf(value, sizeof(value), "exec %s", pl->apparmor);
		if (write_proc_attr("apparmor/exec", value) < 0) {
			int saved = errno;
			if (write_proc_attr("exec", value) < 0) {
				errno = saved;
				stage0_fail("process.apparmorProfile: apply \"%s\"", pl->apparmor);
			}
		}
	}
	if (*pl->selinux && write_proc_attr("exec", pl->selinux) < 0)
		stage0_fail("process.selinuxLabel: apply \"%s\"", pl->selinux);
}

static void capset_sets(uint64_t eff, uint64_t perm, uint64_t inh, const char *what)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		stage0_fail("%s", what);
}

/* raise_effective makes the effective set the permitted one (loading a
 * filter without no_new_privs needs CAP_SYS_ADMIN in effect). */
static void raise_effective(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		stage0_fail("linux.seccomp: get capabilities");
	data[0].effective = data[0].permitted;
	data[1].effective = data[1].permitted;
	if (syscall(SYS_capset, &hdr, data) < 0)
		stage0_fail("linux.seccomp: raise effective capabilities");
}

static void set_user(const struct plan *pl)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		stage0_fail("keep capabilities");
	/* Raw syscalls: this thread's credentials (the only thread). */
	if (syscall(SYS_setgroups, pl->ngroups, pl->groups) < 0) {
		/* Denied in a user namespace whose gid map was written with
		 * setgroups=deny: only an error if groups were asked for. */
		if (!(errno == EPERM && pl->ngroups == 0))
			stage0_fail("process.user.additionalGids: setgroups");
	}
	if (syscall(SYS_setresgid, pl->gid, pl->gid, pl->gid) < 0)
		stage0_fail("process.user.gid: setgid %u", pl->gid);
	if (syscall(SYS_setresuid, pl->uid, pl->uid, pl->uid) < 0)
		stage0_fail("process.user.uid: setuid %u", pl->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		stage0_fail("reset keep-capabilities");
}

/* enter_cwd changes to cwd and checks the result is inside the container:
 * a cwd reached through an fd leaked from the host shows up unreachable
 * (CVE-2024-21626). */
static void enter_cwd(const char *cwd)
{
	char buf[PATH_MAX];
	if (chdir(cwd) < 0)
		stage0_fail("process.cwd: chdir \"%s\"", cwd);
	if (!getcwd(buf, sizeof(buf)))
		stage0_fail("process.cwd: getcwd (possible container breakout: refusing)");
	if (buf[0] != '/')
		stage0_fail_errno(0, "process.cwd: \"%s\" is outside the container: refusing", buf);
}

static int check_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	return access(path, X_OK);
}

/* find_executable resolves args[0] as the Go path does (findExecutable in
 * libcontainer/process.go): a name with a slash as is, else along the
 * process's PATH (the last PATH= wins; a default when there is none). */
static char *find_executable(const struct plan *pl)
{
	const char *arg0 = pl->argv[0];
	if (strchr(arg0, '/')) {
		if (check_executable(arg0) < 0)
			stage0_fail("process.args[0]: \"%s\"", arg0);
		return pl->argv[0];
	}
	const char *path = DEFAULT_PATH;
	for (uint32_t i = 0; i < pl->envc; i++)
		if (strncmp(pl->envp[i], "PATH=", 5) == 0)
			path = pl->envp[i] + 5;
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = malloc(n + strlen(arg0) + 3);
		if (!cand)
			stage0_fail("find executable: allocate");
		if (n == 0)
			sprintf(cand, "./%s", arg0);
		else if (p[n - 1] == '/')
			sprintf(cand, "%.*s%s", (int)n, p, arg0);
		else
			sprintf(cand, "%.*s/%s", (int)n, p, arg0);
		if (check_executable(cand) == 0)
			return cand;
		free(cand);
		if (!colon)
			break;
		p = colon + 1;
	}
	/* Engines map this wording (Go's and runc's) to exit status 127. */
	stage0_fail_errno(0, "exec: \"%s\": executable file not found in $PATH", arg0);
}

static void load_seccomp(const struct plan *pl)
{
	struct sock_fprog prog = {(unsigned short)pl->seccomp_len, pl->seccomp};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, pl->seccomp_flags, &prog) != 0)
		stage0_fail("seccomp: load filter (flags %#x)", pl->seccomp_flags);
}

void run_exec_plan(void)
{
	struct plan pl;
	memset(&pl, 0, sizeof(pl));
	read_plan(&pl);
	/* The runtime joins us to the container's cgroup and sets the
	 * rlimits, then lets us go on. */
	stage0_send('R', 0, NULL);
	stage0_expect('r');

	unsigned first = 3 + pl.preserve_fds;
	cloexec_from(first);
	if (pl.has_oom) {
		char v[16];
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		snprintf(v, sizeof(v), "%d", pl.oom);
		if (fd < 0 || write(fd, v, strlen(v)) < 0)
			stage0_fail("process.oomScoreAdj");
		close(fd);
	}
	/* Until execve, processes already in the container must not ptrace
	 * this one, which still has the runtime's credentials and
	 * capabilities (the kernel's capability check on ptrace covers all
	 * but a container with every capability). After the OOM score: a
	 * non-dumpable process's /proc files belong to the host's root,
	 * which a rootless runtime is not. execve makes the user's process
	 * dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		stage0_fail("make the exec'd process non-dumpable");
	apply_lsm(&pl);
	for (int c = 0; c < 64; c++) {
		if (pl.bounding & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			stage0_fail("process.capabilities.bounding: drop capability %d", c);
	}
	set_user(&pl);
	umask(pl.umask >= 0 ? (mode_t)pl.umask : 022);
	/* cwd and the executable are checked before any filter exists: a
	 * profile need not allow getcwd or access. */
	enter_cwd(pl.cwd);
	char *path = find_executable(&pl);
	if (pl.seccomp_len > 0 && !pl.no_new_privs) {
		raise_effective();
		load_seccomp(&pl);
	}
	capset_sets(pl.effective, pl.permitted, pl.inheritable, "process.capabilities: set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		stage0_fail("clear ambient capabilities");
	for (int c = 0; c < 64; c++) {
		/* The kernel refuses an ambient capability that is not also
		 * permitted and inheritable; go on without it, as the Go path
		 * and runc do. */
		if ((pl.ambient & (1ULL << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
			stage0_fail("raise ambient capability %d", c);
	}
	if (pl.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		stage0_fail("process.noNewPrivileges");
	/* A session of its own (EPERM: already a group leader). */
	if (setsid() < 0 && errno != EPERM)
		stage0_fail("setsid");
	/* Nothing this file opened is still open: the fds marked above are
	 * all there is besides stdio and the passed ones. */
	for (unsigned fd = 3; fd < first; fd++)
		if (fcntl((int)fd, F_SETFD, 0) < 0 && errno != EBADF)
			stage0_fail("pass fd %u", fd);
	/* Last, so the filter sees as few of our own syscalls as possible. */
	if (pl.seccomp_len > 0 && pl.no_new_privs)
		load_seccomp(&pl);
	execve(path, pl.argv, pl.envp);
	stage0_fail("exec \"%s\"", path);
}
