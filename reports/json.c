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

/* ---- scenarios ---- */

static json_object *jint64(int64_t v)
{
	return json_object_new_int64(v);
}

static json_object *scenario_object(const rep_scenario *s)
{
	json_object *o = json_object_new_object();
	put(o, "name", jstr(s->name ? s->name : ""));
	put(o, "file", jstr(s->file ? s->file : ""));
	put(o, "description", jstr(s->description ? s->description : ""));
	put(o, "verdict", jstr(s->verdict));
	put(o, "reason", jstr_or_null(s->reason));
	char ts[40];
	rep_iso_time(s->start_wall_ns, true, ts, sizeof ts);
	put(o, "started_at", s->start_wall_ns ? jstr(ts) : NULL);
	put(o, "duration_ms", jint64(s->dur_ms));
	put(o, "disruptive", json_object_new_boolean(s->disruptive));
	json_object *c = json_object_new_object();
	put(c, "run", json_object_new_int(s->steps_run));
	put(c, "passed", json_object_new_int(s->steps_passed));
	put(c, "failed", json_object_new_int(s->steps_failed));
	put(c, "known_issues", json_object_new_int(s->known_issues));
	put(o, "step_counts", c);
	json_object *steps = json_object_new_array();
	for (size_t i = 0; i < s->n_steps; i++) {
		const rep_scn_step *st = &s->steps[i];
		json_object *j = json_object_new_object();
		put(j, "index", json_object_new_int(st->index));
		put(j, "depth", json_object_new_int(st->depth));
		put(j, "phase", jstr(st->phase));
		put(j, "kind", jstr(st->kind));
		put(j, "name", jstr_or_null(st->name));
		put(j, "action", jstr(st->desc ? st->desc : st->kind));
		put(j, "line", json_object_new_int(st->line));
		put(j, "verdict", jstr(st->verdict));
		put(j, "start_ms", jint64(st->start_ms));
		put(j, "duration_ms", jint64(st->dur_ms));
		put(j, "detail", jstr_or_null(st->detail));
		put(j, "message", jstr_or_null(st->message));
		put(j, "known_issue", jstr_or_null(st->known_issue));
		json_object *call = NULL;
		if (st->method[0]) {
			call = json_object_new_object();
			put(call, "method", jstr(st->method));
			put(call, "status", st->grpc_status < 0 ? NULL : jstr(cri_status_name(st->grpc_status)));
			put(call, "code", st->grpc_status < 0 ? NULL : json_object_new_int(st->grpc_status));
			put(call, "message", jstr_or_null(st->call_msg));
		}
		put(j, "call", call);
		put(j, "fault", json_object_new_boolean(st->fault));
		json_object_array_add(steps, j);
	}
	put(o, "steps", steps);
	put(o, "model_offset_ms", s->model_offset_ms < 0 ? NULL : jint64(s->model_offset_ms));
	json_object *tl = json_object_new_array();
	for (size_t i = 0; i < s->n_timeline; i++) {
		const kube_event *ev = &s->timeline[i];
		json_object *j = json_object_new_object();
		put(j, "t_ms", jint64(ev->t_ms + (s->model_offset_ms > 0 ? s->model_offset_ms : 0)));
		put(j, "model_ms", jint64(ev->t_ms));
		put(j, "component", jstr(kube_component_name(ev->comp)));
		put(j, "state", jstr(ev->state));
		put(j, "reason", jstr(ev->reason));
		put(j, "message", jstr(ev->message));
		json_object_array_add(tl, j);
	}
	put(o, "timeline", tl);
	return o;
}

int rep_json_scenario(const rep_scenario *s, strbuf *sb, crit_err *e)
{
	emit(sb, scenario_object(s), 0, true);
	REP_PUT(sb, "\n");
	return 0;
}

/* Readers for the parser: absent or mistyped fields give the default. */
static json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static char *jdup(json_object *o, const char *k)
{
	json_object *v = jget(o, k);
	return v && json_object_is_type(v, json_type_string) ? strdup(json_object_get_string(v)) : NULL;
}

static void jcopy(json_object *o, const char *k, char *buf, size_t len)
{
	json_object *v = jget(o, k);
	snprintf(buf, len, "%s", v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "");
}

static int64_t jnum(json_object *o, const char *k, int64_t def)
{
	json_object *v = jget(o, k);
	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

int rep_json_scenario_parse(const char *text, rep_scenario *out, crit_err *e)
{
	memset(out, 0, sizeof *out);
	out->model_offset_ms = -1;
	json_object *o = json_tokener_parse(text ? text : "");
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(e, -ERR_DECODE, "scenario result: not a JSON object");
	}
	out->name = jdup(o, "name");
	out->file = jdup(o, "file");
	out->description = jdup(o, "description");
	jcopy(o, "verdict", out->verdict, sizeof out->verdict);
	out->reason = jdup(o, "reason");
	out->dur_ms = jnum(o, "duration_ms", 0);
	json_object *b = jget(o, "disruptive");
	out->disruptive = b && json_object_get_boolean(b);
	json_object *c = jget(o, "step_counts");
	out->steps_run = (int)jnum(c, "run", 0);
	out->steps_passed = (int)jnum(c, "passed", 0);
	out->steps_failed = (int)jnum(c, "failed", 0);
	out->known_issues = (int)jnum(c, "known_issues", 0);
	out->model_offset_ms = jnum(o, "model_offset_ms", -1);
	int rc = 0;
	json_object *steps = jget(o, "steps");
	size_t n = steps && json_object_is_type(steps, json_type_array) ? json_object_array_length(steps) : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_object *j = json_object_array_get_idx(steps, i);
		rep_scn_step st = { 0 };
		st.index = (int)jnum(j, "index", 0);
		st.depth = (int)jnum(j, "depth", 0);
		st.line = (int)jnum(j, "line", 0);
		jcopy(j, "phase", st.phase, sizeof st.phase);
		jcopy(j, "kind", st.kind, sizeof st.kind);
		jcopy(j, "verdict", st.verdict, sizeof st.verdict);
		st.start_ms = jnum(j, "start_ms", 0);
		st.dur_ms = jnum(j, "duration_ms", 0);
		st.name = jdup(j, "name");
		st.desc = jdup(j, "action");
		st.detail = jdup(j, "detail");
		st.message = jdup(j, "message");
		st.known_issue = jdup(j, "known_issue");
		json_object *call = jget(j, "call");
		st.grpc_status = -1;
		if (call && json_object_is_type(call, json_type_object)) {
			jcopy(call, "method", st.method, sizeof st.method);
			st.grpc_status = (int)jnum(call, "code", -1);
			st.call_msg = jdup(call, "message");
		}
		json_object *f = jget(j, "fault");
		st.fault = f && json_object_get_boolean(f);
		rc = rep_scenario_add_step(out, &st);
		free(st.name);
		free(st.desc);
		free(st.detail);
		free(st.message);
		free(st.known_issue);
		free(st.call_msg);
	}
	json_object *tl = jget(o, "timeline");
	n = tl && json_object_is_type(tl, json_type_array) ? json_object_array_length(tl) : 0;
	if (rc == 0 && n) {
		out->timeline = calloc(n, sizeof *out->timeline);
		if (!out->timeline)
			rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_object *j = json_object_array_get_idx(tl, i);
		kube_event *ev = &out->timeline[out->n_timeline];
		char comp[32];
		jcopy(j, "component", comp, sizeof comp);
		int k;
		for (k = 0; k < KUBE_C_COUNT && strcmp(kube_component_name((kube_component)k), comp); k++)
			;
		if (k == KUBE_C_COUNT)
			continue; /* a component this build does not know */
		ev->comp = (kube_component)k;
		ev->t_ms = jnum(j, "model_ms", 0);
		jcopy(j, "state", ev->state, sizeof ev->state);
		jcopy(j, "reason", ev->reason, sizeof ev->reason);
		jcopy(j, "message", ev->message, sizeof ev->message);
		out->n_timeline++;
	}
	json_object_put(o);
	if (rc < 0) {
		rep_scenario_free(out);
		return err_set(e, rc, "scenario result: out of memory");
	}
	return 0;
}

int rep_json(const tst_summary *sum, strbuf *sb, crit_err *e)
{
	return rep_json_scn(sum, NULL, sb, e);
}

int rep_json_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e)
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
	key(sb, 2, "scenarios", &first);
	if (!scn || !scn->n) {
		REP_PUT(sb, "[]");
	} else {
		REP_PUT(sb, "[");
		for (size_t i = 0; i < scn->n; i++) {
			sb_append(sb, i ? ",\n    " : "\n    ", i ? 6 : 5);
			emit(sb, scenario_object(&scn->v[i]), 4, true);
		}
		REP_PUT(sb, "\n  ]");
	}
	int sp, sf, ss;
	rep_scn_counts(scn, &sp, &sf, &ss);
	json_object *sc = json_object_new_object();
	put(sc, "total", json_object_new_int(scn ? (int)scn->n : 0));
	put(sc, "passed", json_object_new_int(sp));
	put(sc, "failed", json_object_new_int(sf));
	put(sc, "skipped", json_object_new_int(ss));
	field(sb, 2, "scenario_counts", sc, &first);
	sb_append(sb, "\n}\n", 3);
	return 0;
}

int rep_write_json(const tst_summary *sum, const char *path, crit_err *e)
{
	return rep_write(REP_JSON, sum, NULL, path, e);
}
