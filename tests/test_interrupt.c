/* Integration: `critic run` stopped by SIGINT on a lab of this suite's own:
 * the run is swept, partial reports say "interrupted", exit 130; a second
 * SIGINT stops at once and names `critic cleanup --run-id`. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
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

static int lab_cmd(const char *what, int timeout_ms)
{
	return tests_lab_cmd(critic_bin, lab_dir, what, timeout_ms);
}

/* `critic run` of the container and pod tests, in the background. */
static int start_run(tests_child *c, const char *json)
{
	/* One test at a time, as this suite was written for: with a
	 * SIGSTOPped runtime every test running has a call in flight that
	 * completes after SIGCONT, after critic cleanup looked (SIGINT in
	 * parallel runs: test_parallel.c). */
	char *argv[] = { critic_bin, "--dir", lab_dir, "run", "--parallel", "1", "--focus", "^(container|pod)/",
			 "--json", (char *)json, NULL };
	return tests_child_start(c, argv, lab_dir);
}

/* Start a run, wait for 2 finished tests (deadline 240 s). */
static bool run_until_two(tests_child *c, const char *json)
{
	CU_ASSERT_EQUAL_FATAL(start_run(c, json), 0);
	if (!tests_child_wait_finished(c, 2, 240000)) {
		printf("\n    the run did not finish 2 tests in 240 s (exited %d): %s", c->exited, tests_child_output(c));
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
	if (tests_beside("critic", critic_bin, sizeof critic_bin) < 0)
		return -1;
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
	tests_child c;
	bool running = run_until_two(&c, json);
	CU_ASSERT_FATAL(running);
	/* Let the third test get under way (objects in the runtime to sweep). */
	for (int i = 0; i < 14; i++)
		tests_child_pump(&c, 50);
	int done_before = tests_child_finished(&c);
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = tests_child_wait_exit(&c, 15000);
	int64_t ms = util_now_ms() - t0;
	printf("\n    %d tests done when interrupted; exit after %lld ms", done_before, (long long)ms);
	CU_ASSERT(exited);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	const char *out = tests_child_output(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "interrupted by SIGINT"));
	CU_ASSERT_PTR_NULL(strstr(out, "cleanup skipped"));
	for (const char *p = strstr(out, "left behind"); p; p = strstr(p + 1, "left behind"))
		printf("\n    runner: %.*s", (int)strcspn(p, "\n"), p);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 130)
		printf("\n    status 0x%x, output:\n%s", c.status, out);
	tests_child_free(&c);

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
	tests_child c;
	bool running = run_until_two(&c, json);
	if (!running)
		tests_child_free(&c);
	CU_ASSERT_FATAL(running);
	kill(lab.containerd_pid, SIGSTOP);
	kill(c.pid, SIGINT);
	for (int i = 0; i < 4; i++)
		tests_child_pump(&c, 50);
	bool early = c.exited;
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = tests_child_wait_exit(&c, 10000);
	int64_t ms = util_now_ms() - t0;
	kill(lab.containerd_pid, SIGCONT);
	printf("\n    exit %lld ms after the second SIGINT", (long long)ms);
	CU_ASSERT(!early); /* the first SIGINT alone did not end it: cleanup was waiting */
	CU_ASSERT(exited && ms <= 3000);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	const char *out = tests_child_output(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cleanup skipped"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cleanup --run-id "));
	const char *msg = strstr(out, "critic: interrupted twice");
	if (msg)
		printf("\n    %.*s", (int)strcspn(msg, "\n"), msg);
	else
		printf("\n    output:\n%s", out);
	tests_child_free(&c);

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
