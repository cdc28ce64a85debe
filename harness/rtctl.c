/* rtctl: who the runtime under test is and how to stop and start it.
 * The lab is driven through lab_up/lab_down (in a fresh critic process when
 * one can be found); an external runtime through the user's commands. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "rtctl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "endpoint.h"
#include "lab.h"
#include "util.h"

struct rtctl {
	bool lab;
	char lab_dir[PATH_MAX];
	char endpoint[EP_MAX];
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* External runtime: the pid last known to be it, and its start time
	 * (field 22 of /proc/PID/stat) so a reused pid is told apart. */
	pid_t pid;
	unsigned long long pid_start;
	char pidfile[PATH_MAX];
	char *start_cmd;
	char *stop_cmd;
	int start_timeout_ms;
	int stop_timeout_ms;
	char critic_exe[PATH_MAX]; /* "" = run lab_up/lab_down in this process */
	char desc[PATH_MAX + 128];
	char *last_out;
};

/* ------------------------------------------------------------ /proc helpers */

/* Start time of a process in clock ticks since boot; 0 when unknown. */
static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	/* Fields after the command (which may hold spaces and parens): the
	 * state is field 3, the start time field 22. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	return strtoull(p, NULL, 10);
}

/* The inode of the listening unix socket bound to path (as recorded at
 * bind time: a socket file renamed since still shows its first name), or 0. */
static unsigned long listen_inode(const char *path)
{
	cleanup_fclose FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0;
	char line[512];
	unsigned long found = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long flags = 0, inode = 0;
		unsigned type = 0, st = 0;
		int off = 0;
		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %lx %x %x %lu %n", &flags, &type, &st, &inode, &off) < 4 || off == 0)
			continue;
		char *name = line + off;
		name[strcspn(name, "\n")] = '\0';
		if ((flags & 0x10000) && !strcmp(name, path)) { /* __SO_ACCEPTCON: listening */
			found = inode;
			break;
		}
	}
	return found;
}

/* The process holding the listening socket at path; 0 when none. pid 1
 * (a socket-activating init holds the socket too) is taken only when no
 * other process has it. */
static pid_t socket_owner(const char *path)
{
	unsigned long ino = listen_inode(path);
	if (!ino)
		return 0;
	char want[64];
	snprintf(want, sizeof want, "socket:[%lu]", ino);
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t owner = 0;
	bool init_has = false;
	struct dirent *de;
	while (!owner && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid == getpid())
			continue;
		char fddir[64];
		snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)pid);
		DIR *fd = opendir(fddir);
		if (!fd)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fd))) {
			if (fe->d_name[0] == '.')
				continue;
			char link[PATH_MAX], target[128];
			snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
			ssize_t n = readlink(link, target, sizeof target - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, want) != 0)
				continue;
			if (pid == 1)
				init_has = true;
			else if (util_pid_alive(pid))
				owner = pid;
			break;
		}
		closedir(fd);
	}
	closedir(d);
	return owner ? owner : init_has ? 1 : 0;
}

/* ------------------------------------------------------------ open / free */

static void find_critic(char *out, size_t len)
{
	out[0] = '\0';
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	if (!strcmp(slash + 1, "critic")) {
		snprintf(out, len, "%s", exe);
		return;
	}
	*slash = '\0';
	char sib[PATH_MAX];
	if (snprintf(sib, sizeof sib, "%s/critic", exe) < (int)sizeof sib && access(sib, X_OK) == 0)
		snprintf(out, len, "%s", sib);
}

static bool blank(const char *s)
{
	return !s || !*s;
}

int rtctl_open(rtctl **out, const rtctl_config *cfg, crit_err *e)
{
	*out = NULL;
	if (!cfg)
		return err_set(e, -EINVAL, "runtime control: no configuration");
	bool lab = !blank(cfg->lab_dir);
	if (lab == !blank(cfg->endpoint))
		return err_set(e, -EINVAL, "runtime control: give either a lab dir or an external endpoint%s",
			       lab ? ", not both" : "");
	if (lab && (cfg->pid || !blank(cfg->pidfile) || !blank(cfg->start_cmd) || !blank(cfg->stop_cmd)))
		return err_set(e, -EINVAL,
			       "runtime control: the lab in %s is started and stopped by critic; a runtime pid, "
			       "pidfile or start/stop command is for an external runtime",
			       cfg->lab_dir);
	if (cfg->pid < 0)
		return err_set(e, -EINVAL, "runtime control: runtime pid %d is not a pid", (int)cfg->pid);
	rtctl *rt = calloc(1, sizeof *rt);
	if (!rt)
		return err_set(e, -ENOMEM, "runtime control: out of memory");
	rt->lab = lab;
	rt->stop_timeout_ms = cfg->stop_timeout_ms > 0 ? cfg->stop_timeout_ms : RTCTL_STOP_TIMEOUT_MS;
	rt->start_timeout_ms = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms
			       : lab                     ? RTCTL_LAB_START_TIMEOUT_MS
							 : RTCTL_START_TIMEOUT_MS;
	int rc = 0;
	char path[PATH_MAX];
	if (lab) {
		lab_info info;
		if ((rc = lab_status(cfg->lab_dir, &info, e)) < 0)
			goto fail;
		rc = 0;
		snprintf(rt->lab_dir, sizeof rt->lab_dir, "%s", info.dir);
		if ((rc = ep_parse(info.endpoint, rt->endpoint, sizeof rt->endpoint, path, sizeof path, e)) < 0)
			goto fail;
		if (!blank(cfg->critic_exe))
			snprintf(rt->critic_exe, sizeof rt->critic_exe, "%s", cfg->critic_exe);
		else
			find_critic(rt->critic_exe, sizeof rt->critic_exe);
		snprintf(rt->desc, sizeof rt->desc, "containerd of critic's lab in %s", rt->lab_dir);
	} else {
		if ((rc = ep_parse(cfg->endpoint, rt->endpoint, sizeof rt->endpoint, path, sizeof path, e)) < 0) {
			err_wrap(e, "runtime control");
			goto fail;
		}
		if (!blank(cfg->pidfile))
			snprintf(rt->pidfile, sizeof rt->pidfile, "%s", cfg->pidfile);
		if (cfg->pid > 0) {
			rt->pid = cfg->pid;
			if (!util_pid_alive(cfg->pid)) {
				rc = err_set(e, -ESRCH, "runtime pid %d: no such running process", (int)cfg->pid);
				goto fail;
			}
			rt->pid_start = proc_start_time(cfg->pid);
		}
		if ((!blank(cfg->start_cmd) && !(rt->start_cmd = strdup(cfg->start_cmd))) ||
		    (!blank(cfg->stop_cmd) && !(rt->stop_cmd = strdup(cfg->stop_cmd)))) {
			rc = err_set(e, -ENOMEM, "runtime control: out of memory");
			goto fail;
		}
		if (rt->pidfile[0])
			snprintf(rt->desc, sizeof rt->desc, "the runtime behind %.600s (pidfile %.3000s)", rt->endpoint,
				 rt->pidfile);
		else if (rt->pid)
			snprintf(rt->desc, sizeof rt->desc, "the runtime behind %.600s (pid %d)", rt->endpoint,
				 (int)rt->pid);
		else
			snprintf(rt->desc, sizeof rt->desc, "the runtime behind %.600s", rt->endpoint);
	}
	if (strlen(path) >= sizeof rt->sock) {
		rc = err_set(e, -ENAMETOOLONG, "runtime control: socket path %s is too long for a unix socket", path);
		goto fail;
	}
	snprintf(rt->sock, sizeof rt->sock, "%s", path);
	*out = rt;
	return 0;
fail:
	rtctl_free(rt);
	return rc;
}

int rtctl_from_lab(rtctl **out, const char *dir, crit_err *e)
{
	rtctl_config cfg = { .lab_dir = dir && *dir ? dir : lab_default_dir() };
	return rtctl_open(out, &cfg, e);
}

int rtctl_external(rtctl **out, const char *endpoint, pid_t pid, const char *pidfile, const char *start_cmd,
		   const char *stop_cmd, crit_err *e)
{
	rtctl_config cfg = { .endpoint = endpoint, .pid = pid, .pidfile = pidfile, .start_cmd = start_cmd,
			     .stop_cmd = stop_cmd };
	return rtctl_open(out, &cfg, e);
}

void rtctl_free(rtctl *rt)
{
	if (!rt)
		return;
	free(rt->start_cmd);
	free(rt->stop_cmd);
	free(rt->last_out);
	free(rt);
}

bool rtctl_is_lab(const rtctl *rt) { return rt->lab; }
const char *rtctl_socket(const rtctl *rt) { return rt->sock; }
const char *rtctl_endpoint(const rtctl *rt) { return rt->endpoint; }
const char *rtctl_lab_dir(const rtctl *rt) { return rt->lab ? rt->lab_dir : ""; }
const char *rtctl_describe(const rtctl *rt) { return rt->desc; }
const char *rtctl_last_output(const rtctl *rt) { return rt->last_out ? rt->last_out : ""; }

/* ------------------------------------------------------------ pid */

static int read_pidfile(const char *path, pid_t *pid, crit_err *e)
{
	*pid = 0;
	cleanup_free char *text = NULL;
	int rc = util_read_file(path, &text, NULL, NULL);
	if (rc == -ENOENT)
		return 0; /* a stopped service often removes its pidfile */
	if (rc < 0)
		return err_set(e, rc, "runtime pidfile %s: %s", path, strerror(-rc));
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0; /* empty: being rewritten, or the service is down */
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (end == p || errno || *end || v <= 0 || v > INT_MAX)
		return err_set(e, -EINVAL, "runtime pidfile %s: \"%.40s\" is not a pid", path, text);
	*pid = (pid_t)v;
	return 0;
}

pid_t rtctl_pid(rtctl *rt, crit_err *e)
{
	if (rt->lab) {
		lab_info info;
		int rc = lab_status(rt->lab_dir, &info, e);
		if (rc < 0)
			return rc;
		return info.containerd_pid > 0 && util_pid_alive(info.containerd_pid) ? info.containerd_pid : 0;
	}
	if (rt->pidfile[0]) {
		pid_t pid;
		int rc = read_pidfile(rt->pidfile, &pid, e);
		if (rc < 0)
			return rc;
		if (pid > 0 && util_pid_alive(pid))
			return pid;
	} else if (rt->pid > 0 && util_pid_alive(rt->pid) && proc_start_time(rt->pid) == rt->pid_start) {
		return rt->pid;
	}
	/* The one we knew is gone (restarted, say): whoever listens on the
	 * socket now is the runtime. */
	pid_t owner = socket_owner(rt->sock);
	if (owner > 0 && !rt->pidfile[0]) {
		rt->pid = owner;
		rt->pid_start = proc_start_time(owner);
	}
	return owner;
}

int rtctl_signal(rtctl *rt, int sig, crit_err *e)
{
	pid_t pid = rtctl_pid(rt, e);
	if (pid < 0)
		return pid;
	if (pid == 0)
		return err_set(e, -ESRCH, "signal %s to %s: it does not run", strsignal(sig), rt->desc);
	if (kill(pid, sig) < 0)
		return err_set(e, -errno, "signal %s to %s (pid %d): %s", strsignal(sig), rt->desc, (int)pid,
			       strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ commands */

/* The last non-empty lines of a command's output, on one line. */
static void output_tail(const char *out, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!out)
		return;
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	size_t start = n;
	int lines = 0;
	while (start > 0 && !(out[start - 1] == '\n' && ++lines >= 2))
		start--;
	if (n - start >= len)
		start = n - (len - 1);
	size_t j = 0;
	for (size_t i = start; i < n && j + 3 < len; i++)
		if (out[i] == '\n') {
			buf[j++] = ' ';
			buf[j++] = '|';
			buf[j++] = ' ';
		} else {
			buf[j++] = out[i];
		}
	buf[j] = '\0';
}

static void keep_output(rtctl *rt, char *out)
{
	free(rt->last_out);
	rt->last_out = out;
}

/* Run a user command (sh -c) with a deadline; it must exit 0. */
static int run_cmd(rtctl *rt, const char *what, const char *cmd, int timeout_ms, crit_err *e)
{
	char *out = NULL;
	int rc = util_run_sh(cmd, timeout_ms, &out, e);
	keep_output(rt, out);
	if (rc < 0)
		return err_wrap(e, "%s %s: `%s`", what, rt->desc, cmd);
	if (rc != 0) {
		char tail[400];
		output_tail(out, tail, sizeof tail);
		return err_set(e, -EIO, "%s %s: `%s` exited with %d: %s", what, rt->desc, cmd, rc,
			       tail[0] ? tail : "(no output)");
	}
	return 0;
}

/* `critic --dir DIR lab up|down` in a fresh process (see rtctl_config). */
static int lab_helper(rtctl *rt, const char *verb, crit_err *e)
{
	if (!rt->critic_exe[0]) {
		lab_info info;
		return !strcmp(verb, "up") ? lab_up(rt->lab_dir, &info, e) : lab_down(rt->lab_dir, e);
	}
	char *argv[] = { rt->critic_exe, "--no-color", "--dir", rt->lab_dir, "lab", (char *)verb, NULL };
	char *out = NULL;
	int timeout = !strcmp(verb, "up") ? rt->start_timeout_ms : RTCTL_LAB_START_TIMEOUT_MS;
	int rc = util_run(argv, timeout, &out, e);
	keep_output(rt, out);
	if (rc < 0)
		return err_wrap(e, "lab %s in %s", verb, rt->lab_dir);
	if (rc != 0) {
		char tail[600];
		output_tail(out, tail, sizeof tail);
		return err_set(e, -EIO, "lab %s in %s: %s exited with %d: %s", verb, rt->lab_dir, rt->critic_exe, rc,
			       tail[0] ? tail : "(no output)");
	}
	return 0;
}

/* ------------------------------------------------------------ stop / start */

int rtctl_stop(rtctl *rt, crit_err *e)
{
	int64_t end = util_now_ms() + rt->stop_timeout_ms;
	pid_t pid = rtctl_pid(rt, e);
	if (pid < 0)
		return pid;
	if (rt->stop_cmd) {
		int rc = run_cmd(rt, "stop", rt->stop_cmd, rt->stop_timeout_ms, e);
		if (rc < 0)
			return rc;
	} else if (pid == 0) {
		return 0;
	} else {
		if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
			return err_set(e, -errno, "stop %s: SIGTERM to pid %d: %s", rt->desc, (int)pid,
				       strerror(errno));
		kill(pid, SIGCONT); /* a SIGSTOPped runtime must see the SIGTERM too */
	}
	if (pid > 0) {
		int64_t left = end - util_now_ms();
		if (!util_wait_pid_dead(pid, left > 0 ? (int)left : 0))
			return err_set(e, -ETIMEDOUT, "stop %s: pid %d still runs %d ms after %s", rt->desc, (int)pid,
				       rt->stop_timeout_ms, rt->stop_cmd ? "the stop command" : "SIGTERM");
	}
	return 0;
}

int rtctl_start(rtctl *rt, crit_err *e)
{
	if (rt->lab) {
		int rc = lab_helper(rt, "up", e);
		if (rc < 0)
			return rc;
		/* The dir exists now: take the socket path as the lab resolves it. */
		lab_info info;
		char path[PATH_MAX];
		if (lab_status(rt->lab_dir, &info, NULL) >= 0 &&
		    ep_parse(info.endpoint, rt->endpoint, sizeof rt->endpoint, path, sizeof path, NULL) == 0 &&
		    strlen(path) < sizeof rt->sock)
			snprintf(rt->sock, sizeof rt->sock, "%s", path);
		return 0;
	}
	if (!rt->start_cmd)
		return err_set(e, -ENOTSUP, "start %s: no start command given (--runtime-start)", rt->desc);
	return run_cmd(rt, "start", rt->start_cmd, rt->start_timeout_ms, e);
}

int rtctl_restart(rtctl *rt, crit_err *e)
{
	int rc = rtctl_stop(rt, e);
	if (rc < 0)
		return err_wrap(e, "restart");
	rc = rtctl_start(rt, e);
	return rc < 0 ? err_wrap(e, "restart") : 0;
}

int rtctl_lab_down(rtctl *rt, crit_err *e)
{
	if (!rt->lab)
		return err_set(e, -ENOTSUP, "lab down: %s is not critic's lab", rt->desc);
	return lab_helper(rt, "down", e);
}
