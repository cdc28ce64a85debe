/* rep tap: the run as KTAP version 1 (the kernel's TAP dialect): a plan,
 * one result line per test, "# " diagnostic lines before a failed result. */
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

void rep_tap(const tst_summary *sum, strbuf *sb)
{
	const tst_meta *m = &sum->meta;
	int pass = 0, fail = 0, skip = 0, error = 0;
	sb_printf(sb, "KTAP version 1\n1..%zu\n", sum->n_results);
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
	sb_printf(sb, "# Totals: pass:%d fail:%d skip:%d error:%d\n", pass, fail, skip, error);
}

int rep_write_tap(const tst_summary *sum, const char *path, crit_err *e)
{
	strbuf sb = { 0 };
	rep_tap(sum, &sb);
	int rc = rep_commit(path, sb.buf, sb.len, e);
	sb_free(&sb);
	return rc;
}
