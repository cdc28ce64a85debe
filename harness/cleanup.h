/* cleanup: find what critic left on a runtime (pods and containers labelled
 * critic.io/owner=critic, their per-run log dirs) and remove only that. */
#ifndef CRITIC_CLEANUP_H
#define CRITIC_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cri.h"
#include "err.h"

#define CLEANUP_LOG_ROOT "/var/log/critic" /* pods' log dirs: ROOT/<run-id>/<pod uid> */
#define CLEANUP_STOP_TIMEOUT_S 2           /* StopContainer grace before SIGKILL */

typedef enum cleanup_kind { CLEANUP_CONTAINER, CLEANUP_POD, CLEANUP_LOGDIR } cleanup_kind;

/* One thing critic would remove. Strings are "" when unknown. */
typedef struct cleanup_item {
	cleanup_kind kind;
	char id[80];        /* pod or container id; "" for a log dir */
	char pod_id[80];    /* a container's pod */
	char name[128];     /* metadata name; the path for a log dir */
	char run_id[64];    /* critic.io/run-id */
	char test[128];     /* critic.io/test */
	int64_t created_ns; /* 0 = unknown (log dirs: their mtime) */
	char skip[256];     /* not to be removed, and why ("" = remove it) */
	bool done;          /* removed (set by cleanup_apply) */
} cleanup_item;

typedef struct cleanup_plan {
	cleanup_item *items; /* containers, then pods, then log dirs */
	size_t n;
} cleanup_plan;

/* List what carries critic's owner label (and run_id's run label when
 * run_id is not NULL) on the runtime behind c, plus the log dirs
 * log_root/<run-id> of those runs (log_root NULL = CLEANUP_LOG_ROOT; the
 * run_id's own dir even when no object of it is left). Labels are checked
 * here again, so a runtime that ignores the label filter still cannot make
 * critic touch a foreign object. A critic pod holding a container without
 * critic's label is listed with skip set, never removed. */
int cleanup_find(cri_conn *c, const char *run_id, const char *log_root, cleanup_plan *plan, crit_err *e);

/* Stop and remove the plan's containers, then pods, then the log dirs of
 * runs whose every object went (NOT_FOUND counts as gone). Prints one line
 * per removal and per failure to out (may be NULL). Returns 0 when all went,
 * 1 when something failed or was skipped, < 0 when the runtime could not be
 * reached at all. */
int cleanup_apply(cri_conn *c, cleanup_plan *plan, FILE *out, crit_err *e);

/* The plan as a table: KIND ID NAME RUN-ID TEST AGE. */
void cleanup_print(const cleanup_plan *plan, FILE *out, int64_t now_ns);
void cleanup_plan_free(cleanup_plan *plan);

/* True when s is usable as a single path component named by a label (run id):
 * not empty, not "." or "..", only [A-Za-z0-9._-], at most 63 bytes. */
bool cleanup_safe_name(const char *s);

/* `critic cleanup [--run-id ID] [--dry-run]`: argv[0] is "cleanup". Returns
 * 0 ok, 1 something not removed, 2 usage, 3 endpoint unreachable. */
int cleanup_cli_main(int argc, char **argv);

#endif
