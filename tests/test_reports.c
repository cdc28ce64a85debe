/* Tests of the result writers: a run built by hand goes through each writer,
 * and the output is checked with real parsers (xmllint against the JUnit
 * schema, json-c); then, against the lab, `critic run` writes all four. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/rep.h"
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
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof path, "%s/../reports/junit.xsd", dirname(exe));
		if (util_exists(path))
			return path;
	}
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
}

/* ---- against the lab ----------------------------------------------------------------- */

static char *critic_bin(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	return util_strdup_printf("%s/critic", dirname(exe));
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
	 * each test and cleared before its result line. */
	free(cmd);
	free(out);
	out = NULL;
	cmd = util_strdup_printf("env -u NO_COLOR TERM=xterm CRITIC_LAB_DIR='%s' script -qec \"'%s' run --focus "
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

void tests_register_reports_lab(void)
{
	CU_pSuite s = CU_add_suite("reports against the lab", NULL, cleanup_suite);
	CU_add_test(s, "critic run --junit --json --html --tap", test_run_reports);
}
