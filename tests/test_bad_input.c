/* Unit tests of what critic does with bad input that the client's own tests
 * do not cover: endpoints that are not sockets, a hung socket under `critic
 * run`, bad crictl.yaml, bad flags and regexes, replies of the wrong type.
 * The table in docs/bad-inputs.md points at each. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cri.h"
#include "crilog.h"
#include "endpoint.h"
#include "fake_server.h"
#include "tests.h"
#include "util.h"

static char tmpdir[64];
static char critic_bin[PATH_MAX];
static fake_sock *raw;
static fake_grpc *srv;

static const char *in_tmp(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
	return buf[k];
}

static int suite_init(void)
{
	if (tests_beside("critic", critic_bin, sizeof critic_bin) < 0)
		return -1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-bad-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	if (fake_time_scale() > 1)
		util_sleep_ms(1000); /* let gRPC finish tearing down under valgrind */
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

static void teardown(void)
{
	fake_sock_stop(raw);
	raw = NULL;
	fake_grpc_stop(srv);
	srv = NULL;
}

/* Run the critic binary with args (a shell-free argv); output caught. The
 * caller's endpoint variables must not leak in. */
typedef struct {
	int rc;
	int64_t ms;
	char *out;
} cli_result;

static cli_result critic(const char *const *args)
{
	char *argv[16];
	int n = 0;
	argv[n++] = critic_bin;
	argv[n++] = "--no-color";
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	unsetenv("CONTAINER_RUNTIME_ENDPOINT");
	unsetenv("IMAGE_SERVICE_ENDPOINT");
	cli_result r = { 0 };
	crit_err e;
	err_clear(&e);
	int64_t t0 = util_now_ms();
	r.rc = util_run(argv, 60000, &r.out, &e);
	r.ms = util_now_ms() - t0;
	if (r.rc < 0)
		r.out = strdup(e.msg);
	printf("\n    critic");
	for (int i = 2; argv[i]; i++)
		printf(" %s", argv[i]);
	printf(" -> %d in %lld ms: %s", r.rc, (long long)r.ms, r.out ? r.out : "");
	return r;
}
#define CRITIC(...) critic((const char *const[]){ __VA_ARGS__, NULL })

static bool has(const cli_result *r, const char *s) { return r->out && strstr(r->out, s); }

/* --- endpoints that are not sockets --------------------------------------- */

static void not_a_socket(const char *path, const char *what)
{
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", path);
	/* The client: UNAVAILABLE, and the message says what is at the path. */
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(cri_connect(&c, ep, NULL, 5000, &e) == 0);
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = CRI_CALL(c, Version, &req, &resp, &e);
	int64_t took = util_now_ms() - t0;
	cri_close(c);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, what));
	CU_ASSERT(took < 1000 * fake_time_scale());
	cri_free(resp);
	/* The command line: exit 3, the same words, no waiting. */
	cli_result r = CRITIC("-r", ep, "version");
	CU_ASSERT_EQUAL(r.rc, 3);
	CU_ASSERT(has(&r, what));
	CU_ASSERT(r.ms < 2000 * fake_time_scale());
	free(r.out);
}

static void test_endpoint_regular_file(void)
{
	const char *p = in_tmp("file.sock");
	CU_ASSERT_FATAL(util_write_file(p, "x", 1, 0644, NULL) == 0);
	char what[300];
	snprintf(what, sizeof what, "%s is a regular file, not a unix socket", p);
	not_a_socket(p, what);
}

static void test_endpoint_directory(void)
{
	const char *p = in_tmp("dir.sock");
	CU_ASSERT_FATAL(util_mkdir_p(p, 0755, NULL) == 0);
	char what[300];
	snprintf(what, sizeof what, "%s is a directory, not a unix socket", p);
	not_a_socket(p, what);
}

static void test_endpoint_missing(void)
{
	const char *p = in_tmp("nobody.sock");
	char what[300];
	snprintf(what, sizeof what, "%s does not exist", p);
	not_a_socket(p, what);
	/* A parent that is a file, not a directory. */
	const char *f = in_tmp("plainfile");
	CU_ASSERT_FATAL(util_write_file(f, "x", 1, 0644, NULL) == 0);
	char sub[300], what2[400];
	snprintf(sub, sizeof sub, "%s/x.sock", f);
	snprintf(what2, sizeof what2, "a parent of %s is not a directory", sub);
	not_a_socket(sub, what2);
}

static void test_ep_socket_problem(void)
{
	char buf[600];
	CU_ASSERT_PTR_NOT_NULL(ep_socket_problem("relative", buf, sizeof buf));
	CU_ASSERT_PTR_NOT_NULL(ep_socket_problem(NULL, buf, sizeof buf));
	/* A real socket: no problem to tell. */
	const char *p = in_tmp("real.sock");
	CU_ASSERT_FATAL(fake_sock_start(&raw, FAKE_SOCK_BLACKHOLE, p) == 0);
	CU_ASSERT_PTR_NULL(ep_socket_problem(p, buf, sizeof buf));
	/* Other file types name theirs. */
	CU_ASSERT_PTR_NOT_NULL(ep_socket_problem("/dev/null", buf, sizeof buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "/dev/null is not a unix socket"));
}

/* --- a socket that hangs, under the whole `critic run` --------------------- */

/* The brief's promise: nothing hangs a CI job. A socket that takes the
 * connection and never answers ends `critic run -t 1s` with exit 3 in
 * about the timeout. */
static void run_against(fake_sock_mode mode, const char *name)
{
	const char *p = in_tmp(name);
	CU_ASSERT_FATAL(fake_sock_start(&raw, mode, p) == 0);
	cli_result r = CRITIC("-r", p, "-t", "1s", "run");
	CU_ASSERT_EQUAL(r.rc, 3);
	CU_ASSERT(r.ms < 5000 * fake_time_scale());
	CU_ASSERT(has(&r, "does not answer"));
	CU_ASSERT(has(&r, p));
	if (mode == FAKE_SOCK_SILENT)
		CU_ASSERT(fake_sock_accepted(raw) >= 1);
	free(r.out);
}

static void test_run_silent_socket(void) { run_against(FAKE_SOCK_SILENT, "silent.sock"); }
static void test_run_blackhole_socket(void) { run_against(FAKE_SOCK_BLACKHOLE, "blackhole.sock"); }

/* --- configuration --------------------------------------------------------- */

static void test_crictl_yaml_cli(void)
{
	/* Malformed YAML: exit 2 (configuration), FILE:LINE:COL. */
	const char *bad = in_tmp("bad-crictl.yaml");
	const char *text = "runtime-endpoint: unix:///run/x.sock\ntimeout: [1, 2\n";
	CU_ASSERT_FATAL(util_write_file(bad, text, strlen(text), 0644, NULL) == 0);
	cli_result r = CRITIC("--config", bad, "version");
	char where[300];
	snprintf(where, sizeof where, "%s:", bad);
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, where));
	free(r.out);
	/* An endpoint critic cannot use: the line is named. */
	text = "timeout: 2\nruntime-endpoint: tcp://10.0.0.1:1234\n";
	CU_ASSERT_FATAL(util_write_file(bad, text, strlen(text), 0644, NULL) == 0);
	r = CRITIC("--config", bad, "version");
	snprintf(where, sizeof where, "%s:2:", bad);
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, where));
	CU_ASSERT(has(&r, "only unix sockets"));
	free(r.out);
	/* A well-formed file naming a directory: unreachable, the path named. */
	const char *dir = in_tmp("cfg-dir.sock");
	CU_ASSERT_FATAL(util_mkdir_p(dir, 0755, NULL) == 0);
	char t2[400];
	snprintf(t2, sizeof t2, "runtime-endpoint: unix://%s\n", dir);
	CU_ASSERT_FATAL(util_write_file(bad, t2, strlen(t2), 0644, NULL) == 0);
	r = CRITIC("--config", bad, "version");
	CU_ASSERT_EQUAL(r.rc, 3);
	CU_ASSERT(has(&r, "is a directory, not a unix socket"));
	free(r.out);
}

static void test_bad_flags(void)
{
	cli_result r = CRITIC("-t", "soon", "version");
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, "--timeout 'soon'"));
	free(r.out);
	char longp[200];
	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	r = CRITIC("-r", longp, "version");
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, "longer than 107 bytes"));
	free(r.out);
	r = CRITIC("-r", "tcp://127.0.0.1:1", "version");
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, "only unix sockets"));
	free(r.out);
}

/* An invalid --focus regex is refused before anything runs, naming it. */
static void test_bad_focus_regex(void)
{
	const char *p = in_tmp("focus.sock");
	CU_ASSERT_FATAL(fake_sock_start(&raw, FAKE_SOCK_BLACKHOLE, p) == 0);
	cli_result r = CRITIC("-r", p, "-t", "1s", "run", "--focus", "pod/(");
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, "--focus 'pod/('"));
	CU_ASSERT(r.ms < 1000 * fake_time_scale());
	free(r.out);
	r = CRITIC("-r", p, "-t", "1s", "run", "--skip", "[z-a]");
	CU_ASSERT_EQUAL(r.rc, 2);
	CU_ASSERT(has(&r, "--skip '[z-a]'"));
	free(r.out);
}

/* --- replies of the wrong message type ------------------------------------- */

/* protobuf carries no type name: a reply of another type decodes when its
 * fields' wire types happen to fit, and is refused when one does not. */
static void test_wrong_message_type(void)
{
	const char *p = in_tmp("grpc.sock");
	CU_ASSERT_FATAL(fake_grpc_start(&srv, p) == 0);
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", p);
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(cri_connect(&c, ep, NULL, 3000, &e) == 0);

	/* A ContainerStatsResponse (field 1: a message) for Version (field 1:
	 * a string): both length-delimited, so it decodes, as nonsense. */
	Runtime__V1__ContainerStats st = RUNTIME__V1__CONTAINER_STATS__INIT;
	Runtime__V1__ContainerAttributes at = RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT;
	at.id = "abc";
	st.attributes = &at;
	Runtime__V1__ContainerStatsResponse other = RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT;
	other.stats = &st;
	uint8_t buf[256];
	size_t n = protobuf_c_message_pack(&other.base, buf);
	fake_reply rep = { .status = 0, .nmsgs = 1 };
	rep.msgs[0].data = buf;
	rep.msgs[0].len = n;
	fake_grpc_set_reply(srv, &rep);
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	int rc = CRI_CALL(c, Version, &req, &v, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(v && strcmp(v->runtime_api_version, "v1") != 0); /* what a conformance check then catches */
	cri_free(v);

	/* A reply whose field 1 is a varint where VersionResponse has a string. */
	static const uint8_t varint1[] = { 0x08, 0x96, 0x01 };
	rep.msgs[0].data = varint1;
	rep.msgs[0].len = sizeof varint1;
	fake_grpc_set_reply(srv, &rep);
	v = NULL;
	err_clear(&e);
	rc = CRI_CALL(c, Version, &req, &v, &e);
	CU_ASSERT_EQUAL(rc, -ERR_DECODE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.VersionResponse"));
	CU_ASSERT_PTR_NULL(v);

	/* Truncated: a length that runs past the end. */
	static const uint8_t cut[] = { 0x12, 0x40, 'c', 'o' };
	rep.msgs[0].data = cut;
	rep.msgs[0].len = sizeof cut;
	fake_grpc_set_reply(srv, &rep);
	err_clear(&e);
	rc = CRI_CALL(c, Version, &req, &v, &e);
	CU_ASSERT_EQUAL(rc, -ERR_DECODE);
	cri_close(c);
}

/* --- container log lines (crilog) ------------------------------------------ */

static void test_crilog_timestamps(void)
{
	int64_t ns;
	CU_ASSERT(crilog_parse_ts("2026-12-04T21:53:37.468371131Z", 30, &ns));
	CU_ASSERT_EQUAL(ns % 1000000000LL, 468371131);
	/* Go's RFC3339Nano drops trailing zeros: 1 to 9 digits. */
	CU_ASSERT(crilog_parse_ts("2026-12-04T21:53:37.46846347Z", 29, &ns));
	CU_ASSERT_EQUAL(ns % 1000000000LL, 468463470);
	CU_ASSERT(crilog_parse_ts("1970-01-01T01:00:00+01:00", 25, &ns));
	CU_ASSERT_EQUAL(ns, 0);
	CU_ASSERT(!crilog_parse_ts("2026-12-04T21:53:37.Z", 21, &ns));
	CU_ASSERT(!crilog_parse_ts("2026-12-04T21:53:37.1234567890Z", 31, &ns));
	CU_ASSERT(!crilog_parse_ts("2026-13-04T21:53:37Z", 20, &ns));
	CU_ASSERT(!crilog_parse_ts("2026-12-04 21:53:37Z", 20, &ns));
	CU_ASSERT(!crilog_parse_ts("2026-12-04T21:53:37", 19, &ns));
	/* What int64 nanoseconds cannot hold is refused, not overflowed. */
	CU_ASSERT(crilog_parse_ts("2262-04-11T23:47:15Z", 20, &ns));
	CU_ASSERT(!crilog_parse_ts("2263-01-01T00:00:00Z", 20, &ns));
	CU_ASSERT(!crilog_parse_ts("9999-12-31T23:59:60Z", 20, &ns));
	CU_ASSERT(!crilog_parse_ts("1600-01-01T00:00:00Z", 20, &ns));
}

static void test_crilog_file(void)
{
	static const char good[] = "2026-12-04T21:53:37.1Z stdout P par\n"
				   "2026-12-04T21:53:37.2Z stderr F e1\n"
				   "2026-12-04T21:53:37.3Z stdout F tial\n"
				   "2026-12-04T21:53:37.4Z stdout F \n";
	crilog_file f;
	crilog_parse(good, sizeof good - 1, &f);
	CU_ASSERT_STRING_EQUAL(f.problem, "");
	CU_ASSERT_EQUAL(f.records, 4);
	CU_ASSERT_EQUAL(f.partial[CRILOG_STDOUT], 1);
	CU_ASSERT_EQUAL(f.full[CRILOG_STDOUT], 2);
	CU_ASSERT_EQUAL(f.text[CRILOG_STDOUT].len, 9);
	CU_ASSERT(f.text[CRILOG_STDOUT].buf && !memcmp(f.text[CRILOG_STDOUT].buf, "partial\n\n", 9));
	CU_ASSERT(f.text[CRILOG_STDERR].buf && !memcmp(f.text[CRILOG_STDERR].buf, "e1\n", 3));
	crilog_free(&f);
	/* Each problem is named with its line; nothing past a line is read
	 * (the buffers are not NUL-terminated). */
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "2026-12-04T21:53:37Z stdout F ok\nno timestamp here\n", "line 2: bad timestamp" },
		{ "2026-12-04T21:53:37Z stdin F x\n", "line 1: stream is not stdout or stderr" },
		{ "2026-12-04T21:53:37Z stdout X x\n", "line 1: tag is not 'P ' or 'F '" },
		{ "2026-12-04T21:53:37Z stdout F no newline", "line 1 has no newline" },
		{ "2026-12-04T21:53:38Z stdout F a\n2026-12-04T21:53:37Z stdout F b\n", "line 2: timestamp goes back" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t n = strlen(bad[i].text);
		char *copy = malloc(n);
		memcpy(copy, bad[i].text, n);
		crilog_parse(copy, n, &f);
		CU_ASSERT_PTR_NOT_NULL(strstr(f.problem, bad[i].want));
		if (!strstr(f.problem, bad[i].want))
			printf("\n    got '%s', want '%s'", f.problem, bad[i].want);
		crilog_free(&f);
		free(copy);
	}
}

/* --- critic cleanup's input ------------------------------------------------ */

static void test_cleanup_names_and_usage(void)
{
	CU_ASSERT(cleanup_safe_name("20261204-214046-55c4"));
	CU_ASSERT(cleanup_safe_name("safety.a_1"));
	CU_ASSERT(!cleanup_safe_name(""));
	CU_ASSERT(!cleanup_safe_name("."));
	CU_ASSERT(!cleanup_safe_name(".."));
	CU_ASSERT(!cleanup_safe_name("../etc"));
	CU_ASSERT(!cleanup_safe_name("a/b"));
	CU_ASSERT(!cleanup_safe_name("a b"));
	CU_ASSERT(!cleanup_safe_name(NULL));
	char many[80];
	memset(many, 'a', sizeof many - 1);
	many[sizeof many - 1] = '\0';
	CU_ASSERT(!cleanup_safe_name(many));
	/* The command line refuses them before touching anything. */
	const char *missing = in_tmp("cleanup-missing.sock");
	char *a1[] = { "cleanup", "--run-id", "../etc", "-r", (char *)missing, NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(5, a1), 2);
	char *a2[] = { "cleanup", "--no-such-flag", NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(2, a2), 2);
	char *a3[] = { "cleanup", "-r", (char *)missing, "stray", NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(4, a3), 2);
	char *a4[] = { "cleanup", "-r", (char *)missing, "-t", "0s", NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(5, a4), 2);
	/* Nobody there: unreachable, nothing done. */
	char *a5[] = { "cleanup", "-r", (char *)missing, "--dry-run", NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(4, a5), 3);
	char *a6[] = { "cleanup", "--help", NULL };
	CU_ASSERT_EQUAL(cleanup_cli_main(2, a6), 0);
}

/* A runtime that ignores ListPodSandbox's label filter (this one answers
 * every call with the same list) still cannot make cleanup pick a pod
 * without critic's owner label: the labels are checked again. */
static void test_cleanup_filter_ignored(void)
{
	const char *p = in_tmp("cleanup.sock");
	CU_ASSERT_FATAL(fake_grpc_start(&srv, p) == 0);
	Runtime__V1__PodSandbox__LabelsEntry own = RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT, run = own, app = own,
					     fake_owner = own;
	own.key = "critic.io/owner";
	own.value = "critic";
	run.key = "critic.io/run-id";
	run.value = "r1";
	app.key = "app";
	app.value = "web";
	fake_owner.key = "critic.io/owner";
	fake_owner.value = "someone-else";
	Runtime__V1__PodSandbox__LabelsEntry *ours[] = { &own, &run }, *theirs[] = { &app, &run },
					     *imitation[] = { &fake_owner, &run };
	Runtime__V1__PodSandbox p1 = RUNTIME__V1__POD_SANDBOX__INIT, p2 = p1, p3 = p1;
	p1.id = "aaaa00000000000000000000";
	p1.labels = ours;
	p1.n_labels = 2;
	p2.id = "bbbb00000000000000000000";
	p2.labels = theirs;
	p2.n_labels = 2;
	p3.id = "cccc00000000000000000000";
	p3.labels = imitation;
	p3.n_labels = 2;
	Runtime__V1__PodSandbox *items[] = { &p1, &p2, &p3 };
	Runtime__V1__ListPodSandboxResponse list = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	list.items = items;
	list.n_items = 3;
	uint8_t buf[512];
	size_t n = protobuf_c_message_pack(&list.base, buf);
	fake_reply rep = { .status = 0, .nmsgs = 1 };
	rep.msgs[0].data = buf;
	rep.msgs[0].len = n;
	fake_grpc_set_reply(srv, &rep);
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", p);
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(cri_connect(&c, ep, NULL, 3000, &e) == 0);
	cleanup_plan plan;
	int rc = cleanup_find(c, NULL, tmpdir, &plan, &e);
	if (rc < 0)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	size_t pods = 0;
	for (size_t i = 0; i < plan.n; i++)
		if (plan.items[i].kind == CLEANUP_POD) {
			pods++;
			CU_ASSERT_STRING_EQUAL(plan.items[i].id, p1.id);
		}
	CU_ASSERT_EQUAL(pods, 1);
	cleanup_plan_free(&plan);
	/* With a run id, the pod's run must match too. */
	rc = cleanup_find(c, "r2", tmpdir, &plan, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(plan.n, 0);
	cleanup_plan_free(&plan);
	cri_close(c);
}

void tests_register_bad_input(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/bad-input", suite_init, suite_cleanup, NULL, teardown);
	if (!s)
		return;
	CU_add_test(s, "endpoint is a regular file: exit 3, 'regular file', fast", test_endpoint_regular_file);
	CU_add_test(s, "endpoint is a directory: exit 3, 'directory', fast", test_endpoint_directory);
	CU_add_test(s, "endpoint missing / parent not a dir: exit 3, said so", test_endpoint_missing);
	CU_add_test(s, "ep_socket_problem: sockets pass, other types named", test_ep_socket_problem);
	CU_add_test(s, "critic run -t 1s on a socket that never answers: exit 3 < 5 s", test_run_silent_socket);
	CU_add_test(s, "critic run -t 1s on a socket that never accepts: exit 3 < 5 s", test_run_blackhole_socket);
	CU_add_test(s, "crictl.yaml malformed / bad endpoint / a directory: 2, 2, 3", test_crictl_yaml_cli);
	CU_add_test(s, "bad --timeout, too long or tcp endpoint: exit 2", test_bad_flags);
	CU_add_test(s, "invalid --focus / --skip regex: exit 2 naming it, fast", test_bad_focus_regex);
	CU_add_test(s, "reply of the wrong message type: decodes if wire types fit, else ERR_DECODE",
		    test_wrong_message_type);
	CU_add_test(s, "cleanup: run ids and usage refused before anything is touched", test_cleanup_names_and_usage);
	CU_add_test(s, "cleanup: a runtime ignoring the label filter still yields only critic's", test_cleanup_filter_ignored);
	s = CU_add_suite("unit/crilog", NULL, NULL);
	if (!s)
		return;
	CU_add_test(s, "timestamps: RFC3339Nano forms; out of int64 range refused", test_crilog_timestamps);
	CU_add_test(s, "a log file: P+F reassembled; each problem named by line", test_crilog_file);
}
