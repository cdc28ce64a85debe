/* sonobuoy: hand critic's results to Sonobuoy the way its plugins do — a results
 * tarball in the plugin's results dir and a `done` file naming it. */
#include "sonobuoy.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/rep.h"
#include "util.h"

static int write_error_junit(const char *path, int run_rc, const char *error, crit_err *e)
{
	strbuf sb = { 0 };
	sb_printf(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		       "<testsuites name=\"critic\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
		       "  <testsuite name=\"critic\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\">\n"
		       "    <testcase classname=\"critic\" name=\"critic/run\" time=\"0\">\n"
		       "      <error message=\"critic run ended with exit %d before its first test\">",
		  run_rc);
	rep_xml_escape(&sb, error && *error ? error : "no detail: see the plugin's log", false);
	sb_printf(&sb, "</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n");
	int rc = util_write_file(path, sb.buf, sb.len, 0644, e);
	sb_free(&sb);
	return rc;
}

int sonobuoy_finish(const char *dir, const char *const files[], size_t n, int run_rc, const char *error,
		    crit_err *e)
{
	int rc = util_mkdir_p(dir, 0755, e);
	if (rc < 0)
		return rc;
	char fallback[PATH_MAX];
	snprintf(fallback, sizeof fallback, "%s/critic-junit.xml", dir);
	/* tar czf DIR/critic-results.tar.gz -C D1 F1 -C D2 F2 … */
	char tarball[PATH_MAX];
	snprintf(tarball, sizeof tarball, "%s/critic-results.tar.gz", dir);
	char **argv = calloc(4 + 3 * (n + 1) + 1, sizeof *argv);
	char **owned = calloc(2 * (n + 1), sizeof *owned);
	if (!argv || !owned) {
		free(argv);
		free(owned);
		return -ENOMEM;
	}
	size_t a = 0, o = 0;
	argv[a++] = "tar";
	argv[a++] = "czf";
	argv[a++] = tarball;
	const char *const one[] = { fallback };
	bool none = true;
	for (size_t i = 0; i < n; i++)
		if (files[i] && util_exists(files[i]))
			none = false;
	if (none) {
		if ((rc = write_error_junit(fallback, run_rc, error, e)) < 0)
			goto out;
		files = one;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!files[i] || !util_exists(files[i]))
			continue;
		char *d = strdup(files[i]), *b = strdup(files[i]);
		if (!d || !b) {
			free(d);
			free(b);
			rc = -ENOMEM;
			goto out;
		}
		owned[o++] = d;
		owned[o++] = b;
		argv[a++] = "-C";
		argv[a++] = dirname(d);
		argv[a++] = basename(b);
	}
	argv[a] = NULL;
	char *out = NULL;
	crit_err te;
	err_clear(&te);
	const char *handed = tarball;
	if (util_run(argv, 60000, &out, &te) != 0) {
		/* No tar on this image: the JUnit file alone still tells Sonobuoy. */
		fprintf(stderr, "critic: sonobuoy: tar failed (%s): handing over the JUnit file alone\n",
			out && *out ? out : te.msg);
		handed = none ? fallback : NULL;
		for (size_t i = 0; !handed && i < n; i++) {
			size_t l = files[i] ? strlen(files[i]) : 0;
			if (l > 4 && !strcmp(files[i] + l - 4, ".xml") && util_exists(files[i]))
				handed = files[i];
		}
		if (!handed) {
			if ((rc = write_error_junit(fallback, run_rc, "tar failed and no JUnit report exists", e)) < 0) {
				free(out);
				goto out;
			}
			handed = fallback;
		}
	}
	free(out);
	/* done last, in one write and rename: the worker reads it once. */
	char done[PATH_MAX], tmp[PATH_MAX + 8];
	snprintf(done, sizeof done, "%s/done", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", done);
	if ((rc = util_write_file(tmp, handed, strlen(handed), 0644, e)) == 0 && rename(tmp, done) < 0)
		rc = err_set(e, -errno, "rename %s: %s", done, strerror(errno));
out:
	for (size_t i = 0; i < o; i++)
		free(owned[i]);
	free(owned);
	free(argv);
	return rc;
}
