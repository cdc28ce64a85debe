/* events: GetContainerEvents reports a container's created, started,
 * stopped and deleted events in order, each with its pod's status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fx.h"
#include "util.h"

#define EV(x) RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_##x##_EVENT
#define EVENTS_MS 15000 /* how long the four events may take after the remove */

const char *ev_type_name(int type)
{
	switch (type) {
	case EV(CREATED):
		return "CREATED";
	case EV(STARTED):
		return "STARTED";
	case EV(STOPPED):
		return "STOPPED";
	case EV(DELETED):
		return "DELETED";
	}
	return "UNKNOWN";
}

int ev_check_lifecycle(Runtime__V1__ContainerEventResponse *const *evs, size_t n, const char *ctr_id,
		       const char *pod_id, crit_err *e)
{
	static const int want[] = { EV(CREATED), EV(STARTED), EV(STOPPED), EV(DELETED) };
	size_t k = 0; /* events of ctr_id seen so far */
	int64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		const Runtime__V1__ContainerEventResponse *ev = evs[i];
		if (!ev->container_id || strcmp(ev->container_id, ctr_id))
			continue;
		const char *got = ev_type_name(ev->container_event_type);
		if (k >= ARRAY_SIZE(want))
			return err_set(e, -ERR_ASSERT, "container %.12s: %s event after DELETED (stream position %zu)",
				       ctr_id, got, i);
		if ((int)ev->container_event_type != want[k])
			return err_set(e, -ERR_ASSERT,
				       "container %.12s: event %zu is %s (%d), want %s (stream position %zu)", ctr_id,
				       k + 1, got, (int)ev->container_event_type, ev_type_name(want[k]), i);
		if (!ev->pod_sandbox_status)
			return err_set(e, -ERR_ASSERT, "container %.12s: %s event has no pod_sandbox_status", ctr_id,
				       got);
		const char *pid = ev->pod_sandbox_status->id ? ev->pod_sandbox_status->id : "";
		if (strcmp(pid, pod_id))
			return err_set(e, -ERR_ASSERT, "container %.12s: %s event has the status of pod '%.12s', want %.12s",
				       ctr_id, got, pid, pod_id);
		if (ev->created_at <= 0)
			return err_set(e, -ERR_ASSERT, "container %.12s: %s event created_at %lld is not a time",
				       ctr_id, got, (long long)ev->created_at);
		if (k > 0 && ev->created_at <= prev)
			return err_set(e, -ERR_ASSERT,
				       "container %.12s: %s event created_at %lld is not after the %s event's %lld",
				       ctr_id, got, (long long)ev->created_at, ev_type_name(want[k - 1]),
				       (long long)prev);
		prev = ev->created_at;
		k++;
	}
	if (k < ARRAY_SIZE(want))
		return err_set(e, -ERR_ASSERT, "container %.12s: no %s event (%zu of 4 events came, of %zu in all)",
			       ctr_id, ev_type_name(want[k]), k, n);
	return 0;
}

/* ---- the conformance test ---- */

typedef struct {
	cri_stream *s;
	Runtime__V1__ContainerEventResponse **evs;
	size_t n, cap;
} ev_log;

static void close_stream(tst_ctx *t, void *arg)
{
	ev_log *log = arg;
	cri_stream_close(log->s);
	log->s = NULL;
	for (size_t i = 0; i < log->n; i++)
		cri_free(log->evs[i]);
	free(log->evs);
}

static void keep(ev_log *log, ProtobufCMessage *m)
{
	if (log->n == log->cap) {
		log->cap = log->cap ? 2 * log->cap : 16;
		log->evs = realloc(log->evs, log->cap * sizeof *log->evs);
		if (!log->evs)
			abort();
	}
	log->evs[log->n++] = (Runtime__V1__ContainerEventResponse *)m;
}

/* Read one event into the log: 1 kept, 0 nothing within timeout_ms; the
 * test stops on an error or an ended stream. */
static int read_one(tst_ctx *t, ev_log *log, int timeout_ms)
{
	ProtobufCMessage *m = NULL;
	int rc = cri_stream_next(log->s, &m, timeout_ms, &t->err);
	if (rc == 1) {
		keep(log, m);
		return 1;
	}
	if (rc == -ETIMEDOUT)
		return 0;
	if (rc == 0)
		tst_fail_now(t, __FILE__, __LINE__, "GetContainerEvents: the runtime ended the stream after %zu events",
			     log->n);
	if (t->err.grpc_status == 12)
		tst_skip(t, "GetContainerEvents is UNIMPLEMENTED by this runtime (%s)", t->err.msg);
	tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
}

static bool seen(const ev_log *log, const char *ctr_id, int type)
{
	for (size_t i = 0; i < log->n; i++)
		if (log->evs[i]->container_id && !strcmp(log->evs[i]->container_id, ctr_id) &&
		    (int)log->evs[i]->container_event_type == type)
			return true;
	return false;
}

static void lifecycle_order(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "events");
	char *pod_id = fx_run_pod(t, pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, "main", "busybox", ARGV("/usr/local/bin/critic-helper", "sleep", "forever"));
	/* Pull before the stream opens, so the stream's time is the container's. */
	fx_ensure_image(t, cfg->image->image);

	ev_log *log = calloc(1, sizeof *log);
	REQUIRE(t, log != NULL, "out of memory");
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	if (cri_stream_open(t->cri, "GetContainerEvents", &req.base, &log->s, &t->err) < 0) {
		if (t->err.grpc_status == 12)
			tst_skip(t, "GetContainerEvents is UNIMPLEMENTED by this runtime (%s)", t->err.msg);
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	}
	tst_defer(t, close_stream, log);
	/* A runtime without the RPC answers at once; one that has it sends
	 * nothing until some container changes. Waiting a moment also lets the
	 * runtime subscribe the stream before our container exists. */
	read_one(t, log, 1000);

	char *id = fx_create_container(t, pod_id, pod, cfg);
	fx_start_container(t, id);
	REQUIRE(t, fx_stop_container(t, id, 10) == 0, "%s", t->err.msg);
	REQUIRE(t, fx_remove_container(t, id) == 0, "%s", t->err.msg);

	int64_t end = util_now_ms() + EVENTS_MS;
	while (!seen(log, id, EV(DELETED))) {
		int64_t left = end - util_now_ms();
		if (left <= 0)
			break;
		read_one(t, log, (int)left);
	}
	crit_err e;
	if (ev_check_lifecycle(log->evs, log->n, id, pod_id, &e) < 0) {
		for (size_t i = 0; i < log->n; i++)
			tst_info(t, "event %zu: %s of %.12s at %lld", i, ev_type_name(log->evs[i]->container_event_type),
				 log->evs[i]->container_id, (long long)log->evs[i]->created_at);
		tst_fail(t, __FILE__, __LINE__, "%s", e.msg);
	}
}

static const tst_case events_cases[] = {
	{ "events/container-lifecycle-order",
	  "GetContainerEvents streams CREATED, STARTED, STOPPED, DELETED in order, with the pod's status",
	  lifecycle_order },
};
TST_SUITE("events", "Container events (GetContainerEvents)", events_cases)
