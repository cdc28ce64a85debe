/* Integration: `critic run` stopped by SIGINT on a lab of this suite's own:
 * the run is swept, partial reports say "interrupted", exit 130; a second
 * SIGINT stops at once and names `critic cleanup --run-id`. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "lab.h"
#include "tests.h"
#include "tst.h"
#include "util.h"

static char lab_dir[PATH_MAX];
static char critic_bin[PATH_MAX];
static char tmpdir[64];
static bool lab_ok;

static int critic_cmd(char *const argv[], int timeout_ms, char **out)
{
	crit_err e;
	err_clear(&e);
	int rc = util_run(argv, timeout_ms, out, &e);
	if (rc < 0)
		printf("\n    %s: %s", argv[1], e.msg);
	return rc;
}

/* `critic --dir DIR lab up|down`, never lab_up in this process (it uses gRPC). */
static int lab_cmd(const char *what, int timeout_ms)
{
	char *argv[] = { critic_bin, "--dir", lab_dir, "lab", (char *)what, NULL };
	char *out = NULL;
	int rc = critic_cmd(argv, timeout_ms, &out);
	if (rc != 0)
		printf("\n    critic lab %s: rc %d: %s", what, rc, out ? out : "");
	free(out);
	return rc;
}

/* A `critic run` child whose stdout and stderr come back through a pipe. */
typedef struct {
	pid_t pid;
	int fd;
	strbuf out;
	int status;
	bool exited;
} child_run;

static int start_run(child_run *c, const char *json)
{
	int fds[2];
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		setenv("CRITIC_LAB_DIR", lab_dir, 1);
		/* One test at a time, as this suite was written for: with a
		 * SIGSTOPped runtime every test running has a call in flight that
		 * completes after SIGCONT, after critic cleanup looked (SIGINT in
		 * parallel runs: test_parallel.c). */
		char *argv[] = { critic_bin, "--dir", lab_dir, "run", "--parallel", "1", "--focus", "^(container|pod)/",
				 "--json", (char *)json, NULL };
		execv(critic_bin, argv);
		_exit(127);
	}
	close(fds[1]);
	c->pid = pid;
	c->fd = fds[0];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Read what is there (waiting up to wait_ms); note whether the child exited. */
static void pump(child_run *c, int wait_ms)
{
	if (c->fd >= 0) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, wait_ms) > 0) {
			char buf[4096];
			ssize_t n;
			while ((n = read(c->fd, buf, sizeof buf)) > 0)
				sb_append(&c->out, buf, (size_t)n);
			if (n == 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	} else {
		util_sleep_ms(wait_ms);
	}
	if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->exited = true;
}

/* Finished tests so far: the runner's "[ n/N] VERDICT name" lines (not
 * "[--/--]", the tests skipped up front). */
static int finished(const child_run *c)
{
	int n = 0;
	for (const char *p = c->out.buf; p && *p;) {
		int k, total;
		if (p[0] == '[' && sscanf(p, "[%d/%d]", &k, &total) == 2)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/* Wait for the child's exit up to ms; kill it when it does not. */
static bool wait_exit(child_run *c, int ms)
{
	int64_t end = util_now_ms() + ms;
	while (!c->exited && util_now_ms() < end)
		pump(c, 20);
	if (!c->exited) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
		c->exited = true;
		return false;
	}
	/* Drain what is left (test processes are gone: EOF soon). */
	for (int i = 0; i < 20 && c->fd >= 0; i++)
		pump(c, 50);
	return true;
}

static void child_free(child_run *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (!c->exited && c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	sb_free(&c->out);
}

/* Start a run, wait for 2 finished tests (deadline 240 s). */
static bool run_until_two(child_run *c, const char *json)
{
	CU_ASSERT_EQUAL_FATAL(start_run(c, json), 0);
	int64_t end = util_now_ms() + 240000;
	while (!c->exited && finished(c) < 2 && util_now_ms() < end)
		pump(c, 50);
	if (finished(c) < 2) {
		printf("\n    the run did not finish 2 tests in 240 s (exited %d): %s", c->exited,
		       c->out.buf ? c->out.buf : "");
		return false;
	}
	return !c->exited;
}

static int critic_pods(void)
{
	return tests_critic_pods(lab_dir);
}

/* ------------------------------------------------------------ tests */

static int suite_init(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(critic_bin, sizeof critic_bin, "%s/critic", dirname(exe));
	snprintf(lab_dir, sizeof lab_dir, "%s-interrupt", tests_lab_dir());
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-interrupt-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	util_rm_rf(tmpdir, NULL);
	if (lab_ok && lab_cmd("down", 180000) != 0)
		return -1;
	return 0;
}

static void test_lab_up(void)
{
	CU_ASSERT_EQUAL_FATAL(lab_cmd("up", 600000), 0);
	lab_ok = true;
}

static void test_sigint_sweeps_and_reports(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char json[128];
	snprintf(json, sizeof json, "%s/run.json", tmpdir);
	child_run c;
	bool running = run_until_two(&c, json);
	CU_ASSERT_FATAL(running);
	/* Let the third test get under way (objects in the runtime to sweep). */
	for (int i = 0; i < 14; i++)
		pump(&c, 50);
	int done_before = finished(&c);
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = wait_exit(&c, 15000);
	int64_t ms = util_now_ms() - t0;
	printf("\n    %d tests done when interrupted; exit after %lld ms", done_before, (long long)ms);
	CU_ASSERT(exited);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	const char *out = c.out.buf ? c.out.buf : "";
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "interrupted by SIGINT"));
	CU_ASSERT_PTR_NULL(strstr(out, "cleanup skipped"));
	for (const char *p = strstr(out, "left behind"); p; p = strstr(p + 1, "left behind"))
		printf("\n    runner: %.*s", (int)strcspn(p, "\n"), p);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 130)
		printf("\n    status 0x%x, output:\n%s", c.status, out);
	child_free(&c);

	/* The partial report: the tests run have their verdicts, the others
	 * are SKIP "interrupted". */
	json_object *doc = json_object_from_file(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	json_object *tests = NULL;
	CU_ASSERT_FATAL(json_object_object_get_ex(doc, "tests", &tests) &&
			json_object_is_type(tests, json_type_array));
	size_t n = json_object_array_length(tests), ran = 0, interrupted = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tests, i), *v = NULL, *d = NULL;
		json_object_object_get_ex(t, "verdict", &v);
		json_object_object_get_ex(t, "detail", &d);
		const char *verdict = v ? json_object_get_string(v) : "";
		const char *detail = d ? json_object_get_string(d) : NULL;
		if (!strcmp(verdict, "SKIP") && detail && !strncmp(detail, "interrupted", 11))
			interrupted++;
		else
			ran++;
	}
	printf("\n    report: %zu tests, %zu run, %zu skipped \"interrupted\"", n, ran, interrupted);
	CU_ASSERT(ran >= 2);
	CU_ASSERT(interrupted >= 1);
	CU_ASSERT_EQUAL(ran + interrupted, n);
	json_object_put(doc);
	CU_ASSERT_EQUAL(critic_pods(), 0);
}

static void test_second_sigint_aborts(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char json[128];
	snprintf(json, sizeof json, "%s/run2.json", tmpdir);
	/* The lab's containerd is paused (SIGSTOP, it is critic's own) so the
	 * cleanup after the first SIGINT hangs in its CRI calls, as on a slow
	 * runtime: the second SIGINT must end it at once. */
	lab_info lab;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	CU_ASSERT_FATAL(lab.containerd_pid > 0);
	child_run c;
	bool running = run_until_two(&c, json);
	if (!running)
		child_free(&c);
	CU_ASSERT_FATAL(running);
	kill(lab.containerd_pid, SIGSTOP);
	kill(c.pid, SIGINT);
	for (int i = 0; i < 4; i++)
		pump(&c, 50);
	bool early = c.exited;
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = wait_exit(&c, 10000);
	int64_t ms = util_now_ms() - t0;
	kill(lab.containerd_pid, SIGCONT);
	printf("\n    exit %lld ms after the second SIGINT", (long long)ms);
	CU_ASSERT(!early); /* the first SIGINT alone did not end it: cleanup was waiting */
	CU_ASSERT(exited && ms <= 3000);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	const char *out = c.out.buf ? c.out.buf : "";
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cleanup skipped"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cleanup --run-id "));
	const char *msg = strstr(out, "critic: interrupted twice");
	if (msg)
		printf("\n    %.*s", (int)strcspn(msg, "\n"), msg);
	else
		printf("\n    output:\n%s", out);
	child_free(&c);

	/* What the run may have left goes with critic cleanup. */
	char *argv[] = { critic_bin, "--dir", lab_dir, "cleanup", NULL };
	char *cout = NULL;
	int rc = critic_cmd(argv, 180000, &cout);
	if (rc != 0)
		printf("\n    critic cleanup: rc %d: %s", rc, cout ? cout : "");
	free(cout);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(critic_pods(), 0);
}

void tests_register_interrupt(void)
{
	CU_pSuite s = CU_add_suite("integration/interrupt", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "lab up (own dir)", test_lab_up);
	CU_add_test(s, "SIGINT: test stopped, run swept, partial JSON, exit 130", test_sigint_sweeps_and_reports);
	CU_add_test(s, "second SIGINT: stops at once, names critic cleanup", test_second_sigint_aborts);
}
