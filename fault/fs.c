/* fault/fs: break the lab's own file system the way disks break: a kernel-reported error that
 * turns it read-only, a freeze that hangs writers, a full disk; and undo each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lab.h"
#include "util.h"

/* <linux/fs.h> clashes with <sys/mount.h> on older glibc: the two ioctls. */
#ifndef FIFREEZE
#define FIFREEZE _IOWR('X', 119, int)
#endif
#ifndef FITHAW
#define FITHAW _IOWR('X', 120, int)
#endif

#define FILL_PREFIX "critic-fill-"
#define FILL_PROBE_MAX (64ULL << 20) /* bytes the 4 KiB writes may still take */
#define RO_PROBE_NAME ".critic-ro-probe"
#define FULL_BYTES (64ULL << 10)

static void result_init(fault_fs_result *r, const char *what)
{
	memset(r, 0, sizeof *r);
	r->what = what;
	r->e2fsck_exit = -1;
	r->t_action_ms = util_now_ms();
}

/* A program by name: PATH first, then the sbin dirs root usually has. */
static bool tool_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	cleanup_free char *dirs = util_strdup_printf("%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (*d && access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

/* The last lines of a tool's output on one line. */
static void tail_line(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	if (!text)
		return;
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	size_t start = n;
	int lines = 0;
	while (start > 0 && !(text[start - 1] == '\n' && ++lines >= 2))
		start--;
	if (n - start >= len)
		start = n - (len - 1);
	size_t j = 0;
	for (size_t i = start; i < n && j + 3 < len; i++) {
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

/* The lab's loop fs, checked to be critic's. need_mount: it must be
 * mounted now (else only the lab and its image are required). */
static int verify(const char *lab_dir, bool need_mount, lab_loopfs *p, crit_err *e)
{
	if (!lab_dir || !*lab_dir)
		return err_set(e, -EINVAL, "file system fault: no lab dir given");
	int rc = lab_loopfs_probe(lab_dir, p, e);
	if (rc < 0)
		return err_wrap(e, "file system fault");
	cleanup_free char *state = util_strdup_printf("%s/lab.state", p->dir);
	if (!util_exists(state))
		return err_set(e, -ENOENT, "file system fault: %s is not a critic lab (no lab.state): refusing", p->dir);
	if (p->mounted && !p->ours)
		return err_set(e, -EPERM,
			       "file system fault: %s holds %s (%s), not critic's image %s on a loop device: refusing "
			       "to touch it",
			       p->mount, p->source, p->fstype, p->image);
	if (!p->image_exists)
		return err_set(e, -ENOENT,
			       "file system fault: the lab in %s has no loop fs (%s missing): bring it up with the "
			       "loop-fs option (critic lab up --loop-fs, or CRITIC_LAB_LOOPFS=SIZE)",
			       p->dir, p->image);
	if (need_mount && !p->mounted)
		return err_set(e, -ENOENT, "file system fault: the lab's loop fs is not mounted at %s (lab down?)",
			       p->mount);
	return 0;
}

/* An unsigned number from /sys/fs/ext4/NAME/FILE; -1 when unknown. */
static long long ext4_sysfs_num(const char *name, const char *file)
{
	if (!name || !*name)
		return -1;
	char path[160];
	snprintf(path, sizeof path, "/sys/fs/ext4/%.64s/%.40s", name, file);
	cleanup_free char *text = NULL;
	if (util_read_file(path, &text, NULL, NULL) < 0 || !isdigit((unsigned char)text[0]))
		return -1;
	return strtoll(text, NULL, 10);
}

/* Bytes root can still get: statvfs's free blocks less the clusters ext4
 * holds back for its own metadata (sysfs reserved_clusters: writes fail
 * with ENOSPC while statvfs still counts those as free). */
static unsigned long long root_free(const char *path, const char *ext4_name)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	unsigned long long b = (unsigned long long)sv.f_bfree * sv.f_frsize;
	long long resv = ext4_sysfs_num(ext4_name, "reserved_clusters");
	unsigned long long rb = resv > 0 ? (unsigned long long)resv * sv.f_frsize : 0;
	return b > rb ? b - rb : 0;
}

static void size_text(unsigned long long b, char *out, size_t len)
{
	if (b >= (1ULL << 30))
		snprintf(out, len, "%.1f GiB", (double)b / (double)(1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(out, len, "%.1f MiB", (double)b / (double)(1ULL << 20));
	else
		snprintf(out, len, "%llu KiB", b >> 10);
}

/* The lab's loop fs for a fault (see verify), described in r: mount
 * point, device and its options before the fault. */
static int find_fs(const char *lab_dir, bool need_mount, fault_fs_result *r, lab_loopfs *p, crit_err *e)
{
	int rc = verify(lab_dir, need_mount, p, e);
	if (rc < 0)
		return rc;
	snprintf(r->mount, sizeof r->mount, "%s", p->mount);
	snprintf(r->dev, sizeof r->dev, "%s", p->dev);
	snprintf(r->opts_before, sizeof r->opts_before, "%s", p->mounted ? p->sb_opts : "(not mounted)");
	return 0;
}

/* ------------------------------------------------------------ read-only */

int fault_fs_make_readonly(const char *lab_dir, const fault_fs_opts *o, fault_fs_result *r, crit_err *e)
{
	result_init(r, "read-only");
	int timeout = o && o->ro_timeout_ms > 0 ? o->ro_timeout_ms : 5000;
	lab_loopfs p;
	int rc = find_fs(lab_dir, true, r, &p, e);
	if (rc < 0)
		return rc;
	if (p.frozen)
		return err_set(e, -EBUSY, "read-only fault on %s: it is frozen (critic fs thaw first)", p.mount);
	if (p.readonly)
		return err_set(e, -EALREADY, "read-only fault on %s: it is read-only already (%s)", p.mount, p.sb_opts);
	/* The error must remount read-only, never continue or panic. */
	if (!opt_has(p.sb_opts, "errors=remount-ro")) {
		char *argv[] = { "mount", "-o", "remount,errors=remount-ro", p.mount, NULL };
		cleanup_free char *out = NULL;
		rc = util_run(argv, 10000, &out, e);
		lab_loopfs_probe(lab_dir, &p, NULL);
		if (rc != 0 || !opt_has(p.sb_opts, "errors=remount-ro") || !p.ours) {
			char tail[300];
			tail_line(out, tail, sizeof tail);
			return err_set(e, -EINVAL,
				       "read-only fault on %s: errors=remount-ro is not in effect (%s) and remounting "
				       "with it did not take (%s): refusing to trigger an error",
				       p.mount, p.sb_opts, rc < 0 ? err_msg(e) : tail);
		}
	}
	if (!p.sysfs_name[0])
		return err_set(e, -ENODEV, "read-only fault on %s: no block device name for it", p.mount);
	char trigger[128];
	snprintf(trigger, sizeof trigger, "/sys/fs/ext4/%.32s/trigger_fs_error", p.sysfs_name);
	if (access(trigger, W_OK) < 0)
		return err_set(e, -ENOTSUP, "read-only fault on %s: %s: %s (kernel without ext4 error injection?)",
			       p.mount, trigger, strerror(errno));
	if (o && o->sync_first) {
		cleanup_close int mfd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0 || syncfs(mfd) < 0)
			return err_set(e, -errno, "read-only fault: syncfs %s: %s", p.mount, strerror(errno));
	}
	cleanup_close int fd = open(trigger, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "read-only fault: open %s: %s", trigger, strerror(errno));
	r->t_action_ms = util_now_ms();
	if (write(fd, "1\n", 2) < 0)
		return err_set(e, -errno, "read-only fault: write %s: %s", trigger, strerror(errno));
	int64_t end = r->t_action_ms + timeout;
	for (;;) {
		lab_loopfs_probe(lab_dir, &p, NULL);
		r->polls++;
		if (p.readonly)
			break;
		if (util_now_ms() >= end) {
			snprintf(r->opts_after, sizeof r->opts_after, "%s", p.sb_opts);
			return err_set(e, -ETIMEDOUT, "read-only fault on %s: still %s %d ms after %s", p.mount,
				       p.sb_opts, timeout, trigger);
		}
		util_sleep_ms(2);
	}
	r->took_ms = util_now_ms() - r->t_action_ms;
	r->changed = true;
	snprintf(r->opts_after, sizeof r->opts_after, "%s", p.sb_opts);
	if (opt_has(p.mnt_opts, "ro"))
		snprintf(r->opts_after, sizeof r->opts_after, "%.300s (mount: %.200s)", p.sb_opts, p.mnt_opts);
	/* What a writer sees now. */
	cleanup_free char *probe = util_strdup_printf("%s/" RO_PROBE_NAME, p.mount);
	int pfd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (pfd >= 0) {
		close(pfd);
		unlink(probe);
	} else {
		r->write_errno = errno;
	}
	return 0;
}

/* ------------------------------------------------------------ repair */

static fault_fs_step *step_begin(fault_fs_result *r, const char *name)
{
	if (r->n_steps >= FAULT_FS_MAX_STEPS)
		r->n_steps = FAULT_FS_MAX_STEPS - 1;
	fault_fs_step *s = &r->steps[r->n_steps++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->ms = util_now_ms();
	return s;
}

static int step_end(fault_fs_step *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int step_end(fault_fs_step *s, int rc, const char *fmt, ...)
{
	s->ms = util_now_ms() - s->ms;
	s->rc = rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof s->detail, fmt, ap);
	va_end(ap);
	return rc;
}

/* Does link (a /proc symlink) point at or below mnt? */
static bool link_below(const char *link, const char *mnt, size_t ml)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strncmp(target, mnt, ml) && (target[ml] == '/' || target[ml] == '\0');
}

/* Processes whose cwd, root, executable or an open file is on mnt. */
static int fs_holders(const char *mnt, char *desc, size_t dlen)
{
	size_t ml = strlen(mnt);
	int n = 0;
	desc[0] = '\0';
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid == getpid() || !util_pid_alive(pid))
			continue;
		const char *why = NULL;
		static const char *const links[] = { "cwd", "root", "exe" };
		for (size_t i = 0; i < ARRAY_SIZE(links) && !why; i++) {
			char l[64];
			snprintf(l, sizeof l, "/proc/%d/%s", (int)pid, links[i]);
			if (link_below(l, mnt, ml))
				why = links[i];
		}
		char fddir[64];
		snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)pid);
		DIR *fd = why ? NULL : opendir(fddir);
		struct dirent *fe;
		while (fd && !why && (fe = readdir(fd))) {
			char l[PATH_MAX];
			snprintf(l, sizeof l, "%s/%s", fddir, fe->d_name);
			if (fe->d_name[0] != '.' && link_below(l, mnt, ml))
				why = "open file";
		}
		if (fd)
			closedir(fd);
		if (!why)
			continue;
		if (n++ < 4) {
			char cmd[200] = "";
			util_pid_cmdline(pid, cmd, sizeof cmd);
			size_t l = strlen(desc);
			snprintf(desc + l, dlen - l, "%spid %d (%.80s: %s)", l ? ", " : "", (int)pid, cmd, why);
		}
	}
	closedir(d);
	return n;
}

int fault_fs_repair(const char *lab_dir, rtctl *rt, const fault_fs_opts *o, fault_fs_result *r, crit_err *e)
{
	result_init(r, "repair");
	int fsck_ms = o && o->fsck_timeout_ms > 0 ? o->fsck_timeout_ms : 300000;
	lab_loopfs p;
	int rc = find_fs(lab_dir, false, r, &p, e);
	if (rc < 0)
		return rc;
	if (rt && (!rtctl_is_lab(rt) || strcmp(rtctl_lab_dir(rt), p.dir) != 0))
		return err_set(e, -EINVAL, "repair %s: the runtime control given is %s, not the lab in %s", p.mount,
			       rtctl_describe(rt), p.dir);
	/* The runtime must be stopped by the caller. */
	lab_info info;
	pid_t pid = lab_status(p.dir, &info, NULL) >= 0 ? info.containerd_pid : 0;
	if (pid <= 0 && rt)
		pid = rtctl_pid(rt, NULL);
	if (pid > 0)
		return err_set(e, -EBUSY, "repair %s: the lab's containerd (pid %d) still runs on it: stop it first",
			       p.mount, (int)pid);
	fault_fs_step *s;
	if (p.mounted && p.frozen) {
		s = step_begin(r, "thaw");
		fault_fs_result tr;
		rc = fault_fs_thaw(p.dir, &tr, e);
		step_end(s, rc, "%s", rc < 0 ? err_msg(e) : tr.changed ? "was frozen: thawed" : "was not frozen");
		if (rc < 0)
			return rc;
	}
	if (p.mounted) {
		s = step_begin(r, "holders");
		char who[600];
		int n = fs_holders(p.mount, who, sizeof who);
		step_end(s, 0, "%d mount%s below %s, %d process%s%s%s", p.submounts, p.submounts == 1 ? "" : "s",
			 p.mount, n, n == 1 ? "" : "es", n ? ": " : "", who);
		if (p.submounts || n) {
			if (!rt)
				return err_set(e, -EBUSY, "repair %s: still held (%s): take the lab down first",
					       p.mount, s->detail);
			s = step_begin(r, "lab down");
			rc = rtctl_lab_down(rt, e);
			step_end(s, rc, "%s", rc < 0 ? err_msg(e) : "the lab's containers, shims and mounts are gone");
			if (rc < 0)
				return err_wrap(e, "repair %s", p.mount);
		}
	}
	s = step_begin(r, "unmount");
	lab_loopfs now;
	lab_loopfs_probe(p.dir, &now, NULL);
	bool was_mounted = now.mounted;
	char dev_before[32];
	snprintf(dev_before, sizeof dev_before, "%s", now.dev);
	rc = lab_loopfs_unmount(p.dir, e);
	lab_loopfs_probe(p.dir, &now, NULL);
	if (rc == 0 && (now.mounted || now.dev[0]))
		rc = err_set(e, -EBUSY, "%s is still %s", now.mount, now.mounted ? "mounted" : "attached");
	step_end(s, rc, "%s", rc < 0               ? err_msg(e)
			     : was_mounted          ? "unmounted, loop device detached"
			     : dev_before[0]        ? "was not mounted; loop device detached"
						    : "not mounted (the lab down did it)");
	if (rc < 0)
		return err_wrap(e, "repair %s", p.mount);

	s = step_begin(r, "e2fsck");
	char fsck[PATH_MAX];
	if (!tool_path("e2fsck", fsck, sizeof fsck))
		return step_end(s, err_set(e, -ENOENT, "repair: e2fsck not found (install e2fsprogs)"), "not found");
	char *argv[] = { fsck, "-f", "-y", p.image, NULL };
	cleanup_free char *out = NULL;
	rc = util_run(argv, fsck_ms, &out, e);
	r->e2fsck_exit = rc;
	char tail[300];
	tail_line(out, tail, sizeof tail);
	if (rc < 0)
		return step_end(s, err_wrap(e, "repair %s", p.image), "%s", err_msg(e));
	/* 0 clean, 1 errors fixed, 2 fixed (reboot advised): usable; 4 and up not. */
	if (rc >= 4)
		return step_end(s, err_set(e, -EUCLEAN, "repair: e2fsck -fy %s exited with %d: %s", p.image, rc, tail),
				"exit %d: %s", rc, tail);
	step_end(s, 0, "exit %d (%s): %s", rc, rc == 0 ? "clean" : "errors fixed", tail);

	s = step_begin(r, "mount");
	rc = lab_loopfs_mount(p.dir, &now, e);
	if (rc == 0 && now.readonly)
		rc = err_set(e, -EROFS, "repair: %s is read-only right after mounting it (%s)", now.mount, now.sb_opts);
	step_end(s, rc, "%s", rc < 0 ? err_msg(e) : now.sb_opts);
	if (rc < 0)
		return err_wrap(e, "repair %s", p.mount);
	snprintf(r->dev, sizeof r->dev, "%s", now.dev);
	snprintf(r->opts_after, sizeof r->opts_after, "%s", now.sb_opts);
	r->changed = true;
	r->took_ms = util_now_ms() - r->t_action_ms;
	return 0;
}

/* ------------------------------------------------------------ freeze */

int fault_fs_freeze(const char *lab_dir, fault_fs_result *r, crit_err *e)
{
	result_init(r, "freeze");
	lab_loopfs p;
	int rc = find_fs(lab_dir, true, r, &p, e);
	if (rc < 0)
		return rc;
	if (p.frozen)
		return err_set(e, -EALREADY, "freeze %s: critic froze it already", p.mount);
	cleanup_close int fd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "freeze: open %s: %s", p.mount, strerror(errno));
	r->t_action_ms = util_now_ms();
	if (ioctl(fd, FIFREEZE, 0) < 0) {
		rc = -errno;
		return err_set(e, rc, "freeze %s: FIFREEZE: %s%s", p.mount, strerror(-rc),
			       rc == -EBUSY ? " (frozen already, not by critic)" : "");
	}
	r->took_ms = util_now_ms() - r->t_action_ms;
	r->changed = true;
	cleanup_free char *marker = util_strdup_printf("%s/" LAB_LOOPFS_FROZEN, p.dir);
	cleanup_free char *text = util_strdup_printf("# critic froze %s; critic fs thaw (or lab down) thaws it\n"
						     "pid=%d\nwall_ns=%lld\nmount=%s\n",
						     p.mount, (int)getpid(), (long long)util_wall_ns(), p.mount);
	if ((rc = util_write_file(marker, text, strlen(text), 0644, e)) < 0) {
		ioctl(fd, FITHAW, 0); /* never leave it frozen without the marker */
		return err_wrap(e, "freeze %s (thawed again)", p.mount);
	}
	snprintf(r->opts_after, sizeof r->opts_after, "%s", p.sb_opts);
	return 0;
}

int fault_fs_thaw(const char *lab_dir, fault_fs_result *r, crit_err *e)
{
	result_init(r, "thaw");
	lab_loopfs p;
	int rc = find_fs(lab_dir, false, r, &p, e);
	if (rc < 0)
		return rc;
	cleanup_free char *marker = util_strdup_printf("%s/" LAB_LOOPFS_FROZEN, p.dir);
	if (p.mounted) {
		cleanup_close int fd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return err_set(e, -errno, "thaw: open %s: %s", p.mount, strerror(errno));
		if (ioctl(fd, FITHAW, 0) == 0)
			r->changed = true;
		else if (errno != EINVAL) /* EINVAL: it was not frozen */
			return err_set(e, -errno, "thaw %s: FITHAW: %s", p.mount, strerror(errno));
	}
	r->took_ms = util_now_ms() - r->t_action_ms;
	if (unlink(marker) < 0 && errno != ENOENT)
		return err_set(e, -errno, "thaw: remove %s: %s", marker, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ fill */

/* "critic-fill-<digits>"; its number, or -1. */
static long fill_number(const char *name)
{
	if (!util_has_prefix(name, FILL_PREFIX))
		return -1;
	const char *d = name + strlen(FILL_PREFIX);
	if (!*d || strlen(d) > 9)
		return -1;
	for (const char *q = d; *q; q++)
		if (!isdigit((unsigned char)*q))
			return -1;
	return atol(d);
}

static long fill_next(int dirfd)
{
	int dup_fd = dup(dirfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	long next = 1;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long n = fill_number(de->d_name);
		if (n >= next)
			next = n + 1;
	}
	if (d)
		closedir(d);
	else if (dup_fd >= 0)
		close(dup_fd);
	return next;
}

/* A new fill file; its fd, or a negative code. */
static int fill_open(int dirfd, long n, char *name, size_t len, crit_err *e)
{
	snprintf(name, len, FILL_PREFIX "%ld", n);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, -errno, "fill: create %s: %s", name, strerror(errno));
	return fd;
}

static unsigned long long file_bytes(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (unsigned long long)st.st_blocks * 512ULL : 0;
}

int fault_fs_fill(const char *lab_dir, const fault_fs_opts *o, fault_fs_result *r, crit_err *e)
{
	result_init(r, "fill");
	int timeout = o && o->fill_timeout_ms > 0 ? o->fill_timeout_ms : 60000;
	if (geteuid() != 0)
		return err_set(e, -EPERM, "fill: needs root (a write as root must fail, the ext4 reserve included)");
	lab_loopfs p;
	int rc = find_fs(lab_dir, true, r, &p, e);
	if (rc < 0)
		return rc;
	if (p.frozen)
		return err_set(e, -EBUSY, "fill %s: it is frozen (writes would hang): thaw it first", p.mount);
	if (p.readonly)
		return err_set(e, -EROFS, "fill %s: it is read-only (%s)", p.mount, p.sb_opts);
	cleanup_close int dirfd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(e, -errno, "fill: open %s: %s", p.mount, strerror(errno));
	r->free_before = root_free(p.mount, p.sysfs_name);
	int64_t end = r->t_action_ms + timeout;
	long n = fill_next(dirfd);
	char name[64];
	/* Kept open to the end: with fill_leave_bytes it gives space back. */
	cleanup_close int fd = fill_open(dirfd, n, name, sizeof name, e);
	if (fd < 0)
		return fd;
	r->files = 1;
	/* fallocate: big chunks first, halved on ENOSPC down to 4 KiB. */
	unsigned long long chunk = r->free_before & ~((1ULL << 20) - 1);
	if (chunk < 4096)
		chunk = 4096;
	off_t off = 0;
	while (util_now_ms() < end) {
		if (fallocate(fd, 0, off, (off_t)chunk) == 0) {
			off += (off_t)chunk;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != ENOSPC) {
			rc = err_set(e, -errno, "fill: fallocate %s/%s: %s", p.mount, name, strerror(errno));
			break;
		}
		if (chunk <= 4096)
			break;
		chunk = (chunk / 2) & ~4095ULL;
		if (chunk < 4096)
			chunk = 4096;
	}
	r->bytes = file_bytes(fd);
	if (rc < 0)
		return rc;
	/* The proof: 4 KiB writes as root into a new file until one fails. */
	int wfd = fill_open(dirfd, n + 1, name, sizeof name, e);
	if (wfd < 0)
		return wfd;
	char buf[4096];
	memset(buf, 0xc5, sizeof buf);
	unsigned long long wrote = 0;
	r->write_errno = 0;
	while (wrote < FILL_PROBE_MAX && util_now_ms() < end) {
		ssize_t w = pwrite(wfd, buf, sizeof buf, (off_t)wrote);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r->write_errno = errno;
			break;
		}
		wrote += (unsigned long long)w;
	}
	if (!r->write_errno && fsync(wfd) < 0)
		r->write_errno = errno;
	r->bytes += file_bytes(wfd);
	close(wfd);
	if (wrote == 0 && r->write_errno)
		unlinkat(dirfd, name, 0);
	else
		r->files++;
	unsigned long long leave = o ? o->fill_leave_bytes : 0;
	if (r->write_errno == ENOSPC && leave) {
		/* Full, proven; now a little room, less than what comes next. */
		off_t size = (off_t)file_bytes(fd);
		off_t keep = size > (off_t)leave ? (size - (off_t)leave) & ~(off_t)4095 : 0;
		if (ftruncate(fd, keep) < 0 || fsync(fd) < 0)
			return err_set(e, -errno, "fill: give back %llu bytes in %s: %s", leave, p.mount, strerror(errno));
		r->bytes -= (unsigned long long)(size - keep);
	}
	r->free_after = root_free(p.mount, p.sysfs_name);
	r->took_ms = util_now_ms() - r->t_action_ms;
	r->changed = true;
	if (r->write_errno != ENOSPC)
		return err_set(e, r->write_errno ? -r->write_errno : -ETIMEDOUT,
			       "fill %s: a 4 KiB write as root %s after %llu bytes (%s)", p.mount,
			       r->write_errno ? "failed otherwise" : "still succeeded", r->bytes,
			       r->write_errno ? strerror(r->write_errno) : "out of time or probe budget");
	return 0;
}

int fault_fs_free(const char *lab_dir, fault_fs_result *r, crit_err *e)
{
	result_init(r, "free");
	lab_loopfs p;
	int rc = find_fs(lab_dir, true, r, &p, e);
	if (rc < 0)
		return rc;
	if (p.frozen)
		return err_set(e, -EBUSY, "free %s: it is frozen (unlink would hang): thaw it first", p.mount);
	cleanup_close int dirfd = open(p.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(e, -errno, "free: open %s: %s", p.mount, strerror(errno));
	r->free_before = root_free(p.mount, p.sysfs_name);
	int dup_fd = dup(dirfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return err_set(e, -errno, "free: read %s: %s", p.mount, strerror(errno));
	}
	struct dirent *de;
	int failed = 0;
	while ((de = readdir(d))) {
		if (fill_number(de->d_name) < 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0) {
			if (!failed++)
				rc = err_set(e, -errno, "free: remove %s/%s: %s", p.mount, de->d_name, strerror(errno));
			continue;
		}
		r->files++;
		r->bytes += (unsigned long long)st.st_blocks * 512ULL;
	}
	closedir(d);
	r->changed = r->files > 0;
	r->free_after = root_free(p.mount, p.sysfs_name);
	r->took_ms = util_now_ms() - r->t_action_ms;
	return failed ? rc : 0;
}

/* ------------------------------------------------------------ state */

static void unescape(char *s)
{
	char *o = s;
	for (char *q = s; *q; q++) {
		if (q[0] == '\\' && q[1] >= '0' && q[1] <= '3' && q[2] >= '0' && q[2] <= '7' && q[3] >= '0' &&
		    q[3] <= '7') {
			*o++ = (char)((q[1] - '0') * 64 + (q[2] - '0') * 8 + (q[3] - '0'));
			q += 3;
		} else {
			*o++ = *q;
		}
	}
	*o = '\0';
}

int fault_fs_state(const char *path, fault_fs_facts *f, crit_err *e)
{
	memset(f, 0, sizeof *f);
	if (!path || !*path)
		return err_set(e, -EINVAL, "file system state: no path");
	if (!realpath(path, f->path))
		return err_set(e, -errno, "file system state of %s: %s", path, strerror(errno));
	cleanup_fclose FILE *mi = fopen("/proc/self/mountinfo", "re");
	if (!mi)
		return err_set(e, -errno, "file system state: /proc/self/mountinfo: %s", strerror(errno));
	/* The deepest mount point above the path (the last listed of equals). */
	size_t best = 0;
	char line[8192];
	unsigned dmaj = 0, dmin = 0;
	while (fgets(line, sizeof line, mi)) {
		char mp[PATH_MAX], mo[256], fstype[32], src[256], so[512] = "";
		unsigned maj, min;
		if (sscanf(line, "%*s %*s %u:%u %*s %4095s %255s", &maj, &min, mp, mo) != 4)
			continue;
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s %255s %511s", fstype, src, so) < 2)
			continue;
		unescape(mp);
		size_t l = strlen(mp);
		bool above = !strcmp(mp, "/") || (!strncmp(f->path, mp, l) && (f->path[l] == '/' || !f->path[l]));
		if (!above || l < best)
			continue;
		best = l;
		dmaj = maj;
		dmin = min;
		unescape(src);
		snprintf(f->mount, sizeof f->mount, "%s", mp);
		snprintf(f->mnt_opts, sizeof f->mnt_opts, "%s", mo);
		snprintf(f->fstype, sizeof f->fstype, "%s", fstype);
		snprintf(f->source, sizeof f->source, "%s", src);
		snprintf(f->sb_opts, sizeof f->sb_opts, "%s", so);
	}
	if (!f->mount[0])
		return err_set(e, -ENOENT, "file system state of %s: no mount above it", f->path);
	f->emergency_ro = opt_has(f->sb_opts, "emergency_ro");
	f->readonly = f->emergency_ro || opt_has(f->mnt_opts, "ro") || opt_has(f->sb_opts, "ro");
	/* ext4 names its sysfs dir after the block device ("loop0"). */
	char ext4_name[64] = "";
	f->errors_count = -1;
	if (!strcmp(f->fstype, "ext4")) {
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof link, "/sys/dev/block/%u:%u", dmaj, dmin);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n > 0) {
			target[n] = '\0';
			const char *base = strrchr(target, '/');
			snprintf(ext4_name, sizeof ext4_name, "%.63s", base ? base + 1 : target);
		}
		f->errors_count = ext4_sysfs_num(ext4_name, "errors_count");
	}
	struct statvfs sv;
	if (statvfs(f->path, &sv) == 0) {
		f->size_bytes = (unsigned long long)sv.f_blocks * sv.f_frsize;
		f->free_bytes = root_free(f->path, ext4_name);
		f->avail_bytes = (unsigned long long)sv.f_bavail * sv.f_frsize;
		f->files_free = sv.f_ffree;
		if (sv.f_flag & ST_RDONLY)
			f->readonly = true;
		f->full = f->free_bytes < FULL_BYTES;
	}
	/* A critic lab's loop fs: DIR/fs with DIR/disk.img behind it. */
	size_t ml = strlen(f->mount);
	if (ml > 3 && !strcmp(f->mount + ml - 3, "/" LAB_LOOPFS_MOUNT)) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%.*s", (int)(ml - 3), f->mount);
		lab_loopfs p;
		if (lab_loopfs_probe(dir, &p, NULL) == 0 && p.mounted && p.ours && !strcmp(p.mount, f->mount)) {
			f->critic = true;
			f->frozen = p.frozen;
			snprintf(f->lab_dir, sizeof f->lab_dir, "%s", p.dir);
		}
	}
	return 0;
}

void fault_fs_facts_describe(const fault_fs_facts *f, char *buf, size_t len)
{
	char fr[32], sz[32];
	size_text(f->free_bytes, fr, sizeof fr);
	size_text(f->size_bytes, sz, sizeof sz);
	char errs[48] = "";
	if (f->errors_count > 0)
		snprintf(errs, sizeof errs, ", %lld error%s recorded", f->errors_count, f->errors_count == 1 ? "" : "s");
	snprintf(buf, len, "%s: %s on %s%s: %s (%s), %s, %s free for root of %s%s%s", f->mount, f->fstype, f->source,
		 f->critic ? " (critic's lab loop fs)" : "", f->readonly ? "read-only" : "read-write", f->sb_opts,
		 !f->critic ? "frozen unknown" : f->frozen ? "frozen" : "not frozen", fr, sz, f->full ? " (full)" : "",
		 errs);
}

void fault_fs_describe(const fault_fs_result *r, char *buf, size_t len)
{
	char a[32], b[32], c[32];
	if (!strcmp(r->what, "read-only")) {
		snprintf(buf, len, "read-only after %lld ms (%d polls): %s -> %s; create: %s", (long long)r->took_ms,
			 r->polls, r->opts_before, r->opts_after, r->write_errno ? strerror(r->write_errno) : "succeeded");
	} else if (!strcmp(r->what, "fill")) {
		size_text(r->bytes, a, sizeof a);
		size_text(r->free_before, b, sizeof b);
		size_text(r->free_after, c, sizeof c);
		snprintf(buf, len, "filled %s with %d file%s, %s in %lld ms (free for root %s -> %s); 4 KiB write as root: %s",
			 r->mount, r->files, r->files == 1 ? "" : "s", a, (long long)r->took_ms, b, c,
			 r->write_errno ? strerror(r->write_errno) : "succeeded");
	} else if (!strcmp(r->what, "free")) {
		size_text(r->bytes, a, sizeof a);
		size_text(r->free_after, c, sizeof c);
		snprintf(buf, len, "removed %d fill file%s (%s) from %s; free for root now %s", r->files,
			 r->files == 1 ? "" : "s", a, r->mount, c);
	} else if (!strcmp(r->what, "repair")) {
		size_t l = (size_t)snprintf(buf, len, "repair of %s in %lld ms:", r->mount, (long long)r->took_ms);
		for (int i = 0; i < r->n_steps && l < len; i++)
			l += (size_t)snprintf(buf + l, len - l, " [%s %lld ms%s: %s]", r->steps[i].name,
					      (long long)r->steps[i].ms, r->steps[i].rc ? " FAILED" : "",
					      r->steps[i].detail);
	} else if (!strcmp(r->what, "freeze")) {
		snprintf(buf, len, "froze %s in %lld ms (FIFREEZE syncs it first)", r->mount, (long long)r->took_ms);
	} else {
		snprintf(buf, len, "%s %s: %s", r->what, r->mount, r->changed ? "thawed" : "was not frozen");
	}
}

/* ------------------------------------------------------------ CLI */

static volatile sig_atomic_t cli_stop;
static void cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

static void cli_usage(FILE *out)
{
	fprintf(out,
		"usage: critic fs [--dir DIR] COMMAND [options]\n"
		"Faults on the file system under the lab's containerd: the loop-mounted ext4\n"
		"DIR/disk.img at DIR/fs that `critic lab up --loop-fs` (or CRITIC_LAB_LOOPFS=SIZE)\n"
		"makes. Nothing else is ever touched.\n"
		"  state               rw/ro, frozen, free space of DIR/fs\n"
		"  readonly            a disk error (ext4 trigger_fs_error): the kernel makes it read-only\n"
		"      --timeout MS    wait this long for it to show (default 5000)\n"
		"      --sync          flush it first (else unwritten data is lost, as on a real disk)\n"
		"  repair              stop the runtime, unmount, e2fsck -fy, mount, start the runtime\n"
		"      --no-start      leave the runtime stopped\n"
		"  freeze              fsfreeze: writers hang until thawed\n"
		"      --for SECONDS   thaw again after that long (and on Ctrl-C)\n"
		"  thaw                undo freeze\n"
		"  fill                fill it until a 4 KiB write as root fails with ENOSPC\n"
		"  free                remove the fill files\n"
		"  --dir DIR           lab directory (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")\n");
}

int fs_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },  { "timeout", required_argument, NULL, 't' },
		{ "for", required_argument, NULL, 'f' },  { "no-start", no_argument, NULL, 'n' },
		{ "sync", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	int timeout_ms = 0, for_s = -1;
	bool no_start = false, sync_first = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "d:t:f:nsh", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': dir = optarg; break;
		case 't':
			timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || timeout_ms <= 0) {
				fprintf(stderr, "critic fs: --timeout %s: not a number of milliseconds\n", optarg);
				return 2;
			}
			break;
		case 'f':
			for_s = (int)strtol(optarg, &end, 10);
			if (*end || for_s < 0) {
				fprintf(stderr, "critic fs: --for %s: not a number of seconds\n", optarg);
				return 2;
			}
			break;
		case 'n': no_start = true; break;
		case 's': sync_first = true; break;
		case 'h': cli_usage(stdout); return 0;
		default: cli_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		cli_usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	if (!dir)
		dir = lab_default_dir();
	crit_err e;
	err_clear(&e);
	fault_fs_result r;
	fault_fs_opts o = { .ro_timeout_ms = timeout_ms, .sync_first = sync_first };
	char line[4096];
	int rc;
	if (!strcmp(cmd, "state")) {
		lab_loopfs p;
		if ((rc = verify(dir, true, &p, &e)) == 0) {
			fault_fs_facts f;
			if ((rc = fault_fs_state(p.mount, &f, &e)) == 0) {
				fault_fs_facts_describe(&f, line, sizeof line);
				printf("%s\n", line);
			}
		}
	} else if (!strcmp(cmd, "readonly")) {
		rc = fault_fs_make_readonly(dir, &o, &r, &e);
	} else if (!strcmp(cmd, "freeze")) {
		rc = fault_fs_freeze(dir, &r, &e);
		if (rc == 0 && for_s >= 0) {
			fault_fs_describe(&r, line, sizeof line);
			printf("%s; thawing in %d s\n", line, for_s);
			fflush(stdout);
			struct sigaction sa = { .sa_handler = cli_on_signal };
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			for (int64_t end = util_now_ms() + (int64_t)for_s * 1000; !cli_stop && util_now_ms() < end;)
				util_sleep_ms(50);
			rc = fault_fs_thaw(dir, &r, &e);
		} else if (rc == 0) {
			fault_fs_describe(&r, line, sizeof line);
			printf("%s; thaw with: critic fs --dir %s thaw\n", line, dir);
			return 0;
		}
	} else if (!strcmp(cmd, "thaw")) {
		rc = fault_fs_thaw(dir, &r, &e);
	} else if (!strcmp(cmd, "fill")) {
		rc = fault_fs_fill(dir, &o, &r, &e);
	} else if (!strcmp(cmd, "free")) {
		rc = fault_fs_free(dir, &r, &e);
	} else if (!strcmp(cmd, "repair")) {
		rtctl *rt = NULL;
		lab_loopfs p;
		if ((rc = verify(dir, false, &p, &e)) == 0 && (rc = rtctl_from_lab(&rt, dir, &e)) == 0 &&
		    (rc = rtctl_stop(rt, &e)) == 0 && (rc = fault_fs_repair(dir, rt, &o, &r, &e)) == 0 && !no_start) {
			fault_fs_describe(&r, line, sizeof line);
			printf("%s\n", line);
			fflush(stdout);
			if ((rc = rtctl_start(rt, &e)) == 0)
				printf("runtime started again: %s\n", rtctl_endpoint(rt));
			rtctl_free(rt);
			if (rc < 0)
				fprintf(stderr, "critic fs repair: %s\n", e.msg);
			return rc < 0 ? 1 : 0;
		}
		rtctl_free(rt);
		if (rc < 0 && r.n_steps) {
			fault_fs_describe(&r, line, sizeof line);
			fprintf(stderr, "%s\n", line);
		}
	} else {
		fprintf(stderr, "critic fs: unknown command '%s'\n", cmd);
		cli_usage(stderr);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "critic fs %s: %s\n", cmd, e.msg);
		return 1;
	}
	if (strcmp(cmd, "state") != 0) {
		fault_fs_describe(&r, line, sizeof line);
		printf("%s\n", line);
	}
	return 0;
}
