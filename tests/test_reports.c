/* Tests of the result writers: a run built by hand goes through each writer,
 * and the output is checked with real parsers (xmllint against the JUnit
 * schema, json-c); then, against the lab, `critic run` writes all four. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/rep.h"
#include "scenarios/runlib.h"
#include "tests.h"
#include "util.h"

/* ---- a run built by hand ------------------------------------------------------ */

static const char FAIL_DETAIL[] =
	"pod.c:12: expected a < b & \"c\" 'd'\x01: RunPodSandbox on unix:///x.sock: NOT_FOUND: no <such> pod\n"
	"note: helper said <hi>\n"
	"pod.c:40: second failure & more";

static void noop(tst_ctx *t) { (void)t; }

static const tst_case alpha_cases[] = {
	{ "alpha/pass", "passes", noop },
	{ "alpha/fail", "fails with a detail that needs escaping", noop },
};
static const tst_case beta_cases[] = {
	{ "beta/skip", "skipped", noop },
	{ "beta/timeout", "hangs", noop },
	{ "beta/crash", "dies", noop },
};
static tst_suite alpha = { "alpha", "first area", alpha_cases, 2, NULL };
static tst_suite beta = { "beta", "second area", beta_cases, 3, NULL };

static tst_call call(const char *method, int status, int64_t start_us, int64_t dur_us)
{
	tst_call c = { .grpc_status = status, .start_us = start_us, .dur_us = dur_us };
	snprintf(c.method, sizeof c.method, "%s", method);
	return c;
}

static void set_calls(tst_result *r, const tst_call *c, size_t n)
{
	r->calls = malloc(n * sizeof *c);
	memcpy(r->calls, c, n * sizeof *c);
	r->n_calls = n;
}

/* pass, fail (multi-line detail with markup, quotes and a control
 * character), skip with a reason, timeout, crash. */
static void build(tst_summary *s)
{
	memset(s, 0, sizeof *s);
	tst_meta *m = &s->meta;
	snprintf(m->run_id, sizeof m->run_id, "20240501-120000-abcd");
	snprintf(m->critic_version, sizeof m->critic_version, "1.2.3-test");
	snprintf(m->endpoint, sizeof m->endpoint, "unix:///run/x.sock");
	snprintf(m->image_endpoint, sizeof m->image_endpoint, "unix:///run/x.sock");
	m->is_lab = true;
	snprintf(m->handler, sizeof m->handler, "crun");
	snprintf(m->runtime_name, sizeof m->runtime_name, "containerd");
	snprintf(m->runtime_version, sizeof m->runtime_version, "1.6.20");
	snprintf(m->runtime_api, sizeof m->runtime_api, "v1");
	m->start_wall_ns = 1714564800123000000LL; /* 2024-05-01T12:00:00.123Z */
	snprintf(m->hostname, sizeof m->hostname, "node-<1>");
	snprintf(m->kernel, sizeof m->kernel, "Linux 6.1.0 #1 SMP x86_64");
	snprintf(m->cgroup, sizeof m->cgroup, "v2");
	snprintf(m->focus, sizeof m->focus, "^alpha|^beta");
	m->test_timeout_s = 5;
	m->call_timeout_ms = 2000;
	s->results = calloc(5, sizeof *s->results);
	s->n_results = 5;
	s->wall_ms = 9000;
	tst_result *r = s->results;

	r[0] = (tst_result){ .tc = &alpha_cases[0], .suite = &alpha, .verdict = TST_PASS, .dur_ms = 1500,
			     .start_wall_ns = m->start_wall_ns + 1000000 };
	r[0].detail = strdup("note: note line <1> \xff bad byte");
	r[0].notes = strdup("note line <1> \xff bad byte");
	tst_call c0[] = { call("Version", 0, 100, 1000), call("Status", 0, 2000, 3000) };
	set_calls(&r[0], c0, 2);

	r[1] = (tst_result){ .tc = &alpha_cases[1], .suite = &alpha, .verdict = TST_FAIL, .dur_ms = 2500,
			     .start_wall_ns = m->start_wall_ns + 2000000000LL };
	r[1].detail = strdup(FAIL_DETAIL);
	r[1].notes = strdup("helper said <hi>");
	tst_call c1[] = { call("RunPodSandbox", 5, 2000, 20000), call("RunPodSandbox", 0, 30000, 10000),
			  call("Status", 0, 50000, 2000) };
	set_calls(&r[1], c1, 3);
	r[1].calls_dropped = 7;

	r[2] = (tst_result){ .tc = &beta_cases[0], .suite = &beta, .verdict = TST_SKIP, .dur_ms = 0 };
	r[2].detail = strdup("needs root");

	r[3] = (tst_result){ .tc = &beta_cases[1], .suite = &beta, .verdict = TST_TIMEOUT, .dur_ms = 5000,
			     .start_wall_ns = m->start_wall_ns + 4000000000LL };
	r[3].detail = strdup("test did not finish within 5 s; its process group was killed");

	r[4] = (tst_result){ .tc = &beta_cases[2], .suite = &beta, .verdict = TST_CRASH, .dur_ms = 10,
			     .start_wall_ns = m->start_wall_ns + 9000000000LL };
	r[4].detail = strdup("note: about to crash\ntest process died of signal 11 (Segmentation fault)");
	r[4].notes = strdup("about to crash");
	s->total = 5;
	s->passed = 1;
	s->failed = 3;
	s->skipped = 1;
}

/* ---- helpers ---------------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-rep-XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
}

static char *tmp_path(const char *name)
{
	make_tmpdir();
	return util_strdup_printf("%s/%s", tmpdir, name);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* reports/junit.xsd: from $CRITIC_SRC_DIR, the working directory, or beside
 * the binary's directory (bin/../reports). */
static const char *junit_xsd(void)
{
	static char path[PATH_MAX];
	const char *src = getenv("CRITIC_SRC_DIR");
	if (src && *src) {
		snprintf(path, sizeof path, "%s/reports/junit.xsd", src);
		if (util_exists(path))
			return path;
	}
	if (util_exists("reports/junit.xsd"))
		return "reports/junit.xsd";
	if (tests_beside("../reports/junit.xsd", path, sizeof path) == 0 && util_exists(path))
		return path;
	return NULL;
}

/* xmllint with args; returns its exit status, output in *out. */
static int xmllint(const char *a1, const char *a2, const char *a3, const char *file, char **out)
{
	char *argv[8];
	int i = 0;
	argv[i++] = "xmllint";
	if (a1)
		argv[i++] = (char *)a1;
	if (a2)
		argv[i++] = (char *)a2;
	if (a3)
		argv[i++] = (char *)a3;
	argv[i++] = (char *)file;
	argv[i] = NULL;
	crit_err e;
	int rc = util_run(argv, 30000, out, &e);
	if (rc < 0)
		printf("\n    xmllint: %s (install libxml2-utils: make deps)", e.msg);
	return rc;
}

static long xpath_count(const char *file, const char *expr)
{
	char *out = NULL;
	char *q = util_strdup_printf("count(%s)", expr);
	int rc = xmllint("--xpath", q, NULL, file, &out);
	long v = rc == 0 && out ? strtol(out, NULL, 10) : -1;
	free(q);
	free(out);
	return v;
}

/* The JUnit file validates against reports/junit.xsd. */
static void assert_junit_valid(const char *file)
{
	const char *xsd = junit_xsd();
	if (!xsd)
		printf("\n    reports/junit.xsd not found (run from the source tree or set CRITIC_SRC_DIR)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(xsd);
	char *out = NULL;
	int rc = xmllint("--noout", "--schema", xsd, file, &out);
	if (rc != 0)
		printf("\n    xmllint --schema: %s", out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
}

/* ---- unit tests -------------------------------------------------------------------- */

static void test_escape(void)
{
	strbuf sb = { 0 };
	rep_xml_escape(&sb, "a<b&\"'\x01\t\nz", true);
	CU_ASSERT_STRING_EQUAL(sb.buf, "a&lt;b&amp;&quot;&#39;&#9;&#10;z");
	sb_free(&sb);
	rep_xml_escape(&sb, "x>\x1f\ty\n", false);
	CU_ASSERT_STRING_EQUAL(sb.buf, "x&gt;\ty\n");
	sb_free(&sb);
	/* Invalid UTF-8 (a bad continuation, an overlong '/', a surrogate)
	 * becomes U+FFFD; U+FFFE is not an XML character; é stays. */
	rep_xml_escape(&sb, "\xc3\x28|\xc0\xaf|\xed\xa0\x80|\xef\xbf\xbe|\xc3\xa9", false);
	CU_ASSERT_STRING_EQUAL(sb.buf, "\xef\xbf\xbd(|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd||\xc3\xa9");
	sb_free(&sb);
	rep_utf8_clean(&sb, "a\nb\x02\xff", true);
	CU_ASSERT_STRING_EQUAL(sb.buf, "a | b \xef\xbf\xbd");
	sb_free(&sb);
	char t[40];
	rep_iso_time(1714564800123000000LL, false, t, sizeof t);
	CU_ASSERT_STRING_EQUAL(t, "2024-05-01T12:00:00");
	rep_iso_time(1714564800123000000LL, true, t, sizeof t);
	CU_ASSERT_STRING_EQUAL(t, "2024-05-01T12:00:00.123Z");
}

static void test_percentiles(void)
{
	int64_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = i + 1;
	CU_ASSERT_EQUAL(rep_percentile(v, 100, 50), 50);
	CU_ASSERT_EQUAL(rep_percentile(v, 100, 95), 95);
	CU_ASSERT_EQUAL(rep_percentile(v, 100, 99), 99);
	CU_ASSERT_EQUAL(rep_percentile(v, 100, 100), 100);
	CU_ASSERT_EQUAL(rep_percentile(v, 1, 99), 1);
	CU_ASSERT_EQUAL(rep_percentile(v, 0, 50), 0);
	int64_t w[] = { 10, 20, 30 };
	CU_ASSERT_EQUAL(rep_percentile(w, 3, 50), 20);
	CU_ASSERT_EQUAL(rep_percentile(w, 3, 34), 20);
	CU_ASSERT_EQUAL(rep_percentile(w, 3, 33), 10);

	tst_summary s;
	build(&s);
	rep_method_stat *st = NULL;
	size_t n = 0;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(rep_method_stats(&s, &st, &n, &e), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(st[0].method, "RunPodSandbox");
	CU_ASSERT_EQUAL(st[0].count, 2);
	CU_ASSERT_EQUAL(st[0].errors, 1);
	CU_ASSERT_EQUAL(st[0].p50_us, 10000);
	CU_ASSERT_EQUAL(st[0].p99_us, 20000);
	CU_ASSERT_EQUAL(st[0].max_us, 20000);
	CU_ASSERT_EQUAL(st[0].mean_us, 15000);
	CU_ASSERT_STRING_EQUAL(st[1].method, "Status");
	CU_ASSERT_EQUAL(st[1].count, 2);
	CU_ASSERT_EQUAL(st[1].p50_us, 2000);
	CU_ASSERT_EQUAL(st[1].max_us, 3000);
	CU_ASSERT_STRING_EQUAL(st[2].method, "Version");
	free(st);
	tst_summary_free(&s);
}

static void test_junit(void)
{
	tst_summary s;
	build(&s);
	crit_err e;
	char *path = tmp_path("junit.xml");
	CU_ASSERT_EQUAL_FATAL(rep_write_junit(&s, path, &e), 0);
	char *x = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &x, NULL, &e), 0);
	assert_junit_valid(path);
	CU_ASSERT_EQUAL(xpath_count(path, "/testsuites/testsuite"), 2);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase"), 5);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@classname='critic.alpha']"), 2);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='alpha/fail']/failure[@type='FAIL']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='beta/skip']/skipped[@message='needs root']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='beta/timeout']/error[@type='TIMEOUT']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='beta/crash']/error[@type='CRASH']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//failure|//error"), 3);
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='beta']/properties/property[@name='critic.runtime']"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuites name=\"critic 20240501-120000-abcd\" tests=\"5\" failures=\"1\" "
					 "errors=\"2\" time=\"9.000\">"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuite name=\"alpha\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\" "
					 "time=\"4.000\" timestamp=\"2024-05-01T12:00:00\" hostname=\"node-&lt;1&gt;\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testsuite name=\"beta\" tests=\"3\" failures=\"0\" errors=\"2\" skipped=\"1\" "
					 "time=\"5.010\" timestamp=\"2024-05-01T12:00:04\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<testcase classname=\"critic.alpha\" name=\"alpha/pass\" time=\"1.500\">"));
	/* The message is the first failure line, escaped, the control character dropped. */
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<failure message=\"pod.c:12: expected a &lt; b &amp; &quot;c&quot; &#39;d&#39;: "
					 "RunPodSandbox on unix:///x.sock: NOT_FOUND: no &lt;such&gt; pod\" type=\"FAIL\">"));
	/* The body: every line, then the calls that failed. */
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "note: helper said &lt;hi&gt;\npod.c:40: second failure &amp; more\n"
					 "CRI calls that did not return OK:\n  RunPodSandbox NOT_FOUND at +0.002 s after 20.0 ms"
					 "</failure>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "<system-out>helper said &lt;hi&gt;\n10 CRI calls, 1 not OK (7 beyond the first "
					 "10000 not recorded)</system-out>"));
	CU_ASSERT_PTR_NULL(strchr(x, '\x01'));
	CU_ASSERT_PTR_NULL(strstr(x, "\xff"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "note line &lt;1&gt; \xef\xbf\xbd bad byte"));
	/* The schema is a real check: the same file without a required attribute fails it. */
	char *broken = tmp_path("junit-broken.xml");
	char *b = strdup(x);
	char *h = strstr(b, " hostname=\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	memcpy(h, " xostname", 9);
	CU_ASSERT_EQUAL_FATAL(util_write_file(broken, b, strlen(b), 0644, &e), 0);
	char *out = NULL;
	CU_ASSERT_NOT_EQUAL(xmllint("--noout", "--schema", junit_xsd() ? junit_xsd() : "/nonexistent", broken, &out), 0);
	free(out);
	free(b);
	free(broken);
	free(x);
	free(path);
	tst_summary_free(&s);
}

static json_object *get(json_object *o, const char *key, json_type type)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		printf("\n    JSON: no field '%s'", key);
		return NULL;
	}
	if (!json_object_is_type(v, type)) {
		printf("\n    JSON: field '%s' is %s, want %s", key, json_type_to_name(json_object_get_type(v)),
		       json_type_to_name(type));
		return NULL;
	}
	return v;
}

/* The field exists and is JSON null. */
static bool is_null(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

static const char *gets(json_object *o, const char *key)
{
	json_object *v = get(o, key, json_type_string);
	return v ? json_object_get_string(v) : "<missing>";
}

static int64_t geti(json_object *o, const char *key)
{
	json_object *v = get(o, key, json_type_int);
	return v ? json_object_get_int64(v) : -999;
}

static void test_json(void)
{
	tst_summary s;
	build(&s);
	crit_err e;
	char *path = tmp_path("run.json");
	CU_ASSERT_EQUAL_FATAL(rep_write_json(&s, path, &e), 0);
	json_object *root = json_object_from_file(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(gets(root, "schema"), "critic.run/v1");

	json_object *run = get(root, "run", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(run);
	CU_ASSERT_STRING_EQUAL(gets(run, "id"), "20240501-120000-abcd");
	CU_ASSERT_STRING_EQUAL(gets(run, "critic_version"), "1.2.3-test");
	CU_ASSERT_STRING_EQUAL(gets(run, "started_at"), "2024-05-01T12:00:00.123Z");
	CU_ASSERT_EQUAL(geti(run, "duration_ms"), 9000);
	CU_ASSERT_STRING_EQUAL(gets(run, "endpoint"), "unix:///run/x.sock");
	CU_ASSERT_STRING_EQUAL(gets(run, "image_endpoint"), "unix:///run/x.sock");
	CU_ASSERT_PTR_NOT_NULL(get(run, "lab", json_type_boolean));
	CU_ASSERT_STRING_EQUAL(gets(run, "runtime_handler"), "crun");
	json_object *rt = get(run, "runtime", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_STRING_EQUAL(gets(rt, "name"), "containerd");
	CU_ASSERT_STRING_EQUAL(gets(rt, "version"), "1.6.20");
	CU_ASSERT_STRING_EQUAL(gets(rt, "api_version"), "v1");
	json_object *host = get(run, "host", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	CU_ASSERT_STRING_EQUAL(gets(host, "hostname"), "node-<1>");
	CU_ASSERT_STRING_EQUAL(gets(host, "kernel"), "Linux 6.1.0 #1 SMP x86_64");
	CU_ASSERT_STRING_EQUAL(gets(host, "cgroup"), "v2");
	json_object *opt = get(run, "options", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
	CU_ASSERT_STRING_EQUAL(gets(opt, "focus"), "^alpha|^beta");
	CU_ASSERT(is_null(opt, "skip"));
	CU_ASSERT_PTR_NOT_NULL(get(opt, "extended", json_type_boolean));
	CU_ASSERT_EQUAL(geti(opt, "test_timeout_s"), 5);
	CU_ASSERT_EQUAL(geti(opt, "call_timeout_ms"), 2000);

	json_object *cnt = get(root, "counts", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cnt);
	CU_ASSERT_EQUAL(geti(cnt, "total"), 5);
	CU_ASSERT_EQUAL(geti(cnt, "passed"), 1);
	CU_ASSERT_EQUAL(geti(cnt, "failed"), 3);
	CU_ASSERT_EQUAL(geti(cnt, "skipped"), 1);
	json_object *bv = get(cnt, "by_verdict", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bv);
	CU_ASSERT_EQUAL(geti(bv, "PASS"), 1);
	CU_ASSERT_EQUAL(geti(bv, "FAIL"), 1);
	CU_ASSERT_EQUAL(geti(bv, "SKIP"), 1);
	CU_ASSERT_EQUAL(geti(bv, "TIMEOUT"), 1);
	CU_ASSERT_EQUAL(geti(bv, "CRASH"), 1);

	json_object *tests = get(root, "tests", json_type_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tests);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(tests), 5);
	static const char *const names[] = { "alpha/pass", "alpha/fail", "beta/skip", "beta/timeout", "beta/crash" };
	static const char *const verdicts[] = { "PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH" };
	for (size_t i = 0; i < 5; i++) {
		json_object *t = json_object_array_get_idx(tests, i);
		CU_ASSERT_STRING_EQUAL(gets(t, "name"), names[i]);
		CU_ASSERT_STRING_EQUAL(gets(t, "area"), i < 2 ? "alpha" : "beta");
		CU_ASSERT_STRING_EQUAL(gets(t, "description"), s.results[i].tc->desc);
		CU_ASSERT_STRING_EQUAL(gets(t, "verdict"), verdicts[i]);
		CU_ASSERT_EQUAL(geti(t, "duration_ms"), s.results[i].dur_ms);
		/* A test skipped for an unmet need never started. */
		if (i == 2) {
			CU_ASSERT(is_null(t, "started_at"));
		} else {
			CU_ASSERT_PTR_NOT_NULL(get(t, "started_at", json_type_string));
		}
		CU_ASSERT_PTR_NOT_NULL(get(t, "detail", json_type_string));
		CU_ASSERT_PTR_NOT_NULL(get(t, "messages", json_type_array));
		CU_ASSERT_PTR_NOT_NULL(get(t, "notes", json_type_array));
		CU_ASSERT_PTR_NOT_NULL(get(t, "calls", json_type_array));
		CU_ASSERT_EQUAL(geti(t, "calls_dropped"), i == 1 ? 7 : 0);
	}
	json_object *fail = json_object_array_get_idx(tests, 1);
	/* The detail comes back byte for byte, control character included. */
	CU_ASSERT_STRING_EQUAL(gets(fail, "detail"), FAIL_DETAIL);
	CU_ASSERT_STRING_EQUAL(gets(fail, "started_at"), "2024-05-01T12:00:02.123Z");
	json_object *msgs = get(fail, "messages", json_type_array), *notes = get(fail, "notes", json_type_array);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(msgs), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(msgs, 1)),
			       "pod.c:40: second failure & more");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(notes), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(notes, 0)), "helper said <hi>");
	json_object *calls = get(fail, "calls", json_type_array);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(calls), 3);
	json_object *c0 = json_object_array_get_idx(calls, 0);
	CU_ASSERT_STRING_EQUAL(gets(c0, "method"), "RunPodSandbox");
	CU_ASSERT_STRING_EQUAL(gets(c0, "status"), "NOT_FOUND");
	CU_ASSERT_EQUAL(geti(c0, "code"), 5);
	CU_ASSERT_EQUAL(geti(c0, "start_us"), 2000);
	CU_ASSERT_EQUAL(geti(c0, "duration_us"), 20000);
	CU_ASSERT_STRING_EQUAL(gets(json_object_array_get_idx(calls, 1), "status"), "OK");
	/* Invalid UTF-8 in a note arrives as U+FFFD. */
	json_object *pass_notes = get(json_object_array_get_idx(tests, 0), "notes", json_type_array);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(pass_notes, 0)),
			       "note line <1> \xef\xbf\xbd bad byte");

	json_object *lat = get(root, "latency", json_type_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lat);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(lat), 3);
	json_object *l0 = json_object_array_get_idx(lat, 0);
	CU_ASSERT_STRING_EQUAL(gets(l0, "method"), "RunPodSandbox");
	CU_ASSERT_EQUAL(geti(l0, "count"), 2);
	CU_ASSERT_EQUAL(geti(l0, "errors"), 1);
	CU_ASSERT_EQUAL(geti(l0, "p50_us"), 10000);
	CU_ASSERT_EQUAL(geti(l0, "p95_us"), 20000);
	CU_ASSERT_EQUAL(geti(l0, "p99_us"), 20000);
	CU_ASSERT_EQUAL(geti(l0, "max_us"), 20000);
	CU_ASSERT_EQUAL(geti(l0, "mean_us"), 15000);
	CU_ASSERT_STRING_EQUAL(gets(json_object_array_get_idx(lat, 1), "method"), "Status");
	CU_ASSERT_STRING_EQUAL(gets(json_object_array_get_idx(lat, 2), "method"), "Version");
	json_object *scn = get(root, "scenarios", json_type_array);
	CU_ASSERT_PTR_NOT_NULL(scn);
	CU_ASSERT_EQUAL(scn ? json_object_array_length(scn) : 99, 0);
	json_object_put(root);
	free(path);
	tst_summary_free(&s);
}

static void test_tap(void)
{
	tst_summary s;
	build(&s);
	strbuf sb = { 0 };
	rep_tap(&s, &sb);
	const char *want =
		"KTAP version 1\n"
		"1..5\n"
		"# critic 1.2.3-test, run 20240501-120000-abcd, containerd 1.6.20 (CRI v1) at unix:///run/x.sock\n"
		"ok 1 alpha/pass\n"
		"# pod.c:12: expected a < b & \"c\" 'd' : RunPodSandbox on unix:///x.sock: NOT_FOUND: no <such> pod\n"
		"# note: helper said <hi>\n"
		"# pod.c:40: second failure & more\n"
		"not ok 2 alpha/fail\n"
		"ok 3 beta/skip # SKIP needs root\n"
		"# TIMEOUT\n"
		"# test did not finish within 5 s; its process group was killed\n"
		"not ok 4 beta/timeout\n"
		"# CRASH\n"
		"# note: about to crash\n"
		"# test process died of signal 11 (Segmentation fault)\n"
		"not ok 5 beta/crash\n"
		"# Totals: pass:1 fail:1 skip:1 error:2\n";
	CU_ASSERT_STRING_EQUAL(sb.buf, want);
	if (strcmp(sb.buf, want))
		printf("\n%s", sb.buf);
	sb_free(&sb);
	tst_summary_free(&s);
}

/* HTML: well-formed as XML and as HTML, self-contained, with the charts. */
static void check_html(const char *path, const char *h, size_t n_tests, size_t n_methods, size_t n_bad)
{
	char *out = NULL;
	CU_ASSERT_EQUAL(xmllint("--noout", NULL, NULL, path, &out), 0);
	if (out && *out)
		printf("\n    xmllint: %s", out);
	CU_ASSERT(!out || !*out);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(xmllint("--html", "--noout", NULL, path, &out), 0);
	free(out);
	CU_ASSERT_EQUAL(count(h, "<svg "), 2);
	CU_ASSERT_EQUAL(count(h, "<rect class=\"bar "), n_tests);
	CU_ASSERT_EQUAL(count(h, "<g class=\"method\""), n_methods);
	CU_ASSERT_EQUAL(count(h, "<tr class=\"v-"), n_tests);
	/* Every test that did not pass is listed on top, linked to its row. */
	CU_ASSERT_EQUAL(count(h, "<li class=\"failure\">"), n_bad);
	CU_ASSERT_EQUAL(count(h, "<details open=\"open\">"), n_bad);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<h2>Fault timelines</h2>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "No fault scenarios were run in this report"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<style>"));
	CU_ASSERT_PTR_NULL(strstr(h, "<script"));
	CU_ASSERT_PTR_NULL(strstr(h, " src="));
	CU_ASSERT_PTR_NULL(strstr(h, "href=\"http"));
	CU_ASSERT_PTR_NULL(strstr(h, "href=\"//"));
	CU_ASSERT_PTR_NULL(strstr(h, "<link"));
	CU_ASSERT_PTR_NULL(strstr(h, "url("));
}

static void test_html(void)
{
	tst_summary s;
	build(&s);
	crit_err e;
	char *path = tmp_path("run.html");
	CU_ASSERT_EQUAL_FATAL(rep_write_html(&s, path, &e), 0);
	char *h = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &h, NULL, &e), 0);
	check_html(path, h, 5, 3, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<a href=\"#t-2\">alpha/fail</a>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<tr class=\"v-fail\" id=\"t-2\">"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<span class=\"badge v-pass\">1 PASS</span>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<span class=\"badge v-timeout\">1 TIMEOUT</span>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<td>containerd 1.6.20 (CRI v1)</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<td>node-&lt;1&gt;</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<g class=\"method\" data-method=\"RunPodSandbox\">"));
	/* The failure's detail, collapsible, escaped. */
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<details open=\"open\"><summary>pod.c:12: expected a &lt; b"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "pod.c:40: second failure &amp; more</pre></details>"));
	CU_ASSERT_PTR_NULL(strchr(h, '\x01'));
	/* Durations: longest first. */
	const char *t1 = strstr(h, "<title>beta/timeout: TIMEOUT"), *t2 = strstr(h, "<title>alpha/fail: FAIL"),
		   *t3 = strstr(h, "<title>alpha/pass: PASS");
	CU_ASSERT(t1 && t2 && t3 && t1 < t2 && t2 < t3);
	free(h);
	free(path);
	tst_summary_free(&s);

	/* An empty run still makes a valid page. */
	tst_summary empty = { 0 };
	path = tmp_path("empty.html");
	CU_ASSERT_EQUAL_FATAL(rep_write_html(&empty, path, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &h, NULL, &e), 0);
	check_html(path, h, 0, 0, 0);
	free(h);
	free(path);
}

static kube_event ev(int64_t t, kube_component c, const char *state, const char *reason, const char *msg)
{
	kube_event x = { .t_ms = t, .comp = c };
	snprintf(x.state, sizeof x.state, "%s", state);
	snprintf(x.reason, sizeof x.reason, "%s", reason);
	snprintf(x.message, sizeof x.message, "%s", msg);
	return x;
}

static void test_svg_timeline(void)
{
	kube_event evs[] = {
		ev(0, KUBE_C_KUBELET, "Starting", "", "start #1"),
		ev(5, KUBE_C_KUBELET, "Running", "", "validated CRI v1 runtime API"),
		ev(5, KUBE_C_RUNTIME, "up", "", "Status answered"),
		ev(5, KUBE_C_NODE, "Ready", "KubeletReady", "kubelet is posting ready status"),
		ev(12000, KUBE_C_RUNTIME, "down", "RuntimeDown", "container runtime is down <sock & co>"),
		ev(20000, KUBE_C_NODE, "NotReady", "KubeletNotReady", "container runtime is down"),
		ev(60000, KUBE_C_NODE, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
	};
	size_t n = ARRAY_SIZE(evs);
	strbuf sb = { 0 };
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(rep_svg_timeline(&sb, evs, n, 90000, &e), 0);
	const char *s = sb.buf;
	/* One lane per component with events, in the model's order. */
	CU_ASSERT_EQUAL(count(s, "<g class=\"lane\""), 3);
	const char *k = strstr(s, "data-component=\"kubelet\""), *r = strstr(s, "data-component=\"runtime\""),
		   *nd = strstr(s, "data-component=\"node\"");
	CU_ASSERT(k && r && nd && k < r && r < nd);
	CU_ASSERT_PTR_NULL(strstr(s, "data-component=\"pleg\""));
	/* A segment and a marker per event, coloured by state. */
	CU_ASSERT_EQUAL(count(s, "<rect class=\"seg "), n);
	CU_ASSERT_EQUAL(count(s, "<path class=\"mark\""), n);
	CU_ASSERT_EQUAL(count(s, "class=\"seg st-bad\""), 2);
	CU_ASSERT_EQUAL(count(s, "class=\"seg st-good\""), 3);
	CU_ASSERT_EQUAL(count(s, "class=\"seg st-warn\""), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "<title>+12.000s runtime down (RuntimeDown): container runtime is down "
					 "&lt;sock &amp; co&gt;</title>"));
	/* The node's last state runs to the end (90 s of the 960-wide chart). */
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "+1m30s"));
	/* Well-formed on its own. */
	char *path = tmp_path("timeline.svg");
	CU_ASSERT_EQUAL_FATAL(util_write_file(path, sb.buf, sb.len, 0644, &e), 0);
	char *out = NULL;
	CU_ASSERT_EQUAL(xmllint("--noout", NULL, NULL, path, &out), 0);
	free(out);
	free(path);
	sb_free(&sb);

	/* No events: an empty chart; no array with events: an error. */
	CU_ASSERT_EQUAL(rep_svg_timeline(&sb, NULL, 0, 0, &e), 0);
	CU_ASSERT_EQUAL(count(sb.buf, "<g class=\"lane\""), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "</svg>"));
	sb_free(&sb);
	CU_ASSERT_EQUAL(rep_svg_timeline(&sb, NULL, 2, 0, &e), -EINVAL);
	kube_event bad = ev(0, KUBE_C_COUNT, "x", "", "");
	CU_ASSERT_EQUAL(rep_svg_timeline(&sb, &bad, 1, 0, &e), -EINVAL);
	sb_free(&sb);
}

static void test_write_errors(void)
{
	tst_summary s;
	build(&s);
	crit_err e;
	err_clear(&e);
	/* A missing directory: the error names the file. */
	CU_ASSERT(rep_write_json(&s, "/nonexistent-critic-dir/run.json", &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-critic-dir/run.json"));
	CU_ASSERT(rep_write_junit(&s, "/nonexistent-critic-dir/j.xml", &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-critic-dir/j.xml"));
	CU_ASSERT(rep_check_path("/nonexistent-critic-dir/x.html", &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-critic-dir/x.html"));
	make_tmpdir();
	CU_ASSERT_EQUAL(rep_check_path(tmpdir, &e), -EISDIR);
	CU_ASSERT_EQUAL(rep_check_path("-", &e), 0);
	char *p = tmp_path("ok.xml");
	CU_ASSERT_EQUAL(rep_check_path(p, &e), 0);
	/* A write replaces the old file whole and leaves no temporary file. */
	CU_ASSERT_EQUAL(util_write_file(p, "old", 3, 0644, &e), 0);
	CU_ASSERT_EQUAL(rep_write_tap(&s, p, &e), 0);
	char *text = NULL;
	CU_ASSERT_EQUAL(util_read_file(p, &text, NULL, &e), 0);
	CU_ASSERT(text && util_has_prefix(text, "KTAP version 1\n"));
	free(text);
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int tmps = 0;
	while (d && (de = readdir(d)))
		tmps += strstr(de->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	CU_ASSERT_EQUAL(tmps, 0);
	free(p);
	tst_summary_free(&s);
}

/* ---- scenario results ------------------------------------------------------------ */

static rep_scn_step sstep(int idx, const char *phase, const char *kind, const char *desc, const char *verdict,
			  int64_t start, int64_t dur)
{
	rep_scn_step st = { .index = idx, .line = 10 + idx, .start_ms = start, .dur_ms = dur, .grpc_status = -1 };
	snprintf(st.phase, sizeof st.phase, "%s", phase);
	snprintf(st.kind, sizeof st.kind, "%s", kind);
	snprintf(st.verdict, sizeof st.verdict, "%s", verdict);
	st.desc = (char *)desc;
	return st;
}

/* Three scenarios: one that failed a step (a call that ended in
 * DEADLINE_EXCEEDED, with markup in its message), with a fault step, an
 * XFAIL, and a kubelet timeline; one skipped; one that timed out. */
static void build_scn(rep_scn_set *set)
{
	memset(set, 0, sizeof *set);
	set->v = calloc(3, sizeof *set->v);
	set->n = 3;
	rep_scenario *a = &set->v[0];
	a->name = strdup("proxy-faults");
	a->file = strdup("scenarios/09-proxy-faults.yaml");
	a->description = strdup("CRI traffic goes through a proxy <that> delays & drops it.");
	snprintf(a->verdict, sizeof a->verdict, "FAIL");
	a->reason = strdup("step 3 (version, line 13): expected OK, got DEADLINE_EXCEEDED");
	a->start_wall_ns = 1714564810000000000LL;
	a->dur_ms = 8000;
	a->steps_run = 5, a->steps_passed = 3, a->steps_failed = 1, a->known_issues = 1;
	a->model_offset_ms = 500;
	rep_scn_step st = sstep(1, "setup", "run_pod", "run_pod", "PASS", 10, 400);
	snprintf(st.method, sizeof st.method, "RunPodSandbox");
	st.grpc_status = 0;
	st.name = "web";
	rep_scenario_add_step(a, &st);
	st = sstep(2, "steps", "proxy", "proxy mode=blackhole", "PASS", 600, 5);
	st.fault = true;
	st.detail = "proxy now blackholes";
	rep_scenario_add_step(a, &st);
	st = sstep(3, "steps", "version", "version via=proxy", "FAIL", 700, 2000);
	snprintf(st.method, sizeof st.method, "Version");
	st.grpc_status = 4;
	st.message = "expected OK, got DEADLINE_EXCEEDED <&>";
	st.call_msg = "Version on unix:///p.sock: DEADLINE_EXCEEDED: Deadline Exceeded";
	rep_scenario_add_step(a, &st);
	st = sstep(4, "steps", "expect", "expect kubelet.node=Ready", "XFAIL", 2800, 100);
	st.message = "kubelet.node is NotReady";
	st.known_issue = "containerd#1234";
	rep_scenario_add_step(a, &st);
	st = sstep(5, "finally", "proxy", "proxy stop", "PASS", 7000, 50);
	st.fault = false;
	rep_scenario_add_step(a, &st);
	kube_event evs[] = {
		ev(0, KUBE_C_KUBELET, "Running", "", "validated CRI v1 runtime API"),
		ev(0, KUBE_C_NODE, "Ready", "KubeletReady", "kubelet is posting ready status"),
		ev(1000, KUBE_C_RUNTIME, "down", "RuntimeDown", "container runtime is down"),
		ev(2000, KUBE_C_NODE, "NotReady", "KubeletNotReady", "container runtime is down"),
	};
	a->timeline = malloc(sizeof evs);
	memcpy(a->timeline, evs, sizeof evs);
	a->n_timeline = ARRAY_SIZE(evs);

	rep_scenario *b = &set->v[1];
	b->name = strdup("needs-root");
	b->file = strdup("x/needs-root.yaml");
	snprintf(b->verdict, sizeof b->verdict, "SKIP");
	b->reason = strdup("needs root");
	b->model_offset_ms = -1;

	rep_scenario *c = &set->v[2];
	c->name = strdup("hung");
	c->file = strdup("x/hung.yaml");
	snprintf(c->verdict, sizeof c->verdict, "TIMEOUT");
	c->reason = strdup("did not finish within its 60 s deadline");
	c->dur_ms = 120000;
	c->model_offset_ms = -1;
}

static void test_scn_junit(void)
{
	tst_summary s;
	rep_scn_set set;
	build(&s);
	build_scn(&set);
	crit_err e;
	char *path = tmp_path("scn.xml");
	CU_ASSERT_EQUAL_FATAL(rep_write(REP_JUNIT, &s, &set, path, &e), 0);
	assert_junit_valid(path);
	/* a testsuite per scenario, a testcase per step */
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[starts-with(@name,'scenario/')]"), 3);
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='scenario/proxy-faults']/testcase"), 5);
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='scenario/proxy-faults' and @tests='5' and @failures='1' "
					  "and @errors='0' and @skipped='1']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@classname='critic.scenario.proxy-faults' and @name='01 web: run_pod' "
					  "and @line='11' and @file='scenarios/09-proxy-faults.yaml']"), 1);
	/* the failure names the step, the call, its status and message */
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='03 version via=proxy']/failure[@type='FAIL' and "
					  "contains(@message,'step 3') and contains(@message,'DEADLINE_EXCEEDED &lt;&amp;&gt;')]"),
			0); /* attribute values are compared unescaped */
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='03 version via=proxy']/failure[@type='FAIL' and "
					  "contains(@message,'step 3 (version via=proxy, line 13)') and "
					  "contains(@message,'DEADLINE_EXCEEDED <&>') and "
					  "contains(.,'call Version: DEADLINE_EXCEEDED (gRPC code 4): Version on unix:///p.sock')]"),
			1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testcase[@name='04 expect kubelet.node=Ready']/skipped[contains(@message,"
					  "'known issue: containerd#1234')]"), 1);
	/* the timeline as text */
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='scenario/proxy-faults']/system-out[contains(.,"
					  "'+2.500 s  node     NotReady')]"), 1);
	/* skipped and timed-out scenarios: one testcase each */
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='scenario/needs-root' and @skipped='1']/testcase/"
					  "skipped[@message='needs root']"), 1);
	CU_ASSERT_EQUAL(xpath_count(path, "//testsuite[@name='scenario/hung' and @errors='1']/testcase/"
					  "error[@type='TIMEOUT']"), 1);
	/* run totals: 5 tests + 5 steps + 2 scenario cases */
	CU_ASSERT_EQUAL(xpath_count(path, "/testsuites[@tests='12' and @failures='2' and @errors='3']"), 1);
	free(path);
	rep_scn_set_free(&set);
	tst_summary_free(&s);
}

static void test_scn_json(void)
{
	tst_summary s;
	rep_scn_set set;
	build(&s);
	build_scn(&set);
	crit_err e;
	char *path = tmp_path("scn.json");
	CU_ASSERT_EQUAL_FATAL(rep_write(REP_JSON, &s, &set, path, &e), 0);
	json_object *root = json_object_from_file(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(gets(root, "schema"), "critic.run/v1");
	json_object *scn = get(root, "scenarios", json_type_array);
	CU_ASSERT_FATAL(scn && json_object_array_length(scn) == 3);
	json_object *a = json_object_array_get_idx(scn, 0);
	CU_ASSERT_STRING_EQUAL(gets(a, "name"), "proxy-faults");
	CU_ASSERT_STRING_EQUAL(gets(a, "file"), "scenarios/09-proxy-faults.yaml");
	CU_ASSERT_STRING_EQUAL(gets(a, "verdict"), "FAIL");
	CU_ASSERT_STRING_EQUAL(gets(a, "started_at"), "2024-05-01T12:00:10.000Z");
	CU_ASSERT_EQUAL(geti(a, "duration_ms"), 8000);
	CU_ASSERT_EQUAL(geti(a, "model_offset_ms"), 500);
	json_object *sc = get(a, "step_counts", json_type_object);
	CU_ASSERT(sc && geti(sc, "run") == 5 && geti(sc, "failed") == 1 && geti(sc, "known_issues") == 1);
	json_object *steps = get(a, "steps", json_type_array);
	CU_ASSERT_FATAL(steps && json_object_array_length(steps) == 5);
	json_object *s1 = json_object_array_get_idx(steps, 0), *s3 = json_object_array_get_idx(steps, 2);
	CU_ASSERT_STRING_EQUAL(gets(s1, "name"), "web");
	CU_ASSERT_STRING_EQUAL(gets(s1, "phase"), "setup");
	CU_ASSERT_EQUAL(geti(s3, "index"), 3);
	CU_ASSERT_STRING_EQUAL(gets(s3, "kind"), "version");
	CU_ASSERT_STRING_EQUAL(gets(s3, "action"), "version via=proxy");
	CU_ASSERT_STRING_EQUAL(gets(s3, "verdict"), "FAIL");
	CU_ASSERT_EQUAL(geti(s3, "start_ms"), 700);
	CU_ASSERT_EQUAL(geti(s3, "duration_ms"), 2000);
	CU_ASSERT_EQUAL(geti(s3, "line"), 13);
	CU_ASSERT_STRING_EQUAL(gets(s3, "message"), "expected OK, got DEADLINE_EXCEEDED <&>");
	json_object *call = get(s3, "call", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(call);
	CU_ASSERT_STRING_EQUAL(gets(call, "method"), "Version");
	CU_ASSERT_STRING_EQUAL(gets(call, "status"), "DEADLINE_EXCEEDED");
	CU_ASSERT_EQUAL(geti(call, "code"), 4);
	CU_ASSERT(json_object_get_boolean(get(json_object_array_get_idx(steps, 1), "fault", json_type_boolean)));
	json_object *nul = NULL;
	CU_ASSERT(json_object_object_get_ex(json_object_array_get_idx(steps, 1), "call", &nul) && nul == NULL);
	json_object *tl = get(a, "timeline", json_type_array);
	CU_ASSERT_FATAL(tl && json_object_array_length(tl) == 4);
	json_object *t3 = json_object_array_get_idx(tl, 3);
	CU_ASSERT_EQUAL(geti(t3, "t_ms"), 2500); /* on the scenario's clock */
	CU_ASSERT_EQUAL(geti(t3, "model_ms"), 2000);
	CU_ASSERT_STRING_EQUAL(gets(t3, "component"), "node");
	CU_ASSERT_STRING_EQUAL(gets(t3, "state"), "NotReady");
	CU_ASSERT_STRING_EQUAL(gets(t3, "reason"), "KubeletNotReady");
	json_object *b = json_object_array_get_idx(scn, 1);
	CU_ASSERT_STRING_EQUAL(gets(b, "verdict"), "SKIP");
	CU_ASSERT_STRING_EQUAL(gets(b, "reason"), "needs root");
	CU_ASSERT(json_object_object_get_ex(b, "model_offset_ms", &nul) && nul == NULL);
	json_object *cnt = get(root, "scenario_counts", json_type_object);
	CU_ASSERT(cnt && geti(cnt, "total") == 3 && geti(cnt, "passed") == 0 && geti(cnt, "failed") == 2 &&
		  geti(cnt, "skipped") == 1);
	json_object_put(root);

	/* One scenario's object round-trips (how runlib's children report). */
	strbuf sb = { 0 };
	CU_ASSERT_EQUAL(rep_json_scenario(&set.v[0], &sb, &e), 0);
	rep_scenario back;
	CU_ASSERT_EQUAL_FATAL(rep_json_scenario_parse(sb.buf, &back, &e), 0);
	CU_ASSERT_STRING_EQUAL(back.name, "proxy-faults");
	CU_ASSERT_STRING_EQUAL(back.verdict, "FAIL");
	CU_ASSERT_EQUAL(back.n_steps, 5);
	CU_ASSERT_EQUAL(back.n_timeline, 4);
	CU_ASSERT_EQUAL(back.model_offset_ms, 500);
	CU_ASSERT_EQUAL(back.steps_failed, 1);
	CU_ASSERT_FATAL(back.n_steps == 5 && back.n_timeline == 4);
	CU_ASSERT_STRING_EQUAL(back.steps[2].method, "Version");
	CU_ASSERT_EQUAL(back.steps[2].grpc_status, 4);
	CU_ASSERT_STRING_EQUAL(back.steps[2].call_msg, set.v[0].steps[2].call_msg);
	CU_ASSERT_STRING_EQUAL(back.steps[3].known_issue, "containerd#1234");
	CU_ASSERT_EQUAL(back.steps[0].grpc_status, 0);
	CU_ASSERT_EQUAL(back.steps[1].grpc_status, -1);
	CU_ASSERT(back.steps[1].fault && !back.steps[0].fault);
	CU_ASSERT_PTR_NULL(back.steps[0].message);
	CU_ASSERT_EQUAL(back.timeline[3].comp, KUBE_C_NODE);
	CU_ASSERT_EQUAL(back.timeline[3].t_ms, 2000);
	CU_ASSERT_STRING_EQUAL(back.timeline[2].message, "container runtime is down");
	rep_scenario_free(&back);
	CU_ASSERT(rep_json_scenario_parse("[1,2]", &back, &e) < 0);
	CU_ASSERT(rep_json_scenario_parse("{", &back, &e) < 0);
	sb_free(&sb);
	free(path);
	rep_scn_set_free(&set);
	tst_summary_free(&s);
}

static void test_scn_tap(void)
{
	tst_summary s;
	rep_scn_set set;
	build(&s);
	build_scn(&set);
	strbuf sb = { 0 };
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(rep_render(REP_TAP, &s, &set, &sb, &e), 0);
	const char *t = sb.buf;
	CU_ASSERT(util_has_prefix(t, "KTAP version 1\n1..8\n"));
	static const char want[] =
		"    KTAP version 1\n"
		"    # Subtest: scenario/proxy-faults\n"
		"    1..5\n"
		"    ok 1 web: run_pod\n"
		"    ok 2 proxy mode=blackhole\n"
		"    # line 13: expected OK, got DEADLINE_EXCEEDED <&>\n"
		"    # call Version: DEADLINE_EXCEEDED: Version on unix:///p.sock: DEADLINE_EXCEEDED: Deadline Exceeded\n"
		"    not ok 3 version via=proxy\n"
		"    ok 4 expect kubelet.node=Ready # XFAIL containerd_1234\n"
		"    ok 5 proxy stop\n"
		"# step 3 (version, line 13): expected OK, got DEADLINE_EXCEEDED\n"
		"not ok 6 scenario/proxy-faults\n"
		"ok 7 scenario/needs-root # SKIP needs root\n"
		"# TIMEOUT\n"
		"# did not finish within its 60 s deadline\n"
		"not ok 8 scenario/hung\n"
		"# Totals: pass:1 fail:2 skip:2 error:3\n";
	CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
	if (!strstr(t, want))
		printf("\n%s", t);
	sb_free(&sb);
	rep_scn_set_free(&set);
	tst_summary_free(&s);
}

static void test_scn_html(void)
{
	tst_summary s;
	rep_scn_set set;
	build(&s);
	build_scn(&set);
	crit_err e;
	char *path = tmp_path("scn.html");
	CU_ASSERT_EQUAL_FATAL(rep_write(REP_HTML, &s, &set, path, &e), 0);
	char *h = NULL, *out = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &h, NULL, &e), 0);
	CU_ASSERT_EQUAL(xmllint("--noout", NULL, NULL, path, &out), 0);
	if (out && *out)
		printf("\n    xmllint: %s", out);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(xmllint("--html", "--noout", NULL, path, &out), 0);
	free(out);
	CU_ASSERT_PTR_NULL(strstr(h, "No fault scenarios were run"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "Fault scenarios (3: 0 passed, 2 failed, 1 skipped)"));
	CU_ASSERT_EQUAL(count(h, "<section class=\"scenario\""), 3);
	/* durations + latency + one scenario timeline (the others ran no step) */
	CU_ASSERT_EQUAL(count(h, "<svg "), 3);
	CU_ASSERT_EQUAL(count(h, "<rect class=\"step "), 5);
	CU_ASSERT_EQUAL(count(h, "class=\"fault-flag\""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<title>fault at +0.600s: proxy mode=blackhole</title>"));
	/* model events drawn on the scenario's clock */
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<title>+2.500s node NotReady (KubeletNotReady)"));
	/* the story in words, in time order */
	const char *f = strstr(h, "critic broke something on purpose: <code>proxy mode=blackhole</code>");
	const char *rd = strstr(h, "the kubelet saw the container runtime <strong>down</strong>");
	const char *nr = strstr(h, "became <strong>NotReady</strong>");
	CU_ASSERT(f && rd && nr && f < rd && rd < nr);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<strong>failed</strong>: expected OK, got DEADLINE_EXCEEDED &lt;&amp;&gt;"));
	/* the step table: a row per step, the failed ones open */
	CU_ASSERT_EQUAL(count(h, "<tr class=\"v-pass\" id=\"s-1-"), 3);
	CU_ASSERT_EQUAL(count(h, "<tr class=\"v-fail\" id=\"s-1-3\""), 1);
	CU_ASSERT_EQUAL(count(h, "<tr class=\"v-xfail\" id=\"s-1-4\""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "Version DEADLINE_EXCEEDED</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "Why not passed:</strong> needs root"));
	CU_ASSERT_PTR_NULL(strstr(h, "<script"));
	CU_ASSERT_PTR_NULL(strstr(h, "href=\"http"));
	free(h);
	free(path);
	rep_scn_set_free(&set);
	tst_summary_free(&s);
}

/* ---- runlib: which files --scenarios names ------------------------------------------ */

static void test_runlib_resolve(void)
{
	make_tmpdir();
	crit_err e;
	char *dir = tmp_path("lib"), *a = tmp_path("lib/02-b.yaml"), *b = tmp_path("lib/01-a.yaml"),
	     *c = tmp_path("lib/notes.txt"), *one = tmp_path("one.yaml"), *empty = tmp_path("empty");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(dir, 0755, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(empty, 0755, &e), 0);
	static const char good[] = "name: a\ndescription: d\nsteps:\n  - note: hi\n";
	static const char bad[] = "name: b\ndescription: d\nstepz:\n  - note: hi\n";
	CU_ASSERT_EQUAL(util_write_file(a, bad, sizeof bad - 1, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(b, good, sizeof good - 1, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(c, "x", 1, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(one, good, sizeof good - 1, 0644, &e), 0);
	char **p = NULL;
	size_t n = 0;
	/* a directory: its *.yaml, sorted; a file as given, in the order named */
	char *args[] = { dir, one };
	CU_ASSERT_EQUAL_FATAL(runlib_resolve(args, 2, &p, &n, &e), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT(strstr(p[0], "/01-a.yaml") && strstr(p[1], "/02-b.yaml"));
	CU_ASSERT_STRING_EQUAL(p[2], one);
	/* checking finds the one broken file, with its position */
	scn_diags d = { 0 };
	CU_ASSERT_EQUAL(runlib_check(p, n, &d), 1);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		found = found || (d.v[i].pos.line == 3 && d.v[i].pos.col == 1 && strstr(d.v[i].file, "02-b.yaml") &&
				  strstr(d.v[i].msg, "stepz"));
	CU_ASSERT(found);
	scn_diags_free(&d);
	scn_paths_free(p, n);
	/* none, or "all": the library ($CRITIC_SCENARIOS_DIR) */
	char *old = getenv("CRITIC_SCENARIOS_DIR") ? strdup(getenv("CRITIC_SCENARIOS_DIR")) : NULL;
	setenv("CRITIC_SCENARIOS_DIR", dir, 1);
	CU_ASSERT_EQUAL(runlib_resolve(NULL, 0, &p, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 2);
	scn_paths_free(p, n);
	char *all[] = { "all" };
	CU_ASSERT_EQUAL(runlib_resolve(all, 1, &p, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 2);
	scn_paths_free(p, n);
	if (old) {
		setenv("CRITIC_SCENARIOS_DIR", old, 1);
		free(old);
	} else {
		unsetenv("CRITIC_SCENARIOS_DIR");
	}
	/* a missing file and an empty directory are named */
	char *missing[] = { "/nonexistent-critic/x.yaml" };
	CU_ASSERT_EQUAL(runlib_resolve(missing, 1, &p, &n, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-critic/x.yaml"));
	CU_ASSERT_PTR_NULL(p);
	char *none[] = { empty };
	CU_ASSERT_EQUAL(runlib_resolve(none, 1, &p, &n, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no *.yaml"));
	free(dir), free(a), free(b), free(c), free(one), free(empty);
}

/* A bench document as `critic bench --json` writes it (fields the page
 * reads; values chosen so each one can be found on the page). */
static const char BENCH_DOC[] =
	"{\"machine\":{\"nproc\":2,\"mem_total_kb\":24683792,\"kernel\":\"6.1.0\",\"runtime_name\":\"<evil & co>\","
	"\"runtime_version\":\"1.6.20\",\"endpoint\":\"unix:///run/x.sock\",\"is_lab\":true},"
	"\"critic_version\":\"abc1234\",\"run_id\":\"bench-1\","
	"\"conformance\":{\"exit\":0,\"wall_s\":14.8,\"max_rss_kb\":14940,\"tests\":152,\"passed\":145,\"failed\":0,"
	"\"skipped\":7},"
	"\"lifecycle\":{\"pods\":20,\"containers_per_pod\":1,\"workers\":2,\"wall_s\":4.1,\"rpcs\":{"
	"\"RunPodSandbox\":{\"calls\":20,\"errors\":0,\"p50_ms\":83.06,\"p95_ms\":97.7,\"p99_ms\":103.6,\"max_ms\":103.6,"
	"\"mean_ms\":84.2,\"ops_per_s\":23.7},"
	"\"ImageStatus\":{\"calls\":22,\"errors\":1,\"p50_ms\":0.455,\"p95_ms\":3.0,\"p99_ms\":5.4,\"max_ms\":5.4,"
	"\"mean_ms\":1.1,\"ops_per_s\":30.4}}},"
	"\"grow\":["
	"{\"pods\":10,\"listed_pods\":10,\"listed_containers\":10,\"list_pods_p50_ms\":0.256,"
	"\"list_containers_p50_ms\":0.311,\"run_pod_p50_ms\":79.1,\"pod_calls_ms\":335.1,\"wall_per_pod_ms\":169.7,"
	"\"errors\":0},"
	"{\"pods\":50,\"listed_pods\":50,\"listed_containers\":50,\"list_pods_p50_ms\":0.504,"
	"\"list_containers_p50_ms\":0.498,\"run_pod_p50_ms\":88.6,\"pod_calls_ms\":349.3,\"wall_per_pod_ms\":175.1,"
	"\"errors\":0},"
	"{\"pods\":100,\"listed_pods\":100,\"listed_containers\":100,\"list_pods_p50_ms\":0.576,"
	"\"list_containers_p50_ms\":0.75,\"run_pod_p50_ms\":94.3,\"pod_calls_ms\":373.2,\"wall_per_pod_ms\":187.2,"
	"\"errors\":0}],"
	"\"overhead\":[{\"method\":\"Version\",\"calls\":2000,\"raw_p50_us\":82.8,\"critic_p50_us\":87.5,\"ratio\":1.056,"
	"\"overhead_us\":4.7}],"
	"\"proxy\":[{\"target\":\"runtime\",\"method\":\"Status\",\"calls\":500,\"direct_p50_us\":124.5,"
	"\"proxy_p50_us\":149.3,\"ratio\":1.2,\"added_us\":24.9}],"
	"\"faults\":{\"repetitions\":3,\"target_down_ms\":50,\"target_met\":true,"
	"\"down\":{\"samples_ms\":[3,0,1],\"max_ms\":3,\"median_ms\":1},"
	"\"restart_ready\":{\"samples_ms\":[136,133,124],\"max_ms\":136,\"median_ms\":133}},"
	"\"exit\":0}";

/* critic bench --html: the page is well-formed, draws each grow point of
 * each series, and says what a run did not measure. */
static void test_bench_html(void)
{
	json_object *doc = json_tokener_parse(BENCH_DOC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	crit_err e;
	err_clear(&e);
	char *path = tmp_path("bench.html");
	CU_ASSERT_EQUAL_FATAL(rep_write_bench_html(doc, path, &e), 0);
	char *h = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &h, NULL, &e), 0);
	char *out = NULL;
	CU_ASSERT_EQUAL(xmllint("--noout", NULL, NULL, path, &out), 0);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(xmllint("--html", "--noout", NULL, path, &out), 0);
	free(out);
	/* Two growth charts: two series of three points, then three of three. */
	CU_ASSERT_EQUAL(xpath_count(path, "//*[local-name()='svg'][contains(@class,'growth-list')]"
					  "//*[local-name()='polyline']"), 2);
	CU_ASSERT_EQUAL(xpath_count(path, "//*[local-name()='svg'][contains(@class,'growth-list')]"
					  "//*[local-name()='circle']"), 6);
	CU_ASSERT_EQUAL(xpath_count(path, "//*[local-name()='svg'][contains(@class,'growth-pod')]"
					  "//*[local-name()='circle']"), 9);
	/* Each point says its value; every rpc has its latency row and bar. */
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "ListPodSandbox p50, 50 pods: 0.504 ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "wall time per pod, 100 pods: 187.200 ms"));
	CU_ASSERT_EQUAL(xpath_count(path, "//*[local-name()='g'][@class='method']"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "<td>RunPodSandbox</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "83.1 ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "145 passed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "14.6 MB"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "×1.06"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "+24.9 µs"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, ">3, 0, 1</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "&lt;evil &amp; co&gt;"));
	CU_ASSERT_PTR_NULL(strstr(h, "<evil"));
	CU_ASSERT_PTR_NULL(strstr(h, "not measured"));
	free(h);
	free(path);

	/* Without --grow, --overhead and --faults: said, not drawn. */
	json_object_object_del(doc, "grow");
	json_object_object_del(doc, "overhead");
	json_object_object_del(doc, "faults");
	strbuf sb = { 0 };
	CU_ASSERT_EQUAL(rep_bench_html(doc, &sb, &e), 0);
	const char *t = sb.buf ? sb.buf : "";
	CU_ASSERT_PTR_NULL(strstr(t, "growth-list"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "not measured in this run (--grow N,N,…)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "not measured in this run (--overhead)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "not measured in this run (--faults K, lab only)"));
	sb_free(&sb);
	json_object_put(doc);

	/* Not a document at all: an error, no page. */
	json_object *arr = json_object_new_array();
	strbuf bad = { 0 };
	CU_ASSERT_EQUAL(rep_bench_html(arr, &bad, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a JSON object"));
	CU_ASSERT_EQUAL(bad.len, 0);
	sb_free(&bad);
	json_object_put(arr);
}

static int cleanup_suite(void)
{
	if (tmpdir[0]) {
		crit_err e;
		util_rm_rf(tmpdir, &e);
		tmpdir[0] = '\0';
	}
	return 0;
}

void tests_register_reports(void)
{
	CU_pSuite s = CU_add_suite("reports", NULL, cleanup_suite);
	CU_add_test(s, "XML escaping, UTF-8 cleaning, time stamps", test_escape);
	CU_add_test(s, "nearest-rank percentiles and per-method aggregates", test_percentiles);
	CU_add_test(s, "JUnit: schema-valid, counts per area, escaped detail", test_junit);
	CU_add_test(s, "JSON: every documented field, types and values", test_json);
	CU_add_test(s, "TAP: exact KTAP lines", test_tap);
	CU_add_test(s, "HTML: well-formed, self-contained, one bar per test, one row per method", test_html);
	CU_add_test(s, "SVG timeline: one lane per component, a segment and marker per event", test_svg_timeline);
	CU_add_test(s, "write errors name the file; writes are atomic", test_write_errors);
	CU_add_test(s, "scenarios in JUnit: a testsuite each, a testcase per step, schema-valid", test_scn_junit);
	CU_add_test(s, "scenarios in JSON: steps, calls, timeline; one scenario round-trips", test_scn_json);
	CU_add_test(s, "scenarios in TAP: steps as a KTAP subtest", test_scn_tap);
	CU_add_test(s, "scenarios in HTML: story, timeline with fault flags, step table", test_scn_html);
	CU_add_test(s, "run --scenarios: files, directories, the library; checked before running", test_runlib_resolve);
	CU_add_test(s, "bench page: well-formed, every growth point drawn, absent parts said", test_bench_html);
}

/* ---- against the lab ----------------------------------------------------------------- */

static char *critic_bin(void)
{
	char p[PATH_MAX];
	return tests_beside("critic", p, sizeof p) == 0 ? strdup(p) : NULL;
}

/* `critic run --focus '^runtime/'` with every report: TAP alone on stdout,
 * the other three files valid and holding the three runtime tests. */
static void test_run_reports(void)
{
	char *bin = critic_bin();
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	make_tmpdir();
	crit_err e;
	char *out = NULL;
	/* Was the lab up before? Leave it as found. */
	char *status = util_strdup_printf("'%s' --dir '%s' lab status", bin, tests_lab_dir());
	bool was_up = util_run_sh(status, 30000, NULL, &e) == 0;
	char *cmd = util_strdup_printf("cd '%s' && CRITIC_LAB_DIR='%s' '%s' --no-color run --focus '^runtime/' "
				       "--junit r.xml --json r.json --html r.html --tap >tap.out 2>human.err",
				       tmpdir, tests_lab_dir(), bin);
	int rc = util_run_sh(cmd, 600000, &out, &e);
	char *tap = tmp_path("tap.out"), *human = tmp_path("human.err"), *junit = tmp_path("r.xml"),
	     *json = tmp_path("r.json"), *html = tmp_path("r.html");
	char *t = NULL, *hu = NULL, *h = NULL;
	util_read_file(tap, &t, NULL, &e);
	util_read_file(human, &hu, NULL, &e);
	if (rc != 0)
		printf("\n    critic run exited %d: %s\n%s", rc, rc < 0 ? e.msg : "", hu ? hu : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hu);

	/* stdout is TAP and nothing else. */
	CU_ASSERT(util_has_prefix(t, "KTAP version 1\n1..3\n# critic "));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\nok 1 runtime/version\nok 2 runtime/status-conditions\n"
					 "ok 3 runtime/status-verbose\n# Totals: pass:3 fail:0 skip:0 error:0\n"));
	int bad_lines = 0;
	for (char *line = t, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!util_has_prefix(line, "KTAP version 1") && !util_has_prefix(line, "1..") &&
		    !util_has_prefix(line, "ok ") && !util_has_prefix(line, "not ok ") && !util_has_prefix(line, "# ")) {
			printf("\n    not a KTAP line on stdout: '%s'", line);
			bad_lines++;
		}
	}
	CU_ASSERT_EQUAL(bad_lines, 0);
	/* The human lines went to stderr, unchanged. */
	CU_ASSERT_PTR_NOT_NULL(strstr(hu, "] PASS    runtime/version ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(hu, "\n3 tests: 3 passed, 0 failed, 0 skipped in "));
	CU_ASSERT_PTR_NULL(strstr(hu, "\r")); /* no status line off a terminal */

	assert_junit_valid(junit);
	CU_ASSERT_EQUAL(xpath_count(junit, "//testsuite[@name='runtime']/testcase[@classname='critic.runtime']"), 3);
	CU_ASSERT_EQUAL(xpath_count(junit, "//failure|//error|//skipped"), 0);

	json_object *root = json_object_from_file(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(gets(root, "schema"), "critic.run/v1");
	json_object *run = get(root, "run", json_type_object), *tests = get(root, "tests", json_type_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(run);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tests);
	json_object *rt = get(run, "runtime", json_type_object);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_STRING_EQUAL(gets(rt, "name"), "containerd");
	CU_ASSERT_STRING_EQUAL(gets(rt, "api_version"), "v1");
	CU_ASSERT(json_object_get_boolean(get(run, "lab", json_type_boolean)));
	json_object *host = get(run, "host", json_type_object);
	CU_ASSERT(host && strlen(gets(host, "kernel")) > 0 && strcmp(gets(host, "cgroup"), "unknown"));
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(tests), 3);
	/* Each runtime test made its CRI calls, recorded by the runner. */
	static const char *const method[] = { "Version", "Status", "Status" };
	for (size_t i = 0; i < 3; i++) {
		json_object *tt = json_object_array_get_idx(tests, i), *calls = get(tt, "calls", json_type_array);
		CU_ASSERT_STRING_EQUAL(gets(tt, "verdict"), "PASS");
		CU_ASSERT_FATAL(calls && json_object_array_length(calls) >= 1);
		json_object *c0 = json_object_array_get_idx(calls, 0);
		CU_ASSERT_STRING_EQUAL(gets(c0, "method"), method[i]);
		CU_ASSERT_STRING_EQUAL(gets(c0, "status"), "OK");
		int64_t start = geti(c0, "start_us"), dur = geti(c0, "duration_us");
		CU_ASSERT(start > 0 && dur > 0 && (start + dur) / 1000 <= geti(tt, "duration_ms") + 1);
	}
	json_object *lat = get(root, "latency", json_type_array);
	CU_ASSERT_FATAL(lat && json_object_array_length(lat) == 2);
	CU_ASSERT_STRING_EQUAL(gets(json_object_array_get_idx(lat, 0), "method"), "Status");
	CU_ASSERT_EQUAL(geti(json_object_array_get_idx(lat, 0), "count"), 2);
	CU_ASSERT_STRING_EQUAL(gets(json_object_array_get_idx(lat, 1), "method"), "Version");
	json_object_put(root);

	CU_ASSERT_EQUAL_FATAL(util_read_file(html, &h, NULL, &e), 0);
	check_html(html, h, 3, 2, 0);
	free(h);

	/* On a terminal (script(1) gives it one) a status line is drawn before
	 * each test and cleared before its result line (one test at a time, so
	 * the line names it alone). */
	free(cmd);
	free(out);
	out = NULL;
	cmd = util_strdup_printf("env -u NO_COLOR TERM=xterm CRITIC_LAB_DIR='%s' script -qec \"'%s' run --parallel 1 --focus "
				 "'^runtime/'\" /dev/null",
				 tests_lab_dir(), bin);
	rc = util_run_sh(cmd, 120000, &out, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out && strstr(out, "\r\033[K[0/3 done] running runtime/version ("));
	CU_ASSERT(out && strstr(out, "\r\033[K[2/3 done] running runtime/status-verbose ("));
	CU_ASSERT(out && strstr(out, "\r\033[K[ 3/3] \033[32mPASS"));
	if (rc != 0 || !out || !strstr(out, "[0/3 done]"))
		printf("\n    on a terminal: %s", out ? out : e.msg);

	/* A report that cannot be written: exit 2, the file named, before any test. */
	free(cmd);
	free(out);
	out = NULL;
	cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' run --focus '^runtime/' --json /nonexistent-critic-dir/r.json",
				 tests_lab_dir(), bin);
	rc = util_run_sh(cmd, 60000, &out, &e);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(out && strstr(out, "/nonexistent-critic-dir/r.json"));
	CU_ASSERT(out && !strstr(out, "runtime/version"));
	/* One that fails only at the end (root may write in /proc's directory
	 * but not create a file there): exit 2, named; the others are written. */
	free(cmd);
	free(out);
	out = NULL;
	char *late = tmp_path("late.xml");
	cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' run --focus '^runtime/version$' --json /proc/critic-report.json "
				 "--junit '%s'",
				 tests_lab_dir(), bin, late);
	rc = util_run_sh(cmd, 120000, &out, &e);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT(out && strstr(out, "critic: write report /proc/critic-report.json: "));
		CU_ASSERT(util_exists(late));
	} else {
		CU_ASSERT_EQUAL(rc, 2); /* refused up front */
	}
	free(late);

	if (!was_up) {
		char *down = util_strdup_printf("'%s' --dir '%s' lab down", bin, tests_lab_dir());
		char *dout = NULL;
		int drc = util_run_sh(down, 120000, &dout, &e);
		if (drc != 0)
			printf("\n    lab down: %s", dout ? dout : e.msg);
		CU_ASSERT_EQUAL(drc, 0);
		free(dout);
		free(down);
	}
	free(t);
	free(hu);
	free(tap);
	free(human);
	free(junit);
	free(json);
	free(html);
	free(out);
	free(cmd);
	free(status);
	free(bin);
}

/* A source file of the tree: $CRITIC_SRC_DIR, the working directory, or
 * beside the binary's directory (bin/..). */
static char *src_file(const char *rel)
{
	const char *src = getenv("CRITIC_SRC_DIR");
	if (src && *src) {
		char *p = util_strdup_printf("%s/%s", src, rel);
		if (util_exists(p))
			return p;
		free(p);
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd)) {
		char *p = util_strdup_printf("%s/%s", cwd, rel);
		if (util_exists(p))
			return p;
		free(p);
	}
	char up[PATH_MAX], p[PATH_MAX];
	snprintf(up, sizeof up, "../%s", rel);
	if (tests_beside(up, p, sizeof p) == 0 && util_exists(p))
		return strdup(p);
	return NULL;
}

/* `critic run --focus '^runtime/version' --scenarios 09-proxy-faults.yaml`
 * with every report: the test and the scenario with its steps in each. */
static void test_run_scenarios(void)
{
	char *bin = critic_bin(), *yaml = src_file("scenarios/09-proxy-faults.yaml"),
	     *broken = src_file("tests/scenarios/bad-keys.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	if (!yaml || !broken)
		printf("\n    scenarios/09-proxy-faults.yaml or tests/scenarios/bad-keys.yaml not found (set CRITIC_SRC_DIR)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(broken);
	make_tmpdir();
	crit_err e;
	char *status = util_strdup_printf("'%s' --dir '%s' lab status", bin, tests_lab_dir());
	bool was_up = util_run_sh(status, 30000, NULL, &e) == 0;

	/* A scenario file with errors: refused before any test, every error
	 * with file:line:col; a missing one named. */
	char *out = NULL;
	char *cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' run --focus '^runtime/version$' --scenarios '%s' 2>&1",
				       tests_lab_dir(), bin, broken);
	int rc = util_run_sh(cmd, 120000, &out, &e);
	CU_ASSERT_EQUAL(rc, 2);
	char *where = util_strdup_printf("%s:", broken);
	CU_ASSERT(out && strstr(out, where) && strstr(out, "nothing was run") && !strstr(out, "runtime/version"));
	free(where);
	free(cmd);
	free(out);
	out = NULL;
	cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' run --scenarios /nonexistent-critic.yaml 2>&1",
				 tests_lab_dir(), bin);
	rc = util_run_sh(cmd, 120000, &out, &e);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(out && strstr(out, "/nonexistent-critic.yaml: no such file"));
	free(cmd);
	free(out);
	out = NULL;
	/* Words after run without --scenarios are refused. */
	cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' run '%s' 2>&1", tests_lab_dir(), bin, yaml);
	rc = util_run_sh(cmd, 120000, &out, &e);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(out && strstr(out, "come with --scenarios"));
	free(cmd);
	free(out);
	out = NULL;

	cmd = util_strdup_printf("cd '%s' && CRITIC_LAB_DIR='%s' '%s' --no-color run --focus '^runtime/version' "
				 "--scenarios '%s' --junit s.xml --json s.json --html s.html --tap >s.tap 2>s.err",
				 tmpdir, tests_lab_dir(), bin, yaml);
	rc = util_run_sh(cmd, 900000, &out, &e);
	char *tap = tmp_path("s.tap"), *human = tmp_path("s.err"), *junit = tmp_path("s.xml"), *json = tmp_path("s.json"),
	     *html = tmp_path("s.html");
	char *t = NULL, *hu = NULL, *h = NULL;
	util_read_file(tap, &t, NULL, &e);
	util_read_file(human, &hu, NULL, &e);
	if (rc != 0)
		printf("\n    critic run exited %d: %s\n%s", rc, rc < 0 ? e.msg : "", hu ? hu : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hu);
	/* the scenario's own lines went with the human output */
	CU_ASSERT_PTR_NOT_NULL(strstr(hu, "scenario proxy-faults"));
	CU_ASSERT_PTR_NOT_NULL(strstr(hu, "1 scenarios: 1 passed, 0 failed, 0 skipped"));

	/* JSON: the test, then the scenario with every step it ran */
	json_object *root = json_object_from_file(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	json_object *tests = get(root, "tests", json_type_array), *scn = get(root, "scenarios", json_type_array);
	CU_ASSERT_FATAL(tests && scn);
	CU_ASSERT_EQUAL(json_object_array_length(tests), 1);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(scn), 1);
	json_object *s0 = json_object_array_get_idx(scn, 0);
	CU_ASSERT_STRING_EQUAL(gets(s0, "name"), "proxy-faults");
	CU_ASSERT_STRING_EQUAL(gets(s0, "file"), yaml);
	CU_ASSERT_STRING_EQUAL(gets(s0, "verdict"), "PASS");
	json_object *steps = get(s0, "steps", json_type_array), *counts = get(s0, "step_counts", json_type_object);
	CU_ASSERT_FATAL(steps && counts);
	size_t n_steps = json_object_array_length(steps);
	CU_ASSERT(n_steps >= 20);
	CU_ASSERT_EQUAL((int64_t)n_steps, geti(counts, "run"));
	/* the proxy's deadline step: the call ended DEADLINE_EXCEEDED, as expected */
	int deadline_calls = 0, proxy_faults = 0;
	int64_t last_start = -1;
	bool ordered = true;
	for (size_t i = 0; i < n_steps; i++) {
		json_object *st = json_object_array_get_idx(steps, i), *call = NULL;
		CU_ASSERT_STRING_EQUAL(gets(st, "verdict"), "PASS");
		CU_ASSERT_EQUAL(geti(st, "index"), (int64_t)i + 1);
		if (geti(st, "start_ms") < last_start)
			ordered = false;
		last_start = geti(st, "start_ms");
		if (json_object_object_get_ex(st, "call", &call) && call &&
		    !strcmp(gets(call, "status"), "DEADLINE_EXCEEDED"))
			deadline_calls++;
		json_object *f = NULL;
		if (json_object_object_get_ex(st, "fault", &f) && json_object_get_boolean(f))
			proxy_faults += !strcmp(gets(st, "kind"), "proxy");
	}
	CU_ASSERT(ordered);
	CU_ASSERT(deadline_calls >= 2); /* slow-deadline and blackholed */
	CU_ASSERT(proxy_faults >= 3);   /* delay, blackhole, reset */
	json_object *sc = get(root, "scenario_counts", json_type_object);
	CU_ASSERT(sc && geti(sc, "passed") == 1);
	json_object_put(root);

	/* JUnit: schema-valid, a testsuite for the scenario, a testcase per step */
	assert_junit_valid(junit);
	CU_ASSERT_EQUAL(xpath_count(junit, "//testsuite[@name='runtime']/testcase"), 1);
	CU_ASSERT_EQUAL(xpath_count(junit, "//testsuite[@name='scenario/proxy-faults']/testcase"), (long)n_steps);
	CU_ASSERT_EQUAL(xpath_count(junit, "//testsuite[@name='scenario/proxy-faults']/testcase"
					   "[@classname='critic.scenario.proxy-faults']"), (long)n_steps);
	CU_ASSERT_EQUAL(xpath_count(junit, "//failure|//error"), 0);

	/* TAP: the steps as a subtest of result 2 */
	CU_ASSERT(util_has_prefix(t, "KTAP version 1\n1..2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\nok 1 runtime/version\n    KTAP version 1\n    # Subtest: scenario/proxy-faults\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\nok 2 scenario/proxy-faults\n# Totals: pass:2 fail:0 skip:0 error:0\n"));

	/* HTML: well-formed, the scenario's section with a row and a bar per step */
	CU_ASSERT_EQUAL_FATAL(util_read_file(html, &h, NULL, &e), 0);
	out = NULL;
	CU_ASSERT_EQUAL(xmllint("--noout", NULL, NULL, html, &out), 0);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(count(h, "<section class=\"scenario\""), 1);
	CU_ASSERT_EQUAL(count(h, "<rect class=\"step "), n_steps);
	CU_ASSERT_EQUAL(count(h, "<tr class=\"v-pass\" id=\"s-1-"), n_steps);
	CU_ASSERT(count(h, "class=\"fault-flag\"") >= 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "critic broke something on purpose: <code>proxy mode blackhole</code>"));
	CU_ASSERT_PTR_NULL(strstr(h, "<script"));

	/* The same runtime named as an endpoint that is not the lab: a
	 * disruptive scenario is skipped with the reason, nothing else runs. */
	char *hung = src_file("scenarios/05-runtime-hung.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(hung);
	free(cmd);
	cmd = util_strdup_printf("cd '%s' && CRITIC_LAB_DIR='%s/no-lab' '%s' -r 'unix://%s/containerd.sock' run "
				 "--scenarios-only '%s' --json d.json 2>&1",
				 tmpdir, tmpdir, bin, tests_lab_dir(), hung);
	rc = util_run_sh(cmd, 300000, &out, &e);
	if (rc != 0)
		printf("\n    critic run --scenarios-only exited %d: %s", rc, out ? out : e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	char *dj = tmp_path("d.json");
	root = json_object_from_file(dj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(json_object_array_length(get(root, "tests", json_type_array)), 0);
	scn = get(root, "scenarios", json_type_array);
	CU_ASSERT_FATAL(scn && json_object_array_length(scn) == 1);
	s0 = json_object_array_get_idx(scn, 0);
	CU_ASSERT_STRING_EQUAL(gets(s0, "verdict"), "SKIP");
	CU_ASSERT(strstr(gets(s0, "reason"), "disruptive") && strstr(gets(s0, "reason"), "--allow-disruptive"));
	CU_ASSERT_EQUAL(json_object_array_length(get(s0, "steps", json_type_array)), 0);
	CU_ASSERT_STRING_EQUAL(gets(get(get(root, "run", json_type_object), "runtime", json_type_object), "name"),
			       "containerd");
	json_object_put(root);
	free(dj);
	free(hung);

	if (!was_up) {
		char *down = util_strdup_printf("'%s' --dir '%s' lab down", bin, tests_lab_dir());
		char *dout = NULL;
		int drc = util_run_sh(down, 120000, &dout, &e);
		if (drc != 0)
			printf("\n    lab down: %s", dout ? dout : e.msg);
		CU_ASSERT_EQUAL(drc, 0);
		free(dout);
		free(down);
	}
	free(t);
	free(hu);
	free(h);
	free(tap);
	free(human);
	free(junit);
	free(json);
	free(html);
	free(out);
	free(cmd);
	free(status);
	free(yaml);
	free(broken);
	free(bin);
}

void tests_register_reports_lab(void)
{
	CU_pSuite s = CU_add_suite("reports against the lab", NULL, cleanup_suite);
	CU_add_test(s, "critic run --junit --json --html --tap", test_run_reports);
	CU_add_test(s, "critic run --scenarios 09-proxy-faults.yaml: the scenario and its steps in every report",
		    test_run_scenarios);
}
