/* rep tap: the run as KTAP version 1 (the kernel's TAP dialect): a plan, one result line per
 * test and per scenario (its steps as a subtest), "# " diagnostics before a failed result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"

/* A test name as KTAP wants it: one line, no '#' (that starts a directive). */
static void tap_name(strbuf *sb, const char *name)
{
	strbuf clean = { 0 };
	rep_utf8_clean(&clean, name, true);
	for (char *p = clean.buf; p && *p; p++)
		if (*p == '#')
			*p = '_';
	sb_append(sb, clean.buf ? clean.buf : "", clean.len);
	sb_free(&clean);
}

static void diag_lines(strbuf *sb, const char *text)
{
	for (const char *line = text; line && *line;) {
		size_t n = strcspn(line, "\n");
		char *copy = strndup(line, n);
		REP_PUT(sb, "# ");
		rep_utf8_clean(sb, copy ? copy : "", true);
		REP_PUT(sb, "\n");
		free(copy);
		line += n + (line[n] ? 1 : 0);
	}
}

/* "# " lines indented for a subtest. */
static void diag_lines_in(strbuf *sb, const char *text, const char *indent)
{
	for (const char *line = text; line && *line;) {
		size_t n = strcspn(line, "\n");
		char *copy = strndup(line, n);
		sb_printf(sb, "%s# ", indent);
		rep_utf8_clean(sb, copy ? copy : "", true);
		REP_PUT(sb, "\n");
		free(copy);
		line += n + (line[n] ? 1 : 0);
	}
}

/* A scenario as a KTAP subtest: its steps, indented four spaces, then its
 * own result line in the parent's numbering. */
static void scenario_subtest(strbuf *sb, const rep_scenario *s, size_t num, int *pass, int *fail, int *skip, int *error)
{
	const char *in = "    ";
	strbuf name = { 0 };
	sb_printf(&name, "scenario/%s", s->name ? s->name : "?");
	if (s->n_steps) {
		sb_printf(sb, "%sKTAP version 1\n%s# Subtest: ", in, in);
		tap_name(sb, name.buf);
		sb_printf(sb, "\n%s1..%zu\n", in, s->n_steps);
		for (size_t i = 0; i < s->n_steps; i++) {
			const rep_scn_step *st = &s->steps[i];
			strbuf sn = { 0 };
			char title[600];
			sb_printf(&sn, "%s", rep_step_title(st, title, sizeof title));
			bool ok = strcmp(st->verdict, "FAIL") != 0;
			if (!ok) {
				strbuf d = { 0 };
				sb_printf(&d, "line %d: %s", st->line, st->message ? st->message : "failed");
				if (st->method[0])
					sb_printf(&d, "\ncall %s: %s%s%s", st->method,
						  st->grpc_status < 0 ? "no status" : cri_status_name(st->grpc_status),
						  st->call_msg ? ": " : "", st->call_msg ? st->call_msg : "");
				diag_lines_in(sb, d.buf, in);
				sb_free(&d);
			}
			sb_printf(sb, "%s%s %zu ", in, ok ? "ok" : "not ok", i + 1);
			tap_name(sb, sn.buf);
			if (!strcmp(st->verdict, "XFAIL")) {
				REP_PUT(sb, " # XFAIL ");
				tap_name(sb, st->known_issue ? st->known_issue : "known issue");
			}
			REP_PUT(sb, "\n");
			sb_free(&sn);
		}
	}
	if (!strcmp(s->verdict, "PASS")) {
		(*pass)++;
		sb_printf(sb, "ok %zu ", num);
		tap_name(sb, name.buf);
	} else if (!strcmp(s->verdict, "SKIP")) {
		(*skip)++;
		sb_printf(sb, "ok %zu ", num);
		tap_name(sb, name.buf);
		REP_PUT(sb, " # SKIP ");
		rep_utf8_clean(sb, s->reason ? s->reason : "", true);
	} else {
		if (!strcmp(s->verdict, "FAIL"))
			(*fail)++;
		else {
			(*error)++;
			sb_printf(sb, "# %s\n", s->verdict);
		}
		diag_lines(sb, s->reason);
		sb_printf(sb, "not ok %zu ", num);
		tap_name(sb, name.buf);
	}
	REP_PUT(sb, "\n");
	sb_free(&name);
}

void rep_tap(const tst_summary *sum, strbuf *sb)
{
	rep_tap_scn(sum, NULL, sb);
}

void rep_tap_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb)
{
	const tst_meta *m = &sum->meta;
	int pass = 0, fail = 0, skip = 0, error = 0;
	sb_printf(sb, "KTAP version 1\n1..%zu\n", sum->n_results + (scn ? scn->n : 0));
	strbuf head = { 0 };
	sb_printf(&head, "critic %s, run %s, %s %s (CRI %s) at %s", m->critic_version, m->run_id, m->runtime_name,
		  m->runtime_version, m->runtime_api, m->endpoint);
	diag_lines(sb, head.buf);
	sb_free(&head);
	for (size_t i = 0; i < sum->n_results; i++) {
		const tst_result *r = &sum->results[i];
		switch (r->verdict) {
		case TST_PASS:
			pass++;
			sb_printf(sb, "ok %zu ", i + 1);
			tap_name(sb, r->tc->name);
			REP_PUT(sb, "\n");
			break;
		case TST_SKIP: {
			char why[1024];
			skip++;
			rep_first_message(r, why, sizeof why);
			sb_printf(sb, "ok %zu ", i + 1);
			tap_name(sb, r->tc->name);
			REP_PUT(sb, " # SKIP");
			if (why[0]) {
				REP_PUT(sb, " ");
				rep_utf8_clean(sb, why, true);
			}
			REP_PUT(sb, "\n");
			break;
		}
		default:
			if (r->verdict == TST_FAIL)
				fail++;
			else
				error++;
			/* KTAP: diagnostics about a test come right before its result. */
			if (r->verdict != TST_FAIL)
				sb_printf(sb, "# %s\n", tst_verdict_name(r->verdict));
			diag_lines(sb, r->detail);
			sb_printf(sb, "not ok %zu ", i + 1);
			tap_name(sb, r->tc->name);
			REP_PUT(sb, "\n");
			break;
		}
	}
	for (size_t i = 0; scn && i < scn->n; i++)
		scenario_subtest(sb, &scn->v[i], sum->n_results + i + 1, &pass, &fail, &skip, &error);
	sb_printf(sb, "# Totals: pass:%d fail:%d skip:%d error:%d\n", pass, fail, skip, error);
}

int rep_write_tap(const tst_summary *sum, const char *path, crit_err *e)
{
	return rep_write(REP_TAP, sum, NULL, path, e);
}
