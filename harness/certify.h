/* certify: a certification run written as a bundle — the profile's tests and scenarios run
 * by `critic run`, the environment they ran in, a verdict line, and a sha256 manifest. */
#ifndef CRITIC_CERTIFY_H
#define CRITIC_CERTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* A skip a profile accepts: a test (or "scenario/NAME") matching `test`
 * whose skip reason matches `reason` (both POSIX extended regexes). */
typedef struct cert_skip_rule {
	char *test, *reason;
	char *why; /* the profile's explanation, may be NULL */
} cert_skip_rule;

/* A profile, as profiles/NAME.yaml defines it. */
typedef struct cert_profile {
	char *path;
	char *name, *description;
	bool run_tests;        /* `tests:` present and not `false` */
	char *focus, *skip;    /* NULL = no filter */
	bool extended;
	char **scenarios;      /* library names or "all"; none = no scenarios */
	size_t n_scenarios;
	cert_skip_rule *allowed;
	size_t n_allowed;
	int timeout_s;         /* the whole run; default 3600 */
} cert_profile;

/* Where profiles live: $CRITIC_PROFILES_DIR, else <critic's dir>/../profiles. */
int cert_profiles_dir(char *dir, size_t len, crit_err *e);
/* Load NAME (from the profiles dir) or a FILE path (contains '/' or ends in
 * .yaml). Errors name the file and line. */
int cert_profile_load(const char *name_or_path, cert_profile *p, crit_err *e);
void cert_profile_free(cert_profile *p);

/* The rule accepting a skip of test with reason, or NULL. */
const cert_skip_rule *cert_skip_allowed(const cert_profile *p, const char *test, const char *reason);

/* Judge a critic.run JSON report against p: 0 with *pass and a one-line
 * summary ("PASS: 120 passed, 3 skipped as the profile allows"), and every
 * problem one per line in problems (heap, NULL when none). */
int cert_judge(const cert_profile *p, const char *report_json_path, bool *pass, char *summary, size_t slen,
	       char **problems, crit_err *e);

/* sha256 of a file as 64 hex digits. */
int cert_sha256_file(const char *path, char hex[65], crit_err *e);
/* Write DIR/MANIFEST.sha256 (sha256sum's format) over every regular file
 * in dir except the manifest itself. */
int cert_write_manifest(const char *dir, size_t *n_files, crit_err *e);
/* Check DIR against its manifest: 0 when every file matches and none is
 * missing or extra; otherwise > 0 problems, each printed to f. < 0: no
 * usable manifest. */
int cert_verify(const char *dir, FILE *f, size_t *n_files, crit_err *e);

/* `critic certify ...`: argv[0] is "certify". */
int certify_cli_main(int argc, char **argv);

#endif
