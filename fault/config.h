/* fault/config: patch a runtime's config.toml (add or remove a runtime handler, set a key) keeping
 * every other byte as it was, with a backup restored byte for byte; and tell drift from the running config. */
#ifndef CRITIC_FAULT_CONFIG_H
#define CRITIC_FAULT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * The reader is line-oriented: it knows table headers ([a."b.c".d] and
 * [[arrays]]), key = value lines (bare, "basic" and 'literal' keys, dotted
 * keys), every TOML value (strings of all four kinds, numbers, booleans,
 * dates, arrays over several lines, inline tables) and comments, and keeps
 * the byte span of each line and value. An edit replaces or inserts whole
 * lines (or one value's bytes) and leaves every other byte alone: comments,
 * order, blank lines, indentation, quoting and CRLF line ends survive.
 *
 * A syntax error is reported as "FILE:LINE:COL: message". What the editor
 * will not touch (a table defined by dotted keys or an inline table rather
 * than its own [header], an array of tables on the path) is refused as
 * "FILE:LINE: unsupported: ..." and nothing is written.
 */

/* ------------------------------------------------------------ values */

typedef enum fault_cfg_type {
	FAULT_CFG_NONE = 0,
	FAULT_CFG_STRING,   /* any of the four string forms */
	FAULT_CFG_INT,
	FAULT_CFG_FLOAT,
	FAULT_CFG_BOOL,
	FAULT_CFG_DATETIME, /* kept as text */
	FAULT_CFG_ARRAY,    /* not decoded: only its bytes are known */
	FAULT_CFG_TABLE,    /* an inline table, likewise */
} fault_cfg_type;

typedef struct fault_cfg_value {
	fault_cfg_type type;
	const char *s;      /* STRING (decoded) or DATETIME text; owned by the document */
	long long i;
	double f;
	bool b;
	int line;           /* where it is in the file (1-based); 0 for values given by a caller */
} fault_cfg_value;

/* Sugar for callers: FAULT_CFG_STR("x"), FAULT_CFG_BOOLV(true), FAULT_CFG_INTV(3). */
#define FAULT_CFG_STR(v) ((fault_cfg_value){ .type = FAULT_CFG_STRING, .s = (v) })
#define FAULT_CFG_BOOLV(v) ((fault_cfg_value){ .type = FAULT_CFG_BOOL, .b = (v) })
#define FAULT_CFG_INTV(v) ((fault_cfg_value){ .type = FAULT_CFG_INT, .i = (v) })

/* ------------------------------------------------------------ documents */

typedef struct fault_cfg_doc fault_cfg_doc;

/* Parse text (len bytes, need not be NUL-terminated); name is used in
 * messages ("FILE:LINE:COL: ..."). The document keeps its own copy. */
int fault_cfg_parse(const char *name, const char *text, size_t len, fault_cfg_doc **out, crit_err *e);
int fault_cfg_load(const char *path, fault_cfg_doc **out, crit_err *e);
void fault_cfg_free(fault_cfg_doc *d);

/* The document's current bytes (after edits). */
const char *fault_cfg_text(const fault_cfg_doc *d, size_t *len);
/* The config's `version` key (containerd: 1 when absent, 2, 3). */
int fault_cfg_version(const fault_cfg_doc *d);

/* The table of containerd's CRI plugin that holds `containerd.runtimes`,
 * as TOML key text for this document's version:
 *   1: plugins.cri   2: plugins."io.containerd.grpc.v1.cri"
 *   3: plugins."io.containerd.cri.v1.runtime" */
const char *fault_cfg_cri_table(const fault_cfg_doc *d);

/* Look a key up: table is TOML key text ("plugins.\"io.containerd.grpc.v1.cri\".cni",
 * "" for the root table), key one plain key name. Keys set through dotted
 * keys or inline tables are found too. Returns 0 and fills v, -ENOENT when
 * absent, -EINVAL for a bad table text. */
int fault_cfg_get(const fault_cfg_doc *d, const char *table, const char *key, fault_cfg_value *v, crit_err *e);

/* Runtime handlers the file configures (containerd.runtimes.NAME tables,
 * in file order). names[i] are owned by the document. */
size_t fault_cfg_handlers(const fault_cfg_doc *d, const char **names, size_t max);

/* ------------------------------------------------------------ edits (in memory) */

typedef struct fault_cfg_handler {
	const char *name;          /* the runtime handler name pods ask for */
	const char *runtime_type;  /* NULL = "io.containerd.runc.v2" */
	const char *binary_name;   /* options.BinaryName; NULL = no [.options] table */
	const char *root;          /* options.Root; NULL = not set */
} fault_cfg_handler;

/* Add [CRI.containerd.runtimes.NAME] (runtime_type) and, with a binary,
 * [CRI.containerd.runtimes.NAME.options] (BinaryName, Root), placed after
 * the handlers already there and indented like them. -EEXIST when the
 * handler is configured already. */
int fault_cfg_doc_add_handler(fault_cfg_doc *d, const fault_cfg_handler *h, crit_err *e);
/* Remove the handler's tables (and its subtables, e.g. .options) with the
 * blank line that precedes each: undoes fault_cfg_doc_add_handler exactly.
 * -ENOENT when the file does not configure it, -EBUSY when it is the
 * default_runtime_name (containerd would not start without it). */
int fault_cfg_doc_remove_handler(fault_cfg_doc *d, const char *name, crit_err *e);
/* Set key in table (TOML key text, "" = root) to v (STRING, BOOL or INT).
 * An existing value is replaced in place (key spelling, spacing, comment and
 * a literal string's quotes kept when the new value allows them); a new key
 * goes after the table's last key; a missing table is created after its
 * nearest relative. */
int fault_cfg_doc_set(fault_cfg_doc *d, const char *table, const char *key, const fault_cfg_value *v,
		      crit_err *e);

/* ------------------------------------------------------------ patching files */

typedef struct fault_cfg_opts {
	/* The backup is FILE.critic-backup-RUN_ID ([A-Za-z0-9._-]);
	 * NULL = "PID-SECONDS". */
	const char *run_id;
	/* Patching a file that is not a critic lab's config.toml (a lab dir
	 * holds critic's lab.state next to it) is refused without this. */
	bool allow_disruptive;
} fault_cfg_opts;

/* What a patch left to undo. Zero it before the first patch; several
 * patches of one file share it (the backup keeps the original). */
typedef struct fault_cfg_backup {
	char path[PATH_MAX];   /* the patched file, as named */
	char backup[PATH_MAX]; /* FILE.critic-backup-RUN_ID */
	bool active;           /* a backup waits to be restored */
} fault_cfg_backup;

/* Each patch: check the file (a regular file, not a symlink; in a lab or
 * allow_disruptive), parse it, edit it in memory, write the backup (same
 * mode, owner and times as the file) unless b already holds one, then
 * replace the file atomically (same mode and owner). A failure leaves the
 * file untouched and removes a backup made by this call. */
int fault_cfg_add_handler(const char *path, const fault_cfg_handler *h, const fault_cfg_opts *o,
			  fault_cfg_backup *b, crit_err *e);
int fault_cfg_remove_handler(const char *path, const char *name, const fault_cfg_opts *o, fault_cfg_backup *b,
			     crit_err *e);
int fault_cfg_set_key(const char *path, const char *table, const char *key, const fault_cfg_value *v,
		      const fault_cfg_opts *o, fault_cfg_backup *b, crit_err *e);

/* Put the backup back (a rename: bytes, mode, owner and mtime as before the
 * first patch). 0 when there is nothing to restore. */
int fault_cfg_restore(fault_cfg_backup *b, crit_err *e);

/* Backups beside path left by earlier runs (FILE.critic-backup-*): their
 * count, the first one's full path in first (may be NULL). */
int fault_cfg_find_backups(const char *path, char *first, size_t len);

/* True when path is the config.toml of a critic lab (critic's lab.state
 * beside it). */
bool fault_cfg_in_lab(const char *path);

/* ------------------------------------------------------------ drift */

/* One way the file and the running runtime disagree. */
typedef struct fault_cfg_diff {
	char what[200];    /* "handler nvidia-like", "cni.conf_dir", "handler runc: options.BinaryName" */
	char file[256];    /* the file's value ("(absent)" when the file lacks it) */
	char running[256]; /* the runtime's ("(absent)" when it lacks it) */
	int line;          /* in the file, 0 when absent there */
} fault_cfg_diff;

typedef struct fault_cfg_drift {
	char path[PATH_MAX];
	int compared;            /* values compared */
	fault_cfg_diff *diffs;
	size_t n_diffs;
	char **file_handlers;    /* what the file configures */
	size_t n_file_handlers;
	char **run_handlers;     /* what the runtime has loaded */
	size_t n_run_handlers;
	int64_t mtime_ns, ctime_ns; /* of the file, wall clock */
	int64_t start_ns;        /* the runtime's start, wall clock; 0 = unknown */
	bool changed_after_start; /* mtime later than the runtime's start */
	bool restart_needed;
	char verdict[300];       /* one line */
	char notes[600];         /* what was not compared, and why */
} fault_cfg_drift;

/* Compare d with containerd's running CRI config (the JSON its verbose
 * Status reports under "config"): the handlers (names, runtime_type,
 * runtime_path, options.*) and the keys critic maps (sandbox_image,
 * snapshotter, default_runtime_name, cni dirs, …). Keys the file lacks are
 * not compared (the runtime uses its defaults there); a file without any
 * handler expects containerd's built-in "runc". Adds to r->diffs. */
int fault_cfg_drift_compare(const fault_cfg_doc *d, const char *running_json, fault_cfg_drift *r, crit_err *e);
/* The file's mtime/ctime and the start time of pid (/proc/PID/stat start
 * time against the boot clock); pid 0 leaves start_ns 0. */
int fault_cfg_drift_times(const char *path, pid_t pid, fault_cfg_drift *r, crit_err *e);
/* Set restart_needed and verdict from what compare and times found. With
 * differences: "config.toml changed after the runtime started: restart
 * needed" (or, for a file older than the runtime, that the runtime runs
 * another config); with none but a newer mtime the same, noting that the
 * compared keys match; else "the runtime runs with config.toml as on disk". */
void fault_cfg_drift_verdict(fault_cfg_drift *r);
/* All three: load path, compare with running_json, times of pid, verdict. */
int fault_cfg_drift_check(const char *path, const char *running_json, pid_t pid, fault_cfg_drift *r,
			  crit_err *e);
void fault_cfg_drift_free(fault_cfg_drift *r);

/* Wall-clock start time of a process in ns (0 when unknown). */
int64_t fault_cfg_proc_start_ns(pid_t pid);

#endif
