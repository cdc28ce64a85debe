/* Unit tests of the kubelet model: every transition with a fake clock (explicit
 * now_ms values, no sleeping) and scripted probes; the back-off; the sandbox
 * decision; and the CRI adapter against the fake gRPC server. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri.h"
#include "fake_server.h"
#include "kube.h"
#include "tests.h"
#include "util.h"

#define S(x) ((int64_t)(x) * 1000)

/* --- scripted probes ------------------------------------------------------------ */

typedef struct fk_call {
	int rc;          /* 0 = success */
	int grpc;        /* grpc_status to report with rc (-1 none) */
	char msg[512];
	int calls;
	int64_t deadline;
} fk_call;

typedef struct fake_rt {
	fk_call version, status, relist, canary;
	kube_runtime_status st;
} fake_rt;

static const char *DIAL_ERR =
	"connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: "
	"connect: no such file or directory\"";

static int fk_result(fk_call *c, int64_t dl, crit_err *e)
{
	c->calls++;
	c->deadline = dl;
	if (c->rc == 0)
		return 0;
	e->code = c->rc;
	e->grpc_status = c->grpc;
	snprintf(e->msg, sizeof e->msg, "%s", c->msg);
	return c->rc;
}

static int fk_version(void *arg, int64_t dl, crit_err *e) { return fk_result(&((fake_rt *)arg)->version, dl, e); }
static int fk_relist(void *arg, int64_t dl, crit_err *e) { return fk_result(&((fake_rt *)arg)->relist, dl, e); }
static int fk_canary(void *arg, int64_t dl, crit_err *e) { return fk_result(&((fake_rt *)arg)->canary, dl, e); }
static int fk_status(void *arg, int64_t dl, kube_runtime_status *out, crit_err *e)
{
	fake_rt *f = arg;
	int rc = fk_result(&f->status, dl, e);
	if (rc == 0)
		*out = f->st;
	return rc;
}

static void fk_ok(fk_call *c)
{
	c->rc = 0;
	c->grpc = -1;
	c->msg[0] = '\0';
}

static void fk_fail(fk_call *c, int rc, int grpc, const char *msg)
{
	c->rc = rc;
	c->grpc = grpc;
	snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void fk_cond(kube_condition *c, const char *type, bool status, const char *reason, const char *msg)
{
	snprintf(c->type, sizeof c->type, "%s", type);
	c->status = status;
	snprintf(c->reason, sizeof c->reason, "%s", reason);
	snprintf(c->message, sizeof c->message, "%s", msg);
}

static void fk_conditions(fake_rt *f, bool rt, const char *rt_reason, const char *rt_msg, bool net,
			  const char *net_reason, const char *net_msg)
{
	memset(&f->st, 0, sizeof f->st);
	f->st.n = 2;
	fk_cond(&f->st.cond[0], "RuntimeReady", rt, rt_reason, rt_msg);
	fk_cond(&f->st.cond[1], "NetworkReady", net, net_reason, net_msg);
}

static void fk_healthy(fake_rt *f)
{
	fk_ok(&f->version);
	fk_ok(&f->status);
	fk_ok(&f->relist);
	fk_ok(&f->canary);
	fk_conditions(f, true, "", "", true, "", "");
}

/* The socket is gone: every call fails at once with UNAVAILABLE. */
static void fk_dead(fake_rt *f)
{
	fk_fail(&f->version, -ERR_UNREACHABLE, 14, DIAL_ERR);
	fk_fail(&f->status, -ERR_UNREACHABLE, 14, DIAL_ERR);
	fk_fail(&f->relist, -ERR_UNREACHABLE, 14, DIAL_ERR);
	fk_fail(&f->canary, -ERR_UNREACHABLE, 14, DIAL_ERR);
}

static kube_probes fk_probes(fake_rt *f, bool canary)
{
	kube_probes p = { .arg = f, .version = fk_version, .status = fk_status, .relist = fk_relist };
	if (canary)
		p.canary = fk_canary;
	return p;
}

/* --- driving the model ---------------------------------------------------------------- */

typedef struct run {
	kube_model *m;
	fake_rt f;
	int64_t t;     /* last tick */
	int64_t step;  /* tick period */
} run;

/* Every test builds its model through here and frees it in teardown, so a
 * fatal assertion does not leak it. */
static run *cur;

static run *run_new(const kube_config *cfg, bool canary)
{
	run *r = calloc(1, sizeof *r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	fk_healthy(&r->f);
	kube_probes p = fk_probes(&r->f, canary);
	crit_err e;
	err_clear(&e);
	kube_config def;
	if (!cfg) {
		kube_config_defaults(&def);
		cfg = &def;
	}
	int rc = kube_new(&r->m, cfg, &p, &e);
	CU_ASSERT_EQUAL(rc, 0);
	r->t = -1;
	r->step = 100;
	cur = r;
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->m);
	return r;
}

static fake_grpc *srv;
static cri_conn *conn;
static kube_async *g_async;
static void gate(bool hold, bool held_ready);

static void teardown(void)
{
	if (g_async)
		gate(false, true); /* never leave a worker blocked */
	if (cur) {
		kube_free(cur->m);
		free(cur);
		cur = NULL;
	}
	bool grpc_used = conn || srv;
	cri_close(conn);
	conn = NULL;
	fake_grpc_stop(srv);
	srv = NULL;
	kube_async_free(g_async); /* after the model */
	g_async = NULL;
	/* see test_cri_errors.c: under valgrind, let gRPC finish tearing the
	 * channel down before the leak check could see it half done */
	if (grpc_used && fake_time_scale() > 1)
		util_sleep_ms(1000);
}

/* Tick at every step up to and including until. */
static void run_to(run *r, int64_t until)
{
	int64_t t = r->t < 0 ? 0 : r->t + r->step;
	for (; t <= until; t += r->step) {
		CU_ASSERT_EQUAL(kube_tick(r->m, t), 0);
		r->t = t;
	}
}

static kube_view view(run *r)
{
	kube_view v;
	kube_get_view(r->m, &v);
	return v;
}

/* The nth (0-based) entry of comp with that state, or NULL. */
static const kube_event *ev_nth(run *r, kube_component comp, const char *state, int nth)
{
	size_t n;
	const kube_event *ev = kube_timeline(r->m, &n);
	for (size_t i = 0; i < n; i++)
		if (ev[i].comp == comp && !strcmp(ev[i].state, state) && nth-- == 0)
			return &ev[i];
	return NULL;
}

static int ev_count(run *r, kube_component comp, const char *state)
{
	size_t n;
	int c = 0;
	const kube_event *ev = kube_timeline(r->m, &n);
	for (size_t i = 0; i < n; i++)
		if (ev[i].comp == comp && (!state || !strcmp(ev[i].state, state)))
			c++;
	return c;
}

static const kube_event *ev_last(run *r, kube_component comp)
{
	size_t n;
	const kube_event *ev = kube_timeline(r->m, &n);
	for (size_t i = n; i-- > 0;)
		if (ev[i].comp == comp)
			return &ev[i];
	return NULL;
}

static const char *state_of(run *r, kube_component comp)
{
	const kube_event *e = ev_last(r, comp);
	return e ? e->state : "";
}

/* Print the timeline when a test fails, so the failure can be read. */
static void dump_if_failed(run *r, unsigned before)
{
	if (CU_get_number_of_failures() != before) {
		fprintf(stderr, "\n--- kubelet model timeline ---\n");
		kube_timeline_print(r->m, stderr);
	}
}

/* --- configuration and formatting ------------------------------------------------------- */

static void test_defaults(void)
{
	kube_config c;
	kube_config_defaults(&c);
	CU_ASSERT_EQUAL(c.runtime_check_ms, 5000);
	CU_ASSERT_EQUAL(c.runtime_down_ms, 30000);
	CU_ASSERT_EQUAL(c.relist_ms, 1000);
	CU_ASSERT_EQUAL(c.relist_threshold_ms, 180000);
	CU_ASSERT_EQUAL(c.request_timeout_ms, 120000);
	CU_ASSERT_EQUAL(c.node_status_ms, 10000);
	CU_ASSERT_EQUAL(c.node_ready_grace_ms, 120000);
	CU_ASSERT_EQUAL(c.lease_renew_ms, 10000);
	CU_ASSERT_EQUAL(c.restart_ms, 10000);
	CU_ASSERT_EQUAL(c.monitor_period_ms, 5000);
	CU_ASSERT_EQUAL(c.monitor_grace_ms, 50000);
	CU_ASSERT_EQUAL(c.startup_grace_ms, 60000);
	CU_ASSERT_EQUAL(c.backoff_initial_ms, 10000);
	CU_ASSERT_EQUAL(c.backoff_max_ms, 300000);
	CU_ASSERT_EQUAL(c.backoff_reset_ms, 600000);
	CU_ASSERT_STRING_EQUAL(c.endpoint, "unix:///run/containerd/containerd.sock");

	CU_ASSERT_EQUAL(kube_deadline_ms(&c, KUBE_RPC_DEFAULT, 0), 120000);
	CU_ASSERT_EQUAL(kube_deadline_ms(&c, KUBE_RPC_RUN_POD_SANDBOX, 0), 240000);
	CU_ASSERT_EQUAL(kube_deadline_ms(&c, KUBE_RPC_STOP_CONTAINER, 30), 150000);

	kube_config_scale(&c, 0.01);
	CU_ASSERT_EQUAL(c.runtime_check_ms, 50);
	CU_ASSERT_EQUAL(c.runtime_down_ms, 300);
	CU_ASSERT_EQUAL(c.relist_ms, 10);
	CU_ASSERT_EQUAL(c.relist_threshold_ms, 1800);
	CU_ASSERT_EQUAL(c.request_timeout_ms, 1200);
	CU_ASSERT_EQUAL(c.restart_ms, 100);
	CU_ASSERT_EQUAL(c.monitor_grace_ms, 500);
	CU_ASSERT_EQUAL(c.backoff_max_ms, 3000);
	CU_ASSERT_EQUAL(c.canary_every, 6);
	CU_ASSERT_EQUAL(kube_deadline_ms(&c, KUBE_RPC_RUN_POD_SANDBOX, 0), 2400);
	kube_config_scale(&c, 0.00001); /* never below 1 ms */
	CU_ASSERT_EQUAL(c.relist_ms, 1);
}

static void test_go_duration(void)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ 0, "0s" },	       { 1, "1ms" },	       { 500, "500ms" },	{ 1000, "1s" },
		{ 1500, "1.5s" },      { 59999, "59.999s" },   { 60000, "1m0s" },	{ 180000, "3m0s" },
		{ 180500, "3m0.5s" },  { 180010, "3m0.01s" },  { 190000, "3m10s" },	{ 3600000, "1h0m0s" },
		{ 3723004, "1h2m3.004s" }, { -1500, "-1.5s" },
	};
	char buf[32];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = kube_duration_str(cases[i].ms, buf, sizeof buf);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
		if (strcmp(got, cases[i].want))
			fprintf(stderr, "\n%lld ms: got %s, want %s\n", (long long)cases[i].ms, got, cases[i].want);
	}
}

static void test_new_rejects_bad_input(void)
{
	kube_config c;
	kube_config_defaults(&c);
	kube_probes none = { 0 };
	kube_model *m = (kube_model *)1;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(kube_new(&m, &c, &none, &e), -EINVAL);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(strstr(e.msg, "probes") != NULL);
	fake_rt f;
	fk_healthy(&f);
	kube_probes p = fk_probes(&f, false);
	c.relist_ms = 0;
	CU_ASSERT_EQUAL(kube_new(&m, &c, &p, &e), -EINVAL);
	CU_ASSERT_PTR_NULL(m);
}

/* --- start-up and runtime health ------------------------------------------------------------- */

static void test_start_healthy(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	run_to(r, 0);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_READY);
	CU_ASSERT_STRING_EQUAL(v.node_reason, "KubeletReady");
	CU_ASSERT_STRING_EQUAL(v.node_message, "kubelet is posting ready status");
	CU_ASSERT_EQUAL(v.starts, 1);
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, 0);
	CU_ASSERT_EQUAL(v.relist_last_ok_ms, 0);
	CU_ASSERT_EQUAL(v.lease_renewed_ms, 0);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_KUBELET), "Running");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "ready");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_PLEG), "healthy");
	/* the node was Ready before the model started: posting Ready again is no change */
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_NODE, NULL), 1);
	/* every probe got the kubelet's default deadline */
	CU_ASSERT_EQUAL(r->f.version.deadline, 120000);
	CU_ASSERT_EQUAL(r->f.status.deadline, 120000);
	CU_ASSERT_EQUAL(r->f.relist.deadline, 120000);

	/* periods: Status every 5 s, relist every 1 s */
	run_to(r, S(60));
	CU_ASSERT_EQUAL(r->f.version.calls, 1);
	CU_ASSERT_EQUAL(r->f.status.calls, 13);
	CU_ASSERT_EQUAL(r->f.relist.calls, 61);
	CU_ASSERT_EQUAL(view(r).lease_renewed_ms, S(60));
	size_t n;
	kube_timeline(r->m, &n);
	CU_ASSERT_EQUAL(n, 6); /* node, Starting, Running, runtime, network, pleg */
	dump_if_failed(r, before);
}

/* The runtime dies at 12 s (last good Status at 10 s): not down before 40 s,
 * down and NotReady at 40 s; back at 51 s: up at the next Status (55 s). */
static void runtime_down_and_back(int64_t node_status_ms)
{
	unsigned before = CU_get_number_of_failures();
	kube_config c;
	kube_config_defaults(&c);
	c.node_status_ms = node_status_ms;
	run *r = run_new(&c, false);
	run_to(r, 11900);
	fk_dead(&r->f);
	run_to(r, 39900);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_READY);
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, S(10));
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "failing");
	const kube_event *fail = ev_nth(r, KUBE_C_RUNTIME, "failing", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fail);
	CU_ASSERT_EQUAL(fail->t_ms, S(15));
	CU_ASSERT_STRING_EQUAL(fail->reason, "StatusFailed");
	CU_ASSERT(strstr(fail->message, "code = Unavailable") != NULL);

	run_to(r, S(40));
	v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_reason, "KubeletNotReady");
	CU_ASSERT_STRING_EQUAL(v.node_message, "container runtime is down");
	const kube_event *down = ev_nth(r, KUBE_C_RUNTIME, "down", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(down);
	CU_ASSERT_EQUAL(down->t_ms, S(40));
	const kube_event *nr = ev_nth(r, KUBE_C_NODE, "NotReady", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nr);
	CU_ASSERT_EQUAL(nr->t_ms, S(40));
	CU_ASSERT_STRING_EQUAL(nr->message, "container runtime is down");
	/* the kubelet itself keeps running and keeps its lease */
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(v.lease_renewed_ms, S(40));

	run_to(r, 50900);
	fk_healthy(&r->f);
	run_to(r, 54900);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "down");
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_NOTREADY);
	run_to(r, S(55));
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_RUNTIME)->t_ms, S(55));
	/* Ready at the first node status post after that Status */
	int64_t ready_at = ((S(55) + node_status_ms - 1) / node_status_ms) * node_status_ms;
	if (ready_at > S(55)) {
		run_to(r, ready_at - r->step);
		CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_NOTREADY);
	}
	run_to(r, ready_at);
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_NODE)->t_ms, ready_at);
	dump_if_failed(r, before);
}

static void test_runtime_down_threshold(void) { runtime_down_and_back(S(10)); }

static void test_runtime_down_fast_posts(void)
{
	/* posting node status on every tick: Ready exactly at the good Status */
	runtime_down_and_back(100);
}

static void test_runtime_not_ready(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	run_to(r, 11900);
	fk_conditions(&r->f, false, "CRIServiceBroken", "state directory is read-only", true, "", "");
	run_to(r, S(20));
	const char *why = "container runtime not ready: RuntimeReady=false reason:CRIServiceBroken "
			  "message:state directory is read-only";
	const kube_event *nr = ev_nth(r, KUBE_C_RUNTIME, "not-ready", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nr);
	CU_ASSERT_EQUAL(nr->t_ms, S(15));
	CU_ASSERT_STRING_EQUAL(nr->message, why);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_message, why);
	/* RuntimeReady=false does not refresh the last sync: down 30 s after it */
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, S(10));
	run_to(r, S(40));
	char agg[600];
	snprintf(agg, sizeof agg, "[container runtime is down, %s]", why);
	CU_ASSERT_STRING_EQUAL(view(r).node_message, agg);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "down");
	dump_if_failed(r, before);

	/* Not ready from the very first Status: never synced. */
	teardown();
	r = run_new(NULL, false);
	fk_conditions(&r->f, false, "CRIServiceBroken", "state directory is read-only", true, "", "");
	run_to(r, 0);
	snprintf(agg, sizeof agg, "[container runtime status check may not have completed yet, %s]", why);
	CU_ASSERT_STRING_EQUAL(view(r).node_message, agg);
	CU_ASSERT_EQUAL(view(r).runtime_last_ok_ms, -1);
	dump_if_failed(r, before);
}

static void test_network_not_ready(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	fk_conditions(&r->f, true, "", "", false, "NetworkPluginNotReady",
		      "Network plugin returns error: cni plugin not initialized");
	run_to(r, 0);
	const char *want = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
			   "message:Network plugin returns error: cni plugin not initialized";
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_reason, "KubeletNotReady");
	CU_ASSERT_STRING_EQUAL(v.node_message, want);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "not-ready");
	CU_ASSERT_STRING_EQUAL(ev_last(r, KUBE_C_NETWORK)->reason, "NetworkNotReady");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up"); /* the runtime itself is fine */
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, 0);

	run_to(r, 29900);
	fk_conditions(&r->f, true, "", "", true, "", "");
	run_to(r, S(30));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "ready");
	dump_if_failed(r, before);
}

/* fastStatusUpdateOnce: for 2 min after a start, turning Ready is posted at
 * once; later only at the regular 10 s posts. Being NotReady never is. */
static void test_fast_status_after_start(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	fk_conditions(&r->f, true, "", "", false, "NetworkPluginNotReady", "cni plugin not initialized");
	run_to(r, S(12));
	fk_conditions(&r->f, true, "", "", true, "", "");
	run_to(r, S(15));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_NODE)->t_ms, S(15)); /* not 20 s */
	/* NotReady again: only at the regular post */
	fk_conditions(&r->f, true, "", "", false, "NetworkPluginNotReady", "cni plugin not initialized");
	run_to(r, S(19));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	run_to(r, S(20));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_NOTREADY);
	/* past the 2 min of fast updates: Ready waits for the regular post */
	run_to(r, S(151));
	fk_conditions(&r->f, true, "", "", true, "", "");
	run_to(r, S(159));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "ready"); /* seen at 155 s */
	run_to(r, S(160));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	dump_if_failed(r, before);
}

static void test_status_without_conditions(void)
{
	unsigned before = CU_get_number_of_failures();
	/* no conditions at all, from the start */
	run *r = run_new(NULL, false);
	r->f.st.n = 0;
	run_to(r, 0);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_message,
			       "[container runtime status check may not have completed yet, network state unknown]");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "failing");
	CU_ASSERT_STRING_EQUAL(ev_last(r, KUBE_C_RUNTIME)->message,
			       "RuntimeReady or NetworkReady condition are not set");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "unknown");
	dump_if_failed(r, before);

	/* one condition only, after a good start: an error like a failed call */
	teardown();
	r = run_new(NULL, false);
	run_to(r, 11900);
	r->f.st.n = 1;
	run_to(r, 39900);
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "failing");
	CU_ASSERT_EQUAL(view(r).runtime_last_ok_ms, S(10));
	run_to(r, S(40));
	CU_ASSERT_STRING_EQUAL(view(r).node_message, "container runtime is down");
	dump_if_failed(r, before);

	/* two conditions but no NetworkReady among them: the kubelet prints <nil> */
	teardown();
	r = run_new(NULL, false);
	fk_cond(&r->f.st.cond[1], "RuntimeReady", true, "", "");
	run_to(r, 0);
	CU_ASSERT_STRING_EQUAL(view(r).node_message, "container runtime network not ready: <nil>");
	dump_if_failed(r, before);
}

/* --- PLEG ----------------------------------------------------------------------------------- */

static void test_pleg_unhealthy(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	r->step = 500;
	run_to(r, S(10));
	fk_fail(&r->f.relist, -ERR_GRPC, 13, "ListPodSandbox on unix:///x.sock: INTERNAL: boom");
	run_to(r, S(190));
	CU_ASSERT_EQUAL(view(r).relist_last_ok_ms, S(10));
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_PLEG), "failing");
	CU_ASSERT_EQUAL(ev_nth(r, KUBE_C_PLEG, "failing", 0)->t_ms, S(11));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY); /* exactly 3m0s is not yet "more than" */
	run_to(r, 190500);
	const kube_event *u = ev_nth(r, KUBE_C_PLEG, "unhealthy", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(u->t_ms, 190500);
	CU_ASSERT_STRING_EQUAL(u->reason, "PLEGNotHealthy");
	CU_ASSERT_STRING_EQUAL(u->message,
			       "PLEG is not healthy: pleg was last seen active 3m0.5s ago; threshold is 3m0s");
	/* the node shows it at the next status post (200 s) */
	run_to(r, S(200));
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_message,
			       "PLEG is not healthy: pleg was last seen active 3m10s ago; threshold is 3m0s");
	/* the runtime answered Status all along */
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	/* back: healthy at the next relist, Ready at the next post */
	fk_ok(&r->f.relist);
	run_to(r, S(210));
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_PLEG), "healthy");
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	dump_if_failed(r, before);
}

static void test_pleg_hung_relist(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	r->step = 500;
	run_to(r, S(10));
	CU_ASSERT_EQUAL(r->f.relist.calls, 11);
	fk_fail(&r->f.relist, -ERR_GRPC, 4, "ListPodSandbox on unix:///x.sock: DEADLINE_EXCEEDED after 120000 ms");
	run_to(r, S(260));
	/* hung at 11 s for the 2 min deadline, retried a period after: 132 s, 253 s */
	CU_ASSERT_EQUAL(r->f.relist.calls, 14);
	CU_ASSERT_EQUAL(view(r).relist_last_ok_ms, S(10));
	const kube_event *f = ev_nth(r, KUBE_C_PLEG, "failing", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->t_ms, S(11));
	CU_ASSERT(util_has_prefix(f->message, "rpc error: code = DeadlineExceeded desc = "));
	const kube_event *u = ev_nth(r, KUBE_C_PLEG, "unhealthy", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(u->t_ms, 190500);
	CU_ASSERT_STRING_EQUAL(u->message,
			       "PLEG is not healthy: pleg was last seen active 3m0.5s ago; threshold is 3m0s");
	dump_if_failed(r, before);
}

/* --- the kubelet process and the node controller --------------------------------------------- */

static const char *EXIT_UNAVAILABLE =
	"failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "
	"\"unix:///run/containerd/containerd.sock\": rpc error: code = Unavailable desc = connection error: desc = "
	"\"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or "
	"directory\"";

static void test_crash_loop(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	r->step = 500;
	fk_dead(&r->f);
	run_to(r, 0);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_CRASHLOOP);
	CU_ASSERT_STRING_EQUAL(v.exit_message, EXIT_UNAVAILABLE);
	CU_ASSERT_EQUAL(v.next_start_ms, S(10));
	const kube_event *c0 = ev_nth(r, KUBE_C_KUBELET, "CrashLooping", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c0);
	CU_ASSERT(util_has_prefix(c0->message, EXIT_UNAVAILABLE));
	CU_ASSERT(strstr(c0->message, "next start at +10.000s") != NULL);

	run_to(r, S(50));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY); /* not before the grace period */
	run_to(r, S(99));
	/* a start every 10 s: 0, 10, ..., 90 */
	CU_ASSERT_EQUAL(r->f.version.calls, 10);
	for (int i = 0; i < 10; i++) {
		const kube_event *s = ev_nth(r, KUBE_C_KUBELET, "Starting", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(s->t_ms, S(10 * i));
		const kube_event *c = ev_nth(r, KUBE_C_KUBELET, "CrashLooping", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->t_ms, S(10 * i));
	}
	/* no lease renewed since the model started: Unknown at the first
	 * monitor pass after 50 s */
	v = view(r);
	CU_ASSERT_EQUAL(v.lease_renewed_ms, 0);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(v.node_reason, "NodeStatusUnknown");
	CU_ASSERT_STRING_EQUAL(v.node_message, "Kubelet stopped posting node status.");
	CU_ASSERT_EQUAL(ev_nth(r, KUBE_C_NODE, "Unknown", 0)->t_ms, S(55));
	/* a kubelet that never ran has nothing to say about runtime or PLEG */
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_RUNTIME, NULL), 0);
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_PLEG, NULL), 0);
	CU_ASSERT_EQUAL(r->f.status.calls, 0);

	/* the runtime comes back at 100.5 s: Ready within one restart period */
	run_to(r, S(100));
	fk_healthy(&r->f);
	run_to(r, S(110));
	v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_READY);
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_NODE)->t_ms, S(110));
	CU_ASSERT_STRING_EQUAL(v.exit_message, "");
	dump_if_failed(r, before);
}

static void test_version_hangs(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	r->step = 500;
	fk_fail(&r->f.version, -ERR_GRPC, 4,
		"Version on unix:///run/containerd/containerd.sock: DEADLINE_EXCEEDED after 120000 ms");
	run_to(r, 119500);
	CU_ASSERT_EQUAL(view(r).kubelet, KUBE_KUBELET_STARTING);
	CU_ASSERT_EQUAL(r->f.version.calls, 1);
	run_to(r, S(120));
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_CRASHLOOP);
	CU_ASSERT_STRING_EQUAL(v.exit_message,
			       "failed to run Kubelet: validate service connection: validate CRI v1 runtime API for "
			       "endpoint \"unix:///run/containerd/containerd.sock\": rpc error: code = DeadlineExceeded "
			       "desc = Version on unix:///run/containerd/containerd.sock: DEADLINE_EXCEEDED after 120000 ms");
	CU_ASSERT_EQUAL(v.next_start_ms, S(130));
	CU_ASSERT_EQUAL(ev_nth(r, KUBE_C_KUBELET, "CrashLooping", 0)->t_ms, S(120));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_UNKNOWN);
	dump_if_failed(r, before);
}

static void stopped_kubelet(int64_t grace_ms)
{
	unsigned before = CU_get_number_of_failures();
	kube_config c;
	kube_config_defaults(&c);
	c.monitor_grace_ms = grace_ms;
	run *r = run_new(&c, false);
	run_to(r, S(25));
	CU_ASSERT_EQUAL(view(r).lease_renewed_ms, S(20));
	CU_ASSERT_EQUAL(kube_kubelet_stop(r->m, S(25)), 0);
	CU_ASSERT_EQUAL(view(r).kubelet, KUBE_KUBELET_STOPPED);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "off");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_PLEG), "off");
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_NETWORK), "off");
	/* last renewal at 20 s: Unknown at the first monitor pass strictly after 20 s + grace */
	int64_t limit = S(20) + grace_ms;
	run_to(r, limit);
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	run_to(r, limit + c.monitor_period_ms);
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_UNKNOWN);
	CU_ASSERT_EQUAL(ev_nth(r, KUBE_C_NODE, "Unknown", 0)->t_ms, limit + c.monitor_period_ms);
	/* nobody restarts a stopped kubelet */
	run_to(r, S(100));
	CU_ASSERT_EQUAL(r->f.version.calls, 1);
	CU_ASSERT_EQUAL(view(r).kubelet, KUBE_KUBELET_STOPPED);
	CU_ASSERT_EQUAL(kube_kubelet_start(r->m, S(100)), 0);
	CU_ASSERT_EQUAL(kube_tick(r->m, S(100)), 0);
	CU_ASSERT_EQUAL(view(r).kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_READY);
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_NODE)->t_ms, S(100));
	/* time cannot go back */
	CU_ASSERT_EQUAL(kube_tick(r->m, S(99)), -EINVAL);
	dump_if_failed(r, before);
}

static void test_kubelet_down_unknown(void) { stopped_kubelet(S(50)); }
static void test_kubelet_down_unknown_old_grace(void) { stopped_kubelet(S(40)); }

static void test_restart_resets_memory(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	run_to(r, S(20));
	CU_ASSERT_EQUAL(kube_kubelet_restart(r->m, S(20)), 0);
	/* the restarted kubelet comes up on a Status that fails: it cannot say
	 * "down", only that the check has not completed */
	fk_fail(&r->f.status, -ERR_UNREACHABLE, 14, DIAL_ERR);
	run_to(r, S(80));
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(v.starts, 2);
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, -1);
	CU_ASSERT_STRING_EQUAL(v.node_message,
			       "[container runtime status check may not have completed yet, network state unknown]");
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_KUBELET, "Stopped"), 1);
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_RUNTIME, "down"), 0);
	dump_if_failed(r, before);
}

static void test_never_posted_node(void)
{
	unsigned before = CU_get_number_of_failures();
	kube_config c;
	kube_config_defaults(&c);
	c.node_ready_at_start = false;
	run *r = run_new(&c, false);
	r->step = 1000;
	fk_dead(&r->f);
	run_to(r, S(60));
	CU_ASSERT_EQUAL(view(r).node, KUBE_NODE_NONE);
	run_to(r, S(65));
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(v.node_reason, "NodeStatusNeverUpdated");
	CU_ASSERT_STRING_EQUAL(v.node_message, "Kubelet never posted node status.");
	dump_if_failed(r, before);
}

/* --- canary --------------------------------------------------------------------------------- */

static void test_canary(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, true);
	run_to(r, S(20));
	CU_ASSERT_EQUAL(r->f.canary.calls, 1);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_CANARY), "ok");
	/* alive but broken: Status fine, real work fails */
	fk_fail(&r->f.canary, -ERR_GRPC, 2,
		"canary sandbox: RunPodSandbox on unix:///x.sock: UNKNOWN: mkdir /var/lib/containerd: read-only file system");
	run_to(r, S(90));
	CU_ASSERT_EQUAL(r->f.canary.calls, 4); /* every 6 Status periods: 0, 30, 60, 90 */
	CU_ASSERT_EQUAL(r->f.canary.deadline, 120000);
	kube_view v = view(r);
	CU_ASSERT(v.canary_ran);
	CU_ASSERT(!v.canary_ok);
	CU_ASSERT_EQUAL(v.canary_at_ms, S(90));
	CU_ASSERT(strstr(v.canary_message, "read-only file system") != NULL);
	const kube_event *f = ev_nth(r, KUBE_C_CANARY, "failed", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->t_ms, S(30));
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_CANARY, "failed"), 1);
	/* what a kubelet sees is untouched */
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_READY);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	dump_if_failed(r, before);
}

/* --- timeline --------------------------------------------------------------------------------- */

static void test_timeline_changes_only(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, true);
	r->step = 250;
	run_to(r, S(30));
	/* a flapping Status: fails, recovers, fails again with the same error */
	for (int i = 0; i < 4; i++) {
		fk_fail(&r->f.status, -ERR_UNREACHABLE, 14, DIAL_ERR);
		run_to(r, r->t + S(10));
		fk_ok(&r->f.status);
		run_to(r, r->t + S(10));
	}
	fk_dead(&r->f);
	run_to(r, S(200));
	fk_healthy(&r->f);
	run_to(r, S(300));

	size_t n;
	const kube_event *ev = kube_timeline(r->m, &n);
	CU_ASSERT(n > 10);
	for (size_t i = 1; i < n; i++)
		CU_ASSERT(ev[i].t_ms >= ev[i - 1].t_ms);
	/* no component repeats itself */
	for (kube_component c = 0; c < KUBE_C_COUNT; c++) {
		const kube_event *prev = NULL;
		for (size_t i = 0; i < n; i++) {
			if (ev[i].comp != c)
				continue;
			if (prev)
				CU_ASSERT(strcmp(prev->state, ev[i].state) || strcmp(prev->reason, ev[i].reason) ||
					  strcmp(prev->message, ev[i].message));
			prev = &ev[i];
		}
	}
	/* the flapping shows as four failing/up pairs, not one entry per call */
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_RUNTIME, "failing"), 5);
	/* in order: the runtime is down before the node says so */
	const kube_event *down = ev_nth(r, KUBE_C_RUNTIME, "down", 0);
	const kube_event *nr = ev_nth(r, KUBE_C_NODE, "NotReady", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(down);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nr);
	CU_ASSERT(down <= nr);

	/* printed: one aligned line per entry */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	kube_timeline_print(r->m, f);
	fclose(f);
	size_t lines = 0;
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		CU_ASSERT(line[11] == ' ' && line[12] == ' ' && line[13] != ' ');
		CU_ASSERT(line[10] == 's');
		lines++;
	}
	CU_ASSERT_EQUAL(lines, n);
	free(buf);
	dump_if_failed(r, before);
}

static void test_timeline_print_format(void)
{
	unsigned before = CU_get_number_of_failures();
	run *r = run_new(NULL, false);
	run_to(r, 11900);
	fk_dead(&r->f);
	run_to(r, S(40));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	kube_timeline_print(r->m, f);
	fclose(f);
	CU_ASSERT(strstr(buf, "   +40.000s  node     NotReady      KubeletNotReady        container runtime is down\n") !=
		  NULL);
	CU_ASSERT(strstr(buf, "    +0.000s  kubelet  Running       -                      validated CRI v1 runtime "
			      "API on unix:///run/containerd/containerd.sock\n") != NULL);
	if (CU_get_number_of_failures() != before)
		fprintf(stderr, "\n%s", buf);
	free(buf);
}

/* --- back-off ----------------------------------------------------------------------------------- */

static void test_backoff_sequence(void)
{
	kube_config c;
	kube_config_defaults(&c);
	kube_backoff b = { 0 };
	static const int64_t want[] = { 10, 20, 40, 80, 160, 300, 300 };
	int64_t t = 0;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		int64_t d = kube_backoff_next(&c, &b, t);
		CU_ASSERT_EQUAL(d, S(want[i]));
		t += d + S(1); /* restarted after the delay, crashed a second later */
	}
	/* exactly 10 min without a crash is not enough to forget */
	int64_t last = b.last_ms;
	CU_ASSERT_EQUAL(kube_backoff_next(&c, &b, last + S(600)), S(300));
	/* more than 10 min: start over */
	last = b.last_ms;
	CU_ASSERT_EQUAL(kube_backoff_next(&c, &b, last + S(600) + 1), S(10));
	CU_ASSERT_EQUAL(kube_backoff_next(&c, &b, last + S(601)), S(20));
}

static void test_backoff_history(void)
{
	kube_config c;
	kube_config_defaults(&c);
	CU_ASSERT_EQUAL(kube_backoff_after(&c, NULL, 0), 0);
	int64_t h[] = { 0, S(11), S(32), S(73) };
	CU_ASSERT_EQUAL(kube_backoff_after(&c, h, 1), S(10));
	CU_ASSERT_EQUAL(kube_backoff_after(&c, h, 4), S(80));
	int64_t gap[] = { 0, S(11), S(32), S(32) + S(700) };
	CU_ASSERT_EQUAL(kube_backoff_after(&c, gap, 4), S(10));
	/* scaled by 0.01: the same history a hundred times faster */
	kube_config_scale(&c, 0.01);
	int64_t fast[] = { 0, 110, 320, 730 };
	CU_ASSERT_EQUAL(kube_backoff_after(&c, fast, 4), 800);
	CU_ASSERT_EQUAL(kube_backoff_after(&c, h, 4), 100); /* 11 s apart is past the 6 s reset */
}

/* --- sandbox decision -------------------------------------------------------------------------- */

static void test_sandbox_decision(void)
{
	kube_sandbox_decision d;
	crit_err e;
	err_clear(&e);
	kube_pod pod = { 0 };

	/* no sandbox: create attempt 0, no event */
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, NULL, 0, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_CREATE);
	CU_ASSERT_EQUAL(d.attempt, 0);
	CU_ASSERT(!d.kill_pod);
	CU_ASSERT_STRING_EQUAL(d.event, "");
	CU_ASSERT_EQUAL(d.newest, -1);

	/* after a runtime restart the newest sandbox is NOTREADY (given in any order) */
	kube_sandbox sb[3] = {
		{ .id = "old", .state = KUBE_SANDBOX_NOTREADY, .created_at = 100, .attempt = 0, .ip = "10.88.0.4" },
		{ .id = "new", .state = KUBE_SANDBOX_NOTREADY, .created_at = 300, .attempt = 2, .ip = "10.88.0.9" },
		{ .id = "mid", .state = KUBE_SANDBOX_NOTREADY, .created_at = 200, .attempt = 1, .ip = "" },
	};
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, sb, 3, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_RECREATE);
	CU_ASSERT_EQUAL(d.newest, 1);
	CU_ASSERT_EQUAL(d.attempt, 3);
	CU_ASSERT(d.kill_pod);
	CU_ASSERT_STRING_EQUAL(d.sandbox_id, "new");
	CU_ASSERT_STRING_EQUAL(d.event, "SandboxChanged");
	CU_ASSERT_STRING_EQUAL(d.event_message, "Pod sandbox changed, it will be killed and re-created.");
	CU_ASSERT_STRING_EQUAL(d.message, "No ready sandbox for pod can be found. Need to start a new one");

	/* ready but without an IP in a pod-network pod */
	kube_sandbox noip = { .id = "a", .state = KUBE_SANDBOX_READY, .created_at = 5, .attempt = 0, .ip = NULL };
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, &noip, 1, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_RECREATE);
	CU_ASSERT_EQUAL(d.attempt, 1);
	CU_ASSERT_STRING_EQUAL(d.event, "SandboxChanged");
	CU_ASSERT_STRING_EQUAL(d.message, "Sandbox for pod has no IP address. Need to start a new one");

	/* a host-network pod has no IP of its own: fine */
	kube_pod hostnet = { .host_network = true };
	noip.host_network = true;
	CU_ASSERT_EQUAL(kube_sandbox_decide(&hostnet, &noip, 1, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_KEEP);
	CU_ASSERT_EQUAL(d.attempt, 0);
	CU_ASSERT(!d.kill_pod);
	CU_ASSERT_STRING_EQUAL(d.event, "");

	/* ready with an IP: keep */
	kube_sandbox ok = { .id = "b", .state = KUBE_SANDBOX_READY, .created_at = 5, .attempt = 4, .ip = "10.88.0.2" };
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, &ok, 1, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_KEEP);
	CU_ASSERT_EQUAL(d.attempt, 4);
	CU_ASSERT_STRING_EQUAL(d.sandbox_id, "b");

	/* two READY: reconcile, the whole pod is killed, attempt of the newest + 1 */
	kube_sandbox two[2] = {
		{ .id = "x", .state = KUBE_SANDBOX_READY, .created_at = 10, .attempt = 0, .ip = "10.88.0.2" },
		{ .id = "y", .state = KUBE_SANDBOX_READY, .created_at = 20, .attempt = 1, .ip = "10.88.0.3" },
	};
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, two, 2, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_RECONCILE);
	CU_ASSERT(d.kill_pod);
	CU_ASSERT_EQUAL(d.attempt, 2);
	CU_ASSERT_STRING_EQUAL(d.sandbox_id, "y");
	CU_ASSERT_STRING_EQUAL(d.event, "SandboxChanged");
	CU_ASSERT_STRING_EQUAL(d.message, "Multiple sandboxes are ready for Pod. Need to reconcile them");

	/* the network namespace mode changed: re-create without an event */
	CU_ASSERT_EQUAL(kube_sandbox_decide(&hostnet, &ok, 1, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_RECREATE);
	CU_ASSERT_STRING_EQUAL(d.sandbox_id, "");
	CU_ASSERT_STRING_EQUAL(d.event, "");

	/* restartPolicy Never whose containers ran: killed, not re-created */
	kube_pod never = { .restart_never = true, .had_containers = true };
	CU_ASSERT_EQUAL(kube_sandbox_decide(&never, sb, 3, &d, &e), 0);
	CU_ASSERT_EQUAL(d.action, KUBE_SB_KILL_ONLY);
	CU_ASSERT(d.kill_pod);
	CU_ASSERT_STRING_EQUAL(d.event, "");
	CU_ASSERT_STRING_EQUAL(kube_sandbox_action_name(d.action), "kill-only");

	CU_ASSERT_EQUAL(kube_sandbox_decide(NULL, sb, 3, &d, &e), -EINVAL);
	CU_ASSERT_EQUAL(kube_sandbox_decide(&pod, NULL, 2, &d, &e), -EINVAL);
}

/* --- the CRI adapter against the fake gRPC server ------------------------------------------------ */

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-kube-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	teardown();
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

static void reply_msg(const ProtobufCMessage *msg, uint8_t *buf, size_t cap)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	CU_ASSERT_FATAL(n <= cap);
	protobuf_c_message_pack(msg, buf);
	fake_reply r = { .status = 0, .nmsgs = 1 };
	r.msgs[0].data = buf;
	r.msgs[0].len = n;
	fake_grpc_set_reply(srv, &r);
}

static void test_cri_adapter(void)
{
	char path[128], ep[160];
	snprintf(path, sizeof path, "%s/cri.sock", tmpdir);
	snprintf(ep, sizeof ep, "unix://%s", path);
	CU_ASSERT_FATAL(fake_grpc_start(&srv, path) == 0);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(cri_connect(&conn, ep, NULL, 5000, &e) == 0);
	kube_probes p = kube_probes_cri(conn);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p.canary);

	/* Status with one condition only: the adapter reports what came */
	Runtime__V1__RuntimeCondition rc1 = RUNTIME__V1__RUNTIME_CONDITION__INIT;
	rc1.type = "RuntimeReady";
	rc1.status = 1;
	rc1.reason = "r";
	rc1.message = "m";
	Runtime__V1__RuntimeCondition rc2 = RUNTIME__V1__RUNTIME_CONDITION__INIT;
	rc2.type = "NetworkReady";
	Runtime__V1__RuntimeCondition *conds[] = { &rc1, &rc2 };
	Runtime__V1__RuntimeStatus rs = RUNTIME__V1__RUNTIME_STATUS__INIT;
	rs.n_conditions = 1;
	rs.conditions = conds;
	Runtime__V1__StatusResponse sr = RUNTIME__V1__STATUS_RESPONSE__INIT;
	sr.status = &rs;
	uint8_t buf[512];
	reply_msg(&sr.base, buf, sizeof buf);
	kube_runtime_status st;
	CU_ASSERT_EQUAL(p.status(p.arg, 5000, &st, &e), 0);
	CU_ASSERT_EQUAL(st.n, 1);
	CU_ASSERT_STRING_EQUAL(st.cond[0].type, "RuntimeReady");
	CU_ASSERT(st.cond[0].status);
	CU_ASSERT_STRING_EQUAL(st.cond[0].reason, "r");
	CU_ASSERT_STRING_EQUAL(st.cond[0].message, "m");

	rs.n_conditions = 2;
	reply_msg(&sr.base, buf, sizeof buf);
	CU_ASSERT_EQUAL(p.status(p.arg, 5000, &st, &e), 0);
	CU_ASSERT_EQUAL(st.n, 2);
	CU_ASSERT_STRING_EQUAL(st.cond[1].type, "NetworkReady");
	CU_ASSERT(!st.cond[1].status);

	/* an empty OK reply decodes as every list/version/sandbox reply */
	static const uint8_t empty[1];
	fake_reply ok = { .status = 0, .nmsgs = 1 };
	ok.msgs[0].data = empty;
	ok.msgs[0].len = 0;
	fake_grpc_set_reply(srv, &ok);
	char last[128];
	int calls0 = fake_grpc_calls(srv, last, sizeof last);
	CU_ASSERT_EQUAL(p.version(p.arg, 5000, &e), 0);
	CU_ASSERT_EQUAL(p.relist(p.arg, 5000, &e), 0);
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, last, sizeof last), calls0 + 3);
	CU_ASSERT_STRING_EQUAL(last, "/runtime.v1.RuntimeService/ListContainers");
	CU_ASSERT_EQUAL(p.canary(p.arg, 5000, &e), 0);
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, last, sizeof last), calls0 + 6);
	CU_ASSERT_STRING_EQUAL(last, "/runtime.v1.RuntimeService/RemovePodSandbox");

	/* a canary whose RunPodSandbox fails says so */
	fake_reply bad = { .status = 2, .details = "mkdir /var/lib/containerd/x: read-only file system" };
	fake_grpc_set_reply(srv, &bad);
	err_clear(&e);
	CU_ASSERT(p.canary(p.arg, 5000, &e) < 0);
	CU_ASSERT(util_has_prefix(e.msg, "canary sandbox: RunPodSandbox on "));
	CU_ASSERT(strstr(e.msg, "read-only file system") != NULL);

	/* a hung Status comes back as a deadline the model treats as hung */
	fake_reply hang = { .status = 0, .hang = true };
	fake_grpc_set_reply(srv, &hang);
	err_clear(&e);
	CU_ASSERT(p.status(p.arg, 200, &st, &e) < 0);
	CU_ASSERT_EQUAL(e.grpc_status, 4);
}

static void test_cri_adapter_missing_socket(void)
{
	unsigned before = CU_get_number_of_failures();
	char ep[160];
	snprintf(ep, sizeof ep, "unix://%s/nosuch.sock", tmpdir);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(cri_connect(&conn, ep, NULL, 5000, &e) == 0);
	kube_config c;
	kube_config_defaults(&c);
	snprintf(c.endpoint, sizeof c.endpoint, "%s", cri_endpoint(conn));
	kube_probes p = kube_probes_cri(conn);
	run *r = calloc(1, sizeof *r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	cur = r;
	CU_ASSERT_FATAL(kube_new(&r->m, &c, &p, &e) == 0);
	CU_ASSERT_EQUAL(kube_tick(r->m, 0), 0);
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.kubelet, KUBE_KUBELET_CRASHLOOP);
	char want[1024];
	snprintf(want, sizeof want,
		 "failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint \"%s\": "
		 "rpc error: code = Unavailable desc = Version on %s: ",
		 ep, ep);
	CU_ASSERT(util_has_prefix(v.exit_message, want));
	if (!util_has_prefix(v.exit_message, want))
		fprintf(stderr, "\ngot: %s\nwant prefix: %s\n", v.exit_message, want);
	dump_if_failed(r, before);
}

/* --- asynchronous probes: real threads, model time still explicit ------------------------------- */

/* Probes that answer at once unless a Status call is held at the gate. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static bool g_hold;          /* Status calls wait while set */
static bool g_held_ready;    /* what a held Status answers for RuntimeReady */
static int g_status_calls, g_relist_calls, g_version_calls;

static int ga_version(void *arg, int64_t dl, crit_err *e)
{
	pthread_mutex_lock(&g_mu);
	g_version_calls++;
	pthread_mutex_unlock(&g_mu);
	return 0;
}

static int ga_relist(void *arg, int64_t dl, crit_err *e)
{
	pthread_mutex_lock(&g_mu);
	g_relist_calls++;
	pthread_mutex_unlock(&g_mu);
	return 0;
}

static int ga_status(void *arg, int64_t dl, kube_runtime_status *out, crit_err *e)
{
	pthread_mutex_lock(&g_mu);
	g_status_calls++;
	bool held = g_hold;
	while (g_hold)
		pthread_cond_wait(&g_cv, &g_mu);
	bool ready = held ? g_held_ready : true;
	pthread_mutex_unlock(&g_mu);
	memset(out, 0, sizeof *out);
	out->n = 2;
	fk_cond(&out->cond[0], "RuntimeReady", ready, ready ? "" : "Held", ready ? "" : "answered after the gate");
	fk_cond(&out->cond[1], "NetworkReady", true, "", "");
	return 0;
}

static void gate(bool hold, bool held_ready)
{
	pthread_mutex_lock(&g_mu);
	g_hold = hold;
	g_held_ready = held_ready;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
}

static int gate_calls(int *counter)
{
	pthread_mutex_lock(&g_mu);
	int n = *counter;
	pthread_mutex_unlock(&g_mu);
	return n;
}


enum settle_what { SETTLE_RUNNING, SETTLE_RELIST_AT, SETTLE_SYNC_AT };

/* Tick at the same model time until the answers it waits for are in. */
static bool settle(kube_model *m, int64_t now, enum settle_what what)
{
	int64_t deadline = util_now_ms() + 5000 * fake_time_scale();
	for (;;) {
		CU_ASSERT_EQUAL(kube_tick(m, now), 0);
		kube_view v;
		kube_get_view(m, &v);
		if ((what == SETTLE_RUNNING && v.kubelet == KUBE_KUBELET_RUNNING && v.runtime_last_ok_ms >= 0 &&
		     v.relist_last_ok_ms >= 0) ||
		    (what == SETTLE_RELIST_AT && v.relist_last_ok_ms == now) ||
		    (what == SETTLE_SYNC_AT && v.runtime_last_ok_ms == now))
			return true;
		if (util_now_ms() > deadline)
			return false;
		util_sleep_ms(1);
	}
}

static void test_async_probes(void)
{
	unsigned before = CU_get_number_of_failures();
	gate(false, true);
	g_status_calls = g_relist_calls = g_version_calls = 0;
	kube_probes inner = { .version = ga_version, .status = ga_status, .relist = ga_relist };
	kube_probes p;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(kube_async_new(&g_async, &inner, &p, &e) == 0);
	CU_ASSERT_PTR_NULL(p.canary);
	kube_config c;
	kube_config_defaults(&c);
	run *r = calloc(1, sizeof *r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	cur = r;
	CU_ASSERT_FATAL(kube_new(&r->m, &c, &p, &e) == 0);

	/* every answer comes from a worker thread: the first tick only asks */
	CU_ASSERT_EQUAL(kube_tick(r->m, 0), 0);
	CU_ASSERT_FATAL(settle(r->m, 0, SETTLE_RUNNING));
	CU_ASSERT_EQUAL(view(r).runtime_last_ok_ms, 0);

	/* Status hangs from the next check (5 s); relists and leases go on */
	gate(true, true);
	for (int64_t t = S(1); t <= S(40); t += S(1)) {
		int64_t t0 = util_now_ms();
		CU_ASSERT_EQUAL(kube_tick(r->m, t), 0);
		CU_ASSERT(util_now_ms() - t0 < 1000 * fake_time_scale()); /* a tick never blocks */
		CU_ASSERT_FATAL(settle(r->m, t, SETTLE_RELIST_AT));
	}
	CU_ASSERT_EQUAL(gate_calls(&g_status_calls), 2); /* at 0, and the one hanging since 5 s */
	kube_view v = view(r);
	CU_ASSERT_EQUAL(v.runtime_last_ok_ms, 0);
	CU_ASSERT_EQUAL(v.lease_renewed_ms, S(40));
	const kube_event *down = ev_nth(r, KUBE_C_RUNTIME, "down", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(down);
	CU_ASSERT_EQUAL(down->t_ms, S(30));
	CU_ASSERT_EQUAL(v.node, KUBE_NODE_NOTREADY);
	CU_ASSERT_STRING_EQUAL(v.node_message, "container runtime is down");

	/* the hung call returns: taken at the tick that sees it */
	gate(false, true);
	CU_ASSERT_FATAL(settle(r->m, S(41), SETTLE_SYNC_AT));
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	CU_ASSERT_EQUAL(ev_last(r, KUBE_C_RUNTIME)->t_ms, S(41));

	/* a kubelet restarted while its Status call hangs: the new kubelet
	 * does not take the old call's answer */
	gate(true, false);
	CU_ASSERT_EQUAL(kube_tick(r->m, S(46)), 0); /* the next check starts and hangs */
	CU_ASSERT_EQUAL(kube_kubelet_restart(r->m, S(47)), 0);
	CU_ASSERT_FATAL(settle(r->m, S(48), SETTLE_RELIST_AT));
	CU_ASSERT_EQUAL(view(r).kubelet, KUBE_KUBELET_RUNNING);
	CU_ASSERT_EQUAL(view(r).runtime_last_ok_ms, -1);
	gate(false, false); /* the old call answers RuntimeReady=false: dropped */
	CU_ASSERT_FATAL(settle(r->m, S(49), SETTLE_SYNC_AT));
	CU_ASSERT_EQUAL(ev_count(r, KUBE_C_RUNTIME, "not-ready"), 0);
	CU_ASSERT_STRING_EQUAL(state_of(r, KUBE_C_RUNTIME), "up");
	CU_ASSERT_EQUAL(gate_calls(&g_version_calls), 2);
	dump_if_failed(r, before);
	teardown();

	/* bad input */
	kube_probes none = { 0 };
	kube_async *a = (kube_async *)1;
	CU_ASSERT_EQUAL(kube_async_new(&a, &none, &p, &e), -EINVAL);
	CU_ASSERT_PTR_NULL(a);
}

/* --- a scaled run, as fast scenarios use it ----------------------------------------------------- */

static void test_scaled_periods(void)
{
	unsigned before = CU_get_number_of_failures();
	kube_config c;
	kube_config_defaults(&c);
	kube_config_scale(&c, 0.01);
	run *r = run_new(&c, false);
	r->step = 5;
	run_to(r, 100);
	fk_fail(&r->f.relist, -ERR_UNREACHABLE, 14, DIAL_ERR);
	run_to(r, 2000);
	/* last good relist at 100 ms; threshold 1.8 s: unhealthy at 1905 ms */
	const kube_event *u = ev_nth(r, KUBE_C_PLEG, "unhealthy", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(u->t_ms, 1905);
	CU_ASSERT_STRING_EQUAL(u->message,
			       "PLEG is not healthy: pleg was last seen active 1.805s ago; threshold is 1.8s");
	dump_if_failed(r, before);
}

void tests_register_kube(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/kube", suite_init, suite_cleanup, NULL, teardown);
	if (!s)
		return;
	CU_add_test(s, "defaults are the kubelet's, scalable", test_defaults);
	CU_add_test(s, "durations print like Go", test_go_duration);
	CU_add_test(s, "bad probes or periods refused", test_new_rejects_bad_input);
	CU_add_test(s, "healthy start: Running, Ready, periods", test_start_healthy);
	CU_add_test(s, "runtime down after 30 s, not before; back at next Status", test_runtime_down_threshold);
	CU_add_test(s, "runtime down/back with a post every tick", test_runtime_down_fast_posts);
	CU_add_test(s, "RuntimeReady=false: reason, no refresh", test_runtime_not_ready);
	CU_add_test(s, "NetworkReady=false: NetworkPluginNotReady", test_network_not_ready);
	CU_add_test(s, "Status without both conditions is an error", test_status_without_conditions);
	CU_add_test(s, "fast node status after start: Ready posted at once", test_fast_status_after_start);
	CU_add_test(s, "PLEG unhealthy after 3m0s, exact message", test_pleg_unhealthy);
	CU_add_test(s, "hung relist does not refresh", test_pleg_hung_relist);
	CU_add_test(s, "crash loop: exit message, restart every 10 s, Unknown, back", test_crash_loop);
	CU_add_test(s, "Version hangs: exits after the deadline", test_version_hangs);
	CU_add_test(s, "kubelet stopped: Unknown after 50 s grace", test_kubelet_down_unknown);
	CU_add_test(s, "kubelet stopped: Unknown after 40 s (old grace)", test_kubelet_down_unknown_old_grace);
	CU_add_test(s, "restart forgets the last sync", test_restart_resets_memory);
	CU_add_test(s, "never-posted node: NodeStatusNeverUpdated", test_never_posted_node);
	CU_add_test(s, "canary reported apart from the kubelet", test_canary);
	CU_add_test(s, "timeline: only changes, in order", test_timeline_changes_only);
	CU_add_test(s, "timeline printed aligned", test_timeline_print_format);
	CU_add_test(s, "back-off 10,20,40,80,160,300,300; reset after 10 min", test_backoff_sequence);
	CU_add_test(s, "back-off from a crash history", test_backoff_history);
	CU_add_test(s, "sandbox decision after a runtime restart", test_sandbox_decision);
	CU_add_test(s, "scaled periods", test_scaled_periods);
	CU_add_test(s, "async probes: a hung call blocks nothing", test_async_probes);
	CU_add_test(s, "CRI adapter against a fake server", test_cri_adapter);
	CU_add_test(s, "CRI adapter: missing socket -> kubelet exit message", test_cri_adapter_missing_socket);
}
