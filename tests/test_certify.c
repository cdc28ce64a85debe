/* Tests of `critic certify`: profiles as data, judging a report against a
 * profile, the sha256 manifest and --verify; then a real certification run on the lab. */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certify.h"
#include "sonobuoy.h"
#include "tests.h"
#include "util.h"
#include <yaml.h>

static char tmp[64];

static void make_tmp(void)
{
	if (tmp[0])
		return;
	snprintf(tmp, sizeof tmp, "/tmp/critic-certify-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
}

static int cleanup_suite(void)
{
	crit_err e;
	if (tmp[0])
		util_rm_rf(tmp, &e);
	tmp[0] = '\0';
	return 0;
}

static char *write_tmp(const char *name, const char *text)
{
	make_tmp();
	char *p = util_strdup_printf("%s/%s", tmp, name);
	crit_err e;
	CU_ASSERT_EQUAL(util_write_file(p, text, strlen(text), 0644, &e), 0);
	return p;
}

/* ---- profiles ----------------------------------------------------------------------- */

static void test_profile_load(void)
{
	char *p = write_tmp("good.yaml", "name: good\n"
					 "description: a test profile\n"
					 "tests:\n  focus: \"^pod/\"\n  skip: \"slow\"\n  extended: true\n"
					 "scenarios: [01-runtime-sigkill, all]\n"
					 "allowed_skips:\n"
					 "  - test: \"^pod/\"\n    reason: \"AppArmor\"\n    why: no AppArmor here\n"
					 "timeout: 20m\n");
	cert_profile pr;
	crit_err e;
	err_clear(&e);
	int rc = cert_profile_load(p, &pr, &e);
	if (rc)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(pr.name, "good");
	CU_ASSERT(pr.run_tests);
	CU_ASSERT_STRING_EQUAL(pr.focus, "^pod/");
	CU_ASSERT_STRING_EQUAL(pr.skip, "slow");
	CU_ASSERT(pr.extended);
	CU_ASSERT_EQUAL_FATAL(pr.n_scenarios, 2);
	CU_ASSERT_STRING_EQUAL(pr.scenarios[0], "01-runtime-sigkill");
	CU_ASSERT_EQUAL_FATAL(pr.n_allowed, 1);
	CU_ASSERT_STRING_EQUAL(pr.allowed[0].why, "no AppArmor here");
	CU_ASSERT_EQUAL(pr.timeout_s, 1200);
	/* Skips: both regexes must match. */
	CU_ASSERT_PTR_NOT_NULL(cert_skip_allowed(&pr, "pod/apparmor-x", "the kernel has no AppArmor"));
	CU_ASSERT_PTR_NULL(cert_skip_allowed(&pr, "pod/apparmor-x", "needs root"));
	CU_ASSERT_PTR_NULL(cert_skip_allowed(&pr, "container/x", "no AppArmor"));
	cert_profile_free(&pr);
	free(p);
}

/* Every bad profile is refused with the file, line and what is wrong. */
static void test_profile_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "name: x\ntests: {}\ncolour: red\n", ":3:1: unknown key" },
		{ "name: x\ntests:\n  focus: \"(\"\n", ":3:10: tests.focus: not a regex" },
		{ "name: x\n", "runs nothing" },
		{ "description: no name\ntests: {}\n", "name: required" },
		{ "name: x\ntests: {}\ntimeout: soon\n", ":3:10: timeout: give a duration" },
		{ "name: x\ntests: {}\nallowed_skips:\n  - test: a\n", ":4:5: allowed_skips: each item needs both" },
		{ "name: x\ntests: {}\nscenarios: one\n", ":3:12: scenarios: expected a list" },
		{ "name: [x\n", ":2:1: " },
		{ "name: x\ntests: maybe\n", ":2:8: tests: expected a map" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%zu.yaml", i);
		char *p = write_tmp(name, cases[i].text);
		cert_profile pr;
		crit_err e;
		err_clear(&e);
		CU_ASSERT(cert_profile_load(p, &pr, &e) < 0);
		if (!strstr(e.msg, cases[i].want) || !strstr(e.msg, p)) {
			printf("\n    case %zu: got '%s', want '%s'", i, e.msg, cases[i].want);
			CU_FAIL("error names the file, position and problem");
		}
		free(p);
	}
	cert_profile pr;
	crit_err e;
	setenv("CRITIC_PROFILES_DIR", tmp, 1);
	CU_ASSERT(cert_profile_load("no-such-profile", &pr, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no profile 'no-such-profile'"));
	unsetenv("CRITIC_PROFILES_DIR");
}

/* The profiles critic ships all load. */
static void test_shipped_profiles(void)
{
	char beside[PATH_MAX];
	CU_ASSERT_FATAL(tests_beside("../profiles", beside, sizeof beside) == 0);
	/* bin/critic-tests -> ../profiles, as critic finds them; in a build with
	 * BIN elsewhere, the source tree's profiles/ (the working directory). */
	char *dir = strdup(beside);
	if (!util_exists(dir)) {
		free(dir);
		dir = strdup("profiles");
	}
	static const char *const names[] = { "conformance", "resilience", "full" };
	for (size_t i = 0; i < 3; i++) {
		char *p = util_strdup_printf("%s/%s.yaml", dir, names[i]);
		cert_profile pr;
		crit_err e;
		err_clear(&e);
		int rc = cert_profile_load(p, &pr, &e);
		if (rc)
			printf("\n    %s: %s", p, e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(pr.name, names[i]);
			CU_ASSERT(pr.description && *pr.description);
			cert_profile_free(&pr);
		}
		free(p);
	}
	free(dir);
}

/* ---- judging ------------------------------------------------------------------------ */

static void test_judge(void)
{
	char *prof = write_tmp("j.yaml", "name: j\ntests: {}\n"
					 "allowed_skips:\n  - test: \"^security/\"\n    reason: \"SELinux\"\n"
					 "  - test: \"^scenario/fs\"\n    reason: \"loop fs\"\n");
	cert_profile pr;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(cert_profile_load(prof, &pr, &e), 0);
	static const char *const head = "{\"schema\":\"critic.run/v1\",\"tests\":[";
	struct {
		const char *body;
		bool pass;
		const char *summary, *problem;
	} cases[] = {
		{ "{\"name\":\"pod/a\",\"verdict\":\"PASS\",\"messages\":[]},"
		  "{\"name\":\"security/selinux\",\"verdict\":\"SKIP\",\"messages\":[\"SELinux is not enabled\"]}],"
		  "\"scenarios\":[{\"name\":\"fs-ro\",\"verdict\":\"SKIP\",\"messages\":[\"needs the loop fs\"]}]}",
		  true, "PASS: 1 passed, 0 failed, 2 skipped as the profile allows, 0 skipped otherwise", NULL },
		{ "{\"name\":\"pod/a\",\"verdict\":\"PASS\"},"
		  "{\"name\":\"pod/b\",\"verdict\":\"SKIP\",\"messages\":[\"SELinux is not enabled\"]}]}",
		  false, "FAIL: 1 passed, 0 failed, 0 skipped as the profile allows, 1 skipped otherwise",
		  "pod/b: skipped, and the profile does not allow it: SELinux is not enabled" },
		{ "{\"name\":\"pod/a\",\"verdict\":\"TIMEOUT\",\"messages\":[\"killed at its deadline\"]}],"
		  "\"scenarios\":[{\"name\":\"x\",\"verdict\":\"FAIL\",\"messages\":[\"step 3 failed\"]}]}",
		  false, "FAIL: 0 passed, 2 failed", "scenario/x: FAIL: step 3 failed" },
		{ "]}", false, "FAIL: 0 passed", "no test and no scenario" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = util_strdup_printf("%s%s", head, cases[i].body);
		char *rp = write_tmp("r.json", text);
		bool pass = !cases[i].pass;
		char summary[256];
		char *problems = NULL;
		CU_ASSERT_EQUAL(cert_judge(&pr, rp, &pass, summary, sizeof summary, &problems, &e), 0);
		CU_ASSERT_EQUAL(pass, cases[i].pass);
		if (!util_has_prefix(summary, cases[i].summary)) {
			printf("\n    case %zu: summary '%s'", i, summary);
			CU_FAIL("summary");
		}
		if (cases[i].problem) {
			CU_ASSERT(problems && strstr(problems, cases[i].problem));
		} else {
			CU_ASSERT_PTR_NULL(problems);
		}
		free(problems);
		free(text);
		free(rp);
	}
	char *missing = util_strdup_printf("%s/none.json", tmp);
	bool pass;
	char summary[64];
	char *problems = NULL;
	CU_ASSERT(cert_judge(&pr, missing, &pass, summary, sizeof summary, &problems, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, missing));
	free(missing);
	cert_profile_free(&pr);
	free(prof);
}

/* ---- manifest ----------------------------------------------------------------------- */

static void test_manifest(void)
{
	make_tmp();
	char *dir = util_strdup_printf("%s/bundle", tmp);
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(dir, 0755, &e), 0);
	char *a = util_strdup_printf("%s/a.txt", dir), *b = util_strdup_printf("%s/b.txt", dir);
	CU_ASSERT_EQUAL(util_write_file(a, "abc", 3, 0644, &e), 0);
	CU_ASSERT_EQUAL(util_write_file(b, "", 0, 0644, &e), 0);
	/* Known digests (FIPS 180-2's "abc", and the empty input). */
	char hex[65];
	CU_ASSERT_EQUAL(cert_sha256_file(a, hex, &e), 0);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	size_t n = 0;
	CU_ASSERT_EQUAL(cert_write_manifest(dir, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 2);
	char *mp = util_strdup_printf("%s/MANIFEST.sha256", dir), *m = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(mp, &m, NULL, &e), 0);
	CU_ASSERT_STRING_EQUAL(m, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n"
				  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  b.txt\n");
	free(m);
	/* sha256sum agrees on the format. */
	char *chk = util_strdup_printf("cd '%s' && sha256sum -c --quiet MANIFEST.sha256", dir);
	CU_ASSERT_EQUAL(util_run_sh(chk, 10000, NULL, &e), 0);
	free(chk);
	FILE *devnull = fopen("/dev/null", "w");
	CU_ASSERT_EQUAL(cert_verify(dir, devnull, &n, &e), 0);
	/* One byte changed, one file added, one removed: three problems. */
	CU_ASSERT_EQUAL(util_write_file(a, "abd", 3, 0644, &e), 0);
	char *c = util_strdup_printf("%s/c.txt", dir);
	CU_ASSERT_EQUAL(util_write_file(c, "new", 3, 0644, &e), 0);
	unlink(b);
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	CU_ASSERT_EQUAL(cert_verify(dir, mem, &n, &e), 3);
	fclose(mem);
	CU_ASSERT(report && strstr(report, "a.txt: sha256 differs from the manifest"));
	CU_ASSERT(report && strstr(report, "b.txt: missing"));
	CU_ASSERT(report && strstr(report, "c.txt: not in the manifest"));
	free(report);
	/* A garbled manifest line is a problem, not a crash; no manifest is an error. */
	CU_ASSERT_EQUAL(util_write_file(mp, "zz  a.txt\n", 10, 0644, &e), 0);
	CU_ASSERT(cert_verify(dir, devnull, &n, &e) > 0);
	unlink(mp);
	CU_ASSERT(cert_verify(dir, devnull, &n, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no manifest"));
	fclose(devnull);
	free(a);
	free(b);
	free(c);
	free(mp);
	free(dir);
}

/* ---- Sonobuoy hand-over ---------------------------------------------------------------- */

static void test_sonobuoy(void)
{
	make_tmp();
	crit_err e;
	char *res = util_strdup_printf("%s/sono", tmp);
	char *j = write_tmp("junit.xml", "<testsuites/>\n"), *js = write_tmp("report.json", "{}\n");
	const char *files[] = { j, js, "/nonexistent/report.html" };
	CU_ASSERT_EQUAL_FATAL(sonobuoy_finish(res, files, 3, 0, NULL, &e), 0);
	char *done = util_strdup_printf("%s/done", res), *d = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(done, &d, NULL, &e), 0);
	char *want = util_strdup_printf("%s/critic-results.tar.gz", res);
	CU_ASSERT_STRING_EQUAL(d, want); /* the path alone, no newline */
	char *list = util_strdup_printf("tar tzf '%s'", want), *out = NULL;
	CU_ASSERT_EQUAL(util_run_sh(list, 10000, &out, &e), 0);
	CU_ASSERT(out && strstr(out, "junit.xml\n") && strstr(out, "report.json\n") && !strstr(out, "report.html"));
	free(out);
	free(d);
	/* A run that never reached a test still reports: one error case. */
	char *res2 = util_strdup_printf("%s/sono2", tmp);
	const char *nofiles[] = { "/nonexistent/junit.xml" };
	CU_ASSERT_EQUAL_FATAL(sonobuoy_finish(res2, nofiles, 1, 3, "Version on unix:///x: <UNAVAILABLE> & gone", &e), 0);
	char *xml = util_strdup_printf("%s/critic-junit.xml", res2), *x = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(xml, &x, NULL, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "critic run ended with exit 3 before its first test"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "&lt;UNAVAILABLE&gt; &amp; gone"));
	char *lint = util_strdup_printf("xmllint --noout '%s'", xml);
	CU_ASSERT_EQUAL(util_run_sh(lint, 10000, NULL, &e), 0);
	free(lint);
	free(x);
	free(xml);
	free(res2);
	free(list);
	free(want);
	free(done);
	free(j);
	free(js);
	free(res);
}

/* ---- deploy/: the image, the DaemonSet and the Sonobuoy plugin agree ---------------------- */

/* A file of the source tree: beside the binary's dir, else the working dir. */
static char *tree_file(const char *rel)
{
	char up[PATH_MAX], p[PATH_MAX];
	snprintf(up, sizeof up, "../%s", rel);
	if (tests_beside(up, p, sizeof p) == 0 && util_exists(p))
		return strdup(p);
	return strdup(rel);
}

/* The scalar at a path of map keys ("spec", "image") in a YAML file's first
 * document; NULL when absent. Heap. */
static char *yaml_get(const char *path, int doc_index, const char *const keys[])
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	char *out = NULL;
	for (int d = 0; d <= doc_index; d++) {
		yaml_document_t doc;
		if (!yaml_parser_load(&p, &doc))
			break;
		if (d == doc_index) {
			yaml_node_t *n = yaml_document_get_root_node(&doc);
			for (size_t k = 0; n && keys[k]; k++) {
				yaml_node_t *next = NULL;
				if (n->type == YAML_MAPPING_NODE)
					for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
						yaml_node_t *key = yaml_document_get_node(&doc, pr->key);
						if (key->type == YAML_SCALAR_NODE && !strcmp((char *)key->data.scalar.value, keys[k]))
							next = yaml_document_get_node(&doc, pr->value);
					}
				n = next;
			}
			if (n && n->type == YAML_SCALAR_NODE)
				out = strdup((char *)n->data.scalar.value);
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&p);
	fclose(f);
	return out;
}

static void test_deploy_files(void)
{
	char *plugin = tree_file("deploy/sonobuoy-plugin.yaml"), *ds = tree_file("deploy/daemonset.yaml"),
	     *docker = tree_file("deploy/Dockerfile"), *node = tree_file("deploy/critic-node.sh");
	struct {
		const char *file;
		int doc;
		const char *keys[6];
		const char *want;
	} facts[] = {
		{ plugin, 0, { "sonobuoy-config", "driver" }, "DaemonSet" },
		{ plugin, 0, { "sonobuoy-config", "result-format" }, "junit" },
		{ plugin, 0, { "sonobuoy-config", "plugin-name" }, "critic" },
		{ plugin, 0, { "podSpec", "hostNetwork" }, "true" },
		{ ds, 1, { "kind" }, "DaemonSet" },
		{ ds, 1, { "spec", "template", "spec", "hostNetwork" }, "true" },
	};
	for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
		char *v = yaml_get(facts[i].file, facts[i].doc, facts[i].keys);
		if (!v || strcmp(v, facts[i].want)) {
			printf("\n    %s: %s.%s is '%s', want '%s'", facts[i].file, facts[i].keys[0],
			       facts[i].keys[1] ? facts[i].keys[1] : "", v ? v : "(absent)", facts[i].want);
			CU_FAIL("deploy manifest fact");
		}
		free(v);
	}
	/* The plugin runs the script the image installs, with the results dir
	 * Sonobuoy mounts; the script uses only options critic has. */
	char *text = NULL, *script = NULL, *dtext = NULL;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(util_read_file(plugin, &text, NULL, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_read_file(node, &script, NULL, &e), 0);
	CU_ASSERT_EQUAL_FATAL(util_read_file(docker, &dtext, NULL, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "command: [\"/opt/critic/bin/critic-node.sh\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "mountPath: /tmp/sonobuoy/results"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dtext, "COPY deploy/critic-node.sh /opt/critic/bin/critic-node.sh"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dtext, "ENV PATH=/opt/critic/bin:$PATH CRITIC_IMAGES_DIR=/opt/critic/images"));
	static const char *const opts[] = { "--sonobuoy-results", "--registry-prefix", "images serve", "images stop",
					    "--detach", "--listen" };
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(script, opts[i]));
	char *sh = util_strdup_printf("sh -n '%s'", node);
	CU_ASSERT_EQUAL(util_run_sh(sh, 10000, NULL, &e), 0);
	free(sh);
	free(text);
	free(script);
	free(dtext);
	free(plugin);
	free(ds);
	free(docker);
	free(node);
}

void tests_register_certify(void)
{
	CU_pSuite s = CU_add_suite("certify", NULL, cleanup_suite);
	CU_add_test(s, "profile file: every key read", test_profile_load);
	CU_add_test(s, "bad profiles: file, line and problem", test_profile_errors);
	CU_add_test(s, "the shipped profiles load", test_shipped_profiles);
	CU_add_test(s, "judge a report: passes, allowed and unexpected skips, failures", test_judge);
	CU_add_test(s, "manifest: sha256sum format; verify finds changed, missing, added", test_manifest);
	CU_add_test(s, "sonobuoy: results tarball and done file; an error report when nothing ran", test_sonobuoy);
	CU_add_test(s, "deploy/: plugin, DaemonSet, image and script agree", test_deploy_files);
}

/* ---- against the lab ------------------------------------------------------------------ */

static char *critic_path(void)
{
	char p[PATH_MAX];
	return tests_beside("critic", p, sizeof p) == 0 ? strdup(p) : NULL;
}

/* A small profile certified on the lab: exit codes, every file of the
 * bundle, the environment's facts, and --verify before and after tampering. */
static void test_certify_lab(void)
{
	char *bin = critic_path();
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	make_tmp();
	/* runtime/version passes; the extended test skips without --extended. */
	char *strict = write_tmp("strict.yaml", "name: strict\ntests:\n"
						"  focus: \"^(runtime/version|security/privileged-sysfs-pod-network)$\"\n");
	char *lenient = write_tmp("lenient.yaml", "name: lenient\ntests:\n"
						  "  focus: \"^(runtime/version|security/privileged-sysfs-pod-network)$\"\n"
						  "allowed_skips:\n  - test: \"^security/\"\n    reason: \"--extended\"\n");
	crit_err e;
	char *out = NULL;
	/* Was the lab up before? Leave it as found. */
	char *status = util_strdup_printf("'%s' --dir '%s' lab status", bin, tests_lab_dir());
	bool was_up = util_run_sh(status, 30000, NULL, &e) == 0;
	free(status);
	char *cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' --no-color certify --profile '%s' --out '%s/b1'",
				       tests_lab_dir(), bin, strict, tmp);
	int rc = util_run_sh(cmd, 600000, &out, &e);
	if (rc != 1)
		printf("\n    strict certify exited %d: %s", rc, out ? out : e.msg);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(out && strstr(out, "strict: FAIL: 1 passed, 0 failed, 0 skipped as the profile allows, 1 skipped"));
	free(out);
	free(cmd);
	out = NULL;
	cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' --no-color certify --profile '%s' --out '%s/b2'",
				 tests_lab_dir(), bin, lenient, tmp);
	rc = util_run_sh(cmd, 600000, &out, &e);
	if (rc != 0)
		printf("\n    lenient certify exited %d: %s", rc, out ? out : e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
	free(cmd);

	static const char *const files[] = { "junit.xml", "report.json", "report.html", "run.log",
					     "environment.json", "profile.yaml", "verdict.txt", "MANIFEST.sha256" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = util_strdup_printf("%s/b2/%s", tmp, files[i]);
		if (!util_exists(p))
			printf("\n    missing %s", p);
		CU_ASSERT(util_exists(p));
		free(p);
	}
	char *vp = util_strdup_printf("%s/b2/verdict.txt", tmp), *v = NULL;
	CU_ASSERT_EQUAL(util_read_file(vp, &v, NULL, &e), 0);
	CU_ASSERT(v && util_has_prefix(v, "lenient: PASS: 1 passed, 0 failed, 1 skipped as the profile allows"));
	free(v);
	free(vp);
	char *ep = util_strdup_printf("%s/b2/environment.json", tmp), *env = NULL;
	CU_ASSERT_EQUAL(util_read_file(ep, &env, NULL, &e), 0);
	CU_ASSERT(env && strstr(env, "\"runtime_name\": \"containerd\""));
	CU_ASSERT(env && strstr(env, "\"oci_runtime_version\": \"runc version "));
	CU_ASSERT(env && strstr(env, "\"config_sha256\": \"") && !strstr(env, "\"config_sha256\": null"));
	CU_ASSERT(env && strstr(env, "certify --profile"));
	free(env);
	free(ep);

	/* A non-empty --out is refused before anything runs. */
	cmd = util_strdup_printf("'%s' certify --profile '%s' --out '%s/b2'", bin, lenient, tmp);
	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh(cmd, 30000, &out, &e), 2);
	CU_ASSERT(out && strstr(out, "is not empty"));
	free(out);
	free(cmd);

	cmd = util_strdup_printf("'%s' certify --verify '%s/b2'", bin, tmp);
	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh(cmd, 30000, &out, &e), 0);
	CU_ASSERT(out && strstr(out, "all 7 files match the manifest; verdict: lenient: PASS"));
	free(out);
	char *junit = util_strdup_printf("%s/b2/junit.xml", tmp);
	FILE *f = fopen(junit, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("<!-- edited -->\n", f);
	fclose(f);
	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh(cmd, 30000, &out, &e), 1);
	CU_ASSERT(out && strstr(out, "junit.xml: sha256 differs"));
	free(out);
	free(cmd);
	free(junit);
	if (!was_up) {
		cmd = util_strdup_printf("'%s' --dir '%s' lab down", bin, tests_lab_dir());
		CU_ASSERT_EQUAL(util_run_sh(cmd, 120000, NULL, &e), 0);
		free(cmd);
	}
	free(strict);
	free(lenient);
	free(bin);
}

/* What a Sonobuoy plugin pod does, run here against the lab: serve the
 * images on loopback, run critic with them, leave done + the tarball. */
static void test_node_script(void)
{
	char *bin = critic_path(), *node = tree_file("deploy/critic-node.sh");
	CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
	make_tmp();
	crit_err e;
	char *status = util_strdup_printf("'%s' --dir '%s' lab status", bin, tests_lab_dir());
	bool was_up = util_run_sh(status, 30000, NULL, &e) == 0;
	free(status);
	char *up = util_strdup_printf("'%s' --dir '%s' lab up", bin, tests_lab_dir());
	CU_ASSERT_EQUAL_FATAL(util_run_sh(up, 300000, NULL, &e), 0);
	free(up);
	char bindir[PATH_MAX];
	snprintf(bindir, sizeof bindir, "%s", bin);
	char *slash = strrchr(bindir, '/');
	*slash = '\0';
	/* A port of its own, picked by the kernel through `images serve`? The
	 * script takes a fixed one: choose from this process's pid. */
	int port = 20000 + (int)(getpid() % 20000);
	char *cmd = util_strdup_printf("PATH='%s':$PATH CRITIC_ENDPOINT='unix://%s/containerd.sock' "
				       "CRITIC_REGISTRY_PORT=%d RESULTS_DIR='%s/sono' CRITIC_IMAGES_STORE='%s/img' "
				       "CRITIC_ARGS='--focus ^(runtime/version|image/pull-by-tag)$' sh '%s'",
				       bindir, tests_lab_dir(), port, tmp, tmp, node);
	char *out = NULL;
	int rc = util_run_sh(cmd, 600000, &out, &e);
	if (rc != 0)
		printf("\n    critic-node.sh exited %d: %s", rc, out ? out : e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out && strstr(out, "test images: 127.0.0.1:"));
	free(out);
	free(cmd);
	char *done = util_strdup_printf("%s/sono/done", tmp), *d = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(done, &d, NULL, &e), 0);
	char *list = util_strdup_printf("tar xzOf '%s' junit.xml", d);
	out = NULL;
	CU_ASSERT_EQUAL(util_run_sh(list, 10000, &out, &e), 0);
	CU_ASSERT(out && strstr(out, "name=\"runtime/version\"") && strstr(out, "name=\"image/pull-by-tag\""));
	CU_ASSERT(out && !strstr(out, "<skipped") && !strstr(out, "<failure"));
	free(out);
	free(list);
	/* The registry the script served is gone with it. */
	char *probe = util_strdup_printf("ss -ltn | grep -q ':%d '", port);
	CU_ASSERT_NOT_EQUAL(util_run_sh(probe, 10000, NULL, &e), 0);
	free(probe);
	if (!was_up) {
		char *down = util_strdup_printf("'%s' --dir '%s' lab down", bin, tests_lab_dir());
		CU_ASSERT_EQUAL(util_run_sh(down, 120000, NULL, &e), 0);
		free(down);
	}
	free(d);
	free(done);
	free(node);
	free(bin);
}

void tests_register_certify_lab(void)
{
	CU_pSuite s = CU_add_suite("certify on the lab", NULL, cleanup_suite);
	CU_add_test(s, "certify a profile: verdicts, bundle, environment, verify", test_certify_lab);
	CU_add_test(s, "deploy/critic-node.sh: images on loopback, results for Sonobuoy", test_node_script);
}
