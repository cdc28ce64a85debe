/* scenarios/check: validate a scenario without running it: keys and types against the
 * step table, references to earlier results, durations, regexes, needs, the kubelet section. */
#include "scn.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_DEFS 512

typedef struct def {
	const char *name;
	const scn_kind *kind;   /* NULL for built-ins */
	const char *const *fields;
	bool pending;           /* async, not joined yet */
	scn_pos pos;
} def;

typedef struct chk {
	const scn_file *f;
	const char *file;
	scn_diags *d;
	int errors;
	def defs[MAX_DEFS];
	size_t n_defs;
	const char *names[MAX_DEFS]; /* steps that ran before: their name and as */
	size_t n_names;
	bool proxy;                  /* a proxy start came before */
} chk;

static const char *const run_fields[] = { "id", "scenario", "endpoint", "socket", NULL };

static void err(chk *k, scn_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(chk *k, scn_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	scn_diag_add(k->d, k->file, pos, "%s", msg ? msg : "out of memory");
	free(msg);
	k->errors++;
}

static const char *what(const scn_node *n)
{
	if (!n)
		return "nothing";
	if (n->kind == SCN_MAP)
		return "a map";
	if (n->kind == SCN_SEQ)
		return "a list";
	return scn_node_is_null(n) ? "nothing" : "a single value";
}

static bool has_ref(const scn_node *n)
{
	return n->kind == SCN_SCALAR && strstr(n->str, "${") != NULL;
}

static void join_values(const char *const *v, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (; v && *v && o + 1 < len; v++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", *v);
}

static void check_enum_value(chk *k, const scn_field *f, const scn_node *n)
{
	if (n->kind != SCN_SCALAR) {
		err(k, n->pos, "'%s' must be one value, not %s", f->key, what(n));
		return;
	}
	if (has_ref(n))
		return;
	for (const char *const *v = f->values; *v; v++)
		if (!strcmp(*v, n->str))
			return;
	size_t cnt = 0;
	while (f->values[cnt])
		cnt++;
	const char *hint = scn_suggest(n->str, f->values, cnt);
	char all[512];
	join_values(f->values, all, sizeof all);
	if (hint)
		err(k, n->pos, "'%s' must be one of %s (got '%s'; did you mean '%s'?)", f->key, all, n->str, hint);
	else
		err(k, n->pos, "'%s' must be one of %s (got '%s')", f->key, all, n->str);
}

static bool ident_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void check_map(chk *k, const scn_node *n, const scn_field *fields, const char *what_for);

static void check_value(chk *k, const scn_field *f, const scn_node *n)
{
	switch (f->type) {
	case SCN_T_STR:
	case SCN_T_IDENT:
	case SCN_T_INT:
	case SCN_T_NUM:
	case SCN_T_BOOL:
	case SCN_T_DUR:
	case SCN_T_REGEX:
		if (n->kind != SCN_SCALAR) {
			err(k, n->pos, "'%s' must be %s, not %s", f->key,
			    f->type == SCN_T_STR     ? "a string"
			    : f->type == SCN_T_IDENT ? "a name"
			    : f->type == SCN_T_INT   ? "an integer"
			    : f->type == SCN_T_NUM   ? "a number"
			    : f->type == SCN_T_BOOL  ? "true or false"
			    : f->type == SCN_T_DUR   ? "a duration"
						     : "a regex",
			    what(n));
			return;
		}
		if (has_ref(n) && f->type != SCN_T_IDENT)
			return; /* known when it runs */
		break;
	default:
		break;
	}
	const char *s = n->kind == SCN_SCALAR ? n->str : NULL;
	switch (f->type) {
	case SCN_T_STR:
		if (scn_node_is_null(n) && (f->flags & SCN_F_REQUIRED))
			err(k, n->pos, "'%s' is empty", f->key);
		break;
	case SCN_T_IDENT:
		if (!ident_ok(s))
			err(k, n->pos, "'%s' must be a name of letters, digits and '_' (got '%s')", f->key, s);
		break;
	case SCN_T_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*s || *end || errno || !n->plain)
			err(k, n->pos, "'%s' must be an integer (got '%s')", f->key, s);
		else if ((f->flags & SCN_F_POSITIVE) && v <= 0)
			err(k, n->pos, "'%s' must be at least 1 (got %lld)", f->key, v);
		else if (v < 0)
			err(k, n->pos, "'%s' must not be negative (got %lld)", f->key, v);
		break;
	}
	case SCN_T_NUM: {
		char *end;
		double v = strtod(s, &end);
		if (!*s || *end || !n->plain)
			err(k, n->pos, "'%s' must be a number (got '%s')", f->key, s);
		else if ((f->flags & SCN_F_POSITIVE) && !(v > 0))
			err(k, n->pos, "'%s' must be more than 0 (got %s)", f->key, s);
		break;
	}
	case SCN_T_BOOL:
		if (!n->plain || (strcmp(s, "true") && strcmp(s, "false")))
			err(k, n->pos, "'%s' must be true or false (got '%s')", f->key, s);
		break;
	case SCN_T_DUR: {
		int64_t ms;
		if (scn_parse_duration(s, &ms) < 0)
			err(k, n->pos, "bad duration '%s' for '%s': write e.g. 500ms, 2s, 1m30s", s, f->key);
		else if ((f->flags & SCN_F_POSITIVE) && ms <= 0)
			err(k, n->pos, "'%s' must be longer than 0 (got '%s')", f->key, s);
		break;
	}
	case SCN_T_REGEX: {
		regex_t re;
		char why[256];
		if (scn_regcomp(&re, s, why, sizeof why) < 0)
			err(k, n->pos, "bad regex '%s' for '%s': %s", s, f->key, why);
		else
			regfree(&re);
		break;
	}
	case SCN_T_ENUM:
		check_enum_value(k, f, n);
		break;
	case SCN_T_ENUMS:
		if (n->kind == SCN_SEQ) {
			if (!n->n)
				err(k, n->pos, "'%s' is an empty list", f->key);
			for (size_t i = 0; i < n->n; i++)
				check_enum_value(k, f, n->vals[i]);
		} else {
			check_enum_value(k, f, n);
		}
		break;
	case SCN_T_STRLIST:
		if (n->kind != SCN_SEQ) {
			err(k, n->pos, "'%s' must be a list, not %s", f->key, what(n));
			break;
		}
		for (size_t i = 0; i < n->n; i++)
			if (n->vals[i]->kind != SCN_SCALAR)
				err(k, n->vals[i]->pos, "'%s' is a list of strings, not of %ss", f->key,
				    n->vals[i]->kind == SCN_MAP ? "map" : "list");
		if ((f->flags & SCN_F_REQUIRED) && !n->n)
			err(k, n->pos, "'%s' is an empty list", f->key);
		break;
	case SCN_T_STRMAP:
		if (n->kind != SCN_MAP) {
			if (!scn_node_is_null(n))
				err(k, n->pos, "'%s' must be a map of strings, not %s", f->key, what(n));
			break;
		}
		for (size_t i = 0; i < n->n; i++)
			if (n->vals[i]->kind != SCN_SCALAR)
				err(k, n->vals[i]->pos, "'%s.%s' must be a string, not %s", f->key, n->keys[i]->str,
				    what(n->vals[i]));
		break;
	case SCN_T_MAP:
		check_map(k, n, f->sub, f->key);
		break;
	case SCN_T_STEPS:
		if (n->kind != SCN_SEQ)
			err(k, n->pos, "'%s' must be a list of steps, not %s", f->key, what(n));
		else if (!n->n)
			err(k, n->pos, "'%s' has no steps", f->key);
		break;
	case SCN_T_NEEDS:
		if (n->kind != SCN_SEQ) {
			err(k, n->pos, "'needs' must be a list (root, disruptive, lab, loopfs, {handler: NAME}, {kernel: FEATURE})");
			break;
		}
		for (size_t i = 0; i < n->n; i++) {
			const scn_node *it = n->vals[i];
			if (it->kind == SCN_SCALAR) {
				if (strcmp(it->str, "root") && strcmp(it->str, "disruptive") && strcmp(it->str, "lab") &&
				    strcmp(it->str, "loopfs")) {
					static const char *const words[] = { "root", "disruptive", "lab", "loopfs" };
					const char *hint = scn_suggest(it->str, words, 4);
					if (hint)
						err(k, it->pos, "unknown need '%s' (did you mean '%s'?)", it->str, hint);
					else
						err(k, it->pos,
						    "unknown need '%s' (root, disruptive, lab, loopfs, {handler: NAME}, {kernel: FEATURE})",
						    it->str);
				}
				continue;
			}
			if (it->kind != SCN_MAP || it->n != 1) {
				err(k, it->pos, "a need is a word or a map with one key ({handler: NAME}, {kernel: FEATURE})");
				continue;
			}
			const char *key = it->keys[0]->str;
			const scn_node *v = it->vals[0];
			if (!strcmp(key, "handler")) {
				if (v->kind != SCN_SCALAR || scn_node_is_null(v))
					err(k, v->pos, "handler: give the runtime handler's name");
			} else if (!strcmp(key, "kernel")) {
				scn_field kf = { "kernel", SCN_T_ENUM, 0, scn_kernel_features, NULL, NULL };
				check_enum_value(k, &kf, v);
			} else {
				err(k, it->keys[0]->pos, "unknown need '%s' (root, disruptive, lab, loopfs, {handler: NAME}, {kernel: FEATURE})",
				    key);
			}
		}
		break;
	}
}

/* Where a bracket expression starting at re[i] == '[' ends (the index of
 * its ']'), or strlen(re) when it does not. */
static size_t bracket_end(const char *re, size_t i)
{
	size_t n = strlen(re);
	i++;
	if (i < n && re[i] == '^')
		i++;
	if (i < n && re[i] == ']')
		i++;
	for (; i < n; i++) {
		if (re[i] == ']')
			return i;
		if (re[i] == '[' && i + 1 < n && (re[i + 1] == ':' || re[i + 1] == '.' || re[i + 1] == '=')) {
			char close = re[i + 1];
			const char *end = strchr(re + i + 2, close);
			while (end && end[1] != ']')
				end = strchr(end + 1, close);
			if (!end)
				return n;
			i = (size_t)(end - re) + 1;
		}
	}
	return n;
}

/* An interval "{m}", "{m,}" or "{m,n}" at re[i] == '{': its end (the
 * index after '}') and its largest count; 0 when it is not one. */
static size_t interval_at(const char *re, size_t i, long *max)
{
	size_t j = i + 1;
	long a = -1, b = -1;
	if (!isdigit((unsigned char)re[j]))
		return 0;
	for (a = 0; isdigit((unsigned char)re[j]); j++)
		a = a < 100000 ? a * 10 + (re[j] - '0') : a;
	if (re[j] == ',') {
		j++;
		if (isdigit((unsigned char)re[j]))
			for (b = 0; isdigit((unsigned char)re[j]); j++)
				b = b < 100000 ? b * 10 + (re[j] - '0') : b;
	}
	if (re[j] != '}')
		return 0;
	*max = a > b ? a : b;
	return j + 1;
}

int scn_regcomp(regex_t *rx, const char *re, char *why, size_t len)
{
	size_t n = strlen(re);
	if (n > 1024) {
		snprintf(why, len, "longer than 1024 characters");
		return -EINVAL;
	}
	bool after_rep = false; /* the last thing was a repetition */
	for (size_t i = 0; i < n;) {
		char c = re[i];
		long max = 0;
		size_t end = c == '{' ? interval_at(re, i, &max) : 0;
		if (c == '*' || c == '+' || c == '?' || end) {
			if (after_rep) {
				snprintf(why, len, "two repetitions in a row at character %zu (POSIX leaves that undefined)", i + 1);
				return -EINVAL;
			}
			if (max > 255) {
				snprintf(why, len, "a repetition count over 255 at character %zu", i + 1);
				return -EINVAL;
			}
			after_rep = true;
			i = end ? end : i + 1;
			continue;
		}
		after_rep = false;
		if (c == '\\')
			i += i + 1 < n ? 2 : 1;
		else if (c == '[')
			i = bracket_end(re, i) + 1;
		else
			i++;
	}
	int rc = regcomp(rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, rx, why, len);
		return -EINVAL;
	}
	return 0;
}

static const scn_field *field_of(const scn_field *fields, const char *key)
{
	for (const scn_field *f = fields; f && f->key; f++)
		if (!strcmp(f->key, key))
			return f;
	return NULL;
}

static void unknown_key(chk *k, const scn_node *key, const scn_field *fields)
{
	const char *names[65] = { NULL };
	size_t n = 0;
	for (const scn_field *f = fields; f && f->key && n < 64; f++)
		names[n++] = f->key;
	const char *hint = scn_suggest(key->str, names, n);
	if (hint)
		err(k, key->pos, "unknown key '%s' (did you mean '%s'?)", key->str, hint);
	else if (n) {
		char all[512];
		names[n] = NULL;
		join_values(names, all, sizeof all);
		err(k, key->pos, "unknown key '%s' (known: %s)", key->str, all);
	} else {
		err(k, key->pos, "unknown key '%s' (this takes no keys)", key->str);
	}
}

static void check_map(chk *k, const scn_node *n, const scn_field *fields, const char *what_for)
{
	if (!n || scn_node_is_null(n)) {
		for (const scn_field *f = fields; f && f->key; f++)
			if (f->flags & SCN_F_REQUIRED) {
				err(k, n ? n->pos : (scn_pos){ 1, 1 }, "%s needs '%s'", what_for, f->key);
				break;
			}
		return;
	}
	if (n->kind != SCN_MAP) {
		err(k, n->pos, "%s takes a map of keys, not %s", what_for, what(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const scn_field *f = field_of(fields, n->keys[i]->str);
		if (!f)
			unknown_key(k, n->keys[i], fields);
		else
			check_value(k, f, n->vals[i]);
	}
	for (const scn_field *f = fields; f && f->key; f++)
		if ((f->flags & SCN_F_REQUIRED) && !scn_map_get(n, f->key))
			err(k, n->pos, "%s needs '%s'", what_for, f->key);
}

/* ------------------------------------------------------------ references */

static def *find_def(chk *k, const char *name)
{
	for (size_t i = k->n_defs; i-- > 0;)
		if (!strcmp(k->defs[i].name, name))
			return &k->defs[i];
	return NULL;
}

static void define(chk *k, const char *name, const scn_kind *kind, const char *const *fields, bool pending,
		   scn_pos pos)
{
	if (k->n_defs < MAX_DEFS)
		k->defs[k->n_defs++] = (def){ name, kind, fields, pending, pos };
}

static void check_refs_in(chk *k, const scn_node *n)
{
	if (!n)
		return;
	if (n->kind != SCN_SCALAR) {
		for (size_t i = 0; i < n->n; i++) {
			if (n->keys)
				check_refs_in(k, n->keys[i]);
			check_refs_in(k, n->vals[i]);
		}
		return;
	}
	size_t at = 0;
	char name[64], field[64];
	for (;;) {
		int off = scn_refs_next(n->str, &at, name, sizeof name, field, sizeof field);
		if (off == -1)
			break;
		scn_pos pos = n->pos;
		size_t col = off >= 0 ? (size_t)off : at;
		/* point at the reference itself when the scalar stands as it is
		 * on one line (columns count characters, offsets bytes) */
		if (n->verbatim) {
			int chars = 0;
			for (size_t i = 0; i < col && n->str[i]; i++)
				chars += (n->str[i] & 0xc0) != 0x80;
			pos.col += chars + (n->plain ? 0 : 1);
		}
		if (off == -2) {
			err(k, pos, "malformed reference in '%s': write ${name.field}", n->str);
			break;
		}
		def *d = find_def(k, name);
		if (!d) {
			err(k, pos, "undefined reference ${%s.%s}: no step before this one has `as: %s`", name, field, name);
			continue;
		}
		if (d->pending) {
			err(k, pos, "${%s.%s}: step '%s' runs async: `join: %s` before using its results", name, field,
			    name, name);
			continue;
		}
		bool known = false;
		for (const char *const *f = d->fields; f && *f; f++)
			known = known || !strcmp(*f, field);
		if (!known) {
			char all[256];
			join_values(d->fields, all, sizeof all);
			if (d->kind)
				err(k, pos, "${%s.%s}: a %s step has no result '%s' (it has: %s)", name, field, d->kind->name,
				    field, all[0] ? all : "none");
			else
				err(k, pos, "${%s.%s}: '%s' has no field '%s' (it has: %s)", name, field, name, field, all);
		}
	}
}

/* ------------------------------------------------------------ steps */

static bool uses_kubelet(const scn_step *s)
{
	if (!s->kind)
		return false;
	if (s->kind->flags & SCN_K_KUBELET)
		return true;
	if (!strcmp(s->kind->name, "expect"))
		return scn_map_get(s->args, "kubelet") != NULL;
	if (!strcmp(s->kind->name, "wait"))
		return scn_map_get(scn_map_get(s->args, "until"), "kubelet") != NULL;
	return false;
}

static scn_pos common_pos(const scn_step *s, const char *key)
{
	for (size_t i = 0; s->node && s->node->kind == SCN_MAP && i < s->node->n; i++)
		if (!strcmp(s->node->keys[i]->str, key))
			return s->node->keys[i]->pos;
	return s->pos;
}

static void check_steps(chk *k, const scn_step *v, size_t n);

static void check_step(chk *k, const scn_step *s)
{
	const scn_kind *kind = s->kind;
	if (!kind)
		return; /* reported while building */
	const scn_node *node = s->node;
	bool cri = kind->flags & SCN_K_CRI;
	bool join = !strcmp(kind->name, "join");
	/* common keys: types, and where they may go */
	for (size_t i = 0; i < node->n; i++) {
		const char *key = node->keys[i]->str;
		const scn_field *f = field_of(scn_common_fields, key);
		if (!f || node->vals[i] == s->args)
			continue; /* not common, or the expect kind's own map */
		if (!cri && (!strcmp(key, "via") || !strcmp(key, "timeout") || !strcmp(key, "async") ||
			     (!strcmp(key, "expect") && !join)))
			err(k, node->keys[i]->pos, "'%s' goes only on CRI steps (run_pod, version, …)%s", key,
			    !strcmp(key, "expect") ? " and join; to check a condition use an expect step" : "");
		else
			check_value(k, f, node->vals[i]);
	}
	if (s->known_issue && strcmp(kind->name, "expect") != 0)
		err(k, common_pos(s, "known_issue"), "'known_issue' goes only on expect steps");
	if (s->expect && s->expect->kind == SCN_MAP && strcmp(kind->name, "exec") != 0 && !join) {
		static const char *const exec_only[] = { "exit", "stdout", "stderr" };
		for (size_t i = 0; i < s->expect->n; i++)
			for (size_t j = 0; j < ARRAY_SIZE(exec_only); j++)
				if (!strcmp(s->expect->keys[i]->str, exec_only[j]))
					err(k, s->expect->keys[i]->pos, "expect '%s' goes only on exec steps", exec_only[j]);
	}
	if (s->as && !strcmp(s->as, "run"))
		err(k, common_pos(s, "as"), "'run' is a reserved name (${run.id}, ${run.endpoint}, …)");
	if (s->async && !s->as)
		err(k, common_pos(s, "async"), "an async step needs `as:` so that `join:` can name it");
	if (s->via && s->via->kind == SCN_SCALAR && !strcmp(s->via->str, "proxy") && !k->proxy)
		err(k, s->via->pos, "via: proxy, but no `proxy: start` comes before this step");
	if ((kind->flags & SCN_K_DISRUPTIVE) && !k->f->needs.disruptive)
		err(k, s->pos, "step kind %s is disruptive: add `disruptive` to needs", kind->name);
	if ((kind->flags & SCN_K_LOOPFS) && !k->f->needs.loopfs)
		err(k, s->pos, "step kind %s acts on the lab's loop fs: add `loopfs` to needs", kind->name);
	if (uses_kubelet(s) && !k->f->kubelet)
		err(k, s->pos, "the kubelet model is off: add a `kubelet:` section (e.g. kubelet: {scale: 0.1})");

	/* the kind's own keys */
	if (s->args && s->args->kind == SCN_SCALAR && !scn_node_is_null(s->args) && kind->shorthand) {
		const scn_field *f = field_of(kind->args, kind->shorthand);
		if (f)
			check_value(k, f, s->args);
	} else if (s->args && s->args->kind == SCN_SCALAR && !scn_node_is_null(s->args)) {
		err(k, s->args->pos, "%s takes a map of keys, not a single value", kind->name);
	} else {
		char what_for[64];
		snprintf(what_for, sizeof what_for, "%s", kind->name);
		check_map(k, s->args, kind->args, what_for);
	}
	if (kind->check)
		kind->check(s, k->file, k->d);

	/* references, and the names this step refers to */
	for (size_t i = 0; i < node->n; i++) {
		if (node->vals[i] == s->args && !strcmp(kind->name, "repeat")) {
			const scn_node *a = s->args;
			for (size_t j = 0; a->kind == SCN_MAP && j < a->n; j++)
				if (strcmp(a->keys[j]->str, "steps") != 0)
					check_refs_in(k, a->vals[j]);
			continue;
		}
		check_refs_in(k, node->vals[i]);
	}
	const scn_node *took = !strcmp(kind->name, "expect") ? scn_map_get(s->args, "took") : NULL;
	const scn_node *tstep = scn_map_get(took, "step");
	if (tstep && tstep->kind == SCN_SCALAR && !has_ref(tstep)) {
		bool seen = false;
		for (size_t i = 0; i < k->n_names && !seen; i++)
			seen = !strcmp(k->names[i], tstep->str);
		if (!seen)
			err(k, tstep->pos, "took: no step named '%s' before this one (give a step `name:` or `as:`)",
			    tstep->str);
	}
	if (join) {
		const scn_node *t = s->args && s->args->kind == SCN_SCALAR ? s->args : scn_map_get(s->args, "step");
		if (t && t->kind == SCN_SCALAR && !scn_node_is_null(t)) {
			def *d = find_def(k, t->str);
			if (!d || !d->pending)
				err(k, t->pos, "join: no async step '%s' waits to be joined before this one", t->str);
			else
				d->pending = false;
		}
	}
	if (!strcmp(kind->name, "proxy")) {
		const scn_node *a = s->args && s->args->kind == SCN_SCALAR ? s->args : scn_map_get(s->args, "action");
		if (a && a->kind == SCN_SCALAR && !strcmp(a->str, "start"))
			k->proxy = true;
	}
	/* repeat: its own name is defined for the inner steps */
	if (!strcmp(kind->name, "repeat")) {
		if (s->as && strcmp(s->as, "run") != 0)
			define(k, s->as, kind, kind->results, false, s->pos);
		check_steps(k, s->sub, s->n_sub);
	}
	if (s->as && strcmp(kind->name, "repeat") != 0 && strcmp(s->as, "run") != 0)
		define(k, s->as, kind, kind->results, s->async, s->pos);
	if (k->n_names + 2 <= MAX_DEFS) {
		if (s->name)
			k->names[k->n_names++] = s->name;
		if (s->as)
			k->names[k->n_names++] = s->as;
	}
}

static void check_steps(chk *k, const scn_step *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_step(k, &v[i]);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 54 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return false;
	return true;
}

int scn_check(const scn_file *f, scn_diags *d)
{
	chk *k = calloc(1, sizeof *k);
	if (!k)
		return 1;
	k->f = f;
	k->file = f->path;
	k->d = d;
	size_t before = d->n;
	const scn_node *root = f->root;
	if (!root || root->kind != SCN_MAP) {
		free(k);
		return 0; /* reported while parsing */
	}
	check_map(k, root, scn_file_fields, "a scenario");
	const scn_node *name = scn_map_get(root, "name");
	if (name && name->kind == SCN_SCALAR && !name_ok(name->str))
		err(k, name->pos,
		    "name '%s': use lower-case letters, digits and '-', at most 54 (it goes into the label critic.io/test=scenario.NAME)",
		    name->str);
	const scn_node *desc = scn_map_get(root, "description");
	if (desc && scn_node_is_null(desc))
		err(k, desc->pos, "the description is empty: say what a kubelet operator learns");
	const scn_node *scale = scn_map_get(f->kubelet, "scale");
	if (scale && scale->kind == SCN_SCALAR && strtod(scale->str, NULL) > 10)
		err(k, scale->pos, "scale %s: at most 10 (the periods are multiplied by it)", scale->str);

	define(k, "run", NULL, run_fields, false, (scn_pos){ 0, 0 });
	check_steps(k, f->setup, f->n_setup);
	check_steps(k, f->steps, f->n_steps);
	check_steps(k, f->finally, f->n_finally);
	for (size_t i = 0; i < k->n_defs; i++)
		if (k->defs[i].pending)
			err(k, k->defs[i].pos, "async step '%s' is never joined (add `- join: %s`)", k->defs[i].name,
			    k->defs[i].name);
	/* the kinds' own checks add theirs directly: count what was added */
	int n = (int)(d->n - before);
	free(k);
	return n;
}
