/* fault/config: a TOML reader that keeps the byte span of every line and value, edits that
 * touch only the lines they mean to, backups restored by rename, and drift against the running config. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fault/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define DEFAULT_RUNTIME_TYPE "io.containerd.runc.v2"
#define BACKUP_INFIX ".critic-backup-"

/* ------------------------------------------------------------ model */

/* A key path: decoded segments plus where each was written (so a new
 * header can reuse an existing one's spelling). */
typedef struct kpath {
	char **seg;
	size_t n;
	size_t *rs, *re; /* raw span of each segment in the text */
} kpath;

typedef struct val val;
typedef struct ikv {
	kpath key;
	val *v;
} ikv;

struct val {
	fault_cfg_type type;
	char form;          /* strings: '"' basic, '\'' literal, 'B' multi-line basic, 'L' multi-line literal */
	size_t start, end;  /* the value's bytes */
	char *s;
	long long i;
	double f;
	bool b;
	ikv *kv;            /* inline table members */
	size_t nkv;
};

enum ln_kind { LN_BLANK, LN_COMMENT, LN_TABLE, LN_ATABLE, LN_KV };

typedef struct line {
	enum ln_kind kind;
	size_t start, end;  /* whole line(s), with the line end */
	int lineno;
	size_t indent;      /* bytes of leading blanks */
	kpath path;         /* header path, or the key as written */
	val v;              /* LN_KV */
	int table;          /* governing header's line index, -1 = root */
	int epoch;          /* last [[array]] instance above it, for duplicate checks */
} line;

struct fault_cfg_doc {
	char name[PATH_MAX];
	char *text;
	size_t len;
	line *lines;
	size_t n, cap;
	char eol[3];
	int version;
	char cri[64];
	size_t eol_added;  /* an insert gave the unterminated last line its eol at offset eol_added - 1 (0 = none) */
};

/* ------------------------------------------------------------ small helpers */

static void kpath_free(kpath *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->seg[i]);
	free(k->seg);
	free(k->rs);
	free(k->re);
	memset(k, 0, sizeof *k);
}

static void kpath_push(kpath *k, char *seg, size_t rs, size_t re)
{
	k->seg = realloc(k->seg, (k->n + 1) * sizeof *k->seg);
	k->rs = realloc(k->rs, (k->n + 1) * sizeof *k->rs);
	k->re = realloc(k->re, (k->n + 1) * sizeof *k->re);
	if (!k->seg || !k->rs || !k->re)
		abort();
	k->seg[k->n] = seg;
	k->rs[k->n] = rs;
	k->re[k->n] = re;
	k->n++;
}

static void val_free(val *v)
{
	free(v->s);
	for (size_t i = 0; i < v->nkv; i++) {
		kpath_free(&v->kv[i].key);
		val_free(v->kv[i].v);
		free(v->kv[i].v);
	}
	free(v->kv);
	memset(v, 0, sizeof *v);
}

static void lines_free(line *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kpath_free(&l[i].path);
		val_free(&l[i].v);
	}
	free(l);
}

/* Common leading segments of a and b. */
static size_t common_prefix(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i = 0;
	while (i < na && i < nb && !strcmp(a[i], b[i]))
		i++;
	return i;
}

static bool is_bare(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* A string as a TOML basic string ("..." with escapes). */
static void fmt_basic(strbuf *sb, const char *s)
{
	sb_append(sb, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sb_append(sb, "\\\"", 2); break;
		case '\\': sb_append(sb, "\\\\", 2); break;
		case '\n': sb_append(sb, "\\n", 2); break;
		case '\t': sb_append(sb, "\\t", 2); break;
		case '\r': sb_append(sb, "\\r", 2); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_printf(sb, "\\u%04x", *p);
			else
				sb_append(sb, (const char *)p, 1);
		}
	}
	sb_append(sb, "\"", 1);
}

static void fmt_key(strbuf *sb, const char *k)
{
	if (is_bare(k))
		sb_printf(sb, "%s", k);
	else
		fmt_basic(sb, k);
}

/* A value as TOML. literal: prefer 'single quotes' when they can hold it. */
static int fmt_value(strbuf *sb, const fault_cfg_value *v, bool literal, crit_err *e)
{
	switch (v->type) {
	case FAULT_CFG_STRING:
		if (!v->s)
			return err_set(e, -EINVAL, "string value missing");
		if (literal && !strpbrk(v->s, "'\n\r") && !strchr(v->s, 0x7f)) {
			bool ctl = false;
			for (const unsigned char *p = (const unsigned char *)v->s; *p; p++)
				if (*p < 0x20 && *p != '\t')
					ctl = true;
			if (!ctl) {
				sb_printf(sb, "'%s'", v->s);
				return 0;
			}
		}
		fmt_basic(sb, v->s);
		return 0;
	case FAULT_CFG_BOOL: sb_printf(sb, "%s", v->b ? "true" : "false"); return 0;
	case FAULT_CFG_INT: sb_printf(sb, "%lld", v->i); return 0;
	default: return err_set(e, -EINVAL, "only string, boolean and integer values can be set");
	}
}

/* ------------------------------------------------------------ parser */

typedef struct pstate {
	const char *t;
	size_t len, pos;
	int lineno;         /* of pos */
	size_t line_start;  /* offset where pos's physical line starts */
	const char *name;
	crit_err *e;
} pstate;

static int perr(pstate *ps, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(pstate *ps, size_t at, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* at lies on the current physical line (the parser reports where it is). */
	size_t col = at >= ps->line_start ? at - ps->line_start + 1 : 1;
	return err_set(ps->e, -ERR_CONFIG, "%s:%d:%zu: %s", ps->name, ps->lineno, col, msg);
}

static int peek(const pstate *ps) { return ps->pos < ps->len ? (unsigned char)ps->t[ps->pos] : -1; }
static int peek_at(const pstate *ps, size_t k)
{
	return ps->pos + k < ps->len ? (unsigned char)ps->t[ps->pos + k] : -1;
}

static void skip_ws(pstate *ps)
{
	while (peek(ps) == ' ' || peek(ps) == '\t')
		ps->pos++;
}

static bool at_eol(const pstate *ps)
{
	int c = peek(ps);
	return c == -1 || c == '\n' || (c == '\r' && peek_at(ps, 1) == '\n');
}

/* Consume one line end (\n or \r\n) and move to the next physical line. */
static int eat_eol(pstate *ps)
{
	int c = peek(ps);
	if (c == -1)
		return 0;
	if (c == '\r') {
		if (peek_at(ps, 1) != '\n')
			return perr(ps, ps->pos, "carriage return without a line feed");
		ps->pos++;
	}
	if (peek(ps) != '\n')
		return perr(ps, ps->pos, "expected the end of the line");
	ps->pos++;
	ps->lineno++;
	ps->line_start = ps->pos;
	return 0;
}

/* Skip a comment up to (not including) the line end. */
static int skip_comment(pstate *ps)
{
	while (!at_eol(ps)) {
		int c = peek(ps);
		if (c == '\r')
			return perr(ps, ps->pos, "carriage return without a line feed");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, ps->pos, "control character 0x%02x in a comment", c);
		ps->pos++;
	}
	return 0;
}

/* Blanks, line ends and comments between array elements. */
static int skip_ws_nl(pstate *ps)
{
	for (;;) {
		skip_ws(ps);
		int c = peek(ps);
		if (c == '#') {
			int rc = skip_comment(ps);
			if (rc < 0)
				return rc;
			continue;
		}
		if (c == '\n' || c == '\r') {
			int rc = eat_eol(ps);
			if (rc < 0)
				return rc;
			continue;
		}
		return 0;
	}
}

static void utf8_put(strbuf *sb, unsigned long cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_append(sb, b, n);
}

/* One escape after a backslash in a basic string (pos at the backslash). */
static int parse_escape(pstate *ps, strbuf *sb)
{
	size_t at = ps->pos;
	ps->pos++;
	int c = peek(ps);
	const char *simple = NULL;
	switch (c) {
	case 'b': simple = "\b"; break;
	case 't': simple = "\t"; break;
	case 'n': simple = "\n"; break;
	case 'f': simple = "\f"; break;
	case 'r': simple = "\r"; break;
	case '"': simple = "\""; break;
	case '\\': simple = "\\"; break;
	case 'u':
	case 'U': {
		int nd = c == 'u' ? 4 : 8;
		unsigned long cp = 0;
		for (int i = 1; i <= nd; i++) {
			int h = peek_at(ps, (size_t)i);
			if (h < 0 || !isxdigit(h))
				return perr(ps, at, "bad \\%c escape: expected %d hex digits", c, nd);
			cp = cp * 16 + (unsigned long)(isdigit(h) ? h - '0' : (tolower(h) - 'a' + 10));
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return perr(ps, at, "escape \\%c names no Unicode scalar value", c);
		utf8_put(sb, cp);
		ps->pos += (size_t)nd + 1;
		return 0;
	}
	default:
		return perr(ps, at, "unknown escape \\%c", c > ' ' && c < 0x7f ? c : '?');
	}
	sb_append(sb, simple, 1);
	ps->pos++;
	return 0;
}

static int check_str_char(pstate *ps, int c)
{
	if ((c < 0x20 && c != '\t') || c == 0x7f)
		return perr(ps, ps->pos, "control character 0x%02x in a string", c);
	return 0;
}

/* "basic" (pos at the quote). */
static int parse_basic(pstate *ps, char **out)
{
	size_t open = ps->pos;
	ps->pos++;
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	for (;;) {
		int c = peek(ps);
		if (c == -1 || c == '\n' || c == '\r') {
			sb_free(&sb);
			return perr(ps, open, "string not closed on its line");
		}
		if (c == '"') {
			ps->pos++;
			break;
		}
		int rc = c == '\\' ? parse_escape(ps, &sb) : check_str_char(ps, c);
		if (rc < 0) {
			sb_free(&sb);
			return rc;
		}
		if (c != '\\') {
			sb_append(&sb, ps->t + ps->pos, 1);
			ps->pos++;
		}
	}
	*out = sb.buf;
	return 0;
}

/* 'literal' (pos at the quote). */
static int parse_literal(pstate *ps, char **out)
{
	size_t open = ps->pos;
	ps->pos++;
	size_t s = ps->pos;
	for (;;) {
		int c = peek(ps);
		if (c == -1 || c == '\n' || c == '\r')
			return perr(ps, open, "string not closed on its line");
		if (c == '\'')
			break;
		int rc = check_str_char(ps, c);
		if (rc < 0)
			return rc;
		ps->pos++;
	}
	*out = strndup(ps->t + s, ps->pos - s);
	ps->pos++;
	return *out ? 0 : -ENOMEM;
}

/* """multi-line basic""" or '''multi-line literal''' (pos at the first quote). */
static int parse_multiline(pstate *ps, char q, char **out)
{
	size_t open = ps->pos;
	int open_line = ps->lineno;
	size_t open_ls = ps->line_start;
	int rc = 0;
	ps->pos += 3;
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	/* A line end right after the opening quotes is not part of the string. */
	if (peek(ps) == '\n' || (peek(ps) == '\r' && peek_at(ps, 1) == '\n'))
		rc = eat_eol(ps);
	while (rc == 0) {
		int c = peek(ps);
		if (c == -1) {
			ps->lineno = open_line;
			ps->line_start = open_ls;
			rc = perr(ps, open, "multi-line string not closed");
			break;
		}
		if (c == q && peek_at(ps, 1) == q && peek_at(ps, 2) == q) {
			/* Up to two more quotes belong to the string. */
			size_t extra = 0;
			while (extra < 2 && peek_at(ps, 3 + extra) == q)
				extra++;
			sb_append(&sb, ps->t + ps->pos, extra);
			ps->pos += 3 + extra;
			*out = sb.buf;
			return 0;
		}
		if (c == '\n' || c == '\r') {
			size_t at = ps->pos;
			if ((rc = eat_eol(ps)) == 0)
				sb_append(&sb, ps->t + at, ps->pos - at);
			continue;
		}
		if (q == '"' && c == '\\') {
			/* A backslash ending a line trims the line end and the blanks after it. */
			size_t k = 1;
			while (peek_at(ps, k) == ' ' || peek_at(ps, k) == '\t')
				k++;
			int nc = peek_at(ps, k);
			if (nc == '\n' || (nc == '\r' && peek_at(ps, k + 1) == '\n')) {
				ps->pos += k;
				while (rc == 0) {
					int w = peek(ps);
					if (w == ' ' || w == '\t')
						ps->pos++;
					else if (w == '\n' || w == '\r')
						rc = eat_eol(ps);
					else
						break;
				}
				continue;
			}
			rc = parse_escape(ps, &sb);
			continue;
		}
		if ((rc = check_str_char(ps, c)) == 0) {
			sb_append(&sb, ps->t + ps->pos, 1);
			ps->pos++;
		}
	}
	sb_free(&sb);
	return rc;
}

/* One key segment: bare, "basic" or 'literal'. */
static int parse_simple_key(pstate *ps, char **out)
{
	int c = peek(ps);
	if (c == '"') {
		if (peek_at(ps, 1) == '"' && peek_at(ps, 2) == '"')
			return perr(ps, ps->pos, "a multi-line string cannot be a key");
		return parse_basic(ps, out);
	}
	if (c == '\'') {
		if (peek_at(ps, 1) == '\'' && peek_at(ps, 2) == '\'')
			return perr(ps, ps->pos, "a multi-line string cannot be a key");
		return parse_literal(ps, out);
	}
	size_t s = ps->pos;
	while (ps->pos < ps->len) {
		c = peek(ps);
		if (!isalnum(c) && c != '_' && c != '-')
			break;
		ps->pos++;
	}
	if (ps->pos == s) {
		if (c == -1 || at_eol(ps))
			return perr(ps, ps->pos, "expected a key");
		return perr(ps, ps->pos, "expected a key, found '%c'", c >= ' ' && c < 0x7f ? c : '?');
	}
	*out = strndup(ps->t + s, ps->pos - s);
	return *out ? 0 : -ENOMEM;
}

/* A dotted key: a.b."c.d".'e' (blanks allowed around the dots). */
static int parse_key(pstate *ps, kpath *k)
{
	for (;;) {
		skip_ws(ps);
		size_t rs = ps->pos;
		char *seg = NULL;
		int rc = parse_simple_key(ps, &seg);
		if (rc < 0)
			return rc;
		kpath_push(k, seg, rs, ps->pos);
		skip_ws(ps);
		if (peek(ps) != '.')
			return 0;
		ps->pos++;
	}
}

static int parse_value(pstate *ps, val *v);

static int parse_array(pstate *ps, val *v)
{
	size_t open = ps->pos;
	int open_line = ps->lineno;
	size_t open_ls = ps->line_start;
	ps->pos++;
	v->type = FAULT_CFG_ARRAY;
	for (;;) {
		int rc = skip_ws_nl(ps);
		if (rc < 0)
			return rc;
		int c = peek(ps);
		if (c == ']') {
			ps->pos++;
			return 0;
		}
		if (c == -1) {
			ps->lineno = open_line;
			ps->line_start = open_ls;
			return perr(ps, open, "array not closed");
		}
		val elem = { 0 };
		rc = parse_value(ps, &elem);
		val_free(&elem);
		if (rc < 0)
			return rc;
		if ((rc = skip_ws_nl(ps)) < 0)
			return rc;
		c = peek(ps);
		if (c == ',') {
			ps->pos++;
			continue;
		}
		if (c == ']') {
			ps->pos++;
			return 0;
		}
		if (c == -1) {
			ps->lineno = open_line;
			ps->line_start = open_ls;
			return perr(ps, open, "array not closed");
		}
		return perr(ps, ps->pos, "expected ',' or ']' in an array");
	}
}

static int parse_inline_table(pstate *ps, val *v)
{
	ps->pos++;
	v->type = FAULT_CFG_TABLE;
	skip_ws(ps);
	if (peek(ps) == '}') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (at_eol(ps))
			return perr(ps, ps->pos, "inline table not closed on its line");
		ikv m = { 0 };
		int rc = parse_key(ps, &m.key);
		if (rc < 0) {
			kpath_free(&m.key);
			return rc;
		}
		if (peek(ps) != '=') {
			kpath_free(&m.key);
			return perr(ps, ps->pos, "expected '=' after a key in an inline table");
		}
		ps->pos++;
		skip_ws(ps);
		m.v = calloc(1, sizeof *m.v);
		if (!m.v)
			abort();
		int before = ps->lineno;
		rc = parse_value(ps, m.v);
		if (rc == 0 && ps->lineno != before)
			rc = perr(ps, ps->pos, "inline table spans lines (TOML keeps it on one line)");
		v->kv = realloc(v->kv, (v->nkv + 1) * sizeof *v->kv);
		if (!v->kv)
			abort();
		v->kv[v->nkv++] = m;
		if (rc < 0)
			return rc;
		skip_ws(ps);
		int c = peek(ps);
		if (c == ',') {
			ps->pos++;
			continue;
		}
		if (c == '}') {
			ps->pos++;
			return 0;
		}
		return perr(ps, ps->pos, "expected ',' or '}' in an inline table");
	}
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* Digits in base with single underscores between them; copies the digits. */
static bool digits_ok(const char *s, int base, char *out, size_t outlen)
{
	size_t j = 0;
	if (!*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if (c == '_') {
			if (i == 0 || !s[i + 1] || s[i + 1] == '_')
				return false;
			continue;
		}
		bool ok = base == 16 ? isxdigit((unsigned char)c) : base == 8 ? (c >= '0' && c <= '7')
					: base == 2 ? (c == '0' || c == '1') : isdigit((unsigned char)c);
		if (!ok || j + 1 >= outlen)
			return false;
		out[j++] = c;
	}
	out[j] = '\0';
	return j > 0;
}

/* Numbers, booleans and dates: a run of token characters. */
static int parse_scalar(pstate *ps, val *v)
{
	size_t s = ps->pos;
	while (ps->pos < ps->len) {
		int c = peek(ps);
		if (!isalnum(c) && !strchr("_+-.:", c))
			break;
		ps->pos++;
	}
	/* "1979-05-27 07:32:00": a date, one space, a time. */
	if (ps->pos - s == 10 && all_digits(ps->t + s, 4) && ps->t[s + 4] == '-' && peek(ps) == ' ' &&
	    isdigit(peek_at(ps, 1)) && isdigit(peek_at(ps, 2)) && peek_at(ps, 3) == ':') {
		ps->pos++;
		while (ps->pos < ps->len && (isalnum(peek(ps)) || strchr("+-.:", peek(ps))))
			ps->pos++;
	}
	size_t n = ps->pos - s;
	char tok[128];
	if (n == 0) {
		int c = peek(ps);
		return perr(ps, s, c == -1 || at_eol(ps) ? "expected a value" : "expected a value, found '%c'",
			    c >= ' ' && c < 0x7f ? c : '?');
	}
	if (n >= sizeof tok)
		return perr(ps, s, "value too long to be a number or date");
	memcpy(tok, ps->t + s, n);
	tok[n] = '\0';
	if (!strcmp(tok, "true") || !strcmp(tok, "false")) {
		v->type = FAULT_CFG_BOOL;
		v->b = tok[0] == 't';
		return 0;
	}
	const char *p = tok;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (!strcmp(p, "inf") || !strcmp(p, "nan")) {
		v->type = FAULT_CFG_FLOAT;
		v->f = !strcmp(p, "inf") ? (neg ? -INFINITY : INFINITY) : NAN;
		return 0;
	}
	/* Dates and times: digits first, then a '-' at 4 or a ':' at 2. */
	if ((n >= 10 && all_digits(tok, 4) && tok[4] == '-') || (n >= 8 && all_digits(tok, 2) && tok[2] == ':')) {
		for (size_t i = 0; i < n; i++)
			if (!isdigit((unsigned char)tok[i]) && !strchr("-:.TtZz+ ", tok[i]))
				return perr(ps, s, "bad date or time '%s'", tok);
		v->type = FAULT_CFG_DATETIME;
		v->s = strdup(tok);
		return 0;
	}
	char digits[128];
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
		int base = p[1] == 'x' ? 16 : p[1] == 'o' ? 8 : 2;
		if (p != tok || !digits_ok(p + 2, base, digits, sizeof digits))
			return perr(ps, s, "bad integer '%s'", tok);
		errno = 0;
		unsigned long long u = strtoull(digits, NULL, base);
		if (errno || u > (unsigned long long)LLONG_MAX)
			return perr(ps, s, "integer '%s' out of range", tok);
		v->type = FAULT_CFG_INT;
		v->i = (long long)u;
		return 0;
	}
	if (strpbrk(p, ".eE")) {
		/* Float: every '.' has digits on both sides; underscores only between digits. */
		char clean[128];
		size_t j = 0;
		for (size_t i = 0; tok[i]; i++) {
			char c = tok[i];
			if (c == '_') {
				if (i == 0 || !isdigit((unsigned char)tok[i - 1]) || !isdigit((unsigned char)tok[i + 1]))
					return perr(ps, s, "bad float '%s'", tok);
				continue;
			}
			if (c == '.' && (i == 0 || !isdigit((unsigned char)tok[i - 1]) || !isdigit((unsigned char)tok[i + 1])))
				return perr(ps, s, "bad float '%s'", tok);
			clean[j++] = c;
		}
		clean[j] = '\0';
		char *end;
		errno = 0;
		double f = strtod(clean, &end);
		if (*end || end == clean || !isdigit((unsigned char)clean[(clean[0] == '+' || clean[0] == '-') ? 1 : 0]))
			return perr(ps, s, "bad float '%s'", tok);
		v->type = FAULT_CFG_FLOAT;
		v->f = f;
		return 0;
	}
	if (!digits_ok(p, 10, digits, sizeof digits))
		return perr(ps, s, "bad value '%s' (not a string, number, boolean or date)", tok);
	if (digits[0] == '0' && digits[1])
		return perr(ps, s, "integer '%s' has a leading zero", tok);
	errno = 0;
	unsigned long long u = strtoull(digits, NULL, 10);
	if (errno || u > (unsigned long long)LLONG_MAX + (neg ? 1ull : 0ull))
		return perr(ps, s, "integer '%s' out of range", tok);
	v->type = FAULT_CFG_INT;
	v->i = neg ? (long long)(0 - u) : (long long)u;
	return 0;
}

static int parse_value(pstate *ps, val *v)
{
	memset(v, 0, sizeof *v);
	v->start = ps->pos;
	int c = peek(ps);
	int rc;
	if (c == '"' && peek_at(ps, 1) == '"' && peek_at(ps, 2) == '"') {
		v->form = 'B';
		v->type = FAULT_CFG_STRING;
		rc = parse_multiline(ps, '"', &v->s);
	} else if (c == '\'' && peek_at(ps, 1) == '\'' && peek_at(ps, 2) == '\'') {
		v->form = 'L';
		v->type = FAULT_CFG_STRING;
		rc = parse_multiline(ps, '\'', &v->s);
	} else if (c == '"') {
		v->form = '"';
		v->type = FAULT_CFG_STRING;
		rc = parse_basic(ps, &v->s);
	} else if (c == '\'') {
		v->form = '\'';
		v->type = FAULT_CFG_STRING;
		rc = parse_literal(ps, &v->s);
	} else if (c == '[') {
		rc = parse_array(ps, v);
	} else if (c == '{') {
		rc = parse_inline_table(ps, v);
	} else {
		rc = parse_scalar(ps, v);
	}
	v->end = ps->pos;
	return rc;
}

/* The rest of a line after its content: blanks, a comment, the line end. */
static int finish_line(pstate *ps)
{
	skip_ws(ps);
	if (peek(ps) == '#') {
		int rc = skip_comment(ps);
		if (rc < 0)
			return rc;
	}
	if (!at_eol(ps)) {
		int c = peek(ps);
		if (c == '\r')
			return perr(ps, ps->pos, "carriage return without a line feed");
		return perr(ps, ps->pos, "expected the end of the line, found '%c'", c >= ' ' && c < 0x7f ? c : '?');
	}
	return eat_eol(ps);
}

static int parse_line(pstate *ps, line *l)
{
	memset(l, 0, sizeof *l);
	l->start = ps->pos;
	l->lineno = ps->lineno;
	skip_ws(ps);
	l->indent = ps->pos - l->start;
	int c = peek(ps);
	int rc;
	if (at_eol(ps)) {
		l->kind = LN_BLANK;
		rc = eat_eol(ps);
	} else if (c == '#') {
		l->kind = LN_COMMENT;
		rc = skip_comment(ps);
		if (rc == 0)
			rc = eat_eol(ps);
	} else if (c == '[') {
		bool arr = peek_at(ps, 1) == '[';
		l->kind = arr ? LN_ATABLE : LN_TABLE;
		ps->pos += arr ? 2 : 1;
		rc = parse_key(ps, &l->path);
		if (rc == 0) {
			if (peek(ps) != ']' || (arr && peek_at(ps, 1) != ']'))
				rc = perr(ps, ps->pos, "expected '%s' to close the table header", arr ? "]]" : "]");
			else
				ps->pos += arr ? 2 : 1;
		}
		if (rc == 0)
			rc = finish_line(ps);
	} else {
		l->kind = LN_KV;
		rc = parse_key(ps, &l->path);
		if (rc == 0 && peek(ps) != '=')
			rc = perr(ps, ps->pos, "expected '=' after the key");
		if (rc == 0) {
			ps->pos++;
			skip_ws(ps);
			rc = parse_value(ps, &l->v);
		}
		if (rc == 0)
			rc = finish_line(ps);
	}
	l->end = ps->pos;
	return rc;
}

/* Full path of a key line: its table's path, then the key. */
static size_t full_path(const fault_cfg_doc *d, const line *l, char **out, size_t max)
{
	size_t n = 0;
	if (l->table >= 0) {
		const kpath *h = &d->lines[l->table].path;
		for (size_t i = 0; i < h->n && n < max; i++)
			out[n++] = h->seg[i];
	}
	for (size_t i = 0; i < l->path.n && n < max; i++)
		out[n++] = l->path.seg[i];
	return n;
}

/* Full path of a header or key line (0 for other lines). */
static size_t line_full(const fault_cfg_doc *d, const line *l, char **out, size_t max)
{
	if (l->kind == LN_KV)
		return full_path(d, l, out, max);
	if (l->kind != LN_TABLE && l->kind != LN_ATABLE)
		return 0;
	size_t n = l->path.n < max ? l->path.n : max;
	for (size_t i = 0; i < n; i++)
		out[i] = l->path.seg[i];
	return n;
}

static bool path_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	return na == nb && common_prefix(a, na, b, nb) == na;
}

#define MAX_DEPTH 64

static void path_text(char *const *seg, size_t n, char *buf, size_t len)
{
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_append(&sb, ".", 1);
		fmt_key(&sb, seg[i]);
	}
	snprintf(buf, len, "%s", sb.buf);
	sb_free(&sb);
}

/* What a line-oriented reader can check beyond syntax: tables and keys
 * defined twice. */
static int check_doc(fault_cfg_doc *d, crit_err *e)
{
	int table = -1, epoch = -1;
	for (size_t i = 0; i < d->n; i++) {
		line *l = &d->lines[i];
		if (l->kind == LN_TABLE || l->kind == LN_ATABLE) {
			table = (int)i;
			if (l->kind == LN_ATABLE)
				epoch = (int)i;
			else if (epoch >= 0 && common_prefix(d->lines[epoch].path.seg, d->lines[epoch].path.n,
							     l->path.seg, l->path.n) < d->lines[epoch].path.n)
				epoch = -1;
		}
		l->table = l->kind == LN_TABLE || l->kind == LN_ATABLE ? -1 : table;
		l->epoch = epoch;
	}
	for (size_t i = 0; i < d->n; i++) {
		line *a = &d->lines[i];
		if (a->kind != LN_TABLE && a->kind != LN_KV)
			continue;
		char *fa[MAX_DEPTH];
		size_t na = line_full(d, a, fa, MAX_DEPTH);
		for (size_t j = 0; j < i; j++) {
			line *b = &d->lines[j];
			if (b->kind != LN_TABLE && b->kind != LN_KV)
				continue;
			char *fb[MAX_DEPTH];
			size_t nb = line_full(d, b, fb, MAX_DEPTH);
			if (a->epoch != b->epoch || !path_eq(fa, na, fb, nb))
				continue;
			char p[300];
			path_text(fa, na, p, sizeof p);
			size_t col = a->indent + 1;
			if (a->kind == LN_TABLE && b->kind == LN_TABLE)
				return err_set(e, -ERR_CONFIG, "%s:%d:%zu: table [%s] defined twice (first at line %d)",
					       d->name, a->lineno, col, p, b->lineno);
			return err_set(e, -ERR_CONFIG, "%s:%d:%zu: %s defined twice (first at line %d)", d->name,
				       a->lineno, col, p, b->lineno);
		}
	}
	return 0;
}

static void find_version(fault_cfg_doc *d)
{
	d->version = 1;
	for (size_t i = 0; i < d->n; i++) {
		line *l = &d->lines[i];
		if (l->kind == LN_KV && l->table < 0 && l->path.n == 1 && !strcmp(l->path.seg[0], "version") &&
		    l->v.type == FAULT_CFG_INT)
			d->version = (int)l->v.i;
	}
	snprintf(d->cri, sizeof d->cri, "%s",
		 d->version >= 3 ? "plugins.\"io.containerd.cri.v1.runtime\""
		 : d->version == 2 ? "plugins.\"io.containerd.grpc.v1.cri\""
				  : "plugins.cri");
}

/* Parse text into fresh lines; on success they replace d's. */
static int doc_reparse(fault_cfg_doc *d, char *text, size_t len, crit_err *e)
{
	pstate ps = { .t = text, .len = len, .lineno = 1, .name = d->name, .e = e };
	line *lines = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	char eol[3] = "\n";
	bool eol_seen = false;
	while (ps.pos < len) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			lines = realloc(lines, cap * sizeof *lines);
			if (!lines)
				abort();
		}
		rc = parse_line(&ps, &lines[n]);
		n++;
		if (rc < 0)
			break;
		line *l = &lines[n - 1];
		if (!eol_seen && l->end > l->start && text[l->end - 1] == '\n') {
			eol_seen = true;
			snprintf(eol, sizeof eol, "%s", l->end - l->start >= 2 && text[l->end - 2] == '\r' ? "\r\n" : "\n");
		}
	}
	if (rc < 0) {
		lines_free(lines, n);
		return rc;
	}
	line *old = d->lines;
	size_t old_n = d->n;
	char *old_text = d->text;
	d->lines = lines;
	d->n = n;
	d->cap = cap;
	d->text = text;
	d->len = len;
	if ((rc = check_doc(d, e)) < 0) {
		d->lines = old;
		d->n = old_n;
		d->text = old_text;
		d->len = old_text ? strlen(old_text) : 0;
		lines_free(lines, n);
		return rc;
	}
	memcpy(d->eol, eol, sizeof eol);
	lines_free(old, old_n);
	if (old_text != text)
		free(old_text);
	find_version(d);
	return 0;
}

int fault_cfg_parse(const char *name, const char *text, size_t len, fault_cfg_doc **out, crit_err *e)
{
	*out = NULL;
	fault_cfg_doc *d = calloc(1, sizeof *d);
	if (!d)
		return err_set(e, -ENOMEM, "out of memory");
	snprintf(d->name, sizeof d->name, "%s", name ? name : "(config)");
	if (memchr(text, '\0', len)) {
		size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);
		int lineno = 1;
		size_t ls = 0;
		for (size_t i = 0; i < at; i++)
			if (text[i] == '\n')
				lineno++, ls = i + 1;
		int rc = err_set(e, -ERR_CONFIG, "%s:%d:%zu: NUL byte in the file", d->name, lineno, at - ls + 1);
		free(d);
		return rc;
	}
	char *copy = malloc(len + 1);
	if (!copy) {
		free(d);
		return err_set(e, -ENOMEM, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	int rc = doc_reparse(d, copy, len, e);
	if (rc < 0) {
		free(copy);
		fault_cfg_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int fault_cfg_load(const char *path, fault_cfg_doc **out, crit_err *e)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = util_read_file(path, &text, &len, e);
	if (rc < 0)
		return rc;
	return fault_cfg_parse(path, text, len, out, e);
}

void fault_cfg_free(fault_cfg_doc *d)
{
	if (!d)
		return;
	lines_free(d->lines, d->n);
	free(d->text);
	free(d);
}

const char *fault_cfg_text(const fault_cfg_doc *d, size_t *len)
{
	if (len)
		*len = d->len;
	return d->text;
}

int fault_cfg_version(const fault_cfg_doc *d) { return d->version; }
const char *fault_cfg_cri_table(const fault_cfg_doc *d) { return d->cri; }

/* ------------------------------------------------------------ queries */

/* Parse TOML key text ("a.\"b.c\"", "" = root) into a path. */
static int parse_key_text(const char *text, kpath *k, crit_err *e)
{
	memset(k, 0, sizeof *k);
	if (!text || !*text)
		return 0;
	pstate ps = { .t = text, .len = strlen(text), .lineno = 1, .name = "(key)", .e = e };
	int rc = parse_key(&ps, k);
	if (rc == 0 && ps.pos != ps.len)
		rc = perr(&ps, ps.pos, "unexpected text after the key \"%s\"", text);
	if (rc < 0) {
		kpath_free(k);
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e ? e->msg : text);
		return err_set(e, -EINVAL, "bad table name: %s", why);
	}
	/* Raw spans point into text, which the caller does not keep. */
	for (size_t i = 0; i < k->n; i++)
		k->rs[i] = k->re[i] = 0;
	return 0;
}

/* Find the value at full path want[0..n): a key line whose full path is
 * it, or a member of an inline table on the way. */
static const val *find_value(const fault_cfg_doc *d, char *const *want, size_t n, const line **where)
{
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind != LN_KV)
			continue;
		char *fp[MAX_DEPTH];
		size_t nf = full_path(d, l, fp, MAX_DEPTH);
		if (nf > n || common_prefix(fp, nf, want, n) < nf)
			continue;
		const val *v = &l->v;
		size_t at = nf;
		while (at < n && v->type == FAULT_CFG_TABLE) {
			const val *next = NULL;
			size_t step = 0;
			for (size_t m = 0; m < v->nkv && !next; m++) {
				const kpath *k = &v->kv[m].key;
				if (at + k->n <= n && common_prefix(k->seg, k->n, want + at, k->n) == k->n) {
					next = v->kv[m].v;
					step = k->n;
				}
			}
			if (!next)
				break;
			v = next;
			at += step;
		}
		if (at == n) {
			if (where)
				*where = l;
			return v;
		}
	}
	return NULL;
}

static void to_public(const val *v, const line *l, fault_cfg_value *out)
{
	memset(out, 0, sizeof *out);
	out->type = v->type;
	out->s = v->s;
	out->i = v->i;
	out->f = v->f;
	out->b = v->b;
	out->line = l ? l->lineno : 0;
}

int fault_cfg_get(const fault_cfg_doc *d, const char *table, const char *key, fault_cfg_value *v, crit_err *e)
{
	kpath t;
	int rc = parse_key_text(table, &t, e);
	if (rc < 0)
		return rc;
	if (t.n + 1 > MAX_DEPTH) {
		kpath_free(&t);
		return err_set(e, -EINVAL, "table name too deep");
	}
	char *want[MAX_DEPTH];
	for (size_t i = 0; i < t.n; i++)
		want[i] = t.seg[i];
	want[t.n] = (char *)key;
	const line *l = NULL;
	const val *found = find_value(d, want, t.n + 1, &l);
	if (found)
		to_public(found, l, v);
	kpath_free(&t);
	return found ? 0 : -ENOENT;
}

/* The path of containerd.runtimes under the document's CRI table. */
static int runtimes_path(const fault_cfg_doc *d, kpath *k, crit_err *e)
{
	int rc = parse_key_text(d->cri, k, e);
	if (rc < 0)
		return rc;
	kpath_push(k, strdup("containerd"), 0, 0);
	kpath_push(k, strdup("runtimes"), 0, 0);
	return 0;
}

/* Report each child of path rest[0..n) inside inline table v: its name,
 * and its value when a member sets it directly (NULL when dotted member
 * keys go deeper). */
typedef void (*child_fn)(const char *name, const val *child, void *arg);
static void inline_children(const val *v, char *const *rest, size_t n, child_fn fn, void *arg)
{
	for (size_t m = 0; m < v->nkv; m++) {
		const kpath *k = &v->kv[m].key;
		size_t cp = common_prefix(k->seg, k->n, rest, n);
		if (cp == n && k->n > n)
			fn(k->seg[n], k->n == n + 1 ? v->kv[m].v : NULL, arg);
		else if (cp == k->n && k->n <= n && v->kv[m].v->type == FAULT_CFG_TABLE)
			inline_children(v->kv[m].v, rest + k->n, n - k->n, fn, arg);
	}
}

/* Each child of full path p[0..n), from headers, key lines and inline
 * tables, in file order; l is the line that sets it. */
typedef void (*each_fn)(const char *name, const val *v, const line *l, void *arg);
typedef struct each_ctx {
	each_fn fn;
	void *arg;
	const line *l;
} each_ctx;

static void each_inline(const char *name, const val *child, void *arg)
{
	each_ctx *c = arg;
	c->fn(name, child, c->l, c->arg);
}

static void each_child(const fault_cfg_doc *d, char *const *p, size_t n, each_fn fn, void *arg)
{
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		char *fp[MAX_DEPTH];
		size_t nf = line_full(d, l, fp, MAX_DEPTH);
		if (!nf && l->kind != LN_KV)
			continue;
		if (nf > n && common_prefix(fp, nf, p, n) == n) {
			fn(fp[n], l->kind == LN_KV && nf == n + 1 ? &l->v : NULL, l, arg);
		} else if (l->kind == LN_KV && nf <= n && common_prefix(fp, nf, p, n) == nf &&
			   l->v.type == FAULT_CFG_TABLE) {
			each_ctx c = { fn, arg, l };
			inline_children(&l->v, p + nf, n - nf, each_inline, &c);
		}
	}
}

typedef struct names_ctx {
	const char **names;
	size_t n, max;
} names_ctx;

static void add_name(const char *name, const val *v, const line *l, void *arg)
{
	(void)v;
	(void)l;
	names_ctx *c = arg;
	for (size_t i = 0; i < c->n && i < c->max; i++)
		if (!strcmp(c->names[i], name))
			return;
	if (c->n < c->max)
		c->names[c->n] = name;
	c->n++;
}

size_t fault_cfg_handlers(const fault_cfg_doc *d, const char **names, size_t max)
{
	kpath rt;
	if (runtimes_path(d, &rt, NULL) < 0)
		return 0;
	names_ctx c = { names, 0, max };
	each_child(d, rt.seg, rt.n, add_name, &c);
	kpath_free(&rt);
	return c.n < max ? c.n : max;
}

/* ------------------------------------------------------------ edits */

static int find_header(const fault_cfg_doc *d, char *const *p, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->lines[i].kind == LN_TABLE && path_eq(d->lines[i].path.seg, d->lines[i].path.n, p, n))
			return (int)i;
	return -1;
}

/* Can the editor own table T through its [header]? Not when a key/value
 * line defines T (or a table above it) as an inline table or value, when
 * keys inside T are set with dotted keys from a table above it, or when an
 * array of tables lies on the path. */
static int check_editable(const fault_cfg_doc *d, char *const *t, size_t n, crit_err *e)
{
	char tt[400];
	path_text(t, n, tt, sizeof tt);
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind == LN_ATABLE &&
		    common_prefix(l->path.seg, l->path.n, t, n) == (l->path.n < n ? l->path.n : n))
			return err_set(e, -ENOTSUP, "%s:%d: unsupported: [%s] and the array of tables at this line overlap",
				       d->name, l->lineno, tt);
		if (l->kind != LN_KV)
			continue;
		char *fp[MAX_DEPTH];
		size_t nf = full_path(d, l, fp, MAX_DEPTH);
		if (nf <= n && common_prefix(fp, nf, t, n) == nf)
			return err_set(e, -ENOTSUP, "%s:%d: unsupported: [%s] is given as a value at this line, not as a table of its own",
				       d->name, l->lineno, tt);
		size_t tn = l->table >= 0 ? d->lines[l->table].path.n : 0;
		if (nf > n && tn < n && common_prefix(fp, nf, t, n) == n)
			return err_set(e, -ENOTSUP, "%s:%d: unsupported: keys of [%s] are set here with dotted keys",
				       d->name, l->lineno, tt);
	}
	return 0;
}

/* End offset of the last key line of the section under header h (the
 * header's own end when it has none). h = -1: the root section. */
static size_t section_content_end(const fault_cfg_doc *d, int h)
{
	size_t end = h >= 0 ? d->lines[h].end : 0;
	for (size_t i = (size_t)(h + 1); i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind == LN_TABLE || l->kind == LN_ATABLE)
			break;
		if (l->kind == LN_KV)
			end = l->end;
	}
	return end;
}

/* The header sharing most leading segments with t (the last of equals). */
static int best_anchor(const fault_cfg_doc *d, char *const *t, size_t n, size_t *cp_out)
{
	int best = -1;
	size_t best_cp = 0;
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind != LN_TABLE && l->kind != LN_ATABLE)
			continue;
		size_t cp = common_prefix(l->path.seg, l->path.n, t, n);
		if (best < 0 || cp >= best_cp) {
			best = (int)i;
			best_cp = cp;
		}
	}
	if (cp_out)
		*cp_out = best_cp;
	return best;
}

/* A header shaped like t: same length, equal everywhere but at wild
 * (wild = n: equal everywhere). Prefers the last. */
static int find_like(const fault_cfg_doc *d, char *const *t, size_t n, size_t wild)
{
	int found = -1;
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind != LN_TABLE || l->path.n != n)
			continue;
		bool ok = true;
		for (size_t k = 0; k < n && ok; k++)
			if (k != wild && strcmp(l->path.seg[k], t[k]) != 0)
				ok = false;
		if (ok)
			found = (int)i;
	}
	return found;
}

/* How far the file indents one level: the step from a header to its keys,
 * else one tab or two spaces; 0 in a file that indents nothing. */
static size_t indent_unit(const fault_cfg_doc *d)
{
	bool any = false;
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind == LN_KV && l->table >= 0 && l->indent > d->lines[l->table].indent)
			return l->indent - d->lines[l->table].indent;
		if ((l->kind == LN_TABLE || l->kind == LN_KV) && l->indent > 0)
			any = true;
	}
	if (!any)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->lines[i].indent > 0)
			return d->text[d->lines[i].start] == '\t' ? 1 : 2;
	return 2;
}

/* Indent of a new header t: like a header of the same shape, else one level
 * below the nearest existing ancestor (parent_indent when the caller adds
 * the parent itself, -1 = not). */
static size_t header_indent(const fault_cfg_doc *d, char *const *t, size_t n, size_t wild, long parent_indent)
{
	int like = find_like(d, t, n, wild);
	if (like < 0 && n > 0)
		like = find_like(d, t, n, n - 1);
	if (like >= 0)
		return d->lines[like].indent;
	if (parent_indent >= 0)
		return (size_t)parent_indent + indent_unit(d);
	size_t cp = 0;
	int a = best_anchor(d, t, n, &cp);
	if (a < 0)
		return 0;
	const line *al = &d->lines[a];
	if (al->path.n == cp && cp < n)
		return al->indent + indent_unit(d);
	return al->indent;
}

/* Indent of the keys of header h's section, or -1 when it has none. */
static long section_key_indent(const fault_cfg_doc *d, int h)
{
	for (size_t i = (size_t)(h + 1); i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind == LN_TABLE || l->kind == LN_ATABLE)
			break;
		if (l->kind == LN_KV)
			return (long)l->indent;
	}
	return -1;
}

static size_t key_indent(const fault_cfg_doc *d, char *const *t, size_t n, size_t wild, size_t hindent)
{
	int h = find_header(d, t, n);
	long k = h >= 0 ? section_key_indent(d, h) : -1;
	if (k < 0) {
		int like = find_like(d, t, n, wild);
		if (like < 0 && n > 0)
			like = find_like(d, t, n, n - 1);
		if (like >= 0 && (k = section_key_indent(d, like)) >= 0)
			k = k - (long)d->lines[like].indent + (long)hindent;
	}
	if (k < 0)
		k = (long)(hindent + indent_unit(d));
	return (size_t)k;
}

/* Does a blank line come before headers shaped like t? */
static bool blank_before(const fault_cfg_doc *d, char *const *t, size_t n, size_t wild)
{
	int like = find_like(d, t, n, wild);
	if (like < 0 && n > 0)
		like = find_like(d, t, n, n - 1);
	if (like < 0)
		like = best_anchor(d, t, n, NULL);
	if (like < 0)
		return d->len > 0;
	return like > 0 && d->lines[like - 1].kind == LN_BLANK;
}

static void put_indent(strbuf *sb, const fault_cfg_doc *d, size_t n)
{
	/* Follow the file's blanks: tabs when its first indented line used them. */
	char ch = ' ';
	for (size_t i = 0; i < d->n; i++)
		if (d->lines[i].indent > 0) {
			ch = d->text[d->lines[i].start];
			break;
		}
	for (size_t i = 0; i < n; i++)
		sb_append(sb, &ch, 1);
}

/* "[a.b.c]" reusing the spelling of the leading segments an existing
 * header shares with t. */
static void put_header(strbuf *sb, const fault_cfg_doc *d, char *const *t, size_t n)
{
	size_t cp = 0;
	int a = best_anchor(d, t, n, &cp);
	sb_append(sb, "[", 1);
	size_t i = 0;
	if (a >= 0 && cp > 0 && d->lines[a].path.re) {
		const kpath *k = &d->lines[a].path;
		sb_append(sb, d->text + k->rs[0], k->re[cp - 1] - k->rs[0]);
		i = cp;
	}
	for (; i < n; i++) {
		if (i)
			sb_append(sb, ".", 1);
		fmt_key(sb, t[i]);
	}
	sb_append(sb, "]", 1);
}

/* Replace [a, b) of the text with ins and reparse. */
static int doc_splice(fault_cfg_doc *d, size_t a, size_t b, const char *ins, size_t inslen, crit_err *e)
{
	size_t len = d->len - (b - a) + inslen;
	char *text = malloc(len + 1);
	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	memcpy(text, d->text, a);
	memcpy(text + a, ins, inslen);
	memcpy(text + a + inslen, d->text + b, d->len - b);
	text[len] = '\0';
	crit_err pe;
	int rc = doc_reparse(d, text, len, &pe);
	if (rc < 0) {
		free(text);
		return err_set(e, -EIO, "%s: the edit would not parse (a critic bug): %s", d->name, pe.msg);
	}
	d->eol_added = 0; /* any edit ends what an add's undo may assume */
	return 0;
}

/* Insert at offset at; a file whose last line lacks its line end gets one first. */
static int doc_insert(fault_cfg_doc *d, size_t at, const strbuf *sb, crit_err *e)
{
	strbuf ins = { 0 };
	sb_append(&ins, "", 0);
	size_t added = 0;
	if (at == d->len && d->len > 0 && d->text[d->len - 1] != '\n') {
		sb_printf(&ins, "%s", d->eol);
		added = at + 1;
	}
	sb_append(&ins, sb->buf, sb->len);
	int rc = doc_splice(d, at, at, ins.buf, ins.len, e);
	sb_free(&ins);
	if (rc == 0 && added)
		d->eol_added = added;
	return rc;
}

/* Where a new table t goes: after the last key line of the header that
 * shares most with it (end of file when the file has no header). */
static size_t new_table_offset(const fault_cfg_doc *d, char *const *t, size_t n)
{
	int a = best_anchor(d, t, n, NULL);
	return a < 0 ? d->len : section_content_end(d, a);
}

int fault_cfg_doc_add_handler(fault_cfg_doc *d, const fault_cfg_handler *h, crit_err *e)
{
	if (!h || !h->name || !*h->name)
		return err_set(e, -EINVAL, "add handler: no name");
	kpath t;
	int rc = runtimes_path(d, &t, e);
	if (rc < 0)
		return rc;
	size_t wild = t.n;
	kpath_push(&t, strdup(h->name), 0, 0);
	int have = find_header(d, t.seg, t.n);
	if (have >= 0) {
		rc = err_set(e, -EEXIST, "%s:%d: handler %s is configured already", d->name, d->lines[have].lineno,
			     h->name);
		goto out;
	}
	if ((rc = check_editable(d, t.seg, t.n, e)) < 0)
		goto out;
	const char *opt = "options";
	char *o[MAX_DEPTH];
	for (size_t i = 0; i < t.n; i++)
		o[i] = t.seg[i];
	o[t.n] = (char *)opt;

	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	size_t hi = header_indent(d, t.seg, t.n, wild, -1);
	size_t ki = key_indent(d, t.seg, t.n, wild, hi);
	if (blank_before(d, t.seg, t.n, wild))
		sb_printf(&sb, "%s", d->eol);
	put_indent(&sb, d, hi);
	put_header(&sb, d, t.seg, t.n);
	sb_printf(&sb, "%s", d->eol);
	put_indent(&sb, d, ki);
	sb_printf(&sb, "runtime_type = ");
	fault_cfg_value rtv = FAULT_CFG_STR(h->runtime_type ? h->runtime_type : DEFAULT_RUNTIME_TYPE);
	fmt_value(&sb, &rtv, false, NULL);
	sb_printf(&sb, "%s", d->eol);
	if (h->binary_name) {
		size_t ohi = header_indent(d, o, t.n + 1, wild, (long)hi);
		size_t oki = key_indent(d, o, t.n + 1, wild, ohi);
		if (blank_before(d, o, t.n + 1, wild))
			sb_printf(&sb, "%s", d->eol);
		put_indent(&sb, d, ohi);
		put_header(&sb, d, o, t.n + 1);
		sb_printf(&sb, "%s", d->eol);
		put_indent(&sb, d, oki);
		sb_printf(&sb, "BinaryName = ");
		fault_cfg_value bv = FAULT_CFG_STR(h->binary_name);
		fmt_value(&sb, &bv, false, NULL);
		sb_printf(&sb, "%s", d->eol);
		if (h->root) {
			put_indent(&sb, d, oki);
			sb_printf(&sb, "Root = ");
			fault_cfg_value rv = FAULT_CFG_STR(h->root);
			fmt_value(&sb, &rv, false, NULL);
			sb_printf(&sb, "%s", d->eol);
		}
	}
	rc = doc_insert(d, new_table_offset(d, t.seg, t.n), &sb, e);
	sb_free(&sb);
out:
	kpath_free(&t);
	return rc;
}

typedef struct span {
	size_t a, b;
} span;

static int span_cmp(const void *x, const void *y)
{
	const span *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

int fault_cfg_doc_remove_handler(fault_cfg_doc *d, const char *name, crit_err *e)
{
	if (!name || !*name)
		return err_set(e, -EINVAL, "remove handler: no name");
	kpath t;
	int rc = runtimes_path(d, &t, e);
	if (rc < 0)
		return rc;
	kpath_push(&t, strdup(name), 0, 0);
	span *sp = NULL;
	size_t nsp = 0;
	if ((rc = check_editable(d, t.seg, t.n, e)) < 0)
		goto out;
	/* The default handler cannot go: containerd would refuse to start. */
	char *ct[MAX_DEPTH];
	for (size_t i = 0; i + 2 < t.n; i++)
		ct[i] = t.seg[i];
	ct[t.n - 2] = "default_runtime_name";
	const line *dl = NULL;
	const val *dv = find_value(d, ct, t.n - 1, &dl);
	if (dv && dv->type == FAULT_CFG_STRING && !strcmp(dv->s, name)) {
		rc = err_set(e, -EBUSY, "%s:%d: handler %s is the default_runtime_name: change that first", d->name,
			     dl->lineno, name);
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind != LN_TABLE || l->path.n < t.n || common_prefix(l->path.seg, l->path.n, t.seg, t.n) < t.n)
			continue;
		span s = { l->start, section_content_end(d, (int)i) };
		if (i > 0 && d->lines[i - 1].kind == LN_BLANK)
			s.a = d->lines[i - 1].start;
		sp = realloc(sp, (nsp + 1) * sizeof *sp);
		if (!sp)
			abort();
		sp[nsp++] = s;
	}
	if (!nsp) {
		rc = err_set(e, -ENOENT, "%s: handler %s is not configured", d->name, name);
		goto out;
	}
	qsort(sp, nsp, sizeof *sp, span_cmp);
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	size_t at = 0;
	for (size_t i = 0; i < nsp; i++) {
		if (sp[i].a > at)
			sb_append(&sb, d->text + at, sp[i].a - at);
		if (sp[i].b > at)
			at = sp[i].b;
	}
	sb_append(&sb, d->text + at, d->len - at);
	/* the removal reaches the end of the file, and the line end an add gave
	 * the file's unterminated last line is now the end again: drop it, so
	 * that remove undoes add byte for byte (found by fuzz_config) */
	size_t el = strlen(d->eol);
	if (d->eol_added && at == d->len && sb.len == d->eol_added - 1 + el && !memcmp(sb.buf + sb.len - el, d->eol, el))
		sb.len -= el;
	rc = doc_splice(d, 0, d->len, sb.buf, sb.len, e);
	sb_free(&sb);
out:
	free(sp);
	kpath_free(&t);
	return rc;
}

int fault_cfg_doc_set(fault_cfg_doc *d, const char *table, const char *key, const fault_cfg_value *v,
		      crit_err *e)
{
	if (!key || !*key || !v)
		return err_set(e, -EINVAL, "set: no key or value");
	strbuf val_text = { 0 };
	int rc = fmt_value(&val_text, v, false, e);
	sb_free(&val_text);
	if (rc < 0)
		return rc;
	kpath t;
	if ((rc = parse_key_text(table, &t, e)) < 0)
		return rc;
	if (t.n + 1 >= MAX_DEPTH) {
		kpath_free(&t);
		return err_set(e, -EINVAL, "set: table name too deep");
	}
	char *full[MAX_DEPTH];
	for (size_t i = 0; i < t.n; i++)
		full[i] = t.seg[i];
	full[t.n] = (char *)key;
	char shown[400];
	path_text(full, t.n + 1, shown, sizeof shown);
	int h = t.n ? find_header(d, t.seg, t.n) : -1;
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	if (t.n && (rc = check_editable(d, t.seg, t.n, e)) < 0)
		goto out;
	/* The key must be a plain value of this table's own section: not a
	 * table, not set with dotted keys, nothing set below it. */
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		char *fp[MAX_DEPTH];
		size_t nf = line_full(d, l, fp, MAX_DEPTH);
		if (!nf || common_prefix(fp, nf, full, t.n + 1) < t.n + 1)
			continue;
		bool plain = l->kind == LN_KV && nf == t.n + 1 && l->path.n == 1 &&
			     (t.n ? l->table == h : l->table < 0);
		if (!plain) {
			rc = err_set(e, -ENOTSUP, "%s:%d: unsupported: %s is set here, not as a plain key of [%s]",
				     d->name, l->lineno, shown, table && *table ? table : "(root)");
			goto out;
		}
	}
	rc = 0;
	/* Replace an existing value in place. */
	for (size_t i = 0; i < d->n; i++) {
		const line *l = &d->lines[i];
		if (l->kind != LN_KV || l->path.n != 1 || strcmp(l->path.seg[0], key) != 0)
			continue;
		/* h < 0: the table has no header, so it holds no key yet (a root
		 * key, table -1 too, must not be taken for it: found by fuzz_config) */
		if (t.n ? h < 0 || l->table != h : l->table >= 0)
			continue;
		bool literal = l->v.type == FAULT_CFG_STRING && (l->v.form == '\'' || l->v.form == 'L');
		if ((rc = fmt_value(&sb, v, literal, e)) < 0)
			goto out;
		rc = doc_splice(d, l->v.start, l->v.end, sb.buf, sb.len, e);
		goto out;
	}
	if (t.n == 0 || h >= 0) {
		/* A new key after the table's last key. */
		size_t at;
		size_t ki;
		if (t.n == 0) {
			at = section_content_end(d, -1);
			if (at == 0) {
				/* No root key yet: before the first header. */
				at = d->len;
				for (size_t i = 0; i < d->n; i++)
					if (d->lines[i].kind == LN_TABLE || d->lines[i].kind == LN_ATABLE) {
						at = d->lines[i].start;
						break;
					}
			}
			ki = 0;
			for (size_t i = 0; i < d->n; i++)
				if (d->lines[i].kind == LN_KV && d->lines[i].table < 0) {
					ki = d->lines[i].indent;
					break;
				}
		} else {
			at = section_content_end(d, h);
			ki = key_indent(d, t.seg, t.n, t.n, d->lines[h].indent);
		}
		put_indent(&sb, d, ki);
		fmt_key(&sb, key);
		sb_printf(&sb, " = ");
		fmt_value(&sb, v, false, NULL);
		sb_printf(&sb, "%s", d->eol);
		rc = doc_insert(d, at, &sb, e);
		goto out;
	}
	/* A new table. */
	size_t hi = header_indent(d, t.seg, t.n, t.n, -1);
	size_t ki = key_indent(d, t.seg, t.n, t.n, hi);
	if (blank_before(d, t.seg, t.n, t.n))
		sb_printf(&sb, "%s", d->eol);
	put_indent(&sb, d, hi);
	put_header(&sb, d, t.seg, t.n);
	sb_printf(&sb, "%s", d->eol);
	put_indent(&sb, d, ki);
	fmt_key(&sb, key);
	sb_printf(&sb, " = ");
	fmt_value(&sb, v, false, NULL);
	sb_printf(&sb, "%s", d->eol);
	rc = doc_insert(d, new_table_offset(d, t.seg, t.n), &sb, e);
out:
	sb_free(&sb);
	kpath_free(&t);
	return rc;
}

/* ------------------------------------------------------------ files */

bool fault_cfg_in_lab(const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return false;
	char *slash = strrchr(real, '/');
	if (!slash || strcmp(slash + 1, "config.toml") != 0)
		return false;
	*slash = '\0';
	cleanup_free char *state = util_strdup_printf("%s/lab.state", real[0] ? real : "/");
	cleanup_free char *text = NULL;
	if (util_read_file(state, &text, NULL, NULL) < 0)
		return false;
	return util_has_prefix(text, "# critic lab state");
}

static bool run_id_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* Create dst exclusively with data and st's mode and owner (and, when
 * times, st's access and modification times). */
static int write_new(const char *dst, const char *data, size_t len, const struct stat *st, bool times, crit_err *e)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, -errno, "create %s: %s", dst, strerror(errno));
	int rc = write_all(fd, data, len);
	const char *what = "write";
	if (rc == 0 && fchown(fd, st->st_uid, st->st_gid) < 0 && (st->st_uid != geteuid() || errno != EPERM))
		rc = -errno, what = "chown";
	if (rc == 0 && fchmod(fd, st->st_mode & 07777) < 0)
		rc = -errno, what = "chmod";
	if (rc == 0 && times) {
		struct timespec ts[2] = { st->st_atim, st->st_mtim };
		if (futimens(fd, ts) < 0)
			rc = -errno, what = "set times of";
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno, what = "sync";
	close(fd);
	if (rc < 0) {
		unlink(dst);
		return err_set(e, rc, "%s %s: %s", what, dst, strerror(-rc));
	}
	return 0;
}

typedef int (*doc_edit)(fault_cfg_doc *d, const void *arg, crit_err *e);

static int patch_file(const char *path, doc_edit edit, const void *arg, const fault_cfg_opts *o,
		      fault_cfg_backup *b, crit_err *e)
{
	if (!path || !*path || !b)
		return err_set(e, -EINVAL, "patch config: no file or no backup record");
	if (b->active && strcmp(b->path, path) != 0)
		return err_set(e, -EINVAL, "patch %s: this backup record belongs to %s", path, b->path);
	struct stat st;
	if (lstat(path, &st) < 0)
		return err_set(e, -errno, "patch %s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(e, -EINVAL, "patch %s: a symbolic link; name the file it points to", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, -EINVAL, "patch %s: not a regular file", path);
	bool disruptive = o && o->allow_disruptive;
	if (!disruptive && !fault_cfg_in_lab(path))
		return err_set(e, -EPERM,
			       "patch %s: not the config.toml of a critic lab: patching a runtime's config is "
			       "disruptive (allow it explicitly)", path);
	char idbuf[64];
	const char *run_id = o ? o->run_id : NULL;
	if (!run_id) {
		snprintf(idbuf, sizeof idbuf, "%d-%lld", (int)getpid(), (long long)time(NULL));
		run_id = idbuf;
	}
	if (!run_id_ok(run_id))
		return err_set(e, -EINVAL, "patch %s: run id \"%s\": use 1-64 letters, digits, '.', '_' or '-'", path,
			       run_id);

	cleanup_free char *orig = NULL;
	size_t len = 0;
	int rc = util_read_file(path, &orig, &len, e);
	if (rc < 0)
		return rc;
	fault_cfg_doc *d = NULL;
	if ((rc = fault_cfg_parse(path, orig, len, &d, e)) < 0)
		return rc;
	if ((rc = edit(d, arg, e)) < 0) {
		fault_cfg_free(d);
		return rc;
	}
	bool made_backup = false;
	if (!b->active) {
		char bpath[PATH_MAX];
		if (snprintf(bpath, sizeof bpath, "%s" BACKUP_INFIX "%s", path, run_id) >= (int)sizeof bpath) {
			fault_cfg_free(d);
			return err_set(e, -ENAMETOOLONG, "patch %s: backup name too long", path);
		}
		if (util_exists(bpath)) {
			fault_cfg_free(d);
			return err_set(e, -EEXIST,
				       "patch %s: backup %s exists already (a patch of this run not restored?): "
				       "restore it first", path, bpath);
		}
		if ((rc = write_new(bpath, orig, len, &st, true, e)) < 0) {
			fault_cfg_free(d);
			return err_wrap(e, "patch %s: backup", path);
		}
		made_backup = true;
		snprintf(b->path, sizeof b->path, "%s", path);
		snprintf(b->backup, sizeof b->backup, "%s", bpath);
		b->active = true;
	}
	size_t nlen;
	const char *ntext = fault_cfg_text(d, &nlen);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%.4000s.critic-tmp-%d", path, (int)getpid());
	unlink(tmp);
	rc = write_new(tmp, ntext, nlen, &st, false, e);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = err_set(e, -errno, "patch %s: rename %s: %s", path, tmp, strerror(errno));
		unlink(tmp);
	}
	fault_cfg_free(d);
	if (rc < 0 && made_backup) {
		unlink(b->backup);
		b->active = false;
	}
	return rc;
}

static int edit_add(fault_cfg_doc *d, const void *arg, crit_err *e)
{
	return fault_cfg_doc_add_handler(d, arg, e);
}

static int edit_remove(fault_cfg_doc *d, const void *arg, crit_err *e)
{
	return fault_cfg_doc_remove_handler(d, arg, e);
}

typedef struct set_arg {
	const char *table, *key;
	const fault_cfg_value *v;
} set_arg;

static int edit_set(fault_cfg_doc *d, const void *arg, crit_err *e)
{
	const set_arg *s = arg;
	return fault_cfg_doc_set(d, s->table, s->key, s->v, e);
}

int fault_cfg_add_handler(const char *path, const fault_cfg_handler *h, const fault_cfg_opts *o,
			  fault_cfg_backup *b, crit_err *e)
{
	return patch_file(path, edit_add, h, o, b, e);
}

int fault_cfg_remove_handler(const char *path, const char *name, const fault_cfg_opts *o, fault_cfg_backup *b,
			     crit_err *e)
{
	return patch_file(path, edit_remove, name, o, b, e);
}

int fault_cfg_set_key(const char *path, const char *table, const char *key, const fault_cfg_value *v,
		      const fault_cfg_opts *o, fault_cfg_backup *b, crit_err *e)
{
	set_arg s = { table, key, v };
	return patch_file(path, edit_set, &s, o, b, e);
}

int fault_cfg_restore(fault_cfg_backup *b, crit_err *e)
{
	if (!b || !b->active)
		return 0;
	struct stat st;
	if (lstat(b->backup, &st) < 0 || !S_ISREG(st.st_mode)) {
		int rc = err_set(e, -ENOENT, "restore %s: backup %s is gone", b->path, b->backup);
		b->active = false;
		return rc;
	}
	if (rename(b->backup, b->path) < 0)
		return err_set(e, -errno, "restore %s from %s: %s", b->path, b->backup, strerror(errno));
	b->active = false;
	return 0;
}

int fault_cfg_find_backups(const char *path, char *first, size_t len)
{
	if (first && len)
		first[0] = '\0';
	char dir[PATH_MAX], base[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	snprintf(base, sizeof base, "%s", path);
	const char *dn = dirname(dir), *bn = basename(base);
	cleanup_free char *prefix = util_strdup_printf("%s" BACKUP_INFIX, bn);
	DIR *dd = opendir(dn);
	if (!dd)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dd))) {
		if (!util_has_prefix(de->d_name, prefix) || !de->d_name[strlen(prefix)])
			continue;
		if (!n && first && len)
			snprintf(first, len, "%s/%s", dn, de->d_name);
		n++;
	}
	closedir(dd);
	return n;
}

/* ------------------------------------------------------------ drift */

/* Keys of the CRI plugin table (version 1 and 2 files) and where the
 * running config reports them ("a.b" = nested JSON objects). */
static const struct {
	const char *table; /* under the CRI table; "" = the CRI table itself */
	const char *key;
	const char *json;
} cri_keys[] = {
	{ "", "sandbox_image", "sandboxImage" },
	{ "", "restrict_oom_score_adj", "restrictOOMScoreAdj" },
	{ "", "enable_selinux", "enableSelinux" },
	{ "", "systemd_cgroup", "systemdCgroup" },
	{ "", "disable_apparmor", "disableApparmor" },
	{ "", "disable_cgroup", "disableCgroup" },
	{ "", "disable_proc_mount", "disableProcMount" },
	{ "", "stream_server_address", "streamServerAddress" },
	{ "", "stream_server_port", "streamServerPort" },
	{ "", "stream_idle_timeout", "streamIdleTimeout" },
	{ "", "enable_tls_streaming", "enableTLSStreaming" },
	{ "", "max_container_log_line_size", "maxContainerLogSize" },
	{ "", "max_concurrent_downloads", "maxConcurrentDownloads" },
	{ "", "stats_collect_period", "statsCollectPeriod" },
	{ "", "enable_unprivileged_ports", "enableUnprivilegedPorts" },
	{ "", "enable_unprivileged_icmp", "enableUnprivilegedICMP" },
	{ "", "device_ownership_from_security_context", "device_ownership_from_security_context" },
	{ "", "tolerate_missing_hugetlb_controller", "tolerateMissingHugetlbController" },
	{ "", "disable_hugetlb_controller", "disableHugetlbController" },
	{ "", "ignore_image_defined_volumes", "ignoreImageDefinedVolumes" },
	{ "", "netns_mounts_under_state_dir", "netnsMountsUnderStateDir" },
	{ "containerd", "snapshotter", "containerd.snapshotter" },
	{ "containerd", "default_runtime_name", "containerd.defaultRuntimeName" },
	{ "containerd", "no_pivot", "containerd.noPivot" },
	{ "containerd", "disable_snapshot_annotations", "containerd.disableSnapshotAnnotations" },
	{ "containerd", "discard_unpacked_layers", "containerd.discardUnpackedLayers" },
	{ "cni", "bin_dir", "cni.binDir" },
	{ "cni", "conf_dir", "cni.confDir" },
	{ "cni", "max_conf_num", "cni.maxConfNum" },
	{ "cni", "conf_template", "cni.confTemplate" },
	{ "registry", "config_path", "registry.configPath" },
};

/* Per-handler keys and their JSON names (options.* are compared by name). */
static const struct {
	const char *key, *json;
} handler_keys[] = {
	{ "runtime_type", "runtimeType" },
	{ "runtime_path", "runtimePath" },
	{ "runtime_engine", "runtimeEngine" },
	{ "runtime_root", "runtimeRoot" },
	{ "privileged_without_host_devices", "privileged_without_host_devices" },
	{ "base_runtime_spec", "baseRuntimeSpec" },
	{ "cni_conf_dir", "cniConfDir" },
	{ "cni_max_conf_num", "cniMaxConfNum" },
};

static json_object *json_path(json_object *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_object *cur = root;
	char *save = NULL;
	for (char *p = strtok_r(buf, ".", &save); p && cur; p = strtok_r(NULL, ".", &save)) {
		json_object *next = NULL;
		if (!json_object_is_type(cur, json_type_object) || !json_object_object_get_ex(cur, p, &next))
			return NULL;
		cur = next;
	}
	return cur;
}

static void value_text(const fault_cfg_value *v, char *buf, size_t len)
{
	switch (v->type) {
	case FAULT_CFG_STRING: snprintf(buf, len, "\"%s\"", v->s); break;
	case FAULT_CFG_INT: snprintf(buf, len, "%lld", v->i); break;
	case FAULT_CFG_FLOAT: snprintf(buf, len, "%g", v->f); break;
	case FAULT_CFG_BOOL: snprintf(buf, len, "%s", v->b ? "true" : "false"); break;
	default: snprintf(buf, len, "(not compared)"); break;
	}
}

/* 1 equal, 0 different, -1 not comparable. */
static int value_matches(const fault_cfg_value *v, json_object *j)
{
	switch (v->type) {
	case FAULT_CFG_STRING:
		return json_object_is_type(j, json_type_string) ? !strcmp(json_object_get_string(j), v->s) : 0;
	case FAULT_CFG_BOOL:
		return json_object_is_type(j, json_type_boolean) ? json_object_get_boolean(j) == v->b : 0;
	case FAULT_CFG_INT:
		if (json_object_is_type(j, json_type_int))
			return json_object_get_int64(j) == v->i;
		if (json_object_is_type(j, json_type_double))
			return json_object_get_double(j) == (double)v->i;
		return 0;
	case FAULT_CFG_FLOAT:
		if (json_object_is_type(j, json_type_double) || json_object_is_type(j, json_type_int))
			return fabs(json_object_get_double(j) - v->f) <= 1e-9 * fmax(1.0, fabs(v->f));
		return 0;
	default:
		return -1;
	}
}

static void add_diff(fault_cfg_drift *r, const char *what, const char *file, const char *running, int line)
{
	fault_cfg_diff *nd = realloc(r->diffs, (r->n_diffs + 1) * sizeof *nd);
	if (!nd)
		abort();
	r->diffs = nd;
	fault_cfg_diff *df = &r->diffs[r->n_diffs++];
	memset(df, 0, sizeof *df);
	snprintf(df->what, sizeof df->what, "%s", what);
	snprintf(df->file, sizeof df->file, "%s", file);
	snprintf(df->running, sizeof df->running, "%s", running);
	df->line = line;
}

static void add_note(fault_cfg_drift *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(fault_cfg_drift *r, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	size_t n = strlen(r->notes);
	snprintf(r->notes + n, sizeof r->notes - n, "%s%s", n ? "; " : "", buf);
}

static void compare_one(fault_cfg_drift *r, const fault_cfg_value *fv, json_object *j, const char *what)
{
	int m = value_matches(fv, j);
	if (m < 0)
		return;
	r->compared++;
	if (m)
		return;
	char ft[256];
	value_text(fv, ft, sizeof ft);
	add_diff(r, what, ft, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), fv->line);
}

static void push_str(char ***list, size_t *n, const char *s)
{
	*list = realloc(*list, (*n + 1) * sizeof **list);
	if (!*list)
		abort();
	(*list)[(*n)++] = strdup(s);
}

typedef struct opt_arg {
	fault_cfg_drift *r;
	json_object *opts;
	const char *handler;
} opt_arg;

static void compare_option(const char *name, const val *v, const line *l, void *arg)
{
	opt_arg *a = arg;
	if (!v)
		return; /* a table below options, not a value */
	fault_cfg_value fv;
	to_public(v, l, &fv);
	char what[200];
	snprintf(what, sizeof what, "handler %s: options.%s", a->handler, name);
	json_object *j = NULL;
	if (!a->opts || !json_object_object_get_ex(a->opts, name, &j)) {
		if (fv.type == FAULT_CFG_STRING || fv.type == FAULT_CFG_BOOL || fv.type == FAULT_CFG_INT ||
		    fv.type == FAULT_CFG_FLOAT) {
			char ft[256];
			value_text(&fv, ft, sizeof ft);
			a->r->compared++;
			add_diff(a->r, what, ft, "(absent)", fv.line);
		}
		return;
	}
	compare_one(a->r, &fv, j, what);
}

int fault_cfg_drift_compare(const fault_cfg_doc *d, const char *running_json, fault_cfg_drift *r, crit_err *e)
{
	if (!r->path[0])
		snprintf(r->path, sizeof r->path, "%s", d->name);
	enum json_tokener_error jerr = json_tokener_success;
	json_object *root = running_json ? json_tokener_parse_verbose(running_json, &jerr) : NULL;
	if (!root || !json_object_is_type(root, json_type_object)) {
		if (root)
			json_object_put(root);
		return err_set(e, -ERR_DECODE, "running config: not a JSON object (%s)",
			       running_json ? json_tokener_error_desc(jerr) : "none given");
	}
	kpath cri;
	int rc = parse_key_text(d->cri, &cri, e);
	if (rc < 0) {
		json_object_put(root);
		return rc;
	}
	if (d->version >= 3)
		add_note(r, "version %d file: only handlers compared", d->version);
	fault_cfg_value iv;
	if (fault_cfg_get(d, "", "imports", &iv, NULL) == 0 && iv.type == FAULT_CFG_ARRAY)
		add_note(r, "imports (line %d) not followed: only this file compared", iv.line);

	/* Keys of the CRI table. */
	for (size_t i = 0; d->version < 3 && i < ARRAY_SIZE(cri_keys); i++) {
		char table[256];
		snprintf(table, sizeof table, "%s%s%s", d->cri, cri_keys[i].table[0] ? "." : "", cri_keys[i].table);
		fault_cfg_value fv;
		if (fault_cfg_get(d, table, cri_keys[i].key, &fv, NULL) < 0)
			continue;
		json_object *j = json_path(root, cri_keys[i].json);
		if (!j)
			continue;
		char what[200];
		snprintf(what, sizeof what, "%s%s%s", cri_keys[i].table, cri_keys[i].table[0] ? "." : "",
			 cri_keys[i].key);
		compare_one(r, &fv, j, what);
	}
	/* Top-level keys the CRI plugin reports too. */
	fault_cfg_value fv;
	json_object *j;
	if (fault_cfg_get(d, "", "root", &fv, NULL) == 0 && (j = json_path(root, "containerdRootDir")))
		compare_one(r, &fv, j, "root");
	if (fault_cfg_get(d, "grpc", "address", &fv, NULL) == 0 && (j = json_path(root, "containerdEndpoint")))
		compare_one(r, &fv, j, "grpc.address");

	/* Handlers. */
	const char *names[64];
	size_t nh = fault_cfg_handlers(d, names, ARRAY_SIZE(names));
	for (size_t i = 0; i < nh; i++)
		push_str(&r->file_handlers, &r->n_file_handlers, names[i]);
	json_object *rts = json_path(root, "containerd.runtimes");
	if (rts && json_object_is_type(rts, json_type_object)) {
		json_object_object_foreach(rts, name, hobj)
		{
			(void)hobj;
			push_str(&r->run_handlers, &r->n_run_handlers, name);
		}
	} else {
		add_note(r, "the running config lists no containerd.runtimes");
	}
	kpath rt;
	runtimes_path(d, &rt, NULL);
	for (size_t i = 0; i < nh; i++) {
		json_object *hj = NULL;
		char what[200];
		snprintf(what, sizeof what, "handler %s", names[i]);
		char *hp[MAX_DEPTH];
		for (size_t k = 0; k < rt.n; k++)
			hp[k] = rt.seg[k];
		hp[rt.n] = (char *)names[i];
		int hline = 0;
		int hh = find_header(d, hp, rt.n + 1);
		if (hh >= 0)
			hline = d->lines[hh].lineno;
		r->compared++;
		if (!rts || !json_object_object_get_ex(rts, names[i], &hj)) {
			char ft[64];
			snprintf(ft, sizeof ft, "configured%s", hline ? "" : " (dotted keys)");
			add_diff(r, what, ft, "(not loaded)", hline);
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(handler_keys); k++) {
			hp[rt.n + 1] = (char *)handler_keys[k].key;
			const line *wl = NULL;
			const val *v = find_value(d, hp, rt.n + 2, &wl);
			json_object *kj = NULL;
			if (!v || !json_object_object_get_ex(hj, handler_keys[k].json, &kj))
				continue;
			fault_cfg_value hv;
			to_public(v, wl, &hv);
			char w2[200];
			snprintf(w2, sizeof w2, "handler %s: %s", names[i], handler_keys[k].key);
			compare_one(r, &hv, kj, w2);
		}
		hp[rt.n + 1] = "options";
		opt_arg oa = { r, NULL, names[i] };
		json_object_object_get_ex(hj, "options", &oa.opts);
		if (oa.opts && !json_object_is_type(oa.opts, json_type_object))
			oa.opts = NULL;
		each_child(d, hp, rt.n + 2, compare_option, &oa);
	}
	/* Loaded but no longer in the file (a file without handlers gets
	 * containerd's built-in runc). */
	for (size_t i = 0; i < r->n_run_handlers; i++) {
		const char *name = r->run_handlers[i];
		bool in_file = false;
		for (size_t k = 0; k < nh; k++)
			if (!strcmp(names[k], name))
				in_file = true;
		if (in_file || (nh == 0 && !strcmp(name, "runc")))
			continue;
		char what[200];
		snprintf(what, sizeof what, "handler %s", name);
		r->compared++;
		add_diff(r, what, "(absent)", "loaded", 0);
	}
	kpath_free(&rt);
	kpath_free(&cri);
	json_object_put(root);
	return 0;
}

int64_t fault_cfg_proc_start_ns(pid_t pid)
{
	if (pid <= 0)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* Field 22 (start time, clock ticks since boot); p is before field 3. */
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	unsigned long long ticks = strtoull(p, NULL, 10);
	long hz = sysconf(_SC_CLK_TCK);
	if (!ticks || hz <= 0)
		return 0;
	struct timespec boot, real;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	int64_t boot_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
	int64_t real_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
	int64_t since_boot = (int64_t)(ticks * (1000000000ull / (unsigned long long)hz));
	return real_ns - boot_ns + since_boot;
}

/* The start time is only known to a clock tick, and the boot clock and
 * the wall clock are read apart: a file written this close to the start
 * counts as older. */
#define START_SLACK_NS (50 * 1000000LL)

int fault_cfg_drift_times(const char *path, pid_t pid, fault_cfg_drift *r, crit_err *e)
{
	if (!r->path[0])
		snprintf(r->path, sizeof r->path, "%s", path);
	struct stat st;
	if (stat(path, &st) < 0)
		return err_set(e, -errno, "stat %s: %s", path, strerror(errno));
	r->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	r->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	r->start_ns = fault_cfg_proc_start_ns(pid);
	r->changed_after_start = r->start_ns > 0 && r->mtime_ns > r->start_ns + START_SLACK_NS;
	return 0;
}

void fault_cfg_drift_verdict(fault_cfg_drift *r)
{
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", r->path[0] ? r->path : "config.toml");
	const char *b = basename(base);
	if (r->n_diffs > 0) {
		r->restart_needed = true;
		if (r->changed_after_start || !r->start_ns)
			snprintf(r->verdict, sizeof r->verdict, "%s changed after the runtime started: restart needed", b);
		else
			snprintf(r->verdict, sizeof r->verdict,
				 "the runtime does not run with %s as on disk, yet the file's mtime is older than the "
				 "runtime (restored from a backup, or the runtime started with another file): "
				 "restart needed", b);
	} else if (r->changed_after_start) {
		r->restart_needed = true;
		snprintf(r->verdict, sizeof r->verdict,
			 "%s changed after the runtime started: restart needed (the %d values critic compares match)",
			 b, r->compared);
	} else {
		r->restart_needed = false;
		snprintf(r->verdict, sizeof r->verdict, "the runtime runs with %s as on disk (%d values compared)", b,
			 r->compared);
	}
}

int fault_cfg_drift_check(const char *path, const char *running_json, pid_t pid, fault_cfg_drift *r,
			  crit_err *e)
{
	snprintf(r->path, sizeof r->path, "%s", path);
	fault_cfg_doc *d = NULL;
	int rc = fault_cfg_load(path, &d, e);
	if (rc < 0)
		return rc;
	rc = fault_cfg_drift_compare(d, running_json, r, e);
	fault_cfg_free(d);
	if (rc < 0)
		return rc;
	if ((rc = fault_cfg_drift_times(path, pid, r, e)) < 0)
		return rc;
	fault_cfg_drift_verdict(r);
	return 0;
}

void fault_cfg_drift_free(fault_cfg_drift *r)
{
	free(r->diffs);
	for (size_t i = 0; i < r->n_file_handlers; i++)
		free(r->file_handlers[i]);
	free(r->file_handlers);
	for (size_t i = 0; i < r->n_run_handlers; i++)
		free(r->run_handlers[i]);
	free(r->run_handlers);
	r->diffs = NULL;
	r->n_diffs = 0;
	r->file_handlers = r->run_handlers = NULL;
	r->n_file_handlers = r->n_run_handlers = 0;
}
