#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void util_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void util_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t util_now_ms(void) { return clock_ns(CLOCK_MONOTONIC) / 1000000; }
int64_t util_now_us(void) { return clock_ns(CLOCK_MONOTONIC) / 1000; }
int64_t util_wall_ns(void) { return clock_ns(CLOCK_REALTIME); }

void util_sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int util_read_file(const char *path, char **out, size_t *len, crit_err *e)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "open %s: %s", path, strerror(errno));
	strbuf sb = { 0 };
	char tmp[8192];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int rc = -errno;
			sb_free(&sb);
			return err_set(e, rc, "read %s: %s", path, strerror(-rc));
		}
		if (n == 0)
			break;
		sb_append(&sb, tmp, (size_t)n);
	}
	sb_append(&sb, "", 0);
	*out = sb.buf;
	if (len)
		*len = sb.len;
	return 0;
}

int util_write_file(const char *path, const char *data, size_t len, int mode, crit_err *e)
{
	/* Write to a temporary name and rename, so a reader never sees half. */
	cleanup_free char *tmp = util_strdup_printf("%s.critic-tmp.%d", path, getpid());
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(e, -errno, "create %s: %s", tmp, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int rc = -errno;
			unlink(tmp);
			return err_set(e, rc, "write %s: %s", path, strerror(-rc));
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		int rc = -errno;
		unlink(tmp);
		return err_set(e, rc, "write %s: %s", path, strerror(-rc));
	}
	return 0;
}

int util_mkdir_p(const char *path, int mode, crit_err *e)
{
	char buf[4096];
	if (!path || !*path)
		return err_set(e, -EINVAL, "mkdir: empty path");
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return err_set(e, -ENAMETOOLONG, "mkdir %s: path too long", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_set(e, -errno, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) < 0) {
		if (errno != EEXIST)
			return err_set(e, -errno, "mkdir %s: %s", buf, strerror(errno));
		/* EEXIST is success only when what exists is a directory. */
		struct stat st;
		if (stat(buf, &st) < 0)
			return err_set(e, -errno, "mkdir %s: %s", buf, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_set(e, -ENOTDIR, "mkdir %s: exists and is not a directory", buf);
	}
	return 0;
}

bool util_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int rm_rf_at(int parent, const char *name, crit_err *e, const char *top)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_set(e, -errno, "stat %s/…/%s: %s", top, name, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return err_set(e, -errno, "open %s/…/%s: %s", top, name, strerror(errno));
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return err_set(e, -errno, "opendir %s: %s", name, strerror(errno));
		}
		struct dirent *de;
		int rc = 0;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			rc = rm_rf_at(dirfd(d), de->d_name, e, top);
			if (rc < 0)
				break;
		}
		closedir(d);
		if (rc < 0)
			return rc;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return err_set(e, -errno, "rmdir %s/…/%s: %s", top, name, strerror(errno));
		return 0;
	}
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return err_set(e, -errno, "unlink %s/…/%s: %s", top, name, strerror(errno));
	return 0;
}

/* True when an absolute path names "/" however it is spelled ("//", "/./")
 * or holds a ".." component, which could climb to it. */
static bool names_root(const char *path)
{
	bool has_name = false;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *c = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return true;
		if (n && !(n == 1 && c[0] == '.'))
			has_name = true;
	}
	return !has_name;
}

int util_rm_rf(const char *path, crit_err *e)
{
	if (!path || path[0] != '/' || names_root(path))
		return err_set(e, -EINVAL, "refusing to remove '%s': not an absolute path below /", path ? path : "(null)");
	/* Drop trailing slashes: with one, a symlink to a directory would be
	 * followed and the directory it points to emptied. */
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return err_set(e, -ENAMETOOLONG, "remove %s: path too long", path);
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return rm_rf_at(AT_FDCWD, buf, e, path);
}

/* The state letter of /proc/PATH/stat ('?' when unreadable). */
static char proc_state(const char *path)
{
	char buf[512];
	FILE *f = fopen(path, "re");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The state letter follows the last ')' (the command may hold parens). */
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : '?';
}

static bool state_dead(char st)
{
	return st == 'Z' || st == 'X' || st == 'x' || st == '?';
}

bool util_pid_alive(pid_t pid)
{
	if (pid <= 0)
		return false;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!state_dead(proc_state(path)))
		return true;
	/* A thread group leader shows Z as soon as it exits, while its other
	 * threads may still be running and holding its files (a Go runtime's
	 * listening socket, say): alive until every thread is gone. */
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool alive = false;
	struct dirent *de;
	while (!alive && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char tpath[320];
		snprintf(tpath, sizeof tpath, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		alive = !state_dead(proc_state(tpath));
	}
	closedir(d);
	return alive;
}

bool util_wait_pid_dead(pid_t pid, int timeout_ms)
{
	int64_t end = util_now_ms() + timeout_ms;
	for (;;) {
		/* Reap it if it is our child, so it does not stay a zombie. */
		waitpid(pid, NULL, WNOHANG);
		if (!util_pid_alive(pid)) {
			/* It may have died between the waitpid and the look
			 * (a zombie counts as dead): reap that zombie too. */
			waitpid(pid, NULL, WNOHANG);
			return true;
		}
		if (util_now_ms() >= end)
			return false;
		util_sleep_ms(10);
	}
}

int util_pid_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return (int)n;
}

int util_run(char *const argv[], int timeout_ms, char **out, crit_err *e)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err_set(e, rc, "fork for %s: %s", argv[0], strerror(-rc));
	}
	if (pid == 0) {
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(pipefd[1]);
	strbuf sb = { 0 };
	int64_t end = util_now_ms() + timeout_ms;
	bool timed_out = false;
	for (;;) {
		int64_t left = end - util_now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		char tmp[4096];
		ssize_t n = read(pipefd[0], tmp, sizeof tmp);
		if (n <= 0)
			break;
		sb_append(&sb, tmp, (size_t)n);
	}
	close(pipefd[0]);
	int status = 0;
	if (timed_out) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		sb_free(&sb);
		return err_set(e, -ETIMEDOUT, "%s did not finish within %d ms (killed)", argv[0], timeout_ms);
	}
	/* Output closed: the child should exit promptly, but a daemonised
	 * grandchild may hold nothing; still bound the wait. */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (util_now_ms() >= end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			sb_free(&sb);
			return err_set(e, -ETIMEDOUT, "%s did not exit within %d ms (killed)", argv[0], timeout_ms);
		}
		util_sleep_ms(5);
	}
	sb_append(&sb, "", 0);
	if (out)
		*out = sb.buf;
	else
		sb_free(&sb);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int util_run_sh(const char *cmd, int timeout_ms, char **out, crit_err *e)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	return util_run(argv, timeout_ms, out, e);
}

pid_t util_spawn_daemon(char *const argv[], const char *logpath, crit_err *e)
{
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return err_set(e, -errno, "open log %s: %s", logpath, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(logfd);
		return err_set(e, rc, "fork for %s: %s", argv[0], strerror(-rc));
	}
	if (pid == 0) {
		setsid();
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	return pid;
}

char *util_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort(); /* out of memory: nothing sensible left to do */
	return s;
}

bool util_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void sb_append(strbuf *sb, const char *data, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 256;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *nb = realloc(sb->buf, cap);
		if (!nb)
			abort();
		sb->buf = nb;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sb_append(sb, s, (size_t)n);
	free(s);
}

void sb_free(strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

int util_data_dir(const char *env, const char *sub, char *dir, size_t len, crit_err *e)
{
	const char *v = getenv(env);
	if (v && *v) {
		if (!util_exists(v))
			return err_set(e, -ENOENT, "%s=%s does not exist", env, v);
		snprintf(dir, len, "%s", v);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char cand[PATH_MAX + 64], real[PATH_MAX];
			snprintf(cand, sizeof cand, "%s/../%s", exe, sub);
			if (realpath(cand, real)) {
				snprintf(dir, len, "%s", real);
				return 0;
			}
		}
	}
	return err_set(e, -ENOENT, "no %s: neither $%s nor <critic's dir>/../%s exists", sub, env, sub);
}
