/* certify: a certification run written as a bundle — the profile's tests and scenarios run
 * by `critic run`, the environment they ran in, a verdict line, and a sha256 manifest. */
#include "certify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "cri.h"
#include "lab.h"
#include "profile.h"
#include "tst.h"
#include "util.h"
#include "version.h"

#define MANIFEST "MANIFEST.sha256"

/* ------------------------------------------------------------ profiles */

int cert_profiles_dir(char *dir, size_t len, crit_err *e)
{
	return util_data_dir("CRITIC_PROFILES_DIR", "profiles", dir, len, e);
}

void cert_profile_free(cert_profile *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->name);
	free(p->description);
	free(p->focus);
	free(p->skip);
	for (size_t i = 0; i < p->n_scenarios; i++)
		free(p->scenarios[i]);
	free(p->scenarios);
	for (size_t i = 0; i < p->n_allowed; i++) {
		free(p->allowed[i].test);
		free(p->allowed[i].reason);
		free(p->allowed[i].why);
	}
	free(p->allowed);
	memset(p, 0, sizeof *p);
}

typedef struct ydoc {
	yaml_document_t doc;
	const char *path;
} ydoc;

static int ybad(const ydoc *y, const yaml_node_t *n, crit_err *e, const char *what)
{
	return err_set(e, -ERR_CONFIG, "%s:%zu:%zu: %s", y->path, n ? n->start_mark.line + 1 : 0,
		       n ? n->start_mark.column + 1 : 0, what);
}

static const char *yscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool ynull(const yaml_node_t *n)
{
	const char *s = yscalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null"));
}

static int ystr(const ydoc *y, const yaml_node_t *n, const char *key, char **out, crit_err *e)
{
	const char *s = yscalar(n);
	if (!s) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s: expected a string", key);
		return ybad(y, n, e, msg);
	}
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int ybool(const ydoc *y, const yaml_node_t *n, const char *key, bool *out, crit_err *e)
{
	const char *s = yscalar(n);
	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = !strcmp(s, "true");
		return 0;
	}
	char msg[128];
	snprintf(msg, sizeof msg, "%s: expected true or false", key);
	return ybad(y, n, e, msg);
}

static int yregex(const ydoc *y, const yaml_node_t *n, const char *key, crit_err *e)
{
	regex_t re;
	int rc = regcomp(&re, yscalar(n), REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128], msg[256];
		regerror(rc, &re, why, sizeof why);
		snprintf(msg, sizeof msg, "%s: not a regex: %s", key, why);
		return ybad(y, n, e, msg);
	}
	regfree(&re);
	return 0;
}

/* "30m", "90s", "1h" or plain seconds. */
static int parse_secs(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || v <= 0)
		return -1;
	long mult = !strcmp(end, "h") ? 3600 : !strcmp(end, "m") ? 60 : (!strcmp(end, "s") || !*end) ? 1 : 0;
	if (!mult || v > 7 * 24 * 3600 / mult)
		return -1;
	*out = (int)(v * mult);
	return 0;
}

static int load_tests(const ydoc *y, yaml_node_t *n, cert_profile *p, crit_err *e)
{
	if (ynull(n))
		return 0;
	const char *s = yscalar(n);
	if (s) {
		if (!strcmp(s, "false"))
			return 0;
		return ybad(y, n, e, "tests: expected a map (focus, skip, extended) or false");
	}
	if (n->type != YAML_MAPPING_NODE)
		return ybad(y, n, e, "tests: expected a map (focus, skip, extended) or false");
	p->run_tests = true;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node((yaml_document_t *)&y->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node((yaml_document_t *)&y->doc, pr->value);
		const char *key = yscalar(k);
		int rc;
		if (key && !strcmp(key, "focus"))
			rc = ystr(y, v, "tests.focus", &p->focus, e) ?: yregex(y, v, "tests.focus", e);
		else if (key && !strcmp(key, "skip"))
			rc = ystr(y, v, "tests.skip", &p->skip, e) ?: yregex(y, v, "tests.skip", e);
		else if (key && !strcmp(key, "extended"))
			rc = ybool(y, v, "tests.extended", &p->extended, e);
		else
			rc = ybad(y, k, e, "tests: unknown key (focus, skip, extended)");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_scenarios(const ydoc *y, yaml_node_t *n, cert_profile *p, crit_err *e)
{
	if (ynull(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return ybad(y, n, e, "scenarios: expected a list of scenario names (or [all])");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	p->scenarios = calloc(cnt + 1, sizeof *p->scenarios);
	if (!p->scenarios)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node((yaml_document_t *)&y->doc, *it);
		const char *s = yscalar(v);
		if (!s || !*s || strchr(s, ','))
			return ybad(y, v, e, "scenarios: each item is a scenario name (no commas)");
		if (!(p->scenarios[p->n_scenarios++] = strdup(s)))
			return -ENOMEM;
	}
	return 0;
}

static int load_allowed(const ydoc *y, yaml_node_t *n, cert_profile *p, crit_err *e)
{
	if (ynull(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return ybad(y, n, e, "allowed_skips: expected a list of {test, reason, why}");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	p->allowed = calloc(cnt + 1, sizeof *p->allowed);
	if (!p->allowed)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node((yaml_document_t *)&y->doc, *it);
		if (m->type != YAML_MAPPING_NODE)
			return ybad(y, m, e, "allowed_skips: each item is a map {test, reason, why}");
		cert_skip_rule *r = &p->allowed[p->n_allowed++];
		for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node((yaml_document_t *)&y->doc, pr->key);
			yaml_node_t *v = yaml_document_get_node((yaml_document_t *)&y->doc, pr->value);
			const char *key = yscalar(k);
			int rc;
			if (key && !strcmp(key, "test"))
				rc = ystr(y, v, "allowed_skips.test", &r->test, e) ?: yregex(y, v, "allowed_skips.test", e);
			else if (key && !strcmp(key, "reason"))
				rc = ystr(y, v, "allowed_skips.reason", &r->reason, e)
					?: yregex(y, v, "allowed_skips.reason", e);
			else if (key && !strcmp(key, "why"))
				rc = ystr(y, v, "allowed_skips.why", &r->why, e);
			else
				rc = ybad(y, k, e, "allowed_skips: unknown key (test, reason, why)");
			if (rc < 0)
				return rc;
		}
		if (!r->test || !r->reason)
			return ybad(y, m, e, "allowed_skips: each item needs both test and reason");
	}
	return 0;
}

static int profile_from_doc(ydoc *y, cert_profile *p, crit_err *e)
{
	yaml_node_t *root = yaml_document_get_root_node(&y->doc);
	if (!root)
		return err_set(e, -ERR_CONFIG, "%s: empty profile", y->path);
	if (root->type != YAML_MAPPING_NODE)
		return ybad(y, root, e, "a profile is a map (name, description, tests, scenarios, allowed_skips, timeout)");
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&y->doc, pr->value);
		const char *key = yscalar(k);
		int rc;
		if (!key)
			rc = ybad(y, k, e, "keys are strings");
		else if (!strcmp(key, "name"))
			rc = ystr(y, v, "name", &p->name, e);
		else if (!strcmp(key, "description"))
			rc = ystr(y, v, "description", &p->description, e);
		else if (!strcmp(key, "tests"))
			rc = load_tests(y, v, p, e);
		else if (!strcmp(key, "scenarios"))
			rc = load_scenarios(y, v, p, e);
		else if (!strcmp(key, "allowed_skips"))
			rc = load_allowed(y, v, p, e);
		else if (!strcmp(key, "timeout"))
			rc = yscalar(v) && parse_secs(yscalar(v), &p->timeout_s) == 0
				     ? 0
				     : ybad(y, v, e, "timeout: give a duration like 30m, 90s or 1h");
		else
			rc = ybad(y, k, e,
				  "unknown key (name, description, tests, scenarios, allowed_skips, timeout)");
		if (rc < 0)
			return rc;
	}
	if (!p->name || !*p->name)
		return ybad(y, root, e, "name: required");
	if (!p->run_tests && !p->n_scenarios)
		return ybad(y, root, e, "the profile runs nothing: give tests or scenarios");
	return 0;
}

int cert_profile_load(const char *name_or_path, cert_profile *p, crit_err *e)
{
	memset(p, 0, sizeof *p);
	p->timeout_s = 3600;
	char path[PATH_MAX];
	size_t nl = strlen(name_or_path);
	if (strchr(name_or_path, '/') || (nl > 5 && !strcmp(name_or_path + nl - 5, ".yaml"))) {
		snprintf(path, sizeof path, "%s", name_or_path);
	} else {
		char dir[PATH_MAX - 64];
		int rc = cert_profiles_dir(dir, sizeof dir, e);
		if (rc < 0)
			return rc;
		snprintf(path, sizeof path, "%s/%s.yaml", dir, name_or_path);
		if (!util_exists(path))
			return err_set(e, -ERR_CONFIG, "no profile '%s' in %s (see critic certify --list-profiles)",
				       name_or_path, dir);
	}
	cleanup_free char *text = NULL;
	size_t len;
	int rc = util_read_file(path, &text, &len, e);
	if (rc < 0)
		return rc;
	ydoc y = { .path = path };
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y.doc)) {
		rc = err_set(e, -ERR_CONFIG, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return rc;
	}
	yaml_parser_delete(&parser);
	rc = profile_from_doc(&y, p, e);
	yaml_document_delete(&y.doc);
	if (rc == 0 && !(p->path = strdup(path)))
		rc = -ENOMEM;
	if (rc < 0)
		cert_profile_free(p);
	return rc;
}

static bool cert_re_match(const char *re_s, const char *s)
{
	regex_t re;
	if (regcomp(&re, re_s, REG_EXTENDED | REG_NOSUB))
		return false;
	bool m = regexec(&re, s ? s : "", 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

const cert_skip_rule *cert_skip_allowed(const cert_profile *p, const char *test, const char *reason)
{
	for (size_t i = 0; i < p->n_allowed; i++)
		if (cert_re_match(p->allowed[i].test, test) && cert_re_match(p->allowed[i].reason, reason))
			return &p->allowed[i];
	return NULL;
}

/* ------------------------------------------------------------ judging a report */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* The first message of a test (its skip reason or first failure); "" when none. */
static const char *first_message(json_object *t)
{
	json_object *msgs;
	if (json_object_object_get_ex(t, "messages", &msgs) && json_object_is_type(msgs, json_type_array) &&
	    json_object_array_length(msgs) > 0)
		return json_object_get_string(json_object_array_get_idx(msgs, 0));
	const char *d = jstr(t, "detail");
	if (!d) {
		const char *r = jstr(t, "reason");
		return r ? r : "";
	}
	return d;
}

typedef struct judge_acc {
	int passed, failed, skipped_ok, skipped_bad;
	strbuf problems;
} judge_acc;

static void judge_one(const cert_profile *p, const char *name, const char *verdict, const char *msg,
		      judge_acc *a)
{
	if (!strcmp(verdict, "PASS")) {
		a->passed++;
	} else if (!strcmp(verdict, "SKIP")) {
		if (cert_skip_allowed(p, name, msg)) {
			a->skipped_ok++;
		} else {
			a->skipped_bad++;
			sb_printf(&a->problems, "%s: skipped, and the profile does not allow it: %.300s\n", name, msg);
		}
	} else {
		a->failed++;
		sb_printf(&a->problems, "%s: %s: %.300s\n", name, verdict, msg);
	}
}

int cert_judge(const cert_profile *p, const char *report_json_path, bool *pass, char *summary, size_t slen,
	       char **problems, crit_err *e)
{
	*pass = false;
	*problems = NULL;
	json_object *root = json_object_from_file(report_json_path);
	if (!root)
		return err_set(e, -ERR_CONFIG, "read report %s: %s", report_json_path, json_util_get_last_err());
	judge_acc a = { 0 };
	json_object *arr;
	if (json_object_object_get_ex(root, "tests", &arr) && json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *t = json_object_array_get_idx(arr, i);
			const char *name = jstr(t, "name"), *verdict = jstr(t, "verdict");
			if (name && verdict)
				judge_one(p, name, verdict, first_message(t), &a);
		}
	}
	if (json_object_object_get_ex(root, "scenarios", &arr) && json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *s = json_object_array_get_idx(arr, i);
			const char *name = jstr(s, "name"), *verdict = jstr(s, "verdict");
			if (!name || !verdict)
				continue;
			char full[300];
			snprintf(full, sizeof full, "scenario/%s", name);
			judge_one(p, full, verdict, first_message(s), &a);
		}
	}
	json_object_put(root);
	int total = a.passed + a.failed + a.skipped_ok + a.skipped_bad;
	if (total == 0)
		sb_printf(&a.problems, "the report holds no test and no scenario\n");
	*pass = total > 0 && a.failed == 0 && a.skipped_bad == 0;
	snprintf(summary, slen, "%s: %d passed, %d failed, %d skipped as the profile allows, %d skipped otherwise",
		 *pass ? "PASS" : "FAIL", a.passed, a.failed, a.skipped_ok, a.skipped_bad);
	*problems = a.problems.buf;
	return 0;
}

/* ------------------------------------------------------------ manifest */

int cert_sha256_file(const char *path, char hex[65], crit_err *e)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "open %s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return err_set(e, -ENOMEM, "sha256 %s: cannot set up the digest", path);
	}
	unsigned char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			EVP_MD_CTX_free(ctx);
			return err_set(e, -err, "read %s: %s", path, strerror(err));
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir (not the manifest), sorted. The bundle is flat:
 * a directory or anything else inside is reported as a problem by callers. */
static int list_files(const char *dir, char ***out, size_t *n, char ***others, size_t *n_others, crit_err *e)
{
	*out = NULL;
	*n = 0;
	if (others) {
		*others = NULL;
		*n_others = 0;
	}
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, -errno, "open %s: %s", dir, strerror(errno));
	struct dirent *de;
	size_t cap = 0, ocap = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, MANIFEST))
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		struct stat st;
		bool regular = lstat(p, &st) == 0 && S_ISREG(st.st_mode);
		char ***v = regular ? out : others;
		size_t *cnt = regular ? n : n_others, *cp = regular ? &cap : &ocap;
		if (!v)
			continue;
		if (*cnt == *cp) {
			*cp = *cp ? *cp * 2 : 16;
			char **nv = realloc(*v, *cp * sizeof *nv);
			if (!nv) {
				closedir(d);
				return -ENOMEM;
			}
			*v = nv;
		}
		(*v)[(*cnt)++] = strdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, name_cmp);
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cert_write_manifest(const char *dir, size_t *n_files, crit_err *e)
{
	char **files;
	size_t n;
	int rc = list_files(dir, &files, &n, NULL, NULL, e);
	if (rc < 0)
		return rc;
	strbuf sb = { 0 };
	for (size_t i = 0; i < n && rc == 0; i++) {
		char p[PATH_MAX], hex[65];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		rc = cert_sha256_file(p, hex, e);
		if (rc == 0)
			sb_printf(&sb, "%s  %s\n", hex, files[i]);
	}
	free_list(files, n);
	if (rc == 0) {
		char mp[PATH_MAX];
		snprintf(mp, sizeof mp, "%s/" MANIFEST, dir);
		rc = util_write_file(mp, sb.buf ? sb.buf : "", sb.len, 0644, e);
	}
	sb_free(&sb);
	if (n_files)
		*n_files = n;
	return rc;
}

int cert_verify(const char *dir, FILE *f, size_t *n_files, crit_err *e)
{
	char mp[PATH_MAX];
	snprintf(mp, sizeof mp, "%s/" MANIFEST, dir);
	cleanup_free char *text = NULL;
	size_t len;
	int rc = util_read_file(mp, &text, &len, e);
	if (rc < 0) {
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e->msg);
		return err_set(e, rc, "%s: no manifest (%.400s): not a certification bundle, or it lost its manifest",
			       dir, why);
	}
	char **files, **others;
	size_t n, n_others;
	if ((rc = list_files(dir, &files, &n, &others, &n_others, e)) < 0)
		return rc;
	bool *seen = calloc(n + 1, sizeof *seen);
	if (!seen) {
		free_list(files, n);
		free_list(others, n_others);
		return -ENOMEM;
	}
	int problems = 0;
	size_t listed = 0, lineno = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (!*line)
			continue;
		/* "<64 hex>  <name>" */
		size_t hl = strspn(line, "0123456789abcdef");
		const char *name = line + hl + 2;
		if (hl != 64 || strncmp(line + 64, "  ", 2) || !*name || strchr(name, '/')) {
			fprintf(f, "%s:%zu: not a manifest line (\"<sha256>  <file>\")\n", mp, lineno);
			problems++;
			continue;
		}
		listed++;
		char want[65];
		memcpy(want, line, 64);
		want[64] = '\0';
		char **hit = n ? bsearch(&name, files, n, sizeof *files, name_cmp) : NULL;
		if (!hit) {
			fprintf(f, "%s: missing (listed in the manifest)\n", name);
			problems++;
			continue;
		}
		seen[hit - files] = true;
		char p[PATH_MAX], got[65];
		snprintf(p, sizeof p, "%s/%s", dir, name);
		crit_err fe;
		if (cert_sha256_file(p, got, &fe) < 0) {
			fprintf(f, "%s: %s\n", name, fe.msg);
			problems++;
		} else if (strcmp(got, want)) {
			fprintf(f, "%s: sha256 differs from the manifest: changed after certification\n", name);
			problems++;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!seen[i]) {
			fprintf(f, "%s: not in the manifest: added after certification\n", files[i]);
			problems++;
		}
	for (size_t i = 0; i < n_others; i++) {
		fprintf(f, "%s: not a regular file: a bundle holds only files\n", others[i]);
		problems++;
	}
	free(seen);
	free_list(files, n);
	free_list(others, n_others);
	if (n_files)
		*n_files = listed;
	return problems;
}

/* ------------------------------------------------------------ the run */

static volatile sig_atomic_t g_child, g_signal;

static void forward_signal(int sig)
{
	g_signal = sig;
	if (g_child > 0)
		kill(g_child, sig);
}

/* Run argv with its output shown and kept in logpath; the run's deadline is
 * timeout_s (then SIGTERM, and SIGKILL 30 s later). Returns the exit status,
 * 128+N for a signal, or < 0 when it could not run. */
static int run_tee(char *const argv[], const char *logpath, int timeout_s, FILE *out, crit_err *e)
{
	cleanup_close int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log < 0)
		return err_set(e, -errno, "create %s: %s", logpath, strerror(errno));
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	fflush(out);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_set(e, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(argv[0], argv);
		fprintf(stderr, "critic certify: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	g_child = pid;
	g_signal = 0;
	struct sigaction sa = { .sa_handler = forward_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	int64_t deadline = util_now_ms() + (int64_t)timeout_s * 1000, kill_at = 0;
	char buf[8192];
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int pr = poll(&p, 1, 500);
		if (pr > 0) {
			ssize_t n = read(pfd[0], buf, sizeof buf);
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, out);
				fflush(out);
				if (write(log, buf, (size_t)n) < 0) {
					/* the log is best effort; the run goes on */
				}
				continue;
			}
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break;
		}
		int64_t now = util_now_ms();
		if (!kill_at && now > deadline) {
			fprintf(out, "critic certify: the run passed its deadline of %d s: stopping it\n", timeout_s);
			kill(pid, SIGTERM);
			kill_at = now + 30000;
		} else if (kill_at && now > kill_at) {
			kill(pid, SIGKILL);
			kill_at = INT64_MAX;
		}
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	g_child = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------ environment */

static void json_add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* The OCI runtime binary behind a handler, from containerd's running
 * config: runtimes.<h>.options.BinaryName, else "runc" for runc shims. */
static void oci_runtime_of(const char *running_json, const char *handler, char *bin, size_t len)
{
	bin[0] = '\0';
	json_object *root = running_json ? json_tokener_parse(running_json) : NULL;
	json_object *ctd, *runtimes, *rt, *opts, *v;
	if (root && json_object_object_get_ex(root, "containerd", &ctd) &&
	    json_object_object_get_ex(ctd, "runtimes", &runtimes)) {
		const char *h = handler && *handler ? handler : jstr(ctd, "defaultRuntimeName");
		if (h && json_object_object_get_ex(runtimes, h, &rt)) {
			const char *b = json_object_object_get_ex(rt, "options", &opts) &&
						json_object_object_get_ex(opts, "BinaryName", &v)
					? json_object_get_string(v)
					: NULL;
			const char *type = jstr(rt, "runtimeType");
			if (b && *b)
				snprintf(bin, len, "%s", b);
			else if (type && strstr(type, "runc"))
				snprintf(bin, len, "runc");
		}
	}
	json_object_put(root);
}

static void first_line(const char *s, char *out, size_t len)
{
	size_t n = strcspn(s ? s : "", "\n");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), s ? s : "");
}

/* environment.json: what the run ran on. Facts that cannot be known are
 * null with a note, never guessed. */
static int write_environment(const char *out_dir, const char *report, const char *handler, const char *lab_dir,
			     const char *command, const char *run_command, crit_err *e)
{
	json_object *rep = json_object_from_file(report);
	json_object *run = NULL, *rt = NULL, *host = NULL;
	if (rep && json_object_object_get_ex(rep, "run", &run)) {
		json_object_object_get_ex(run, "runtime", &rt);
		json_object_object_get_ex(run, "host", &host);
	}
	json_object *env = json_object_new_object();
	json_add_str(env, "schema", "critic.environment/v1");
	json_add_str(env, "critic_version", CRITIC_VERSION);
	json_add_str(env, "command", command);
	json_add_str(env, "run_command", run_command);
	json_add_str(env, "endpoint", jstr(run, "endpoint"));
	json_object_object_add(env, "lab", json_object_new_boolean(run && json_object_object_get_ex(run, "lab", NULL) &&
								   json_object_get_boolean(json_object_object_get(run, "lab"))));
	json_add_str(env, "runtime_name", jstr(rt, "name"));
	json_add_str(env, "runtime_version", jstr(rt, "version"));
	json_add_str(env, "cri_api_version", jstr(rt, "api_version"));
	json_add_str(env, "runtime_handler", handler && *handler ? handler : "");

	/* The OCI runtime: ask the runtime which binary the handler runs. */
	char bin[256] = "", ver[256] = "", note[512] = "";
	const char *ep = jstr(run, "endpoint");
	char *running = NULL;
	const prof_runtime *prof = prof_lookup(jstr(rt, "name") ? jstr(rt, "name") : "");
	if (ep) {
		cri_conn *c = NULL;
		crit_err ce;
		err_clear(&ce);
		if (cri_connect(&c, ep, NULL, 5000, &ce) == 0 && prof_running_config(prof, c, 5000, &running, &ce) == 0)
			oci_runtime_of(running, handler, bin, sizeof bin);
		else
			snprintf(note, sizeof note, "%.400s", ce.msg);
		if (c)
			cri_close(c);
	}
	if (bin[0]) {
		char *argv[] = { bin, "--version", NULL }, *o = NULL;
		crit_err re;
		if (util_run(argv, 5000, &o, &re) == 0)
			first_line(o, ver, sizeof ver);
		else
			snprintf(note, sizeof note, "%.60s --version: %.400s", bin, re.msg);
		free(o);
	} else if (!note[0]) {
		snprintf(note, sizeof note, "the runtime's running config does not name the handler's binary");
	}
	json_add_str(env, "oci_runtime", bin[0] ? bin : NULL);
	json_add_str(env, "oci_runtime_version", ver[0] ? ver : NULL);
	if (note[0])
		json_add_str(env, "oci_runtime_note", note);
	free(running);

	struct utsname u;
	char kernel[512] = "";
	if (uname(&u) == 0)
		snprintf(kernel, sizeof kernel, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
	json_add_str(env, "kernel", jstr(host, "kernel") ? jstr(host, "kernel") : kernel);
	json_add_str(env, "cgroup", jstr(host, "cgroup"));
	json_add_str(env, "hostname", jstr(host, "hostname"));

	/* The config the runtime was started with: the lab's own, else the
	 * profile's default path when it is readable here. */
	char cfg[PATH_MAX] = "", hex[65] = "";
	bool is_lab = json_object_get_boolean(json_object_object_get(env, "lab"));
	if (is_lab)
		snprintf(cfg, sizeof cfg, "%s/config.toml", lab_dir);
	else if (prof->config_path)
		snprintf(cfg, sizeof cfg, "%s", prof->config_path);
	crit_err he;
	if (cfg[0] && cert_sha256_file(cfg, hex, &he) == 0) {
		json_add_str(env, "config_path", cfg);
		json_add_str(env, "config_sha256", hex);
	} else {
		json_add_str(env, "config_path", cfg[0] ? cfg : NULL);
		json_add_str(env, "config_sha256", NULL);
		json_add_str(env, "config_note", cfg[0] ? "not readable from where critic ran" : "unknown runtime: no config path");
	}
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_add_str(env, "certified_at", when);

	const char *text = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
									JSON_C_TO_STRING_NOSLASHESCAPE);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/environment.json", out_dir);
	strbuf sb = { 0 };
	sb_printf(&sb, "%s\n", text);
	int rc = util_write_file(path, sb.buf, sb.len, 0644, e);
	sb_free(&sb);
	json_object_put(env);
	json_object_put(rep);
	return rc;
}

/* ------------------------------------------------------------ CLI */

static void shell_quote(strbuf *sb, const char *a)
{
	if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+%") == strlen(a)) {
		sb_printf(sb, "%s", a);
		return;
	}
	sb_append(sb, "'", 1);
	for (const char *p = a; *p; p++)
		if (*p == '\'')
			sb_printf(sb, "'\\''");
		else
			sb_append(sb, p, 1);
	sb_append(sb, "'", 1);
}

static char *join_argv(char *const *argv)
{
	strbuf sb = { 0 };
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_append(&sb, " ", 1);
		shell_quote(&sb, argv[i]);
	}
	return sb.buf ? sb.buf : strdup("");
}

/* The command as the user typed it (before critic's own rewriting). */
static char *own_command(void)
{
	cleanup_free char *text = NULL;
	size_t len;
	crit_err e;
	if (util_read_file("/proc/self/cmdline", &text, &len, &e) < 0 || !len)
		return strdup("critic certify");
	strbuf sb = { 0 };
	for (size_t i = 0; i < len;) {
		if (i)
			sb_append(&sb, " ", 1);
		shell_quote(&sb, text + i);
		i += strlen(text + i) + 1;
	}
	return sb.buf;
}

static const char certify_help[] =
	"Usage: critic certify --profile NAME|FILE --out DIR [options]\n"
	"       critic certify --verify DIR\n"
	"       critic certify --list-profiles\n\n"
	"A certification run: runs the profile's tests and scenarios with `critic run`\n"
	"and writes a bundle to DIR (which must not exist or be empty):\n"
	"  junit.xml, report.json, report.html  the run in the machine formats\n"
	"  run.log            everything the run printed\n"
	"  environment.json   runtime name and version, CRI API version, OCI runtime\n"
	"                     and version, kernel, cgroup version, config.toml sha256,\n"
	"                     critic's version and the exact command\n"
	"  profile.yaml       the profile as it was used\n"
	"  verdict.txt        one line: PROFILE: PASS|FAIL: counts, then any problem\n"
	"  MANIFEST.sha256    sha256 of every file (sha256sum -c reads it too)\n\n"
	"Profiles are data (profiles/*.yaml): which tests and scenarios, and which\n"
	"skips are acceptable (test regex + reason regex). A profile passes when no\n"
	"test or scenario failed and every skip is one it allows.\n\n"
	"Options:\n"
	"  --profile NAME|FILE   conformance, resilience, full, or a profile file\n"
	"  --out DIR             where the bundle goes\n"
	"  --runtime-handler H   run pods with this runtime handler\n"
	"  --allow-disruptive    let scenarios break a runtime that is not critic's lab\n"
	"  --registry-prefix P, --images-file F   test images for a runtime that is not\n"
	"                        the lab (see critic images serve)\n"
	"  --runtime-pid, --runtime-pidfile, --runtime-start, --runtime-stop\n"
	"                        how scenarios stop and start a runtime that is not the lab\n"
	"  --verify DIR          recompute every sha256 of a bundle; exit 1 on any\n"
	"                        changed, missing or added file\n"
	"  --list-profiles       the profiles critic ships, with their descriptions\n"
	"Global options (-r, -i, -t, --config, --dir) select the endpoint as for run;\n"
	"all of these are handed to `critic run` as given.\n"
	"Exit: 0 the profile passed (or the bundle verified), 1 it failed, 2 usage,\n"
	"3 endpoint unreachable, 128+N interrupted by signal N (partial bundle kept).\n";

static int list_profiles(void)
{
	char dir[PATH_MAX - 300];
	crit_err e;
	if (cert_profiles_dir(dir, sizeof dir, &e) < 0) {
		fprintf(stderr, "critic certify: %s\n", e.msg);
		return 2;
	}
	char **files;
	size_t n;
	if (list_files(dir, &files, &n, NULL, NULL, &e) < 0) {
		fprintf(stderr, "critic certify: %s\n", e.msg);
		return 2;
	}
	printf("profiles in %s:\n", dir);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(files[i]);
		if (l < 6 || strcmp(files[i] + l - 5, ".yaml"))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		cert_profile p;
		if (cert_profile_load(path, &p, &e) < 0) {
			fprintf(stderr, "critic certify: %s\n", e.msg);
			rc = 2;
			continue;
		}
		printf("  %-12s %s\n", p.name, p.description ? p.description : "");
		cert_profile_free(&p);
	}
	free_list(files, n);
	return rc;
}

static int do_verify(const char *dir)
{
	crit_err e;
	err_clear(&e);
	size_t n = 0;
	int rc = cert_verify(dir, stdout, &n, &e);
	if (rc < 0) {
		fprintf(stderr, "critic certify --verify: %s\n", e.msg);
		return 2;
	}
	char vp[PATH_MAX];
	snprintf(vp, sizeof vp, "%s/verdict.txt", dir);
	cleanup_free char *verdict = NULL;
	size_t vl;
	char line[512] = "";
	if (util_read_file(vp, &verdict, &vl, &e) == 0)
		first_line(verdict, line, sizeof line);
	if (rc > 0) {
		printf("%s: %d problem%s: the bundle is not as certified\n", dir, rc, rc == 1 ? "" : "s");
		return 1;
	}
	printf("%s: all %zu files match the manifest%s%s\n", dir, n, line[0] ? "; verdict: " : "", line);
	return 0;
}

/* Is dir absent or empty? Create it. */
static int prepare_out(const char *dir, crit_err *e)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				closedir(d);
				return err_set(e, -EEXIST,
					       "--out %s is not empty: a bundle holds only what one run wrote "
					       "(give a new directory)", dir);
			}
		closedir(d);
		return 0;
	}
	return util_mkdir_p(dir, 0755, e);
}

int certify_cli_main(int argc, char **argv)
{
	enum { O_PROFILE = 256, O_OUT, O_VERIFY, O_LIST, O_HANDLER, O_ALLOW, O_CONFIG, O_DIR, O_NOCOLOR, O_RT_PID,
	       O_RT_PIDFILE, O_RT_START, O_RT_STOP, O_PREFIX, O_IMAGES };
	static const struct option longopts[] = {
		{ "profile", required_argument, 0, O_PROFILE },
		{ "out", required_argument, 0, O_OUT },
		{ "verify", required_argument, 0, O_VERIFY },
		{ "list-profiles", no_argument, 0, O_LIST },
		{ "runtime-handler", required_argument, 0, O_HANDLER },
		{ "allow-disruptive", no_argument, 0, O_ALLOW },
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "timeout", required_argument, 0, 't' },
		{ "config", required_argument, 0, O_CONFIG },
		{ "dir", required_argument, 0, O_DIR },
		{ "no-color", no_argument, 0, O_NOCOLOR },
		{ "runtime-pid", required_argument, 0, O_RT_PID },
		{ "runtime-pidfile", required_argument, 0, O_RT_PIDFILE },
		{ "runtime-start", required_argument, 0, O_RT_START },
		{ "runtime-stop", required_argument, 0, O_RT_STOP },
		{ "registry-prefix", required_argument, 0, O_PREFIX },
		{ "images-file", required_argument, 0, O_IMAGES },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *profile = NULL, *out = NULL, *verify = NULL, *handler = NULL, *lab_dir = NULL;
	bool list = false, allow = false;
	/* Endpoint, image and runtime-control options go to `critic run` as given. */
	char *pass[32];
	int npass = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "r:i:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_PROFILE: profile = optarg; break;
		case O_OUT: out = optarg; break;
		case O_VERIFY: verify = optarg; break;
		case O_LIST: list = true; break;
		case O_HANDLER: handler = optarg; break;
		case O_ALLOW: allow = true; break;
		case 'r': pass[npass++] = "--runtime-endpoint"; pass[npass++] = optarg; break;
		case 'i': pass[npass++] = "--image-endpoint"; pass[npass++] = optarg; break;
		case 't': pass[npass++] = "--timeout"; pass[npass++] = optarg; break;
		case O_CONFIG: pass[npass++] = "--config"; pass[npass++] = optarg; break;
		case O_DIR: lab_dir = optarg; pass[npass++] = "--dir"; pass[npass++] = optarg; break;
		case O_NOCOLOR: pass[npass++] = "--no-color"; break;
		case O_RT_PID: pass[npass++] = "--runtime-pid"; pass[npass++] = optarg; break;
		case O_RT_PIDFILE: pass[npass++] = "--runtime-pidfile"; pass[npass++] = optarg; break;
		case O_RT_START: pass[npass++] = "--runtime-start"; pass[npass++] = optarg; break;
		case O_RT_STOP: pass[npass++] = "--runtime-stop"; pass[npass++] = optarg; break;
		case O_PREFIX: pass[npass++] = "--registry-prefix"; pass[npass++] = optarg; break;
		case O_IMAGES: pass[npass++] = "--images-file"; pass[npass++] = optarg; break;
		case 'h': fputs(certify_help, stdout); return 0;
		default: fprintf(stderr, "critic certify: see critic certify --help\n"); return 2;
		}
		if (npass > 28) {
			fprintf(stderr, "critic certify: too many endpoint options (one given twice?)\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic certify: unexpected '%s' (see critic certify --help)\n", argv[optind]);
		return 2;
	}
	if (list)
		return list_profiles();
	if (verify)
		return do_verify(verify);
	if (!profile || !out) {
		fprintf(stderr, "critic certify: give --profile NAME and --out DIR (or --verify DIR; see --help)\n");
		return 2;
	}
	crit_err e;
	err_clear(&e);
	cert_profile p;
	if (cert_profile_load(profile, &p, &e) < 0) {
		fprintf(stderr, "critic certify: %s\n", e.msg);
		return 2;
	}
	int rc = 2;
	/* critic, up to 30 passed words, run and its 14 options, the scenarios, NULL */
	char **argvr = calloc(48 + p.n_scenarios, sizeof *argvr);
	int n = 0;
	char exe[PATH_MAX], junit[PATH_MAX], json[PATH_MAX], html[PATH_MAX], logp[PATH_MAX], copy[PATH_MAX],
		vpath[PATH_MAX];
	char *command = NULL, *run_command = NULL, *problems = NULL;
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (!argvr) {
		fprintf(stderr, "critic certify: out of memory\n");
		goto out;
	}
	if (el <= 0) {
		fprintf(stderr, "critic certify: cannot find critic's own binary: %s\n", strerror(errno));
		goto out;
	}
	exe[el] = '\0';
	if (prepare_out(out, &e) < 0) {
		fprintf(stderr, "critic certify: %s\n", e.msg);
		goto out;
	}
	snprintf(junit, sizeof junit, "%s/junit.xml", out);
	snprintf(json, sizeof json, "%s/report.json", out);
	snprintf(html, sizeof html, "%s/report.html", out);
	snprintf(logp, sizeof logp, "%s/run.log", out);
	snprintf(copy, sizeof copy, "%s/profile.yaml", out);
	snprintf(vpath, sizeof vpath, "%s/verdict.txt", out);
	{
		cleanup_free char *ptext = NULL;
		size_t plen;
		if (util_read_file(p.path, &ptext, &plen, &e) < 0 || util_write_file(copy, ptext, plen, 0644, &e) < 0) {
			fprintf(stderr, "critic certify: %s\n", e.msg);
			goto out;
		}
	}
	argvr[n++] = exe;
	for (int i = 0; i < npass; i++)
		argvr[n++] = pass[i];
	argvr[n++] = "run";
	argvr[n++] = "--junit";
	argvr[n++] = junit;
	argvr[n++] = "--json";
	argvr[n++] = json;
	argvr[n++] = "--html";
	argvr[n++] = html;
	if (handler) {
		argvr[n++] = "--runtime-handler";
		argvr[n++] = (char *)handler;
	}
	if (p.run_tests) {
		if (p.focus) {
			argvr[n++] = "--focus";
			argvr[n++] = p.focus;
		}
		if (p.skip) {
			argvr[n++] = "--skip";
			argvr[n++] = p.skip;
		}
		if (p.extended)
			argvr[n++] = "--extended";
	}
	if (p.n_scenarios) {
		/* The scenario names come last: `run` takes its words as scenarios. */
		argvr[n++] = p.run_tests ? "--scenarios" : "--scenarios-only";
	}
	if (allow)
		argvr[n++] = "--allow-disruptive";
	for (size_t i = 0; i < p.n_scenarios; i++)
		argvr[n++] = p.scenarios[i];
	argvr[n] = NULL;
	command = own_command();
	run_command = join_argv(argvr);
	printf("critic certify: profile %s (%s) into %s\n", p.name, p.path, out);
	printf("critic certify: %s\n", run_command);
	int64_t t0 = util_now_ms();
	int st = run_tee(argvr, logp, p.timeout_s, stdout, &e);
	if (st < 0) {
		fprintf(stderr, "critic certify: %s\n", e.msg);
		goto out;
	}
	if (write_environment(out, json, handler, lab_dir ? lab_dir : lab_default_dir(), command, run_command, &e) < 0)
		fprintf(stderr, "critic certify: environment: %s\n", e.msg);

	/* The verdict: from the report, and from how the run ended. */
	char summary[512];
	bool ok = false;
	strbuf vb = { 0 };
	if (st == 0 || st == 1) {
		if (cert_judge(&p, json, &ok, summary, sizeof summary, &problems, &e) < 0)
			snprintf(summary, sizeof summary, "ERROR: %.400s", e.msg);
	} else if (st > 128) {
		snprintf(summary, sizeof summary, "INTERRUPTED: the run was stopped by signal %d (partial results)",
			 st - 128);
	} else {
		snprintf(summary, sizeof summary, "ERROR: critic run ended with exit %d (%s); see run.log", st,
			 st == 3 ? "endpoint unreachable" : st == 2 ? "usage or configuration error" : "failure");
	}
	sb_printf(&vb, "%s: %s\n", p.name, summary);
	if (problems)
		sb_printf(&vb, "%s", problems);
	if (util_write_file(vpath, vb.buf, vb.len, 0644, &e) < 0)
		fprintf(stderr, "critic certify: %s\n", e.msg);
	sb_free(&vb);
	size_t nfiles = 0;
	if (cert_write_manifest(out, &nfiles, &e) < 0) {
		fprintf(stderr, "critic certify: manifest: %s\n", e.msg);
		goto out;
	}
	printf("\ncritic certify: %s: %s (%.1f s)\n", p.name, summary, (double)(util_now_ms() - t0) / 1000.0);
	if (problems)
		printf("%s", problems);
	printf("critic certify: bundle %s: %zu files, manifest %s/" MANIFEST " (check: critic certify --verify %s)\n",
	       out, nfiles, out, out);
	rc = st > 128 ? st : st == 3 ? 3 : st == 2 ? 2 : ok ? 0 : 1;
out:
	free(argvr);
	free(command);
	free(run_command);
	free(problems);
	cert_profile_free(&p);
	return rc;
}
