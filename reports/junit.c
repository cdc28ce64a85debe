/* rep junit: the run as JUnit XML, in the shape Jenkins, GitLab and GitHub test reporters
 * read: one <testsuite> per area (a <testcase> per test) and per scenario (one per step). */
#include <stdio.h>
#include <string.h>

#include "rep.h"

static void attr(strbuf *sb, const char *name, const char *value)
{
	sb_printf(sb, " %s=\"", name);
	rep_xml_escape(sb, value, true);
	REP_PUT(sb, "\"");
}

static void property(strbuf *sb, const char *name, const char *value)
{
	REP_PUT(sb, "      <property");
	attr(sb, "name", name);
	attr(sb, "value", value);
	REP_PUT(sb, "/>\n");
}

/* The run's metadata, repeated in each testsuite so each stands alone. */
static void properties(strbuf *sb, const tst_meta *m)
{
	char runtime[400], started[40];
	snprintf(runtime, sizeof runtime, "%s %s (CRI %s)", m->runtime_name, m->runtime_version, m->runtime_api);
	rep_iso_time(m->start_wall_ns, true, started, sizeof started);
	REP_PUT(sb, "    <properties>\n");
	property(sb, "critic.run_id", m->run_id);
	property(sb, "critic.version", m->critic_version);
	property(sb, "critic.started_at", started);
	property(sb, "critic.endpoint", m->endpoint);
	property(sb, "critic.runtime", runtime);
	property(sb, "critic.runtime_handler", m->handler[0] ? m->handler : "(default)");
	property(sb, "critic.kernel", m->kernel);
	property(sb, "critic.cgroup", m->cgroup);
	REP_PUT(sb, "    </properties>\n");
}

/* The calls that did not end OK, for a failure's text. */
static void failed_calls(strbuf *sb, const tst_result *r)
{
	size_t shown = 0, bad = 0;
	for (size_t i = 0; i < r->n_calls; i++) {
		const tst_call *c = &r->calls[i];
		if (c->grpc_status == 0)
			continue;
		if (bad++ == 0)
			sb_printf(sb, "\nCRI calls that did not return OK:");
		if (shown < 20) {
			sb_printf(sb, "\n  %s %s at +%.3f s after %.1f ms", c->method, cri_status_name(c->grpc_status),
				  c->start_us / 1e6, c->dur_us / 1e3);
			shown++;
		}
	}
	if (bad > shown)
		sb_printf(sb, "\n  … and %zu more", bad - shown);
}

static void testcase(strbuf *sb, const tst_result *r)
{
	char classname[128], t[32], msg[1024];
	snprintf(classname, sizeof classname, "critic.%s", r->suite->area);
	snprintf(t, sizeof t, "%.3f", r->dur_ms / 1000.0);
	REP_PUT(sb, "    <testcase");
	attr(sb, "classname", classname);
	attr(sb, "name", r->tc->name);
	attr(sb, "time", t);
	REP_PUT(sb, ">\n");
	rep_first_message(r, msg, sizeof msg);
	switch (r->verdict) {
	case TST_PASS:
		break;
	case TST_SKIP:
		REP_PUT(sb, "      <skipped");
		attr(sb, "message", msg);
		REP_PUT(sb, "/>\n");
		break;
	default: {
		/* FAIL is an assertion that did not hold; a test that hung or
		 * died is an error in JUnit's terms. */
		const char *tag = r->verdict == TST_FAIL ? "failure" : "error";
		strbuf body = { 0 };
		sb_printf(&body, "%s", r->detail ? r->detail : tst_verdict_name(r->verdict));
		failed_calls(&body, r);
		sb_printf(sb, "      <%s", tag);
		attr(sb, "message", msg[0] ? msg : tst_verdict_name(r->verdict));
		attr(sb, "type", tst_verdict_name(r->verdict));
		REP_PUT(sb, ">");
		rep_xml_escape(sb, body.buf, false);
		sb_printf(sb, "</%s>\n", tag);
		sb_free(&body);
		break;
	}
	}
	if (r->notes || r->n_calls || r->calls_dropped) {
		size_t bad = 0;
		for (size_t i = 0; i < r->n_calls; i++)
			bad += r->calls[i].grpc_status != 0;
		REP_PUT(sb, "      <system-out>");
		if (r->notes) {
			rep_xml_escape(sb, r->notes, false);
			REP_PUT(sb, "\n");
		}
		char line[160];
		snprintf(line, sizeof line, "%zu CRI calls, %zu not OK", r->n_calls + r->calls_dropped, bad);
		rep_xml_escape(sb, line, false);
		if (r->calls_dropped) {
			snprintf(line, sizeof line, " (%zu beyond the first %d not recorded)", r->calls_dropped,
				 TST_MAX_CALLS);
			rep_xml_escape(sb, line, false);
		}
		REP_PUT(sb, "</system-out>\n");
	}
	REP_PUT(sb, "    </testcase>\n");
}

/* ---- scenarios: one testsuite each, a testcase per step ---- */

/* What a scenario's testsuite holds, counted before it is written. */
typedef struct scn_tally {
	int tests, failures, errors, skipped;
	bool verdict_case; /* a testcase for the scenario itself (no step carries its failure, or it was skipped) */
} scn_tally;

static bool scn_is_error(const rep_scenario *s)
{
	return !strcmp(s->verdict, "TIMEOUT") || !strcmp(s->verdict, "CRASH");
}

static scn_tally scn_count(const rep_scenario *s)
{
	scn_tally t = { 0 };
	int failed_steps = 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const char *v = s->steps[i].verdict;
		t.tests++;
		if (!strcmp(v, "FAIL"))
			t.failures++, failed_steps++;
		else if (!strcmp(v, "XFAIL"))
			t.skipped++;
	}
	if (!strcmp(s->verdict, "SKIP") ? s->n_steps == 0 : strcmp(s->verdict, "PASS") && (!failed_steps || scn_is_error(s))) {
		t.verdict_case = true;
		t.tests++;
		if (!strcmp(s->verdict, "SKIP"))
			t.skipped++;
		else if (scn_is_error(s))
			t.errors++;
		else
			t.failures++;
	}
	return t;
}

static void step_case(strbuf *sb, const rep_scenario *s, const rep_scn_step *st)
{
	char classname[300], t[32];
	snprintf(classname, sizeof classname, "critic.scenario.%s", s->name ? s->name : "?");
	snprintf(t, sizeof t, "%.3f", st->dur_ms / 1000.0);
	strbuf name = { 0 };
	char title[600];
	sb_printf(&name, "%02d %s", st->index, rep_step_title(st, title, sizeof title));
	REP_PUT(sb, "    <testcase");
	attr(sb, "classname", classname);
	attr(sb, "name", name.buf);
	attr(sb, "time", t);
	if (s->file)
		attr(sb, "file", s->file);
	if (st->line > 0)
		sb_printf(sb, " line=\"%d\"", st->line);
	REP_PUT(sb, ">\n");
	sb_free(&name);
	if (!strcmp(st->verdict, "FAIL")) {
		strbuf msg = { 0 }, body = { 0 };
		sb_printf(&msg, "step %d (%s, line %d): %s", st->index, st->desc ? st->desc : st->kind, st->line,
			  st->message ? st->message : "failed");
		sb_printf(&body, "%s", msg.buf);
		if (st->method[0])
			sb_printf(&body, "\ncall %s: %s (gRPC code %d)%s%s", st->method,
				  st->grpc_status < 0 ? "no status" : cri_status_name(st->grpc_status), st->grpc_status,
				  st->call_msg ? ": " : "", st->call_msg ? st->call_msg : "");
		if (st->detail)
			sb_printf(&body, "\n%s", st->detail);
		REP_PUT(sb, "      <failure");
		attr(sb, "message", msg.buf);
		attr(sb, "type", "FAIL");
		REP_PUT(sb, ">");
		rep_xml_escape(sb, body.buf, false);
		REP_PUT(sb, "</failure>\n");
		sb_free(&msg);
		sb_free(&body);
	} else if (!strcmp(st->verdict, "XFAIL")) {
		strbuf msg = { 0 };
		sb_printf(&msg, "known issue: %s (%s)", st->known_issue ? st->known_issue : "?",
			  st->message ? st->message : "failed");
		REP_PUT(sb, "      <skipped");
		attr(sb, "message", msg.buf);
		REP_PUT(sb, "/>\n");
		sb_free(&msg);
	}
	if (st->detail || st->method[0]) {
		strbuf out = { 0 };
		sb_printf(&out, "%s phase, at +%.3f s", st->phase, st->start_ms / 1000.0);
		if (st->method[0])
			sb_printf(&out, "; CRI call %s: %s", st->method,
				  st->grpc_status < 0 ? "no status" : cri_status_name(st->grpc_status));
		if (st->detail)
			sb_printf(&out, "\n%s", st->detail);
		REP_PUT(sb, "      <system-out>");
		rep_xml_escape(sb, out.buf, false);
		REP_PUT(sb, "</system-out>\n");
		sb_free(&out);
	}
	REP_PUT(sb, "    </testcase>\n");
}

static void scenario_suite(strbuf *sb, const tst_meta *m, const rep_scenario *s, int id)
{
	scn_tally c = scn_count(s);
	char t[32], ts[40], suite[300];
	snprintf(t, sizeof t, "%.3f", s->dur_ms / 1000.0);
	rep_iso_time(s->start_wall_ns ? s->start_wall_ns : m->start_wall_ns, false, ts, sizeof ts);
	snprintf(suite, sizeof suite, "scenario/%s", s->name ? s->name : "?");
	REP_PUT(sb, "  <testsuite");
	attr(sb, "name", suite);
	sb_printf(sb, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", c.tests, c.failures, c.errors,
		  c.skipped);
	attr(sb, "time", t);
	attr(sb, "timestamp", ts);
	attr(sb, "hostname", m->hostname[0] ? m->hostname : "localhost");
	sb_printf(sb, " id=\"%d\" package=\"critic\"", id);
	if (s->file)
		attr(sb, "file", s->file);
	REP_PUT(sb, ">\n");
	properties(sb, m);
	for (size_t i = 0; i < s->n_steps; i++)
		step_case(sb, s, &s->steps[i]);
	if (c.verdict_case) {
		char classname[300];
		snprintf(classname, sizeof classname, "critic.scenario.%s", s->name ? s->name : "?");
		REP_PUT(sb, "    <testcase");
		attr(sb, "classname", classname);
		attr(sb, "name", suite);
		attr(sb, "time", t);
		REP_PUT(sb, ">\n");
		const char *why = s->reason ? s->reason : s->verdict;
		if (!strcmp(s->verdict, "SKIP")) {
			REP_PUT(sb, "      <skipped");
			attr(sb, "message", why);
			REP_PUT(sb, "/>\n");
		} else {
			const char *tag = scn_is_error(s) ? "error" : "failure";
			sb_printf(sb, "      <%s", tag);
			attr(sb, "message", why);
			attr(sb, "type", s->verdict);
			REP_PUT(sb, ">");
			rep_xml_escape(sb, why, false);
			sb_printf(sb, "</%s>\n", tag);
		}
		REP_PUT(sb, "    </testcase>\n");
	}
	/* The description and the kubelet model's timeline, as text. */
	strbuf out = { 0 };
	sb_printf(&out, "%s", s->description ? s->description : "");
	if (s->n_timeline) {
		sb_printf(&out, "\nkubelet model timeline (seconds since the scenario started):");
		for (size_t i = 0; i < s->n_timeline; i++) {
			const kube_event *ev = &s->timeline[i];
			sb_printf(&out, "\n  +%.3f s  %-8s %-12s %s%s%s", (ev->t_ms + (s->model_offset_ms > 0 ? s->model_offset_ms : 0)) / 1000.0,
				  kube_component_name(ev->comp), ev->state, ev->reason, ev->message[0] ? "  " : "", ev->message);
		}
	}
	if (out.len) {
		REP_PUT(sb, "    <system-out>");
		rep_xml_escape(sb, out.buf, false);
		REP_PUT(sb, "</system-out>\n");
	}
	sb_free(&out);
	REP_PUT(sb, "  </testsuite>\n");
}

int rep_junit(const tst_summary *sum, strbuf *sb, crit_err *e)
{
	return rep_junit_scn(sum, NULL, sb, e);
}

int rep_junit_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e)
{
	const tst_meta *m = &sum->meta;
	int fail = 0, err = 0;
	int64_t all_ms = 0;
	size_t tests = sum->n_results;
	for (size_t i = 0; i < sum->n_results; i++) {
		fail += sum->results[i].verdict == TST_FAIL;
		err += sum->results[i].verdict == TST_TIMEOUT || sum->results[i].verdict == TST_CRASH;
		all_ms += sum->results[i].dur_ms;
	}
	for (size_t i = 0; scn && i < scn->n; i++) {
		scn_tally c = scn_count(&scn->v[i]);
		tests += (size_t)c.tests;
		fail += c.failures;
		err += c.errors;
		all_ms += scn->v[i].dur_ms;
	}
	char t[32], name[128];
	snprintf(t, sizeof t, "%.3f", (sum->wall_ms ? sum->wall_ms : all_ms) / 1000.0);
	snprintf(name, sizeof name, "critic %s", m->run_id);
	sb_printf(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	attr(sb, "name", name);
	sb_printf(sb, " tests=\"%zu\" failures=\"%d\" errors=\"%d\"", tests, fail, err);
	attr(sb, "time", t);
	REP_PUT(sb, ">\n");
	/* Areas in the order their first test appears. */
	int id = 0;
	for (size_t i = 0; i < sum->n_results; i++) {
		const tst_suite *area = sum->results[i].suite;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = sum->results[j].suite == area;
		if (seen)
			continue;
		int tests = 0, f = 0, er = 0, sk = 0;
		int64_t ms = 0, first_ns = 0;
		for (size_t j = i; j < sum->n_results; j++) {
			const tst_result *r = &sum->results[j];
			if (r->suite != area)
				continue;
			tests++;
			f += r->verdict == TST_FAIL;
			er += r->verdict == TST_TIMEOUT || r->verdict == TST_CRASH;
			sk += r->verdict == TST_SKIP;
			ms += r->dur_ms;
			if (r->start_wall_ns && (!first_ns || r->start_wall_ns < first_ns))
				first_ns = r->start_wall_ns;
		}
		char ts[40];
		rep_iso_time(first_ns ? first_ns : m->start_wall_ns, false, ts, sizeof ts);
		snprintf(t, sizeof t, "%.3f", ms / 1000.0);
		REP_PUT(sb, "  <testsuite");
		attr(sb, "name", area->area);
		sb_printf(sb, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", tests, f, er, sk);
		attr(sb, "time", t);
		attr(sb, "timestamp", ts);
		attr(sb, "hostname", m->hostname[0] ? m->hostname : "localhost");
		sb_printf(sb, " id=\"%d\" package=\"critic\">\n", id++);
		properties(sb, m);
		for (size_t j = i; j < sum->n_results; j++)
			if (sum->results[j].suite == area)
				testcase(sb, &sum->results[j]);
		REP_PUT(sb, "  </testsuite>\n");
	}
	for (size_t i = 0; scn && i < scn->n; i++)
		scenario_suite(sb, m, &scn->v[i], id++);
	REP_PUT(sb, "</testsuites>\n");
	return 0;
}

int rep_write_junit(const tst_summary *sum, const char *path, crit_err *e)
{
	return rep_write(REP_JUNIT, sum, NULL, path, e);
}
