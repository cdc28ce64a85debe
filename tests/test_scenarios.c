/* Tests of the scenario language: the parser and checker on deliberately broken files (each
 * names its exact errors), a good file's step list, durations, references; then the library run on a lab. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "fault/config.h"
#include "fault/fiu.h"
#include "lab.h"
#include "rtctl.h"
#include "scenarios/scn.h"
#include "tests.h"
#include "tst.h"
#include "util.h"

/* ------------------------------------------------------------ where the files are */

/* DIR/tests/scenarios and DIR/scenarios, DIR being the source tree: the
 * working directory (make test) or the parent of the test binary's dir. */
static const char *src_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	if (util_exists("tests/scenarios") && util_exists("scenarios")) {
		if (!getcwd(dir, sizeof dir))
			snprintf(dir, sizeof dir, ".");
		return dir;
	}
	char cand[PATH_MAX];
	if (tests_beside("../tests/scenarios", cand, sizeof cand) == 0 && util_exists(cand) &&
	    tests_beside("..", dir, sizeof dir) == 0)
		return dir;
	snprintf(dir, sizeof dir, ".");
	return dir;
}

static char *path_of(const char *rel)
{
	return util_strdup_printf("%s/%s", src_dir(), rel);
}

/* ------------------------------------------------------------ bad files */

/* The "# expect: L:C: message" header lines of a file, in order. */
static size_t expected_errors(const char *path, char ***out)
{
	*out = NULL;
	char *text = NULL;
	if (util_read_file(path, &text, NULL, NULL) < 0)
		return 0;
	size_t n = 0;
	char **v = NULL;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!util_has_prefix(line, "# expect: "))
			continue;
		char **g = realloc(v, (n + 1) * sizeof *g);
		if (!g)
			break;
		v = g;
		v[n++] = strdup(line + strlen("# expect: "));
	}
	free(text);
	*out = v;
	return n;
}

static void check_bad_file(const char *name)
{
	char *path = path_of(name);
	char **want = NULL;
	size_t n_want = expected_errors(path, &want);
	CU_ASSERT(n_want > 0);
	scn_diags d = { 0 };
	scn_file *f = NULL;
	int rc = scn_load(path, &f, &d);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(f);
	CU_ASSERT_EQUAL(d.n, n_want);
	for (size_t i = 0; i < d.n || i < n_want; i++) {
		char got[1200] = "(none)";
		if (i < d.n) {
			snprintf(got, sizeof got, "%d:%d: %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg);
			CU_ASSERT_STRING_EQUAL(d.v[i].file, path);
		}
		const char *w = i < n_want ? want[i] : "(none)";
		if (strcmp(got, w) != 0) {
			printf("\n    %s error %zu:\n      want %s\n      got  %s", name, i + 1, w, got);
			CU_FAIL("diagnostic differs from the file's header");
		}
	}
	scn_diags_free(&d);
	for (size_t i = 0; i < n_want; i++)
		free(want[i]);
	free(want);
	free(path);
}

static void test_bad_yaml(void) { check_bad_file("tests/scenarios/bad-yaml.yaml"); }
static void test_bad_keys(void) { check_bad_file("tests/scenarios/bad-keys.yaml"); }
static void test_bad_types(void) { check_bad_file("tests/scenarios/bad-types.yaml"); }
static void test_bad_kinds(void) { check_bad_file("tests/scenarios/bad-kinds.yaml"); }
static void test_bad_refs(void) { check_bad_file("tests/scenarios/bad-refs.yaml"); }
static void test_bad_values(void) { check_bad_file("tests/scenarios/bad-values.yaml"); }
static void test_bad_needs(void) { check_bad_file("tests/scenarios/bad-needs.yaml"); }

/* Run the CLI with stdout and stderr sent to a file; returns its exit code
 * and the text it printed. */
static int cli(char **argv, int argc, char **text)
{
	char tmp[] = "/tmp/critic-scn-cli-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	int rc = scenario_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fd);
	*text = NULL;
	util_read_file(tmp, text, NULL, NULL);
	unlink(tmp);
	return rc;
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; p && *p;) {
		if (util_has_prefix(p, prefix))
			n++;
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

/* check reports every error of every file at once, with exit 2. */
static void test_check_all_files(void)
{
	char *a = path_of("tests/scenarios/bad-refs.yaml"), *b = path_of("tests/scenarios/bad-kinds.yaml");
	char *good = path_of("tests/scenarios/good-basic.yaml");
	char **wa = NULL, **wb = NULL;
	size_t na = expected_errors(a, &wa), nb = expected_errors(b, &wb);
	char *argv[] = { "scenario", "check", a, good, b, NULL };
	char *text = NULL;
	int rc = cli(argv, 5, &text);
	CU_ASSERT_EQUAL(rc, 2);
	char pa[PATH_MAX + 2], pb[PATH_MAX + 2];
	snprintf(pa, sizeof pa, "%s:", a);
	snprintf(pb, sizeof pb, "%s:", b);
	CU_ASSERT_EQUAL(count_lines(text, pa), na);
	CU_ASSERT_EQUAL(count_lines(text, pb), nb);
	for (size_t i = 0; i < na; i++) {
		char line[1400];
		snprintf(line, sizeof line, "%s:%s\n", a, wa[i]);
		CU_ASSERT(text && strstr(text, line) != NULL);
	}
	CU_ASSERT(text && strstr(text, "in 2 of 3 files") != NULL);
	free(text);
	char *argv2[] = { "scenario", "check", good, NULL };
	CU_ASSERT_EQUAL(cli(argv2, 3, &text), 0);
	CU_ASSERT(text && strstr(text, "1 file OK") != NULL);
	free(text);
	char *argv3[] = { "scenario", "check", NULL };
	CU_ASSERT_EQUAL(cli(argv3, 2, &text), 2);
	free(text);
	char *argv4[] = { "scenario", "frobnicate", NULL };
	CU_ASSERT_EQUAL(cli(argv4, 2, &text), 2);
	CU_ASSERT(text && strstr(text, "unknown subcommand 'frobnicate'") != NULL);
	free(text);
	char *missing = path_of("tests/scenarios/no-such-file.yaml");
	char *argv5[] = { "scenario", "check", missing, NULL };
	CU_ASSERT_EQUAL(cli(argv5, 3, &text), 2);
	CU_ASSERT(text && strstr(text, "cannot read: No such file or directory") != NULL);
	free(text);
	free(missing);
	for (size_t i = 0; i < na; i++)
		free(wa[i]);
	for (size_t i = 0; i < nb; i++)
		free(wb[i]);
	free(wa);
	free(wb);
	free(a);
	free(b);
	free(good);
}

/* ------------------------------------------------------------ a good file */

static const char *kind_of(const scn_step *s)
{
	return s->kind ? s->kind->name : "(none)";
}

static void test_good_file(void)
{
	char *path = path_of("tests/scenarios/good-basic.yaml");
	scn_diags d = { 0 };
	scn_file *f = NULL;
	int rc = scn_load(path, &f, &d);
	scn_diags_print(&d, stdout);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(f->name, "good-basic");
	CU_ASSERT(strstr(f->description, "Every part of the language once") == f->description);
	CU_ASSERT(f->needs.root && f->needs.disruptive && f->needs.loopfs && f->needs.lab); /* loopfs implies lab */
	CU_ASSERT_EQUAL(f->needs.n_kernel, 1);
	CU_ASSERT_STRING_EQUAL(f->needs.kernel[0], "cgroup2");
	CU_ASSERT_PTR_NOT_NULL(f->kubelet);
	CU_ASSERT_EQUAL(f->timeout_ms, 120000);

	CU_ASSERT_EQUAL_FATAL(f->n_setup, 1);
	CU_ASSERT_STRING_EQUAL(kind_of(&f->setup[0]), "pull_image");
	CU_ASSERT_EQUAL(f->setup[0].args->kind, SCN_SCALAR); /* shorthand */
	CU_ASSERT_STRING_EQUAL(f->setup[0].args->str, "busybox");

	static const struct {
		const char *kind, *as, *name;
		int line;
	} want[] = {
		{ "run_pod", "web", NULL, 13 },   { "create_container", "app", NULL, 15 }, { "start_container", "started", NULL, 20 },
		{ "repeat", "loop", NULL, 22 },   { "run_pod", "bg", NULL, 28 },           { "runtime", NULL, "kill", 31 },
		{ "join", NULL, NULL, 33 },       { "kubelet", NULL, NULL, 35 },           { "wait", NULL, NULL, 36 },
		{ "expect", NULL, NULL, 37 },     { "fs", NULL, NULL, 42 },                { "config", NULL, NULL, 43 },
		{ "fiu", NULL, NULL, 44 },
	};
	CU_ASSERT_EQUAL_FATAL(f->n_steps, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const scn_step *s = &f->steps[i];
		CU_ASSERT_STRING_EQUAL(kind_of(s), want[i].kind);
		if (want[i].as) {
			CU_ASSERT(s->as && !strcmp(s->as, want[i].as));
		} else {
			CU_ASSERT_PTR_NULL(s->as);
		}
		if (want[i].name) {
			CU_ASSERT(s->name && !strcmp(s->name, want[i].name));
		}
		CU_ASSERT_EQUAL(s->pos.line, want[i].line);
		CU_ASSERT_EQUAL(s->pos.col, 5);
		if (s->pos.line != want[i].line)
			printf("\n    step %zu (%s) at line %d, want %d", i + 1, kind_of(s), s->pos.line, want[i].line);
	}
	/* the repeat's inner steps, the async step, the join's expect */
	const scn_step *rep = &f->steps[3];
	CU_ASSERT_EQUAL_FATAL(rep->n_sub, 1);
	CU_ASSERT_STRING_EQUAL(kind_of(&rep->sub[0]), "exec");
	CU_ASSERT_PTR_NOT_NULL(rep->sub[0].expect);
	CU_ASSERT(f->steps[4].async);
	CU_ASSERT(!f->steps[0].async);
	const scn_node *code = scn_map_get(f->steps[6].expect, "code");
	CU_ASSERT(code && code->kind == SCN_SEQ && code->n == 2 && !strcmp(code->vals[1]->str, "UNAVAILABLE"));
	/* an expect step made only of `expect:` holds its checks as args */
	CU_ASSERT_PTR_NULL(f->steps[9].expect);
	CU_ASSERT_PTR_NOT_NULL(scn_map_get(f->steps[9].args, "took"));
	CU_ASSERT(f->steps[9].known_issue && !strcmp(f->steps[9].known_issue, "none really"));
	/* the fs kind is wired and acts on the lab's loop fs */
	CU_ASSERT_PTR_NOT_NULL(f->steps[10].kind->run);
	CU_ASSERT(f->steps[10].kind->flags & SCN_K_LOOPFS);
	CU_ASSERT_STRING_EQUAL(f->steps[10].kind->module, "fault/fs.h");
	CU_ASSERT_EQUAL_FATAL(f->n_finally, 2);
	CU_ASSERT_STRING_EQUAL(kind_of(&f->finally[0]), "runtime");
	CU_ASSERT_STRING_EQUAL(kind_of(&f->finally[1]), "sweep");
	scn_file_free(f);
	scn_diags_free(&d);
	free(path);
}

/* A file given as a string; positions count from its first line. */
static void test_parse_string(void)
{
	const char *text = "name: s\n"
			   "description: d\n"
			   "steps:\n"
			   "  - version:\n"
			   "  - sleep: 1s\n"
			   "    name: nap\n";
	scn_diags d = { 0 };
	scn_file *f = NULL;
	CU_ASSERT_EQUAL(scn_parse_string("mem.yaml", text, strlen(text), &f, &d), 0);
	CU_ASSERT_EQUAL(scn_check(f, &d), 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL_FATAL(f->n_steps, 2);
	CU_ASSERT(scn_node_is_null(f->steps[0].args));
	CU_ASSERT_STRING_EQUAL(f->steps[1].name, "nap");
	CU_ASSERT_EQUAL(f->steps[1].pos.line, 5);
	scn_file_free(f);

	/* empty, a list at the top, two documents */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "# nothing\n", "1:1: empty file: a scenario has name, description and steps" },
		{ "- a\n- b\n", "1:1: a scenario file is a map (name, description, steps, …), not a list" },
		{ "name: a\n---\nname: b\n", "2:1: one scenario per file: a second YAML document starts here" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		scn_diags_free(&d);
		f = NULL;
		scn_parse_string("mem.yaml", bad[i].text, strlen(bad[i].text), &f, &d);
		CU_ASSERT_FATAL(d.n >= 1);
		char got[600];
		snprintf(got, sizeof got, "%d:%d: %s", d.v[0].pos.line, d.v[0].pos.col, d.v[0].msg);
		CU_ASSERT_STRING_EQUAL(got, bad[i].msg);
		scn_file_free(f);
	}
	scn_diags_free(&d);
}

/* ------------------------------------------------------------ durations, references */

/* Regexes that would make glibc's regcomp take gigabytes are refused
 * first (found by fuzz_scenario: "e" and 90 '+'); ordinary ones compile. */
static void test_regex_limits(void)
{
	static const char *const good[] = { "^a+b*c?$", "[+*]+ (x)*\\+ a{2,3}b?", "x{255}", "[[:alpha:]]+", "a\\++" };
	static const char *const bad[] = { "a++", "a*+", "x?*", "b{2}{3}", "c+{2}", "a{256}", "a{1,300}" };
	regex_t r;
	char why[200];
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int rc = scn_regcomp(&r, good[i], why, sizeof why);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc == 0)
			regfree(&r);
		else
			printf("\n    %s refused: %s", good[i], why);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		CU_ASSERT_EQUAL(scn_regcomp(&r, bad[i], why, sizeof why), -EINVAL);
		CU_ASSERT(strstr(why, "two repetitions in a row") || strstr(why, "over 255"));
	}
	char *plus = calloc(1, 2048);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plus);
	memset(plus, 'a', 2000);
	CU_ASSERT_EQUAL(scn_regcomp(&r, plus, why, sizeof why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than 1024"));
	free(plus);
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
		{ "500ms", 500 }, { "2s", 2000 }, { "1m30s", 90000 }, { "1.5s", 1500 }, { "0.25s", 250 },
		{ "1h", 3600000 }, { "2m", 120000 }, { "0", 0 }, { "0s", 0 }, { "1h2m3s4ms", 3723004 }, { ".5s", 500 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int64_t ms = -1;
		CU_ASSERT_EQUAL(scn_parse_duration(good[i].s, &ms), 0);
		CU_ASSERT_EQUAL(ms, good[i].ms);
	}
	static const char *const bad[] = { "", "500", "2x", "-1s", "1m30", "s", "1e3ms", "0x10s", "1 s", "ms500",
					   "99999h", "." };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ms = 0;
		CU_ASSERT_EQUAL(scn_parse_duration(bad[i], &ms), -EINVAL);
		if (scn_parse_duration(bad[i], &ms) == 0)
			printf("\n    '%s' parsed as %lld ms", bad[i], (long long)ms);
	}
	char buf[32];
	CU_ASSERT_STRING_EQUAL(scn_fmt_ms(250, buf, sizeof buf), "250 ms");
	CU_ASSERT_STRING_EQUAL(scn_fmt_ms(1500, buf, sizeof buf), "1.50 s");
}

static const char *fake_lookup(void *arg, const char *name, const char *field, crit_err *e)
{
	(*(int *)arg)++;
	if (!strcmp(name, "web") && !strcmp(field, "id"))
		return "abc123";
	if (!strcmp(name, "web") && !strcmp(field, "ip"))
		return "10.0.0.7";
	err_set(e, -ENOENT, "${%s.%s}: unknown", name, field);
	return NULL;
}

static void test_refs(void)
{
	size_t at = 0;
	char name[64], field[64];
	const char *s = "pod ${web.id} at ${web.ip}, $5 and $${x.y}";
	CU_ASSERT_EQUAL(scn_refs_next(s, &at, name, sizeof name, field, sizeof field), 4);
	CU_ASSERT_STRING_EQUAL(name, "web");
	CU_ASSERT_STRING_EQUAL(field, "id");
	CU_ASSERT_EQUAL(scn_refs_next(s, &at, name, sizeof name, field, sizeof field), 17);
	CU_ASSERT_STRING_EQUAL(field, "ip");
	CU_ASSERT_EQUAL(scn_refs_next(s, &at, name, sizeof name, field, sizeof field), -1); /* $$ escapes */
	static const char *const malformed[] = { "${web}", "${web.}", "${.id}", "${web.id", "${1x.id}", "${we b.id}" };
	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		at = 0;
		CU_ASSERT_EQUAL(scn_refs_next(malformed[i], &at, name, sizeof name, field, sizeof field), -2);
		CU_ASSERT_EQUAL(at, 0);
	}
	int calls = 0;
	crit_err e;
	err_clear(&e);
	char *out = scn_interp(s, fake_lookup, &calls, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, "pod abc123 at 10.0.0.7, $5 and ${x.y}");
	CU_ASSERT_EQUAL(calls, 2);
	free(out);
	out = scn_interp("${web.mac}", fake_lookup, &calls, &e);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(e.msg, "${web.mac}: unknown");
	out = scn_interp("x ${web", fake_lookup, &calls, &e);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT(strstr(e.msg, "malformed reference") != NULL);
	out = scn_interp("", fake_lookup, &calls, &e);
	CU_ASSERT(out && !*out);
	free(out);
}

/* config and fiu steps: action-specific keys and errno names are checked. */
static void test_fault_step_checks(void)
{
	static const char text[] = "name: t\n"
				   "description: d\n"
				   "needs: [disruptive]\n"
				   "steps:\n"
				   "  - config: {action: patch, binary: /usr/bin/crun, set: {a.b: c}}\n"
				   "  - config: {action: restore, drift: true}\n"
				   "  - config: {action: patch}\n"
				   "  - fiu: {action: enable, point: critic/posix/clone, errno: EWHATEVER}\n"
				   "  - fiu: {action: disable, errno: EIO}\n"
				   "  - fiu: {action: enable, point: critic/posix/clone, mode: nth}\n"
				   "  - config: {action: patch, add_handler: x, binary: /bin/x}\n"
				   "  - config: {action: doctor, drift: false}\n"
				   "  - fiu: {action: enable, point: critic/posix/clone, errno: EAGAIN}\n"
				   "  - fiu: {action: disable, all: true}\n";
	static const char *const want[] = {
		"5:37: 'binary' goes with 'add_handler'",
		"6:31: 'drift' goes with action doctor, not restore",
		"7:13: action patch needs 'set', 'add_handler' or 'remove_handler'",
		"8:61: errno 'EWHATEVER' is not an errno name (EAGAIN, EIO, …) or number",
		"9:28: 'errno' goes with action enable, not disable",
		"10:10: action enable needs 'nth'",
	};
	scn_diags d = { 0 };
	scn_file *f = NULL;
	CU_ASSERT_EQUAL_FATAL(scn_parse_string("mem.yaml", text, strlen(text), &f, &d), 0);
	scn_check(f, &d);
	CU_ASSERT_EQUAL(d.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < d.n; i++) {
		char got[600];
		snprintf(got, sizeof got, "%d:%d: %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg);
		bool found = false;
		for (size_t j = 0; j < ARRAY_SIZE(want); j++)
			found = found || !strcmp(got, want[j]);
		if (!found)
			printf("\n    unexpected: %s", got);
		CU_ASSERT(found);
	}
	scn_diags_free(&d);
	scn_file_free(f);
}

/* ------------------------------------------------------------ the table and the library */

static void test_kinds_table(void)
{
	size_t n;
	const scn_kind *k = scn_kinds(&n);
	CU_ASSERT(n >= 25);
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mf);
	scn_kinds_print(mf);
	fclose(mf);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_PTR_NOT_NULL(k[i].args);
		CU_ASSERT_PTR_EQUAL(scn_kind_find(k[i].name), &k[i]);
		/* a shorthand names one of the kind's keys */
		if (k[i].shorthand) {
			bool found = false;
			for (const scn_field *f = k[i].args; f->key; f++)
				found = found || !strcmp(f->key, k[i].shorthand);
			CU_ASSERT(found);
		}
		/* every kind is wired */
		CU_ASSERT_PTR_NOT_NULL(k[i].run);
		char head[96];
		snprintf(head, sizeof head, "\n%s — ", k[i].name);
		CU_ASSERT(strstr(text, head) != NULL);
	}
	CU_ASSERT(strstr(text, "fs — file system faults on the lab's loop fs (the runtime's root and state) [disruptive]\n") != NULL);
	CU_ASSERT(strstr(text, "not available in this build") == NULL);
	CU_ASSERT_PTR_NULL(scn_kind_find("frobnicate"));
	free(text);
	static const char *const words[] = { "steps", "setup", "finally" };
	CU_ASSERT_STRING_EQUAL(scn_suggest("steps_", words, 3), "steps");
	CU_ASSERT_PTR_NULL(scn_suggest("zzzzzz", words, 3));
}

/* Every scenario of the library checks clean, with a unique name. */
static void test_library_checks(void)
{
	char *dir = path_of("scenarios");
	char **paths = NULL;
	size_t n = 0;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(scn_library_files(dir, &paths, &n, &e), 0);
	CU_ASSERT(n >= 6);
	char names[32][64];
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		scn_diags d = { 0 };
		scn_file *f = NULL;
		int rc = scn_load(paths[i], &f, &d);
		if (rc != 0)
			scn_diags_print(&d, stdout);
		CU_ASSERT_EQUAL(rc, 0);
		if (f) {
			for (size_t j = 0; j < nn; j++)
				CU_ASSERT(strcmp(names[j], f->name) != 0);
			if (nn < 32)
				snprintf(names[nn++], sizeof names[0], "%s", f->name);
			CU_ASSERT(strlen(f->description) > 80); /* says what an operator learns */
		}
		scn_file_free(f);
		scn_diags_free(&d);
	}
	scn_paths_free(paths, n);
	free(dir);
}

/* Every YAML example of scenarios/README.md checks clean: complete files as
 * they are, step lists under a header. */
static void test_readme_examples(void)
{
	char *path = path_of("scenarios/README.md");
	char *text = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(path, &text, NULL, NULL), 0);
	int blocks = 0;
	for (char *p = strstr(text, "```yaml\n"); p; p = strstr(p, "```yaml\n")) {
		p += strlen("```yaml\n");
		char *end = strstr(p, "```");
		if (!end)
			break;
		int line = 1;
		for (char *q = text; q < p; q++)
			line += *q == '\n';
		strbuf sb = { 0 };
		if (!util_has_prefix(p, "name:"))
			sb_printf(&sb, "name: readme-example\ndescription: an example of the README\n"
				       "needs: [root, disruptive]\nkubelet: {scale: 0.1}\nsteps:\n");
		sb_append(&sb, p, (size_t)(end - p));
		scn_diags d = { 0 };
		scn_file *f = NULL;
		scn_parse_string("README.md", sb.buf, sb.len, &f, &d);
		if (f && f->root)
			scn_check(f, &d);
		if (d.n) {
			printf("\n    the example at README.md line %d:", line);
			for (size_t i = 0; i < d.n; i++)
				printf("\n      %d:%d: %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg);
		}
		CU_ASSERT_EQUAL(d.n, 0);
		scn_diags_free(&d);
		scn_file_free(f);
		sb_free(&sb);
		blocks++;
		p = end + 3;
	}
	CU_ASSERT(blocks >= 18);
	/* one example per kind: each kind's name starts a step somewhere */
	size_t n;
	const scn_kind *k = scn_kinds(&n);
	for (size_t i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof want, "  - %s:", k[i].name);
		if (!strstr(text, want))
			printf("\n    README.md has no example of %s", k[i].name);
		CU_ASSERT(strstr(text, want) != NULL);
	}
	free(text);
	free(path);
}

void tests_register_scenarios(void)
{
	CU_pSuite s = CU_add_suite("scenarios/check", NULL, NULL);
	CU_add_test(s, "bad YAML: the syntax error with its position, nothing after it", test_bad_yaml);
	CU_add_test(s, "bad keys: unknown (with a hint), missing required", test_bad_keys);
	CU_add_test(s, "bad types: strings, integers, booleans, lists, maps, enums", test_bad_types);
	CU_add_test(s, "bad kinds: unknown, two in a step, none, not a map", test_bad_kinds);
	CU_add_test(s, "bad references: undefined, unknown field, malformed, async before join", test_bad_refs);
	CU_add_test(s, "bad values: durations, regexes, action keys, via", test_bad_values);
	CU_add_test(s, "bad needs: unknown needs, disruptive, kubelet, duplicates, aliases", test_bad_needs);
	CU_add_test(s, "check: every error of every file at once, exit 2", test_check_all_files);
	CU_add_test(s, "a good file parses into the expected step list", test_good_file);
	CU_add_test(s, "files from strings; empty, list, two documents", test_parse_string);
	CU_add_test(s, "durations: Go's forms, units required", test_durations);
	CU_add_test(s, "regexes: repetitions in a row, huge counts, long ones refused", test_regex_limits);
	CU_add_test(s, "references: found, replaced, escaped, malformed", test_refs);
	CU_add_test(s, "the step table: shorthands, wiring, placeholders, kinds text", test_kinds_table);
	CU_add_test(s, "config and fiu steps: action keys, errno names", test_fault_step_checks);
	CU_add_test(s, "the library checks clean", test_library_checks);
	CU_add_test(s, "every example of scenarios/README.md checks clean", test_readme_examples);
}

/* ------------------------------------------------------------ the library on a lab */

static char lab_dir[PATH_MAX];
static rtctl *rt;
static bool lab_ok;

static int lab_init(void)
{
	crit_err e;
	err_clear(&e);
	tests_sibling_lab_dir("scn", lab_dir, sizeof lab_dir);
	if (rtctl_from_lab(&rt, lab_dir, &e) < 0 || rtctl_start(rt, &e) < 0) {
		printf("\n    lab up in %s: %s", lab_dir, e.msg);
		return -1;
	}
	if (!getenv("CRITIC_SCENARIOS_DIR")) {
		char *dir = path_of("scenarios");
		setenv("CRITIC_SCENARIOS_DIR", dir, 1);
		free(dir);
	}
	lab_ok = true;
	return 0;
}

static int lab_cleanup(void)
{
	int rc = 0;
	if (rt) {
		crit_err e;
		if (rtctl_lab_down(rt, &e) < 0) {
			printf("\n    lab down in %s: %s", lab_dir, e.msg);
			rc = -1;
		}
		rtctl_free(rt);
		rt = NULL;
	}
	return rc;
}

/* Run a file (or text) on the lab; the report goes to *report. */
static int run_on_lab(scn_file *f, const char *run_id, bool lab, scn_result *r, char **report)
{
	size_t len = 0;
	FILE *mf = open_memstream(report, &len);
	lab_info info;
	lab_status(lab_dir, &info, NULL);
	scn_opts o = { .out = mf, .run_id = run_id };
	if (lab)
		o.lab_dir = lab_dir;
	else
		o.endpoint = info.endpoint; /* the same runtime, as if it were any node's */
	crit_err e;
	scn_interrupt_reset();
	int rc = scn_run(f, &o, r, &e);
	fclose(mf);
	if (rc < 0)
		printf("\n    %s", e.msg);
	return rc;
}

static void run_library_file(const char *base)
{
	CU_ASSERT_FATAL(lab_ok);
	char *path = util_strdup_printf("%s/%s", getenv("CRITIC_SCENARIOS_DIR"), base);
	scn_diags d = { 0 };
	scn_file *f = NULL;
	CU_ASSERT_EQUAL_FATAL(scn_load(path, &f, &d), 0);
	scn_result r;
	char *report = NULL;
	int rc = run_on_lab(f, NULL, true, &r, &report);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_PASS);
	CU_ASSERT(r.steps_run > 5 && r.steps_failed == 0);
	char t[32];
	printf("\n    %s: %s, %d steps%s in %s", f->name, scn_verdict_name(r.verdict), r.steps_run,
	       r.known_issues ? " (with a known issue)" : "", scn_fmt_ms(r.wall_ms, t, sizeof t));
	if (r.verdict != SCN_PASS)
		printf("\n%s", report);
	free(report);
	scn_file_free(f);
	free(path);
}

static void test_lib_01(void) { run_library_file("01-runtime-sigkill.yaml"); }
static void test_lib_02(void) { run_library_file("02-kubelet-crashloop.yaml"); }
static void test_lib_04(void) { run_library_file("04-restart-trap.yaml"); }
static void test_lib_07(void) { run_library_file("07-libfiu-create.yaml"); }
static void test_lib_05(void) { run_library_file("05-runtime-hung.yaml"); }
static void test_lib_06(void) { run_library_file("06-socket-removed.yaml"); }
static void test_lib_09(void) { run_library_file("09-proxy-faults.yaml"); }
static void test_lib_10(void) { run_library_file("10-kill-during-run-pod.yaml"); }

/* 03 and 08 need the lab on its loop fs: on plain directories they are
 * skipped with the reason; then the lab moves onto its loop fs (lab down,
 * `critic lab up --loop-fs` in a fresh process: this one used gRPC) and
 * both run. The choice stays with this test lab's dir. */
static void test_lib_loopfs(void)
{
	CU_ASSERT_FATAL(lab_ok);
	lab_info info;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &info, &e), 1);
	if (!info.loopfs) {
		char *path = util_strdup_printf("%s/08-disk-full-pull.yaml", getenv("CRITIC_SCENARIOS_DIR"));
		scn_diags d = { 0 };
		scn_file *f = NULL;
		CU_ASSERT_EQUAL_FATAL(scn_load(path, &f, &d), 0);
		scn_result r;
		char *report = NULL;
		CU_ASSERT_EQUAL(run_on_lab(f, NULL, true, &r, &report), 0);
		CU_ASSERT_EQUAL(r.verdict, SCN_SKIP);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "needs the lab on its loop fs"));
		printf("\n    on plain directories: %s: %s", scn_verdict_name(r.verdict), r.reason);
		free(report);
		scn_file_free(f);
		free(path);
		char critic[PATH_MAX];
		CU_ASSERT_FATAL(tests_beside("critic", critic, sizeof critic) == 0);
		CU_ASSERT_EQUAL_FATAL(rtctl_lab_down(rt, &e), 0);
		char *argv[] = { critic, "--dir", lab_dir, "lab", "up", "--loop-fs", "1G", NULL };
		char *out = NULL;
		int rc = util_run(argv, 600000, &out, &e);
		if (rc != 0)
			printf("\n    lab up --loop-fs: %d %s %s", rc, rc < 0 ? e.msg : "", out ? out : "");
		free(out);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_FATAL(lab_status(lab_dir, &info, &e) == 1 && info.loopfs);
	}
	run_library_file("03-death-spiral.yaml");
	run_library_file("08-disk-full-pull.yaml");
}

static scn_file *from_text(const char *text)
{
	scn_diags d = { 0 };
	scn_file *f = NULL;
	scn_parse_string("inline.yaml", text, strlen(text), &f, &d);
	if (f && f->root)
		scn_check(f, &d);
	if (d.n) {
		scn_diags_print(&d, stdout);
		scn_file_free(f);
		f = NULL;
	}
	scn_diags_free(&d);
	return f;
}

/* Pods of a run still known to the runtime. */
static int pods_of_run(const char *run_id)
{
	lab_info info;
	lab_status(lab_dir, &info, NULL);
	cri_conn *c = NULL;
	crit_err e;
	if (cri_connect(&c, info.endpoint, NULL, 5000, &e) < 0)
		return -1;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	sel.key = TST_LABEL_RUN;
	sel.value = (char *)run_id;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sels[] = { &sel };
	Runtime__V1__PodSandboxFilter flt = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	flt.label_selector = sels;
	flt.n_label_selector = 1;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &flt;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	int n = CRI_CALL(c, ListPodSandbox, &req, &resp, &e) < 0 ? -1 : (int)resp->n_items;
	cri_free(resp);
	cri_close(c);
	return n;
}

/* A scenario that fails with its config patched and a libfiu fault on,
 * and no finally: the executor restores config.toml byte for byte (no
 * backup left) and disables the fault. */
static void test_fault_repaired(void)
{
	CU_ASSERT_FATAL(lab_ok);
	lab_info info;
	lab_status(lab_dir, &info, NULL);
	char *before = NULL;
	size_t blen = 0;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(util_read_file(info.config, &before, &blen, &e), 0);
	scn_file *f = from_text("name: left-patched\n"
				"description: d\n"
				"needs: [disruptive, lab]\n"
				"steps:\n"
				"  - config: {action: patch, add_handler: left-behind, binary: /usr/bin/crun}\n"
				"  - fiu: {action: enable, point: critic/posix/mkdir, errno: ENOSPC}\n"
				"  - version: {}\n"
				"    expect: {code: UNAVAILABLE}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	scn_result r;
	char *report = NULL;
	CU_ASSERT_EQUAL(run_on_lab(f, NULL, true, &r, &report), 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_FAIL);
	CU_ASSERT(report && strstr(report, "the config patch was still in place: restored from its backup"));
	CU_ASSERT(report && strstr(report, "libfiu faults were still enabled: disabled them all"));
	char *after = NULL;
	size_t alen = 0;
	CU_ASSERT_EQUAL(util_read_file(info.config, &after, &alen, &e), 0);
	CU_ASSERT(after && alen == blen && !memcmp(before, after, blen));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(info.config, NULL, 0), 0);
	char *spec = NULL;
	CU_ASSERT_EQUAL(fault_fiu_spec_text(lab_dir, &spec, &e), 0);
	CU_ASSERT(spec && !strstr(spec, "critic/posix/mkdir"));
	free(spec);
	free(after);
	free(before);
	free(report);
	scn_file_free(f);
}

/* A failing expectation: the steps go on after it, a failing step stops
 * them, finally runs and the sweep removes what the scenario left. */
static void test_failure_and_sweep(void)
{
	CU_ASSERT_FATAL(lab_ok);
	scn_file *f = from_text("name: fails-on-purpose\n"
				"description: d\n"
				"needs: [disruptive]\n"
				"steps:\n"
				"  - run_pod: {name: left, hostnetwork: true}\n"
				"    as: p\n"
				"  - expect: {pod: {id: \"${p.id}\", state: NOTREADY}}\n"
				"  - version: {}\n"
				"    expect: {code: UNAVAILABLE}\n"
				"  - note: never printed\n"
				"finally:\n"
				"  - note: finally ran for ${p.name}\n"
				"  - wait: {until: {runtime: down}, within: 300ms}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char run_id[64];
	snprintf(run_id, sizeof run_id, "scn-test-%d", (int)getpid());
	scn_result r;
	char *report = NULL;
	CU_ASSERT_EQUAL(run_on_lab(f, run_id, true, &r, &report), 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_FAIL);
	CU_ASSERT_EQUAL(r.steps_run, 5); /* run_pod, expect, version, then finally's two */
	CU_ASSERT_EQUAL(r.steps_failed, 3);
	CU_ASSERT(strstr(r.reason, "step 2") && strstr(r.reason, "is READY (wanted NOTREADY)"));
	CU_ASSERT(strstr(report, "Version succeeded in") && strstr(report, "(wanted UNAVAILABLE)"));
	CU_ASSERT(strstr(report, "1 step not run after this failure") != NULL);
	CU_ASSERT(strstr(report, "never printed") == NULL);
	CU_ASSERT(strstr(report, "finally ran for left") != NULL);
	CU_ASSERT(strstr(report, "not within 300 ms") != NULL);
	CU_ASSERT(strstr(report, "sweep removed 1 pods") != NULL);
	CU_ASSERT_EQUAL(pods_of_run(run_id), 0);
	if (r.verdict != SCN_FAIL || r.steps_failed != 3)
		printf("\n%s", report);
	free(report);
	scn_file_free(f);
}

static void *interrupt_later(void *arg)
{
	util_sleep_ms(*(int *)arg);
	scn_interrupt();
	return NULL;
}

/* An interrupt ends the current wait, skips the rest and runs finally. */
static void test_interrupt(void)
{
	CU_ASSERT_FATAL(lab_ok);
	scn_file *f = from_text("name: interrupted\n"
				"description: d\n"
				"steps:\n"
				"  - sleep: 20s\n"
				"  - note: not reached\n"
				"finally:\n"
				"  - sleep: 100ms\n"
				"  - note: cleaned up\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	pthread_t th;
	int ms = 300;
	scn_result r;
	char *report = NULL;
	scn_interrupt_reset();
	lab_info info;
	lab_status(lab_dir, &info, NULL);
	size_t len;
	FILE *mf = open_memstream(&report, &len);
	scn_opts o = { .out = mf, .lab_dir = lab_dir };
	crit_err e;
	pthread_create(&th, NULL, interrupt_later, &ms);
	int rc = scn_run(f, &o, &r, &e);
	pthread_join(th, NULL);
	fclose(mf);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(r.interrupted);
	CU_ASSERT_EQUAL(r.verdict, SCN_FAIL);
	CU_ASSERT(r.wall_ms < 5000);
	CU_ASSERT(strstr(report, "interrupted") && strstr(report, "cleaned up") && !strstr(report, "not reached"));
	scn_interrupt_reset();
	free(report);
	scn_file_free(f);
}

/* Disruptive scenarios refuse an endpoint that is not critic's lab. */
static void test_disruptive_refused(void)
{
	CU_ASSERT_FATAL(lab_ok);
	scn_file *f = from_text("name: refused\n"
				"description: d\n"
				"needs: [disruptive]\n"
				"steps:\n"
				"  - runtime: kill\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	scn_result r;
	char *report = NULL;
	CU_ASSERT_EQUAL(run_on_lab(f, NULL, false, &r, &report), 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_SKIP);
	CU_ASSERT(strstr(r.reason, "refused outside critic's lab (pass --allow-disruptive") != NULL);
	CU_ASSERT_EQUAL(r.steps_run, 0);
	CU_ASSERT(rtctl_pid(rt, NULL) > 0); /* nothing was killed */
	free(report);
	scn_file_free(f);

	/* Allowed, a config fault still edits only the file it is named, and
	 * the runtime's profile says which file that would be. */
	f = from_text("name: config-unnamed\n"
		      "description: d\n"
		      "needs: [disruptive]\n"
		      "steps:\n"
		      "  - config: {action: patch, add_handler: x, binary: /bin/true}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	lab_info info;
	lab_status(lab_dir, &info, NULL);
	size_t len = 0;
	report = NULL;
	FILE *mf = open_memstream(&report, &len);
	scn_opts o = { .out = mf, .endpoint = info.endpoint, .allow_disruptive = true };
	crit_err e;
	scn_interrupt_reset();
	CU_ASSERT_EQUAL(scn_run(f, &o, &r, &e), 0);
	fclose(mf);
	CU_ASSERT_EQUAL(r.verdict, SCN_FAIL);
	if (!strstr(r.reason, "critic edits only the file it is named; containerd keeps its config in "
			      "/etc/containerd/config.toml"))
		printf("\n    reason: %s", r.reason);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "/etc/containerd/config.toml"));
	free(report);
	scn_file_free(f);
}

void tests_register_scenarios_lab(void)
{
	/* before this process's first gRPC call (see scn_grpc_tune) */
	scn_grpc_tune();
	CU_pSuite s = CU_add_suite("integration/scenarios", lab_init, lab_cleanup);
	CU_add_test(s, "01 runtime SIGKILLed with running pods", test_lib_01);
	CU_add_test(s, "02 kubelet crash loop while the runtime is down", test_lib_02);
	CU_add_test(s, "04 config.toml gains a handler without a restart; SIGHUP", test_lib_04);
	CU_add_test(s, "05 hung runtime (SIGSTOP)", test_lib_05);
	CU_add_test(s, "06 socket file removed", test_lib_06);
	CU_add_test(s, "07 libfiu: crun's clone() fails at container start", test_lib_07);
	CU_add_test(s, "09 slow, blackholed, reset connections (proxy)", test_lib_09);
	CU_add_test(s, "10 runtime killed during RunPodSandbox", test_lib_10);
	CU_add_test(s, "a failing step stops the steps; finally and the sweep run", test_failure_and_sweep);
	CU_add_test(s, "a config patch and a libfiu fault left behind are undone", test_fault_repaired);
	CU_add_test(s, "an interrupt stops the steps and runs finally", test_interrupt);
	CU_add_test(s, "disruptive scenarios refuse an endpoint that is not the lab", test_disruptive_refused);
	CU_add_test(s, "03 death spiral and 08 full disk: skipped off the loop fs, pass on it", test_lib_loopfs);
}
