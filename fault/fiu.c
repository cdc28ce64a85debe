/* fault/fiu: libfiu faults: edit the spec critic-fiu-runtime and the preload read, talk to
 * libfiu's control fifos, list the points, and the `critic fiu` command line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fiu.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "util.h"

#define SPEC_HEADER                                                                                     \
	"# critic fiu spec: read by critic-fiu-runtime (the lab's crun-fiu handler) and watched by\n" \
	"# critic's preload in each crun. Written by `critic fiu` / fault_fiu_enable.\n"
#define LINE_MAX_FIU 500 /* libfiu reads command lines of at most 512 bytes */

/* ------------------------------------------------------------ points */

static const fault_fiu_point points[] = {
	{ "critic/posix/open", "critic-preload", "open(2), open64 (crun re-executes itself with it: failing all kills crun at once)" },
	{ "critic/posix/openat", "critic-preload", "openat(2), openat64" },
	{ "critic/posix/mkdir", "critic-preload", "mkdir(2)" },
	{ "critic/posix/mkdirat", "critic-preload", "mkdirat(2)" },
	{ "critic/posix/mount", "critic-preload", "mount(2) (path = the target)" },
	{ "critic/posix/umount", "critic-preload", "umount(2), umount2 (path = the target)" },
	{ "critic/posix/stat", "critic-preload", "stat(2), stat64, __xstat" },
	{ "critic/posix/lstat", "critic-preload", "lstat(2), lstat64, __lxstat" },
	{ "critic/posix/fstatat", "critic-preload", "fstatat(2), fstatat64, __fxstatat" },
	{ "critic/posix/statx", "critic-preload", "statx(2)" },
	{ "critic/posix/write", "critic-preload", "write(2) (path = the file behind the fd)" },
	{ "critic/posix/unlinkat", "critic-preload", "unlinkat(2)" },
	{ "critic/posix/rmdir", "critic-preload", "rmdir(2)" },
	{ "critic/posix/clone", "critic-preload", "clone(), syscall(SYS_clone) (crun's container process)" },
	{ "critic/posix/clone3", "critic-preload", "syscall(SYS_clone3)" },
	{ "critic/cri/send", "critic", "critic's CRI client: a call fails before it is sent" },
	{ "critic/cri/recv", "critic", "critic's CRI client: a reply is lost after it arrived" },
	{ "critic/report/write", "critic", "critic's report writer: write() fails with ENOSPC mid-report" },
};

/* libfiu 1.1's posix preload (fiu-utils' function_list). */
static const char *const posix_points[] = {
	"libc/mm/calloc", "libc/mm/malloc", "libc/mm/realloc", "libc/str/strdup", "libc/str/strndup",
	"linux/io/sync_file_range", "posix/io/dir/closedir", "posix/io/dir/fdopendir", "posix/io/dir/opendir",
	"posix/io/dir/readdir", "posix/io/dir/readdir_r", "posix/io/dir/rename", "posix/io/dir/unlink",
	"posix/io/net/accept", "posix/io/net/bind", "posix/io/net/connect", "posix/io/net/listen",
	"posix/io/net/poll", "posix/io/net/pselect", "posix/io/net/recv", "posix/io/net/recvfrom",
	"posix/io/net/recvmsg", "posix/io/net/select", "posix/io/net/send", "posix/io/net/sendmsg",
	"posix/io/net/sendto", "posix/io/net/shutdown", "posix/io/net/socket", "posix/io/oc/close",
	"posix/io/oc/open", "posix/io/rw/ftruncate", "posix/io/rw/pread", "posix/io/rw/pread/reduce",
	"posix/io/rw/preadv", "posix/io/rw/preadv/reduce", "posix/io/rw/pwrite", "posix/io/rw/pwrite/reduce",
	"posix/io/rw/pwritev", "posix/io/rw/pwritev/reduce", "posix/io/rw/read", "posix/io/rw/read/reduce",
	"posix/io/rw/readv", "posix/io/rw/readv/reduce", "posix/io/rw/truncate", "posix/io/rw/write",
	"posix/io/rw/write/reduce", "posix/io/rw/writev", "posix/io/rw/writev/reduce", "posix/io/sync/fdatasync",
	"posix/io/sync/fsync", "posix/mm/madvise", "posix/mm/mlock", "posix/mm/mlockall", "posix/mm/mmap",
	"posix/mm/mprotect", "posix/mm/msync", "posix/mm/munlock", "posix/mm/munlockall", "posix/mm/munmap",
	"posix/proc/fork", "posix/proc/kill", "posix/proc/sigaction", "posix/proc/signal", "posix/proc/wait",
	"posix/proc/waitid", "posix/proc/waitpid", "posix/stdio/fflush", "posix/stdio/ftrylockfile",
	"posix/stdio/gp/fgetc", "posix/stdio/gp/fgets", "posix/stdio/gp/fputc", "posix/stdio/gp/fputs",
	"posix/stdio/gp/getc", "posix/stdio/gp/getchar", "posix/stdio/gp/getdelim", "posix/stdio/gp/getline",
	"posix/stdio/gp/gets", "posix/stdio/gp/putc", "posix/stdio/gp/putchar", "posix/stdio/gp/puts",
	"posix/stdio/gp/ungetc", "posix/stdio/oc/fdopen", "posix/stdio/oc/fmemopen", "posix/stdio/oc/fopen",
	"posix/stdio/oc/freopen", "posix/stdio/oc/open_memstream", "posix/stdio/oc/pclose", "posix/stdio/oc/popen",
	"posix/stdio/remove", "posix/stdio/rw/fread", "posix/stdio/rw/fwrite", "posix/stdio/seek/fgetpos",
	"posix/stdio/seek/fseek", "posix/stdio/seek/fseeko", "posix/stdio/seek/fsetpos", "posix/stdio/seek/ftell",
	"posix/stdio/seek/ftello", "posix/stdio/setvbuf", "posix/stdio/sp/vdprintf", "posix/stdio/sp/vfprintf",
	"posix/stdio/sp/vfscanf", "posix/stdio/sp/vprintf", "posix/stdio/sp/vscanf", "posix/stdio/tmp/tempnam",
	"posix/stdio/tmp/tmpfile", "posix/stdio/tmp/tmpnam",
};

static fault_fiu_point all_points[ARRAY_SIZE(points) + ARRAY_SIZE(posix_points)];

const fault_fiu_point *fault_fiu_points(size_t *n)
{
	if (!all_points[0].name) {
		size_t k = 0;
		for (size_t i = 0; i < ARRAY_SIZE(points); i++)
			all_points[k++] = points[i];
		for (size_t i = 0; i < ARRAY_SIZE(posix_points); i++) {
			const char *call = strrchr(posix_points[i], '/') + 1;
			if (!strcmp(call, "reduce"))
				call = "short read/write (count reduced at random)";
			all_points[k++] = (fault_fiu_point){ posix_points[i], "libfiu-posix", call };
		}
	}
	*n = ARRAY_SIZE(all_points);
	return all_points;
}

bool fault_fiu_known(const char *name)
{
	if (!name || !*name)
		return false;
	size_t n, len = strlen(name);
	const fault_fiu_point *p = fault_fiu_points(&n);
	bool group = name[len - 1] == '*';
	for (size_t i = 0; i < n; i++)
		if (group ? !strncmp(p[i].name, name, len - 1) : !strcmp(p[i].name, name))
			return true;
	return false;
}

static bool is_critic_posix(const char *point)
{
	return util_has_prefix(point, "critic/posix/") || !strcmp(point, "critic/*") ||
	       !strcmp(point, "critic/posix*");
}

int fault_fiu_errno(const char *text)
{
	if (!text || !*text)
		return 0;
	if (isdigit((unsigned char)text[0])) {
		char *end = NULL;
		long v = strtol(text, &end, 10);
		return *end || v <= 0 || v > 4095 ? 0 : (int)v;
	}
	for (int i = 1; i < 200; i++) {
		const char *name = strerrorname_np(i);
		if (name && !strcasecmp(name, text))
			return i;
	}
	return 0;
}

/* ------------------------------------------------------------ spec file */

int fault_fiu_spec_path(const char *where, char *out, size_t len, crit_err *e)
{
	if (!where || !*where)
		where = lab_default_dir();
	struct stat st;
	int n;
	if (stat(where, &st) == 0 && S_ISDIR(st.st_mode)) {
		const char *base = strrchr(where, '/');
		base = base ? base + 1 : where;
		cleanup_free char *state = util_strdup_printf("%s/lab.state", where);
		cleanup_free char *fdir = util_strdup_printf("%s/fiu", where);
		if (!strcmp(base, "fiu"))
			n = snprintf(out, len, "%s/spec", where);
		else if (util_exists(state) || util_exists(fdir))
			n = snprintf(out, len, "%s/fiu/spec", where);
		else
			return err_set(e, -ENOENT, "fiu spec for %s: not a critic lab (no lab.state) and no fiu dir", where);
	} else {
		cleanup_free char *copy = strdup(where);
		char *slash = copy ? strrchr(copy, '/') : NULL;
		if (slash && slash != copy) {
			*slash = '\0';
			if (!util_exists(copy))
				return err_set(e, -ENOENT, "fiu spec %s: directory %s does not exist", where, copy);
		}
		n = snprintf(out, len, "%s", where);
	}
	if (n < 0 || (size_t)n >= len)
		return err_set(e, -ENAMETOOLONG, "fiu spec for %s: path too long", where);
	return 0;
}

/* A file next to the spec ("injected.log"). */
static int side_path(const char *where, const char *name, char *out, size_t len, crit_err *e)
{
	char spec[PATH_MAX];
	int rc = fault_fiu_spec_path(where, spec, sizeof spec, e);
	if (rc < 0)
		return rc;
	char *slash = strrchr(spec, '/');
	if (!slash)
		return err_set(e, -EINVAL, "fiu spec %s: give an absolute path", spec);
	*slash = '\0';
	if (snprintf(out, len, "%s/%s", spec, name) >= (int)len)
		return err_set(e, -ENAMETOOLONG, "%s/%s: path too long", spec, name);
	return 0;
}

static int read_or_empty(const char *path, char **out, crit_err *e)
{
	*out = NULL;
	int rc = util_read_file(path, out, NULL, e);
	if (rc == -ENOENT) {
		err_clear(e);
		*out = strdup("");
		return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
	}
	return rc;
}

int fault_fiu_spec_text(const char *where, char **out, crit_err *e)
{
	char spec[PATH_MAX];
	int rc = fault_fiu_spec_path(where, spec, sizeof spec, e);
	return rc < 0 ? rc : read_or_empty(spec, out, e);
}

/* The point a spec line acts on, copied to out ("" when none). */
static void line_point(const char *line, char *out, size_t len)
{
	out[0] = '\0';
	const char *n = strstr(line, "name=");
	if (!n)
		return;
	n += 5;
	size_t l = strcspn(n, ", \t\r\n");
	snprintf(out, len, "%.*s", (int)(l < len ? l : len - 1), n);
}

/* Rewrite the spec: drop lines on point (NULL = every fault line; option
 * lines stay unless drop_option names them), then append add. */
static int spec_edit(const char *where, const char *point, const char *drop_option, const char *add, crit_err *e)
{
	char spec[PATH_MAX];
	int rc = fault_fiu_spec_path(where, spec, sizeof spec, e);
	if (rc < 0)
		return rc;
	cleanup_free char *dir = strdup(spec);
	if (!dir)
		return err_set(e, -ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((rc = util_mkdir_p(dir, 0755, e)) < 0)
			return err_wrap(e, "fiu spec");
	}
	cleanup_free char *old = NULL;
	if ((rc = read_or_empty(spec, &old, e)) < 0)
		return err_wrap(e, "fiu spec");
	strbuf sb = { 0 };
	sb_printf(&sb, "%s", SPEC_HEADER);
	char *save = NULL;
	for (char *l = strtok_r(old, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *t = l;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!*t || *t == '#')
			continue;
		if (!strncmp(t, "option ", 7)) {
			if (drop_option && strstr(t + 7, drop_option))
				continue;
		} else {
			char p[256];
			line_point(t, p, sizeof p);
			if (!point || !strcmp(p, point))
				continue;
		}
		sb_printf(&sb, "%s\n", t);
	}
	if (add)
		sb_printf(&sb, "%s", add);
	rc = util_write_file(spec, sb.buf, sb.len, 0644, e);
	sb_free(&sb);
	return rc;
}

static bool point_name_ok(const char *p)
{
	if (!p || !*p || strlen(p) > 200)
		return false;
	for (const char *c = p; *c; c++)
		if (!isgraph((unsigned char)*c) || *c == ',' || *c == '=')
			return false;
	return true;
}

int fault_fiu_enable(const char *where, const fault_fiu_fault *f, crit_err *e)
{
	if (!f || !point_name_ok(f->point))
		return err_set(e, -EINVAL, "fault point '%s': give a name without spaces, ',' or '='",
			       f && f->point ? f->point : "");
	if (!fault_fiu_known(f->point))
		return err_set(e, -EINVAL, "unknown fault point '%s' (see critic fiu list)", f->point);
	bool crit = is_critic_posix(f->point);
	if (!crit && util_has_prefix(f->point, "critic/"))
		return err_set(e, -EINVAL, "fault point %s is inside critic itself: enable it in the process "
			       "(fiu_enable), not in the runtime's spec", f->point);
	if (!crit && (f->mode == FAULT_FIU_NTH || f->after || f->path_prefix))
		return err_set(e, -EINVAL, "fault point %s: nth, after and path filters are critic's preload's; "
			       "libfiu decides its own points alone (use a critic/posix/ point)", f->point);
	if (f->mode == FAULT_FIU_PROBABILITY && !(f->probability > 0 && f->probability <= 1))
		return err_set(e, -EINVAL, "fault point %s: probability %g is not in (0, 1]", f->point, f->probability);
	if (f->mode == FAULT_FIU_NTH && (f->nth < 1 || f->after))
		return err_set(e, -EINVAL, "fault point %s: nth must be >= 1 (and takes no after)", f->point);
	if (f->mode > FAULT_FIU_NTH)
		return err_set(e, -EINVAL, "fault point %s: unknown mode %d", f->point, (int)f->mode);
	if (f->after < 0 || f->err < 0 || f->err > 4095 || f->retval > 0)
		return err_set(e, -EINVAL, "fault point %s: after >= 0, errno 1..4095 and a negative return value, please",
			       f->point);
	if (f->path_prefix && (!*f->path_prefix || strpbrk(f->path_prefix, ",\n\r") ||
			       strlen(f->path_prefix) > 300))
		return err_set(e, -EINVAL, "fault point %s: path prefix must be 1..300 characters without ',' or newline",
			       f->point);
	int err = f->err ? f->err : EIO, ret = f->retval ? f->retval : -1;
	strbuf add = { 0 };
	if (f->mode == FAULT_FIU_PROBABILITY)
		sb_printf(&add, "enable_random name=%s,failnum=%d,failinfo=%d,probability=%.6f\n", f->point, ret, err,
			  f->probability);
	else
		sb_printf(&add, "enable name=%s,failnum=%d,failinfo=%d%s\n", f->point, ret, err,
			  f->mode == FAULT_FIU_NTH ? ",onetime" : "");
	if (crit) {
		int after = f->mode == FAULT_FIU_NTH ? f->nth - 1 : f->after;
		sb_printf(&add, "critic name=%s,after=%d,path=%s\n", f->point, after,
			  f->path_prefix ? f->path_prefix : "");
	}
	int rc = spec_edit(where, f->point, NULL, add.buf, e);
	sb_free(&add);
	return rc;
}

int fault_fiu_disable(const char *where, const char *point, crit_err *e)
{
	if (point && !point_name_ok(point))
		return err_set(e, -EINVAL, "fault point '%s': give a name without spaces, ',' or '='", point);
	char spec[PATH_MAX];
	int rc = fault_fiu_spec_path(where, spec, sizeof spec, e);
	if (rc < 0)
		return rc;
	if (!util_exists(spec))
		return 0;
	return spec_edit(where, point, NULL, NULL, e);
}

int fault_fiu_set_control_fifo(const char *where, bool on, crit_err *e)
{
	/* Point "" matches no fault line: spec_edit keeps them all. */
	return spec_edit(where, "", "control-fifo", on ? "option control-fifo\n" : NULL, e);
}

int fault_fiu_injected(const char *where, char **out, crit_err *e)
{
	char p[PATH_MAX];
	int rc = side_path(where, "injected.log", p, sizeof p, e);
	return rc < 0 ? rc : read_or_empty(p, out, e);
}

int fault_fiu_runs(const char *where, char **out, crit_err *e)
{
	char p[PATH_MAX];
	int rc = side_path(where, "runs.log", p, sizeof p, e);
	return rc < 0 ? rc : read_or_empty(p, out, e);
}

int fault_fiu_clear_logs(const char *where, crit_err *e)
{
	static const char *const names[] = { "injected.log", "runs.log" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char p[PATH_MAX];
		int rc = side_path(where, names[i], p, sizeof p, e);
		if (rc < 0)
			return rc;
		if (truncate(p, 0) < 0 && errno != ENOENT)
			return err_set(e, -errno, "truncate %s: %s", p, strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------------ control fifo */

int fault_fiu_ctrl(const char *base, pid_t pid, const char *cmd, int timeout_ms, crit_err *e)
{
	if (!base || !*base || pid <= 0 || !cmd || !*cmd || strchr(cmd, '\n') || strlen(cmd) > LINE_MAX_FIU)
		return err_set(e, -EINVAL, "fiu control: give a fifo base, a pid and a one-line command");
	cleanup_free char *in = util_strdup_printf("%s-%d.in", base, (int)pid);
	cleanup_free char *out = util_strdup_printf("%s-%d.out", base, (int)pid);
	int64_t end = util_now_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
	/* Non-blocking: with no reader on the other end this fails (ENXIO)
	 * instead of waiting. libfiu's thread has no reader open while it
	 * starts and between two commands (it closes and reopens): retry
	 * while the process lives. */
	cleanup_close int w = -1;
	for (;;) {
		w = open(in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (w >= 0)
			break;
		int err = errno;
		bool alive = err == ENXIO && util_pid_alive(pid);
		if (!alive || util_now_ms() >= end) {
			int rc = err == ENXIO || err == ENOENT ? -ESRCH : -err;
			if (alive)
				rc = -ETIMEDOUT;
			return err_set(e, rc, "fiu control %s: %s", in,
				       rc == -ESRCH	 ? "no process reads it (gone, or started without a control fifo)"
				       : rc == -ETIMEDOUT ? "the process did not open it in time"
							  : strerror(err));
		}
		util_sleep_ms(2);
	}
	cleanup_close int r = open(out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r < 0)
		return err_set(e, -errno, "fiu control %s: %s", out, strerror(errno));
	cleanup_free char *line = util_strdup_printf("%s\n", cmd);
	ssize_t n = write(w, line, strlen(line));
	if (n != (ssize_t)strlen(line))
		return err_set(e, n < 0 ? -errno : -EIO, "fiu control %s: write: %s", in,
			       n < 0 ? strerror(errno) : "short write");
	char reply[64];
	size_t got = 0;
	while (!memchr(reply, '\n', got)) {
		int left = (int)(end - util_now_ms());
		if (left <= 0)
			return err_set(e, -ETIMEDOUT, "fiu control %s: no reply to '%s' within %d ms", out, cmd,
				       timeout_ms);
		struct pollfd p = { .fd = r, .events = POLLIN };
		if (poll(&p, 1, left < 20 ? left : 20) < 0 && errno != EINTR)
			return err_set(e, -errno, "fiu control %s: poll: %s", out, strerror(errno));
		/* Before libfiu's thread opens the other end, reads return 0:
		 * keep polling until the deadline. */
		ssize_t k = read(r, reply + got, sizeof reply - 1 - got);
		if (k > 0)
			got += (size_t)k;
		else if (k < 0 && errno != EAGAIN && errno != EINTR)
			return err_set(e, -errno, "fiu control %s: read: %s", out, strerror(errno));
		else
			util_sleep_ms(2);
		if (got >= sizeof reply - 1)
			break;
	}
	reply[got] = '\0';
	int v = atoi(reply);
	if (v < 0)
		return err_set(e, -EINVAL, "fiu control: pid %d refused '%s' (libfiu answered %d)", (int)pid, cmd, v);
	return 0;
}

/* ------------------------------------------------------------ critic fiu */

static void cli_usage(FILE *f)
{
	fprintf(f,
		"Usage: critic fiu list\n"
		"       critic fiu status [--dir DIR | --spec FILE]\n"
		"       critic fiu enable POINT [--probability P | --nth N] [--after N] [--errno E]\n"
		"                         [--retval R] [--path PREFIX] [--dir DIR | --spec FILE]\n"
		"       critic fiu disable POINT|--all [--dir DIR | --spec FILE]\n"
		"       critic fiu clear-logs [--dir DIR | --spec FILE]\n"
		"       critic fiu ctrl --fifo BASE --pid PID COMMAND\n\n"
		"libfiu faults in the lab's OCI runtime: pods run with the runtime handler\n"
		"crun-fiu get crun started by critic-fiu-runtime under LD_PRELOAD of critic's\n"
		"preload (points critic/posix/CALL) and libfiu's posix one (posix/...),\n"
		"with the faults of DIR/fiu/spec. A change applies to the next crun calls,\n"
		"running ones included. Only C programs that call libc (crun, conmon)\n"
		"can be reached: containerd, its shim and runc are Go and bypass libc.\n\n"
		"  list                  the points: critic's preload, libfiu's posix preload, critic's own\n"
		"  status                the spec, the failures injected so far, the crun runs\n"
		"  enable POINT          make POINT fail (replaces an earlier fault on it)\n"
		"    --probability P     each matching call fails with probability P (0 < P <= 1)\n"
		"    --nth N             only the Nth matching call fails (in each crun process)\n"
		"    --after N           let the first N matching calls through, then fail\n"
		"    --errno E           errno of the failing call: a name (ENOSPC) or number; default EIO\n"
		"    --retval R          what the call returns (negative); default -1\n"
		"    --path PREFIX       only calls on paths starting with PREFIX\n"
		"                        (--nth, --after, --path: critic/posix/ points only)\n"
		"  disable POINT|--all   remove the fault on POINT, or every fault\n"
		"  clear-logs            empty the record of injected failures and crun runs\n"
		"  ctrl                  send one libfiu remote-control command to the process that\n"
		"                        serves BASE-PID.in/.out (as fiu-ctrl -f BASE PID), e.g.\n"
		"                        'enable name=critic/posix/openat,failnum=-1,failinfo=5'\n"
		"  --dir DIR             the lab (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")\n"
		"  --spec FILE           a spec file of your own (CRITIC_FIU_DIR for the wrapper)\n\n"
		"Example: critic fiu enable critic/posix/clone --errno EAGAIN\n"
		"Exit: 0 done, 1 the command failed, 2 usage, 3 no process serves the fifo.\n");
}

static int cli_status(const char *where)
{
	crit_err e;
	err_clear(&e);
	char spec[PATH_MAX];
	if (fault_fiu_spec_path(where, spec, sizeof spec, &e) < 0) {
		fprintf(stderr, "critic fiu: %s\n", e.msg);
		return 1;
	}
	cleanup_free char *text = NULL, *inj = NULL, *runs = NULL;
	if (fault_fiu_spec_text(where, &text, &e) < 0 || fault_fiu_injected(where, &inj, &e) < 0 ||
	    fault_fiu_runs(where, &runs, &e) < 0) {
		fprintf(stderr, "critic fiu: %s\n", e.msg);
		return 1;
	}
	printf("spec: %s\n", spec);
	const char *lab = where && *where ? where : lab_default_dir();
	cleanup_free char *cfgp = util_strdup_printf("%s/config.toml", lab);
	cleanup_free char *cfg = NULL;
	if (util_read_file(cfgp, &cfg, NULL, NULL) == 0)
		printf("handler crun-fiu: %s in %s\n", strstr(cfg, "runtimes.crun-fiu]") ? "registered" : "not registered",
		       cfgp);
	int nf = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (*l != '#') {
			printf("  %s\n", l);
			nf++;
		}
	if (!nf)
		printf("  (no faults)\n");
	int ni = 0, nr = 0;
	for (const char *p = inj; *p; p++)
		ni += *p == '\n';
	for (const char *p = runs; *p; p++)
		nr += *p == '\n';
	printf("crun runs through the wrapper: %d; failures injected: %d\n", nr, ni);
	/* The last few injected failures. */
	const char *tail = inj + strlen(inj);
	for (int k = 0; tail > inj && k <= 5; k++)
		do
			tail--;
		while (tail > inj && tail[-1] != '\n');
	if (*tail)
		printf("%s", tail);
	return 0;
}

int fiu_cli_main(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_SPEC, OPT_PROB, OPT_NTH, OPT_AFTER, OPT_ERRNO, OPT_RETVAL, OPT_PATH, OPT_ALL, OPT_FIFO, OPT_PID };
	static const struct option longopts[] = {
		{ "dir", required_argument, 0, OPT_DIR },       { "spec", required_argument, 0, OPT_SPEC },
		{ "probability", required_argument, 0, OPT_PROB }, { "nth", required_argument, 0, OPT_NTH },
		{ "after", required_argument, 0, OPT_AFTER },   { "errno", required_argument, 0, OPT_ERRNO },
		{ "retval", required_argument, 0, OPT_RETVAL }, { "path", required_argument, 0, OPT_PATH },
		{ "all", no_argument, 0, OPT_ALL },             { "fifo", required_argument, 0, OPT_FIFO },
		{ "pid", required_argument, 0, OPT_PID },       { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *where = NULL, *fifo = NULL;
	fault_fiu_fault f = { 0 };
	bool all = false, have_prob = false, have_nth = false;
	long pid = 0;
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (o) {
		case OPT_DIR:
		case OPT_SPEC:
			where = optarg;
			break;
		case OPT_PROB:
			f.probability = strtod(optarg, &end);
			if (*end || !(f.probability > 0 && f.probability <= 1)) {
				fprintf(stderr, "critic fiu: --probability '%s': give 0 < P <= 1\n", optarg);
				return 2;
			}
			have_prob = true;
			break;
		case OPT_NTH:
		case OPT_AFTER: {
			long v = strtol(optarg, &end, 10);
			if (*end || v < (o == OPT_NTH ? 1 : 0) || v > 1000000) {
				fprintf(stderr, "critic fiu: %s '%s': give a count\n", o == OPT_NTH ? "--nth" : "--after",
					optarg);
				return 2;
			}
			if (o == OPT_NTH) {
				f.nth = (int)v;
				have_nth = true;
			} else {
				f.after = (int)v;
			}
			break;
		}
		case OPT_ERRNO:
			if (!(f.err = fault_fiu_errno(optarg))) {
				fprintf(stderr, "critic fiu: --errno '%s': give a name like ENOSPC or a number\n", optarg);
				return 2;
			}
			break;
		case OPT_RETVAL:
			f.retval = (int)strtol(optarg, &end, 10);
			if (*end || f.retval >= 0) {
				fprintf(stderr, "critic fiu: --retval '%s': give a negative number\n", optarg);
				return 2;
			}
			break;
		case OPT_PATH: f.path_prefix = optarg; break;
		case OPT_ALL: all = true; break;
		case OPT_FIFO: fifo = optarg; break;
		case OPT_PID:
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				fprintf(stderr, "critic fiu: --pid '%s': give a process id\n", optarg);
				return 2;
			}
			break;
		case 'h': cli_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "critic fiu: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "critic fiu: unknown option '%s' (see critic fiu --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		cli_usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	char **args = argv + optind;
	crit_err e;
	err_clear(&e);
	int rc;
	if (!strcmp(cmd, "list")) {
		size_t n;
		const fault_fiu_point *p = fault_fiu_points(&n);
		for (size_t i = 0; i < n; i++)
			printf("%-32s %-15s %s\n", p[i].name, p[i].source, p[i].what);
		return 0;
	}
	if (!strcmp(cmd, "status"))
		return nargs ? (fprintf(stderr, "critic fiu status: no arguments, please\n"), 2) : cli_status(where);
	if (!strcmp(cmd, "enable")) {
		if (nargs != 1 || (have_prob && have_nth)) {
			fprintf(stderr, "critic fiu enable: give one POINT and at most one of --probability, --nth\n");
			return 2;
		}
		f.point = args[0];
		f.mode = have_prob ? FAULT_FIU_PROBABILITY : have_nth ? FAULT_FIU_NTH : FAULT_FIU_ALWAYS;
		rc = fault_fiu_enable(where, &f, &e);
	} else if (!strcmp(cmd, "disable")) {
		if ((nargs != 1) == !all) {
			fprintf(stderr, "critic fiu disable: give one POINT or --all\n");
			return 2;
		}
		rc = fault_fiu_disable(where, all ? NULL : args[0], &e);
	} else if (!strcmp(cmd, "clear-logs")) {
		rc = fault_fiu_clear_logs(where, &e);
	} else if (!strcmp(cmd, "ctrl")) {
		if (!fifo || pid <= 0 || nargs != 1) {
			fprintf(stderr, "critic fiu ctrl: give --fifo BASE, --pid PID and one COMMAND\n");
			return 2;
		}
		rc = fault_fiu_ctrl(fifo, (pid_t)pid, args[0], 2000, &e);
		if (rc == -ESRCH) {
			fprintf(stderr, "critic fiu: %s\n", e.msg);
			return 3;
		}
	} else {
		fprintf(stderr, "critic fiu: unknown command '%s' (see critic fiu --help)\n", cmd);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "critic fiu: %s\n", e.msg);
		return rc == -EINVAL ? 2 : 1;
	}
	return 0;
}
