/* lab: critic's private containerd with its own root, state, socket, CNI
 * bridge and a local registry serving images built from busybox-static.
 * Everything it creates lives under the lab dir; down undoes what up did. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "util.h"

/* Bump when the image recipe changes: cached layouts are then rebuilt. */
#define LAB_IMAGES_VERSION "critic-images-1"
#define LAB_IMAGE_TAG "1.0"

#define CONTAINERD_START_MS 20000
#define CRI_READY_MS 10000
#define REGISTRY_START_MS 10000
#define STOP_GRACE_MS 10000
#define KILL_WAIT_MS 5000
#define TOOL_MS 120000
#define QUICK_MS 10000

#define CGROUP_UNIFIED "/sys/fs/cgroup/unified"
#define NETNS_DIR "/var/run/netns"
#define SHIM_SOCK_DIR "/run/containerd/s/"

/* Image roles the lab serves: the layout tag is "ROLE-1.0". image-a and
 * image-b are busybox plus one layer of their own data: the image suites
 * pull and remove them, never the shared roles. */
static const char *const lab_roles[] = { "busybox", "pause", "user-uid", "user-name", "image-a", "image-b" };

/* The data layer each of image-a and image-b adds: distinct bytes, so a pull
 * really grows the image file system. */
static const struct { const char *role; size_t bytes; } lab_data_images[] = {
	{ "image-a", 1 << 20 },
	{ "image-b", 2 << 20 },
};

/* The lab's fixed sub-directories (mounts right at these are left alone by
 * down: they are where the user put the lab's storage, not ours to undo). */
static const char *const lab_subdirs[] = {
	"root", "state", "cni", "cni/net.d", "cni/ipam", "certs.d", "registry",
	"images", "logs", "runc", "crun", "opt",
};

static const char *const image_path_env =
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* What lab.state remembers between runs. */
typedef struct lab_state {
	pid_t containerd_pid;
	pid_t registry_pid;
	int registry_port;
	int subnet;          /* third octet of 10.233.X.0/24, -1 = not chosen */
	int crun_usable;     /* -1 = not checked yet */
	char crun_note[512];
	char crun_fix[256];  /* cgroup mounts the lab made for crun */
	char config_hash[20]; /* hash of the config.toml containerd runs with */
	char runtime[128];   /* "containerd 1.6.20~ds1" */
	/* loop-fs storage (lab.h): chosen, image size, the device critic attached */
	int loopfs;
	unsigned long long loopfs_bytes;
	char loopfs_dev[32];
} lab_state;

/* dir is kept short enough for a unix socket path, so the derived paths
 * fit in small buffers. */
typedef struct lab_ctx {
	char dir[PATH_MAX];
	char sock[256];
	char config[256];
	char state_file[256];
	char reg_config[256];
	char endpoint[256];
	char bridge[16];
	char netname[32];
	uint32_t hash;
	lab_state st;
	char root_dir[256];  /* containerd's root and state: DIR/root, DIR/state */
	char state_dir[256]; /* or DIR/fs/root, DIR/fs/state on the loop fs */
} lab_ctx;

static lab_log_fn lab_logger;

void lab_set_logger(lab_log_fn fn)
{
	lab_logger = fn;
}

static void lab_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lab_log(const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (lab_logger)
		lab_logger(line);
	else
		fprintf(stderr, "%s\n", line);
}

const char *lab_default_dir(void)
{
	const char *d = getenv("CRITIC_LAB_DIR");
	return d && *d ? d : LAB_DEFAULT_DIR;
}

/* ------------------------------------------------------------ small helpers */

static uint32_t fnv32(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint64_t fnv64(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* "DIR/rel" on the heap (for cleanup_free). */
static char *lab_path(const lab_ctx *c, const char *rel)
{
	return util_strdup_printf("%s/%s", c->dir, rel);
}

/* The last lines of a text, one line, for error messages. */
static void text_tail(const char *text, int nlines, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!text || !*text)
		return;
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	size_t start = n;
	int lines = 0;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines >= nlines)
			break;
		start--;
	}
	/* Keep the end when it does not fit. */
	if (n - start > outlen - 1)
		start = n - (outlen - 1);
	size_t j = 0;
	for (size_t i = start; i < n && j < outlen - 4; i++) {
		if (text[i] == '\n') {
			out[j++] = ' ';
			out[j++] = '|';
			out[j++] = ' ';
		} else if ((unsigned char)text[i] >= ' ') {
			out[j++] = text[i];
		}
	}
	out[j] = '\0';
}

/* The last lines a log file got after offset `from`. */
static void log_tail(const char *path, off_t from, int nlines, char *out, size_t outlen)
{
	out[0] = '\0';
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(out, outlen, "(no log at %s)", path);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	off_t start = st.st_size > 8192 ? st.st_size - 8192 : 0;
	if (start < from)
		start = from;
	char buf[8193];
	ssize_t n = pread(fd, buf, sizeof buf - 1, start);
	if (n <= 0) {
		snprintf(out, outlen, "(log %s is empty)", path);
		return;
	}
	buf[n] = '\0';
	text_tail(buf, nlines, out, outlen);
}

/* Run a tool with a deadline; a non-zero exit becomes an error that names the
 * tool's job and shows the end of its output. */
static int run_tool(char *const argv[], int timeout_ms, const char *what, char **outp, crit_err *e)
{
	cleanup_free char *out = NULL;
	int rc = util_run(argv, timeout_ms, &out, e);
	if (rc < 0)
		return err_wrap(e, "%s", what);
	if (rc != 0) {
		char tail[600];
		text_tail(out, 4, tail, sizeof tail);
		return err_set(e, -EIO, "%s: %s exited with %d: %s", what, argv[0], rc,
			       tail[0] ? tail : "(no output)");
	}
	if (outp) {
		*outp = out;
		out = NULL;
	}
	return 0;
}

/* Write a file only when its content differs; *changed says whether it did. */
static int write_if_changed(const char *path, const char *data, int mode, bool *changed, crit_err *e)
{
	cleanup_free char *old = NULL;
	size_t oldlen = 0;
	if (changed)
		*changed = false;
	if (util_read_file(path, &old, &oldlen, NULL) == 0 && oldlen == strlen(data) &&
	    memcmp(old, data, oldlen) == 0)
		return 0;
	int rc = util_write_file(path, data, strlen(data), mode, e);
	if (rc == 0 && changed)
		*changed = true;
	return rc;
}

static int copy_file(const char *src, const char *dst, mode_t mode, crit_err *e)
{
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_set(e, -errno, "open %s: %s", src, strerror(errno));
	cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		return err_set(e, -errno, "create %s: %s", dst, strerror(errno));
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, -errno, "read %s: %s", src, strerror(errno));
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return err_set(e, -errno, "write %s: %s", dst, strerror(errno));
			off += w;
		}
	}
	if (fchmod(out, mode) < 0)
		return err_set(e, -errno, "chmod %s: %s", dst, strerror(errno));
	return 0;
}

/* Look a program up in PATH (or a few sbin dirs root usually has). */
static bool find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	cleanup_free char *dirs = util_strdup_printf("%s:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin",
						     path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

/* Debian's runc lives in /usr/sbin; fall back to PATH. */
static bool find_runc(char *out, size_t len)
{
	if (access("/usr/sbin/runc", X_OK) == 0) {
		snprintf(out, len, "/usr/sbin/runc");
		return true;
	}
	return find_program("runc", out, len);
}

/* ------------------------------------------------------------ lab dir + state */

static bool dir_char_ok(char ch)
{
	return isalnum((unsigned char)ch) || strchr("/._-+@", ch);
}

static int ctx_check_dir(const char *dir, crit_err *e)
{
	for (const char *p = dir; *p; p++)
		if (!dir_char_ok(*p))
			return err_set(e, -EINVAL,
				       "lab dir %s: character '%c' not allowed (use letters, digits, / . _ - + @)",
				       dir, *p);
	struct sockaddr_un sun;
	if (strlen(dir) + strlen("/containerd.sock.ttrpc") >= sizeof sun.sun_path)
		return err_set(e, -ENAMETOOLONG,
			       "lab dir %s: too long for a unix socket path (keep it under %zu characters)", dir,
			       sizeof sun.sun_path - strlen("/containerd.sock.ttrpc") - 1);
	return 0;
}

/* loop-fs storage: containerd's root and state follow the recorded choice. */
static void ctx_storage_paths(lab_ctx *c)
{
	const char *sub = c->st.loopfs > 0 ? LAB_LOOPFS_MOUNT "/" : "";
	snprintf(c->root_dir, sizeof c->root_dir, "%.200s/%sroot", c->dir, sub);
	snprintf(c->state_dir, sizeof c->state_dir, "%.200s/%sstate", c->dir, sub);
}

/* Resolve dir to a canonical absolute path (creating it when asked) and fill
 * the derived names. The charset is limited so the path can go verbatim into
 * TOML, JSON, YAML, skopeo's "oci:PATH:TAG" and /proc/self/mountinfo. */
static int ctx_init(lab_ctx *c, const char *dir, bool create, crit_err *e)
{
	memset(c, 0, sizeof *c);
	if (!dir || !*dir)
		dir = lab_default_dir();
	char abs[PATH_MAX];
	if (dir[0] == '/') {
		if (snprintf(abs, sizeof abs, "%s", dir) >= (int)sizeof abs)
			return err_set(e, -ENAMETOOLONG, "lab dir %s: path too long", dir);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return err_set(e, -errno, "lab dir %s: getcwd: %s", dir, strerror(errno));
		if (snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= (int)sizeof abs)
			return err_set(e, -ENAMETOOLONG, "lab dir %s: path too long", dir);
	}
	size_t n = strlen(abs);
	while (n > 1 && abs[n - 1] == '/')
		abs[--n] = '\0';
	if (!strcmp(abs, "/"))
		return err_set(e, -EINVAL, "lab dir %s: refusing to use / as the lab dir", dir);
	/* Check the name before creating anything (and again once resolved). */
	int rc = ctx_check_dir(abs, e);
	if (rc < 0)
		return rc;
	if (create && (rc = util_mkdir_p(abs, 0755, e)) < 0)
		return err_wrap(e, "lab dir");
	if (!realpath(abs, c->dir)) {
		if (errno != ENOENT || create)
			return err_set(e, -errno, "lab dir %s: %s", abs, strerror(errno));
		snprintf(c->dir, sizeof c->dir, "%s", abs);
	}
	if ((rc = ctx_check_dir(c->dir, e)) < 0)
		return rc;
	snprintf(c->sock, sizeof c->sock, "%.200s/containerd.sock", c->dir);
	snprintf(c->config, sizeof c->config, "%.200s/config.toml", c->dir);
	snprintf(c->state_file, sizeof c->state_file, "%.200s/lab.state", c->dir);
	snprintf(c->reg_config, sizeof c->reg_config, "%.200s/registry.yml", c->dir);
	snprintf(c->endpoint, sizeof c->endpoint, "unix://%.200s", c->sock);
	c->hash = fnv32(c->dir, strlen(c->dir));
	snprintf(c->bridge, sizeof c->bridge, "crit%06x", (unsigned)(c->hash & 0xffffff));
	snprintf(c->netname, sizeof c->netname, "critic-%06x", (unsigned)(c->hash & 0xffffff));
	c->st.subnet = -1;
	c->st.crun_usable = -1;
	ctx_storage_paths(c);
	return 0;
}

static void state_load(lab_ctx *c)
{
	cleanup_free char *data = NULL;
	if (util_read_file(c->state_file, &data, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		lab_state *s = &c->st;
		if (!strcmp(k, "containerd_pid"))
			s->containerd_pid = (pid_t)atoi(v);
		else if (!strcmp(k, "registry_pid"))
			s->registry_pid = (pid_t)atoi(v);
		else if (!strcmp(k, "registry_port"))
			s->registry_port = atoi(v);
		else if (!strcmp(k, "subnet"))
			s->subnet = *v ? atoi(v) : -1;
		else if (!strcmp(k, "crun_usable"))
			s->crun_usable = *v ? atoi(v) : -1;
		else if (!strcmp(k, "crun_note"))
			snprintf(s->crun_note, sizeof s->crun_note, "%s", v);
		else if (!strcmp(k, "crun_fix"))
			snprintf(s->crun_fix, sizeof s->crun_fix, "%s", v);
		else if (!strcmp(k, "config_hash"))
			snprintf(s->config_hash, sizeof s->config_hash, "%s", v);
		else if (!strcmp(k, "runtime"))
			snprintf(s->runtime, sizeof s->runtime, "%s", v);
		else if (!strcmp(k, "loopfs"))
			s->loopfs = atoi(v) > 0;
		else if (!strcmp(k, "loopfs_bytes"))
			s->loopfs_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(k, "loopfs_dev") && util_has_prefix(v, "/dev/loop"))
			snprintf(s->loopfs_dev, sizeof s->loopfs_dev, "%s", v);
	}
	if (c->st.subnet > 255)
		c->st.subnet = -1;
	ctx_storage_paths(c);
}

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static int state_save(lab_ctx *c, crit_err *e)
{
	lab_state *s = &c->st;
	one_line(s->crun_note);
	one_line(s->crun_fix);
	one_line(s->runtime);
	strbuf sb = { 0 };
	sb_printf(&sb,
		  "# critic lab state (written by critic lab up/down)\n"
		  "dir=%s\ncontainerd_pid=%d\nregistry_pid=%d\nregistry_port=%d\nsubnet=%d\n"
		  "crun_usable=%d\ncrun_note=%s\ncrun_fix=%s\nconfig_hash=%s\nruntime=%s\n",
		  c->dir, (int)s->containerd_pid, (int)s->registry_pid, s->registry_port, s->subnet,
		  s->crun_usable, s->crun_note, s->crun_fix, s->config_hash, s->runtime);
	/* loop-fs storage: written only once chosen, so a default lab's state is as before. */
	if (s->loopfs || s->loopfs_bytes)
		sb_printf(&sb, "loopfs=%d\nloopfs_bytes=%llu\nloopfs_dev=%s\nloopfs_mount=%s%s\n", s->loopfs,
			  s->loopfs_bytes, s->loopfs_dev, s->loopfs_dev[0] ? c->dir : "",
			  s->loopfs_dev[0] ? "/" LAB_LOOPFS_MOUNT : "");
	int rc = util_write_file(c->state_file, sb.buf, sb.len, 0644, e);
	sb_free(&sb);
	return rc;
}

static void loopfs_fill_info(const lab_ctx *c, lab_info *info); /* loop-fs storage */

static void fill_info(const lab_ctx *c, lab_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof *info);
	snprintf(info->dir, sizeof info->dir, "%s", c->dir);
	snprintf(info->endpoint, sizeof info->endpoint, "%s", c->endpoint);
	snprintf(info->socket, sizeof info->socket, "%s", c->sock);
	snprintf(info->config, sizeof info->config, "%s", c->config);
	info->containerd_pid = c->st.containerd_pid;
	info->registry_pid = c->st.registry_pid;
	info->registry_port = c->st.registry_port;
	if (c->st.registry_port > 0)
		snprintf(info->registry, sizeof info->registry, "127.0.0.1:%d", c->st.registry_port);
	info->crun_usable = c->st.crun_usable > 0;
	snprintf(info->crun_note, sizeof info->crun_note, "%s", c->st.crun_note);
	loopfs_fill_info(c, info);
}

/* ------------------------------------------------------------ processes */

enum proc_kind { PK_CONTAINERD, PK_SHIM, PK_REGISTRY };

/* Raw NUL-separated argv of a process; returns its length or -1. */
static ssize_t proc_argv(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Does argv hold "flag value" or "flag=value"? */
static bool argv_has_pair(const char *buf, ssize_t n, const char *flag, const char *value)
{
	size_t fl = strlen(flag);
	for (const char *a = buf; a < buf + n; a += strlen(a) + 1) {
		if (!strcmp(a, flag)) {
			const char *next = a + strlen(a) + 1;
			if (next < buf + n && !strcmp(next, value))
				return true;
		} else if (!strncmp(a, flag, fl) && a[fl] == '=' && !strcmp(a + fl + 1, value)) {
			return true;
		}
	}
	return false;
}

static bool argv_has(const char *buf, ssize_t n, const char *value)
{
	for (const char *a = buf; a < buf + n; a += strlen(a) + 1)
		if (!strcmp(a, value))
			return true;
	return false;
}

/* Is pid a live process of this lab of the given kind? The command line must
 * name the lab's own files: a pid alone (maybe reused) is never trusted. */
static bool proc_is(const lab_ctx *c, pid_t pid, enum proc_kind kind)
{
	if (pid <= 0 || pid == getpid() || !util_pid_alive(pid))
		return false;
	char buf[16384];
	ssize_t n = proc_argv(pid, buf, sizeof buf);
	if (n <= 0)
		return false;
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	switch (kind) {
	case PK_CONTAINERD:
		return !strcmp(base, "containerd") &&
		       (argv_has_pair(buf, n, "--config", c->config) || argv_has_pair(buf, n, "-c", c->config));
	case PK_SHIM:
		return util_has_prefix(base, "containerd-shim") &&
		       (argv_has_pair(buf, n, "-address", c->sock) || argv_has_pair(buf, n, "--address", c->sock));
	case PK_REGISTRY:
		return (!strcmp(base, "docker-registry") || !strcmp(base, "registry")) &&
		       argv_has(buf, n, c->reg_config);
	}
	return false;
}

/* All live processes of a kind; returns how many (at most max). */
static int proc_scan(const lab_ctx *c, enum proc_kind kind, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (proc_is(c, pid, kind))
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* The lab's process of a kind: the recorded pid when it still is ours, else
 * the first one found by command line. 0 when none runs. */
static pid_t proc_find(const lab_ctx *c, pid_t recorded, enum proc_kind kind)
{
	if (proc_is(c, recorded, kind))
		return recorded;
	pid_t found[1];
	return proc_scan(c, kind, found, 1) > 0 ? found[0] : 0;
}

/* SIGTERM, a grace period, then SIGKILL. True once the process is gone. */
static bool stop_pid(pid_t pid, int grace_ms)
{
	if (!util_pid_alive(pid)) {
		waitpid(pid, NULL, WNOHANG);
		return true;
	}
	if (grace_ms > 0) {
		kill(pid, SIGTERM);
		kill(pid, SIGCONT); /* a frozen (SIGSTOPped) process must see it too */
		if (util_wait_pid_dead(pid, grace_ms))
			return true;
	}
	kill(pid, SIGKILL);
	return util_wait_pid_dead(pid, KILL_WAIT_MS);
}

/* Stop every process of a kind (the recorded one first). Returns how many
 * could not be stopped; names them in `left`. */
static int stop_kind(const lab_ctx *c, pid_t recorded, enum proc_kind kind, int grace_ms, int *stopped,
		     strbuf *left)
{
	pid_t pids[256];
	int n = 0, failed = 0;
	if (proc_is(c, recorded, kind))
		pids[n++] = recorded;
	pid_t more[255];
	int m = proc_scan(c, kind, more, (int)ARRAY_SIZE(more));
	for (int i = 0; i < m; i++)
		if (more[i] != recorded)
			pids[n++] = more[i];
	/* Signal them all first so their grace periods overlap. */
	if (grace_ms > 0)
		for (int i = 0; i < n; i++) {
			kill(pids[i], SIGTERM);
			kill(pids[i], SIGCONT);
		}
	for (int i = 0; i < n; i++) {
		if (stop_pid(pids[i], grace_ms)) {
			if (stopped)
				(*stopped)++;
		} else {
			failed++;
			if (left)
				sb_printf(left, "%spid %d survived SIGKILL", left->len ? "; " : "", (int)pids[i]);
		}
	}
	return failed;
}

/* ------------------------------------------------------------ sockets, HTTP */

static bool sock_accepts(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return false;
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return true;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return false;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	int err = 0;
	socklen_t l = sizeof err;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0;
}

/* Can we bind 127.0.0.1:port? port 0 picks a free one: returns the port
 * number, or a negative errno. */
static int port_bind_test(int port)
{
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	socklen_t l = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
		return -errno;
	return ntohs(sa.sin_port);
}

/* One HTTP/1.1 request to 127.0.0.1:port; reads the status and (optionally)
 * the Docker-Content-Digest header. Returns 0 or a negative errno. */
static int http_request(int port, const char *method, const char *path, const char *accept,
			int timeout_ms, int *status, char *digest, size_t dlen)
{
	int64_t end = util_now_ms() + timeout_ms;
	*status = 0;
	if (digest && dlen)
		digest[0] = '\0';
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int left = (int)(end - util_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			return -errno;
		if (err)
			return -err;
	}
	char req[1024];
	int rl = snprintf(req, sizeof req,
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: critic-lab\r\n%s%s%s"
			  "Connection: close\r\n\r\n",
			  method, path, port, accept ? "Accept: " : "", accept ? accept : "",
			  accept ? "\r\n" : "");
	for (int off = 0; off < rl;) {
		ssize_t w = send(fd, req + off, (size_t)(rl - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int left = (int)(end - util_now_ms());
			if (left <= 0 || poll(&p, 1, left) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (w < 0)
			return -errno;
		off += (int)w;
	}
	/* Read until the end of the headers. */
	char resp[8192];
	size_t got = 0;
	for (;;) {
		resp[got] = '\0';
		if (strstr(resp, "\r\n\r\n"))
			break;
		if (got >= sizeof resp - 1)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - util_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	resp[got] = '\0';
	if (strncmp(resp, "HTTP/1.", 7) != 0 || !resp[7] || resp[8] != ' ')
		return -EPROTO;
	*status = atoi(resp + 9);
	if (digest && dlen) {
		for (char *line = strstr(resp, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
			const char *h = line + 2;
			if (strncasecmp(h, "Docker-Content-Digest:", 22) != 0)
				continue;
			h += 22;
			while (*h == ' ')
				h++;
			size_t l = strcspn(h, "\r\n");
			if (l >= dlen)
				l = dlen - 1;
			memcpy(digest, h, l);
			digest[l] = '\0';
			break;
		}
	}
	return 0;
}

static bool registry_answers(int port, int timeout_ms)
{
	int status = 0;
	return port > 0 && http_request(port, "GET", "/v2/", NULL, timeout_ms, &status, NULL, 0) == 0 &&
	       status == 200;
}

/* ------------------------------------------------------------ registry */

static int registry_write_config(const lab_ctx *c, int port, crit_err *e)
{
	cleanup_free char *cfg = util_strdup_printf(
		"# generated by critic: the lab's local image registry\n"
		"version: 0.1\n"
		"log:\n"
		"  level: info\n"
		"  formatter: text\n"
		"  accesslog:\n"
		"    disabled: true\n"
		"storage:\n"
		"  filesystem:\n"
		"    rootdirectory: %s/registry\n"
		"  delete:\n"
		"    enabled: true\n"
		"  maintenance:\n"
		"    uploadpurging:\n"
		"      enabled: false\n"
		"http:\n"
		"  addr: 127.0.0.1:%d\n"
		"  secret: critic-lab-local\n",
		c->dir, port);
	return write_if_changed(c->reg_config, cfg, 0644, NULL, e);
}

static int registry_ensure(lab_ctx *c, crit_err *e)
{
	pid_t pid = proc_find(c, c->st.registry_pid, PK_REGISTRY);
	if (pid > 0 && registry_answers(c->st.registry_port, 2000)) {
		c->st.registry_pid = pid;
		return 0;
	}
	if (pid > 0)
		lab_log("lab: registry (pid %d) does not answer on 127.0.0.1:%d, restarting it", (int)pid,
			c->st.registry_port);
	strbuf left = { 0 };
	int bad = stop_kind(c, pid, PK_REGISTRY, 3000, NULL, &left);
	if (bad) {
		int rc = err_set(e, -EBUSY, "stop the old lab registry: %s", left.buf);
		sb_free(&left);
		return rc;
	}
	sb_free(&left);

	int port = c->st.registry_port;
	if (port <= 0 || port > 65535 || port_bind_test(port) != port) {
		port = port_bind_test(0);
		if (port < 0)
			return err_set(e, port, "find a free port on 127.0.0.1 for the registry: %s",
				       strerror(-port));
	}
	int rc = registry_write_config(c, port, e);
	if (rc < 0)
		return err_wrap(e, "registry config");
	cleanup_free char *logp = lab_path(c, "logs/registry.log");
	struct stat lst;
	off_t log_from = stat(logp, &lst) == 0 ? lst.st_size : 0;
	char *argv[] = { "docker-registry", "serve", c->reg_config, NULL };
	pid = util_spawn_daemon(argv, logp, e);
	if (pid < 0)
		return err_wrap(e, "start docker-registry");
	c->st.registry_pid = pid;
	c->st.registry_port = port;
	int64_t end = util_now_ms() + REGISTRY_START_MS;
	for (;;) {
		if (registry_answers(port, 500))
			break;
		bool alive = util_pid_alive(pid);
		if (!alive || util_now_ms() >= end) {
			char tail[600];
			if (alive)
				stop_pid(pid, 0);
			waitpid(pid, NULL, WNOHANG);
			c->st.registry_pid = 0;
			log_tail(logp, log_from, 4, tail, sizeof tail);
			return err_set(e, alive ? -ETIMEDOUT : -ECHILD,
				       "registry on 127.0.0.1:%d: %s; %s: %s", port,
				       alive ? "no answer to GET /v2/ within 10 s (killed)" : "exited at start",
				       logp, tail[0] ? tail : "(empty)");
		}
		util_sleep_ms(50);
	}
	lab_log("lab: registry on 127.0.0.1:%d (pid %d)", port, (int)pid);
	return 0;
}

/* ------------------------------------------------------------ images */

/* Where the static helper programs (pause, critic-helper) live. */
static int find_helpers(char *out, size_t len, crit_err *e)
{
	char tried[3 * PATH_MAX + 16] = "";
	const char *env = getenv("CRITIC_IMAGES_DIR");
	char cand[3][PATH_MAX];
	int n = 0;
	if (env && *env)
		snprintf(cand[n++], PATH_MAX, "%s", env);
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (l > 0) {
		exe[l] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand[n++], PATH_MAX, "%.*s/../build/images", PATH_MAX - 32, exe);
		}
	}
	snprintf(cand[n++], PATH_MAX, "/usr/lib/critic/images");
	for (int i = 0; i < n; i++) {
		cleanup_free char *pause = util_strdup_printf("%s/pause", cand[i]);
		if (access(pause, X_OK) == 0) {
			if (!realpath(cand[i], out))
				snprintf(out, len, "%.*s", (int)len - 1, cand[i]);
			return 0;
		}
		size_t tl = strlen(tried);
		snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", cand[i]);
	}
	return err_set(e, -ENOENT, "image helpers: no executable 'pause' in %s: run make first (or set CRITIC_IMAGES_DIR)",
		       tried);
}

/* The helper files, sorted by name, pause first. */
static int list_helpers(const char *hdir, char names[][64], int max)
{
	int n = 0;
	DIR *d = opendir(hdir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 64)
			continue;
		cleanup_free char *p = util_strdup_printf("%s/%s", hdir, de->d_name);
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		snprintf(names[n++], 64, "%.63s", de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* One line per input the images are built from; a change means a rebuild. */
static void image_inputs(const char *hdir, strbuf *sb)
{
	sb_printf(sb, "version=%s\n", LAB_IMAGES_VERSION);
	struct stat st;
	if (stat("/bin/busybox", &st) == 0)
		sb_printf(sb, "busybox=/bin/busybox size=%lld mtime=%lld.%09ld ino=%llu\n", (long long)st.st_size,
			  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	char names[32][64];
	int n = list_helpers(hdir, names, 32);
	for (int i = 0; i < n; i++) {
		cleanup_free char *p = util_strdup_printf("%s/%s", hdir, names[i]);
		if (stat(p, &st) == 0)
			sb_printf(sb, "helper=%s size=%lld mtime=%lld.%09ld\n", names[i], (long long)st.st_size,
				  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
}

/* Manifest digest of a tag in an OCI layout's index.json ("" when absent). */
static void layout_digest(json_object *index, const char *tag, char *out, size_t len)
{
	out[0] = '\0';
	json_object *mans = NULL;
	if (!index || !json_object_object_get_ex(index, "manifests", &mans) ||
	    !json_object_is_type(mans, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(mans); i++) {
		json_object *m = json_object_array_get_idx(mans, i), *ann, *name, *dig;
		if (!json_object_object_get_ex(m, "annotations", &ann) ||
		    !json_object_object_get_ex(ann, "org.opencontainers.image.ref.name", &name) ||
		    strcmp(json_object_get_string(name), tag) != 0)
			continue;
		if (json_object_object_get_ex(m, "digest", &dig))
			snprintf(out, len, "%s", json_object_get_string(dig));
		return;
	}
}

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
	"bin:x:2:2:bin:/bin:/bin/false\n"
	"critic:x:1003:1003:critic test user:/home/critic:/bin/sh\n"
	"critic2:x:1004:1004:second critic test user:/home/critic2:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

static const char group_text[] =
	"root:x:0:\n"
	"daemon:x:1:\n"
	"bin:x:2:\n"
	"tty:x:5:\n"
	"critic:x:1003:\n"
	"critic2:x:1004:\n"
	"critic-extra:x:1005:critic,critic2\n"
	"nogroup:x:65534:\n";

/* Fill the busybox image's root file system in stage. */
static int stage_busybox(const char *stage, const char *hdir, crit_err *e)
{
	static const char *const dirs[] = {
		"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "root", "home/critic",
		"home/critic2", "tmp", "var/tmp", "proc", "sys", "dev",
	};
	int rc;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *p = util_strdup_printf("%s/%s", stage, dirs[i]);
		if ((rc = util_mkdir_p(p, 0755, e)) < 0)
			return rc;
	}
	cleanup_free char *bb = util_strdup_printf("%s/bin/busybox", stage);
	if ((rc = copy_file("/bin/busybox", bb, 0755, e)) < 0)
		return rc;
	/* One symlink per applet, where busybox itself would install it. */
	cleanup_free char *list = NULL;
	char *argv[] = { "/bin/busybox", "--list-full", NULL };
	bool full = true;
	if (run_tool(argv, QUICK_MS, "list busybox applets", &list, NULL) < 0) {
		char *argv2[] = { "/bin/busybox", "--list", NULL };
		full = false;
		if ((rc = run_tool(argv2, QUICK_MS, "list busybox applets", &list, e)) < 0)
			return rc;
	}
	int napplets = 0;
	char *save = NULL;
	for (char *a = strtok_r(list, "\n", &save); a; a = strtok_r(NULL, "\n", &save)) {
		while (*a == '/')
			a++;
		if (!*a || strstr(a, "..") || !strcmp(a, "bin/busybox") || !strcmp(a, "busybox"))
			continue;
		cleanup_free char *p = full ? util_strdup_printf("%s/%s", stage, a)
					    : util_strdup_printf("%s/bin/%s", stage, a);
		char *slash = strrchr(p, '/');
		*slash = '\0';
		if ((rc = util_mkdir_p(p, 0755, e)) < 0)
			return rc;
		*slash = '/';
		if (symlink("/bin/busybox", p) < 0 && errno != EEXIST)
			return err_set(e, -errno, "symlink %s: %s", p, strerror(errno));
		napplets++;
	}
	if (napplets < 10)
		return err_set(e, -EIO, "busybox image: /bin/busybox lists only %d applets (is it busybox-static?)",
			       napplets);
	cleanup_free char *sh = util_strdup_printf("%s/bin/sh", stage);
	if (!util_exists(sh) && symlink("/bin/busybox", sh) < 0)
		return err_set(e, -errno, "symlink %s: %s", sh, strerror(errno));

	static const struct { const char *name, *text; } files[] = {
		{ "etc/passwd", passwd_text },
		{ "etc/group", group_text },
		{ "etc/critic-image", "critic lab image (" LAB_IMAGES_VERSION ")\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *p = util_strdup_printf("%s/%s", stage, files[i].name);
		if ((rc = util_write_file(p, files[i].text, strlen(files[i].text), 0644, e)) < 0)
			return rc;
	}
	static const struct { const char *name; mode_t mode; uid_t uid; } perms[] = {
		{ "tmp", 01777, 0 }, { "var/tmp", 01777, 0 }, { "root", 0700, 0 },
		{ "home/critic", 0755, 1003 }, { "home/critic2", 0755, 1004 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(perms); i++) {
		cleanup_free char *p = util_strdup_printf("%s/%s", stage, perms[i].name);
		if (chmod(p, perms[i].mode) < 0 || chown(p, perms[i].uid, perms[i].uid) < 0)
			return err_set(e, -errno, "chmod/chown %s: %s", p, strerror(errno));
	}
	/* Extra static helpers go to /usr/local/bin (pause has its own image). */
	char names[32][64];
	int n = list_helpers(hdir, names, 32);
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], "pause"))
			continue;
		cleanup_free char *src = util_strdup_printf("%s/%s", hdir, names[i]);
		cleanup_free char *dst = util_strdup_printf("%s/usr/local/bin/%s", stage, names[i]);
		if ((rc = copy_file(src, dst, 0755, e)) < 0)
			return rc;
	}
	return 0;
}

static int umoci(const char *what, crit_err *e, ...)
{
	char *argv[32];
	int n = 0;
	argv[n++] = "umoci";
	va_list ap;
	va_start(ap, e);
	char *a;
	while ((a = va_arg(ap, char *)) && n < (int)ARRAY_SIZE(argv) - 1)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_tool(argv, TOOL_MS, what, NULL, e);
}

/* Stage /critic-data of a data image: ROLE.bin (pseudo-random bytes seeded
 * by the role, so every build has the same content) and "role". */
static int stage_data(const char *stage, const char *role, size_t bytes, crit_err *e)
{
	int rc = util_mkdir_p(stage, 0755, e);
	if (rc < 0)
		return rc;
	char *buf = malloc(bytes);
	if (!buf)
		return err_set(e, -ENOMEM, "data for %s: out of memory", role);
	uint64_t x = fnv64(role, strlen(role)) | 1;
	for (size_t i = 0; i < bytes; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (char)(x >> 32);
	}
	cleanup_free char *bin = util_strdup_printf("%s/%s.bin", stage, role);
	cleanup_free char *name = util_strdup_printf("%s/role", stage);
	cleanup_free char *text = util_strdup_printf("%s\n", role);
	rc = util_write_file(bin, buf, bytes, 0644, e);
	free(buf);
	if (rc < 0 || (rc = util_write_file(name, text, strlen(text), 0644, e)) < 0)
		return rc;
	return 0;
}

/* Build all roles into a fresh layout and swap it in. */
static int images_build(lab_ctx *c, const char *hdir, const char *inputs, crit_err *e)
{
	cleanup_free char *layout = lab_path(c, "images/oci");
	cleanup_free char *tmp = lab_path(c, "images/oci.new");
	cleanup_free char *stage = lab_path(c, "images/stage");
	cleanup_free char *bbstage = lab_path(c, "images/stage/busybox");
	cleanup_free char *pstage = lab_path(c, "images/stage/pause");
	int rc;
	if ((rc = util_rm_rf(tmp, e)) < 0 || (rc = util_rm_rf(stage, e)) < 0)
		return rc;
	if ((rc = util_mkdir_p(bbstage, 0755, e)) < 0 || (rc = util_mkdir_p(pstage, 0755, e)) < 0)
		return rc;
	if ((rc = stage_busybox(bbstage, hdir, e)) < 0)
		return err_wrap(e, "stage busybox image");
	cleanup_free char *psrc = util_strdup_printf("%s/pause", hdir);
	cleanup_free char *pdst = util_strdup_printf("%s/pause", pstage);
	if ((rc = copy_file(psrc, pdst, 0755, e)) < 0)
		return err_wrap(e, "stage pause image");

	cleanup_free char *bb = util_strdup_printf("%s:busybox-" LAB_IMAGE_TAG, tmp);
	cleanup_free char *pause = util_strdup_printf("%s:pause-" LAB_IMAGE_TAG, tmp);
	char *env = (char *)image_path_env;
	if ((rc = umoci("umoci init", e, "init", "--layout", tmp, NULL)) < 0 ||
	    (rc = umoci("umoci new busybox", e, "new", "--image", bb, NULL)) < 0 ||
	    (rc = umoci("umoci insert busybox", e, "insert", "--image", bb, bbstage, "/", NULL)) < 0 ||
	    (rc = umoci("umoci config busybox", e, "config", "--image", bb, "--config.cmd", "sh",
			"--config.env", env, "--config.workingdir", "/", "--config.label",
			"io.critic.role=busybox", "--author", "critic", NULL)) < 0 ||
	    (rc = umoci("umoci config user-uid", e, "config", "--image", bb, "--tag",
			"user-uid-" LAB_IMAGE_TAG, "--config.user", "1002", "--config.label",
			"io.critic.role=user-uid", NULL)) < 0 ||
	    (rc = umoci("umoci config user-name", e, "config", "--image", bb, "--tag",
			"user-name-" LAB_IMAGE_TAG, "--config.user", "critic", "--config.label",
			"io.critic.role=user-name", NULL)) < 0 ||
	    (rc = umoci("umoci new pause", e, "new", "--image", pause, NULL)) < 0 ||
	    (rc = umoci("umoci insert pause", e, "insert", "--image", pause, pdst, "/pause", NULL)) < 0 ||
	    (rc = umoci("umoci config pause", e, "config", "--image", pause, "--config.entrypoint",
			"/pause", "--config.user", "65535:65535", "--config.env", env, "--config.label",
			"io.critic.role=pause", "--author", "critic", NULL)) < 0)
		return err_wrap(e, "build lab images in %s", tmp);
	/* image-a, image-b: busybox's config and layer, then their own layer. */
	for (size_t i = 0; i < ARRAY_SIZE(lab_data_images); i++) {
		const char *role = lab_data_images[i].role;
		cleanup_free char *dstage = util_strdup_printf("%s/%s", stage, role);
		cleanup_free char *tag = util_strdup_printf("%s-" LAB_IMAGE_TAG, role);
		cleanup_free char *ref = util_strdup_printf("%s:%s", tmp, tag);
		cleanup_free char *label = util_strdup_printf("io.critic.role=%s", role);
		if ((rc = stage_data(dstage, role, lab_data_images[i].bytes, e)) < 0)
			return err_wrap(e, "stage %s image", role);
		if ((rc = umoci("umoci config data image", e, "config", "--image", bb, "--tag", tag,
				"--config.label", label, NULL)) < 0 ||
		    (rc = umoci("umoci insert data image", e, "insert", "--image", ref, dstage, "/critic-data",
				NULL)) < 0)
			return err_wrap(e, "build lab image %s in %s", role, tmp);
	}
	if ((rc = umoci("umoci gc", e, "gc", "--layout", tmp, NULL)) < 0)
		return err_wrap(e, "build lab images in %s", tmp);
	if ((rc = util_rm_rf(layout, e)) < 0)
		return rc;
	if (rename(tmp, layout) < 0)
		return err_set(e, -errno, "rename %s to %s: %s", tmp, layout, strerror(errno));
	cleanup_free char *inp = lab_path(c, "images/inputs");
	if ((rc = util_write_file(inp, inputs, strlen(inputs), 0644, e)) < 0)
		return rc;
	util_rm_rf(stage, NULL);
	return 0;
}

static const char manifest_accept[] =
	"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

/* Build the images into DIR/images/oci when their inputs changed; fill
 * each role's manifest digest (lab_roles order). */
static int layout_ensure(lab_ctx *c, const char *hdir, char digests[][128], crit_err *e)
{
	int rc;
	strbuf inputs = { 0 };
	image_inputs(hdir, &inputs);
	cleanup_free char *inp = lab_path(c, "images/inputs");
	cleanup_free char *layout = lab_path(c, "images/oci");
	cleanup_free char *index_path = lab_path(c, "images/oci/index.json");
	cleanup_free char *old = NULL;
	bool fresh = util_read_file(inp, &old, NULL, NULL) == 0 && !strcmp(old, inputs.buf);

	json_object *index = NULL;
	for (int pass = 0; pass < 2; pass++) {
		cleanup_free char *text = NULL;
		if (index) {
			json_object_put(index);
			index = NULL;
		}
		if (fresh && util_read_file(index_path, &text, NULL, NULL) == 0)
			index = json_tokener_parse(text);
		bool complete = index != NULL;
		for (size_t i = 0; i < ARRAY_SIZE(lab_roles); i++) {
			char tag[64];
			snprintf(tag, sizeof tag, "%s-%s", lab_roles[i], LAB_IMAGE_TAG);
			layout_digest(index, tag, digests[i], sizeof digests[i]);
			if (!digests[i][0])
				complete = false;
		}
		if (complete)
			break;
		if (pass == 1) {
			json_object_put(index);
			sb_free(&inputs);
			return err_set(e, -EIO, "lab images: %s lacks a role right after building it", index_path);
		}
		lab_log("lab: building images (busybox, pause, user-uid, user-name, image-a, image-b) in %s", layout);
		rc = images_build(c, hdir, inputs.buf, e);
		if (rc < 0) {
			json_object_put(index);
			sb_free(&inputs);
			return rc;
		}
		fresh = true;
	}
	json_object_put(index);
	sb_free(&inputs);
	return 0;
}

/* Every tag a registry of critic's images holds: each role at 1.0, and
 * :latest of the two the suites pull without a tag (idx: lab_roles). */
static const struct { const char *role, *tag; size_t idx; } pushes[] = {
	{ "busybox", LAB_IMAGE_TAG, 0 }, { "busybox", "latest", 0 }, { "pause", LAB_IMAGE_TAG, 1 },
	{ "user-uid", LAB_IMAGE_TAG, 2 }, { "user-name", LAB_IMAGE_TAG, 3 },
	{ "image-a", LAB_IMAGE_TAG, 4 }, { "image-a", "latest", 4 }, { "image-b", LAB_IMAGE_TAG, 5 },
};

/* Build the images when their inputs changed, then push whatever the
 * registry lacks (or holds in another version). */
static int images_ensure(lab_ctx *c, const char *hdir, crit_err *e)
{
	char digests[ARRAY_SIZE(lab_roles)][128];
	int rc = layout_ensure(c, hdir, digests, e);
	if (rc < 0)
		return rc;
	cleanup_free char *layout = lab_path(c, "images/oci");
	int port = c->st.registry_port, pushed = 0;
	int64_t t0 = util_now_ms();
	for (size_t i = 0; i < ARRAY_SIZE(pushes); i++) {
		char path[256], have[160];
		int status = 0;
		snprintf(path, sizeof path, "/v2/critic/%s/manifests/%s", pushes[i].role, pushes[i].tag);
		rc = http_request(port, "HEAD", path, manifest_accept, 5000, &status, have, sizeof have);
		if (rc < 0)
			return err_set(e, rc, "registry 127.0.0.1:%d: HEAD %s: %s", port, path, strerror(-rc));
		if (status == 200 && !strcmp(have, digests[pushes[i].idx]))
			continue;
		if (!pushed)
			lab_log("lab: pushing images to 127.0.0.1:%d", port);
		cleanup_free char *src = util_strdup_printf("oci:%s:%s-%s", layout, pushes[i].role, LAB_IMAGE_TAG);
		cleanup_free char *dst = util_strdup_printf("docker://127.0.0.1:%d/critic/%s:%s", port,
							    pushes[i].role, pushes[i].tag);
		char *argv[] = { "skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
				 src, dst, NULL };
		cleanup_free char *what = util_strdup_printf("push %s", dst + strlen("docker://"));
		if ((rc = run_tool(argv, TOOL_MS, what, NULL, e)) < 0)
			return rc;
		rc = http_request(port, "HEAD", path, manifest_accept, 5000, &status, have, sizeof have);
		if (rc < 0 || status != 200)
			return err_set(e, rc < 0 ? rc : -EIO, "registry 127.0.0.1:%d lacks %s right after the push (HTTP %d)",
				       port, path, status);
		if (strcmp(have, digests[pushes[i].idx]) != 0)
			return err_set(e, -EIO,
				       "registry 127.0.0.1:%d: %s has digest %s after the push, the layout has %s",
				       port, path, have, digests[pushes[i].idx]);
		pushed++;
	}
	if (pushed)
		lab_log("lab: pushed %d image tags in %.1f s", pushed, (double)(util_now_ms() - t0) / 1000.0);
	return 0;
}

/* ------------------------------------------------------------ crun + cgroups */

/* Is the controller mounted as a cgroup v1 hierarchy? */
static bool cgroup_v1_has(const char *ctrl)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char fstype[64], source[256], opts[1024];
		if (sscanf(sep + 3, "%63s %255s %1023s", fstype, source, opts) != 3 || strcmp(fstype, "cgroup"))
			continue;
		char *save = NULL;
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (!strcmp(o, ctrl))
				return true;
	}
	return false;
}

/* crun 1.8 refuses a hybrid layout while any controller sits on the cgroup2
 * hierarchy. Give each such controller a v1 hierarchy of its own. Returns
 * the number of mounts made; notes what was done or failed. */
static int cgroup_fix_hybrid(char *done, size_t dlen, char *fail, size_t flen)
{
	done[0] = fail[0] = '\0';
	cleanup_free char *ctrls = NULL;
	if (util_read_file(CGROUP_UNIFIED "/cgroup.controllers", &ctrls, NULL, NULL) < 0)
		return 0; /* not the hybrid layout */
	int made = 0;
	char *save = NULL;
	for (char *ctl = strtok_r(ctrls, " \n", &save); ctl; ctl = strtok_r(NULL, " \n", &save)) {
		if (cgroup_v1_has(ctl))
			continue;
		char path[128];
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s", ctl);
		if ((mkdir(path, 0755) < 0 && errno != EEXIST) ||
		    mount("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, ctl) < 0) {
			size_t l = strlen(fail);
			snprintf(fail + l, flen - l, "%smount cgroup v1 %s at %s: %s", l ? "; " : "", ctl, path,
				 strerror(errno));
			continue;
		}
		size_t l = strlen(done);
		snprintf(done + l, dlen - l, "%s%s at %s", l ? ", " : "", ctl, path);
		made++;
	}
	return made;
}

/* Start a throwaway container with crun from a tiny bundle in the lab dir. */
static int crun_try(lab_ctx *c, const char *crun, char *why, size_t wlen)
{
	crit_err e2;
	err_clear(&e2);
	cleanup_free char *bundle = lab_path(c, "crun-check");
	cleanup_free char *procdir = lab_path(c, "crun-check/rootfs/proc");
	cleanup_free char *devdir = lab_path(c, "crun-check/rootfs/dev");
	cleanup_free char *bb = lab_path(c, "crun-check/rootfs/busybox");
	cleanup_free char *cfg = lab_path(c, "crun-check/config.json");
	cleanup_free char *root = lab_path(c, "crun-check/state");
	char id[64];
	snprintf(id, sizeof id, "critic-crun-check-%d", (int)getpid());
	cleanup_free char *json = util_strdup_printf(
		"{\"ociVersion\":\"1.0.2\","
		"\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
		"\"args\":[\"/busybox\",\"true\"],\"env\":[\"PATH=/\"],\"cwd\":\"/\",\"noNewPrivileges\":true},"
		"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"crun-check\","
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
		"\"linux\":{\"cgroupsPath\":\"/%s\",\"resources\":{\"pids\":{\"limit\":16}},"
		"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}]}}\n",
		id);
	struct stat st;
	if (util_mkdir_p(procdir, 0755, &e2) < 0 || util_mkdir_p(devdir, 0755, &e2) < 0 ||
	    util_mkdir_p(root, 0700, &e2) < 0 ||
	    ((stat(bb, &st) < 0 || !(st.st_mode & 0111)) && copy_file("/bin/busybox", bb, 0755, &e2) < 0) ||
	    write_if_changed(cfg, json, 0644, NULL, &e2) < 0) {
		snprintf(why, wlen, "preparing the crun test bundle failed: %s", err_msg(&e2));
		return -EIO;
	}
	char *argv[] = { (char *)crun, "--root", root, "run", "--bundle", bundle, id, NULL };
	cleanup_free char *out = NULL;
	int rc = util_run(argv, QUICK_MS, &out, &e2);
	char *del[] = { (char *)crun, "--root", root, "delete", "--force", id, NULL };
	util_run(del, QUICK_MS, NULL, NULL);
	if (rc != 0) {
		char tail[400];
		text_tail(rc < 0 ? err_msg(&e2) : out, 2, tail, sizeof tail);
		snprintf(why, wlen, "crun could not run a test container (exit %d): %s", rc, tail);
		return -EIO;
	}
	return 0;
}

/* Decide whether the crun handler works; fix the cgroup layout if needed.
 * verify runs a real container (whenever containerd is (re)started, and on
 * every up while crun is not known to work: the check takes milliseconds). */
static void crun_prepare(lab_ctx *c, const char *crun, bool verify)
{
	lab_state *s = &c->st;
	if (!crun[0]) {
		s->crun_usable = 0;
		snprintf(s->crun_note, sizeof s->crun_note, "crun not found in PATH: the crun handler is not configured");
		return;
	}
	char done[256], fail[400];
	int made = cgroup_fix_hybrid(done, sizeof done, fail, sizeof fail);
	if (made > 0) {
		lab_log("lab: crun refuses hybrid cgroups while controllers sit on cgroup2: mounted cgroup v1 %s",
			done);
		snprintf(s->crun_fix, sizeof s->crun_fix, "%s", done);
		verify = true;
	}
	if (fail[0]) {
		s->crun_usable = 0;
		snprintf(s->crun_note, sizeof s->crun_note, "crun unusable: %s", fail);
		lab_log("lab: %s", s->crun_note);
		return;
	}
	if (!verify && s->crun_usable == 1)
		return;
	char why[450];
	if (crun_try(c, crun, why, sizeof why) < 0) {
		s->crun_usable = 0;
		snprintf(s->crun_note, sizeof s->crun_note, "%s", why);
		lab_log("lab: crun handler unusable: %s", why);
		return;
	}
	s->crun_usable = 1;
	if (s->crun_fix[0])
		snprintf(s->crun_note, sizeof s->crun_note,
			 "works after the lab mounted cgroup v1 %s (crun 1.8 refuses hybrid cgroups while a "
			 "controller sits on cgroup2)", s->crun_fix);
	else
		s->crun_note[0] = '\0';
}

/* ------------------------------------------------------------ CNI + config */

/* Is 10.233.oct.0/24 used by a route on another interface? */
static bool subnet_taken(int oct, const char *bridge)
{
	cleanup_fclose FILE *f = fopen("/proc/net/route", "re");
	if (!f)
		return false;
	uint32_t net = htonl(0x0ae90000u | ((uint32_t)oct << 8)), m24 = htonl(0xffffff00u);
	char line[512];
	if (!fgets(line, sizeof line, f))
		return false;
	while (fgets(line, sizeof line, f)) {
		char ifname[64];
		unsigned long dst, gw, mask;
		unsigned flags, refcnt, use, metric;
		if (sscanf(line, "%63s %lx %lx %x %u %u %u %lx", ifname, &dst, &gw, &flags, &refcnt, &use, &metric,
			   &mask) != 8)
			continue;
		if (mask == 0 || !strcmp(ifname, bridge))
			continue;
		uint32_t m = (uint32_t)mask & m24;
		if ((((uint32_t)dst ^ net) & m) == 0)
			return true;
	}
	return false;
}

static int cni_write(lab_ctx *c, crit_err *e)
{
	if (c->st.subnet < 0) {
		int start = (int)((c->hash >> 24) & 0xff);
		for (int i = 0; i < 256; i++) {
			int oct = (start + i) & 0xff;
			if (!subnet_taken(oct, c->bridge)) {
				c->st.subnet = oct;
				break;
			}
		}
		if (c->st.subnet < 0)
			return err_set(e, -EADDRINUSE, "lab network: every /24 in 10.233.0.0/16 is routed already");
	}
	int o = c->st.subnet;
	cleanup_free char *conf = util_strdup_printf(
		"{\n"
		"  \"cniVersion\": \"1.0.0\",\n"
		"  \"name\": \"%s\",\n"
		"  \"plugins\": [\n"
		"    {\n"
		"      \"type\": \"bridge\",\n"
		"      \"bridge\": \"%s\",\n"
		"      \"isGateway\": true,\n"
		"      \"ipMasq\": false,\n"
		"      \"hairpinMode\": true,\n"
		"      \"ipam\": {\n"
		"        \"type\": \"host-local\",\n"
		"        \"dataDir\": \"%s/cni/ipam\",\n"
		"        \"ranges\": [[{ \"subnet\": \"10.233.%d.0/24\", \"gateway\": \"10.233.%d.1\" }]],\n"
		"        \"routes\": [{ \"dst\": \"0.0.0.0/0\" }]\n"
		"      }\n"
		"    },\n"
		"    { \"type\": \"portmap\", \"capabilities\": { \"portMappings\": true } }\n"
		"  ]\n"
		"}\n",
		c->netname, c->bridge, c->dir, o, o);
	cleanup_free char *path = lab_path(c, "cni/net.d/10-critic-lab.conflist");
	int rc = write_if_changed(path, conf, 0644, NULL, e);
	if (rc < 0)
		return rc;
	/* Only our file may sit in conf_dir: containerd takes the first one. */
	cleanup_free char *netd = lab_path(c, "cni/net.d");
	DIR *d = opendir(netd);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, "10-critic-lab.conflist"))
				lab_log("lab: note: %s/%s is not critic's and may shadow the lab network", netd,
					de->d_name);
		closedir(d);
	}
	return 0;
}

static int hosts_write(lab_ctx *c, crit_err *e)
{
	char reg[64];
	snprintf(reg, sizeof reg, "127.0.0.1:%d", c->st.registry_port);
	cleanup_free char *certs = lab_path(c, "certs.d");
	/* Drop entries of ports the registry used before. */
	DIR *d = opendir(certs);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (util_has_prefix(de->d_name, "127.0.0.1:") && strcmp(de->d_name, reg)) {
				cleanup_free char *p = util_strdup_printf("%s/%s", certs, de->d_name);
				util_rm_rf(p, NULL);
			}
		}
		closedir(d);
	}
	cleanup_free char *hdir = util_strdup_printf("%s/%s", certs, reg);
	int rc = util_mkdir_p(hdir, 0755, e);
	if (rc < 0)
		return rc;
	cleanup_free char *hosts = util_strdup_printf(
		"# generated by critic: plain-HTTP pulls from the lab's local registry\n"
		"server = \"http://%s\"\n\n"
		"[host.\"http://%s\"]\n"
		"  capabilities = [\"pull\", \"resolve\", \"push\"]\n"
		"  skip_verify = true\n",
		reg, reg);
	cleanup_free char *path = util_strdup_printf("%s/hosts.toml", hdir);
	return write_if_changed(path, hosts, 0644, NULL, e);
}

static void toml_runtime(strbuf *sb, const char *name, const char *binary, const char *root)
{
	sb_printf(sb,
		  "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.%s]\n"
		  "        runtime_type = \"io.containerd.runc.v2\"\n"
		  "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.%s.options]\n"
		  "          BinaryName = \"%s\"\n"
		  "          Root = \"%s\"\n"
		  "          SystemdCgroup = false\n",
		  name, name, binary, root);
}

/* The crun-fiu handler's BinaryName: critic-fiu-runtime from
 * $CRITIC_FIU_RUNTIME, else next to this program, else /usr/lib/critic;
 * only one whose --critic-check passes (crun dynamically linked, the
 * preload libraries present) and whose path is safe in TOML. */
static bool fiu_runtime_find(char *out, size_t len)
{
	const char *env = getenv("CRITIC_FIU_RUNTIME");
	char cand[2][PATH_MAX];
	int n = 0;
	if (env && *env) {
		snprintf(cand[n++], PATH_MAX, "%s", env);
	} else {
		char exe[PATH_MAX];
		ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
		char *slash = l > 0 ? (exe[l] = '\0', strrchr(exe, '/')) : NULL;
		if (slash) {
			*slash = '\0';
			snprintf(cand[n++], PATH_MAX, "%.4000s/critic-fiu-runtime", exe);
		}
		snprintf(cand[n++], PATH_MAX, "/usr/lib/critic/critic-fiu-runtime");
	}
	for (int i = 0; i < n; i++) {
		bool safe = cand[i][0] == '/';
		for (const char *p = cand[i]; *p; p++)
			if ((unsigned char)*p < ' ' || *p == '"' || *p == '\\')
				safe = false;
		char *argv[] = { cand[i], "--critic-check", NULL };
		if (safe && access(cand[i], X_OK) == 0 && util_run(argv, QUICK_MS, NULL, NULL) == 0) {
			snprintf(out, len, "%.4000s", cand[i]);
			return true;
		}
	}
	return false;
}

/* Does a backup of a critic config patch sit beside config.toml? */
static bool config_patched(const lab_ctx *c)
{
	DIR *d = opendir(c->dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)))
		found = util_has_prefix(de->d_name, "config.toml.critic-backup-");
	closedir(d);
	return found;
}

static int config_write(lab_ctx *c, const char *runc, const char *crun, char *hash, size_t hlen, crit_err *e)
{
	char pause[256];
	snprintf(pause, sizeof pause, "127.0.0.1:%d/critic/pause:%s", c->st.registry_port, LAB_IMAGE_TAG);
	const char *cni_bin = util_exists("/usr/lib/cni/bridge") ? "/usr/lib/cni" : "/opt/cni/bin";
	const char *d = c->dir;
	strbuf sb = { 0 };
	sb_printf(&sb,
		  "# generated by critic for the lab in %s; `critic lab up` rewrites it\n"
		  "version = 2\n"
		  "root = \"%s\"\n"
		  "state = \"%s\"\n"
		  "oom_score = 0\n"
		  "# overlayfs is the lab's snapshotter; the others only add noise to the log\n"
		  "disabled_plugins = [\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\",\n"
		  "  \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\"]\n"
		  "required_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		  "\n[grpc]\n  address = \"%s\"\n  uid = 0\n  gid = 0\n"
		  "\n[ttrpc]\n  address = \"%s.ttrpc\"\n"
		  "\n[debug]\n  address = \"\"\n  level = \"info\"\n"
		  "\n[metrics]\n  address = \"\"\n"
		  "\n[plugins]\n"
		  "  [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"%s/opt\"\n"
		  "  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
		  "    sandbox_image = \"%s\"\n"
		  "    restrict_oom_score_adj = true\n"
		  "    # image and writable-layer usage refreshed every second (default 10 s)\n"
		  "    stats_collect_period = 1\n"
		  "    stream_server_address = \"127.0.0.1\"\n"
		  "    stream_server_port = \"0\"\n"
		  "    enable_selinux = false\n"
		  "    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		  "      snapshotter = \"overlayfs\"\n"
		  "      default_runtime_name = \"runc\"\n",
		  d, c->root_dir, c->state_dir, c->sock, c->sock, d, pause);
	cleanup_free char *runc_root = lab_path(c, "runc");
	cleanup_free char *crun_root = lab_path(c, "crun");
	toml_runtime(&sb, "runc", runc, runc_root);
	if (crun[0])
		toml_runtime(&sb, "crun", crun, crun_root);
	/* libfiu faults (fault/fiu.h): crun through critic's wrapper, same root. */
	char fiu_rt[PATH_MAX];
	if (crun[0] && c->st.crun_usable == 1 && fiu_runtime_find(fiu_rt, sizeof fiu_rt))
		toml_runtime(&sb, "crun-fiu", fiu_rt, crun_root);
	sb_printf(&sb,
		  "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
		  "      bin_dir = \"%s\"\n"
		  "      conf_dir = \"%s/cni/net.d\"\n"
		  "      max_conf_num = 1\n"
		  "    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
		  "      config_path = \"%s/certs.d\"\n",
		  cni_bin, d, d);
	snprintf(hash, hlen, "%016llx", (unsigned long long)fnv64(sb.buf, sb.len));
	/* A critic fault patched config.toml on purpose (fault/config keeps
	 * config.toml.critic-backup-RUN beside it until it restores): keep the
	 * patch, so a restart runs with it. The hash stays the template's, so
	 * an `up` does not restart containerd over the patch either. */
	int rc = 0;
	if (config_patched(c))
		lab_log("lab: %s carries a critic patch (a .critic-backup- file beside it): left as it is", c->config);
	else
		rc = write_if_changed(c->config, sb.buf, 0644, NULL, e);
	sb_free(&sb);
	return rc;
}

/* ------------------------------------------------------------ CRI in a child */

/* What a CRI job run in a child process reports back. */
typedef struct child_result {
	int rc;
	int count;
	char msg[1024];
} child_result;

typedef void (*child_job)(const lab_ctx *c, int arg, child_result *r);

/* gRPC core does not survive fork(), and critic's runner forks its tests
 * after lab_up: so the lab's own CRI calls run in a child process and the
 * caller's process never initializes gRPC. */
static int run_in_child(const lab_ctx *c, child_job job, int arg, int timeout_ms, child_result *r,
			crit_err *e)
{
	memset(r, 0, sizeof *r);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return err_set(e, rc, "fork for a CRI call: %s", strerror(-rc));
	}
	if (pid == 0) {
		close(fds[0]);
		child_result cr;
		memset(&cr, 0, sizeof cr);
		job(c, arg, &cr);
		ssize_t w = write(fds[1], &cr, sizeof cr);
		_exit(w == (ssize_t)sizeof cr ? 0 : 1);
	}
	close(fds[1]);
	cleanup_close int rfd = fds[0];
	size_t got = 0;
	int64_t end = util_now_ms() + timeout_ms;
	while (got < sizeof *r) {
		int left = (int)(end - util_now_ms());
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return err_set(e, -ETIMEDOUT, "CRI calls on %s did not finish within %d ms (helper killed)",
				       c->endpoint, timeout_ms);
		}
		ssize_t n = read(rfd, (char *)r + got, sizeof *r - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int status = 0;
	if (!util_wait_pid_dead(pid, 5000)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	waitpid(pid, &status, WNOHANG);
	if (got != sizeof *r)
		return err_set(e, -EIO, "CRI helper process for %s died without an answer", c->endpoint);
	r->msg[sizeof r->msg - 1] = '\0';
	return 0;
}

/* ------------------------------------------------------------ containerd */

/* Ask the CRI for its version until it answers or the deadline (arg, ms)
 * passes. Runs in a child (see run_in_child). */
static void job_version(const lab_ctx *c, int deadline_ms, child_result *r)
{
	crit_err e;
	err_clear(&e);
	cri_conn *conn = NULL;
	r->rc = cri_connect(&conn, c->endpoint, NULL, 2000, &e);
	int64_t end = util_now_ms() + deadline_ms;
	while (r->rc == 0 || conn) {
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		req.version = "v1";
		r->rc = CRI_CALL_T(conn, Version, &req, &resp, 2000, &e);
		if (r->rc == 0) {
			snprintf(r->msg, sizeof r->msg, "%s %s", resp->runtime_name, resp->runtime_version);
			cri_free(resp);
			break;
		}
		if (util_now_ms() >= end)
			break;
		util_sleep_ms(100);
	}
	if (r->rc < 0)
		snprintf(r->msg, sizeof r->msg, "%s", err_msg(&e));
	cri_close(conn);
}

static int cri_version(const lab_ctx *c, int deadline_ms, char *out, size_t len, crit_err *e)
{
	child_result r;
	int rc = run_in_child(c, job_version, deadline_ms, deadline_ms + 5000, &r, e);
	if (rc < 0)
		return rc;
	if (r.rc < 0)
		return err_set(e, r.rc, "%s", r.msg);
	snprintf(out, len, "%.*s", (int)len - 1, r.msg);
	return 0;
}

static int containerd_start(lab_ctx *c, crit_err *e)
{
	cleanup_free char *logp = lab_path(c, "logs/containerd.log");
	cleanup_free char *ttrpc = util_strdup_printf("%s.ttrpc", c->sock);
	unlink(c->sock);
	unlink(ttrpc);
	struct stat lst;
	off_t log_from = stat(logp, &lst) == 0 ? lst.st_size : 0;
	char *argv[] = { "containerd", "--config", c->config, NULL };
	pid_t pid = util_spawn_daemon(argv, logp, e);
	if (pid < 0)
		return err_wrap(e, "start containerd");
	c->st.containerd_pid = pid;
	int64_t end = util_now_ms() + CONTAINERD_START_MS;
	for (;;) {
		if (sock_accepts(c->sock, 500))
			break;
		bool alive = util_pid_alive(pid);
		if (!alive || util_now_ms() >= end) {
			char tail[700];
			if (alive)
				stop_pid(pid, 0);
			waitpid(pid, NULL, WNOHANG);
			c->st.containerd_pid = 0;
			log_tail(logp, log_from, 5, tail, sizeof tail);
			return err_set(e, alive ? -ETIMEDOUT : -ECHILD, "containerd on %s: %s; %s: %s", c->sock,
				       alive ? "socket did not accept within 20 s (killed)" : "exited at start", logp,
				       tail[0] ? tail : "(empty)");
		}
		util_sleep_ms(50);
	}
	return 0;
}

/* ------------------------------------------------------------ lock */

#define LAB_LOCK_MS 180000

/* Serialize up and down on one lab dir (parallel CI jobs may share a lab).
 * Returns the lock's fd (released when closed) or a negative code. */
static int lab_lock(const lab_ctx *c, crit_err *e)
{
	cleanup_free char *path = lab_path(c, "lab.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, -errno, "open %s: %s", path, strerror(errno));
	int64_t end = util_now_ms() + LAB_LOCK_MS;
	bool said = false;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int rc = -errno;
			close(fd);
			return err_set(e, rc, "lock %s: %s", path, strerror(-rc));
		}
		if (util_now_ms() >= end) {
			close(fd);
			return err_set(e, -ETIMEDOUT, "lock %s: another critic held it for %d s", path,
				       LAB_LOCK_MS / 1000);
		}
		if (!said) {
			lab_log("lab: waiting for another critic working on %s", c->dir);
			said = true;
		}
		util_sleep_ms(100);
	}
	return fd;
}

/* ------------------------------------------------------------ loop-fs storage */

/* containerd's root and state may live on an ext4 image critic makes
 * (DIR/disk.img, sparse), attaches to a loop device and mounts at DIR/fs
 * with errors=remount-ro: a file system of critic's own that fault/fs may
 * turn read-only, freeze or fill without touching anything else on the node. */

#ifndef FITHAW
#define FITHAW _IOWR('X', 120, int)
#endif
#define LOOPFS_LABEL "critic-lab"
#define LOOPFS_UMOUNT_MS 5000
#define LOOPFS_FSCK_MS 300000

static void unescape_mount(char *s);

/* One line of /proc/self/mountinfo. */
typedef struct mi_entry {
	unsigned major, minor;
	char mp[PATH_MAX];
	char mnt_opts[256];
	char fstype[32];
	char source[256];
	char sb_opts[512];
} mi_entry;

/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER */
static bool mi_parse(const char *line, mi_entry *m)
{
	char mp[PATH_MAX];
	memset(m, 0, sizeof *m);
	if (sscanf(line, "%*s %*s %u:%u %*s %4095s %255s", &m->major, &m->minor, mp, m->mnt_opts) != 4)
		return false;
	const char *sep = strstr(line, " - ");
	if (!sep || sscanf(sep + 3, "%31s %255s %511s", m->fstype, m->source, m->sb_opts) < 2)
		return false;
	unescape_mount(mp);
	unescape_mount(m->source);
	snprintf(m->mp, sizeof m->mp, "%s", mp);
	return true;
}

/* Is word one of the comma-separated options? */
static bool opt_has(const char *opts, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = opts; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		if (l == n && !strncmp(p, word, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* The backing file of block device MAJ:MIN when it is a loop device. */
static void loop_backing(unsigned major, unsigned minor, char *out, size_t len)
{
	char path[96];
	out[0] = '\0';
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/loop/backing_file", major, minor);
	cleanup_free char *text = NULL;
	if (util_read_file(path, &text, NULL, NULL) < 0)
		return;
	text[strcspn(text, "\n")] = '\0';
	snprintf(out, len, "%s", text);
}

/* The kernel's name of block device MAJ:MIN ("loop3"). */
static void blk_name(unsigned major, unsigned minor, char *out, size_t len)
{
	char path[96], target[PATH_MAX];
	out[0] = '\0';
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u", major, minor);
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) < len)
		memcpy(out, base, strlen(base) + 1);
}

/* Loop devices whose backing file is img ("/dev/loopN"); how many. */
static int loop_devs_of(const char *img, char devs[][32], int max)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (!util_has_prefix(de->d_name, "loop"))
			continue;
		char path[300];
		snprintf(path, sizeof path, "/sys/block/%.64s/loop/backing_file", de->d_name);
		cleanup_free char *text = NULL;
		if (util_read_file(path, &text, NULL, NULL) < 0)
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (!strcmp(text, img))
			snprintf(devs[n++], 32, "/dev/%.26s", de->d_name);
	}
	closedir(d);
	return n;
}

/* Where block device dev is mounted (first mount point), "" when nowhere. */
static bool dev_mounted(const char *dev, char *where, size_t len)
{
	struct stat st;
	where[0] = '\0';
	if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[8192];
	mi_entry m;
	while (fgets(line, sizeof line, f))
		if (mi_parse(line, &m) && m.major == major(st.st_rdev) && m.minor == minor(st.st_rdev)) {
			snprintf(where, len, "%s", m.mp);
			return true;
		}
	return false;
}

static void loopfs_probe_ctx(const lab_ctx *c, lab_loopfs *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->dir, sizeof p->dir, "%s", c->dir);
	snprintf(p->image, sizeof p->image, "%.4000s/" LAB_LOOPFS_IMAGE, c->dir);
	snprintf(p->mount, sizeof p->mount, "%.4000s/" LAB_LOOPFS_MOUNT, c->dir);
	struct stat st;
	if (lstat(p->image, &st) == 0 && S_ISREG(st.st_mode)) {
		p->image_exists = true;
		p->image_bytes = (unsigned long long)st.st_size;
	}
	cleanup_free char *marker = lab_path(c, LAB_LOOPFS_FROZEN);
	p->frozen = util_exists(marker);
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t ml = strlen(p->mount);
	char line[8192];
	mi_entry m, top;
	while (f && fgets(line, sizeof line, f)) {
		if (!mi_parse(line, &m))
			continue;
		if (!strcmp(m.mp, p->mount)) {
			top = m; /* the last one listed is the one on top */
			p->mounted = true;
		} else if (!strncmp(m.mp, p->mount, ml) && m.mp[ml] == '/') {
			p->submounts++;
		}
	}
	if (p->mounted) {
		snprintf(p->source, sizeof p->source, "%s", top.source);
		snprintf(p->fstype, sizeof p->fstype, "%s", top.fstype);
		snprintf(p->mnt_opts, sizeof p->mnt_opts, "%s", top.mnt_opts);
		snprintf(p->sb_opts, sizeof p->sb_opts, "%s", top.sb_opts);
		p->readonly = opt_has(top.mnt_opts, "ro") || opt_has(top.sb_opts, "ro") ||
			      opt_has(top.sb_opts, "emergency_ro");
		char backing[PATH_MAX];
		loop_backing(top.major, top.minor, backing, sizeof backing);
		p->ours = !strcmp(top.fstype, "ext4") && p->image_exists && !strcmp(backing, p->image);
		if (p->ours) {
			blk_name(top.major, top.minor, p->sysfs_name, sizeof p->sysfs_name);
			snprintf(p->dev, sizeof p->dev, "/dev/%.26s", p->sysfs_name);
		}
	}
	char devs[1][32];
	if (!p->dev[0] && p->image_exists && loop_devs_of(p->image, devs, 1) > 0)
		snprintf(p->dev, sizeof p->dev, "%s", devs[0]);
}

int lab_loopfs_probe(const char *dir, lab_loopfs *out, crit_err *e)
{
	lab_ctx c;
	int rc = ctx_init(&c, dir, false, e);
	if (rc < 0)
		return rc;
	loopfs_probe_ctx(&c, out);
	return 0;
}

static void loopfs_fill_info(const lab_ctx *c, lab_info *info)
{
	snprintf(info->root, sizeof info->root, "%s", c->root_dir);
	snprintf(info->state, sizeof info->state, "%s", c->state_dir);
	info->loopfs = c->st.loopfs > 0;
	info->loopfs_bytes = c->st.loopfs_bytes;
	if (!info->loopfs && !c->st.loopfs_dev[0])
		return;
	lab_loopfs p;
	loopfs_probe_ctx(c, &p);
	if (p.image_exists)
		info->loopfs_bytes = p.image_bytes;
	snprintf(info->loopfs_dev, sizeof info->loopfs_dev, "%s", p.dev);
	info->loopfs_mounted = p.mounted && p.ours;
	info->loopfs_readonly = info->loopfs_mounted && p.readonly;
	if (info->loopfs_mounted)
		snprintf(info->loopfs_opts, sizeof info->loopfs_opts, "%s", p.sb_opts);
}

/* A size for people: "2.0 GiB", "512 MiB". */
static void size_text(unsigned long long b, char *out, size_t len)
{
	if (b >= (1ULL << 30))
		snprintf(out, len, "%.1f GiB", (double)b / (double)(1ULL << 30));
	else
		snprintf(out, len, "%llu MiB", b >> 20);
}

void lab_describe_storage(const lab_info *info, char *out, size_t len)
{
	if (!info->loopfs) {
		snprintf(out, len, "plain directories %s, %s", info->root, info->state);
		return;
	}
	char size[32];
	size_text(info->loopfs_bytes, size, sizeof size);
	if (info->loopfs_mounted)
		snprintf(out, len, "loop fs %.1000s/" LAB_LOOPFS_IMAGE " (%s) on %s at %.1000s/" LAB_LOOPFS_MOUNT ": %s%s",
			 info->dir, size, info->loopfs_dev, info->dir, info->loopfs_opts,
			 info->loopfs_readonly ? " (read-only)" : "");
	else
		snprintf(out, len, "loop fs %.1000s/" LAB_LOOPFS_IMAGE " (%s), not mounted%s%s", info->dir, size,
			 info->loopfs_dev[0] ? "; attached to " : "", info->loopfs_dev);
}

int lab_parse_loopfs(const char *text, lab_options *o, crit_err *e)
{
	memset(o, 0, sizeof *o);
	o->storage = LAB_STORAGE_LOOPFS;
	if (!text || !*text || !strcasecmp(text, "on") || !strcasecmp(text, "yes") || !strcasecmp(text, "true"))
		return 0;
	if (!strcasecmp(text, "off") || !strcasecmp(text, "no") || !strcasecmp(text, "false") ||
	    !strcasecmp(text, "none") || !strcmp(text, "0")) {
		o->storage = LAB_STORAGE_DIRS;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || errno)
		return err_set(e, -EINVAL, "loop fs size \"%.60s\": not a size (e.g. 512M, 2G, 2GiB; or off)", text);
	unsigned long long mult = 1;
	switch (toupper((unsigned char)*end)) {
	case 'K': mult = 1ULL << 10; break;
	case 'M': mult = 1ULL << 20; break;
	case 'G': mult = 1ULL << 30; break;
	case 'T': mult = 1ULL << 40; break;
	}
	if (mult > 1) {
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
	}
	if (*end)
		return err_set(e, -EINVAL, "loop fs size \"%.60s\": unknown unit \"%.20s\" (K, M, G, T)", text, end);
	if (v > LAB_LOOPFS_MAX_BYTES / mult || v * mult < LAB_LOOPFS_MIN_BYTES || v * mult > LAB_LOOPFS_MAX_BYTES)
		return err_set(e, -ERANGE, "loop fs size \"%.60s\": must be between 64 MiB and 1 TiB", text);
	o->loopfs_bytes = (v * mult) & ~4095ULL;
	return 0;
}

/* A sparse image with an ext4 file system in it. */
static int loopfs_make_image(const char *img, unsigned long long bytes, crit_err *e)
{
	char mkfs[PATH_MAX];
	if (!find_program("mkfs.ext4", mkfs, sizeof mkfs))
		return err_set(e, -ENOENT, "mkfs.ext4 not found (install e2fsprogs)");
	int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, -errno, "create %s: %s", img, strerror(errno));
	if (ftruncate(fd, (off_t)bytes) < 0) {
		int rc = -errno;
		close(fd);
		unlink(img);
		return err_set(e, rc, "size %s to %llu bytes: %s", img, bytes, strerror(-rc));
	}
	close(fd);
	char *argv[] = { mkfs, "-q", "-F", "-L", LOOPFS_LABEL, (char *)img, NULL };
	int rc = run_tool(argv, TOOL_MS, "make the lab's ext4 file system", NULL, e);
	if (rc < 0) {
		unlink(img);
		return rc;
	}
	char size[32];
	size_text(bytes, size, sizeof size);
	lab_log("lab: made a %s ext4 image %s (sparse)", size, img);
	return 0;
}

/* losetup --find --show IMG; the device is checked to be backed by img. */
static int loopfs_attach(const char *img, char *dev, size_t len, crit_err *e)
{
	char tool[PATH_MAX];
	if (!find_program("losetup", tool, sizeof tool))
		return err_set(e, -ENOENT, "losetup not found (install util-linux)");
	char *argv[] = { tool, "--find", "--show", (char *)img, NULL };
	cleanup_free char *out = NULL;
	int rc = run_tool(argv, QUICK_MS, "attach the lab's image to a loop device", &out, e);
	if (rc < 0)
		return rc;
	dev[0] = '\0';
	char *save = NULL;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (util_has_prefix(l, "/dev/loop") && strlen(l) < len)
			snprintf(dev, len, "%s", l);
	struct stat st;
	char backing[PATH_MAX] = "";
	if (dev[0] && stat(dev, &st) == 0 && S_ISBLK(st.st_mode))
		loop_backing(major(st.st_rdev), minor(st.st_rdev), backing, sizeof backing);
	if (!dev[0] || strcmp(backing, img) != 0)
		return err_set(e, -EIO, "losetup --find --show %s gave \"%s\", whose backing file is \"%s\"", img, dev,
			       backing);
	return 0;
}

/* losetup -d DEV, only when its backing file is img; checked afterwards
 * (a device still in use would only be marked to detach later). */
static int loopfs_detach(const char *img, const char *dev, crit_err *e)
{
	struct stat st;
	char backing[PATH_MAX] = "";
	if (stat(dev, &st) == 0 && S_ISBLK(st.st_mode))
		loop_backing(major(st.st_rdev), minor(st.st_rdev), backing, sizeof backing);
	if (strcmp(backing, img) != 0)
		return err_set(e, -ESTALE, "%s: backing file \"%s\" is not %s: left alone", dev, backing, img);
	char tool[PATH_MAX];
	if (!find_program("losetup", tool, sizeof tool))
		return err_set(e, -ENOENT, "losetup not found (install util-linux)");
	char *argv[] = { tool, "-d", (char *)dev, NULL };
	int rc = run_tool(argv, QUICK_MS, "detach the lab's loop device", NULL, e);
	if (rc < 0)
		return rc;
	for (int64_t end = util_now_ms() + 2000;; util_sleep_ms(20)) {
		loop_backing(major(st.st_rdev), minor(st.st_rdev), backing, sizeof backing);
		if (strcmp(backing, img) != 0)
			return 0;
		if (util_now_ms() >= end)
			return err_set(e, -EBUSY, "%s is still attached to %s after losetup -d (in use)", dev, img);
	}
}

/* Unmount DIR/fs when it is critic's (never lazily), then detach every
 * loop device backed by DIR/disk.img. n_umount counts unmounts. */
static int loopfs_release(lab_ctx *c, int *n_umount, crit_err *e)
{
	lab_loopfs p;
	loopfs_probe_ctx(c, &p);
	for (int pass = 0; p.mounted && p.ours && pass < 4; pass++) {
		if (p.submounts)
			return err_set(e, -EBUSY, "unmount the lab's loop fs %s: %d mount%s below it still there",
				       p.mount, p.submounts, p.submounts == 1 ? "" : "s");
		int64_t end = util_now_ms() + LOOPFS_UMOUNT_MS;
		while (umount2(p.mount, 0) < 0) {
			int err = errno;
			if (err != EBUSY || util_now_ms() >= end)
				return err_set(e, -err, "unmount the lab's loop fs %s: %s%s", p.mount, strerror(err),
					       err == EBUSY ? " (a process still holds files on it)" : "");
			util_sleep_ms(50);
		}
		if (n_umount)
			(*n_umount)++;
		loopfs_probe_ctx(c, &p);
	}
	if (p.mounted && p.ours)
		return err_set(e, -EBUSY, "the lab's loop fs is still mounted at %s", p.mount);
	char devs[8][32], where[PATH_MAX];
	int n = p.image_exists ? loop_devs_of(p.image, devs, 8) : 0;
	for (int i = 0; i < n; i++) {
		if (dev_mounted(devs[i], where, sizeof where))
			return err_set(e, -EBUSY, "%s (backed by %s) is still mounted at %s: not detached", devs[i],
				       p.image, where);
		int rc = loopfs_detach(p.image, devs[i], e);
		if (rc < 0)
			return rc;
		lab_log("lab: detached %s (%s)", devs[i], p.image);
	}
	c->st.loopfs_dev[0] = '\0';
	return 0;
}

/* Down must not hang on a frozen fs: thaw it (a no-op when not frozen). */
static void loopfs_thaw(const lab_ctx *c)
{
	lab_loopfs p;
	loopfs_probe_ctx(c, &p);
	if (p.mounted && p.ours) {
		cleanup_close int fd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && ioctl(fd, FITHAW, 0) == 0)
			lab_log("lab: thawed the frozen loop fs %s", p.mount);
	}
	cleanup_free char *marker = lab_path(c, LAB_LOOPFS_FROZEN);
	unlink(marker);
}

/* stat first: mkdir on a frozen fs blocks even when the dir exists. */
static int loopfs_mkdir(const char *path, crit_err *e)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : err_set(e, -ENOTDIR, "%s exists and is not a directory", path);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(e, -errno, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

/* Have the image mounted at DIR/fs: made (new_bytes > 0 only), attached,
 * checked with e2fsck -p, mounted with errors=remount-ro; root and state
 * dirs made. A mounted fs is used as it is, read-only or not. */
static int loopfs_mount_ctx(lab_ctx *c, unsigned long long new_bytes, unsigned long long asked, lab_loopfs *out,
			    crit_err *e)
{
	lab_loopfs p;
	loopfs_probe_ctx(c, &p);
	int rc;
	if (p.frozen)
		return err_set(e, -EBUSY, "the lab's loop fs %s is frozen (by critic: %s/" LAB_LOOPFS_FROZEN
			       " exists): thaw it first (critic fs thaw)", p.mount, c->dir);
	if (p.mounted && !p.ours)
		return err_set(e, -EEXIST, "%s: %s (%s) is mounted there, not critic's image %s: refusing to use it",
			       p.mount, p.source, p.fstype, p.image);
	if (!p.mounted) {
		if ((rc = util_mkdir_p(p.mount, 0755, e)) < 0)
			return rc;
		if (!p.image_exists) {
			if (!new_bytes)
				return err_set(e, -ENOENT, "%s: no image (bring the lab up with the loop fs option)",
					       p.image);
			if ((rc = loopfs_make_image(p.image, new_bytes, e)) < 0)
				return rc;
		} else if (asked && asked != p.image_bytes) {
			char have[32], want[32];
			size_text(p.image_bytes, have, sizeof have);
			size_text(asked, want, sizeof want);
			lab_log("lab: keeping %s at its %s (not %s): take the lab down and remove the image to change it",
				p.image, have, want);
		}
		char dev[32];
		bool attached = false;
		if (p.dev[0]) {
			snprintf(dev, sizeof dev, "%s", p.dev);
		} else {
			if ((rc = loopfs_attach(p.image, dev, sizeof dev, e)) < 0)
				return rc;
			attached = true;
		}
		char fsck[PATH_MAX];
		if (!find_program("e2fsck", fsck, sizeof fsck)) {
			if (attached)
				loopfs_detach(p.image, dev, NULL);
			return err_set(e, -ENOENT, "e2fsck not found (install e2fsprogs)");
		}
		char *argv[] = { fsck, "-p", dev, NULL };
		cleanup_free char *out = NULL;
		rc = util_run(argv, LOOPFS_FSCK_MS, &out, e);
		if (rc < 0 || rc >= 4) {
			char tail[500];
			text_tail(out, 3, tail, sizeof tail);
			if (attached)
				loopfs_detach(p.image, dev, NULL);
			if (rc < 0)
				return err_wrap(e, "check the lab's loop fs %s", dev);
			return err_set(e, -EUCLEAN, "e2fsck -p %s (%s) exited with %d: %s; repair it (critic fs repair)",
				       dev, p.image, rc, tail);
		}
		if (rc > 0)
			lab_log("lab: e2fsck -p fixed errors on %s (exit %d)", dev, rc);
		if (mount(dev, p.mount, "ext4", 0, "errors=remount-ro") < 0) {
			rc = -errno;
			if (attached)
				loopfs_detach(p.image, dev, NULL);
			return err_set(e, rc, "mount %s (%s) at %s: %s", dev, p.image, p.mount, strerror(-rc));
		}
		snprintf(c->st.loopfs_dev, sizeof c->st.loopfs_dev, "%s", dev);
		loopfs_probe_ctx(c, &p);
		if (!p.mounted || !p.ours)
			return err_set(e, -EIO, "%s: mounted %s but mountinfo does not show it there", p.mount, dev);
		char size[32];
		size_text(p.image_bytes, size, sizeof size);
		lab_log("lab: loop fs %s (%s) on %s mounted at %s (%s)", p.image, size, dev, p.mount, p.sb_opts);
	} else {
		snprintf(c->st.loopfs_dev, sizeof c->st.loopfs_dev, "%s", p.dev);
	}
	if (p.readonly)
		lab_log("lab: note: the loop fs %s is read-only (%s): containerd may fail on it; critic fs repair mends it",
			p.mount, p.sb_opts);
	cleanup_free char *root = util_strdup_printf("%s/root", p.mount);
	cleanup_free char *state = util_strdup_printf("%s/state", p.mount);
	if ((rc = loopfs_mkdir(root, e)) < 0 || (rc = loopfs_mkdir(state, e)) < 0)
		return err_wrap(e, "the lab's loop fs");
	if (out)
		*out = p;
	return 0;
}

/* lab_up's part: decide the storage (option > $CRITIC_LAB_LOOPFS > the
 * recorded choice) and have the loop fs mounted before containerd starts. */
static int loopfs_prepare(lab_ctx *c, const lab_options *o, crit_err *e)
{
	lab_storage want = o ? o->storage : LAB_STORAGE_KEEP;
	unsigned long long asked = o ? o->loopfs_bytes : 0;
	const char *env = getenv("CRITIC_LAB_LOOPFS");
	if (want == LAB_STORAGE_KEEP && env && *env) {
		lab_options eo;
		if (lab_parse_loopfs(env, &eo, e) < 0)
			return err_wrap(e, "$CRITIC_LAB_LOOPFS");
		want = eo.storage;
		asked = eo.loopfs_bytes;
	}
	bool loop = want == LAB_STORAGE_KEEP ? c->st.loopfs > 0 : want == LAB_STORAGE_LOOPFS;
	if (loop != (c->st.loopfs > 0)) {
		pid_t pid = proc_find(c, c->st.containerd_pid, PK_CONTAINERD);
		if (pid > 0)
			return err_set(e, -EBUSY,
				       "the lab in %s runs (containerd pid %d) with its root and state %s: take it down "
				       "first (critic lab down) to move them %s",
				       c->dir, (int)pid, loop ? "in plain directories" : "on the loop fs",
				       loop ? "onto a loop fs" : "back to plain directories");
		if (!loop) {
			int rc = loopfs_release(c, NULL, e);
			if (rc < 0)
				return rc;
		}
		c->st.loopfs = loop;
		ctx_storage_paths(c);
		if (!loop)
			lab_log("lab: root and state back in plain directories %s, %s", c->root_dir, c->state_dir);
	}
	if (!loop)
		return 0;
	if (asked)
		c->st.loopfs_bytes = asked;
	if (!c->st.loopfs_bytes)
		c->st.loopfs_bytes = LAB_LOOPFS_DEFAULT_BYTES;
	lab_loopfs p;
	int rc = loopfs_mount_ctx(c, c->st.loopfs_bytes, asked, &p, e);
	if (rc < 0)
		return rc;
	c->st.loopfs_bytes = p.image_bytes;
	return 0;
}

/* Open a lab for the exported loop-fs calls: root, a lab dir, locked. */
static int loopfs_open(lab_ctx *c, const char *dir, crit_err *e)
{
	if (geteuid() != 0)
		return err_set(e, -EPERM, "needs root (mount, losetup)");
	int rc = ctx_init(c, dir, false, e);
	if (rc < 0)
		return rc;
	if (!util_exists(c->state_file))
		return err_set(e, -ENOENT, "%s is not a critic lab (no lab.state)", c->dir);
	int lock = lab_lock(c, e);
	if (lock < 0)
		return lock;
	state_load(c);
	return lock;
}

int lab_loopfs_mount(const char *dir, lab_loopfs *out, crit_err *e)
{
	lab_ctx c;
	cleanup_close int lock = loopfs_open(&c, dir, e);
	if (lock < 0)
		return lock;
	int rc = loopfs_mount_ctx(&c, 0, 0, out, e);
	if (rc == 0)
		rc = state_save(&c, e);
	return rc;
}

int lab_loopfs_unmount(const char *dir, crit_err *e)
{
	lab_ctx c;
	cleanup_close int lock = loopfs_open(&c, dir, e);
	if (lock < 0)
		return lock;
	int rc = loopfs_release(&c, NULL, e);
	if (rc == 0)
		rc = state_save(&c, e);
	return rc;
}

/* ------------------------------------------------------------ lab_up */

static int lab_mkdirs(const lab_ctx *c, crit_err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(lab_subdirs); i++) {
		cleanup_free char *p = lab_path(c, lab_subdirs[i]);
		int rc = util_mkdir_p(p, 0755, e);
		if (rc < 0)
			return err_wrap(e, "lab dirs");
	}
	return 0;
}

int lab_up(const char *dir, lab_info *info, crit_err *e)
{
	return lab_up_opts(dir, NULL, info, e);
}

int lab_up_opts(const char *dir, const lab_options *o, lab_info *info, crit_err *e)
{
	int64_t t0 = util_now_ms();
	if (geteuid() != 0)
		return err_set(e, -EPERM, "needs root (containerd, mounts, cgroups, CNI)");
	lab_ctx c;
	int rc = ctx_init(&c, dir, true, e);
	if (rc < 0)
		return rc;
	if ((rc = lab_mkdirs(&c, e)) < 0)
		return rc;
	cleanup_close int lock = lab_lock(&c, e);
	if (lock < 0)
		return lock;
	state_load(&c);
	fill_info(&c, info);

	char runc[PATH_MAX], crun[PATH_MAX];
	if (!find_runc(runc, sizeof runc))
		return err_set(e, -ENOENT, "runc not found (install the runc package)");
	find_program("crun", crun, sizeof crun);
	char hdir[PATH_MAX];
	if ((rc = find_helpers(hdir, sizeof hdir, e)) < 0)
		return rc;
	if (access("/bin/busybox", X_OK) < 0)
		return err_set(e, -ENOENT, "lab images: /bin/busybox missing (install busybox-static)");
	/* loop-fs storage: mounted before containerd (re)starts on it. */
	if ((rc = loopfs_prepare(&c, o, e)) < 0)
		goto fail;

	if ((rc = registry_ensure(&c, e)) < 0)
		goto fail;
	if ((rc = state_save(&c, e)) < 0)
		goto fail;
	if ((rc = images_ensure(&c, hdir, e)) < 0)
		goto fail;
	if ((rc = cni_write(&c, e)) < 0 || (rc = hosts_write(&c, e)) < 0)
		goto fail;
	char hash[20];
	/* The crun-fiu handler is written only for a crun known to work. */
	crun_prepare(&c, crun, false);
	if ((rc = config_write(&c, runc, crun, hash, sizeof hash, e)) < 0)
		goto fail;

	/* Reuse a running containerd unless its config is stale or it hangs. */
	pid_t pid = proc_find(&c, c.st.containerd_pid, PK_CONTAINERD);
	bool start = true;
	if (pid > 0) {
		c.st.containerd_pid = pid;
		if (strcmp(c.st.config_hash, hash) != 0)
			lab_log("lab: config.toml changed: restarting containerd (pid %d)", (int)pid);
		else if (!sock_accepts(c.sock, 1000))
			lab_log("lab: containerd (pid %d) does not accept on %s: restarting it", (int)pid, c.sock);
		else
			start = false;
	}
	char version[128] = "";
	crit_err ve;
	err_clear(&ve);
	if (!start && cri_version(&c, 2000, version, sizeof version, &ve) < 0) {
		lab_log("lab: containerd (pid %d) does not answer CRI calls (%s): restarting it", (int)pid, ve.msg);
		start = true;
	}
	crun_prepare(&c, crun, start);
	if (start) {
		strbuf left = { 0 };
		if (stop_kind(&c, pid, PK_CONTAINERD, STOP_GRACE_MS, NULL, &left)) {
			rc = err_set(e, -EBUSY, "stop the lab's old containerd: %s", left.buf);
			sb_free(&left);
			goto fail;
		}
		sb_free(&left);
		c.st.containerd_pid = 0;
		if ((rc = containerd_start(&c, e)) < 0)
			goto fail;
		snprintf(c.st.config_hash, sizeof c.st.config_hash, "%s", hash);
	}
	err_clear(&ve);
	rc = start ? cri_version(&c, CRI_READY_MS, version, sizeof version, &ve) : 0;
	if (rc < 0) {
		char tail[600];
		cleanup_free char *logp = lab_path(&c, "logs/containerd.log");
		log_tail(logp, 0, 3, tail, sizeof tail);
		rc = err_set(e, rc, "containerd on %s runs but its CRI does not answer: %s; %s: %s", c.sock,
			     err_msg(&ve), logp, tail);
		goto fail;
	}
	snprintf(c.st.runtime, sizeof c.st.runtime, "%s", version);
	if ((rc = state_save(&c, e)) < 0)
		goto fail;
	fill_info(&c, info);
	if (start)
		lab_log("lab: %s up on %s (pid %d, %.1f s)", version, c.endpoint, (int)c.st.containerd_pid,
			(double)(util_now_ms() - t0) / 1000.0);
	else
		lab_log("lab: %s already up on %s (pid %d)", version, c.endpoint, (int)c.st.containerd_pid);
	return 0;
fail:
	/* Keep what runs on record so status and down find it. */
	state_save(&c, NULL);
	fill_info(&c, info);
	return rc;
}

/* ------------------------------------------------------------ lab_status */

int lab_status(const char *dir, lab_info *info, crit_err *e)
{
	lab_ctx c;
	int rc = ctx_init(&c, dir, false, e);
	if (rc < 0)
		return rc;
	state_load(&c);
	c.st.containerd_pid = proc_find(&c, c.st.containerd_pid, PK_CONTAINERD);
	c.st.registry_pid = proc_find(&c, c.st.registry_pid, PK_REGISTRY);
	fill_info(&c, info);
	return c.st.containerd_pid > 0 && c.st.registry_pid > 0 && util_exists(c.sock) ? 1 : 0;
}

const char *const *lab_image_roles(size_t *n)
{
	*n = ARRAY_SIZE(lab_roles);
	return lab_roles;
}

int lab_image_ref(const lab_info *info, const char *role, char *out, size_t len)
{
	if (!info || !role || !out || !len)
		return -EINVAL;
	if (info->registry_port <= 0)
		return -ENOENT;
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(lab_roles); i++)
		if (!strcmp(role, lab_roles[i]))
			known = true;
	if (!known)
		return -ENOENT;
	int n = snprintf(out, len, "127.0.0.1:%d/critic/%s:%s", info->registry_port, role, LAB_IMAGE_TAG);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ images for other registries */

size_t lab_image_tags(size_t i, const char **role, const char **tag)
{
	if (i < ARRAY_SIZE(pushes)) {
		*role = pushes[i].role;
		*tag = pushes[i].tag;
	}
	return ARRAY_SIZE(pushes);
}

const char *lab_image_version(void)
{
	return LAB_IMAGE_TAG;
}

int lab_images_layout(const char *dir, char *layout, size_t len, crit_err *e)
{
	lab_ctx c;
	int rc = ctx_init(&c, dir, true, e);
	if (rc < 0)
		return rc;
	cleanup_free char *images = lab_path(&c, "images");
	if ((rc = util_mkdir_p(images, 0755, e)) < 0)
		return rc;
	/* The lab's own up may build in the same dir: one builder at a time. */
	cleanup_close int lock = lab_lock(&c, e);
	if (lock < 0)
		return lock;
	char hdir[PATH_MAX];
	if ((rc = find_helpers(hdir, sizeof hdir, e)) < 0)
		return rc;
	if (access("/bin/busybox", X_OK) < 0)
		return err_set(e, -ENOENT, "critic images: /bin/busybox missing (install busybox-static)");
	char digests[ARRAY_SIZE(lab_roles)][128];
	if ((rc = layout_ensure(&c, hdir, digests, e)) < 0)
		return rc;
	cleanup_free char *oci = lab_path(&c, "images/oci");
	if (snprintf(layout, len, "%s", oci) >= (int)len)
		return err_set(e, -ENAMETOOLONG, "%s: path too long", oci);
	return 0;
}

int lab_http(int port, const char *method, const char *path, int timeout_ms, int *status, char *digest,
	     size_t dlen)
{
	return http_request(port, method, path, manifest_accept, timeout_ms, status, digest, dlen);
}

/* ------------------------------------------------------------ lab_down */

/* Stop and remove every pod sandbox through the CRI (in a child: see
 * run_in_child). r->count = pods removed. */
#define CRI_REMOVE_MS 120000
static void job_remove_all(const lab_ctx *c, int unused, child_result *r)
{
	(void)unused;
	crit_err e;
	err_clear(&e);
	cri_conn *conn = NULL;
	if ((r->rc = cri_connect(&conn, c->endpoint, NULL, 10000, &e)) < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", err_msg(&e));
		return;
	}
	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *list = NULL;
	if ((r->rc = CRI_CALL_T(conn, ListPodSandbox, &lreq, &list, 5000, &e)) < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", err_msg(&e));
		cri_close(conn);
		return;
	}
	int64_t end = util_now_ms() + CRI_REMOVE_MS - 10000;
	int failed = 0;
	for (size_t i = 0; i < list->n_items; i++) {
		const char *id = list->items[i]->id;
		crit_err pe;
		err_clear(&pe);
		if (util_now_ms() >= end) {
			err_set(&pe, -ETIMEDOUT, "gave up: out of time");
		} else {
			Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__StopPodSandboxResponse *sresp = NULL;
			Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
			sreq.pod_sandbox_id = (char *)id;
			rreq.pod_sandbox_id = (char *)id;
			if (CRI_CALL_T(conn, StopPodSandbox, &sreq, &sresp, 30000, &pe) == 0 &&
			    CRI_CALL_T(conn, RemovePodSandbox, &rreq, &rresp, 30000, &pe) == 0)
				r->count++;
			cri_free(sresp);
			cri_free(rresp);
		}
		if (pe.code && !failed++) {
			r->rc = pe.code;
			snprintf(r->msg, sizeof r->msg, "pod %.13s: %.990s", id, pe.msg);
		}
	}
	if (failed) {
		char first[sizeof r->msg];
		snprintf(first, sizeof first, "%s", r->msg);
		snprintf(r->msg, sizeof r->msg, "%d of %zu pods not removed; first: %.900s", failed, list->n_items,
			 first);
	}
	cri_free(list);
	cri_close(conn);
}

/* Append names of netns files ("cni-…") found in a file's bytes. */
static void netns_names_in(const char *path, strbuf *names)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (util_read_file(path, &data, &len, NULL) < 0)
		return;
	static const char *const prefixes[] = { "/var/run/netns/", "/run/netns/" };
	for (size_t k = 0; k < ARRAY_SIZE(prefixes); k++) {
		size_t pl = strlen(prefixes[k]);
		for (const char *p = data; (p = memmem(p, len - (size_t)(p - data), prefixes[k], pl));) {
			p += pl;
			size_t n = 0;
			while (p + n < data + len && n < 100 && (isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_' || p[n] == '.'))
				n++;
			if (n == 0 || (n <= 2 && p[0] == '.'))
				continue;
			char name[128];
			snprintf(name, sizeof name, "%.*s\n", (int)n, p);
			if (!names->buf || !strstr(names->buf, name))
				sb_printf(names, "%s", name);
		}
	}
}

/* Evidence of what the lab's tasks own outside the lab dir: netns names and
 * shim sockets, read from the task bundles containerd keeps in its state. */
static void collect_task_evidence(const lab_ctx *c, strbuf *netns, strbuf *shim_socks)
{
	cleanup_free char *tasks = util_strdup_printf("%s/io.containerd.runtime.v2.task", c->state_dir);
	DIR *nsd = opendir(tasks);
	if (!nsd)
		return;
	struct dirent *ns;
	while ((ns = readdir(nsd))) {
		if (ns->d_name[0] == '.')
			continue;
		cleanup_free char *nsp = util_strdup_printf("%s/%s", tasks, ns->d_name);
		DIR *td = opendir(nsp);
		if (!td)
			continue;
		struct dirent *t;
		while ((t = readdir(td))) {
			if (t->d_name[0] == '.')
				continue;
			cleanup_free char *cfg = util_strdup_printf("%s/%s/config.json", nsp, t->d_name);
			netns_names_in(cfg, netns);
			cleanup_free char *addrp = util_strdup_printf("%s/%s/address", nsp, t->d_name);
			cleanup_free char *addr = NULL;
			if (util_read_file(addrp, &addr, NULL, NULL) == 0) {
				addr[strcspn(addr, "\r\n")] = '\0';
				const char *p = util_has_prefix(addr, "unix://") ? addr + 7 : addr;
				if (util_has_prefix(p, SHIM_SOCK_DIR) && !strstr(p, ".."))
					sb_printf(shim_socks, "%s\n", p);
			}
		}
		closedir(td);
	}
	closedir(nsd);
}

/* Kill and delete every container left in an OCI runtime root of the lab
 * (ROOT/NAMESPACE/ID, as containerd's shim lays it out). */
static int runtime_root_cleanup(const char *runtime, const char *root, int *killed, strbuf *left)
{
	DIR *d = opendir(root);
	if (!d)
		return 0;
	int failed = 0;
	struct dirent *ns;
	while ((ns = readdir(d))) {
		if (ns->d_name[0] == '.')
			continue;
		cleanup_free char *nsroot = util_strdup_printf("%s/%s", root, ns->d_name);
		struct stat st;
		if (stat(nsroot, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		/* Skip the exec when the root holds no container. */
		DIR *cd = opendir(nsroot);
		bool any = false;
		if (cd) {
			struct dirent *x;
			while ((x = readdir(cd)))
				if (x->d_name[0] != '.')
					any = true;
			closedir(cd);
		}
		if (!any)
			continue;
		cleanup_free char *out = NULL;
		char *list[] = { (char *)runtime, "--root", nsroot, "list", "-q", NULL };
		if (run_tool(list, QUICK_MS, "list containers", &out, NULL) < 0) {
			sb_printf(left, "%s%s --root %s list failed", left->len ? "; " : "", runtime, nsroot);
			failed++;
			continue;
		}
		char *save = NULL;
		for (char *id = strtok_r(out, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
			if (!*id)
				continue;
			char *kill_argv[] = { (char *)runtime, "--root", nsroot, "kill", "--all", id, "KILL", NULL };
			util_run(kill_argv, QUICK_MS, NULL, NULL);
			char *del[] = { (char *)runtime, "--root", nsroot, "delete", "--force", id, NULL };
			crit_err de;
			err_clear(&de);
			if (run_tool(del, QUICK_MS, "delete container", NULL, &de) < 0) {
				sb_printf(left, "%s%s container %s in %s: %s", left->len ? "; " : "", runtime, id,
					  nsroot, de.msg);
				failed++;
			} else {
				(*killed)++;
			}
		}
	}
	closedir(d);
	return failed;
}

static void unescape_mount(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static int cmp_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

/* Mount points strictly below dir, deepest first, minus the lab's top-level
 * directories themselves (storage the user may have mounted there). */
static int mounts_below(const lab_ctx *c, char ***out)
{
	*out = NULL;
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	size_t dl = strlen(c->dir);
	char **v = NULL;
	int n = 0;
	char line[8192];
	/* loop-fs storage: DIR/fs is unmounted apart, never lazily (loopfs_release). */
	lab_loopfs lp;
	loopfs_probe_ctx(c, &lp);
	bool keep_fs = lp.mounted && lp.ours;
	while (fgets(line, sizeof line, f)) {
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_mount(mp);
		if (strncmp(mp, c->dir, dl) != 0 || mp[dl] != '/')
			continue;
		if (keep_fs && !strcmp(mp, lp.mount))
			continue;
		bool top = false;
		for (size_t i = 0; i < ARRAY_SIZE(lab_subdirs); i++)
			if (!strcmp(mp + dl + 1, lab_subdirs[i]))
				top = true;
		if (top)
			continue;
		bool dup = false;
		for (int i = 0; i < n; i++)
			if (!strcmp(v[i], mp))
				dup = true;
		if (dup)
			continue;
		char **nv = realloc(v, sizeof *v * (size_t)(n + 1));
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(mp);
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, cmp_len_desc);
	*out = v;
	return n;
}

static void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Unmount everything below dir; stacked mounts need several passes. */
static int unmount_below(const lab_ctx *c, int *count, strbuf *left)
{
	for (int pass = 0; pass < 8; pass++) {
		char **v;
		int n = mounts_below(c, &v);
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			if (umount2(v[i], 0) == 0 || umount2(v[i], MNT_DETACH) == 0)
				(*count)++;
		}
		free_strv(v, n);
	}
	char **v;
	int n = mounts_below(c, &v);
	for (int i = 0; i < n; i++)
		sb_printf(left, "%smount %s still present", left->len ? "; " : "", v[i]);
	free_strv(v, n);
	return n;
}

/* Remove the lab's leftover netns files (names proven ours by the lab's own
 * task bundles or metadata). Counts other "cni-" entries, which stay. */
static void netns_cleanup(strbuf *ours, int *removed, int *foreign, strbuf *left)
{
	*removed = *foreign = 0;
	if (ours->buf) {
		char *save = NULL;
		cleanup_free char *copy = strdup(ours->buf);
		for (char *name = strtok_r(copy, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, NETNS_DIR "/%s", name);
			if (!util_exists(path))
				continue;
			umount2(path, MNT_DETACH);
			if (unlink(path) == 0)
				(*removed)++;
			else
				sb_printf(left, "%snetns %s: %s", left->len ? "; " : "", path, strerror(errno));
		}
	}
	DIR *d = opendir(NETNS_DIR);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!util_has_prefix(de->d_name, "cni-"))
			continue;
		char key[300];
		snprintf(key, sizeof key, "%s\n", de->d_name);
		if (!ours->buf || !strstr(ours->buf, key))
			(*foreign)++;
	}
	closedir(d);
}

int lab_down(const char *dir, crit_err *e)
{
	int64_t t0 = util_now_ms();
	if (geteuid() != 0)
		return err_set(e, -EPERM, "needs root");
	lab_ctx c;
	int rc = ctx_init(&c, dir, false, e);
	if (rc < 0)
		return rc;
	/* A missing dir is not created: there may still be processes to stop. */
	cleanup_close int lock = util_exists(c.dir) ? lab_lock(&c, e) : -1;
	if (util_exists(c.dir) && lock < 0)
		return lock;
	state_load(&c);
	/* loop-fs storage: a frozen fs would hang every step below. */
	cleanup_free char *loop_img = util_strdup_printf("%s/" LAB_LOOPFS_IMAGE, c.dir);
	bool loopfs = c.st.loopfs > 0 || util_exists(loop_img);
	if (loopfs)
		loopfs_thaw(&c);
	strbuf left = { 0 };   /* what could not be cleaned, for the error */
	strbuf netns = { 0 };  /* netns names proven to be the lab's */
	strbuf socks = { 0 };  /* shim sockets of the lab's tasks */

	/* (a) pods and containers through the CRI while containerd answers. */
	pid_t cpid = proc_find(&c, c.st.containerd_pid, PK_CONTAINERD);
	bool pods_gone = false;
	if (cpid > 0 && sock_accepts(c.sock, 1000)) {
		crit_err pe;
		err_clear(&pe);
		child_result r;
		int rc2 = run_in_child(&c, job_remove_all, 0, CRI_REMOVE_MS, &r, &pe);
		if (rc2 == 0 && r.rc == 0) {
			pods_gone = true;
			if (r.count)
				lab_log("lab: removed %d pod sandbox%s", r.count, r.count == 1 ? "" : "es");
		} else {
			lab_log("lab: could not remove every pod through the CRI (%s): forcing",
				rc2 < 0 ? pe.msg : r.msg);
		}
	}
	collect_task_evidence(&c, &netns, &socks);

	/* (b) containerd itself. */
	int n_cd = 0;
	stop_kind(&c, cpid, PK_CONTAINERD, STOP_GRACE_MS, &n_cd, &left);

	/* (c) containers left in the lab's runtime roots, then their shims. */
	int killed = 0;
	cleanup_free char *runc_root = lab_path(&c, "runc");
	cleanup_free char *crun_root = lab_path(&c, "crun");
	char runc[PATH_MAX], crun[PATH_MAX];
	find_runc(runc, sizeof runc);
	find_program("crun", crun, sizeof crun);
	if (runc[0])
		runtime_root_cleanup(runc, runc_root, &killed, &left);
	if (crun[0])
		runtime_root_cleanup(crun, crun_root, &killed, &left);
	if (killed)
		lab_log("lab: %s%d container%s killed in the lab's runtime roots", pods_gone ? "" : "forced: ",
			killed, killed == 1 ? "" : "s");
	int n_shim = 0;
	stop_kind(&c, 0, PK_SHIM, 0, &n_shim, &left);
	if (socks.buf) {
		char *save = NULL;
		for (char *p = strtok_r(socks.buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode))
				unlink(p);
		}
	}

	/* (d) the registry. */
	int n_reg = 0;
	stop_kind(&c, c.st.registry_pid, PK_REGISTRY, 3000, &n_reg, &left);

	/* (e) mounts below dir and the netns files our pods left. */
	cleanup_free char *metadb = util_strdup_printf("%s/io.containerd.metadata.v1.bolt/meta.db", c.root_dir);
	netns_names_in(metadb, &netns);
	int n_umount = 0, n_netns = 0, n_foreign = 0;
	unmount_below(&c, &n_umount, &left);
	crit_err le;
	err_clear(&le);
	if (loopfs && loopfs_release(&c, &n_umount, &le) < 0) /* loop-fs storage: unmount, detach */
		sb_printf(&left, "%s%s", left.len ? "; " : "", le.msg);
	netns_cleanup(&netns, &n_netns, &n_foreign, &left);
	if (n_foreign)
		lab_log("lab: left %d cni-* netns in " NETNS_DIR " alone: not proven to be the lab's", n_foreign);

	/* No lab container runs now: IP reservations and the bridge are stale. */
	if (!left.len) {
		cleanup_free char *ipam = util_strdup_printf("%s/cni/ipam/%s", c.dir, c.netname);
		util_rm_rf(ipam, NULL);
		char sys[64];
		snprintf(sys, sizeof sys, "/sys/class/net/%s", c.bridge);
		if (util_exists(sys)) {
			char *ip[] = { "ip", "link", "delete", c.bridge, NULL };
			crit_err ie;
			err_clear(&ie);
			if (run_tool(ip, QUICK_MS, "delete the lab bridge", NULL, &ie) < 0)
				sb_printf(&left, "%s%s", left.len ? "; " : "", ie.msg);
		}
	}

	/* (f) sockets and state. */
	cleanup_free char *ttrpc = util_strdup_printf("%s.ttrpc", c.sock);
	unlink(c.sock);
	unlink(ttrpc);
	c.st.containerd_pid = proc_find(&c, 0, PK_CONTAINERD);
	c.st.registry_pid = proc_find(&c, 0, PK_REGISTRY);
	c.st.config_hash[0] = '\0';
	if (util_exists(c.dir))
		state_save(&c, NULL);

	lab_log("lab: down in %.1f s (stopped %d containerd, %d shim%s, %d registry; %d unmount%s, %d netns removed)",
		(double)(util_now_ms() - t0) / 1000.0, n_cd, n_shim, n_shim == 1 ? "" : "s", n_reg, n_umount,
		n_umount == 1 ? "" : "s", n_netns);
	sb_free(&netns);
	sb_free(&socks);
	if (left.len) {
		rc = err_set(e, -EBUSY, "lab down in %s left things behind: %s", c.dir, left.buf);
		sb_free(&left);
		return rc;
	}
	sb_free(&left);
	return 0;
}
