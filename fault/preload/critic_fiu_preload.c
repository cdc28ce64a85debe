/* critic_fiu_preload: an LD_PRELOAD library with libfiu fault points (critic/posix/CALL) on the
 * calls crun leans on that libfiu's own posix preload leaves alone: openat, mkdirat, mount, stat, … */

/* Our definitions must be the plain functions, not fortify's inline wrappers. */
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
/* Without FIU_ENABLE, fiu.h turns fiu_fail() into a constant 0. */
#define FIU_ENABLE 1
#include <fiu.h>
#include <fiu-control.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/*
 * How a call decides to fail:
 *   1. its point has a path filter (rule path=PREFIX) and the call's path
 *      (made absolute through the cwd, the dirfd or the fd) does not start
 *      with PREFIX: the real call runs, nothing is counted (a call with no
 *      path, like clone, never matches a path filter);
 *   2. the call is counted; while the count is <= the rule's after=N the real
 *      call runs;
 *   3. fiu_fail(point) decides (libfiu: enable, enable_random, onetime).
 * A failing call sets errno from failinfo (0 = EIO) and returns failnum when
 * it is negative, else -1 (libfiu's own default failnum is 1).
 *
 * Environment:
 *   FIU_ENABLE              libfiu commands, one a line, applied at start by
 *                           fiu_run_preload.so (fiu-run's protocol)
 *   CRITIC_FIU_RULES        lines "name=POINT[*],after=N,path=PREFIX"
 *   CRITIC_FIU_PATH_PREFIX, CRITIC_FIU_AFTER   the same for every point
 *   CRITIC_FIU_SPEC         a spec file watched while the process runs:
 *                           libfiu command lines and "critic name=…" rule
 *                           lines; whenever it changes (checked at most once
 *                           a millisecond, on a wrapped call) the points it
 *                           enabled before are disabled, its lines applied
 *                           again and the call counts start from zero
 *   CRITIC_FIU_LOG          a file that gets one line per injected failure
 *   CRITIC_FIU_CTRL_FIFO    start libfiu's control fifo (BASE-PID.in/.out,
 *                           for fiu-ctrl) in a thread; not for crun, see
 *                           ctl_start
 */

enum pt {
	PT_OPEN, PT_OPENAT, PT_MKDIR, PT_MKDIRAT, PT_MOUNT, PT_UMOUNT, PT_STAT, PT_LSTAT, PT_FSTATAT,
	PT_STATX, PT_WRITE, PT_UNLINKAT, PT_RMDIR, PT_CLONE, PT_CLONE3, PT_N
};

static const char *const pt_name[PT_N] = {
	[PT_OPEN] = "critic/posix/open",       [PT_OPENAT] = "critic/posix/openat",
	[PT_MKDIR] = "critic/posix/mkdir",     [PT_MKDIRAT] = "critic/posix/mkdirat",
	[PT_MOUNT] = "critic/posix/mount",     [PT_UMOUNT] = "critic/posix/umount",
	[PT_STAT] = "critic/posix/stat",       [PT_LSTAT] = "critic/posix/lstat",
	[PT_FSTATAT] = "critic/posix/fstatat", [PT_STATX] = "critic/posix/statx",
	[PT_WRITE] = "critic/posix/write",     [PT_UNLINKAT] = "critic/posix/unlinkat",
	[PT_RMDIR] = "critic/posix/rmdir",     [PT_CLONE] = "critic/posix/clone",
	[PT_CLONE3] = "critic/posix/clone3",
};

struct pt_rule {
	long after;          /* matching calls let through before fiu decides */
	const char *prefix;  /* NULL = every call matches; never freed (a
			      * thread may still read an old one) */
	unsigned long seen;  /* matching calls so far (this process) */
};

static struct pt_rule rules[PT_N];
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;
static const char *log_path;
static const char *env_prefix;
static long env_after;

/* Set while our own code runs in this thread: nested calls go straight to
 * the next definition (path resolution, logging, libfiu itself). */
static __thread int in_hook;

/* The next definition of a symbol (libfiu's posix preload or libc). */
static void *real_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}
#define REAL(type, name) ({ static void *slot_; (type)real_sym(&slot_, #name); })

/* ------------------------------------------------------------ rules */

static bool pattern_match(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);
	if (len > 0 && pattern[len - 1] == '*')
		return strncmp(name, pattern, len - 1) == 0;
	return strcmp(name, pattern) == 0;
}

/* One "name=P,after=N,path=X" line (modified in place). */
static void rule_line(char *line)
{
	const char *name = NULL, *path = NULL;
	long after = -1;
	char *save = NULL;
	for (char *kv = strtok_r(line, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		while (*kv == ' ' || *kv == '\t')
			kv++;
		if (!strncmp(kv, "name=", 5))
			name = kv + 5;
		else if (!strncmp(kv, "after=", 6))
			after = strtol(kv + 6, NULL, 10);
		else if (!strncmp(kv, "path=", 5))
			path = kv + 5;
	}
	if (!name || !*name)
		return;
	for (int i = 0; i < PT_N; i++) {
		if (!pattern_match(name, pt_name[i]))
			continue;
		if (after >= 0)
			rules[i].after = after;
		if (path)
			rules[i].prefix = *path ? strdup(path) : NULL;
	}
}

static void rules_reset(void)
{
	for (int i = 0; i < PT_N; i++) {
		rules[i].after = env_after;
		rules[i].prefix = env_prefix;
		__atomic_store_n(&rules[i].seen, 0, __ATOMIC_RELAXED);
	}
}

/* Names the spec (or FIU_ENABLE, at first) enabled: disabled on a change. */
static char *spec_names;

/* Append the point name of a libfiu command line ("enable name=X,…"). */
static void note_name(const char *cmd)
{
	const char *n = strstr(cmd, "name=");
	if (!n || (n != cmd && n[-1] != ' ' && n[-1] != ','))
		return;
	n += 5;
	size_t len = strcspn(n, ", \t\n");
	size_t old = spec_names ? strlen(spec_names) : 0;
	char *grown = realloc(spec_names, old + len + 2);
	if (!grown)
		return;
	memcpy(grown + old, n, len);
	grown[old + len] = '\n';
	grown[old + len + 1] = '\0';
	spec_names = grown;
}

static void rules_load(void)
{
	in_hook++;
	const char *prefix = getenv("CRITIC_FIU_PATH_PREFIX");
	const char *after = getenv("CRITIC_FIU_AFTER");
	env_prefix = prefix && *prefix ? strdup(prefix) : NULL;
	env_after = after && *after ? strtol(after, NULL, 10) : 0;
	rules_reset();
	const char *text = getenv("CRITIC_FIU_RULES");
	if (text && *text) {
		char *copy = strdup(text);
		char *save = NULL;
		for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
			rule_line(l);
		free(copy);
	}
	const char *fe = getenv("FIU_ENABLE");
	if (fe && *fe) {
		char *copy = strdup(fe);
		char *save = NULL;
		for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
			note_name(l);
		free(copy);
	}
	const char *lp = getenv("CRITIC_FIU_LOG");
	log_path = lp && *lp ? strdup(lp) : NULL;
	/* Idempotent; fiu_run_preload may not have run its constructor yet. */
	fiu_init(0);
	in_hook--;
}

/* ------------------------------------------------------------ the watched spec */

#define SPEC_MAX (64 * 1024)
static const char *spec_path;
static struct { dev_t dev; ino_t ino; off_t size; struct timespec mtime; bool exists; } spec_seen;
static bool spec_done;     /* applied once at least */
static int spec_busy;      /* one thread refreshes at a time */
static int64_t spec_next_ns;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Apply the spec's text: undo what the last one enabled, then its lines. */
static void spec_apply(char *text)
{
	if (spec_names) {
		char *save = NULL;
		for (char *n = strtok_r(spec_names, "\n", &save); n; n = strtok_r(NULL, "\n", &save))
			fiu_disable(n);
		free(spec_names);
		spec_names = NULL;
	}
	rules_reset();
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (!strncmp(l, "critic ", 7)) {
			rule_line(l + 7);
		} else if (!strncmp(l, "enable", 6) || !strncmp(l, "disable ", 8)) {
			char *err = NULL;
			if (fiu_rc_string(l, &err) == 0 && !strncmp(l, "enable", 6))
				note_name(l);
		}
	}
}

/* Re-read the spec when it changed (called with in_hook set). */
static void spec_refresh(void)
{
	if (!spec_path)
		return;
	int64_t now = mono_ns();
	if (spec_done && now < __atomic_load_n(&spec_next_ns, __ATOMIC_RELAXED))
		return;
	if (__atomic_exchange_n(&spec_busy, 1, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&spec_next_ns, now + 1000000, __ATOMIC_RELAXED);
	struct stat st;
	bool exists = stat(spec_path, &st) == 0;
	if (spec_done && exists == spec_seen.exists &&
	    (!exists || (st.st_dev == spec_seen.dev && st.st_ino == spec_seen.ino && st.st_size == spec_seen.size &&
			 st.st_mtim.tv_sec == spec_seen.mtime.tv_sec && st.st_mtim.tv_nsec == spec_seen.mtime.tv_nsec)))
		goto out;
	/* Raw system calls and a static buffer: a libfiu posix point on read
	 * or malloc must not garble the spec itself. A spec that cannot be
	 * read whole is tried again at the next check. */
	static char text[SPEC_MAX];
	text[0] = '\0';
	if (exists && st.st_size > 0) {
		long fd = syscall(SYS_openat, AT_FDCWD, spec_path, O_RDONLY | O_CLOEXEC);
		long n = fd >= 0 && st.st_size < SPEC_MAX ? syscall(SYS_read, fd, text, (long)st.st_size) : -1;
		if (fd >= 0)
			syscall(SYS_close, fd);
		if (n != (long)st.st_size)
			goto out;
		text[n] = '\0';
	}
	spec_apply(text);
	spec_seen.exists = exists;
	if (exists) {
		spec_seen.dev = st.st_dev;
		spec_seen.ino = st.st_ino;
		spec_seen.size = st.st_size;
		spec_seen.mtime = st.st_mtim;
	}
	spec_done = true;
out:
	__atomic_store_n(&spec_busy, 0, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ control fifo */

/* libfiu's remote control is a thread that reads BASE-PID.in. In crun any
 * extra thread is fatal: crun makes its container process with a raw clone
 * syscall, and in that child glibc still counts the thread, so the child's
 * setresuid/setgroups wait for it forever (__nptl_setxid); a thread that
 * leaves signals unblocked also takes the SIGCHLD crun blocks to read from
 * a signalfd. So the wrapper never asks for it for crun; other programs
 * may. The thread starts here with every signal blocked (not through
 * fiu_run_preload's FIU_CTRL_FIFO), and so does the one libfiu starts in a
 * forked child (the handlers around libfiu's own). */
static sigset_t fork_saved;

static void fork_block(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &fork_saved);
}

static void fork_restore(void)
{
	pthread_sigmask(SIG_SETMASK, &fork_saved, NULL);
}

static void ctl_start(void)
{
	const char *base = getenv("CRITIC_FIU_CTRL_FIFO");
	if (!base || !*base)
		return;
	sigset_t all, old;
	sigfillset(&all);
	in_hook++;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_atfork(NULL, NULL, fork_block);
	if (fiu_rc_fifo(base) == 0)
		pthread_atfork(NULL, NULL, fork_restore);
	else
		fprintf(stderr, "critic-fiu-preload: control fifo %s-%d: %s\n", base, (int)getpid(),
			strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	in_hook--;
}

__attribute__((constructor)) static void critic_fiu_preload_init(void)
{
	pthread_once(&rules_once, rules_load);
	const char *sp = getenv("CRITIC_FIU_SPEC");
	spec_path = sp && *sp ? strdup(sp) : NULL;
	ctl_start();
}

/* ------------------------------------------------------------ deciding */

/* The absolute path a call acts on, when it can be known. */
static bool abs_path(int dirfd, const char *path, int fd, char *out, size_t len)
{
	if (path && path[0] == '/')
		return snprintf(out, len, "%s", path) < (int)len;
	char base[PATH_MAX];
	int from = path ? dirfd : fd;
	if (from == AT_FDCWD) {
		if (!getcwd(base, sizeof base))
			return false;
	} else {
		if (from < 0)
			return false;
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", from);
		ssize_t n = readlink(link, base, sizeof base - 1);
		if (n <= 0)
			return false;
		base[n] = '\0';
	}
	if (!path || !*path)
		return snprintf(out, len, "%s", base) < (int)len;
	return snprintf(out, len, "%s%s%s", base, strcmp(base, "/") ? "/" : "", path) < (int)len;
}

static void log_failure(enum pt p, const char *path, int err)
{
	if (!log_path)
		return;
	char line[PATH_MAX + 160];
	int n = snprintf(line, sizeof line, "%d %s errno=%d%s%s\n", (int)getpid(), pt_name[p], err,
			 path ? " path=" : "", path ? path : "");
	if (n <= 0)
		return;
	if (n >= (int)sizeof line)
		n = sizeof line - 1;
	/* Raw system calls: libfiu's posix points must not eat the record. */
	long fd = syscall(SYS_openat, AT_FDCWD, log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* A record, not an archive: past 4 MiB nothing more is added. */
	long end = syscall(SYS_lseek, fd, 0L, SEEK_END);
	if (end >= 0 && end <= (4 << 20))
		syscall(SYS_write, fd, line, (long)n);
	syscall(SYS_close, fd);
}

/* Should this call fail? Fills *ret and sets errno when it should. path may
 * be relative to dirfd; with no path, fd (when >= 0) names the object. */
static bool should_fail(enum pt p, int dirfd, const char *path, int fd, long *ret)
{
	if (in_hook)
		return false;
	int saved = errno;
	in_hook++;
	pthread_once(&rules_once, rules_load);
	spec_refresh();
	struct pt_rule *r = &rules[p];
	const char *prefix = r->prefix;
	char abs[PATH_MAX];
	bool known = false, fail = false;
	int err = 0;
	if (prefix) {
		known = abs_path(dirfd, path, fd, abs, sizeof abs);
		if (!known || strncmp(abs, prefix, strlen(prefix)) != 0)
			goto out;
	}
	unsigned long n = __atomic_add_fetch(&r->seen, 1, __ATOMIC_RELAXED);
	if (r->after > 0 && n <= (unsigned long)r->after)
		goto out;
	int failnum = fiu_fail(pt_name[p]);
	if (!failnum)
		goto out;
	err = (int)(long)fiu_failinfo();
	if (err <= 0)
		err = EIO;
	*ret = failnum < 0 ? failnum : -1;
	fail = true;
	if (!known && (path || fd >= 0))
		known = abs_path(dirfd, path, fd, abs, sizeof abs);
	log_failure(p, known ? abs : path, err);
out:
	in_hook--;
	errno = fail ? err : saved;
	return fail;
}

#define FAIL_IF(p, dirfd, path, fd)                                 \
	do {                                                        \
		long ret_;                                          \
		if (should_fail((p), (dirfd), (path), (fd), &ret_)) \
			return ret_;                                \
	} while (0)

/* ------------------------------------------------------------ open */

/* open's mode is only read when the flags say a file may be created. */
static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	FAIL_IF(PT_OPEN, AT_FDCWD, path, -1);
	return REAL(open_fn, open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	FAIL_IF(PT_OPEN, AT_FDCWD, path, -1);
	return REAL(open_fn, open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	FAIL_IF(PT_OPENAT, dirfd, path, -1);
	return REAL(openat_fn, openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	FAIL_IF(PT_OPENAT, dirfd, path, -1);
	return REAL(openat_fn, openat64)(dirfd, path, flags, mode);
}

/* What fortified callers (-D_FORTIFY_SOURCE) call instead. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	FAIL_IF(PT_OPEN, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, int), __open_2)(path, flags);
}

int __open64_2(const char *path, int flags)
{
	FAIL_IF(PT_OPEN, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, int), __open64_2)(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	FAIL_IF(PT_OPENAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, int), __openat_2)(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	FAIL_IF(PT_OPENAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, int), __openat64_2)(dirfd, path, flags);
}

/* ------------------------------------------------------------ directories, mounts */

int mkdir(const char *path, mode_t mode)
{
	FAIL_IF(PT_MKDIR, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, mode_t), mkdir)(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	FAIL_IF(PT_MKDIRAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, mode_t), mkdirat)(dirfd, path, mode);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	FAIL_IF(PT_UNLINKAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, int), unlinkat)(dirfd, path, flags);
}

int rmdir(const char *path)
{
	FAIL_IF(PT_RMDIR, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *), rmdir)(path);
}

int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)
{
	FAIL_IF(PT_MOUNT, AT_FDCWD, target, -1);
	return REAL(int (*)(const char *, const char *, const char *, unsigned long, const void *), mount)(
		source, target, fstype, flags, data);
}

int umount(const char *target)
{
	FAIL_IF(PT_UMOUNT, AT_FDCWD, target, -1);
	return REAL(int (*)(const char *), umount)(target);
}

int umount2(const char *target, int flags)
{
	FAIL_IF(PT_UMOUNT, AT_FDCWD, target, -1);
	return REAL(int (*)(const char *, int), umount2)(target, flags);
}

/* ------------------------------------------------------------ stat family */

/* glibc >= 2.33 exports stat/lstat/fstatat (and the *64 aliases) as real
 * functions; programs built against older glibc call __xstat and friends. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

int stat(const char *path, struct stat *st)
{
	FAIL_IF(PT_STAT, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, struct stat *), stat)(path, st);
}

int stat64(const char *path, struct stat64 *st)
{
	FAIL_IF(PT_STAT, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, struct stat64 *), stat64)(path, st);
}

int lstat(const char *path, struct stat *st)
{
	FAIL_IF(PT_LSTAT, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, struct stat *), lstat)(path, st);
}

int lstat64(const char *path, struct stat64 *st)
{
	FAIL_IF(PT_LSTAT, AT_FDCWD, path, -1);
	return REAL(int (*)(const char *, struct stat64 *), lstat64)(path, st);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	FAIL_IF(PT_FSTATAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, struct stat *, int), fstatat)(dirfd, path, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	FAIL_IF(PT_FSTATAT, dirfd, path, -1);
	return REAL(int (*)(int, const char *, struct stat64 *, int), fstatat64)(dirfd, path, st, flags);
}

int __xstat(int ver, const char *path, struct stat *st)
{
	FAIL_IF(PT_STAT, AT_FDCWD, path, -1);
	return REAL(int (*)(int, const char *, struct stat *), __xstat)(ver, path, st);
}

int __xstat64(int ver, const char *path, struct stat64 *st)
{
	FAIL_IF(PT_STAT, AT_FDCWD, path, -1);
	return REAL(int (*)(int, const char *, struct stat64 *), __xstat64)(ver, path, st);
}

int __lxstat(int ver, const char *path, struct stat *st)
{
	FAIL_IF(PT_LSTAT, AT_FDCWD, path, -1);
	return REAL(int (*)(int, const char *, struct stat *), __lxstat)(ver, path, st);
}

int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	FAIL_IF(PT_LSTAT, AT_FDCWD, path, -1);
	return REAL(int (*)(int, const char *, struct stat64 *), __lxstat64)(ver, path, st);
}

int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	FAIL_IF(PT_FSTATAT, dirfd, path, -1);
	return REAL(int (*)(int, int, const char *, struct stat *, int), __fxstatat)(ver, dirfd, path, st, flags);
}

int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	FAIL_IF(PT_FSTATAT, dirfd, path, -1);
	return REAL(int (*)(int, int, const char *, struct stat64 *, int), __fxstatat64)(ver, dirfd, path, st,
											 flags);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	FAIL_IF(PT_STATX, dirfd, path, -1);
	return REAL(int (*)(int, const char *, int, unsigned int, struct statx *), statx)(dirfd, path, flags, mask,
											   stx);
}

/* ------------------------------------------------------------ write */

ssize_t write(int fd, const void *buf, size_t count)
{
	FAIL_IF(PT_WRITE, -1, NULL, fd);
	return REAL(ssize_t (*)(int, const void *, size_t), write)(fd, buf, count);
}

/* ------------------------------------------------------------ clone */

/* glibc's clone(): the trailing arguments are read only when the flags say
 * they were passed. */
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	pid_t *ptid = NULL, *ctid = NULL;
	void *tls = NULL;
	int need = (flags & CLONE_CHILD_SETTID) || (flags & CLONE_CHILD_CLEARTID) ? 3
		   : (flags & CLONE_SETTLS)                                       ? 2
		   : (flags & (CLONE_PARENT_SETTID | CLONE_PIDFD))                ? 1
										  : 0;
	va_list ap;
	va_start(ap, arg);
	if (need >= 1)
		ptid = va_arg(ap, pid_t *);
	if (need >= 2)
		tls = va_arg(ap, void *);
	if (need >= 3)
		ctid = va_arg(ap, pid_t *);
	va_end(ap);
	FAIL_IF(PT_CLONE, -1, NULL, -1);
	return REAL(int (*)(int (*)(void *), void *, int, void *, ...), clone)(fn, stack, flags, arg, ptid, tls,
									      ctid);
}

/* crun makes its container processes with syscall(__NR_clone / __NR_clone3)
 * (fork-like, no shared stack), so those two numbers get points too. Every
 * other number is passed through with all six argument registers. */
long syscall(long number, ...)
{
	va_list ap;
	va_start(ap, number);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_clone)
		FAIL_IF(PT_CLONE, -1, NULL, -1);
#ifdef SYS_clone3
	else if (number == SYS_clone3)
		FAIL_IF(PT_CLONE3, -1, NULL, -1);
#endif
	return REAL(long (*)(long, ...), syscall)(number, a1, a2, a3, a4, a5, a6);
}
