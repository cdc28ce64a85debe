/* kube: the kubelet model. Each default below names the kubelet (or node
 * controller, or packaging) source it comes from; see kube.h for the story. */
#include "kube.h"
#include "probe.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "tst.h" /* TST_LABEL_OWNER, TST_LABEL_TEST */
#include "util.h"

#define SEC 1000LL
#define MIN (60 * SEC)

/* snprintf into a fixed buffer where a cut message is acceptable. */
static void bfmt(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bfmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* --- configuration ---------------------------------------------------------- */

void kube_config_defaults(kube_config *c)
{
	memset(c, 0, sizeof *c);
	/* pkg/kubelet/kubelet.go, Run(): go wait.Until(kl.updateRuntimeUp, 5*time.Second, ...) */
	c->runtime_check_ms = 5 * SEC;
	/* pkg/kubelet/kubelet.go: maxWaitForContainerRuntime = 30 * time.Second, passed to
	 * newRuntimeState() as baseRuntimeSyncThreshold; pkg/kubelet/runtime.go
	 * runtimeErrors() then reports "container runtime is down". */
	c->runtime_down_ms = 30 * SEC;
	/* pkg/kubelet/kubelet.go: genericPlegRelistPeriod = time.Second * 1 */
	c->relist_ms = 1 * SEC;
	/* pkg/kubelet/kubelet.go: genericPlegRelistThreshold = time.Minute * 3
	 * (checked by pkg/kubelet/pleg/generic.go Healthy()) */
	c->relist_threshold_ms = 3 * MIN;
	/* pkg/kubelet/apis/config/v1beta1/defaults.go: RuntimeRequestTimeout = 2 * time.Minute */
	c->request_timeout_ms = 2 * MIN;
	/* pkg/kubelet/apis/config/v1beta1/defaults.go: NodeStatusUpdateFrequency = 10 * time.Second */
	c->node_status_ms = 10 * SEC;
	/* pkg/kubelet/kubelet.go: nodeReadyGracePeriod = 120 * time.Second, the life of
	 * fastStatusUpdateOnce(), which posts status as soon as the node turns Ready */
	c->node_ready_grace_ms = 120 * SEC;
	/* pkg/kubelet/apis/config/v1beta1/defaults.go: NodeLeaseDurationSeconds = 40, and
	 * pkg/kubelet/kubelet.go: nodeLeaseRenewIntervalFraction = 0.25 -> 10 s */
	c->lease_renew_ms = 40 * SEC / 4;
	/* kubernetes/release kubelet.service (deb/rpm, used by kubeadm): Restart=always,
	 * RestartSec=10 */
	c->restart_ms = 10 * SEC;
	/* kube-controller-manager defaults (SetDefaults_KubeControllerManagerConfiguration):
	 * NodeMonitorPeriod = 5 * time.Second */
	c->monitor_period_ms = 5 * SEC;
	/* pkg/controller/nodelifecycle/config/v1alpha1/defaults.go: NodeMonitorGracePeriod
	 * was 40 * time.Second; kubernetes PR #126287 raised it to 50 s from v1.32
	 * (above HTTP2 ping 30 s + read idle 15 s). Set 40 s to model older clusters. */
	c->monitor_grace_ms = 50 * SEC;
	/* same defaults.go: NodeStartupGracePeriod = 60 * time.Second */
	c->startup_grace_ms = 60 * SEC;
	/* pkg/kubelet/kubelet.go: containerBackOffPeriod = time.Second * 10 */
	c->backoff_initial_ms = 10 * SEC;
	/* pkg/kubelet/apis/config/v1beta1/defaults.go: MaxContainerBackOff = 300 * time.Second
	 * (kubelet.go MaxContainerBackOff; configurable behind KubeletCrashLoopBackOffMax) */
	c->backoff_max_ms = 300 * SEC;
	/* pkg/kubelet/kubelet.go: klet.backOff.HasExpiredFunc: eventTime.Sub(lastUpdate) > 600*time.Second */
	c->backoff_reset_ms = 600 * SEC;
	/* critic's choices: every 6 runtime checks (30 s) when a canary is set,
	 * with the kubelet's own deadline (RunPodSandbox twice it, as there) */
	c->canary_every = 6;
	c->canary_timeout_ms = c->request_timeout_ms;
	c->node_ready_at_start = true;
	/* pkg/kubelet/apis/config/v1beta1/defaults.go: ContainerRuntimeEndpoint */
	bfmt(c->endpoint, sizeof c->endpoint, "%s", "unix:///run/containerd/containerd.sock");
}

static int64_t scale_ms(int64_t v, double f)
{
	double r = (double)v * f + 0.5;
	if (r < 1)
		return 1;
	if (r > (double)INT64_MAX / 4)
		return INT64_MAX / 4;
	return (int64_t)r;
}

void kube_config_scale(kube_config *c, double factor)
{
	if (!(factor > 0))
		return;
	int64_t *f[] = {
		&c->runtime_check_ms,   &c->runtime_down_ms,   &c->relist_ms,         &c->relist_threshold_ms,
		&c->request_timeout_ms, &c->node_status_ms,    &c->lease_renew_ms,    &c->restart_ms,
		&c->node_ready_grace_ms,
		&c->monitor_period_ms,  &c->monitor_grace_ms,  &c->startup_grace_ms,  &c->backoff_initial_ms,
		&c->backoff_max_ms,     &c->backoff_reset_ms,    &c->canary_timeout_ms,
	};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		*f[i] = scale_ms(*f[i], factor);
}

int64_t kube_deadline_ms(const kube_config *c, kube_rpc rpc, int64_t stop_timeout_s)
{
	switch (rpc) {
	case KUBE_RPC_RUN_POD_SANDBOX:
		/* remote_runtime.go RunPodSandbox: timeout := r.timeout * 2 */
		return 2 * c->request_timeout_ms;
	case KUBE_RPC_STOP_CONTAINER:
		/* remote_runtime.go StopContainer: t := r.timeout + time.Duration(timeout)*time.Second */
		return c->request_timeout_ms + (stop_timeout_s > 0 ? stop_timeout_s * SEC : 0);
	case KUBE_RPC_DEFAULT:
	default:
		return c->request_timeout_ms;
	}
}

/* --- Go formatting ------------------------------------------------------------ */

/* Append integer part and a trimmed fraction of prec digits ("3.5", "180"). */
static size_t fmt_frac(char *out, size_t len, uint64_t v, int prec)
{
	uint64_t div = 1;
	for (int i = 0; i < prec; i++)
		div *= 10;
	uint64_t ip = v / div, fp = v % div;
	int n;
	if (fp == 0 || prec == 0) {
		n = snprintf(out, len, "%llu", (unsigned long long)ip);
	} else {
		char frac[24];
		bfmt(frac, sizeof frac, "%0*llu", prec, (unsigned long long)fp);
		for (int i = prec - 1; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
		n = snprintf(out, len, "%llu.%s", (unsigned long long)ip, frac);
	}
	return n < 0 ? 0 : (size_t)n;
}

const char *kube_duration_str(int64_t ms, char *buf, size_t len)
{
	if (!buf || !len)
		return "";
	/* Go works in nanoseconds; with whole milliseconds the result is the same
	 * as time.Duration(ms * time.Millisecond).String(). */
	char tmp[64];
	size_t o = 0;
	uint64_t u;
	if (ms < 0) {
		tmp[o++] = '-';
		u = (uint64_t)(-(ms + 1)) + 1;
	} else {
		u = (uint64_t)ms;
	}
	if (u == 0) {
		bfmt(buf, len, "0s");
		return buf;
	}
	if (u < 1000) {
		/* below one second Go picks ms for millisecond-sized values */
		o += fmt_frac(tmp + o, sizeof tmp - o, u, 0);
		bfmt(tmp + o, sizeof tmp - o, "ms");
	} else {
		uint64_t s = u / 1000, msec = u % 1000;
		uint64_t h = s / 3600, m = (s / 60) % 60;
		if (h)
			o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%lluh", (unsigned long long)h);
		if (h || m)
			o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%llum", (unsigned long long)m);
		o += fmt_frac(tmp + o, sizeof tmp - o, (s % 60) * 1000 + msec, 3);
		bfmt(tmp + o, sizeof tmp - o, "s");
	}
	bfmt(buf, len, "%s", tmp);
	return buf;
}

/* Go's grpc codes.Code String() names, for "rpc error: code = X desc = Y". */
static const char *go_code_name(int code)
{
	static const char *names[] = {
		"OK",		  "Canceled",	   "Unknown",		 "InvalidArgument", "DeadlineExceeded",
		"NotFound",	  "AlreadyExists", "PermissionDenied",	 "ResourceExhausted", "FailedPrecondition",
		"Aborted",	  "OutOfRange",	   "Unimplemented",	 "Internal",	     "Unavailable",
		"DataLoss",	  "Unauthenticated",
	};
	if (code >= 0 && (size_t)code < ARRAY_SIZE(names))
		return names[code];
	return "Unknown";
}

#define GRPC_DEADLINE_EXCEEDED 4

static bool is_timeout(int rc, const crit_err *e)
{
	return rc == -ETIMEDOUT || (rc < 0 && e->grpc_status == GRPC_DEADLINE_EXCEEDED);
}

/* The error as a Go gRPC client would print it. */
static void go_error(char *out, size_t len, int rc, const crit_err *e)
{
	const char *msg = e->msg[0] ? e->msg : strerror(-rc > 0 && -rc < ERR_BASE ? -rc : EIO);
	if (e->grpc_status > 0)
		bfmt(out, len, "rpc error: code = %s desc = %s", go_code_name(e->grpc_status), msg);
	else if (rc == -ETIMEDOUT)
		bfmt(out, len, "rpc error: code = DeadlineExceeded desc = %s", msg);
	else
		bfmt(out, len, "%s", msg);
}

/* --- the model ------------------------------------------------------------------- */

enum proc {
	P_PENDING,   /* will start at start_at */
	P_STARTING,  /* validating the endpoint (exit_at >= 0: failed, exits then) */
	P_RUNNING,
	P_CRASHLOOP, /* exited; restarts at next_start */
	P_STOPPED,
};

/* One kind of call. A probe that answered -EINPROGRESS is in flight; one
 * left in flight by a kubelet that went away is drained (its answer
 * dropped) before the next run may call again. */
typedef struct pslot {
	bool inflight;
	bool drain;
	int64_t started;
} pslot;

enum call_kind { K_VERSION, K_STATUS, K_RELIST, K_CANARY };

/* Causes of NotReady, in the order runtimeErrors/networkErrors list them. */
enum {
	CAUSE_NOT_SYNCED = 1 << 0, /* container runtime status check may not have completed yet */
	CAUSE_DOWN = 1 << 1,       /* container runtime is down */
	CAUSE_PLEG_NEVER = 1 << 2, /* PLEG is not healthy: pleg has yet to be successful */
	CAUSE_PLEG_OLD = 1 << 3,   /* PLEG is not healthy: pleg was last seen active ... */
	CAUSE_RT_ERR = 1 << 4,     /* container runtime not ready: ... */
	CAUSE_NET_UNK = 1 << 5,    /* network state unknown */
	CAUSE_NET_ERR = 1 << 6,    /* container runtime network not ready: ... */
};

struct kube_model {
	kube_config cfg;
	kube_probes p;
	int64_t now;
	bool ticked;

	/* the kubelet process */
	enum proc proc;
	int64_t start_at, exit_at, next_start;
	int starts;
	char exit_msg[768];
	pslot ps[4]; /* by enum call_kind */

	/* the kubelet's memory (one run) */
	int64_t status_due, relist_due, post_due, lease_due;
	int64_t fast_until;         /* fastStatusUpdateOnce runs until then; -1 = done */
	int64_t last_sync;          /* runtimeState.lastBaseRuntimeSync; -1 = zero */
	bool rt_err_set;
	char rt_err[512];           /* runtimeState.runtimeError */
	bool net_unknown;           /* networkError == ErrNetworkUnknown */
	bool net_err_set;
	char net_err[512];          /* runtimeState.networkError */
	bool status_failing;
	char status_fail[512];
	int64_t relist_ok;          /* GenericPLEG relistTime; -1 = zero */
	bool relist_failing;
	char relist_fail[512];

	/* the API's node and the node controller */
	kube_node_state node;
	char node_reason[32];
	char node_msg[768];
	int64_t heartbeat;          /* last lease renewal seen; -1 never */
	int64_t monitor_due;

	/* critic's canary */
	int64_t canary_due;
	bool canary_ran, canary_ok;
	char canary_msg[512];
	int64_t canary_at;

	/* timeline */
	kube_event *ev;
	size_t n, cap;
	struct {
		bool set;
		char state[24];
		char reason[32];
		uint32_t key;
	} last[KUBE_C_COUNT];
};

const char *kube_component_name(kube_component c)
{
	static const char *n[] = { "kubelet", "runtime", "network", "pleg", "node", "canary" };
	return (unsigned)c < ARRAY_SIZE(n) ? n[c] : "?";
}

/* Append an entry when the component's (state, reason, key) changed. */
static void record(kube_model *m, kube_component comp, const char *state, const char *reason, uint32_t key,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void record(kube_model *m, kube_component comp, const char *state, const char *reason, uint32_t key,
		   const char *fmt, ...)
{
	reason = reason ? reason : "";
	if (m->last[comp].set && !strcmp(m->last[comp].state, state) && !strcmp(m->last[comp].reason, reason) &&
	    m->last[comp].key == key)
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		kube_event *g = realloc(m->ev, cap * sizeof *g);
		if (!g)
			return; /* out of memory: the entry is lost, the model goes on */
		m->ev = g;
		m->cap = cap;
	}
	kube_event *e = &m->ev[m->n++];
	memset(e, 0, sizeof *e);
	e->t_ms = m->now;
	e->comp = comp;
	bfmt(e->state, sizeof e->state, "%s", state);
	bfmt(e->reason, sizeof e->reason, "%s", reason);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	m->last[comp].set = true;
	bfmt(m->last[comp].state, sizeof m->last[comp].state, "%s", state);
	bfmt(m->last[comp].reason, sizeof m->last[comp].reason, "%s", reason);
	m->last[comp].key = key;
}

static void set_node(kube_model *m, kube_node_state st, const char *reason, uint32_t key, const char *msg)
{
	static const char *names[] = { "None", "Ready", "NotReady", "Unknown" };
	m->node = st;
	bfmt(m->node_reason, sizeof m->node_reason, "%s", reason);
	bfmt(m->node_msg, sizeof m->node_msg, "%s", msg);
	record(m, KUBE_C_NODE, names[st], reason, key, "%s", msg);
}

int kube_new(kube_model **out, const kube_config *cfg, const kube_probes *probes, crit_err *e)
{
	*out = NULL;
	if (!cfg || !probes || !probes->version || !probes->status || !probes->relist)
		return err_set(e, -EINVAL, "kubelet model: the version, status and relist probes are required");
	if (cfg->runtime_check_ms <= 0 || cfg->relist_ms <= 0 || cfg->node_status_ms <= 0 ||
	    cfg->lease_renew_ms <= 0 || cfg->monitor_period_ms <= 0 || cfg->request_timeout_ms <= 0 ||
	    cfg->restart_ms < 0 || cfg->canary_every < 0 || (cfg->canary_every > 0 && cfg->canary_timeout_ms <= 0))
		return err_set(e, -EINVAL, "kubelet model: every period must be positive");
	kube_model *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(e, -ENOMEM, "kubelet model: out of memory");
	m->cfg = *cfg;
	m->cfg.endpoint[sizeof m->cfg.endpoint - 1] = '\0';
	m->p = *probes;
	m->proc = P_PENDING;
	m->start_at = 0;
	m->last_sync = m->relist_ok = -1;
	m->net_unknown = true;
	m->heartbeat = -1;
	m->node = KUBE_NODE_NONE;
	if (cfg->node_ready_at_start) {
		m->heartbeat = 0;
		set_node(m, KUBE_NODE_READY, "KubeletReady", 0, "kubelet is posting ready status");
	}
	*out = m;
	return 0;
}

void kube_free(kube_model *m)
{
	if (!m)
		return;
	free(m->ev);
	free(m);
}

const kube_config *kube_config_of(const kube_model *m) { return &m->cfg; }

static void drop_call(pslot *s)
{
	if (s->inflight) {
		s->inflight = false;
		s->drain = true;
	}
}

/* The kubelet process ended: everything it knew is gone with it. */
static void kubelet_gone(kube_model *m)
{
	drop_call(&m->ps[K_VERSION]);
	drop_call(&m->ps[K_STATUS]);
	drop_call(&m->ps[K_RELIST]);
	m->last_sync = m->relist_ok = -1;
	m->rt_err_set = m->net_err_set = m->status_failing = m->relist_failing = false;
	m->net_unknown = true;
	for (kube_component c = KUBE_C_RUNTIME; c <= KUBE_C_PLEG; c++)
		if (m->last[c].set)
			record(m, c, "off", "KubeletNotRunning", 0, "the kubelet is not running");
}

static void crash(kube_model *m, int64_t t)
{
	m->proc = P_CRASHLOOP;
	m->next_start = t + m->cfg.restart_ms;
	char when[32];
	bfmt(when, sizeof when, "%lld.%03llds", (long long)(m->next_start / 1000),
		 (long long)(m->next_start % 1000));
	record(m, KUBE_C_KUBELET, "CrashLooping", "Exited", 0, "%s [next start at +%s]", m->exit_msg, when);
	kubelet_gone(m);
}

static void become_running(kube_model *m, int64_t now)
{
	m->proc = P_RUNNING;
	m->last_sync = m->relist_ok = -1;
	m->rt_err_set = m->net_err_set = m->status_failing = m->relist_failing = false;
	m->net_unknown = true; /* newRuntimeState: networkError = ErrNetworkUnknown */
	m->status_due = m->relist_due = m->post_due = m->lease_due = now;
	m->fast_until = now + m->cfg.node_ready_grace_ms;
	m->exit_msg[0] = '\0';
	record(m, KUBE_C_KUBELET, "Running", "", 0, "validated CRI v1 runtime API on %s", m->cfg.endpoint);
}

static int64_t call_deadline(const kube_model *m, enum call_kind k)
{
	return k == K_CANARY ? m->cfg.canary_timeout_ms : kube_deadline_ms(&m->cfg, KUBE_RPC_DEFAULT, 0);
}

static int call(kube_model *m, enum call_kind k, kube_runtime_status *st, crit_err *e)
{
	int64_t dl = call_deadline(m, k);
	err_clear(e);
	switch (k) {
	case K_VERSION:
		return m->p.version(m->p.arg, dl, e);
	case K_STATUS:
		memset(st, 0, sizeof *st);
		return m->p.status(m->p.arg, dl, st, e);
	case K_RELIST:
		return m->p.relist(m->p.arg, dl, e);
	case K_CANARY:
	default:
		return m->p.canary(m->p.arg, dl, e);
	}
}

/* Make the call of kind k, or collect the answer of the one in flight.
 * Returns -EINPROGRESS while there is no answer (including while a call
 * abandoned by a previous kubelet run drains: its answer is dropped). */
static int call_or_poll(kube_model *m, enum call_kind k, int64_t now, kube_runtime_status *st, crit_err *e)
{
	pslot *s = &m->ps[k];
	if (!s->inflight) {
		if (s->drain) {
			if (call(m, k, st, e) == -EINPROGRESS)
				return -EINPROGRESS;
			s->drain = false;
		}
		s->started = now;
	}
	int rc = call(m, k, st, e);
	s->inflight = rc == -EINPROGRESS;
	return rc;
}

/* When a call answered at now really ended: a timeout took its whole
 * deadline, whether the probe blocked that long or only said so. */
static int64_t call_end(const kube_model *m, enum call_kind k, int rc, const crit_err *e, int64_t now)
{
	int64_t dl = call_deadline(m, k);
	if (k == K_CANARY)
		dl *= 2; /* RunPodSandbox */
	int64_t started = m->ps[k].started;
	if (rc < 0 && is_timeout(rc, e) && started + dl > now)
		return started + dl;
	return now;
}

/* cmd/kubelet/app/server.go run() -> PreInitRuntimeService ->
 * cri-client NewRemoteRuntimeService: dial, then Version within the
 * connection timeout (the runtime request timeout). Returns false while
 * the answer is not in. */
static bool poll_version(kube_model *m, int64_t now)
{
	crit_err e;
	kube_runtime_status unused;
	int rc = call_or_poll(m, K_VERSION, now, &unused, &e);
	if (rc == -EINPROGRESS)
		return false;
	if (rc >= 0) {
		become_running(m, now);
		return true;
	}
	char why[600];
	go_error(why, sizeof why, rc, &e);
	/* server.go Run: "failed to run Kubelet: %w"; remote_runtime.go:
	 * "validate service connection: %w" around
	 * "validate CRI v1 runtime API for endpoint %q: %w". */
	bfmt(m->exit_msg, sizeof m->exit_msg,
	     "failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint \"%s\": %s",
	     m->cfg.endpoint, why);
	int64_t end = call_end(m, K_VERSION, rc, &e, now);
	if (end > now)
		m->exit_at = end; /* a hung Version reported at once: exit when it would have */
	else
		crash(m, now);
	return true;
}

static void begin_start(kube_model *m, int64_t now)
{
	m->starts++;
	m->proc = P_STARTING;
	m->exit_at = -1;
	record(m, KUBE_C_KUBELET, "Starting", "", 0, "start #%d: validating %s", m->starts, m->cfg.endpoint);
}

static void step_process(kube_model *m, int64_t now)
{
	for (int guard = 0; guard < 64; guard++) {
		switch (m->proc) {
		case P_PENDING:
			if (now < m->start_at)
				return;
			begin_start(m, now);
			break;
		case P_STARTING:
			if (m->exit_at >= 0) {
				if (now < m->exit_at)
					return;
				crash(m, now);
			} else if (!poll_version(m, now)) {
				return; /* no answer yet */
			}
			break;
		case P_CRASHLOOP:
			if (now < m->next_start)
				return;
			begin_start(m, now);
			break;
		case P_RUNNING:
		case P_STOPPED:
		default:
			return;
		}
	}
}

static const kube_condition *find_cond(const kube_runtime_status *st, const char *type)
{
	int n = st->n < KUBE_MAX_CONDITIONS ? st->n : KUBE_MAX_CONDITIONS;
	for (int i = 0; i < n; i++)
		if (!strcmp(st->cond[i].type, type))
			return &st->cond[i];
	return NULL;
}

/* kubecontainer RuntimeCondition String(), or "<nil>" as %v prints a nil one. */
static void cond_str(char *out, size_t len, const kube_condition *c)
{
	if (!c)
		bfmt(out, len, "<nil>");
	else
		bfmt(out, len, "%s=%s reason:%s message:%s", c->type, c->status ? "true" : "false", c->reason,
			 c->message);
}

/* pkg/kubelet/kubelet.go updateRuntimeUp(), with the reply checks of
 * cri-client remote_runtime.go statusV1(). The next check is a period after
 * this one returned (wait.Until). */
static void step_status(kube_model *m, int64_t now)
{
	if (!m->ps[K_STATUS].inflight && now < m->status_due)
		return;
	kube_runtime_status st;
	crit_err e;
	int rc = call_or_poll(m, K_STATUS, now, &st, &e);
	if (rc == -EINPROGRESS)
		return;
	m->status_due = call_end(m, K_STATUS, rc, &e, now) + m->cfg.runtime_check_ms;
	if (rc < 0) {
		m->status_failing = true;
		go_error(m->status_fail, sizeof m->status_fail, rc, &e);
		return;
	}
	if (st.n < 2) {
		m->status_failing = true;
		bfmt(m->status_fail, sizeof m->status_fail, "RuntimeReady or NetworkReady condition are not set");
		return;
	}
	m->status_failing = false;
	char c[480];
	const kube_condition *net = find_cond(&st, "NetworkReady");
	m->net_unknown = false;
	if (!net || !net->status) {
		cond_str(c, sizeof c, net);
		m->net_err_set = true;
		bfmt(m->net_err, sizeof m->net_err, "container runtime network not ready: %s", c);
	} else {
		m->net_err_set = false;
	}
	const kube_condition *rt = find_cond(&st, "RuntimeReady");
	if (!rt || !rt->status) {
		cond_str(c, sizeof c, rt);
		m->rt_err_set = true;
		bfmt(m->rt_err, sizeof m->rt_err, "container runtime not ready: %s", c);
		return; /* the kubelet returns before setRuntimeSync */
	}
	m->rt_err_set = false;
	m->last_sync = now; /* setRuntimeSync(kl.clock.Now()) once the reply is in */
}

/* pkg/kubelet/pleg/generic.go Relist(): the timestamp is taken before
 * GetPods and stored only when it succeeds. */
static void step_relist(kube_model *m, int64_t now)
{
	if (!m->ps[K_RELIST].inflight && now < m->relist_due)
		return;
	kube_runtime_status unused;
	crit_err e;
	int rc = call_or_poll(m, K_RELIST, now, &unused, &e);
	if (rc == -EINPROGRESS)
		return;
	m->relist_due = call_end(m, K_RELIST, rc, &e, now) + m->cfg.relist_ms;
	if (rc < 0) {
		m->relist_failing = true;
		go_error(m->relist_fail, sizeof m->relist_fail, rc, &e);
		return;
	}
	m->relist_failing = false;
	m->relist_ok = m->ps[K_RELIST].started;
}

static bool runtime_down(const kube_model *m, int64_t now)
{
	/* runtime.go: !lastBaseRuntimeSync.Add(threshold).After(now) */
	return m->last_sync >= 0 && m->last_sync + m->cfg.runtime_down_ms <= now;
}

static bool pleg_old(const kube_model *m, int64_t now)
{
	/* generic.go Healthy(): elapsed > RelistThreshold */
	return m->relist_ok >= 0 && now - m->relist_ok > m->cfg.relist_threshold_ms;
}

static void pleg_msg(const kube_model *m, int64_t now, char *out, size_t len)
{
	if (m->relist_ok < 0) {
		bfmt(out, len, "pleg has yet to be successful");
		return;
	}
	char a[32], b[32];
	bfmt(out, len, "pleg was last seen active %s ago; threshold is %s",
		 kube_duration_str(now - m->relist_ok, a, sizeof a),
		 kube_duration_str(m->cfg.relist_threshold_ms, b, sizeof b));
}

static void update_components(kube_model *m, int64_t now)
{
	/* runtime: the worst of what the kubelet knows about it */
	if (runtime_down(m, now)) {
		if (m->status_failing)
			record(m, KUBE_C_RUNTIME, "down", "RuntimeDown", 0, "container runtime is down (last error: %s)",
			       m->status_fail);
		else
			record(m, KUBE_C_RUNTIME, "down", "RuntimeDown", 0, "container runtime is down");
	} else if (m->rt_err_set) {
		record(m, KUBE_C_RUNTIME, "not-ready", "RuntimeNotReady", 0, "%s", m->rt_err);
	} else if (m->status_failing) {
		record(m, KUBE_C_RUNTIME, "failing", "StatusFailed", 0, "%s", m->status_fail);
	} else if (m->last_sync < 0) {
		record(m, KUBE_C_RUNTIME, "unknown", "NotCheckedYet", 0,
		       "container runtime status check may not have completed yet");
	} else {
		record(m, KUBE_C_RUNTIME, "up", "", 0, "Status answered with RuntimeReady=true");
	}

	if (m->net_unknown)
		record(m, KUBE_C_NETWORK, "unknown", "NetworkUnknown", 0, "network state unknown");
	else if (m->net_err_set)
		record(m, KUBE_C_NETWORK, "not-ready", "NetworkNotReady", 0, "%s", m->net_err);
	else
		record(m, KUBE_C_NETWORK, "ready", "", 0, "NetworkReady=true");

	char msg[256];
	if (pleg_old(m, now)) {
		pleg_msg(m, now, msg, sizeof msg);
		record(m, KUBE_C_PLEG, "unhealthy", "PLEGNotHealthy", 0, "PLEG is not healthy: %s", msg);
	} else if (m->relist_failing) {
		record(m, KUBE_C_PLEG, "failing", "RelistFailed", 0, "%s", m->relist_fail);
	} else if (m->relist_ok < 0) {
		record(m, KUBE_C_PLEG, "unknown", "NotRelistedYet", 0, "pleg has yet to be successful");
	} else {
		record(m, KUBE_C_PLEG, "healthy", "", 0, "relist succeeded");
	}
}

/* Add msg to the aggregate unless already there (apimachinery's aggregate
 * Error() drops repeated messages). */
static void agg_add(char (*list)[512], int *n, const char *msg)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(list[i], msg))
			return;
	bfmt(list[(*n)++], 512, "%s", msg);
}

/* pkg/kubelet/nodestatus/setters.go ReadyCondition over runtimeErrors(),
 * networkErrors() (storage errors are not modelled): the message of the
 * NotReady condition, or "" when Ready. key tells the causes apart. */
static void ready_condition(const kube_model *m, int64_t now, char *msg, size_t len, uint32_t *key)
{
	char list[8][512];
	int n = 0;
	*key = 0;
	if (m->last_sync < 0) {
		agg_add(list, &n, "container runtime status check may not have completed yet");
		*key |= CAUSE_NOT_SYNCED;
	} else if (runtime_down(m, now)) {
		agg_add(list, &n, "container runtime is down");
		*key |= CAUSE_DOWN;
	}
	if (m->relist_ok < 0 || pleg_old(m, now)) {
		char pm[256], full[300];
		pleg_msg(m, now, pm, sizeof pm);
		bfmt(full, sizeof full, "PLEG is not healthy: %s", pm);
		agg_add(list, &n, full);
		*key |= m->relist_ok < 0 ? CAUSE_PLEG_NEVER : CAUSE_PLEG_OLD;
	}
	if (m->rt_err_set) {
		agg_add(list, &n, m->rt_err);
		*key |= CAUSE_RT_ERR;
	}
	if (m->net_unknown) {
		agg_add(list, &n, "network state unknown");
		*key |= CAUSE_NET_UNK;
	} else if (m->net_err_set) {
		agg_add(list, &n, m->net_err);
		*key |= CAUSE_NET_ERR;
	}
	msg[0] = '\0';
	if (n == 1) {
		bfmt(msg, len, "%s", list[0]);
	} else if (n > 1) {
		/* apimachinery aggregate Error(): "[a, b]" */
		size_t o = 0;
		o += (size_t)snprintf(msg + o, len - o, "[");
		for (int i = 0; i < n && o < len; i++)
			o += (size_t)snprintf(msg + o, len - o, "%s%s", i ? ", " : "", list[i]);
		if (o < len)
			bfmt(msg + o, len - o, "]");
	}
}

static void post_node_status(kube_model *m, int64_t now)
{
	char msg[768];
	uint32_t key;
	ready_condition(m, now, msg, sizeof msg, &key);
	if (!msg[0])
		set_node(m, KUBE_NODE_READY, "KubeletReady", 0, "kubelet is posting ready status");
	else
		set_node(m, KUBE_NODE_NOTREADY, "KubeletNotReady", key, msg);
}

static void step_kubelet(kube_model *m, int64_t now)
{
	step_status(m, now);
	step_relist(m, now);
	if (now >= m->lease_due) {
		m->heartbeat = now;
		m->lease_due = now + m->cfg.lease_renew_ms;
	}
	update_components(m, now);
	if (now >= m->post_due) {
		/* syncNodeStatus, every NodeStatusUpdateFrequency from the start */
		post_node_status(m, now);
		m->post_due = now + m->cfg.node_status_ms;
	}
	/* kubelet_node_status.go fastNodeStatusUpdate(): done once the API shows
	 * Ready or the grace period is over; until then it posts only when the
	 * node has just become Ready. */
	if (m->fast_until >= 0) {
		char msg[768];
		uint32_t key;
		if (m->node == KUBE_NODE_READY || now >= m->fast_until) {
			m->fast_until = -1;
		} else {
			ready_condition(m, now, msg, sizeof msg, &key);
			if (!msg[0]) {
				post_node_status(m, now);
				m->fast_until = -1;
			}
		}
	}
}

/* pkg/controller/nodelifecycle tryUpdateNodeHealth: Ready becomes Unknown
 * when now is after the last heartbeat plus the grace period. */
static void step_controller(kube_model *m, int64_t now)
{
	if (now < m->monitor_due)
		return;
	m->monitor_due = now + m->cfg.monitor_period_ms;
	if (m->node == KUBE_NODE_NONE) {
		if (m->heartbeat < 0 && now > m->cfg.startup_grace_ms)
			set_node(m, KUBE_NODE_UNKNOWN, "NodeStatusNeverUpdated", 0, "Kubelet never posted node status.");
	} else if (m->node != KUBE_NODE_UNKNOWN && now > m->heartbeat + m->cfg.monitor_grace_ms) {
		set_node(m, KUBE_NODE_UNKNOWN, "NodeStatusUnknown", 0, "Kubelet stopped posting node status.");
	}
}

static void step_canary(kube_model *m, int64_t now)
{
	if (!m->p.canary || m->cfg.canary_every <= 0)
		return;
	if (!m->ps[K_CANARY].inflight && now < m->canary_due)
		return;
	kube_runtime_status unused;
	crit_err e;
	int rc = call_or_poll(m, K_CANARY, now, &unused, &e);
	if (rc == -EINPROGRESS)
		return;
	m->canary_due = call_end(m, K_CANARY, rc, &e, now) + (int64_t)m->cfg.canary_every * m->cfg.runtime_check_ms;
	m->canary_ran = true;
	m->canary_ok = rc >= 0;
	m->canary_at = now;
	if (rc >= 0) {
		bfmt(m->canary_msg, sizeof m->canary_msg, "sandbox created and removed");
		record(m, KUBE_C_CANARY, "ok", "", 0, "%s", m->canary_msg);
	} else {
		bfmt(m->canary_msg, sizeof m->canary_msg, "%s", e.msg[0] ? e.msg : "canary failed");
		record(m, KUBE_C_CANARY, "failed", "CanaryFailed", 0, "%s", m->canary_msg);
	}
}

int kube_tick(kube_model *m, int64_t now_ms)
{
	if (m->ticked && now_ms < m->now)
		return -EINVAL;
	m->now = now_ms;
	m->ticked = true;
	step_process(m, now_ms);
	if (m->proc == P_RUNNING)
		step_kubelet(m, now_ms);
	step_controller(m, now_ms);
	step_canary(m, now_ms);
	return 0;
}

static int advance(kube_model *m, int64_t now_ms)
{
	if (m->ticked && now_ms < m->now)
		return -EINVAL;
	m->now = now_ms;
	m->ticked = true;
	return 0;
}

int kube_kubelet_stop(kube_model *m, int64_t now_ms)
{
	if (advance(m, now_ms) < 0)
		return -EINVAL;
	if (m->proc == P_STOPPED)
		return 0;
	bool was_up = m->proc == P_RUNNING || m->proc == P_STARTING;
	m->proc = P_STOPPED;
	if (was_up)
		record(m, KUBE_C_KUBELET, "Stopped", "Stopped", 0, "stopped by the operator");
	else
		record(m, KUBE_C_KUBELET, "Stopped", "Stopped", 0, "stopped by the operator (it was not running)");
	kubelet_gone(m);
	return 0;
}

int kube_kubelet_start(kube_model *m, int64_t now_ms)
{
	if (advance(m, now_ms) < 0)
		return -EINVAL;
	if (m->proc == P_STOPPED || m->proc == P_CRASHLOOP) {
		m->proc = P_PENDING;
		m->start_at = now_ms;
	}
	return 0;
}

int kube_kubelet_restart(kube_model *m, int64_t now_ms)
{
	int rc = kube_kubelet_stop(m, now_ms);
	return rc < 0 ? rc : kube_kubelet_start(m, now_ms);
}

void kube_get_view(const kube_model *m, kube_view *v)
{
	memset(v, 0, sizeof *v);
	switch (m->proc) {
	case P_PENDING:
	case P_STARTING:
		v->kubelet = KUBE_KUBELET_STARTING;
		break;
	case P_RUNNING:
		v->kubelet = KUBE_KUBELET_RUNNING;
		break;
	case P_CRASHLOOP:
		v->kubelet = KUBE_KUBELET_CRASHLOOP;
		break;
	case P_STOPPED:
		v->kubelet = KUBE_KUBELET_STOPPED;
		break;
	}
	v->exit_message = m->exit_msg;
	v->next_start_ms = m->proc == P_CRASHLOOP ? m->next_start : -1;
	v->starts = m->starts;
	v->node = m->node;
	v->node_reason = m->node_reason;
	v->node_message = m->node_msg;
	v->runtime_last_ok_ms = m->last_sync;
	v->relist_last_ok_ms = m->relist_ok;
	v->lease_renewed_ms = m->heartbeat;
	v->canary_ran = m->canary_ran;
	v->canary_ok = m->canary_ok;
	v->canary_message = m->canary_msg;
	v->canary_at_ms = m->canary_ran ? m->canary_at : -1;
}

const kube_event *kube_timeline(const kube_model *m, size_t *n)
{
	*n = m->n;
	return m->ev;
}

void kube_timeline_print(const kube_model *m, FILE *f)
{
	for (size_t i = 0; i < m->n; i++) {
		const kube_event *e = &m->ev[i];
		char t[32];
		bfmt(t, sizeof t, "+%lld.%03llds", (long long)(e->t_ms / 1000), (long long)(e->t_ms % 1000));
		fprintf(f, "%11s  %-8s %-13s %-22s %s\n", t, kube_component_name(e->comp), e->state,
			e->reason[0] ? e->reason : "-", e->message);
	}
}

/* --- back-off ----------------------------------------------------------------- */

/* client-go util/flowcontrol Backoff.Next (no jitter for container restarts),
 * with the kubelet's HasExpiredFunc. */
int64_t kube_backoff_next(const kube_config *c, kube_backoff *b, int64_t now_ms)
{
	int64_t initial = c->backoff_initial_ms < c->backoff_max_ms ? c->backoff_initial_ms : c->backoff_max_ms;
	if (!b->set || now_ms - b->last_ms > c->backoff_reset_ms) {
		b->delay_ms = initial;
	} else {
		int64_t d = b->delay_ms * 2;
		b->delay_ms = d < c->backoff_max_ms ? d : c->backoff_max_ms;
	}
	b->set = true;
	b->last_ms = now_ms;
	return b->delay_ms;
}

int64_t kube_backoff_after(const kube_config *c, const int64_t *crash_ms, size_t n)
{
	kube_backoff b = { 0 };
	int64_t d = 0;
	for (size_t i = 0; i < n; i++)
		d = kube_backoff_next(c, &b, crash_ms[i]);
	return d;
}

/* --- sandbox decision ----------------------------------------------------------- */

const char *kube_sandbox_action_name(kube_sandbox_action a)
{
	static const char *n[] = { "keep", "create", "recreate", "reconcile", "kill-only" };
	return (unsigned)a < ARRAY_SIZE(n) ? n[a] : "?";
}

/* pkg/kubelet/kuberuntime/kuberuntime_manager.go podSandboxChanged() and the
 * sandbox part of computePodActions() / SyncPod(). */
int kube_sandbox_decide(const kube_pod *pod, const kube_sandbox *sb, size_t n, kube_sandbox_decision *out,
			crit_err *e)
{
	if (!pod || !out || (n && !sb))
		return err_set(e, -EINVAL, "sandbox decision: missing pod, sandboxes or result");
	memset(out, 0, sizeof *out);
	out->newest = -1;
	out->sandbox_id = out->event = out->event_message = out->message = "";
	if (n == 0) {
		out->action = KUBE_SB_CREATE;
		out->attempt = 0;
		out->message = "No sandbox for pod can be found. Need to start a new one";
		return 0;
	}
	/* getSandboxIDByPodUID sorts podSandboxByCreated: newest first. */
	size_t newest = 0, ready = 0;
	for (size_t i = 0; i < n; i++) {
		if (sb[i].created_at > sb[newest].created_at)
			newest = i;
		if (sb[i].state == KUBE_SANDBOX_READY)
			ready++;
	}
	const kube_sandbox *s = &sb[newest];
	const char *id = s->id ? s->id : "";
	bool has_ip = s->ip && *s->ip;
	out->newest = (int)newest;
	out->sandbox_id = id;
	out->attempt = s->attempt + 1;
	if (ready > 1) {
		out->action = KUBE_SB_RECONCILE;
		out->message = "Multiple sandboxes are ready for Pod. Need to reconcile them";
	} else if (s->state != KUBE_SANDBOX_READY) {
		out->action = KUBE_SB_RECREATE;
		out->message = "No ready sandbox for pod can be found. Need to start a new one";
	} else if (s->host_network != pod->host_network) {
		out->action = KUBE_SB_RECREATE;
		out->sandbox_id = ""; /* the kubelet returns no ID here: no SandboxChanged event */
		out->message = "Sandbox for pod has changed. Need to start a new one";
	} else if (!pod->host_network && !has_ip) {
		out->action = KUBE_SB_RECREATE;
		out->message = "Sandbox for pod has no IP address. Need to start a new one";
	} else {
		out->action = KUBE_SB_KEEP;
		out->attempt = s->attempt;
		return 0;
	}
	out->kill_pod = true; /* computePodActions: KillPod = createPodSandbox */
	/* computePodActions: a Never pod whose containers ran is not re-created. */
	if (pod->restart_never && out->attempt != 0 && pod->had_containers) {
		out->action = KUBE_SB_KILL_ONLY;
		return 0;
	}
	if (out->sandbox_id[0]) {
		out->event = "SandboxChanged";
		out->event_message = "Pod sandbox changed, it will be killed and re-created.";
	}
	return 0;
}

/* --- asynchronous probes ----------------------------------------------------------- */

enum { A_IDLE, A_QUEUED, A_RUNNING, A_DONE };

typedef struct async_slot {
	struct kube_async *owner;
	enum call_kind kind;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int st;
	bool quit;
	int64_t deadline;
	int rc;
	crit_err err;
	kube_runtime_status status;
} async_slot;

struct kube_async {
	kube_probes inner;
	async_slot slot[4];
};

static void *async_worker(void *arg)
{
	async_slot *s = arg;
	const kube_probes *p = &s->owner->inner;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && s->st != A_QUEUED)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		s->st = A_RUNNING;
		int64_t dl = s->deadline;
		pthread_mutex_unlock(&s->mu);

		crit_err e;
		err_clear(&e);
		kube_runtime_status st;
		memset(&st, 0, sizeof st);
		int rc;
		switch (s->kind) {
		case K_VERSION:
			rc = p->version(p->arg, dl, &e);
			break;
		case K_STATUS:
			rc = p->status(p->arg, dl, &st, &e);
			break;
		case K_RELIST:
			rc = p->relist(p->arg, dl, &e);
			break;
		case K_CANARY:
		default:
			rc = p->canary(p->arg, dl, &e);
			break;
		}
		if (rc == -EINPROGRESS) /* the inner probe must answer; it is not polled again */
			rc = err_set(&e, -EIO, "probe answered -EINPROGRESS inside an async worker");

		pthread_mutex_lock(&s->mu);
		s->rc = rc;
		s->err = e;
		s->status = st;
		s->st = A_DONE;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Start a call, or give the answer of the finished one. */
static int async_poll(async_slot *s, int64_t dl, kube_runtime_status *out, crit_err *e)
{
	int rc = -EINPROGRESS;
	pthread_mutex_lock(&s->mu);
	switch (s->st) {
	case A_IDLE:
		s->deadline = dl;
		s->st = A_QUEUED;
		pthread_cond_signal(&s->cv);
		break;
	case A_DONE:
		rc = s->rc;
		if (e)
			*e = s->err;
		if (out)
			*out = s->status;
		s->st = A_IDLE;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int async_version(void *arg, int64_t dl, crit_err *e)
{
	return async_poll(&((kube_async *)arg)->slot[K_VERSION], dl, NULL, e);
}

static int async_status(void *arg, int64_t dl, kube_runtime_status *out, crit_err *e)
{
	return async_poll(&((kube_async *)arg)->slot[K_STATUS], dl, out, e);
}

static int async_relist(void *arg, int64_t dl, crit_err *e)
{
	return async_poll(&((kube_async *)arg)->slot[K_RELIST], dl, NULL, e);
}

static int async_canary(void *arg, int64_t dl, crit_err *e)
{
	return async_poll(&((kube_async *)arg)->slot[K_CANARY], dl, NULL, e);
}

int kube_async_new(kube_async **out, const kube_probes *inner, kube_probes *wrapped, crit_err *e)
{
	*out = NULL;
	if (!inner || !wrapped || !inner->version || !inner->status || !inner->relist)
		return err_set(e, -EINVAL, "async probes: the version, status and relist probes are required");
	kube_async *a = calloc(1, sizeof *a);
	if (!a)
		return err_set(e, -ENOMEM, "async probes: out of memory");
	a->inner = *inner;
	int rc = 0;
	for (int k = 0; k < 4; k++) {
		async_slot *s = &a->slot[k];
		s->owner = a;
		s->kind = (enum call_kind)k;
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->cv, NULL);
		if (k == K_CANARY && !inner->canary)
			continue;
		int err = pthread_create(&s->th, NULL, async_worker, s);
		if (err) {
			rc = err_set(e, -err, "async probes: cannot start a worker thread: %s", strerror(err));
			break;
		}
		s->started = true;
	}
	if (rc < 0) {
		kube_async_free(a);
		return rc;
	}
	kube_probes w = {
		.arg = a,
		.version = async_version,
		.status = async_status,
		.relist = async_relist,
		.canary = inner->canary ? async_canary : NULL,
	};
	*wrapped = w;
	*out = a;
	return 0;
}

void kube_async_free(kube_async *a)
{
	if (!a)
		return;
	for (int k = 0; k < 4; k++) {
		async_slot *s = &a->slot[k];
		if (s->started) {
			pthread_mutex_lock(&s->mu);
			s->quit = true;
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
			pthread_join(s->th, NULL); /* a call still running ends by its deadline */
		}
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	free(a);
}

/* --- CRI adapter ---------------------------------------------------------------- */

static int tmo(int64_t ms) { return ms > INT_MAX ? INT_MAX : ms < 1 ? 1 : (int)ms; }

static int cri_version_probe(void *arg, int64_t dl, crit_err *e)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = CRI_CALL_T((cri_conn *)arg, Version, &req, &resp, tmo(dl), e);
	cri_free(resp);
	return rc < 0 ? rc : 0;
}

static int cri_status_probe(void *arg, int64_t dl, kube_runtime_status *out, crit_err *e)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	memset(out, 0, sizeof *out);
	int rc = CRI_CALL_T((cri_conn *)arg, Status, &req, &resp, tmo(dl), e);
	if (rc < 0)
		return rc;
	if (resp->status) {
		size_t n = resp->status->n_conditions;
		out->n = n > INT_MAX ? INT_MAX : (int)n;
		for (size_t i = 0; i < n && i < KUBE_MAX_CONDITIONS; i++) {
			const Runtime__V1__RuntimeCondition *c = resp->status->conditions[i];
			kube_condition *k = &out->cond[i];
			bfmt(k->type, sizeof k->type, "%s", c->type ? c->type : "");
			k->status = c->status;
			bfmt(k->reason, sizeof k->reason, "%s", c->reason ? c->reason : "");
			bfmt(k->message, sizeof k->message, "%s", c->message ? c->message : "");
		}
	}
	cri_free(resp);
	return 0;
}

static int cri_relist_probe(void *arg, int64_t dl, crit_err *e)
{
	cri_conn *c = arg;
	Runtime__V1__ListPodSandboxRequest sreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *sresp = NULL;
	int rc = CRI_CALL_T(c, ListPodSandbox, &sreq, &sresp, tmo(dl), e);
	cri_free(sresp);
	if (rc < 0)
		return rc;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *cresp = NULL;
	rc = CRI_CALL_T(c, ListContainers, &creq, &cresp, tmo(dl), e);
	cri_free(cresp);
	return rc < 0 ? rc : 0;
}

static int cri_canary_probe(void *arg, int64_t dl, crit_err *e)
{
	cri_conn *c = arg;
	char sid[128];
	int rc = probe_sandbox_run(c, "critic-kube-canary", "kube-canary", NULL, tmo(dl), sid, sizeof sid, e);
	if (rc < 0) {
		err_wrap(e, "canary sandbox");
		return rc;
	}
	char *id = strdup(sid);
	if (!id)
		return err_set(e, -ENOMEM, "canary sandbox: out of memory");

	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	sreq.pod_sandbox_id = id;
	crit_err se;
	err_clear(&se);
	int src = CRI_CALL_T(c, StopPodSandbox, &sreq, &sresp, tmo(dl), &se);
	cri_free(sresp);
	/* Remove even when stop failed: RemovePodSandbox forces it. */
	Runtime__V1__RemovePodSandboxRequest dreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *dresp = NULL;
	dreq.pod_sandbox_id = id;
	rc = CRI_CALL_T(c, RemovePodSandbox, &dreq, &dresp, tmo(dl), e);
	cri_free(dresp);
	if (src < 0) {
		if (e)
			*e = se;
		rc = src;
	}
	if (rc < 0)
		err_wrap(e, "canary sandbox %.12s", id);
	free(id);
	return rc < 0 ? rc : 0;
}

kube_probes kube_probes_cri(cri_conn *c)
{
	kube_probes p = {
		.arg = c,
		.version = cri_version_probe,
		.status = cri_status_probe,
		.relist = cri_relist_probe,
		.canary = cri_canary_probe,
	};
	return p;
}
