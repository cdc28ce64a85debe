/* rep: what the writers share: committing a file atomically, escaping text
 * for XML and valid UTF-8, time stamps, and per-method latency aggregates. */
#include "rep.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu-local.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Decode one UTF-8 character at p (at most avail bytes). Returns its length
 * and sets *cp, or 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included). */
static size_t utf8_next(const unsigned char *p, size_t avail, uint32_t *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

void rep_xml_escape(strbuf *sb, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t avail = strlen((const char *)p);
	while (*p) {
		uint32_t c;
		size_t n = utf8_next(p, avail, &c);
		if (!n) {
			sb_append(sb, REPLACEMENT, 3);
			p++, avail--;
			continue;
		}
		switch (c) {
		case '&': sb_append(sb, "&amp;", 5); break;
		case '<': sb_append(sb, "&lt;", 4); break;
		case '>': sb_append(sb, "&gt;", 4); break;
		case '"': sb_append(sb, "&quot;", 6); break;
		case '\'': sb_append(sb, "&#39;", 5); break;
		case '\t':
		case '\n':
		case '\r':
			/* Attribute values lose raw whitespace to normalisation. */
			if (attr)
				sb_printf(sb, "&#%u;", (unsigned)c);
			else
				sb_append(sb, (const char *)p, 1);
			break;
		default:
			/* XML 1.0 Char: no other C0 control, no U+FFFE / U+FFFF. */
			if (c >= 0x20 && c != 0xfffe && c != 0xffff)
				sb_append(sb, (const char *)p, n);
			break;
		}
		p += n, avail -= n;
	}
}

void rep_utf8_clean(strbuf *sb, const char *s, bool one_line)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t avail = strlen((const char *)p);
	while (*p) {
		uint32_t c;
		size_t n = utf8_next(p, avail, &c);
		if (!n) {
			sb_append(sb, REPLACEMENT, 3);
			p++, avail--;
			continue;
		}
		if (one_line && c == '\n')
			sb_append(sb, " | ", 3);
		else if (one_line && (c < 0x20 || c == 0x7f))
			sb_append(sb, " ", 1);
		else
			sb_append(sb, (const char *)p, n);
		p += n, avail -= n;
	}
}

void rep_iso_time(int64_t wall_ns, bool ms_zone, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ns / 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms_zone)
		snprintf(buf, len, "%s.%03dZ", base, (int)(wall_ns / 1000000 % 1000));
	else
		snprintf(buf, len, "%s", base);
}

const char *rep_first_message(const tst_result *r, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *line = r->detail; line && *line;) {
		size_t n = strcspn(line, "\n");
		if (!util_has_prefix(line, "note: ")) {
			snprintf(buf, len, "%.*s", (int)n, line);
			break;
		}
		line += n + (line[n] ? 1 : 0);
	}
	return buf;
}

int rep_commit(const char *path, const char *data, size_t len, crit_err *e)
{
	if (!strcmp(path, "-")) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return err_set(e, -EIO, "write report to stdout: %s", strerror(errno));
		return 0;
	}
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return err_set(e, -ENAMETOOLONG, "write report %s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, -errno, "write report %s: create %s: %s", path, tmp, strerror(errno));
	size_t off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		/* Fault point for critic's own tests: the disk fills mid-report. */
		fiu_do_on("critic/report/write", { n = -1; errno = ENOSPC; });
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = err_set(e, n < 0 ? -errno : -EIO, "write report %s: %s", path,
				     n < 0 ? strerror(errno) : "short write");
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0 && errno != EINVAL)
		rc = err_set(e, -errno, "write report %s: fsync: %s", path, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = err_set(e, -errno, "write report %s: close: %s", path, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_set(e, -errno, "write report %s: rename from %s: %s", path, tmp, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int rep_check_path(const char *path, crit_err *e)
{
	if (!path || !*path)
		return err_set(e, -EINVAL, "report: empty file name");
	if (!strcmp(path, "-"))
		return 0;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return err_set(e, -EISDIR, "report %s: is a directory", path);
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
		return err_set(e, -ENAMETOOLONG, "report %s: path too long", path);
	const char *dir = dirname(copy);
	if (stat(dir, &st) < 0)
		return err_set(e, -errno, "report %s: directory %s: %s", path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, -ENOTDIR, "report %s: %s is not a directory", path, dir);
	if (access(dir, W_OK | X_OK) < 0)
		return err_set(e, -errno, "report %s: directory %s: %s", path, dir, strerror(errno));
	return 0;
}

int64_t rep_percentile(const int64_t *sorted, size_t n, double q)
{
	if (!n)
		return 0;
	/* Nearest rank: the smallest value with at least q% of values <= it. */
	double rank = q / 100.0 * (double)n;
	size_t r = (size_t)rank;
	if ((double)r < rank)
		r++;
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return sorted[r - 1];
}

typedef struct {
	const char *method;
	int64_t dur_us;
	bool ok;
} call_ref;

static int cmp_call(const void *a, const void *b)
{
	const call_ref *x = a, *y = b;
	int c = strcmp(x->method, y->method);
	if (c)
		return c;
	return (x->dur_us > y->dur_us) - (x->dur_us < y->dur_us);
}

int rep_method_stats(const tst_summary *sum, rep_method_stat **out, size_t *n, crit_err *e)
{
	*out = NULL;
	*n = 0;
	size_t total = 0;
	for (size_t i = 0; i < sum->n_results; i++)
		total += sum->results[i].n_calls;
	if (!total)
		return 0;
	cleanup_free call_ref *all = malloc(total * sizeof *all);
	cleanup_free int64_t *durs = malloc(total * sizeof *durs);
	if (!all || !durs)
		return err_set(e, -ENOMEM, "latency aggregates: out of memory for %zu calls", total);
	size_t k = 0;
	for (size_t i = 0; i < sum->n_results; i++)
		for (size_t j = 0; j < sum->results[i].n_calls; j++) {
			const tst_call *c = &sum->results[i].calls[j];
			all[k++] = (call_ref){ c->method, c->dur_us, c->grpc_status == 0 };
		}
	qsort(all, total, sizeof *all, cmp_call);
	size_t n_methods = 0;
	for (size_t i = 0; i < total; i++)
		if (i == 0 || strcmp(all[i].method, all[i - 1].method))
			n_methods++;
	rep_method_stat *st = calloc(n_methods, sizeof *st);
	if (!st)
		return err_set(e, -ENOMEM, "latency aggregates: out of memory");
	size_t m = 0;
	for (size_t i = 0; i < total;) {
		size_t j = i;
		int64_t sum_us = 0;
		rep_method_stat *s = &st[m++];
		snprintf(s->method, sizeof s->method, "%s", all[i].method);
		for (; j < total && !strcmp(all[j].method, all[i].method); j++) {
			durs[j - i] = all[j].dur_us;
			sum_us += all[j].dur_us;
			if (!all[j].ok)
				s->errors++;
		}
		s->count = j - i;
		s->p50_us = rep_percentile(durs, s->count, 50);
		s->p95_us = rep_percentile(durs, s->count, 95);
		s->p99_us = rep_percentile(durs, s->count, 99);
		s->max_us = durs[s->count - 1];
		s->mean_us = sum_us / (int64_t)s->count;
		i = j;
	}
	*out = st;
	*n = n_methods;
	return 0;
}

/* ---- scenario results ---------------------------------------------------------- */

static void step_free(rep_scn_step *st)
{
	free(st->name);
	free(st->desc);
	free(st->detail);
	free(st->message);
	free(st->known_issue);
	free(st->call_msg);
}

void rep_scenario_free(rep_scenario *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->file);
	free(s->description);
	free(s->reason);
	for (size_t i = 0; i < s->n_steps; i++)
		step_free(&s->steps[i]);
	free(s->steps);
	free(s->timeline);
	memset(s, 0, sizeof *s);
	s->model_offset_ms = -1;
}

void rep_scn_set_free(rep_scn_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		rep_scenario_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int rep_scenario_add_step(rep_scenario *s, const rep_scn_step *st)
{
	rep_scn_step *g = realloc(s->steps, (s->n_steps + 1) * sizeof *g);
	if (!g)
		return -ENOMEM;
	s->steps = g;
	rep_scn_step *d = &g[s->n_steps];
	*d = *st;
	d->name = dup_or_null(st->name);
	d->desc = dup_or_null(st->desc);
	d->detail = dup_or_null(st->detail);
	d->message = dup_or_null(st->message);
	d->known_issue = dup_or_null(st->known_issue);
	d->call_msg = dup_or_null(st->call_msg);
	s->n_steps++;
	return 0;
}

void rep_scn_counts(const rep_scn_set *set, int *passed, int *failed, int *skipped)
{
	*passed = *failed = *skipped = 0;
	for (size_t i = 0; set && i < set->n; i++) {
		const char *v = set->v[i].verdict;
		if (!strcmp(v, "PASS"))
			(*passed)++;
		else if (!strcmp(v, "SKIP"))
			(*skipped)++;
		else
			(*failed)++;
	}
}

int rep_render(rep_format f, const tst_summary *sum, const rep_scn_set *scn, strbuf *sb, crit_err *e)
{
	switch (f) {
	case REP_JUNIT: return rep_junit_scn(sum, scn, sb, e);
	case REP_JSON: return rep_json_scn(sum, scn, sb, e);
	case REP_TAP: rep_tap_scn(sum, scn, sb); return 0;
	case REP_HTML: return rep_html_scn(sum, scn, sb, e);
	}
	return err_set(e, -EINVAL, "report: no format %d", (int)f);
}

int rep_write(rep_format f, const tst_summary *sum, const rep_scn_set *scn, const char *path, crit_err *e)
{
	strbuf sb = { 0 };
	int rc = rep_render(f, sum, scn, &sb, e);
	if (rc == 0)
		rc = rep_commit(path, sb.buf ? sb.buf : "", sb.len, e);
	else
		err_wrap(e, "write report %s", path);
	sb_free(&sb);
	return rc;
}

const char *rep_step_title(const rep_scn_step *st, char *buf, size_t len)
{
	const char *d = st->desc ? st->desc : st->kind;
	char quoted[160];
	snprintf(quoted, sizeof quoted, "\"%s\"", st->name ? st->name : "");
	if (st->name && !strstr(d, quoted))
		snprintf(buf, len, "%s: %s", st->name, d);
	else
		snprintf(buf, len, "%s", d);
	return buf;
}
