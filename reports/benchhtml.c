/* rep bench html: critic bench's figures as one page. It reads the same
 * document `critic bench --json` writes, so the page and the JSON can never
 * disagree, and an older JSON renders the same way. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rep.h"

#define CHART_W 760
#define CHART_H 300
#define MAX_POINTS 16
#define MAX_SERIES 3

static void esc(strbuf *sb, const char *s)
{
	rep_xml_escape(sb, s ? s : "", false);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static double jnum(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v ? json_object_get_double(v) : 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static void meta_row(strbuf *sb, const char *k, const char *v)
{
	sb_printf(sb, "<tr><th>%s</th><td>", k);
	esc(sb, v);
	REP_PUT(sb, "</td></tr>\n");
}

/* A part's section opened; when the run left the part out (measured is
 * false) it says so, is closed, and false is returned. */
static bool section(strbuf *sb, const char *id, const char *title, bool measured, const char *how)
{
	sb_printf(sb, "<section id=\"%s\"><h2>%s</h2>\n", id, title);
	if (measured)
		return true;
	REP_PUT(sb, "<p class=\"legend\">not measured in this run (");
	esc(sb, how);
	REP_PUT(sb, ")</p>\n</section>\n");
	return false;
}

static void header(strbuf *sb, json_object *b)
{
	json_object *m = jget(b, "machine");
	char buf[1200];
	REP_PUT(sb, "<header><h1>critic bench <code>");
	esc(sb, jstr(b, "run_id"));
	REP_PUT(sb, "</code></h1>\n<table class=\"meta\">\n");
	meta_row(sb, "critic", jstr(b, "critic_version"));
	snprintf(buf, sizeof buf, "%s %s", jstr(m, "runtime_name"), jstr(m, "runtime_version"));
	meta_row(sb, "runtime", buf);
	snprintf(buf, sizeof buf, "%s%s", jstr(m, "endpoint"),
		 json_object_get_boolean(jget(m, "is_lab")) ? " (critic's lab)" : "");
	meta_row(sb, "endpoint", buf);
	snprintf(buf, sizeof buf, "%d CPUs, %.1f GiB memory, kernel %s", (int)jnum(m, "nproc"),
		 jnum(m, "mem_total_kb") / (1024.0 * 1024.0), jstr(m, "kernel"));
	meta_row(sb, "machine", buf);
	snprintf(buf, sizeof buf, "%d", (int)jnum(b, "exit"));
	meta_row(sb, "exit", buf);
	REP_PUT(sb, "</table></header>\n");
}

static void conformance(strbuf *sb, json_object *b)
{
	json_object *c = jget(b, "conformance");
	if (!section(sb, "conformance", "Conformance run", c, "--conformance LOG"))
		return;
	sb_printf(sb,
		  "<div class=\"counts\"><span class=\"badge v-pass\">%d passed</span><span class=\"badge v-fail\">%d "
		  "failed</span><span class=\"badge v-skip\">%d skipped</span> %d tests, exit %d</div>\n",
		  (int)jnum(c, "passed"), (int)jnum(c, "failed"), (int)jnum(c, "skipped"), (int)jnum(c, "tests"),
		  (int)jnum(c, "exit"));
	sb_printf(sb,
		  "<table class=\"meta\"><tr><th>wall time</th><td>%.1f s</td></tr><tr><th>peak RSS</th><td>%.1f MB "
		  "(critic and its test processes)</td></tr></table>\n</section>\n",
		  jnum(c, "wall_s"), jnum(c, "max_rss_kb") / 1024.0);
}

/* The lifecycle run's RPCs, in the document's order, as the run reports'
 * latency chart wants them. */
static size_t method_stats(json_object *rpcs, rep_method_stat *st, size_t max)
{
	size_t n = 0;
	if (!rpcs || !json_object_is_type(rpcs, json_type_object))
		return 0;
	json_object_object_foreach(rpcs, name, r)
	{
		if (n == max)
			break;
		rep_method_stat *m = &st[n++];
		memset(m, 0, sizeof *m);
		snprintf(m->method, sizeof m->method, "%s", name);
		m->count = (size_t)jnum(r, "calls");
		m->errors = (size_t)jnum(r, "errors");
		m->p50_us = llround(jnum(r, "p50_ms") * 1000);
		m->p95_us = llround(jnum(r, "p95_ms") * 1000);
		m->p99_us = llround(jnum(r, "p99_ms") * 1000);
		m->max_us = llround(jnum(r, "max_ms") * 1000);
		m->mean_us = llround(jnum(r, "mean_ms") * 1000);
	}
	return n;
}

static void lifecycle(strbuf *sb, json_object *b)
{
	json_object *l = jget(b, "lifecycle");
	if (!section(sb, "latency", "Per-RPC latency", l, "--no-lifecycle"))
		return;
	sb_printf(sb, "<p class=\"legend\">%d pods × %d container(s), %d concurrent workers, %.1f s</p>\n",
		  (int)jnum(l, "pods"), (int)jnum(l, "containers_per_pod"), (int)jnum(l, "workers"), jnum(l, "wall_s"));
	rep_method_stat st[32];
	json_object *rpcs = jget(l, "rpcs");
	size_t n = method_stats(rpcs, st, 32);
	rep_svg_latency(sb, st, n);
	double ops[32];
	for (size_t i = 0; i < n; i++)
		ops[i] = jnum(jget(rpcs, st[i].method), "ops_per_s");
	rep_latency_table(sb, st, n, ops);
	REP_PUT(sb, "</section>\n");
}

typedef struct {
	const char *name;
	double y[MAX_POINTS];
} series;

/* Lines of up to MAX_SERIES series over the same x values, both axes
 * linear from 0, a labelled point per value. */
static void line_chart(strbuf *sb, const char *cls, const char *title, const char *unit, const double *x, size_t n,
		       const series *s, size_t ns)
{
	const int left = 64, right = 250, top = 28, bottom = 44;
	const int pw = CHART_W - left - right, ph = CHART_H - top - bottom;
	double xmax = 0, ymax = 0;
	for (size_t i = 0; i < n; i++) {
		xmax = fmax(xmax, x[i]);
		for (size_t k = 0; k < ns; k++)
			ymax = fmax(ymax, s[k].y[i]);
	}
	xmax = rep_nice_ceil(xmax > 0 ? xmax : 1);
	double ystep = rep_nice_ceil((ymax > 0 ? ymax : 1) / 5.0), ytop = ystep * ceil((ymax > 0 ? ymax : 1) / ystep);
	REP_PUT(sb, "<h3>");
	esc(sb, title);
	REP_PUT(sb, "</h3>\n");
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart %s\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
		  cls, CHART_W, CHART_H, CHART_W, CHART_H);
	esc(sb, title);
	REP_PUT(sb, "</title>\n");
#define PX(v) (left + (v) / xmax * pw)
#define PY(v) (top + ph - (v) / ytop * ph)
	for (double v = 0; v <= ytop * 1.0001; v += ystep) {
		sb_printf(sb, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", left, PY(v), left + pw,
			  PY(v));
		sb_printf(sb, "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 6,
			  PY(v) + 4, v);
	}
	for (size_t i = 0; i < n; i++)
		sb_printf(sb, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", PX(x[i]),
			  top + ph + 16, x[i]);
	sb_printf(sb, "<line class=\"axis-line\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", left, top + ph, left + pw,
		  top + ph);
	sb_printf(sb, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">pods present</text>",
		  left + pw / 2, top + ph + 34);
	sb_printf(sb, "<text class=\"axis\" x=\"%d\" y=\"%d\">", 4, top - 12);
	esc(sb, unit);
	REP_PUT(sb, "</text>\n");
	for (size_t k = 0; k < ns; k++) {
		REP_PUT(sb, "<g class=\"series\" data-series=\"");
		rep_xml_escape(sb, s[k].name, true);
		sb_printf(sb, "\"><polyline class=\"line s%zu\" points=\"", k);
		for (size_t i = 0; i < n; i++)
			sb_printf(sb, "%s%.1f,%.1f", i ? " " : "", PX(x[i]), PY(s[k].y[i]));
		REP_PUT(sb, "\"/>");
		for (size_t i = 0; i < n; i++) {
			sb_printf(sb, "<circle class=\"s%zu\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>", k, PX(x[i]),
				  PY(s[k].y[i]));
			esc(sb, s[k].name);
			sb_printf(sb, ", %g pods: %.3f ", x[i], s[k].y[i]);
			esc(sb, unit);
			REP_PUT(sb, "</title></circle>");
		}
		int ly = top + 10 + (int)k * 20;
		sb_printf(sb, "<line class=\"line s%zu\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", k, left + pw + 16, ly,
			  left + pw + 36, ly);
		sb_printf(sb, "<text class=\"name\" x=\"%d\" y=\"%d\">", left + pw + 42, ly + 4);
		esc(sb, s[k].name);
		REP_PUT(sb, "</text></g>\n");
	}
#undef PX
#undef PY
	REP_PUT(sb, "</svg>\n");
}

static void growth(strbuf *sb, json_object *b)
{
	json_object *g = jget(b, "grow");
	size_t n = g && json_object_is_type(g, json_type_array) ? json_object_array_length(g) : 0;
	if (!section(sb, "growth", "Cost growth with the number of pods", n, "--grow N,N,…"))
		return;
	if (n > MAX_POINTS)
		n = MAX_POINTS;
	double x[MAX_POINTS];
	series lists[2] = { { "ListPodSandbox p50", { 0 } }, { "ListContainers p50", { 0 } } };
	series cost[MAX_SERIES] = { { "a pod's calls (sum of means)", { 0 } }, { "wall time per pod", { 0 } },
				    { "RunPodSandbox p50", { 0 } } };
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(g, i);
		x[i] = jnum(r, "pods");
		lists[0].y[i] = jnum(r, "list_pods_p50_ms");
		lists[1].y[i] = jnum(r, "list_containers_p50_ms");
		cost[0].y[i] = jnum(r, "pod_calls_ms");
		cost[1].y[i] = jnum(r, "wall_per_pod_ms");
		cost[2].y[i] = jnum(r, "run_pod_p50_ms");
	}
	line_chart(sb, "growth-list", "List* latency (p50) against the pods present", "ms", x, n, lists, 2);
	line_chart(sb, "growth-pod", "What one pod costs against the pods present", "ms", x, n, cost, MAX_SERIES);
	REP_PUT(sb, "<table class=\"lat\"><thead><tr><th>pods</th><th>listed pods/containers</th>"
		      "<th>ListPodSandbox p50</th><th>ListContainers p50</th><th>RunPodSandbox p50</th>"
		      "<th>a pod's calls</th><th>wall per pod</th><th>errors</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(g, i);
		sb_printf(sb,
			  "<tr><td>%g</td><td class=\"num\">%d/%d</td><td class=\"num\">%.3f ms</td><td class=\"num\">"
			  "%.3f ms</td><td class=\"num\">%.1f ms</td><td class=\"num\">%.1f ms</td><td class=\"num\">"
			  "%.1f ms</td><td class=\"num\">%d</td></tr>\n",
			  x[i], (int)jnum(r, "listed_pods"), (int)jnum(r, "listed_containers"), lists[0].y[i],
			  lists[1].y[i], cost[2].y[i], cost[0].y[i], cost[1].y[i], (int)jnum(r, "errors"));
	}
	REP_PUT(sb, "</tbody></table>\n</section>\n");
}

static void overhead(strbuf *sb, json_object *b)
{
	json_object *o = jget(b, "overhead"), *p = jget(b, "proxy");
	size_t n = o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
	if (!section(sb, "overhead", "critic's own cost per call", n, "--overhead"))
		return;
	REP_PUT(sb, "<p class=\"legend\">encode + gRPC + decode against an in-process server that answers at once, "
		      "against a raw gRPC call loop on the same server (p50)</p>\n<table class=\"lat\"><thead><tr>"
		      "<th>method</th><th>calls</th><th>raw</th><th>critic</th><th>ratio</th><th>added</th></tr></thead>"
		      "<tbody>\n");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(o, i);
		REP_PUT(sb, "<tr><td>");
		esc(sb, jstr(r, "method"));
		sb_printf(sb,
			  "</td><td class=\"num\">%d</td><td class=\"num\">%.1f µs</td><td class=\"num\">%.1f µs</td>"
			  "<td class=\"num\">×%.2f</td><td class=\"num\">%+.1f µs</td></tr>\n",
			  (int)jnum(r, "calls"), jnum(r, "raw_p50_us"), jnum(r, "critic_p50_us"), jnum(r, "ratio"),
			  jnum(r, "overhead_us"));
	}
	REP_PUT(sb, "</tbody></table>\n");
	n = p && json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0;
	if (n) {
		REP_PUT(sb, "<h3>The socket proxy, passing through</h3>\n<table class=\"lat\"><thead><tr><th>target</th>"
			      "<th>method</th><th>calls</th><th>direct</th><th>through the proxy</th><th>ratio</th>"
			      "<th>added</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < n; i++) {
			json_object *r = json_object_array_get_idx(p, i);
			REP_PUT(sb, "<tr><td>");
			esc(sb, jstr(r, "target"));
			REP_PUT(sb, "</td><td>");
			esc(sb, jstr(r, "method"));
			sb_printf(sb,
				  "</td><td class=\"num\">%d</td><td class=\"num\">%.1f µs</td><td class=\"num\">%.1f µs"
				  "</td><td class=\"num\">×%.2f</td><td class=\"num\">%+.1f µs</td></tr>\n",
				  (int)jnum(r, "calls"), jnum(r, "direct_p50_us"), jnum(r, "proxy_p50_us"),
				  jnum(r, "ratio"), jnum(r, "added_us"));
		}
		REP_PUT(sb, "</tbody></table>\n");
	}
	REP_PUT(sb, "</section>\n");
}

static void faults(strbuf *sb, json_object *b)
{
	json_object *f = jget(b, "faults");
	if (!section(sb, "faults", "Fault detection", f, "--faults K, lab only"))
		return;
	sb_printf(sb, "<p class=\"legend\">%d × SIGKILL of the runtime; target: noticed within %d ms (%s)</p>\n",
		  (int)jnum(f, "repetitions"), (int)jnum(f, "target_down_ms"),
		  json_object_get_boolean(jget(f, "target_met")) ? "met" : "NOT met");
	static const struct {
		const char *key, *what;
	} rows[] = {
		{ "down", "SIGKILL → critic notices" },
		{ "exit", "SIGKILL → the process is gone" },
		{ "restart_ready", "restart → Status ready" },
		{ "containerd_start_to_ready", "the new runtime's own start → ready" },
	};
	REP_PUT(sb, "<table class=\"lat\"><thead><tr><th>interval</th><th>median</th><th>max</th><th>samples</th></tr>"
		      "</thead><tbody>\n");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		json_object *r = jget(f, rows[i].key);
		if (!r)
			continue;
		sb_printf(sb, "<tr><td>%s</td><td class=\"num\">%d ms</td><td class=\"num\">%d ms</td><td class=\"num\">",
			  rows[i].what, (int)jnum(r, "median_ms"), (int)jnum(r, "max_ms"));
		json_object *smp = jget(r, "samples_ms");
		size_t k = smp && json_object_is_type(smp, json_type_array) ? json_object_array_length(smp) : 0;
		for (size_t j = 0; j < k; j++)
			sb_printf(sb, "%s%d", j ? ", " : "", json_object_get_int(json_object_array_get_idx(smp, j)));
		REP_PUT(sb, "</td></tr>\n");
	}
	REP_PUT(sb, "</tbody></table>\n</section>\n");
}

int rep_bench_html(json_object *b, strbuf *sb, crit_err *e)
{
	if (!b || !json_object_is_type(b, json_type_object))
		return err_set(e, -EINVAL, "bench report: no figures (not a JSON object)");
	/* Polyglot markup, as the run reports: HTML to a browser, XML to a parser. */
	REP_PUT(sb, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
		      "<meta charset=\"utf-8\"/><title>critic bench ");
	esc(sb, jstr(b, "run_id"));
	sb_printf(sb, "</title><style>%s</style></head>\n<body>\n", rep_html_css);
	header(sb, b);
	REP_PUT(sb, "<main>\n");
	conformance(sb, b);
	lifecycle(sb, b);
	growth(sb, b);
	overhead(sb, b);
	faults(sb, b);
	REP_PUT(sb, "</main>\n<footer>critic ");
	esc(sb, jstr(b, "critic_version"));
	REP_PUT(sb, " · critic bench</footer>\n</body></html>\n");
	return 0;
}

int rep_write_bench_html(json_object *b, const char *path, crit_err *e)
{
	strbuf sb = { 0 };
	int rc = rep_bench_html(b, &sb, e);
	if (rc == 0)
		rc = rep_commit(path, sb.buf ? sb.buf : "", sb.len, e);
	else
		err_wrap(e, "write bench report %s", path);
	sb_free(&sb);
	return rc;
}
