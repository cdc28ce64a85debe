/* pod: pod sandbox lifecycle and status as the kubelet relies on them. */
#include <string.h>

#include "fx.h"
#include "util.h"

static void run_stop_remove(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "lifecycle");
	char *id = fx_run_pod(t, cfg);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY, "state %d, want READY",
	       st->status->state);
	cri_free(st);

	Runtime__V1__StopPodSandboxRequest sr = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	sr.pod_sandbox_id = id;
	CALL_OK(t, StopPodSandbox, &sr, &sresp);
	cri_free(sresp);
	st = fx_pod_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY,
	       "state after stop %d, want NOTREADY", st->status->state);
	cri_free(st);

	Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	rr.pod_sandbox_id = id;
	CALL_OK(t, RemovePodSandbox, &rr, &rresp);
	cri_free(rresp);

	Runtime__V1__PodSandboxStatusRequest q = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *qr = NULL;
	q.pod_sandbox_id = id;
	int rc = CRI_CALL(t->cri, PodSandboxStatus, &q, &qr, &t->err);
	EXPECT(t, rc < 0 && t->err.grpc_status == 5, "status of a removed sandbox: want NOT_FOUND, got %s",
	       rc < 0 ? t->err.msg : "OK");
	cri_free(qr);
}

static void status_fields(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "status");
	fx_pod_label(cfg, "app", "critic-status");
	fx_pod_annotation(cfg, "critic.io/note", "a value with spaces, = and / kept verbatim");
	int64_t before = util_wall_ns();
	char *id = fx_run_pod(t, cfg);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	Runtime__V1__PodSandboxStatus *s = st->status;
	EXPECT(t, !strcmp(s->id, id), "id %s, want %s", s->id, id);
	REQUIRE(t, s->metadata != NULL, "no metadata");
	EXPECT(t, !strcmp(s->metadata->name, cfg->metadata->name), "name %s", s->metadata->name);
	EXPECT(t, !strcmp(s->metadata->uid, cfg->metadata->uid), "uid %s", s->metadata->uid);
	EXPECT(t, !strcmp(s->metadata->namespace_, "critic"), "namespace %s", s->metadata->namespace_);
	EXPECT(t, s->created_at >= before - 1000000000LL && s->created_at <= util_wall_ns(),
	       "created_at %lld is not the time of creation", (long long)s->created_at);
	EXPECT(t, s->network && s->network->ip[0], "no pod IP in a non-host-network pod");
	EXPECT(t, s->n_labels == cfg->n_labels, "%zu labels, want %zu", s->n_labels, cfg->n_labels);
	for (size_t i = 0; i < cfg->n_labels; i++) {
		const char *v = fx_map_get((void *const *)s->labels, s->n_labels, cfg->labels[i]->key);
		EXPECT(t, v && !strcmp(v, cfg->labels[i]->value), "label %s = %s", cfg->labels[i]->key, v ? v : "(missing)");
	}
	const char *note = fx_map_get((void *const *)s->annotations, s->n_annotations, "critic.io/note");
	EXPECT(t, note && !strcmp(note, cfg->annotations[0]->value), "annotation changed: %s", note ? note : "(missing)");
	REQUIRE(t, s->linux_ && s->linux_->namespaces && s->linux_->namespaces->options, "no linux namespace options");
	Runtime__V1__NamespaceOption *ns = s->linux_->namespaces->options;
	EXPECT(t, ns->network == RUNTIME__V1__NAMESPACE_MODE__POD, "network namespace mode %d, want POD", ns->network);
	EXPECT(t, ns->pid == RUNTIME__V1__NAMESPACE_MODE__CONTAINER, "pid namespace mode %d, want CONTAINER", ns->pid);
	EXPECT(t, ns->ipc == RUNTIME__V1__NAMESPACE_MODE__POD, "ipc namespace mode %d, want POD", ns->ipc);
	cri_free(st);
}

static const tst_case pod_cases[] = {
	{ "pod/run-stop-remove", "a sandbox runs READY, stops NOTREADY, is removed and then NOT_FOUND", run_stop_remove },
	{ "pod/status-fields", "PodSandboxStatus returns id, metadata, created_at, IP, namespaces, labels, annotations", status_fields },
};
TST_SUITE("pod", "Pod sandbox lifecycle", pod_cases)
