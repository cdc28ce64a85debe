/* scenarios/exec: run a checked scenario: setup, steps, finally; the kubelet model ticking
 * on its own thread; async steps; a verdict per step; recovery and a label sweep at the end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "scn.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "endpoint.h"
#include "fault/fiu.h"
#include "fault/fs.h"
#include "fault/process.h"
#include "fault/proxy.h"
#include "fault/sockfile.h"
#include "rtctl.h"
#include "tst.h"
#include "util.h"

#define GRPC_NOT_FOUND 5
#define DEFAULT_SCENARIO_TIMEOUT_MS (10 * 60 * 1000)

static volatile sig_atomic_t g_interrupt;

void scn_interrupt(void) { g_interrupt = 1; }
void scn_interrupt_reset(void) { g_interrupt = 0; }
bool scn_interrupted(void) { return g_interrupt != 0; }

const char *scn_verdict_name(scn_verdict v)
{
	return v == SCN_PASS ? "PASS" : v == SCN_FAIL ? "FAIL" : "SKIP";
}

bool scn_nap(scn_exec *x, int64_t ms)
{
	int64_t end = util_now_ms() + ms;
	for (;;) {
		if (g_interrupt && !x->in_finally)
			return false;
		int64_t left = end - util_now_ms();
		if (left <= 0)
			return true;
		util_sleep_ms(left < 20 ? left : 20);
	}
}

unsigned long long scn_proc_start(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	cleanup_free char *text = NULL;
	if (util_read_file(path, &text, NULL, NULL) < 0)
		return 0;
	const char *p = strrchr(text, ')');
	unsigned long long start = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return start;
}

/* ------------------------------------------------------------ output */

static const char *col(scn_exec *x, const char *code)
{
	return x->o->color ? code : "";
}

static void out(scn_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(scn_exec *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(x->out, fmt, ap);
	va_end(ap);
	fflush(x->out);
}

/* Indented detail lines (one per '\n'-separated line of text). */
static void out_lines(scn_exec *x, int depth, const char *prefix, const char *text)
{
	if (!text || !*text)
		return;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		out(x, "%*s        %s%.*s\n", depth * 2, "", prefix, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* ------------------------------------------------------------ results and references */

static scn_var *var_find(scn_exec *x, const char *name)
{
	for (size_t i = x->n_vars; i-- > 0;)
		if (!strcmp(x->vars[i].name, name))
			return &x->vars[i];
	return NULL;
}

static void kv_free(struct scn_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

/* Give name the results of a step (copied). Call with x->mu held. */
static void var_set(scn_exec *x, const char *name, const scn_kind *kind, const struct scn_kv *res, size_t n)
{
	scn_var *v = var_find(x, name);
	if (!v) {
		scn_var *g = realloc(x->vars, (x->n_vars + 1) * sizeof *g);
		if (!g)
			return;
		x->vars = g;
		v = &x->vars[x->n_vars++];
		memset(v, 0, sizeof *v);
		v->name = strdup(name);
	}
	kv_free(v->f, v->n);
	v->f = NULL;
	v->n = 0;
	v->kind = kind;
	if (!n)
		return;
	v->f = calloc(n, sizeof *v->f);
	if (!v->f)
		return;
	for (size_t i = 0; i < n; i++) {
		v->f[i].key = strdup(res[i].key);
		v->f[i].val = strdup(res[i].val);
	}
	v->n = n;
}

static const char *lookup(void *arg, const char *name, const char *field, crit_err *e)
{
	scn_call *c = arg;
	scn_exec *x = c->x;
	if (!strcmp(name, "run")) {
		const char *v = !strcmp(field, "id")		? x->run_id
				: !strcmp(field, "scenario") ? x->file->name
				: !strcmp(field, "endpoint") ? x->endpoint
				: !strcmp(field, "socket")   ? x->socket
							     : NULL;
		if (!v)
			err_set(e, -EINVAL, "${run.%s}: run has id, scenario, endpoint and socket", field);
		return v;
	}
	pthread_mutex_lock(&x->mu);
	scn_var *v = var_find(x, name);
	char *val = NULL;
	bool found = false;
	for (size_t i = 0; v && i < v->n && !found; i++)
		if (!strcmp(v->f[i].key, field)) {
			found = true;
			val = strdup(v->f[i].val);
		}
	pthread_mutex_unlock(&x->mu);
	if (!v)
		err_set(e, -ENOENT, "${%s.%s}: no step named '%s' has run", name, field, name);
	else if (!found)
		err_set(e, -ENOENT, "${%s.%s}: step '%s' has no value for '%s' (its call failed?)", name, field, name,
			field);
	else if (!val)
		err_set(e, -ENOMEM, "out of memory");
	return val ? scn_keep(c, val) : NULL;
}

char *scn_keep(scn_call *c, char *s)
{
	if (!s)
		return NULL;
	char **g = realloc(c->tmp, (c->n_tmp + 1) * sizeof *g);
	if (!g) {
		free(s);
		return NULL;
	}
	c->tmp = g;
	g[c->n_tmp++] = s;
	return s;
}

scn_node *scn_arg_node(scn_call *c, const char *key)
{
	const scn_step *s = c->step;
	if (!s->args)
		return NULL;
	if (s->args->kind == SCN_MAP)
		return scn_map_get(s->args, key);
	if (s->args->kind == SCN_SCALAR && !scn_node_is_null(s->args) && s->kind->shorthand &&
	    !strcmp(key, s->kind->shorthand))
		return s->args;
	return NULL;
}

int scn_node_str(scn_call *c, const scn_node *n, const char **out, crit_err *e)
{
	*out = NULL;
	if (!n || scn_node_is_null(n))
		return 0;
	if (n->kind != SCN_SCALAR)
		return err_set(e, -EINVAL, "%d:%d: expected a single value", n->pos.line, n->pos.col);
	char *s = scn_interp(n->str, lookup, c, e);
	if (!s)
		return e->code ? e->code : -EINVAL;
	*out = scn_keep(c, s);
	return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

int scn_arg(scn_call *c, const char *key, const char **out, crit_err *e)
{
	return scn_node_str(c, scn_arg_node(c, key), out, e);
}

int scn_arg_int(scn_call *c, const char *key, long long def, long long *out, crit_err *e)
{
	const char *s;
	int rc = scn_arg(c, key, &s, e);
	if (rc < 0)
		return rc;
	*out = def;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return err_set(e, -EINVAL, "'%s': '%s' is not an integer", key, s);
	*out = v;
	return 0;
}

int scn_arg_dur(scn_call *c, const char *key, int64_t def, int64_t *out, crit_err *e)
{
	const char *s;
	int rc = scn_arg(c, key, &s, e);
	if (rc < 0)
		return rc;
	*out = def;
	if (s && scn_parse_duration(s, out) < 0)
		return err_set(e, -EINVAL, "'%s': '%s' is not a duration (500ms, 2s, 1m30s)", key, s);
	return 0;
}

int scn_arg_bool(scn_call *c, const char *key, bool def, bool *out, crit_err *e)
{
	const char *s;
	int rc = scn_arg(c, key, &s, e);
	if (rc < 0)
		return rc;
	*out = def;
	if (!s)
		return 0;
	if (strcmp(s, "true") && strcmp(s, "false"))
		return err_set(e, -EINVAL, "'%s': '%s' is not true or false", key, s);
	*out = !strcmp(s, "true");
	return 0;
}

void scn_res(scn_call *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (!v)
		return;
	for (size_t i = 0; i < c->n_res; i++)
		if (!strcmp(c->res[i].key, key)) {
			free(c->res[i].val);
			c->res[i].val = v;
			return;
		}
	struct scn_kv *g = realloc(c->res, (c->n_res + 1) * sizeof *g);
	char *k = strdup(key);
	if (!g || !k) {
		free(v);
		free(k);
		if (g)
			c->res = g;
		return;
	}
	c->res = g;
	g[c->n_res++] = (struct scn_kv){ k, v };
}

const char *scn_res_get(const scn_call *c, const char *key)
{
	for (size_t i = 0; i < c->n_res; i++)
		if (!strcmp(c->res[i].key, key))
			return c->res[i].val;
	return NULL;
}

void scn_say(scn_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line)
		return;
	char *joined = NULL;
	if (c->say) {
		if (asprintf(&joined, "%s\n%s", c->say, line) < 0)
			joined = NULL;
		free(line);
		free(c->say);
		c->say = joined;
	} else {
		c->say = line;
	}
}

static void call_free(scn_call *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_tmp; i++)
		free(c->tmp[i]);
	free(c->tmp);
	kv_free(c->res, c->n_res);
	free(c->say);
	free(c);
}

/* ------------------------------------------------------------ CRI plumbing */

static cri_conn *via_conn(scn_call *c, bool *owned, crit_err *e)
{
	scn_exec *x = c->x;
	*owned = false;
	const char *via = NULL;
	if (scn_node_str(c, c->step->via, &via, e) < 0)
		return NULL;
	if (!via || !strcmp(via, "runtime"))
		return x->cri;
	if (!strcmp(via, "proxy")) {
		if (!x->pcri)
			err_set(e, -ENOENT, "via proxy: no proxy runs (start one with `proxy: start`)");
		return x->pcri;
	}
	if (!strcmp(via, "new")) {
		cri_conn *n = NULL;
		if (cri_connect(&n, x->endpoint, x->o->image_endpoint, x->timeout_ms, e) < 0)
			return NULL;
		*owned = true;
		return n;
	}
	err_set(e, -EINVAL, "via '%s': runtime, new or proxy", via);
	return NULL;
}

int scn_cri(scn_call *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp, int def_ms,
	    crit_err *e)
{
	scn_exec *x = c->x;
	*resp = NULL;
	int64_t tmo = def_ms > 0 ? def_ms : x->timeout_ms;
	const char *t;
	int rc = scn_node_str(c, c->step->timeout, &t, e);
	if (rc < 0)
		return rc;
	if (t && scn_parse_duration(t, &tmo) < 0)
		return err_set(e, -EINVAL, "timeout '%s' is not a duration", t);
	bool owned;
	cri_conn *conn = via_conn(c, &owned, e);
	if (!conn)
		return e->code ? e->code : -EINVAL;
	err_clear(&c->call_err);
	int64_t t0 = util_now_ms();
	rc = cri_call(conn, method, req, resp, tmo > INT_MAX ? INT_MAX : (int)tmo, &c->call_err);
	c->call_ms = util_now_ms() - t0;
	c->called = true;
	c->method = method;
	c->call_rc = rc;
	if (owned)
		cri_close(conn);
	if (e)
		*e = c->call_err;
	return rc;
}

int scn_cri_aux(scn_call *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp, int tmo_ms,
		crit_err *e)
{
	*resp = NULL;
	bool owned;
	cri_conn *conn = via_conn(c, &owned, e);
	if (!conn)
		return e->code ? e->code : -EINVAL;
	int rc = cri_call(conn, method, req, resp, tmo_ms > 0 ? tmo_ms : c->x->timeout_ms, e);
	if (owned)
		cri_close(conn);
	return rc;
}

int scn_image_ref(scn_exec *x, const char *role_or_ref, char *out, size_t len, crit_err *e)
{
	if (strchr(role_or_ref, '/') || strchr(role_or_ref, ':') || strchr(role_or_ref, '@')) {
		snprintf(out, len, "%s", role_or_ref);
		return 0;
	}
	if (!x->is_lab)
		return err_set(e, -EINVAL, "image '%s' is a role of critic's lab; against %s give a full reference",
			       role_or_ref, x->endpoint);
	if (lab_image_ref(&x->lab, role_or_ref, out, len) < 0) {
		size_t n;
		const char *const *roles = lab_image_roles(&n);
		strbuf sb = { 0 };
		for (size_t i = 0; i < n; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", roles[i]);
		int rc = err_set(e, -EINVAL, "image '%s': the lab has no such role (%s)", role_or_ref,
				 sb.buf ? sb.buf : "none");
		sb_free(&sb);
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ tracking */

void scn_track_pod(scn_exec *x, const char *id, const char *name, void *cfg, const char *log_dir)
{
	pthread_mutex_lock(&x->mu);
	scn_pod *g = realloc(x->pods, (x->n_pods + 1) * sizeof *g);
	if (g) {
		x->pods = g;
		g[x->n_pods++] = (scn_pod){ strdup(id), strdup(name), cfg, log_dir ? strdup(log_dir) : NULL, false };
	} else {
		cri_free(cfg);
	}
	pthread_mutex_unlock(&x->mu);
}

void *scn_pod_cfg(scn_exec *x, const char *id)
{
	void *cfg = NULL;
	pthread_mutex_lock(&x->mu);
	for (size_t i = x->n_pods; i-- > 0 && !cfg;)
		if (x->pods[i].id && !strcmp(x->pods[i].id, id))
			cfg = x->pods[i].cfg;
	pthread_mutex_unlock(&x->mu);
	return cfg;
}

void scn_pod_removed(scn_exec *x, const char *id)
{
	pthread_mutex_lock(&x->mu);
	bool known = false;
	for (size_t i = 0; i < x->n_pods; i++)
		if (x->pods[i].id && !strcmp(x->pods[i].id, id))
			known = x->pods[i].removed = true;
	if (!known) {
		/* one the scenario did not see created (a call cut short): its shim
		 * must be gone too */
		scn_pod *g = realloc(x->pods, (x->n_pods + 1) * sizeof *g);
		if (g) {
			x->pods = g;
			g[x->n_pods++] = (scn_pod){ strdup(id), strdup(""), NULL, NULL, true };
		}
	}
	pthread_mutex_unlock(&x->mu);
}

void scn_track_ctr(scn_exec *x, const char *id, const char *pod, pid_t pid)
{
	pthread_mutex_lock(&x->mu);
	scn_ctr *ct = NULL;
	for (size_t i = 0; i < x->n_ctrs && !ct; i++)
		if (!strcmp(x->ctrs[i].id, id))
			ct = &x->ctrs[i];
	if (!ct) {
		scn_ctr *g = realloc(x->ctrs, (x->n_ctrs + 1) * sizeof *g);
		if (g) {
			x->ctrs = g;
			ct = &g[x->n_ctrs++];
			memset(ct, 0, sizeof *ct);
			ct->id = strdup(id);
		}
	}
	if (ct) {
		if (pod && !ct->pod)
			ct->pod = strdup(pod);
		if (pid > 0) {
			ct->pid = pid;
			ct->start = scn_proc_start(pid);
		}
	}
	pthread_mutex_unlock(&x->mu);
}

/* ------------------------------------------------------------ runtime control */

int scn_rtctl(scn_exec *x, rtctl **out, crit_err *e)
{
	*out = x->rt;
	if (x->rt)
		return 0;
	if (x->rt_why[0])
		return err_set(e, -ENOTSUP, "%s", x->rt_why);
	rtctl_config cfg = { 0 };
	if (x->is_lab) {
		cfg.lab_dir = x->lab.dir;
		cfg.critic_exe = x->o->critic_exe;
	} else {
		cfg.endpoint = x->endpoint;
		cfg.pid = x->o->runtime_pid;
		cfg.pidfile = x->o->runtime_pidfile;
		cfg.start_cmd = x->o->runtime_start;
		cfg.stop_cmd = x->o->runtime_stop;
	}
	crit_err ce;
	if (rtctl_open(&x->rt, &cfg, &ce) < 0) {
		snprintf(x->rt_why, sizeof x->rt_why, "runtime control: %.480s", ce.msg);
		return err_set(e, -ENOTSUP, "%s", x->rt_why);
	}
	*out = x->rt;
	return 0;
}

/* ------------------------------------------------------------ the kubelet model */

static void *kube_ticker(void *arg)
{
	scn_exec *x = arg;
	while (!x->kstop) {
		pthread_mutex_lock(&x->kmu);
		kube_tick(x->kube, util_now_ms() - x->kt0);
		pthread_mutex_unlock(&x->kmu);
		util_sleep_ms(25);
	}
	return NULL;
}

static void kube_configure(scn_exec *x)
{
	kube_config *k = &x->kcfg;
	kube_config_defaults(k);
	snprintf(k->endpoint, sizeof k->endpoint, "%.250s", x->endpoint);
	k->canary_every = 0;
	const scn_node *sec = x->file->kubelet;
	const scn_node *s = scn_map_get(sec, "scale");
	if (s && s->kind == SCN_SCALAR)
		kube_config_scale(k, strtod(s->str, NULL));
	s = scn_map_get(sec, "canary");
	if (s && s->kind == SCN_SCALAR && !strcmp(s->str, "true"))
		k->canary_every = 6;
	s = scn_map_get(sec, "start");
	x->kube_manual = s && s->kind == SCN_SCALAR && !strcmp(s->str, "manual");
	static const struct {
		const char *key;
		size_t off;
	} over[] = {
		{ "request_timeout", offsetof(kube_config, request_timeout_ms) },
		{ "runtime_check", offsetof(kube_config, runtime_check_ms) },
		{ "runtime_down", offsetof(kube_config, runtime_down_ms) },
		{ "relist", offsetof(kube_config, relist_ms) },
		{ "relist_threshold", offsetof(kube_config, relist_threshold_ms) },
		{ "node_status", offsetof(kube_config, node_status_ms) },
		{ "restart", offsetof(kube_config, restart_ms) },
		{ "monitor_grace", offsetof(kube_config, monitor_grace_ms) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(over); i++) {
		s = scn_map_get(sec, over[i].key);
		int64_t ms;
		if (s && s->kind == SCN_SCALAR && scn_parse_duration(s->str, &ms) == 0 && ms > 0)
			*(int64_t *)((char *)k + over[i].off) = ms;
	}
	if (k->canary_every)
		k->canary_timeout_ms = k->request_timeout_ms;
}

int scn_kube_start(scn_exec *x, crit_err *e)
{
	if (x->kube)
		return 0;
	int rc = cri_connect(&x->kcri, x->endpoint, NULL, (int)x->kcfg.request_timeout_ms, e);
	if (rc < 0)
		return rc;
	kube_probes inner = kube_probes_cri(x->kcri), wrapped;
	if (!x->kcfg.canary_every)
		inner.canary = NULL;
	if ((rc = kube_async_new(&x->kasync, &inner, &wrapped, e)) < 0)
		return rc;
	if ((rc = kube_new(&x->kube, &x->kcfg, &wrapped, e)) < 0)
		return rc;
	x->kt0 = util_now_ms();
	x->kstop = false;
	int err = pthread_create(&x->kth, NULL, kube_ticker, x);
	if (err) {
		kube_free(x->kube);
		x->kube = NULL;
		return err_set(e, -err, "kubelet model: cannot start its thread: %s", strerror(err));
	}
	x->kth_on = true;
	return 0;
}

static void kube_stop(scn_exec *x)
{
	if (x->kth_on) {
		x->kstop = true;
		pthread_join(x->kth, NULL);
		x->kth_on = false;
	}
	if (x->kube) {
		char s[32];
		out(x, "  kubelet model timeline (periods x%s, Status every %s, NotReady after %s without one):\n",
		    scn_map_get(x->file->kubelet, "scale") ? scn_map_get(x->file->kubelet, "scale")->str : "1",
		    kube_duration_str(x->kcfg.runtime_check_ms, s, sizeof s),
		    kube_duration_str(x->kcfg.runtime_down_ms, (char[32]){ 0 }, 32));
		kube_timeline_print(x->kube, x->out);
		fflush(x->out);
		const scn_observer *ob = x->o->observer;
		if (ob && ob->timeline) {
			size_t n;
			const kube_event *ev = kube_timeline(x->kube, &n);
			ob->timeline(ob->arg, ev, n, x->kt0 - x->t0);
		}
		kube_free(x->kube);
		x->kube = NULL;
	}
	kube_async_free(x->kasync); /* waits for a call still running (its deadline) */
	x->kasync = NULL;
	cri_close(x->kcri);
	x->kcri = NULL;
}

/* ------------------------------------------------------------ sweep */

static int add_sel(void ***entries, size_t *n, const ProtobufCMessageDescriptor *d, const char *k, const char *v)
{
	typedef struct {
		ProtobufCMessage base;
		char *key, *value;
	} kv;
	kv *ent = calloc(1, sizeof *ent);
	void **g = realloc(*entries, (*n + 1) * sizeof *g);
	if (!ent || !g) {
		free(ent);
		if (g)
			*entries = g;
		return -ENOMEM;
	}
	protobuf_c_message_init(d, ent);
	ent->key = (char *)k;
	ent->value = (char *)v;
	*entries = g;
	g[(*n)++] = ent;
	return 0;
}

static void free_sel(void **entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i]);
	free(entries);
}

int scn_sweep(scn_exec *x, int *pods, int *ctrs, crit_err *e)
{
	*pods = *ctrs = 0;
	int rc = 0;
	crit_err ce;
	err_clear(&ce);
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	const ProtobufCMessageDescriptor *cd = &runtime__v1__container_filter__label_selector_entry__descriptor;
	const ProtobufCMessageDescriptor *pd = &runtime__v1__pod_sandbox_filter__label_selector_entry__descriptor;
	if (add_sel((void ***)&cf.label_selector, &cf.n_label_selector, cd, TST_LABEL_RUN, x->run_id) < 0 ||
	    add_sel((void ***)&cf.label_selector, &cf.n_label_selector, cd, TST_LABEL_TEST, x->test_label) < 0 ||
	    add_sel((void ***)&pf.label_selector, &pf.n_label_selector, pd, TST_LABEL_RUN, x->run_id) < 0 ||
	    add_sel((void ***)&pf.label_selector, &pf.n_label_selector, pd, TST_LABEL_TEST, x->test_label) < 0) {
		free_sel((void **)cf.label_selector, cf.n_label_selector);
		free_sel((void **)pf.label_selector, pf.n_label_selector);
		return err_set(e, -ENOMEM, "sweep: out of memory");
	}
	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *lcr = NULL;
	lc.filter = &cf;
	if (CRI_CALL(x->cri, ListContainers, &lc, &lcr, &ce) < 0) {
		rc = err_set(e, ce.code, "sweep: %s", ce.msg);
	} else {
		for (size_t i = 0; i < lcr->n_containers; i++) {
			Runtime__V1__RemoveContainerRequest rq = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
			Runtime__V1__RemoveContainerResponse *rr = NULL;
			rq.container_id = lcr->containers[i]->id;
			if (CRI_CALL(x->cri, RemoveContainer, &rq, &rr, &ce) < 0 && ce.grpc_status != GRPC_NOT_FOUND)
				rc = err_set(e, ce.code, "sweep: %s", ce.msg);
			else
				(*ctrs)++;
			cri_free(rr);
		}
	}
	cri_free(lcr);
	Runtime__V1__ListPodSandboxRequest lp = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *lpr = NULL;
	lp.filter = &pf;
	if (CRI_CALL(x->cri, ListPodSandbox, &lp, &lpr, &ce) < 0) {
		rc = err_set(e, ce.code, "sweep: %s", ce.msg);
	} else {
		for (size_t i = 0; i < lpr->n_items; i++) {
			char *id = lpr->items[i]->id;
			Runtime__V1__StopPodSandboxRequest sq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__StopPodSandboxResponse *sr = NULL;
			Runtime__V1__RemovePodSandboxRequest rq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__RemovePodSandboxResponse *rr = NULL;
			sq.pod_sandbox_id = rq.pod_sandbox_id = id;
			int src = CRI_CALL(x->cri, StopPodSandbox, &sq, &sr, &ce);
			if (src < 0 && ce.grpc_status != GRPC_NOT_FOUND)
				rc = err_set(e, ce.code, "sweep: %s", ce.msg);
			else if (CRI_CALL(x->cri, RemovePodSandbox, &rq, &rr, &ce) < 0 && ce.grpc_status != GRPC_NOT_FOUND)
				rc = err_set(e, ce.code, "sweep: %s", ce.msg);
			else {
				(*pods)++;
				scn_pod_removed(x, id);
			}
			cri_free(sr);
			cri_free(rr);
		}
	}
	cri_free(lpr);
	free_sel((void **)cf.label_selector, cf.n_label_selector);
	free_sel((void **)pf.label_selector, pf.n_label_selector);
	return rc;
}

/* ------------------------------------------------------------ running steps */

/* "kubelet.node=Ready pod.state=READY took" for wait and expect lines. */
static void summarize(const scn_node *m, char *buf, size_t len)
{
	size_t o = strlen(buf);
	for (size_t i = 0; m && m->kind == SCN_MAP && i < m->n && o < len; i++) {
		const char *k = m->keys[i]->str;
		const scn_node *v = m->vals[i];
		if (!strcmp(k, "within") || !strcmp(k, "every") || !strcmp(k, "via"))
			continue;
		if (v->kind == SCN_SCALAR && strcmp(k, "equal") && strcmp(k, "differ"))
			o += (size_t)snprintf(buf + o, len - o, " %s=%s", k, v->str);
		else if (v->kind == SCN_MAP) {
			bool any = false;
			for (size_t j = 0; j < v->n && o < len; j++) {
				const scn_node *sv = v->vals[j];
				if (sv->kind != SCN_SCALAR || strstr(sv->str, "${") || !strcmp(v->keys[j]->str, "step"))
					continue;
				o += (size_t)snprintf(buf + o, len - o, " %s.%s=%s", k, v->keys[j]->str, sv->str);
				any = true;
			}
			if (!any && o < len)
				o += (size_t)snprintf(buf + o, len - o, " %s", k);
		} else {
			o += (size_t)snprintf(buf + o, len - o, " %s", k);
		}
	}
}

static void describe(const scn_step *s, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%s", s->kind ? s->kind->name : "?");
	const scn_node *a = s->args;
	if (s->kind && (!strcmp(s->kind->name, "wait") || !strcmp(s->kind->name, "expect"))) {
		summarize(!strcmp(s->kind->name, "wait") ? scn_map_get(a, "until") : a, buf, len);
		o = strlen(buf);
		if (o < len && (s->name || s->as))
			snprintf(buf + o, len - o, " \"%s\"", s->name ? s->name : s->as);
		if (strlen(buf) > 46)
			snprintf(buf + 43, len - 43, "...");
		return;
	}
	const char *extra[3] = { NULL, NULL, NULL };
	if (a && a->kind == SCN_SCALAR && !scn_node_is_null(a))
		extra[0] = a->str;
	else if (a && a->kind == SCN_MAP) {
		const scn_node *v = scn_map_get(a, "action");
		extra[0] = v && v->kind == SCN_SCALAR ? v->str : NULL;
		v = scn_map_get(a, "signal");
		if (!v)
			v = scn_map_get(a, "mode");
		if (!v)
			v = scn_map_get(a, "image");
		if (!v)
			v = scn_map_get(a, "for");
		extra[1] = v && v->kind == SCN_SCALAR ? v->str : NULL;
	}
	for (int i = 0; i < 2 && o < len; i++)
		if (extra[i])
			o += (size_t)snprintf(buf + o, len - o, " %s", extra[i]);
	if (o < len && (s->name || s->as))
		o += (size_t)snprintf(buf + o, len - o, " \"%s\"", s->name ? s->name : s->as);
	if (o < len && s->via && s->via->kind == SCN_SCALAR && strcmp(s->via->str, "runtime") != 0)
		o += (size_t)snprintf(buf + o, len - o, " via %s", s->via->str);
	if (o < len && s->async)
		snprintf(buf + o, len - o, " (async)");
}

static const char *code_name(const scn_call *c)
{
	if (c->call_rc == 0)
		return "OK";
	if (c->call_err.grpc_status >= 0)
		return cri_status_name(c->call_err.grpc_status);
	return "UNKNOWN";
}

static bool regex_ok(const char *re, const char *text)
{
	regex_t r;
	char why[200];
	if (scn_regcomp(&r, re, why, sizeof why) < 0)
		return false;
	bool ok = regexec(&r, text ? text : "", 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* Hold a CRI step's outcome against its expect: (default: the call succeeds). */
static int judge_call(scn_call *c, const scn_node *expect, int rc, crit_err *e)
{
	if (!c->called)
		return rc < 0 ? rc : 0; /* failed before its call: the error says why */
	const char *want[24];
	size_t n = 0;
	const scn_node *code = scn_map_get(expect, "code");
	if (code && code->kind == SCN_SCALAR)
		want[n++] = code->str;
	for (size_t i = 0; code && code->kind == SCN_SEQ && i < code->n && n < ARRAY_SIZE(want); i++)
		want[n++] = code->vals[i]->str;
	if (!n)
		want[n++] = "OK";
	const char *method = c->method;
	const char *have = code_name(c);
	bool match = false;
	for (size_t i = 0; i < n; i++)
		match = match || !strcmp(want[i], have);
	strbuf w = { 0 };
	for (size_t i = 0; i < n; i++)
		sb_printf(&w, "%s%s", i ? " or " : "", want[i]);
	int ret = 0;
	if (!match) {
		if (c->call_rc == 0)
			ret = err_set(e, -ERR_ASSERT, "%s succeeded in %lld ms (wanted %s)", method, (long long)c->call_ms,
				      w.buf);
		else
			ret = err_set(e, -ERR_ASSERT, "%s (wanted %s)", c->call_err.msg, w.buf);
		sb_free(&w);
		return ret;
	}
	sb_free(&w);
	if (c->call_rc == 0 && rc < 0)
		return rc; /* the call worked, what the step did after it did not */
	if (c->call_rc < 0)
		scn_say(c, "failed as expected after %lld ms: %s", (long long)c->call_ms, c->call_err.msg);
	const char *re;
	if ((ret = scn_node_str(c, scn_map_get(expect, "message"), &re, e)) < 0)
		return ret;
	if (re) {
		if (c->call_rc == 0)
			return err_set(e, -ERR_ASSERT, "%s succeeded: no error message to match /%s/", method, re);
		if (!regex_ok(re, c->call_err.msg))
			return err_set(e, -ERR_ASSERT, "the error \"%s\" does not match /%s/", c->call_err.msg, re);
	}
	const char *ex, *so, *se;
	if ((ret = scn_node_str(c, scn_map_get(expect, "exit"), &ex, e)) < 0 ||
	    (ret = scn_node_str(c, scn_map_get(expect, "stdout"), &so, e)) < 0 ||
	    (ret = scn_node_str(c, scn_map_get(expect, "stderr"), &se, e)) < 0)
		return ret;
	if (c->has_exec) {
		if (ex && atoi(ex) != c->exec_exit)
			return err_set(e, -ERR_ASSERT, "the command exited %d (wanted %s); stderr: %.300s", c->exec_exit, ex,
				       c->exec_stderr ? c->exec_stderr : "");
		if (so && !regex_ok(so, c->exec_stdout))
			return err_set(e, -ERR_ASSERT, "stdout \"%.300s\" does not match /%s/", c->exec_stdout, so);
		if (se && !regex_ok(se, c->exec_stderr))
			return err_set(e, -ERR_ASSERT, "stderr \"%.300s\" does not match /%s/", c->exec_stderr, se);
	}
	return 0;
}

static void record_timing(scn_exec *x, const scn_step *s, int64_t ms)
{
	const char *names[2] = { s->name, s->as };
	pthread_mutex_lock(&x->mu);
	for (int i = 0; i < 2; i++) {
		if (!names[i])
			continue;
		scn_timing *g = realloc(x->tim, (x->n_tim + 1) * sizeof *g);
		if (!g)
			break;
		x->tim = g;
		g[x->n_tim++] = (scn_timing){ strdup(names[i]), ms };
	}
	pthread_mutex_unlock(&x->mu);
}

static void set_results(scn_exec *x, const scn_step *s, scn_call *c)
{
	if (!s->as)
		return;
	pthread_mutex_lock(&x->mu);
	var_set(x, s->as, s->kind, c->res, c->n_res);
	pthread_mutex_unlock(&x->mu);
}

/* Print one step's verdict line and details. An xfail is a soft failure
 * of a step that names a known issue: reported, not counted as failed. */
/* Hand the step's outcome to the run's observer (reports). */
static void observe(scn_exec *x, int n, int depth, const scn_step *s, const char *v, int64_t ms, const char *desc,
		    const char *say, const char *fail, const scn_call *c)
{
	const scn_observer *ob = x->o->observer;
	if (!ob || !ob->step)
		return;
	const scn_file *f = x->file;
	const char *phase = x->in_finally ? "finally" : "steps";
	if (f->n_setup && s >= f->setup && s < f->setup + f->n_setup)
		phase = "setup";
	bool called = c && c->called;
	scn_step_info si = {
		.index = n, .depth = depth, .phase = phase, .kind = s->kind ? s->kind->name : "?", .name = s->name,
		.as = s->as, .desc = desc, .line = s->pos.line, .verdict = v, .dur_ms = ms, .detail = say,
		.message = strcmp(v, "PASS") ? fail : NULL, .known_issue = s->known_issue,
		.method = called ? c->method : NULL,
		.grpc_status = called && c->call_rc < 0 ? c->call_err.grpc_status : called ? 0 : -1,
		.call_msg = called && c->call_rc < 0 ? c->call_err.msg : NULL,
		.fault = s->kind && (s->kind->flags & SCN_K_DISRUPTIVE),
	};
	si.start_ms = util_now_ms() - ms - x->t0;
	ob->step(ob->arg, &si);
}

static void report(scn_exec *x, int n, int depth, const scn_step *s, bool pass, bool soft, int64_t ms, const char *say,
		   const char *fail, const scn_call *c)
{
	char desc[256], t[32];
	describe(s, desc, sizeof desc);
	bool xfail = !pass && soft && s->known_issue;
	const char *v = pass ? "PASS" : xfail ? "XFAIL" : "FAIL";
	const char *cc = pass ? "\033[32m" : xfail ? "\033[33m" : "\033[31m";
	char kt[48] = "";
	if (x->kube) /* where the step ended on the model's clock, to read beside its timeline */
		snprintf(kt, sizeof kt, "  [model +%.3fs]", (double)(util_now_ms() - x->kt0) / 1000);
	out(x, "%*s  [%2d] %s%-5s%s %-46s %9s%s\n", depth * 2, "", n, col(x, cc), v, col(x, "\033[0m"), desc,
	    scn_fmt_ms(ms, t, sizeof t), kt);
	out_lines(x, depth, "", say);
	if (xfail)
		out_lines(x, depth, "known issue: ", s->known_issue);
	if (!pass)
		out_lines(x, depth, soft ? "expected: " : "-> ", fail);
	observe(x, n, depth, s, v, ms, desc, say, fail, c);
	x->r->steps_run++;
	if (pass)
		x->r->steps_passed++;
	else if (xfail)
		x->r->known_issues++;
	else {
		x->r->steps_failed++;
		if (!x->r->reason[0])
			snprintf(x->r->reason, sizeof x->r->reason, "step %d (%s, line %d): %s", n, desc, s->pos.line,
				 fail ? fail : "failed");
	}
}

static void *async_body(void *arg)
{
	scn_call *c = arg;
	err_clear(&c->err);
	c->rc = c->step->kind->run(c, &c->err);
	pthread_mutex_lock(&c->x->mu);
	c->t_end_ms = util_now_ms();
	c->done = true;
	pthread_mutex_unlock(&c->x->mu);
	return NULL;
}

static int run_seq(scn_exec *x, const scn_step *v, size_t n, int depth, bool quiet);

/* Run one step: 0 passed, 1 failed softly (the steps go on), -1 failed. */
static int run_step(scn_exec *x, const scn_step *s, int depth, bool quiet)
{
	int n = ++x->stepno;
	scn_call *c = calloc(1, sizeof *c);
	if (!c) {
		report(x, n, depth, s, false, false, 0, NULL, "out of memory", NULL);
		return -1;
	}
	c->x = x;
	c->step = s;
	err_clear(&c->err);
	err_clear(&c->call_err);
	c->t_start_ms = util_now_ms();
	if (!s->kind->run) {
		char msg[128];
		snprintf(msg, sizeof msg, "step kind %s: not available in this build", s->kind->name);
		report(x, n, depth, s, false, false, 0, NULL, msg, NULL);
		call_free(c);
		return -1;
	}
	if (s->async) {
		pthread_mutex_lock(&x->mu);
		scn_call **g = realloc(x->pending, (x->n_pending + 1) * sizeof *g);
		if (g) {
			x->pending = g;
			g[x->n_pending++] = c;
		}
		pthread_mutex_unlock(&x->mu);
		int err = g ? pthread_create(&c->th, NULL, async_body, c) : ENOMEM;
		char desc[256];
		describe(s, desc, sizeof desc);
		if (err) {
			pthread_mutex_lock(&x->mu);
			x->n_pending--;
			pthread_mutex_unlock(&x->mu);
			call_free(c);
			report(x, n, depth, s, false, false, 0, NULL, "cannot start a thread", NULL);
			return -1;
		}
		c->thread_started = true;
		out(x, "%*s  [%2d] %-5s %-46s   started\n", depth * 2, "", n, "....", desc);
		return 0;
	}
	int rc = s->kind->run(c, &c->err);
	int64_t ms = util_now_ms() - c->t_start_ms;
	if (s->kind->flags & SCN_K_CRI)
		rc = judge_call(c, s->expect, rc, &c->err);
	record_timing(x, s, ms);
	set_results(x, s, c);
	bool pass = rc >= 0;
	bool soft = (s->kind->flags & SCN_K_SOFT) && rc == -ERR_ASSERT;
	if (!quiet || !pass)
		report(x, n, depth, s, pass, soft, ms, c->say, c->err.msg, c);
	else {
		x->r->steps_run++;
		x->r->steps_passed++;
	}
	call_free(c);
	return pass ? 0 : soft ? 1 : -1;
}

/* Wait for an async step; NULL when none by that name is pending. */
static scn_call *take_pending(scn_exec *x, const char *as)
{
	scn_call *c = NULL;
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->n_pending && !c; i++)
		if (!strcmp(x->pending[i]->step->as, as)) {
			c = x->pending[i];
			memmove(&x->pending[i], &x->pending[i + 1], (x->n_pending - i - 1) * sizeof *x->pending);
			x->n_pending--;
		}
	pthread_mutex_unlock(&x->mu);
	return c;
}

int scn_run_join(scn_call *jc, crit_err *e)
{
	scn_exec *x = jc->x;
	const char *name;
	int64_t within;
	int rc;
	if ((rc = scn_arg(jc, "step", &name, e)) < 0 ||
	    (rc = scn_arg_dur(jc, "within", 2 * (int64_t)x->timeout_ms + 5000, &within, e)) < 0)
		return rc;
	if (!name)
		return err_set(e, -EINVAL, "join: name the async step");
	scn_call *c = take_pending(x, name);
	if (!c)
		return err_set(e, -ENOENT, "join: no async step '%s' is running", name);
	int64_t end = util_now_ms() + within;
	bool done = false;
	for (;;) {
		pthread_mutex_lock(&x->mu);
		done = c->done;
		pthread_mutex_unlock(&x->mu);
		if (done || util_now_ms() >= end)
			break;
		util_sleep_ms(5);
	}
	if (!done) {
		/* put it back: it is joined at the end (its call has a deadline) */
		pthread_mutex_lock(&x->mu);
		scn_call **g = realloc(x->pending, (x->n_pending + 1) * sizeof *g);
		if (g) {
			x->pending = g;
			g[x->n_pending++] = c;
		}
		pthread_mutex_unlock(&x->mu);
		char a[32];
		return err_set(e, -ETIMEDOUT, "join: '%s' still runs after %s", name, scn_fmt_ms(within, a, sizeof a));
	}
	pthread_join(c->th, NULL);
	c->thread_started = false;
	int64_t ms = c->t_end_ms - c->t_start_ms;
	const scn_node *expect = jc->step->expect ? jc->step->expect : c->step->expect;
	rc = judge_call(c, expect, c->rc, &c->err);
	record_timing(x, c->step, ms);
	set_results(x, c->step, c);
	char a[32];
	scn_say(jc, "%s '%s' ended after %s: %s", c->step->kind->name, name, scn_fmt_ms(ms, a, sizeof a), code_name(c));
	if (c->say)
		scn_say(jc, "%s", c->say);
	if (rc < 0)
		*e = c->err;
	call_free(c);
	return rc < 0 ? (e->code ? e->code : -ERR_ASSERT) : 0;
}

int scn_run_repeat(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	long long times;
	int rc = scn_arg_int(c, "times", 1, &times, e);
	if (rc < 0)
		return rc;
	const scn_step *s = c->step;
	int depth = 1;
	int64_t t0 = util_now_ms();
	int failed_before = x->r->steps_failed;
	for (long long i = 1; i <= times; i++) {
		if (s->as) {
			struct scn_kv kv[2];
			char ib[32], tb[32];
			snprintf(ib, sizeof ib, "%lld", i);
			snprintf(tb, sizeof tb, "%lld", times);
			kv[0] = (struct scn_kv){ "i", ib };
			kv[1] = (struct scn_kv){ "times", tb };
			pthread_mutex_lock(&x->mu);
			var_set(x, s->as, s->kind, kv, 2);
			pthread_mutex_unlock(&x->mu);
		}
		bool quiet = i > 1 && !x->o->verbose;
		if (!quiet)
			out(x, "  %*siteration %lld/%lld\n", depth * 2, "", i, times);
		rc = run_seq(x, s->sub, s->n_sub, depth, quiet);
		if (rc < 0 || x->r->steps_failed > failed_before)
			return err_set(e, -ERR_ASSERT, "iteration %lld of %lld failed", i, times);
	}
	char a[32];
	scn_say(c, "%lld iterations in %s", times, scn_fmt_ms(util_now_ms() - t0, a, sizeof a));
	return 0;
}

static bool deadline_passed(scn_exec *x)
{
	return util_now_ms() >= x->deadline;
}

/* Run steps in order. A hard failure, an interrupt or the deadline stops
 * the list (except in finally, where every step runs). < 0 when stopped. */
static int run_seq(scn_exec *x, const scn_step *v, size_t n, int depth, bool quiet)
{
	for (size_t i = 0; i < n; i++) {
		if (!x->in_finally && (g_interrupt || deadline_passed(x))) {
			if (g_interrupt)
				x->r->interrupted = true;
			else if (!x->r->reason[0])
				snprintf(x->r->reason, sizeof x->r->reason, "the scenario's deadline passed");
			out(x, "%*s  %s: %zu step%s not run\n", depth * 2, "", g_interrupt ? "interrupted" : "deadline passed",
			    n - i, n - i == 1 ? "" : "s");
			return -1;
		}
		int rc = run_step(x, &v[i], depth, quiet);
		if (g_interrupt && !x->in_finally)
			x->r->interrupted = true;
		if (rc < 0 && !x->in_finally) {
			if (i + 1 < n)
				out(x, "%*s  %zu step%s not run after this failure\n", depth * 2, "", n - i - 1,
				    n - i - 1 == 1 ? "" : "s");
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ needs */

static bool kernel_has(const char *feature)
{
	if (!strcmp(feature, "cgroup2"))
		return util_exists("/sys/fs/cgroup/cgroup.controllers");
	if (!strcmp(feature, "loop"))
		return util_exists("/dev/loop-control");
	if (!strcmp(feature, "seccomp"))
		return util_exists("/proc/sys/kernel/seccomp/actions_avail");
	char *text = NULL;
	bool ok = false;
	if (!strcmp(feature, "overlay")) {
		if (util_read_file("/proc/filesystems", &text, NULL, NULL) == 0)
			ok = strstr(text, "\toverlay\n") != NULL;
	} else if (!strcmp(feature, "userns")) {
		if (util_read_file("/proc/sys/user/max_user_namespaces", &text, NULL, NULL) == 0)
			ok = atol(text) > 0;
	} else if (!strcmp(feature, "apparmor")) {
		if (util_read_file("/sys/module/apparmor/parameters/enabled", &text, NULL, NULL) == 0)
			ok = text[0] == 'Y';
	}
	free(text);
	return ok;
}

static bool handler_known(scn_exec *x, const char *h, char *why, size_t len)
{
	if (x->is_lab) {
		if (!strcmp(h, "runc"))
			return true;
		if (!strcmp(h, "crun")) {
			if (!x->lab.crun_usable)
				snprintf(why, len, "needs the crun handler: not usable in this lab (%s)", x->lab.crun_note);
			return x->lab.crun_usable;
		}
	}
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	crit_err e;
	if (CRI_CALL(x->cri, Status, &req, &resp, &e) < 0) {
		snprintf(why, len, "needs handler %s: Status failed: %.400s", h, e.msg);
		return false;
	}
	bool found = resp->n_runtime_handlers == 0; /* an older runtime does not list them: try */
	for (size_t i = 0; i < resp->n_runtime_handlers; i++)
		found = found || !strcmp(resp->runtime_handlers[i]->name, h);
	cri_free(resp);
	if (!found)
		snprintf(why, len, "needs the runtime handler %s: the runtime does not list it", h);
	return found;
}

static bool needs_met(scn_exec *x, char *why, size_t len)
{
	const scn_needs *n = &x->file->needs;
	if (n->root && geteuid() != 0) {
		snprintf(why, len, "needs root");
		return false;
	}
	if (n->lab && !x->is_lab) {
		snprintf(why, len, "needs critic's lab%s (the endpoint is %.400s)", n->loopfs ? " on its loop fs" : "",
			 x->endpoint);
		return false;
	}
	if (n->loopfs && !x->lab.loopfs) {
		snprintf(why, len,
			 "needs the lab on its loop fs, and the lab in %.300s runs on plain directories (`critic lab down "
			 "&& critic lab up --loop-fs`; `critic scenario run` does it for a lab that is down)",
			 x->lab.dir);
		return false;
	}
	if (n->disruptive && !x->is_lab && !x->o->allow_disruptive) {
		snprintf(why, len, "disruptive: refused outside critic's lab (pass --allow-disruptive to run it against %.400s)",
			 x->endpoint);
		return false;
	}
	for (int i = 0; i < n->n_kernel; i++)
		if (!kernel_has(n->kernel[i])) {
			snprintf(why, len, "needs the kernel feature %s, which this node lacks", n->kernel[i]);
			return false;
		}
	if (n->handler[0] && !handler_known(x, n->handler, why, len))
		return false;
	return true;
}

/* ------------------------------------------------------------ recovery */

static void note(scn_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(scn_exec *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	out(x, "  note: %s\n", s ? s : "?");
	free(s);
}

static void thaw(scn_exec *x)
{
	if (!x->runtime_frozen || !x->rt)
		return;
	crit_err e;
	if (rtctl_signal(x->rt, SIGCONT, &e) == 0)
		note(x, "the runtime was left SIGSTOPped: critic sent SIGCONT");
	else
		note(x, "the runtime was left SIGSTOPped and SIGCONT failed: %s", e.msg);
	x->runtime_frozen = false;
}

/* The loop fs as the scenario should have left it, whatever finally did. */
static void recover_fs(scn_exec *x)
{
	if (!x->fs_touched || !x->is_lab)
		return;
	char what[1024] = "";
	crit_err e;
	if (scn_fs_restore(x, what, sizeof what, &e) < 0) {
		note(x, "the loop fs: %s%s%s", what, what[0] ? "; then " : "", e.msg);
		x->r->verdict = SCN_FAIL;
		if (!x->r->reason[0])
			snprintf(x->r->reason, sizeof x->r->reason, "left the loop fs broken: %.900s", e.msg);
	} else if (what[0]) {
		note(x, "the loop fs was left broken: %s", what);
	}
}

static void recover(scn_exec *x)
{
	crit_err e;
	recover_fs(x);
	if (x->proxy) {
		cri_close(x->pcri);
		x->pcri = NULL;
		fault_proxy_stop(x->proxy);
		x->proxy = NULL;
		note(x, "the proxy was still running: stopped");
	}
	if (x->fsock_ok && x->fsock.active != FAULT_SOCK_NONE) {
		int rc = fault_sock_restore(&x->fsock, &e);
		note(x, "the socket fault was still in effect: %s",
		     rc == 0 || rc == -EEXIST ? "restored" : e.msg);
	}
	if (x->fiu_on && x->fiu_where[0]) {
		int rc = fault_fiu_disable(x->fiu_where, NULL, &e);
		if (rc == 0)
			note(x, "libfiu faults were still enabled: disabled them all");
		else
			note(x, "libfiu faults may still be enabled: %s", e.msg);
		x->fiu_on = false;
	}
	thaw(x);
	bool restart_for_config = false;
	if (x->cfgb.active) {
		int rc = fault_cfg_restore(&x->cfgb, &e);
		note(x, "the config patch was still in place: %s", rc == 0 ? "restored from its backup" : e.msg);
		restart_for_config = rc == 0 && x->runtime_touched && x->rt;
	}
	if (restart_for_config) {
		fault_proc_result rr;
		memset(&rr, 0, sizeof rr);
		fault_proc_opts po = { .ready_timeout_ms = 60000 };
		if (fault_proc_restart(x->rt, &po, &rr, &e) == 0)
			note(x, "restarted the runtime so that it runs the restored config");
		else
			note(x, "restarting the runtime on the restored config failed: %s", e.msg);
		if (x->is_lab)
			lab_status(x->lab.dir, &x->lab, NULL);
	}
	if (!x->runtime_touched)
		return;
	fault_proc_result r;
	memset(&r, 0, sizeof r);
	fault_proc_opts quick = { .ready_timeout_ms = 1, .status_ms = 2000 };
	if (fault_proc_wait_ready(x->endpoint, &quick, &r, &e) == 0)
		return;
	if (!x->rt) {
		note(x, "the runtime does not answer and critic cannot restart it: %s", e.msg);
		return;
	}
	fault_proc_opts po = { .ready_timeout_ms = 60000 };
	if (fault_proc_restart(x->rt, &po, &r, &e) < 0) {
		note(x, "the scenario left the runtime down and critic could not restart it: %s", e.msg);
		x->r->verdict = SCN_FAIL;
		if (!x->r->reason[0])
			snprintf(x->r->reason, sizeof x->r->reason, "left the runtime down: %.900s", e.msg);
		return;
	}
	char a[32];
	note(x, "the scenario left the runtime down: critic restarted it (ready after %s)",
	     scn_fmt_ms(r.ready_ms, a, sizeof a));
	if (x->is_lab)
		lab_status(x->lab.dir, &x->lab, NULL);
}

/* Wait for async steps nobody joined (their calls have deadlines). */
static void reap_pending(scn_exec *x)
{
	for (;;) {
		pthread_mutex_lock(&x->mu);
		scn_call *c = x->n_pending ? x->pending[--x->n_pending] : NULL;
		pthread_mutex_unlock(&x->mu);
		if (!c)
			break;
		if (c->thread_started)
			pthread_join(c->th, NULL);
		note(x, "async step '%s' was not joined; its %s ended: %s", c->step->as, c->step->kind->name,
		     c->rc == 0 ? "OK" : c->err.msg);
		call_free(c);
	}
	free(x->pending);
	x->pending = NULL;
}

/* Shims the runtime left running for sandboxes the scenario removed: the
 * leak check reports them; kill them so that they do not pile up. They are
 * critic's own: found by the exact id of a sandbox it removed, serving the
 * runtime on this socket. */
static void reap_shims(scn_exec *x)
{
	for (size_t i = 0; i < x->n_pods; i++) {
		if (!x->pods[i].removed)
			continue;
		pid_t pid = scn_shim_pid(x->pods[i].id, x->socket);
		if (pid <= 0)
			continue;
		bool gone = kill(pid, SIGKILL) == 0 && util_wait_pid_dead(pid, 2000);
		note(x, "the runtime left shim pid %d of removed sandbox %.13s running: %s", (int)pid, x->pods[i].id,
		     gone ? "killed it" : "could not kill it");
	}
}

static void exec_free(scn_exec *x)
{
	for (size_t i = 0; i < x->n_vars; i++) {
		free(x->vars[i].name);
		kv_free(x->vars[i].f, x->vars[i].n);
	}
	free(x->vars);
	for (size_t i = 0; i < x->n_tim; i++)
		free(x->tim[i].name);
	free(x->tim);
	for (size_t i = 0; i < x->n_pods; i++) {
		free(x->pods[i].id);
		free(x->pods[i].name);
		free(x->pods[i].log_dir);
		cri_free(x->pods[i].cfg);
	}
	free(x->pods);
	for (size_t i = 0; i < x->n_ctrs; i++) {
		free(x->ctrs[i].id);
		free(x->ctrs[i].pod);
	}
	free(x->ctrs);
	cri_close(x->cri);
	cri_close(x->pcri);
	rtctl_free(x->rt);
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->kmu);
	free(x);
}

static void make_run_id(char *buf, size_t len)
{
	static int seq;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "scn-%04d%02d%02d-%02d%02d%02d-%d-%d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)getpid(), ++seq);
}

/* Resolve where to run: the lab (running) or the endpoint given. */
static int target(scn_exec *x, crit_err *e)
{
	const scn_opts *o = x->o;
	char path[PATH_MAX];
	if (o->endpoint && *o->endpoint) {
		if (ep_parse(o->endpoint, x->endpoint, sizeof x->endpoint, path, sizeof path, e) < 0)
			return e->code;
		snprintf(x->socket, sizeof x->socket, "%s", path);
		/* the lab's own endpoint named explicitly is still the lab */
		if (o->lab_dir && lab_status(o->lab_dir, &x->lab, NULL) == 1 && !strcmp(x->lab.endpoint, x->endpoint))
			x->is_lab = true;
		return 0;
	}
	const char *dir = o->lab_dir && *o->lab_dir ? o->lab_dir : lab_default_dir();
	int rc = lab_status(dir, &x->lab, e);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return err_set(e, -ERR_UNREACHABLE, "critic's lab in %s is not running (start it with `critic lab up`)", dir);
	snprintf(x->endpoint, sizeof x->endpoint, "%s", x->lab.endpoint);
	snprintf(x->socket, sizeof x->socket, "%s", x->lab.socket);
	x->is_lab = true;
	return 0;
}

int scn_run(const scn_file *f, const scn_opts *o, scn_result *r, crit_err *e)
{
	memset(r, 0, sizeof *r);
	scn_exec *x = calloc(1, sizeof *x);
	if (!x)
		return err_set(e, -ENOMEM, "out of memory");
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->kmu, NULL);
	x->file = f;
	x->o = o;
	x->r = r;
	x->out = o->out ? o->out : stdout;
	x->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
	if (o->run_id && *o->run_id)
		snprintf(x->run_id, sizeof x->run_id, "%s", o->run_id);
	else
		make_run_id(x->run_id, sizeof x->run_id);
	snprintf(x->test_label, sizeof x->test_label, "scenario.%s", f->name ? f->name : "unnamed");
	x->t0 = util_now_ms();
	x->deadline = x->t0 + (f->timeout_ms > 0 ? f->timeout_ms : DEFAULT_SCENARIO_TIMEOUT_MS);

	out(x, "%sscenario %s%s  (%s)\n", col(x, "\033[1m"), f->name ? f->name : "?", col(x, "\033[0m"), f->path);
	int rc = target(x, e);
	if (rc < 0) {
		r->verdict = SCN_FAIL;
		r->unreachable = rc == -ERR_UNREACHABLE;
		snprintf(r->reason, sizeof r->reason, "%s", e->msg);
		out(x, "  FAIL: %s\n", e->msg);
		exec_free(x);
		return 0;
	}
	if ((rc = cri_connect(&x->cri, x->endpoint, o->image_endpoint, x->timeout_ms, e)) < 0) {
		exec_free(x);
		return rc;
	}
	/* the endpoint must answer before anything starts */
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *vresp = NULL;
	crit_err ve;
	if (CRI_CALL_T(x->cri, Version, &vreq, &vresp, 5000, &ve) < 0) {
		r->verdict = SCN_FAIL;
		r->unreachable = true;
		snprintf(r->reason, sizeof r->reason, "the endpoint does not answer: %.900s", ve.msg);
		out(x, "  FAIL: %s\n", r->reason);
		exec_free(x);
		return 0;
	}
	out(x, "  run %s on %s %s at %s%s\n", x->run_id, vresp->runtime_name, vresp->runtime_version, x->endpoint,
	    x->is_lab ? " (critic's lab)" : "");
	cri_free(vresp);
	char why[600];
	if (!needs_met(x, why, sizeof why)) {
		r->verdict = SCN_SKIP;
		snprintf(r->reason, sizeof r->reason, "%s", why);
		out(x, "  %sSKIP%s: %s\n", col(x, "\033[33m"), col(x, "\033[0m"), why);
		exec_free(x);
		return 0;
	}
	x->kube_wanted = f->kubelet != NULL;
	if (x->kube_wanted) {
		kube_configure(x);
		char a[32], b[32], c[32], d[32];
		out(x, "  kubelet model: Status every %s, runtime down after %s, PLEG threshold %s, restart after %s\n",
		    kube_duration_str(x->kcfg.runtime_check_ms, a, sizeof a), kube_duration_str(x->kcfg.runtime_down_ms, b, sizeof b),
		    kube_duration_str(x->kcfg.relist_threshold_ms, c, sizeof c), kube_duration_str(x->kcfg.restart_ms, d, sizeof d));
	}

	bool ok = true;
	if (f->n_setup) {
		out(x, "  setup:\n");
		ok = run_seq(x, f->setup, f->n_setup, 0, false) == 0;
	}
	if (ok && x->kube_wanted && !x->kube_manual) {
		crit_err ke;
		if (scn_kube_start(x, &ke) < 0) {
			ok = false;
			r->steps_failed++;
			snprintf(r->reason, sizeof r->reason, "kubelet model: %.900s", ke.msg);
			out(x, "  FAIL: kubelet model: %s\n", ke.msg);
		}
	}
	if (ok) {
		if (f->n_setup)
			out(x, "  steps:\n");
		run_seq(x, f->steps, f->n_steps, 0, false);
	} else {
		out(x, "  the steps do not run: setup failed\n");
	}
	reap_pending(x);
	if (f->n_finally) {
		x->in_finally = true;
		out(x, "  finally:\n");
		run_seq(x, f->finally, f->n_finally, 0, false);
	}
	x->in_finally = true;
	thaw(x);
	kube_stop(x);
	recover(x);
	int pods = 0, ctrs = 0;
	crit_err se;
	if (scn_sweep(x, &pods, &ctrs, &se) < 0) {
		note(x, "sweep: %s", se.msg);
		r->steps_failed++;
		if (!r->reason[0])
			snprintf(r->reason, sizeof r->reason, "cleanup: %.1000s", se.msg);
	} else if (pods || ctrs) {
		note(x, "sweep removed %d pods and %d containers the scenario left", pods, ctrs);
	}
	reap_shims(x);
	char logdir[PATH_MAX];
	snprintf(logdir, sizeof logdir, "/var/log/critic/%s", x->run_id);
	if (util_exists(logdir) && util_rm_rf(logdir, &se) < 0)
		note(x, "%s", se.msg);
	if (x->tmpdir[0])
		util_rm_rf(x->tmpdir, NULL);

	r->wall_ms = util_now_ms() - x->t0;
	if (r->verdict != SCN_FAIL)
		r->verdict = r->steps_failed || r->interrupted ? SCN_FAIL : SCN_PASS;
	if (r->interrupted && !r->reason[0])
		snprintf(r->reason, sizeof r->reason, "interrupted");
	char t[32];
	const char *cc = r->verdict == SCN_PASS ? "\033[32m" : "\033[31m";
	char known[48] = "";
	if (r->known_issues)
		snprintf(known, sizeof known, ", %d known issue%s (XFAIL)", r->known_issues, r->known_issues == 1 ? "" : "s");
	out(x, "  %s%s%s  %s: %d steps, %d passed%s, %d failed in %s%s\n\n", col(x, cc), scn_verdict_name(r->verdict),
	    col(x, "\033[0m"), f->name ? f->name : "?", r->steps_run, r->steps_passed, known, r->steps_failed,
	    scn_fmt_ms(r->wall_ms, t, sizeof t), r->interrupted ? " (interrupted)" : "");
	exec_free(x);
	return 0;
}

/* ------------------------------------------------------------ the library */

int scn_library_dir(char *dir, size_t len, crit_err *e)
{
	return util_data_dir("CRITIC_SCENARIOS_DIR", "scenarios", dir, len, e);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int scn_library_files(const char *dir, char ***paths, size_t *n, crit_err *e)
{
	*paths = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, -errno, "scenario library %s: %s", dir, strerror(errno));
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		char **g = realloc(v, (cnt + 1) * sizeof *g);
		if (!g)
			break;
		v = g;
		v[cnt++] = util_strdup_printf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof *v, str_cmp);
	*paths = v;
	*n = cnt;
	return 0;
}

void scn_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
