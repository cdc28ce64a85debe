/* runlib: the scenarios of `critic run --scenarios`. Each runs in a forked child (the run's
 * process never uses gRPC itself); its steps and kubelet-model timeline come back for the reports. */
#ifndef CRITIC_RUNLIB_H
#define CRITIC_RUNLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "reports/rep.h"
#include "scn.h"
#include "tst.h"

typedef struct runlib_opts {
	const char *endpoint;        /* NULL: critic's lab in lab_dir */
	const char *image_endpoint;  /* NULL: the runtime endpoint */
	const char *lab_dir;         /* NULL: the default lab dir */
	bool allow_disruptive;       /* disruptive scenarios outside the lab */
	/* How to find, stop and start a runtime that is not the lab's (as
	 * `critic scenario run` takes them); 0 / NULL = not given. */
	pid_t runtime_pid;
	const char *runtime_pidfile, *runtime_start, *runtime_stop;
	int timeout_ms;              /* default CRI deadline; 0 = CRI's default */
	const char *run_id;          /* labels of everything the scenarios create */
	bool color;
	FILE *out;                   /* each scenario's lines; NULL = stdout */
	/* Beyond a scenario's own `timeout:` (10 min when it has none) before
	 * it is interrupted, and again before it is killed; 0 = 60 s. */
	int grace_ms;
} runlib_opts;

/* The files `--scenarios` names: no word or "all" = the library, a
 * directory = its *.yaml (sorted), a file as given. Free with scn_paths_free. */
int runlib_resolve(char *const *args, size_t n, char ***paths, size_t *n_paths, crit_err *e);

/* Check every file without running anything; problems go to d. Returns
 * how many files have errors. */
int runlib_check(char *const *paths, size_t n, scn_diags *d);

/* Without conformance tests (--scenarios-only): the run's metadata as the
 * runner fills it, and the runtime's Version reply asked from a child
 * within timeout_ms. -ERR_UNREACHABLE when the endpoint does not answer. */
int runlib_preflight(const tst_env *env, tst_meta *m, crit_err *e);

/* Run the files in order, one child each, and append one entry per file to
 * out (also for files that could not run: FAIL with the reason). SIGINT and
 * SIGTERM are passed to the running scenario, which ends its step, runs its
 * finally and its cleanup; the rest are SKIP "interrupted" and *sig is set.
 * Returns 0, or < 0 when nothing could be run (e filled). */
int runlib_run(const runlib_opts *o, char *const *paths, size_t n, rep_scn_set *out, int *sig, crit_err *e);

#endif
