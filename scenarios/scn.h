/* scn: critic's YAML scenario language. A scenario breaks the runtime on purpose in steps
 * (CRI calls, faults, waits, expectations) and asserts what the runtime and the kubelet do. */
#ifndef CRITIC_SCN_H
#define CRITIC_SCN_H

#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "fault/config.h"
#include "fault/sockfile.h"
#include "kube.h"
#include "lab.h"

/* ------------------------------------------------------------ diagnostics */

/* Positions are 1-based (libyaml's marks + 1); 0 = unknown. */
typedef struct scn_pos {
	int line, col;
} scn_pos;

/* One problem found in a file: printed as "file:line:col: message". */
typedef struct scn_diag {
	char *file;
	scn_pos pos;
	char *msg;
} scn_diag;

typedef struct scn_diags {
	scn_diag *v;
	size_t n, cap;
} scn_diags;

void scn_diag_add(scn_diags *d, const char *file, scn_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* One line per diagnostic, in the order found. */
void scn_diags_print(const scn_diags *d, FILE *f);
void scn_diags_free(scn_diags *d);

/* ------------------------------------------------------------ the YAML tree */

typedef enum scn_node_kind { SCN_SCALAR, SCN_MAP, SCN_SEQ } scn_node_kind;

/* A YAML node with its position. Maps keep their keys in file order (keys
 * are scalar nodes, so their positions are known too); sequences use vals. */
typedef struct scn_node scn_node;
struct scn_node {
	scn_node_kind kind;
	scn_pos pos;
	char *str;        /* SCALAR: the text */
	bool plain;       /* SCALAR: unquoted, so it may be null, a bool or a number */
	bool verbatim;    /* SCALAR: its text stands as it is on one line of the file (no escapes,
			   * no folding), so a character offset in str is a column offset */
	size_t n;
	scn_node **keys;  /* MAP */
	scn_node **vals;  /* MAP values, SEQ items */
};

/* The value of key in a map node, or NULL (also when m is not a map). */
scn_node *scn_map_get(const scn_node *m, const char *key);
/* A plain empty scalar, "~" or "null". */
bool scn_node_is_null(const scn_node *n);

/* ------------------------------------------------------------ values */

/* Go-style durations: "500ms", "2s", "1m30s", "1.5s", "1h"; a unit is
 * required. Returns 0, or -EINVAL for anything else. */
int scn_parse_duration(const char *s, int64_t *ms);
/* "1.5 s", "250 ms", "2 min 3.0 s" — for messages. */
const char *scn_fmt_ms(int64_t ms, char *buf, size_t len);

/* References "${name.field}" in a string. scn_refs_next finds the next one
 * at or after *at: fills name and field and returns its offset (-1 when
 * there are no more; -2 with *at at the problem when a "${" is malformed).
 * "$$" stands for a literal "$". */
int scn_refs_next(const char *s, size_t *at, char *name, size_t nlen, char *field, size_t flen);
/* Replace every reference through lookup (which returns the value, or NULL
 * with e filled). Returns a heap string, or NULL with e filled. */
typedef const char *(*scn_lookup_fn)(void *arg, const char *name, const char *field, crit_err *e);
char *scn_interp(const char *s, scn_lookup_fn lookup, void *arg, crit_err *e);

/* regcomp (POSIX extended, no sub-matches) of a regex from a scenario,
 * after refusing what makes glibc's regcomp blow up: two repetitions in a
 * row ("a++", "x*{9}": undefined in POSIX, and glibc duplicates the tree
 * for each, gigabytes for a few dozen), an interval count over 255, more
 * than 1024 characters. 0, or -EINVAL with why filled. */
int scn_regcomp(regex_t *rx, const char *re, char *why, size_t len);

/* ------------------------------------------------------------ schema */

typedef enum scn_type {
	SCN_T_STR,      /* any scalar */
	SCN_T_IDENT,    /* a name: letters, digits, '_' (not starting with a digit) */
	SCN_T_INT,
	SCN_T_NUM,
	SCN_T_BOOL,
	SCN_T_DUR,      /* a duration (scn_parse_duration) */
	SCN_T_REGEX,    /* a POSIX extended regex */
	SCN_T_ENUM,     /* one of values */
	SCN_T_ENUMS,    /* one of values, or a list of them */
	SCN_T_STRLIST,  /* a list of scalars */
	SCN_T_STRMAP,   /* a map of scalar to scalar */
	SCN_T_MAP,      /* a map checked against sub */
	SCN_T_STEPS,    /* a list of steps (repeat) */
	SCN_T_NEEDS,    /* the file's needs list */
} scn_type;

enum {
	SCN_F_REQUIRED = 1 << 0,
	SCN_F_POSITIVE = 1 << 1, /* numbers and durations: > 0 */
};

typedef struct scn_field {
	const char *key;
	scn_type type;
	unsigned flags;
	const char *const *values;     /* ENUM / ENUMS: NULL-terminated */
	const struct scn_field *sub;   /* MAP: the keys it takes ({0}-terminated) */
	const char *help;
} scn_field;

/* ------------------------------------------------------------ scenarios */

typedef struct scn_kind scn_kind;

typedef struct scn_step scn_step;
struct scn_step {
	const scn_kind *kind;  /* NULL when the step names none the checker knows */
	scn_node *node;        /* the step's map */
	scn_node *args;        /* the kind's value: a map, a scalar shorthand or null */
	scn_pos pos;
	const char *name;      /* `name:` (label for took and reports), or NULL */
	const char *as;        /* `as:` (results are ${as.field}), or NULL */
	bool async;            /* run in the background until a `join:` */
	scn_node *via;         /* CRI steps: runtime | new | proxy */
	scn_node *timeout;     /* CRI steps: the call's deadline */
	scn_node *expect;      /* CRI steps and join: how the call must end */
	const char *known_issue; /* expect steps: a failure is a known defect (XFAIL) */
	scn_step *sub;         /* repeat: the inner steps */
	size_t n_sub;
};

/* What a scenario needs from the node; unmet needs skip it with the reason. */
typedef struct scn_needs {
	bool root, disruptive, lab;
	bool loopfs;           /* the lab with its root and state on its loop fs (implies lab) */
	char handler[64];      /* a runtime handler that must exist, "" = none */
	char kernel[8][32];    /* kernel features */
	int n_kernel;
} scn_needs;

typedef struct scn_file {
	char *path;
	scn_node *root;
	const char *name;        /* `name:` */
	const char *description; /* `description:` */
	scn_needs needs;
	scn_node *kubelet;       /* the `kubelet:` section, NULL = no kubelet model */
	int64_t timeout_ms;      /* `timeout:` for the whole scenario, 0 = default */
	scn_step *setup, *steps, *finally;
	size_t n_setup, n_steps, n_finally;
} scn_file;

/* Read and build a file: YAML syntax, structure (step kinds, common keys).
 * Problems go to d; returns 0 when the file could be built (it may still
 * have errors: check d->n), < 0 when it could not be read at all. */
int scn_parse_file(const char *path, scn_file **out, scn_diags *d);
int scn_parse_string(const char *name, const char *text, size_t len, scn_file **out, scn_diags *d);
void scn_file_free(scn_file *f);

/* Validate a built file without running it: keys, types, step kinds,
 * references, durations, regexes, needs. Returns how many errors it added. */
int scn_check(const scn_file *f, scn_diags *d);

/* Parse and check: 0 when the file has no problem (then *out is set;
 * otherwise *out is freed and NULL). */
int scn_load(const char *path, scn_file **out, scn_diags *d);

/* ------------------------------------------------------------ the step table */

/* Kind flags. */
enum {
	SCN_K_CRI = 1 << 0,        /* a CRI call: takes via, timeout, expect, async */
	SCN_K_DISRUPTIVE = 1 << 1, /* needs `disruptive` in the file's needs */
	SCN_K_KUBELET = 1 << 2,    /* needs the file's `kubelet:` section */
	SCN_K_SOFT = 1 << 3,       /* a failure is recorded and the steps go on */
	SCN_K_FLOW = 1 << 4,       /* sequencing (repeat, join, sleep, note) */
	SCN_K_LOOPFS = 1 << 5,     /* acts on the lab's loop fs: needs `loopfs` in the file's needs */
};

typedef struct scn_call scn_call;
typedef int (*scn_run_fn)(scn_call *c, crit_err *e);

struct scn_kind {
	const char *name;
	const char *summary;         /* one line for `critic scenario kinds` */
	unsigned flags;
	const scn_field *args;       /* {0}-terminated */
	const char *shorthand;       /* a scalar value stands for {shorthand: value} */
	const char *const *results;  /* fields of ${as.field}, NULL-terminated */
	/* Extra checks beyond the schema (action-specific keys); may be NULL. */
	void (*check)(const scn_step *s, const char *file, scn_diags *d);
	/* NULL: the kind is known to the language but not wired in this build;
	 * running it fails with "step kind NAME: not available in this build". */
	scn_run_fn run;
	const char *module;          /* where its implementation lives */
};

const scn_kind *scn_kind_find(const char *name);
const scn_kind *scn_kinds(size_t *n);
/* The keys every step may have beside its kind (name, as, async, via, timeout, expect). */
extern const scn_field scn_common_fields[];
/* The keys of a call's `expect:`, of a condition, and of the file's top level. */
extern const scn_field scn_call_expect_fields[];
extern const scn_field scn_cond_fields[];
extern const scn_field scn_file_fields[];
extern const scn_field scn_kubelet_fields[];
/* Names the checker accepts under needs: kernel. */
extern const char *const scn_kernel_features[];
/* Print the step table (kinds, keys, types, results) for `critic scenario kinds`. */
void scn_kinds_print(FILE *f);

/* ------------------------------------------------------------ running */

/* One step's outcome, as scn_opts.observer receives it after the step's
 * line is printed (repeat iterations after the first only when they fail).
 * Strings are valid during the call only. */
typedef struct scn_step_info {
	int index, depth;          /* the number printed; nesting inside repeat */
	const char *phase;         /* "setup", "steps" or "finally" */
	const char *kind;          /* step kind, "?" when unknown */
	const char *name, *as;     /* may be NULL */
	const char *desc;          /* the step's line ("wait kubelet.node=NotReady") */
	int line;                  /* in the file */
	const char *verdict;       /* "PASS", "FAIL" or "XFAIL" */
	int64_t start_ms, dur_ms;  /* start: since the scenario started */
	const char *detail;        /* what the step said, lines; may be NULL */
	const char *message;       /* why it failed; NULL when it passed */
	const char *known_issue;   /* may be NULL */
	const char *method;        /* its principal CRI call, NULL when none */
	int grpc_status;           /* of that call: -1 = no status (or no call) */
	const char *call_msg;      /* that call's error, NULL when it succeeded */
	bool fault;                /* a disruptive step (it breaks something) */
} scn_step_info;

/* Structured results for reports (scenarios/runlib); all members optional. */
typedef struct scn_observer {
	void (*step)(void *arg, const scn_step_info *s);
	/* The kubelet model's timeline when the model stops; its t_ms are on
	 * the model's clock, which started offset_ms after the scenario. */
	void (*timeline)(void *arg, const kube_event *ev, size_t n, int64_t offset_ms);
	void *arg;
} scn_observer;

typedef struct scn_opts {
	/* The endpoint: lab_dir (critic's lab, found with lab_status) or an
	 * external endpoint with optional runtime control. */
	const char *lab_dir;
	const char *endpoint;
	const char *image_endpoint;
	pid_t runtime_pid;
	const char *runtime_pidfile, *runtime_start, *runtime_stop;
	const char *critic_exe;  /* for rtctl (lab up in a fresh process); NULL = found */
	int timeout_ms;          /* default CRI deadline; 0 = CRI_DEFAULT_TIMEOUT_MS */
	bool allow_disruptive;   /* run disruptive scenarios outside the lab */
	bool color;
	bool verbose;            /* print each repeat iteration's steps */
	FILE *out;               /* progress and report; NULL = stdout */
	const char *run_id;      /* NULL = made up */
	const scn_observer *observer; /* NULL = none */
} scn_opts;

typedef enum scn_verdict { SCN_PASS, SCN_FAIL, SCN_SKIP } scn_verdict;
const char *scn_verdict_name(scn_verdict v);

typedef struct scn_result {
	scn_verdict verdict;
	int steps_run, steps_passed, steps_failed;
	int known_issues;     /* expect steps that failed with a known_issue (XFAIL) */
	int64_t wall_ms;
	bool interrupted;
	bool unreachable;     /* the endpoint did not answer before the first step */
	char reason[1024];    /* skip reason, or the first failure */
} scn_result;

/* Run one checked scenario. Returns 0 with r filled (whatever the verdict),
 * or < 0 when it could not be run at all (bad options). */
int scn_run(const scn_file *f, const scn_opts *o, scn_result *r, crit_err *e);

/* Ask the running scenario to stop: the current step ends (every call and
 * wait has a deadline), the rest is skipped, finally and the sweep run.
 * Async-signal-safe. */
void scn_interrupt(void);
/* Clear the request (a new run in the same process). */
void scn_interrupt_reset(void);
bool scn_interrupted(void);

/* The library: $CRITIC_SCENARIOS_DIR, else <dir of this program>/../scenarios.
 * Returns 0 with dir filled, -ENOENT when neither exists. */
int scn_library_dir(char *dir, size_t len, crit_err *e);
/* The library's *.yaml files, sorted; free with scn_paths_free. */
int scn_library_files(const char *dir, char ***paths, size_t *n, crit_err *e);
void scn_paths_free(char **paths, size_t n);

/* gRPC core only retries a broken connection while some call waits on it;
 * calls that fail fast (UNAVAILABLE) leave the reconnect to its backup
 * poller, every 5 s by default, so the kubelet model would see a restarted
 * runtime up to 5 s late. Set the poller to 100 ms unless the user set it;
 * effective only before gRPC's first use in the process. */
void scn_grpc_tune(void);

/* `critic scenario check|run|list|kinds …`; argv[0] is "scenario". Returns
 * 0 ok, 1 failures, 2 usage or check errors, 3 endpoint unreachable, 130 interrupted. */
int scenario_cli_main(int argc, char **argv);

/* ------------------------------------------------------------ internals (scenarios/ only) */

typedef struct scn_exec scn_exec;

/* One step being run. Run functions read their arguments through scn_arg*
 * (references already replaced), set results with scn_res, add detail lines
 * with scn_say, and for CRI kinds report the principal call's outcome with
 * scn_called so the executor can hold it against the step's `expect:`. */
struct scn_call {
	scn_exec *x;
	const scn_step *step;
	char **tmp;            /* strings freed when the step ends */
	size_t n_tmp;
	struct scn_kv { char *key, *val; } *res;
	size_t n_res;
	char *say;             /* detail lines, '\n'-separated */
	bool called;           /* the principal call was made */
	const char *method;    /* its CRI method ("RunPodSandbox") */
	int call_rc;           /* its result */
	crit_err call_err;
	int64_t call_ms;
	/* exec results for expect: exit, stdout, stderr */
	bool has_exec;
	int exec_exit;
	char *exec_stdout, *exec_stderr;
	/* async */
	pthread_t th;
	bool thread_started, done;
	int rc;
	crit_err err;
	int64_t t_start_ms, t_end_ms;
};

/* Arguments, references replaced; *out is NULL / the default when the key
 * is absent. Strings live until the step ends. Each returns 0 or < 0 with e
 * filled (a reference that cannot be resolved, a value of the wrong type). */
int scn_arg(scn_call *c, const char *key, const char **out, crit_err *e);
scn_node *scn_arg_node(scn_call *c, const char *key);
int scn_arg_int(scn_call *c, const char *key, long long def, long long *out, crit_err *e);
int scn_arg_dur(scn_call *c, const char *key, int64_t def, int64_t *out, crit_err *e);
int scn_arg_bool(scn_call *c, const char *key, bool def, bool *out, crit_err *e);
/* Any scalar node (a value deep in a map), references replaced. */
int scn_node_str(scn_call *c, const scn_node *n, const char **out, crit_err *e);
/* Keep s (heap) until the step ends; returns s. */
char *scn_keep(scn_call *c, char *s);
void scn_res(scn_call *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *scn_res_get(const scn_call *c, const char *key);
void scn_say(scn_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The candidate closest to word (edit distance <= 2), else NULL. */
const char *scn_suggest(const char *word, const char *const *cands, size_t n);

typedef struct cri_conn cri_conn;
typedef struct rtctl rtctl;
typedef struct fault_proxy fault_proxy;

/* Objects the scenario created (for CreateContainer's sandbox config and
 * the leak check). */
typedef struct scn_pod {
	char *id, *name;
	void *cfg;            /* Runtime__V1__PodSandboxConfig *, owned */
	char *log_dir;
	bool removed;
} scn_pod;

typedef struct scn_ctr {
	char *id, *pod;
	pid_t pid;            /* 0 = not known */
	unsigned long long start; /* its start time, so a reused pid is not taken for it */
} scn_ctr;

typedef struct scn_var {
	char *name;
	const scn_kind *kind;
	struct scn_kv *f;
	size_t n;
} scn_var;

typedef struct scn_timing {
	char *name;
	int64_t ms;
} scn_timing;

struct scn_exec {
	const scn_file *file;
	const scn_opts *o;
	FILE *out;
	scn_result *r;
	char run_id[64];
	char test_label[80];     /* "scenario.NAME" */
	char endpoint[600];
	char socket[PATH_MAX];
	bool is_lab;
	lab_info lab;
	cri_conn *cri;           /* long-lived, as a kubelet holds one */
	cri_conn *pcri;          /* through the proxy, while one runs */
	int timeout_ms;
	rtctl *rt;               /* NULL when the runtime cannot be controlled */
	char rt_why[512];        /* why not */
	fault_sock fsock;
	bool fsock_ok;
	fault_proxy *proxy;
	char tmpdir[64];         /* scratch (the proxy's socket), "" until made */
	bool runtime_frozen;     /* SIGSTOPped by a step, not thawed yet */
	bool runtime_touched;    /* a step stopped, killed or restarted it */
	fault_cfg_backup cfgb;   /* a config patch to restore (config: restore, or after finally) */
	char fiu_where[PATH_MAX]; /* the fiu spec a step used ("" = none) */
	bool fiu_on;             /* a fault was enabled: disabled (all) after finally */
	bool fs_touched;         /* an fs step ran: the loop fs is checked and restored after finally */
	/* kubelet model */
	bool kube_wanted, kube_manual;
	kube_config kcfg;
	kube_model *kube;
	kube_async *kasync;
	cri_conn *kcri;
	pthread_t kth;
	bool kth_on;
	volatile bool kstop;
	pthread_mutex_t kmu;
	int64_t kt0;
	/* state shared with async steps */
	pthread_mutex_t mu;
	scn_var *vars;
	size_t n_vars;
	scn_timing *tim;
	size_t n_tim;
	scn_pod *pods;
	size_t n_pods;
	scn_ctr *ctrs;
	size_t n_ctrs;
	scn_call **pending;      /* async steps not joined yet, by their `as` */
	size_t n_pending;
	int64_t t0, deadline;
	int stepno;
	bool in_finally;
};

/* For run functions (exec.c). */
typedef struct ProtobufCMessage ProtobufCMessage;
/* The principal CRI call of a step, on the connection its `via` names, with
 * its `timeout` (else def_ms, else the run's default deadline). */
int scn_cri(scn_call *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp, int def_ms,
	    crit_err *e);
/* A further call the step needs (status after a create, a pull first). */
int scn_cri_aux(scn_call *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
		int tmo_ms, crit_err *e);
/* Reference of an image role ("busybox") of the lab, or ref itself when it
 * is a full reference. */
int scn_image_ref(scn_exec *x, const char *role_or_ref, char *out, size_t len, crit_err *e);
void scn_track_pod(scn_exec *x, const char *id, const char *name, void *cfg, const char *log_dir);
void *scn_pod_cfg(scn_exec *x, const char *id);
void scn_pod_removed(scn_exec *x, const char *id);
void scn_track_ctr(scn_exec *x, const char *id, const char *pod, pid_t pid);
/* The runtime control, or -ENOTSUP with the reason. */
int scn_rtctl(scn_exec *x, rtctl **out, crit_err *e);
/* Start the kubelet model (its clock starts now); 0 when it runs already. */
int scn_kube_start(scn_exec *x, crit_err *e);
/* Remove what the scenario made (by its labels). Counts what it removed. */
int scn_sweep(scn_exec *x, int *pods, int *ctrs, crit_err *e);
/* Condition / assertion map (wait's until, expect): *ok when all hold,
 * why says what did not. */
int scn_cond_eval(scn_call *c, const scn_node *cond, bool *ok, char *why, size_t whylen, crit_err *e);
/* The pid of a sandbox / container from its verbose status (0 = unknown). */
pid_t scn_info_pid(void *const *info, size_t n);
/* A containerd shim process serving this sandbox of the runtime on socket
 * (NULL: any), 0 when none runs. */
pid_t scn_shim_pid(const char *sandbox, const char *socket);
/* Start time of a process (clock ticks since boot), 0 when it is gone. */
unsigned long long scn_proc_start(pid_t pid);
/* Put the lab's loop fs back: thawed, the fill files removed, and when it
 * is read-only repaired (runtime stopped, e2fsck, mounted, runtime started).
 * what gets a line of what was done ("" = nothing was needed). */
int scn_fs_restore(scn_exec *x, char *what, size_t len, crit_err *e);
/* Sleep ms, waking early on an interrupt (outside finally). false = interrupted. */
bool scn_nap(scn_exec *x, int64_t ms);

#endif
