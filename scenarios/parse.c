/* scenarios/parse: read a scenario file with libyaml into a tree that keeps every
 * node's position, build the step lists from it, and parse durations and ${refs}. */
#include "scn.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

/* ------------------------------------------------------------ diagnostics */

void scn_diag_add(scn_diags *d, const char *file, scn_pos pos, const char *fmt, ...)
{
	if (!d)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		scn_diag *g = realloc(d->v, cap * sizeof *g);
		if (!g)
			return;
		d->v = g;
		d->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	char *f = strdup(file ? file : "-");
	if (!msg || !f) {
		free(msg);
		free(f);
		return;
	}
	d->v[d->n++] = (scn_diag){ .file = f, .pos = pos, .msg = msg };
}

void scn_diags_print(const scn_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s:%d:%d: %s\n", d->v[i].file, d->v[i].pos.line, d->v[i].pos.col, d->v[i].msg);
}

void scn_diags_free(scn_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------ tree */

scn_node *scn_map_get(const scn_node *m, const char *key)
{
	if (!m || m->kind != SCN_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i]->str, key))
			return m->vals[i];
	return NULL;
}

bool scn_node_is_null(const scn_node *n)
{
	return n && n->kind == SCN_SCALAR && n->plain &&
	       (!n->str[0] || !strcmp(n->str, "~") || !strcmp(n->str, "null") || !strcmp(n->str, "Null") ||
		!strcmp(n->str, "NULL"));
}

static void node_free(scn_node *n)
{
	if (!n)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			node_free(n->keys[i]);
		node_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	free(n);
}

static scn_node *node_new(scn_node_kind k, const yaml_mark_t *m)
{
	scn_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->kind = k;
	n->pos.line = (int)m->line + 1;
	n->pos.col = (int)m->column + 1;
	return n;
}

static int node_push(scn_node *n, scn_node *key, scn_node *val)
{
	scn_node **v = realloc(n->vals, (n->n + 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	n->vals = v;
	if (n->kind == SCN_MAP) {
		scn_node **k = realloc(n->keys, (n->n + 1) * sizeof *k);
		if (!k)
			return -ENOMEM;
		n->keys = k;
		n->keys[n->n] = key;
	}
	n->vals[n->n++] = val;
	return 0;
}

typedef struct yp {
	yaml_parser_t p;
	const char *file;
	scn_diags *d;
	bool failed;  /* a syntax error: the tree is incomplete */
} yp;

static scn_pos mark_pos(const yaml_mark_t *m)
{
	return (scn_pos){ (int)m->line + 1, (int)m->column + 1 };
}

static bool next_event(yp *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->p, ev))
		return true;
	if (!y->failed) {
		y->failed = true;
		if (y->p.context)
			scn_diag_add(y->d, y->file, mark_pos(&y->p.problem_mark), "YAML syntax: %s %s (at %d:%d)",
				     y->p.problem ? y->p.problem : "error", y->p.context,
				     (int)y->p.context_mark.line + 1, (int)y->p.context_mark.column + 1);
		else
			scn_diag_add(y->d, y->file, mark_pos(&y->p.problem_mark), "YAML syntax: %s",
				     y->p.problem ? y->p.problem : "error");
	}
	return false;
}

#define MAX_DEPTH 64

/* Build the node that starts with ev (which it takes over). */
static scn_node *build_node(yp *y, yaml_event_t *ev, int depth)
{
	scn_node *n = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = node_new(SCN_SCALAR, &ev->start_mark);
		if (n) {
			n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
			n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			yaml_scalar_style_t st = ev->data.scalar.style;
			size_t chars = 0; /* libyaml's marks count characters */
			for (size_t i = 0; i < ev->data.scalar.length; i++)
				chars += (ev->data.scalar.value[i] & 0xc0) != 0x80;
			n->verbatim = ev->start_mark.line == ev->end_mark.line &&
				      (st == YAML_PLAIN_SCALAR_STYLE || st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
				       st == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
				      ev->end_mark.index - ev->start_mark.index == chars + (n->plain ? 0 : 2) &&
				      strlen(n->str ? n->str : "") == ev->data.scalar.length;
			if (!n->str) {
				free(n);
				n = NULL;
			}
		}
		yaml_event_delete(ev);
		return n;
	case YAML_ALIAS_EVENT:
		scn_diag_add(y->d, y->file, mark_pos(&ev->start_mark),
			     "YAML aliases (*%s) are not supported: write the value out", ev->data.alias.anchor);
		n = node_new(SCN_SCALAR, &ev->start_mark);
		if (n && !(n->str = strdup(""))) {
			free(n);
			n = NULL;
		}
		yaml_event_delete(ev);
		return n;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		break;
	default:
		yaml_event_delete(ev);
		return NULL;
	}
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	n = node_new(map ? SCN_MAP : SCN_SEQ, &ev->start_mark);
	yaml_event_delete(ev);
	if (!n)
		return NULL;
	if (depth >= MAX_DEPTH) {
		scn_diag_add(y->d, y->file, n->pos, "nested more than %d levels deep", MAX_DEPTH);
		y->failed = true;
		node_free(n);
		return NULL;
	}
	for (;;) {
		yaml_event_t e;
		if (!next_event(y, &e))
			break;
		if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&e);
			return n;
		}
		scn_node *key = NULL;
		if (map) {
			key = build_node(y, &e, depth + 1);
			if (!key)
				break;
			if (key->kind != SCN_SCALAR) {
				scn_diag_add(y->d, y->file, key->pos, "a key must be a plain word, not a %s",
					     key->kind == SCN_MAP ? "map" : "list");
				free(key->str);
				key->str = strdup("?");
				if (!key->str)
					break;
			}
			for (size_t i = 0; i < n->n; i++)
				if (!strcmp(n->keys[i]->str, key->str)) {
					scn_diag_add(y->d, y->file, key->pos, "duplicate key '%s' (first at %d:%d)",
						     key->str, n->keys[i]->pos.line, n->keys[i]->pos.col);
					break;
				}
			if (!next_event(y, &e)) {
				node_free(key);
				break;
			}
		}
		scn_node *val = build_node(y, &e, depth + 1);
		if (!val || node_push(n, key, val) < 0) {
			node_free(key);
			node_free(val);
			break;
		}
	}
	y->failed = true;
	node_free(n);
	return NULL;
}

/* The single document's root node, or NULL (diagnostics added). */
static scn_node *parse_yaml(const char *file, const char *text, size_t len, scn_diags *d)
{
	yp y = { .file = file, .d = d };
	if (!yaml_parser_initialize(&y.p)) {
		scn_diag_add(d, file, (scn_pos){ 0, 0 }, "YAML parser: out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
	scn_node *root = NULL;
	int docs = 0;
	yaml_event_t ev;
	while (next_event(&y, &ev)) {
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			if (++docs == 2)
				scn_diag_add(d, file, mark_pos(&ev.start_mark),
					     "one scenario per file: a second YAML document starts here");
			yaml_event_delete(&ev);
			continue;
		}
		if (t == YAML_SCALAR_EVENT || t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT ||
		    t == YAML_ALIAS_EVENT) {
			scn_node *n = build_node(&y, &ev, 0);
			if (docs <= 1 && !root)
				root = n;
			else
				node_free(n);
			if (y.failed)
				break;
			continue;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.p);
	if (y.failed) {
		node_free(root);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------ building a file */

static const char *scalar(const scn_node *n)
{
	return n && n->kind == SCN_SCALAR ? n->str : NULL;
}

static bool common_key(const char *k)
{
	for (const scn_field *f = scn_common_fields; f->key; f++)
		if (!strcmp(f->key, k))
			return true;
	return false;
}

/* Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t row[41];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *scn_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(word, cands[i]);
		if (dist < bd && dist < strlen(cands[i])) {
			bd = dist;
			best = cands[i];
		}
	}
	return best;
}

static const char *suggest_kind(const char *word)
{
	size_t n;
	const scn_kind *k = scn_kinds(&n);
	const char *names[64];
	size_t m = 0;
	for (size_t i = 0; i < n && m < ARRAY_SIZE(names); i++)
		names[m++] = k[i].name;
	return scn_suggest(word, names, m);
}

static int build_steps(const char *file, scn_node *seq, scn_step **out, size_t *n, scn_diags *d);

static void build_step(const char *file, scn_node *node, scn_step *s, scn_diags *d)
{
	memset(s, 0, sizeof *s);
	s->node = node;
	s->pos = node->pos;
	if (node->kind != SCN_MAP) {
		scn_diag_add(d, file, node->pos, "a step is a map naming one step kind, e.g. `- version: {}`");
		return;
	}
	scn_node *kind_key = NULL;
	bool unknown = false;
	for (size_t i = 0; i < node->n; i++) {
		scn_node *k = node->keys[i], *v = node->vals[i];
		if (common_key(k->str)) {
			if (!strcmp(k->str, "name"))
				s->name = scalar(v);
			else if (!strcmp(k->str, "as"))
				s->as = scalar(v);
			else if (!strcmp(k->str, "async"))
				s->async = scalar(v) && !strcmp(v->str, "true");
			else if (!strcmp(k->str, "via"))
				s->via = v;
			else if (!strcmp(k->str, "timeout"))
				s->timeout = v;
			else if (!strcmp(k->str, "expect"))
				s->expect = v;
			else if (!strcmp(k->str, "known_issue"))
				s->known_issue = scalar(v);
			continue;
		}
		const scn_kind *kind = scn_kind_find(k->str);
		if (!kind) {
			unknown = true;
			continue;
		}
		if (kind_key) {
			scn_diag_add(d, file, k->pos, "a step names one step kind: '%s' and '%s' are both kinds",
				     kind_key->str, k->str);
			continue;
		}
		kind_key = k;
		s->kind = kind;
		s->args = v;
	}
	/* A step made only of `expect:` is the expect kind itself. */
	if (!s->kind && s->expect && !unknown) {
		s->kind = scn_kind_find("expect");
		s->args = s->expect;
		s->expect = NULL;
	}
	for (size_t i = 0; i < node->n; i++) {
		scn_node *k = node->keys[i];
		if (common_key(k->str) || scn_kind_find(k->str))
			continue;
		if (s->kind) {
			/* the kind is clear: the other key is a typo of a common key */
			const char *names[16];
			size_t m = 0;
			for (const scn_field *f = scn_common_fields; f->key && m < ARRAY_SIZE(names); f++)
				names[m++] = f->key;
			const char *hint = scn_suggest(k->str, names, m);
			if (hint)
				scn_diag_add(d, file, k->pos, "unknown key '%s' (did you mean '%s'?)", k->str, hint);
			else
				scn_diag_add(d, file, k->pos, "unknown key '%s' in a %s step", k->str, s->kind->name);
		} else {
			const char *hint = suggest_kind(k->str);
			if (hint)
				scn_diag_add(d, file, k->pos, "unknown step kind '%s' (did you mean '%s'?)", k->str, hint);
			else
				scn_diag_add(d, file, k->pos, "unknown step kind '%s' (`critic scenario kinds` lists them)",
					     k->str);
		}
	}
	if (!s->kind && !unknown)
		scn_diag_add(d, file, node->pos, "the step names no step kind (`critic scenario kinds` lists them)");
	if (s->kind && !strcmp(s->kind->name, "repeat")) {
		scn_node *inner = scn_map_get(s->args, "steps");
		if (inner && inner->kind == SCN_SEQ)
			build_steps(file, inner, &s->sub, &s->n_sub, d);
	}
}

static void steps_free(scn_step *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		steps_free(v[i].sub, v[i].n_sub);
	free(v);
}

static int build_steps(const char *file, scn_node *seq, scn_step **out, size_t *n, scn_diags *d)
{
	*out = NULL;
	*n = 0;
	if (!seq || seq->kind != SCN_SEQ || !seq->n)
		return 0; /* the checker reports the type */
	scn_step *v = calloc(seq->n, sizeof *v);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++)
		build_step(file, seq->vals[i], &v[i], d);
	*out = v;
	*n = seq->n;
	return 0;
}

static void build_needs(const scn_node *list, scn_needs *nd)
{
	if (!list || list->kind != SCN_SEQ)
		return;
	for (size_t i = 0; i < list->n; i++) {
		const scn_node *it = list->vals[i];
		const char *w = scalar(it);
		if (w) {
			if (!strcmp(w, "root"))
				nd->root = true;
			else if (!strcmp(w, "disruptive"))
				nd->disruptive = true;
			else if (!strcmp(w, "lab"))
				nd->lab = true;
			else if (!strcmp(w, "loopfs"))
				nd->lab = nd->loopfs = true;
			continue;
		}
		const char *h = scalar(scn_map_get(it, "handler"));
		if (h)
			snprintf(nd->handler, sizeof nd->handler, "%s", h);
		const char *k = scalar(scn_map_get(it, "kernel"));
		if (k && nd->n_kernel < (int)ARRAY_SIZE(nd->kernel))
			snprintf(nd->kernel[nd->n_kernel++], sizeof nd->kernel[0], "%s", k);
	}
}

int scn_parse_string(const char *name, const char *text, size_t len, scn_file **out, scn_diags *d)
{
	*out = NULL;
	scn_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(name))) {
		free(f);
		return -ENOMEM;
	}
	f->root = parse_yaml(name, text, len, d);
	*out = f;
	if (!f->root) {
		/* an empty file parses to nothing; a syntax error was reported */
		bool blank = true;
		for (size_t i = 0; i < len && blank; i++) {
			if (text[i] == '#')
				while (i < len && text[i] != '\n')
					i++;
			else if (!isspace((unsigned char)text[i]))
				blank = false;
		}
		if (blank)
			scn_diag_add(d, name, (scn_pos){ 1, 1 }, "empty file: a scenario has name, description and steps");
		return 0;
	}
	if (f->root->kind != SCN_MAP) {
		scn_diag_add(d, name, f->root->pos, "a scenario file is a map (name, description, steps, …), not a %s",
			     f->root->kind == SCN_SEQ ? "list" : "single value");
		return 0;
	}
	f->name = scalar(scn_map_get(f->root, "name"));
	f->description = scalar(scn_map_get(f->root, "description"));
	f->kubelet = scn_map_get(f->root, "kubelet");
	build_needs(scn_map_get(f->root, "needs"), &f->needs);
	const char *t = scalar(scn_map_get(f->root, "timeout"));
	int64_t ms;
	if (t && scn_parse_duration(t, &ms) == 0)
		f->timeout_ms = ms;
	if (build_steps(name, scn_map_get(f->root, "setup"), &f->setup, &f->n_setup, d) < 0 ||
	    build_steps(name, scn_map_get(f->root, "steps"), &f->steps, &f->n_steps, d) < 0 ||
	    build_steps(name, scn_map_get(f->root, "finally"), &f->finally, &f->n_finally, d) < 0)
		return -ENOMEM;
	return 0;
}

int scn_parse_file(const char *path, scn_file **out, scn_diags *d)
{
	*out = NULL;
	char *text = NULL;
	size_t len = 0;
	crit_err e;
	int rc = util_read_file(path, &text, &len, &e);
	if (rc < 0) {
		scn_diag_add(d, path, (scn_pos){ 0, 0 }, "cannot read: %s", strerror(-rc));
		return rc;
	}
	rc = scn_parse_string(path, text, len, out, d);
	free(text);
	return rc;
}

void scn_file_free(scn_file *f)
{
	if (!f)
		return;
	steps_free(f->setup, f->n_setup);
	steps_free(f->steps, f->n_steps);
	steps_free(f->finally, f->n_finally);
	node_free(f->root);
	free(f->path);
	free(f);
}

static int diag_cmp(const void *a, const void *b)
{
	const scn_diag *x = a, *y = b;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return 0;
}

/* Stable: equal positions keep the order they were found in. */
static void sort_diags(scn_diag *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		scn_diag t = v[i];
		size_t j = i;
		while (j > 0 && diag_cmp(&v[j - 1], &t) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
}

int scn_load(const char *path, scn_file **out, scn_diags *d)
{
	size_t first = d->n;
	scn_file *f = NULL;
	int rc = scn_parse_file(path, &f, d);
	if (rc == 0 && f->root)
		scn_check(f, d);
	if (d->n > first) /* d->v may still be NULL when nothing was reported */
		sort_diags(d->v + first, d->n - first);
	if (rc < 0 || d->n > first) {
		scn_file_free(f);
		*out = NULL;
		return rc < 0 ? rc : -EINVAL;
	}
	*out = f;
	return 0;
}

/* ------------------------------------------------------------ durations */

int scn_parse_duration(const char *s, int64_t *ms)
{
	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	double total = 0;
	const char *p = s;
	while (*p) {
		if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
			return -EINVAL;
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p)
			return -EINVAL;
		/* strtod takes exponents and hex; a duration has neither */
		for (const char *q = p; q < end; q++)
			if (!isdigit((unsigned char)*q) && *q != '.')
				return -EINVAL;
		p = end;
		double mult;
		if (!strncmp(p, "ms", 2)) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60000;
			p++;
		} else if (*p == 'h') {
			mult = 3600000;
			p++;
		} else {
			return -EINVAL;
		}
		total += v * mult;
	}
	if (!(total <= 30.0 * 86400000))
		return -EINVAL;
	*ms = (int64_t)(total + 0.5);
	return 0;
}

const char *scn_fmt_ms(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%lld ms", (long long)ms);
	else if (ms < 120000)
		snprintf(buf, len, "%.2f s", (double)ms / 1000);
	else
		snprintf(buf, len, "%lld min %.1f s", (long long)(ms / 60000), (double)(ms % 60000) / 1000);
	return buf;
}

/* ------------------------------------------------------------ references */

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

int scn_refs_next(const char *s, size_t *at, char *name, size_t nlen, char *field, size_t flen)
{
	for (size_t i = *at; s[i]; i++) {
		if (s[i] != '$')
			continue;
		if (s[i + 1] == '$') {
			i++;
			continue;
		}
		if (s[i + 1] != '{')
			continue;
		size_t p = i + 2, n0 = p;
		if (!ident_start(s[p])) {
			*at = i;
			return -2;
		}
		while (ident_char(s[p]))
			p++;
		size_t n1 = p;
		if (s[p] != '.' || !ident_start(s[p + 1])) {
			*at = i;
			return -2;
		}
		size_t f0 = ++p;
		while (ident_char(s[p]))
			p++;
		size_t f1 = p;
		if (s[p] != '}' || n1 - n0 >= nlen || f1 - f0 >= flen) {
			*at = i;
			return -2;
		}
		memcpy(name, s + n0, n1 - n0);
		name[n1 - n0] = '\0';
		memcpy(field, s + f0, f1 - f0);
		field[f1 - f0] = '\0';
		*at = p + 1;
		return (int)i;
	}
	return -1;
}

char *scn_interp(const char *s, scn_lookup_fn lookup, void *arg, crit_err *e)
{
	strbuf sb = { 0 };
	size_t i = 0;
	while (s[i]) {
		if (s[i] == '$' && s[i + 1] == '$') {
			sb_append(&sb, "$", 1);
			i += 2;
			continue;
		}
		if (s[i] == '$' && s[i + 1] == '{') {
			char name[64], field[64];
			size_t at = i;
			int off = scn_refs_next(s, &at, name, sizeof name, field, sizeof field);
			if (off != (int)i) {
				sb_free(&sb);
				err_set(e, -EINVAL, "malformed reference in '%s': write ${name.field}", s);
				return NULL;
			}
			const char *v = lookup(arg, name, field, e);
			if (!v) {
				sb_free(&sb);
				return NULL;
			}
			sb_append(&sb, v, strlen(v));
			i = at;
			continue;
		}
		sb_append(&sb, s + i, 1);
		i++;
	}
	if (!sb.buf) {
		char *empty = strdup("");
		if (!empty)
			err_set(e, -ENOMEM, "out of memory");
		return empty;
	}
	return sb.buf;
}
