/* rep html: the run as one self-contained page (inline CSS and SVG, no script, nothing
 * fetched): tests, charts, and per fault scenario its story, timeline and step table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"

#define SVG_W 960

static void esc(strbuf *sb, const char *s)
{
	rep_xml_escape(sb, s, false);
}

static void esc_attr(strbuf *sb, const char *s)
{
	rep_xml_escape(sb, s, true);
}

static const char *verdict_class(tst_verdict v)
{
	static const char *const cls[] = { "v-pass", "v-fail", "v-skip", "v-timeout", "v-crash" };
	return cls[v];
}

void rep_fmt_us(char *buf, size_t len, int64_t us)
{
	if (us < 1000)
		snprintf(buf, len, "%lld µs", (long long)us);
	else if (us < 100000)
		snprintf(buf, len, "%.1f ms", us / 1e3);
	else if (us < 1000000)
		snprintf(buf, len, "%.0f ms", us / 1e3);
	else
		snprintf(buf, len, "%.2f s", us / 1e6);
}

double rep_nice_ceil(double v)
{
	double p = pow(10, floor(log10(v)));
	for (int k = 0; k < 4; k++) {
		double m = (k == 0 ? 1 : k == 1 ? 2 : k == 2 ? 5 : 10) * p;
		if (m >= v)
			return m;
	}
	return 10 * p;
}

/* A label cut to max characters (UTF-8 aware) with an ellipsis. */
static void label(strbuf *sb, const char *s, size_t max)
{
	size_t chars = 0, i = 0;
	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > max)
			break;
	if (!s[i]) {
		esc(sb, s);
		return;
	}
	char *cut = strndup(s, i);
	esc(sb, cut ? cut : "");
	REP_PUT(sb, "…");
	free(cut);
}

/* ---- test durations --------------------------------------------------------- */

static const tst_summary *sort_sum;
static int cmp_dur(const void *a, const void *b)
{
	const tst_result *x = &sort_sum->results[*(const size_t *)a], *y = &sort_sum->results[*(const size_t *)b];
	if (x->dur_ms != y->dur_ms)
		return x->dur_ms < y->dur_ms ? 1 : -1;
	return strcmp(x->tc->name, y->tc->name);
}

void rep_svg_durations(strbuf *sb, const tst_summary *sum)
{
	const int lw = 330, rw = 80, bw = SVG_W - lw - rw, row = 18, top = 26;
	size_t n = sum->n_results;
	int h = top + (int)n * row + 8;
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart durations\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" role=\"img\"><title>Test durations, longest first</title>\n",
		  SVG_W, h, SVG_W, h);
	if (!n) {
		sb_printf(sb, "<text x=\"%d\" y=\"18\">no tests</text></svg>\n", lw);
		return;
	}
	size_t *order = malloc(n * sizeof *order);
	if (!order)
		abort();
	int64_t max_ms = 1;
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (sum->results[i].dur_ms > max_ms)
			max_ms = sum->results[i].dur_ms;
	}
	sort_sum = sum;
	qsort(order, n, sizeof *order, cmp_dur);
	/* Gridlines at a round step, five or fewer. */
	double step = rep_nice_ceil(max_ms / 5.0);
	int ticks = (int)ceil(max_ms / step);
	double axis = step * ticks;
	for (int k = 0; k <= ticks; k++) {
		double x = lw + bw * k / (double)ticks;
		sb_printf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, top - 4, x, h - 4);
		sb_printf(sb, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g s</text>\n", x,
			  top - 10, step * k / 1000.0);
	}
	for (size_t i = 0; i < n; i++) {
		const tst_result *r = &sum->results[order[i]];
		int y = top + (int)i * row;
		double w = bw * (double)r->dur_ms / axis;
		if (w < 1)
			w = 1;
		sb_printf(sb, "<g class=\"row\"><text class=\"name\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8,
			  y + 13);
		label(sb, r->tc->name, 48);
		sb_printf(sb, "</text><rect class=\"bar %s\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\"><title>",
			  verdict_class(r->verdict), lw, y + 3, w);
		esc(sb, r->tc->name);
		sb_printf(sb, ": %s, %.2f s</title></rect>", tst_verdict_name(r->verdict), r->dur_ms / 1000.0);
		sb_printf(sb, "<text class=\"value\" x=\"%.1f\" y=\"%d\">%.2f s</text></g>\n", lw + w + 6, y + 13,
			  r->dur_ms / 1000.0);
	}
	REP_PUT(sb, "</svg>\n");
	free(order);
}

/* ---- CRI latency ------------------------------------------------------------ */

typedef struct {
	double lo, hi; /* decades, µs */
	int x0, w;
} logscale;

static double lx(const logscale *s, int64_t us)
{
	double v = (double)us;
	if (v < s->lo)
		v = s->lo;
	if (v > s->hi)
		v = s->hi;
	return s->x0 + s->w * (log10(v) - log10(s->lo)) / (log10(s->hi) - log10(s->lo));
}

void rep_svg_latency(strbuf *sb, const rep_method_stat *st, size_t n)
{
	const int lw = 220, rw = 130, row = 22, top = 30;
	int h = top + (int)n * row + 34;
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart latency\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" role=\"img\"><title>CRI call latency per method (log scale)</title>\n",
		  SVG_W, h, SVG_W, h);
	if (!n) {
		sb_printf(sb, "<text x=\"%d\" y=\"18\">no CRI calls recorded</text></svg>\n", lw);
		return;
	}
	int64_t min_v = INT64_MAX, max_v = 1;
	for (size_t i = 0; i < n; i++) {
		if (st[i].p50_us > 0 && st[i].p50_us < min_v)
			min_v = st[i].p50_us;
		if (st[i].max_us > max_v)
			max_v = st[i].max_us;
	}
	if (min_v == INT64_MAX)
		min_v = 1;
	logscale s = { .x0 = lw, .w = SVG_W - lw - rw };
	s.lo = pow(10, floor(log10((double)min_v)));
	s.hi = pow(10, ceil(log10((double)max_v)));
	if (s.hi <= s.lo)
		s.hi = s.lo * 10;
	for (double d = s.lo; d <= s.hi * 1.0001; d *= 10) {
		char t[32];
		double x = lx(&s, (int64_t)d);
		if (d < 1e3)
			snprintf(t, sizeof t, "%g µs", d);
		else
			snprintf(t, sizeof t, d < 1e6 ? "%g ms" : "%g s", d < 1e6 ? d / 1e3 : d / 1e6);
		sb_printf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, top - 4, x,
			  top + (int)n * row);
		sb_printf(sb, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, top - 10, t);
	}
	for (size_t i = 0; i < n; i++) {
		const rep_method_stat *m = &st[i];
		int y = top + (int)i * row;
		double x50 = lx(&s, m->p50_us), x95 = lx(&s, m->p95_us), x99 = lx(&s, m->p99_us), xmax = lx(&s, m->max_us);
		char p50[32], p95[32], p99[32], mx[32];
		rep_fmt_us(p50, sizeof p50, m->p50_us);
		rep_fmt_us(p95, sizeof p95, m->p95_us);
		rep_fmt_us(p99, sizeof p99, m->p99_us);
		rep_fmt_us(mx, sizeof mx, m->max_us);
		REP_PUT(sb, "<g class=\"method\" data-method=\"");
		esc_attr(sb, m->method);
		REP_PUT(sb, "\"><title>");
		esc(sb, m->method);
		sb_printf(sb, ": %zu calls, %zu not OK; p50 %s, p95 %s, p99 %s, max %s</title>", m->count, m->errors, p50,
			  p95, p99, mx);
		sb_printf(sb, "<text class=\"name\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 15);
		label(sb, m->method, 26);
		sb_printf(sb, " <tspan class=\"dim\">×%zu</tspan></text>", m->count);
		sb_printf(sb, "<rect class=\"p50\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\"/>", lw, y + 5,
			  x50 - lw > 1 ? x50 - lw : 1);
		sb_printf(sb, "<rect class=\"p95\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\"/>", x50, y + 5,
			  x95 - x50);
		sb_printf(sb, "<rect class=\"p99\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\"/>", x95, y + 5,
			  x99 - x95);
		sb_printf(sb, "<circle class=\"max\" cx=\"%.1f\" cy=\"%d\" r=\"3.5\"/>", xmax, y + 11);
		sb_printf(sb, "<text class=\"value\" x=\"%d\" y=\"%d\">p99 %s%s</text></g>\n", SVG_W - rw + 10, y + 15, p99,
			  m->errors ? " ⚠" : "");
	}
	int ly = top + (int)n * row + 22;
	sb_printf(sb,
		  "<g class=\"legend\"><rect class=\"p50\" x=\"%d\" y=\"%d\" width=\"12\" height=\"10\"/>"
		  "<text x=\"%d\" y=\"%d\">p50</text>"
		  "<rect class=\"p95\" x=\"%d\" y=\"%d\" width=\"12\" height=\"10\"/><text x=\"%d\" y=\"%d\">p95</text>"
		  "<rect class=\"p99\" x=\"%d\" y=\"%d\" width=\"12\" height=\"10\"/><text x=\"%d\" y=\"%d\">p99</text>"
		  "<circle class=\"max\" cx=\"%d\" cy=\"%d\" r=\"3.5\"/><text x=\"%d\" y=\"%d\">max</text></g>\n",
		  lw, ly - 9, lw + 16, ly, lw + 60, ly - 9, lw + 76, ly, lw + 120, ly - 9, lw + 136, ly, lw + 184, ly - 4,
		  lw + 192, ly);
	REP_PUT(sb, "</svg>\n");
}

/* ---- kubelet-model timeline -------------------------------------------------- */

/* Colour family of a model state word. */
static const char *state_class(const char *state)
{
	static const char *const good[] = { "Ready", "Running", "up", "ready", "healthy", "ok" };
	static const char *const bad[] = { "NotReady", "not-ready", "down", "unhealthy", "failed", "CrashLooping" };
	static const char *const warn[] = { "Unknown", "unknown", "failing", "Starting" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!strcmp(state, good[i]))
			return "st-good";
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (!strcmp(state, bad[i]))
			return "st-bad";
	for (size_t i = 0; i < ARRAY_SIZE(warn); i++)
		if (!strcmp(state, warn[i]))
			return "st-warn";
	return "st-idle";
}

static void event_title(strbuf *sb, const kube_event *ev, int64_t shift_ms)
{
	sb_printf(sb, "<title>+%.3fs %s ", (ev->t_ms + shift_ms) / 1000.0, kube_component_name(ev->comp));
	esc(sb, ev->state);
	if (ev->reason[0]) {
		REP_PUT(sb, " (");
		esc(sb, ev->reason);
		REP_PUT(sb, ")");
	}
	if (ev->message[0]) {
		REP_PUT(sb, ": ");
		esc(sb, ev->message);
	}
	REP_PUT(sb, "</title>");
}

/* The timeline drawer: the model's lanes with their events shifted by
 * shift_ms; with steps, a lane of the scenario's steps on top and a dashed
 * line down every lane where a fault step started. */
static int draw_timeline(strbuf *sb, const kube_event *ev, size_t n, int64_t shift_ms, int64_t end_ms,
			 const rep_scn_step *steps, size_t n_steps, crit_err *e)
{
	if (n && !ev)
		return err_set(e, -EINVAL, "timeline: %zu events but no array", n);
	const int lw = steps ? 110 : 90, rw = 20, lane_h = 26, top = 24;
	bool present[KUBE_C_COUNT] = { false };
	int lane_of[KUBE_C_COUNT], n_lanes = 0;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)ev[i].comp >= KUBE_C_COUNT)
			return err_set(e, -EINVAL, "timeline: event %zu has no such component (%d)", i, (int)ev[i].comp);
		present[ev[i].comp] = true;
		if (ev[i].t_ms + shift_ms > end_ms)
			end_ms = ev[i].t_ms + shift_ms;
	}
	for (size_t i = 0; i < n_steps; i++)
		if (steps[i].start_ms + steps[i].dur_ms > end_ms)
			end_ms = steps[i].start_ms + steps[i].dur_ms;
	if (end_ms <= 0)
		end_ms = 1;
	int first_lane = steps ? 1 : 0;
	n_lanes = first_lane;
	for (int c = 0; c < KUBE_C_COUNT; c++)
		lane_of[c] = present[c] ? n_lanes++ : -1;
	int bw = SVG_W - lw - rw, h = top + n_lanes * lane_h + 6;
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart timeline\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" role=\"img\"><title>%s</title>\n",
		  SVG_W, h, SVG_W, h, steps ? "Scenario timeline: its steps and what the kubelet model saw" : "Kubelet model timeline");
	/* Ticks at 1, 2 or 5 times a power of ten, ten at most. */
	double step = rep_nice_ceil(end_ms / 10.0);
	for (double t = 0; t <= end_ms + 0.5; t += step) {
		char d[32];
		double x = lw + bw * t / (double)end_ms;
		sb_printf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, top - 4, x, h - 4);
		sb_printf(sb, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">+%s</text>\n", x, top - 10,
			  kube_duration_str((int64_t)t, d, sizeof d));
	}
	if (steps) {
		sb_printf(sb, "<g class=\"lane steps\"><text class=\"name\" x=\"%d\" y=\"%d\" text-anchor=\"end\">"
			      "scenario steps</text><rect class=\"lane-bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
			  lw - 8, top + 17, lw, top + 3, bw, lane_h - 6);
		for (size_t i = 0; i < n_steps; i++) {
			const rep_scn_step *st = &steps[i];
			double x0 = lw + bw * (double)st->start_ms / (double)end_ms;
			double w = bw * (double)st->dur_ms / (double)end_ms;
			const char *cls = !strcmp(st->verdict, "FAIL") ? "step-fail" : st->fault ? "step-fault" : "step-ok";
			sb_printf(sb, "<rect class=\"step %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
				      "<title>step %d, +%.3fs for %.3fs: ",
				  cls, x0, top + 3, w < 2 ? 2 : w, lane_h - 6, st->index, st->start_ms / 1000.0, st->dur_ms / 1000.0);
			esc(sb, st->desc ? st->desc : st->kind);
			sb_printf(sb, " (%s)</title></rect>", st->verdict);
		}
		REP_PUT(sb, "</g>\n");
		/* When each fault hit: a flag on the steps lane, a dashed line below. */
		for (size_t i = 0; i < n_steps; i++) {
			const rep_scn_step *st = &steps[i];
			if (!st->fault)
				continue;
			double x = lw + bw * (double)st->start_ms / (double)end_ms;
			sb_printf(sb, "<g class=\"fault\"><line class=\"fault-line\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
				      "y2=\"%d\"/><path class=\"fault-flag\" d=\"M%.1f %d v-10 h9 l-3 3 l3 3 h-9 z\"><title>"
				      "fault at +%.3fs: ",
				  x, top + 3, x, h - 4, x, top + 13, st->start_ms / 1000.0);
			esc(sb, st->desc ? st->desc : st->kind);
			REP_PUT(sb, "</title></path></g>\n");
		}
	}
	for (int c = 0; c < KUBE_C_COUNT; c++) {
		if (lane_of[c] < 0)
			continue;
		int y = top + lane_of[c] * lane_h;
		const char *name = kube_component_name((kube_component)c);
		sb_printf(sb, "<g class=\"lane\" data-component=\"%s\"><text class=\"name\" x=\"%d\" y=\"%d\" "
			      "text-anchor=\"end\">%s</text><rect class=\"lane-bg\" x=\"%d\" y=\"%d\" width=\"%d\" "
			      "height=\"%d\"/>",
			  name, lw - 8, y + 17, name, lw, y + 3, bw, lane_h - 6);
		for (size_t i = 0; i < n; i++) {
			if ((int)ev[i].comp != c)
				continue;
			int64_t t1 = end_ms;
			for (size_t j = i + 1; j < n; j++)
				if (ev[j].comp == ev[i].comp) {
					t1 = ev[j].t_ms + shift_ms;
					break;
				}
			double x0 = lw + bw * (double)(ev[i].t_ms + shift_ms) / (double)end_ms;
			double x1 = lw + bw * (double)t1 / (double)end_ms;
			sb_printf(sb, "<rect class=\"seg %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">",
				  state_class(ev[i].state), x0, y + 3, x1 - x0, lane_h - 6);
			event_title(sb, &ev[i], shift_ms);
			REP_PUT(sb, "</rect>");
			if (x1 - x0 >= 7.0 * strlen(ev[i].state) + 8) {
				sb_printf(sb, "<text class=\"state\" x=\"%.1f\" y=\"%d\">", x0 + 4, y + 17);
				esc(sb, ev[i].state);
				REP_PUT(sb, "</text>");
			}
		}
		/* Markers last, so segments never hide them. */
		for (size_t i = 0; i < n; i++) {
			if ((int)ev[i].comp != c)
				continue;
			double x = lw + bw * (double)(ev[i].t_ms + shift_ms) / (double)end_ms;
			sb_printf(sb, "<path class=\"mark\" d=\"M%.1f %d l-4 -6 h8 z\">", x, y + 4);
			event_title(sb, &ev[i], shift_ms);
			REP_PUT(sb, "</path>");
		}
		REP_PUT(sb, "</g>\n");
	}
	REP_PUT(sb, "</svg>\n");
	return 0;
}

int rep_svg_timeline(strbuf *sb, const kube_event *ev, size_t n, int64_t end_ms, crit_err *e)
{
	return draw_timeline(sb, ev, n, 0, end_ms, NULL, 0, e);
}

int rep_svg_scenario(strbuf *sb, const rep_scenario *s, crit_err *e)
{
	static const rep_scn_step none;
	return draw_timeline(sb, s->timeline, s->n_timeline, s->model_offset_ms > 0 ? s->model_offset_ms : 0, s->dur_ms,
			     s->n_steps ? s->steps : &none, s->n_steps, e);
}

/* ---- the page ----------------------------------------------------------------- */

const char rep_html_css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2933;background:#fff}"
	"header{background:#1f2933;color:#f5f7fa;padding:18px 28px}"
	"header h1{margin:0 0 8px;font-size:21px;font-weight:600}"
	"header code{font-size:17px}"
	"main{padding:4px 28px 28px}"
	"h2{font-size:17px;margin:26px 0 10px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}"
	"table{border-collapse:collapse}"
	"table.meta th{text-align:left;font-weight:600;padding:1px 14px 1px 0;color:#9aa5b1;vertical-align:top}"
	"table.meta td{padding:1px 0;word-break:break-all}"
	".counts{margin:10px 0 12px}"
	".badge{display:inline-block;padding:1px 9px;border-radius:9px;font-weight:600;color:#fff;font-size:13px}"
	".counts .badge{margin-right:6px;font-size:14px}"
	".badge.v-pass{background:#2e7d32}.badge.v-fail{background:#c62828}.badge.v-skip{background:#a66b00}"
	".badge.v-timeout{background:#d84315}.badge.v-crash{background:#6a1b9a}"
	"table.tests{width:100%;font-size:13px}"
	"table.tests th{text-align:left;background:#f5f7fa;padding:5px 8px;border-bottom:2px solid #e4e7eb}"
	"table.tests td{padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}"
	"table.tests td.num,table.lat td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
	"table.tests td.name{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}"
	"tr.v-fail td:first-child,tr.v-timeout td:first-child,tr.v-crash td:first-child{border-left:4px solid #c62828}"
	"tr.v-skip td:first-child{border-left:4px solid #a66b00}tr.v-pass td:first-child{border-left:4px solid #2e7d32}"
	"details summary{cursor:pointer;color:#3e4c59}"
	"ul.failures{list-style:none;padding:0;margin:0}ul.failures li{padding:3px 0;font-size:13px}"
	"ul.failures a{font-family:ui-monospace,Menlo,Consolas,monospace;color:#1f2933;margin-right:8px}"
	"details pre{white-space:pre-wrap;word-break:break-word;background:#f5f7fa;padding:8px;margin:4px 0;"
	"font-size:12px}"
	"table.lat{font-size:13px;margin-top:8px}table.lat th,table.lat td{padding:3px 10px;"
	"border-bottom:1px solid #eef0f3}table.lat th{background:#f5f7fa;text-align:right}"
	"table.lat th:first-child{text-align:left}"
	"svg.chart{display:block;max-width:100%;height:auto;font-size:12px;font-family:inherit}"
	"svg .grid{stroke:#e4e7eb;stroke-width:1}svg .axis{fill:#7b8794;font-size:11px}"
	"svg .name{fill:#1f2933}svg .value,svg .dim{fill:#616e7c}"
	"svg rect.v-pass{fill:#2e7d32}svg rect.v-fail{fill:#c62828}svg rect.v-skip{fill:#e0a526}"
	"svg rect.v-timeout{fill:#d84315}svg rect.v-crash{fill:#6a1b9a}"
	"svg .p50{fill:#1565c0}svg .p95{fill:#64b5f6}svg .p99{fill:#bbdefb}svg .max{fill:#c62828}"
	"svg .lane-bg{fill:#f5f7fa}svg .seg.st-good{fill:#66bb6a}svg .seg.st-bad{fill:#e57373}"
	"svg .seg.st-warn{fill:#ffca28}svg .seg.st-idle{fill:#cfd8dc}svg .state{fill:#1f2933;font-size:11px}"
	"svg .mark{fill:#1f2933}"
	"svg .step-ok{fill:#90a4ae}svg .step-fault{fill:#ef6c00}svg .step-fail{fill:#c62828}"
	"svg .fault-line{stroke:#ef6c00;stroke-width:1.5;stroke-dasharray:4 3}svg .fault-flag{fill:#ef6c00}"
	"section.scenario{margin:18px 0 30px}section.scenario h3{font-size:16px;margin:0 0 6px}"
	"section.scenario p.desc{margin:4px 0 8px;color:#3e4c59;max-width:60em}"
	"ol.story{font-size:13px;margin:6px 0 10px;padding-left:22px}ol.story li{padding:1px 0}"
	".legend{font-size:12px;color:#616e7c;margin:2px 0 10px}"
	".legend i{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px;vertical-align:middle}"
	"tr.v-xfail td:first-child{border-left:4px solid #a66b00}.badge.v-xfail{background:#a66b00}"
	"svg polyline.line{fill:none;stroke-width:2}svg .s0{stroke:#1565c0}svg circle.s0{fill:#1565c0}"
	"svg .s1{stroke:#ef6c00}svg circle.s1{fill:#ef6c00}svg .s2{stroke:#2e7d32}svg circle.s2{fill:#2e7d32}"
	"svg .axis-line{stroke:#9aa5b1;stroke-width:1}"
	"footer{color:#9aa5b1;font-size:12px;padding:0 28px 20px}";

static void meta_row(strbuf *sb, const char *k, const char *v)
{
	sb_printf(sb, "<tr><th>%s</th><td>", k);
	esc(sb, v);
	REP_PUT(sb, "</td></tr>\n");
}

static void header(strbuf *sb, const tst_summary *sum)
{
	const tst_meta *m = &sum->meta;
	int by[5] = { 0 };
	for (size_t i = 0; i < sum->n_results; i++)
		by[sum->results[i].verdict]++;
	char buf[1400], started[40];
	REP_PUT(sb, "<header><h1>critic run <code>");
	esc(sb, m->run_id);
	REP_PUT(sb, "</code></h1>\n<div class=\"counts\">");
	for (int v = TST_PASS; v <= TST_CRASH; v++)
		if (by[v] || v <= TST_SKIP)
			sb_printf(sb, "<span class=\"badge %s\">%d %s</span>", verdict_class((tst_verdict)v), by[v],
				  tst_verdict_name((tst_verdict)v));
	sb_printf(sb, " %zu tests in %.1f s</div>\n<table class=\"meta\">\n", sum->n_results, sum->wall_ms / 1000.0);
	rep_iso_time(m->start_wall_ns, true, started, sizeof started);
	meta_row(sb, "critic", m->critic_version);
	meta_row(sb, "started", started);
	snprintf(buf, sizeof buf, "%s%s", m->endpoint, m->is_lab ? " (critic's lab)" : "");
	meta_row(sb, "endpoint", buf);
	if (m->image_endpoint[0] && strcmp(m->image_endpoint, m->endpoint))
		meta_row(sb, "image endpoint", m->image_endpoint);
	snprintf(buf, sizeof buf, "%s %s (CRI %s)", m->runtime_name, m->runtime_version, m->runtime_api);
	meta_row(sb, "runtime", buf);
	meta_row(sb, "runtime handler", m->handler[0] ? m->handler : "(default)");
	meta_row(sb, "host", m->hostname);
	meta_row(sb, "kernel", m->kernel);
	meta_row(sb, "cgroup", m->cgroup);
	snprintf(buf, sizeof buf, "focus %s, skip %s%s; test timeout %d s, call timeout %d ms",
		 m->focus[0] ? m->focus : "(all)", m->skip[0] ? m->skip : "(none)", m->extended ? ", extended" : "",
		 m->test_timeout_s, m->call_timeout_ms);
	meta_row(sb, "options", buf);
	REP_PUT(sb, "</table></header>\n");
}

static bool not_passed(const tst_result *r)
{
	return r->verdict != TST_PASS && r->verdict != TST_SKIP;
}

/* The tests that failed, hung or crashed, first thing under the header,
 * each linking to its row. */
static void failures(strbuf *sb, const tst_summary *sum)
{
	size_t n = 0;
	for (size_t i = 0; i < sum->n_results; i++)
		n += not_passed(&sum->results[i]);
	if (!n)
		return;
	sb_printf(sb, "<section id=\"failures\"><h2>Not passed (%zu)</h2>\n<ul class=\"failures\">\n", n);
	for (size_t i = 0; i < sum->n_results; i++) {
		const tst_result *r = &sum->results[i];
		if (!not_passed(r))
			continue;
		char first[1024];
		rep_first_message(r, first, sizeof first);
		sb_printf(sb, "<li class=\"failure\"><span class=\"badge %s\">%s</span> <a href=\"#t-%zu\">",
			  verdict_class(r->verdict), tst_verdict_name(r->verdict), i + 1);
		esc(sb, r->tc->name);
		REP_PUT(sb, "</a> ");
		label(sb, first, 160);
		REP_PUT(sb, "</li>\n");
	}
	REP_PUT(sb, "</ul></section>\n");
}

static void tests_table(strbuf *sb, const tst_summary *sum)
{
	REP_PUT(sb, "<section id=\"tests\"><h2>Tests</h2>\n<table class=\"tests\"><thead><tr><th>#</th>"
		      "<th>verdict</th><th>test</th><th>duration</th><th>CRI calls</th><th>detail</th></tr></thead>"
		      "<tbody>\n");
	for (size_t i = 0; i < sum->n_results; i++) {
		const tst_result *r = &sum->results[i];
		const char *vc = verdict_class(r->verdict);
		size_t bad = 0;
		for (size_t j = 0; j < r->n_calls; j++)
			bad += r->calls[j].grpc_status != 0;
		sb_printf(sb, "<tr class=\"%s\" id=\"t-%zu\"><td class=\"num\">%zu</td><td><span class=\"badge %s\">%s</span>"
			      "</td><td class=\"name\" title=\"",
			  vc, i + 1, i + 1, vc, tst_verdict_name(r->verdict));
		esc_attr(sb, r->tc->desc ? r->tc->desc : "");
		REP_PUT(sb, "\">");
		esc(sb, r->tc->name);
		sb_printf(sb, "</td><td class=\"num\">%.2f s</td><td class=\"num\">%zu", r->dur_ms / 1000.0,
			  r->n_calls + r->calls_dropped);
		if (bad)
			sb_printf(sb, " (%zu not OK)", bad);
		REP_PUT(sb, "</td><td>");
		if (r->detail && *r->detail) {
			char first[1024];
			rep_first_message(r, first, sizeof first);
			if (!first[0])
				snprintf(first, sizeof first, "%s", "notes");
			if (not_passed(r))
				REP_PUT(sb, "<details open=\"open\"><summary>");
			else
				REP_PUT(sb, "<details><summary>");
			label(sb, first, 140);
			REP_PUT(sb, "</summary><pre>");
			esc(sb, r->detail);
			REP_PUT(sb, "</pre></details>");
		}
		REP_PUT(sb, "</td></tr>\n");
	}
	REP_PUT(sb, "</tbody></table></section>\n");
}

void rep_latency_table(strbuf *sb, const rep_method_stat *st, size_t n, const double *ops_per_s)
{
	if (!n)
		return;
	REP_PUT(sb, "<table class=\"lat\"><thead><tr><th>method</th><th>calls</th><th>not OK</th><th>p50</th>"
		      "<th>p95</th><th>p99</th><th>max</th><th>mean</th>");
	if (ops_per_s)
		REP_PUT(sb, "<th>ops/s</th>");
	REP_PUT(sb, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char v[5][32];
		rep_fmt_us(v[0], sizeof v[0], st[i].p50_us);
		rep_fmt_us(v[1], sizeof v[1], st[i].p95_us);
		rep_fmt_us(v[2], sizeof v[2], st[i].p99_us);
		rep_fmt_us(v[3], sizeof v[3], st[i].max_us);
		rep_fmt_us(v[4], sizeof v[4], st[i].mean_us);
		REP_PUT(sb, "<tr><td>");
		esc(sb, st[i].method);
		sb_printf(sb,
			  "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%s</td>"
			  "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
			  "<td class=\"num\">%s</td>",
			  st[i].count, st[i].errors, v[0], v[1], v[2], v[3], v[4]);
		if (ops_per_s)
			sb_printf(sb, "<td class=\"num\">%.1f</td>", ops_per_s[i]);
		REP_PUT(sb, "</tr>\n");
	}
	REP_PUT(sb, "</tbody></table>\n");
}

/* ---- scenarios ---------------------------------------------------------------- */

static const char *scn_class(const char *v)
{
	return !strcmp(v, "PASS")    ? "v-pass"
	       : !strcmp(v, "SKIP")  ? "v-skip"
	       : !strcmp(v, "XFAIL") ? "v-xfail"
	       : !strcmp(v, "TIMEOUT") ? "v-timeout"
	       : !strcmp(v, "CRASH") ? "v-crash"
				     : "v-fail";
}

/* What a reader should take from the run, in order, in words: when critic
 * broke something, what the kubelet model saw, which step failed. */
static void story(strbuf *sb, const rep_scenario *s)
{
	int64_t off = s->model_offset_ms > 0 ? s->model_offset_ms : 0;
	size_t i = 0, j = 0, lines = 0;
	REP_PUT(sb, "<ol class=\"story\">\n");
	while (i < s->n_steps || j < s->n_timeline) {
		bool take_step = j >= s->n_timeline ||
				 (i < s->n_steps && s->steps[i].start_ms <= s->timeline[j].t_ms + off);
		if (take_step) {
			const rep_scn_step *st = &s->steps[i++];
			bool failed = !strcmp(st->verdict, "FAIL");
			/* a fault step that repairs (thaw, restore, proxy pass, …) */
			static const char *const fault_kinds[] = { "runtime", "socket", "proxy", "fs", "config", "fiu" };
			bool repair = false;
			for (size_t q = 0; q < ARRAY_SIZE(fault_kinds) && !st->fault; q++)
				repair = repair || !strcmp(st->kind, fault_kinds[q]);
			if (repair && st->desc && (!strcmp(st->kind, "proxy") && !strstr(st->desc, " mode ")))
				repair = false; /* starting or stopping the proxy changes nothing yet */
			if (!st->fault && !failed && !repair)
				continue;
			sb_printf(sb, "<li>+%.1f s: ", st->start_ms / 1000.0);
			if (st->fault) {
				REP_PUT(sb, "critic broke something on purpose: <code>");
				esc(sb, st->desc ? st->desc : st->kind);
				REP_PUT(sb, "</code>");
			} else if (repair) {
				REP_PUT(sb, "critic acted to repair or restart: <code>");
				esc(sb, st->desc ? st->desc : st->kind);
				REP_PUT(sb, "</code>");
			} else {
				sb_printf(sb, "step %d <code>", st->index);
				esc(sb, st->desc ? st->desc : st->kind);
				REP_PUT(sb, "</code>");
			}
			if (failed) {
				REP_PUT(sb, " — <strong>failed</strong>: ");
				label(sb, st->message ? st->message : "", 200);
			}
			REP_PUT(sb, "</li>\n");
			lines++;
		} else {
			const kube_event *ev = &s->timeline[j++];
			if (ev->comp != KUBE_C_NODE && ev->comp != KUBE_C_RUNTIME && ev->comp != KUBE_C_KUBELET)
				continue;
			const char *who = ev->comp == KUBE_C_NODE ? "the node (as the API server would show it) became"
					  : ev->comp == KUBE_C_RUNTIME ? "the kubelet saw the container runtime"
								       : "the kubelet process went";
			sb_printf(sb, "<li>+%.1f s: %s <strong>", (ev->t_ms + off) / 1000.0, who);
			esc(sb, ev->state);
			REP_PUT(sb, "</strong>");
			if (ev->reason[0] || ev->message[0]) {
				REP_PUT(sb, " (");
				esc(sb, ev->reason);
				if (ev->reason[0] && ev->message[0])
					REP_PUT(sb, ": ");
				label(sb, ev->message, 160);
				REP_PUT(sb, ")");
			}
			REP_PUT(sb, "</li>\n");
			lines++;
		}
	}
	if (!lines)
		REP_PUT(sb, "<li>no fault step, no failed step and no change the kubelet model saw</li>\n");
	REP_PUT(sb, "</ol>\n");
}

static void step_table(strbuf *sb, const rep_scenario *s, size_t k)
{
	REP_PUT(sb, "<table class=\"tests\"><thead><tr><th>#</th><th>verdict</th><th>phase</th><th>step</th>"
		      "<th>start</th><th>duration</th><th>CRI call</th><th>detail</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < s->n_steps; i++) {
		const rep_scn_step *st = &s->steps[i];
		const char *vc = scn_class(st->verdict);
		sb_printf(sb, "<tr class=\"%s\" id=\"s-%zu-%d\"><td class=\"num\">%d</td><td><span class=\"badge %s\">%s</span>"
			      "</td><td>%s</td><td class=\"name\" title=\"",
			  vc, k, st->index, st->index, vc, st->verdict, st->phase);
		esc_attr(sb, st->kind);
		sb_printf(sb, " step, line %d\">%*s", st->line, st->depth * 2, "");
		if (st->fault)
			REP_PUT(sb, "⚡ ");
		char title[600];
		esc(sb, rep_step_title(st, title, sizeof title));
		sb_printf(sb, "</td><td class=\"num\">+%.2f s</td><td class=\"num\">%.2f s</td><td>", st->start_ms / 1000.0,
			  st->dur_ms / 1000.0);
		if (st->method[0]) {
			esc(sb, st->method);
			sb_printf(sb, " %s", st->grpc_status < 0 ? "(no status)" : cri_status_name(st->grpc_status));
		}
		REP_PUT(sb, "</td><td>");
		bool failed = strcmp(st->verdict, "PASS") != 0;
		if (st->detail || st->message || st->call_msg) {
			sb_printf(sb, "%s", failed ? "<details open=\"open\"><summary>" : "<details><summary>");
			label(sb, failed && st->message ? st->message : st->detail ? st->detail : st->call_msg, 120);
			REP_PUT(sb, "</summary><pre>");
			strbuf d = { 0 };
			if (st->message)
				sb_printf(&d, "%s\n", st->message);
			if (st->known_issue)
				sb_printf(&d, "known issue: %s\n", st->known_issue);
			if (st->call_msg)
				sb_printf(&d, "call %s: %s\n", st->method, st->call_msg);
			if (st->detail)
				sb_printf(&d, "%s\n", st->detail);
			esc(sb, d.buf ? d.buf : "");
			sb_free(&d);
			REP_PUT(sb, "</pre></details>");
		}
		REP_PUT(sb, "</td></tr>\n");
	}
	REP_PUT(sb, "</tbody></table>\n");
}

static int scenario_section(strbuf *sb, const rep_scenario *s, size_t k, crit_err *e)
{
	sb_printf(sb, "<section class=\"scenario\" id=\"scn-%zu\"><h3><span class=\"badge %s\">%s</span> ", k,
		  scn_class(s->verdict), s->verdict);
	esc(sb, s->name ? s->name : "?");
	REP_PUT(sb, " <small>");
	esc(sb, s->file ? s->file : "");
	sb_printf(sb, ", %.1f s%s</small></h3>\n", s->dur_ms / 1000.0, s->disruptive ? ", disruptive" : "");
	if (s->description && *s->description) {
		REP_PUT(sb, "<p class=\"desc\">");
		esc(sb, s->description);
		REP_PUT(sb, "</p>\n");
	}
	if (s->reason && strcmp(s->verdict, "PASS")) {
		REP_PUT(sb, "<p><strong>");
		REP_PUT(sb, "Why not passed:</strong> ");
		esc(sb, s->reason);
		REP_PUT(sb, "</p>\n");
	}
	if (!s->n_steps && !s->n_timeline) {
		REP_PUT(sb, "</section>\n");
		return 0;
	}
	sb_printf(sb, "<p>%d steps run: %d passed, %d failed%s.</p>\n", s->steps_run, s->steps_passed, s->steps_failed,
		  s->known_issues ? ", some failed as known issues (XFAIL)" : "");
	REP_PUT(sb, "<h4>What happened</h4>\n");
	story(sb, s);
	REP_PUT(sb, "<h4>Timeline</h4>\n<div class=\"legend\">Top lane: the scenario's steps"
		      "<i style=\"background:#90a4ae\"></i>passed<i style=\"background:#ef6c00\"></i>a fault critic "
		      "caused (dashed line: when it hit)<i style=\"background:#c62828\"></i>failed. Lanes below: what a "
		      "kubelet would see (critic's kubelet model)<i style=\"background:#66bb6a\"></i>healthy"
		      "<i style=\"background:#e57373\"></i>down / not ready<i style=\"background:#ffca28\"></i>unknown "
		      "/ starting. Hover for details.</div>\n");
	int rc = rep_svg_scenario(sb, s, e);
	if (rc < 0)
		return rc;
	if (!s->n_timeline)
		REP_PUT(sb, "<p>This scenario ran no kubelet model.</p>\n");
	REP_PUT(sb, "<h4>Steps</h4>\n");
	step_table(sb, s, k);
	REP_PUT(sb, "</section>\n");
	return 0;
}

static int scenarios_section(strbuf *sb, const rep_scn_set *scn, crit_err *e)
{
	if (!scn || !scn->n) {
		REP_PUT(sb, "<section id=\"timelines\"><h2>Fault timelines</h2>\n"
			      "<p>No fault scenarios were run in this report. A scenario report draws here, for each "
			      "scenario, the kubelet model's timeline: one lane per component, a coloured segment per "
			      "state and a marker per event.</p></section>\n");
		return 0;
	}
	int p, f, k;
	rep_scn_counts(scn, &p, &f, &k);
	sb_printf(sb, "<section id=\"timelines\"><h2>Fault scenarios (%zu: %d passed, %d failed, %d skipped)</h2>\n"
		      "<p>Each scenario breaks the container runtime on purpose (kills it, freezes it, cuts its socket, "
		      "…) and checks what the runtime and the kubelet that depends on it do. A kubelet does not run "
		      "here: critic models one (its health checks, node status and restarts, with the kubelet's "
		      "own periods) and draws what it would have seen.</p>\n<ul class=\"failures\">\n",
		  scn->n, p, f, k);
	for (size_t i = 0; i < scn->n; i++) {
		const rep_scenario *s = &scn->v[i];
		sb_printf(sb, "<li><span class=\"badge %s\">%s</span> <a href=\"#scn-%zu\">", scn_class(s->verdict),
			  s->verdict, i + 1);
		esc(sb, s->name ? s->name : "?");
		REP_PUT(sb, "</a> ");
		if (strcmp(s->verdict, "PASS") && s->reason)
			label(sb, s->reason, 160);
		REP_PUT(sb, "</li>\n");
	}
	REP_PUT(sb, "</ul>\n");
	for (size_t i = 0; i < scn->n; i++) {
		int rc = scenario_section(sb, &scn->v[i], i + 1, e);
		if (rc < 0)
			return rc;
	}
	REP_PUT(sb, "</section>\n");
	return 0;
}

int rep_html(const tst_summary *sum, strbuf *sb, crit_err *e)
{
	return rep_html_scn(sum, NULL, sb, e);
}

int rep_html_scn(const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e)
{
	rep_method_stat *st = NULL;
	size_t n_st = 0;
	int rc = rep_method_stats(sum, &st, &n_st, e);
	if (rc < 0)
		return rc;
	/* Polyglot markup: a browser reads it as HTML, an XML parser can check it. */
	REP_PUT(sb, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
		      "<meta charset=\"utf-8\"/><title>critic run ");
	esc(sb, sum->meta.run_id);
	sb_printf(sb, "</title><style>%s</style></head>\n<body>\n", rep_html_css);
	header(sb, sum);
	REP_PUT(sb, "<main>\n");
	/* A scenarios-only run has no test to show. */
	if (sum->n_results || !scn || !scn->n) {
		failures(sb, sum);
		tests_table(sb, sum);
		REP_PUT(sb, "<section id=\"durations\"><h2>Test durations</h2>\n");
		rep_svg_durations(sb, sum);
		REP_PUT(sb, "</section>\n<section id=\"latency\"><h2>CRI call latency</h2>\n");
		rep_svg_latency(sb, st, n_st);
		rep_latency_table(sb, st, n_st, NULL);
		REP_PUT(sb, "</section>\n");
	}
	if ((rc = scenarios_section(sb, scn, e)) < 0) {
		free(st);
		return rc;
	}
	REP_PUT(sb, "</main>\n");
	REP_PUT(sb, "<footer>critic ");
	esc(sb, sum->meta.critic_version);
	REP_PUT(sb, " · report schema " REP_JSON_SCHEMA "</footer>\n</body></html>\n");
	free(st);
	return 0;
}

int rep_write_html(const tst_summary *sum, const char *path, crit_err *e)
{
	return rep_write(REP_HTML, sum, NULL, path, e);
}
