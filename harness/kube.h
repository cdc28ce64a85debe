/* kube: a model of the kubelet (and the node controller above it) that says
 * what a real node would show, and when, while its CRI runtime misbehaves.
 *
 * The model is a state machine driven by kube_tick(m, now_ms). Everything it
 * learns about the runtime comes through pluggable probes (kube_probes): the
 * CRI adapter (kube_probes_cri) calls a real endpoint, tests plug in fakes.
 * Every period and threshold is a field of kube_config, filled with the
 * kubelet's own defaults by kube_config_defaults() and scalable for fast runs.
 * Each change of state is appended to a timeline that scenarios and reports
 * read; nothing is recorded twice.
 *
 * What is modelled, in the kubelet's terms:
 *   runtime  - updateRuntimeUp(): CRI Status every 5 s; a success refreshes the
 *              "last runtime sync"; older than 30 s is "container runtime is down".
 *   network  - the NetworkReady condition of the last Status reply.
 *   pleg     - the generic PLEG: relist (ListPodSandbox + ListContainers) every
 *              1 s; no successful relist for more than 3 min is unhealthy.
 *   kubelet  - the process: it validates the endpoint with Version at start-up
 *              and exits on failure; its supervisor (systemd) restarts it 10 s
 *              later.
 *   node     - the Ready condition the API shows: posted by the kubelet every
 *              10 s, turned Unknown by the node controller when the kubelet's
 *              lease has not been renewed within the grace period.
 *   canary   - not a kubelet behaviour: critic's own periodic sandbox
 *              create/remove, which finds a runtime that answers Status but
 *              cannot do real work (a read-only state directory). */
#ifndef CRITIC_KUBE_H
#define CRITIC_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* --- configuration ---------------------------------------------------------- */

typedef struct kube_config {
	/* kubelet */
	int64_t runtime_check_ms;    /* CRI Status period (runtime state check) */
	int64_t runtime_down_ms;     /* last Status success older than this: runtime down */
	int64_t relist_ms;           /* PLEG relist period */
	int64_t relist_threshold_ms; /* PLEG unhealthy when the last relist is older */
	int64_t request_timeout_ms;  /* --runtime-request-timeout: default CRI deadline */
	int64_t node_status_ms;      /* how often the kubelet posts node status */
	int64_t node_ready_grace_ms; /* after start, post at once on becoming Ready, this long */
	int64_t lease_renew_ms;      /* how often the kubelet renews its node lease */
	/* the supervisor (systemd unit) */
	int64_t restart_ms;          /* RestartSec: exit to next start */
	/* the node lifecycle controller (kube-controller-manager) */
	int64_t monitor_period_ms;   /* --node-monitor-period */
	int64_t monitor_grace_ms;    /* --node-monitor-grace-period */
	int64_t startup_grace_ms;    /* --node-startup-grace-period (never-posted nodes) */
	/* container restart back-off */
	int64_t backoff_initial_ms;
	int64_t backoff_max_ms;
	int64_t backoff_reset_ms;    /* no crash for longer than this: start over */
	/* critic's canary: run every canary_every runtime checks; 0 = never.
	 * Its deadline is critic's choice (RunPodSandbox gets twice it). */
	int canary_every;
	int64_t canary_timeout_ms;
	/* The node exists and had last posted Ready at time 0 (a node that was
	 * working before the model started). false: a new, never-posted node. */
	bool node_ready_at_start;
	/* The endpoint as the kubelet names it in messages ("unix:///..."). */
	char endpoint[256];
} kube_config;

/* The kubelet's and the node controller's defaults (sources in kube.c). */
void kube_config_defaults(kube_config *c);
/* Multiply every period, deadline and threshold by factor (> 0), rounding to
 * whole milliseconds (at least 1). Counts (canary_every) are left alone. */
void kube_config_scale(kube_config *c, double factor);

/* CRI deadlines the kubelet uses (cri-client remote_runtime.go): the request
 * timeout for every call, twice that for RunPodSandbox, and for StopContainer
 * the container's stop timeout (seconds) plus the request timeout. */
typedef enum kube_rpc {
	KUBE_RPC_DEFAULT,
	KUBE_RPC_RUN_POD_SANDBOX,
	KUBE_RPC_STOP_CONTAINER,
} kube_rpc;
int64_t kube_deadline_ms(const kube_config *c, kube_rpc rpc, int64_t stop_timeout_s);

/* --- probes ------------------------------------------------------------------- */

#define KUBE_MAX_CONDITIONS 8

typedef struct kube_condition {
	char type[32];     /* "RuntimeReady", "NetworkReady", ... */
	bool status;
	char reason[128];
	char message[256];
} kube_condition;

/* What a Status reply carried: its conditions, as many as it had (n may
 * exceed KUBE_MAX_CONDITIONS; only the first ones are kept). */
typedef struct kube_runtime_status {
	int n;
	kube_condition cond[KUBE_MAX_CONDITIONS];
} kube_runtime_status;

/* Each probe returns 0, or a negative code with e filled. A call that ran
 * out of its deadline returns -ETIMEDOUT, or -ERR_GRPC with e->grpc_status 4
 * (DEADLINE_EXCEEDED): the model then takes it as having lasted the whole
 * deadline (a hung call), which a fake can report without sleeping.
 * A probe may also return -EINPROGRESS: the call started (or still runs)
 * elsewhere; the model asks again on later ticks, with the same arguments,
 * and takes the answer when it comes, timed from when the call started
 * (kube_async gives any probes that behaviour). */
typedef struct kube_probes {
	void *arg;
	/* Dial and Version: the kubelet's start-up validation. */
	int (*version)(void *arg, int64_t deadline_ms, crit_err *e);
	/* CRI Status. */
	int (*status)(void *arg, int64_t deadline_ms, kube_runtime_status *out, crit_err *e);
	/* PLEG relist: ListPodSandbox then ListContainers. */
	int (*relist)(void *arg, int64_t deadline_ms, crit_err *e);
	/* Optional (NULL = no canary): create and remove a tiny sandbox.
	 * deadline_ms is canary_timeout_ms; RunPodSandbox gets twice it. */
	int (*canary)(void *arg, int64_t deadline_ms, crit_err *e);
} kube_probes;

/* Run each probe in its own worker thread, so that a hung call holds up
 * only its own loop, as in the kubelet (status, relist and the start-up
 * check are separate goroutines there), and kube_tick never blocks. The
 * wrapped probes (filled into *wrapped) answer -EINPROGRESS until the call
 * is done. inner must stay valid until kube_async_free, which waits for a
 * call still running (at most its deadline). Free the model first. */
typedef struct kube_async kube_async;
int kube_async_new(kube_async **out, const kube_probes *inner, kube_probes *wrapped, crit_err *e);
void kube_async_free(kube_async *a);

typedef struct cri_conn cri_conn;
/* Probes over a real connection (which must outlive the model): Status,
 * ListPodSandbox + ListContainers, Version, and a canary sandbox with the
 * labels critic.io/owner=critic and critic.io/test=kube-canary in the node's
 * network namespace (no CNI, no image beyond the runtime's own pause), which
 * is stopped and removed at once. Deadlines come from the model
 * (kube_deadline_ms, so they scale with it). They block: wrap them with
 * kube_async_new for a model driven in real time. */
kube_probes kube_probes_cri(cri_conn *c);

/* --- the model ----------------------------------------------------------------- */

typedef enum kube_component {
	KUBE_C_KUBELET,
	KUBE_C_RUNTIME,
	KUBE_C_NETWORK,
	KUBE_C_PLEG,
	KUBE_C_NODE,
	KUBE_C_CANARY,
	KUBE_C_COUNT,
} kube_component;
const char *kube_component_name(kube_component c);

/* Node Ready condition as the API shows it. */
typedef enum kube_node_state {
	KUBE_NODE_NONE,     /* never posted (only when !node_ready_at_start) */
	KUBE_NODE_READY,
	KUBE_NODE_NOTREADY,
	KUBE_NODE_UNKNOWN,
} kube_node_state;

typedef enum kube_kubelet_state {
	KUBE_KUBELET_STARTING,   /* about to start, or validating the endpoint */
	KUBE_KUBELET_RUNNING,
	KUBE_KUBELET_CRASHLOOP,  /* exited; the supervisor starts it at next_start_ms */
	KUBE_KUBELET_STOPPED,    /* stopped on purpose; nobody restarts it */
} kube_kubelet_state;

/* One timeline entry: a component reached a new state. state and reason are
 * short words (the kubelet's own reason where it has one); message is the
 * text a user would see (node condition message, kubelet exit error, ...). */
typedef struct kube_event {
	int64_t t_ms;             /* ms since model start (the caller's clock) */
	kube_component comp;
	char state[24];
	char reason[32];          /* "" when the state needs none */
	char message[768];
} kube_event;

/* Current state (strings point into the model; valid until the next call). */
typedef struct kube_view {
	kube_kubelet_state kubelet;
	const char *exit_message;     /* last exit error ("" if none) */
	int64_t next_start_ms;        /* when CRASHLOOP: the supervisor's next start */
	int starts;                   /* start attempts so far */
	kube_node_state node;
	const char *node_reason;
	const char *node_message;
	int64_t runtime_last_ok_ms;   /* last Status success (this kubelet run); -1 none */
	int64_t relist_last_ok_ms;    /* start of the last good relist; -1 none */
	int64_t lease_renewed_ms;     /* last lease renewal (any run); -1 none */
	bool canary_ran;
	bool canary_ok;
	const char *canary_message;
	int64_t canary_at_ms;
} kube_view;

typedef struct kube_model kube_model;

/* probes->version, status and relist are required; cfg is copied. */
int kube_new(kube_model **out, const kube_config *cfg, const kube_probes *probes, crit_err *e);
void kube_free(kube_model *m);
const kube_config *kube_config_of(const kube_model *m);

/* Advance the model to now_ms (never earlier than the previous call): run the
 * probes that are due and record what changed. Returns 0, or -EINVAL when
 * time goes backwards. A failing probe is an observation, not an error.
 * Time is the caller's: ms since the model started (a fake clock in tests,
 * util_now_ms() - t0 for a real runtime; tick every 50-100 ms there). The
 * kubelet process starts at the first tick, like a kubelet started at t=0.
 * Loops follow wait.Until: the next Status (relist, canary) is one period
 * after the previous call returned; a call that timed out counts as having
 * lasted its whole deadline. */
int kube_tick(kube_model *m, int64_t now_ms);

/* What the operator does to the kubelet (systemctl stop / start / restart).
 * The start itself happens at the next tick at or after now_ms. */
int kube_kubelet_stop(kube_model *m, int64_t now_ms);
int kube_kubelet_start(kube_model *m, int64_t now_ms);
int kube_kubelet_restart(kube_model *m, int64_t now_ms);

void kube_get_view(const kube_model *m, kube_view *out);
/* The timeline so far, oldest first. */
const kube_event *kube_timeline(const kube_model *m, size_t *n);
/* Print the timeline as aligned lines:
 * "   +40.000s  node     NotReady      KubeletNotReady       container runtime is down" */
void kube_timeline_print(const kube_model *m, FILE *f);

/* Go's time.Duration String() of ms milliseconds ("3m0.5s", "500ms", "0s",
 * "1h0m0s"): how the kubelet prints durations in its messages. */
const char *kube_duration_str(int64_t ms, char *buf, size_t len);

/* --- container restart back-off (the kubelet's CrashLoopBackOff) --------------- */

typedef struct kube_backoff {
	bool set;
	int64_t delay_ms;          /* current back-off */
	int64_t last_ms;           /* time of the last crash counted */
} kube_backoff;

/* A crash at now_ms: returns the delay before the next restart. The first
 * crash, or one more than backoff_reset_ms after the previous, gives the
 * initial delay; each further crash doubles it up to backoff_max_ms. */
int64_t kube_backoff_next(const kube_config *c, kube_backoff *b, int64_t now_ms);
/* The same over a history: the delay after the last of n crash times (in
 * order). Returns 0 when n is 0. */
int64_t kube_backoff_after(const kube_config *c, const int64_t *crash_ms, size_t n);

/* --- sandbox decision after a runtime restart (computePodActions) -------------- */

typedef enum kube_sandbox_state {
	KUBE_SANDBOX_READY,     /* CRI SANDBOX_READY */
	KUBE_SANDBOX_NOTREADY,  /* CRI SANDBOX_NOTREADY */
} kube_sandbox_state;

typedef struct kube_sandbox {
	const char *id;
	kube_sandbox_state state;
	int64_t created_at;     /* CRI created_at (ns); the newest decides */
	uint32_t attempt;
	const char *ip;         /* primary IP; NULL or "" = none */
	bool host_network;      /* the sandbox runs in the node's network namespace */
} kube_sandbox;

typedef struct kube_pod {
	bool host_network;      /* spec.hostNetwork */
	bool restart_never;     /* spec.restartPolicy == Never */
	bool had_containers;    /* the runtime reported container statuses for it */
} kube_pod;

typedef enum kube_sandbox_action {
	KUBE_SB_KEEP,        /* the newest sandbox is fine */
	KUBE_SB_CREATE,      /* no sandbox yet: create one, attempt 0 */
	KUBE_SB_RECREATE,    /* kill the pod, create a new sandbox (attempt + 1) */
	KUBE_SB_RECONCILE,   /* more than one READY: kill the pod, create attempt + 1 */
	KUBE_SB_KILL_ONLY,   /* restartPolicy Never and containers ran: kill, no new one */
} kube_sandbox_action;

typedef struct kube_sandbox_decision {
	kube_sandbox_action action;
	bool kill_pod;           /* stop every sandbox (ready or not) and container first */
	uint32_t attempt;        /* attempt of the sandbox to create */
	int newest;              /* index of the newest sandbox in the input; -1 none */
	const char *sandbox_id;  /* the kubelet's SandboxID ("" = new pod, no event) */
	const char *event;       /* "SandboxChanged" when the kubelet emits that event, else "" */
	const char *event_message; /* the event's text, "" with no event */
	const char *message;     /* the kubelet's log line for the decision ("" for KEEP) */
} kube_sandbox_decision;

/* Pure: decide like podSandboxChanged + computePodActions. sb[] is in any
 * order (the newest by created_at is taken). Returns 0 or -EINVAL. */
int kube_sandbox_decide(const kube_pod *pod, const kube_sandbox *sb, size_t n, kube_sandbox_decision *out,
			crit_err *e);
const char *kube_sandbox_action_name(kube_sandbox_action a);

#endif
