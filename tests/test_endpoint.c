/* Unit tests of endpoint handling: parsing an endpoint, reading crictl.yaml
 * and resolving file < environment < flags the way crictl does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "endpoint.h"
#include "tests.h"
#include "util.h"

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-ep-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void) { return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0; }

/* No test may see, or leave behind, the caller's endpoint variables. */
static void clear_env(void)
{
	unsetenv("CONTAINER_RUNTIME_ENDPOINT");
	unsetenv("IMAGE_SERVICE_ENDPOINT");
}

/* Write text to a fresh file in tmpdir; returns its path (static buffer). */
static const char *yaml_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	crit_err e;
	if (util_write_file(path, text, strlen(text), 0644, &e) < 0) {
		fprintf(stderr, "%s\n", err_msg(&e));
		return NULL;
	}
	return path;
}

/* msg is "FILE:LINE:COL: ..." for this file and line (any column >= 1). */
static void assert_file_line(const char *msg, const char *file, int line)
{
	char want[300];
	snprintf(want, sizeof want, "%s:%d:", file, line);
	CU_ASSERT_FATAL(util_has_prefix(msg, want));
	const char *p = msg + strlen(want);
	char *end;
	long col = strtol(p, &end, 10);
	CU_ASSERT(end != p && col >= 1);
	CU_ASSERT(end[0] == ':' && end[1] == ' ');
}

/* --- ep_parse ------------------------------------------------------------- */

static void test_parse_unix_url(void)
{
	char out[EP_MAX], path[EP_MAX];
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_parse("unix:///run/containerd/containerd.sock", out, sizeof out, path, sizeof path, &e), 0);
	CU_ASSERT_STRING_EQUAL(out, "unix:///run/containerd/containerd.sock");
	CU_ASSERT_STRING_EQUAL(path, "/run/containerd/containerd.sock");
	CU_ASSERT_EQUAL(e.code, 0);
}

static void test_parse_bare_path(void)
{
	char out[EP_MAX], path[EP_MAX];
	CU_ASSERT_EQUAL(ep_parse("/run/crio/crio.sock", out, sizeof out, path, sizeof path, NULL), 0);
	CU_ASSERT_STRING_EQUAL(out, "unix:///run/crio/crio.sock");
	CU_ASSERT_STRING_EQUAL(path, "/run/crio/crio.sock");
	/* path may be NULL */
	CU_ASSERT_EQUAL(ep_parse("/x.sock", out, sizeof out, NULL, 0, NULL), 0);
	CU_ASSERT_STRING_EQUAL(out, "unix:///x.sock");
}

static void test_parse_relative_refused(void)
{
	char out[EP_MAX] = "untouched";
	crit_err e;
	err_clear(&e);
	int rc = ep_parse("run/x.sock", out, sizeof out, NULL, 0, &e);
	CU_ASSERT_EQUAL(rc, -ERR_CONFIG);
	CU_ASSERT_EQUAL(e.code, -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "run/x.sock"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "absolute"));
	CU_ASSERT(ep_parse("./x.sock", out, sizeof out, NULL, 0, NULL) < 0);
}

static void test_parse_tcp_refused(void)
{
	char out[EP_MAX];
	crit_err e;
	err_clear(&e);
	int rc = ep_parse("tcp://127.0.0.1:10010", out, sizeof out, NULL, 0, &e);
	CU_ASSERT_EQUAL(rc, -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "only unix sockets are supported"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "tcp://127.0.0.1:10010"));
	err_clear(&e);
	CU_ASSERT(ep_parse("npipe:////./pipe/containerd", out, sizeof out, NULL, 0, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "only unix sockets are supported"));
}

static void test_parse_unix_relative_refused(void)
{
	char out[EP_MAX];
	crit_err e;
	err_clear(&e);
	int rc = ep_parse("unix://run/x.sock", out, sizeof out, NULL, 0, &e);
	CU_ASSERT_EQUAL(rc, -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "absolute"));
	CU_ASSERT(ep_parse("unix://", out, sizeof out, NULL, 0, NULL) < 0);
}

static void test_parse_length_limit(void)
{
	/* sun_path is 108 bytes with the terminator: 107 fit, 108 do not. */
	char p107[128], p108[128], url[160], out[EP_MAX], path[EP_MAX];
	p107[0] = p108[0] = '/';
	memset(p107 + 1, 'a', 106);
	p107[107] = '\0';
	memset(p108 + 1, 'b', 107);
	p108[108] = '\0';
	CU_ASSERT_EQUAL(ep_parse(p107, out, sizeof out, path, sizeof path, NULL), 0);
	CU_ASSERT_EQUAL(strlen(path), 107);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_parse(p108, out, sizeof out, path, sizeof path, &e), -ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "107"));
	snprintf(url, sizeof url, "unix://%s", p108);
	CU_ASSERT_EQUAL(ep_parse(url, out, sizeof out, path, sizeof path, NULL), -ENAMETOOLONG);
	snprintf(url, sizeof url, "unix://%s", p107);
	CU_ASSERT_EQUAL(ep_parse(url, out, sizeof out, path, sizeof path, NULL), 0);

	/* A caller's buffer too small is an error, never an overflow. */
	char small[16];
	CU_ASSERT(ep_parse("/run/containerd/containerd.sock", small, sizeof small, NULL, 0, NULL) < 0);
}

static void test_parse_empty_refused(void)
{
	char out[EP_MAX];
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_parse("", out, sizeof out, NULL, 0, &e), -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "empty"));
	CU_ASSERT_EQUAL(ep_parse(NULL, out, sizeof out, NULL, 0, NULL), -ERR_CONFIG);
}

/* --- crictl.yaml ------------------------------------------------------------ */

static void test_yaml_reads_settings(void)
{
	const char *f = yaml_file("full.yaml",
				  "# written by hand\n"
				  "runtime-endpoint: unix:///run/containerd/containerd.sock\n"
				  "image-endpoint: \"/run/images.sock\"\n"
				  "timeout: 7\n"
				  "debug: true\n"
				  "pull-image-on-create: false\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(ep_load_crictl_yaml(&cfg, f, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///run/containerd/containerd.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///run/images.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 7000);
	char src[300];
	snprintf(src, sizeof src, "%s:2", f);
	CU_ASSERT_STRING_EQUAL(cfg.source, src);
}

static void test_yaml_unused_and_null_keys(void)
{
	/* Nested values of keys critic does not use are skipped; null values
	 * ("timeout:", "~") leave the setting as it was, as crictl does. */
	const char *f = yaml_file("nested.yaml",
				  "debug: {level: [1, 2], more: {a: b}}\n"
				  "timeout:\n"
				  "image-endpoint: ~\n"
				  "runtime-endpoint: /run/r.sock\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { .timeout_ms = 1234, .image = "unix:///keep.sock" };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///run/r.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///keep.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 1234);
}

static void test_yaml_missing_file(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/does-not-exist.yaml", tmpdir);
	ep_config cfg = { .runtime = "unix:///before.sock", .timeout_ms = 5 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, path, &e), 0);
	CU_ASSERT_EQUAL(e.code, 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///before.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 5);
}

static void test_yaml_empty_file(void)
{
	const char *f = yaml_file("empty.yaml", "# nothing set\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, NULL), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "");
}

static void test_yaml_syntax_error(void)
{
	/* Line 3 starts a list item inside a mapping. */
	const char *f = yaml_file("syntax.yaml",
				  "timeout: 2\n"
				  "runtime-endpoint: unix:///a.sock\n"
				  "- item\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 3);

	/* A tab used for indentation, on line 2. */
	f = yaml_file("tab.yaml", "runtime-endpoint: unix:///a.sock\n\ttimeout: 2\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 2);
}

static void test_yaml_not_a_mapping(void)
{
	const char *f = yaml_file("list.yaml", "- unix:///a.sock\n- unix:///b.sock\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mapping"));
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "");

	f = yaml_file("scalar.yaml", "unix:///a.sock\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mapping"));
}

static void test_yaml_bad_timeout(void)
{
	static const char *const bad[] = { "soon", "-1", "2s", "1.5", "99999999999999999999", "\"\"" };
	ep_config cfg = { 0 };
	crit_err e;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[200];
		snprintf(text, sizeof text, "runtime-endpoint: /a.sock\ntimeout: %s\n", bad[i]);
		const char *f = yaml_file("timeout.yaml", text);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		err_clear(&e);
		CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
		assert_file_line(e.msg, f, 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "timeout"));
	}
}

static void test_yaml_bad_endpoint(void)
{
	const char *f = yaml_file("badep.yaml",
				  "timeout: 2\n"
				  "image-endpoint: /img.sock\n"
				  "runtime-endpoint: tcp://10.0.0.1:10010\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime-endpoint"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "only unix sockets are supported"));

	/* A list where one endpoint belongs is refused, not skipped. */
	f = yaml_file("listep.yaml", "timeout: 2\nruntime-endpoint: [unix:///a.sock]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 2);
}

static void test_yaml_alias_keeps_pairs(void)
{
	/* An alias value must not shift the key/value pairing: the error names
	 * the key whose value is the alias, on its line. */
	const char *f = yaml_file("alias.yaml",
				  "x: &n 5\n"
				  "timeout: *n\n"
				  "runtime-endpoint: unix:///a.sock\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "timeout"));
	CU_ASSERT_PTR_NULL(strstr(e.msg, "'runtime-endpoint'"));

	/* An alias on a key critic ignores is skipped, pairing intact. */
	f = yaml_file("alias2.yaml", "x: &n 5\ny: *n\ntimeout: 3\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_load_crictl_yaml(&cfg, f, &e), 0);
	CU_ASSERT_EQUAL(cfg.timeout_ms, 3000);
}

static void test_yaml_unreadable(void)
{
	/* A directory opens but cannot be read as a file. */
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	CU_ASSERT(ep_load_crictl_yaml(&cfg, tmpdir, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, tmpdir));
}

/* --- ep_resolve ------------------------------------------------------------- */

static void test_resolve_precedence(void)
{
	clear_env();
	const char *f = yaml_file("crictl.yaml",
				  "runtime-endpoint: unix:///file/rt.sock\n"
				  "image-endpoint: unix:///file/img.sock\n"
				  "timeout: 4\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char file[256];
	snprintf(file, sizeof file, "%s", f);
	char src[300];
	snprintf(src, sizeof src, "%s:1", file);
	crit_err e;

	/* The file alone. */
	ep_config cfg = { 0 };
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(ep_resolve(&cfg, file, NULL, NULL, 0, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///file/rt.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///file/img.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 4000);
	CU_ASSERT_STRING_EQUAL(cfg.source, src);

	/* The environment beats the file. */
	setenv("CONTAINER_RUNTIME_ENDPOINT", "unix:///env/rt.sock", 1);
	setenv("IMAGE_SERVICE_ENDPOINT", "/env/img.sock", 1);
	memset(&cfg, 0, sizeof cfg);
	CU_ASSERT_EQUAL_FATAL(ep_resolve(&cfg, file, NULL, NULL, 0, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///env/rt.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///env/img.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 4000);
	CU_ASSERT_STRING_EQUAL(cfg.source, "CONTAINER_RUNTIME_ENDPOINT");

	/* Flags beat both; a zero timeout flag keeps the file's. */
	memset(&cfg, 0, sizeof cfg);
	CU_ASSERT_EQUAL_FATAL(ep_resolve(&cfg, file, "/flag/rt.sock", "unix:///flag/img.sock", 0, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///flag/rt.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///flag/img.sock");
	CU_ASSERT_EQUAL(cfg.timeout_ms, 4000);
	CU_ASSERT_STRING_EQUAL(cfg.source, "--runtime-endpoint");
	memset(&cfg, 0, sizeof cfg);
	CU_ASSERT_EQUAL_FATAL(ep_resolve(&cfg, file, NULL, NULL, 2500, &e), 0);
	CU_ASSERT_EQUAL(cfg.timeout_ms, 2500);
	CU_ASSERT_STRING_EQUAL(cfg.source, "CONTAINER_RUNTIME_ENDPOINT");

	/* Only the image variable: the runtime still comes from the file. */
	unsetenv("CONTAINER_RUNTIME_ENDPOINT");
	memset(&cfg, 0, sizeof cfg);
	CU_ASSERT_EQUAL_FATAL(ep_resolve(&cfg, file, NULL, NULL, 0, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///file/rt.sock");
	CU_ASSERT_STRING_EQUAL(cfg.image, "unix:///env/img.sock");
	CU_ASSERT_STRING_EQUAL(cfg.source, src);

	/* An empty variable counts as unset. */
	setenv("CONTAINER_RUNTIME_ENDPOINT", "", 1);
	memset(&cfg, 0, sizeof cfg);
	CU_ASSERT_EQUAL(ep_resolve(&cfg, file, NULL, NULL, 0, &e), 0);
	CU_ASSERT_STRING_EQUAL(cfg.runtime, "unix:///file/rt.sock");
	clear_env();
}

static void test_resolve_errors_say_where(void)
{
	clear_env();
	ep_config cfg = { 0 };
	crit_err e;
	err_clear(&e);
	setenv("CONTAINER_RUNTIME_ENDPOINT", "tcp://1.2.3.4:5", 1);
	CU_ASSERT_EQUAL(ep_resolve(&cfg, NULL, NULL, NULL, 0, &e), -ERR_CONFIG);
	CU_ASSERT(util_has_prefix(e.msg, "CONTAINER_RUNTIME_ENDPOINT: "));
	clear_env();

	setenv("IMAGE_SERVICE_ENDPOINT", "relative.sock", 1);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_resolve(&cfg, NULL, NULL, NULL, 0, &e), -ERR_CONFIG);
	CU_ASSERT(util_has_prefix(e.msg, "IMAGE_SERVICE_ENDPOINT: "));
	clear_env();

	err_clear(&e);
	CU_ASSERT(ep_resolve(&cfg, NULL, "unix://x", NULL, 0, &e) < 0);
	CU_ASSERT(util_has_prefix(e.msg, "--runtime-endpoint: "));
	err_clear(&e);
	CU_ASSERT(ep_resolve(&cfg, NULL, NULL, "tcp://x:1", 0, &e) < 0);
	CU_ASSERT(util_has_prefix(e.msg, "--image-endpoint: "));

	/* A broken file stops resolution, even when flags would win. */
	const char *f = yaml_file("broken.yaml", "timeout: never\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err_clear(&e);
	CU_ASSERT_EQUAL(ep_resolve(&cfg, f, "/flag.sock", NULL, 0, &e), -ERR_CONFIG);
	assert_file_line(e.msg, f, 1);
}

void tests_register_endpoint(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/endpoint", suite_init, suite_cleanup, clear_env,
							   clear_env);
	if (!s)
		return;
	CU_add_test(s, "ep_parse unix:///abs", test_parse_unix_url);
	CU_add_test(s, "ep_parse bare /abs path", test_parse_bare_path);
	CU_add_test(s, "ep_parse refuses a relative path", test_parse_relative_refused);
	CU_add_test(s, "ep_parse refuses tcp:// and npipe://", test_parse_tcp_refused);
	CU_add_test(s, "ep_parse refuses unix://relative", test_parse_unix_relative_refused);
	CU_add_test(s, "ep_parse: 107 bytes fit, 108 do not", test_parse_length_limit);
	CU_add_test(s, "ep_parse refuses empty", test_parse_empty_refused);
	CU_add_test(s, "crictl.yaml: endpoints and timeout read", test_yaml_reads_settings);
	CU_add_test(s, "crictl.yaml: unused nested keys, null values", test_yaml_unused_and_null_keys);
	CU_add_test(s, "crictl.yaml: missing file is no error", test_yaml_missing_file);
	CU_add_test(s, "crictl.yaml: comment-only file", test_yaml_empty_file);
	CU_add_test(s, "crictl.yaml: syntax error is FILE:LINE:COL", test_yaml_syntax_error);
	CU_add_test(s, "crictl.yaml: top level must be a mapping", test_yaml_not_a_mapping);
	CU_add_test(s, "crictl.yaml: bad timeout names its line", test_yaml_bad_timeout);
	CU_add_test(s, "crictl.yaml: bad endpoint names its line", test_yaml_bad_endpoint);
	CU_add_test(s, "crictl.yaml: aliases keep key/value pairs", test_yaml_alias_keeps_pairs);
	CU_add_test(s, "crictl.yaml: unreadable file is an error", test_yaml_unreadable);
	CU_add_test(s, "ep_resolve: file < environment < flags", test_resolve_precedence);
	CU_add_test(s, "ep_resolve: errors say which source", test_resolve_errors_say_where);
}
