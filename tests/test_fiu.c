/* Unit tests of libfiu faults: critic's preload library in a probe process (this program, exec'd
 * with CRITIC_FIU_PROBE set), critic-fiu-runtime's environment protocol, the spec editor, the CLI. */
#include <CUnit/CUnit.h>
#include <fiu-control.h>
#include <fiu.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault/fiu.h"
#include "reports/rep.h"
#include "tests.h"
#include "util.h"

/* ------------------------------------------------------------ the probe */

/* Run in the exec'd copy of this program, before main: one command a line
 * on stdin ("openat PATH", "clone", …), one answer a line on stdout:
 * "ok", "err ERRNO" (the call returned -1) or "ret VALUE errno ERRNO". The
 * calls go through the PLT, so the preloaded wrappers see them; the answers
 * go through stdio, whose writes stay inside libc and are never failed. */
static void probe_answer(long r)
{
	int err = errno;
	if (r >= 0)
		printf("ok\n");
	else if (r == -1)
		printf("err %d\n", err);
	else
		printf("ret %ld errno %d\n", r, err);
	fflush(stdout);
}

static long probe_one(char *cmd, char *arg, char *arg2)
{
	struct stat st;
	if (!strcmp(cmd, "open")) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd;
	}
	if (!strcmp(cmd, "openat")) {
		int fd = openat(AT_FDCWD, arg, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd;
	}
	if (!strcmp(cmd, "openat-rel")) { /* DIR NAME: relative to a dirfd */
		int dfd = syscall(SYS_openat, AT_FDCWD, arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		int fd = openat(dfd, arg2 ? arg2 : "", O_RDONLY | O_CLOEXEC);
		int err = errno;
		if (fd >= 0)
			close(fd);
		close(dfd);
		errno = err;
		return fd;
	}
	if (!strcmp(cmd, "mkdirat"))
		return mkdirat(AT_FDCWD, arg, 0755);
	if (!strcmp(cmd, "mkdir"))
		return mkdir(arg, 0755);
	if (!strcmp(cmd, "stat"))
		return stat(arg, &st);
	if (!strcmp(cmd, "lstat"))
		return lstat(arg, &st);
	if (!strcmp(cmd, "fstatat"))
		return fstatat(AT_FDCWD, arg, &st, 0);
	if (!strcmp(cmd, "statx")) {
		struct statx sx;
		return statx(AT_FDCWD, arg, 0, STATX_BASIC_STATS, &sx);
	}
	if (!strcmp(cmd, "unlinkat"))
		return unlinkat(AT_FDCWD, arg, 0);
	if (!strcmp(cmd, "rmdir"))
		return rmdir(arg);
	if (!strcmp(cmd, "mount")) /* an unknown file system type: never mounts */
		return mount("critic-none", arg, "critic-no-such-fs", 0, NULL);
	if (!strcmp(cmd, "write")) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, arg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		long r = write(fd, "x", 1);
		int err = errno;
		close(fd);
		errno = err;
		return r;
	}
	if (!strcmp(cmd, "clone")) {
		long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return pid;
	}
	errno = EINVAL;
	return -1;
}

__attribute__((constructor)) static void fiu_probe_main(void)
{
	if (!getenv("CRITIC_FIU_PROBE"))
		return;
	char line[4200];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL;
		char *cmd = strtok_r(line, " ", &save);
		char *arg = strtok_r(NULL, " ", &save);
		char *arg2 = strtok_r(NULL, " ", &save);
		if (!cmd)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "pid") || !strcmp(cmd, "getenv")) {
			const char *v = arg ? getenv(arg) : NULL;
			if (!strcmp(cmd, "pid"))
				printf("ok %d\n", (int)getpid());
			else
				printf(v ? "ok %s\n" : "unset\n", v);
			fflush(stdout);
			continue;
		}
		errno = 0;
		probe_answer(probe_one(cmd, arg ? arg : "", arg2));
	}
	_exit(0);
}

/* ------------------------------------------------------------ helpers */

static char tmp[64];
static char self_exe[PATH_MAX], preload[PATH_MAX], wrapper[PATH_MAX];
static bool have_preload, have_wrapper;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("\n    ");
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static const char *in_tmp(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
	return buf[k];
}

typedef struct probe {
	pid_t pid;
	int to, from;
} probe;

static probe cur = { .pid = -1, .to = -1, .from = -1 };

static void probe_stop(probe *p)
{
	if (p->to >= 0)
		close(p->to);
	if (p->pid > 0 && !util_wait_pid_dead(p->pid, 2000))
		kill(p->pid, SIGKILL);
	if (p->pid > 0)
		waitpid(p->pid, NULL, 0);
	if (p->from >= 0)
		close(p->from);
	p->pid = p->to = p->from = -1;
}

/* Start argv[0] with extra environment (NAME=VALUE strings, NULL-ended) and
 * pipes on stdin/stdout; stderr goes to tmp/probe.err. */
static bool probe_start(probe *p, char *const argv[], const char *const env[])
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return false;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		int efd = open(in_tmp("probe.err"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (efd >= 0)
			dup2(efd, 2);
		unsetenv("LD_PRELOAD");
		unsetenv("FIU_ENABLE");
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->pid = pid;
	p->to = in[1];
	p->from = out[0];
	return true;
}

/* Send one command; the answer line (without newline) in ans. */
static bool probe_ask(probe *p, const char *cmd, char *ans, size_t len)
{
	ans[0] = '\0';
	char line[4300];
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (write(p->to, line, (size_t)n) != n)
		return false;
	size_t got = 0;
	int64_t end = util_now_ms() + 5000;
	while (got < len - 1) {
		int left = (int)(end - util_now_ms());
		struct pollfd pf = { .fd = p->from, .events = POLLIN };
		if (left <= 0 || poll(&pf, 1, left) <= 0)
			return false;
		char ch;
		if (read(p->from, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		ans[got++] = ch;
	}
	ans[got] = '\0';
	return true;
}

/* The answer to cmd, or "(no answer)". */
static const char *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *ask(const char *fmt, ...)
{
	static char ans[256];
	char cmd[4200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (!probe_ask(&cur, cmd, ans, sizeof ans))
		snprintf(ans, sizeof ans, "(no answer)");
	return ans;
}

/* This program as a probe under the three preload libraries, with the given
 * FIU_ENABLE and extra variables. */
static bool start_direct(const char *fiu_enable, const char *const extra[])
{
	static char ld[3 * PATH_MAX], fe[4200];
	snprintf(ld, sizeof ld, "LD_PRELOAD=%s:/usr/lib/fiu/fiu_run_preload.so:/usr/lib/fiu/fiu_posix_preload.so",
		 preload);
	snprintf(fe, sizeof fe, "FIU_ENABLE=%s", fiu_enable ? fiu_enable : "");
	const char *env[16] = { "CRITIC_FIU_PROBE=1", ld, fe };
	size_t n = 3;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	char *argv[] = { self_exe, NULL };
	return probe_start(&cur, argv, env);
}

/* This program as a probe run through critic-fiu-runtime (the wrapper
 * "execs crun" = this program) with the fault dir tmp/fiu, or, given a
 * root, with the fault dir the wrapper finds from `--root ROOT` as the
 * shim passes it. */
static bool start_wrapped_root(const char *root)
{
	static char crun[PATH_MAX + 32], dir[600];
	snprintf(crun, sizeof crun, "CRITIC_FIU_CRUN=%s", self_exe);
	snprintf(dir, sizeof dir, "CRITIC_FIU_DIR=%s", in_tmp("fiu"));
	const char *env[] = { "CRITIC_FIU_PROBE=1", crun, root ? NULL : dir, NULL };
	char *argv[] = { wrapper, "--root", (char *)(root ? root : "/nonexistent"), "state", "x", NULL };
	return probe_start(&cur, argv, env);
}

static bool start_wrapped(void)
{
	return start_wrapped_root(NULL);
}

static bool preload_ready(void)
{
	if (!have_preload)
		say("skipped: libcritic-fiu-preload.so not found next to the tests (set CRITIC_FIU_PRELOAD)");
	return have_preload;
}

static bool wrapper_ready(void)
{
	if (!have_wrapper || !have_preload)
		say("skipped: critic-fiu-runtime or its preload library not found next to the tests");
	return have_wrapper && have_preload;
}

/* A file's text on the heap ("" when unreadable). */
static char *slurp(const char *path)
{
	char *text = NULL;
	int rc = util_read_file(path, &text, NULL, NULL);
	if (rc < 0 || !text) {
		free(text);
		return strdup("");
	}
	return text;
}

/* ------------------------------------------------------------ suite */

static int suite_init(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/critic-unit-fiu-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	if (n <= 0)
		return -1;
	self_exe[n] = '\0';
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", self_exe);
	*strrchr(dir, '/') = '\0';
	const char *env = getenv("CRITIC_FIU_PRELOAD");
	const char *const rel[] = { "/../fault", "/../build/fault" };
	if (env && *env) {
		snprintf(preload, sizeof preload, "%s", env);
		have_preload = util_exists(preload);
	}
	for (size_t i = 0; !have_preload && i < ARRAY_SIZE(rel); i++) {
		snprintf(preload, sizeof preload, "%.4000s%s/libcritic-fiu-preload.so", dir, rel[i]);
		have_preload = util_exists(preload);
	}
	have_preload = have_preload && util_exists("/usr/lib/fiu/fiu_run_preload.so");
	snprintf(wrapper, sizeof wrapper, "%.4000s/critic-fiu-runtime", dir);
	have_wrapper = access(wrapper, X_OK) == 0;
	return util_mkdir_p(in_tmp("fiu"), 0755, NULL) < 0 || util_mkdir_p(in_tmp("in/sub"), 0755, NULL) < 0 ||
			       util_mkdir_p(in_tmp("out"), 0755, NULL) < 0 ||
			       util_write_file(in_tmp("in/f"), "in\n", 3, 0644, NULL) < 0 ||
			       util_write_file(in_tmp("out/f"), "out\n", 4, 0644, NULL) < 0
		       ? -1
		       : 0;
}

static int suite_cleanup(void)
{
	probe_stop(&cur);
	return util_rm_rf(tmp, NULL) < 0 ? -1 : 0;
}

/* Each test starts with no probe and an empty spec and logs. */
static void setup(void)
{
	probe_stop(&cur);
	fault_fiu_disable(in_tmp("fiu"), NULL, NULL);
	fault_fiu_set_control_fifo(in_tmp("fiu"), false, NULL);
	fault_fiu_clear_logs(in_tmp("fiu"), NULL);
	unlink(in_tmp("probe.err"));
}

static void teardown(void)
{
	probe_stop(&cur);
}

/* ------------------------------------------------------------ preload */

static void test_openat_errno(void)
{
	if (!preload_ready())
		return;
	CU_ASSERT_FATAL(start_direct("enable name=critic/posix/openat,failnum=-1,failinfo=28", NULL));
	CU_ASSERT_STRING_EQUAL(ask("openat /etc/hostname"), "err 28");
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("in/f")), "err 28");
	/* Other calls and other points carry on. */
	CU_ASSERT_STRING_EQUAL(ask("open /etc/hostname"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /etc/hostname"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("mkdirat %s", in_tmp("in/new")), "ok");
	probe_stop(&cur);

	/* No fault: openat works. */
	CU_ASSERT_FATAL(start_direct("", NULL));
	CU_ASSERT_STRING_EQUAL(ask("openat /etc/hostname"), "ok");
}

static void test_every_point(void)
{
	if (!preload_ready())
		return;
	static const struct { const char *point, *cmd; } cases[] = {
		{ "open", "open /etc/hostname" },           { "openat", "openat /etc/hostname" },
		{ "mkdir", "mkdir %s/in/m1" },              { "mkdirat", "mkdirat %s/in/m2" },
		{ "stat", "stat /etc/hostname" },           { "lstat", "lstat /etc/hostname" },
		{ "fstatat", "fstatat /etc/hostname" },     { "statx", "statx /etc/hostname" },
		{ "write", "write %s/in/w" },               { "unlinkat", "unlinkat %s/in/nonexistent" },
		{ "rmdir", "rmdir %s/in/nonexistent" },     { "mount", "mount %s/in/nonexistent" },
		{ "clone", "clone" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char fe[200], cmd[600];
		snprintf(fe, sizeof fe, "enable name=critic/posix/%s,failnum=-1,failinfo=%d", cases[i].point,
			 (int)(100 + i));
		snprintf(cmd, sizeof cmd, cases[i].cmd, tmp);
		CU_ASSERT_FATAL(start_direct(fe, NULL));
		char want[32];
		snprintf(want, sizeof want, "err %d", (int)(100 + i));
		const char *got = ask("%s", cmd);
		if (strcmp(got, want))
			say("%s: '%s' answered '%s', expected '%s'", cases[i].point, cmd, got, want);
		CU_ASSERT_STRING_EQUAL(got, want);
		probe_stop(&cur);
	}
}

static void test_path_prefix(void)
{
	if (!preload_ready())
		return;
	char rules[700];
	snprintf(rules, sizeof rules, "CRITIC_FIU_RULES=name=critic/posix/*,path=%s/in/", tmp);
	const char *const extra[] = { rules, NULL };
	CU_ASSERT_FATAL(start_direct("enable name=critic/posix/*,failnum=-1,failinfo=5", extra));
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("in/f")), "err 5");
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("out/f")), "ok");
	/* A relative path is resolved through its dirfd. */
	CU_ASSERT_STRING_EQUAL(ask("openat-rel %s f", in_tmp("in")), "err 5");
	CU_ASSERT_STRING_EQUAL(ask("openat-rel %s f", in_tmp("out")), "ok");
	/* write: the path of the file behind the fd. */
	CU_ASSERT_STRING_EQUAL(ask("write %s", in_tmp("in/w")), "err 5");
	CU_ASSERT_STRING_EQUAL(ask("write %s", in_tmp("out/w")), "ok");
	CU_ASSERT_STRING_EQUAL(ask("mkdirat %s", in_tmp("in/d")), "err 5");
	CU_ASSERT_STRING_EQUAL(ask("mkdirat %s", in_tmp("out/d")), "ok");
	/* A call without a path never matches a path filter. */
	CU_ASSERT_STRING_EQUAL(ask("clone"), "ok");
	CU_ASSERT_FALSE(util_exists(in_tmp("in/d")));
	CU_ASSERT_TRUE(util_exists(in_tmp("out/d")));
	rmdir(in_tmp("out/d"));
}

static void test_after_and_onetime(void)
{
	if (!preload_ready())
		return;
	/* after=2: calls 1 and 2 pass, then every call fails. */
	const char *const after[] = { "CRITIC_FIU_AFTER=2", NULL };
	CU_ASSERT_FATAL(start_direct("enable name=critic/posix/stat,failnum=-1,failinfo=13", after));
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "err 13");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "err 13");
	probe_stop(&cur);
	/* after=2 plus onetime: only the 3rd call fails (what --nth 3 writes). */
	const char *const nth[] = { "CRITIC_FIU_RULES=name=critic/posix/stat,after=2", NULL };
	CU_ASSERT_FATAL(start_direct("enable name=critic/posix/stat,failnum=-1,failinfo=13,onetime", nth));
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "err 13");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
}

static void test_probability(void)
{
	if (!preload_ready())
		return;
	const char *const seed[] = { "FIU_PRNG_SEED=12345", NULL };
	CU_ASSERT_FATAL(start_direct("enable_random name=critic/posix/fstatat,failnum=-1,failinfo=5,probability=0.5",
				     seed));
	int fails = 0, oks = 0;
	for (int i = 0; i < 400; i++) {
		const char *a = ask("fstatat /");
		fails += !strcmp(a, "err 5");
		oks += !strcmp(a, "ok");
	}
	say("probability 0.5: %d of 400 calls failed", fails);
	CU_ASSERT_EQUAL(fails + oks, 400);
	CU_ASSERT(fails > 120 && fails < 280);
}

static void test_retval_and_log(void)
{
	if (!preload_ready())
		return;
	char logv[600];
	snprintf(logv, sizeof logv, "CRITIC_FIU_LOG=%s", in_tmp("fiu/injected.log"));
	const char *const extra[] = { logv, NULL };
	CU_ASSERT_FATAL(start_direct("enable name=critic/posix/mkdirat,failnum=-7,failinfo=122\n"
				     "enable name=critic/posix/rmdir,failinfo=16",
				     extra));
	CU_ASSERT_STRING_EQUAL(ask("mkdirat %s", in_tmp("in/x")), "ret -7 errno 122");
	/* libfiu's default failnum (1) means "fail" only: the call returns -1. */
	CU_ASSERT_STRING_EQUAL(ask("rmdir %s", in_tmp("in/sub")), "err 16");
	CU_ASSERT_TRUE(util_exists(in_tmp("in/sub")));
	probe_stop(&cur);
	char *log = slurp(in_tmp("fiu/injected.log"));
	char want[600];
	snprintf(want, sizeof want, "critic/posix/mkdirat errno=122 path=%s\n", in_tmp("in/x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	snprintf(want, sizeof want, "critic/posix/rmdir errno=16 path=%s\n", in_tmp("in/sub"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	free(log);
}

/* critic's library comes first: its wrapper reaches libfiu's posix one, so
 * libfiu's points work beside critic's. */
static void test_posix_points_too(void)
{
	if (!preload_ready())
		return;
	CU_ASSERT_FATAL(start_direct("enable name=posix/io/oc/open,failinfo=2", NULL));
	CU_ASSERT_STRING_EQUAL(ask("open /etc/hostname"), "err 2");
	CU_ASSERT_STRING_EQUAL(ask("openat /etc/hostname"), "ok");
}

/* ------------------------------------------------------------ wrapper */

static void test_wrapper_spec_live(void)
{
	if (!wrapper_ready())
		return;
	crit_err e;
	err_clear(&e);
	fault_fiu_fault f = { .point = "critic/posix/openat", .err = ENOSPC, .path_prefix = in_tmp("in/") };
	CU_ASSERT_EQUAL_FATAL(fault_fiu_enable(in_tmp("fiu"), &f, &e), 0);
	CU_ASSERT_FATAL(start_wrapped());
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("in/f")), "err 28");
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("out/f")), "ok");
	/* The spec changes while the process runs: the preload sees it. */
	fault_fiu_fault g = { .point = "critic/posix/stat", .err = EACCES };
	CU_ASSERT_EQUAL(fault_fiu_enable(in_tmp("fiu"), &g, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_disable(in_tmp("fiu"), "critic/posix/openat", &e), 0);
	util_sleep_ms(5);
	CU_ASSERT_STRING_EQUAL(ask("openat %s", in_tmp("in/f")), "ok");
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "err 13");
	/* --nth 2 on a fresh spec: counts start again from the change. */
	fault_fiu_fault h = { .point = "critic/posix/lstat", .mode = FAULT_FIU_NTH, .nth = 2, .err = EPERM };
	CU_ASSERT_EQUAL(fault_fiu_disable(in_tmp("fiu"), NULL, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_enable(in_tmp("fiu"), &h, &e), 0);
	util_sleep_ms(5);
	CU_ASSERT_STRING_EQUAL(ask("stat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("lstat /"), "ok");
	CU_ASSERT_STRING_EQUAL(ask("lstat /"), "err 1");
	CU_ASSERT_STRING_EQUAL(ask("lstat /"), "ok");
	probe_stop(&cur);
	/* The wrapper recorded the run; the preload the failures. */
	char *runs = NULL, *inj = NULL;
	CU_ASSERT_EQUAL(fault_fiu_runs(in_tmp("fiu"), &runs, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_injected(in_tmp("fiu"), &inj, &e), 0);
	CU_ASSERT(runs && strchr(runs, '\n') == runs + strlen(runs) - 1); /* one run */
	int lines = 0;
	for (const char *p = inj ? inj : ""; *p; p++)
		lines += *p == '\n';
	CU_ASSERT_EQUAL(lines, 3);
	CU_ASSERT(inj && strstr(inj, "critic/posix/openat errno=28") && strstr(inj, "critic/posix/stat errno=13") &&
		  strstr(inj, "critic/posix/lstat errno=1"));
	free(runs);
	free(inj);
}

/* The control fifo: the command changes points in the running process,
 * and libfiu's control thread blocks every signal (a thread that does not
 * steals the SIGCHLD crun reads from a signalfd). */
static void test_wrapper_control_fifo(void)
{
	if (!wrapper_ready())
		return;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(fault_fiu_set_control_fifo(in_tmp("fiu"), true, &e), 0);
	CU_ASSERT_FATAL(start_wrapped());
	const char *a = ask("pid");
	int pid = 0;
	CU_ASSERT_FATAL(sscanf(a, "ok %d", &pid) == 1 && pid == cur.pid);
	CU_ASSERT_STRING_EQUAL(ask("statx /"), "ok");
	char base[600];
	snprintf(base, sizeof base, "%s", in_tmp("fiu/ctl/crun"));
	int rc = fault_fiu_ctrl(base, pid, "enable name=critic/posix/statx,failnum=-1,failinfo=75", 3000, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(ask("statx /"), "err 75");
	CU_ASSERT_EQUAL(fault_fiu_ctrl(base, pid, "disable name=critic/posix/statx", 3000, &e), 0);
	CU_ASSERT_STRING_EQUAL(ask("statx /"), "ok");
	/* A command libfiu cannot parse is refused, not ignored. */
	CU_ASSERT_EQUAL(fault_fiu_ctrl(base, pid, "frobnicate name=x", 3000, &e), -EINVAL);
	/* Every thread but the main one blocks every signal. */
	char taskdir[64];
	snprintf(taskdir, sizeof taskdir, "/proc/%d/task", pid);
	DIR *d = opendir(taskdir);
	int others = 0, all_blocked = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == pid)
			continue;
		others++;
		char p[400];
		snprintf(p, sizeof p, "%s/%.200s/status", taskdir, de->d_name);
		char *st = slurp(p);
		const char *blk = strstr(st, "SigBlk:");
		/* SIGKILL and SIGSTOP cannot be blocked; glibc keeps its two
		 * internal signals (32, 33) out of every mask. */
		unsigned long long m = blk ? strtoull(blk + 7, NULL, 16) : 0;
		if ((m | 1ull << 8 | 1ull << 18 | 3ull << 31) == ~0ull)
			all_blocked++;
		free(st);
	}
	if (d)
		closedir(d);
	CU_ASSERT_EQUAL(others, 1);
	CU_ASSERT_EQUAL(all_blocked, others);
	probe_stop(&cur);
	/* The fifos go with the process; a dead pid's are refused. */
	util_sleep_ms(20);
	CU_ASSERT_EQUAL(fault_fiu_ctrl(base, pid, "disable name=critic/posix/statx", 500, &e), -ESRCH);
}

/* What the wrapper hands crun, as the probe in crun's place sees it. */
static void test_wrapper_environment(void)
{
	if (!wrapper_ready())
		return;
	crit_err e;
	err_clear(&e);
	fault_fiu_fault f = { .point = "critic/posix/mount", .err = EROFS, .after = 1, .path_prefix = "/x/" };
	util_mkdir_p(in_tmp("lab/fiu"), 0755, NULL);
	CU_ASSERT_EQUAL_FATAL(fault_fiu_enable(in_tmp("lab/fiu"), &f, &e), 0);
	util_mkdir_p(in_tmp("lab/crun/k8s.io"), 0755, NULL);
	/* The fault dir found from --root LAB/crun/NAMESPACE, as the shim runs it. */
	CU_ASSERT_FATAL(start_wrapped_root(in_tmp("lab/crun/k8s.io")));
	cleanup_free char *ld = util_strdup_printf("ok %s:/usr/lib/fiu/fiu_run_preload.so:/usr/lib/fiu/fiu_posix_preload.so",
						   preload);
	const char *got = ask("getenv LD_PRELOAD");
	/* The wrapper may find the library elsewhere (CRITIC_FIU_PRELOAD): the tail is fixed. */
	CU_ASSERT_PTR_NOT_NULL(
		strstr(got, "libcritic-fiu-preload.so:/usr/lib/fiu/fiu_run_preload.so:/usr/lib/fiu/fiu_posix_preload.so"));
	if (strcmp(got, ld))
		say("LD_PRELOAD: %s", got);
	CU_ASSERT_STRING_EQUAL(ask("getenv FIU_ENABLE"), "ok enable name=critic/posix/mount,failnum=-1,failinfo=30");
	CU_ASSERT_STRING_EQUAL(ask("getenv CRITIC_FIU_RULES"), "ok name=critic/posix/mount,after=1,path=/x/");
	char want[700];
	snprintf(want, sizeof want, "ok %s", in_tmp("lab/fiu/spec"));
	CU_ASSERT_STRING_EQUAL(ask("getenv CRITIC_FIU_SPEC"), want);
	snprintf(want, sizeof want, "ok %s", in_tmp("lab/fiu/injected.log"));
	CU_ASSERT_STRING_EQUAL(ask("getenv CRITIC_FIU_LOG"), want);
	/* No control fifo unless the spec asks: it would hang crun. */
	CU_ASSERT_STRING_EQUAL(ask("getenv CRITIC_FIU_CTRL_FIFO"), "ok ");
	CU_ASSERT_STRING_EQUAL(ask("getenv FIU_CTRL_FIFO"), "unset");
	/* And the fault is live: the first mount under /x/ passes, the next fails. */
	/* (The real mount fails too, but with its own errno: ENOENT or EPERM.) */
	CU_ASSERT_STRING_NOT_EQUAL(ask("mount /x/a"), "err 30");
	CU_ASSERT_STRING_EQUAL(ask("mount /x/a"), "err 30");
	CU_ASSERT_STRING_NOT_EQUAL(ask("mount /y/a"), "err 30");
	probe_stop(&cur);
	/* No fault dir above --root: crun runs untouched. */
	util_mkdir_p(in_tmp("plain/crun/k8s.io"), 0755, NULL);
	CU_ASSERT_FATAL(start_wrapped_root(in_tmp("plain/crun/k8s.io")));
	CU_ASSERT_STRING_EQUAL(ask("getenv LD_PRELOAD"), "unset");
	CU_ASSERT_STRING_EQUAL(ask("getenv CRITIC_FIU_SPEC"), "unset");
	CU_ASSERT_STRING_NOT_EQUAL(ask("mount /x/a"), "err 30");
}

static void test_wrapper_refuses_static(void)
{
	if (!wrapper_ready())
		return;
	if (!util_exists("/bin/busybox")) {
		say("skipped: no /bin/busybox (busybox-static) to stand for a static crun");
		return;
	}
	crit_err e;
	err_clear(&e);
	char *out = NULL;
	cleanup_free char *cmd = util_strdup_printf("CRITIC_FIU_CRUN=/bin/busybox CRITIC_FIU_DIR='%s' '%s' --version",
						    in_tmp("fiu"), wrapper);
	int rc = util_run_sh(cmd, 5000, &out, &e);
	CU_ASSERT_EQUAL(rc, 126);
	CU_ASSERT(out && strstr(out, "statically linked"));
	free(out);
	out = NULL;
	cleanup_free char *chk = util_strdup_printf("CRITIC_FIU_CRUN=/bin/busybox '%s' --critic-check", wrapper);
	CU_ASSERT_EQUAL(util_run_sh(chk, 5000, &out, &e), 1);
	CU_ASSERT(out && strstr(out, "refusing") && strstr(out, "/bin/busybox"));
	free(out);
	out = NULL;
	cleanup_free char *ok = util_strdup_printf("CRITIC_FIU_CRUN=/usr/bin/env '%s' --critic-check", wrapper);
	CU_ASSERT_EQUAL(util_run_sh(ok, 5000, &out, &e), 0);
	CU_ASSERT(out && strstr(out, "crun=/usr/bin/env"));
	free(out);
}

/* ------------------------------------------------------------ spec editor, CLI */

static void test_spec_editing(void)
{
	crit_err e;
	err_clear(&e);
	char w[600];
	snprintf(w, sizeof w, "%s", in_tmp("fiu"));
	fault_fiu_fault a = { .point = "critic/posix/openat", .err = ENOSPC, .retval = -2, .after = 3,
			      .path_prefix = "/var/lib/x/" };
	fault_fiu_fault b = { .point = "posix/io/rw/write", .mode = FAULT_FIU_PROBABILITY, .probability = 0.25 };
	fault_fiu_fault c = { .point = "critic/posix/mount", .mode = FAULT_FIU_NTH, .nth = 4 };
	CU_ASSERT_EQUAL(fault_fiu_enable(w, &a, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_enable(w, &b, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_enable(w, &c, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_set_control_fifo(w, true, &e), 0);
	char *s = NULL;
	CU_ASSERT_EQUAL_FATAL(fault_fiu_spec_text(w, &s, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nenable name=critic/posix/openat,failnum=-2,failinfo=28\n"
					 "critic name=critic/posix/openat,after=3,path=/var/lib/x/\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(s, "\nenable_random name=posix/io/rw/write,failnum=-1,failinfo=5,probability=0.250000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nenable name=critic/posix/mount,failnum=-1,failinfo=5,onetime\n"
					 "critic name=critic/posix/mount,after=3,path=\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\noption control-fifo\n"));
	free(s);
	/* Enabling a point again replaces its lines; disabling removes them. */
	fault_fiu_fault a2 = { .point = "critic/posix/openat", .err = EIO };
	CU_ASSERT_EQUAL(fault_fiu_enable(w, &a2, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_disable(w, "critic/posix/mount", &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_disable(w, "critic/posix/mount", &e), 0); /* twice is fine */
	CU_ASSERT_EQUAL(fault_fiu_spec_text(w, &s, &e), 0);
	CU_ASSERT(s && !strstr(s, "after=3,path=/var/lib/x/") && !strstr(s, "critic/posix/mount"));
	CU_ASSERT(s && strstr(s, "\nenable name=critic/posix/openat,failnum=-1,failinfo=5\n"));
	CU_ASSERT(s && strstr(s, "posix/io/rw/write") && strstr(s, "option control-fifo"));
	free(s);
	CU_ASSERT_EQUAL(fault_fiu_disable(w, NULL, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_spec_text(w, &s, &e), 0);
	CU_ASSERT(s && !strstr(s, "\nenable") && strstr(s, "\noption control-fifo\n")); /* options stay */
	free(s);

	/* Refused, with a reason. */
	struct { fault_fiu_fault f; const char *why; } bad[] = {
		{ { .point = "critic/posix/opnat" }, "unknown fault point" },
		{ { .point = "critic/posix/open at" }, "without spaces" },
		{ { .point = "critic/cri/send" }, "inside critic" },
		{ { .point = "posix/io/oc/open", .after = 2 }, "critic's preload's" },
		{ { .point = "posix/io/oc/open", .path_prefix = "/x" }, "critic's preload's" },
		{ { .point = "critic/posix/open", .mode = FAULT_FIU_PROBABILITY, .probability = 0 }, "probability" },
		{ { .point = "critic/posix/open", .mode = FAULT_FIU_PROBABILITY, .probability = 1.5 }, "probability" },
		{ { .point = "critic/posix/open", .mode = FAULT_FIU_NTH, .nth = 0 }, "nth" },
		{ { .point = "critic/posix/open", .retval = 3 }, "negative" },
		{ { .point = "critic/posix/open", .path_prefix = "/a,b" }, "path prefix" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		CU_ASSERT_EQUAL(fault_fiu_enable(w, &bad[i].f, &e), -EINVAL);
		if (!strstr(e.msg, bad[i].why))
			say("'%s': %s", bad[i].why, e.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i].why));
	}

	/* Where the spec lives. */
	char p[PATH_MAX];
	util_mkdir_p(in_tmp("alab"), 0755, NULL);
	CU_ASSERT_EQUAL(fault_fiu_spec_path(in_tmp("alab"), p, sizeof p, &e), -ENOENT);
	CU_ASSERT(strstr(e.msg, "not a critic lab") != NULL);
	util_write_file(in_tmp("alab/lab.state"), "", 0, 0644, NULL);
	CU_ASSERT_EQUAL(fault_fiu_spec_path(in_tmp("alab"), p, sizeof p, &e), 0);
	CU_ASSERT_STRING_EQUAL(p, in_tmp("alab/fiu/spec"));
	CU_ASSERT_EQUAL(fault_fiu_spec_path(w, p, sizeof p, &e), 0);
	CU_ASSERT_STRING_EQUAL(p, in_tmp("fiu/spec"));
	CU_ASSERT_EQUAL(fault_fiu_spec_path(in_tmp("my.spec"), p, sizeof p, &e), 0);
	CU_ASSERT_STRING_EQUAL(p, in_tmp("my.spec"));
	CU_ASSERT_EQUAL(fault_fiu_spec_path("/nonexistent-critic/x/spec", p, sizeof p, &e), -ENOENT);

	CU_ASSERT_EQUAL(fault_fiu_errno("ENOSPC"), ENOSPC);
	CU_ASSERT_EQUAL(fault_fiu_errno("eio"), EIO);
	CU_ASSERT_EQUAL(fault_fiu_errno("12"), 12);
	CU_ASSERT_EQUAL(fault_fiu_errno("EBOGUS"), 0);
	CU_ASSERT_EQUAL(fault_fiu_errno("12x"), 0);
	CU_ASSERT_TRUE(fault_fiu_known("critic/posix/openat"));
	CU_ASSERT_TRUE(fault_fiu_known("posix/io/rw/*"));
	CU_ASSERT_TRUE(fault_fiu_known("critic/cri/send"));
	CU_ASSERT_FALSE(fault_fiu_known("posix/io/oc/openat"));
	size_t n = 0;
	const fault_fiu_point *pts = fault_fiu_points(&n);
	int critic_posix = 0;
	for (size_t i = 0; i < n; i++)
		critic_posix += util_has_prefix(pts[i].name, "critic/posix/");
	CU_ASSERT_EQUAL(critic_posix, 15);
	CU_ASSERT(n > 100);
}

/* Run `critic fiu ...` (the binary next to this test program) with stdout
 * and stderr captured: a fresh process, since forking this one after gRPC
 * and test threads ran is not safe (it misbehaved under valgrind). Returns
 * the exit status; output in *out. */
static int cli(char **out, int argc, char **argv)
{
	char path[PATH_MAX];
	*out = strdup("");
	if (tests_beside("critic", path, sizeof path) < 0)
		return -1;
	char *bin = strdup(path);
	char **av = calloc((size_t)argc + 2, sizeof *av);
	av[0] = bin;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	char *text = NULL;
	int rc = util_run(av, 30000, &text, NULL);
	free(av);
	free(bin);
	if (text) {
		free(*out);
		*out = text;
	}
	return rc;
}

static void test_cli(void)
{
	char *out = NULL;
	char w[600];
	snprintf(w, sizeof w, "%s", in_tmp("fiu"));
	char *list[] = { "fiu", "list", NULL };
	CU_ASSERT_EQUAL(cli(&out, 2, list), 0);
	CU_ASSERT(strstr(out, "critic/posix/openat") && strstr(out, "posix/io/oc/open") && strstr(out, "critic/cri/send"));
	free(out);
	char *en[] = { "fiu", "enable", "critic/posix/clone", "--errno", "EAGAIN", "--after", "1", "--spec",
		       (char *)in_tmp("fiu/spec"), NULL };
	CU_ASSERT_EQUAL(cli(&out, 9, en), 0);
	free(out);
	char *s = NULL;
	CU_ASSERT_EQUAL(fault_fiu_spec_text(w, &s, NULL), 0);
	CU_ASSERT(s && strstr(s, "enable name=critic/posix/clone,failnum=-1,failinfo=11\n"
				 "critic name=critic/posix/clone,after=1,path=\n"));
	free(s);
	char *st[] = { "fiu", "status", "--spec", (char *)in_tmp("fiu/spec"), NULL };
	CU_ASSERT_EQUAL(cli(&out, 4, st), 0);
	CU_ASSERT(strstr(out, "enable name=critic/posix/clone") && strstr(out, "failures injected: 0"));
	free(out);
	char *dis[] = { "fiu", "disable", "--all", "--spec", (char *)in_tmp("fiu/spec"), NULL };
	CU_ASSERT_EQUAL(cli(&out, 5, dis), 0);
	free(out);
	CU_ASSERT_EQUAL(fault_fiu_spec_text(w, &s, NULL), 0);
	CU_ASSERT(s && !strstr(s, "critic/posix/clone"));
	free(s);
	/* Usage errors: exit 2 with a reason. */
	char *u1[] = { "fiu", "enable", "critic/posix/open", "--probability", "2", NULL };
	CU_ASSERT_EQUAL(cli(&out, 5, u1), 2);
	CU_ASSERT(strstr(out, "--probability") != NULL);
	free(out);
	char *u2[] = { "fiu", "enable", "critic/posix/open", "--errno", "EWHAT", NULL };
	CU_ASSERT_EQUAL(cli(&out, 5, u2), 2);
	free(out);
	char *u3[] = { "fiu", "enable", "no/such/point", "--spec", (char *)in_tmp("fiu/spec"), NULL };
	CU_ASSERT_EQUAL(cli(&out, 5, u3), 2);
	CU_ASSERT(strstr(out, "unknown fault point") != NULL);
	free(out);
	char *u4[] = { "fiu", "frob", NULL };
	CU_ASSERT_EQUAL(cli(&out, 2, u4), 2);
	free(out);
	char *u5[] = { "fiu", "disable", NULL };
	CU_ASSERT_EQUAL(cli(&out, 2, u5), 2);
	free(out);
	char *c1[] = { "fiu", "ctrl", "--fifo", (char *)in_tmp("fiu/ctl/none"), "--pid", "1", "disable name=x", NULL };
	CU_ASSERT_EQUAL(cli(&out, 7, c1), 3);
	CU_ASSERT(strstr(out, "no process reads it") != NULL);
	free(out);
	char *h[] = { "fiu", "--help", NULL };
	CU_ASSERT_EQUAL(cli(&out, 2, h), 0);
	CU_ASSERT(strstr(out, "Usage: critic fiu") != NULL);
	free(out);
}

/* critic's own point in its report writer: a full disk mid-report leaves
 * neither the report nor its temporary file, and says which file. */
static void test_report_write_point(void)
{
	crit_err e;
	err_clear(&e);
	char path[600], tmpf[700];
	snprintf(path, sizeof path, "%s", in_tmp("report.json"));
	snprintf(tmpf, sizeof tmpf, "%s.tmp.%d", path, (int)getpid());
	fiu_init(0); /* idempotent; main does it too */
	CU_ASSERT_EQUAL_FATAL(fiu_enable("critic/report/write", 1, NULL, 0), 0);
	int rc = rep_commit(path, "{\"a\":1}\n", 8, &e);
	fiu_disable("critic/report/write");
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_FALSE(util_exists(path));
	CU_ASSERT_FALSE(util_exists(tmpf));
	/* The point off: the same call writes the file. */
	CU_ASSERT_EQUAL(rep_commit(path, "{\"a\":1}\n", 8, &e), 0);
	char *text = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, "{\"a\":1}\n");
	free(text);
	CU_ASSERT_TRUE(fault_fiu_known("critic/report/write"));
}

void tests_register_fiu(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("fiu", suite_init, suite_cleanup, setup, teardown);
	CU_add_test(s, "preload: openat fails with the errno asked, other calls work", test_openat_errno);
	CU_add_test(s, "preload: each of the 13 wrapped calls fails at its point", test_every_point);
	CU_add_test(s, "preload: path prefix filter (absolute, dirfd-relative, fd)", test_path_prefix);
	CU_add_test(s, "preload: after=N, and after+onetime fails only the Nth call", test_after_and_onetime);
	CU_add_test(s, "preload: probability 0.5 fails about half the calls", test_probability);
	CU_add_test(s, "preload: return value from failnum, injected-failure log", test_retval_and_log);
	CU_add_test(s, "preload: libfiu's posix points work beside critic's", test_posix_points_too);
	CU_add_test(s, "wrapper: spec applies, changes reach the running process", test_wrapper_spec_live);
	CU_add_test(s, "wrapper: control fifo changes points; its thread blocks signals", test_wrapper_control_fifo);
	CU_add_test(s, "wrapper: environment handed to crun; no fault dir, no preload", test_wrapper_environment);
	CU_add_test(s, "wrapper: refuses a statically linked crun", test_wrapper_refuses_static);
	CU_add_test(s, "spec editor: lines, replacement, refusals, paths, errno names", test_spec_editing);
	CU_add_test(s, "critic fiu: list, enable, status, disable, usage errors", test_cli);
	CU_add_test(s, "critic/report/write: a failed report write leaves no file", test_report_write_point);
}
