/* rep json: the run as one JSON document (schema "critic.run/v1", described
 * field by field in reports/README.md), built with json-c. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"

/* json-c copies strings as given: hand it valid UTF-8 only. */
static json_object *jstr(const char *s)
{
	strbuf sb = { 0 };
	rep_utf8_clean(&sb, s, false);
	json_object *o = json_object_new_string(sb.buf ? sb.buf : "");
	sb_free(&sb);
	return o;
}

static json_object *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : NULL;
}

static void put(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *run_object(const tst_summary *sum)
{
	const tst_meta *m = &sum->meta;
	char started[40];
	rep_iso_time(m->start_wall_ns, true, started, sizeof started);
	json_object *run = json_object_new_object();
	put(run, "id", jstr(m->run_id));
	put(run, "critic_version", jstr(m->critic_version));
	put(run, "started_at", jstr(started));
	put(run, "duration_ms", json_object_new_int64(sum->wall_ms));
	put(run, "endpoint", jstr(m->endpoint));
	put(run, "image_endpoint", jstr(m->image_endpoint[0] ? m->image_endpoint : m->endpoint));
	put(run, "lab", json_object_new_boolean(m->is_lab));
	put(run, "runtime_handler", jstr(m->handler));
	json_object *rt = json_object_new_object();
	put(rt, "name", jstr(m->runtime_name));
	put(rt, "version", jstr(m->runtime_version));
	put(rt, "api_version", jstr(m->runtime_api));
	put(run, "runtime", rt);
	json_object *host = json_object_new_object();
	put(host, "hostname", jstr(m->hostname));
	put(host, "kernel", jstr(m->kernel));
	put(host, "cgroup", jstr(m->cgroup));
	put(run, "host", host);
	json_object *opt = json_object_new_object();
	put(opt, "focus", jstr_or_null(m->focus));
	put(opt, "skip", jstr_or_null(m->skip));
	put(opt, "extended", json_object_new_boolean(m->extended));
	put(opt, "test_timeout_s", json_object_new_int(m->test_timeout_s));
	put(opt, "call_timeout_ms", json_object_new_int(m->call_timeout_ms));
	put(run, "options", opt);
	return run;
}

static json_object *counts_object(const tst_summary *sum)
{
	int by[5] = { 0 };
	for (size_t i = 0; i < sum->n_results; i++)
		by[sum->results[i].verdict]++;
	json_object *c = json_object_new_object();
	put(c, "total", json_object_new_int((int)sum->n_results));
	put(c, "passed", json_object_new_int(by[TST_PASS]));
	put(c, "failed", json_object_new_int(by[TST_FAIL] + by[TST_TIMEOUT] + by[TST_CRASH]));
	put(c, "skipped", json_object_new_int(by[TST_SKIP]));
	json_object *v = json_object_new_object();
	for (int k = TST_PASS; k <= TST_CRASH; k++)
		put(v, tst_verdict_name((tst_verdict)k), json_object_new_int(by[k]));
	put(c, "by_verdict", v);
	return c;
}

/* Split a newline-separated text into an array, keeping (or dropping) the
 * lines that start with prefix. */
static json_object *lines_array(const char *text, const char *prefix, bool keep_prefixed)
{
	json_object *a = json_object_new_array();
	for (const char *line = text; line && *line;) {
		size_t n = strcspn(line, "\n");
		bool pre = prefix && !strncmp(line, prefix, strlen(prefix));
		if (!prefix || pre == keep_prefixed) {
			char *copy = strndup(line, n);
			if (copy)
				json_object_array_add(a, jstr(copy));
			free(copy);
		}
		line += n + (line[n] ? 1 : 0);
	}
	return a;
}

/* The document is assembled field by field: json-c encodes each value,
 * which is freed at once, so a run with a million recorded calls never
 * holds a million json-c objects. JSON text has no raw newline inside a
 * string, so re-indenting a value is a plain insert after each newline. */
#define JSON_FLAGS (JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static void emit(strbuf *sb, json_object *v, int indent, bool pretty)
{
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) {
		sb_append(sb, "[]", 2); /* json-c would spread it over two lines */
		json_object_put(v);
		return;
	}
	const char *s = json_object_to_json_string_ext(v, JSON_FLAGS | (pretty ? JSON_C_TO_STRING_PRETTY : 0));
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
		sb_append(sb, s, n);
		if (nl)
			sb_printf(sb, "%*s", indent, "");
		s += n;
	}
	json_object_put(v);
}

/* ",\n<indent>"key": " (no comma before the first field). */
static void key(strbuf *sb, int indent, const char *k, bool *first)
{
	sb_printf(sb, "%s\n%*s\"%s\": ", *first ? "" : ",", indent, "", k);
	*first = false;
}

static void field(strbuf *sb, int indent, const char *k, json_object *v, bool *first)
{
	key(sb, indent, k, first);
	emit(sb, v, indent, true);
}

static void test_object(strbuf *sb, const tst_result *r)
{
	const int in = 6;
	bool first = true;
	sb_append(sb, "    {", 5);
	field(sb, in, "name", jstr(r->tc->name), &first);
	field(sb, in, "area", jstr(r->suite->area), &first);
	field(sb, in, "description", jstr(r->tc->desc ? r->tc->desc : ""), &first);
	field(sb, in, "verdict", jstr(tst_verdict_name(r->verdict)), &first);
	if (r->start_wall_ns) {
		char ts[40];
		rep_iso_time(r->start_wall_ns, true, ts, sizeof ts);
		field(sb, in, "started_at", jstr(ts), &first);
	} else {
		field(sb, in, "started_at", NULL, &first);
	}
	field(sb, in, "duration_ms", json_object_new_int64(r->dur_ms), &first);
	field(sb, in, "detail", jstr_or_null(r->detail), &first);
	field(sb, in, "messages", lines_array(r->detail, "note: ", false), &first);
	field(sb, in, "notes", lines_array(r->notes, NULL, true), &first);
	/* One call a line. */
	key(sb, in, "calls", &first);
	sb_append(sb, "[", 1);
	for (size_t i = 0; i < r->n_calls; i++) {
		const tst_call *c = &r->calls[i];
		json_object *o = json_object_new_object();
		put(o, "method", jstr(c->method));
		put(o, "status", jstr(cri_status_name(c->grpc_status)));
		put(o, "code", json_object_new_int(c->grpc_status));
		put(o, "start_us", json_object_new_int64(c->start_us));
		put(o, "duration_us", json_object_new_int64(c->dur_us));
		sb_printf(sb, "%s\n%*s", i ? "," : "", in + 2, "");
		emit(sb, o, 0, false);
	}
	if (r->n_calls)
		sb_printf(sb, "\n%*s", in, "");
	sb_append(sb, "]", 1);
	field(sb, in, "calls_dropped", json_object_new_int64((int64_t)r->calls_dropped), &first);
	sb_append(sb, "\n    }", 6);
}

int rep_json(const tst_summary *sum, strbuf *sb, crit_err *e)
{
	rep_method_stat *st = NULL;
	size_t n_st = 0;
	int rc = rep_method_stats(sum, &st, &n_st, e);
	if (rc < 0)
		return rc;
	bool first = true;
	sb_append(sb, "{", 1);
	field(sb, 2, "schema", jstr(REP_JSON_SCHEMA), &first);
	field(sb, 2, "run", run_object(sum), &first);
	field(sb, 2, "counts", counts_object(sum), &first);
	key(sb, 2, "tests", &first);
	sb_append(sb, "[", 1);
	for (size_t i = 0; i < sum->n_results; i++) {
		sb_append(sb, i ? ",\n" : "\n", i ? 2 : 1);
		test_object(sb, &sum->results[i]);
	}
	sb_append(sb, sum->n_results ? "\n  ]" : "]", sum->n_results ? 4 : 1);
	json_object *lat = json_object_new_array();
	for (size_t i = 0; i < n_st; i++) {
		json_object *o = json_object_new_object();
		put(o, "method", jstr(st[i].method));
		put(o, "count", json_object_new_int64((int64_t)st[i].count));
		put(o, "errors", json_object_new_int64((int64_t)st[i].errors));
		put(o, "p50_us", json_object_new_int64(st[i].p50_us));
		put(o, "p95_us", json_object_new_int64(st[i].p95_us));
		put(o, "p99_us", json_object_new_int64(st[i].p99_us));
		put(o, "max_us", json_object_new_int64(st[i].max_us));
		put(o, "mean_us", json_object_new_int64(st[i].mean_us));
		json_object_array_add(lat, o);
	}
	free(st);
	field(sb, 2, "latency", lat, &first);
	/* Fault scenarios will fill this (see README.md); none yet. */
	field(sb, 2, "scenarios", json_object_new_array(), &first);
	sb_append(sb, "\n}\n", 3);
	return 0;
}

int rep_write_json(const tst_summary *sum, const char *path, crit_err *e)
{
	strbuf sb = { 0 };
	int rc = rep_json(sum, &sb, e);
	if (rc == 0)
		rc = rep_commit(path, sb.buf, sb.len, e);
	else
		err_wrap(e, "write report %s", path);
	sb_free(&sb);
	return rc;
}
