/* scenarios/steps: the step table. One entry per step kind: its keys (types, required),
 * its results, extra checks, and the function that runs it; NULL = not wired in this build. */
#include "scn.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri.h"
#include "doctor.h"
#include "fault/config.h"
#include "fault/fiu.h"
#include "fault/fs.h"
#include "fault/process.h"
#include "fault/proxy.h"
#include "fault/sockfile.h"
#include "leaks.h"
#include "profile.h"
#include "rtctl.h"
#include "tst.h"
#include "util.h"

#define GRPC_NOT_FOUND 5

/* ------------------------------------------------------------ value lists */

static const char *const v_via[] = { "runtime", "new", "proxy", NULL };
static const char *const v_codes[] = { "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
				       "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
				       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
				       "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED", NULL };
static const char *const v_pod_states[] = { "READY", "NOTREADY", NULL };
static const char *const v_pod_cond[] = { "READY", "NOTREADY", "GONE", NULL };
static const char *const v_ctr_states[] = { "CREATED", "RUNNING", "EXITED", "UNKNOWN", NULL };
static const char *const v_ctr_cond[] = { "CREATED", "RUNNING", "EXITED", "UNKNOWN", "GONE", NULL };
static const char *const v_runtime_cond[] = { "answering", "down", "ready", NULL };
static const char *const v_sock[] = { "answers", "accepts", "missing", "not_socket", "stale", "denied",
				      "silent", "failing", "error", NULL };
static const char *const v_node[] = { "Ready", "NotReady", "Unknown", NULL };
static const char *const v_kubelet[] = { "Starting", "Running", "CrashLooping", "Stopped", NULL };
static const char *const v_k_runtime[] = { "up", "down", "not-ready", "failing", "unknown", "off", NULL };
static const char *const v_k_pleg[] = { "healthy", "unhealthy", "failing", "unknown", "off", NULL };
static const char *const v_k_network[] = { "ready", "not-ready", "unknown", "off", NULL };
static const char *const v_rt_actions[] = { "kill", "sigterm", "stop", "cont", "restart", "recover", NULL };
static const char *const v_signals[] = { "SIGKILL", "SIGTERM", "SIGHUP", NULL };
static const char *const v_sock_actions[] = { "remove", "chmod", "stale", "restore", NULL };
static const char *const v_proxy_actions[] = { "start", "mode", "stop", NULL };
static const char *const v_fs_actions[] = { "remount_ro", "repair", "freeze", "thaw", "fill", "free", "restore", NULL };
static const char *const v_config_actions[] = { "patch", "restore", "doctor", NULL };
static const char *const v_fiu_actions[] = { "enable", "disable", NULL };
static const char *const v_fiu_modes[] = { "always", "probability", "nth", NULL };
static const char *const v_kubelet_actions[] = { "start", "stop", "restart", NULL };
static const char *const v_kubelet_start[] = { "auto", "manual", NULL };

const char *const scn_kernel_features[] = { "cgroup2", "overlay", "userns", "loop", "seccomp", "apparmor", NULL };

/* ------------------------------------------------------------ shared schemas */

#define REQ SCN_F_REQUIRED
#define POS SCN_F_POSITIVE

const scn_field scn_call_expect_fields[] = {
	{ "code", SCN_T_ENUMS, 0, v_codes, NULL, "gRPC status the call must end with (a list: any of them); default OK" },
	{ "message", SCN_T_REGEX, 0, NULL, NULL, "regex the error message must match" },
	{ "exit", SCN_T_INT, 0, NULL, NULL, "exec: the command's exit code" },
	{ "stdout", SCN_T_REGEX, 0, NULL, NULL, "exec: regex its stdout must match" },
	{ "stderr", SCN_T_REGEX, 0, NULL, NULL, "exec: regex its stderr must match" },
	{ 0 },
};

const scn_field scn_common_fields[] = {
	{ "name", SCN_T_STR, 0, NULL, NULL, "a label for reports and took:" },
	{ "as", SCN_T_IDENT, 0, NULL, NULL, "name the results: later steps use ${as.field}" },
	{ "async", SCN_T_BOOL, 0, NULL, NULL, "CRI steps: run in the background until `join: AS`" },
	{ "via", SCN_T_ENUM, 0, v_via, NULL,
	  "CRI steps: runtime (the scenario's long-lived connection), new (a fresh one), proxy" },
	{ "timeout", SCN_T_DUR, POS, NULL, NULL, "CRI steps: the call's deadline" },
	{ "expect", SCN_T_MAP, 0, NULL, scn_call_expect_fields, "CRI steps and join: how the call must end" },
	{ "known_issue", SCN_T_STR, 0, NULL, NULL,
	  "expect steps: a runtime defect that shows only sometimes; a failure is reported as XFAIL with this text" },
	{ 0 },
};

static const scn_field pod_cond[] = {
	{ "id", SCN_T_STR, REQ, NULL, NULL, "pod sandbox id" },
	{ "state", SCN_T_ENUM, REQ, v_pod_cond, NULL, "GONE: the runtime does not know it" },
	{ 0 },
};

static const scn_field ctr_cond[] = {
	{ "id", SCN_T_STR, REQ, NULL, NULL, "container id" },
	{ "state", SCN_T_ENUM, REQ, v_ctr_cond, NULL, "GONE: the runtime does not know it" },
	{ 0 },
};

static const scn_field kubelet_cond[] = {
	{ "node", SCN_T_ENUM, 0, v_node, NULL, "the node's Ready condition as the API shows it" },
	{ "kubelet", SCN_T_ENUM, 0, v_kubelet, NULL, "the kubelet process" },
	{ "runtime", SCN_T_ENUM, 0, v_k_runtime, NULL, "what the kubelet knows of the runtime" },
	{ "pleg", SCN_T_ENUM, 0, v_k_pleg, NULL, "the pod lifecycle event generator" },
	{ "network", SCN_T_ENUM, 0, v_k_network, NULL, "the runtime's NetworkReady as the kubelet saw it" },
	{ "starts", SCN_T_INT, POS, NULL, NULL, "the kubelet started at least this many times" },
	{ "message", SCN_T_REGEX, 0, NULL, NULL, "regex the node condition's message must match" },
	{ 0 },
};

const scn_field scn_cond_fields[] = {
	{ "runtime", SCN_T_ENUM, 0, v_runtime_cond, NULL,
	  "answering: Version answers; down: nobody answers on the socket; ready: Status RuntimeReady" },
	{ "socket", SCN_T_ENUM, 0, v_sock, NULL, "what a client finds at the runtime's socket path" },
	{ "pod", SCN_T_MAP, 0, NULL, pod_cond, "a pod sandbox's state" },
	{ "container", SCN_T_MAP, 0, NULL, ctr_cond, "a container's state" },
	{ "kubelet", SCN_T_MAP, 0, NULL, kubelet_cond, "the kubelet model (needs the file's kubelet: section)" },
	{ 0 },
};

static const scn_field took_fields[] = {
	{ "step", SCN_T_STR, REQ, NULL, NULL, "an earlier step's name or as" },
	{ "under", SCN_T_DUR, 0, NULL, NULL, "it took less than this" },
	{ "over", SCN_T_DUR, 0, NULL, NULL, "it took at least this" },
	{ 0 },
};

static const scn_field pods_fields[] = {
	{ "count", SCN_T_INT, 0, NULL, NULL, "exactly this many" },
	{ "min", SCN_T_INT, 0, NULL, NULL, "at least" },
	{ "max", SCN_T_INT, 0, NULL, NULL, "at most" },
	{ "states", SCN_T_ENUMS, 0, v_pod_states, NULL, "every one is in one of these states" },
	{ 0 },
};

static const scn_field ctrs_fields[] = {
	{ "count", SCN_T_INT, 0, NULL, NULL, "exactly this many" },
	{ "min", SCN_T_INT, 0, NULL, NULL, "at least" },
	{ "max", SCN_T_INT, 0, NULL, NULL, "at most" },
	{ "states", SCN_T_ENUMS, 0, v_ctr_states, NULL, "every one is in one of these states" },
	{ 0 },
};

#define COND_FIELDS                                                                                         \
	{ "runtime", SCN_T_ENUM, 0, v_runtime_cond, NULL, "answering | down | ready" },                     \
	{ "socket", SCN_T_ENUM, 0, v_sock, NULL, "what a client finds at the socket path" },                 \
	{ "pod", SCN_T_MAP, 0, NULL, pod_cond, "{id, state}" },                                            \
	{ "container", SCN_T_MAP, 0, NULL, ctr_cond, "{id, state}" },                                      \
	{ "kubelet", SCN_T_MAP, 0, NULL, kubelet_cond, "{node, kubelet, runtime, pleg, network, starts, message}" }

static const scn_field expect_args[] = {
	COND_FIELDS,
	{ "no_leaks", SCN_T_BOOL, 0, NULL, NULL,
	  "no pod or container with the scenario's labels, no shim or process of what it removed" },
	{ "took", SCN_T_MAP, 0, NULL, took_fields, "{step, under, over}: an earlier step's duration" },
	{ "equal", SCN_T_STRLIST, 0, NULL, NULL, "these values are all equal" },
	{ "differ", SCN_T_STRLIST, 0, NULL, NULL, "these values are all different" },
	{ "pods", SCN_T_MAP, 0, NULL, pods_fields, "the scenario's pods: {count, min, max, states}" },
	{ "containers", SCN_T_MAP, 0, NULL, ctrs_fields, "the scenario's containers: {count, min, max, states}" },
	{ "within", SCN_T_DUR, 0, NULL, NULL, "keep checking until all hold, at most this long (default: once)" },
	{ "every", SCN_T_DUR, POS, NULL, NULL, "pause between checks (default 100ms)" },
	{ "via", SCN_T_ENUM, 0, v_via, NULL, "connection for runtime: answering|ready (default new)" },
	{ 0 },
};

static const scn_field wait_args[] = {
	{ "until", SCN_T_MAP, REQ, NULL, scn_cond_fields, "the condition (every key given must hold)" },
	{ "within", SCN_T_DUR, 0, NULL, NULL, "give up after this long (default 30s): the step fails" },
	{ "every", SCN_T_DUR, POS, NULL, NULL, "pause between checks (default 100ms)" },
	{ "via", SCN_T_ENUM, 0, v_via, NULL, "connection for runtime: answering|ready (default new)" },
	{ 0 },
};

const scn_field scn_kubelet_fields[] = {
	{ "scale", SCN_T_NUM, POS, NULL, NULL, "multiply every kubelet period and deadline (0.1: ten times faster)" },
	{ "start", SCN_T_ENUM, 0, v_kubelet_start, NULL,
	  "auto: the model starts with the steps; manual: at a `kubelet: start` step" },
	{ "canary", SCN_T_BOOL, 0, NULL, NULL, "also run critic's canary sandbox (default false)" },
	{ "request_timeout", SCN_T_DUR, POS, NULL, NULL, "override (after scaling): CRI deadline" },
	{ "runtime_check", SCN_T_DUR, POS, NULL, NULL, "override: Status period" },
	{ "runtime_down", SCN_T_DUR, POS, NULL, NULL, "override: runtime is down after this without Status" },
	{ "relist", SCN_T_DUR, POS, NULL, NULL, "override: PLEG relist period" },
	{ "relist_threshold", SCN_T_DUR, POS, NULL, NULL, "override: PLEG unhealthy after this" },
	{ "node_status", SCN_T_DUR, POS, NULL, NULL, "override: node status post period" },
	{ "restart", SCN_T_DUR, POS, NULL, NULL, "override: the supervisor's RestartSec" },
	{ "monitor_grace", SCN_T_DUR, POS, NULL, NULL, "override: node Unknown after this without a lease" },
	{ 0 },
};

const scn_field scn_file_fields[] = {
	{ "name", SCN_T_STR, REQ, NULL, NULL, "lower-case words joined by '-' (it goes into a label)" },
	{ "description", SCN_T_STR, REQ, NULL, NULL, "what a kubelet operator learns from it" },
	{ "tags", SCN_T_STRLIST, 0, NULL, NULL, "free words for selection" },
	{ "needs", SCN_T_NEEDS, 0, NULL, NULL, "root, disruptive, lab, loopfs (the lab on its loop fs), {handler: NAME}, {kernel: FEATURE}" },
	{ "kubelet", SCN_T_MAP, 0, NULL, scn_kubelet_fields, "run the kubelet model beside the steps" },
	{ "timeout", SCN_T_DUR, POS, NULL, NULL, "deadline of the whole scenario (default 10m)" },
	{ "setup", SCN_T_STEPS, 0, NULL, NULL, "steps before the model starts; a failure skips steps" },
	{ "steps", SCN_T_STEPS, REQ, NULL, NULL, "the scenario" },
	{ "finally", SCN_T_STEPS, 0, NULL, NULL, "steps that always run, also after a failure or an interrupt" },
	{ 0 },
};

/* ------------------------------------------------------------ small helpers */

static const char *state_word_pod(int s)
{
	return s == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY ? "READY" : "NOTREADY";
}

static const char *state_word_ctr(int s)
{
	switch (s) {
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED: return "CREATED";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING: return "RUNNING";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED: return "EXITED";
	default: return "UNKNOWN";
	}
}

static const char *sock_word(fault_sock_state s)
{
	switch (s) {
	case FAULT_SOCK_ANSWERS: return "answers";
	case FAULT_SOCK_ACCEPTS: return "accepts";
	case FAULT_SOCK_MISSING: return "missing";
	case FAULT_SOCK_NOT_SOCKET: return "not_socket";
	case FAULT_SOCK_REFUSED: return "stale";
	case FAULT_SOCK_DENIED: return "denied";
	case FAULT_SOCK_SILENT: return "silent";
	case FAULT_SOCK_FAILING: return "failing";
	case FAULT_SOCK_ERROR: return "error";
	case FAULT_SOCK_UNKNOWN: break;
	}
	return "unknown";
}

static int required(scn_call *c, const char *key, const char **out, crit_err *e)
{
	int rc = scn_arg(c, key, out, e);
	if (rc < 0)
		return rc;
	if (!*out || !**out)
		return err_set(e, -EINVAL, "%s: '%s' is empty", c->step->kind->name, key);
	return 0;
}

/* Every protoc-c string map entry has this layout. */
typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv_entry;

static int map_add(const ProtobufCMessageDescriptor *d, void ***entries, size_t *n, const char *k, const char *v)
{
	for (size_t i = 0; i < *n; i++) {
		kv_entry *ent = (*entries)[i];
		if (!strcmp(ent->key, k)) { /* a later value replaces (critic's labels come last) */
			char *nv = strdup(v);
			if (!nv)
				return -ENOMEM;
			free(ent->value);
			ent->value = nv;
			return 0;
		}
	}
	kv_entry *ent = calloc(1, sizeof *ent);
	void **g = realloc(*entries, (*n + 1) * sizeof *g);
	if (!ent || !g) {
		free(ent);
		if (g)
			*entries = g;
		return -ENOMEM;
	}
	*entries = g;
	protobuf_c_message_init(d, ent);
	ent->key = strdup(k);
	ent->value = strdup(v);
	g[(*n)++] = ent;
	return ent->key && ent->value ? 0 : -ENOMEM;
}

#define MAP_ADD(desc, msg, field, k, v) map_add(&(desc), (void ***)&(msg)->field, &(msg)->n_##field, (k), (v))

/* Add a string map argument (labels, annotations, env) through add(). */
static int strmap_each(scn_call *c, const char *key, int (*add)(void *obj, const char *k, const char *v), void *obj,
		       crit_err *e)
{
	scn_node *m = scn_arg_node(c, key);
	if (!m || m->kind != SCN_MAP)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *k, *v;
		int rc = scn_node_str(c, m->keys[i], &k, e);
		if (rc == 0)
			rc = scn_node_str(c, m->vals[i], &v, e);
		if (rc < 0)
			return rc;
		if ((rc = add(obj, k, v)) < 0)
			return err_set(e, rc, "%s: out of memory", key);
	}
	return 0;
}

/* A string list argument, interpolated, NULL-terminated in *out (kept). */
static int strlist(scn_call *c, const char *key, char ***out, size_t *n, crit_err *e)
{
	*out = NULL;
	*n = 0;
	scn_node *l = scn_arg_node(c, key);
	if (!l || l->kind != SCN_SEQ)
		return 0;
	char **v = calloc(l->n + 1, sizeof *v);
	if (!v)
		return err_set(e, -ENOMEM, "out of memory");
	scn_keep(c, (char *)v);
	for (size_t i = 0; i < l->n; i++) {
		const char *s;
		int rc = scn_node_str(c, l->vals[i], &s, e);
		if (rc < 0)
			return rc;
		v[i] = (char *)s;
	}
	*out = v;
	*n = l->n;
	return 0;
}

pid_t scn_info_pid(void *const *info, size_t n)
{
	pid_t pid = 0;
	for (size_t i = 0; i < n; i++) {
		const kv_entry *ent = info[i];
		if (strcmp(ent->key, "info") != 0)
			continue;
		json_object *j = json_tokener_parse(ent->value), *p;
		if (j && json_object_object_get_ex(j, "pid", &p))
			pid = (pid_t)json_object_get_int(p);
		json_object_put(j);
	}
	return pid;
}

static bool regex_match(const char *re, const char *text)
{
	regex_t r;
	char why[200];
	if (scn_regcomp(&r, re, why, sizeof why) < 0)
		return false;
	bool ok = regexec(&r, text ? text : "", 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static int enum_list(scn_call *c, const scn_node *n, const char **out, size_t max, size_t *cnt, crit_err *e)
{
	*cnt = 0;
	if (!n)
		return 0;
	if (n->kind == SCN_SCALAR)
		return scn_node_str(c, n, &out[(*cnt)++], e);
	for (size_t i = 0; n->kind == SCN_SEQ && i < n->n && *cnt < max; i++) {
		int rc = scn_node_str(c, n->vals[i], &out[(*cnt)++], e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool in_list(const char *w, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i], w))
			return true;
	return false;
}

/* ------------------------------------------------------------ CRI steps */

static int add_pod_label(void *o, const char *k, const char *v)
{
	Runtime__V1__PodSandboxConfig *cfg = o;
	return MAP_ADD(runtime__v1__pod_sandbox_config__labels_entry__descriptor, cfg, labels, k, v);
}

static int add_pod_annotation(void *o, const char *k, const char *v)
{
	Runtime__V1__PodSandboxConfig *cfg = o;
	return MAP_ADD(runtime__v1__pod_sandbox_config__annotations_entry__descriptor, cfg, annotations, k, v);
}

static int add_ctr_label(void *o, const char *k, const char *v)
{
	Runtime__V1__ContainerConfig *cfg = o;
	return MAP_ADD(runtime__v1__container_config__labels_entry__descriptor, cfg, labels, k, v);
}

static int add_ctr_annotation(void *o, const char *k, const char *v)
{
	Runtime__V1__ContainerConfig *cfg = o;
	return MAP_ADD(runtime__v1__container_config__annotations_entry__descriptor, cfg, annotations, k, v);
}

static int add_ctr_env(void *o, const char *k, const char *v)
{
	Runtime__V1__ContainerConfig *cfg = o;
	Runtime__V1__KeyValue *kv = calloc(1, sizeof *kv);
	Runtime__V1__KeyValue **g = realloc(cfg->envs, (cfg->n_envs + 1) * sizeof *g);
	if (!kv || !g) {
		free(kv);
		if (g)
			cfg->envs = g;
		return -ENOMEM;
	}
	cfg->envs = g;
	runtime__v1__key_value__init(kv);
	kv->key = strdup(k);
	kv->value = strdup(v);
	g[cfg->n_envs++] = kv;
	return kv->key && kv->value ? 0 : -ENOMEM;
}

static int critic_labels(scn_exec *x, int (*add)(void *, const char *, const char *), void *obj)
{
	int rc = add(obj, TST_LABEL_OWNER, "critic");
	if (rc == 0)
		rc = add(obj, TST_LABEL_RUN, x->run_id);
	if (rc == 0)
		rc = add(obj, TST_LABEL_TEST, x->test_label);
	return rc;
}

/* The sandbox config of run_pod, on the heap (freed with cri_free). */
static Runtime__V1__PodSandboxConfig *pod_config(scn_call *c, const char *name, const char *uid, long long attempt,
						 bool hostnet, char **log_dir, crit_err *e)
{
	scn_exec *x = c->x;
	Runtime__V1__PodSandboxConfig *cfg = calloc(1, sizeof *cfg);
	Runtime__V1__PodSandboxMetadata *md = calloc(1, sizeof *md);
	Runtime__V1__LinuxPodSandboxConfig *lx = calloc(1, sizeof *lx);
	Runtime__V1__LinuxSandboxSecurityContext *sc = calloc(1, sizeof *sc);
	Runtime__V1__NamespaceOption *ns = calloc(1, sizeof *ns);
	if (!cfg || !md || !lx || !sc || !ns) {
		free(cfg);
		free(md);
		free(lx);
		free(sc);
		free(ns);
		err_set(e, -ENOMEM, "run_pod: out of memory");
		return NULL;
	}
	runtime__v1__pod_sandbox_config__init(cfg);
	runtime__v1__pod_sandbox_metadata__init(md);
	runtime__v1__linux_pod_sandbox_config__init(lx);
	runtime__v1__linux_sandbox_security_context__init(sc);
	runtime__v1__namespace_option__init(ns);
	cfg->metadata = md;
	lx->security_context = sc;
	sc->namespace_options = ns;
	cfg->linux_ = lx;
	md->name = strdup(name);
	md->uid = strdup(uid);
	md->namespace_ = strdup("critic");
	md->attempt = (uint32_t)attempt;
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	if (hostnet)
		ns->network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	else
		cfg->hostname = strdup("critic-scenario");
	cfg->log_directory = util_strdup_printf("/var/log/critic/%s/%s", x->run_id, uid);
	if (!md->name || !md->uid || !md->namespace_ || !cfg->log_directory || (!hostnet && !cfg->hostname)) {
		cri_free(cfg);
		err_set(e, -ENOMEM, "run_pod: out of memory");
		return NULL;
	}
	if (util_mkdir_p(cfg->log_directory, 0755, e) < 0) {
		cri_free(cfg);
		return NULL;
	}
	*log_dir = cfg->log_directory;
	return cfg;
}

static void pod_results(scn_call *c, const char *id)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	req.verbose = true;
	crit_err e;
	if (scn_cri_aux(c, "PodSandboxStatus", &req.base, (ProtobufCMessage **)&resp, 0, &e) < 0) {
		scn_say(c, "PodSandboxStatus after it: %s", e.msg);
		return;
	}
	if (resp->status) {
		scn_res(c, "state", "%s", state_word_pod(resp->status->state));
		const char *ip = resp->status->network && resp->status->network->ip ? resp->status->network->ip : "";
		scn_res(c, "ip", "%s", ip);
		scn_res(c, "created", "%lld", (long long)resp->status->created_at);
	}
	scn_res(c, "pid", "%d", (int)scn_info_pid((void *const *)resp->info, resp->n_info));
	cri_free(resp);
}

static int run_run_pod(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *name, *uid, *handler;
	long long attempt;
	bool hostnet;
	int rc;
	if ((rc = required(c, "name", &name, e)) < 0 || (rc = scn_arg(c, "uid", &uid, e)) < 0 ||
	    (rc = scn_arg(c, "handler", &handler, e)) < 0 || (rc = scn_arg_int(c, "attempt", 0, &attempt, e)) < 0 ||
	    (rc = scn_arg_bool(c, "hostnetwork", false, &hostnet, e)) < 0)
		return rc;
	char *made_uid = NULL;
	if (!uid) {
		/* the same name gives the same metadata: a retry is a kubelet retry */
		made_uid = scn_keep(c, util_strdup_printf("%s-%s", x->run_id, name));
		uid = made_uid;
	}
	char *log_dir = NULL;
	Runtime__V1__PodSandboxConfig *cfg = pod_config(c, name, uid, attempt, hostnet, &log_dir, e);
	if (!cfg)
		return e->code;
	if ((rc = strmap_each(c, "labels", add_pod_label, cfg, e)) < 0 ||
	    (rc = strmap_each(c, "annotations", add_pod_annotation, cfg, e)) < 0 ||
	    (rc = critic_labels(x, add_pod_label, cfg)) < 0) {
		cri_free(cfg);
		return rc == -ENOMEM ? err_set(e, rc, "run_pod: out of memory") : rc;
	}
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = cfg;
	req.runtime_handler = (char *)(handler ? handler : "");
	/* the kubelet gives RunPodSandbox twice its request timeout */
	rc = scn_cri(c, "RunPodSandbox", &req.base, (ProtobufCMessage **)&resp, 2 * x->timeout_ms, e);
	if (rc < 0) {
		cri_free(cfg);
		return rc;
	}
	char id[256];
	snprintf(id, sizeof id, "%s", resp->pod_sandbox_id);
	cri_free(resp);
	scn_track_pod(x, id, name, cfg, log_dir);
	scn_res(c, "id", "%s", id);
	scn_res(c, "name", "%s", name);
	scn_res(c, "uid", "%s", uid);
	pod_results(c, id);
	const char *ip = scn_res_get(c, "ip");
	scn_say(c, "pod %.13s%s%s", id, ip && *ip ? " ip " : "", ip ? ip : "");
	return 0;
}

/* Refs pulled by this process: the first use of a ref pulls it, so that a
 * tag the lab re-pushed with new content (critic upgraded, images rebuilt)
 * is not served from the runtime's stale copy; later uses pull only when
 * the runtime lacks it. */
static pthread_mutex_t pulled_lock = PTHREAD_MUTEX_INITIALIZER;
static char pulled_refs[16][512];
static size_t n_pulled_refs;

static bool pulled_before(const char *ref, bool add)
{
	pthread_mutex_lock(&pulled_lock);
	bool seen = false;
	for (size_t i = 0; i < n_pulled_refs && !seen; i++)
		seen = !strcmp(pulled_refs[i], ref);
	if (!seen && add && n_pulled_refs < ARRAY_SIZE(pulled_refs))
		snprintf(pulled_refs[n_pulled_refs++], sizeof pulled_refs[0], "%s", ref);
	pthread_mutex_unlock(&pulled_lock);
	return seen;
}

/* PullImage on first use (see above); else ImageStatus, and PullImage when
 * the runtime does not have it. A first pull that fails while the runtime
 * has the image goes on with that image. */
static int ensure_image(scn_call *c, const char *ref, crit_err *e)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	int rc;
	char first_err[sizeof e->msg] = "";
	if (!pulled_before(ref, false)) {
		rc = scn_cri_aux(c, "PullImage", &preq.base, (ProtobufCMessage **)&presp, 6 * c->x->timeout_ms, e);
		cri_free(presp);
		presp = NULL;
		if (rc == 0) {
			pulled_before(ref, true);
			return 0;
		}
		snprintf(first_err, sizeof first_err, "%s", e->msg);
	}
	Runtime__V1__ImageStatusRequest sreq = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *sresp = NULL;
	sreq.image = &spec;
	rc = scn_cri_aux(c, "ImageStatus", &sreq.base, (ProtobufCMessage **)&sresp, 0, e);
	if (rc < 0)
		return rc;
	bool have = sresp->image != NULL;
	cri_free(sresp);
	if (have) {
		if (first_err[0])
			scn_say(c, "pull of %s failed (%s): using the image the runtime has", ref, first_err);
		return 0;
	}
	rc = scn_cri_aux(c, "PullImage", &preq.base, (ProtobufCMessage **)&presp, 6 * c->x->timeout_ms, e);
	cri_free(presp);
	if (rc == 0) {
		pulled_before(ref, true);
		scn_say(c, "pulled %s first", ref);
	}
	return rc;
}

static int run_create_container(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *pod, *name, *image;
	int rc;
	if ((rc = required(c, "pod", &pod, e)) < 0 || (rc = required(c, "name", &name, e)) < 0 ||
	    (rc = scn_arg(c, "image", &image, e)) < 0)
		return rc;
	char ref[512];
	if ((rc = scn_image_ref(x, image ? image : "busybox", ref, sizeof ref, e)) < 0)
		return rc;
	if ((rc = ensure_image(c, ref, e)) < 0)
		return err_wrap(e, "create_container: image %s", ref);
	char **cmd, **args;
	size_t n_cmd, n_args;
	if ((rc = strlist(c, "command", &cmd, &n_cmd, e)) < 0 || (rc = strlist(c, "args", &args, &n_args, e)) < 0)
		return rc;

	Runtime__V1__ContainerConfig *cfg = calloc(1, sizeof *cfg);
	Runtime__V1__ContainerMetadata *md = calloc(1, sizeof *md);
	Runtime__V1__ImageSpec *img = calloc(1, sizeof *img);
	Runtime__V1__LinuxContainerConfig *lx = calloc(1, sizeof *lx);
	Runtime__V1__LinuxContainerSecurityContext *sc = calloc(1, sizeof *sc);
	Runtime__V1__NamespaceOption *ns = calloc(1, sizeof *ns);
	if (!cfg || !md || !img || !lx || !sc || !ns) {
		free(cfg);
		free(md);
		free(img);
		free(lx);
		free(sc);
		free(ns);
		return err_set(e, -ENOMEM, "create_container: out of memory");
	}
	runtime__v1__container_config__init(cfg);
	runtime__v1__container_metadata__init(md);
	runtime__v1__image_spec__init(img);
	runtime__v1__linux_container_config__init(lx);
	runtime__v1__linux_container_security_context__init(sc);
	runtime__v1__namespace_option__init(ns);
	cfg->metadata = md;
	cfg->image = img;
	cfg->linux_ = lx;
	lx->security_context = sc;
	sc->namespace_options = ns;
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER; /* the kubelet's default */
	md->name = strdup(name);
	img->image = strdup(ref);
	rc = md->name && img->image ? 0 : -ENOMEM;
	if (rc == 0 && n_cmd) {
		cfg->command = calloc(n_cmd, sizeof *cfg->command);
		for (size_t i = 0; cfg->command && i < n_cmd; i++)
			if ((cfg->command[cfg->n_command++] = strdup(cmd[i])) == NULL)
				rc = -ENOMEM;
		if (!cfg->command)
			rc = -ENOMEM;
	}
	if (rc == 0 && n_args) {
		cfg->args = calloc(n_args, sizeof *cfg->args);
		for (size_t i = 0; cfg->args && i < n_args; i++)
			if ((cfg->args[cfg->n_args++] = strdup(args[i])) == NULL)
				rc = -ENOMEM;
		if (!cfg->args)
			rc = -ENOMEM;
	}
	Runtime__V1__PodSandboxConfig *pcfg = scn_pod_cfg(x, pod);
	Runtime__V1__PodSandboxConfig stub = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxMetadata stub_md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	if (!pcfg) {
		/* not one of ours: no log directory, so no log path either */
		stub_md.name = "critic-unknown";
		stub.metadata = &stub_md;
		pcfg = &stub;
		scn_say(c, "pod %.13s was not made by this scenario: its config is not known", pod);
	} else if (rc == 0) {
		cfg->log_path = util_strdup_printf("%s.log", name);
		if (!cfg->log_path)
			rc = -ENOMEM;
	}
	if (rc == 0 && ((rc = strmap_each(c, "labels", add_ctr_label, cfg, e)) < 0 ||
			(rc = strmap_each(c, "annotations", add_ctr_annotation, cfg, e)) < 0 ||
			(rc = strmap_each(c, "env", add_ctr_env, cfg, e)) < 0)) {
		cri_free(cfg);
		return rc;
	}
	if (rc == 0)
		rc = critic_labels(x, add_ctr_label, cfg);
	if (rc < 0) {
		cri_free(cfg);
		return err_set(e, rc, "create_container: out of memory");
	}
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = (char *)pod;
	req.config = cfg;
	req.sandbox_config = pcfg;
	rc = scn_cri(c, "CreateContainer", &req.base, (ProtobufCMessage **)&resp, 0, e);
	cri_free(cfg);
	if (rc < 0)
		return rc;
	scn_res(c, "id", "%s", resp->container_id);
	scn_res(c, "name", "%s", name);
	scn_res(c, "pod", "%s", pod);
	scn_res(c, "image", "%s", ref);
	scn_track_ctr(x, resp->container_id, pod, 0);
	scn_say(c, "container %.13s in pod %.13s", resp->container_id, pod);
	cri_free(resp);
	return 0;
}

/* ContainerStatus (verbose): fills state, pid, exit_code, reason. */
static int ctr_results(scn_call *c, const char *id, bool principal, crit_err *e)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	req.verbose = true;
	int rc = principal ? scn_cri(c, "ContainerStatus", &req.base, (ProtobufCMessage **)&resp, 0, e)
			   : scn_cri_aux(c, "ContainerStatus", &req.base, (ProtobufCMessage **)&resp, 0, e);
	if (rc < 0)
		return rc;
	pid_t pid = scn_info_pid((void *const *)resp->info, resp->n_info);
	scn_res(c, "id", "%s", id);
	scn_res(c, "pid", "%d", (int)pid);
	if (resp->status) {
		scn_res(c, "state", "%s", state_word_ctr(resp->status->state));
		scn_res(c, "exit_code", "%d", (int)resp->status->exit_code);
		scn_res(c, "reason", "%s", resp->status->reason ? resp->status->reason : "");
		/* How much of its output has reached the log file so far: whether
		 * logs still arrive while the runtime is broken. -1: no file. */
		const char *lp = resp->status->log_path ? resp->status->log_path : "";
		struct stat st;
		scn_res(c, "log_path", "%s", lp);
		scn_res(c, "log_bytes", "%lld", *lp && stat(lp, &st) == 0 ? (long long)st.st_size : -1LL);
	}
	cri_free(resp);
	return (int)pid;
}

static int run_start_container(scn_call *c, crit_err *e)
{
	const char *id;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0)
		return rc;
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	rc = scn_cri(c, "StartContainer", &req.base, (ProtobufCMessage **)&resp, 0, e);
	cri_free(resp);
	if (rc < 0)
		return rc;
	crit_err ae;
	int pid = ctr_results(c, id, false, &ae);
	if (pid < 0)
		scn_say(c, "ContainerStatus after it: %s", ae.msg);
	else {
		scn_track_ctr(c->x, id, NULL, pid);
		scn_say(c, "container %.13s runs as pid %d", id, pid);
	}
	return 0;
}

static int run_stop_container(scn_call *c, crit_err *e)
{
	const char *id;
	int64_t grace;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0 || (rc = scn_arg_dur(c, "grace", 0, &grace, e)) < 0)
		return rc;
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	Runtime__V1__StopContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	req.timeout = (grace + 999) / 1000;
	/* the kubelet: its request timeout plus the grace period */
	rc = scn_cri(c, "StopContainer", &req.base, (ProtobufCMessage **)&resp, c->x->timeout_ms + (int)grace, e);
	cri_free(resp);
	if (rc == 0)
		scn_res(c, "id", "%s", id);
	return rc;
}

/* A call whose request is one id field (RemoveContainer, StopPodSandbox,
 * RemovePodSandbox): the step's id goes into that field by name, and back
 * to the caller in *idp. */
static int run_id_call(scn_call *c, const char *method, const char *field, const char **idp, crit_err *e)
{
	const char *id;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0)
		return rc;
	*idp = id;
	ProtobufCMessage *req = cri_id_request(method, field, id, e);
	if (!req)
		return e->code;
	ProtobufCMessage *resp = NULL;
	rc = scn_cri(c, method, req, &resp, 0, e);
	cri_free(resp);
	free(req);
	return rc;
}

static int run_remove_container(scn_call *c, crit_err *e)
{
	const char *id;
	return run_id_call(c, "RemoveContainer", "container_id", &id, e);
}

static int run_stop_pod(scn_call *c, crit_err *e)
{
	const char *id;
	return run_id_call(c, "StopPodSandbox", "pod_sandbox_id", &id, e);
}

static int run_remove_pod(scn_call *c, crit_err *e)
{
	const char *id;
	int rc = run_id_call(c, "RemovePodSandbox", "pod_sandbox_id", &id, e);
	if (rc == 0)
		scn_pod_removed(c->x, id); /* the leak check's list of gone pods */
	return rc;
}

static char *bytes_str(const ProtobufCBinaryData *b)
{
	size_t n = b->len;
	if (n && b->data[n - 1] == '\n') /* one trailing newline, as $(…) drops it */
		n--;
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, b->data, n);
		s[n] = '\0';
	}
	return s;
}

static int run_exec(scn_call *c, crit_err *e)
{
	const char *id;
	char **cmd;
	size_t n_cmd;
	int64_t limit;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0 || (rc = strlist(c, "command", &cmd, &n_cmd, e)) < 0 ||
	    (rc = scn_arg_dur(c, "limit", 0, &limit, e)) < 0)
		return rc;
	if (!n_cmd)
		return err_set(e, -EINVAL, "exec: the command is empty");
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	Runtime__V1__ExecSyncResponse *resp = NULL;
	req.container_id = (char *)id;
	req.cmd = cmd;
	req.n_cmd = n_cmd;
	req.timeout = (limit + 999) / 1000;
	rc = scn_cri(c, "ExecSync", &req.base, (ProtobufCMessage **)&resp, c->x->timeout_ms + (int)limit, e);
	if (rc < 0)
		return rc;
	c->has_exec = true;
	c->exec_exit = resp->exit_code;
	c->exec_stdout = scn_keep(c, bytes_str(&resp->stdout));
	c->exec_stderr = scn_keep(c, bytes_str(&resp->stderr));
	scn_res(c, "exit_code", "%d", resp->exit_code);
	scn_res(c, "stdout", "%s", c->exec_stdout ? c->exec_stdout : "");
	scn_res(c, "stderr", "%s", c->exec_stderr ? c->exec_stderr : "");
	scn_say(c, "exit %d, %zu bytes out, %zu bytes err", resp->exit_code, resp->stdout.len, resp->stderr.len);
	cri_free(resp);
	return 0;
}

/* The step's image (a role or a reference) as the spec a call takes. */
static int image_arg(scn_call *c, char *ref, size_t len, Runtime__V1__ImageSpec *spec, crit_err *e)
{
	const char *image;
	int rc;
	if ((rc = required(c, "image", &image, e)) < 0 || (rc = scn_image_ref(c->x, image, ref, len, e)) < 0)
		return rc;
	runtime__v1__image_spec__init(spec);
	spec->image = ref;
	return 0;
}

static int run_pull_image(scn_call *c, crit_err *e)
{
	char ref[512];
	Runtime__V1__ImageSpec spec;
	int rc = image_arg(c, ref, sizeof ref, &spec, e);
	if (rc < 0)
		return rc;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = &spec;
	rc = scn_cri(c, "PullImage", &req.base, (ProtobufCMessage **)&resp, 6 * c->x->timeout_ms, e);
	if (rc < 0)
		return rc;
	scn_res(c, "ref", "%s", resp->image_ref);
	scn_say(c, "%s", ref);
	cri_free(resp);
	return 0;
}

static int run_remove_image(scn_call *c, crit_err *e)
{
	char ref[512];
	Runtime__V1__ImageSpec spec;
	int rc = image_arg(c, ref, sizeof ref, &spec, e);
	if (rc < 0)
		return rc;
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__RemoveImageResponse *resp = NULL;
	req.image = &spec;
	rc = scn_cri(c, "RemoveImage", &req.base, (ProtobufCMessage **)&resp, 0, e);
	cri_free(resp);
	return rc;
}

/* ListImages; with image: whether that reference is among the tags or digests. */
static int run_list_images(scn_call *c, crit_err *e)
{
	const char *image;
	int rc;
	if ((rc = scn_arg(c, "image", &image, e)) < 0)
		return rc;
	char ref[512] = "";
	if (image && (rc = scn_image_ref(c->x, image, ref, sizeof ref, e)) < 0)
		return rc;
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ListImagesResponse *resp = NULL;
	if ((rc = scn_cri(c, "ListImages", &req.base, (ProtobufCMessage **)&resp, 0, e)) < 0)
		return rc;
	bool found = false;
	unsigned long long size = 0;
	for (size_t i = 0; ref[0] && !found && i < resp->n_images; i++) {
		const Runtime__V1__Image *im = resp->images[i];
		for (size_t j = 0; j < im->n_repo_tags; j++)
			found = found || !strcmp(im->repo_tags[j], ref);
		for (size_t j = 0; j < im->n_repo_digests; j++)
			found = found || !strcmp(im->repo_digests[j], ref);
		found = found || !strcmp(im->id, ref);
		if (found)
			size = im->size;
	}
	scn_res(c, "count", "%zu", resp->n_images);
	scn_res(c, "found", "%s", found ? "true" : "false");
	scn_res(c, "size", "%llu", size);
	if (ref[0])
		scn_say(c, "%zu images; %s %s", resp->n_images, ref, found ? "listed" : "not listed");
	else
		scn_say(c, "%zu images", resp->n_images);
	cri_free(resp);
	return 0;
}

static int add_pod_sel(void *o, const char *k, const char *v)
{
	Runtime__V1__PodSandboxFilter *f = o;
	return MAP_ADD(runtime__v1__pod_sandbox_filter__label_selector_entry__descriptor, f, label_selector, k, v);
}

static int add_ctr_sel(void *o, const char *k, const char *v)
{
	Runtime__V1__ContainerFilter *f = o;
	return MAP_ADD(runtime__v1__container_filter__label_selector_entry__descriptor, f, label_selector, k, v);
}

static void free_selector(void **entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kv_entry *ent = entries[i];
		free(ent->key);
		free(ent->value);
		free(ent);
	}
	free(entries);
}

static int scenario_selector(scn_exec *x, int (*add)(void *, const char *, const char *), void *obj)
{
	int rc = add(obj, TST_LABEL_RUN, x->run_id);
	return rc == 0 ? add(obj, TST_LABEL_TEST, x->test_label) : rc;
}

/* The scenario's pods (by label), on the conn of c (aux when c->called). */
static int list_pods(scn_call *c, bool principal, bool all, const char *state, const char *id,
		     Runtime__V1__ListPodSandboxResponse **out, crit_err *e)
{
	Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue sv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
	int rc = 0;
	if (!all)
		rc = scenario_selector(c->x, add_pod_sel, &f);
	if (rc == 0 && principal)
		rc = strmap_each(c, "labels", add_pod_sel, &f, e);
	if (rc < 0) {
		free_selector((void **)f.label_selector, f.n_label_selector);
		return rc == -ENOMEM ? err_set(e, rc, "list_pods: out of memory") : rc;
	}
	if (state) {
		sv.state = !strcmp(state, "READY") ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
						   : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
		f.state = &sv;
	}
	if (id)
		f.id = (char *)id;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &f;
	rc = principal ? scn_cri(c, "ListPodSandbox", &req.base, (ProtobufCMessage **)out, 0, e)
		       : scn_cri_aux(c, "ListPodSandbox", &req.base, (ProtobufCMessage **)out, 0, e);
	free_selector((void **)f.label_selector, f.n_label_selector);
	return rc;
}

static int list_ctrs(scn_call *c, bool principal, bool all, const char *state, const char *pod,
		     Runtime__V1__ListContainersResponse **out, crit_err *e)
{
	Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
	Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
	int rc = 0;
	if (!all)
		rc = scenario_selector(c->x, add_ctr_sel, &f);
	if (rc == 0 && principal)
		rc = strmap_each(c, "labels", add_ctr_sel, &f, e);
	if (rc < 0) {
		free_selector((void **)f.label_selector, f.n_label_selector);
		return rc == -ENOMEM ? err_set(e, rc, "list_containers: out of memory") : rc;
	}
	if (state) {
		for (int s = 0; s <= 3; s++)
			if (!strcmp(state_word_ctr(s), state))
				sv.state = s;
		f.state = &sv;
	}
	if (pod)
		f.pod_sandbox_id = (char *)pod;
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	req.filter = &f;
	rc = principal ? scn_cri(c, "ListContainers", &req.base, (ProtobufCMessage **)out, 0, e)
		       : scn_cri_aux(c, "ListContainers", &req.base, (ProtobufCMessage **)out, 0, e);
	free_selector((void **)f.label_selector, f.n_label_selector);
	return rc;
}

static int run_list_pods(scn_call *c, crit_err *e)
{
	const char *state, *id;
	bool all;
	int rc;
	if ((rc = scn_arg(c, "state", &state, e)) < 0 || (rc = scn_arg(c, "id", &id, e)) < 0 ||
	    (rc = scn_arg_bool(c, "all", false, &all, e)) < 0)
		return rc;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	if ((rc = list_pods(c, true, all, state, id, &resp, e)) < 0)
		return rc;
	int ready = 0;
	strbuf ids = { 0 };
	for (size_t i = 0; i < resp->n_items; i++) {
		ready += resp->items[i]->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		sb_printf(&ids, "%s%s", i ? " " : "", resp->items[i]->id);
		scn_say(c, "pod %.13s %s %s", resp->items[i]->id, state_word_pod(resp->items[i]->state),
			resp->items[i]->metadata ? resp->items[i]->metadata->name : "");
	}
	scn_res(c, "count", "%zu", resp->n_items);
	scn_res(c, "ready", "%d", ready);
	scn_res(c, "notready", "%d", (int)resp->n_items - ready);
	scn_res(c, "first", "%s", resp->n_items ? resp->items[0]->id : "");
	scn_res(c, "ids", "%s", ids.buf ? ids.buf : "");
	sb_free(&ids);
	cri_free(resp);
	return 0;
}

static int run_list_containers(scn_call *c, crit_err *e)
{
	const char *state, *pod;
	bool all;
	int rc;
	if ((rc = scn_arg(c, "state", &state, e)) < 0 || (rc = scn_arg(c, "pod", &pod, e)) < 0 ||
	    (rc = scn_arg_bool(c, "all", false, &all, e)) < 0)
		return rc;
	Runtime__V1__ListContainersResponse *resp = NULL;
	if ((rc = list_ctrs(c, true, all, state, pod, &resp, e)) < 0)
		return rc;
	int n[4] = { 0 };
	strbuf ids = { 0 };
	for (size_t i = 0; i < resp->n_containers; i++) {
		const Runtime__V1__Container *ct = resp->containers[i];
		if (ct->state >= 0 && ct->state <= 3)
			n[ct->state]++;
		sb_printf(&ids, "%s%s", i ? " " : "", ct->id);
		scn_say(c, "container %.13s %s %s", ct->id, state_word_ctr(ct->state),
			ct->metadata ? ct->metadata->name : "");
	}
	scn_res(c, "count", "%zu", resp->n_containers);
	scn_res(c, "created", "%d", n[0]);
	scn_res(c, "running", "%d", n[1]);
	scn_res(c, "exited", "%d", n[2]);
	scn_res(c, "first", "%s", resp->n_containers ? resp->containers[0]->id : "");
	scn_res(c, "ids", "%s", ids.buf ? ids.buf : "");
	sb_free(&ids);
	cri_free(resp);
	return 0;
}

static int run_pod_status(scn_call *c, crit_err *e)
{
	const char *id;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0)
		return rc;
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	req.verbose = true;
	if ((rc = scn_cri(c, "PodSandboxStatus", &req.base, (ProtobufCMessage **)&resp, 0, e)) < 0)
		return rc;
	scn_res(c, "id", "%s", id);
	if (resp->status) {
		scn_res(c, "state", "%s", state_word_pod(resp->status->state));
		scn_res(c, "ip", "%s", resp->status->network && resp->status->network->ip ? resp->status->network->ip : "");
		scn_res(c, "created", "%lld", (long long)resp->status->created_at);
	}
	pid_t pid = scn_info_pid((void *const *)resp->info, resp->n_info);
	scn_res(c, "pid", "%d", (int)pid);
	scn_say(c, "pod %.13s %s, pid %d", id, scn_res_get(c, "state") ? scn_res_get(c, "state") : "?", (int)pid);
	cri_free(resp);
	return 0;
}

static int run_container_status(scn_call *c, crit_err *e)
{
	const char *id;
	int rc;
	if ((rc = required(c, "id", &id, e)) < 0)
		return rc;
	int pid = ctr_results(c, id, true, e);
	if (pid < 0)
		return pid;
	scn_say(c, "container %.13s %s, pid %d", id, scn_res_get(c, "state") ? scn_res_get(c, "state") : "?", pid);
	return 0;
}

static int run_status(scn_call *c, crit_err *e)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	int rc = scn_cri(c, "Status", &req.base, (ProtobufCMessage **)&resp, 0, e);
	if (rc < 0)
		return rc;
	bool rt = false, net = false;
	for (size_t i = 0; resp->status && i < resp->status->n_conditions; i++) {
		const Runtime__V1__RuntimeCondition *cd = resp->status->conditions[i];
		if (!strcmp(cd->type, "RuntimeReady"))
			rt = cd->status;
		else if (!strcmp(cd->type, "NetworkReady"))
			net = cd->status;
		scn_say(c, "%s=%s%s%s", cd->type, cd->status ? "true" : "false", cd->reason && *cd->reason ? " " : "",
			cd->reason ? cd->reason : "");
	}
	strbuf h = { 0 };
	for (size_t i = 0; i < resp->n_runtime_handlers; i++)
		sb_printf(&h, "%s%s", i ? " " : "", resp->runtime_handlers[i]->name);
	scn_res(c, "runtime_ready", "%s", rt ? "true" : "false");
	scn_res(c, "network_ready", "%s", net ? "true" : "false");
	scn_res(c, "handlers", "%s", h.buf ? h.buf : "");
	sb_free(&h);
	cri_free(resp);
	return 0;
}

static int run_version(scn_call *c, crit_err *e)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = scn_cri(c, "Version", &req.base, (ProtobufCMessage **)&resp, 0, e);
	if (rc < 0)
		return rc;
	scn_res(c, "runtime", "%s", resp->runtime_name);
	scn_res(c, "version", "%s", resp->runtime_version);
	scn_res(c, "api", "%s", resp->runtime_api_version);
	scn_say(c, "%s %s (%s)", resp->runtime_name, resp->runtime_version, resp->runtime_api_version);
	cri_free(resp);
	return 0;
}

/* ------------------------------------------------------------ fault steps */

static void proc_results(scn_call *c, const fault_proc_result *r)
{
	scn_res(c, "pid", "%d", (int)r->pid);
	scn_res(c, "new_pid", "%d", (int)r->new_pid);
	scn_res(c, "down_ms", "%lld", (long long)r->down_ms);
	scn_res(c, "exit_ms", "%lld", (long long)r->exit_ms);
	scn_res(c, "start_ms", "%lld", (long long)r->start_ms);
	scn_res(c, "ready_ms", "%lld", (long long)r->ready_ms);
	fault_sock_state st = r->sock_after.state ? r->sock_after.state : r->sock_down.state;
	scn_res(c, "socket", "%s", sock_word(st));
	scn_res(c, "alive", "%s", r->pid > 0 && util_pid_alive(r->pid) ? "true" : "false");
	char line[600];
	fault_proc_describe(r, line, sizeof line);
	scn_say(c, "%s", line);
}

/* SIGHUP (not a signal fault_proc_kill takes): send it and watch what the
 * runtime does: it may die or carry on. */
static int hup(scn_call *c, rtctl *rt, int64_t within, fault_proc_result *r, crit_err *e)
{
	memset(r, 0, sizeof *r);
	r->what = "SIGHUP";
	r->down_ms = r->exit_ms = r->start_ms = r->ready_ms = r->new_age_ms = -1;
	pid_t pid = rtctl_pid(rt, e);
	if (pid <= 0)
		return pid < 0 ? pid : err_set(e, -ESRCH, "SIGHUP: %s does not run", rtctl_describe(rt));
	r->pid = pid;
	r->t_action_ms = util_now_ms();
	if (kill(pid, SIGHUP) < 0)
		return err_set(e, -errno, "SIGHUP to pid %d: %s", (int)pid, strerror(errno));
	int64_t end = r->t_action_ms + within;
	while (util_now_ms() < end) {
		if (!r->t_down_ms) {
			fault_sock_probe p;
			fault_sock_probe_path(rtctl_socket(rt), 200, &p);
			if (fault_sock_state_down(p.state)) {
				r->t_down_ms = p.at_ms;
				r->down_ms = p.at_ms - r->t_action_ms;
				r->sock_down = p;
			}
		}
		if (!util_pid_alive(pid)) {
			r->t_exit_ms = util_now_ms();
			r->exit_ms = r->t_exit_ms - r->t_action_ms;
			break;
		}
		util_sleep_ms(5);
	}
	fault_sock_probe_path(rtctl_socket(rt), 200, &r->sock_after);
	(void)c;
	return 0;
}

static int run_runtime(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action, *sig;
	int64_t down, ready;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg(c, "signal", &sig, e)) < 0 ||
	    (rc = scn_arg_dur(c, "down_within", 10000, &down, e)) < 0 ||
	    (rc = scn_arg_dur(c, "ready_within", 60000, &ready, e)) < 0)
		return rc;
	rtctl *rt;
	if ((rc = scn_rtctl(x, &rt, e)) < 0)
		return rc;
	fault_proc_opts po = { .down_timeout_ms = (int)down, .ready_timeout_ms = (int)ready };
	fault_proc_result r;
	memset(&r, 0, sizeof r);
	x->runtime_touched = true;
	if (!strcmp(action, "kill") || !strcmp(action, "sigterm")) {
		int signo = !strcmp(action, "sigterm") ? SIGTERM : SIGKILL;
		if (sig && !strcmp(sig, "SIGTERM"))
			signo = SIGTERM;
		else if (sig && !strcmp(sig, "SIGHUP"))
			signo = SIGHUP;
		else if (sig && strcmp(sig, "SIGKILL") != 0)
			return err_set(e, -EINVAL, "runtime: signal '%s' is not one of SIGKILL, SIGTERM, SIGHUP", sig);
		rc = signo == SIGHUP ? hup(c, rt, down, &r, e) : fault_proc_kill(rt, signo, &po, &r, e);
		if (rc == 0 && !util_pid_alive(r.pid))
			x->runtime_frozen = false;
	} else if (!strcmp(action, "stop")) {
		rc = fault_proc_stop(rt, &po, &r, e);
		if (r.pid > 0)
			x->runtime_frozen = true;
	} else if (!strcmp(action, "cont")) {
		rc = fault_proc_cont(rt, &po, &r, e);
		if (r.pid > 0)
			x->runtime_frozen = false;
	} else if (!strcmp(action, "recover")) {
		/* thaw, then restart only when Status does not say ready */
		if (x->runtime_frozen && rtctl_signal(rt, SIGCONT, NULL) == 0)
			scn_say(c, "sent SIGCONT");
		x->runtime_frozen = false;
		fault_proc_opts quick = { .ready_timeout_ms = 1, .status_ms = 2000 };
		memset(&r, 0, sizeof r);
		if (fault_proc_wait_ready(x->endpoint, &quick, &r, e) == 0) {
			scn_say(c, "the runtime is ready: nothing to do");
			scn_res(c, "new_pid", "0");
			return 0;
		}
		rc = fault_proc_restart(rt, &po, &r, e);
		if (x->is_lab)
			lab_status(x->lab.dir, &x->lab, NULL);
	} else if (!strcmp(action, "restart")) {
		bool back;
		if ((rc = scn_arg_bool(c, "comes_back", true, &back, e)) < 0)
			return rc;
		rc = fault_proc_restart(rt, &po, &r, e);
		x->runtime_frozen = false;
		if (x->is_lab)
			lab_status(x->lab.dir, &x->lab, NULL);
		scn_res(c, "start_error", "%s", rc < 0 ? e->msg : "");
		if (!back && rc == 0) {
			rc = err_set(e, -EPROTO, "runtime restart: it came back (ready after %lld ms), but comes_back: false "
						 "says it must not", (long long)r.ready_ms);
		} else if (!back) {
			scn_say(c, "it does not come back, as expected: %s", e->msg);
			rc = 0;
		}
	} else {
		return err_set(e, -EINVAL, "runtime: unknown action '%s'", action);
	}
	if (r.what && (r.t_action_ms || r.pid))
		proc_results(c, &r);
	return rc;
}

static int run_socket(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action, *mode;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg(c, "mode", &mode, e)) < 0)
		return rc;
	if (!x->fsock_ok) {
		rtctl *rt;
		if ((rc = scn_rtctl(x, &rt, e)) < 0 || (rc = fault_sock_init(&x->fsock, rt, e)) < 0)
			return rc;
		x->fsock_ok = true;
	}
	if (!strcmp(action, "remove")) {
		rc = fault_sock_remove(&x->fsock, e);
	} else if (!strcmp(action, "stale")) {
		rc = fault_sock_stale(&x->fsock, e);
	} else if (!strcmp(action, "chmod")) {
		char *end;
		long m = mode ? strtol(mode, &end, 8) : -1;
		if (!mode || *end || m < 0 || m > 07777)
			return err_set(e, -EINVAL, "socket chmod: mode '%s' is not an octal mode like 000", mode ? mode : "");
		rc = fault_sock_chmod(&x->fsock, (mode_t)m, e);
	} else if (!strcmp(action, "restore")) {
		bool active = x->fsock.active != FAULT_SOCK_NONE;
		rc = fault_sock_restore(&x->fsock, e);
		const char *how = active ? "original" : "none";
		if (rc == -EEXIST) {
			scn_say(c, "the runtime made a new socket meanwhile: kept it, removed the old one");
			how = "kept-new";
			rc = 0;
		} else if (rc == -ESTALE) {
			scn_say(c, "%s", e->msg);
			how = "left-alone";
			rc = 0;
		}
		scn_res(c, "restored", "%s", how);
	} else {
		return err_set(e, -EINVAL, "socket: unknown action '%s'", action);
	}
	if (rc < 0)
		return rc;
	fault_sock_probe p;
	fault_sock_probe_path(x->socket, 500, &p);
	scn_res(c, "state", "%s", sock_word(p.state));
	scn_res(c, "path", "%s", x->socket);
	scn_say(c, "%s now: %s", x->socket, fault_sock_state_name(p.state));
	return 0;
}

static void proxy_results(scn_call *c)
{
	fault_proxy_counters s;
	fault_proxy_stats(c->x->proxy, &s);
	char desc[128];
	fault_proxy_format_mode(s.mode, &s.params, desc, sizeof desc);
	scn_res(c, "endpoint", "%s", fault_proxy_endpoint(c->x->proxy));
	scn_res(c, "mode", "%s", desc);
	scn_res(c, "accepted", "%llu", (unsigned long long)s.accepted);
	scn_res(c, "faulted", "%llu", (unsigned long long)s.faulted);
	scn_res(c, "dropped", "%llu", (unsigned long long)s.bytes_dropped);
	scn_say(c, "proxy %s: %s (%llu connections so far, %llu aborted)", fault_proxy_endpoint(c->x->proxy), desc,
		(unsigned long long)s.accepted, (unsigned long long)s.faulted);
}

static int run_proxy(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action, *mode, *path;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg(c, "mode", &mode, e)) < 0 ||
	    (rc = scn_arg(c, "path", &path, e)) < 0)
		return rc;
	fault_proxy_mode m = FAULT_PROXY_PASS;
	fault_proxy_params pp = { 0 };
	if (mode && (rc = fault_proxy_parse_mode(mode, &m, &pp, e)) < 0)
		return rc;
	if (!strcmp(action, "start")) {
		if (x->proxy)
			return err_set(e, -EBUSY, "proxy start: a proxy runs already (%s)", fault_proxy_endpoint(x->proxy));
		char def[128];
		if (!path) {
			if (!x->tmpdir[0]) {
				snprintf(x->tmpdir, sizeof x->tmpdir, "/tmp/critic-scn-XXXXXX");
				if (!mkdtemp(x->tmpdir)) {
					x->tmpdir[0] = '\0';
					return err_set(e, -errno, "proxy start: mkdtemp: %s", strerror(errno));
				}
			}
			snprintf(def, sizeof def, "%s/proxy.sock", x->tmpdir);
			path = def;
		}
		if ((rc = fault_proxy_start(&x->proxy, path, x->endpoint, e)) < 0)
			return rc;
		if ((rc = cri_connect(&x->pcri, fault_proxy_endpoint(x->proxy), NULL, x->timeout_ms, e)) < 0) {
			fault_proxy_stop(x->proxy);
			x->proxy = NULL;
			return rc;
		}
		if (mode && (rc = fault_proxy_set_mode(x->proxy, m, &pp, e)) < 0)
			return rc;
	} else if (!strcmp(action, "mode")) {
		if (!x->proxy)
			return err_set(e, -ENOENT, "proxy mode: no proxy runs (start one with `proxy: start`)");
		if (!mode)
			return err_set(e, -EINVAL, "proxy mode: give mode: (pass, delay 200ms, blackhole, reset, …)");
		if ((rc = fault_proxy_set_mode(x->proxy, m, &pp, e)) < 0)
			return rc;
	} else if (!strcmp(action, "stop")) {
		if (!x->proxy)
			return err_set(e, -ENOENT, "proxy stop: no proxy runs");
		proxy_results(c);
		cri_close(x->pcri);
		x->pcri = NULL;
		fault_proxy_stop(x->proxy);
		x->proxy = NULL;
		return 0;
	} else {
		return err_set(e, -EINVAL, "proxy: unknown action '%s'", action);
	}
	proxy_results(c);
	return 0;
}

/* ------------------------------------------------------------ config and fiu */

/* Faults on the runtime's files: refused outside the lab without --allow-disruptive. */
static int lab_or_allowed(scn_call *c, crit_err *e)
{
	if (c->x->is_lab || c->x->o->allow_disruptive)
		return 0;
	return err_set(e, -EPERM, "%s: refused outside critic's lab without --allow-disruptive", c->step->kind->name);
}

static int config_path(scn_call *c, char *out, size_t len, crit_err *e)
{
	const char *file;
	int rc = scn_arg(c, "file", &file, e);
	if (rc < 0)
		return rc;
	if (file && *file)
		snprintf(out, len, "%s", file);
	else if (c->x->is_lab)
		snprintf(out, len, "%s", c->x->lab.config);
	else {
		/* Never guessed: critic edits only the file it is given. The
		 * runtime's profile says where its config usually lives. */
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		crit_err ve;
		const prof_runtime *p = scn_cri_aux(c, "Version", &req.base, (ProtobufCMessage **)&resp, 0, &ve) == 0
						? prof_lookup(resp->runtime_name)
						: prof_get(PROF_UNKNOWN);
		cri_free(resp);
		if (p->config_path)
			return err_set(e, -EINVAL,
				       "config: give file: outside the lab (critic edits only the file it is named; "
				       "%s keeps its config in %s%s%s)", p->name, p->config_path,
				       p->config_dropins ? " and " : "", p->config_dropins ? p->config_dropins : "");
		return err_set(e, -EINVAL, "config: give file: (the runtime's config file) outside the lab");
	}
	return 0;
}

/* "a.\"b.c\".key" -> table "a.\"b.c\"", key "key" (the last dot outside quotes). */
static int split_key(const char *dotted, char *table, size_t tlen, char *key, size_t klen)
{
	const char *last = NULL;
	char q = 0;
	for (const char *p = dotted; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '.') {
			last = p;
		}
	}
	const char *k = last ? last + 1 : dotted;
	if (!*k)
		return -EINVAL;
	snprintf(table, tlen, "%.*s", last ? (int)(last - dotted) : 0, dotted);
	snprintf(key, klen, "%s", k);
	size_t n = strlen(key);
	if (n >= 2 && (key[0] == '"' || key[0] == '\'') && key[n - 1] == key[0]) {
		memmove(key, key + 1, n - 2);
		key[n - 2] = '\0';
	}
	return 0;
}

static void config_value(const scn_node *n, fault_cfg_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = FAULT_CFG_STRING;
	v->s = n->str;
	if (!n->plain)
		return;
	if (!strcmp(n->str, "true") || !strcmp(n->str, "false")) {
		v->type = FAULT_CFG_BOOL;
		v->b = n->str[0] == 't';
		return;
	}
	char *end;
	errno = 0;
	long long i = strtoll(n->str, &end, 10);
	if (*n->str && !*end && !errno) {
		v->type = FAULT_CFG_INT;
		v->i = i;
	}
}

static int config_doctor(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const scn_node *want = scn_arg_node(c, "drift");
	bool expect_drift = false;
	int rc;
	if (want && (rc = scn_arg_bool(c, "drift", false, &expect_drift, e)) < 0)
		return rc;
	char path[PATH_MAX];
	const char *file;
	if ((rc = scn_arg(c, "file", &file, e)) < 0)
		return rc;
	doctor_opts o = { .endpoint = x->endpoint, .timeout_ms = x->timeout_ms };
	if (file && *file)
		o.config_path = file;
	if (x->is_lab)
		o.lab_dir = x->lab.dir;
	rtctl *rt;
	crit_err pe;
	if (scn_rtctl(x, &rt, &pe) == 0) {
		pid_t pid = rtctl_pid(rt, &pe);
		if (pid > 0)
			o.runtime_pid = pid;
	}
	doctor_report r;
	memset(&r, 0, sizeof r);
	if ((rc = doctor_run(&o, &r, e)) < 0)
		return rc;
	const doctor_fact *f = doctor_find(&r, "drift");
	snprintf(path, sizeof path, "%s", r.config);
	bool drift = r.restart_needed || (f && f->level != DOCTOR_OK);
	scn_res(c, "path", "%s", path);
	scn_res(c, "drift", "%s", drift ? "true" : "false");
	scn_res(c, "restart_needed", "%s", r.restart_needed ? "true" : "false");
	scn_res(c, "verdict", "%s", f ? f->text : "");
	scn_say(c, "doctor drift: %s %s", f ? doctor_level_name(f->level) : "(no fact)", f ? f->text : "");
	if (!f && want)
		rc = err_set(e, -ENOENT, "config doctor: doctor gave no drift fact for %s%s", path[0] ? path : "the runtime",
			     r.unreachable ? " (the runtime is unreachable)" : "");
	else if (want && drift != expect_drift)
		rc = err_set(e, -EPROTO, "config doctor: expected %s, doctor says: %s",
			     expect_drift ? "drift" : "no drift", f->text);
	doctor_report_free(&r);
	return rc;
}

static int run_config(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action, *add, *bin, *rtype, *rm;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg(c, "add_handler", &add, e)) < 0 ||
	    (rc = scn_arg(c, "binary", &bin, e)) < 0 || (rc = scn_arg(c, "runtime_type", &rtype, e)) < 0 ||
	    (rc = scn_arg(c, "remove_handler", &rm, e)) < 0)
		return rc;
	if (!strcmp(action, "doctor"))
		return config_doctor(c, e);
	if ((rc = lab_or_allowed(c, e)) < 0)
		return rc;
	if (!strcmp(action, "restore")) {
		bool had = x->cfgb.active;
		if ((rc = fault_cfg_restore(&x->cfgb, e)) < 0)
			return rc;
		scn_res(c, "path", "%s", x->cfgb.path);
		scn_res(c, "backup", "%s", had ? "restored" : "none");
		scn_say(c, had ? "%s restored from its backup" : "%s: nothing to restore", x->cfgb.path[0] ? x->cfgb.path : "config");
		return 0;
	}
	if (strcmp(action, "patch") != 0)
		return err_set(e, -EINVAL, "config: unknown action '%s'", action);
	char path[PATH_MAX];
	if ((rc = config_path(c, path, sizeof path, e)) < 0)
		return rc;
	if (x->cfgb.active && strcmp(x->cfgb.path, path) != 0)
		return err_set(e, -EBUSY, "config patch %s: %s is patched already (restore it first)", path, x->cfgb.path);
	fault_cfg_opts o = { .run_id = x->run_id, .allow_disruptive = x->o->allow_disruptive };
	if (add) {
		fault_cfg_handler h = { .name = add, .runtime_type = rtype, .binary_name = bin };
		if ((rc = fault_cfg_add_handler(path, &h, &o, &x->cfgb, e)) < 0)
			return rc;
		scn_say(c, "added handler %s%s%s", add, bin ? " with binary " : "", bin ? bin : "");
	}
	if (rm) {
		if ((rc = fault_cfg_remove_handler(path, rm, &o, &x->cfgb, e)) < 0)
			return rc;
		scn_say(c, "removed handler %s", rm);
	}
	const scn_node *set = scn_arg_node(c, "set");
	for (size_t i = 0; set && set->kind == SCN_MAP && i < set->n; i++) {
		char table[1024], key[256];
		const char *val;
		if (split_key(set->keys[i]->str, table, sizeof table, key, sizeof key) < 0)
			return err_set(e, -EINVAL, "config patch: '%s' is not a dotted TOML key", set->keys[i]->str);
		if ((rc = scn_node_str(c, set->vals[i], &val, e)) < 0)
			return rc;
		scn_node tmp = *set->vals[i];
		tmp.str = (char *)val;
		fault_cfg_value v;
		config_value(&tmp, &v);
		if ((rc = fault_cfg_set_key(path, table, key, &v, &o, &x->cfgb, e)) < 0)
			return rc;
		scn_say(c, "set %s = %s", set->keys[i]->str, val);
	}
	scn_res(c, "path", "%s", path);
	scn_res(c, "backup", "%s", x->cfgb.backup);
	return 0;
}

static int run_fiu(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action, *point, *err_s, *info, *mode, *prefix, *spec;
	double prob = 0;
	long long nth, after, failnum;
	bool all;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg(c, "point", &point, e)) < 0 ||
	    (rc = scn_arg(c, "errno", &err_s, e)) < 0 || (rc = scn_arg(c, "failinfo", &info, e)) < 0 ||
	    (rc = scn_arg(c, "mode", &mode, e)) < 0 || (rc = scn_arg(c, "path", &prefix, e)) < 0 ||
	    (rc = scn_arg(c, "spec", &spec, e)) < 0 || (rc = scn_arg_int(c, "nth", 0, &nth, e)) < 0 ||
	    (rc = scn_arg_int(c, "after", 0, &after, e)) < 0 || (rc = scn_arg_int(c, "failnum", 0, &failnum, e)) < 0 ||
	    (rc = scn_arg_bool(c, "all", false, &all, e)) < 0)
		return rc;
	const char *ps;
	if ((rc = scn_arg(c, "probability", &ps, e)) < 0)
		return rc;
	if (ps)
		prob = strtod(ps, NULL);
	if ((rc = lab_or_allowed(c, e)) < 0)
		return rc;
	char where[PATH_MAX];
	if (spec && *spec)
		snprintf(where, sizeof where, "%s", spec);
	else if (x->is_lab)
		snprintf(where, sizeof where, "%s", x->lab.dir);
	else
		return err_set(e, -EINVAL, "fiu: give spec: (the crun-fiu wrapper's spec file) outside the lab");
	snprintf(x->fiu_where, sizeof x->fiu_where, "%s", where);
	if (!strcmp(action, "disable")) {
		if ((rc = fault_fiu_disable(where, all ? NULL : point, e)) < 0)
			return rc;
		scn_say(c, "disabled %s", all || !point ? "every fault" : point);
		if (all || !point)
			x->fiu_on = false;
	} else if (!strcmp(action, "enable")) {
		if (!point || !*point)
			return err_set(e, -EINVAL, "fiu enable: give point:");
		fault_fiu_fault f = { .point = point, .after = (int)after, .retval = (int)failnum, .path_prefix = prefix };
		const char *es = err_s ? err_s : info;
		if (es && !(f.err = fault_fiu_errno(es)))
			return err_set(e, -EINVAL, "fiu enable: errno '%s' is not an errno name or number", es);
		if ((mode && !strcmp(mode, "probability")) || (!mode && ps)) {
			f.mode = FAULT_FIU_PROBABILITY;
			f.probability = prob;
		} else if ((mode && !strcmp(mode, "nth")) || (!mode && nth)) {
			f.mode = FAULT_FIU_NTH;
			f.nth = (int)nth;
		}
		if ((rc = fault_fiu_enable(where, &f, e)) < 0)
			return rc;
		x->fiu_on = true;
		scn_say(c, "enabled %s (errno %s) in %s", point, es ? es : "EIO", where);
	} else {
		return err_set(e, -EINVAL, "fiu: unknown action '%s'", action);
	}
	char *text = NULL;
	crit_err te;
	if (fault_fiu_spec_text(where, &text, &te) == 0)
		scn_res(c, "spec", "%s", text);
	free(text);
	char *inj = NULL;
	size_t lines = 0;
	if (fault_fiu_injected(where, &inj, &te) == 0)
		for (const char *p = inj; p && *p; p++)
			lines += *p == '\n';
	free(inj);
	scn_res(c, "injected", "%zu", lines);
	return 0;
}

/* ------------------------------------------------------------ fs */

/* The lab whose loop fs the fs step acts on; refused for anything else. */
static int fs_lab(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	if (!x->is_lab)
		return err_set(e, -EPERM,
			       "fs: refused: file system faults act only on critic's lab loop fs, and %s is not critic's "
			       "lab (critic never remounts a file system it did not create)",
			       x->endpoint);
	lab_loopfs p;
	crit_err pe;
	if (lab_loopfs_probe(x->lab.dir, &p, &pe) < 0)
		return err_set(e, pe.code, "fs: %s", pe.msg);
	if (!p.image_exists || !x->lab.loopfs)
		return err_set(e, -ENOENT,
			       "fs: refused: the lab in %s runs on plain directories, not on its loop fs (bring it up "
			       "with `critic lab down && critic lab up --loop-fs`)",
			       x->lab.dir);
	if (p.mounted && !p.ours)
		return err_set(e, -EPERM, "fs: refused: %s holds %s (%s), not the lab's image %s", p.mount, p.source,
			       p.fstype, p.image);
	return 0;
}

static const char *errno_word(int err)
{
	switch (err) {
	case 0: return "";
	case EROFS: return "EROFS";
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case EDQUOT: return "EDQUOT";
	default: return strerror(err);
	}
}

static void fs_results(scn_call *c, const fault_fs_result *r)
{
	scn_res(c, "took_ms", "%lld", (long long)r->took_ms);
	scn_res(c, "write_error", "%s", errno_word(r->write_errno));
	scn_res(c, "opts", "%s", r->opts_after[0] ? r->opts_after : r->opts_before);
	scn_res(c, "bytes", "%llu", r->bytes);
	scn_res(c, "files", "%d", r->files);
	scn_res(c, "free_after", "%llu", r->free_after);
	scn_res(c, "e2fsck_exit", "%d", r->e2fsck_exit);
	scn_res(c, "changed", "%s", r->changed ? "true" : "false");
	char line[2048];
	fault_fs_describe(r, line, sizeof line);
	scn_say(c, "%s", line);
}

/* Stop the runtime (it may be dead already: the read-only disk kills it
 * at start), repair, and start it again unless told not to. */
static int fs_repair(scn_call *c, fault_fs_result *r, crit_err *e)
{
	scn_exec *x = c->x;
	bool start;
	int64_t ready;
	int rc;
	if ((rc = scn_arg_bool(c, "start", true, &start, e)) < 0 ||
	    (rc = scn_arg_dur(c, "ready_within", 60000, &ready, e)) < 0)
		return rc;
	rtctl *rt;
	if ((rc = scn_rtctl(x, &rt, e)) < 0)
		return rc;
	x->runtime_touched = true;
	x->runtime_frozen = false;
	if ((rc = rtctl_stop(rt, e)) < 0)
		return err_wrap(e, "fs repair: stopping the runtime");
	fault_fs_opts o = { 0 };
	rc = fault_fs_repair(x->lab.dir, rt, &o, r, e);
	fs_results(c, r);
	if (rc < 0)
		return rc;
	scn_res(c, "ready_ms", "-1");
	if (!start) {
		scn_say(c, "the runtime stays stopped (start: false)");
		return 0;
	}
	fault_proc_result pr;
	memset(&pr, 0, sizeof pr);
	fault_proc_opts po = { .ready_timeout_ms = (int)ready };
	rc = fault_proc_restart(rt, &po, &pr, e);
	lab_status(x->lab.dir, &x->lab, NULL);
	if (rc < 0)
		return err_wrap(e, "fs repair: starting the runtime on the repaired fs");
	scn_res(c, "ready_ms", "%lld", (long long)pr.ready_ms);
	scn_say(c, "runtime started again: ready after %lld ms", (long long)pr.ready_ms);
	return 0;
}

int scn_fs_restore(scn_exec *x, char *what, size_t len, crit_err *e)
{
	fault_fs_result r;
	lab_loopfs p;
	size_t o = 0;
	what[0] = '\0';
	if (lab_loopfs_probe(x->lab.dir, &p, e) < 0)
		return e->code;
	if (!p.image_exists)
		return 0;
	if (p.frozen) {
		if (fault_fs_thaw(x->lab.dir, &r, e) < 0)
			return e->code;
		o += (size_t)snprintf(what + o, len - o, "thawed it");
	}
	if (p.mounted && !p.readonly) {
		if (fault_fs_free(x->lab.dir, &r, e) < 0)
			return e->code;
		if (r.files && o < len)
			o += (size_t)snprintf(what + o, len - o, "%sremoved %d fill file%s", o ? "; " : "", r.files,
					      r.files == 1 ? "" : "s");
	}
	if (p.mounted && !p.readonly)
		return 0;
	/* read-only, or left unmounted by a repair that failed half-way */
	rtctl *rt;
	int rc;
	if ((rc = scn_rtctl(x, &rt, e)) < 0)
		return rc;
	x->runtime_touched = true;
	if ((rc = rtctl_stop(rt, e)) < 0 || (rc = fault_fs_repair(x->lab.dir, rt, NULL, &r, e)) < 0)
		return rc;
	fault_proc_result pr;
	memset(&pr, 0, sizeof pr);
	fault_proc_opts po = { .ready_timeout_ms = 60000 };
	rc = fault_proc_restart(rt, &po, &pr, e);
	lab_status(x->lab.dir, &x->lab, NULL);
	if (o < len)
		snprintf(what + o, len - o, "%s%s: repaired (e2fsck exit %d), runtime %s", o ? "; " : "",
			 p.mounted ? "read-only" : "not mounted", r.e2fsck_exit, rc == 0 ? "started again" : "not started");
	return rc;
}

static int run_fs(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action;
	bool sync_first;
	int64_t within;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0 || (rc = scn_arg_bool(c, "sync", false, &sync_first, e)) < 0 ||
	    (rc = scn_arg_dur(c, "within", 5000, &within, e)) < 0)
		return rc;
	if ((rc = fs_lab(c, e)) < 0)
		return rc;
	x->fs_touched = true;
	fault_fs_result r;
	memset(&r, 0, sizeof r);
	r.what = action;
	r.e2fsck_exit = -1;
	if (!strcmp(action, "remount_ro")) {
		fault_fs_opts o = { .ro_timeout_ms = (int)within, .sync_first = sync_first };
		rc = fault_fs_make_readonly(x->lab.dir, &o, &r, e);
	} else if (!strcmp(action, "repair")) {
		return fs_repair(c, &r, e);
	} else if (!strcmp(action, "freeze")) {
		rc = fault_fs_freeze(x->lab.dir, &r, e);
	} else if (!strcmp(action, "thaw")) {
		rc = fault_fs_thaw(x->lab.dir, &r, e);
	} else if (!strcmp(action, "fill")) {
		long long leave_kib;
		if ((rc = scn_arg_int(c, "leave_kib", 0, &leave_kib, e)) < 0)
			return rc;
		if (leave_kib < 0)
			return err_set(e, -EINVAL, "fs fill: leave_kib %lld: give 0 or more", leave_kib);
		fault_fs_opts o = { .fill_leave_bytes = (unsigned long long)leave_kib * 1024 };
		rc = fault_fs_fill(x->lab.dir, &o, &r, e);
	} else if (!strcmp(action, "free")) {
		rc = fault_fs_free(x->lab.dir, &r, e);
	} else if (!strcmp(action, "restore")) {
		char what[1024];
		if ((rc = scn_fs_restore(x, what, sizeof what, e)) < 0)
			return rc;
		scn_say(c, "%s", what[0] ? what : "the loop fs is writable, not frozen, not filled: nothing to do");
		scn_res(c, "changed", "%s", what[0] ? "true" : "false");
		return 0;
	} else {
		return err_set(e, -EINVAL, "fs: unknown action '%s'", action);
	}
	if (rc == 0 || r.t_action_ms)
		fs_results(c, &r);
	return rc;
}

static const char *kubelet_word(kube_kubelet_state s)
{
	switch (s) {
	case KUBE_KUBELET_STARTING: return "Starting";
	case KUBE_KUBELET_RUNNING: return "Running";
	case KUBE_KUBELET_CRASHLOOP: return "CrashLooping";
	case KUBE_KUBELET_STOPPED: return "Stopped";
	}
	return "?";
}

static const char *node_word(kube_node_state s)
{
	switch (s) {
	case KUBE_NODE_READY: return "Ready";
	case KUBE_NODE_NOTREADY: return "NotReady";
	case KUBE_NODE_UNKNOWN: return "Unknown";
	case KUBE_NODE_NONE: break;
	}
	return "None";
}

static int run_kubelet(scn_call *c, crit_err *e)
{
	scn_exec *x = c->x;
	const char *action;
	int rc;
	if ((rc = required(c, "action", &action, e)) < 0)
		return rc;
	if (!strcmp(action, "start") && !x->kube)
		return scn_kube_start(x, e);
	if (!x->kube)
		return err_set(e, -ENOENT, "kubelet %s: the kubelet model has not started", action);
	pthread_mutex_lock(&x->kmu);
	int64_t now = util_now_ms() - x->kt0;
	rc = !strcmp(action, "start") ? kube_kubelet_start(x->kube, now)
	   : !strcmp(action, "stop")  ? kube_kubelet_stop(x->kube, now)
				      : kube_kubelet_restart(x->kube, now);
	kube_view v;
	kube_get_view(x->kube, &v);
	pthread_mutex_unlock(&x->kmu);
	if (rc < 0)
		return err_set(e, rc, "kubelet %s: the model refused", action);
	scn_res(c, "node", "%s", node_word(v.node));
	scn_res(c, "kubelet", "%s", kubelet_word(v.kubelet));
	scn_res(c, "starts", "%d", v.starts);
	return 0;
}

/* ------------------------------------------------------------ conditions */

/* The component's current state: its last timeline entry ("none" before any). */
static const char *comp_state(const kube_model *m, kube_component comp)
{
	size_t n;
	const kube_event *ev = kube_timeline(m, &n);
	for (size_t i = n; i-- > 0;)
		if (ev[i].comp == comp)
			return ev[i].state;
	return "none";
}

static cri_conn *cond_conn(scn_call *c, const char *via, bool *owned, crit_err *e)
{
	*owned = false;
	scn_exec *x = c->x;
	if (via && !strcmp(via, "runtime"))
		return x->cri;
	if (via && !strcmp(via, "proxy")) {
		if (!x->pcri)
			err_set(e, -ENOENT, "via proxy: no proxy runs");
		return x->pcri;
	}
	cri_conn *n = NULL;
	if (cri_connect(&n, x->endpoint, NULL, 1000, e) < 0)
		return NULL;
	*owned = true;
	return n;
}

static int cond_runtime(scn_call *c, const char *want, const char *via, bool *ok, char *why, size_t len, crit_err *e)
{
	scn_exec *x = c->x;
	if (!strcmp(want, "down")) {
		fault_sock_probe p;
		fault_sock_probe_path(x->socket, 300, &p);
		*ok = fault_sock_state_down(p.state);
		if (!*ok)
			snprintf(why, len, "the runtime still answers on %s", x->socket);
		return 0;
	}
	bool owned;
	cri_conn *conn = cond_conn(c, via, &owned, e);
	if (!conn)
		return e->code;
	crit_err ce;
	err_clear(&ce);
	int rc;
	if (!strcmp(want, "answering")) {
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		rc = CRI_CALL_T(conn, Version, &req, &resp, 1000, &ce);
		cri_free(resp);
		*ok = rc == 0;
		if (!*ok)
			snprintf(why, len, "the runtime does not answer: %s", ce.msg);
	} else {
		Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
		Runtime__V1__StatusResponse *resp = NULL;
		rc = CRI_CALL_T(conn, Status, &req, &resp, 1000, &ce);
		*ok = false;
		if (rc < 0)
			snprintf(why, len, "Status: %s", ce.msg);
		else
			snprintf(why, len, "Status answers without RuntimeReady=true");
		for (size_t i = 0; rc == 0 && resp->status && i < resp->status->n_conditions; i++)
			if (!strcmp(resp->status->conditions[i]->type, "RuntimeReady"))
				*ok = resp->status->conditions[i]->status;
		cri_free(resp);
	}
	if (owned)
		cri_close(conn);
	return 0;
}

static int cond_object(scn_call *c, bool pod, const scn_node *m, bool *ok, char *why, size_t len, crit_err *e)
{
	const char *id, *want;
	int rc;
	if ((rc = scn_node_str(c, scn_map_get(m, "id"), &id, e)) < 0 ||
	    (rc = scn_node_str(c, scn_map_get(m, "state"), &want, e)) < 0)
		return rc;
	const char *have = "?";
	crit_err ce;
	err_clear(&ce);
	if (pod) {
		Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		Runtime__V1__PodSandboxStatusResponse *resp = NULL;
		req.pod_sandbox_id = (char *)id;
		rc = CRI_CALL_T(c->x->cri, PodSandboxStatus, &req, &resp, 2000, &ce);
		if (rc == 0 && resp->status)
			have = state_word_pod(resp->status->state);
		cri_free(resp);
	} else {
		Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
		Runtime__V1__ContainerStatusResponse *resp = NULL;
		req.container_id = (char *)id;
		rc = CRI_CALL_T(c->x->cri, ContainerStatus, &req, &resp, 2000, &ce);
		if (rc == 0 && resp->status)
			have = state_word_ctr(resp->status->state);
		cri_free(resp);
	}
	if (rc < 0 && ce.grpc_status == GRPC_NOT_FOUND)
		have = "GONE";
	else if (rc < 0) {
		*ok = false;
		snprintf(why, len, "%s %.13s: %s", pod ? "pod" : "container", id, ce.msg);
		return 0;
	}
	*ok = !strcmp(have, want);
	if (!*ok)
		snprintf(why, len, "%s %.13s is %s (wanted %s)", pod ? "pod" : "container", id, have, want);
	else
		scn_say(c, "%s %.13s is %s", pod ? "pod" : "container", id, have);
	return 0;
}

static int cond_kubelet(scn_call *c, const scn_node *m, bool *ok, char *why, size_t len, crit_err *e)
{
	scn_exec *x = c->x;
	if (!x->kube) {
		*ok = false;
		snprintf(why, len, "the kubelet model has not started");
		return 0;
	}
	*ok = true;
	pthread_mutex_lock(&x->kmu);
	kube_view v;
	kube_get_view(x->kube, &v);
	int rc = 0;
	for (size_t i = 0; *ok && i < m->n; i++) {
		const char *k = m->keys[i]->str, *want;
		if ((rc = scn_node_str(c, m->vals[i], &want, e)) < 0)
			break;
		const char *have = NULL;
		if (!strcmp(k, "node"))
			have = node_word(v.node);
		else if (!strcmp(k, "kubelet"))
			have = kubelet_word(v.kubelet);
		else if (!strcmp(k, "runtime"))
			have = comp_state(x->kube, KUBE_C_RUNTIME);
		else if (!strcmp(k, "pleg"))
			have = comp_state(x->kube, KUBE_C_PLEG);
		else if (!strcmp(k, "network"))
			have = comp_state(x->kube, KUBE_C_NETWORK);
		if (have) {
			if (strcmp(have, want) != 0) {
				*ok = false;
				snprintf(why, len, "kubelet model: %s is %s (wanted %s)", k, have, want);
			}
		} else if (!strcmp(k, "starts")) {
			long n = strtol(want, NULL, 10);
			if (v.starts < n) {
				*ok = false;
				snprintf(why, len, "kubelet model: the kubelet started %d times (wanted at least %ld)",
					 v.starts, n);
			}
		} else if (!strcmp(k, "message")) {
			if (!regex_match(want, v.node_message)) {
				*ok = false;
				snprintf(why, len, "kubelet model: node message \"%.300s\" does not match /%s/",
					 v.node_message, want);
			}
		}
	}
	if (*ok && rc == 0)
		scn_say(c, "kubelet model: node %s (%s), kubelet %s (%d starts), runtime %s, pleg %s", node_word(v.node),
			v.node_reason, kubelet_word(v.kubelet), v.starts, comp_state(x->kube, KUBE_C_RUNTIME),
			comp_state(x->kube, KUBE_C_PLEG));
	pthread_mutex_unlock(&x->kmu);
	return rc;
}

static int cond_took(scn_call *c, const scn_node *m, bool *ok, char *why, size_t len, crit_err *e)
{
	const char *step;
	int rc;
	if ((rc = scn_node_str(c, scn_map_get(m, "step"), &step, e)) < 0)
		return rc;
	scn_exec *x = c->x;
	int64_t ms = -1;
	pthread_mutex_lock(&x->mu);
	for (size_t i = x->n_tim; i-- > 0;)
		if (!strcmp(x->tim[i].name, step)) {
			ms = x->tim[i].ms;
			break;
		}
	pthread_mutex_unlock(&x->mu);
	if (ms < 0)
		return err_set(e, -ENOENT, "took: step '%s' has not run", step);
	*ok = true;
	const char *under, *over;
	int64_t u, o;
	char a[32], b[32];
	if ((rc = scn_node_str(c, scn_map_get(m, "under"), &under, e)) < 0 ||
	    (rc = scn_node_str(c, scn_map_get(m, "over"), &over, e)) < 0)
		return rc;
	if (under && scn_parse_duration(under, &u) == 0 && ms >= u) {
		*ok = false;
		snprintf(why, len, "step '%s' took %s (wanted under %s)", step, scn_fmt_ms(ms, a, sizeof a),
			 scn_fmt_ms(u, b, sizeof b));
	}
	if (over && scn_parse_duration(over, &o) == 0 && ms < o) {
		*ok = false;
		snprintf(why, len, "step '%s' took %s (wanted at least %s)", step, scn_fmt_ms(ms, a, sizeof a),
			 scn_fmt_ms(o, b, sizeof b));
	}
	if (*ok)
		scn_say(c, "step '%s' took %s", step, scn_fmt_ms(ms, a, sizeof a));
	return 0;
}

static int cond_values(scn_call *c, const scn_node *l, bool equal, bool *ok, char *why, size_t len, crit_err *e)
{
	const char *v[32];
	size_t n = 0;
	for (size_t i = 0; l && i < l->n && n < ARRAY_SIZE(v); i++) {
		int rc = scn_node_str(c, l->vals[i], &v[n++], e);
		if (rc < 0)
			return rc;
	}
	*ok = true;
	for (size_t i = 0; i < n && *ok; i++)
		for (size_t j = i + 1; j < n && *ok; j++)
			if ((strcmp(v[i], v[j]) == 0) != equal) {
				*ok = false;
				snprintf(why, len, "'%s' and '%s' are %s", v[i], v[j], equal ? "not equal" : "equal");
			}
	if (*ok && n)
		scn_say(c, equal ? "all equal '%s'" : "all different (first '%s')", v[0]);
	return 0;
}

static int count_check(scn_call *c, const scn_node *m, const char *what, size_t have, const char *const *states,
		       size_t n_states, bool *ok, char *why, size_t len, crit_err *e)
{
	static const char *keys[] = { "count", "min", "max" };
	for (int k = 0; k < 3; k++) {
		long long want;
		const char *s;
		int rc = scn_node_str(c, scn_map_get(m, keys[k]), &s, e);
		if (rc < 0)
			return rc;
		if (!s)
			continue;
		want = strtoll(s, NULL, 10);
		bool good = k == 0 ? (long long)have == want : k == 1 ? (long long)have >= want : (long long)have <= want;
		if (!good) {
			*ok = false;
			snprintf(why, len, "the scenario has %zu %s (wanted %s %lld)", have, what,
				 k == 0 ? "exactly" : k == 1 ? "at least" : "at most", want);
			return 0;
		}
	}
	const char *allowed[8];
	size_t na;
	int rc = enum_list(c, scn_map_get(m, "states"), allowed, ARRAY_SIZE(allowed), &na, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; na && i < n_states; i++)
		if (!in_list(states[i], allowed, na)) {
			*ok = false;
			snprintf(why, len, "one of the scenario's %s is %s", what, states[i]);
			return 0;
		}
	return 0;
}

static int cond_pods(scn_call *c, const scn_node *m, bool *ok, char *why, size_t len, crit_err *e)
{
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	int rc = list_pods(c, false, false, NULL, NULL, &resp, e);
	if (rc < 0)
		return rc;
	const char *st[64];
	size_t n = 0;
	for (size_t i = 0; i < resp->n_items && n < ARRAY_SIZE(st); i++)
		st[n++] = state_word_pod(resp->items[i]->state);
	*ok = true;
	rc = count_check(c, m, "pods", resp->n_items, st, n, ok, why, len, e);
	if (rc == 0 && *ok) {
		strbuf sb = { 0 };
		for (size_t i = 0; i < resp->n_items; i++)
			sb_printf(&sb, "%s%.13s %s", i ? ", " : ": ", resp->items[i]->id, st[i < n ? i : 0]);
		scn_say(c, "%zu pods%s", resp->n_items, sb.buf ? sb.buf : "");
		sb_free(&sb);
	}
	cri_free(resp);
	return rc;
}

static int cond_ctrs(scn_call *c, const scn_node *m, bool *ok, char *why, size_t len, crit_err *e)
{
	Runtime__V1__ListContainersResponse *resp = NULL;
	int rc = list_ctrs(c, false, false, NULL, NULL, &resp, e);
	if (rc < 0)
		return rc;
	const char *st[64];
	size_t n = 0;
	for (size_t i = 0; i < resp->n_containers && n < ARRAY_SIZE(st); i++)
		st[n++] = state_word_ctr(resp->containers[i]->state);
	*ok = true;
	rc = count_check(c, m, "containers", resp->n_containers, st, n, ok, why, len, e);
	cri_free(resp);
	return rc;
}

pid_t scn_shim_pid(const char *sandbox, const char *socket)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	char buf[4096], want[300];
	snprintf(want, sizeof want, "-id %s", sandbox);
	while (!found && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0)
			continue;
		if (util_pid_cmdline(pid, buf, sizeof buf) > 0 && strstr(buf, "containerd-shim") && strstr(buf, want) &&
		    (!socket || strstr(buf, socket)) && util_pid_alive(pid))
			found = pid;
	}
	closedir(d);
	return found;
}

static int cond_no_leaks(scn_call *c, bool *ok, char *why, size_t len, crit_err *e)
{
	scn_exec *x = c->x;
	*ok = true;
	Runtime__V1__ListPodSandboxResponse *pods = NULL;
	Runtime__V1__ListContainersResponse *ctrs = NULL;
	int rc = list_pods(c, false, false, NULL, NULL, &pods, e);
	if (rc == 0)
		rc = list_ctrs(c, false, false, NULL, NULL, &ctrs, e);
	if (rc < 0) {
		cri_free(pods);
		return rc;
	}
	strbuf sb = { 0 };
	for (size_t i = 0; i < pods->n_items; i++)
		sb_printf(&sb, "%spod %.13s (%s)", sb.len ? ", " : "", pods->items[i]->id,
			  state_word_pod(pods->items[i]->state));
	for (size_t i = 0; i < ctrs->n_containers; i++)
		sb_printf(&sb, "%scontainer %.13s (%s)", sb.len ? ", " : "", ctrs->containers[i]->id,
			  state_word_ctr(ctrs->containers[i]->state));
	cri_free(pods);
	cri_free(ctrs);
	int shims = 0, procs = 0;
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->n_pods; i++) {
		if (!x->pods[i].removed)
			continue;
		pid_t s = scn_shim_pid(x->pods[i].id, x->socket);
		if (s) {
			shims++;
			sb_printf(&sb, "%sshim pid %d of removed pod %.13s", sb.len ? ", " : "", (int)s, x->pods[i].id);
		}
	}
	for (size_t i = 0; i < x->n_ctrs; i++) {
		const scn_ctr *ct = &x->ctrs[i];
		if (ct->pid > 0 && ct->start && util_pid_alive(ct->pid) && scn_proc_start(ct->pid) == ct->start) {
			/* only a leak once its pod is gone */
			bool pod_gone = false;
			for (size_t j = 0; j < x->n_pods; j++)
				if (ct->pod && !strcmp(x->pods[j].id, ct->pod))
					pod_gone = x->pods[j].removed;
			if (pod_gone) {
				procs++;
				sb_printf(&sb, "%sprocess %d of container %.13s", sb.len ? ", " : "", (int)ct->pid, ct->id);
			}
		}
	}
	size_t n_pods = x->n_pods;
	/* what the runtime left on the node of the removed pods and their
	 * containers: mounts, netns, IPs, cgroups, shims (harness/leaks.h) */
	size_t cap = x->n_pods + x->n_ctrs, n_gone = 0;
	char **gone = calloc(cap + 1, sizeof *gone);
	for (size_t i = 0; gone && i < x->n_pods; i++)
		if (x->pods[i].removed) {
			if (n_gone < cap && (gone[n_gone] = strdup(x->pods[i].id)))
				n_gone++;
			for (size_t j = 0; j < x->n_ctrs && n_gone < cap; j++)
				if (x->ctrs[j].pod && !strcmp(x->ctrs[j].pod, x->pods[i].id) &&
				    (gone[n_gone] = strdup(x->ctrs[j].id)))
					n_gone++;
		}
	pthread_mutex_unlock(&x->mu);
	char *left = NULL;
	if (gone && leaks_of_removed(x->cri, x->is_lab ? &x->lab : NULL, (const char *const *)gone, n_gone, 3000,
				     &left, NULL) > 0)
		sb_printf(&sb, "%s%s", sb.len ? ", " : "", left);
	free(left);
	for (size_t i = 0; i < n_gone; i++)
		free(gone[i]);
	free(gone);
	if (sb.len) {
		*ok = false;
		snprintf(why, len, "left behind: %s", sb.buf);
	} else {
		scn_say(c, "no pod, container, shim or process left (%zu pods made)", n_pods);
	}
	sb_free(&sb);
	(void)shims;
	(void)procs;
	return 0;
}

int scn_cond_eval(scn_call *c, const scn_node *cond, bool *ok, char *why, size_t len, crit_err *e)
{
	*ok = true;
	why[0] = '\0';
	const char *via = NULL;
	int rc = scn_node_str(c, scn_map_get(c->step->args, "via"), &via, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; cond && cond->kind == SCN_MAP && i < cond->n && *ok; i++) {
		const char *k = cond->keys[i]->str;
		const scn_node *v = cond->vals[i];
		const char *s = NULL;
		if (!strcmp(k, "within") || !strcmp(k, "every") || !strcmp(k, "via"))
			continue;
		if (v->kind == SCN_SCALAR && (rc = scn_node_str(c, v, &s, e)) < 0)
			return rc;
		if (!strcmp(k, "runtime")) {
			rc = cond_runtime(c, s, via, ok, why, len, e);
		} else if (!strcmp(k, "socket")) {
			fault_sock_probe p;
			fault_sock_probe_path(c->x->socket, 500, &p);
			*ok = !strcmp(sock_word(p.state), s);
			if (!*ok)
				snprintf(why, len, "socket %s: %s (wanted %s)", c->x->socket, sock_word(p.state), s);
			else
				scn_say(c, "socket: %s", fault_sock_state_name(p.state));
		} else if (!strcmp(k, "pod") || !strcmp(k, "container")) {
			rc = cond_object(c, !strcmp(k, "pod"), v, ok, why, len, e);
		} else if (!strcmp(k, "kubelet")) {
			rc = cond_kubelet(c, v, ok, why, len, e);
		} else if (!strcmp(k, "no_leaks")) {
			if (s && !strcmp(s, "true"))
				rc = cond_no_leaks(c, ok, why, len, e);
		} else if (!strcmp(k, "took")) {
			rc = cond_took(c, v, ok, why, len, e);
		} else if (!strcmp(k, "equal") || !strcmp(k, "differ")) {
			rc = cond_values(c, v, !strcmp(k, "equal"), ok, why, len, e);
		} else if (!strcmp(k, "pods")) {
			rc = cond_pods(c, v, ok, why, len, e);
		} else if (!strcmp(k, "containers")) {
			rc = cond_ctrs(c, v, ok, why, len, e);
		} else {
			return err_set(e, -EINVAL, "unknown condition '%s'", k);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_wait(scn_call *c, crit_err *e)
{
	int64_t within, every;
	int rc;
	if ((rc = scn_arg_dur(c, "within", 30000, &within, e)) < 0 || (rc = scn_arg_dur(c, "every", 100, &every, e)) < 0)
		return rc;
	const scn_node *until = scn_arg_node(c, "until");
	int64_t t0 = util_now_ms();
	char why[1024];
	for (;;) {
		bool ok;
		if ((rc = scn_cond_eval(c, until, &ok, why, sizeof why, e)) < 0)
			return rc;
		int64_t took = util_now_ms() - t0;
		if (ok) {
			char a[32];
			scn_res(c, "took_ms", "%lld", (long long)took);
			scn_say(c, "held after %s", scn_fmt_ms(took, a, sizeof a));
			return 0;
		}
		if (took >= within) {
			char a[32];
			return err_set(e, -ETIMEDOUT, "not within %s: %s", scn_fmt_ms(within, a, sizeof a), why);
		}
		if (!scn_nap(c->x, every))
			return err_set(e, -EINTR, "interrupted while waiting: %s", why);
	}
}

static int run_expect(scn_call *c, crit_err *e)
{
	int64_t within, every;
	int rc;
	if ((rc = scn_arg_dur(c, "within", 0, &within, e)) < 0 || (rc = scn_arg_dur(c, "every", 100, &every, e)) < 0)
		return rc;
	int64_t t0 = util_now_ms();
	char why[1024];
	for (;;) {
		bool ok;
		free(c->say);
		c->say = NULL;
		if ((rc = scn_cond_eval(c, c->step->args, &ok, why, sizeof why, e)) < 0)
			return rc;
		int64_t took = util_now_ms() - t0;
		if (ok) {
			if (within > 0) {
				char a[32];
				scn_say(c, "held after %s", scn_fmt_ms(took, a, sizeof a));
			}
			return 0;
		}
		if (took >= within) {
			char a[32];
			if (within > 0)
				return err_set(e, -ERR_ASSERT, "not within %s: %s", scn_fmt_ms(within, a, sizeof a), why);
			return err_set(e, -ERR_ASSERT, "%s", why);
		}
		if (!scn_nap(c->x, every))
			return err_set(e, -EINTR, "interrupted while checking: %s", why);
	}
}

static int run_sleep(scn_call *c, crit_err *e)
{
	int64_t ms;
	int rc = scn_arg_dur(c, "for", 0, &ms, e);
	if (rc < 0)
		return rc;
	if (!scn_nap(c->x, ms))
		return err_set(e, -EINTR, "interrupted");
	return 0;
}

static int run_note(scn_call *c, crit_err *e)
{
	const char *text;
	int rc = scn_arg(c, "text", &text, e);
	if (rc < 0)
		return rc;
	scn_say(c, "%s", text ? text : "");
	return 0;
}

static int run_sweep(scn_call *c, crit_err *e)
{
	int pods = 0, ctrs = 0;
	int rc = scn_sweep(c->x, &pods, &ctrs, e);
	scn_res(c, "pods", "%d", pods);
	scn_res(c, "containers", "%d", ctrs);
	scn_say(c, "removed %d pods and %d containers", pods, ctrs);
	return rc;
}

int scn_run_repeat(scn_call *c, crit_err *e);
int scn_run_join(scn_call *c, crit_err *e);

/* ------------------------------------------------------------ checks beyond the schema */

/* A literal scalar (no reference), or NULL. */
static const char *lit(const scn_node *n)
{
	return n && n->kind == SCN_SCALAR && !strstr(n->str, "${") ? n->str : NULL;
}

static const char *arg_lit(const scn_step *s, const char *key, const scn_node **node)
{
	const scn_node *n = NULL;
	if (s->args && s->args->kind == SCN_MAP)
		n = scn_map_get(s->args, key);
	else if (s->args && s->args->kind == SCN_SCALAR && s->kind->shorthand && !strcmp(key, s->kind->shorthand))
		n = s->args;
	if (node)
		*node = n;
	return lit(n);
}

static scn_pos key_pos(const scn_step *s, const char *key)
{
	if (s->args && s->args->kind == SCN_MAP)
		for (size_t i = 0; i < s->args->n; i++)
			if (!strcmp(s->args->keys[i]->str, key))
				return s->args->keys[i]->pos;
	return s->args ? s->args->pos : s->pos;
}

/* key given only with one of the actions in list ("a|b|c"). */
static void only_with(const scn_step *s, const char *file, scn_diags *d, const char *action, const char *key,
		      const char *list)
{
	const scn_node *n;
	arg_lit(s, key, &n);
	if (!n || !action)
		return;
	char words[128];
	snprintf(words, sizeof words, "|%s|", list);
	char me[64];
	snprintf(me, sizeof me, "|%s|", action);
	if (!strstr(words, me))
		scn_diag_add(d, file, key_pos(s, key), "'%s' goes with action %s, not %s", key, list, action);
}

static void need_with(const scn_step *s, const char *file, scn_diags *d, const char *action, const char *key,
		      const char *when)
{
	const scn_node *n;
	arg_lit(s, key, &n);
	if (!n && action && !strcmp(action, when))
		scn_diag_add(d, file, s->args ? s->args->pos : s->pos, "action %s needs '%s'", when, key);
}

static void check_runtime(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	only_with(s, file, d, a, "signal", "kill");
	only_with(s, file, d, a, "down_within", "kill|sigterm|stop");
	only_with(s, file, d, a, "ready_within", "restart|cont|recover");
	only_with(s, file, d, a, "comes_back", "restart");
}

static void check_socket(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	only_with(s, file, d, a, "mode", "chmod");
	need_with(s, file, d, a, "mode", "chmod");
	const scn_node *n;
	const char *m = arg_lit(s, "mode", &n);
	if (m) {
		bool octal = strlen(m) >= 1 && strlen(m) <= 4;
		for (const char *p = m; *p; p++)
			octal = octal && *p >= '0' && *p <= '7';
		if (!octal)
			scn_diag_add(d, file, n->pos, "mode '%s' is not an octal file mode like 000 or 0660 (quote it)", m);
	}
}

static void check_proxy(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	only_with(s, file, d, a, "mode", "start|mode");
	only_with(s, file, d, a, "path", "start");
	need_with(s, file, d, a, "mode", "mode");
	const scn_node *n;
	const char *m = arg_lit(s, "mode", &n);
	if (m) {
		fault_proxy_mode mode;
		fault_proxy_params pp;
		crit_err e;
		if (fault_proxy_parse_mode(m, &mode, &pp, &e) < 0)
			scn_diag_add(d, file, n->pos, "%s", e.msg);
	}
}

static void check_fiu(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	need_with(s, file, d, a, "point", "enable");
	only_with(s, file, d, a, "errno", "enable");
	only_with(s, file, d, a, "mode", "enable");
	only_with(s, file, d, a, "all", "disable");
	const scn_node *n;
	const char *en = arg_lit(s, "errno", &n);
	if (en && !strchr(en, '$') && !fault_fiu_errno(en))
		scn_diag_add(d, file, n->pos, "errno '%s' is not an errno name (EAGAIN, EIO, …) or number", en);
	const char *m = arg_lit(s, "mode", NULL);
	if (m && !strcmp(m, "nth"))
		need_with(s, file, d, a, "nth", "enable");
	if (m && !strcmp(m, "probability"))
		need_with(s, file, d, a, "probability", "enable");
}

static void check_config(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	static const char *const patch_keys[] = { "set", "add_handler", "remove_handler", "binary", "runtime_type" };
	for (size_t i = 0; i < sizeof patch_keys / sizeof *patch_keys; i++)
		only_with(s, file, d, a, patch_keys[i], "patch");
	only_with(s, file, d, a, "drift", "doctor");
	const scn_node *set, *add, *rm, *bin;
	arg_lit(s, "set", &set);
	arg_lit(s, "add_handler", &add);
	arg_lit(s, "remove_handler", &rm);
	arg_lit(s, "binary", &bin);
	if (a && !strcmp(a, "patch") && !set && !add && !rm)
		scn_diag_add(d, file, s->args ? s->args->pos : s->pos,
			     "action patch needs 'set', 'add_handler' or 'remove_handler'");
	if (bin && !add)
		scn_diag_add(d, file, bin->pos, "'binary' goes with 'add_handler'");
}

static void check_fs(const scn_step *s, const char *file, scn_diags *d)
{
	const char *a = arg_lit(s, "action", NULL);
	only_with(s, file, d, a, "sync", "remount_ro");
	only_with(s, file, d, a, "within", "remount_ro");
	only_with(s, file, d, a, "start", "repair");
	only_with(s, file, d, a, "ready_within", "repair");
}

static void check_list_len(const scn_node *n, const char *key, const char *file, scn_diags *d)
{
	const scn_node *l = scn_map_get(n, key);
	if (l && l->kind == SCN_SEQ && l->n < 2)
		scn_diag_add(d, file, l->pos, "'%s' compares two values or more", key);
}

static void check_expect(const scn_step *s, const char *file, scn_diags *d)
{
	const scn_node *a = s->args;
	if (!a || a->kind != SCN_MAP)
		return;
	bool any = false;
	for (size_t i = 0; i < a->n; i++) {
		const char *k = a->keys[i]->str;
		if (strcmp(k, "within") && strcmp(k, "every") && strcmp(k, "via"))
			any = true;
	}
	if (!any)
		scn_diag_add(d, file, a->pos, "expect: nothing to check (give a condition, no_leaks, took, equal, …)");
	check_list_len(a, "equal", file, d);
	check_list_len(a, "differ", file, d);
	const scn_node *kb = scn_map_get(a, "kubelet");
	if (kb && kb->kind == SCN_MAP && !kb->n)
		scn_diag_add(d, file, kb->pos, "kubelet: give node, kubelet, runtime, pleg, network, starts or message");
}

static void check_wait(const scn_step *s, const char *file, scn_diags *d)
{
	const scn_node *u = scn_map_get(s->args, "until");
	if (u && u->kind == SCN_MAP && !u->n)
		scn_diag_add(d, file, u->pos, "until: give a condition (runtime, socket, pod, container, kubelet)");
	const scn_node *kb = scn_map_get(u, "kubelet");
	if (kb && kb->kind == SCN_MAP && !kb->n)
		scn_diag_add(d, file, kb->pos, "kubelet: give node, kubelet, runtime, pleg, network, starts or message");
}

/* ------------------------------------------------------------ the table */

static const scn_field a_run_pod[] = {
	{ "name", SCN_T_STR, REQ, NULL, NULL, "metadata name (with the uid, what the runtime reserves)" },
	{ "uid", SCN_T_STR, 0, NULL, NULL, "metadata uid (default RUN-ID-NAME: the same name is the same pod)" },
	{ "attempt", SCN_T_INT, 0, NULL, NULL, "metadata attempt" },
	{ "labels", SCN_T_STRMAP, 0, NULL, NULL, "labels beside critic's own" },
	{ "annotations", SCN_T_STRMAP, 0, NULL, NULL, NULL },
	{ "handler", SCN_T_STR, 0, NULL, NULL, "runtime handler (default: the runtime's default)" },
	{ "hostnetwork", SCN_T_BOOL, 0, NULL, NULL, "the node's network namespace (no CNI)" },
	{ 0 },
};
static const char *const r_pod[] = { "id", "name", "uid", "ip", "pid", "state", "created", NULL };

static const scn_field a_create_container[] = {
	{ "pod", SCN_T_STR, REQ, NULL, NULL, "pod sandbox id" },
	{ "name", SCN_T_STR, REQ, NULL, NULL, NULL },
	{ "image", SCN_T_STR, 0, NULL, NULL, "a lab image role (busybox) or a full reference; pulled when missing" },
	{ "command", SCN_T_STRLIST, 0, NULL, NULL, NULL },
	{ "args", SCN_T_STRLIST, 0, NULL, NULL, NULL },
	{ "env", SCN_T_STRMAP, 0, NULL, NULL, NULL },
	{ "labels", SCN_T_STRMAP, 0, NULL, NULL, NULL },
	{ "annotations", SCN_T_STRMAP, 0, NULL, NULL, NULL },
	{ 0 },
};
static const char *const r_ctr[] = { "id", "name", "pod", "image", NULL };

static const scn_field a_id[] = {
	{ "id", SCN_T_STR, REQ, NULL, NULL, NULL },
	{ 0 },
};
static const char *const r_id[] = { "id", NULL };
static const char *const r_started[] = { "id", "pid", "state", "exit_code", "reason", "log_path", "log_bytes", NULL };

static const scn_field a_stop_container[] = {
	{ "id", SCN_T_STR, REQ, NULL, NULL, NULL },
	{ "grace", SCN_T_DUR, 0, NULL, NULL, "time to stop before SIGKILL (default 0s)" },
	{ 0 },
};

static const scn_field a_exec[] = {
	{ "id", SCN_T_STR, REQ, NULL, NULL, "container id" },
	{ "command", SCN_T_STRLIST, REQ, NULL, NULL, NULL },
	{ "limit", SCN_T_DUR, 0, NULL, NULL, "the exec's own timeout (default none)" },
	{ 0 },
};
static const char *const r_exec[] = { "exit_code", "stdout", "stderr", NULL };

static const scn_field a_image[] = {
	{ "image", SCN_T_STR, REQ, NULL, NULL, "a lab image role (busybox) or a full reference" },
	{ 0 },
};
static const char *const r_pull[] = { "ref", NULL };
static const scn_field a_list_images[] = {
	{ "image", SCN_T_STR, 0, NULL, NULL, "a lab image role or a full reference: is it listed (result found)?" },
	{ 0 },
};
static const char *const r_list_images[] = { "count", "found", "size", NULL };

static const scn_field a_list_pods[] = {
	{ "labels", SCN_T_STRMAP, 0, NULL, NULL, "more labels to match" },
	{ "state", SCN_T_ENUM, 0, v_pod_states, NULL, NULL },
	{ "id", SCN_T_STR, 0, NULL, NULL, NULL },
	{ "all", SCN_T_BOOL, 0, NULL, NULL, "not only the scenario's pods" },
	{ 0 },
};
static const char *const r_list_pods[] = { "count", "ready", "notready", "first", "ids", NULL };

static const scn_field a_list_ctrs[] = {
	{ "pod", SCN_T_STR, 0, NULL, NULL, NULL },
	{ "labels", SCN_T_STRMAP, 0, NULL, NULL, "more labels to match" },
	{ "state", SCN_T_ENUM, 0, v_ctr_states, NULL, NULL },
	{ "all", SCN_T_BOOL, 0, NULL, NULL, "not only the scenario's containers" },
	{ 0 },
};
static const char *const r_list_ctrs[] = { "count", "created", "running", "exited", "first", "ids", NULL };

static const scn_field a_none[] = { { 0 } };
static const char *const r_status[] = { "runtime_ready", "network_ready", "handlers", NULL };
static const char *const r_version[] = { "runtime", "version", "api", NULL };
static const char *const r_pod_status[] = { "id", "state", "ip", "pid", "created", NULL };

static const scn_field a_runtime[] = {
	{ "action", SCN_T_ENUM, REQ, v_rt_actions, NULL,
	  "kill (signal), sigterm, stop (SIGSTOP), cont (SIGCONT, then ready), restart (stop if running, start, "
	  "ready), recover (thaw and restart only when it is not ready: for finally)" },
	{ "signal", SCN_T_ENUM, 0, v_signals, NULL, "kill: SIGKILL (default), SIGTERM or SIGHUP" },
	{ "down_within", SCN_T_DUR, POS, NULL, NULL, "stop answering (and exit) within this (default 10s)" },
	{ "ready_within", SCN_T_DUR, POS, NULL, NULL, "RuntimeReady within this (default 60s)" },
	{ "comes_back", SCN_T_BOOL, 0, NULL, NULL,
	  "restart: false = the runtime must NOT come back (it dies at start, e.g. on a read-only disk); the step "
	  "fails if it is ready within ready_within" },
	{ 0 },
};
static const char *const r_runtime[] = { "pid", "new_pid", "down_ms", "exit_ms", "start_ms", "ready_ms", "socket",
					 "alive", "start_error", NULL };

static const scn_field a_socket[] = {
	{ "action", SCN_T_ENUM, REQ, v_sock_actions, NULL,
	  "remove (moved aside), chmod, stale (a dead socket in its place), restore" },
	{ "mode", SCN_T_STR, 0, NULL, NULL, "chmod: octal mode, quoted (\"000\")" },
	{ 0 },
};
static const char *const r_socket[] = { "state", "path", "restored", NULL };

static const scn_field a_proxy[] = {
	{ "action", SCN_T_ENUM, REQ, v_proxy_actions, NULL, "start (in pass mode unless mode: is given), mode, stop" },
	{ "mode", SCN_T_STR, 0, NULL, NULL,
	  "pass, delay 200ms, blackhole, reset, refuse, cut_after BYTES, corrupt [at N | rate R]" },
	{ "path", SCN_T_STR, 0, NULL, NULL, "start: the proxy's socket (default in a scratch dir)" },
	{ 0 },
};
static const char *const r_proxy[] = { "endpoint", "mode", "accepted", "faulted", "dropped", NULL };

static const scn_field a_fs[] = {
	{ "action", SCN_T_ENUM, REQ, v_fs_actions, NULL,
	  "remount_ro (a disk error: the kernel turns it read-only), repair (runtime stopped, e2fsck, mounted again, "
	  "runtime started), freeze, thaw, fill (until a write as root fails with ENOSPC), free (the fill files removed), "
	  "restore (thaw, free, and repair only when read-only: for finally)" },
	{ "sync", SCN_T_BOOL, 0, NULL, NULL,
	  "remount_ro: flush first (default false: data not yet written back is lost, as on a real disk error)" },
	{ "within", SCN_T_DUR, POS, NULL, NULL, "remount_ro: the kernel shows it read-only within this (default 5s)" },
	{ "start", SCN_T_BOOL, 0, NULL, NULL, "repair: start the runtime again afterwards (default true)" },
	{ "ready_within", SCN_T_DUR, POS, NULL, NULL, "repair: RuntimeReady within this after the start (default 60s)" },
	{ "leave_kib", SCN_T_INT, 0, NULL, NULL,
	  "fill: once full, give this many KiB back, so that a write of more fails part-way (default 0)" },
	{ 0 },
};
static const char *const r_fs[] = { "took_ms", "write_error", "opts", "bytes", "files", "free_after", "e2fsck_exit",
				    "ready_ms", "changed", NULL };

static const scn_field a_config[] = {
	{ "action", SCN_T_ENUM, REQ, v_config_actions, NULL,
	  "patch (a backup is kept), restore (the backup put back), doctor (critic doctor's drift fact)" },
	{ "file", SCN_T_STR, 0, NULL, NULL, "the config (default: the lab's config.toml)" },
	{ "add_handler", SCN_T_STR, 0, NULL, NULL, "patch: add runtime handler NAME" },
	{ "binary", SCN_T_STR, 0, NULL, NULL, "patch: the added handler's options.BinaryName" },
	{ "runtime_type", SCN_T_STR, 0, NULL, NULL, "patch: the added handler's runtime_type (default io.containerd.runc.v2)" },
	{ "remove_handler", SCN_T_STR, 0, NULL, NULL, "patch: remove runtime handler NAME" },
	{ "set", SCN_T_STRMAP, 0, NULL, NULL, "patch: dotted TOML key = value (true/false and integers unquoted)" },
	{ "drift", SCN_T_BOOL, 0, NULL, NULL, "doctor: fail unless drift is present (true) or absent (false)" },
	{ 0 },
};
static const char *const r_config[] = { "path", "backup", "drift", "restart_needed", "verdict", NULL };

static const scn_field a_fiu[] = {
	{ "action", SCN_T_ENUM, REQ, v_fiu_actions, NULL, "enable, disable" },
	{ "point", SCN_T_STR, 0, NULL, NULL, "libfiu point, e.g. critic/posix/clone or posix/io/rw/write" },
	{ "errno", SCN_T_STR, 0, NULL, NULL, "enable: errno the failing call sets (EAGAIN or a number; default EIO)" },
	{ "mode", SCN_T_ENUM, 0, v_fiu_modes, NULL, "enable: always (default), probability, nth" },
	{ "probability", SCN_T_NUM, 0, NULL, NULL, "fail at random with this probability" },
	{ "nth", SCN_T_INT, POS, NULL, NULL, "mode nth: only the nth matching call fails" },
	{ "after", SCN_T_INT, 0, NULL, NULL, "let the first N matching calls through (critic/posix points)" },
	{ "path", SCN_T_STR, 0, NULL, NULL, "only calls on paths under this prefix (critic/posix points)" },
	{ "failnum", SCN_T_INT, 0, NULL, NULL, "the value the failing call returns (< 0; default -1)" },
	{ "failinfo", SCN_T_STR, 0, NULL, NULL, "errno, as libfiu calls it (same as errno:)" },
	{ "all", SCN_T_BOOL, 0, NULL, NULL, "disable: every fault (the default without point:)" },
	{ "spec", SCN_T_STR, 0, NULL, NULL, "the wrapper's spec file (default: the lab's)" },
	{ 0 },
};
static const char *const r_fiu[] = { "spec", "injected", NULL };

static const scn_field a_kubelet[] = {
	{ "action", SCN_T_ENUM, REQ, v_kubelet_actions, NULL, "what the operator does (systemctl start|stop|restart)" },
	{ 0 },
};
static const char *const r_kubelet[] = { "node", "kubelet", "starts", NULL };
static const char *const r_wait[] = { "took_ms", NULL };

static const scn_field a_sleep[] = {
	{ "for", SCN_T_DUR, REQ, NULL, NULL, NULL },
	{ 0 },
};

static const scn_field a_note[] = {
	{ "text", SCN_T_STR, REQ, NULL, NULL, "printed under the step (references replaced)" },
	{ 0 },
};

static const scn_field a_join[] = {
	{ "step", SCN_T_IDENT, REQ, NULL, NULL, "the `as` of an async step" },
	{ "within", SCN_T_DUR, 0, NULL, NULL, "wait at most this long (default: the call's deadline + 5s)" },
	{ 0 },
};

static const scn_field a_repeat[] = {
	{ "times", SCN_T_INT, REQ | POS, NULL, NULL, NULL },
	{ "steps", SCN_T_STEPS, REQ, NULL, NULL, "run in order each time; ${AS.i} is the iteration (1…)" },
	{ 0 },
};
static const char *const r_repeat[] = { "i", "times", NULL };
static const char *const r_sweep[] = { "pods", "containers", NULL };

#define CRI SCN_K_CRI
#define DIS SCN_K_DISRUPTIVE
static const scn_kind kinds[] = {
	/* CRI */
	{ "run_pod", "RunPodSandbox with critic's labels", CRI, a_run_pod, NULL, r_pod, NULL, run_run_pod, "cri" },
	{ "create_container", "CreateContainer (the image pulled first when missing)", CRI, a_create_container, NULL,
	  r_ctr, NULL, run_create_container, "cri" },
	{ "start_container", "StartContainer; pid from ContainerStatus", CRI, a_id, "id", r_started, NULL,
	  run_start_container, "cri" },
	{ "stop_container", "StopContainer", CRI, a_stop_container, "id", r_id, NULL, run_stop_container, "cri" },
	{ "remove_container", "RemoveContainer", CRI, a_id, "id", NULL, NULL, run_remove_container, "cri" },
	{ "stop_pod", "StopPodSandbox", CRI, a_id, "id", NULL, NULL, run_stop_pod, "cri" },
	{ "remove_pod", "RemovePodSandbox", CRI, a_id, "id", NULL, NULL, run_remove_pod, "cri" },
	{ "exec", "ExecSync", CRI, a_exec, NULL, r_exec, NULL, run_exec, "cri" },
	{ "pull_image", "PullImage", CRI, a_image, "image", r_pull, NULL, run_pull_image, "cri" },
	{ "remove_image", "RemoveImage", CRI, a_image, "image", NULL, NULL, run_remove_image, "cri" },
	{ "list_images", "ListImages (found: whether image is listed)", CRI, a_list_images, "image", r_list_images, NULL,
	  run_list_images, "cri" },
	{ "list_pods", "ListPodSandbox (the scenario's pods unless all: true)", CRI, a_list_pods, NULL, r_list_pods,
	  NULL, run_list_pods, "cri" },
	{ "list_containers", "ListContainers (the scenario's unless all: true)", CRI, a_list_ctrs, NULL, r_list_ctrs,
	  NULL, run_list_containers, "cri" },
	{ "pod_status", "PodSandboxStatus (verbose: pid)", CRI, a_id, "id", r_pod_status, NULL, run_pod_status, "cri" },
	{ "container_status", "ContainerStatus (verbose: pid)", CRI, a_id, "id", r_started, NULL, run_container_status,
	  "cri" },
	{ "status", "Status", CRI, a_none, NULL, r_status, NULL, run_status, "cri" },
	{ "version", "Version", CRI, a_none, NULL, r_version, NULL, run_version, "cri" },
	/* faults */
	{ "runtime", "kill, freeze, thaw or restart the runtime, timed", DIS, a_runtime, "action", r_runtime,
	  check_runtime, run_runtime, "fault/process.h" },
	{ "socket", "break the runtime's socket file and restore it", DIS, a_socket, "action", r_socket, check_socket,
	  run_socket, "fault/sockfile.h" },
	{ "proxy", "a proxy between critic and the runtime (CRI steps use it with via: proxy)", 0, a_proxy, "action",
	  r_proxy, check_proxy, run_proxy, "fault/proxy.h" },
	{ "fs", "file system faults on the lab's loop fs (the runtime's root and state)", DIS | SCN_K_LOOPFS, a_fs,
	  "action", r_fs, check_fs, run_fs, "fault/fs.h" },
	{ "config", "patch, restore or check the runtime's config", DIS, a_config, "action", r_config, check_config, run_config,
	  "fault/config.h" },
	{ "fiu", "libfiu fault points in the runtime", DIS, a_fiu, "action", r_fiu, check_fiu, run_fiu,
	  "fault/fiu.h" },
	/* the kubelet model, waits and checks */
	{ "kubelet", "the operator starts, stops or restarts the modelled kubelet", SCN_K_KUBELET, a_kubelet, "action",
	  r_kubelet, NULL, run_kubelet, "harness/kube.h" },
	{ "wait", "wait until a condition holds (fails when it does not in time)", 0, wait_args, NULL, r_wait,
	  check_wait, run_wait, "scenarios" },
	{ "expect", "assert conditions, leaks, durations, values (a failure does not stop the steps)", SCN_K_SOFT,
	  expect_args, NULL, NULL, check_expect, run_expect, "scenarios" },
	{ "sleep", "pause", SCN_K_FLOW, a_sleep, "for", NULL, NULL, run_sleep, "scenarios" },
	{ "note", "print a line", SCN_K_FLOW, a_note, "text", NULL, NULL, run_note, "scenarios" },
	{ "join", "wait for an async step and hold its call against expect", SCN_K_FLOW, a_join, "step", NULL, NULL,
	  scn_run_join, "scenarios" },
	{ "repeat", "run steps N times (soak)", SCN_K_FLOW, a_repeat, NULL, r_repeat, NULL, scn_run_repeat,
	  "scenarios" },
	{ "sweep", "remove everything with the scenario's labels now", 0, a_none, NULL, r_sweep, NULL, run_sweep,
	  "scenarios" },
};

const scn_kind *scn_kinds(size_t *n)
{
	*n = ARRAY_SIZE(kinds);
	return kinds;
}

const scn_kind *scn_kind_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

static const char *type_name(const scn_field *f, char *buf, size_t len)
{
	switch (f->type) {
	case SCN_T_STR: return "string";
	case SCN_T_IDENT: return "name";
	case SCN_T_INT: return "integer";
	case SCN_T_NUM: return "number";
	case SCN_T_BOOL: return "true|false";
	case SCN_T_DUR: return "duration";
	case SCN_T_REGEX: return "regex";
	case SCN_T_STRLIST: return "list";
	case SCN_T_STRMAP: return "map";
	case SCN_T_MAP: return "map";
	case SCN_T_STEPS: return "steps";
	case SCN_T_NEEDS: return "needs";
	case SCN_T_ENUM:
	case SCN_T_ENUMS: {
		size_t o = 0;
		buf[0] = '\0';
		for (const char *const *v = f->values; *v && o + 1 < len; v++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", v == f->values ? "" : "|", *v);
		if (f->type == SCN_T_ENUMS && o + 8 < len)
			snprintf(buf + o, len - o, " (list)");
		return buf;
	}
	}
	return "?";
}

static void print_fields(FILE *f, const scn_field *fl, int indent)
{
	for (; fl && fl->key; fl++) {
		char tb[512];
		fprintf(f, "%*s%-16s %s%s%s%s\n", indent, "", fl->key, type_name(fl, tb, sizeof tb),
			fl->flags & SCN_F_REQUIRED ? ", required" : "", fl->help ? " — " : "", fl->help ? fl->help : "");
		if (fl->type == SCN_T_MAP && fl->sub && indent < 10)
			print_fields(f, fl->sub, indent + 2);
	}
}

void scn_kinds_print(FILE *f)
{
	fprintf(f, "Step kinds (one per step; `- KIND: {key: value, …}`):\n");
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const scn_kind *k = &kinds[i];
		fprintf(f, "\n%s — %s%s%s\n", k->name, k->summary, k->flags & SCN_K_DISRUPTIVE ? " [disruptive]" : "",
			k->run ? "" : " [not available in this build]");
		if (k->shorthand)
			fprintf(f, "  shorthand: `%s: VALUE` = `%s: {%s: VALUE}`\n", k->name, k->name, k->shorthand);
		print_fields(f, k->args, 2);
		if (k->results && k->results[0]) {
			fprintf(f, "  results:");
			for (const char *const *r = k->results; *r; r++)
				fprintf(f, " %s", *r);
			fprintf(f, "\n");
		}
	}
	fprintf(f, "\nKeys every step may have:\n");
	print_fields(f, scn_common_fields, 2);
	fprintf(f, "\nConditions (wait until:, expect:):\n");
	print_fields(f, scn_cond_fields, 2);
}
