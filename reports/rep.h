/* rep: critic's result writers. Each turns a finished run (a tst_summary and the
 * scenarios run with it) into one machine format: JUnit XML, JSON (critic.run/v1), KTAP, or a self-contained HTML page. */
#ifndef CRITIC_REP_H
#define CRITIC_REP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kube.h"
#include "tst.h"
#include "util.h"

#define REP_JSON_SCHEMA "critic.run/v1"

/* --- scenario results ---------------------------------------------------------- */

/* One step of a scenario as it ran (scenarios/exec reports it, runlib keeps it). */
typedef struct rep_scn_step {
	int index, depth, line;  /* the number printed; nesting in repeat; line in the file */
	char phase[12];          /* "setup", "steps", "finally" */
	char kind[40];           /* step kind ("kill_runtime") */
	char *name;              /* its name: or as:, NULL = none */
	char *desc;              /* the step's line ("wait kubelet.node=NotReady") */
	char verdict[8];         /* "PASS", "FAIL", "XFAIL" (a known issue) */
	int64_t start_ms, dur_ms;/* start: since the scenario started */
	char *detail;            /* what the step said, lines; NULL = nothing */
	char *message;           /* why it failed; NULL when it passed */
	char *known_issue;       /* NULL = none */
	char method[48];         /* its principal CRI call, "" = none */
	int grpc_status;         /* that call's status, -1 = no status */
	char *call_msg;          /* that call's error, NULL when it succeeded */
	bool fault;              /* a disruptive step: it breaks something */
} rep_scn_step;

typedef struct rep_scenario {
	char *name, *file, *description;
	char verdict[8];         /* "PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH" */
	char *reason;            /* skip reason or first failure, NULL = none */
	int64_t start_wall_ns, dur_ms;
	int steps_run, steps_passed, steps_failed, known_issues;
	bool disruptive;
	rep_scn_step *steps;
	size_t n_steps;
	/* The kubelet model's timeline, t_ms on the model's clock, which
	 * started model_offset_ms after the scenario (-1: no model ran). */
	kube_event *timeline;
	size_t n_timeline;
	int64_t model_offset_ms;
} rep_scenario;

typedef struct rep_scn_set {
	rep_scenario *v;
	size_t n;
} rep_scn_set;

/* A step's title: its line, with "name: " before it unless the line names
 * it already (the executor's lines quote name and as). Copied into buf. */
const char *rep_step_title(const rep_scn_step *st, char *buf, size_t len);
void rep_scenario_free(rep_scenario *s);
void rep_scn_set_free(rep_scn_set *set);
/* Append a step (copied); returns 0 or -ENOMEM. */
int rep_scenario_add_step(rep_scenario *s, const rep_scn_step *st);
/* Counts over a set: passed, failed (FAIL, TIMEOUT, CRASH), skipped. */
void rep_scn_counts(const rep_scn_set *set, int *passed, int *failed, int *skipped);

/* One scenario as its critic.run JSON object (the scenarios[] entry), and
 * back: runlib's children hand their results to the parent this way. */
int rep_json_scenario(const rep_scenario *s, strbuf *sb, crit_err *e);
int rep_json_scenario_parse(const char *text, rep_scenario *out, crit_err *e);

/* The writers with scenario results (scn NULL or empty: none). */
typedef enum rep_format { REP_JUNIT, REP_JSON, REP_TAP, REP_HTML } rep_format;
int rep_render(rep_format f, const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e);
int rep_write(rep_format f, const tst_summary *sum, const rep_scn_set *scn, const char *path, crit_err *e);

/* Write the report to path: the whole text goes to a temporary file beside
 * it (PATH.tmp.PID) that is then renamed over path, so a reader never sees
 * half a report. path "-" writes to stdout instead. Errors name the file.
 * Returns 0 or a negative errno-style code. */
int rep_write_junit(const tst_summary *sum, const char *path, crit_err *e);
int rep_write_json(const tst_summary *sum, const char *path, crit_err *e);
int rep_write_tap(const tst_summary *sum, const char *path, crit_err *e);
int rep_write_html(const tst_summary *sum, const char *path, crit_err *e);

/* The same reports as text appended to sb (what the writers write). */
int rep_junit(const tst_summary *sum, strbuf *sb, crit_err *e);
int rep_json(const tst_summary *sum, strbuf *sb, crit_err *e);
void rep_tap(const tst_summary *sum, strbuf *sb);
int rep_html(const tst_summary *sum, strbuf *sb, crit_err *e);

/* Before a long run: can a report be written to path at all (its directory
 * exists and is writable, path is not a directory)? */
int rep_check_path(const char *path, crit_err *e);

/* --- shared by the writers ---------------------------------------------------- */

/* Append a string literal (its length known at compile time). */
#define REP_PUT(sb, lit) sb_append((sb), "" lit, sizeof(lit) - 1)

/* Latency of one CRI method over every call of every test. Percentiles are
 * nearest-rank over the calls' durations. */
typedef struct rep_method_stat {
	char method[48];
	size_t count, errors;      /* errors: calls whose gRPC status was not OK */
	int64_t p50_us, p95_us, p99_us, max_us, mean_us;
} rep_method_stat;
/* *out (heap, free it) gets one entry per method, sorted by method name. */
int rep_method_stats(const tst_summary *sum, rep_method_stat **out, size_t *n, crit_err *e);
/* Nearest-rank percentile q (0 < q <= 100) of n sorted values; 0 when n is 0. */
int64_t rep_percentile(const int64_t *sorted, size_t n, double q);

/* Append s escaped for XML/HTML text and attributes: & < > " ' become
 * references; tab, CR and LF become character references when attr; other
 * characters XML 1.0 forbids are dropped; invalid UTF-8 becomes U+FFFD. */
void rep_xml_escape(strbuf *sb, const char *s, bool attr);
/* Append s as valid UTF-8 (invalid bytes become U+FFFD); when one_line,
 * control characters become spaces and newlines " | ". */
void rep_utf8_clean(strbuf *sb, const char *s, bool one_line);

/* Wall-clock nanoseconds as ISO 8601 in UTC: "2024-05-01T12:00:00" (the
 * form JUnit's schema wants: no zone) or, with ms_zone, "…:00.123Z". */
void rep_iso_time(int64_t wall_ns, bool ms_zone, char *buf, size_t len);

/* A test's detail split: the first line that is not a note ("note: …"),
 * or "" when there is none; copied into buf. */
const char *rep_first_message(const tst_result *r, char *buf, size_t len);

/* Commit text to path as the writers do (temp file + rename, "-" = stdout). */
int rep_commit(const char *path, const char *data, size_t len, crit_err *e);

/* --- SVG pieces (also for scenario reports) -------------------------------------- */

/* Append an <svg> that draws a kubelet-model timeline: one lane per
 * component that has events (in kube_component order), a coloured segment
 * per state from the event that entered it to the next event of the same
 * component (or end_ms), and a marker per event whose tooltip carries the
 * time, state, reason and message. end_ms < the last event's time is
 * raised to it. Returns 0, or -EINVAL when n > 0 and ev is NULL. */
int rep_svg_timeline(strbuf *sb, const kube_event *ev, size_t n, int64_t end_ms, crit_err *e);
/* A scenario's timeline on its own clock: a lane of its steps on top (fault
 * steps as red flags, failed steps in red, each with a tooltip), then the
 * kubelet model's lanes shifted by model_offset_ms. */
int rep_svg_scenario(strbuf *sb, const rep_scenario *s, crit_err *e);

/* Per format with scenarios (the rep_* functions above pass none). */
int rep_junit_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e);
int rep_json_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e);
void rep_tap_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb);
int rep_html_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e);
/* --- pieces the HTML pages share (reports/html.c) ----------------------------- */

/* The pages' style sheet (inline, nothing fetched). */
extern const char rep_html_css[];
/* "850 µs", "12.3 ms", "2.41 s" */
void rep_fmt_us(char *buf, size_t len, int64_t us);
/* Smallest 1, 2 or 5 times a power of ten that is >= v (v > 0). */
double rep_nice_ceil(double v);
/* Per method: calls, not OK, p50, p95, p99, max, mean; an ops/s column
 * too when ops_per_s (one value per method) is given. */
void rep_latency_table(strbuf *sb, const rep_method_stat *st, size_t n, const double *ops_per_s);

/* critic bench's figures (the document --json writes) as one self-contained
 * page (reports/benchhtml.c): the conformance run, per-RPC latency as a
 * chart and a table, cost growth as charts of List* p50 and of a pod's cost
 * against the pod count, critic's and the proxy's overhead, fault
 * detection. A part the document lacks is named as not measured. */
struct json_object;
int rep_bench_html(struct json_object *bench, strbuf *sb, crit_err *e);
int rep_write_bench_html(struct json_object *bench, const char *path, crit_err *e);

/* Horizontal bars of the tests' durations, longest first, coloured by verdict. */
void rep_svg_durations(strbuf *sb, const tst_summary *sum);
/* Per CRI method: p50, p95 and p99 as stacked bars and max as a dot, on a
 * log-scale axis. */
void rep_svg_latency(strbuf *sb, const rep_method_stat *st, size_t n);

#endif
