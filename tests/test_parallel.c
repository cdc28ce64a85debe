/* Integration: `critic run --parallel N` on a lab of this suite's own: the
 * same verdicts as a serial run, serial tests alone, SIGINT stops them all. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

/* Tests from several areas: a serial one (stats/list-pod-sandbox-stats),
 * three image-store ones (one at a time among themselves), the exec area's
 * shared fixture, and plain independent tests (stats/list-nil-filter among
 * them: it lists every container while others come and go). */
#define FOCUS                                                                                   \
	"^(runtime|exec|pod)/|^stats/list-(nil-filter|pod-sandbox-stats|by-id)$|^image/(pull-twice|" \
	"list-after-pull|remove-by-tag|status-absent)$"

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

/* critic run --focus FOCUS --parallel N --json FILE; its exit code. */
static int run_focus(const char *parallel, const char *json, char **out)
{
	char *argv[] = { critic_bin, "--dir", lab_dir, "run", "--focus", FOCUS, "--parallel", (char *)parallel,
			 "--json", (char *)json, NULL };
	return critic_cmd(argv, 600000, out);
}

/* One test of a JSON report: name, verdict, [start, end) in ms since the epoch. */
typedef struct {
	char name[128], verdict[16];
	int64_t start_ms, end_ms;
	bool serial, store;
} seen;

static int64_t iso_ms(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0;
	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

/* The tests of a report (at most max); -1 when it cannot be read. */
static int read_report(const char *path, seen *out, int max)
{
	json_object *doc = json_object_from_file(path), *tests = NULL;
	if (!doc || !json_object_object_get_ex(doc, "tests", &tests) || !json_object_is_type(tests, json_type_array)) {
		printf("\n    %s: no tests array", path);
		json_object_put(doc);
		return -1;
	}
	int n = 0;
	for (size_t i = 0; i < json_object_array_length(tests) && n < max; i++) {
		json_object *t = json_object_array_get_idx(tests, i), *d = NULL;
		seen *s = &out[n++];
		memset(s, 0, sizeof *s);
		snprintf(s->name, sizeof s->name, "%s", jstr(t, "name") ? jstr(t, "name") : "?");
		snprintf(s->verdict, sizeof s->verdict, "%s", jstr(t, "verdict") ? jstr(t, "verdict") : "?");
		s->start_ms = iso_ms(jstr(t, "started_at"));
		s->end_ms = json_object_object_get_ex(t, "duration_ms", &d) && s->start_ms >= 0
				    ? s->start_ms + json_object_get_int64(d)
				    : -1;
		/* The serial tests of FOCUS, as the suites mark them. */
		s->serial = !strcmp(s->name, "stats/list-pod-sandbox-stats");
		s->store = !strcmp(s->name, "image/pull-twice") || !strcmp(s->name, "image/list-after-pull") ||
			   !strcmp(s->name, "image/remove-by-tag");
	}
	json_object_put(doc);
	return n;
}

/* Is the log dir critic gave the report's run still there? (-1: no run id) */
static int run_logs_left(const char *report)
{
	json_object *doc = json_object_from_file(report), *run = NULL;
	const char *id = doc && json_object_object_get_ex(doc, "run", &run) ? jstr(run, "id") : NULL;
	int left = -1;
	if (id && *id) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "/var/log/critic/%s", id);
		left = access(dir, F_OK) == 0;
		if (left)
			printf("\n    %s is left after the run", dir);
	}
	json_object_put(doc);
	return left;
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
	snprintf(lab_dir, sizeof lab_dir, "%s-parallel", tests_lab_dir());
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-parallel-XXXXXX");
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

static void test_bad_parallel(void)
{
	static const char *const bad[] = { "0", "-2", "x", "65", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = { critic_bin, "--dir", lab_dir, "run", "--parallel", (char *)bad[i], NULL };
		char *out = NULL;
		int rc = critic_cmd(argv, 30000, &out);
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT(out && strstr(out, "--parallel"));
		if (rc != 2)
			printf("\n    --parallel '%s': rc %d: %s", bad[i], rc, out ? out : "");
		free(out);
	}
}

/* The same verdicts one at a time and four at a time; in the parallel run
 * tests did overlap, but never with a serial test. */
static void test_same_verdicts_serial_alone(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char js[128], jp[128];
	snprintf(js, sizeof js, "%s/serial.json", tmpdir);
	snprintf(jp, sizeof jp, "%s/parallel.json", tmpdir);
	char *out = NULL;
	int rs = run_focus("1", js, &out);
	if (rs != 0)
		printf("\n    --parallel 1: rc %d:\n%s", rs, out ? out : "");
	free(out);
	out = NULL;
	int rp = run_focus("4", jp, &out);
	if (rp != 0)
		printf("\n    --parallel 4: rc %d:\n%s", rp, out ? out : "");
	CU_ASSERT_EQUAL(rs, 0);
	CU_ASSERT_EQUAL(rp, 0);
	/* The exec area's fixture was set up and torn down by its own sweep:
	 * the final sweep found nothing. */
	CU_ASSERT(out && !strstr(out, "final sweep"));
	CU_ASSERT(out && !strstr(out, "fixture teardown") && !strstr(out, "fixture sweep"));
	free(out);

	static seen a[200], b[200];
	int na = read_report(js, a, 200), nb = read_report(jp, b, 200);
	CU_ASSERT_FATAL(na > 10 && na == nb);
	int serial_seen = 0, store_seen = 0, overlaps = 0, store_beside_other = 0;
	for (int i = 0; i < na; i++) {
		const seen *p = NULL;
		for (int k = 0; k < nb; k++)
			if (!strcmp(b[k].name, a[i].name))
				p = &b[k];
		CU_ASSERT_PTR_NOT_NULL(p);
		if (!p)
			continue;
		CU_ASSERT_STRING_EQUAL(p->verdict, a[i].verdict);
		if (strcmp(p->verdict, a[i].verdict))
			printf("\n    %s: %s serially, %s in parallel", a[i].name, a[i].verdict, p->verdict);
	}
	for (int i = 0; i < nb; i++) {
		if (b[i].start_ms < 0 || b[i].end_ms < 0)
			continue; /* skipped up front: never started */
		serial_seen += b[i].serial;
		store_seen += b[i].store;
		for (int k = i + 1; k < nb; k++) {
			if (b[k].start_ms < 0 || b[k].end_ms < 0)
				continue;
			/* Reports give whole ms (start and duration cut): a test
			 * that starts as another ends may seem to overlap it by 1 ms. */
			bool overlap = b[i].start_ms + 1 < b[k].end_ms && b[k].start_ms + 1 < b[i].end_ms;
			overlaps += overlap;
			store_beside_other += overlap && (b[i].store != b[k].store);
			if (overlap && (b[i].serial || b[k].serial || (b[i].store && b[k].store))) {
				CU_FAIL("a serial test overlapped another, or two image-store tests overlapped");
				printf("\n    %s [%lld, %lld) overlaps %s [%lld, %lld)", b[i].name, (long long)b[i].start_ms,
				       (long long)b[i].end_ms, b[k].name, (long long)b[k].start_ms, (long long)b[k].end_ms);
			}
		}
	}
	printf("\n    %d tests, %d serial and %d image-store ones run, %d overlapping pairs in parallel (%d of an "
	       "image-store test with another)", nb, serial_seen, store_seen, overlaps, store_beside_other);
	CU_ASSERT_EQUAL(serial_seen, 1);
	CU_ASSERT_EQUAL(store_seen, 3);
	CU_ASSERT(overlaps > 0);
	CU_ASSERT_EQUAL(critic_pods(), 0);
	/* Nothing of either run on disk: the fixture's pod log dir went too. */
	CU_ASSERT_EQUAL(run_logs_left(js), 0);
	CU_ASSERT_EQUAL(run_logs_left(jp), 0);
}

/* SIGINT while four tests run: all are killed, their labels swept, the
 * report partial, exit 130. */
static void test_sigint_parallel(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char json[128];
	snprintf(json, sizeof json, "%s/interrupted.json", tmpdir);
	char *argv[] = { critic_bin, "--dir", lab_dir, "run", "--focus", "^(container|pod)/", "--parallel", "4",
			 "--json", json, NULL };
	tests_child c;
	CU_ASSERT_EQUAL_FATAL(tests_child_start(&c, argv, NULL), 0);
	tests_child_wait_finished(&c, 2, 240000);
	/* Let the next tests get under way (objects in the runtime to sweep). */
	for (int i = 0; i < 6; i++)
		tests_child_pump(&c, 50);
	bool was_running = !c.exited;
	int done_before = tests_child_finished(&c);
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	tests_child_wait_exit(&c, 20000);
	int64_t ms = util_now_ms() - t0;
	const char *out = tests_child_output(&c);
	printf("\n    %d tests done when interrupted; exit after %lld ms", done_before, (long long)ms);
	CU_ASSERT(was_running);
	CU_ASSERT(ms < 20000);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "interrupted by SIGINT"));
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 130)
		printf("\n    status 0x%x, output:\n%s", c.status, out);
	/* Every test killed mid-way says so; the rest did not start. */
	static seen s[200];
	int n = read_report(json, s, 200), killed = 0, not_started = 0, ran = 0;
	CU_ASSERT_FATAL(n > 0);
	json_object *doc = json_object_from_file(json), *tests = NULL;
	CU_ASSERT_FATAL(doc && json_object_object_get_ex(doc, "tests", &tests));
	for (int i = 0; i < n; i++) {
		const char *d = jstr(json_object_array_get_idx(tests, (size_t)i), "detail");
		if (!strcmp(s[i].verdict, "SKIP") && d && strstr(d, "interrupted after"))
			killed++;
		else if (!strcmp(s[i].verdict, "SKIP") && d && !strcmp(d, "interrupted"))
			not_started++;
		else
			ran++;
	}
	json_object_put(doc);
	printf("\n    report: %d tests: %d ran, %d killed mid-way, %d not started", n, ran, killed, not_started);
	CU_ASSERT(killed >= 1);
	CU_ASSERT(not_started >= 1);
	CU_ASSERT(ran >= 2);
	/* The killed tests' objects were swept. */
	CU_ASSERT_EQUAL(critic_pods(), 0);
	tests_child_free(&c);
}

void tests_register_parallel(void)
{
	CU_pSuite s = CU_add_suite("integration/parallel", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "lab up (own dir)", test_lab_up);
	CU_add_test(s, "--parallel refuses 0, negatives, words, > 64", test_bad_parallel);
	CU_add_test(s, "--parallel 4: same verdicts as 1; serial tests alone", test_same_verdicts_serial_alone);
	CU_add_test(s, "SIGINT with 4 tests running: all stopped, swept, exit 130", test_sigint_parallel);
}
