#include "crilog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SEC 1000000000LL

/* n decimal digits as a number, -1 when any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool crilog_parse_ts(const char *s, size_t n, int64_t *ns)
{
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return false;
	int Y = digits(s, 4), M = digits(s + 5, 2), D = digits(s + 8, 2), h = digits(s + 11, 2),
	    m = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (Y < 0 || M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
		return false;
	size_t i = 19;
	int64_t frac = 0;
	if (i < n && s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		size_t nd = i - f;
		if (nd < 1 || nd > 9)
			return false;
		frac = digits(s + f, (int)nd);
		for (size_t k = nd; k < 9; k++)
			frac *= 10;
	}
	int off = 0;
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return false;
		off = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		i += 6;
	} else {
		return false;
	}
	if (i != n)
		return false;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec };
	int64_t secs = (int64_t)timegm(&tm) - off;
	/* Keep secs * SEC + frac inside int64 (Go's time has the same limits
	 * for UnixNano). */
	if (secs < INT64_MIN / SEC || secs > INT64_MAX / SEC - 1)
		return false;
	*ns = secs * SEC + frac;
	return true;
}

bool crilog_parse_line(const char *line, size_t len, crilog_record *rec, const char **why)
{
	const char *sp = memchr(line, ' ', len);
	if (!sp || !crilog_parse_ts(line, (size_t)(sp - line), &rec->ts_ns)) {
		*why = "bad timestamp";
		return false;
	}
	const char *rest = sp + 1;
	size_t rl = len - (size_t)(rest - line);
	if (rl >= 7 && !memcmp(rest, "stdout ", 7))
		rec->stream = CRILOG_STDOUT;
	else if (rl >= 7 && !memcmp(rest, "stderr ", 7))
		rec->stream = CRILOG_STDERR;
	else {
		*why = "stream is not stdout or stderr";
		return false;
	}
	rest += 7;
	rl -= 7;
	if (rl < 2 || (rest[0] != 'P' && rest[0] != 'F') || rest[1] != ' ') {
		*why = "tag is not 'P ' or 'F '";
		return false;
	}
	rec->partial = rest[0] == 'P';
	rec->msg = rest + 2;
	rec->msg_len = rl - 2;
	return true;
}

void crilog_parse(const char *text, size_t len, crilog_file *p)
{
	memset(p, 0, sizeof *p);
	p->last_ts[CRILOG_STDOUT] = p->last_ts[CRILOG_STDERR] = INT64_MIN;
	size_t off = 0;
	int lineno = 0;
	while (off < len) {
		lineno++;
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		if (!nl) {
			snprintf(p->problem, sizeof p->problem, "line %d has no newline at the end of the file", lineno);
			return;
		}
		size_t ll = (size_t)(nl - line);
		int show = ll < 80 ? (int)ll : 80; /* never read past the line */
		off += ll + 1;
		crilog_record r;
		const char *why;
		if (!crilog_parse_line(line, ll, &r, &why)) {
			snprintf(p->problem, sizeof p->problem, "line %d: %s: %.*s", lineno, why, show, line);
			return;
		}
		int s = r.stream;
		if (r.ts_ns < p->last_ts[s]) {
			snprintf(p->problem, sizeof p->problem, "line %d: timestamp goes back in time on %s: %.*s", lineno,
				 s == CRILOG_STDOUT ? "stdout" : "stderr", show < 40 ? show : 40, line);
			return;
		}
		if (!p->records)
			p->first_ts = r.ts_ns;
		p->last_ts[s] = r.ts_ns;
		p->records++;
		sb_append(&p->text[s], r.msg, r.msg_len);
		if (r.partial) {
			p->partial[s]++;
		} else {
			p->full[s]++;
			sb_append(&p->text[s], "\n", 1);
		}
		p->last_partial[s] = r.partial;
	}
}

void crilog_free(crilog_file *p)
{
	sb_free(&p->text[CRILOG_STDOUT]);
	sb_free(&p->text[CRILOG_STDERR]);
}
