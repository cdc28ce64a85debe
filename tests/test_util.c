/* Unit tests of the shared helpers: running commands with a deadline,
 * process liveness, files and directories, string buffers, error records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_server.h" /* fake_time_scale */
#include "tests.h"
#include "util.h"

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-util-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void) { return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0; }

/* A path in tmpdir. The result lives until four more calls: keep a copy
 * of any path used longer than that. */
static const char *in_tmp(const char *name)
{
	static char buf[4][256];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
	return b;
}

static int64_t margin(int64_t ms) { return ms * fake_time_scale(); }

/* Kill and reap a child of ours whatever state a failed test left it in. */
static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* --- util_run -------------------------------------------------------------- */

static void test_run_output_and_status(void)
{
	char *out = NULL;
	crit_err e;
	err_clear(&e);
	char *argv[] = { "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3", NULL };
	int rc = util_run(argv, 5000, &out, &e);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "to-stdout\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "to-stderr\n"));
	free(out);

	char *t[] = { "true", NULL };
	CU_ASSERT_EQUAL(util_run(t, 5000, NULL, &e), 0);

	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh("printf '%s' abc", 5000, &out, &e), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, "abc");
	free(out);

	/* More output than a pipe holds must not block the child. */
	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh("head -c 300000 /dev/zero | tr '\\0' x", 5000, &out, &e), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(strlen(out), 300000);
	free(out);
}

static void test_run_not_found_and_signal(void)
{
	char *out = NULL;
	crit_err e;
	err_clear(&e);
	char *argv[] = { "critic-no-such-command-here", NULL };
	CU_ASSERT_EQUAL(util_run(argv, 5000, &out, &e), 127);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "critic-no-such-command-here"));
	free(out);
	/* Killed by a signal: 128 + signal number, as a shell reports it. */
	CU_ASSERT_EQUAL(util_run_sh("kill -TERM $$", 5000, NULL, &e), 128 + SIGTERM);
}

static void test_run_deadline(void)
{
	char *out = (char *)"sentinel";
	crit_err e;
	err_clear(&e);
	char *argv[] = { "sleep", "30", NULL };
	int64_t t0 = util_now_ms();
	int rc = util_run(argv, 300, &out, &e);
	int64_t took = util_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	CU_ASSERT_EQUAL(e.code, -ETIMEDOUT);
	CU_ASSERT(took >= 290);
	CU_ASSERT(took < 300 + margin(400));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "300 ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "sleep"));
	CU_ASSERT_STRING_EQUAL(out, "sentinel"); /* not set on failure */
}

static void test_run_deadline_kills_group(void)
{
	/* The shell starts a grandchild; the deadline must take it too. */
	const char *pidfile = in_tmp("grandchild.pid");
	char cmd[512];
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", pidfile);
	crit_err e;
	int64_t t0 = util_now_ms();
	CU_ASSERT_EQUAL(util_run_sh(cmd, 300, NULL, &e), -ETIMEDOUT);
	CU_ASSERT(util_now_ms() - t0 < 300 + margin(400));
	char *txt = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(pidfile, &txt, NULL, &e), 0);
	pid_t pid = (pid_t)atoi(txt);
	free(txt);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(util_wait_pid_dead(pid, 2000));

	/* A child that closes its output but keeps running is killed as well. */
	t0 = util_now_ms();
	CU_ASSERT_EQUAL(util_run_sh("exec >/dev/null 2>&1; sleep 30", 300, NULL, &e), -ETIMEDOUT);
	int64_t took = util_now_ms() - t0;
	CU_ASSERT(took >= 290 && took < 300 + margin(400));
}

/* --- processes -------------------------------------------------------------- */

static void test_pid_alive_zombie(void)
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* Not reaped: it stays a zombie, which must count as dead. */
	bool dead = false;
	for (int i = 0; i < 200 && !dead; i++) {
		dead = !util_pid_alive(pid);
		if (!dead)
			util_sleep_ms(10);
	}
	CU_ASSERT(dead);
	CU_ASSERT_EQUAL(kill(pid, 0), 0); /* still there: a zombie, not gone */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	CU_ASSERT(util_exists(path));
	int status = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(!util_pid_alive(pid));
}

static void test_pid_alive_running(void)
{
	int sync[2];
	CU_ASSERT_FATAL(pipe(sync) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* A command name that fools a parser reading the first ')'. */
		prctl(PR_SET_NAME, "a) Z (b", 0, 0, 0);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(sync[1]);
	struct pollfd p = { .fd = sync[0], .events = POLLIN };
	char c;
	bool ready = poll(&p, 1, (int)margin(5000)) == 1 && read(sync[0], &c, 1) == 1;
	close(sync[0]);
	CU_ASSERT(ready);
	CU_ASSERT(util_pid_alive(pid));
	char cmdline[256];
	CU_ASSERT(util_pid_cmdline(pid, cmdline, sizeof cmdline) > 0);
	kill(pid, SIGKILL);
	/* util_wait_pid_dead reaps our own child. */
	CU_ASSERT(util_wait_pid_dead(pid, 2000));
	CU_ASSERT(!util_pid_alive(pid));
	CU_ASSERT_EQUAL(kill(pid, 0), -1);
	reap(pid);

	CU_ASSERT(util_pid_alive(getpid()));
	CU_ASSERT(!util_pid_alive(0));
	CU_ASSERT(!util_pid_alive(-1));
}

static void test_pid_cmdline(void)
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		execlp("sleep", "sleep", "7.25", (char *)NULL);
		_exit(127);
	}
	char buf[256] = "";
	bool seen = false;
	for (int i = 0; i < 200 && !seen; i++) {
		seen = util_pid_cmdline(pid, buf, sizeof buf) > 0 && !strcmp(buf, "sleep 7.25");
		if (!seen)
			util_sleep_ms(10);
	}
	CU_ASSERT(seen);
	/* A short buffer is cut, never overrun. */
	char small[4];
	CU_ASSERT_EQUAL(util_pid_cmdline(pid, small, sizeof small), 3);
	CU_ASSERT_STRING_EQUAL(small, "sle");
	reap(pid);
	CU_ASSERT(util_pid_cmdline(pid, buf, sizeof buf) < 0);
}

/* --- files ----------------------------------------------------------------- */

static void test_write_read_round_trip(void)
{
	const char *path = in_tmp("data.bin");
	size_t n = 20000;
	char *data = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 % 256); /* NULs included */
	mode_t old = umask(022);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(util_write_file(path, data, n, 0640, &e), 0);
	umask(old);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(st.st_size, (off_t)n);

	char *back = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &back, &len, &e), 0);
	CU_ASSERT_EQUAL(len, n);
	CU_ASSERT(memcmp(back, data, n) == 0);
	CU_ASSERT_EQUAL(back[len], '\0');
	free(back);

	/* Overwrite with less: the old tail is gone and no temp file is left. */
	CU_ASSERT_EQUAL(util_write_file(path, "short", 5, 0644, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &back, &len, &e), 0);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL(back, "short");
	free(back);
	DIR *d = opendir(tmpdir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct dirent *de;
	while ((de = readdir(d)))
		CU_ASSERT_PTR_NULL(strstr(de->d_name, "critic-tmp"));
	closedir(d);

	/* An empty file reads as an empty string, not NULL. */
	const char *empty = in_tmp("empty");
	CU_ASSERT_EQUAL(util_write_file(empty, "", 0, 0644, &e), 0);
	back = NULL;
	CU_ASSERT_EQUAL(util_read_file(empty, &back, &len, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(back);
	CU_ASSERT_EQUAL(len, 0);
	free(back);
	free(data);
}

static void test_file_errors(void)
{
	crit_err e;
	err_clear(&e);
	const char *missing = in_tmp("no/such/file");
	char *buf = (char *)"sentinel";
	CU_ASSERT_EQUAL(util_read_file(missing, &buf, NULL, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, missing));
	CU_ASSERT_STRING_EQUAL(buf, "sentinel");
	err_clear(&e);
	CU_ASSERT_EQUAL(util_write_file(missing, "x", 1, 0644, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no/such/file"));
	CU_ASSERT(!util_exists(missing));
}

static void test_mkdir_p(void)
{
	crit_err e;
	err_clear(&e);
	const char *deep = in_tmp("m/a/b/c");
	CU_ASSERT_EQUAL(util_mkdir_p(deep, 0755, &e), 0);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(deep, &st), 0);
	CU_ASSERT(S_ISDIR(st.st_mode));
	/* Again: nothing to do, no error. With a trailing slash too. */
	CU_ASSERT_EQUAL(util_mkdir_p(deep, 0755, &e), 0);
	CU_ASSERT_EQUAL(util_mkdir_p(in_tmp("m/a/b/c/d/"), 0755, &e), 0);
	CU_ASSERT(util_exists(in_tmp("m/a/b/c/d")));

	/* A file in the way is an error, in the middle or at the end. */
	const char *file = in_tmp("m/file");
	CU_ASSERT_EQUAL_FATAL(util_write_file(file, "x", 1, 0644, &e), 0);
	err_clear(&e);
	CU_ASSERT_EQUAL(util_mkdir_p(in_tmp("m/file/sub"), 0755, &e), -ENOTDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "m/file"));
	err_clear(&e);
	CU_ASSERT_EQUAL(util_mkdir_p(file, 0755, &e), -ENOTDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a directory"));
	CU_ASSERT(util_mkdir_p("", 0755, &e) < 0);
}

/* Paths util_rm_rf must refuse because they name "/". They are tried in a
 * child chrooted into a scratch directory, so a regression empties that
 * directory instead of the machine. */
static const char *const root_spellings[] = { "/", "//", "///", "/.", "/./", "/./.", "/..", "/tmp/..",
					      "/tmp/../" };

static void test_rm_rf_refuses_root(void)
{
	char jail[256];
	snprintf(jail, sizeof jail, "%s", in_tmp("jail"));
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(in_tmp("jail/tmp"), 0755, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_write_file(in_tmp("jail/canary"), "x", 1, 0644, &e), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (chroot(jail) < 0 || chdir("/") < 0)
			_exit(100); /* never call util_rm_rf("/") outside the jail */
		int bad = 0;
		for (size_t i = 0; i < ARRAY_SIZE(root_spellings); i++)
			if (util_rm_rf(root_spellings[i], NULL) != -EINVAL)
				bad |= 1 << i;
		_exit(bad > 99 ? 99 : bad);
	}
	int status = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
		fprintf(stderr, "\n  (cannot chroot: the \"/\" spellings were not tried)\n");
	else
		CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	CU_ASSERT(util_exists(in_tmp("jail/canary")));
	CU_ASSERT(util_exists(in_tmp("jail/tmp")));

	/* Relative and empty paths, with names that exist nowhere (harmless
	 * even if the check were gone). */
	err_clear(&e);
	CU_ASSERT_EQUAL(util_rm_rf("critic-no-such-dir/x", &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "critic-no-such-dir/x"));
	CU_ASSERT_EQUAL(util_rm_rf("./critic-no-such-dir", NULL), -EINVAL);
	CU_ASSERT_EQUAL(util_rm_rf("", NULL), -EINVAL);
	CU_ASSERT_EQUAL(util_rm_rf(NULL, NULL), -EINVAL);

	/* ".." that climbs out of a tree is refused too: here it would name
	 * the scratch directory itself. */
	CU_ASSERT_EQUAL(util_mkdir_p(in_tmp("keep/sub"), 0755, &e), 0);
	CU_ASSERT_EQUAL(util_rm_rf(in_tmp("keep/sub/.."), NULL), -EINVAL);
	CU_ASSERT(util_exists(in_tmp("keep/sub")));
}

static void test_rm_rf_tree(void)
{
	crit_err e;
	err_clear(&e);
	char top[256];
	snprintf(top, sizeof top, "%s", in_tmp("tree"));
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(in_tmp("tree/a/b/c"), 0755, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(in_tmp("outside/dir"), 0755, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(in_tmp("tree/a/f1"), "1", 1, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(in_tmp("tree/a/b/c/f2"), "2", 1, 0444, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(in_tmp("outside/dir/keep"), "k", 1, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(in_tmp("outside/keep"), "k", 1, 0644, &e), 0);
	/* Symlinks are removed, never followed. */
	CU_ASSERT_EQUAL(symlink(in_tmp("outside/dir"), in_tmp("tree/a/link-dir")), 0);
	CU_ASSERT_EQUAL(symlink(in_tmp("outside/keep"), in_tmp("tree/link-file")), 0);
	CU_ASSERT_EQUAL(mkfifo(in_tmp("tree/fifo"), 0600), 0);

	CU_ASSERT_EQUAL(util_rm_rf(top, &e), 0);
	CU_ASSERT(!util_exists(top));
	CU_ASSERT(util_exists(in_tmp("outside/dir/keep")));
	CU_ASSERT(util_exists(in_tmp("outside/keep")));
	/* Gone already: nothing to do. */
	CU_ASSERT_EQUAL(util_rm_rf(top, &e), 0);

	/* A symlink to a directory given with a trailing slash: the link goes,
	 * what it points to stays. */
	CU_ASSERT_EQUAL(symlink(in_tmp("outside/dir"), in_tmp("dirlink")), 0);
	char withslash[300];
	snprintf(withslash, sizeof withslash, "%s/", in_tmp("dirlink"));
	CU_ASSERT_EQUAL(util_rm_rf(withslash, &e), 0);
	CU_ASSERT(!util_exists(in_tmp("dirlink")));
	CU_ASSERT(util_exists(in_tmp("outside/dir/keep")));

	/* A plain file. */
	CU_ASSERT_EQUAL(util_rm_rf(in_tmp("outside/keep"), &e), 0);
	CU_ASSERT(!util_exists(in_tmp("outside/keep")));
}

/* --- strings and error records --------------------------------------------- */

static void test_sb_printf_grows(void)
{
	strbuf sb = { 0 };
	size_t want = 0;
	for (int i = 0; i < 5000; i++) {
		sb_printf(&sb, "%d,", i);
		char tmp[16];
		want += (size_t)snprintf(tmp, sizeof tmp, "%d,", i);
	}
	CU_ASSERT_EQUAL(sb.len, want);
	CU_ASSERT(sb.cap > sb.len);
	CU_ASSERT_EQUAL(strlen(sb.buf), sb.len);
	CU_ASSERT(util_has_prefix(sb.buf, "0,1,2,3,"));
	CU_ASSERT_STRING_EQUAL(sb.buf + sb.len - 5, "4999,");
	/* One printf bigger than the buffer so far. */
	char big[20000];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	size_t before = sb.len;
	sb_printf(&sb, "[%s]", big);
	CU_ASSERT_EQUAL(sb.len, before + sizeof big + 1);
	CU_ASSERT_EQUAL(sb.buf[sb.len - 1], ']');
	CU_ASSERT_EQUAL(sb.buf[sb.len], '\0');
	sb_free(&sb);
	CU_ASSERT_PTR_NULL(sb.buf);
	CU_ASSERT_EQUAL(sb.len, 0);
	CU_ASSERT_EQUAL(sb.cap, 0);

	/* Binary data keeps its NULs and length. */
	sb_append(&sb, "a\0b", 3);
	CU_ASSERT_EQUAL(sb.len, 3);
	CU_ASSERT(memcmp(sb.buf, "a\0b", 4) == 0);
	sb_free(&sb);
}

static void test_strings(void)
{
	char *s = util_strdup_printf("%s-%d", "pod", 42);
	CU_ASSERT_STRING_EQUAL(s, "pod-42");
	free(s);
	CU_ASSERT(util_has_prefix("unix:///x", "unix://"));
	CU_ASSERT(util_has_prefix("abc", ""));
	CU_ASSERT(!util_has_prefix("uni", "unix://"));
}

static void test_err_record(void)
{
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(e.code, 0);
	CU_ASSERT_EQUAL(e.grpc_status, -1);
	CU_ASSERT_STRING_EQUAL(err_msg(&e), "(no error recorded)");
	CU_ASSERT_STRING_EQUAL(err_msg(NULL), "(no error recorded)");

	CU_ASSERT_EQUAL(err_set(&e, -ENOENT, "open %s: %s", "/x", "gone"), -ENOENT);
	CU_ASSERT_EQUAL(e.code, -ENOENT);
	CU_ASSERT_STRING_EQUAL(err_msg(&e), "open /x: gone");
	CU_ASSERT_EQUAL(err_wrap(&e, "load %s", "cfg"), -ENOENT);
	CU_ASSERT_STRING_EQUAL(e.msg, "load cfg: open /x: gone");

	/* A gRPC error keeps the status the caller set; others clear it. */
	e.grpc_status = 5;
	err_set(&e, -ERR_GRPC, "x");
	CU_ASSERT_EQUAL(e.grpc_status, 5);
	err_set(&e, -EIO, "y");
	CU_ASSERT_EQUAL(e.grpc_status, -1);

	/* No record: the code still comes back. */
	CU_ASSERT_EQUAL(err_set(NULL, -EPERM, "nobody %s", "listens"), -EPERM);

	/* Wrapping a full message cuts it, still terminated. */
	char long_msg[2000];
	memset(long_msg, 'm', sizeof long_msg - 1);
	long_msg[sizeof long_msg - 1] = '\0';
	err_set(&e, -E2BIG, "%s", long_msg);
	CU_ASSERT_EQUAL(strlen(e.msg), sizeof e.msg - 1);
	err_wrap(&e, "ctx");
	CU_ASSERT_EQUAL(strlen(e.msg), sizeof e.msg - 1);
	CU_ASSERT(util_has_prefix(e.msg, "ctx: mmm"));
	CU_ASSERT_EQUAL(e.code, -E2BIG);
}

static void test_clocks(void)
{
	int64_t ms0 = util_now_ms(), us0 = util_now_us();
	util_sleep_ms(50);
	int64_t ms = util_now_ms() - ms0, us = util_now_us() - us0;
	CU_ASSERT(ms >= 50 && ms < 50 + margin(200));
	CU_ASSERT(us >= 50000);
	CU_ASSERT(util_wall_ns() > (int64_t)1600000000 * 1000000000);
}

void tests_register_util(void)
{
	CU_pSuite s = CU_add_suite("unit/util", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "util_run: output and exit status", test_run_output_and_status);
	CU_add_test(s, "util_run: missing command, death by signal", test_run_not_found_and_signal);
	CU_add_test(s, "util_run: deadline kills and returns ETIMEDOUT", test_run_deadline);
	CU_add_test(s, "util_run: deadline kills the process group", test_run_deadline_kills_group);
	CU_add_test(s, "util_pid_alive: a zombie is dead", test_pid_alive_zombie);
	CU_add_test(s, "util_pid_alive: a running child is alive", test_pid_alive_running);
	CU_add_test(s, "util_pid_cmdline", test_pid_cmdline);
	CU_add_test(s, "util_write_file/util_read_file round trip", test_write_read_round_trip);
	CU_add_test(s, "file errors name the path", test_file_errors);
	CU_add_test(s, "util_mkdir_p", test_mkdir_p);
	CU_add_test(s, "util_rm_rf refuses / and relative paths", test_rm_rf_refuses_root);
	CU_add_test(s, "util_rm_rf removes a tree, follows no link", test_rm_rf_tree);
	CU_add_test(s, "sb_printf grows", test_sb_printf_grows);
	CU_add_test(s, "string helpers", test_strings);
	CU_add_test(s, "error records", test_err_record);
	CU_add_test(s, "clocks", test_clocks);
}
